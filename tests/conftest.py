"""Shared fixtures. Synthetic data here is SYNTHETIC (seeded, named SYN…), for tests only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

# the tests never read or write the user's real cache (prices, factors, figures): one private folder
os.environ["EVENTSTUDY_CACHE"] = tempfile.mkdtemp(prefix="eventstudy-test-cache-")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def write_events(path: Path, rows: list[dict]) -> Path:
    cols = ["event_id", "ticker", "company", "event_date", "event_time", "event_type", "subtype", "headline",
            "source_url", "confidence", "notes"]
    pd.DataFrame(rows).reindex(columns=cols).astype(object).fillna("").to_csv(path, index=False)
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
