"""Parquet cache of raw daily bars, one file per ticker, written atomically under a file lock.

Layout: ``<cache_dir>/yahoo/<TICKER>.parquet`` with the canonical bar columns plus
``dividends`` and ``splits``, and ``<TICKER>.parquet.lock`` beside it. The parquet schema
metadata (key ``eventstudy``) records what the file covers::

    {"version": 2, "ticker": "IBRX", "covered_start": "2025-11-01", "covered_end": "2026-01-30",
     "fetched_utc": "...", "first": "2025-11-03", "last": "2026-01-30", "rows": 61}

``covered_start``/``covered_end`` is the date range that was *asked for* (inclusive), not
only the first and last bar: a range inside it needs no network.

The cache root is ``$EVENTSTUDY_CACHE`` when set, else ``platformdirs.user_cache_dir("eventstudy")``
(``$XDG_CACHE_HOME/eventstudy`` or ``~/.cache/eventstudy`` on Linux).

Concurrency: every write goes to a temporary file renamed into place (a killed writer leaves
the old file or the new one, never a mix) and every read and read-modify-write holds the
ticker's :class:`filelock.FileLock`, so two processes fetching one ticker take turns and a
reader never sees a file being replaced under it. A file that exists but cannot be read
raises :class:`~eventstudy._errors.CorruptCacheError` naming it.
"""

from __future__ import annotations

import io
import json
import os
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .._errors import CorruptCacheError, SourceFailureError
from .._io import atomic_write_bytes

RAW_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "adj_close", "volume", "dividends", "splits")
CACHE_VERSION = 2
#: seconds to wait for another process holding a ticker's lock (it may be fetching from the network)
LOCK_TIMEOUT = 300.0


def default_cache_dir() -> Path:
    """``$EVENTSTUDY_CACHE`` if set, else the platform's user cache dir for ``eventstudy``."""
    env = os.environ.get("EVENTSTUDY_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("eventstudy"))


def covered_range(meta: dict, frame: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The inclusive date range a cache file covers (old version-1 files: requested start to last bar)."""
    start = meta.get("covered_start") or meta.get("start")
    end = meta.get("covered_end") or (str(frame.index.max().date()) if len(frame) else None)
    if start is None or end is None:
        return None
    return pd.Timestamp(start), pd.Timestamp(end)


class BarCache:
    """Read and write cached bars for one provider (``yahoo``)."""

    def __init__(self, root: str | Path | None = None, provider: str = "yahoo", lock_timeout: float = LOCK_TIMEOUT):
        self.root = Path(root).expanduser() if root else default_cache_dir()
        self.dir = self.root / provider
        self.lock_timeout = lock_timeout
        self._locks: dict[str, object] = {}

    def path(self, ticker: str) -> Path:
        safe = ticker.upper().replace("/", "_").replace(os.sep, "_")
        return self.dir / f"{safe}.parquet"

    @contextmanager
    def lock(self, ticker: str):
        """Hold the ticker's file lock (re-entrant within one thread of one process)."""
        import filelock

        p = self.path(ticker)
        key = str(p)
        lk = self._locks.get(key)
        try:
            if lk is None:
                self.dir.mkdir(parents=True, exist_ok=True)
                lk = self._locks[key] = filelock.FileLock(f"{p}.lock", timeout=self.lock_timeout, poll_interval=0.01)
            lk.acquire()
        except filelock.Timeout:
            raise SourceFailureError(f"the cache file {p} stayed locked by another process for "
                                     f"{self.lock_timeout:.0f} s; try again when it has finished") from None
        except OSError as exc:
            raise SourceFailureError(f"cannot lock the cache file {p} ({exc.strerror or exc}); set EVENTSTUDY_CACHE "
                                     "to a writable folder") from None
        try:
            yield
        finally:
            lk.release()

    def read(self, ticker: str) -> tuple[pd.DataFrame, dict] | None:
        """Cached bars (indexed by date) and metadata, or ``None`` when not cached.

        Raises ``CorruptCacheError`` (naming the file) when the file exists but is unreadable.
        """
        with self.lock(ticker):
            return read_cache_file(self.path(ticker))

    def write(self, ticker: str, frame: pd.DataFrame, meta: dict) -> Path:
        """Atomically replace the cached bars of ``ticker`` (under its lock)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        out = frame.reindex(columns=list(RAW_COLUMNS)).astype("float64")
        out.index = pd.DatetimeIndex(out.index, name="date")
        table = pa.Table.from_pandas(out.reset_index(), preserve_index=False)
        md = dict(table.schema.metadata or {})
        md[b"eventstudy"] = json.dumps({"version": CACHE_VERSION, **meta}).encode()
        table = table.replace_schema_metadata(md)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        p = self.path(ticker)
        with self.lock(ticker):
            try:
                atomic_write_bytes(p, buf.getvalue())
            except OSError as exc:
                raise SourceFailureError(f"cannot write the cache file {p} ({exc.strerror or exc}); the previous "
                                         "version is kept") from None
        return p

    def remove(self, ticker: str) -> bool:
        """Delete the cached file of ``ticker``; ``True`` when there was one."""
        p = self.path(ticker)
        with self.lock(ticker):
            existed = p.is_file()
            p.unlink(missing_ok=True)
        return existed

    def remove_stray_temp_files(self) -> int:
        """Delete temporary files that killed writers left beside the cache files; return how many."""
        if not self.dir.is_dir():
            return 0
        stray = list(self.dir.glob(".*.parquet.*.tmp"))
        for p in stray:
            p.unlink(missing_ok=True)
        return len(stray)

    def tickers(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.parquet")) if self.dir.is_dir() else []

    def info(self) -> pd.DataFrame:
        """One row per cached ticker: covered range, bars, size, fetch time, or the read error."""
        rows = []
        for t in self.tickers():
            p = self.path(t)
            row = {"ticker": t, "covered_start": "", "covered_end": "", "first": "", "last": "", "rows": 0,
                   "bytes": p.stat().st_size if p.exists() else 0, "fetched_utc": "", "status": "ok"}
            try:
                got = self.read(t)
            except CorruptCacheError as exc:
                row["status"] = f"corrupt: {exc}"
                rows.append(row)
                continue
            except SourceFailureError as exc:   # locked by a process fetching this ticker
                row["status"] = f"busy: {exc}"
                rows.append(row)
                continue
            if got is None:
                continue
            frame, meta = got
            cov = covered_range(meta, frame)
            if cov:
                row["covered_start"], row["covered_end"] = str(cov[0].date()), str(cov[1].date())
            if len(frame):
                row["first"], row["last"] = str(frame.index.min().date()), str(frame.index.max().date())
            row["rows"] = int(len(frame))
            row["fetched_utc"] = str(meta.get("fetched_utc", ""))
            rows.append(row)
        cols = ["ticker", "covered_start", "covered_end", "first", "last", "rows", "bytes", "fetched_utc", "status"]
        return pd.DataFrame(rows, columns=cols)


def read_cache_file(p: Path) -> tuple[pd.DataFrame, dict] | None:
    """Read one cache file (no locking); ``None`` when absent, ``CorruptCacheError`` when unreadable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not p.exists():
        return None

    def corrupt(why: str) -> CorruptCacheError:
        return CorruptCacheError(f"cache file {p} is unreadable ({why}); delete it with `eventstudy cache clear "
                                 f"{p.stem}` or fetch again with network", path=str(p))

    try:
        table = pq.read_table(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise corrupt(f"{type(exc).__name__}: {exc}") from None
    try:
        meta = json.loads((table.schema.metadata or {}).get(b"eventstudy", b"{}"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise corrupt(f"metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise corrupt("metadata is not a mapping")
    missing = [c for c in ("date", "close", "adj_close") if c not in table.column_names]
    if missing:
        raise corrupt(f"missing column(s) {', '.join(missing)}")
    try:
        frame = table.to_pandas()
        frame["date"] = pd.to_datetime(frame["date"])
        frame = frame.set_index("date").reindex(columns=list(RAW_COLUMNS)).astype("float64")
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise corrupt(f"{type(exc).__name__}: {exc}") from None
    frame["dividends"] = frame["dividends"].fillna(0.0)
    frame["splits"] = frame["splits"].fillna(0.0)
    if not frame.index.is_unique or not frame.index.is_monotonic_increasing:
        raise corrupt("dates are not unique and ascending")
    for key in ("covered_start", "covered_end", "start"):
        if key in meta:
            try:
                pd.Timestamp(meta[key])
            except (ValueError, TypeError):
                raise corrupt(f"metadata {key}={meta[key]!r} is not a date") from None
    return frame, meta
