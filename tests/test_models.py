"""Batched model fits against slow, obvious per-event implementations (statsmodels OLS, loops)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from eventstudy import models as mdl
from eventstudy.abnormal import cumulate


def _panel(rng, n=6, D=60, p=1, nan_share=0.1):
    z = rng.normal(0, 0.01, (n, D, p))
    beta = rng.uniform(0.5, 1.5, (n, p))
    y = 0.001 + np.einsum("ndp,np->nd", z, beta) + rng.normal(0, 0.02, (n, D))
    y[rng.random((n, D)) < nan_share] = np.nan
    return y, z


@pytest.mark.parametrize("p", [1, 3, 5])
def test_fit_ols_matches_statsmodels_per_event(rng, p):
    y, z = _panel(rng, p=p)
    est = np.zeros(y.shape, bool)
    est[:, :45] = True
    fit = mdl.fit_ols(y, z, est, "m", tuple(f"b{k}" for k in range(p)))
    for i in range(y.shape[0]):
        keep = est[i] & np.isfinite(y[i])
        res = sm.OLS(y[i, keep], sm.add_constant(z[i, keep])).fit()
        np.testing.assert_allclose(fit.params[i], res.params, rtol=0, atol=1e-10)
        assert fit.nobs[i] == keep.sum()
        np.testing.assert_allclose(fit.s2[i], res.scale, rtol=1e-10)  # SSR / (M - k)
        assert fit.df_resid[i] == res.df_resid
        # forecast-error variance of a new observation: s2 * x0'(X'X)^-1 x0 + s2
        X = sm.add_constant(z[i, keep])
        xtx_inv = np.linalg.inv(X.T @ X)
        for t in (50, 55):
            x0 = np.r_[1.0, z[i, t]]
            c = 1 + x0 @ xtx_inv @ x0
            np.testing.assert_allclose(fit.forecast_factor()[i, t], c, rtol=1e-10)


def test_car_variance_is_the_clm_formula_by_hand(rng):
    """Var(CAR) = s²·(L + L²/M + (Σ(Rm,t − R̄m))² / Σ_est(Rm − R̄m)²), CLM (1997) ch. 4."""
    y, z = _panel(rng, n=3, D=80, p=1, nan_share=0.0)
    est = np.zeros(y.shape, bool)
    est[:, :60] = True
    fit = mdl.fit_ols(y, z, est, "market", ("beta",))
    rel = np.arange(80) - 65
    ar = y - fit.expected
    w = cumulate(ar, y, fit.expected, fit, rel, (-1, 3))
    for i in range(3):
        m = z[i, :60, 0]
        M = 60
        win = (rel >= -1) & (rel <= 3)
        L = win.sum()
        rm_win = z[i, win, 0]
        var = fit.s2[i] * (L + L**2 / M + (rm_win - m.mean()).sum() ** 2 / ((m - m.mean()) ** 2).sum())
        assert w.var[i] == pytest.approx(var, rel=1e-12)
        assert w.car[i] == pytest.approx(ar[i, win].sum(), rel=1e-12)
        # exact variance equals the sum of the AR forecast-error covariance matrix (CLM eq. 4.4.12)
        X = np.column_stack([np.ones(M), m])
        Xs = np.column_stack([np.ones(L), rm_win])
        V = np.eye(L) + Xs @ np.linalg.inv(X.T @ X) @ Xs.T
        assert w.var[i] == pytest.approx(fit.s2[i] * V.sum(), rel=1e-12)


def test_constant_mean_and_market_adjusted_by_hand(rng):
    y, z = _panel(rng, n=4, D=50, p=1, nan_share=0.15)
    est = np.zeros(y.shape, bool)
    est[:, :40] = True
    cm = mdl.fit_constant_mean(y, est)
    ma = mdl.fit_market_adjusted(y, z[..., 0], est)
    for i in range(4):
        v = y[i, :40][np.isfinite(y[i, :40])]
        assert cm.params[i, 0] == pytest.approx(v.mean(), rel=1e-13)
        assert cm.s2[i] == pytest.approx(v.var(ddof=1), rel=1e-12)
        assert cm.forecast_factor()[i, 45] == pytest.approx(1 + 1 / len(v))
        d = (y[i, :40] - z[i, :40, 0])
        d = d[np.isfinite(d)]
        assert ma.s2[i] == pytest.approx(d.var(ddof=1), rel=1e-12)
        np.testing.assert_array_equal(ma.forecast_factor()[i], 1.0)
    rel = np.arange(50) - 45
    w = cumulate(y - cm.expected, y, cm.expected, cm, rel, (0, 2))
    L = np.isfinite(y[:, 45:48]).sum(axis=1)
    np.testing.assert_allclose(w.var, cm.s2 * (L + L**2 / cm.nobs), rtol=1e-12)


@pytest.mark.parametrize("kind", ["market", "ff3", "constant_mean", "market_adjusted"])
def test_forecast_factor_of_some_rows_and_days_is_that_part_of_the_whole(rng, kind):
    """``forecast_factor(rows, cols)`` (what a chunk's reduction asks for: studied events, event-span days)
    holds the bits of ``forecast_factor()[rows][:, cols]``, for a slice or positions of days."""
    y, z = _panel(rng, n=9, D=60, p=3 if kind == "ff3" else 1)
    est = np.zeros(y.shape, bool)
    est[:, :45] = True
    fit = {"market": lambda: mdl.fit_ols(y, z, est, "m", ("b0",)),
           "ff3": lambda: mdl.fit_ols(y, z, est, "m", ("b0", "b1", "b2")),
           "constant_mean": lambda: mdl.fit_constant_mean(y, est),
           "market_adjusted": lambda: mdl.fit_market_adjusted(y, z[..., 0], est)}[kind]()
    whole = fit.forecast_factor()
    rows = np.array([0, 2, 3, 7])
    for cols in (slice(45, 56), np.array([1, 46, 50, 59]), None):
        want = whole[rows] if cols is None else whole[rows][:, cols]
        got = fit.forecast_factor(rows, cols)
        assert got.shape == want.shape and np.array_equal(got, want, equal_nan=True)
        assert not (kind in ("market", "ff3")) or np.ptp(got[np.isfinite(got)]) > 0    # not a constant
    assert np.array_equal(fit.forecast_factor(None, slice(45, 56)), whole[:, 45:56], equal_nan=True)
    none = fit.forecast_factor(np.zeros(0, np.int64), slice(45, 56))          # a chunk with no studied event
    assert none.shape == (0, 11)
    if kind == "constant_mean":                                                # a fit of no event at all
        empty = mdl.fit_constant_mean(y[:0], est[:0])
        assert empty.forecast_factor(np.zeros(0, np.int64), slice(45, 56)).shape == (0, 11)


def test_singular_design_is_reported_not_raised(rng):
    y = rng.normal(size=(2, 40))
    z = np.zeros((2, 40, 1))
    z[1, :, 0] = rng.normal(size=40)
    est = np.ones((2, 40), bool)
    fit = mdl.fit_ols(y, z, est, "market", ("beta",))
    assert fit.singular.tolist() == [True, False]
    assert np.isnan(fit.params[0]).all() and np.isfinite(fit.params[1]).all()


def test_bhar_compounds_simple_returns(rng):
    y, z = _panel(rng, n=2, D=30, p=1, nan_share=0.0)
    est = np.zeros(y.shape, bool)
    est[:, :20] = True
    fit = mdl.fit_ols(y, z, est, "market", ("beta",))
    rel = np.arange(30) - 25
    w = cumulate(y - fit.expected, y, fit.expected, fit, rel, (0, 4))
    sl = slice(25, 30)
    expect = np.prod(1 + y[:, sl], axis=1) - np.prod(1 + fit.expected[:, sl], axis=1)
    np.testing.assert_allclose(w.bhar, expect, rtol=1e-12)
    # in log mode the same simple-return BHAR comes out of log inputs
    wl = cumulate(np.log1p(y) - np.log1p(fit.expected), np.log1p(y), np.log1p(fit.expected), fit, rel, (0, 4), True)
    np.testing.assert_allclose(wl.bhar, expect, rtol=1e-10)


def test_gather_equals_elementwise_lookup(rng):
    from eventstudy.panel import gather

    m = rng.normal(size=(20, 120))
    m3 = rng.normal(size=(20, 120, 3))
    rows = rng.integers(-1, 20, 300)
    cols = rng.integers(-30, 140, 300)[:, None] + np.arange(-10, 5)[None, :]
    g, g3 = gather(m, rows, cols), gather(m3, rows, cols)
    for i in range(300):
        for j in range(cols.shape[1]):
            c = cols[i, j]
            inside = rows[i] >= 0 and 0 <= c < 120
            want = m[rows[i], c] if inside else np.nan
            np.testing.assert_array_equal(g[i, j], want)
            np.testing.assert_array_equal(g3[i, j], m3[rows[i], c] if inside else np.full(3, np.nan))
