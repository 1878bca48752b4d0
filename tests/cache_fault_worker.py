"""Worker processes for tests/test_cache_faults.py (run as a script, not collected by pytest).

``write CACHE_DIR``: write two SYNTHETIC frames (A: 300 rows, B: 600 rows) alternately to the
cache file of ``SYN`` forever, printing ``ready`` after the first write (the test kills it -9).
``fetch CACHE_DIR BARRIER_DIR ID``: wait until both fetchers are ready, then fetch IBRX through
a slow replaying session and print the number of chart requests and a hash of the bars.
"""

from __future__ import annotations

import hashlib
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd


def _light_package() -> None:
    """Import ``eventstudy.sources.*`` without the package ``__init__`` (it loads scipy/statsmodels: seconds per
    process); the modules under test are the same files."""
    if "eventstudy" in sys.modules:
        return
    import importlib.util

    spec = importlib.util.find_spec("eventstudy")
    pkg = types.ModuleType("eventstudy")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["eventstudy"] = pkg


def synthetic(n: int) -> pd.DataFrame:
    """SYNTHETIC bars, seeded by length: frame A (n=300) and frame B (n=600) differ in every value."""
    rng = np.random.default_rng(n)
    idx = pd.bdate_range("2000-01-03", periods=n, name="date")
    close = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "adj_close": close,
                         "volume": rng.integers(1, 10**6, n).astype(float), "dividends": 0.0, "splits": 0.0},
                        index=idx)


def write(cache_dir: str) -> None:
    from eventstudy.sources.cache import BarCache

    cache = BarCache(cache_dir)
    frames = [synthetic(300), synthetic(600)]
    k = 0
    while True:
        f = frames[k % 2]
        cache.write("SYN", f, {"covered_start": str(f.index[0].date()), "covered_end": str(f.index[-1].date()),
                               "rows": len(f)})
        if k == 0:
            print("ready", flush=True)
        k += 1
        time.sleep(0.002)   # a real writer fetches between writes; lets readers get the lock


def fetch(cache_dir: str, barrier: str, ident: str) -> None:
    from eventstudy.sources.yahoo import YahooSource
    from yahoo_replay import ReplaySession

    sess = ReplaySession()
    sess.delay = 0.4
    src = YahooSource(cache_dir=cache_dir, session=sess, today=lambda: pd.Timestamp("2026-01-31").date())
    Path(barrier, ident).touch()
    while len(list(Path(barrier).iterdir())) < 2:
        time.sleep(0.01)
    bars = src.bars("IBRX", pd.Timestamp("2025-11-03"), pd.Timestamp("2026-01-30"))
    digest = hashlib.sha256(pd.util.hash_pandas_object(bars).to_numpy().tobytes()).hexdigest()
    print(len(sess.chart_calls("IBRX")), len(bars), digest, flush=True)


if __name__ == "__main__":
    _light_package()
    {"write": write, "fetch": fetch}[sys.argv[1]](*sys.argv[2:])
