"""An in-memory price source: a dict of ticker → bar DataFrame (notebooks, tests, benchmarks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import TickerNotFoundError
from .base import WholeSeriesSource, canonical_arrays


class InMemorySource(WholeSeriesSource):
    """Serve bars from a mapping ``{ticker: DataFrame}`` (date index, ``close`` or ``adj_close``…).

    Each ticker's frame is brought to the canonical layout once, on first use (change the mapping after
    that and make a new source)."""

    #: local and stateless between reads: chunks may run in processes forked from this one
    fork_safe = True


    def __init__(self, bars: dict[str, pd.DataFrame], name: str = "memory"):
        self._bars = {k.upper(): v for k, v in bars.items()}
        self.name = name

    def _whole_arrays(self, key: str, ticker: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            raw = self._bars[key]
        except KeyError:
            raise TickerNotFoundError(f"{ticker!r} is not in the in-memory source") from None
        return canonical_arrays(raw)

    def describe(self) -> dict:
        return {"source": self.name, "tickers": len(self._bars)}
