r"""Fused kernels for the generalized rank test (GRANK), as additive sufficient statistics.

The generalized rank test of Kolari & Pynnönen (2011, *Review of Financial Studies* 24(11),
"Nonparametric rank tests for event studies", section 2) ranks, within each event *i*, the
estimation-window standardized abnormal returns :math:`SAR_{it}` together with one
event-point value :math:`g_i` (the re-standardized cumulative abnormal return
:math:`SCAR^*_i = SCAR_i / s(SCAR)`, or one day's :math:`SAR^*_i`), turns the ranks into
centred uniforms :math:`U_{it} = K_{it}/(T_i+1) - \tfrac12` and compares the event-point mean
:math:`\bar U_0` with the dispersion of the estimation-day means :math:`\bar U_t`.

Everything the statistic needs is a sum over events, so a study split in chunks of events can
compute :func:`grank_sums` per chunk, add the four arrays, and finish with
:func:`grank_from_sums`. One call handles *K* targets (windows and days) at once and never
builds an N×M temporary per target: the compiled kernel makes one pass over each event's
row per target with the comparison, the rank shift and both counts fused.

Split of the work with the caller
---------------------------------
:func:`eventstudy.inference.grank_t` (the one-target reference) also standardizes the event
point by the cross-sectional standard deviation of *SCAR* and returns NaN when that s.d. is
degenerate. That step needs every event of the study (it is not a sum of per-chunk terms), so
it stays with the caller: the caller computes ``g = scar / s(scar)`` over the whole study first
(:func:`grank_targets` does it with ``grank_t``'s rules: a degenerate or undefined s.d. makes the
whole column NaN, so that target ends up with ``n = 0`` and a NaN statistic), then passes the
same ``g`` rows to each chunk's :func:`grank_sums`.

Implementations
---------------
:func:`grank_sums_numpy` (vectorised over blocks of events; no compile cost) and
:func:`grank_sums_numba` (``numba.njit(cache=True, nogil=True)``, never ``fastmath``: the NaN
checks must stay; fixed blocks of events run on a thread pool with one accumulator per block, so
the result does not depend on the number of threads) give the same sums; :func:`grank_sums`
picks one by the amount of work (see :data:`JIT_MIN_WORK`). numba is imported only inside the
functions that compile, so ``import eventstudy`` and the command line's ``--help`` never load it.

The ranks the test needs come from :func:`row_ranks` (:func:`row_ranks_numba` compiled), or, in a chunk's
reduction, from :func:`rank_pass`: one sort per event gives the mid-ranks and the median of its abnormal
returns and the ranks of its estimation-window SAR (dividing by the event's sigma keeps the order).

Threads: the compiled kernels run fixed blocks of rows on a pool of numba's ``NUMBA_NUM_THREADS``
threads, capped by :func:`set_max_threads` (a forked chunk worker sharing the cores with others sets 1);
blocks and the order their sums are added in do not depend on the number of threads, nor do results.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

#: events per block of the compiled kernel: blocks are the unit of parallel work and of
#: summation (per-block accumulators added in block order, whatever the number of threads)
BLOCK = 1024

#: work (events × estimation days × targets) from which :func:`grank_sums` uses the compiled
#: kernel. Measured with ``benchmarks/bench_kernels.py`` on the shared 2-core machine (M = 240,
#: K = 26; load average 2.7–4): the numpy path costs 3.7–16 ns per unit of work (more on small
#: inputs), the compiled one 0.5 ns; a process's first compiled call costs 0.4–1.0 s more when
#: numba's disk cache holds the kernel (import numba, numba's set-up, loading) and 1.5–3.4 s when
#: it must compile it (once per installation, numba version and change of this file). 10**8 units
#: (about 16,000 events at M = 240, K = 26; numpy 0.4–1.5 s) is where the two paths break even in
#: a fresh process with the cache present: below it numba is never imported (the bundled demo,
#: 30 events, is 2·10**5 units), above it the compiled path wins from its first call.
JIT_MIN_WORK = 100_000_000

#: rows per block of the compiled mid-rank kernel (:func:`row_ranks_numba`)
RANK_BLOCK = 4096

#: rows of a block whose sort keys are built, sorted and read in one go (at most 256 × 512 × 8 bytes: they
#: stay in the core's cache between the three steps; CPU measured flat from 32 to 512 rows)
RANK_SUBBLOCK = 256

#: longest row of uint64 keys (:data:`KEY32_MAX_BITS`) sorted in one piece. numpy (2.x, x86-simd-sort) sorted
#: rows of up to 256 uint64 with a sorting network and longer ones by quicksort on the machine of an earlier
#: session, 4-5x slower per row (CPU for 4,000 rows: 250 keys
#: 1.6-1.7 ms, 257 keys 6.6 ms, 276 keys 7-9 ms, two pieces of 256 keys 3.2 ms), so a row of 257..510 values
#: is sorted as two pieces of 256 keys: its negative values and the others (then simply concatenated), or,
#: when one sign has more than 256 values, two halves of its columns (merged). Speed only: every layout
#: gives the same ranks.
SORT_PIECE = 256

#: widest column index (bits) for which the sort keys are uint32 instead of uint64: the top 32 bits of each
#: value's order-preserving image with the low ``bits`` of them replaced by the column index. That leaves
#: ``32 - bits`` bits of order (at 276 columns: the sign, the exponent and 11 bits of mantissa), so values
#: within ~2**(bits - 20) relative of each other (2**-11 at 276 columns) share a truncated key and are put in
#: exact order by their values (:func:`_rank_from_keys`): the same ranks, bit for bit. numpy sorts uint32 rows
#: 2-4x faster than uint64 ones (this AVX2 machine, 2026-12-02, CPU per row: 256 keys 0.88 vs 3.30 µs, 276
#: keys 1.62 vs 3.61 µs). The whole rank pass per value, uint32 vs uint64 keys: 276 columns 12.9 vs 26.2 ns,
#: 1,000 columns 16.1 vs 22.5 ns, 2,000 24.6 vs 24.5 ns, 4,000 35.9 vs 28.6 ns (a wider row holds more values
#: within 2**(bits - 20) relative of each other: longer runs to order). So from 11 bits (1,024 columns) on
#: the keys are uint64.
KEY32_MAX_BITS = 10

#: a run of equal truncated keys longer than this is put in exact order by a merge sort of its values, not an
#: insertion sort (many values within ~2**(bits - 20) relative of each other in one row would otherwise cost O(L²))
LONG_RUN = 16

#: elements (rows × columns) from which :func:`row_ranks` uses the compiled kernel on its own
#: (measured at 100,000 × 240: numpy's ranks cost 90–170 ns of CPU per element; the first kernel,
#: a per-row argsort, 55–65 ns; the second, which sorted whole rows of integer keys with numpy and fixed
#: up near-ties, 15–25 ns on 4,000 × 270 blocks; the present one (sub-blocks of keys kept in cache, rows of
#: more than 256 values sorted in two pieces, ranks of distinct values written straight from the key
#: order) 4 ns at 4,000 × 250 and 7 ns at 4,000 × 276), so it repays the one-off second of a fresh process
#: from about 10**7 elements; the threshold stays where it was (10,000 events of 250 days ride on
#: ``targets`` anyway). With ``targets`` the kernel is also used whenever :func:`grank_sums` will load
#: numba for these rows anyway.
RANK_JIT_MIN_SIZE = 25_000_000

#: elements (events × targets × days) of one comparison temporary in the numpy path (about 1 MB: stays
#: in cache; 2**21 was 3x slower at 1,000 events, 2**14 pays Python overhead per block)
_NUMPY_CHUNK = 1 << 17


# ---- inputs -----------------------------------------------------------------------------------------
def _rank_mismatch(i: int, t: int, rank: float, sar: float) -> ValueError:
    """The error of a rank present where the SAR is missing, or missing where it is finite (row ``i`` and
    column ``t`` of the caller's arrays)."""
    return ValueError(f"est_ranks: row {i}, column {t} is {rank} where sar_est is {sar}: a rank must be finite "
                      "exactly where the SAR is (est_ranks = row_ranks(sar_est), same rows)")


def _grank_inputs(sar_est, est_ranks, g, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C-contiguous float64 copies/views of the three inputs, with their shapes and the
    observed pattern of the ranks checked against ``sar_est``; errors name the argument and row (``rows``:
    the caller's row of each input row, when the inputs are rows taken out of larger arrays)."""
    sar = np.ascontiguousarray(sar_est, dtype=np.float64)
    rk = np.ascontiguousarray(est_ranks, dtype=np.float64)
    gg = np.ascontiguousarray(g, dtype=np.float64)
    if sar.ndim != 2:
        raise ValueError(f"sar_est: expected a 2-d array (events × estimation days), got shape {sar.shape}")
    if rk.shape != sar.shape:
        raise ValueError(f"est_ranks: shape {rk.shape} differs from sar_est's {sar.shape}")
    if gg.ndim != 2 or gg.shape[0] != sar.shape[0]:
        raise ValueError(f"g: expected shape ({sar.shape[0]}, K) (events × targets), got {gg.shape}")
    bad = np.isfinite(sar) != np.isfinite(rk)
    if bad.any():
        i, t = np.argwhere(bad)[0]
        raise _rank_mismatch(i if rows is None else rows[i], t, rk[i, t], sar[i, t])
    return sar, rk, gg


def _empty_sums(K: int, M: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((K, M)), np.zeros((K, M), np.int64), np.zeros(K), np.zeros(K, np.int64)


# ---- public entry points ----------------------------------------------------------------------------
def grank_sums(sar_est: np.ndarray, est_ranks: np.ndarray, g: np.ndarray, jit: bool | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Additive sufficient statistics of the generalized rank test (Kolari & Pynnönen 2011) for *K* targets.

    Inputs: ``sar_est`` (n, M) estimation-window standardized abnormal returns
    :math:`SAR_{it}` (NaN = missing; ±inf counts as missing too), ``est_ranks`` (n, M) their
    mid-ranks :math:`r_{it}` among the observed values of the row
    (:func:`eventstudy.inference.row_ranks`), ``g`` (n, K) the already-standardized
    event-point values :math:`g_{ik}` (NaN: event *i* does not enter target *k*).

    For an event with finite :math:`g_{ik}`, with :math:`T_i = \#\{t: SAR_{it}\text{ observed}\} + 1`
    points ranked and :math:`\tau_{itk} = [SAR_{it} = g_{ik}]`, the event point is inserted into
    the ranked estimation values (mid-ranks throughout):

    .. math:: U_{itk} = \frac{r_{it} + [SAR_{it} > g_{ik}] + \tfrac12\tau_{itk}}{T_i + 1} - \tfrac12,\qquad
              U_{i0k} = \frac{1 + \#\{t: SAR_{it} < g_{ik}\} + \tfrac12\sum_t\tau_{itk}}{T_i + 1} - \tfrac12

    Returns ``(colsum, colcnt, evt_sum, n)``: ``colsum[k, t]`` = :math:`\sum_i U_{itk}` over
    events with finite :math:`g_{ik}` observed at *t*, ``colcnt[k, t]`` (int64) the number of
    those events, ``evt_sum[k]`` = :math:`\sum_i U_{i0k}` and ``n[k]`` (int64) the number of
    events with finite :math:`g_{ik}`. All four are sums over events: for disjoint sets of
    events (chunks of a study) add them, then call :func:`grank_from_sums`.

    Uses :func:`grank_sums_numba` from :data:`JIT_MIN_WORK` units of work (n·M·K) on, else
    :func:`grank_sums_numpy`; both give the same sums (counts exactly). ``jit`` forces the choice (a
    chunked study decides once for all its chunks, by the whole study's work).
    """
    return grank_sums_rows(sar_est, est_ranks, None, g, jit=jit)


def grank_sums_rows(sar_est: np.ndarray, est_ranks: np.ndarray, rows: np.ndarray | None, g: np.ndarray,
                    jit: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`grank_sums` of the events ``rows`` (positions in ``sar_est``/``est_ranks``, in the order they
    are added; ``None``: every row) with their targets ``g`` (one row per entry of ``rows``), without copying
    those rows out: the same sums as ``grank_sums(sar_est[rows], est_ranks[rows], g)``, bit for bit.
    ``est_ranks`` may also be :func:`rank_codes` (uint16), read as they are by the compiled kernel.

    This is how a study's second pass sums each group of a chunk: one chunk's estimation-window SARs and
    ranks (several MB per thousand events) serve every group in place."""
    sar = np.ascontiguousarray(sar_est, dtype=np.float64)
    rk = np.ascontiguousarray(est_ranks) if np.asarray(est_ranks).dtype == np.uint16 else \
        np.ascontiguousarray(est_ranks, dtype=np.float64)
    n_all = sar.shape[0] if sar.ndim == 2 else 0
    rows = np.arange(n_all, dtype=np.int64) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
    gg = np.ascontiguousarray(g, dtype=np.float64)
    if sar.ndim != 2:
        raise ValueError(f"sar_est: expected a 2-d array (events × estimation days), got shape {sar.shape}")
    if rk.shape != sar.shape:
        raise ValueError(f"est_ranks: shape {rk.shape} differs from sar_est's {sar.shape}")
    if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= n_all)):
        raise ValueError(f"rows: expected positions 0..{n_all - 1} of sar_est's rows, got shape {rows.shape}")
    if gg.ndim != 2 or gg.shape[0] != rows.shape[0]:
        raise ValueError(f"g: expected shape ({rows.shape[0]}, K) (events × targets), got {gg.shape}")
    if jit if jit is not None else rows.shape[0] * sar.shape[1] * gg.shape[1] >= JIT_MIN_WORK:
        return _grank_sums_numba(sar, rk, rows, gg)
    return _grank_sums_numpy(*_grank_inputs(sar[rows], rank_values(rk[rows]), gg, rows))


def grank_from_sums(colsum: np.ndarray, colcnt: np.ndarray, evt_sum: np.ndarray, n: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    r"""Generalized rank t statistic and two-sided p-value per target from :func:`grank_sums` (Kolari & Pynnönen 2011).

    With :math:`N = n_k` events, :math:`N_t` = ``colcnt[k, t]``, the days with :math:`N_t > 0`
    as the estimation days, :math:`\bar U_t = \text{colsum}_{kt}/N_t`,
    :math:`\bar U_0 = \text{evt\_sum}_k / N` and :math:`T` = (number of those days) + 1:

    .. math:: S_{\bar U}^2 = \frac1T\Big(\sum_t \frac{N_t}{N}\bar U_t^2 + \bar U_0^2\Big),\quad
              Z = \frac{\bar U_0}{S_{\bar U}},\quad
              t_{grank} = Z\sqrt{\frac{T-2}{T-1-Z^2}} \sim t_{T-2}

    (the event point is one of the *T* time points in :math:`S_{\bar U}`), p two-sided from
    Student's t with *T* − 2 degrees of freedom. NaN where :math:`N <`
    :data:`eventstudy.inference.MIN_N`, :math:`T \le 2` or :math:`T - 1 - Z^2 \le 0`.

    This reproduces :func:`eventstudy.inference.grank_t` once the event points are
    standardized; the cross-sectional s.d. of SCAR and its degenerate-s.d. guard belong to the
    caller (see the module docstring and :func:`grank_targets`).
    """
    from .inference import MIN_N, two_sided_p_t

    colsum = np.asarray(colsum, dtype=np.float64)
    colcnt = np.asarray(colcnt)
    evt_sum = np.asarray(evt_sum, dtype=np.float64)
    n = np.asarray(n)
    if colsum.ndim != 2 or colcnt.shape != colsum.shape or evt_sum.shape != (colsum.shape[0],) \
            or n.shape != evt_sum.shape:
        raise ValueError(f"grank_from_sums: shapes colsum {colsum.shape}, colcnt {colcnt.shape}, evt_sum "
                         f"{evt_sum.shape}, n {n.shape} do not match (K, M), (K, M), (K,), (K,)")
    nf = n.astype(np.float64)
    have = colcnt > 0
    cnt = colcnt.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ubar = np.where(have, colsum / np.where(have, cnt, 1.0), 0.0)
        ubar0 = evt_sum / nf
        T = have.sum(axis=1) + 1
        s2 = (np.where(have, cnt / nf[:, None] * ubar**2, 0.0).sum(axis=1) + ubar0**2) / T
        z = ubar0 / np.sqrt(s2)
        room = T - 1 - z**2
        ok = (n >= MIN_N) & (T > 2) & (room > 0)
        t = np.where(ok, z * np.sqrt((T - 2) / np.where(ok, room, 1.0)), np.nan)
    p = np.where(ok, two_sided_p_t(t, (T - 2).astype(np.float64)), np.nan)
    return t, p


def grank_targets(scar: np.ndarray) -> np.ndarray:
    r"""Event points of the generalized rank test: :math:`SCAR^*_{ik} = SCAR_{ik} / s_k(SCAR)` per column.

    :math:`s_k` is the cross-sectional standard deviation (ddof = 1) of the finite values of
    column *k* over **all** events of the study (Kolari & Pynnönen 2011, eq. 5, absorbing
    event-induced variance), computed exactly as :func:`eventstudy.inference.grank_t` does (so
    ties between an event point and an estimation-day SAR are the same); missing values stay NaN. As in
    :func:`eventstudy.inference.grank_t`, a column with fewer than
    :data:`eventstudy.inference.MIN_N` finite values or a degenerate s.d.
    (:data:`eventstudy.inference.RTOL`) becomes all NaN, so its statistic is NaN. Compute this
    once over the whole study before summing chunks with :func:`grank_sums`.
    """
    from .inference import MIN_N, _degenerate

    scar = np.asarray(scar, dtype=np.float64)
    if scar.ndim != 2:
        raise ValueError(f"scar: expected a 2-d array (events × targets), got shape {scar.shape}")
    g = np.full(scar.shape, np.nan)
    for k in range(scar.shape[1]):  # per target, with grank_t's own arithmetic (bit-identical event points)
        col = scar[:, k]
        keep = np.isfinite(col)
        x = col[keep]
        if x.size < MIN_N:
            continue
        sd = x.std(ddof=1)
        if not _degenerate(sd, np.abs(x).max()):
            g[keep, k] = x / sd
    return g


# ---- numpy implementation ---------------------------------------------------------------------------
def grank_sums_numpy(sar_est: np.ndarray, est_ranks: np.ndarray, g: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`grank_sums` with numpy only (no compile cost; for small inputs)."""
    return _grank_sums_numpy(*_grank_inputs(sar_est, est_ranks, g))


def _grank_sums_numpy(sar, rk, g):
    r"""Decomposition used by both paths: :math:`U_{itk} = (r_{it}\,w_i - \tfrac12) + w_i\,c_{itk}/2` with
    :math:`w_i = 1/(T_i+1)` and :math:`c_{itk} = [SAR_{it} > g_{ik}] + [SAR_{it} \ge g_{ik}]`
    (2 above, 1 tied, 0 below or missing), so the first part is a matrix product with the
    target mask and the second one comparison per (event, target, day); and
    :math:`\#\{SAR < g\} + \tfrac12\#\{SAR = g\} = (T_i - 1) - \tfrac12\sum_t c_{itk}`."""
    n, M = sar.shape
    K = g.shape[1]
    if n == 0 or K == 0:
        return _empty_sums(K, M)
    obs = np.isfinite(sar)
    s = np.where(obs, sar, np.nan)  # ±inf → NaN: every comparison with a missing day is False
    nobs = obs.sum(axis=1)
    w = 1.0 / (nobs + 2.0)  # 1 / (T_i + 1)
    fin = np.isfinite(g)
    g = np.where(fin, g, np.nan)  # ±inf → NaN: an event outside target k adds nothing to it
    finf = fin.astype(np.float64)
    colsum = finf.T @ np.where(obs, rk * w[:, None] - 0.5, 0.0)
    colcnt = np.rint(finf.T @ obs.astype(np.float64)).astype(np.int64)  # integer sums < 2**53: exact
    csum = np.empty((n, K))
    step = max(1, _NUMPY_CHUNK // max(1, K * M))
    for lo in range(0, n, step):  # blocks of events bound the (events × K × M) temporary
        sb, gb = s[lo:lo + step, None, :], g[lo:lo + step, :, None]
        c = (sb > gb).astype(np.float64)
        c += sb >= gb
        colsum += np.tensordot(0.5 * w[lo:lo + step], c, axes=(0, 0))
        csum[lo:lo + step] = c.sum(axis=2)
    u0 = (1.0 + nobs[:, None] - 0.5 * csum) * w[:, None] - 0.5
    evt_sum = np.where(fin, u0, 0.0).sum(axis=0)
    return colsum, colcnt, evt_sum, fin.sum(axis=0).astype(np.int64)


# ---- compiled implementation ------------------------------------------------------------------------
def _grank_block(sar, rk, scale, miss, rows, g, lo, hi, colsum, colcnt, evt_sum, nk, bad):  # pragma: no cover
    """Adds the events ``rows[lo..hi-1]`` into the accumulators (compiled by :func:`_jit`; same decomposition
    as :func:`_grank_sums_numpy`); row ``j`` of ``g`` is the targets of event ``rows[j]`` of ``sar``/``rk``.
    One fused pass over the row per target: the rank part, the comparison and the event-point count.
    Counts of events in every target go to one shared row.

    ``rk`` holds the mid-ranks as float64 (``scale`` 1, ``miss`` NaN: NaN is missing) or as uint16 codes
    (:func:`rank_codes`: twice the rank, ``scale`` 0.5, ``miss`` :data:`RANK_CODE_MISSING`); ``float64(rk) *
    scale`` is the rank exactly either way. That a rank is present exactly where the SAR is finite is
    checked on every row read; the first row (and column) that breaks it goes to ``bad`` (``bad[0]`` stays
    −1 when none) and the sums are then not to be used."""
    M = sar.shape[1]
    K = g.shape[1]
    s = np.empty(M)
    a = np.empty(M)
    o = np.empty(M, np.int64)
    cnt_all = np.zeros(M, np.int64)
    for j in range(lo, hi):
        i = rows[j]
        nfin = 0
        for k in range(K):
            if np.isfinite(g[j, k]):
                nfin += 1
        nobs = 0
        nbad = 0
        for t in range(M):                           # one pass: the check, the count, the row and its ranks
            v = sar[i, t]
            r = np.float64(rk[i, t])
            fin = np.isfinite(v)
            nbad += np.int64(fin != ((r != miss) & np.isfinite(r)))
            nobs += np.int64(fin)
            s[t] = v if fin else np.nan
            a[t] = r * scale if fin else 0.0
            o[t] = np.int64(fin)
        if nbad and bad[0] < 0:                      # the first mismatch of the first row that has one
            for t in range(M):
                r = np.float64(rk[i, t])
                if np.isfinite(sar[i, t]) != ((r != miss) & np.isfinite(r)):
                    bad[0] = i
                    bad[1] = t
                    break
        if nfin == 0:
            continue
        w = 1.0 / (nobs + 2.0)
        half = 0.5 * w
        for t in range(M):
            a[t] = a[t] * w - 0.5 if o[t] else 0.0
        if nfin == K:
            for t in range(M):
                cnt_all[t] += o[t]
        else:
            for k in range(K):
                if np.isfinite(g[j, k]):
                    for t in range(M):
                        colcnt[k, t] += o[t]
        for k in range(K):
            gk = g[j, k]
            if not np.isfinite(gk):
                continue
            nk[k] += 1
            row = colsum[k]
            c = np.int32(0)
            for t in range(M):
                v = s[t]
                row[t] += a[t] + ((w if v > gk else 0.0) + (half if v == gk else 0.0))
                c += np.int32(v > gk) + np.int32(v >= gk)
            evt_sum[k] += (1.0 + nobs - 0.5 * c) * w - 0.5
    for k in range(K):
        for t in range(M):
            colcnt[k, t] += cnt_all[t]


def _rank_keys(x, lo, hi, bits, W, shift, keys, split):  # pragma: no cover - compiled by numba
    """Sort keys of rows ``lo..hi-1`` of ``x`` into ``keys[i - lo]``: the order-preserving unsigned image of
    each finite value (``-0.0`` taken as ``+0.0``; then the sign bit flipped for positives, all bits for
    negatives), shifted right by ``shift`` bits (0 for uint64 keys, 32 for uint32 keys: :func:`_key_width`),
    with its low ``bits`` bits replaced by the column index; a non-finite value's key has all the other bits
    set (it sorts after every finite value; ``bits`` leaves room for a column index below the all-ones
    padding key).

    One piece (``keys`` of width ``W = M``), or two pieces of ``W`` keys (:func:`_sort_layout`), each
    sorted on its own: the keys of the negative values, then those of the others, when each part fits in
    ``W`` (``split[i - lo]`` = the number of negative values; the sorted row is then the first piece's keys
    followed by the second's), else columns ``0..h-1`` and ``h..M-1`` with ``h = ceil(M/2)``
    (``split = -1``: the sorted pieces are merged). Unused places hold the all-ones padding key."""
    M = x.shape[1]
    u = x.view(np.uint64)
    sh = np.uint64(shift)
    zero = np.uint64(0)
    full = ~zero >> sh                               # all ones of the key's width
    low = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    high = full & ~low
    sign = np.uint64(1) << np.uint64(63)
    top = sign >> sh                                 # keys of the non-negative values are >= top
    two = keys.shape[1] != W
    tk = np.empty_like(keys[0])                      # 2W >= M places
    for i in range(lo, hi):
        r = i - lo
        kr = keys[r] if not two else tk
        ui = u[i]
        xi = x[i]
        n0 = 0
        for t in range(M):                        # branch-free: vectorised
            v = xi[t]
            b = zero if v == 0.0 else ui[t]
            b ^= (zero - (b >> np.uint64(63))) | sign
            b = b if np.isfinite(v) else ~zero
            k = ((b >> sh) & high) | np.uint64(t)
            kr[t] = k
            n0 += np.int64(k < top)
        if not two:
            continue
        kr = keys[r]
        if n0 <= W and M - n0 <= W:               # negatives | others
            split[r] = n0
            c0 = 0
            c1 = W
            for t in range(M):
                k = tk[t]
                neg = k < top
                kr[c0 if neg else c1] = k
                c0 += np.int64(neg)
                c1 += np.int64(not neg)
            for s in range(n0, W):
                kr[s] = full
            for s in range(W + M - n0, 2 * W):
                kr[s] = full
        else:                                      # columns 0..h-1 | h..M-1
            split[r] = -1
            h = (M + 1) // 2
            for t in range(h):
                kr[t] = tk[t]
            for s in range(h, W):
                kr[s] = full
            for t in range(h, M):
                kr[W + t - h] = tk[t]
            for s in range(W + M - h, 2 * W):
                kr[s] = full


def _rank_from_keys(x, lo, hi, bits, W, shift, keys, split, out, med):  # pragma: no cover - compiled by numba
    """Mid-ranks of the finite values of rows ``lo..hi-1`` of ``x`` into ``out`` (NaN elsewhere) from their
    keys (:func:`_rank_keys`, each piece sorted), and each row's median into ``med`` (the middle value, or
    the mean of the two middle values; NaN for a row without a finite value). Compiled by numba.

    Sorted keys order the values up to their truncated low bits, and equal values have equal keys. So a key
    whose neighbours' truncated keys differ holds a value distinct from all others: its rank is its
    position. Each run of equal truncated keys (tied values, or values within ~2**(bits + shift - 52)
    relative of each other) is put in exact order by the values themselves and its tied values share the mean
    of their 1-based positions.

    Leaves the exact order of each row's finite values in ``keys[i - lo, :m]`` and their number ``m`` in
    ``split[i - lo]`` (for :func:`_scaled_ranks`)."""
    M = x.shape[1]
    low = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    high = (~np.uint64(0) >> np.uint64(shift)) & ~low
    two = keys.shape[1] != W
    buf = np.empty_like(keys[0])                     # 2W >= M places
    rv = np.empty(M)
    for i in range(lo, hi):
        r = i - lo
        kr = keys[r]
        if not two:
            row = kr
        elif split[r] >= 0:                      # negatives then the others: concatenate
            n0 = split[r]
            for q in range(n0):
                buf[q] = kr[q]
            for q in range(n0, M):
                buf[q] = kr[W + q - n0]
            row = buf
        else:                                    # two halves of the columns: merge (padding keys close both)
            ia = 0
            ib = W
            for q in range(M):
                ka = kr[ia]
                kb = kr[ib]
                ta = ka < kb
                buf[q] = ka if ta else kb
                ia += np.int64(ta)
                ib += np.int64(not ta)
            row = buf
        m = M
        while m > 0 and (row[m - 1] & high) == high:     # non-finite values sort last
            m -= 1
            out[i, np.int64(row[m] & low)] = np.nan
        for j in range(m):                               # ranks of distinct values: their positions
            out[i, np.int64(row[j] & low)] = j + 1.0
        j = 0
        while j < m - 1:
            if (row[j] ^ row[j + 1]) & high:
                j += 1
                continue
            e = j + 1                                    # a run: exact order by the values, ties at mid-ranks
            while e + 1 < m and not ((row[j] ^ row[e + 1]) & high):
                e += 1
            L = e - j + 1
            for a in range(L):
                rv[a] = x[i, np.int64(row[j + a] & low)]
            if L <= LONG_RUN:                            # insertion sort (runs are mostly pairs)
                for a in range(1, L):
                    v = rv[a]
                    kk = row[j + a]
                    b = a - 1
                    while b >= 0 and rv[b] > v:
                        rv[b + 1] = rv[b]
                        row[j + b + 1] = row[j + b]
                        b -= 1
                    rv[b + 1] = v
                    row[j + b + 1] = kk
            else:                                        # a long run of near-equal values: O(L log L)
                order = np.argsort(rv[:L], kind="mergesort")
                kcopy = row[j:j + L].copy()
                vcopy = rv[:L].copy()
                for a in range(L):
                    rv[a] = vcopy[order[a]]
                    row[j + a] = kcopy[order[a]]
            a = 0
            while a < L:
                f = a
                while f + 1 < L and rv[f + 1] == rv[a]:
                    f += 1
                rk = 0.5 * (2 * j + a + f) + 1.0
                for q in range(a, f + 1):
                    out[i, np.int64(row[j + q] & low)] = rk
                a = f + 1
            j = e + 1
        if m > 0:
            med[i] = (x[i, np.int64(row[(m - 1) // 2] & low)] + x[i, np.int64(row[m // 2] & low)]) / 2
        else:
            med[i] = np.nan
        if two:                                          # the exact order, for _scaled_ranks
            for q in range(M):
                kr[q] = row[q]
        split[r] = m


def _scaled_ranks(keys, lo, hi, bits, nfin, sar, est_of, sig, est_out):  # pragma: no cover - compiled by numba
    """Mid-ranks of the finite values of each row of ``sar`` (rows ``lo..hi-1``) into ``est_out`` (NaN
    elsewhere), where ``sar[i, j] = x[i, c] / sig[i]`` for the column ``c`` of ``x`` with ``est_of[c] = j``
    (``-1`` for the other columns), read off the exact order of ``x``'s row that :func:`_rank_from_keys`
    leaves in ``keys[i - lo, :nfin[i - lo]]`` (its finite values, ascending).

    Dividing by the same ``sig[i]`` is monotone (correctly rounded division never reverses an order;
    non-decreasing for ``sig > 0``, non-increasing for ``sig < 0``, whose row is walked backwards), so the
    ``sar`` values of the walk come out sorted: ties are neighbours, and the non-finite values (``sig``
    zero or NaN: all of them; tiny: the largest quotients overflow) are not between equal finite ones. A
    finite value's rank is its position among the finite values; each run of equal finite values then
    gets the mean of their positions. A walk found out of order (impossible) raises."""
    E = est_out.shape[1]
    low = (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    cp = np.empty(E + 1, np.int64)         # est columns in the order of the walk (slot cnt: scratch)
    ss = np.empty(E)                       # their sar values
    for i in range(lo, hi):
        row = keys[i - lo]
        m = nfin[i - lo]
        sr = sar[i]
        eo = est_out[i]
        for q in range(E):
            eo[q] = np.nan
        cnt = 0
        for q in range(m):                 # branch-free compaction: a non-est column's entry is overwritten
            jj = est_of[np.int64(row[q] & low)]
            cp[cnt] = jj
            cnt += np.int64(jj >= 0)
        if sig[i] < 0.0:                   # sar in the reverse order of x
            for a in range(cnt // 2):
                cp[a], cp[cnt - 1 - a] = cp[cnt - 1 - a], cp[a]
        for a in range(cnt):
            ss[a] = sr[cp[a]]
        inc = cnt == 0 or (np.isfinite(ss[0]) and np.isfinite(ss[cnt - 1]))
        for a in range(cnt - 1):
            inc &= ss[a] < ss[a + 1]
        if inc:                            # finite and distinct (the usual row): ranks are positions
            for a in range(cnt):
                eo[cp[a]] = a + 1.0
            continue
        k = 0
        for a in range(cnt):               # positions among the finite values
            fin = np.isfinite(ss[a])
            k += np.int64(fin)
            eo[cp[a]] = k if fin else np.nan
        a = 0
        while a < cnt - 1:
            if not (ss[a] >= ss[a + 1]) or not np.isfinite(ss[a]):     # in order, or not a finite value
                a += 1
                continue
            if ss[a] != ss[a + 1]:
                raise RuntimeError("_scaled_ranks: sar is not in the order of x / sig")
            f = a + 1                      # a run of ties: the mean of their 1-based positions
            while f + 1 < cnt and ss[f + 1] == ss[a]:
                f += 1
            rk = eo[cp[a]] + 0.5 * (f - a)
            for q in range(a, f + 1):
                eo[cp[q]] = rk
            a = f + 1


def _encode_ranks(r, out):  # pragma: no cover - compiled by numba
    """:func:`rank_codes` in one pass: ``out`` = twice each value of ``r`` as uint16, NaN as
    :data:`RANK_CODE_MISSING`; returns False (``out`` then not to be used) at the first value whose double is
    not a whole number in ``[0, 65535)``, so exactly the values numpy's encode-decode check accepts are
    encoded (−0.0 as 0, as numpy's cast gives)."""
    n, M = r.shape
    for i in range(n):
        for t in range(M):
            v = r[i, t]
            if v != v:
                out[i, t] = 65535
                continue
            d = v * 2.0
            if not (d >= 0.0 and d < 65535.0) or d != np.floor(d):
                return False
            out[i, t] = np.uint16(d)
    return True


def _group_colsums(X, F, a, off, mode, code, total, count, rows, rows_any, absmax):  # pragma: no cover - numba
    """Per group ``g`` (``code[i]`` of row ``i``; −1 = no group) and column: the sum and the count of the
    finite values of ``V``; the rows, the rows with a finite value, and the largest absolute finite value.
    ``V`` is not formed: ``V[i, c] = X[i, c]`` (``mode`` 2), ``X[i, c] / a[i] - off`` (``mode`` 0) or
    ``sign(X[i, c] - a[i])`` (``mode`` 1) where ``F[i, c]`` is finite, NaN elsewhere; the same operations
    as numpy's, so the same values. Rows are added in order, as numpy's ``np.where(ok, V, 0).sum(axis=0)``
    adds them for two or more columns."""
    n, C = X.shape
    for i in range(n):
        g = code[i]
        if g < 0:
            continue
        rows[g] += 1
        seen = False
        tg, cg = total[g], count[g]
        ai = a[i]
        for c in range(C):
            if not np.isfinite(F[i, c]):
                continue
            x = X[i, c]
            if mode == 2:
                v = x
            elif mode == 0:
                v = x / ai - off
            else:
                d = x - ai
                if d != d:                 # NaN (no median): not a value
                    continue
                # np.sign without branches (the signs are random: a branch mispredicts half the time);
                # ±0 gives +0.0, which adds to the sums (started at +0.0) and their maximum as -0.0 would
                v = np.float64(d > 0) - np.float64(d < 0)
            if not np.isfinite(v):
                continue
            tg[c] += v
            cg[c] += 1
            seen = True
            av = abs(v)
            if not (av <= absmax[g]):          # NaN (nothing yet) or smaller
                absmax[g] = av
        if seen:
            rows_any[g] += 1


def _day_table_sums(X, rows, c0, c1, var, pe, cnt, tot):  # pragma: no cover - compiled by numba
    """The first pass of :func:`day_table_sums`: the rows ``rows`` of ``X`` (in order), its columns
    ``c0..c1-1``; ``var[j]`` and ``pe[j]`` belong to row ``rows[j]``. Only finite values count; a sum adds
    them row after row from +0.0, as numpy's ``np.where(ok, x, 0.0).sum(axis=0)`` does for two or more
    columns (a masked +0.0 changes no sum that started at +0.0). ``tot[1]`` (the largest |x|) starts at 0.0."""
    for j in range(rows.shape[0]):
        i = rows[j]
        vi = var[j]
        pi = pe[j]
        fv = np.isfinite(vi)
        fp = np.isfinite(pi)
        for c in range(c0, c1):
            x = X[i, c]
            if not np.isfinite(x):
                continue
            k = c - c0
            pos = np.int64(x > 0.0)
            cnt[0, k] += 1
            cnt[1, k] += pos
            tot[0, k] += x
            ax = abs(x)
            if ax > tot[1, k]:
                tot[1, k] = ax
            if fv:
                cnt[2, k] += 1
                tot[2, k] += x
                tot[3, k] += vi
            if fp:
                cnt[3, k] += 1
                cnt[4, k] += pos
                tot[4, k] += pi


def _day_table_moments(X, rows, c0, c1, mean, out):  # pragma: no cover - compiled by numba
    r"""The second pass of :func:`day_table_sums`: per column, the sums of :math:`d^2` (``d * d``) and of
    :math:`d^3` (``d * d * d``) of the deviations :math:`d = x - \bar x` of the finite values, row after row
    (numpy's ``(dev**2).sum(axis=0)`` and ``(d * d * d).sum(axis=0)``, masked values 0.0)."""
    for j in range(rows.shape[0]):
        i = rows[j]
        for c in range(c0, c1):
            x = X[i, c]
            if not np.isfinite(x):
                continue
            k = c - c0
            d = x - mean[k]
            d2 = d * d
            out[0, k] += d2
            out[1, k] += d2 * d


def _signed_rank_keys(XB, rows, c0, c1, K, n):  # pragma: no cover - compiled by numba
    r"""The sort keys of :func:`eventstudy.inference.signed_rank_sums` straight from the rows ``rows`` of
    ``X`` (its bits ``XB``, columns ``c0..c1-1``): ``K[c - c0, j]`` is :math:`2\,\mathrm{bits}(|x|) + [x > 0]`
    of ``x = X[rows[j], c]`` when finite and non-zero (``n`` counts those per column), else all ones (after
    every kept key). Rows are read in blocks so that both sides stay in cache."""
    sign = np.uint64(1) << np.uint64(63)
    mag = ~sign
    expo = np.uint64(0x7FF0000000000000)
    top = ~np.uint64(0)
    one = np.uint64(1)
    m = rows.shape[0]
    for b0 in range(0, m, 512):
        b1 = min(m, b0 + 512)
        for c in range(c0, c1):
            kr = K[c - c0]
            cnt = 0
            for j in range(b0, b1):
                u = XB[rows[j], c]
                a = u & mag
                if a == 0 or (a & expo) == expo:          # ±0 (dropped) or not finite
                    kr[j] = top
                    continue
                kr[j] = (a << one) | (one if (u & sign) == 0 else np.uint64(0))
                cnt += 1
            n[c - c0] += cnt


def _signed_rank_runs(K, n, wplus, tie, groups):  # pragma: no cover - compiled by numba
    r""":func:`eventstudy.inference.signed_rank_sums` from its sorted keys ``K`` (row ``d``: the keys
    :math:`2\,\mathrm{bits}(|x|) + [x > 0]` of its ``n[d]`` kept values first, ascending): per run of
    equal ``key >> 1`` (positions *s*…*s+t−1*, *p* positive values), :math:`2W^+` gains the integer
    :math:`p(2s+t+1)`, the tie term :math:`t^3 - t` (float64, exact below :math:`2^{53}`), the groups one."""
    one = np.uint64(1)
    for d in range(K.shape[0]):
        m = n[d]
        if m == 0:
            continue
        row = K[d]
        w2 = np.int64(0)
        ts = 0.0
        ng = 0
        s = 0
        while s < m:
            v = row[s] >> one
            p = np.int64(row[s] & one)
            e = s + 1
            while e < m and (row[e] >> one) == v:
                p += np.int64(row[e] & one)
                e += 1
            t = e - s
            w2 += p * (2 * s + t + 1)
            tf = np.float64(t)
            ts += tf * tf * tf - tf
            ng += 1
            s = e
        wplus[d] = np.float64(w2) / 2.0
        tie[d] = ts
        groups[d] = ng


def _group_day_sums(sar, df, A, a0, cfac, vz, r63, amm, vrows, v0, code, spike_z, fs, ns):  # pragma: no cover
    """Per group ``code[i]`` and event-span column ``c`` (:func:`group_day_sums`): the float sums ``fs[g, k, c]``
    (k: SAR, SAR², largest |SAR|, Patell's SAR, its d/(d−2), Lamb's C, 63-day ratio, market-model abnormal
    volume) and counts ``ns[g, k, c]`` (k: SAR, Patell, Lamb, spikes, observed z, ratio, abnormal volume).
    Row ``i`` is ``sar[i]``, ``A[i, a0 + c]``, ``cfac[i]``, and row ``vrows[i]`` of the volume arrays from column
    ``v0``. Rows are added in order from +0.0, as numpy's column sums of each group's rows add them."""
    n, C = sar.shape
    ninf = -np.inf
    for i in range(n):
        g = code[i]
        if g < 0:
            continue
        d = df[i]
        pat = d > 2.0
        dr = d / (d - 2.0) if pat else 0.0
        r = vrows[i]
        f = fs[g]
        k = ns[g]
        for c in range(C):
            x = sar[i, c]
            if np.isfinite(x):
                f[0, c] += x
                f[1, c] += x * x
                k[0, c] += 1
                ax = abs(x)
                if ax > f[2, c]:
                    f[2, c] = ax
                if pat:
                    f[3, c] += x
                    f[4, c] += dr
                    k[1, c] += 1
            if np.isfinite(A[i, a0 + c]):
                f[5, c] += cfac[i, c]
                k[2, c] += 1
            z = vz[r, v0 + c]
            fz = np.isfinite(z)
            k[4, c] += fz
            if (z if fz else ninf) >= spike_z:
                k[3, c] += 1
            q = r63[r, v0 + c]
            if np.isfinite(q):
                f[6, c] += q
                k[5, c] += 1
            m = amm[r, v0 + c]
            if np.isfinite(m):
                f[7, c] += m
                k[6, c] += 1


#: read-only C-contiguous arrays in a signature (numba evaluates the string in its types' namespace)
_RO2 = "Array(float64, 2, 'C', readonly=True)"
_RO1 = "Array(int64, 1, 'C', readonly=True)"
_RO1F = "Array(float64, 1, 'C', readonly=True)"

#: the signature(s) each kernel is compiled for (inputs are made C-contiguous first)
_SIGNATURES = {
    "_grank_block": ["void(f8[:, ::1], f8[:, ::1], f8, f8, i8[::1], f8[:, ::1], i8, i8, f8[:, ::1], i8[:, ::1], "
                     "f8[::1], i8[::1], i8[::1])",
                     "void(f8[:, ::1], u2[:, ::1], f8, f8, i8[::1], f8[:, ::1], i8, i8, f8[:, ::1], i8[:, ::1], "
                     "f8[::1], i8[::1], i8[::1])"],
    # sort keys of 64 or 32 bits (:func:`_key_width`)
    "_rank_keys": [f"void(f8[:, ::1], i8, i8, i8, i8, i8, {u}[:, ::1], i8[::1])" for u in ("u8", "u4")],
    "_rank_from_keys": [f"void(f8[:, ::1], i8, i8, i8, i8, i8, {u}[:, ::1], i8[::1], f8[:, ::1], f8[::1])"
                        for u in ("u8", "u4")],
    "_scaled_ranks": [f"void({u}[:, ::1], i8, i8, i8, i8[::1], f8[:, ::1], i8[::1], f8[::1], f8[:, ::1])"
                      for u in ("u8", "u4")],
    "_encode_ranks": "b1(f8[:, ::1], u2[:, ::1])",
    # X and F of any layout: a chunk passes column ranges of its AR matrix (views) without copying them
    "_group_colsums": "void(f8[:, :], f8[:, :], f8[::1], f8, i8, i8[::1], f8[:, ::1], i8[:, ::1], i8[::1], "
                      "i8[::1], f8[::1])",
    # inputs read-only (a study's merged arrays may be read-only memory maps; the wrapper passes read-only views)
    "_day_table_sums": f"void({_RO2}, {_RO1}, i8, i8, {_RO1F}, {_RO1F}, i8[:, ::1], f8[:, ::1])",
    "_day_table_moments": f"void({_RO2}, {_RO1}, i8, i8, {_RO1F}, f8[:, ::1])",
    "_signed_rank_runs": "void(u8[:, ::1], i8[::1], f8[::1], f8[::1], i8[::1])",
    "_group_day_sums": f"void({_RO2}, {_RO1F}, Array(float64, 2, 'A', readonly=True), i8, {_RO2}, "
                       f"Array(float64, 2, 'A', readonly=True), Array(float64, 2, 'A', readonly=True), "
                       f"Array(float64, 2, 'A', readonly=True), {_RO1}, i8, {_RO1}, f8, f8[:, :, ::1], i8[:, :, ::1])",
    "_signed_rank_keys": f"void({_RO2.replace('float64', 'uint64')}, {_RO1}, i8, i8, u8[:, ::1], i8[::1])",
}


@functools.cache
def _jit(name: str):
    """The compiled kernel ``name``: numba is imported here, on first use, and the kernel compiled
    eagerly for its one signature in the calling thread (loaded from numba's disk cache when present)."""
    import numba

    return numba.njit(_SIGNATURES[name], cache=True, nogil=True)(globals()[name])


def warm_up() -> None:
    """Compile (or load from numba's disk cache) every kernel now, in this process: processes forked
    afterwards inherit them instead of each loading numba and the kernels again."""
    from . import _fused

    for name in _SIGNATURES:
        _jit(name)
    for name in _fused._SIGNATURES:
        _fused._jit(name)


_MAX_THREADS: int | None = None


def set_max_threads(n: int | None) -> None:
    """Cap the threads of the compiled kernels' block pool (:func:`row_ranks_numba`, :func:`grank_sums_numba`
    and :mod:`eventstudy._fused`) at ``n`` in this process; ``None`` lifts the cap (numba's
    ``NUMBA_NUM_THREADS`` then decides). A process that already runs beside others on every core (a forked
    chunk worker) calls ``set_max_threads(1)``. Results never depend on the thread count: blocks are fixed
    and per-block sums are added in block order."""
    global _MAX_THREADS
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"set_max_threads: expected None or an integer >= 1, got {n!r}")
    _MAX_THREADS = None if n is None else int(n)


def _threads(blocks: int) -> int:
    """Threads for ``blocks`` blocks: numba's configured thread count (``NUMBA_NUM_THREADS``), at most
    :func:`set_max_threads`'s cap and one per block."""
    import numba

    cap = int(numba.config.NUMBA_NUM_THREADS) if _MAX_THREADS is None else _MAX_THREADS
    return max(1, min(int(numba.config.NUMBA_NUM_THREADS), cap, blocks))


@contextlib.contextmanager
def _block_runner(nthreads: int):
    """``run(fn, blocks)`` calls ``fn(b)`` for every block ``b`` and returns when all are done, on a pool
    of ``nthreads`` threads when more than one (the compiled kernels release the GIL)."""
    if nthreads <= 1:
        yield lambda fn, blocks: [fn(b) for b in blocks]
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(nthreads) as ex:
        yield lambda fn, blocks: list(ex.map(fn, blocks))


def grank_sums_numba(sar_est: np.ndarray, est_ranks: np.ndarray, g: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`grank_sums` with the compiled kernel (fixed blocks of :data:`BLOCK` events in parallel,
    one accumulator per block, added in block order: the result does not depend on the thread count)."""
    return grank_sums_rows(sar_est, est_ranks, None, g, jit=True)


def _grank_sums_numba(sar, rk, rows, g):
    n, M = rows.shape[0], sar.shape[1]
    K = g.shape[1]
    out = _empty_sums(K, M)
    if n == 0 or K == 0:
        return out
    kernel = _jit("_grank_block")
    code = rk.dtype == np.uint16
    scale, miss = (0.5, float(RANK_CODE_MISSING)) if code else (1.0, np.nan)
    nb = -(-n // BLOCK)
    nthreads = _threads(nb)
    wave = min(nb, 4 * nthreads)  # blocks in flight: bounds the per-block accumulators' memory
    part = [_empty_sums(K, M) for _ in range(wave)]
    bad = np.full((nb, 2), -1, np.int64)

    def one(b: int) -> None:
        acc = part[b % wave]
        for a in acc:
            a[...] = 0
        kernel(sar, rk, scale, miss, rows, g, b * BLOCK, min(n, (b + 1) * BLOCK), *acc, bad[b])

    with _block_runner(nthreads) as run:
        for w0 in range(0, nb, wave):
            blocks = range(w0, min(nb, w0 + wave))
            run(one, blocks)
            for b in blocks:  # in block order, whatever the number of threads
                for tot, a in zip(out, part[b % wave]):
                    tot += a
    hit = bad[bad[:, 0] >= 0]
    if len(hit):
        i, t = hit[np.lexsort((hit[:, 1], hit[:, 0]))[0]]
        raise _rank_mismatch(i, t, rank_values(rk[i:i + 1, t:t + 1])[0, 0], sar[i, t])
    return out


#: the uint16 code of a missing rank (:func:`rank_codes`)
RANK_CODE_MISSING = 65535


def rank_codes(ranks: np.ndarray, jit: bool = False) -> np.ndarray:
    """Mid-ranks (whole or half numbers, NaN for missing) as twice their value in uint16
    (:data:`RANK_CODE_MISSING` for NaN) when that is exact: a quarter of the float64 bytes, read as they are
    by :func:`grank_sums_rows`. The codes are kept only if decoding them (:func:`rank_values`) gives every
    value back (a value that is not a whole or half number, negative, infinite or too large fails the
    check); else the float64 ranks are returned as they are. ``jit``: one compiled pass (:func:`_encode_ranks`)
    instead of numpy's six (the same codes, the same fallback)."""
    ranks = np.asarray(ranks, np.float64)
    if jit and ranks.ndim == 2:
        ranks = np.ascontiguousarray(ranks)
        code = np.empty(ranks.shape, np.uint16)
        return code if _jit("_encode_ranks")(ranks, code) else ranks
    with np.errstate(invalid="ignore", over="ignore"):
        code = np.nan_to_num(ranks * 2.0, nan=float(RANK_CODE_MISSING), copy=False).astype(np.uint16)
    return code if np.array_equal(rank_values(code), ranks, equal_nan=True) else ranks


def rank_values(code: np.ndarray) -> np.ndarray:
    """:func:`rank_codes` undone: the float64 mid-ranks (uint16 codes decoded; float64 returned as it is)."""
    if code.dtype != np.uint16:
        return code
    out = code.astype(np.float64) / 2.0
    out[code == RANK_CODE_MISSING] = np.nan
    return out


def row_ranks(x: np.ndarray, targets: int = 0, jit: bool | None = None, medians: bool = False):
    """Per-row mid-ranks of the observed values, NaN kept: :func:`eventstudy.inference.row_ranks`, or the
    compiled :func:`row_ranks_numba` (bit-identical) from :data:`RANK_JIT_MIN_SIZE` elements on, or when
    ``targets`` (the number of GRANK targets the caller will compute on these rows with
    :func:`grank_sums`) makes that call compiled anyway (``x.size * targets >=`` :data:`JIT_MIN_WORK`).
    ``jit`` forces the choice (a chunked study decides once, by the whole study's size). With
    ``medians``, returns ``(ranks, row medians)`` (:func:`eventstudy.inference.row_medians`, identical)."""
    x = np.asarray(x, dtype=np.float64)
    big = x.size >= RANK_JIT_MIN_SIZE or x.size * max(0, int(targets)) >= JIT_MIN_WORK
    if x.ndim == 2 and (jit if jit is not None else big):
        return row_ranks_numba(x, medians)
    from .inference import row_medians
    from .inference import row_ranks as numpy_row_ranks

    return (numpy_row_ranks(x), row_medians(x)) if medians else numpy_row_ranks(x)


def row_ranks_numba(x: np.ndarray, medians: bool = False):
    """:func:`eventstudy.inference.row_ranks` (per-row mid-ranks of the observed values, NaN kept)
    with a compiled kernel: blocks of :data:`RANK_BLOCK` rows in parallel; with ``medians`` also the
    row medians of :func:`eventstudy.inference.row_medians` (identical), read off the same sort."""
    x = np.require(x, np.float64, ["C_CONTIGUOUS", "WRITEABLE"])
    if x.ndim != 2:
        raise ValueError(f"x: expected a 2-d array, got shape {x.shape}")
    out, med, _ = _ranks_compiled(x)
    return (out, med) if medians else out


def rank_pass(a: np.ndarray, cols: np.ndarray, sigma: np.ndarray, targets: int = 0, jit: bool | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""One sort per row for the rank tests of a chunk: ``(ranks, medians, sar, sar_ranks)``.

    ``ranks`` = :func:`eventstudy.inference.row_ranks` ``(a)`` and ``medians`` =
    :func:`eventstudy.inference.row_medians` ``(a)`` (abnormal returns over the estimation and event
    days); ``sar = a[:, cols] / sigma[:, None]`` (the standardized estimation-window returns
    :math:`SAR_{it} = AR_{it}/\hat\sigma_i` of the generalized rank test, Kolari & Pynnönen 2011) and
    ``sar_ranks`` = :func:`eventstudy.inference.row_ranks` ``(sar)``, identical, but read off the order of
    ``a``'s row instead of a sort of its own (:func:`_rank_from_keys`: division by one :math:`\hat\sigma_i`
    keeps the order, so ties among the :math:`SAR_{it}` are neighbours in it).

    ``cols`` are distinct column positions of ``a``, in any order. Compiled (:func:`_rank_from_keys`)
    from :data:`RANK_JIT_MIN_SIZE` elements of ``a`` on or when ``targets`` GRANK targets make
    :func:`grank_sums` compiled on ``sar`` (as :func:`row_ranks`), else numpy; ``jit`` forces the choice."""
    a = np.require(a, np.float64, ["C_CONTIGUOUS", "WRITEABLE"])
    if a.ndim != 2:
        raise ValueError(f"a: expected a 2-d array (events × days), got shape {a.shape}")
    n, M = a.shape
    cols = np.asarray(cols, dtype=np.int64)
    sigma = np.ascontiguousarray(sigma, dtype=np.float64)
    if cols.ndim != 1 or (cols.size and (cols.min() < 0 or cols.max() >= M)) or np.unique(cols).size != cols.size:
        raise ValueError(f"cols: expected distinct column positions in 0..{M - 1}, got {cols!r}")
    if sigma.shape != (n,):
        raise ValueError(f"sigma: expected shape ({n},), got {sigma.shape}")
    consecutive = cols.size > 0 and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        sar = (a[:, cols[0]:cols[0] + cols.size] if consecutive else a[:, cols]) / sigma[:, None]
    big = a.size >= RANK_JIT_MIN_SIZE or sar.size * max(0, int(targets)) >= JIT_MIN_WORK
    if not (jit if jit is not None else big):
        from .inference import row_medians
        from .inference import row_ranks as numpy_row_ranks

        return numpy_row_ranks(a), row_medians(a), sar, numpy_row_ranks(sar)
    est_of = np.full(M, -1, np.int64)
    est_of[cols] = np.arange(cols.size)
    out, med, sar_ranks = _ranks_compiled(a, sar, est_of, sigma)
    return out, med, sar, sar_ranks


def _sort_layout(M: int) -> tuple[int, int]:
    """``(W, pieces)``: keys of a row of ``M`` values are sorted as one piece of ``W = M`` keys, or, for
    uint64 keys (:func:`_key_width`) and :data:`SORT_PIECE` ``< M <= 2 (SORT_PIECE - 1)``, as two pieces of
    ``W =`` :data:`SORT_PIECE` keys (:func:`_rank_keys`). uint32 keys are sorted in one piece: at 276 and 300
    keys 11.5 ns per value for the whole rank pass against 16-20 ns in two pieces (2026-12-02)."""
    if _key_width(int(M).bit_length())[0] is np.uint64 and SORT_PIECE < M <= 2 * (SORT_PIECE - 1):
        return SORT_PIECE, 2
    return M, 1


def _key_width(bits: int) -> tuple[type, int]:
    """``(dtype, shift)`` of the sort keys for a column index of ``bits`` bits: uint32 keys (the value's
    image shifted right by 32) while ``bits <=`` :data:`KEY32_MAX_BITS`, else uint64 keys (no shift)."""
    return (np.uint32, 32) if bits <= KEY32_MAX_BITS else (np.uint64, 0)


def _ranks_compiled(x: np.ndarray, sar: np.ndarray | None = None, est_of: np.ndarray | None = None,
                    sig: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ranks, medians, sar ranks)`` of the C-contiguous float64 ``x`` by the compiled kernels (arguments as
    :func:`_rank_from_keys`; without ``sar`` the third array has no column): blocks of :data:`RANK_BLOCK`
    rows on the thread pool, each in sub-blocks of :data:`RANK_SUBBLOCK` rows (keys built, sorted by numpy,
    read). Rows are independent: the split changes no value."""
    n, M = x.shape
    if sar is None:
        sar, est_of, sig = np.empty((n, 0)), np.full(M, -1, np.int64), np.empty(n)
    sar = np.require(sar, np.float64, ["C_CONTIGUOUS", "WRITEABLE"])
    out = np.empty(x.shape)
    med = np.full(n, np.nan)
    est_out = np.empty(sar.shape)                   # every row written by the kernel
    if x.size == 0:
        out[:] = np.nan
        return out, med, est_out
    keys_of, ranks_of = _jit("_rank_keys"), _jit("_rank_from_keys")
    scaled_of = _jit("_scaled_ranks") if sar.shape[1] else None
    bits = int(M).bit_length()          # room for a column index below M in the low bits of a key
    dtype, shift = _key_width(bits)
    W, pieces = _sort_layout(M)
    nb = -(-n // RANK_BLOCK)

    def one(b: int) -> None:
        lo, hi = b * RANK_BLOCK, min(n, (b + 1) * RANK_BLOCK)
        keys = np.empty((min(RANK_SUBBLOCK, hi - lo), pieces * W), dtype)
        split = np.empty(keys.shape[0], np.int64)
        for s in range(lo, hi, RANK_SUBBLOCK):
            e = min(hi, s + RANK_SUBBLOCK)
            k = keys[:e - s]
            keys_of(x, s, e, bits, W, shift, k, split)
            k.reshape(e - s, pieces, W).sort(axis=2)     # numpy's vectorised integer sort, per piece
            ranks_of(x, s, e, bits, W, shift, k, split, out, med)
            if scaled_of is not None:
                scaled_of(k, s, e, bits, split, sar, est_of, sig, est_out)

    with _block_runner(_threads(nb)) as run:
        run(one, range(nb))
    return out, med, est_out


def scaled_values(X: np.ndarray, F: np.ndarray, a: np.ndarray, off: float, mode: int) -> np.ndarray:
    """``V`` of :func:`group_scaled_colsums`: ``X / a[:, None] − off`` (``mode`` 0: Corrado's
    :math:`U_{it} = K_{it}/(T_i+1) − 1/2` from the ranks ``X`` of ``F`` and ``a = T_i + 1``) or
    ``sign(X − a[:, None])`` (``mode`` 1: the Corrado–Zivney signs of the returns ``X`` about their row
    medians ``a``; ``F`` is ``X``) where ``F`` is finite, NaN elsewhere."""
    ok = np.isfinite(F)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        v = X / a[:, None] - off if mode == 0 else np.sign(X - a[:, None])
    return np.where(ok, v, np.nan)


def group_scaled_colsums(X: np.ndarray, F: np.ndarray, a: np.ndarray, off: float, mode: int, code: np.ndarray,
                         n_groups: int, jit: bool = False
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`group_colsums` of ``V =`` :func:`scaled_values` ``(X, F, a, off, mode)``: compiled (``jit``)
    without forming ``V`` (one pass over ``X`` and ``F``; the same values, added in the same order, so bit
    for bit what ``group_colsums(V, ..., jit=True)`` gives), else ``V`` is formed and summed by numpy."""
    if mode not in (0, 1):
        raise ValueError(f"mode: expected 0 (X / a - off) or 1 (sign(X - a)), got {mode!r}")
    if not jit:
        return group_colsums(scaled_values(X, F, a, off, mode), code, n_groups, False)
    return _group_colsums_compiled(X, F, a, off, mode, code, n_groups)


def _colsum_outputs(n_groups: int, C: int) -> tuple:
    """Zeroed sums and counts, no rows, NaN largest values: what :func:`group_colsums` fills."""
    return (np.zeros((n_groups, C)), np.zeros((n_groups, C), np.int64), np.zeros(n_groups, np.int64),
            np.zeros(n_groups, np.int64), np.full(n_groups, np.nan))


def _group_colsums_compiled(X, F, a, off: float, mode: int, code, n_groups: int):
    X = np.asarray(X, dtype=np.float64)           # views as they are (the kernel reads any strides)
    F = X if F is X else np.asarray(F, dtype=np.float64)
    a = np.ascontiguousarray(a, dtype=np.float64)
    code = np.ascontiguousarray(code, dtype=np.int64)
    if X.ndim != 2 or F.shape != X.shape or a.shape != (X.shape[0],) or code.shape != (X.shape[0],):
        raise ValueError(f"X (n, C), F (n, C), a (n,) and code (n,) expected, got {X.shape}, {F.shape}, {a.shape}, "
                         f"{code.shape}")
    C = X.shape[1]
    total, count, rows, rows_any, absmax = _colsum_outputs(n_groups, C)
    _jit("_group_colsums")(X, F, a, float(off), int(mode), code, total, count, rows, rows_any, absmax)
    return total, count, rows, rows_any, absmax


def group_colsums(V: np.ndarray, code: np.ndarray, n_groups: int, jit: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group of rows (``code`` (n,) in ``0..n_groups-1``; −1 = in no group) and column of ``V`` (n, C):
    the sum and count of the finite values, the number of rows, of rows with any finite value, and the
    largest absolute finite value (NaN when none): what :class:`eventstudy.suffstats.ColSums` holds, for
    every group in one pass (compiled with ``jit``; the numpy path takes the group's rows and sums them).
    Both add rows in order and agree bit for bit, except for a single column, which numpy sums pairwise
    (rounding apart). A study takes one path for all its chunks (``jit`` decided once)."""
    V = np.asarray(V, dtype=np.float64)
    code = np.ascontiguousarray(code, dtype=np.int64)
    if jit:
        return _group_colsums_compiled(V, V, np.zeros(V.shape[0]), 0.0, 2, code, n_groups)
    C = V.shape[1]
    total, count, rows, rows_any, absmax = _colsum_outputs(n_groups, C)
    for g in range(n_groups):
        W = V[code == g]
        ok = np.isfinite(W)
        total[g], count[g] = np.where(ok, W, 0.0).sum(axis=0), ok.sum(axis=0)
        rows[g], rows_any[g] = W.shape[0], int(ok.any(axis=1).sum())
        absmax[g] = np.abs(W[ok]).max() if ok.any() else np.nan
    return total, count, rows, rows_any, absmax


def signed_rank_runs(K: np.ndarray, n: np.ndarray, wplus: np.ndarray, tie: np.ndarray, groups: np.ndarray) -> None:
    """In place: ``wplus``, ``tie`` and ``groups`` of :func:`eventstudy.inference.signed_rank_sums` from its
    sorted keys ``K`` (D, n) and kept counts ``n`` (compiled :func:`_signed_rank_runs`)."""
    K = np.ascontiguousarray(K, dtype=np.uint64)
    nn = np.ascontiguousarray(n, dtype=np.int64)
    if K.ndim != 2 or nn.shape != (K.shape[0],) or (nn.size and (nn.min() < 0 or nn.max() > K.shape[1])):
        raise ValueError(f"signed_rank_runs: keys (D, n) and counts (D,) in 0..n expected, got {K.shape}, {nn.shape}")
    _jit("_signed_rank_runs")(K, nn, wplus, tie, groups)


def day_table_sums(X: np.ndarray, rows: np.ndarray, days: slice, var: np.ndarray, pe: np.ndarray
                   ) -> dict[str, np.ndarray]:
    r"""The per-day sums of the aar table's parametric and sign tests over the rows ``rows`` of ``X`` (events ×
    days, e.g. the study's abnormal returns; read in place) on the columns ``days``, in two compiled passes,
    bit for bit what numpy gives for the (rows × days) copy with at least two columns (rows added in order):

    * ``n``, ``mean`` (sum / n), ``ss`` (:math:`\sum d^2`), ``m3`` (:math:`\sum d^3`), ``scale`` (largest
      :math:`|x|`), ``npos`` (values > 0) over the finite values (:func:`eventstudy.inference.cross_sectional`,
      :func:`~eventstudy.inference.hall_t`, :func:`~eventstudy.inference.sign_counts`);
    * ``bw_n``, ``bw_sum``, ``bw_var`` over the values whose ``var[j]`` is finite
      (:func:`~eventstudy.inference.bw1980_t`);
    * ``g_n``, ``g_pos``, ``g_psum`` over the values whose ``pe[j]`` is finite
      (:func:`~eventstudy.inference.gsign_z`).

    ``var`` and ``pe`` hold one value per entry of ``rows``."""
    X, rows, c0, c1 = _rows_days("day_table_sums", X, rows, days)
    var, pe = _read_only(var, np.float64), _read_only(np.broadcast_to(pe, rows.shape), np.float64)
    if var.shape != rows.shape:
        raise ValueError(f"day_table_sums: var expected with one value per row, shape {rows.shape}; got {var.shape}")
    d = c1 - c0
    cnt, tot = np.zeros((5, d), np.int64), np.zeros((5, d))
    _jit("_day_table_sums")(X, rows, c0, c1, var, pe, cnt, tot)
    n = cnt[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = tot[0] / n
    mom = np.zeros((2, d))
    _jit("_day_table_moments")(X, rows, c0, c1, _read_only(mean, np.float64), mom)
    return {"n": n, "mean": mean, "ss": mom[0], "m3": mom[1], "scale": tot[1], "npos": cnt[1],
            "bw_n": cnt[2], "bw_sum": tot[2], "bw_var": tot[3], "g_n": cnt[3], "g_pos": cnt[4], "g_psum": tot[4]}


def _read_only(a, dtype, contiguous: bool = True) -> np.ndarray:
    """A read-only view of ``a`` as ``dtype``, C-contiguous unless ``contiguous`` is False (a copy only when its
    layout or type differ)."""
    v = (np.ascontiguousarray(a, dtype=dtype) if contiguous else np.asarray(a, dtype=dtype)).view()
    v.flags.writeable = False
    return v


def _rows_days(name: str, X, rows, days: slice) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``X`` (N, D) and ``rows`` (positions 0..N-1) read-only for a kernel, and the first and end column of the
    consecutive ``days``; an error naming ``name`` otherwise."""
    X, rows = _read_only(X, np.float64), _read_only(rows, np.int64)
    c0, c1, step = days.indices(X.shape[1] if X.ndim == 2 else 0)
    if X.ndim != 2 or rows.ndim != 1 or step != 1 or (rows.size and (rows.min() < 0 or rows.max() >= X.shape[0])):
        raise ValueError(f"{name}: X (N, D), rows in 0..N-1 and consecutive days expected; got X {X.shape}, "
                         f"rows {rows.shape}, days {days}")
    return X, rows, c0, max(c0, c1)


def signed_rank_sums_rows(X: np.ndarray, rows: np.ndarray, days: slice
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`eventstudy.inference.signed_rank_sums` of the (``rows`` × ``days``) block of ``X`` read in place: the
    sort keys written by one compiled pass (:func:`_signed_rank_keys`), sorted by numpy, read by
    :func:`_signed_rank_runs`: the same numbers as ``signed_rank_sums(X[rows][:, days])``."""
    X, rows, c0, c1 = _rows_days("signed_rank_sums_rows", X, rows, days)
    D = c1 - c0
    wplus, tie, groups, n = np.zeros(D), np.zeros(D), np.zeros(D, np.int64), np.zeros(D, np.int64)
    K = np.empty((D, rows.shape[0]), np.uint64)
    _jit("_signed_rank_keys")(X.view(np.uint64), rows, c0, c1, K, n)
    if n.any():
        K.sort(axis=1)
        signed_rank_runs(K, n, wplus, tie, groups)
    return wplus, tie, groups, n


#: the keys of :func:`eventstudy.suffstats.day_sums`, in the order of :func:`_group_day_sums`' float sums and counts
_DAY_FLOAT = ("sar_sum", "sar_sq", "sar_max", "patell_num", "patell_den", "cfac_sum", "r63_sum", "mm_sum")
_DAY_COUNT = ("sar_n", "patell_n", "cfac_n", "spike_hit", "spike_n", "r63_n", "mm_n")
#: ... and in the order :func:`eventstudy.suffstats.day_sums` returns them (a test checks they agree)
_DAY_KEYS = ("sar_sum", "sar_sq", "sar_n", "sar_max", "patell_num", "patell_den", "patell_n", "cfac_sum", "cfac_n",
             "spike_hit", "spike_n", "r63_sum", "r63_n", "mm_sum", "mm_n")

#: fewest columns for which a compiled column sum equals numpy's: numpy adds the rows of a C-ordered array one
#: after the other in each column, as the kernels do, but sums a single column pairwise
ROW_ORDER_MIN_COLUMNS = 2


def group_day_sums(sar: np.ndarray, df: np.ndarray, A: np.ndarray, a_cols: slice, cfac: np.ndarray,
                   vol_z: np.ndarray, ratio_63: np.ndarray, abvol_mm: np.ndarray, vol_rows: np.ndarray,
                   v_cols: slice, code: np.ndarray, n_groups: int, spike_z: float) -> list[dict[str, np.ndarray]]:
    """:func:`eventstudy.suffstats.day_sums` of every group of rows (``code``: 0..n_groups-1, −1 none) in one
    compiled pass, without forming the groups' copies: ``sar``, ``cfac`` (n, S) and ``df`` (n,) per row,
    ``A[:, a_cols]`` the rows' abnormal returns on the span, and the volume arrays' rows ``vol_rows`` on the
    columns ``v_cols`` (both consecutive, S wide). The same dicts, bit for bit, for S ≥ 2 (numpy adds each
    group's rows in order then; a single column it sums pairwise)."""
    sar, cfac = _read_only(sar, np.float64), _read_only(cfac, np.float64)
    df, code, vol_rows = _read_only(df, np.float64), _read_only(code, np.int64), _read_only(vol_rows, np.int64)
    n, S = sar.shape
    a0, a1, sa = a_cols.indices(A.shape[1])
    v0, v1, sv = v_cols.indices(vol_z.shape[1])
    if (cfac.shape != (n, S) or df.shape != (n,) or code.shape != (n,) or vol_rows.shape != (n,) or A.shape[0] != n
            or sa != 1 or sv != 1 or a1 - a0 != S or v1 - v0 != S or S < ROW_ORDER_MIN_COLUMNS
            or not (vol_z.shape == ratio_63.shape == abvol_mm.shape)):
        raise ValueError(f"group_day_sums: sar/cfac (n, S >= 2), df/code/vol_rows (n,), S consecutive columns of A and "
                         f"of the volume arrays expected; got sar {sar.shape}, cfac {cfac.shape}, A {A.shape} "
                         f"{a_cols}, volume {vol_z.shape} {v_cols}")
    views = [_read_only(x, np.float64, contiguous=False) for x in (A, vol_z, ratio_63, abvol_mm)]   # any layout
    fs = np.zeros((n_groups, len(_DAY_FLOAT), S))
    ns = np.zeros((n_groups, len(_DAY_COUNT), S), np.int64)
    _jit("_group_day_sums")(sar, df, views[0], a0, cfac, views[1], views[2], views[3], vol_rows, v0, code,
                            float(spike_z), fs, ns)
    out = []
    for g in range(n_groups):
        d = dict(zip(_DAY_FLOAT, fs[g]))
        d.update(zip(_DAY_COUNT, ns[g].astype(np.float64)))
        out.append({k: np.ascontiguousarray(d[k]) for k in _DAY_KEYS})
    return out
