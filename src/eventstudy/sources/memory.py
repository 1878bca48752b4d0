"""An in-memory price source: a dict of ticker → bar DataFrame (notebooks, tests, benchmarks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import TickerNotFoundError
from .base import arrays_frame, canonical_arrays, range_bounds


class InMemorySource:
    """Serve bars from a mapping ``{ticker: DataFrame}`` (date index, ``close`` or ``adj_close``…).

    Each ticker's frame is brought to the canonical layout once, on first use (change the mapping after
    that and make a new source)."""

    #: local and stateless between reads: chunks may run in processes forked from this one
    fork_safe = True


    def __init__(self, bars: dict[str, pd.DataFrame], name: str = "memory"):
        self._bars = {k.upper(): v for k, v in bars.items()}
        self._normal: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # canonical arrays, built once per ticker
        self.name = name

    def bar_arrays(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The bars of :meth:`bars` as ``(dates, values)`` (:func:`~eventstudy.sources.base.frame_arrays`):
        views of the ticker's canonical arrays, no frame built."""
        key = ticker.upper()
        arrays = self._normal.get(key)
        if arrays is None:
            try:
                raw = self._bars[key]
            except KeyError:
                raise TickerNotFoundError(f"{ticker!r} is not in the in-memory source") from None
            arrays = self._normal[key] = canonical_arrays(raw)
        dates, values = arrays
        lo, hi = range_bounds(dates, start, end)
        return dates[lo:hi], values[:, lo:hi]

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
             ) -> pd.DataFrame:
        """Bars of ``ticker`` with ``start <= date <= end`` (``None`` = unbounded)."""
        return arrays_frame(*self.bar_arrays(ticker, start, end))

    def describe(self) -> dict:
        return {"source": self.name, "tickers": len(self._bars)}
