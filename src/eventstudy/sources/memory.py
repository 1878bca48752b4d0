"""An in-memory price source: a dict of ticker → bar DataFrame (notebooks, tests, benchmarks)."""

from __future__ import annotations

import pandas as pd

from .._errors import TickerNotFoundError
from .base import normalize_bars, select_range


class InMemorySource:
    """Serve bars from a mapping ``{ticker: DataFrame}`` (date index, ``close`` or ``adj_close``…)."""

    def __init__(self, bars: dict[str, pd.DataFrame], name: str = "memory"):
        self._bars = {k.upper(): v for k, v in bars.items()}
        self.name = name

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
             ) -> pd.DataFrame:
        """Bars of ``ticker`` with ``start <= date <= end`` (``None`` = unbounded)."""
        try:
            frame = self._bars[ticker.upper()]
        except KeyError:
            raise TickerNotFoundError(f"{ticker!r} is not in the in-memory source") from None
        return select_range(normalize_bars(frame), start, end)

    def describe(self) -> dict:
        return {"source": self.name, "tickers": len(self._bars)}
