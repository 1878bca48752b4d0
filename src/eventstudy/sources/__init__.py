"""Price sources: one small interface, several implementations.

Every source returns daily bars as a DataFrame indexed by ``date`` (tz-naive, ascending,
unique) with float columns ``open, high, low, close, adj_close, volume`` (NaN = not
observed; a zero volume is kept as zero). Use :func:`open_source` to build one from a
CLI-style spec: ``bundled`` (= ``bundled:seed``), ``bundled:universe``, ``yahoo``,
``yahoo-offline``, or a directory of per-ticker CSV files.
"""

from __future__ import annotations

from pathlib import Path

from .base import PRICE_COLUMNS, PriceSource, normalize_bars
from .bundled import BundledSource
from .csvdir import CsvDirectorySource
from .memory import InMemorySource

__all__ = ["PRICE_COLUMNS", "PriceSource", "normalize_bars", "BundledSource", "CsvDirectorySource", "InMemorySource",
           "open_source"]


def open_source(spec: str | PriceSource) -> PriceSource:
    """Build a price source from ``bundled[:NAME]``, ``yahoo``, ``yahoo-offline`` or a directory."""
    if not isinstance(spec, str):
        return spec
    if spec == "bundled" or spec.startswith("bundled:"):
        return BundledSource(spec.partition(":")[2] or "seed")
    if spec in ("yahoo", "yahoo-offline"):
        from .yahoo import YahooSource

        return YahooSource(offline=spec == "yahoo-offline")
    path = Path(spec).expanduser()
    if path.is_dir():
        return CsvDirectorySource(path)
    from .._errors import PriceSourceError

    raise PriceSourceError(
        f"unknown price source {spec!r}: use 'bundled', 'bundled:universe', 'yahoo', "
        "'yahoo-offline' or an existing directory of <TICKER>.csv files"
    )
