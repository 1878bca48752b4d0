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

import numpy as np
import pandas as pd

from .._errors import PriceSourceError, TickerNotFoundError
from .base import PRICE_COLUMNS, WholeSeriesSource

DATASETS = {"seed": "seed", "universe": "universe"}


def data_dir() -> Path:
    """Folder holding the bundled data files."""
    return Path(str(resources.files("eventstudy") / "data"))


@lru_cache(maxsize=4)
def _load(dataset: str) -> pd.DataFrame:
    return pd.read_parquet(data_dir() / dataset / "prices.parquet")


@lru_cache(maxsize=4)
def _by_ticker(dataset: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The dataset's dates and canonical ``(6, N)`` values (the :data:`~eventstudy.sources.base.PRICE_COLUMNS`,
    NaN where the file has no such column) and each ticker's row positions in date order: one pass over the
    table instead of selecting a ticker's rows by comparing every row, per ticker asked for."""
    table = _load(dataset)
    n = len(table)
    values = np.full((len(PRICE_COLUMNS), n), np.nan)
    for k, col in enumerate(PRICE_COLUMNS):
        if col in table.columns:
            values[k] = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    dates = pd.DatetimeIndex(table["date"]).to_numpy()
    codes, names = pd.factorize(table["ticker"].to_numpy(dtype=object))
    valid = np.flatnonzero(codes >= 0)
    order = valid[np.lexsort((dates[valid], codes[valid]))]
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return dates, values, {str(t): order[bounds[k]:bounds[k + 1]] for k, t in enumerate(names)}


class BundledSource(WholeSeriesSource):
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

    def _whole_arrays(self, key: str, ticker: str) -> tuple[np.ndarray, np.ndarray]:
        all_dates, all_values, rows_of = _by_ticker(self.dataset)
        rows = rows_of.get(key)
        if rows is None:
            raise TickerNotFoundError(f"{ticker!r} is not in the bundled {self.dataset!r} dataset")
        return all_dates[rows], all_values[:, rows]

    def describe(self) -> dict:
        path = data_dir() / self.dataset / "prices.parquet"
        return {
            "source": self.name,
            "file": f"eventstudy/data/{self.dataset}/prices.parquet",
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "provenance": f"eventstudy/data/{self.dataset}/PROVENANCE.md",
        }
