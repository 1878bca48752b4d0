"""Each statistic against a direct, slow implementation written from the paper's formula (to 1e-10)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy import StudySpec, run_study
from eventstudy import inference as inf
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

TOL = 1e-10


@pytest.fixture(scope="module")
def study():
    bars = synthetic_bars(10, start="2016-01-04", n_days=800, seed=21)
    ev = synthetic_events(bars, 25, seed=5, types=("fda_decision", "equity_offering"))
    res = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, windows=((-1, 1), (0, 0), (0, 5))))
    res.boot_reps = 500
    return res, bars


# ---- slow references, one loop per event, straight from the papers -----------------------------
def slow_market_model(bars, ticker, day0, est=(-250, -11)):
    s = bars[ticker]["adj_close"]
    r = s.pct_change()
    m = bars[BENCHMARK]["adj_close"].reindex(s.index).pct_change()
    p = s.index.get_loc(day0)
    y, x = r.iloc[p + est[0]: p + est[1] + 1].to_numpy(), m.iloc[p + est[0]: p + est[1] + 1].to_numpy()
    b = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    a = y.mean() - b * x.mean()
    res = y - a - b * x
    M = len(y)
    s2 = np.sum(res**2) / (M - 2)
    return dict(r=r, m=m, p=p, a=a, b=b, s2=s2, M=M, x=x, res=res)


def slow_inputs(res, bars, window):
    """Per event: CAR, exact SCAR, SAR on each window day, est residuals, est share positive."""
    out = []
    for _, e in res.events.iterrows():
        mm = slow_market_model(bars, e["ticker"], e["day0"])
        days = range(window[0], window[1] + 1)
        ar = np.array([mm["r"].iloc[mm["p"] + d] - mm["a"] - mm["b"] * mm["m"].iloc[mm["p"] + d] for d in days])
        xw = np.array([mm["m"].iloc[mm["p"] + d] for d in days])
        xbar, sxx = mm["x"].mean(), np.sum((mm["x"] - mm["x"].mean()) ** 2)
        L, M = len(ar), mm["M"]
        var = mm["s2"] * (L + L**2 / M + (xw - xbar).sum() ** 2 / sxx)
        sar = ar / np.sqrt(mm["s2"] * (1 + 1 / M + (xw - xbar) ** 2 / sxx))
        out.append(dict(type=e["event_type"], car=ar.sum(), scar=ar.sum() / math.sqrt(var), sar=sar, ar=ar,
                        res=mm["res"], s=math.sqrt(mm["s2"]), df=M - 2, pest=np.mean(mm["res"] > 0)))
    return out


def row(res, etype, window):
    return res.caar.query(f"event_type == '{etype}' and window == '{window}'").iloc[0]


@pytest.mark.parametrize("window", [(-1, 1), (0, 0), (0, 5)])
def test_patell_bmp_sign_gsign_wilcoxon_per_window(study, window):
    res, bars = study
    ev = slow_inputs(res, bars, window)
    label = f"{window[0]}:{window[1]}"
    for etype in ("ALL", "fda_decision", "equity_offering"):
        g = [e for e in ev if etype == "ALL" or e["type"] == etype]
        r = row(res, etype, label)
        N = len(g)
        scar = np.array([e["scar"] for e in g])
        car = np.array([e["car"] for e in g])
        # Patell (1976): sum of standardized CARs over sqrt of the summed t-variances d/(d-2)
        z = scar.sum() / math.sqrt(sum(e["df"] / (e["df"] - 2) for e in g))
        assert r["patell_z"] == pytest.approx(z, abs=TOL)
        assert r["p_patell"] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=TOL)
        # BMP (1991): cross-sectional t of standardized CARs
        t = scar.mean() / (scar.std(ddof=1) / math.sqrt(N))
        assert r["bmp_t"] == pytest.approx(t, abs=TOL)
        # sign and generalized sign (Cowan 1992)
        w = (car > 0).sum()
        assert r["sign_z"] == pytest.approx((w - N / 2) / math.sqrt(N / 4), abs=TOL)
        ph = np.mean([e["pest"] for e in g])
        assert r["gsign_z"] == pytest.approx((w - N * ph) / math.sqrt(N * ph * (1 - ph)), abs=TOL)
        # Wilcoxon W+ and its normal approximation (no ties in continuous data)
        ranks = stats.rankdata(np.abs(car))
        wplus = ranks[car > 0].sum()
        zw = (wplus - N * (N + 1) / 4) / math.sqrt(N * (N + 1) * (2 * N + 1) / 24)
        assert r["wilcoxon_w"] == wplus and r["wilcoxon_z"] == pytest.approx(zw, abs=TOL)
        assert r["p_wilcoxon"] == pytest.approx(stats.wilcoxon(car, method="approx").pvalue, abs=1e-10)
        # cross-sectional t
        assert r["t_cs"] == pytest.approx(car.mean() / (car.std(ddof=1) / math.sqrt(N)), abs=TOL)


def test_cda_by_hand(study):
    res, bars = study
    ev = slow_inputs(res, bars, (0, 5))
    # AAR over estimation days: all events have full 240-day windows here
    R = np.array([e["res"] for e in ev])
    aar_est = R.mean(axis=0)
    sd = aar_est.std(ddof=1)
    ars = np.array([e["ar"] for e in ev])
    t = ars.mean(axis=0).sum() / (math.sqrt(6) * sd)
    assert row(res, "ALL", "0:5")["t_cda"] == pytest.approx(t, abs=TOL)
    a0 = res.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    assert a0["t_cda"] == pytest.approx(ars[:, 0].mean() / sd, abs=TOL)
    assert a0["p_cda"] == pytest.approx(2 * stats.t.sf(abs(ars[:, 0].mean() / sd), 239), abs=TOL)


def test_aar_day_statistics_use_forecast_corrected_sar(study):
    res, bars = study
    ev = slow_inputs(res, bars, (0, 0))
    sar = np.array([e["sar"][0] for e in ev])
    a0 = res.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    assert a0["patell_z"] == pytest.approx(sar.sum() / math.sqrt(sum(e["df"] / (e["df"] - 2) for e in ev)), abs=TOL)
    assert a0["bmp_t"] == pytest.approx(sar.mean() / (sar.std(ddof=1) / math.sqrt(len(sar))), abs=TOL)


def slow_rbar(res, min_common=30):
    """Pairwise Pearson correlation of calendar-aligned estimation residuals, one pair at a time."""
    series = []
    for i in np.flatnonzero(res.ok):
        d0 = res.panel.day0_pos[i]
        rel = res.panel.rel_days
        est = (rel >= -250) & (rel <= -11)
        series.append(pd.Series(res.ar_matrix[i, est], index=d0 + rel[est]))
    n = len(series)
    tot = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            both = pd.concat([series[i], series[j]], axis=1, join="inner").dropna()
            if len(both) >= min_common:
                tot += np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]
    return 2 * tot / (n * (n - 1))


def test_kp_adjustment_with_slow_rbar(study):
    res, bars = study
    rbar = slow_rbar(res)
    r = row(res, "ALL", "0:5")
    assert r["rbar"] == pytest.approx(rbar, abs=TOL)
    N = r["n"]
    assert r["kp_bmp_t"] == pytest.approx(r["bmp_t"] * math.sqrt((1 - rbar) / (1 + (N - 1) * rbar)), abs=TOL)
    assert r["kp_patell_z"] == pytest.approx(r["patell_z"] * math.sqrt(1 / (1 + (N - 1) * rbar)), abs=TOL)


def test_rbar_of_identical_residuals_is_one():
    x = np.random.default_rng(1).normal(size=(1, 60))
    resid = np.vstack([x, x, x])
    pos = np.tile(np.arange(60), (3, 1))
    assert inf.mean_residual_correlation(resid, pos)[0] == pytest.approx(1.0, abs=1e-12)
    far = pos + np.array([[0], [1000], [2000]])   # no common days: treated as uncorrelated
    assert inf.mean_residual_correlation(resid, far) == (0.0, 0)


def slow_corrado(res, window):
    """Corrado (1989) with Campbell–Wasley scaling, by loops over events and days."""
    rel = res.panel.rel_days
    days = [d for d in rel if (-250 <= d <= -11) or (-1 <= d <= 5)]   # estimation + event span of the study
    U = {}
    for i in np.flatnonzero(res.ok):
        vals = {d: res.ar_matrix[i, np.flatnonzero(rel == d)[0]] for d in days}
        obs = {d: v for d, v in vals.items() if np.isfinite(v)}
        T = len(obs)
        order = sorted(obs, key=lambda d: obs[d])
        U[i] = {d: (order.index(d) + 1) / (T + 1) - 0.5 for d in obs}
    ubar = {d: np.mean([U[i][d] for i in U if d in U[i]]) for d in days}
    s = math.sqrt(np.mean([ubar[d] ** 2 for d in days]))
    wd = range(window[0], window[1] + 1)
    return sum(ubar[d] for d in wd) / (math.sqrt(len(wd)) * s)


def test_corrado_against_loops(study):
    res, _ = study
    for w in [(0, 0), (-1, 1), (0, 5)]:
        assert row(res, "ALL", f"{w[0]}:{w[1]}")["corrado_t"] == pytest.approx(slow_corrado(res, w), abs=TOL)


def slow_grank(res, bars, window):
    """Kolari & Pynnönen (2011) GRANK, written out with explicit ranking per event."""
    ev = slow_inputs(res, bars, window)
    scar = np.array([e["scar"] for e in ev])
    sstar = scar / scar.std(ddof=1)
    U = []
    for e, g in zip(ev, sstar):
        gsar = list(e["res"] / e["s"]) + [g]
        ranks = stats.rankdata(gsar)
        U.append(ranks / (len(gsar) + 1) - 0.5)
    U = np.array(U)
    ubar = U.mean(axis=0)
    T = U.shape[1]
    z = ubar[-1] / math.sqrt(np.sum(ubar**2) / T)
    return z * math.sqrt((T - 2) / (T - 1 - z**2))


def test_grank_against_explicit_ranking(study):
    res, bars = study
    for w in [(0, 0), (0, 5)]:
        t = slow_grank(res, bars, w)
        r = row(res, "ALL", f"{w[0]}:{w[1]}")
        assert r["grank_t"] == pytest.approx(t, abs=TOL)
        assert r["p_grank"] == pytest.approx(2 * stats.t.sf(abs(t), 241 - 2), abs=TOL)


def test_grank_with_missing_days_matches_full_rank_path(rng):
    sar = rng.normal(size=(30, 50))
    sar[rng.random(sar.shape) < 0.1] = np.nan
    scar = rng.normal(0.5, 1.0, 30)
    fast = inf.grank_t(sar, scar, inf.row_ranks(sar))
    # reference: rank the stacked [estimation SARs, SCAR*] rows directly
    g = np.column_stack([sar, scar / scar.std(ddof=1)])
    U = inf.rank_uniform(g)
    ok = np.isfinite(U)
    Nt = ok.sum(0)
    ubar = np.nansum(U, 0) / Nt
    T = U.shape[1]
    z = ubar[-1] / math.sqrt(np.sum(Nt / 30 * ubar**2) / T)
    assert fast[0] == pytest.approx(z * math.sqrt((T - 2) / (T - 1 - z**2)), abs=TOL)


def test_bootstrap_is_seeded_and_sensible(rng):
    x = rng.normal(0.02, 0.05, 200)
    a = inf.bootstrap_mean_ci(x, seed=7)
    assert a == inf.bootstrap_mean_ci(x, seed=7)
    se = x.std(ddof=1) / math.sqrt(200)
    assert a[0] == pytest.approx(x.mean() - 1.96 * se, abs=0.25 * se)
    assert a[1] == pytest.approx(x.mean() + 1.96 * se, abs=0.25 * se)


def test_per_day_bootstrap_in_aar(study):
    res, _ = study
    a0 = res.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    x = res.ar.query("rel_day == 0")["ar"].to_numpy()
    rng = np.random.default_rng(res.seed + 1)   # day index 1 of the span -1..5 is rel_day 0
    means = x[rng.integers(0, x.size, size=(res.boot_reps, x.size))].mean(axis=1)
    assert (a0["boot_lo"], a0["boot_hi"]) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), abs=TOL)


def test_invalid_inputs_give_nan_not_errors():
    assert np.isnan(inf.grank_t(np.zeros((1, 5)), np.array([1.0]))[0])
    assert all(np.isnan(v) for v in inf.wilcoxon(np.array([0.0, np.nan])))
    assert np.isnan(inf.cross_sectional(np.array([0.1])).t)
    assert np.isnan(inf.corrado_t(np.full((2, 3), np.nan), np.array([0]))[0])


def test_overlapping_events_of_one_firm_do_not_inflate_statistics():
    """Keyed by event, not by firm: two events of one ticker on one day count twice, never four times,
    and a (ticker, date) join cannot duplicate rows. With overlap=first they count once."""
    bars = synthetic_bars(4, start="2016-01-04", n_days=600, seed=3)
    d = bars["SYN0000"].index[400].strftime("%Y-%m-%d")
    d2 = bars["SYN0001"].index[450].strftime("%Y-%m-%d")
    ev = pd.DataFrame([
        {"event_id": "X1", "ticker": "SYN0000", "event_date": d, "event_type": "fda_decision"},
        {"event_id": "X2", "ticker": "SYN0000", "event_date": d, "event_type": "fda_decision"},
        {"event_id": "Y1", "ticker": "SYN0001", "event_date": d2, "event_type": "fda_decision"},
    ])
    once = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK))   # default: duplicates once
    assert once.caar.query("event_type == 'ALL' and window == '0:0'")["n"].iloc[0] == 2
    assert once.events.set_index("event_id").loc["X2", "stats_reason"].startswith("duplicate of X1")
    keep = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, duplicates="keep"))
    assert len(keep.car.query("window == '0:0'")) == 3
    r = keep.caar.query("event_type == 'ALL' and window == '0:0'").iloc[0]
    assert r["n"] == 3 and r["wilcoxon_w"] <= 6
    car = keep.car.query("window == '0:0'")["car"].to_numpy()
    assert r["t_cs"] == pytest.approx(car.mean() / (car.std(ddof=1) / math.sqrt(3)), abs=TOL)
    # the duplicated firm-day is perfectly correlated with itself: KP must shrink the BMP t
    assert r["rbar"] > 0 and abs(r["kp_bmp_t"]) < abs(r["bmp_t"])
    first = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, overlap="first"))
    assert first.caar.query("event_type == 'ALL' and window == '0:0'")["n"].iloc[0] == 2
    # event order does not change any statistic
    shuffled = run_study(ev.iloc[::-1], InMemorySource(bars), StudySpec(benchmark=BENCHMARK, duplicates="keep"))
    cols = ["n", "mean_car", "t_cs", "patell_z", "bmp_t", "kp_bmp_t", "corrado_t", "grank_t", "gsign_z"]
    pd.testing.assert_frame_equal(keep.caar[cols], shuffled.caar[cols], rtol=1e-12)
