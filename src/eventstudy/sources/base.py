"""The price-source interface and the canonical bar layout."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "adj_close", "volume")
#: the canonical columns as one (immutable) pandas Index, shared by every canonical frame: building the
#: column index is most of the cost of a small frame
CANONICAL_COLUMNS = pd.Index(list(PRICE_COLUMNS))


@runtime_checkable
class PriceSource(Protocol):
    """Anything that returns daily bars for a ticker.

    ``bars(ticker, start, end)`` returns the bars with ``start <= date <= end`` (either bound
    ``None`` = unbounded) and raises :class:`eventstudy._errors.TickerNotFoundError` when the
    source has no data for the ticker at all, or a
    :class:`~eventstudy._errors.SourceFailureError` subclass when it could not answer. A source
    may attach ``frame.attrs["source_flags"]`` (e.g. ``{"stale_cache": "2026-01-30",
    "stale_reason": "..."}`` when it served cached bars because the network failed).
    ``describe`` returns provenance for the run manifest. A source may also have
    ``prefetch(tickers)``, called once before a study asks for those tickers one by one, to read them
    in one batch (a folder of CSV files parses them as one table); it must never change what ``bars``
    returns or raises.
    """

    name: str

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
             ) -> pd.DataFrame: ...

    def describe(self) -> dict: ...


def normalize_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Return bars in the canonical layout: DatetimeIndex ``date``, all :data:`PRICE_COLUMNS` as float64.

    Missing columns are added as NaN (``adj_close`` is often absent). Rows are sorted by date;
    the caller is responsible for rejecting duplicates before this point.
    """
    n = len(frame)
    dtypes = frame.dtypes
    same = frame.columns.equals(CANONICAL_COLUMNS)
    if all(d.kind in "fiu" for d in dtypes) if same else \
            all(c in dtypes.index and dtypes[c].kind in "fiu" for c in PRICE_COLUMNS):   # numeric: one block
        block = frame.to_numpy(dtype="float64", copy=True) if same else \
            frame[list(PRICE_COLUMNS)].to_numpy(dtype="float64")
        index = frame.index if isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "date" else \
            pd.DatetimeIndex(frame.index, name="date")
        out = pd.DataFrame(block, index=index, columns=CANONICAL_COLUMNS, copy=False)
        return out if out.index.is_monotonic_increasing else out.sort_index()
    data = {}
    for col in PRICE_COLUMNS:
        if col not in frame:
            data[col] = np.full(n, np.nan)
            continue
        s = frame[col]
        data[col] = (s.to_numpy(dtype="float64", na_value=np.nan) if pd.api.types.is_numeric_dtype(s)
                     else pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan))
    out = pd.DataFrame(data, index=pd.DatetimeIndex(frame.index, name="date"), copy=False)
    return out if out.index.is_monotonic_increasing else out.sort_index()


def select_range(frame: pd.DataFrame, start: pd.Timestamp | str | None = None,
                 end: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Rows of a date-indexed, ascending ``frame`` with ``start <= date <= end`` (``None`` = unbounded)."""
    if start is None and end is None:
        return frame
    idx = frame.index
    lo = 0 if start is None else idx.searchsorted(pd.Timestamp(start), side="left")
    hi = len(idx) if end is None else idx.searchsorted(pd.Timestamp(end), side="right")
    return frame.iloc[lo:hi]
