"""An in-memory price source: a dict of ticker → bar DataFrame (notebooks, tests, benchmarks)."""

from __future__ import annotations

import pandas as pd

from .._errors import TickerNotFoundError
from .base import normalize_bars


class InMemorySource:
    """Serve bars from a mapping ``{ticker: DataFrame}`` (date index, ``close`` or ``adj_close``…)."""

    def __init__(self, bars: dict[str, pd.DataFrame], name: str = "memory"):
        self._bars = {k.upper(): v for k, v in bars.items()}
        self.name = name

    def bars(self, ticker: str) -> pd.DataFrame:
        try:
            return normalize_bars(self._bars[ticker.upper()])
        except KeyError:
            raise TickerNotFoundError(f"{ticker!r} is not in the in-memory source") from None

    def describe(self) -> dict:
        return {"source": self.name, "tickers": len(self._bars)}
