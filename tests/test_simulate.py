"""The Brown–Warner simulator (eventstudy.simulate) on SYNTHETIC data (seeded, SYN… tickers).

Size on i.i.d. normal returns, power rising with the injected effect, date clustering that
breaks BMP but not KP-BMP, and the pure pieces checked against slow re-implementations.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from eventstudy import StudySpec, run_study
from eventstudy.simulate import (G_FLOOR, SimulationSpec, draw_pseudo_events, eligible_sessions, injection_multipliers,
                                 pack_aliases, rejection_table, simulate, statistic_columns)
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, _frame, synthetic_bars
from eventstudy.trading_calendar import nyse_sessions

SPEC = StudySpec(benchmark=BENCHMARK, estimation=(-100, -11), windows=((0, 0), (-1, 1)), min_obs=60)


def _band(p0: float, reps: int, k: float = 3.0) -> float:
    return k * np.sqrt(p0 * (1 - p0) / reps)


def factor_bars(n_tickers: int, n_days: int, seed: int, rho: float = 0.3) -> dict[str, pd.DataFrame]:
    """SYNTHETIC universe whose residuals share an industry factor absent from the benchmark:
    r = β m + f + ε with corr(f + ε across tickers) = ``rho`` on the same day."""
    rng = np.random.default_rng(seed)
    sessions = nyse_sessions()
    sessions = sessions[sessions >= pd.Timestamp("2016-01-04")][:n_days]
    m = rng.normal(0.0003, 0.01, n_days)
    s_e = 0.02
    f = rng.normal(0.0, s_e * np.sqrt(rho / (1 - rho)), n_days)
    beta = rng.uniform(0.5, 1.5, n_tickers)
    r = beta[:, None] * m[None, :] + f[None, :] + rng.normal(0.0, s_e, (n_tickers, n_days))
    vol = np.full(n_days, 1e6)
    out = {BENCHMARK: _frame(sessions, np.log(100.0) + np.cumsum(m), vol)}
    for i in range(n_tickers):
        out[f"SYN{i:04d}"] = _frame(sessions, np.log(20.0) + np.cumsum(r[i]), vol)
    return out


@pytest.fixture(scope="module")
def iid_source():
    return InMemorySource(synthetic_bars(60, n_days=400, seed=7), name="synthetic-iid")


@pytest.fixture(scope="module")
def size_power(iid_source):
    return simulate(iid_source, SPEC, SimulationSpec(n_events=30, reps=200), seed=11)


@pytest.fixture(scope="module")
def power(iid_source):
    """Same seed, so the same pseudo-events as ``size_power`` (common random numbers)."""
    sim = SimulationSpec(n_events=30, reps=60, abnormal=(0.0, 0.004, 0.008))
    return simulate(iid_source, replace(SPEC, windows=((0, 0),)), sim, seed=11)


# ---- size, power, clustering ------------------------------------------------------------------
def test_every_test_has_its_nominal_size_on_iid_normal_returns(size_power):
    t = size_power.table
    size = t[(t["abnormal"] == 0) & (t["level"] == 0.05) & (t["side"] == "two-sided")]
    expected = {"t_cs", "t_cda", "patell_z", "bmp_t", "kp_patell_z", "kp_bmp_t", "corrado_t", "grank_t", "sign_z",
                "gsign_z", "wilcoxon_z"}
    assert expected <= set(size["test"])
    assert (size["reps"] == 200).all() and (size["events"] == 30).all()
    off = size[(size["rejection_rate"] - 0.05).abs() > _band(0.05, 200)]
    assert off.empty, off[["test", "window", "rejection_rate"]]
    # one-sided rates sum to the two-sided rate at twice the level
    one = t[(t["abnormal"] == 0) & (t["level"] == 0.05) & (t["side"] != "two-sided")]
    two = t[(t["abnormal"] == 0) & (t["level"] == 0.10) & (t["side"] == "two-sided")]
    s = one.groupby(["test", "window"])["rejection_rate"].sum()
    assert np.allclose(s.sort_index(), two.set_index(["test", "window"])["rejection_rate"].sort_index())


def test_power_rises_with_the_injected_effect(power):
    t = power.table
    sel = t[(t["level"] == 0.05) & (t["side"] == "upper") & (t["window"] == "0:0")]
    for test, rows in sel.groupby("test"):
        r = rows.sort_values("abnormal")["rejection_rate"].to_numpy()
        assert r[0] < r[1] < r[2], (test, r)
        assert r[2] > 0.35, (test, r)
    low = t[(t["level"] == 0.05) & (t["side"] == "lower") & (t["window"] == "0:0") & (t["abnormal"] == 0.008)]
    assert (low["rejection_rate"] < 0.01).all()      # a positive effect never looks negative


def test_monte_carlo_se_and_rates_match_the_replications(size_power):
    """simulate.csv recomputed by hand from replications.csv."""
    reps, t = size_power.replications, size_power.table
    r = reps[(reps["test"] == "bmp_t") & (reps["window"] == "-1:1")]
    assert len(r) == 200
    rate = float(np.mean(r["p"] < 0.01))
    up = float(np.mean((r["p"] < 0.02) & (r["stat"] > 0)))
    row = t[(t["test"] == "bmp_t") & (t["window"] == "-1:1") & (t["level"] == 0.01)]
    got = row.set_index("side")
    assert got.loc["two-sided", "rejection_rate"] == pytest.approx(rate)
    assert got.loc["two-sided", "mc_se"] == pytest.approx(np.sqrt(rate * (1 - rate) / 200))
    assert got.loc["upper", "rejection_rate"] == pytest.approx(up)


def test_date_clustering_breaks_bmp_but_not_kp_bmp():
    src = InMemorySource(factor_bars(45, 400, seed=3, rho=0.3), name="synthetic-factor")
    sim = SimulationSpec(n_events=25, reps=100, cluster_dates=(0, 1))
    spec = StudySpec(benchmark=BENCHMARK, estimation=(-100, -11), windows=((0, 0),), min_obs=60)
    res = simulate(src, spec, sim, seed=5)
    t = res.table
    t = t[(t["level"] == 0.05) & (t["side"] == "two-sided")].set_index(["clustering", "test"])["rejection_rate"]
    band = _band(0.05, 100)
    assert abs(t[("none", "bmp_t")] - 0.05) <= band
    assert t[("1_date", "bmp_t")] > 0.25                      # over-rejects under cross-correlation
    assert t[("1_date", "t_cs")] > 0.25
    assert abs(t[("1_date", "kp_bmp_t")] - 0.05) <= band      # Kolari-Pynnönen correction holds its size
    dates = res.pseudo_events[res.pseudo_events["clustering"] == "1_date"].groupby("rep")["event_date"].nunique()
    assert (dates == 1).all()


def test_chunks_and_worker_processes_do_not_change_the_result(iid_source):
    spec = replace(SPEC, windows=((0, 0),))
    one = simulate(iid_source, spec, SimulationSpec(n_events=10, reps=6, abnormal=(0.0, 0.01)), seed=2)
    many = simulate(iid_source, spec, SimulationSpec(n_events=10, reps=6, abnormal=(0.0, 0.01), chunk_events=20),
                    seed=2, workers=2)
    pd.testing.assert_frame_equal(one.replications, many.replications)
    pd.testing.assert_frame_equal(one.table, many.table)


def test_date_pool_draws_the_users_tickers_and_dates(iid_source):
    from eventstudy.synthetic import synthetic_events

    ev = synthetic_events(synthetic_bars(60, n_days=400, seed=7), 40, seed=1, margin=110)
    ev = ev[ev["ticker"] < "SYN0030"]
    res = simulate(iid_source, replace(SPEC, windows=((0, 0),)), SimulationSpec(n_events=5, reps=4), seed=1,
                   date_pool=ev)
    pe = res.pseudo_events
    assert set(pe["ticker"]) <= set(ev["ticker"]) and set(pe["event_date"]) <= set(ev["event_date"])
    assert res.meta["date_pool_sessions"] == ev["event_date"].nunique()


# ---- the injected prices ----------------------------------------------------------------------
def test_injected_prices_move_day0_returns_by_exactly_the_multiplier(iid_source):
    """Run the study on one scenario's prices and compare day-0 returns with the base bars."""
    from eventstudy.simulate import InjectedSource, _Plan, load_universe

    uni = load_universe(iid_source, [f"SYN{i:04d}" for i in range(60)])
    rng = np.random.default_rng(0)
    elig = eligible_sessions(uni.observed, np.ones(len(uni.sessions), bool), SPEC.estimation, SPEC.span, SPEC.min_obs)
    t_idx, s_idx = draw_pseudo_events(elig, 20, 2, 0, rng)
    tick = np.asarray(uni.tickers, dtype=object)[t_idx.ravel()]
    day0 = s_idx.ravel()
    g = 1 + np.linspace(-0.05, 0.05, 40)[:, None] * np.array([[1.0, 0.5]])     # inject window 0:1
    slot = pack_aliases(tick, day0 - 105, day0 + 5)
    alias = np.asarray([f"{t}~{s}" for t, s in zip(tick, slot)], dtype=object)
    src = InjectedSource(uni, _Plan(alias, tick, day0, g), (-105, 5), 0)
    spec = replace(SPEC, windows=((0, 3),))
    ev = pd.DataFrame({"event_id": [f"E{i}" for i in range(40)], "ticker": alias,
                       "event_date": uni.sessions[day0].strftime("%Y-%m-%d"), "event_time": "pre_market",
                       "event_type": "corporate_update"})
    res = run_study(ev, src, spec)
    assert (res.events["status"] == "ok").all()
    base = run_study(ev.assign(ticker=tick), iid_source, spec)
    c0 = res.panel.column(0)
    assert list(res.events["event_id"]) == list(base.events["event_id"])        # both in the study's own order
    g = g[res.events["event_id"].str[1:].astype(int).to_numpy()]
    r_inj, r_base = res.panel.ret[:, c0:c0 + 3], base.panel.ret[:, c0:c0 + 3]
    assert np.allclose(1 + r_inj[:, 0], (1 + r_base[:, 0]) * g[:, 0], rtol=1e-12)
    assert np.allclose(1 + r_inj[:, 1], (1 + r_base[:, 1]) * g[:, 1], rtol=1e-12)
    assert np.allclose(r_inj[:, 2], r_base[:, 2], rtol=1e-12)                     # after the window: untouched
    est = res.panel.column(-11)
    assert np.array_equal(res.panel.ret[:, :est + 1], base.panel.ret[:, :est + 1], equal_nan=True)
    assert np.allclose(res.fit.params, base.fit.params)


def test_injection_multipliers_split_the_effect_and_add_variance():
    z = np.random.default_rng(1).standard_normal((20000, 4))
    sigma = np.full(20000, 0.02)
    g, nf = injection_multipliers(0.02, 4, 1.0, sigma, z)
    assert nf == 0 and np.allclose(g, 1.005)                       # 2 % over 4 days: 0.5 % a day
    g, nf = injection_multipliers(0.0, 4, 3.0, sigma, z)
    assert np.var(g - 1) == pytest.approx(2 * 0.02**2, rel=0.03)   # (m - 1) sigma^2
    g, nf = injection_multipliers(0.0, 1, 101.0, np.full(3, 1.0), np.array([[-1.0], [0.0], [2.0]]))
    assert nf == 1 and g[0, 0] == G_FLOOR


# ---- pure pieces against slow versions ---------------------------------------------------------
def test_eligible_sessions_matches_a_slow_loop():
    rng = np.random.default_rng(3)
    obs = rng.random((5, 60)) > 0.2
    cover = rng.random(60) > 0.05
    got = eligible_sessions(obs, cover, (-20, -3), (-1, 4), 10)
    want = np.zeros_like(obs)
    for t in range(5):
        for s in range(60):
            if s - 20 < 0 or s + 4 >= 60:
                continue
            want[t, s] = (obs[t, s] and obs[t, s - 20:s - 2].sum() >= 11 and obs[t, s + 4:].any()
                          and cover[s - 20:s + 5].all())
    assert np.array_equal(got, want)


def test_draws_respect_eligibility_and_distinct_tickers():
    rng = np.random.default_rng(4)
    elig = rng.random((40, 300)) > 0.3
    elig[5] = False
    t, s = draw_pseudo_events(elig, 25, 50, 0, np.random.default_rng(9))
    assert elig[t, s].all() and not (t == 5).any()
    assert all(len(set(row)) == 25 for row in t)
    t, s = draw_pseudo_events(elig, 25, 20, 3, np.random.default_rng(9))
    assert elig[t, s].all() and all(len(set(row)) == 25 for row in t)
    assert all(len(set(row)) == 3 for row in s)
    with pytest.raises(Exception, match="lower --events"):
        draw_pseudo_events(elig, 45, 1, 0, rng)


def test_pack_aliases_keeps_ranges_of_one_alias_apart():
    rng = np.random.default_rng(5)
    tick = rng.choice(np.array(["A", "B", "C"], dtype=object), 300)
    start = rng.integers(0, 3000, 300)
    end = start + 120
    slot = pack_aliases(tick, start, end)
    for key in set(zip(tick, slot)):
        m = (tick == key[0]) & (slot == key[1])
        o = np.argsort(start[m])
        assert (start[m][o][1:] >= end[m][o][:-1] + 2).all()
    assert slot.max() < 300 // 3          # far fewer aliases than events


def test_statistic_columns_pairs_statistics_with_their_p_values():
    cols = ["event_type", "n", "t_cs", "p_cs", "bmp_t", "p_bmp", "kp_bmp_t", "p_kp_bmp", "wilcoxon_w", "wilcoxon_z",
            "p_wilcoxon", "vol_t_cs", "vol_p_cs", "t_bw1980", "p_bw1980", "lamb_z", "p_lamb", "mrank_t", "p_mrank",
            "rbar", "boot_lo"]
    got = dict(statistic_columns(cols))
    assert got == {"t_cs": "p_cs", "bmp_t": "p_bmp", "kp_bmp_t": "p_kp_bmp", "wilcoxon_z": "p_wilcoxon",
                   "t_bw1980": "p_bw1980", "lamb_z": "p_lamb", "mrank_t": "p_mrank"}


def test_rejection_table_by_hand():
    reps = pd.DataFrame({"test": "x", "window": "0:0", "abnormal": 0.0, "variance_multiplier": 1.0,
                         "clustering": "none", "stat": [2.5, -2.2, 0.3, 1.8, np.nan],
                         "p": [0.012, 0.028, 0.76, 0.072, np.nan], "n": [30, 30, 29, 30, 30]})
    t = rejection_table(reps, (0.05,)).set_index("side")
    assert t.loc["two-sided", "rejection_rate"] == pytest.approx(2 / 4)          # NaN replication left out
    assert t.loc["upper", "rejection_rate"] == pytest.approx(2 / 4)              # p < 0.10 and stat > 0
    assert t.loc["lower", "rejection_rate"] == pytest.approx(1 / 4)
    assert t.loc["two-sided", "mc_se"] == pytest.approx(np.sqrt(0.25 / 4))
    assert (t["reps"] == 4).all() and t["events"].iloc[0] == pytest.approx(29.75)


def test_a_failing_source_stops_the_simulation_and_missing_tickers_are_named():
    from eventstudy._errors import EventStudyError, NetworkError

    bars = synthetic_bars(12, n_days=300, seed=2)

    class Flaky(InMemorySource):
        def bars(self, ticker, start=None, end=None):
            if ticker == "SYN0003":
                raise NetworkError("SYN0003: cannot reach the server")
            return super().bars(ticker)

    spec = replace(SPEC, windows=((0, 0),))
    with pytest.raises(EventStudyError, match="price source failed.*SYN0003"):
        simulate(Flaky(bars), spec, SimulationSpec(n_events=5, reps=2), tickers=[t for t in bars if t != BENCHMARK])
    res = simulate(InMemorySource(bars), spec, SimulationSpec(n_events=5, reps=2),
                   tickers=[t for t in bars if t != BENCHMARK] + ["NOPE"])
    assert any("NOPE [no_prices]" in n for n in res.meta["notes"])
    assert "NOPE [no_prices]" in res.summary()


def test_spec_validation():
    with pytest.raises(ValueError, match="variance"):
        SimulationSpec(variance_multiplier=(0.5,))
    with pytest.raises(ValueError, match="cluster"):
        SimulationSpec(n_events=10, cluster_dates=(11,))
    with pytest.raises(ValueError, match="estimation window"):
        simulate(InMemorySource({}), StudySpec(estimation=(-250, 0)), SimulationSpec())


# ---- the command --------------------------------------------------------------------------------
def test_cli_simulate_writes_outputs_and_fails_visibly(tmp_path):
    from typer.testing import CliRunner

    from eventstudy.cli import app

    prices = tmp_path / "prices"
    prices.mkdir()
    for t, b in synthetic_bars(15, n_days=300, seed=2).items():
        b.rename_axis("date").reset_index().assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d")) \
            .to_csv(prices / f"{t}.csv", index=False)
    out = tmp_path / "sim"
    base = ["simulate", "-p", str(prices), "-b", BENCHMARK, "--estimation", "-100:-11", "--min-obs", "60",
            "--window", "0:0", "--seed", "3", "--out", str(out)]
    runner = CliRunner()
    r = runner.invoke(app, base + ["--events", "10", "--reps", "4", "--abnormal", "0,0.02", "--no-figures"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out / "simulate.csv")
    assert list(t.columns) == ["test", "window", "abnormal", "variance_multiplier", "clustering", "level", "side",
                               "rejection_rate", "mc_se", "reps", "events"]
    assert set(t["abnormal"]) == {0.0, 0.02} and (t["reps"] == 4).all() and set(t["window"]) == {"0:0"}
    ev = pd.read_csv(out / "pseudo_events.csv")
    assert len(ev) == 40 and ev.groupby("rep")["ticker"].nunique().eq(10).all()
    assert "bmp_t" in r.output
    r = runner.invoke(app, base + ["--events", "40", "--reps", "2"])
    assert r.exit_code == 1 and r.output.startswith("error:") and "lower --events" in r.output
    r = runner.invoke(app, base + ["--variance-multiplier", "0.5"])
    assert r.exit_code == 2


def test_power_plot_returns_its_axes_with_one_line_per_test(power):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = power.plot_power(window="0:0")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == sorted(power.table["test"].unique())
    plt.close(ax.figure)
