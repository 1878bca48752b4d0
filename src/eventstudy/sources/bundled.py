"""Real daily prices shipped inside the package (see ``data/<name>/PROVENANCE.md``).

* ``seed``: the seed-event tickers and the XBI, IBB, SPY ETFs, 2022-12-01 → 2026-08-12.
* ``universe``: 220 tickers of the 2015–2024 FDA decisions and curated catalysts,
  2013-06-03 → 2024-03-08 (Yahoo bars, split- and dividend-adjusted ``adj_close``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from .._errors import PriceSourceError, TickerNotFoundError
from .base import normalize_bars, select_range

DATASETS = {"seed": "seed", "universe": "universe"}


def data_dir() -> Path:
    """Folder holding the bundled data files."""
    return Path(str(resources.files("eventstudy") / "data"))


@lru_cache(maxsize=4)
def _load(dataset: str) -> pd.DataFrame:
    return pd.read_parquet(data_dir() / dataset / "prices.parquet")


class BundledSource:
    """Prices from a dataset bundled with the package (no network needed)."""

    #: local and stateless between reads: chunks may run in processes forked from this one
    fork_safe = True


    def __init__(self, dataset: str = "seed"):
        if dataset not in DATASETS:
            raise PriceSourceError(f"unknown bundled dataset {dataset!r}; choose from {', '.join(DATASETS)}")
        self.dataset = dataset
        self.name = f"bundled:{dataset}"

    @property
    def _frame(self) -> pd.DataFrame:
        return _load(self.dataset)

    def tickers(self) -> list[str]:
        """Tickers in this dataset."""
        return sorted(self._frame["ticker"].unique())

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
             ) -> pd.DataFrame:
        """Bars of ``ticker`` with ``start <= date <= end`` (``None`` = unbounded)."""
        frame = self._frame
        sub = frame[frame["ticker"] == ticker.upper()]
        if sub.empty:
            raise TickerNotFoundError(f"{ticker!r} is not in the bundled {self.dataset!r} dataset")
        return select_range(normalize_bars(sub.set_index("date").drop(columns="ticker")), start, end)

    def describe(self) -> dict:
        path = data_dir() / self.dataset / "prices.parquet"
        return {
            "source": self.name,
            "file": f"eventstudy/data/{self.dataset}/prices.parquet",
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "provenance": f"eventstudy/data/{self.dataset}/PROVENANCE.md",
        }
