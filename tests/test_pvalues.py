"""p-values and q-values computed without scipy.stats / statsmodels at run time agree with them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import fdrcorrection

from eventstudy import inference as inf


@settings(max_examples=60, deadline=None)
@given(st.floats(-40, 40), st.integers(1, 5000))
def test_t_and_z_p_values_match_scipy_stats(t, df):
    assert np.isclose(inf.two_sided_p_t(np.asarray(t), np.asarray(df)), 2 * stats.t.sf(abs(t), df), rtol=1e-12, atol=1e-300)
    assert np.isclose(inf.two_sided_p_z(np.asarray(t)), 2 * stats.norm.sf(abs(t)), rtol=1e-12, atol=1e-300)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3000), st.floats(0.01, 0.99), st.data())
def test_binomial_p_matches_scipy_binomtest(n, p, data):
    k = data.draw(st.integers(0, n))
    assert np.isclose(inf.binom_two_sided_p(k, n, p), stats.binomtest(k, n, p).pvalue, rtol=1e-6, atol=1e-12)


def test_binomial_pmf_matches_scipy_at_a_million():
    k = np.array([0, 10, 499_000, 500_000, 501_234, 999_999, 1_000_000])
    np.testing.assert_allclose(inf._binom_pmf(k, 1_000_000, 0.5), stats.binom.pmf(k, 1_000_000, 0.5), rtol=1e-8, atol=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_bh_q_values_match_statsmodels(ps):
    p = np.asarray(ps)
    np.testing.assert_allclose(inf.qvalues(p, "bh"), fdrcorrection(p)[1], rtol=1e-12, atol=1e-15)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 50), st.integers(0, 10_000), st.booleans())
def test_exact_wilcoxon_p_matches_scipy(n, seed, ties):
    x = np.random.default_rng(seed).standard_normal(n)
    if ties:
        x = np.round(x, 1)
    x = x[x != 0]
    if not x.size:
        return
    w, z, p = inf.wilcoxon(x, exact=True)
    assert np.isclose(p, stats.wilcoxon(x, method="exact").pvalue, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(w, stats.rankdata(np.abs(x))[x > 0].sum())


def test_wilcoxon_columns_match_one_column_at_a_time():
    rng = np.random.default_rng(5)
    X = np.round(rng.standard_normal((80, 9)), 1)
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 3] = np.nan
    X[:45, 4] = np.nan                                      # 35 left: the exact p
    w, z, p = inf.wilcoxon_columns(X)
    for d in range(X.shape[1]):
        c = X[:, d]
        c = c[np.isfinite(c) & (c != 0)]
        if not c.size:
            assert np.isnan(w[d]) and np.isnan(p[d])
            continue
        r = stats.rankdata(np.abs(c))
        ref = stats.wilcoxon(c, method="approx", correction=False)
        assert np.isclose(w[d], r[c > 0].sum())
        _, counts = np.unique(np.abs(c), return_counts=True)
        if counts.size < c.size:                            # ties: the normal p with the tie correction
            assert np.isclose(p[d], ref.pvalue, rtol=1e-10)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(0, 10_000))
def test_row_medians_equal_nanmedian(n, d, seed):
    import warnings

    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal((n, d)), 1)
    x[rng.random(x.shape) < 0.3] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmedian(x, axis=1)
    np.testing.assert_array_equal(inf.row_medians(x), ref)
