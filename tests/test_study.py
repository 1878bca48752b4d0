"""End-to-end study on SYNTHETIC prices, checked against a slow per-event textbook implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy import StudySpec, run_study
from eventstudy.trading_calendar import nyse_sessions
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events


@pytest.fixture(scope="module")
def syn():
    bars = synthetic_bars(8, start="2016-01-04", n_days=700, seed=7)
    return bars


def slow_market_model(bars, ticker, day0, est=(-250, -11), window=(-1, 1), bench=BENCHMARK):
    """Per-event textbook market model: index on the stock's own sessions, OLS with numpy."""
    s = bars[ticker]["adj_close"]
    m = bars[bench]["adj_close"].reindex(s.index)
    r, rm = s.pct_change(), m.pct_change()
    pos = s.index.get_loc(pd.Timestamp(day0))
    e = slice(pos + est[0], pos + est[1] + 1)
    y, x = r.iloc[e].to_numpy(), rm.iloc[e].to_numpy()
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    s2 = resid @ resid / (len(y) - 2)
    w = slice(pos + window[0], pos + window[1] + 1)
    ar = r.iloc[w].to_numpy() - coef[0] - coef[1] * rm.iloc[w].to_numpy()
    L, M = len(ar), len(y)
    var = s2 * (L + L**2 / M + (rm.iloc[w].to_numpy() - x.mean()).sum() ** 2 / ((x - x.mean()) ** 2).sum())
    return coef, s2, ar, ar.sum(), var


def test_batched_study_matches_slow_per_event(syn):
    ev = synthetic_events(syn, 12, seed=3)
    res = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, windows=((-1, 1), (0, 5))))
    assert (res.events["status"] == "ok").all()
    car = res.car.set_index(["event_id", "window"])
    for _, e in res.events.iterrows():
        coef, s2, ar, c, var = slow_market_model(syn, e["ticker"], e["day0"])
        assert e["alpha"] == pytest.approx(coef[0], abs=1e-12)
        assert e["beta"] == pytest.approx(coef[1], rel=1e-10)
        assert e["sigma"] == pytest.approx(np.sqrt(s2), rel=1e-10)
        assert car.loc[(e["event_id"], "-1:1"), "car"] == pytest.approx(c, rel=1e-9, abs=1e-13)
        assert car.loc[(e["event_id"], "-1:1"), "car_se"] == pytest.approx(np.sqrt(var), rel=1e-9)
        got_ar = res.ar[res.ar["event_id"] == e["event_id"]].set_index("rel_day")["ar"].loc[-1:1].to_numpy()
        np.testing.assert_allclose(got_ar, ar, rtol=1e-9, atol=1e-14)


def test_summary_statistics_by_hand(syn):
    ev = synthetic_events(syn, 30, seed=4)
    res = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK))
    cars = res.car[res.car["window"] == "0:5"].merge(res.events[["event_id", "event_type"]])
    for etype, grp in cars.groupby("event_type"):
        x = grp["car"].to_numpy()
        row = res.caar[(res.caar["event_type"] == etype) & (res.caar["window"] == "0:5")].iloc[0]
        t = x.mean() / (x.std(ddof=1) / np.sqrt(len(x)))
        assert row["n"] == len(x)
        assert row["mean_car"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["median_car"] == pytest.approx(np.median(x), rel=1e-12)
        assert row["pos_share"] == pytest.approx((x > 0).mean())
        assert row["t_cs"] == pytest.approx(t, rel=1e-10)
        from scipy import stats
        assert row["p_cs"] == pytest.approx(2 * stats.t.sf(abs(t), len(x) - 1), rel=1e-8)
    # AAR and CAAR per relative day
    ar = res.ar.merge(res.events[["event_id", "event_type"]])
    sub = ar[ar["event_type"] == "fda_decision"]
    aar = sub.groupby("rel_day")["ar"].mean()
    got = res.aar[res.aar["event_type"] == "fda_decision"].set_index("rel_day")
    np.testing.assert_allclose(got["aar"], aar.loc[got.index], rtol=1e-12)
    np.testing.assert_allclose(got["caar"], aar.loc[got.index].cumsum(), rtol=1e-12)


def test_every_event_keeps_a_row_with_a_status(syn):
    bars = dict(syn)
    short = bars["SYN0001"].iloc[400:].copy()   # history starts late: short estimation
    bars["SYN0001"] = short
    d = syn["SYN0000"].index
    rows = [
        {"event_id": "E-OK", "ticker": "SYN0000", "event_date": d[500].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "E-PRIV", "ticker": "", "event_date": d[500].strftime("%Y-%m-%d"), "event_type": "fda_designation"},
        {"event_id": "E-UNK", "ticker": "NOPE", "event_date": d[500].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "E-SHORT", "ticker": "SYN0001", "event_date": d[450].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "E-LATE", "ticker": "SYN0000", "event_date": "2026-06-01", "event_type": "fda_decision"},
        {"event_id": "E-EARLY", "ticker": "SYN0000", "event_date": "1985-06-03", "event_type": "fda_decision"},
        {"event_id": "E-WEEKEND", "ticker": "SYN0002", "event_date": "2017-07-01", "event_type": "fda_decision",
         "event_time": "after_close"},
    ]
    res = run_study(pd.DataFrame(rows), InMemorySource(bars), StudySpec(benchmark=BENCHMARK))
    st = res.events.set_index("event_id")
    assert sorted(st.index) == sorted(r["event_id"] for r in rows)            # every event keeps its row
    by_date = sorted(rows, key=lambda r: (r["event_date"], r["ticker"], r["event_id"]))
    assert list(st.index) == [r["event_id"] for r in by_date]                 # in the canonical order
    assert st.loc["E-OK", "status"] == "ok"
    assert st.loc["E-PRIV", "status"] == "unmapped"
    assert st.loc["E-UNK", "status"] == "no_prices" and "NOPE" in st.loc["E-UNK", "reason"]
    assert st.loc["E-SHORT", "status"] == "short_estimation" and "minimum 120" in st.loc["E-SHORT", "reason"]
    assert st.loc["E-LATE", "status"] == "outside_data"
    assert st.loc["E-EARLY", "status"] == "outside_data" and "calendar" in st.loc["E-EARLY", "reason"]
    assert st.loc["E-WEEKEND", "day0"] == pd.Timestamp("2017-07-03")  # Saturday -> Monday
    assert st.loc["E-WEEKEND", "day0_rule"] == "next_session_non_trading_day"
    assert (st["reason"][st["status"] != "ok"] != "").all()
    from eventstudy.study import STATUS_ORDER

    assert set(st["status"]) <= set(STATUS_ORDER)
    # ar.csv and volume.csv share their keys; no date is invented
    pd.testing.assert_frame_equal(res.ar[["event_id", "rel_day", "date"]], res.volume[["event_id", "rel_day", "date"]])
    ok_dates = res.ar.query("event_id == 'E-OK'").set_index("rel_day")["date"]
    assert ok_dates[0] == st.loc["E-OK", "day0"] and ok_dates[1] == d[501]
    assert set(res.car["event_id"]) == {"E-OK", "E-WEEKEND"}


def test_gap_return_is_multi_day_and_market_compounded_over_same_span(syn):
    bars = {k: v.copy() for k, v in syn.items()}
    d = bars["SYN0003"].index
    day0 = d[450]
    halted = [d[449], d[448]]                       # stock has no bars on days -2 and -1
    bars["SYN0003"] = bars["SYN0003"].drop(index=halted)
    ev = pd.DataFrame([{"event_id": "GAP", "ticker": "SYN0003", "event_date": day0.strftime("%Y-%m-%d"),
                        "event_type": "fda_decision"}])
    res = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, windows=((-2, 0),)))
    row = res.ar.set_index("rel_day")
    assert np.isnan(row.loc[-2, "ret"]) and np.isnan(row.loc[-1, "ret"])
    p = syn["SYN0003"]["adj_close"]
    m = syn[BENCHMARK]["adj_close"]
    assert row.loc[0, "ret"] == pytest.approx(p[day0] / p[d[447]] - 1, rel=1e-12)
    e = res.events.iloc[0]
    expected = e["alpha"] + e["beta"] * (m[day0] / m[d[447]] - 1)
    assert row.loc[0, "expected"] == pytest.approx(expected, rel=1e-10)
    c = res.car.iloc[0]
    assert c["n_days"] == 1 and c["n_missing"] == 2
    assert "evt:missing_days=2" in e["data_flags"] and "evt:gap_returns=1" in e["data_flags"]


def test_overlapping_events_are_flagged_and_policies_apply(syn):
    d = syn["SYN0004"].index
    rows = [
        {"event_id": "A1", "ticker": "SYN0004", "event_date": d[400].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "A2", "ticker": "SYN0004", "event_date": d[403].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "A3", "ticker": "SYN0004", "event_date": d[425].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "B1", "ticker": "SYN0005", "event_date": d[400].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
        {"event_id": "A4", "ticker": "SYN0004", "event_date": d[500].strftime("%Y-%m-%d"), "event_type": "fda_decision"},
    ]
    ev = pd.DataFrame(rows)
    # span -5:20 → A1 [395,420], A2 [398,423], A3 [420,445]: A1~A2, A1~A3 (touch at 420), A2~A3
    spec = StudySpec(benchmark=BENCHMARK)
    res = run_study(ev, InMemorySource(syn), spec)
    ov = res.events.set_index("event_id")["overlaps"]
    assert ov["A1"] == "A2;A3" and ov["A2"] == "A1;A3" and ov["A3"] == "A1;A2"
    assert ov["B1"] == "" and ov["A4"] == ""           # other ticker / far away
    n = lambda r: int(r.caar.query("event_type == 'ALL' and window == '0:0'")["n"].iloc[0])
    assert n(res) == 5
    drop = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, overlap="drop"))
    assert n(drop) == 2 and set(drop.events.query("in_stats")["event_id"]) == {"B1", "A4"}
    first = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, overlap="first"))
    assert set(first.events.query("in_stats")["event_id"]) == {"A1", "B1", "A4"}
    # keeping one event per cluster does not duplicate or inflate n: A1 counted once, not per ticker
    assert n(first) == 3


def test_constant_mean_and_market_adjusted_end_to_end(syn):
    ev = synthetic_events(syn, 5, seed=9)
    for model in ("constant-mean", "market-adjusted"):
        res = run_study(ev, InMemorySource(syn), StudySpec(model=model, benchmark=BENCHMARK))
        assert (res.events["status"] == "ok").all()
        e = res.events.iloc[0]
        s = syn[e["ticker"]]["adj_close"]
        r = s.pct_change()
        pos = s.index.get_loc(e["day0"])
        if model == "constant-mean":
            mu = r.iloc[pos - 250: pos - 10].mean()
            assert res.ar.query(f"event_id == '{e['event_id']}' and rel_day == 0")["ar"].iloc[0] == \
                pytest.approx(r.iloc[pos] - mu, rel=1e-9)
        else:
            m = syn[BENCHMARK]["adj_close"].pct_change()
            assert res.ar.query(f"event_id == '{e['event_id']}' and rel_day == 0")["ar"].iloc[0] == \
                pytest.approx(r.iloc[pos] - m.iloc[pos], rel=1e-9)


def test_log_returns_option(syn):
    ev = synthetic_events(syn, 3, seed=11)
    res = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, returns="log"))
    e = res.events.iloc[0]
    s = syn[e["ticker"]]["adj_close"]
    pos = s.index.get_loc(e["day0"])
    assert e["ret_d0"] == pytest.approx(np.log(s.iloc[pos] / s.iloc[pos - 1]), rel=1e-12)


def test_spec_rejects_bad_settings():
    with pytest.raises(ValueError, match="model"):
        StudySpec(model="capm2")
    with pytest.raises(ValueError, match="A <= B"):
        StudySpec(windows=("3:1",))
    with pytest.raises(ValueError, match="min_obs"):
        StudySpec(estimation=(-50, -11))
    with pytest.raises(ValueError, match="overlaps the estimation window"):
        StudySpec(windows=("-20:-1",))
    assert StudySpec(windows=("-20:-1",), allow_estimation_overlap=True).notes()  # allowed, and reported
    with pytest.raises(ValueError, match="more than once"):
        StudySpec(windows=("-1:1", "0:0", "-1:1"))
    with pytest.raises(ValueError, match="unknown data flag"):
        StudySpec(exclude_flags=("price_jumps",))


def test_calendar_covers_study_years():
    s = nyse_sessions()
    assert s[0] <= pd.Timestamp("1990-01-02") and s[-1] >= pd.Timestamp("2026-12-31")


def test_duplicates_keep_the_smallest_id_of_each_ticker_day_kind():
    """``_duplicates`` against a plain loop: per (ticker, day 0, kind) among the studied events, every event
    but the one with the smallest id rank (the earlier row on equal ranks) points to that one."""
    from eventstudy.study import _duplicates

    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(0, 50))
        t = rng.choice(np.array(["A", "B", "C", ""], dtype=object), n)
        d, kind, ok = rng.integers(-1, 4, n), rng.integers(0, 3, n), rng.random(n) < 0.8
        rank = rng.permutation(n) if trial % 2 else rng.integers(0, 5, n)
        best: dict = {}
        for i in range(n):
            if ok[i]:
                key = (t[i], d[i], kind[i])
                if key not in best or rank[i] < rank[best[key]]:
                    best[key] = i
        want = np.array([best[(t[i], d[i], kind[i])] if ok[i] and best[(t[i], d[i], kind[i])] != i else -1
                         for i in range(n)], dtype=np.int64)
        np.testing.assert_array_equal(_duplicates(t, d, kind, ok, rank), want)


def test_overlap_lists_sorted_by_id_rank_are_the_lists_sorted_by_id_text():
    """The integer sort by id rank gives the text of a sort by id text (a slow reference written here), with
    more overlaps than are listed and with repeated ids; and a by-hand list."""
    from eventstudy.study import MAX_OVERLAP_IDS, _overlap_lists, _rank_of

    def by_text(ids, pi, pj, n):
        others = [[] for _ in range(n)]
        for i, j in zip(pi.tolist(), pj.tolist()):
            others[i].append(ids[j])
            others[j].append(ids[i])
        text = [";".join(sorted(o)[:MAX_OVERLAP_IDS]) + (f";…(+{len(o) - MAX_OVERLAP_IDS})"
                                                         if len(o) > MAX_OVERLAP_IDS else "") for o in others]
        return [len(o) for o in others], text

    ids = np.array(["E9", "E1", "E5", "E3", "E7", "E2", "E8", "E3", "E4"])
    pi = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2])
    pj = np.array([1, 2, 3, 4, 5, 6, 7, 8, 8])
    n_rank, t_rank = _overlap_lists(ids, pi, pj, len(ids), _rank_of(ids))
    assert (n_rank.tolist(), t_rank.tolist()) == by_text(ids, pi, pj, len(ids))
    assert MAX_OVERLAP_IDS == 5 and t_rank[0] == "E1;E2;E3;E3;E5;…(+2)" and n_rank[0] == 7
    assert t_rank[8] == "E1;E5" and t_rank[3] == "E9" and t_rank[7] == "E9"
    rng = np.random.default_rng(1)
    ids = np.array([f"X{k}" for k in rng.integers(0, 40, 200)])
    pi, pj = rng.integers(0, 200, 3000), rng.integers(0, 200, 3000)
    keep = pi < pj
    n_got, t_got = _overlap_lists(ids, pi[keep], pj[keep], 200, _rank_of(ids))
    assert (n_got.tolist(), t_got.tolist()) == by_text(ids, pi[keep], pj[keep], 200)
    ids = np.array([rng.choice(["É", "é", "e", "Z", "ä", "a b", "😀", "E10", "E9", "e\u0301"]) + str(k % 7)
                    for k in range(200)])                     # text beyond ASCII: code-point order, as Python's
    n_got, t_got = _overlap_lists(ids, pi[keep], pj[keep], 200, _rank_of(ids))
    assert (n_got.tolist(), t_got.tolist()) == by_text(ids, pi[keep], pj[keep], 200)
    n_none, t_none = _overlap_lists(ids, pi[:0], pj[:0], 200, _rank_of(ids))
    assert n_none.tolist() == [0] * 200 and t_none.tolist() == [""] * 200


# ---- canonical order ---------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

from eventstudy.study import _canonical_positions, canonical_order  # noqa: E402

_TEXT = hs.sampled_from(["", "A", "a", "AB", "B", "é", "Z", "ÿ", "\U0001f600", "a b", "10", "9"])


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.tuples(hs.integers(0, 3), _TEXT, _TEXT), min_size=0, max_size=40), hs.booleans())
def test_canonical_positions_are_pandas_stable_sort(rows, nat):
    """The order is pandas' stable three-column sort, ties and equal ids included (the pyarrow path for a
    loaded table; NaT dates take pandas' own)."""
    dates = pd.to_datetime([f"2024-01-0{1 + d}" for d, _, _ in rows]).as_unit("us")
    ev = pd.DataFrame({"event_id": pd.Series([i for _, _, i in rows], dtype=object),
                       "ticker": pd.Series([t for _, t, _ in rows], dtype=object), "event_date": dates},
                      index=np.arange(len(rows))[::-1] * 3)        # an index that is not 0..n-1
    if nat and rows:
        ev.loc[ev.index[0], "event_date"] = pd.NaT
    expect = ev.reset_index(drop=True).sort_values(["event_date", "ticker", "event_id"], kind="stable").index
    np.testing.assert_array_equal(_canonical_positions(ev), expect.to_numpy())
    pd.testing.assert_frame_equal(canonical_order(ev), ev.iloc[expect.to_numpy()].reset_index(drop=True))


def test_canonical_positions_take_the_fast_path():
    """A loaded table (no NaT, text cells) is sorted by pyarrow: the same positions as pandas on many ties."""
    import pyarrow.compute as pc

    rng = np.random.default_rng(5)
    n = 5000
    ev = pd.DataFrame({"event_id": rng.choice([f"E{k}" for k in range(900)], n).astype(object),
                       "ticker": rng.choice(["B", "A", "AA", "b"], n).astype(object),
                       "event_date": pd.to_datetime("2024-01-02") + pd.to_timedelta(rng.integers(0, 3, n), "D")})
    calls = []
    real = pc.sort_indices
    try:
        pc.sort_indices = lambda *a, **k: calls.append(1) or real(*a, **k)
        pos = _canonical_positions(ev)
    finally:
        pc.sort_indices = real
    assert calls == [1]
    np.testing.assert_array_equal(pos, ev.sort_values(["event_date", "ticker", "event_id"], kind="stable").index)
