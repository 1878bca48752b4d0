"""Fused GRANK kernels (_kernels.py) against a slow textbook loop, against inference.grank_t, and
against each other (numpy vs numba; halves vs whole). Inputs are SYNTHETIC (seeded or drawn by
hypothesis), with missing days, ±inf, and deliberate ties among the SARs and between SARs and event points."""

from __future__ import annotations

import math

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from eventstudy import _kernels as kr
from eventstudy import inference as inf

SUM_TOL = 1e-12
STAT_TOL = 1e-10


# ---- SYNTHETIC inputs --------------------------------------------------------------------------------
def syn_inputs(seed: int, n: int, M: int, K: int, p_nan: float = 0.1, p_tie: float = 0.15,
               p_gnan: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC ``(sar, scar, g)``: sar with missing days, a few ±inf and values rounded onto a coarse
    grid (ties within rows); scar with missing values; ``g = scar / s(scar)`` per column; then some sar
    cells overwritten with that row's event points (ties between the event point and estimation days)."""
    rng = np.random.default_rng(seed)
    sar = rng.standard_normal((n, M))
    coarse = rng.random((n, M)) < p_tie
    sar[coarse] = np.round(sar[coarse] * 2) / 2
    sar[rng.random((n, M)) < p_nan] = np.nan
    sar[rng.random((n, M)) < 0.01] = np.inf
    sar[rng.random((n, M)) < 0.01] = -np.inf
    scar = np.round(rng.standard_normal((n, K)) * 1.7 + 0.3, 1)
    scar[rng.random((n, K)) < p_gnan] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        g = scar / sd_as_grank_t(scar)
    if n and M and K:
        for _ in range(max(1, n * M // 20)):  # event point tied with an estimation day
            i, t, k = rng.integers(n), rng.integers(M), rng.integers(K)
            if np.isfinite(g[i, k]):
                sar[i, t] = g[i, k]
    return sar, scar, g


def sd_as_grank_t(scar: np.ndarray) -> np.ndarray:
    """Column s.d. of the finite values with ``grank_t``'s own call (``x.std(ddof=1)``), so that event
    points tied on purpose with SARs stay tied inside ``grank_t``."""
    return np.array([scar[np.isfinite(scar[:, k]), k].std(ddof=1) if np.isfinite(scar[:, k]).sum() > 1 else np.nan
                     for k in range(scar.shape[1])])


def sd_by_hand(scar: np.ndarray) -> np.ndarray:
    """Column s.d. (ddof = 1) of the finite values, by an explicit loop."""
    out = np.full(scar.shape[1], np.nan)
    for k in range(scar.shape[1]):
        x = [v for v in scar[:, k] if np.isfinite(v)]
        if len(x) > 1:
            m = sum(x) / len(x)
            out[k] = (sum((v - m) ** 2 for v in x) / (len(x) - 1)) ** 0.5
    return out


# ---- slow textbook implementation --------------------------------------------------------------------
def slow_sums(sar: np.ndarray, g: np.ndarray):
    """Per target and event: rank the observed estimation SARs together with the event point
    (``scipy.stats.rankdata``, mid-ranks), U = rank/(T+1) - 1/2, and add up. Python loops throughout."""
    n, M = sar.shape
    K = g.shape[1]
    colsum, colcnt = np.zeros((K, M)), np.zeros((K, M), np.int64)
    evt_sum, nk = np.zeros(K), np.zeros(K, np.int64)
    for k in range(K):
        for i in range(n):
            if not np.isfinite(g[i, k]):
                continue
            days = [t for t in range(M) if np.isfinite(sar[i, t])]
            x = [sar[i, t] for t in days] + [g[i, k]]
            T = len(x)
            u = stats.rankdata(x, method="average") / (T + 1) - 0.5
            for j, t in enumerate(days):
                colsum[k, t] += u[j]
                colcnt[k, t] += 1
            evt_sum[k] += u[-1]
            nk[k] += 1
    return colsum, colcnt, evt_sum, nk


def slow_grank(sar: np.ndarray, g: np.ndarray) -> list[tuple[float, float]]:
    """Kolari & Pynnönen (2011) t_grank per target from the textbook U's (event point = one more time point)."""
    colsum, colcnt, evt_sum, nk = slow_sums(sar, g)
    out = []
    for k in range(g.shape[1]):
        N = nk[k]
        ubars = [colsum[k, t] / colcnt[k, t] for t in range(sar.shape[1]) if colcnt[k, t] > 0]
        weights = [colcnt[k, t] / N for t in range(sar.shape[1]) if colcnt[k, t] > 0]
        if N < 3:
            out.append((np.nan, np.nan))
            continue
        u0 = evt_sum[k] / N
        T = len(ubars) + 1
        S = np.sqrt((sum(w * u**2 for w, u in zip(weights, ubars)) + u0**2) / T)
        z = u0 / S
        if T <= 2 or T - 1 - z**2 <= 0:
            out.append((np.nan, np.nan))
            continue
        t = z * np.sqrt((T - 2) / (T - 1 - z**2))
        out.append((t, 2 * stats.t.sf(abs(t), T - 2)))
    return out


def assert_sums_equal(a, b, tol=SUM_TOL):
    colsum, colcnt, evt_sum, n = a
    colsum2, colcnt2, evt_sum2, n2 = b
    assert colcnt.dtype == colcnt2.dtype == np.int64 and n.dtype == n2.dtype == np.int64
    np.testing.assert_array_equal(colcnt, colcnt2)
    np.testing.assert_array_equal(n, n2)
    np.testing.assert_allclose(colsum, colsum2, rtol=0, atol=tol * max(1.0, float(np.abs(colsum2).max(initial=0))))
    np.testing.assert_allclose(evt_sum, evt_sum2, rtol=0, atol=tol * max(1.0, float(np.abs(evt_sum2).max(initial=0))))


# ---- (d) textbook loop -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed,n,M,K", [(1, 12, 9, 3), (2, 30, 20, 4), (3, 7, 1, 2), (4, 5, 15, 1)])
def test_sums_match_textbook_loop(seed, n, M, K):
    sar, _, g = syn_inputs(seed, n, M, K)
    rk = inf.row_ranks(sar)
    want = slow_sums(sar, g)
    assert want[1].sum() > 0 and want[3].sum() > 0
    assert_sums_equal(kr.grank_sums_numpy(sar, rk, g), want)
    assert_sums_equal(kr.grank_sums_numba(sar, rk, g), want)
    assert_sums_equal(kr.grank_sums(sar, rk, g), want)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_statistic_matches_textbook_formula(seed):
    sar, _, g = syn_inputs(seed, 25, 30, 4)
    t, p = kr.grank_from_sums(*kr.grank_sums(sar, inf.row_ranks(sar), g))
    want = np.array(slow_grank(sar, g))
    assert np.isfinite(want[:, 0]).sum() >= 3
    np.testing.assert_allclose(t, want[:, 0], rtol=0, atol=STAT_TOL)
    np.testing.assert_allclose(p, want[:, 1], rtol=0, atol=STAT_TOL)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 15), M=st.integers(0, 12), K=st.integers(1, 4),
       p_nan=st.sampled_from([0.0, 0.2, 0.6, 1.0]), p_tie=st.sampled_from([0.0, 0.5, 1.0]),
       p_gnan=st.sampled_from([0.0, 0.3, 1.0]))
def test_sums_match_textbook_loop_hypothesis(seed, n, M, K, p_nan, p_tie, p_gnan):
    sar, _, g = syn_inputs(seed, n, M, K, p_nan=p_nan, p_tie=p_tie, p_gnan=p_gnan)
    rk = inf.row_ranks(sar)
    want = slow_sums(sar, g)
    assert_sums_equal(kr.grank_sums_numpy(sar, rk, g), want)
    assert_sums_equal(kr.grank_sums_numba(sar, rk, g), want)


# ---- (a) numba vs numpy ------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), M=st.integers(1, 60), K=st.integers(1, 8))
def test_numba_and_numpy_agree(seed, n, M, K):
    sar, _, g = syn_inputs(seed, n, M, K)
    rk = inf.row_ranks(sar)
    assert_sums_equal(kr.grank_sums_numba(sar, rk, g), kr.grank_sums_numpy(sar, rk, g))


def test_numba_and_numpy_agree_over_many_blocks():
    """More events than one block and one wave of blocks (threads), with K = 26 targets."""
    n = kr.BLOCK * 9 + 17
    sar, _, g = syn_inputs(5, n, 24, 26, p_gnan=0.2)
    rk = inf.row_ranks(sar)
    a, b = kr.grank_sums_numba(sar, rk, g), kr.grank_sums_numpy(sar, rk, g)
    assert_sums_equal(a, b)
    assert a[3].min() > 0.7 * n and a[3].max() < n  # targets really differ in membership


def test_numba_result_does_not_depend_on_thread_count(monkeypatch):
    n = kr.BLOCK * 5 + 3
    sar, _, g = syn_inputs(6, n, 30, 5)
    rk = inf.row_ranks(sar)
    monkeypatch.setattr(kr, "_threads", lambda blocks: 1)
    one = kr.grank_sums_numba(sar, rk, g)
    monkeypatch.setattr(kr, "_threads", lambda blocks: min(3, blocks))
    three = kr.grank_sums_numba(sar, rk, g)
    for x, y in zip(one, three):
        np.testing.assert_array_equal(x, y)  # bit for bit


# ---- (b) against inference.grank_t -------------------------------------------------------------------
@pytest.mark.parametrize("seed,n,M,K", [(21, 40, 50, 6), (22, 200, 120, 26), (23, 9, 30, 3)])
def test_from_sums_equals_grank_t_per_target(seed, n, M, K):
    sar, scar, g = syn_inputs(seed, n, M, K)
    rk = inf.row_ranks(sar)
    scar[:, 0] = np.nan  # no event: NaN
    scar[2:, -1] = np.nan  # fewer than MIN_N events: NaN
    with np.errstate(invalid="ignore"):
        g = scar / sd_as_grank_t(scar)
    for sums in (kr.grank_sums_numpy(sar, rk, g), kr.grank_sums_numba(sar, rk, g)):
        t, p = kr.grank_from_sums(*sums)
        got_finite = 0
        for k in range(K):
            keep = np.isfinite(scar[:, k])
            want = inf.grank_t(sar[keep], scar[keep, k])
            np.testing.assert_allclose([t[k], p[k]], want, rtol=0, atol=STAT_TOL, equal_nan=True)
            got_finite += np.isfinite(want[0])
        assert got_finite >= K - 2 and np.isnan(t[0]) and np.isnan(t[-1])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 25), M=st.integers(0, 15), K=st.integers(1, 3),
       p_nan=st.sampled_from([0.0, 0.3, 0.9]))
def test_from_sums_equals_grank_t_hypothesis(seed, n, M, K, p_nan):
    """Small samples, constant columns (degenerate s.d.) included: grank_targets carries grank_t's NaN rules."""
    sar, scar, g = syn_inputs(seed, n, M, K, p_nan=p_nan)
    g2 = kr.grank_targets(scar)
    t, p = kr.grank_from_sums(*kr.grank_sums(sar, inf.row_ranks(sar), g2))
    for k in range(K):
        keep = np.isfinite(scar[:, k])
        with np.errstate(invalid="ignore", divide="ignore"):  # grank_t's own 0/0 on all-tied inputs
            want = inf.grank_t(sar[keep], scar[keep, k], inf.row_ranks(sar[keep]))
        np.testing.assert_allclose([t[k], p[k]], want, rtol=0, atol=STAT_TOL, equal_nan=True)
        if np.isfinite(g2[:, k]).any():
            np.testing.assert_array_equal(g2[:, k], g[:, k])  # the same event points, bit for bit


def test_grank_targets_matches_grank_t_rules():
    rng = np.random.default_rng(31)
    scar = rng.standard_normal((30, 5))
    scar[rng.random(scar.shape) < 0.2] = np.nan
    scar[:, 1] = 2.5  # constant: degenerate s.d.
    scar[2:, 2] = np.nan  # two values: fewer than MIN_N
    scar[:, 3] = np.nan
    g = kr.grank_targets(scar)
    sd = sd_by_hand(scar)
    for k in (0, 4):
        np.testing.assert_allclose(g[:, k], scar[:, k] / sd[k], rtol=1e-13, equal_nan=True)
        assert np.isfinite(g[:, k]).sum() == np.isfinite(scar[:, k]).sum() > 10
    assert np.isnan(g[:, 1:4]).all()
    sar, _, _ = syn_inputs(32, 30, 40, 1)
    t, p = kr.grank_from_sums(*kr.grank_sums(sar, inf.row_ranks(sar), g))
    for k in range(5):
        keep = np.isfinite(scar[:, k])
        np.testing.assert_allclose([t[k], p[k]], inf.grank_t(sar[keep], scar[keep, k]), atol=STAT_TOL,
                                   equal_nan=True)
    assert np.isfinite(t[[0, 4]]).all() and np.isnan(t[1:4]).all()


# ---- (c) additivity ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), M=st.integers(1, 20), K=st.integers(1, 5),
       cut=st.floats(0, 1))
def test_sums_over_halves_equal_sums_over_all(seed, n, M, K, cut):
    sar, _, g = syn_inputs(seed, n, M, K)
    rk = inf.row_ranks(sar)
    c = int(round(cut * n))
    for f in (kr.grank_sums_numpy, kr.grank_sums_numba):
        whole = f(sar, rk, g)
        a, b = f(sar[:c], rk[:c], g[:c]), f(sar[c:], rk[c:], g[c:])
        assert_sums_equal(tuple(x + y for x, y in zip(a, b)), whole)


def test_chunked_statistic_equals_whole_study():
    """Three chunks with mixed implementations give grank_t's statistic for the whole study."""
    sar, scar, g = syn_inputs(41, 150, 60, 7)
    rk = inf.row_ranks(sar)
    parts = [kr.grank_sums_numpy(sar[:40], rk[:40], g[:40]), kr.grank_sums_numba(sar[40:95], rk[40:95], g[40:95]),
             kr.grank_sums(sar[95:], rk[95:], g[95:])]
    t, p = kr.grank_from_sums(*(sum(x) for x in zip(*parts)))
    for k in range(7):
        keep = np.isfinite(scar[:, k])
        np.testing.assert_allclose([t[k], p[k]], inf.grank_t(sar[keep], scar[keep, k]), atol=STAT_TOL)


# ---- edge cases and errors ---------------------------------------------------------------------------
def test_infinite_event_point_means_event_left_out_of_target():
    sar, _, g = syn_inputs(42, 40, 15, 3)
    g[:8, 0], g[8:12, 1], g[12:14, 2] = -np.inf, np.inf, np.nan
    rk = inf.row_ranks(sar)
    want = slow_sums(sar, g)  # the loop skips non-finite event points
    assert want[3].tolist() == np.isfinite(g).sum(axis=0).tolist() and np.isfinite(g[:, 0]).sum() < 33
    assert_sums_equal(kr.grank_sums_numpy(sar, rk, g), want)
    assert_sums_equal(kr.grank_sums_numba(sar, rk, g), want)


def test_event_without_observed_estimation_day_and_empty_inputs():
    sar = np.full((4, 5), np.nan)
    sar[1:] = [[0.1, -0.2, 0.3, np.nan, 0.0]] * 3
    g = np.array([[0.5], [0.1], [-1.0], [2.0]])
    rk = inf.row_ranks(sar)
    want = slow_sums(sar, g)
    assert_sums_equal(kr.grank_sums_numpy(sar, rk, g), want)
    assert_sums_equal(kr.grank_sums_numba(sar, rk, g), want)
    for f in (kr.grank_sums_numpy, kr.grank_sums_numba):
        cs, cc, ev, n = f(np.empty((0, 5)), np.empty((0, 5)), np.empty((0, 2)))
        assert cs.shape == cc.shape == (2, 5) and not cs.any() and not cc.any() and not ev.any() and not n.any()
    t, p = kr.grank_from_sums(*kr.grank_sums(np.empty((0, 5)), np.empty((0, 5)), np.empty((0, 2))))
    assert np.isnan(t).all() and np.isnan(p).all()


def test_errors_name_the_argument_and_row():
    sar = np.zeros((3, 4))
    with pytest.raises(ValueError, match="est_ranks: shape"):
        kr.grank_sums(sar, np.zeros((3, 5)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"g: expected shape \(3, K\)"):
        kr.grank_sums(sar, inf.row_ranks(sar), np.zeros((2, 1)))
    rk = inf.row_ranks(sar)
    rk[2, 1] = np.nan
    with pytest.raises(ValueError, match="est_ranks: row 2, column 1"):
        kr.grank_sums_numba(sar, rk, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="shapes"):
        kr.grank_from_sums(np.zeros((2, 3)), np.zeros((2, 4), np.int64), np.zeros(2), np.zeros(2, np.int64))


def test_sums_of_rows_in_place_equal_sums_of_copied_rows():
    """A group's rows summed in place (float ranks or their uint16 codes, compiled or numpy) give the bits of
    the same rows copied out first, in the order given (out of order and repeated rows too); the codes
    decode to the ranks exactly."""
    sar, _, g = syn_inputs(61, 3 * kr.BLOCK + 17, 30, 4)      # several blocks of the compiled kernel
    rk = inf.row_ranks(sar)
    code = kr.rank_codes(rk)
    assert code.dtype == np.uint16 and np.array_equal(kr.rank_values(code), rk, equal_nan=True)
    rng = np.random.default_rng(3)
    for rows in (None, np.flatnonzero(rng.random(len(sar)) < 0.4), rng.permutation(len(sar))[:500],
                 np.array([5, 5, 0, 9], np.int64), np.zeros(0, np.int64)):
        take = np.arange(len(sar)) if rows is None else rows
        gr = np.ascontiguousarray(g[take])
        for jit in (True, False):
            want = kr.grank_sums(sar[take], rk[take], gr, jit=jit)
            for ranks in (rk, code):
                got = kr.grank_sums_rows(sar, ranks, rows, gr, jit=jit)
                for a, b in zip(got, want):
                    assert a.dtype == b.dtype and np.array_equal(a, b), (jit, ranks.dtype, rows)
        assert_sums_equal(kr.grank_sums_rows(sar, code, rows, gr, jit=True), slow_sums(sar[take], gr))


def test_rows_and_codes_are_checked():
    """The compiled kernel checks every row it reads, a row without any target too: a rank (or code)
    must be present exactly where the SAR is finite; the error names the first such row and column."""
    sar, _, g = syn_inputs(62, 40, 12, 2)
    code = kr.rank_codes(inf.row_ranks(sar))
    i, t = 17, int(np.flatnonzero(np.isfinite(sar[17]))[0])
    code[i, t] = kr.RANK_CODE_MISSING
    g[i] = np.nan                                             # no target: still read, still checked
    for jit in (True, False):
        with pytest.raises(ValueError, match=rf"est_ranks: row {i}, column {t} is nan where sar_est is"):
            kr.grank_sums_rows(sar, code, None, g, jit=jit)
    rows = np.array([3, 17, 20])
    for jit in (True, False):                                 # the caller's row, not the position in rows
        with pytest.raises(ValueError, match=rf"est_ranks: row {i}, column {t}"):
            kr.grank_sums_rows(sar, code, rows, g[rows], jit=jit)
    ok = kr.grank_sums_rows(sar, code, np.array([3, 20]), g[[3, 20]], jit=True)      # row 17 not read
    assert ok[3].sum() > 0
    j = int(np.flatnonzero(~np.isfinite(sar[4]))[0])
    code = kr.rank_codes(inf.row_ranks(sar))
    code[4, j] = 6                                            # a rank where the SAR is missing
    with pytest.raises(ValueError, match=rf"est_ranks: row 4, column {j} is 3.0 where sar_est is"):
        kr.grank_sums_rows(sar, code, None, g, jit=True)
    with pytest.raises(ValueError, match="rows: expected positions 0..39"):
        kr.grank_sums_rows(sar, code, np.array([0, 40]), g[:2], jit=True)
    with pytest.raises(ValueError, match=r"g: expected shape \(2, K\)"):
        kr.grank_sums_rows(sar, code, np.array([0, 1]), g, jit=True)


def test_dispatch_by_work(monkeypatch):
    sar, _, g = syn_inputs(51, 20, 10, 2)
    rk = inf.row_ranks(sar)
    called = []
    real_nb, real_np = kr._grank_sums_numba, kr._grank_sums_numpy
    monkeypatch.setattr(kr, "_grank_sums_numba", lambda *a: called.append("numba") or real_nb(*a))
    monkeypatch.setattr(kr, "_grank_sums_numpy", lambda *a: called.append("numpy") or real_np(*a))
    kr.grank_sums(sar, rk, g)
    monkeypatch.setattr(kr, "JIT_MIN_WORK", 20 * 10 * 2)
    kr.grank_sums(sar, rk, g)
    assert called == ["numpy", "numba"]


def test_small_study_and_import_do_not_load_numba():
    """The bundled demo's size stays on the numpy path: numba is never imported (no JIT cost)."""
    probe = ("import sys, json, numpy as np\n"
             "import eventstudy, eventstudy._kernels as kr\n"
             "a = 'numba' in sys.modules\n"
             "from eventstudy import inference as inf\n"
             "rng = np.random.default_rng(0)\n"
             "sar = rng.standard_normal((30, 250)); g = rng.standard_normal((30, 26))\n"
             "t, p = kr.grank_from_sums(*kr.grank_sums(sar, inf.row_ranks(sar), g))\n"
             "print(json.dumps([a, 'numba' in sys.modules, bool(np.isfinite(t).all())]))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, False, True]
    assert 30 * 250 * 26 < kr.JIT_MIN_WORK


# ---- compiled mid-ranks ------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 30), M=st.integers(0, 25),
       p_nan=st.sampled_from([0.0, 0.3, 1.0]))
def test_row_ranks_numba_identical_to_numpy_and_scipy(seed, n, M, p_nan):
    sar, _, _ = syn_inputs(seed, n, M, 1, p_nan=p_nan, p_tie=0.5)
    got = kr.row_ranks_numba(sar)
    np.testing.assert_array_equal(got, inf.row_ranks(sar))
    for i in range(n):
        ok = np.isfinite(sar[i])
        np.testing.assert_array_equal(got[i, ok], stats.rankdata(sar[i, ok], method="average"))
        assert np.isnan(got[i, ~ok]).all()


def test_row_ranks_numba_many_blocks():
    sar, _, _ = syn_inputs(61, kr.RANK_BLOCK * 2 + 5, 40, 1, p_tie=0.6)
    np.testing.assert_array_equal(kr.row_ranks_numba(sar), inf.row_ranks(sar))


@pytest.fixture(params=["uint32", "uint64"])
def key_width(request, monkeypatch):
    """Run a test with the sort keys of either width (uint32: the default below 4,096 columns; uint64 forced
    by allowing no column bits for uint32 keys): every path of the compiled ranks is exercised."""
    if request.param == "uint64":
        monkeypatch.setattr(kr, "KEY32_MAX_BITS", 0)
    assert kr._key_width(9)[0].__name__ == request.param
    return request.param


def test_row_ranks_numba_near_ties_and_signed_zeros(key_width):
    """The compiled ranks sort on keys whose low bits hold the column: values that differ only in those
    bits (a few ulps), signed zeros, infinities and NaN must still rank exactly as scipy ranks them."""
    rng = np.random.default_rng(63)
    base = np.array([1.0, -1.0, 0.0, 1e-300, -1e-300, 123.456])
    rows = []
    for b in base:
        ulps = np.nextafter(b, np.inf) if b else 5e-324
        row = b + (rng.integers(0, 4, 40) * (ulps - b) if b else rng.integers(-2, 3, 40) * ulps)
        rows.append(row)
    zeros = np.where(rng.random(40) < 0.5, 0.0, -0.0)
    rows.append(zeros)
    mixed = rng.normal(size=40)
    mixed[[3, 7]] = np.inf
    mixed[[4, 9]] = -np.inf
    mixed[[5, 11]] = np.nan
    mixed[12:20] = mixed[0]
    rows.append(mixed)
    x = np.vstack(rows)
    got = kr.row_ranks_numba(x)
    for i in range(len(x)):
        ok = np.isfinite(x[i])
        np.testing.assert_array_equal(got[i, ok], stats.rankdata(x[i, ok], method="average"))
        assert np.isnan(got[i, ~ok]).all()
    wide = rng.normal(size=(3, 3000))         # more columns than the low bits of a short row
    wide[:, 10:20] = wide[:, :1]
    np.testing.assert_array_equal(kr.row_ranks_numba(wide), inf.row_ranks(wide))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 30), M=st.integers(0, 25),
       p_nan=st.sampled_from([0.0, 0.3, 1.0]))
def test_row_medians_from_the_rank_sort_are_numpys(seed, n, M, p_nan):
    x, _, _ = syn_inputs(seed, n, M, 1, p_nan=p_nan, p_tie=0.5)
    ranks, med = kr.row_ranks_numba(x, medians=True)
    np.testing.assert_array_equal(ranks, inf.row_ranks(x))
    want = np.array([np.median(r[np.isfinite(r)]) if np.isfinite(r).any() else np.nan for r in x])  # observed = finite
    np.testing.assert_array_equal(med, want)
    np.testing.assert_array_equal(kr.row_ranks(x, jit=False, medians=True)[1], want)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), C=st.integers(0, 12), groups=st.integers(1, 4),
       p_nan=st.sampled_from([0.0, 0.3, 1.0]))
def test_group_colsums_compiled_equals_a_loop_over_groups(seed, n, C, groups, p_nan):
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(n, C)) * 10.0 ** rng.integers(-3, 4, size=(n, 1))
    V[rng.random(V.shape) < p_nan] = np.nan
    code = rng.integers(-1, groups, n)
    got = kr.group_colsums(V, code, groups, jit=True)
    wide = np.full((n, C + 5), 99.0)                # a column range of a wider array (a view), as a chunk passes it
    wide[:, 2:C + 2] = V
    view = wide[:, 2:C + 2]
    assert view.base is wide and (C < 2 or n < 2 or not view.flags.c_contiguous)
    for a, b in zip(kr.group_colsums(view, code, groups, jit=True), got):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(kr.group_colsums(V, code, groups), got):    # numpy sums one column pairwise: rounding apart
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13 * np.nanmax(np.abs(V), initial=0.0))
    for g in range(groups):                 # a textbook loop, value by value
        rows = [i for i in range(n) if code[i] == g]
        for c in range(C):
            vals = [V[i, c] for i in rows if np.isfinite(V[i, c])]
            assert got[1][g, c] == len(vals)
            assert got[0][g, c] == pytest.approx(math.fsum(vals), rel=1e-12, abs=1e-12)
        assert got[2][g] == len(rows)
        assert got[3][g] == sum(np.isfinite(V[i]).any() for i in rows)
        finite = [abs(V[i, c]) for i in rows for c in range(C) if np.isfinite(V[i, c])]
        assert (np.isnan(got[4][g]) and not finite) or got[4][g] == max(finite)


@pytest.mark.parametrize("seed", range(4))
def test_group_scaled_colsums_equal_the_sums_of_the_formed_values(seed):
    """Corrado's U_it, the median signs and the volume U_it summed per group without forming them: bit for
    bit the compiled sums of the formed values (textbook definitions, value by value), with missing and
    infinite returns, rows in no group, rows with no value, ties at the median and a row median of NaN."""
    rng = np.random.default_rng(seed)
    n, C, groups = 300, 40, 3
    F = rng.normal(size=(n, C)).round(1)                 # ties, some at the median
    F[rng.random(F.shape) < 0.1] = np.nan
    F[rng.random(F.shape) < 0.01] = np.inf
    F[5] = np.nan                                       # a row with no value
    code = rng.integers(-1, groups, n)
    ok = np.isfinite(F)
    T = ok.sum(axis=1)
    K = inf.row_ranks(F)
    med = np.array([np.median(r[np.isfinite(r)]) if np.isfinite(r).any() else np.nan for r in F])
    U = np.full(F.shape, np.nan)
    G = np.full(F.shape, np.nan)
    for i in range(n):
        for c in range(C):
            if ok[i, c]:
                U[i, c] = K[i, c] / (T[i] + 1.0) - 0.5
                d = F[i, c] - med[i]
                G[i, c] = 1.0 if d > 0 else -1.0 if d < 0 else 0.0
    K_any = np.where(ok, K, 7.0)                         # values where F is missing: F decides what counts
    for (X, a, off, mode), V in [((K_any, T + 1.0, 0.5, 0), U), ((F, med, 0.0, 1), G)]:
        want = kr.group_colsums(V, code, groups, jit=True)
        for jit in (True, False):
            got = kr.group_scaled_colsums(X, F, a, off, mode, code, groups, jit=jit)
            if jit:                                    # views of wider arrays (strided rows): the same sums
                XF = np.concatenate([X, F, X], axis=1)
                assert not XF[:, :C].flags.c_contiguous
                views = kr.group_scaled_colsums(XF[:, :C], XF[:, C:2 * C], a, off, mode, code, groups, True)
                for x, y in zip(views, got):
                    np.testing.assert_array_equal(x, y)
            for x, y in zip(got, want):
                if jit:
                    np.testing.assert_array_equal(x, y)
                else:                                  # numpy sums one column pairwise: rounding apart
                    np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(kr.scaled_values(X, F, a, off, mode), V)
    with pytest.raises(ValueError, match="mode"):
        kr.group_scaled_colsums(K, F, T + 1.0, 0.5, 2, code, groups, jit=True)


def test_row_ranks_dispatch(monkeypatch):
    sar, _, _ = syn_inputs(62, 50, 30, 1, p_tie=0.5)
    called = []
    real = kr.row_ranks_numba
    monkeypatch.setattr(kr, "row_ranks_numba", lambda x, medians=False: called.append(x.shape) or real(x, medians))
    want = inf.row_ranks(sar)
    np.testing.assert_array_equal(kr.row_ranks(sar), want)
    np.testing.assert_array_equal(kr.row_ranks(sar, targets=26), want)
    assert called == []
    monkeypatch.setattr(kr, "JIT_MIN_WORK", sar.size * 26)
    np.testing.assert_array_equal(kr.row_ranks(sar, targets=26), want)
    np.testing.assert_array_equal(kr.row_ranks(sar, targets=25), want)
    monkeypatch.setattr(kr, "RANK_JIT_MIN_SIZE", sar.size)
    np.testing.assert_array_equal(kr.row_ranks(sar), want)
    assert called == [sar.shape, sar.shape]


# ---- one sort for the ranks of a row and of its scaled subset (rank_pass) ----------------------------------
#: sigma values that matter for SAR = a / sigma: ordinary, negative, zero of both signs, NaN, infinite,
#: subnormal and tiny (the largest quotients overflow, the smallest become subnormal), huge (quotients
#: underflow to signed zeros and subnormals, which tie distinct returns)
SIGMAS = np.array([0.013, 1.0, 3.7, -0.02, -1.0, 0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1e-310, 1e-300,
                   1e-290, 1e300, 1e308])


def nasty_rows(seed: int, n: int, M: int, p_nan: float = 0.05, p_tie: float = 0.1, p_near: float = 0.1) -> np.ndarray:
    """SYNTHETIC rows (seeded) that stress exact ranking: returns on ±0.02 with some rows rescaled to tiny or
    huge magnitudes, NaN, ±inf, ties on a coarse grid, exact zeros of both signs, runs of near-ties (a few
    ulps apart, inside the truncated bits of the sort keys), all-NaN rows and rows of one sign only (more
    than one sort piece can hold when M > 256)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_t(4, size=(n, M)) * 0.02
    if n:
        x *= 10.0 ** rng.choice([0, 0, 0, -200, -305, 250, 300], size=(n, 1))
    tie = rng.random((n, M)) < p_tie
    x[tie] = np.round(x[tie] * 100) / 100
    near = np.argwhere(rng.random((n, M)) < p_near)
    for i, t in near:                            # a few ulps (up to 2**10) above another value of the row
        base = x[i, rng.integers(M)]
        x[i, t] = base + rng.integers(1, 1025) * (np.nextafter(base, np.inf) - base) if base else 5e-324
    z = rng.random((n, M)) < 0.03
    x[z] = np.where(rng.random(z.sum()) < 0.5, 0.0, -0.0)
    x[rng.random((n, M)) < p_nan] = np.nan
    x[rng.random((n, M)) < 0.01] = np.inf
    x[rng.random((n, M)) < 0.01] = -np.inf
    if n > 2:
        x[0] = np.nan                            # all missing
        x[1] = -np.abs(x[1])                     # one sign only
        x[2] = np.abs(x[2])
    return x


def check_rank_pass(x: np.ndarray, cols: np.ndarray, sigma: np.ndarray, jit: bool) -> None:
    """rank_pass against inference.row_ranks / row_medians of a and of a[:, cols] / sigma (bit for bit), and
    against scipy's rankdata row by row (values computed independently)."""
    ranks, med, sar, sar_ranks = kr.rank_pass(x, cols, sigma, jit=jit)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        want_sar = x[:, cols] / sigma[:, None]
    np.testing.assert_array_equal(sar.view(np.uint64), want_sar.view(np.uint64))
    np.testing.assert_array_equal(ranks, inf.row_ranks(x))
    np.testing.assert_array_equal(med, inf.row_medians(x))
    np.testing.assert_array_equal(sar_ranks, inf.row_ranks(want_sar))
    for i in range(x.shape[0]):
        for got, v in ((ranks[i], x[i]), (sar_ranks[i], want_sar[i])):
            ok = np.isfinite(v)
            np.testing.assert_array_equal(got[ok], stats.rankdata(v[ok], method="average"))
            assert np.isnan(got[~ok]).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 12),
       M=st.sampled_from([0, 1, 2, 3, 9, 40, 255, 256, 257, 276, 300, 510, 511, 530]),
       p_nan=st.sampled_from([0.0, 0.05, 0.5, 1.0]), p_tie=st.sampled_from([0.0, 0.1, 0.8]),
       p_near=st.sampled_from([0.0, 0.1, 0.5]), prefix=st.booleans())
def test_rank_pass_equals_inference_hypothesis(seed, n, M, p_nan, p_tie, p_near, prefix):
    rng = np.random.default_rng(seed)
    x = nasty_rows(seed, n, M, p_nan, p_tie, p_near)
    E = int(rng.integers(0, M + 1))
    cols = np.arange(E) if prefix else rng.permutation(M)[:E]     # estimation columns anywhere in the row
    sigma = rng.choice(SIGMAS, size=n) * np.where(rng.random(n) < 0.5, 1.0, rng.random(n) + 0.5)
    for jit in (True, False):
        check_rank_pass(x, cols, sigma, jit)
    keep = kr.KEY32_MAX_BITS
    try:                                          # and with uint64 sort keys
        kr.KEY32_MAX_BITS = 0
        check_rank_pass(x, cols, sigma, True)
    finally:
        kr.KEY32_MAX_BITS = keep


@pytest.mark.parametrize("M", [40, 276, 300])
def test_long_runs_of_near_ties_rank_exactly(M, key_width):
    """Rows whose values all lie within 2**-20 relative of each other (one run of equal truncated uint32 keys,
    far longer than LONG_RUN: put in order by a merge sort), with exact ties and NaN among them; and rows of
    short runs around LONG_RUN: ranks and medians as scipy and numpy give them."""
    rng = np.random.default_rng(M)
    rows = []
    for scale in (1.0, -0.013, 2.5e-300):
        steps = rng.integers(0, 2**30, M).astype(float)
        steps[rng.random(M) < 0.3] = steps[0]                 # exact ties inside the run
        rows.append(scale * (1.0 + steps * 2.0**-52))
    for L in (kr.LONG_RUN - 1, kr.LONG_RUN, kr.LONG_RUN + 1, 2 * kr.LONG_RUN + 3):
        base = rng.normal(0, 0.02, -(-M // L))
        rows.append((np.repeat(base, L)[:M] * (1.0 + rng.integers(0, 2**20, M) * 2.0**-52))[rng.permutation(M)])
    x = np.vstack(rows)
    x[1, ::7] = np.nan
    ranks, med = kr.row_ranks_numba(x, medians=True)
    for i in range(len(x)):
        ok = np.isfinite(x[i])
        assert len(np.unique(x[i, ok])) > kr.LONG_RUN
        np.testing.assert_array_equal(ranks[i, ok], stats.rankdata(x[i, ok], method="average"))
        assert np.isnan(ranks[i, ~ok]).all()
        assert med[i] == np.median(x[i, ok])
    sigma = np.full(len(x), 0.7)
    check_rank_pass(x, np.arange(M - 5), sigma, jit=True)


@pytest.mark.parametrize("M", [250, 276, 300, 510])
def test_rank_pass_sort_layouts(M, key_width):
    """Rows of 257..510 values are sorted in two pieces: split by sign (most rows) or, when one sign has more
    than a piece holds, by columns and merged; one-piece rows around them. Many rows, every sigma kind."""
    x = nasty_rows(71 + M, 300, M, p_nan=0.03, p_tie=0.05, p_near=0.05)
    x[3:40] = -np.abs(x[3:40])                   # more negatives than a piece holds: column split and merge
    x[40:60, : M // 2] = np.abs(x[40:60, : M // 2])
    rng = np.random.default_rng(M)
    sigma = rng.choice(SIGMAS, size=300)
    sigma[100:] = np.abs(rng.standard_normal(200)) * 0.02      # mostly ordinary
    for cols in (np.arange(min(M, 250)), rng.permutation(M)[: M - 30], np.arange(M)[::-1]):
        check_rank_pass(x, cols, sigma, jit=True)
    W, pieces = kr._sort_layout(M)
    if M > kr.SORT_PIECE and key_width == "uint64":
        assert pieces == 2 and W == kr.SORT_PIECE
    else:                                        # uint32 keys (and short rows): one piece
        assert pieces == 1 and W == M


def test_rank_pass_ties_made_by_the_division(key_width):
    """Distinct returns whose quotients round to one value (a huge sigma makes them subnormal or zero; a tiny
    one makes the largest infinite): their SAR ranks tie (or drop out) exactly as a sort of SAR says."""
    base = np.array([3e-300, 3.0000000000000004e-300, 3.000000000000001e-300, -2e-300, 1e-310, -1e-310, 0.0, -0.0,
                     0.5, 0.25, 1e300, 1.7e308, -1.7e308, 1e-5, np.nan])
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.vstack([base, base[::-1], base * 7.0])
    for s in (1e300, 1e10, 5e-324, 1e-300, 0.1, -1e300, np.inf):
        sigma = np.full(3, s)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            sar = x / s
        if s in (1e300, -1e300):
            assert np.sum(sar[0] == 0.0) > 2      # the division ties distinct values
        check_rank_pass(x, np.arange(x.shape[1]), sigma, jit=True)
        check_rank_pass(x, np.array([0, 1, 2, 6, 7, 4, 5, 12]), sigma, jit=True)


def test_rank_pass_rejects_bad_columns_and_sigma():
    x = np.zeros((3, 5))
    with pytest.raises(ValueError, match="cols"):
        kr.rank_pass(x, np.array([0, 0]), np.ones(3))
    with pytest.raises(ValueError, match="cols"):
        kr.rank_pass(x, np.array([5]), np.ones(3))
    with pytest.raises(ValueError, match="sigma"):
        kr.rank_pass(x, np.array([1]), np.ones(4))
    out = kr.rank_pass(np.empty((0, 5)), np.arange(3), np.empty(0), jit=True)
    assert [a.shape for a in out] == [(0, 5), (0,), (0, 3), (0, 3)]
    out = kr.rank_pass(np.empty((2, 0)), np.arange(0), np.ones(2), jit=True)
    assert [a.shape for a in out] == [(2, 0), (2,), (2, 0), (2, 0)] and np.isnan(out[1]).all()


def test_rank_pass_dispatch(monkeypatch):
    x = nasty_rows(81, 30, 20)
    called = []
    real = kr._ranks_compiled
    monkeypatch.setattr(kr, "_ranks_compiled", lambda *a: called.append(len(a)) or real(*a))
    sigma = np.full(30, 0.02)
    want = kr.rank_pass(x, np.arange(10), sigma)
    assert called == []
    monkeypatch.setattr(kr, "JIT_MIN_WORK", 30 * 10 * 26)
    got = kr.rank_pass(x, np.arange(10), sigma, targets=26)
    assert called == [4]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("M", [40, 276])
def test_compiled_ranks_do_not_depend_on_the_thread_cap(M):
    x = nasty_rows(91, kr.RANK_BLOCK * 2 + 5, M, p_tie=0.05, p_near=0.02)
    sigma = np.random.default_rng(92).choice(SIGMAS, size=x.shape[0])
    try:
        kr.set_max_threads(1)
        assert kr._threads(10) == 1
        one = kr.rank_pass(x, np.arange(M - 10), sigma, jit=True), kr.row_ranks_numba(x, medians=True)
        kr.set_max_threads(None)
        assert kr._threads(10) == min(10, int(__import__("numba").config.NUMBA_NUM_THREADS))
        many = kr.rank_pass(x, np.arange(M - 10), sigma, jit=True), kr.row_ranks_numba(x, medians=True)
    finally:
        kr.set_max_threads(None)
    for a, b in zip((*one[0], *one[1]), (*many[0], *many[1])):
        np.testing.assert_array_equal(a.view(np.uint64), b.view(np.uint64))      # bit for bit
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        sar = x[:, : M - 10] / sigma[:, None]
    np.testing.assert_array_equal(one[0][3], inf.row_ranks(sar))


def test_set_max_threads_validates():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_max_threads"):
            kr.set_max_threads(bad)
    try:
        kr.set_max_threads(np.int64(3))
        assert kr._MAX_THREADS == 3 and kr._threads(1) == 1
    finally:
        kr.set_max_threads(None)
    assert kr._MAX_THREADS is None


def test_positions_of_estimation_columns_in_the_combined_columns():
    from eventstudy.suffstats import _positions

    comb = np.array([7, 3, 9, 0, 4])
    sub = np.array([9, 7, 4])
    np.testing.assert_array_equal(_positions(sub, comb), [comb.tolist().index(v) for v in sub])
