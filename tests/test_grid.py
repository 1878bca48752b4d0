"""The market grid (panel.build_grid) and the window flag counts, against slow textbook versions written
here from the definitions in eventstudy.panel (one ticker, one bar, one session at a time). Inputs are
SYNTHETIC: hypothesis-drawn bars with NaN, zero, negative and infinite prices, repeated bars, zero volume,
dates off the session calendar, time-of-day stamps and basis switches."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstudy.panel import FLAG_NAMES, JUMP_LOG_RATIO, basis_changes, build_grid, flag_cells, window_counts
from eventstudy.trading_calendar import nyse_sessions

COLS = ["open", "high", "low", "close", "adj_close", "volume"]
SESSIONS = nyse_sessions()[(nyse_sessions() >= "2024-03-01") & (nyse_sessions() <= "2024-04-30")]


def _on_grid(x: float) -> bool:
    d = 100.0 if abs(x) >= 1.0 else 10000.0
    return abs(x * d - round(x * d)) / d <= max(1e-6, 4e-7 * abs(x))


def slow_grid(bars: dict[str, pd.DataFrame], sessions: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Every array of the market grid, one ticker and one session at a time."""
    T, S = len(bars), len(sessions)
    where = {d: i for i, d in enumerate(sessions)}
    out = {k: np.full((T, S), np.nan) for k in ("logp", "close", "volume")}
    out.update({f: np.zeros((T, S), bool) for f in FLAG_NAMES})
    out["prev"] = np.full((T, S), -1, np.int64)
    out["first"], out["last"] = np.full(T, -1, np.int64), np.full(T, -1, np.int64)
    out["non_session_rows"] = np.zeros(T, np.int64)
    for t, frame in enumerate(bars.values()):
        placed = []                                   # (session, bar) in date order
        for date, bar in frame.sort_index().iterrows():
            if date in where:
                placed.append((where[date], bar))
            else:
                out["non_session_rows"][t] += 1
        labels, label_at = [], []
        before = None
        for s, bar in placed:
            adj, close = bar["adj_close"], bar["close"]
            px = adj if (math.isfinite(adj) and adj > 0) else close
            out["close"][t, s], out["volume"][t, s] = close, bar["volume"]
            if px > 0:
                out["logp"][t, s] = math.log(px) if math.isfinite(px) else math.inf
            obs = math.isfinite(out["logp"][t, s])
            key = tuple(bar[c] for c in ("open", "high", "low", "close", "volume"))
            if obs:
                out["zero_volume"][t, s] = bar["volume"] == 0
                out["stale_bars"][t, s] = before is not None and key == before
                labels.append(2 if (math.isfinite(adj) and adj > 0) else int(_on_grid(close)))
                label_at.append(s)
            before = key
        obs_row = np.isfinite(out["logp"][t])
        seen = np.flatnonzero(obs_row)
        if len(seen):
            out["first"][t], out["last"][t] = seen[0], seen[-1]
            out["missing_days"][t, seen[0]:seen[-1] + 1] = ~obs_row[seen[0]:seen[-1] + 1]
        for s in range(S):
            earlier = seen[seen < s]
            out["prev"][t, s] = earlier[-1] if len(earlier) else -1
            p = out["prev"][t, s]
            if obs_row[s] and p >= 0:
                out["price_jump"][t, s] = abs(out["logp"][t, s] - out["logp"][t, p]) > JUMP_LOG_RATIO
                out["gap_returns"][t, s] = p < s - 1
        out["basis_change"][t, np.array(label_at, int)[basis_changes(np.array(labels, int))]] = True
    return out


PRICES = st.sampled_from([10.0, 10.0, 10.01, 10.013, 30.5, 0.5, 0.51237, 95.0, 0.0, -1.0, np.nan, np.inf])


@st.composite
def market(draw):
    n_tickers = draw(st.integers(0, 4))
    days = list(SESSIONS) + [pd.Timestamp("2024-03-02"), pd.Timestamp("2024-03-29"),   # a Saturday, Good Friday
                             SESSIONS[3] + pd.Timedelta(hours=16), pd.Timestamp("2024-05-06")]
    bars = {}
    for k in range(n_tickers):
        dates = sorted(set(draw(st.lists(st.sampled_from(days), max_size=30))))
        rows = []
        for _ in dates:
            if rows and draw(st.integers(0, 4)) == 0:
                rows.append(list(rows[-1]))            # a repeated bar
                continue
            close, adj = draw(PRICES), draw(st.one_of(st.just(np.nan), PRICES))
            rows.append([close, close, close, close, adj, draw(st.sampled_from([0.0, 1e5, 2e5, np.nan]))])
        bars[f"T{k}"] = pd.DataFrame(rows, index=pd.DatetimeIndex(dates, name="date"), columns=COLS, dtype=float)
    return bars


@settings(max_examples=150, deadline=None)
@given(market())
def test_grid_equals_the_slow_one_ticker_one_session_version(bars):
    want = slow_grid(bars, SESSIONS)
    got = build_grid(bars, SESSIONS)
    for f in ("logp", "close", "volume", "prev", "first", "last", "non_session_rows"):
        np.testing.assert_array_equal(np.asarray(getattr(got, f)), want[f], err_msg=f)
    for f in FLAG_NAMES:
        np.testing.assert_array_equal(got.flags[f], want[f], err_msg=f)


def test_grid_of_bars_out_of_date_order_equals_the_grid_of_the_sorted_bars():
    bars = {"A": pd.DataFrame([[1, 1, 1, 10.0, np.nan, 5.0], [1, 1, 1, 40.0, np.nan, 0.0], [1, 1, 1, 11.0, np.nan, 5.0]],
                              index=pd.DatetimeIndex([SESSIONS[4], SESSIONS[1], SESSIONS[2]], name="date"),
                              columns=COLS, dtype=float)}
    got, want = build_grid(bars, SESSIONS), slow_grid(bars, SESSIONS)
    np.testing.assert_array_equal(got.logp, want["logp"])
    for f in FLAG_NAMES:
        np.testing.assert_array_equal(got.flags[f], want[f], err_msg=f)
    assert got.flags["price_jump"][0, 2] and got.flags["gap_returns"][0, 4] and got.flags["zero_volume"][0, 1]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_window_counts_count_the_flagged_cells_of_each_window(T, S, seed):
    rng = np.random.default_rng(seed)
    ind = rng.random((T, S)) < rng.choice([0.0, 0.1, 0.5, 1.0])
    n = 20
    rows = rng.integers(-1, T, n)
    start = rng.integers(-4, S + 4, n)
    end = start + rng.integers(-3, S + 3, n)
    want = np.array([0 if r < 0 else sum(int(ind[r, c]) for c in range(max(a, 0), min(b, S - 1) + 1))
                     for r, a, b in zip(rows, start, end)])
    np.testing.assert_array_equal(window_counts(ind, rows, start, end), want)
    np.testing.assert_array_equal(window_counts(ind, rows, start, end, flag_cells(ind)), want)
