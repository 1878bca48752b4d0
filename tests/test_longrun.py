"""Long-horizon BHARs, their tests, control firms and calendar-time portfolios, each against a slow
textbook implementation written here. All price data in this file are SYNTHETIC (seeded)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy import calendar_time as ctm
from eventstudy.longrun import (LongRunSpec, bootstrap_skewness_adjusted, buy_and_hold, match_controls,
                                matching_characteristic, run_longrun, skewness_adjusted_t)
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars


# ---- skewness-adjusted t and its bootstrap -----------------------------------------------------------
def _slow_tsa(x):
    n = len(x)
    mean = sum(x) / n
    s = (sum((v - mean) ** 2 for v in x) / (n - 1)) ** 0.5
    S = mean / s
    g = sum((v - mean) ** 3 for v in x) / (n * s**3)
    return n**0.5 * (S + g * S * S / 3 + g / (6 * n))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skewness_adjusted_t_matches_textbook(seed):
    x = np.random.default_rng(seed).lognormal(0, 1, 40) - 1.4
    t, p, g = skewness_adjusted_t(x)
    assert t == pytest.approx(_slow_tsa(list(x)), rel=1e-12)
    assert p == pytest.approx(2 * stats.norm.sf(abs(t)), rel=1e-12)
    assert g == pytest.approx(stats.skew(x) * ((len(x) - 1) / len(x)) ** 1.5, rel=1e-10)
    assert t != pytest.approx(stats.ttest_1samp(x, 0).statistic, rel=1e-3)   # skewed sample: adjustment matters


def test_bootstrap_skewness_adjusted_matches_textbook():
    x = np.random.default_rng(5).lognormal(0, 1, 60) - 1.5
    reps, nb = 400, 15
    lo, hi, p = bootstrap_skewness_adjusted(x, reps=reps, seed=11)
    idx = np.random.default_rng(11).integers(0, len(x), size=(reps, nb))
    xbar = x.mean()
    tb = []
    for r in range(reps):
        b = [x[j] for j in idx[r]]
        m = sum(b) / nb
        s = (sum((v - m) ** 2 for v in b) / (nb - 1)) ** 0.5
        S = (m - xbar) / s
        g = sum((v - m) ** 3 for v in b) / (nb * s**3)
        tb.append(nb**0.5 * (S + g * S * S / 3 + g / (6 * nb)))
    tb = np.sort(tb)
    t_sa = _slow_tsa(list(x))
    assert lo == pytest.approx(np.quantile(tb, 0.025), rel=1e-10)
    assert hi == pytest.approx(np.quantile(tb, 0.975), rel=1e-10)
    below, above = sum(v <= t_sa for v in tb) / reps, sum(v >= t_sa for v in tb) / reps
    assert p == pytest.approx(min(1.0, 2 * min(below, above)))
    assert bootstrap_skewness_adjusted(x, reps=reps, seed=11) == (lo, hi, p)     # seeded


def test_wilcoxon_on_bhars_matches_scipy():
    from eventstudy.inference import wilcoxon

    x = np.random.default_rng(3).normal(-0.1, 0.4, 35)
    w, z, p = wilcoxon(x)
    ref = stats.wilcoxon(x, correction=False, method="approx")
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    assert w == sum(stats.rankdata(np.abs(x))[x > 0])


# ---- buy-and-hold paths ------------------------------------------------------------------------------
def _slow_bh(prices, bench, start, L, fill):
    """Per event, by hand: compound simple returns of observed days; benchmark over the same spans."""
    S = len(prices)
    base = max([k for k in range(0, start) if np.isfinite(prices[k])], default=None)
    if base is None:
        return None
    out, gs, gb, last = [], 1.0, 1.0, base
    for k in range(start, start + L):
        if k < S and np.isfinite(prices[k]):
            gs *= prices[k] / prices[last]
            gb *= bench[k] / bench[last]
            last = k
        if fill:
            kk = min(k, S - 1)
            out.append(gs * bench[kk] / bench[last] - gb * bench[kk] / bench[last])
        else:
            out.append(gs - gb)
    return np.array(out)


@pytest.mark.parametrize("fill", [False, True])
def test_buy_and_hold_matches_slow_compounding(fill):
    rng = np.random.default_rng(9)
    T, S = 4, 60
    logp = np.cumsum(rng.normal(0, 0.03, (T, S)), axis=1)
    logp[0, [10, 11, 25]] = np.nan          # gaps
    logp[1, 40:] = np.nan                   # delisted after session 39
    logp[2, :12] = np.nan                   # listed at session 12
    blog = np.cumsum(rng.normal(0, 0.01, S))
    rows = np.array([0, 1, 2, 3, 3])
    start = np.array([8, 30, 12, 50, 2])
    L = 20
    bh = buy_and_hold(logp, rows, blog[None, :], np.zeros(5, int), start, L,
                      "fill-benchmark" if fill else "truncate")
    for i in range(5):
        ref = _slow_bh(np.exp(logp[rows[i]]), np.exp(blog), start[i], L, fill)
        if ref is None:
            assert bh.base[i] == -1 and np.isnan(bh.bhar[i]).all()
        else:
            np.testing.assert_allclose(bh.bhar[i], ref, rtol=1e-10, atol=1e-13)
    assert bh.n_days[1, -1] == 10            # sessions 30..39
    assert bh.n_days[0, -1] == 17            # sessions 8..27 less the gaps at 10, 11, 25


# ---- control firms ----------------------------------------------------------------------------------
def test_reference_portfolio_is_mean_of_buy_and_hold_values():
    from eventstudy.longrun import buy_and_hold_portfolio

    rng = np.random.default_rng(6)
    logp = np.cumsum(rng.normal(0, 0.02, (5, 50)), axis=1)
    rows, start, L = np.array([0, 1]), np.array([10, 20]), 15
    refs = np.array([[2, 3, 4], [0, 2, 3]])
    bh = buy_and_hold_portfolio(logp, rows, logp, refs, start, L)
    p = np.exp(logp)
    for i in range(2):
        s0, e = start[i] - 1, start[i] + L - 1
        stock = p[rows[i], e] / p[rows[i], s0]
        ref = np.mean([p[c, e] / p[c, s0] for c in refs[i]])
        assert bh.bhar[i, -1] == pytest.approx(stock - ref, rel=1e-12)


def test_matching_and_controls_match_slow_loops():
    rng = np.random.default_rng(4)
    T, S, m = 6, 80, 20
    logp = np.log(rng.uniform(2, 50, T))[:, None] + np.cumsum(rng.normal(0, 0.02, (T, S)) * rng.uniform(0.5, 3, T)[:, None], axis=1)
    logp[5, :50] = np.nan
    close = np.exp(logp)
    volume = rng.uniform(1e4, 1e6, (T, S))
    day0 = np.array([30, 60])
    for kind in ("dollar-volume", "price", "volatility"):
        x, count = matching_characteristic(kind, logp, close, volume, day0, m)
        for j, p in enumerate(day0):
            for r in range(T):
                w = range(p - m, p)
                obs = [k for k in w if np.isfinite(logp[r, k])]
                assert count[r, j] == len(obs)
                if kind == "dollar-volume":
                    ref = np.mean([close[r, k] * volume[r, k] for k in obs]) if obs else np.nan
                elif kind == "price":
                    ref = close[r, obs[-1]] if obs else np.nan
                else:
                    rets = [logp[r, k] - logp[r, k - 1] for k in w if np.isfinite(logp[r, k]) and np.isfinite(logp[r, k - 1])]
                    ref = np.std(rets, ddof=1) if len(rets) >= 10 else np.nan
                np.testing.assert_allclose(x[r, j], ref, rtol=1e-9, equal_nan=True)
        own = np.array([0, 1])
        eligible = np.ones((T, 2), bool)
        eligible[2, 0] = False
        got = match_controls(x, own, eligible)
        got3 = match_controls(x, own, eligible, k=3)
        for j in range(2):
            cands = sorted((abs(np.log(x[r, j]) - np.log(x[own[j], j])), r) for r in range(T)
                           if r != own[j] and eligible[r, j] and np.isfinite(x[r, j]))
            assert got[j, 0] == cands[0][1]
            if len(cands) >= 3:
                assert list(got3[j]) == [c[1] for c in cands[:3]]
            else:
                assert (got3[j] == -1).all()
        assert (match_controls(x, own, eligible, k=T) == -1).all()     # never enough: the event firm is excluded


# ---- calendar time ------------------------------------------------------------------------------------
def test_holdings_and_portfolio_match_loops():
    rng = np.random.default_rng(2)
    T, S = 5, 40
    rows = np.array([0, 0, 1, 3, 4])
    start = np.array([2, 6, 30, 35, -3])
    end = np.array([8, 12, 45, 36, 1])
    held = ctm.holdings(rows, start, end, (T, S))
    ref = np.zeros((T, S), bool)
    for r, a, b in zip(rows, start, end):
        for s in range(max(a, 0), min(b, S - 1) + 1):
            ref[r, s] = True
    np.testing.assert_array_equal(held, ref)
    ret = rng.normal(0, 0.02, (T, S))
    ret[0, 7] = np.nan
    mean, n = ctm.portfolio_returns(ret, held)
    for s in range(S):
        vals = [ret[r, s] for r in range(T) if held[r, s] and np.isfinite(ret[r, s])]
        assert n[s] == len(vals)
        if vals:
            assert mean[s] == pytest.approx(np.mean(vals), rel=1e-12)
        else:
            assert np.isnan(mean[s])


def test_alpha_newey_west_matches_hand_formula():
    rng = np.random.default_rng(8)
    P, k = 300, 3
    f = rng.normal(0, 0.01, (P, k))
    e = np.convolve(rng.normal(0, 0.01, P + 2), [1, 0.5, 0.25], "valid")   # autocorrelated errors
    y = 0.0004 + f @ np.array([1.0, 0.3, -0.2]) + e
    r = ctm.alpha_regression(y, f, ("a", "b", "c"), np.full(P, 7.0), 252, nw_lags=4)
    X = np.column_stack([np.ones(P), f])
    XtXi = np.linalg.inv(X.T @ X)
    b = XtXi @ X.T @ y
    u = y - X @ b
    s2 = u @ u / (P - k - 1)
    assert r.alpha == pytest.approx(b[0], rel=1e-10)
    assert r.t_classical == pytest.approx(b[0] / np.sqrt(s2 * XtXi[0, 0]), rel=1e-10)
    g = X * u[:, None]
    S = g.T @ g
    for lag in range(1, 5):
        w = 1 - lag / 5
        G = g[lag:].T @ g[:-lag]
        S += w * (G + G.T)
    V = XtXi @ S @ XtXi * P / (P - k - 1)
    assert r.t_nw == pytest.approx(b[0] / np.sqrt(V[0, 0]), rel=1e-9)
    assert r.p_nw == pytest.approx(2 * stats.t.sf(abs(r.t_nw), P - k - 1), rel=1e-9)
    assert r.alpha_ann == pytest.approx((1 + b[0]) ** 252 - 1)
    assert r.mean_size == 7.0


def test_monthly_returns_and_factors():
    sessions = pd.bdate_range("2020-01-01", "2020-04-30")
    ends = ctm.month_ends(sessions)
    assert [sessions[e].strftime("%Y-%m-%d") for e in ends] == ["2020-01-31", "2020-02-28", "2020-03-31", "2020-04-30"]
    logp = np.log(np.linspace(10, 20, len(sessions)))[None, :].repeat(2, axis=0)
    logp[1, ends[2] - 3:] = np.nan          # stops in March
    m = ctm.monthly_stock_returns(logp, ends)
    p = np.exp(logp[0])
    assert m[0, 1] == pytest.approx(p[ends[1]] / p[ends[0]] - 1)
    assert m[1, 2] == pytest.approx(np.exp(logp[1, ends[2] - 4]) / p[ends[1]] - 1)   # partial month
    assert np.isnan(m[1, 3]) and np.isnan(m[:, 0]).all()
    fac = pd.DataFrame({"Mkt-RF": 0.001, "RF": 0.0001, "SMB": 0.002}, index=sessions)
    mf = ctm.monthly_factors(fac, sessions, ends)
    days = (sessions.month == 2).sum()
    assert mf["RF"].iloc[1] == pytest.approx(1.0001**days - 1)
    assert mf["Mkt-RF"].iloc[1] == pytest.approx(1.0011**days - 1.0001**days)
    assert mf["SMB"].iloc[1] == pytest.approx(1.002**days - 1)


# ---- the whole pipeline on synthetic prices ---------------------------------------------------------------
class _ListingSource(InMemorySource):
    def tickers(self):
        return sorted(self._bars)


@pytest.fixture(scope="module")
def synthetic_study():
    bars = synthetic_bars(30, start="2015-01-02", n_days=900, seed=3)
    bars["SYN0001"] = bars["SYN0001"].iloc[:500]             # delisted at session 499
    dates = bars["SYN0000"].index
    ev = pd.DataFrame({
        "event_id": ["E1", "E2", "E3", "E4", "E5", "E6"],
        "ticker": ["SYN0000", "SYN0001", "SYN0002", "SYN0003", "", "SYN0004"],
        "event_date": [dates[k].strftime("%Y-%m-%d") for k in (300, 400, 850, 310, 300, 320)],
        "event_time": "pre_market", "event_type": ["equity_offering"] * 2 + ["fda_decision"] * 4,
    })
    fac = pd.DataFrame({"Mkt-RF": np.random.default_rng(1).normal(0, 0.01, len(dates)), "RF": 0.00005,
                        "SMB": 0.0, "HML": 0.0}, index=dates)
    fac["SMB"] = np.random.default_rng(2).normal(0, 0.005, len(dates))
    fac["HML"] = np.random.default_rng(3).normal(0, 0.005, len(dates))
    spec = LongRunSpec(horizons=((0, 125), (1, 20)), benchmark=BENCHMARK, controls=("dollar-volume",),
                       ct_models=("ff3",), min_stocks=1, boot_reps=200)
    return run_longrun(ev, _ListingSource(bars), spec, factors=fac), bars, ev


def test_pipeline_statuses_and_values(synthetic_study):
    res, bars, ev = synthetic_study
    b = res.bhar.set_index(["event_id", "horizon", "benchmark"])
    r = b.loc[("E1", "0:125", BENCHMARK)]
    px, mk = bars["SYN0000"]["close"], bars[BENCHMARK]["close"]
    ref = px.iloc[425] / px.iloc[299] - mk.iloc[425] / mk.iloc[299]
    assert r["bhar"] == pytest.approx(ref, rel=1e-9) and r["status"] == "ok" and r["n_days"] == 126
    d = b.loc[("E2", "0:125", BENCHMARK)]          # day 0 = 400, prices end at 499
    assert bool(d["delisted_before_end"]) and d["status"] == "ok" and d["in_stats"]
    px1 = bars["SYN0001"]["close"]
    assert d["bhar"] == pytest.approx(px1.iloc[499] / px1.iloc[399] - mk.iloc[499] / mk.iloc[399], rel=1e-9)
    assert "prices end" in d["reason"] and d["n_days"] == 100
    inc = b.loc[("E3", "0:125", BENCHMARK)]
    assert inc["status"] == "incomplete_horizon" and not inc["in_stats"] and np.isfinite(inc["bhar"])
    assert b.loc[("E5", "0:125", BENCHMARK), "status"] == "unmapped"
    c = b.loc[("E4", "1:20", "control:dollar-volume")]
    ctrl = c["control_ticker"]
    assert ctrl not in ("", "SYN0003", "SYN0000", "SYN0004")   # not the firm itself, nor firms with events nearby
    pc, p3 = bars[ctrl]["close"], bars["SYN0003"]["close"]
    assert c["bhar"] == pytest.approx(p3.iloc[330] / p3.iloc[310] - pc.iloc[330] / pc.iloc[310], rel=1e-9)
    # every input event keeps a row per horizon and benchmark
    assert len(res.bhar) == len(ev) * 2 * 2


def test_pipeline_summary_and_files(synthetic_study, tmp_path):
    res, _, _ = synthetic_study
    tab = res.summary_table
    row = tab[(tab["group"] == "ALL") & (tab["horizon"] == "0:125") & (tab["benchmark"] == BENCHMARK)].iloc[0]
    x = res.bhar[(res.bhar["horizon"] == "0:125") & (res.bhar["benchmark"] == BENCHMARK) & res.bhar["in_stats"]]["bhar"]
    assert row["n"] == len(x) == 4
    assert row["mean_bhar"] == pytest.approx(x.mean())
    assert row["t_sa"] == pytest.approx(_slow_tsa(list(x)))
    assert row["n_delisted"] == 1 and row["n_incomplete"] == 1
    res.to_csv(tmp_path)
    for f in ("bhar.csv", "longrun_summary.csv", "bhar_paths.csv", "calendar_time.csv", "calendar_time_alpha.csv",
              "longrun_manifest.json"):
        assert (tmp_path / f).is_file()
    back = pd.read_csv(tmp_path / "bhar.csv", dtype={"event_id": str}, keep_default_na=False)
    assert {"event_id", "horizon", "bhar", "n_days", "status", "reason", "delisted_before_end"} <= set(back.columns)
    paths = res.path_table()
    last = paths[(paths["group"] == "ALL") & (paths["horizon"] == "0:125") & (paths["benchmark"] == BENCHMARK)].iloc[-1]
    assert last["mean_bhar"] == pytest.approx(x.mean())
    assert "Long-horizon study" in res.summary()


def test_calendar_time_series_by_hand(synthetic_study):
    res, bars, _ = synthetic_study
    s = res.calendar["series"]
    s = s[(s["group"] == "ALL") & (s["horizon"] == "1:20")].set_index("date")
    dates = bars["SYN0000"].index
    # sessions 301..320 hold SYN0000 (E1); 311..330 SYN0003 (E4); 321..340 SYN0004 (E6)
    day = dates[315]
    r0 = bars["SYN0000"]["close"].pct_change().loc[day]
    r3 = bars["SYN0003"]["close"].pct_change().loc[day]
    assert s.loc[day, "n_stocks"] == 2
    assert s.loc[day, "port_ret"] == pytest.approx((r0 + r3) / 2, rel=1e-9)
    al = res.calendar["alphas"]
    assert set(al["model"]) == {"ff3"} and (al["n_periods"] > 0).any()


def test_plot_paths(synthetic_study):
    import matplotlib

    matplotlib.use("Agg")
    from eventstudy.longrun import plot_bhar_paths

    res, _, _ = synthetic_study
    ax = plot_bhar_paths(res.path_table(), horizon="0:125", benchmark=BENCHMARK)
    assert len(ax.lines) >= 2 and "0:125" in ax.get_title()


def test_spec_validation():
    with pytest.raises(ValueError, match="control"):
        LongRunSpec(controls=("size",))
    with pytest.raises(ValueError, match="delisting"):
        LongRunSpec(delisting="drop")
    assert LongRunSpec(horizons=("0:250",)).horizons == ((0, 250),)


# ---- CLI ------------------------------------------------------------------------------------------------
def test_cli_longrun_and_regress(tmp_path):
    from typer.testing import CliRunner

    from eventstudy.cli import app

    runner = CliRunner()
    ev = pd.read_csv("events/fda_decisions.csv", dtype=str, keep_default_na=False)
    y2020 = ev[ev["event_date"].between("2020-01-01", "2020-12-31")]
    small = pd.concat([y2020[y2020["subtype"] == "approval"].head(8), y2020[y2020["subtype"] == "crl"].head(4)])
    small.to_csv(tmp_path / "ev.csv", index=False)
    out = tmp_path / "lr"
    r = runner.invoke(app, ["longrun", str(tmp_path / "ev.csv"), "--horizon", "0:60", "--method", "bhar",
                            "--boot-reps", "100", "--out", str(out), "--quiet", "--regress", "bhar ~ C(subtype)"])
    assert r.exit_code == 0, r.output
    reg = pd.read_csv(out / "longrun_regress.csv")
    assert set(reg["horizon"]) == {"0:60"} and "C(subtype)[T.crl]" in set(reg["term"])
    bh = pd.read_csv(out / "bhar.csv", dtype={"event_id": str}, keep_default_na=False)
    assert len(bh) == len(small) and set(bh["horizon"]) == {"0:60"}
    assert (out / "figures" / "bhar_paths_0_60_FF-MKT.png").is_file()
    r = runner.invoke(app, ["longrun", str(tmp_path / "ev.csv"), "--control", "size"])
    assert r.exit_code == 2
    from eventstudy.longrun_report import longrun_section

    html = longrun_section(out)
    summ = pd.read_csv(out / "longrun_summary.csv")
    assert "<h2>Long-horizon returns</h2>" in html and "data:image/png;base64," in html
    assert f"{100 * summ['mean_bhar'].iloc[0]:.2f}" in html
    # regress on a run folder
    res_dir = tmp_path / "run"
    r = runner.invoke(app, ["run", str(tmp_path / "ev.csv"), "-p", "bundled:universe", "-b", "FF-MKT",
                            "--out", str(res_dir), "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["regress", str(res_dir), "car ~ sigma", "--window", "-1:1", "--cov", "HC3"])
    assert r.exit_code == 0, r.output
    tab = pd.read_csv(res_dir / "regress.csv")
    assert list(tab["term"]) == ["Intercept", "sigma"] and (tab["cov"] == "HC3").all()
    r = runner.invoke(app, ["regress", str(res_dir), "car ~ nothing_here"])
    assert r.exit_code == 1 and "nothing_here" in r.output


def test_overlap_first_and_bhar_regression():
    bars = synthetic_bars(8, start="2015-01-02", n_days=700, seed=5)
    dates = bars["SYN0000"].index
    days = [300, 350, 600, 300, 320, 330, 340, 360]
    tick = ["SYN0000", "SYN0000", "SYN0000", "SYN0001", "SYN0002", "SYN0003", "SYN0004", "SYN0005"]
    ev = pd.DataFrame({"event_id": [f"E{k}" for k in range(8)], "ticker": tick,
                       "event_date": [dates[d].strftime("%Y-%m-%d") for d in days], "event_time": "pre_market",
                       "event_type": ["equity_offering", "fda_decision"] * 4,
                       "deal_size": [str(v) for v in (1.0, 2.0, 3.5, 0.5, 2.5, 1.5, 4.0, 3.0)]})
    keep = run_longrun(ev, InMemorySource(bars), horizons=("1:60",), benchmark=BENCHMARK, method="bhar", boot_reps=50)
    first = run_longrun(ev, InMemorySource(bars), horizons=("1:60",), benchmark=BENCHMARK, method="bhar",
                        overlap="first", boot_reps=50)
    assert keep.bhar["in_stats"].sum() == 8
    b = first.bhar.set_index("event_id")
    assert not b.loc["E1", "in_stats"] and "E0" in b.loc["E1", "reason"] and b.loc["E1", "status"] == "ok"
    assert b.loc["E2", "in_stats"] and b["in_stats"].sum() == 7
    np.testing.assert_allclose(b["bhar"], keep.bhar.set_index("event_id")["bhar"])
    r = first.regress("bhar ~ deal_size", "1:60", cov="HC1")
    import statsmodels.api as sm

    d = b[b["in_stats"]].join(ev.set_index("event_id")["deal_size"].astype(float))
    direct = sm.OLS(d["bhar"].to_numpy(), sm.add_constant(d["deal_size"].to_numpy())).fit(cov_type="HC1")
    np.testing.assert_allclose(r.tidy["coef"], direct.params, rtol=1e-10)
    assert r.n == 7 and r.excluded == {"not in the BHAR tests (status or overlap)": 1}


def test_monthly_calendar_time_pipeline_by_hand():
    bars = synthetic_bars(6, start="2016-01-04", n_days=400, seed=12)
    dates = bars["SYN0000"].index
    ev = pd.DataFrame({"event_id": ["A", "B", "C"], "ticker": ["SYN0000", "SYN0001", "SYN0002"],
                       "event_date": [dates[k].strftime("%Y-%m-%d") for k in (100, 130, 300)],
                       "event_time": "pre_market", "event_type": "equity_offering"})
    fac = pd.DataFrame({"Mkt-RF": np.random.default_rng(1).normal(0, 0.01, len(dates)), "RF": 0.0001,
                        "SMB": np.random.default_rng(2).normal(0, 0.005, len(dates)),
                        "HML": np.random.default_rng(3).normal(0, 0.005, len(dates))}, index=dates)
    res = run_longrun(ev, InMemorySource(bars), horizons=("1:60",), method="calendar-time", ct_frequency="monthly",
                      ct_models=("ff3",), min_stocks=1, factors=fac)
    s = res.calendar["series"].query("group == 'ALL'").set_index("date")
    month_end = dates.to_series().groupby(dates.to_period("M")).max()
    for m_end in month_end.iloc[1:]:
        prev_end = month_end[month_end < m_end].iloc[-1]
        k = dates.get_loc(m_end)
        held = [t for t, p in (("SYN0000", 100), ("SYN0001", 130), ("SYN0002", 300)) if p + 1 <= k <= p + 60]
        rets = [bars[t]["close"].loc[m_end] / bars[t]["close"].loc[prev_end] - 1 for t in held]
        assert s.loc[m_end, "n_stocks"] == len(held)
        if held:
            assert s.loc[m_end, "port_ret"] == pytest.approx(np.mean(rets), rel=1e-9)
    days = dates[(dates > month_end.iloc[0]) & (dates <= month_end.iloc[1])]
    assert s.loc[month_end.iloc[1], "rf"] == pytest.approx(1.0001 ** len(days) - 1)


def test_bootstrap_p_does_not_depend_on_other_benchmarks():
    from eventstudy.synthetic import synthetic_events

    bars = synthetic_bars(40, start="2015-01-02", n_days=800, seed=21)
    ev = synthetic_events(bars, 60, seed=4, margin=100)
    ev = ev[ev["event_date"] < bars["SYN0000"].index[600].strftime("%Y-%m-%d")]
    spec = LongRunSpec(horizons=("1:100",), benchmark=BENCHMARK, method="bhar", boot_reps=300)
    alone = run_longrun(ev, _ListingSource(bars), spec).summary_table.set_index(["group", "horizon", "benchmark"])
    both = run_longrun(ev, _ListingSource(bars), replace(spec, controls=("price",))).summary_table.set_index(
        ["group", "horizon", "benchmark"])
    key = ("ALL", "1:100", BENCHMARK)
    assert alone.loc[key, "n"] >= 40 and np.isfinite(alone.loc[key, "p_sa_boot"])
    cols = ["t_sa", "p_sa_boot", "boot_crit_lo", "boot_crit_hi"]
    assert alone.loc[key, cols].tolist() == both.loc[key, cols].tolist()
