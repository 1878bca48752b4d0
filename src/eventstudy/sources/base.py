"""The price-source interface and the canonical bar layout."""

from __future__ import annotations

from collections.abc import Callable
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
    returns or raises. A source may also have ``bar_arrays(ticker, start, end)``: the bars ``bars`` would
    return, as :func:`frame_arrays` gives them, with the same errors, for a source that attaches no
    ``source_flags``; a study then reads them without building a frame per ticker.
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


def frame_arrays(bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(dates, values)`` of bars: the dates (datetime64, ascending as in the frame) and the
    :data:`PRICE_COLUMNS` as one ``(6, n)`` float64 array (row k = column k). For a canonical frame both are
    views of the frame's own arrays (its one float block, transposed), not copies."""
    if bars.columns.equals(CANONICAL_COLUMNS):
        block = bars.to_numpy()
        if block.dtype != np.float64:
            block = block.astype(np.float64)
    else:
        block = bars[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    return bars.index.to_numpy(), block.T


def canonical_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``frame_arrays(normalize_bars(frame))`` as fresh arrays (dates, C-contiguous ``(6, n)`` values): the
    same bits, read straight off a frame that is already canonical (the :data:`PRICE_COLUMNS` in order, all
    numeric, an ascending tz-naive DatetimeIndex: three pandas calls instead of building a frame); any
    other frame goes through :func:`normalize_bars`."""
    index = frame.index
    if (frame.columns.equals(CANONICAL_COLUMNS) and type(index) is pd.DatetimeIndex and index.tz is None
            and index.is_monotonic_increasing):
        block = frame.to_numpy()
        if block.dtype.kind in "fiu":                   # numeric columns only (a text or bool column: object)
            return index.to_numpy().copy(), np.array(block.T, dtype=np.float64, order="C")
    dates, values = frame_arrays(normalize_bars(frame))
    return dates.copy(), np.array(values, order="C")


def array_reader(source) -> "Callable | None":
    """The source's ``bar_arrays`` when it serves the very bars of its ``bars``: both defined by the same
    class and neither replaced on the instance. A subclass (or a test double) that overrides ``bars`` alone
    is read through its ``bars``, so its override is never bypassed."""
    cls, own = type(source), getattr(source, "__dict__", {})
    if getattr(cls, "bar_arrays", None) is None or "bars" in own or "bar_arrays" in own:
        return None
    owner = {name: next(c for c in cls.__mro__ if name in c.__dict__) for name in ("bars", "bar_arrays")}
    return source.bar_arrays if owner["bars"] is owner["bar_arrays"] else None


def arrays_frame(dates: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Canonical bars from :func:`frame_arrays`' ``(dates, values)`` (the inverse; no copy of ``values``)."""
    return pd.DataFrame(values.T, index=pd.DatetimeIndex(dates, name="date"), columns=CANONICAL_COLUMNS, copy=False)


def range_bounds(dates: np.ndarray, start: pd.Timestamp | str | None, end: pd.Timestamp | str | None
                 ) -> tuple[int, int]:
    """Positions ``lo, hi`` such that ``dates[lo:hi]`` (ascending datetime64) are the dates with
    ``start <= date <= end`` (``None`` = unbounded)."""
    lo = 0 if start is None else int(np.searchsorted(dates, pd.Timestamp(start).to_datetime64(), side="left"))
    hi = len(dates) if end is None else int(np.searchsorted(dates, pd.Timestamp(end).to_datetime64(), side="right"))
    return lo, hi


class WholeSeriesSource:
    """Base of a source that holds each ticker's whole series as canonical arrays, built once per ticker
    by :meth:`_whole_arrays` (which raises :class:`~eventstudy._errors.TickerNotFoundError` for a ticker it
    lacks): :meth:`bar_arrays` serves date ranges of them as views and :meth:`bars` as frames."""

    def _whole_arrays(self, key: str, ticker: str) -> tuple[np.ndarray, np.ndarray]:   # pragma: no cover
        raise NotImplementedError

    def bar_arrays(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The bars of :meth:`bars` as ``(dates, values)`` (:func:`frame_arrays`): views of the ticker's
        whole arrays, no frame built."""
        key = ticker.upper()
        cache = self.__dict__.setdefault("_whole", {})
        arrays = cache.get(key)
        if arrays is None:
            arrays = cache[key] = self._whole_arrays(key, ticker)
        dates, values = arrays
        lo, hi = range_bounds(dates, start, end)
        return dates[lo:hi], values[:, lo:hi]

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
             ) -> pd.DataFrame:
        """Bars of ``ticker`` with ``start <= date <= end`` (``None`` = unbounded)."""
        return arrays_frame(*self.bar_arrays(ticker, start, end))


def select_range(frame: pd.DataFrame, start: pd.Timestamp | str | None = None,
                 end: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Rows of a date-indexed, ascending ``frame`` with ``start <= date <= end`` (``None`` = unbounded;
    :func:`range_bounds`)."""
    if start is None and end is None:
        return frame
    lo, hi = range_bounds(frame.index.to_numpy(), start, end)
    return frame.iloc[lo:hi]
