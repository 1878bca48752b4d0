"""An in-memory price source: a dict of ticker → bar DataFrame (notebooks, tests, benchmarks)."""

from __future__ import annotations

import pandas as pd

from .._errors import TickerNotFoundError
from .base import normalize_bars, select_range


class InMemorySource:
    """Serve bars from a mapping ``{ticker: DataFrame}`` (date index, ``close`` or ``adj_close``…).

    Each ticker's frame is brought to the canonical layout once, on first use (change the mapping after
    that and make a new source)."""

    #: local and stateless between reads: chunks may run in processes forked from this one
    fork_safe = True


    def __init__(self, bars: dict[str, pd.DataFrame], name: str = "memory"):
        self._bars = {k.upper(): v for k, v in bars.items()}
        self._normal: dict[str, pd.DataFrame] = {}     # canonical layout, built once per ticker
        self.name = name

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
             ) -> pd.DataFrame:
        """Bars of ``ticker`` with ``start <= date <= end`` (``None`` = unbounded)."""
        key = ticker.upper()
        frame = self._normal.get(key)
        if frame is None:
            try:
                frame = self._normal[key] = normalize_bars(self._bars[key])
            except KeyError:
                raise TickerNotFoundError(f"{ticker!r} is not in the in-memory source") from None
        return select_range(frame, start, end)

    def describe(self) -> dict:
        return {"source": self.name, "tickers": len(self._bars)}
