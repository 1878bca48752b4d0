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
           "open_source", "frames_source", "reopen_spec"]


def frames_source(prices, name: str = "memory") -> InMemorySource:
    """An in-memory source from pandas objects, as a pandas user has them:

    * ``{ticker: bars}``: one frame per ticker (date index or ``date`` column; ``close`` and/or
      ``adj_close``, optional ``volume``, ``open``, ``high``, ``low``);
    * a long frame with ``ticker`` and ``date`` columns plus the bar columns;
    * a wide frame of prices: a date index (or ``date`` column) and one column per ticker (used as
      ``adj_close``; no volume, so volume measures are NaN).

    Column names match case-insensitively (``Date``, ``Adj Close``).
    """
    import pandas as pd

    from .._errors import PriceSourceError

    def tidy(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
        if "date" in f.columns:
            f = f.set_index("date")
        f.index = pd.DatetimeIndex(pd.to_datetime(f.index), name="date")
        return f

    if isinstance(prices, dict):
        return InMemorySource({str(k): tidy(v) for k, v in prices.items()}, name)
    if not isinstance(prices, pd.DataFrame):
        raise PriceSourceError(f"prices of type {type(prices).__name__}: give a source name, a folder, a DataFrame "
                               "or a dict of DataFrames")
    lower = {str(c).strip().lower(): c for c in prices.columns}
    if "ticker" in lower:
        frame = prices.rename(columns={lower["ticker"]: "ticker"})
        frame = frame.assign(ticker=frame["ticker"].astype(str).str.strip().str.upper())
        return InMemorySource({t: tidy(g.drop(columns="ticker")) for t, g in frame.groupby("ticker", sort=True)}, name)
    from .wide import bars_from_wide_prices

    date_col = lower.get("date", "date")
    bad = [c for c in prices.columns if c != date_col and not pd.api.types.is_numeric_dtype(prices[c])]
    if bad:
        raise PriceSourceError(f"wide price frame: column(s) {', '.join(map(str, bad))} are not numeric (a long "
                               "frame needs a 'ticker' column)")
    try:
        return InMemorySource(bars_from_wide_prices(prices, date_col), name)
    except ValueError as exc:
        raise PriceSourceError(str(exc)) from None


def reopen_spec(described: dict | None) -> str | None:
    """The spec that reopens a source from its ``describe()`` record (bundled, a CSV folder, a store), or
    ``None`` when it cannot be reopened (Yahoo needs its own spec; in-memory frames are gone)."""
    d = described if isinstance(described, dict) else {}
    name = str(d.get("source", ""))
    if name.startswith("bundled"):
        return name
    if name == "csv" and d.get("directory"):
        return str(d["directory"])
    if name == "store" and d.get("path"):
        return f"store:{d['path']}"
    return None


def open_source(spec) -> PriceSource:
    """Build a price source from ``bundled[:NAME]``, ``yahoo``, ``yahoo-offline``, a directory, or
    pandas objects (see :func:`frames_source`); a source object is returned as it is."""
    import pandas as pd

    if isinstance(spec, (dict, pd.DataFrame)):
        return frames_source(spec)
    if not isinstance(spec, str):
        return spec
    if spec == "bundled" or spec.startswith("bundled:"):
        return BundledSource(spec.partition(":")[2] or "seed")
    if spec.startswith("store:"):
        from .store import StoreSource

        return StoreSource(spec.partition(":")[2])
    if spec in ("yahoo", "yahoo-offline"):
        from .yahoo import YahooSource

        return YahooSource(offline=spec == "yahoo-offline")
    path = Path(spec).expanduser()
    if path.is_dir():
        return CsvDirectorySource(path)
    from .._errors import PriceSourceError

    raise PriceSourceError(
        f"unknown price source {spec!r}: use 'bundled', 'bundled:universe', 'yahoo', "
        "'yahoo-offline', 'store:PATH' or an existing directory of <TICKER>.csv files"
    )
