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
