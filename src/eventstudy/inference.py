r"""Test statistics for average abnormal returns, pure functions over arrays.

Each function takes per-event values along axis 0 (NaN = not observed, dropped) and
returns plain arrays, so the same code serves one window (shape (n,)) and every relative
day at once (shape (n, D)).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special


@dataclass
class CrossSection:
    """Cross-sectional summary of per-event values (arrays over the trailing axes)."""

    n: np.ndarray
    mean: np.ndarray
    median: np.ndarray
    sd: np.ndarray
    pos_share: np.ndarray
    t: np.ndarray
    p: np.ndarray


#: relative tolerance of the degenerate-variance guard: a standard deviation at or below
#: ``RTOL`` times the largest absolute input is treated as zero (the statistic is NaN)
RTOL = 1e-10
#: fewest events for the statistics built on a cross-sectional standard deviation
MIN_N = 3


def _degenerate(sd, scale) -> np.ndarray:
    """True where a standard deviation is zero or negligible relative to ``scale`` (see :data:`RTOL`)."""
    sd = np.asarray(sd, float)
    with np.errstate(invalid="ignore"):
        return ~(sd > RTOL * np.asarray(scale, float)) | ~np.isfinite(sd)


def two_sided_p_t(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided p-value of a Student-t statistic with ``df`` degrees of freedom."""
    with np.errstate(invalid="ignore"):
        # 2 * P(T_df > |t|) = 2 * stdtr(df, -|t|) (scipy.special: no scipy.stats import at start-up)
        return np.where(np.isfinite(t) & (df > 0), 2.0 * special.stdtr(np.maximum(df, 1), -np.abs(t)), np.nan)


def two_sided_p_z(z: np.ndarray) -> np.ndarray:
    """Two-sided p-value of a standard-normal statistic."""
    return np.where(np.isfinite(z), 2.0 * special.ndtr(-np.abs(np.where(np.isfinite(z), z, 0.0))), np.nan)


def cross_sectional(x: np.ndarray, median: bool = True) -> CrossSection:
    r"""Cross-sectional t test of a mean abnormal return (Brown & Warner 1985; MacKinlay 1997, eq. 20 with
    the cross-sectional variance estimator, Boehmer et al. 1991 "ordinary cross-sectional test").

    .. math:: \bar x = \frac1N\sum_i x_i,\quad s^2 = \frac{1}{N-1}\sum_i (x_i-\bar x)^2,\quad
              t_{cs} = \frac{\bar x}{s/\sqrt N} \sim t_{N-1}

    Assumes independent events (no event-date clustering); robust to event-induced
    variance changes. NaNs are dropped per column; ``t`` is NaN when ``N < 3`` (:data:`MIN_N`) or
    ``s`` is zero or negligible (``s <= RTOL * max|x|``, :data:`RTOL`), never ±inf. The median is that of
    :func:`column_medians` (``median=False`` leaves it NaN, for callers that only want the t).
    """
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    full = bool(ok.all())       # nothing to mask: the same sums without the copies (np.where keeps x's layout)
    x0 = _zero_missing(x, ok, full)             # one masked copy for the sum, the largest |x| and the count of x > 0
    mean = _sum_mean(x0, n)
    with np.errstate(invalid="ignore"):
        dev = x - mean if full else np.where(ok, x - mean, 0.0)
        ss = (dev**2).sum(axis=0)
    scale = np.abs(x0).max(axis=0) if x.size else np.zeros(np.shape(n))
    med = column_medians(x, ok) if median else None
    return cross_section_from_sums(n, mean, ss, scale, (x0 > 0).sum(axis=0), med)


def cross_section_from_sums(n: np.ndarray, mean: np.ndarray, ss: np.ndarray, scale: np.ndarray,
                            npos: np.ndarray, median: np.ndarray | None = None) -> CrossSection:
    r""":func:`cross_sectional` from its sums over the finite values of each column: their number ``n``, their
    mean (``sum / n``), the sum of squared deviations from it ``ss``, the largest absolute value ``scale`` and
    the number of positive values ``npos`` (``median``: the column medians, or None for NaN). The numpy path
    and the compiled per-day pass of the aar table (:func:`eventstudy._kernels.day_table_sums`) share it."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(ss / (n - 1))
        valid = (n >= MIN_N) & ~_degenerate(sd, scale)
        t = np.where(valid, mean / (sd / np.sqrt(n)), np.nan)
        pos = npos / n
    med = median if median is not None else (np.full(np.shape(mean), np.nan) if np.ndim(mean) else np.nan)
    mean = np.where(n > 0, mean, np.nan)
    sd = np.where(n > 1, sd, np.nan)
    return CrossSection(n, mean, med, sd, np.where(n > 0, pos, np.nan), t, two_sided_p_t(t, n - 1))


def _zero_missing(x: np.ndarray, ok: np.ndarray, full: bool) -> np.ndarray:
    """``x`` with its missing (non-finite) values as 0, which add nothing to a column sum, a largest ``|x|``
    or a count of ``x > 0``; ``x`` itself when ``full`` (nothing missing: no copy)."""
    return x if full else np.where(ok, x, 0.0)


def _sum_mean(x0: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Column sums of :func:`_zero_missing`'s ``x0`` over the numbers of finite values ``n`` (NaN or ±inf where
    there are none): the mean of :func:`cross_sectional` and :func:`column_means`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return x0.sum(axis=0) / n


def column_means(x: np.ndarray) -> np.ndarray:
    """The mean of :func:`cross_sectional` alone (the same numbers): the mean of the finite values of each
    column, NaN for a column without one."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    return np.where(n > 0, _sum_mean(_zero_missing(x, ok, bool(ok.all())), n), np.nan)


def column_medians(x: np.ndarray, ok: np.ndarray | None = None) -> np.ndarray:
    """Median of the finite values of each column of ``x`` (along axis 0; NaN for a column without one):
    the middle value, or the mean ``(a + b) / 2`` of the two middle values, as
    ``numpy.nanmedian(np.where(np.isfinite(x), x, np.nan), axis=0)`` (the same two order statistics and the
    same arithmetic) but without its Python-level loop over columns, each read with a stride of a whole
    row. The columns are copied once into contiguous rows (:func:`columns_as_rows`; non-finite values set
    to +inf, which sorts after every finite value) and the columns with the same number *T* of finite values
    are partitioned together at the order statistics ``(T-1)//2`` and ``T//2``: one ``numpy.partition`` when
    no column misses a value, one per distinct *T* otherwise. ``ok`` is ``np.isfinite(x)`` when the caller
    has it. A 1-d ``x`` gives a scalar."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) if ok is None else ok
    shape = x.shape[1:]
    X = x.reshape(x.shape[0], int(np.prod(shape)))
    T = ok.reshape(X.shape).sum(axis=0)
    out = np.full(X.shape[1], np.nan)
    if T.any():
        V = columns_as_rows(X)
        if (T < X.shape[0]).any():
            V[~np.isfinite(V)] = np.inf
        for t in np.unique(T[T > 0]):
            cols = np.flatnonzero(T == t)
            lo, hi = (int(t) - 1) // 2, int(t) // 2
            part = V if cols.size == V.shape[0] else V[cols]
            part.partition(sorted({lo, hi}), axis=1)
            a = part[:, lo]
            out[cols] = a if lo == hi else (a + part[:, hi]) / 2
    out = out.reshape(shape)
    return out if shape else out[()]


def columns_as_rows(X: np.ndarray, rows_per_copy: int = 4096) -> np.ndarray:
    """A C-ordered copy of the transpose of the 2-d ``X`` (columns become contiguous rows), copied
    ``rows_per_copy`` rows of ``X`` at a time: a whole-array transposing copy of a tall array touches a new
    cache line for every element written; blocks of rows keep both sides in cache (about twice as fast at
    10**6 × 13)."""
    n, D = X.shape
    V = np.empty((D, n))
    for r in range(0, n, rows_per_copy):
        V[:, r:r + rows_per_copy] = X[r:r + rows_per_copy].T
    return V


# ---------------------------------------------------------------------------------------------
# Parametric tests on standardized abnormal returns
# ---------------------------------------------------------------------------------------------
def cda_t(x_window_mean: np.ndarray, aar_est: np.ndarray, L: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r"""Crude dependence adjustment t (Brown & Warner 1980, 1985).

    .. math:: t_{cda} = \frac{\sum_{t\in w} AAR_t}{\sqrt{L}\, \hat S(AAR)},\qquad
              \hat S^2(AAR) = \frac{1}{M-1}\sum_{\tau\in est} (AAR_\tau - \overline{AAR})^2 \sim t_{M-1}

    The standard deviation is the time-series s.d. of the estimation-window AAR series of the
    same portfolio of events, so cross-sectional dependence (event-date clustering) is
    absorbed; it ignores event-induced variance. ``x_window_mean`` is CAAR over the window
    (or AAR of one day with ``L = 1``).
    """
    a = aar_est[np.isfinite(aar_est)]
    M = a.size
    if M < 3:
        nan = np.full(np.shape(x_window_mean), np.nan)
        return nan, nan
    sd = a.std(ddof=1)
    if _degenerate(sd, np.abs(a).max()):
        nan = np.full(np.shape(x_window_mean), np.nan)
        return nan, nan
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.asarray(x_window_mean) / (np.sqrt(L) * sd)
    return t, two_sided_p_t(t, np.full(np.shape(t), M - 1))


def patell_z(std: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Patell (1976) Z on standardized abnormal returns (or standardized CARs).

    .. math:: SAR_{it} = \frac{AR_{it}}{\hat\sigma_i\sqrt{C_{it}}},\qquad
              Z = \frac{\sum_i SAR_{it}}{\sqrt{\sum_i \frac{d_i}{d_i-2}}} \;\dot\sim\; N(0,1)

    with :math:`d_i = M_i - k` the residual degrees of freedom (each SAR is Student-t with
    variance :math:`d_i/(d_i-2)`) and :math:`C_{it}` the forecast-error correction. For a window,
    pass :math:`SCAR_i = CAR_i / \sqrt{\widehat{Var}(CAR_i)}` with the exact CAR variance.
    Assumes independent events and no event-induced variance increase.
    """
    std = np.asarray(std, float)
    dfb = np.broadcast_to(np.asarray(df, float).reshape(-1, *([1] * (std.ndim - 1))), std.shape)
    ok = np.isfinite(std) & (dfb > 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        num = np.where(ok, std, 0.0).sum(axis=0)
        den = np.sqrt(np.where(ok, dfb / (dfb - 2), 0.0).sum(axis=0))
        z = np.where(ok.sum(axis=0) > 0, num / den, np.nan)
    return z, two_sided_p_z(z)


def bmp_t(std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Boehmer, Musumeci & Poulsen (1991) standardized cross-sectional test.

    .. math:: t_{BMP} = \frac{\overline{SAR}}{s(SAR)/\sqrt N},\quad
              s^2(SAR) = \frac{1}{N-1}\sum_i (SAR_i - \overline{SAR})^2 \sim t_{N-1}

    on standardized ARs (one day) or standardized CARs (a window). Robust to event-induced
    variance; assumes cross-sectional independence.
    """
    cs = cross_sectional(std, median=False)
    return cs.t, cs.p


def mean_t_from_sums(total: np.ndarray, sumsq: np.ndarray, n: np.ndarray, absmax: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    r"""The t of :func:`cross_sectional` (so :func:`bmp_t` on standardized values) from additive sums:
    :math:`\bar x = \sum x/N`, :math:`s^2 = (\sum x^2 - N\bar x^2)/(N-1)`, :math:`t = \bar x/(s/\sqrt N)
    \sim t_{N-1}`; NaN for N < :data:`MIN_N` or a degenerate *s* (relative to ``absmax``). For
    standardized values (mean and s.d. of order one) the one-pass variance loses nothing
    measurable; it lets a chunked study add the sums of its chunks."""
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.asarray(total, float) / n
        sd = np.sqrt(np.maximum(np.asarray(sumsq, float) - n * mean * mean, 0.0) / (n - 1))
        valid = (n >= MIN_N) & ~_degenerate(sd, absmax)
        t = np.where(valid, mean / (sd / np.sqrt(n)), np.nan)
    return t, two_sided_p_t(t, n - 1)


def patell_from_sums(num: np.ndarray, den: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":func:`patell_z` from additive sums over the events with :math:`d_i > 2`:
    :math:`Z = \sum_i SAR_i / \sqrt{\sum_i d_i/(d_i-2)}` (NaN without such an event)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(np.asarray(n) > 0, np.asarray(num, float) / np.sqrt(den), np.nan)
    return z, two_sided_p_z(z)


def kp_adjust(stat: np.ndarray, rbar: float, n: np.ndarray, kind: str) -> np.ndarray:
    r"""Kolari & Pynnönen (2010) adjustment for cross-sectional correlation of abnormal returns.

    .. math:: t_{KP\text{-}BMP} = t_{BMP}\sqrt{\frac{1-\bar r}{1+(N-1)\bar r}},\qquad
              Z_{KP\text{-}Patell} = Z_{Patell}\sqrt{\frac{1}{1+(N-1)\bar r}}

    where :math:`\bar r` is the mean off-diagonal correlation of the events'
    estimation-window residuals (:func:`mean_residual_correlation`).
    """
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "bmp":
            f = np.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
        elif kind == "patell":
            f = np.sqrt(1 / (1 + (n - 1) * rbar))
        else:
            raise ValueError(kind)
    return np.where(1 + (n - 1) * rbar > 0, stat * f, np.nan)


#: multiply-adds of one block-pair product in :func:`mean_residual_correlation`'s banded path. OpenBLAS
#: computes a product of up to 65,536 × 4 (its ``GEMM_MULTITHREAD_THRESHOLD``) multiply-adds on the calling
#: thread; a larger one wakes its thread pool, whose spin-waiting costs more CPU than such a small product
#: (measured on a group of 500 events: 14 ms of CPU with blocks under this size, 60–370 ms with blocks of
#: 12–32 events, above it)
RBAR_BLOCK_WORK = 1 << 18


def mean_residual_correlation(resid: np.ndarray, positions: np.ndarray, min_common: int = 30,
                              max_events: int = 2000, seed: int = 0) -> tuple[float, int]:
    r"""Mean off-diagonal correlation :math:`\bar r` of estimation-window residuals, calendar-aligned.

    ``resid`` (n, E) are the events' estimation-window abnormal returns and ``positions``
    (n, E) their session positions, so two events are compared on the trading days they share.
    :math:`r_{ij}` is the Pearson correlation over the common days when there are at least
    ``min_common`` of them; pairs with fewer common days (events far apart in time) count as
    uncorrelated (0). :math:`\bar r = \frac{2}{N(N-1)}\sum_{i<j} r_{ij}` (Kolari & Pynnönen 2010).
    Above ``max_events`` a seeded random subset is used. Returns ``(rbar, n_pairs_with_overlap)``.

    With :math:`K_{it}` = 1 when event *i* is observed on day *t*, the sums over the days common to *i* and
    *j* are :math:`N_{ij} = \sum_t K_{it}K_{jt}`, :math:`S_{ij} = \sum_t x_{it}K_{jt}`,
    :math:`Q_{ij} = \sum_t x_{it}^2K_{jt}`, :math:`P_{ij} = \sum_t x_{it}x_{jt}` and

    .. math:: r_{ij} = \frac{N_{ij}P_{ij} - S_{ij}S_{ji}}
                            {\sqrt{(N_{ij}Q_{ij} - S_{ij}^2)(N_{ij}Q_{ji} - S_{ji}^2)}}.

    Events spread over time (the observed days fill less than a quarter of the events × calendar
    rectangle) take :func:`_banded_correlation_sums`, the others four dense products over the calendar.
    Both are exact up to rounding: the sums come from BLAS products (fused multiply-adds, blocked), so
    :math:`\bar r` matches a pairwise loop to ~1e-16 (tested to 1e-12), not bit for bit.
    """
    n = resid.shape[0]
    if n < 2:
        return float("nan"), 0
    idx = np.arange(n)
    if n > max_events:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_events, replace=False))
    r, pos = resid[idx], positions[idx]
    ok = np.isfinite(r)
    lo = int(pos[ok].min()) if ok.any() else 0
    width = int(pos[ok].max()) - lo + 1 if ok.any() else 1
    m = len(idx)
    if ok.sum() < 0.25 * m * width:   # events spread over time: products over the days of nearby events only
        total, pairs = _banded_correlation_sums(r, pos, ok, min_common)
        return float(total / (m * (m - 1))), pairs // 2
    rows = np.repeat(np.arange(m), r.shape[1]).reshape(r.shape)
    X = np.zeros((m, width))
    K = np.zeros((m, width))
    X[rows[ok], pos[ok] - lo] = r[ok]
    K[rows[ok], pos[ok] - lo] = 1.0
    N = K @ K.T
    Sx = X @ K.T                      # Sx[i, j] = sum of x_i over days shared with j
    Sxy = X @ X.T
    Sxx = (X * X) @ K.T
    rho = _pair_correlations(N, Sx, Sx.T, Sxy, Sxx, Sxx.T)
    valid = (N >= min_common) & np.isfinite(rho)
    np.fill_diagonal(valid, False)
    total = np.where(valid, rho, 0.0).sum() / (m * (m - 1))
    return float(total), int(valid.sum() // 2)


def _pair_correlations(N, Sx, Sy, Sxy, Sxx, Syy) -> np.ndarray:
    """Pearson correlations from the sums over common days (see :func:`mean_residual_correlation`); NaN or
    ±inf where a variance is zero."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (N * Sxy - Sx * Sy) / np.sqrt((N * Sxx - Sx * Sx) * (N * Syy - Sy * Sy))


def _banded_correlation_sums(r: np.ndarray, pos: np.ndarray, ok: np.ndarray, min_common: int) -> tuple[float, int]:
    """Sum of the correlations :math:`r_{ij}` over ordered pairs *i ≠ j* with at least ``min_common`` common
    days, and the number of such ordered pairs, touching only pairs of events whose days overlap.

    The events are sorted by their first observed day and cut into blocks of consecutive events; a block is
    stored densely over its own days only, as the stacked rows ``[K; x; x²]`` (observed indicator, value,
    square). For two blocks whose day ranges overlap, one product over the shared days gives all six sums of
    every pair (:math:`N, S_{ij}, S_{ji}, P, Q_{ij}, Q_{ji}`); a block's events reach only the blocks that
    start before its last day, so the work follows the overlap of the events (a band), not the whole
    calendar. Blocks are as large as :data:`RBAR_BLOCK_WORK` allows."""
    has = ok.any(axis=1)
    first = np.where(ok, pos, np.iinfo(np.int64).max).min(axis=1)
    last = np.where(ok, pos, np.iinfo(np.int64).min).max(axis=1)
    order = np.argsort(first, kind="stable")
    order = order[has[order]]
    blocks = []
    b0 = 0
    while b0 < order.size:
        b1, hi = b0 + 1, int(last[order[b0]])
        lo = int(first[order[b0]])
        while b1 < order.size:
            h = max(hi, int(last[order[b1]]))
            if (3 * (b1 + 1 - b0)) ** 2 * (h - lo + 1) > RBAR_BLOCK_WORK:
                break
            b1, hi = b1 + 1, h
        rows = order[b0:b1]
        o = ok[rows]
        i, _ = np.nonzero(o)
        c = pos[rows][o] - lo
        v = r[rows][o]
        A = np.zeros((3, rows.size, hi - lo + 1))
        A[0, i, c], A[1, i, c], A[2, i, c] = 1.0, v, v * v
        blocks.append((rows.size, lo, hi, A.reshape(3 * rows.size, -1)))
        b0 = b1
    total, pairs = 0.0, 0
    for bi, (nI, loI, hiI, AI) in enumerate(blocks):
        for bj in range(bi, len(blocks)):
            nJ, loJ, hiJ, AJ = blocks[bj]
            if loJ > hiI:                           # this block and every later one start after block I ends
                break
            a, b = loJ, min(hiI, hiJ)
            if b - a + 1 < min_common:              # too few shared days for any pair of the two blocks
                continue
            P = (AI[:, a - loI:b - loI + 1] @ AJ[:, a - loJ:b - loJ + 1].T).reshape(3, nI, 3, nJ)
            N = P[0, :, 0]
            rho = _pair_correlations(N, P[1, :, 0], P[0, :, 1], P[1, :, 1], P[2, :, 0], P[0, :, 2])
            valid = (N >= min_common) & np.isfinite(rho)
            if bi == bj:
                np.fill_diagonal(valid, False)
            w = 1 if bi == bj else 2               # an off-diagonal block holds each pair once: count (i, j) and (j, i)
            total += w * float(rho[valid].sum())
            pairs += w * int(valid.sum())
    return total, pairs


# ---------------------------------------------------------------------------------------------
# Rank and sign tests
# ---------------------------------------------------------------------------------------------
def rank_uniform(x: np.ndarray, raw: bool = False) -> np.ndarray:
    r"""Per-row scaled ranks :math:`U_{it} = K_{it}/(T_i+1) - \tfrac12` of the observed values.

    :math:`K_{it}` is the mid-rank (:func:`row_ranks`) of :math:`x_{it}` among the :math:`T_i`
    observed values of row *i* (Campbell & Wasley 1993's scaling, which allows missing days);
    NaN stays NaN. ``raw=True`` gives the unscaled deviation :math:`K_{it} - (T_i+1)/2` of
    Corrado (1989), which estudy2's ``rank_test`` uses (see docs/statistics.md "Conventions").
    """
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    T = ok.sum(axis=1, keepdims=True)
    K = row_ranks(x)
    return np.where(ok, K - (T + 1.0) / 2 if raw else K / (T + 1.0) - 0.5, np.nan)


def corrado_t(U: np.ndarray, event_cols: np.ndarray, weighted: bool = True) -> tuple[float, float]:
    r"""Corrado (1989) rank test for one day or, cumulated, a window (Cowan 1992), with the
    missing-day weight of Corrado & Zivney (1992) and Kolari & Pynnönen (2011).

    With :math:`U_{it}` from :func:`rank_uniform` over each event's estimation + event days,
    :math:`N_t` the number of events observed on day *t*, :math:`N` the number of events,
    :math:`\bar U_t = \frac1{N_t}\sum_i U_{it}` and *T* the number of days with :math:`N_t > 0`,

    .. math:: S_{\bar U}^2 = \frac1T\sum_t \frac{N_t}{N}\,\bar U_t^2,\qquad
              T_{Corrado} = \frac{\sum_{t\in w}\bar U_t}{\sqrt{L}\,S_{\bar U}} \;\dot\sim\; N(0,1)

    (*L* = observed days of the window). The weight :math:`N_t/N` makes :math:`S_{\bar U}^2`
    estimate :math:`\operatorname{Var}(\bar U_0)` when events have different numbers of
    observations (short histories); without it the test is conservative. ``weighted=False``
    gives the unweighted Corrado (1989) form (all :math:`N_t = N` makes them equal).

    Non-parametric: robust to skewed, fat-tailed abnormal returns (biotech news), but not to
    event-induced variance or cross-correlation. NaN when :math:`S_{\bar U}` is zero.
    """
    t = corrado_days(U, [np.atleast_1d(event_cols)], weighted=weighted)[0]
    return float(t), float(two_sided_p_z(np.asarray(t)))


def corrado_days(U: np.ndarray, windows: list[np.ndarray], weighted: bool = True,
                 T: float | None = None, inflate: bool = False) -> np.ndarray:
    r"""Corrado statistics for several windows (column lists) of one group, sharing :math:`\bar U_t` and
    :math:`S_{\bar U}` (see :func:`corrado_t`). NaN where a window has no observed day. A 1-D integer
    array instead of a list means one single-day window per column (vectorised).

    ``T`` overrides the number of days in :math:`S_{\bar U}^2` (estudy2 divides by the mean
    number of observations per event) and ``inflate=True`` replaces :math:`\bar U_t` by
    :math:`\bar U_t N/N_t` (estudy2 forms daily sums as row mean × number of events, which
    inflates days with missing events); both only for ``conventions="estudy2"``, see
    docs/statistics.md "Conventions".
    """
    U = np.asarray(U, float)
    ok = np.isfinite(U)
    return corrado_from_sums(np.where(ok, U, 0.0).sum(axis=0), ok.sum(axis=0), U.shape[0],
                             int(ok.any(axis=1).sum()), float(np.abs(U[ok]).max()) if ok.any() else np.nan,
                             windows, weighted=weighted, T=T, inflate=inflate)


def corrado_from_sums(total: np.ndarray, n: np.ndarray, rows: int, rows_any: int, absmax: float,
                      windows: list[np.ndarray], weighted: bool = True, T: float | None = None,
                      inflate: bool = False) -> np.ndarray:
    r""":func:`corrado_days` from its sufficient statistics over the group's events: per column
    :math:`\sum_i U_{it}` (``total``) and :math:`N_t` (``n``), the number of events (``rows``), of events
    with any observation (``rows_any``, the :math:`N` of the weights :math:`N_t/N`) and
    :math:`\max|U|` (the scale of the degenerate guard). These add over disjoint sets of events, so
    a study processed in chunks gives the same statistic (docs/scale.md)."""
    n = np.asarray(n)
    have = n > 0
    out = np.full(len(windows), np.nan)
    if not have.any() or rows == 0:
        return out
    ubar = np.asarray(total, float) / np.maximum(n, 1)
    if inflate:
        ubar = ubar * rows / np.maximum(n, 1)
    w = n[have] / rows_any if weighted else 1.0
    s = np.sqrt(np.sum(w * ubar[have] ** 2) / (have.sum() if T is None else T))
    if _degenerate(s, absmax):
        return out
    if isinstance(windows, np.ndarray) and windows.ndim == 1:      # one column per "window": every day
        return np.where(have[windows], ubar[windows] / s, np.nan)
    csum = np.concatenate([[0.0], np.cumsum(np.where(have, ubar, 0.0))])
    cnt = np.concatenate([[0], np.cumsum(have)])
    for k, cols in enumerate(windows):
        c = np.asarray(cols, int)
        if c.size and np.all(np.diff(c) == 1):          # contiguous: prefix sums
            tot, L = csum[c[-1] + 1] - csum[c[0]], cnt[c[-1] + 1] - cnt[c[0]]
        else:
            c = c[have[c]] if c.size else c
            tot, L = ubar[c].sum(), c.size
        if L:
            out[k] = tot / (np.sqrt(L) * s)
    return out


def row_ranks(x: np.ndarray) -> np.ndarray:
    r"""1-based ranks of the observed values within each row, ties at their mid-rank; NaN stays NaN.

    A value tied with others gets the average of the positions they occupy,
    :math:`K = \#\{x < v\} + (\#\{x = v\} + 1)/2` (as ``scipy.stats.rankdata(method="average")``),
    so tied days (zero returns of an illiquid stock, a constant price) carry no order effect
    (breaking ties by position biases the rank tests). Vectorised over rows.
    """
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    if x.size == 0:
        return np.full(x.shape, np.nan)
    filled = np.where(ok, x, np.inf)
    order = np.argsort(filled, axis=1)   # mid-ranks do not depend on the order of ties
    s = np.take_along_axis(filled, order, axis=1)
    m = x.shape[1]
    pos = np.broadcast_to(np.arange(m), x.shape)
    first = np.ones(x.shape, bool)
    first[:, 1:] = s[:, 1:] != s[:, :-1]
    last = np.ones(x.shape, bool)
    last[:, :-1] = first[:, 1:]
    start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, m - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(x.shape)
    np.put_along_axis(ranks, order, (start + end) / 2.0 + 1.0, axis=1)
    return np.where(ok, ranks, np.nan)


def grank_t(sar_est: np.ndarray, scar: np.ndarray, est_ranks: np.ndarray | None = None) -> tuple[float, float]:
    r"""Generalized rank test for CARs (Kolari & Pynnönen 2011).

    The window is collapsed to one observation: re-standardize
    :math:`SCAR^*_i = SCAR_i / s(SCAR)` (cross-sectional s.d., absorbing event-induced
    variance); form :math:`GSAR_{it}` = estimation-window :math:`SAR_{it}=AR_{it}/\hat\sigma_i`
    for *t* in the estimation window and :math:`SCAR^*_i` at the event point; rank within each
    event, :math:`U_{it} = K_{it}/(T_i+1) - \tfrac12` (:math:`T_i` observed points). Then

    .. math:: Z = \frac{\bar U_0}{S_{\bar U}},\quad S_{\bar U}^2 = \frac{1}{T}\sum_t \frac{N_t}{N}\bar U_t^2,
              \qquad t_{grank} = Z\sqrt{\frac{T-2}{T-1-Z^2}} \sim t_{T-2}

    ``est_ranks`` (:func:`row_ranks` of ``sar_est``) may be passed to avoid re-sorting when
    many windows share the same events: inserting the event point only shifts the ranks of
    the estimation values above it by one (by ½ for values tied with it: mid-ranks throughout).
    NaN for fewer than 3 events or a degenerate :math:`s(SCAR)`.
    """
    keep = np.isfinite(scar)
    if not keep.all():
        sar_est, scar = sar_est[keep], scar[keep]
        est_ranks = None if est_ranks is None else est_ranks[keep]
    N = scar.size
    if N < MIN_N:
        return float("nan"), float("nan")
    sd = scar.std(ddof=1)
    if _degenerate(sd, np.abs(scar).max()):
        return float("nan"), float("nan")
    g = (scar / sd)[:, None]
    r = row_ranks(sar_est) if est_ranks is None else est_ranks
    obs = np.isfinite(sar_est)
    Ti = obs.sum(axis=1, keepdims=True) + 1.0
    ties = obs & (sar_est == g)
    u_est = np.where(obs, (r + (sar_est > g) + 0.5 * ties) / (Ti + 1) - 0.5, np.nan)
    u_evt = (1.0 + (obs & (sar_est < g)).sum(axis=1) + 0.5 * ties.sum(axis=1)) / (Ti[:, 0] + 1) - 0.5
    Nt = obs.sum(axis=0)
    have = Nt > 0
    ubar_est = np.where(obs, u_est, 0.0).sum(axis=0)[have] / Nt[have]
    ubar0 = u_evt.mean()
    T = int(have.sum()) + 1
    s = np.sqrt((np.sum(Nt[have] / N * ubar_est**2) + ubar0**2) / T)
    z = ubar0 / s
    if T <= 2 or T - 1 - z**2 <= 0:
        return float("nan"), float("nan")
    t = z * np.sqrt((T - 2) / (T - 1 - z**2))
    return float(t), float(two_sided_p_t(np.asarray(t), np.asarray(T - 2)))


def sign_z(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Sign test: :math:`Z = (w - N/2)/\sqrt{N/4}`, *w* = number of positive values (Cowan 1992)."""
    w, n = sign_counts(x)
    return sign_z_from_counts(w, n)


def sign_z_from_counts(w: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sign_z` from the number of positive values ``w`` among ``n`` observed ones."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(n > 0, (w - 0.5 * n) / np.sqrt(0.25 * n), np.nan)
    return z, two_sided_p_z(z)


def gsign_z(x: np.ndarray, p_est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Generalized sign test (Cowan 1992).

    .. math:: Z = \frac{w - N\hat p}{\sqrt{N\hat p(1-\hat p)}},\qquad
              \hat p = \frac1N\sum_i \frac{1}{M_i}\sum_{t\in est} \mathbb 1[AR_{it} > 0]

    The null share of positives is estimated from each event's estimation window rather than
    fixed at ½, which corrects the sign test for skewed abnormal returns.
    """
    x = np.asarray(x, float)
    pe = np.broadcast_to(np.asarray(p_est, float).reshape(-1, *([1] * (x.ndim - 1))), x.shape)
    ok = np.isfinite(x) & np.isfinite(pe)
    with np.errstate(invalid="ignore"):
        p_sum = np.where(ok, pe, 0.0).sum(axis=0)
    return gsign_z_from_sums(np.where(ok, x > 0, False).sum(axis=0), ok.sum(axis=0), p_sum)


def gsign_z_from_sums(w: np.ndarray, n: np.ndarray, p_sum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":func:`gsign_z` from, over the values with a finite :math:`\hat p_i`: the number of positive ones ``w``,
    their number ``n`` and the sum of their :math:`\hat p_i` ``p_sum``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p_sum / n
        z = np.where((n > 0) & (p > 0) & (p < 1), (w - n * p) / np.sqrt(n * p * (1 - p)), np.nan)
    return z, two_sided_p_z(z)


#: up to this many non-zero values (and no ties) the Wilcoxon p-value is exact, above it normal
WILCOXON_EXACT_N = 50


def wilcoxon(x: np.ndarray, exact: bool | None = None) -> tuple[float, float, float]:
    r"""Wilcoxon signed-rank test of a zero median: returns ``(W+, z, p)``.

    Zeros are dropped; :math:`W^+ = \sum_{x_i>0} \operatorname{rank}(|x_i|)` (average ranks for ties),

    .. math:: z = \frac{W^+ - n(n+1)/4}{\sqrt{n(n+1)(2n+1)/24 - \sum_g (t_g^3 - t_g)/48}}

    with :math:`t_g` the sizes of tied groups (normal approximation, no continuity correction).
    The two-sided p is exact (the null distribution of :math:`W^+`, :func:`wilcoxon_exact_p`) when ``exact`` is
    True or, by default, when there are at most :data:`WILCOXON_EXACT_N` non-zero values and no
    ties in :math:`|x|`; otherwise it is the normal p of *z*.
    """
    w, z, p = wilcoxon_columns(np.asarray(x, float).reshape(-1, 1), exact)
    return float(w[0]), float(z[0]), float(p[0])


def wilcoxon_columns(X: np.ndarray, exact: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`wilcoxon` of every column of ``X`` (n, D) at once, from one sort per column
    (:func:`signed_rank_sums`: :math:`W^+`, the tie groups); the exact p only for the columns that qualify."""
    return wilcoxon_from_sums(*signed_rank_sums(np.asarray(X, float)), exact)


def wilcoxon_from_sums(wplus: np.ndarray, tie: np.ndarray, groups: np.ndarray, n: np.ndarray,
                       exact: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`wilcoxon_columns` from :func:`signed_rank_sums`' ``(W+, tie term, tie groups, n)`` per column."""
    nf = n.astype(float)
    var = nf * (nf + 1) * (2 * nf + 1) / 24 - tie / 48
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where((n > 0) & (var > 0), (wplus - nf * (nf + 1) / 4) / np.sqrt(var), np.nan)
    p = two_sided_p_z(z)
    ex = np.full(len(n), bool(exact)) if exact is not None else (n <= WILCOXON_EXACT_N) & (groups == n)
    ex &= n > 0
    for d in np.flatnonzero(ex):
        p[d] = wilcoxon_exact_p(float(wplus[d]), int(n[d]))
    nan = n == 0
    return np.where(nan, np.nan, wplus), np.where(nan, np.nan, z), np.where(nan, np.nan, p)


def signed_rank_sums(X: np.ndarray, jit: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Per column of ``X`` (n, D), over its finite non-zero values: the signed-rank sum
    :math:`W^+ = \sum_{x_i>0} \operatorname{rank}(|x_i|)` (mid-ranks for ties), the tie term
    :math:`\sum_g (t_g^3 - t_g)` over the groups of equal :math:`|x|` (sizes :math:`t_g`, in increasing
    order of :math:`|x|`), the number of groups and the number of values *n*.

    One sort per column: the bits of a non-negative float order as the float does, and their top bit is
    zero, so the key :math:`2\,\mathrm{bits}(|x|) + [x > 0]` sorts by :math:`|x|` and carries the sign;
    a group of equal :math:`|x|` is a run of equal ``key >> 1`` and occupies positions *s*…*s+t−1*, mid-rank
    :math:`s + (t+1)/2`, so :math:`2W^+ = \sum_g p_g (2s_g + t_g + 1)` with :math:`p_g` the positive values
    of the group, an exact integer (as is the float sum of half-integer mid-ranks it replaces, below
    :math:`2^{53}`). The tie term is summed in float64, group after group in increasing order of :math:`|x|`,
    each term :math:`t\cdot t\cdot t - t` (exact below :math:`2^{53}`, i.e. unless a column holds a group of more
    than 208,000 equal :math:`|x|`; rounded in that fixed order above it).

    ``jit``: the sorted keys are read run by run by one compiled pass (:func:`eventstudy._kernels.signed_rank_runs`)
    instead of numpy operations per column: the same integers and the same float operations in the same order,
    so the same numbers bit for bit."""
    X = np.asarray(X, float)
    D = X.shape[1]
    wplus, tie, groups = np.zeros(D), np.zeros(D), np.zeros(D, np.int64)
    V = columns_as_rows(X)                                    # (D, n): one column per contiguous row
    keep = np.isfinite(V)
    keep &= V != 0
    n = keep.sum(axis=1)
    if not n.any():
        return wplus, tie, groups, n
    positive = V > 0
    K = np.abs(V, out=V).view(np.uint64)                      # the bits of |x|
    K <<= np.uint64(1)
    K |= positive
    K[~keep] = np.iinfo(np.uint64).max                        # after every kept key (finite |x| < 2**63)
    K.sort(axis=1)
    if jit:
        from ._kernels import signed_rank_runs

        signed_rank_runs(K, n, wplus, tie, groups)
        return wplus, tie, groups, n
    one = np.uint64(1)
    for d in np.flatnonzero(n):
        k = K[d, :n[d]]
        v = k >> one
        new = np.empty(k.size, bool)
        new[0] = True
        np.not_equal(v[1:], v[:-1], out=new[1:])
        if new.all():                                          # no ties: ranks 1..n, W+ = sum of positive ranks
            up = np.flatnonzero(k & one)
            wplus[d], groups[d] = float(int(up.sum()) + up.size), k.size
            continue
        start = np.flatnonzero(new)
        t = np.diff(np.append(start, k.size))
        npos = np.concatenate(([0], np.cumsum(k & one, dtype=np.int64)))
        wplus[d] = int(((npos[start + t] - npos[start]) * (2 * start + t + 1)).sum()) / 2
        groups[d] = t.size
        tf = t.astype(float)
        tie[d] = float(np.cumsum(tf * tf * tf - tf)[-1])       # group after group, as the compiled pass adds them
    return wplus, tie, groups, n


@lru_cache(maxsize=128)
def _wilcoxon_null(n: int) -> np.ndarray:
    r"""Cumulative null distribution :math:`P(W^+ \le w)`, w = 0…n(n+1)/2, of the signed-rank sum of *n*
    untied non-zero values: the number of subsets of {1…n} with sum *w* over :math:`2^n`, counted by
    adding one rank at a time (exact in float64 for the n ≤ 50 it is used for)."""
    c = np.zeros(n * (n + 1) // 2 + 1)
    c[0] = 1.0
    for k in range(1, n + 1):
        c[k:] = c[k:] + c[:-k].copy()
    return np.cumsum(c / 2.0**n)


def wilcoxon_exact_p(wplus: float, n: int) -> float:
    r"""Exact two-sided p of the signed-rank sum: :math:`\min(1, 2\min(P(W^+ \le \lceil w
ceil),
    P(W^+ \ge \lfloor w
floor)))` under the null (as ``scipy.stats.wilcoxon(method="exact")``, which
    rounds a non-integral statistic the same conservative way; checked against it in the tests)."""
    cdf = _wilcoxon_null(n)
    lo = cdf[min(int(np.ceil(wplus)), len(cdf) - 1)]
    f = int(np.floor(wplus))
    hi = 1.0 - cdf[f - 1] if f >= 1 else 1.0
    return float(min(1.0, 2.0 * min(lo, hi)))


def bw1980_t(x: np.ndarray, var: np.ndarray, df: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Brown & Warner (1980) t under cross-sectional independence ("no dependence adjustment").

    For the :math:`N_t` events observed (per day: ARs; per window: CARs),

    .. math:: t_{BW1980} = \frac{\frac1{N_t}\sum_i x_i}{\frac1{N_t}\sqrt{\sum_i \hat\sigma^2(x_i)}}
              \sim t_{df}

    with :math:`\hat\sigma^2(x_i)` the estimation-window variance of the event's abnormal return
    (:math:`\hat\sigma_i^2`, times the number of observed days for a CAR). Unlike :func:`cda_t`
    (the same paper's *crude dependence adjustment*, which takes the time-series s.d. of the
    portfolio AAR), the denominator averages the events' own variances, so it assumes independent
    events. ``df`` is the mean residual degrees of freedom. ``x`` and ``var`` are (n, ...) arrays;
    NaN in either drops the event; NaN when the pooled variance is degenerate.
    """
    x = np.asarray(x, float)
    v = np.broadcast_to(np.asarray(var, float).reshape(np.shape(var) + (1,) * (x.ndim - np.ndim(var))), x.shape)
    ok = np.isfinite(x) & np.isfinite(v)
    with np.errstate(invalid="ignore"):
        x_sum, var_sum = np.where(ok, x, 0.0).sum(axis=0), np.where(ok, v, 0.0).sum(axis=0)
    return bw1980_from_sums(ok.sum(axis=0), x_sum, var_sum, df)


def bw1980_from_sums(n: np.ndarray, x_sum: np.ndarray, var_sum: np.ndarray, df: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bw1980_t` from, over the events with a finite value and variance: their number ``n``, the sum of
    their values ``x_sum`` and of their variances ``var_sum``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x_sum / n
        sd = np.sqrt(var_sum) / n
        t = np.where((n > 0) & ~_degenerate(sd, 0.0), mean / sd, np.nan)
    return t, two_sided_p_t(t, np.full(np.shape(t), df))


def lamb_z(x: np.ndarray, aar_est: np.ndarray, cfac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Lamb (1995) portfolio test with the forecast-error correction.

    .. math:: Z_{Lamb} = \frac{AAR_t}{\hat S(AAR)\sqrt{\bar C_t}} \;\dot\sim\; N(0,1),\qquad
              \hat S^2(AAR) = \frac1{M-1}\sum_{\tau\in est}(AAR_\tau - \overline{AAR})^2

    The portfolio (equally weighted, in event time) abnormal return is standardized by the
    time-series s.d. of its estimation-window series, like :func:`cda_t`, times the
    prediction-error factor :math:`\bar C_t`, the mean over the events of
    :math:`C_{it} = 1 + 1/M_i + (R_{mt}-\bar R_m)^2/\sum_{est}(R_m-\bar R_m)^2` (for a window:
    CAAR over the mean exact CAR variance factor :math:`L + L^2/M + \dots`). With one event date
    and one benchmark this is Lamb's portfolio statistic exactly. Absorbs cross-correlation;
    not robust to event-induced variance. ``x`` is AAR (per day) or CAAR (per window).
    """
    a = np.asarray(aar_est, float)
    a = a[np.isfinite(a)]
    if a.size < 3 or _degenerate(a.std(ddof=1), np.abs(a).max()):
        nan = np.full(np.shape(x), np.nan)
        return nan, nan
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.asarray(x, float) / (a.std(ddof=1) * np.sqrt(np.asarray(cfac, float)))
    return z, two_sided_p_z(z)


def median_signs(x: np.ndarray) -> np.ndarray:
    r"""Corrado & Zivney (1992) signs :math:`G_{it} = \operatorname{sign}(x_{it} - \operatorname{med}_i)`,
    the median over each row's observed values (estimation + event days); NaN stays NaN."""
    x = np.asarray(x, float)
    return np.where(np.isfinite(x), np.sign(x - row_medians(x)[:, None]), np.nan)


def row_medians(x: np.ndarray) -> np.ndarray:
    """Median of the observed values of each row (NaN for none): the middle value, or the mean of the two
    middle values, of the sorted row, as ``numpy.nanmedian`` but one vectorised sort instead of a
    Python-level loop over rows with missing values."""
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    T = ok.sum(axis=1)
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    s = np.sort(np.where(ok, x, np.inf), axis=1)
    rows = np.arange(x.shape[0])
    lo = s[rows, np.maximum((T - 1) // 2, 0)]
    hi = s[rows, np.minimum(T // 2, x.shape[1] - 1)]
    with np.errstate(invalid="ignore"):
        return np.where(T > 0, (lo + hi) / 2, np.nan)


def std_sum_days(V: np.ndarray, windows: list[np.ndarray], T: float | None = None,
                 inflate: bool = False) -> np.ndarray:
    r"""The Corrado & Zivney (1992) standardized-sum statistic for several windows (column lists;
    a 1-D integer array means one single-day window per column, vectorised).

    With :math:`N_t` events observed on day *t*, :math:`z_t = N_t^{-1/2}\sum_i V_{it}` and *T*
    the number of days with :math:`N_t > 0`,

    .. math:: S^2 = \frac1T\sum_t z_t^2,\qquad Z_w = \frac{\sum_{t\in w} z_t}{\sqrt{L}\,S}
              \;\dot\sim\; N(0,1)

    :math:`V` = :func:`median_signs` gives the CZ sign test (:func:`czsign_days`),
    :math:`V` = :func:`rank_uniform` the CZ modified rank test (:func:`mrank_days`); the
    :math:`N_t^{-1/2}` standardization is CZ's handling of missing days. ``T`` and ``inflate``
    (:math:`z_t \to z_t N/N_t`) reproduce estudy2 (see :func:`corrado_days`). NaN where a window
    has no observed day or :math:`S` is zero.
    """
    V = np.asarray(V, float)
    ok = np.isfinite(V)
    return std_sum_from_sums(np.where(ok, V, 0.0).sum(axis=0), ok.sum(axis=0), V.shape[0],
                             float(np.abs(V[ok]).max()) if ok.any() else np.nan, windows, T=T, inflate=inflate)


def std_sum_from_sums(total: np.ndarray, n: np.ndarray, rows: int, absmax: float, windows: list[np.ndarray],
                      T: float | None = None, inflate: bool = False) -> np.ndarray:
    r""":func:`std_sum_days` from its sufficient statistics over the group's events: per column
    :math:`\sum_i V_{it}` (``total``) and :math:`N_t` (``n``), the number of events (``rows``) and
    :math:`\max|V|`; additive over disjoint sets of events (see :func:`corrado_from_sums`)."""
    n = np.asarray(n)
    have = n > 0
    out = np.full(len(windows), np.nan)
    if not have.any():
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(have, np.asarray(total, float) / np.sqrt(np.maximum(n, 1)), 0.0)
    if inflate:
        z = z * rows / np.maximum(n, 1)
    s = np.sqrt(np.sum(z[have] ** 2) / (have.sum() if T is None else T))
    if _degenerate(s, np.sqrt(rows) * absmax):
        return out
    if isinstance(windows, np.ndarray) and windows.ndim == 1:      # one column per "window": every day
        return np.where(have[windows], z[windows] / s, np.nan)
    for k, cols in enumerate(windows):
        c = np.asarray(cols, int)
        c = c[have[c]] if c.size else c
        if c.size:
            out[k] = z[c].sum() / (np.sqrt(c.size) * s)
    return out


def czsign_days(ar: np.ndarray, windows: list[np.ndarray], **kw) -> np.ndarray:
    r"""Corrado & Zivney (1992) sign test: :func:`std_sum_days` of :func:`median_signs` of the
    abnormal returns over estimation + event days (robust to skewness: signs are taken around each
    event's own median, not zero). Multi-day windows cumulate the daily :math:`z_t` (Cowan 1992)."""
    return std_sum_days(median_signs(ar), windows, **kw)


def mrank_days(ar: np.ndarray, windows: list[np.ndarray], **kw) -> np.ndarray:
    r"""Corrado & Zivney (1992) modified rank test ("modified rank", as estudy2's
    ``modified_rank_test``): :func:`std_sum_days` of the scaled mid-ranks
    :math:`U_{it} = K_{it}/(T_i+1) - \tfrac12` (:func:`rank_uniform`). It differs from
    :func:`corrado_t` in standardizing each day's sum by :math:`\sqrt{N_t}` instead of averaging
    (so days with few events weigh less), which is how CZ handle missing returns."""
    return std_sum_days(rank_uniform(ar), windows, **kw)


def hall_t(x: np.ndarray, cs: CrossSection | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Hall (1992) skewness-corrected t of a mean (as reported by EventStudyTools for CAARs).

    With :math:`S = \bar x / s` (:math:`s` the cross-sectional s.d., divisor N−1) and the sample
    skewness :math:`\hat\gamma = \frac{N}{(N-1)(N-2)}\sum_i (x_i-\bar x)^3 / s^3`,

    .. math:: t_{skew} = \sqrt N\Big(S + \tfrac13\hat\gamma S^2 + \tfrac1{27}\hat\gamma^2 S^3
              + \tfrac{1}{6N}\hat\gamma\Big) \sim t_{N-1}

    Hall's monotone transformation removes the first-order skewness bias of the t statistic,
    which matters for the right-skewed CARs of biotech news (Hall 1992, Annals of Statistics 20;
    Lyon, Barber & Tsai 1999 use it for long-run returns). Assumes independent events. NaN for
    N < 3 or a degenerate s.

    Each cube is the product :math:`d\cdot d\cdot d` of the deviation (two roundings, so within about
    one unit in the last place of :math:`d^3`): numpy's ``d ** 3`` calls the library ``pow``, whose vector
    form takes ~60 ns per negative value on an AVX-512 build and whose last bit depends on the platform
    (SVML or libm), for no accuracy that matters here; ``t`` differs from the ``pow`` form by ~1e-15 relative.
    """
    x = np.asarray(x, float)
    cs = cross_sectional(x, median=False) if cs is None else cs     # ``cs``: cross_sectional(x), when the caller has it
    ok = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        d = x - cs.mean if ok.all() else np.where(ok, x - cs.mean, 0.0)
        m3 = (d * d * d).sum(axis=0)
    return hall_from_sums(cs, m3)


def hall_from_sums(cs: CrossSection, m3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":func:`hall_t` from :func:`cross_sectional`'s summary ``cs`` and the sum of cubed deviations from its mean
    over the finite values, :math:`\sum_i (x_i-\bar x)^3` (each cube the product :math:`d\cdot d\cdot d`)."""
    n = cs.n
    with np.errstate(invalid="ignore", divide="ignore"):
        g = n / ((n - 1) * (n - 2)) * m3 / cs.sd**3
        S = cs.mean / cs.sd
        t = np.sqrt(n) * (S + g * S**2 / 3 + g**2 * S**3 / 27 + g / (6 * n))
    t = np.where(np.isfinite(cs.t), t, np.nan)
    return t, two_sided_p_t(t, n - 1)


def binom_two_sided_p(k: np.ndarray, n: np.ndarray, p: np.ndarray | float = 0.5) -> np.ndarray:
    r"""Exact two-sided binomial p-value of ``k`` successes in ``n`` trials (vectorised).

    :math:`P = \sum_{j:\,f(j)\le f(k)} f(j)`, :math:`f` the Bin(n, p) probability function (the
    "minimum likelihood" two-sided p of ``scipy.stats.binomtest``, with its relative tolerance
    1e-7). As there: *k*'s own tail is :math:`P(X \le k)` (or :math:`P(X \ge k)`), and on the other
    side of the mean :math:`f` is monotone, so the other tail starts where bisection finds
    :math:`f(j) \le f(k)`. NaN where ``n = 0`` or ``p`` is not in (0, 1).
    """
    k, n, p = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(p, float))
    out = np.full(k.shape, np.nan)
    valid = (n > 0) & (p > 0) & (p < 1) & np.isfinite(k)
    if not valid.any():
        return out
    kv, nv, pv = k[valid], n[valid], p[valid]
    thr = _binom_pmf(kv, nv, pv) * (1 + 1e-7)
    mean = nv * pv
    res = np.ones(kv.shape)
    # below the mean: add the upper tail from the first j >= ceil(np) whose probability is <= f(k)
    # (f is non-increasing there: bisection, O(log n) evaluations per test instead of n + 1)
    lo_side = kv < mean
    if lo_side.any():
        kk, nn, pp, tt = kv[lo_side], nv[lo_side], pv[lo_side], thr[lo_side]
        ni = nn.astype(np.int64)
        lo, hi = np.ceil(nn * pp), nn + 1
        while (lo < hi).any():
            mid = np.floor((lo + hi) / 2)
            ok = _binom_pmf(mid, nn, pp) <= tt
            hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1)
        tail = special.bdtrc(np.maximum(lo - 1, 0).astype(np.int64), ni, pp)       # P(X >= lo)
        upper = np.where(lo > nn, 0.0, np.where(lo <= 0, 1.0, tail))
        res[lo_side] = special.bdtr(kk.astype(np.int64), ni, pp) + upper
    # above the mean: add the lower tail up to the last j <= floor(np) whose probability is <= f(k)
    hi_side = kv > mean
    if hi_side.any():
        kk, nn, pp, tt = kv[hi_side], nv[hi_side], pv[hi_side], thr[hi_side]
        ni = nn.astype(np.int64)
        lo, hi = np.full(kk.shape, -1.0), np.floor(nn * pp)
        while (lo < hi).any():
            mid = np.floor((lo + hi + 1) / 2)
            ok = _binom_pmf(mid, nn, pp) <= tt
            lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid - 1)
        lower = np.where(lo < 0, 0.0, special.bdtr(np.maximum(lo, 0).astype(np.int64), ni, pp))
        own = special.bdtrc(np.maximum(kk - 1, 0).astype(np.int64), ni, pp)           # P(X >= k)
        res[hi_side] = lower + np.where(kk <= 0, 1.0, own)
    out[valid] = np.minimum(1.0, res)
    return out


def _binom_pmf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    r"""Bin(n, p) probability of *k* (0 outside 0..n), from log-gamma:
    :math:`\exp[\ln\Gamma(n+1) - \ln\Gamma(k+1) - \ln\Gamma(n-k+1) + k\ln p + (n-k)\ln(1-p)]`
    (relative error ~1e-10 at n = 10^6, far inside the 1e-7 tolerance of the two-sided p)."""
    k, n, p = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(p, float))
    inside = (k >= 0) & (k <= n)
    kk = np.where(inside, k, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lg = (special.gammaln(n + 1) - special.gammaln(kk + 1) - special.gammaln(n - kk + 1)
              + special.xlogy(kk, p) + special.xlog1py(n - kk, -p))
    return np.where(inside, np.exp(lg), 0.0)


def sign_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(number of positive values, number observed) along axis 0."""
    ok = np.isfinite(x)
    return np.where(ok, x > 0, False).sum(axis=0), ok.sum(axis=0)


def qvalues(p: np.ndarray, method: str) -> np.ndarray:
    r"""Multiple-testing adjusted p-values over one family (NaN p-values are left out).

    ``method="bh"``: Benjamini & Hochberg (1995) false-discovery-rate q-values,
    :math:`q_{(j)} = \min_{l \ge j} \min(1, m\,p_{(l)}/l)` (as ``statsmodels.stats.multitest.fdrcorrection``;
    written out so a study does not import statsmodels);
    ``method="holm"``: Holm (1979) family-wise adjusted p-values,
    :math:`\tilde p_{(j)} = \max_{l \le j} \min(1, (m-l+1)\,p_{(l)})` (the formula of statsmodels'
    ``multipletests(method="holm")``, written out because that function calls ``gc.collect()`` on
    every call, ~0.1 s each).
    """
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    if method == "bh":
        v = p[ok]
        order = np.argsort(v, kind="stable")
        m = v.size
        adj = np.minimum(1.0, np.minimum.accumulate((v[order] * m / np.arange(1, m + 1))[::-1])[::-1])
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    elif method == "holm":
        v = p[ok]
        order = np.argsort(v, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate(v[order] * np.arange(v.size, 0, -1)))
        res = np.empty(v.size)
        res[order] = adj
        out[ok] = res
    else:
        raise ValueError(f"method {method!r}: bh or holm")
    return out


#: draws per block of replications of :func:`bootstrap_mean_ci_days` (bounds its count matrix: 160 MB)
BOOT_CHUNK_DRAWS = 20_000_000


def bootstrap_mean_ci_days(x: np.ndarray, level: float = 0.95, reps: int = 2000,
                           seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Percentile bootstrap intervals for the mean of every column (day) at once, resampling *events*.

    Each of the ``reps`` replications draws N events with replacement (one draw shared by all days, a
    case bootstrap of the group); on day :math:`d` the replication's mean is the mean of the drawn
    events observed that day,

    .. math:: \bar x^{*}_{rd} = \frac{\sum_i W_{ri} x_{id} 1[x_{id}\ \text{observed}]}
                                    {\sum_i W_{ri} 1[x_{id}\ \text{observed}]},

    with :math:`W_{ri}` the number of times event *i* is drawn in replication *r*; the interval is the
    :math:`(1-level)/2` and :math:`(1+level)/2` quantiles over *r* (Efron & Tibshirani 1993). With no
    missing day this is the ordinary percentile bootstrap of each day's mean. Computed as matrix
    products, so all days cost about as much as one: the sums :math:`W x`, and the counts
    :math:`W 1[\text{observed}]` only for the days some event misses (elsewhere every count is N, exactly).
    The quantiles are numpy's (linear interpolation; ``nanquantile`` only for a day where some replication
    drew no observed event). NaN where a day has fewer than 2 observations.
    """
    x = np.asarray(x, float)
    n, D = x.shape
    lo, hi = np.full(D, np.nan), np.full(D, np.nan)
    obs = np.isfinite(x)
    ok = obs.sum(axis=0) >= 2
    if n < 2 or not ok.any():
        return lo, hi
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x0 = np.where(obs, x, 0.0)[:, ok]
    gaps = ~obs[:, ok].all(axis=0)                   # days some event misses: their counts need the draws
    w_obs = obs[:, ok][:, gaps].astype(float)
    sums = np.empty((reps, x0.shape[1]))
    counts = np.full_like(sums, float(n))            # a replication draws n events: W's rows sum to n
    chunk = max(1, int(BOOT_CHUNK_DRAWS // n))
    for s in range(0, reps, chunk):
        k = min(chunk, reps - s)
        W = _draw_counts(rng, n, k)
        sums[s:s + k] = W @ x0
        if gaps.any():
            counts[s:s + k, gaps] = W @ w_obs
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    a = (1 - level) / 2
    q = np.empty((2, means.shape[1]))
    empty = np.isnan(means).any(axis=0)            # a replication that drew no event observed that day
    q[:, ~empty] = np.quantile(means[:, ~empty], [a, 1 - a], axis=0)
    if empty.any():
        q[:, empty] = np.nanquantile(means[:, empty], [a, 1 - a], axis=0)
    lo[ok], hi[ok] = q[0], q[1]
    return lo, hi


def _draw_counts(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``k`` case resamples of ``n`` events as counts: ``W[r, i]`` = times event *i* is drawn in resample *r*,
    from ``rng.integers(0, n, size=(k, n))``. The draws are taken as int32, the same numbers as the default
    int64 for a range below 2**32 (numpy draws 32-bit words for both; tested), and counted in float64 by
    ``numpy.add.at`` (exact: small integers), with no int64 copy and no conversion of the counts; k·n stays
    below 2**31 (the caller's chunks hold at most :data:`BOOT_CHUNK_DRAWS` draws, or one resample)."""
    idx = rng.integers(0, n, size=(k, n), dtype=np.int32)
    idx += (n * np.arange(k, dtype=np.int32))[:, None]
    W = np.zeros((k, n))
    np.add.at(W.reshape(-1), idx.reshape(-1), 1.0)
    return W


def bootstrap_mean_ci(x: np.ndarray, level: float = 0.95, reps: int = 2000,
                      seed: int | np.random.Generator = 0) -> tuple[float, float]:
    r"""Percentile bootstrap interval for the mean (Efron & Tibshirani 1993), seeded.

    ``reps`` resamples of the N observed values with replacement; the interval is the
    :math:`(1-level)/2` and :math:`(1+level)/2` quantiles of the resampled means.
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return float("nan"), float("nan")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    means = np.empty(reps)
    chunk = max(1, int(2e7 // x.size))
    for s in range(0, reps, chunk):
        k = min(chunk, reps - s)
        means[s:s + k] = x[rng.integers(0, x.size, size=(k, x.size))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)
