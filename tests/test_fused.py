"""Compiled one-regressor kernels (eventstudy._fused) against the numpy path they replace, against
statsmodels and by hand; whole studies with the compiled path forced on and off; chunked vs one piece.
All inputs are SYNTHETIC (seeded; not market data)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy import StudySpec, _fused, run_study
from eventstudy import models as mdl
from eventstudy import volume as vm
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

REL = np.arange(-250, 30)            # relative days of the synthetic panels
EST = (-250, -11)
RTOL = ATOL = 1e-12


def assert_close(a, b, name: str) -> None:
    """Same shape and dtype, NaN (and ±inf) in the same places, equal to 1e-12 relative plus, near zero
    (results of cancellation, e.g. a log volume minus its mean), 1e-12 absolute, or 1e-12 of the array's
    largest value when that is below 1 (returns)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (name, a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype.kind in "biu":
        assert np.array_equal(a, b), name
        return
    assert np.array_equal(np.isnan(a), np.isnan(b)), name
    fin = np.isfinite(a)
    assert np.array_equal(a[~fin & ~np.isnan(a)], b[~fin & ~np.isnan(b)]), name
    scale = np.abs(b[fin]).max() if fin.any() else 0.0
    np.testing.assert_allclose(a[fin], b[fin], rtol=RTOL, atol=ATOL * min(1.0, scale), err_msg=name)


def assert_fits_equal(a: mdl.ModelFit, b: mdl.ModelFit) -> None:
    assert (a.model, a.param_names, a.intercept) == (b.model, b.param_names, b.intercept)
    for f in ("params", "s2", "nobs", "df_resid", "expected", "zdev", "sinv", "singular"):
        assert_close(getattr(a, f), getattr(b, f), f)


# ---- synthetic market-model panel with every edge case ------------------------------------------------
def market_panel(n: int = 240, seed: int = 3):
    """SYNTHETIC (y, z, est) of shape (n, 280): market-model returns with NaN and ±inf gaps, and rows
    with M = 0, 1, 2, 3 usable days, an all-NaN row, constant regressors (0 and 0.25, whose mean is
    exact in any summation order) and a row whose estimation window is shorter than the others'."""
    rng = np.random.default_rng(seed)
    D = REL.size
    z = rng.normal(0.0003, 0.012, (n, D))
    beta = rng.uniform(0.3, 1.7, n)
    y = rng.normal(0, 0.0005, n)[:, None] + beta[:, None] * z + rng.normal(0, 0.02, (n, D)) * rng.uniform(0.3, 2, (n, 1))
    y[rng.random((n, D)) < 0.06] = np.nan
    z[rng.random((n, D)) < 0.03] = np.nan
    y[rng.random((n, D)) < 0.002] = np.inf
    z[rng.random((n, D)) < 0.002] = -np.inf
    est = ((REL >= EST[0]) & (REL <= EST[1]))[None, :] & np.ones((n, 1), bool)
    inside = np.flatnonzero(est[0])
    for i, m in enumerate((0, 1, 2, 3)):                 # short histories: exactly m usable days
        y[i, inside] = np.nan
        y[i, inside[5:5 + m]] = rng.normal(0, 0.02, m)
        z[i, inside[5:5 + m]] = rng.normal(0, 0.01, m)
    y[4] = np.nan                                       # all-NaN row
    z[5] = np.nan                                       # no regressor at all
    z[6, inside] = 0.0                                  # constant regressors: singular
    z[7, inside] = 0.25
    est[8, :200] = False                                # a shorter estimation window
    y[9, inside[:100]] = 2.0 * z[9, inside[:100]] + 0.001   # a near-perfect fit on its first 100 days
    return y, z, est


def volume_panel(n: int = 240, seed: int = 4):
    """SYNTHETIC (volume, bench_volume) (n, 280): whole-share volumes with NaN gaps, zero-volume days,
    all-NaN rows, a row without any estimation volume and a constant benchmark volume."""
    rng = np.random.default_rng(seed)
    D = REL.size
    vol = np.round(np.exp(rng.normal(np.log(rng.uniform(1e3, 1e7, (n, 1))), 0.5, (n, D))))
    bench = np.round(np.exp(rng.normal(np.log(3e8), 0.3, (n, D))))
    vol[rng.random((n, D)) < 0.05] = np.nan
    bench[rng.random((n, D)) < 0.02] = np.nan
    vol[rng.random((n, D)) < 0.03] = 0.0                 # zero volume is a fact, not missing
    vol[10] = 0.0                                       # a stock that never trades: sd 0
    vol[11] = np.nan                                    # all NaN
    vol[12, :240] = np.nan                              # no estimation volume (M = 0), event days only
    vol[13, :239] = np.nan                              # exactly one estimation day (sd NaN)
    bench[14] = np.nan                                  # no benchmark volume for this event
    bench[15] = 0.0                                     # constant benchmark log volume 0 (exact mean): singular
    vol[16, 230:250] = np.nan                           # no day in the -20..-1 baseline
    vol[17, rng.random(D) < 0.5] = 0.5                  # fractional volumes (split-adjusted), log1p branch
    return vol, bench


# ---- (1) the fit ------------------------------------------------------------------------------------
def test_fit_ols1_equals_numpy_on_every_field():
    y, z, est = market_panel()
    want = mdl.fit_ols(y, z[..., None], est, "market", ("beta",))
    got = mdl.fit_ols(y, z[..., None], est, "market", ("beta",), jit=True)
    assert_fits_equal(got, want)
    # the edge rows really are edge rows (a test that cannot fail is a defect)
    assert list(want.nobs[:4]) == [0, 1, 2, 3]
    assert want.singular[:8].tolist() == [True, True, True, False, True, True, True, True]
    assert (~want.singular[8:]).all() and want.nobs[8] < want.nobs[10] - 100
    assert np.isnan(got.expected[:3]).all() and np.isfinite(got.params[3]).all()


def test_fit_ols1_against_statsmodels():
    """The compiled fit per event against a direct statsmodels OLS (slow textbook reference)."""
    y, z, est = market_panel(n=30, seed=8)
    fit = _fused.fit_ols1(y, z, est, "market", ("beta",))
    for i in (3, 8, 9, 20, 29):
        keep = est[i] & np.isfinite(y[i]) & np.isfinite(z[i])
        X = sm.add_constant(z[i, keep], has_constant="add")
        res = sm.OLS(y[i, keep], X).fit()
        np.testing.assert_allclose(fit.params[i], res.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fit.s2[i], res.scale, rtol=1e-9, atol=1e-30)
        assert fit.nobs[i] == keep.sum() and fit.df_resid[i] == res.df_resid
        t = np.flatnonzero(np.isfinite(z[i]))[-5:]
        np.testing.assert_allclose(fit.expected[i, t], res.predict(sm.add_constant(z[i, t], has_constant="add")),
                                   rtol=1e-12, atol=1e-15)
        pred = res.get_prediction(sm.add_constant(z[i, t], has_constant="add"))
        np.testing.assert_allclose(fit.forecast_factor()[i, t], 1.0 + pred.var_pred_mean / res.scale, rtol=1e-9)


def test_forecast_and_car_variance_factors_equal_numpy_and_the_einsum():
    """The p = 1 shortcuts of ModelFit give the general einsum's numbers bit for bit, and the compiled
    fit's factors equal the numpy fit's."""
    y, z, est = market_panel()
    want = mdl.fit_ols(y, z[..., None], est, "market", ("beta",))
    got = mdl.fit_ols(y, z[..., None], est, "market", ("beta",), jit=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        general = 1.0 + 1.0 / want.nobs[:, None] + np.einsum("ndp,npq,ndq->nd", want.zdev, want.sinv, want.zdev)
    assert np.array_equal(want.forecast_factor(), general, equal_nan=True)
    assert_close(got.forecast_factor(), want.forecast_factor(), "forecast_factor")
    rng = np.random.default_rng(5)
    cols = slice(245, 260)
    inw = rng.random((y.shape[0], 15)) < 0.8
    L = inw.sum(axis=1).astype(float)
    dz = np.where(inw[..., None], want.zdev[:, cols], 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        general = L + L**2 / want.nobs + np.einsum("np,npq,nq->n", dz, want.sinv, dz)
    assert np.array_equal(want.car_variance_factor(inw, cols), general, equal_nan=True)
    assert_close(got.car_variance_factor(inw, cols), want.car_variance_factor(inw, cols), "car_variance_factor")


def test_fit_ols1_empty_and_jit_ignored_for_several_regressors():
    y, z, est = market_panel(n=12)
    for n in (0,):
        want = mdl.fit_ols(y[:n], z[:n, :, None], est[:n], "market", ("beta",))
        got = mdl.fit_ols(y[:n], z[:n, :, None], est[:n], "market", ("beta",), jit=True)
        assert_fits_equal(got, want)
        assert got.params.shape == (0, 2) and got.zdev.shape == (0, REL.size, 1)
    z3 = np.stack([z, np.roll(z, 1, axis=1), np.roll(z, 2, axis=1)], axis=2)
    a = mdl.fit_ols(y, z3, est, "ff3", ("a", "b", "c"))
    b = mdl.fit_ols(y, z3, est, "ff3", ("a", "b", "c"), jit=True)      # p = 3: the numpy path, bit for bit
    for f in ("params", "s2", "expected", "zdev", "sinv"):
        assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True), f


def test_fit_ols1_does_not_depend_on_threads_or_blocks(monkeypatch):
    import numba

    y, z, est = market_panel(n=700, seed=9)
    one = _fused.fit_ols1(y, z, est, "market", ("beta",))
    monkeypatch.setattr(_fused, "BLOCK", 64)
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", max(2, numba.config.NUMBA_NUM_THREADS))
    many = _fused.fit_ols1(y, z, est, "market", ("beta",))
    for f in ("params", "s2", "expected", "zdev", "sinv", "singular"):
        assert np.array_equal(getattr(one, f), getattr(many, f), equal_nan=True), f


def test_fit_ols1_broadcasts_one_estimation_row_and_takes_read_only_arrays_as_numpy_does():
    y, z, est = market_panel(n=12)
    for a in (y, z, est):
        a.setflags(write=False)
    want = mdl.fit_ols(y, z[..., None], est[:1], "market", ("beta",))
    assert_fits_equal(mdl.fit_ols(y, z[..., None], est[:1], "market", ("beta",), jit=True), want)
    assert_fits_equal(want, mdl.fit_ols(y, z[..., None], np.repeat(est[:1], 12, axis=0), "market", ("beta",)))


def test_fit_ols1_rejects_mismatched_shapes():
    y, z, est = market_panel(n=12)
    with pytest.raises(ValueError, match="z: expected shape"):
        _fused.fit_ols1(y, z[:, :-1], est, "market", ("beta",))
    with pytest.raises(ValueError, match="broadcast"):
        _fused.fit_ols1(y, z, est[:4], "market", ("beta",))


# ---- (3) volume ---------------------------------------------------------------------------------------
def test_abnormal_volume_equals_numpy_on_every_field():
    vol, bench = volume_panel()
    with np.errstate(invalid="ignore", divide="ignore"):
        want = vm.abnormal_volume(vol, bench, REL, EST)
    got = vm.abnormal_volume(vol, bench, REL, EST, jit=True)
    for f in vm.VolumeMeasures.__dataclass_fields__:
        assert_close(getattr(got, f), getattr(want, f), f)
    assert got.volume is vol
    # the edge rows really are edge rows
    assert want.sd_est[10] == 0 and np.isnan(want.vol_z[10]).all() and np.isnan(want.abvol_log[11]).all()
    assert want.n_est[12] == 0 and want.n_est[13] == 1 and np.isnan(want.sd_est[13])
    assert np.isnan(want.abvol_mm[14]).all() and np.isnan(want.abvol_mm[15]).all()
    assert np.isnan(want.base_20[16]) and np.isfinite(want.base_63[16])
    assert np.isfinite(want.abvol_mm[20:]).mean() > 0.8


def test_volume_read_from_grid_logs_equals_the_events_own_logs():
    """The study's path (log volumes read from a grid of tickers x sessions, ``GridLogs``) against the kernel
    computing one log per event and day from the gathered arrays: every field bit for bit. Grid with NaN and
    zero volumes; events off the grid (row -1), windows running off either end of it, per-event benchmark rows
    (one a stock of the grid, one missing: -1)."""
    from eventstudy.panel import gather

    rng = np.random.default_rng(11)
    T, S, n, D = 9, 700, 400, REL.size
    grid = np.round(np.exp(rng.normal(12, 1.5, (T, S))))
    grid[rng.random((T, S)) < 0.05] = np.nan
    grid[rng.random((T, S)) < 0.03] = 0.0
    grid[3, 100:400] = np.nan
    vrow = rng.integers(-1, T, n)
    col0 = rng.integers(-300, S + 20, n)
    brow = np.where(vrow >= 0, rng.choice([0, 1, 5, -1], n), -1)
    cols = col0[:, None] + np.arange(D)[None, :]
    vol = gather(grid, vrow, cols)
    bench = np.full((n, D), np.nan)
    for b in (0, 1, 5):
        on = brow == b
        bench[on] = gather(grid[b][None, :], np.zeros(on.sum(), int), cols[on])
    want = _fused.abnormal_volume_numba(vol, bench, REL, EST)
    got = _fused.abnormal_volume_numba(vol, bench, REL, EST, _fused.GridLogs(_fused.log1p_grid(grid), vrow, brow, col0))
    for f in ("ratio_20", "ratio_63", "abvol_log", "abvol_mm", "vol_z", "base_20", "base_63", "sd_est", "n_est"):
        a, b = getattr(want, f), getattr(got, f)
        assert a.dtype == b.dtype and np.array_equal(np.isnan(a), np.isnan(b)), f
        np.testing.assert_array_equal(a[~np.isnan(a)].view(np.int64), b[~np.isnan(b)].view(np.int64), err_msg=f)
    assert np.isfinite(got.abvol_mm).mean() > 0.3 and np.isnan(got.abvol_log[vrow < 0]).all()
    ref = vm.abnormal_volume(vol, bench, REL, EST)              # and both equal the numpy path to 1e-12
    for f in ("ratio_20", "ratio_63", "abvol_log", "abvol_mm", "vol_z", "base_20", "base_63", "sd_est"):
        assert_close(getattr(got, f), getattr(ref, f), f)


def test_constant_regressor_is_singular_whatever_its_value():
    """A regressor constant over the usable days is singular on both paths whatever its value: a constant
    log(1024) (not exact in binary) can have a mean off by an ulp, leaving S ~ 1e-26, whose 1x1 condition
    number is 1; the rule compares S with the raw sum of squares instead (models.fit_ols)."""
    assert _fused.MAX_CONDITION == mdl.MAX_CONDITION
    vol, bench = volume_panel(n=30)
    bench[:] = 1023.0                                   # log1p = log(1024): not exact in binary
    for jit in (False, True):
        with np.errstate(invalid="ignore", divide="ignore"):
            got = vm.abnormal_volume(vol, bench, REL, EST, jit=jit)
        assert np.isnan(got.abvol_mm).all() and np.isfinite(got.abvol_log[20:]).any(), jit
    y, z, est = market_panel(n=12)
    z[:, est[0]] = 0.01
    for fit in (_fused.fit_ols1(y, z, est, "market", ("beta",)), mdl.fit_ols(y, z[..., None], est, "market", ("beta",))):
        assert fit.singular.all() and np.isnan(fit.params).all()
    z[:, est[0]] = np.log1p(1023.0)                     # the market model on a constant log(1024) regressor
    assert mdl.fit_ols(y, z[..., None], est, "market", ("beta",)).singular.all()
    z[:, est[0]] += np.random.default_rng(1).normal(0, 1e-3, int(est[0].sum()))   # varying: singular only
    fit = mdl.fit_ols(y, z[..., None], est, "market", ("beta",))                 # for too few usable days
    assert fit.singular.tolist() == (fit.nobs < 3).tolist() and (fit.nobs >= 3).sum() >= 5


@pytest.mark.parametrize("bench", ["none", "all_nan"])
def test_abnormal_volume_without_benchmark_volume(bench):
    vol, b = volume_panel(n=30)
    b = None if bench == "none" else np.full_like(b, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = vm.abnormal_volume(vol, b, REL, EST)
    got = vm.abnormal_volume(vol, b, REL, EST, jit=True)
    for f in vm.VolumeMeasures.__dataclass_fields__:
        assert_close(getattr(got, f), getattr(want, f), f)
    assert np.isnan(got.abvol_mm).all()


def test_abnormal_volume_empty():
    vol, bench = volume_panel(n=20)
    want = vm.abnormal_volume(vol[:0], bench[:0], REL, EST)
    got = vm.abnormal_volume(vol[:0], bench[:0], REL, EST, jit=True)
    for f in vm.VolumeMeasures.__dataclass_fields__:
        assert_close(getattr(got, f), getattr(want, f), f)


def test_abnormal_volume_by_hand():
    """Compiled measures of a few events against their definitions, computed per event with plain numpy
    and statsmodels (the log-volume market model)."""
    vol, bench = volume_panel(n=40, seed=6)
    got = vm.abnormal_volume(vol, bench, REL, EST, jit=True)
    est = (REL >= EST[0]) & (REL <= EST[1])
    for i in (17, 25, 39):
        v, vb = np.log1p(vol[i]), np.log1p(bench[i])
        e = est & np.isfinite(v)
        mean, sd = v[e].mean(), v[e].std(ddof=1)
        np.testing.assert_allclose(got.abvol_log[i], v - mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got.vol_z[i], (v - mean) / sd, rtol=1e-12, atol=1e-12)
        assert got.n_est[i] == e.sum()
        for N, base, ratio in ((20, got.base_20, got.ratio_20), (63, got.base_63, got.ratio_63)):
            w = vol[i, (REL >= -N) & (REL <= -1)]
            b = w[np.isfinite(w)].mean()
            assert base[i] == pytest.approx(b, rel=1e-13)
            np.testing.assert_allclose(ratio[i], vol[i] / b, rtol=1e-13)
        k = e & np.isfinite(vb)
        res = sm.OLS(v[k], sm.add_constant(vb[k], has_constant="add")).fit()
        np.testing.assert_allclose(got.abvol_mm[i], v - (res.params[0] + res.params[1] * vb), rtol=1e-9, atol=1e-11)


# ---- whole studies ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study_data():
    """SYNTHETIC bars with missing sessions and zero-volume days, and events on them."""
    bars = synthetic_bars(30, start="2012-01-03", n_days=700, seed=21)
    rng = np.random.default_rng(22)
    for k, t in enumerate(sorted(bars)):
        if t == BENCHMARK:
            continue
        b = bars[t].copy()
        b.loc[b.index[rng.random(len(b)) < 0.03], "volume"] = 0.0
        if k % 5 == 0:
            b = b.drop(b.index[rng.random(len(b)) < 0.04])
        bars[t] = b
    ev = synthetic_events(bars, 500, seed=23)
    return bars, ev


def _spy(monkeypatch) -> list[str]:
    """Record which path each fit and volume call takes."""
    calls: list[str] = []
    fit, vol = _fused.fit_ols1, _fused.abnormal_volume_numba
    monkeypatch.setattr(_fused, "fit_ols1", lambda *a, **k: calls.append("fit") or fit(*a, **k))
    monkeypatch.setattr(_fused, "abnormal_volume_numba", lambda *a, **k: calls.append("volume") or vol(*a, **k))
    return calls


def _study(bars, ev, monkeypatch, jit: bool, **kw):
    monkeypatch.setattr(_fused, "study_jit_for", lambda spec, n: jit)
    res = run_study(ev, InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), **kw)
    res.caar, res.aar                       # built while the patch holds
    return res


def assert_tables_close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if a[c].dtype.kind in "fi":
            assert_close(a[c].to_numpy(float), b[c].to_numpy(float), c)
        else:
            assert (a[c].astype(str) == b[c].astype(str)).all(), c


def test_whole_study_compiled_equals_numpy(study_data, monkeypatch):
    bars, ev = study_data
    calls = _spy(monkeypatch)
    off = _study(bars, ev, monkeypatch, False, chunk_size=None)
    assert calls == []
    on = _study(bars, ev, monkeypatch, True, chunk_size=None)
    assert calls == ["fit", "volume"]
    assert_tables_close(on.caar, off.caar)
    assert_tables_close(on.aar, off.aar)
    pd.testing.assert_frame_equal(on.summary(), off.summary())
    assert_tables_close(on.events, off.events)
    for name in ("ar", "car", "volume"):
        assert_tables_close(getattr(on, name), getattr(off, name))
    assert_fits_equal(on.fit, off.fit)
    # non-trivial: events studied, tests defined, some volume measures from the market model
    assert off.caar["n"].iloc[0] > 200 and np.isfinite(off.caar["grank_t"]).all()
    assert np.isfinite(off.volume["abvol_mm"]).mean() > 0.5 and (off.volume["volume"] == 0).any()


def test_tables_compiled_equal_numpy_bit_for_bit(study_data, monkeypatch):
    """The aar and summary tables of one study built with the compiled per-day pass and Wilcoxon runs
    (``use_jit`` forced) and with numpy: the same frames exactly, NaN where NaN."""
    from eventstudy import suffstats

    bars, ev = study_data
    res = run_study(ev, InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=None)
    built = {}
    for jit in (False, True):
        monkeypatch.setattr(suffstats, "use_jit", lambda st, jit=jit: jit)
        for name in ("aar", "caar"):
            res.__dict__.pop(name, None)
        built[jit] = (res.aar, res.caar)
    for a, b in zip(built[False], built[True]):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    aar = built[True][0]
    assert np.isfinite(aar["wilcoxon_z"]).all() and np.isfinite(aar["hall_t"]).all() and aar["n"].min() > 100


def test_chunked_compiled_equals_one_piece_compiled(study_data, monkeypatch):
    """Every chunk takes the study-wide path (here forced compiled), and the chunked study equals the
    one-piece compiled study to 1e-12 (rank tests included: identical ARs)."""
    from eventstudy import chunked, study

    bars, ev = study_data
    whole = _study(bars, ev, monkeypatch, True, chunk_size=None)
    seen: list = []
    real = study.study_events
    monkeypatch.setattr(study, "study_events", lambda *a, **k: seen.append(k.get("jit")) or real(*a, **k))
    monkeypatch.setattr(chunked, "study_jit", lambda *a: True)
    calls = _spy(monkeypatch)
    parts = _study(bars, ev, monkeypatch, False, chunk_size=120, processes=1)   # spies see this process only
    n_chunks = parts.meta["chunks"]["n_chunks"]
    assert n_chunks > 3 and seen == [True] * n_chunks and calls == ["fit", "volume"] * n_chunks
    for name in ("caar", "aar"):
        a, b = getattr(whole, name), getattr(parts, name)
        assert list(a.columns) == list(b.columns) and len(a) == len(b)
        for c in a.columns:
            if a[c].dtype.kind in "fi":
                x, y = a[c].to_numpy(float), b[c].to_numpy(float)
                assert np.array_equal(np.isnan(x), np.isnan(y)), c
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-300, err_msg=c)
            else:
                assert (a[c].astype(str) == b[c].astype(str)).all(), c
    pd.testing.assert_frame_equal(whole.events, parts.events)
    for name in ("ar", "car", "volume"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(parts, name))


def test_study_rule_is_the_chunked_rule():
    """One piece decides with the rule a chunked study applies once to the whole study."""
    from eventstudy.suffstats import study_jit

    spec = StudySpec(benchmark=BENCHMARK)
    targets = len(spec.windows) + spec.span[1] - spec.span[0] + 1
    M = spec.estimation[1] - spec.estimation[0] + 1
    for n in (30, 10_000, 16_000, 17_000, 100_000):
        assert _fused.study_jit_for(spec, n) == study_jit(n, M, targets)
    assert not _fused.study_jit_for(spec, 1000) and _fused.study_jit_for(spec, 100_000)


def test_import_and_help_do_not_load_numba():
    probe = ("import json, sys\nfrom typer.testing import CliRunner\nfrom eventstudy.cli import app\n"
             "r = CliRunner().invoke(app, ['--help'])\nimport eventstudy.study, eventstudy._fused\n"
             "print(json.dumps([r.exit_code, 'numba' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [0, False]
