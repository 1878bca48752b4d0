"""SYNTHETIC data for unit tests and benchmarks only — never market data.

Every generated ticker is named ``SYN…`` (benchmark ``SYNMKT``) so synthetic prices can
never be mistaken for real ones. Generation is deterministic given ``seed``.

Model: market log returns ~ N(μ_m, σ_m²); stock log returns r = α + β r_m + ε with
ε ~ N(0, σ²); volume = exp(N(log v̄, 0.4²)), rounded to whole shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .trading_calendar import nyse_sessions

BENCHMARK = "SYNMKT"


def synthetic_bars(n_tickers: int, start: str = "2015-01-02", n_days: int = 1000, seed: int = 0,
                   volume: float = 1e6) -> dict[str, pd.DataFrame]:
    """Bars for ``SYN0000…`` tickers plus the benchmark ``SYNMKT`` on NYSE sessions."""
    rng = np.random.default_rng(seed)
    sessions = nyse_sessions()
    sessions = sessions[sessions >= pd.Timestamp(start)][:n_days]
    m = rng.normal(0.0003, 0.012, n_days)
    alpha = rng.normal(0.0, 0.0005, n_tickers)
    beta = rng.uniform(0.5, 1.5, n_tickers)
    sigma = rng.uniform(0.01, 0.04, n_tickers)
    eps = rng.normal(size=(n_tickers, n_days)) * sigma[:, None]
    r = alpha[:, None] + beta[:, None] * m[None, :] + eps
    logp = np.log(20.0) + np.cumsum(r, axis=1)
    vol = np.round(np.exp(rng.normal(np.log(volume), 0.4, size=(n_tickers + 1, n_days))))
    out = {BENCHMARK: _frame(sessions, np.log(100.0) + np.cumsum(m), vol[-1])}
    for i in range(n_tickers):
        out[f"SYN{i:04d}"] = _frame(sessions, logp[i], vol[i])
    return out


def _frame(sessions: pd.DatetimeIndex, logp: np.ndarray, vol: np.ndarray) -> pd.DataFrame:
    close = np.exp(logp)
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "adj_close": close,
                         "volume": vol}, index=pd.DatetimeIndex(sessions, name="date"))


def synthetic_events(bars: dict[str, pd.DataFrame], n_events: int, seed: int = 0, margin: int = 260,
                     types: tuple[str, ...] = ("fda_decision", "equity_offering", "clinical_readout")) -> pd.DataFrame:
    """``n_events`` events on random SYN tickers and dates at least ``margin`` sessions into the sample."""
    rng = np.random.default_rng(seed + 1)
    tickers = [t for t in bars if t != BENCHMARK]
    dates = bars[tickers[0]].index
    pick_t = rng.integers(0, len(tickers), n_events)
    pick_d = rng.integers(margin, len(dates) - 30, n_events)
    return pd.DataFrame({
        "event_id": [f"SYN-EVT-{k:07d}" for k in range(n_events)],
        "ticker": np.asarray(tickers)[pick_t],
        "event_date": dates[pick_d].strftime("%Y-%m-%d"),
        "event_time": "pre_market",
        "event_type": np.asarray(types)[rng.integers(0, len(types), n_events)],
        "headline": "synthetic event (test data)",
    })
