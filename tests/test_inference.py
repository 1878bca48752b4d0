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


def slow_exact_wilcoxon_p(wplus: float, n: int) -> float:
    """Two-sided exact p of the signed-rank statistic: the number of subsets of {1..n} with each
    rank sum (dynamic programming), every subset equally likely under H0."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for r in range(1, n + 1):
        for total in range(len(counts) - 1, r - 1, -1):
            counts[total] += counts[total - r]
    probs = np.array(counts, float) / 2.0**n
    lower = probs[: int(wplus) + 1].sum()
    upper = probs[int(wplus):].sum()
    return min(1.0, 2 * min(lower, upper))


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
        # exact small-sample p (N <= 50, no ties): the signed-rank null distribution by counting subsets
        assert r["p_wilcoxon"] == pytest.approx(slow_exact_wilcoxon_p(wplus, N), abs=TOL)
        # sign tests: exact binomial p-values (scipy's binomtest, an independent implementation)
        assert r["p_sign"] == pytest.approx(stats.binomtest(int(w), N, 0.5).pvalue, abs=TOL)
        assert r["p_gsign"] == pytest.approx(stats.binomtest(int(w), N, ph).pvalue, abs=TOL)
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


def slow_corrado_from_values(rows: list[dict]) -> tuple[dict, dict]:
    """Corrado (1989) ranks with Campbell–Wasley scaling, one event (dict day -> value) at a time.

    Ties get mid-ranks (issue 8 §10; the former reference broke ties by position, which biases
    the test). Returns (U per event, set of days)."""
    U = []
    for vals in rows:
        obs = {d: v for d, v in vals.items() if np.isfinite(v)}
        T = len(obs)
        days = list(obs)
        K = stats.rankdata([obs[d] for d in days])          # average ranks for ties
        U.append({d: k / (T + 1) - 0.5 for d, k in zip(days, K)})
    return U


def slow_corrado_stat(U: list[dict], days: list, window_days: list) -> float:
    """Corrado & Zivney (1992) / Kolari & Pynnönen (2011) with missing days: each day's squared
    mean rank is weighted by N_t/N in S_U (the unweighted form was the former definition)."""
    N = len(U)
    ubar, Nt = {}, {}
    for d in days:
        us = [u[d] for u in U if d in u]
        if us:
            ubar[d], Nt[d] = np.mean(us), len(us)
    s = math.sqrt(sum(Nt[d] / N * ubar[d] ** 2 for d in ubar) / len(ubar))
    wd = [d for d in window_days if d in ubar]
    return sum(ubar[d] for d in wd) / (math.sqrt(len(wd)) * s)


def slow_corrado(res, window):
    """Corrado (1989) with Campbell–Wasley scaling, by loops over events and days."""
    rel = res.panel.rel_days
    days = [d for d in rel if (-250 <= d <= -11) or (-1 <= d <= 5)]   # estimation + event span of the study
    rows = [{d: res.ar_matrix[i, np.flatnonzero(rel == d)[0]] for d in days} for i in np.flatnonzero(res.ok)]
    return slow_corrado_stat(slow_corrado_from_values(rows), days, list(range(window[0], window[1] + 1)))


def test_corrado_with_missing_days_uses_nt_over_n_weight(rng):
    """Half the events start late (short histories) and some days are missing: the fast Corrado
    equals the slow one written from Corrado & Zivney (1992) / Kolari & Pynnönen (2011)."""
    n, T = 20, 80
    x = rng.standard_t(4, size=(n, T))
    x[: n // 2, : 50] = np.nan                         # late starters
    x[rng.random(x.shape) < 0.05] = np.nan
    x[3, 10:20] = 0.0                                  # ties
    U = inf.rank_uniform(x)
    rows = [{d: x[i, d] for d in range(T)} for i in range(n)]
    Us = slow_corrado_from_values(rows)
    for w in ([75], [70, 71, 72, 73, 74], [60]):
        fast = inf.corrado_days(U, [np.asarray(w)])[0]
        assert fast == pytest.approx(slow_corrado_stat(Us, list(range(T)), w), abs=TOL)
    t, p = inf.corrado_t(U, np.asarray([75]))
    assert p == pytest.approx(2 * stats.norm.sf(abs(t)), abs=TOL)
    # the weight matters here: the unweighted S_U is smaller, so |t| differs
    assert inf.corrado_t(U, np.asarray([75]), weighted=False)[0] != pytest.approx(t, abs=1e-6)


def test_rank_ties_get_mid_ranks():
    x = np.array([[0.0, 0.0, 0.0, 1.0, np.nan], [2.0, 1.0, 2.0, 2.0, 3.0]])
    np.testing.assert_array_equal(inf.row_ranks(x), [[2, 2, 2, 4, np.nan], [3, 1, 3, 3, 5]])


def test_constant_price_event_does_not_move_corrado(rng):
    """One event with all-zero abnormal returns (a constant price) among normal events: with
    mid-ranks its U are all 0 and cannot push the event day; position ties used to rank the
    last (event) days highest."""
    x = rng.normal(size=(10, 120))
    x[0] = 0.0
    U = inf.rank_uniform(x)
    assert np.all(U[0] == 0.0)
    t_all = inf.corrado_t(U, np.asarray([119]))[0]
    t_rest = inf.corrado_days(U[1:], [np.asarray([119])])[0]
    assert abs(t_all) <= abs(t_rest) + 1e-12


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
    assert res.in_stats.sum() == res.ok.sum()     # ALL = the studied events, in the events' order
    x = res.ar.query("rel_day == 0")["ar"].to_numpy()
    draws = np.random.default_rng(res.seed).integers(0, x.size, size=(res.boot_reps, x.size))   # events, once
    means = np.array([np.nanmean(x[d]) for d in draws])
    assert (a0["boot_lo"], a0["boot_hi"]) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), abs=TOL)


def test_bootstrap_shares_the_group_draws_across_windows_and_days(study):
    """summary.csv and aar.csv: one case bootstrap of the group's events for all windows and all days
    (seed + 1000 x group position), against a slow loop over replications with the same draws."""
    res, _ = study
    tab, days = res.caar, res.aar
    groups = list(dict.fromkeys(tab["event_type"]))
    assert len(groups) >= 2
    for gi, g in enumerate(groups[:2]):
        ids = res.events["event_id"][res.in_stats & ((res.groups == g) if g != "ALL" else True)].to_numpy()
        draws = np.random.default_rng(res.seed + 1000 * gi).integers(0, ids.size, size=(res.boot_reps, ids.size))
        for _, r in tab[tab["event_type"] == g].iterrows():
            car = res.car[res.car["window"] == r["window"]].set_index("event_id")["car"].reindex(ids).to_numpy()
            means = np.array([np.nanmean(car[d]) for d in draws])
            assert (r["boot_lo"], r["boot_hi"]) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), abs=TOL)
        for day in (-1, 0, 3):
            r = days[(days["event_type"] == g) & (days["rel_day"] == day)].iloc[0]
            ar = res.ar[res.ar["rel_day"] == day].set_index("event_id")["ar"].reindex(ids).to_numpy()
            means = np.array([np.nanmean(ar[d]) for d in draws])
            assert (r["boot_lo"], r["boot_hi"]) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), abs=TOL)


def test_invalid_inputs_give_nan_not_errors():
    assert np.isnan(inf.grank_t(np.zeros((1, 5)), np.array([1.0]))[0])
    assert all(np.isnan(v) for v in inf.wilcoxon(np.array([0.0, np.nan])))
    assert np.isnan(inf.cross_sectional(np.array([0.1])).t)
    assert np.isnan(inf.corrado_t(np.full((2, 3), np.nan), np.array([0]))[0])


def test_degenerate_groups_give_nan_never_inf():
    """n < 3 and zero or near-zero variance (a constant CAR repeated, rounding noise of 1e-18)."""
    c = np.full(5, 0.01) + np.array([0, 1e-18, 0, -1e-18, 0])
    assert np.isnan(inf.cross_sectional(c).t) and np.isnan(inf.bmp_t(c)[0])
    assert np.isnan(inf.cross_sectional(np.array([0.01, 0.02])).t)          # n = 2 < 3
    assert np.isfinite(inf.cross_sectional(np.array([0.01, 0.02, 0.04])).t)
    assert all(np.isnan(v) for v in inf.cda_t(np.array([0.01]), np.full(50, 0.003), 1))
    assert np.isnan(inf.grank_t(np.random.default_rng(0).normal(size=(4, 30)), np.full(4, 2.0))[0])
    assert np.isnan(inf.corrado_t(np.zeros((4, 30)), np.array([29]))[0])


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


# ---- the classic tests added in issue 10 §3, each against a slow textbook version --------------
def slow_std_sum(V: list[dict], days: list, window_days: list) -> float:
    """Corrado & Zivney (1992): z_t = sum_i V_it / sqrt(N_t), S^2 = mean_t z_t^2, Z = sum_w z_t / (sqrt(L) S)."""
    z = {}
    for d in days:
        vs = [v[d] for v in V if d in v]
        if vs:
            z[d] = sum(vs) / math.sqrt(len(vs))
    s = math.sqrt(sum(v**2 for v in z.values()) / len(z))
    wd = [d for d in window_days if d in z]
    return sum(z[d] for d in wd) / (math.sqrt(len(wd)) * s)


def study_rows(res):
    rel = res.panel.rel_days
    days = [d for d in rel if (-250 <= d <= -11) or (-1 <= d <= 5)]
    return days, [{d: res.ar_matrix[i, np.flatnonzero(rel == d)[0]] for d in days} for i in np.flatnonzero(res.ok)]


def slow_hall(x: np.ndarray) -> float:
    n = len(x)
    m, s = x.mean(), x.std(ddof=1)
    g = n / ((n - 1) * (n - 2)) * np.sum((x - m) ** 3) / s**3
    S = m / s
    return math.sqrt(n) * (S + g * S**2 / 3 + g**2 * S**3 / 27 + g / (6 * n))


@pytest.mark.parametrize("window", [(0, 0), (-1, 1), (0, 5)])
def test_new_window_statistics_against_slow_versions(study, window):
    res, bars = study
    ev = slow_inputs(res, bars, window)
    r = row(res, "ALL", f"{window[0]}:{window[1]}")
    N, L = len(ev), window[1] - window[0] + 1
    car = np.array([e["car"] for e in ev])
    # Brown & Warner (1980), independence: mean CAR over sqrt(sum_i L sigma_i^2)/N, t with mean d.f.
    t = car.mean() / (math.sqrt(sum(L * e["s"] ** 2 for e in ev)) / N)
    df = np.mean([e["df"] for e in ev])
    assert r["t_bw1980"] == pytest.approx(t, abs=TOL)
    assert r["p_bw1980"] == pytest.approx(2 * stats.t.sf(abs(t), df), abs=TOL)
    # Lamb (1995): CAAR over the s.d. of the estimation AAR series times sqrt(mean CAR variance factor)
    aar_est = np.array([e["res"] for e in ev]).mean(axis=0)
    vfac = []
    for _, e in res.events.iterrows():
        mm = slow_market_model(bars, e["ticker"], e["day0"])
        xw = np.array([mm["m"].iloc[mm["p"] + d] for d in range(window[0], window[1] + 1)])
        xbar, sxx = mm["x"].mean(), np.sum((mm["x"] - mm["x"].mean()) ** 2)
        vfac.append(L + L**2 / mm["M"] + (xw - xbar).sum() ** 2 / sxx)
    z = car.mean() / (aar_est.std(ddof=1) * math.sqrt(np.mean(vfac)))
    assert r["lamb_z"] == pytest.approx(z, abs=TOL)
    assert r["p_lamb"] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=TOL)
    # Hall (1992) skewness-corrected t on the CARs
    h = slow_hall(car)
    assert r["hall_t"] == pytest.approx(h, abs=TOL)
    assert r["p_hall"] == pytest.approx(2 * stats.t.sf(abs(h), N - 1), abs=TOL)
    # Corrado & Zivney (1992) sign test and modified rank test, multi-day by summing daily z
    days, rows = study_rows(res)
    wd = list(range(window[0], window[1] + 1))
    G = []
    for vals in rows:
        med = np.median([v for v in vals.values() if np.isfinite(v)])
        G.append({d: float(np.sign(v - med)) for d, v in vals.items() if np.isfinite(v)})
    cz = slow_std_sum(G, days, wd)
    assert r["czsign_z"] == pytest.approx(cz, abs=TOL)
    assert r["p_czsign"] == pytest.approx(2 * stats.norm.sf(abs(cz)), abs=TOL)
    mr = slow_std_sum(slow_corrado_from_values(rows), days, wd)
    assert r["mrank_t"] == pytest.approx(mr, abs=TOL)
    assert r["p_mrank"] == pytest.approx(2 * stats.norm.sf(abs(mr)), abs=TOL)


def test_new_day_statistics_against_slow_versions(study):
    res, bars = study
    ev = slow_inputs(res, bars, (0, 0))
    a0 = res.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    ar0 = np.array([e["ar"][0] for e in ev])
    N = len(ev)
    assert a0["t_bw1980"] == pytest.approx(ar0.mean() / (math.sqrt(sum(e["s"] ** 2 for e in ev)) / N), abs=TOL)
    C = []
    for _, e in res.events.iterrows():
        mm = slow_market_model(bars, e["ticker"], e["day0"])
        x0 = mm["m"].iloc[mm["p"]]
        C.append(1 + 1 / mm["M"] + (x0 - mm["x"].mean()) ** 2 / np.sum((mm["x"] - mm["x"].mean()) ** 2))
    aar_est = np.array([e["res"] for e in ev]).mean(axis=0)
    assert a0["lamb_z"] == pytest.approx(ar0.mean() / (aar_est.std(ddof=1) * math.sqrt(np.mean(C))), abs=TOL)
    assert a0["hall_t"] == pytest.approx(slow_hall(ar0), abs=TOL)
    days, rows = study_rows(res)
    assert a0["mrank_t"] == pytest.approx(slow_std_sum(slow_corrado_from_values(rows), days, [0]), abs=TOL)
    assert a0["corrado_t"] == pytest.approx(slow_corrado(res, (0, 0)), abs=TOL)
    k = int((ar0 > 0).sum())
    assert a0["p_sign"] == pytest.approx(stats.binomtest(k, N, 0.5).pvalue, abs=TOL)


def slow_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg: q_(i) = min_{j >= i} p_(j) m / j."""
    m = len(p)
    order = np.argsort(p)
    q = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def slow_holm(p: np.ndarray) -> np.ndarray:
    """Holm: adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))."""
    m = len(p)
    order = np.argsort(p)
    q = np.empty(m)
    running = 0.0
    for rank in range(1, m + 1):
        i = order[rank - 1]
        running = max(running, min(1.0, (m - rank + 1) * p[i]))
        q[i] = running
    return q


def test_q_values_over_types_and_windows(study):
    res, _ = study
    tab = res.caar
    for name in ("cs", "bmp", "kp_bmp", "grank", "gsign"):
        for fam in (tab["event_type"] != "ALL", tab["event_type"] == "ALL"):
            p = tab.loc[fam, f"p_{name}"].to_numpy()
            np.testing.assert_allclose(tab.loc[fam, f"q_bh_{name}"], slow_bh(p), atol=TOL)
            np.testing.assert_allclose(tab.loc[fam, f"q_holm_{name}"], slow_holm(p), atol=TOL)
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.001, 0.04, np.nan, 0.03, 0.2, 0.04])
    ok = np.isfinite(p)
    for method, sm in (("bh", "fdr_bh"), ("holm", "holm")):
        q = inf.qvalues(p, method)
        assert np.isnan(q[2]) and q[ok] == pytest.approx(multipletests(p[ok], method=sm)[1], abs=TOL)
    cols = list(tab.columns)
    assert cols.index("q_bh_cs") == cols.index("p_cs") + 1 and cols.index("q_holm_cs") == cols.index("p_cs") + 2


def test_binomial_p_matches_scipy(rng):
    for n in (1, 5, 17, 60):
        for p in (0.5, 0.43):
            k = rng.integers(0, n + 1, size=6)
            got = inf.binom_two_sided_p(k, np.full(6, n), p)
            assert got == pytest.approx([stats.binomtest(int(j), n, p).pvalue for j in k], abs=TOL)
    assert np.isnan(inf.binom_two_sided_p(0, 0, 0.5))


def test_corrado_weight_restores_size_with_late_starters():
    """Issue 10 §2: half the events start late in the estimation window (recent IPOs). Under H0
    (i.i.d. synthetic ARs, seeded) the weighted Corrado rejects at about 5 %; the unweighted form
    is conservative (about 1 %). 4,000 replications: Monte-Carlo s.e. of a 5 % rate is 0.34 %."""
    rng = np.random.default_rng(2)
    reps, n, T = 4000, 30, 200
    rej_w = rej_u = 0
    for _ in range(reps):
        x = rng.standard_t(5, size=(n, T))
        x[: n // 2, : 150] = np.nan                 # half the events: 50 days of history
        U = inf.rank_uniform(x)
        tw = inf.corrado_days(U, [np.asarray([T - 1])])[0]
        tu = inf.corrado_days(U, [np.asarray([T - 1])], weighted=False)[0]
        rej_w += abs(tw) > 1.959964
        rej_u += abs(tu) > 1.959964
    se = math.sqrt(0.05 * 0.95 / reps)
    assert 0.05 - 3 * se < rej_w / reps < 0.05 + 3 * se
    assert rej_u / reps < 0.05 - 3 * se


def test_volume_corrado_against_loops(study):
    """vol_corrado_t: the same weighted, mid-rank Corrado on abnormal log volume (issue 10 §2)."""
    res, _ = study
    rel = res.panel.rel_days
    days = [d for d in rel if (-250 <= d <= -11) or (-1 <= d <= 5)]
    rows = [{d: res.vol.abvol_log[i, np.flatnonzero(rel == d)[0]] for d in days} for i in np.flatnonzero(res.ok)]
    U = slow_corrado_from_values(rows)
    for w in [(0, 0), (0, 5)]:
        expect = slow_corrado_stat(U, days, list(range(w[0], w[1] + 1)))
        assert row(res, "ALL", f"{w[0]}:{w[1]}")["vol_corrado_t"] == pytest.approx(expect, abs=TOL)
    a0 = res.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    assert a0["vol_corrado_t"] == pytest.approx(slow_corrado_stat(U, days, [0]), abs=TOL)


def test_corrado_in_a_study_with_late_starters_and_missing_days():
    """End to end: two synthetic tickers list late (short estimation windows) and a few bars are
    missing; corrado_t and vol_corrado_t equal the slow N_t/N-weighted Corrado on the study's own
    abnormal returns and volumes."""
    bars = synthetic_bars(6, start="2016-01-04", n_days=700, seed=8)
    for t in ("SYN0000", "SYN0001"):
        bars[t] = bars[t].iloc[420:]                       # late starters
    drop = bars["SYN0002"].index[[380, 390, 395, 520]]
    bars["SYN0002"] = bars["SYN0002"].drop(drop)          # missing days
    sessions = bars[BENCHMARK].index
    ev = pd.DataFrame({"event_id": [f"E{i}" for i in range(5)],
                       "ticker": ["SYN0000", "SYN0001", "SYN0002", "SYN0003", "SYN0004"],
                       "event_date": [sessions[k].strftime("%Y-%m-%d") for k in (560, 560, 561, 600, 610)],
                       "event_type": "fda_decision"})
    res = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, windows=((0, 0), (0, 3)), min_obs=60))
    assert res.ok.all()
    rel = res.panel.rel_days
    days = [d for d in rel if (-250 <= d <= -11) or (0 <= d <= 3)]
    col = {d: np.flatnonzero(rel == d)[0] for d in days}
    for name, mat in (("corrado_t", res.ar_matrix), ("vol_corrado_t", res.vol.abvol_log)):
        rows = [{d: mat[i, col[d]] for d in days} for i in range(len(ev))]
        assert sum(np.isnan(v) for r in rows for v in r.values()) > 100     # really missing days
        U = slow_corrado_from_values(rows)
        for w in [(0, 0), (0, 3)]:
            expect = slow_corrado_stat(U, days, list(range(w[0], w[1] + 1)))
            assert row(res, "ALL", f"{w[0]}:{w[1]}")[name] == pytest.approx(expect, abs=TOL), name


def test_per_day_bootstrap_resamples_events_once_for_all_days():
    """Against a slow loop over replications with the same draws (issue 13: the per-day bootstrap)."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.01, 0.03, (40, 6))
    x[rng.random(x.shape) < 0.15] = np.nan
    x[:, 5] = np.nan
    x[0, 5] = 0.2                                    # one observation: no interval
    lo, hi = inf.bootstrap_mean_ci_days(x, reps=300, seed=11)
    draws = np.random.default_rng(11).integers(0, 40, size=(300, 40))
    for d in range(5):
        means = []
        for r in range(300):
            v = x[draws[r], d]
            v = v[np.isfinite(v)]
            means.append(v.mean())
        assert lo[d] == pytest.approx(np.quantile(means, 0.025), abs=1e-14)
        assert hi[d] == pytest.approx(np.quantile(means, 0.975), abs=1e-14)
    assert np.isnan(lo[5]) and np.isnan(hi[5])
    full = rng.normal(size=(30, 2))                  # no missing day: the ordinary bootstrap of each mean
    lo2, hi2 = inf.bootstrap_mean_ci_days(full, reps=200, seed=3)
    draws = np.random.default_rng(3).integers(0, 30, size=(200, 30))
    assert lo2[1] == pytest.approx(np.quantile(full[draws, 1].mean(axis=1), 0.025), abs=1e-14)


def test_rbar_on_events_spread_over_time_matches_pairwise_correlations():
    """Events far apart use sparse products (few shared days): checked pair by pair."""
    rng = np.random.default_rng(8)
    n, E = 40, 60
    start = np.sort(rng.integers(0, 900, n))
    pos = start[:, None] + np.arange(E)[None, :]
    common = rng.normal(size=1000)
    resid = 0.5 * common[pos] + rng.normal(size=(n, E))
    resid[rng.random(resid.shape) < 0.1] = np.nan
    assert np.isfinite(resid).sum() < 0.25 * n * (pos.max() - pos.min() + 1)      # the sparse path
    tot, pairs = 0.0, 0
    for i in range(n):
        for j in range(i + 1, n):
            a = pd.Series(resid[i], index=pos[i])
            b = pd.Series(resid[j], index=pos[j])
            both = pd.concat([a, b], axis=1, join="inner").dropna()
            if len(both) >= 30:
                tot += np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]
                pairs += 1
    rbar, n_pairs = inf.mean_residual_correlation(resid, pos)
    assert n_pairs == pairs > 10
    assert rbar == pytest.approx(2 * tot / (n * (n - 1)), abs=1e-12)
