"""Shared fixtures. Synthetic data here is SYNTHETIC (seeded, named SYN…), for tests only."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

# the tests never read or write the user's real cache (prices, factors, figures): one private folder,
# removed when this test process ends (not by processes forked from it)
os.environ["EVENTSTUDY_CACHE"] = _CACHE = tempfile.mkdtemp(prefix="eventstudy-test-cache-")
_PID = os.getpid()


@atexit.register
def _remove_test_cache() -> None:
    if os.getpid() == _PID:
        shutil.rmtree(_CACHE, ignore_errors=True)


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
