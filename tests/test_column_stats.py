"""The array functions behind the test tables against independent references: column medians (numpy's
nanmedian), signed-rank sums and the Wilcoxon test (scipy's rankdata and wilcoxon), Hall's skewness term (a
per-column loop), the bootstrap's resample counts and intervals (the draws counted one by one), and the
Kolari–Pynnönen r̄ (a pairwise loop over the days two events share)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from eventstudy import inference as inf

RBAR_DEFAULT_WORK = inf.RBAR_BLOCK_WORK


def values(seed: int, n: int, d: int, p_nan: float, ties: bool, infs: bool, zeros: bool = False) -> np.ndarray:
    """(n, d) normal values; ``ties``: rounded to one decimal; NaN, ±inf and exact zeros sprinkled in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    if ties:
        x = np.round(x, 1)
    if zeros:
        x[rng.random(x.shape) < 0.1] = 0.0
    if infs:
        x[rng.random(x.shape) < 0.05] = np.inf
        x[rng.random(x.shape) < 0.05] = -np.inf
    x[rng.random(x.shape) < p_nan] = np.nan
    return x


def few_observations(x: np.ndarray) -> np.ndarray:
    """``x`` with its first columns left with 0, 1, 2 and 3 finite values."""
    x = x.copy()
    for j, keep in enumerate((0, 1, 2, 3)[: x.shape[1]]):
        x[keep:, j] = np.nan
    return x


def nanmedian(x: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.where(np.isfinite(x), x, np.nan), axis=0)


# ---- medians -----------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0, 1, 2, 3, 8, 51, 599, 600, 601, 1200]), st.integers(1, 7),
       st.sampled_from([0.0, 0.05, 0.4, 1.0]), st.booleans(), st.booleans(), st.booleans())
def test_column_medians_equal_nanmedian(seed, n, d, p_nan, ties, infs, few):
    """Bit for bit, on both of nanmedian's paths (fewer than 600 rows: masked arrays; more: a loop over
    columns), with NaN, ±inf (not observed), ties, and columns with 0–3 observations."""
    x = values(seed, n, d, p_nan, ties, infs)
    if few:
        x = few_observations(x)
    ref = nanmedian(x)
    np.testing.assert_array_equal(inf.column_medians(x), ref)
    np.testing.assert_array_equal(inf.cross_sectional(x).median, ref)
    for j in range(d):                                            # one column (1-d): a scalar
        got = inf.column_medians(x[:, j])
        assert np.ndim(got) == 0
        np.testing.assert_array_equal(got, ref[j])


def test_column_medians_of_three_dimensional_values():
    x = values(3, 40, 6, 0.2, True, False).reshape(40, 2, 3)
    np.testing.assert_array_equal(inf.column_medians(x), nanmedian(x))


def test_column_medians_leave_the_input_alone():
    x = values(4, 30, 3, 0.1, False, True)
    before = x.copy()
    inf.column_medians(x)
    inf.column_medians(x[:, 1])
    np.testing.assert_array_equal(x, before)


# ---- the cross-sectional sums without masking -------------------------------------------------
@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed"])
@pytest.mark.parametrize("p_nan", [0.0, 0.1])
def test_cross_sectional_sums_do_not_depend_on_the_masking_path(p_nan, layout):
    """A fully observed block skips ``np.where``: every field equals the masked formula written out, bit for bit,
    whatever the memory layout of the values (``np.where`` keeps it, so the sums run in the same order)."""
    x = values(5, 700, 9, p_nan, False, False) * 0.02 + 0.001
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "strided":
        wide = np.full((700, 18), 7.0)
        wide[:, ::2] = x
        x = wide[:, ::2]
    elif layout == "reversed":
        x = x[::-1]
    cs = inf.cross_sectional(x)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=0) / n
        sd = np.sqrt((np.where(ok, x - mean, 0.0) ** 2).sum(axis=0) / (n - 1))
        m3 = np.where(ok, (x - mean) ** 3, 0.0).sum(axis=0)
    np.testing.assert_array_equal(cs.mean, mean)
    np.testing.assert_array_equal(cs.sd, sd)
    np.testing.assert_array_equal(cs.t, mean / (sd / np.sqrt(n)))
    np.testing.assert_array_equal(cs.pos_share, np.where(ok, x > 0, False).sum(axis=0) / n)
    np.testing.assert_array_equal(inf.column_means(x), mean)
    t, _ = inf.hall_t(x, cs)
    g = n / ((n - 1) * (n - 2)) * m3 / sd**3
    S = mean / sd
    np.testing.assert_allclose(t, np.sqrt(n) * (S + g * S**2 / 3 + g**2 * S**3 / 27 + g / (6 * n)), rtol=1e-13)
    for j in range(2):                                            # one window's values (1-d)
        c = x[:, j]
        assert inf.cross_sectional(c).mean == np.where(np.isfinite(c), c, 0.0).sum() / np.isfinite(c).sum()


def test_bmp_t_skips_the_median():
    x = values(6, 50, 3, 0.1, False, False)
    cs = inf.cross_sectional(x)
    t, p = inf.bmp_t(x)
    np.testing.assert_array_equal(t, cs.t)
    np.testing.assert_array_equal(p, cs.p)
    assert np.isnan(inf.cross_sectional(x, median=False).median).all()


# ---- signed ranks ------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0, 1, 2, 3, 10, 49, 50, 51, 300]), st.integers(1, 6),
       st.sampled_from([0.0, 0.1, 0.6, 1.0]), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_signed_rank_sums_against_rankdata(seed, n, d, p_nan, ties, infs, zeros, few):
    """W+ (exact), the tie term and the number of tie groups per column, against scipy's mid-ranks and
    numpy's unique counts, with zeros (dropped), ±inf and NaN (not observed) and columns of 0–3 values; the
    compiled reading of the sorted keys gives the same arrays bit for bit."""
    x = values(seed, n, d, p_nan, ties, infs, zeros)
    if few:
        x = few_observations(x)
    w, tie, groups, cnt = inf.signed_rank_sums(x)
    for a, b in zip((w, tie, groups, cnt), inf.signed_rank_sums(x, jit=True)):
        np.testing.assert_array_equal(a, b, strict=True)
    for j in range(d):
        c = x[:, j]
        c = c[np.isfinite(c) & (c != 0)]
        assert cnt[j] == c.size
        if not c.size:
            assert w[j] == 0 and groups[j] == 0
            continue
        assert w[j] == stats.rankdata(np.abs(c))[c > 0].sum()
        _, t = np.unique(np.abs(c), return_counts=True)
        assert groups[j] == t.size
        assert tie[j] == float((t.astype(float) ** 3 - t).sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([5, 30, 51, 120, 400]), st.sampled_from([0.0, 0.2]), st.booleans(),
       st.booleans())
def test_wilcoxon_columns_match_scipy(seed, n, p_nan, ties, zeros):
    """z and p of every column against ``scipy.stats.wilcoxon`` (zeros dropped, normal approximation with the
    tie correction and no continuity correction; the exact p up to 50 values without ties)."""
    x = values(seed, n, 4, p_nan, ties, False, zeros)
    x[:, 3] = np.abs(x[:, 3])                                     # all positive: W+ = n(n+1)/2
    w, z, p = inf.wilcoxon_columns(x)
    for j in range(4):
        c = x[:, j]
        c = c[np.isfinite(c) & (c != 0)]
        if not c.size:
            assert np.isnan(w[j]) and np.isnan(z[j]) and np.isnan(p[j])
            continue
        _, t = np.unique(np.abs(c), return_counts=True)
        if c.size <= inf.WILCOXON_EXACT_N and t.size == c.size:
            ref = stats.wilcoxon(c, method="exact")
            assert p[j] == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)
            continue
        ref = stats.wilcoxon(c, method="approx", correction=False)
        assert p[j] == pytest.approx(ref.pvalue, rel=1e-10, abs=1e-300)
        assert abs(z[j]) == pytest.approx(abs(ref.zstatistic), rel=1e-12)


def test_wilcoxon_of_one_tie_group_and_of_nothing():
    same = np.array([[0.5], [-0.5], [0.5], [0.5], [np.nan], [0.0]])
    w, z, p = inf.wilcoxon_columns(same)                          # t = 4: variance 4·5·9/24 − 60/48 = 6.25
    assert w[0] == 3 * 2.5 and z[0] == pytest.approx((7.5 - 5.0) / 2.5)
    w, z, p = inf.wilcoxon_columns(np.array([[0.0], [np.nan], [np.inf]]))
    assert np.isnan(w[0]) and np.isnan(z[0]) and np.isnan(p[0])


@pytest.mark.parametrize("jit", [False, True])
def test_tie_term_of_large_tie_groups_is_the_float_sum_of_the_group_sizes(jit):
    """Groups whose t³ exceed 2**53 (rounded in float64): t·t·t − t added group after group in increasing order of
    |x| (a loop here), within rounding of the exact integer sum; both paths alike."""
    rng = np.random.default_rng(2)
    c = np.concatenate([np.full(250_001, 0.25), np.full(230_000, -0.5), rng.standard_normal(1000)])
    rng.shuffle(c)
    w, tie, groups, n = inf.signed_rank_sums(c[:, None], jit=jit)
    _, t = np.unique(np.abs(c), return_counts=True)
    ref = 0.0
    for k in t.tolist():
        ref += float(k) * float(k) * float(k) - float(k)
    assert tie[0] == ref and groups[0] == t.size
    assert tie[0] == pytest.approx(float(sum(k**3 - k for k in t.tolist())), rel=1e-15)
    assert w[0] == stats.rankdata(np.abs(c))[c > 0].sum()


# ---- Hall ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("p_nan", [0.0, 0.15])
def test_hall_t_against_a_loop_over_columns(p_nan):
    rng = np.random.default_rng(7)
    x = rng.lognormal(0.0, 0.8, (300, 6)) * 0.01 - 0.008           # right-skewed
    x[rng.random(x.shape) < p_nan] = np.nan
    x = few_observations(x)[:, ::-1].copy()                          # last columns: 0–3 values
    t, p = inf.hall_t(x)
    for j in range(x.shape[1]):
        c = x[:, j][np.isfinite(x[:, j])]
        if c.size < 3:
            assert np.isnan(t[j]) and np.isnan(p[j])
            continue
        n, m, s = c.size, c.mean(), c.std(ddof=1)
        g = n / ((n - 1) * (n - 2)) * math.fsum((v - m) ** 3 for v in c) / s**3
        S = m / s
        ref = math.sqrt(n) * (S + g * S**2 / 3 + g**2 * S**3 / 27 + g / (6 * n))
        assert t[j] == pytest.approx(ref, rel=1e-12)
        assert p[j] == pytest.approx(2 * stats.t.sf(abs(ref), n - 1), rel=1e-9)


# ---- bootstrap -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n,k", [(1, 3), (2, 5), (37, 11), (3000, 4), (70_000, 2)])
def test_resample_counts_are_the_default_draws_counted(n, k):
    """The int32 draws are numpy's default (int64) draws, and leave the generator in the same state."""
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    draws = a.integers(0, n, size=(k, n))
    W = inf._draw_counts(b, n, k)
    ref = np.zeros((k, n))
    for r in range(k):
        ref[r] = np.bincount(draws[r], minlength=n)
    np.testing.assert_array_equal(W, ref)
    assert a.integers(0, 2**40) == b.integers(0, 2**40)


def previous_bootstrap_days(x: np.ndarray, reps: int, seed: int, chunk_draws: int, level: float = 0.95):
    """The per-day bootstrap as first written (int64 draws counted with bincount, both products on every
    day, nanquantile): the seeded numbers it published, which the current code must reproduce exactly."""
    n, D = x.shape
    lo, hi = np.full(D, np.nan), np.full(D, np.nan)
    obs = np.isfinite(x)
    ok = obs.sum(axis=0) >= 2
    rng = np.random.default_rng(seed)
    x0, w_obs = np.where(obs, x, 0.0)[:, ok], obs[:, ok].astype(float)
    sums, counts = np.empty((reps, x0.shape[1])), np.empty((reps, x0.shape[1]))
    chunk = max(1, chunk_draws // n)
    for s in range(0, reps, chunk):
        k = min(chunk, reps - s)
        idx = rng.integers(0, n, size=(k, n))
        W = np.bincount((idx + n * np.arange(k)[:, None]).ravel(), minlength=k * n).reshape(k, n).astype(float)
        sums[s:s + k], counts[s:s + k] = W @ x0, W @ w_obs
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanquantile(means, [(1 - level) / 2, (1 + level) / 2], axis=0)
    lo[ok], hi[ok] = q[0], q[1]
    return lo, hi


@pytest.mark.parametrize("chunk_draws", [inf.BOOT_CHUNK_DRAWS, 997])
@pytest.mark.parametrize("case", ["full", "gaps", "sparse"])
def test_bootstrap_days_reproduce_the_published_draws(monkeypatch, chunk_draws, case):
    """Bit for bit the intervals of the previous implementation for the same seed: fully observed days (no
    count product), days with gaps, and a day observed for 3 of 60 events (replications that draw none of
    them: nanquantile), with one block of replications or many."""
    monkeypatch.setattr(inf, "BOOT_CHUNK_DRAWS", chunk_draws)
    rng = np.random.default_rng(12)
    x = rng.normal(0.01, 0.03, (60, 7))
    if case != "full":
        x[rng.random(x.shape) < 0.2] = np.nan
        x[:, 6] = np.nan
        x[0, 6] = 0.1                                              # one observation: no interval
    if case == "sparse":
        x[:, 2] = np.nan
        x[[3, 9, 40], 2] = [0.01, -0.02, 0.05]
    lo, hi = inf.bootstrap_mean_ci_days(x, reps=401, seed=33)
    rlo, rhi = previous_bootstrap_days(x, 401, 33, chunk_draws)
    np.testing.assert_array_equal(lo, rlo)
    np.testing.assert_array_equal(hi, rhi)
    assert np.isfinite(lo[:6]).all() and np.isnan(lo[6]) == (case != "full")


# ---- Kolari–Pynnönen r̄ -------------------------------------------------------------------------
def pairwise_rbar(resid: np.ndarray, pos: np.ndarray, min_common: int) -> tuple[float, int]:
    """Mean correlation over all pairs i < j from the days both observe (a dict per event), the Pearson
    correlation by np.corrcoef when they share at least ``min_common`` days and both vary, else 0."""
    m = resid.shape[0]
    days = [{int(p): v for p, v in zip(pos[i], resid[i]) if np.isfinite(v)} for i in range(m)]
    tot, pairs = 0.0, 0
    for i in range(m):
        for j in range(i + 1, m):
            common = sorted(days[i].keys() & days[j].keys())
            if len(common) < min_common:
                continue
            a = np.array([days[i][t] for t in common])
            b = np.array([days[j][t] for t in common])
            if a.std() == 0 or b.std() == 0:
                continue
            tot += np.corrcoef(a, b)[0, 1]
            pairs += 1
    return 2 * tot / (m * (m - 1)), pairs


def residual_panel(seed: int, m: int, E: int, spread: int, p_nan: float, ragged: bool):
    """SYNTHETIC estimation residuals of ``m`` events (E days each, starts spread over ``spread`` sessions) with
    a common factor, missing days, and (``ragged``) shorter histories and one event with no residual."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, spread + 1, m)
    pos = start[:, None] + np.arange(E)[None, :]
    common = rng.normal(size=spread + E)
    resid = 0.6 * common[pos] + rng.normal(size=(m, E))
    resid[rng.random(resid.shape) < p_nan] = np.nan
    if ragged:
        cut = rng.integers(0, E // 2, m)
        resid[np.arange(E)[None, :] < cut[:, None]] = np.nan
        resid[0] = np.nan
    return resid, pos


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 45), st.sampled_from([20, 60, 120]), st.sampled_from([0, 40, 400, 3000]),
       st.sampled_from([0.0, 0.1, 0.5]), st.booleans(), st.sampled_from([5, 30]))
def test_rbar_matches_a_pairwise_loop(seed, m, E, spread, p_nan, ragged, min_common):
    """Both paths (events close in time: dense products; spread out: blocks of nearby events), in any row
    order, with missing days and short histories: r̄ to 1e-12 and the number of pairs exactly."""
    resid, pos = residual_panel(seed, m, E, spread, p_nan, ragged)
    ref, pairs = pairwise_rbar(resid, pos, min_common)
    got, n_pairs = inf.mean_residual_correlation(resid, pos, min_common=min_common)
    assert n_pairs == pairs
    assert got == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("work", [1, 3000, 1 << 30])
def test_rbar_does_not_depend_on_the_block_size(monkeypatch, work):
    """One event per block, small blocks, one block for everything: the same r̄ as the pairwise loop."""
    monkeypatch.setattr(inf, "RBAR_BLOCK_WORK", work)
    resid, pos = residual_panel(11, 60, 80, 2000, 0.1, True)
    assert np.isfinite(resid).sum() < 0.25 * 60 * (pos.max() - pos.min() + 1)     # the banded path
    ref, pairs = pairwise_rbar(resid, pos, 30)
    got, n_pairs = inf.mean_residual_correlation(resid, pos)
    assert n_pairs == pairs > 20
    assert got == pytest.approx(ref, abs=1e-12)


def test_rbar_of_events_on_holes_and_unsorted_positions():
    """Days need not be contiguous nor sorted within a row; events with no residual count in N."""
    rng = np.random.default_rng(5)
    m = 30
    pos = np.stack([rng.choice(120, 40, replace=False) + 60 * (i % 4) for i in range(m)])   # unsorted, gaps
    resid = rng.normal(size=pos.shape)
    ref, pairs = pairwise_rbar(resid, pos, 5)
    got, n_pairs = inf.mean_residual_correlation(resid, pos, min_common=5)
    assert n_pairs == pairs
    assert got == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("work", [1, RBAR_DEFAULT_WORK])
@pytest.mark.parametrize("shift", [29, 30, 31, 59])
def test_rbar_counts_a_pair_sharing_exactly_min_common_days(monkeypatch, shift, work):
    """Two events 60 days long, the second starting ``shift`` days later: 60 − shift shared days, a pair from 30
    (``work`` = 1: each event its own block, so the pair's two blocks share just those days)."""
    monkeypatch.setattr(inf, "RBAR_BLOCK_WORK", work)
    rng = np.random.default_rng(shift)
    pos = np.arange(60)[None, :] + np.array([[0], [shift], [5000]])
    resid = rng.normal(size=(3, 60))
    ref, pairs = pairwise_rbar(resid, pos, 30)
    got, n_pairs = inf.mean_residual_correlation(resid, pos, min_common=30)
    assert n_pairs == pairs == (1 if 60 - shift >= 30 else 0)
    assert got == pytest.approx(ref, abs=1e-12)


# ---- the aar table's per-day pass: compiled sums against numpy's -----------------------------------
def same_numbers(a, b) -> None:
    """Equal bit for bit, NaN where NaN (its payload aside): -0.0 and 0.0 differ."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype.kind == "f":
        nan = np.isnan(a)
        np.testing.assert_array_equal(nan, np.isnan(b))
        np.testing.assert_array_equal(a[~nan].view(np.int64), b[~nan].view(np.int64))
    else:
        np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0, 1, 2, 3, 7, 60, 700]), st.integers(1, 9),
       st.sampled_from([0.0, 0.1, 0.7]), st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_day_stats_compiled_equal_numpy_bit_for_bit(seed, n, d, p_nan, ties, infs, zeros, few, signed_zeros):
    """``tables._day_stats`` on the compiled path (two passes over the group's rows in place, Wilcoxon's runs
    compiled) gives every per-day number of the numpy path bit for bit: a group of rows in any order out of a
    larger array, a block of columns inside it, NaN/±inf (not observed), ties, zeros and -0.0, columns with
    0-3 values, events without a variance or a p-hat; a block of one day (numpy sums one column pairwise:
    the compiled path declines it)."""
    from types import SimpleNamespace

    from eventstudy.tables import _day_stats

    rng = np.random.default_rng(seed)
    N, D = n + 5, d + 3
    x = values(seed, N, D, p_nan, ties, infs, zeros)
    if few:
        x = few_observations(x)
    if signed_zeros:
        x[rng.random(x.shape) < 0.2] = -0.0
    sigma = np.abs(rng.standard_normal(N)) * 0.02
    sigma[rng.random(N) < 0.1] = np.nan
    p_est = rng.uniform(0.3, 0.7, n)
    p_est[rng.random(n) < 0.1] = np.nan
    idx = rng.permutation(N)[:n].astype(np.int64)
    E = SimpleNamespace(d={"ar": x, "abvol": values(seed + 1, N, D, 0.1, ties, False)}, e={"sigma": sigma})
    g = {"p_est": p_est, "df": 120.0}
    days = slice(1, 1 + d)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ref = _day_stats(E, idx, days, g, jit=False)
        got = _day_stats(E, idx, days, g, jit=True)
    assert ref.keys() == got.keys()
    for k in ref:
        same_numbers(ref[k], got[k])
    from eventstudy._kernels import signed_rank_sums_rows

    for a, b in zip(inf.signed_rank_sums(x[idx][:, days]), signed_rank_sums_rows(x, idx, days)):
        same_numbers(a, b)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([1, 2, 5, 80, 600]), st.integers(2, 8), st.integers(1, 4),
       st.sampled_from([0.0, 0.1, 0.6]), st.booleans(), st.booleans())
def test_group_day_sums_equal_numpy_day_sums_bit_for_bit(seed, n, S, n_groups, p_nan, infs, signed_zeros):
    """The compiled per-group day sums of a chunk (one pass, rows read in place) against ``suffstats.day_sums``
    of each group's rows taken out, key by key, bit for bit: NaN/±inf, -0.0, residual df at and below 2, rows in
    no group, volume rows and columns picked out of larger arrays, an A wider than the span."""
    from eventstudy._kernels import group_day_sums
    from eventstudy.suffstats import day_sums

    rng = np.random.default_rng(seed)
    sar = values(seed, n, S, p_nan, False, infs)
    cfac = 1.0 + values(seed + 1, n, S, p_nan / 2, False, False) ** 2
    A = values(seed + 2, n, S + 5, p_nan, False, infs)
    if signed_zeros:
        sar[rng.random(sar.shape) < 0.2] = -0.0
    df = rng.choice([1.0, 2.0, 3.0, 120.0, np.nan], n)
    N = n + 7
    vz, r63, amm = (values(seed + k, N, S + 9, p_nan, False, infs) * 3 for k in (3, 4, 5))
    vrows = rng.permutation(N)[:n]
    code = rng.integers(-1, n_groups, n)
    a_cols, v_cols = slice(3, 3 + S), slice(6, 6 + S)
    got = group_day_sums(sar, df, A, a_cols, cfac, vz, r63, amm, vrows, v_cols, code, n_groups, 2.0)
    for g in range(n_groups):
        m = code == g
        want = day_sums(sar[m], df[m], A[m][:, a_cols], cfac[m], vz[vrows][m][:, v_cols], r63[vrows][m][:, v_cols],
                        amm[vrows][m][:, v_cols], 2.0)
        assert list(got[g]) == list(want)
        for k in want:
            same_numbers(want[k], got[g][k])
