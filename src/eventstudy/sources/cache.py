"""Parquet cache of raw daily bars, one file per ticker, written atomically.

Layout: ``<cache_dir>/yahoo/<TICKER>.parquet`` with the canonical bar columns plus
``dividends`` and ``splits``; the fetch time and requested range are stored in the
parquet schema metadata. The default cache dir is ``$EVENTSTUDY_CACHE`` or
``~/.cache/eventstudy``.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._io import atomic_write_bytes


def default_cache_dir() -> Path:
    return Path(os.environ.get("EVENTSTUDY_CACHE", Path.home() / ".cache" / "eventstudy"))


class BarCache:
    """Read and write cached bars for one provider (``yahoo``)."""

    def __init__(self, root: str | Path | None = None, provider: str = "yahoo"):
        self.dir = Path(root or default_cache_dir()) / provider

    def path(self, ticker: str) -> Path:
        safe = ticker.upper().replace("/", "_").replace(os.sep, "_")
        return self.dir / f"{safe}.parquet"

    def read(self, ticker: str) -> tuple[pd.DataFrame, dict] | None:
        """Cached bars (indexed by date) and metadata, or ``None`` when not cached."""
        p = self.path(ticker)
        if not p.is_file():
            return None
        table = pq.read_table(p)
        meta = json.loads((table.schema.metadata or {}).get(b"eventstudy", b"{}"))
        frame = table.to_pandas().set_index("date")
        return frame, meta

    def write(self, ticker: str, frame: pd.DataFrame, meta: dict) -> Path:
        """Atomically replace the cached bars of ``ticker``."""
        table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
        md = dict(table.schema.metadata or {})
        md[b"eventstudy"] = json.dumps(meta).encode()
        table = table.replace_schema_metadata(md)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        p = self.path(ticker)
        atomic_write_bytes(p, buf.getvalue())
        return p

    def tickers(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.parquet")) if self.dir.is_dir() else []
