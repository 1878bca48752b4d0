r"""Compiled one-pass kernels for the one-regressor fits: the market model and the log-volume market model.

:func:`eventstudy.models.fit_ols` and :func:`eventstudy.volume.abnormal_volume` are written with numpy
over whole (n, D) arrays (n events, D relative days): each quantity is a full pass with its
temporaries. For one regressor (``p = 1``: intercept + one regressor, the market model of MacKinlay
1997, sec. 4.1, and the log-volume market model of Campbell & Wasley 1996) the kernels here do the
same work row by row, while the row is in cache:

* :func:`fit_ols1` — the OLS fit of :func:`eventstudy.models.fit_ols` for ``p = 1``. With the usable
  days :math:`U_i = \{t \in est: y_{it}, z_{it} \text{ finite}\}`, :math:`M_i = |U_i|`,

  .. math:: \bar z_i = \frac{1}{M_i}\sum_{U_i} z_{it},\quad \bar y_i = \frac{1}{M_i}\sum_{U_i} y_{it},\quad
            S_{xx} = \sum_{U_i}(z_{it}-\bar z_i)^2,\quad S_{xy} = \sum_{U_i}(z_{it}-\bar z_i)(y_{it}-\bar y_i)

  .. math:: \hat\beta_i = S_{xy}/S_{xx},\quad \hat\alpha_i = \bar y_i - \bar z_i\hat\beta_i,\quad
            \hat\sigma_i^2 = \frac{1}{M_i-2}\sum_{U_i}(y_{it}-\hat\alpha_i-\hat\beta_i z_{it})^2

  (Campbell, Lo & MacKinlay 1997, eqs. 4.4.1–4.4.4), the normal return
  :math:`\hat\alpha_i + \hat\beta_i z_{it}` on every day, and what the forecast-error variance needs,
  :math:`z_{it}-\bar z_i` and :math:`1/S_{xx}` (CLM 1997 eq. 4.4.8). An event is singular (NaN
  parameters) when :math:`M_i < 3` or the regressor is constant up to rounding,
  :math:`S_{xx}\cdot` ``MAX_CONDITION`` :math:`\le \sum_{U_i} z_{it}^2` (the rule of the numpy path,
  :func:`eventstudy.models.fit_ols`).
* :func:`abnormal_volume_numba` — every measure of :mod:`eventstudy.volume` (log volume
  :math:`v = \log(1+V)`, its estimation mean and s.d., ``abvol_log``, ``vol_z``, the −20…−1 and
  −63…−1 baselines and ratios, and ``abvol_mm`` from the log-volume market model through the same
  one-regressor fit) in one kernel per row. In a study the log volumes are not computed per event and day:
  the kernel reads them from the market grid's :func:`log1p_grid` (one log per ticker and session, however
  many events' windows cover it; :class:`GridLogs`), the same bits.

The results equal the numpy path's up to rounding: sums here run day by day (numpy sums pairwise or by
BLAS), means are formed from the differences to the row's first usable value (more accurate for log
volumes around 14), and :math:`\log(1+V)` is ``log(1 + V)`` for V ≥ 1 (within ~1.5 ulp of ``log1p``).
About 1e-16 relative, or 1e-15 absolute for differences of log volumes; ``tests/test_fused.py`` checks
1e-12.
Because the two paths are not bit-identical, a study chooses one of them once (:func:`study_jit_for`,
the same rule as :func:`eventstudy.suffstats.study_jit`): every chunk of a chunked study then computes
the same abnormal returns as the one-piece study, and the rank tests rank identical values.

The kernels are compiled on first use (``numba.njit`` with one explicit signature, ``cache=True``,
``nogil=True``, never ``fastmath``: NaN is handled by explicit ``isfinite`` tests), so importing this
module does not import numba. Blocks of :data:`BLOCK` rows run on numba's thread count; each row is
computed independently, so the result does not depend on the number of threads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: rows per block of work (the unit of parallelism; rows are independent)
BLOCK = 1024

#: :data:`eventstudy.models.MAX_CONDITION`, frozen into the compiled kernels (a test checks they agree)
MAX_CONDITION = 1e12


def study_jit_for(spec, n_events: int) -> bool:
    """Whether a study of ``n_events`` events with ``spec`` takes the compiled path: the rule of
    :func:`eventstudy.suffstats.study_jit` (the study's GRANK work), which a chunked study evaluates once
    for the whole study (:func:`eventstudy.chunked.run_chunked`): numba is then loaded anyway."""
    from .suffstats import study_jit

    return study_jit(n_events, spec.estimation[1] - spec.estimation[0] + 1,
                     len(spec.windows) + spec.span[1] - spec.span[0] + 1)


# ---- compiled code (numba compiles these functions; as Python they are never called) ------------------
def _ols1_row(y, z, est, expected, zdev):  # pragma: no cover - compiled by numba
    r"""OLS of ``y`` on a constant and ``z`` over the usable days of one row (module docstring); writes
    :math:`\hat\alpha + \hat\beta z_t` into ``expected`` and :math:`z_t - \bar z` into ``zdev`` on every
    day; returns ``(M, alpha, beta, s2, 1/Sxx, ok)`` (``ok`` 1.0 or 0.0; NaN parameters when not ok)."""
    D = y.shape[0]
    m = 0
    z0 = np.nan
    y0 = np.nan
    sz = 0.0
    sy = 0.0
    for t in range(D):
        if est[t] and np.isfinite(y[t]) and np.isfinite(z[t]):
            if m == 0:
                z0 = z[t]
                y0 = y[t]
            m += 1
            sz += z[t] - z0
            sy += y[t] - y0
    mf = float(m)
    zbar = z0 + sz / mf       # NaN when M = 0 (error_model="numpy": 0/0 is NaN, as in numpy)
    ybar = y0 + sy / mf
    sxx = 0.0
    sxy = 0.0
    szz = 0.0
    for t in range(D):
        if est[t] and np.isfinite(y[t]) and np.isfinite(z[t]):
            dz = z[t] - zbar
            sxx += dz * dz
            sxy += dz * (y[t] - ybar)
            szz += z[t] * z[t]
    # singular: too few days, or a regressor constant up to rounding (models.fit_ols's rule)
    ok = m >= 3 and np.isfinite(sxx) and sxx * MAX_CONDITION > szz
    if ok:
        sinv = 1.0 / sxx
        beta = sinv * sxy
    else:
        sinv = np.nan
        beta = np.nan
    alpha = ybar - zbar * beta
    ssr = 0.0
    for t in range(D):
        e = alpha + z[t] * beta
        expected[t] = e
        zdev[t] = z[t] - zbar
        if est[t] and np.isfinite(y[t]) and np.isfinite(z[t]):
            r = y[t] - e
            ssr += r * r
    s2 = ssr / (mf - 2.0) if ok else np.nan
    return mf, alpha, beta, s2, sinv, 1.0 if ok else 0.0


def _log1p(x):  # pragma: no cover - compiled by numba
    r""":math:`\log(1+x)`: ``log(1 + x)`` from x = 1 on (1 + x then rounds by at most half an ulp of a
    number ≥ 2, so the result is within ~1.5 ulp of ``log1p``; volumes are mostly whole numbers, for which
    1 + x is exact), ``log1p`` below (and for NaN); ``log`` costs a third of ``log1p``."""
    if x >= 1.0:
        return np.log(1.0 + x)
    return np.log1p(x)


def _ols1_block(y, z, est, lo, hi, expected, zdev, nobs, alpha, beta, s2, sinv, ok):  # pragma: no cover
    """:func:`_ols1_row` for rows ``lo..hi-1``, the per-row results into the (n,) outputs."""
    for i in range(lo, hi):
        r = _ols1_row(y[i], z[i], est[i], expected[i], zdev[i])
        nobs[i] = r[0]
        alpha[i] = r[1]
        beta[i] = r[2]
        s2[i] = r[3]
        sinv[i] = r[4]
        ok[i] = r[5] != 0.0


def _log1p_rows(x, lo, hi, out):  # pragma: no cover - compiled by numba
    """:func:`_log1p` of every value of rows ``lo..hi-1`` of ``x`` into ``out``."""
    for i in range(lo, hi):
        for t in range(x.shape[1]):
            out[i, t] = _log1p(x[i, t])


def _volume_block(vol, logv, vrow, col0, brow, has_bench, estcol, c20, c63, lo, hi,
                  r20, r63, ab, mm, vz, b20, b63, sd, nest):  # pragma: no cover - compiled by numba
    """Every volume measure (module docstring of :mod:`eventstudy.volume`) for rows ``lo..hi-1``. The log
    volumes are read, not computed: day ``t`` of row ``i`` is ``logv[vrow[i], col0[i] + t]`` (its benchmark's
    ``logv[brow[i], col0[i] + t]``), NaN for a row −1 or a column off ``logv`` (the grid's log volumes,
    :func:`log1p_grid`, one log per ticker and session however many events share it; or the events' own)."""
    D = vol.shape[1]
    S = logv.shape[1]
    v = np.empty(D)
    vb = np.empty(D)
    ex = np.empty(D)
    zd = np.empty(D)
    for i in range(lo, hi):
        m = 0
        v0 = np.nan
        s = 0.0
        n20 = 0
        s20 = 0.0
        n63 = 0
        s63 = 0.0
        r = vrow[i]
        c0 = col0[i]
        for t in range(D):
            c = c0 + t
            lx = logv[r, c] if r >= 0 and c >= 0 and c < S else np.nan
            v[t] = lx
            if estcol[t] and np.isfinite(lx):
                if m == 0:
                    v0 = lx
                m += 1
                s += lx - v0
            x = vol[i, t]
            if np.isfinite(x):
                if c20[t]:
                    n20 += 1
                    s20 += x
                if c63[t]:
                    n63 += 1
                    s63 += x
        mean = v0 + s / float(m)                # NaN when m = 0
        ss = 0.0
        for t in range(D):
            if estcol[t] and np.isfinite(v[t]):
                d = v[t] - mean
                ss += d * d
        sdv = np.sqrt(ss / (m - 1.0))           # as numpy: NaN for m = 1, -0.0 for m = 0
        base20 = s20 / n20 if n20 > 0 else np.nan
        base63 = s63 / n63 if n63 > 0 else np.nan
        sd[i] = sdv
        nest[i] = m
        b20[i] = base20
        b63[i] = base63
        for t in range(D):
            a = v[t] - mean
            ab[i, t] = a
            vz[i, t] = a / sdv if sdv > 0.0 else np.nan
            x = vol[i, t]
            r20[i, t] = x / base20 if base20 > 0.0 else np.nan
            r63[i, t] = x / base63 if base63 > 0.0 else np.nan
        rb = brow[i]
        if has_bench:
            for t in range(D):
                c = c0 + t
                vb[t] = logv[rb, c] if rb >= 0 and c >= 0 and c < S else np.nan
            _ols1_row(v, vb, estcol, ex, zd)
            for t in range(D):
                mm[i, t] = v[t] - ex[t]
        else:
            for t in range(D):
                mm[i, t] = np.nan


_ROW = "f8[::1]"
#: the one signature each function is compiled for (inputs are made C-contiguous float64 / bool first)
_SIGNATURES = {
    "_ols1_row": f"UniTuple(f8, 6)({_ROW}, {_ROW}, b1[::1], {_ROW}, {_ROW})",
    "_log1p": "f8(f8)",
    "_ols1_block": "void(f8[:, ::1], f8[:, ::1], b1[:, ::1], i8, i8, f8[:, ::1], f8[:, ::1], "
                   "f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], b1[::1])",
    "_log1p_rows": "void(f8[:, ::1], i8, i8, f8[:, ::1])",
    "_volume_block": "void(f8[:, ::1], f8[:, ::1], i8[::1], i8[::1], i8[::1], b1, b1[::1], b1[::1], b1[::1], i8, i8, "
                     "f8[:, ::1], f8[:, ::1], f8[:, ::1], f8[:, ::1], f8[:, ::1], f8[::1], f8[::1], f8[::1], i8[::1])",
}
#: functions the kernels call by their module-global name: compiled first, and the global then names
#: the compiled function (numba resolves a kernel's globals when it compiles it)
_HELPERS = ("_ols1_row", "_log1p")
_PYTHON = {name: globals()[name] for name in _SIGNATURES}


@functools.cache
def _jit(name: str):
    """The compiled function ``name``: numba is imported here, on first use, and the function compiled
    eagerly for its one signature (loaded from numba's disk cache when present). Never ``fastmath``;
    ``error_model="numpy"`` so that 0/0 gives NaN as numpy does (the kernels test finiteness explicitly)."""
    import numba

    if name not in _HELPERS:
        for h in _HELPERS:
            globals()[h] = _jit(h)
    return numba.njit(_SIGNATURES[name], cache=True, nogil=True, error_model="numpy")(_PYTHON[name])


def _run_blocks(kernel, n: int) -> None:
    """``kernel(lo, hi)`` over blocks of :data:`BLOCK` rows, on numba's thread count (the kernels release
    the GIL; rows are independent, so the split does not change any value)."""
    from ._kernels import _block_runner, _threads

    nb = -(-n // BLOCK)
    with _block_runner(_threads(nb)) as run:
        run(lambda b: kernel(b * BLOCK, min(n, (b + 1) * BLOCK)), range(nb))


def _rows(name: str, x, shape: tuple[int, ...] | None = None, dtype=np.float64) -> np.ndarray:
    """``x`` as the kernels take it: C-contiguous, writeable (numba's signatures are for writeable arrays;
    a read-only input is copied), of ``dtype``, 2-d and of ``shape`` (else an error naming ``name``)."""
    a = np.require(x, dtype, ["C_CONTIGUOUS", "WRITEABLE"])
    if a.ndim != 2 or (shape is not None and a.shape != shape):
        want = f"shape {shape}" if shape is not None else "a 2-d array (events × days)"
        raise ValueError(f"{name}: expected {want}, got shape {a.shape}")
    return a


# ---- public entry points ------------------------------------------------------------------------------
def fit_ols1(y: np.ndarray, z: np.ndarray, est: np.ndarray, name: str, regressor_names: tuple[str, ...]):
    r"""Compiled :func:`eventstudy.models.fit_ols` for one regressor: ``y`` (n, D), ``z`` (n, D) the regressor
    (not (n, D, 1)), ``est`` (n, D) bool. Returns the same :class:`~eventstudy.models.ModelFit` (module
    docstring for the formulas; ``zdev`` (n, D, 1), ``sinv`` (n, 1, 1))."""
    from .models import ModelFit

    y = _rows("y", y)
    z = _rows("z", z, y.shape)
    est = _rows("est", np.broadcast_to(est, y.shape), y.shape, np.bool_)
    if len(regressor_names) != 1:
        raise ValueError(f"fit_ols1: one regressor name expected, got {regressor_names!r}")
    n, D = y.shape
    expected = np.empty((n, D))
    zdev = np.empty((n, D))
    nobs, alpha, beta, s2, sinv = (np.empty(n) for _ in range(5))
    ok = np.empty(n, np.bool_)
    if n:
        kernel = _jit("_ols1_block")
        _run_blocks(lambda lo, hi: kernel(y, z, est, lo, hi, expected, zdev, nobs, alpha, beta, s2, sinv, ok), n)
    return ModelFit(name, ("alpha",) + tuple(regressor_names), np.column_stack([alpha, beta]), s2, nobs, nobs - 2.0,
                    expected, intercept=True, zdev=zdev[..., None], sinv=sinv[:, None, None], singular=~ok)


def log1p_grid(x: np.ndarray) -> np.ndarray:
    """:func:`_log1p` of every value of the 2-d ``x`` (e.g. a market grid's volumes, tickers × sessions): the
    log volumes :func:`abnormal_volume_numba` reads, the same bits as the ones it would compute per event."""
    x = _rows("x", x)
    out = np.empty(x.shape)
    if x.shape[0]:
        kernel = _jit("_log1p_rows")
        _run_blocks(lambda lo, hi: kernel(x, lo, hi, out), x.shape[0])
    return out


@dataclass(frozen=True)
class GridLogs:
    """Where :func:`abnormal_volume_numba` reads the events' log volumes: ``logv`` (R, S) from :func:`log1p_grid`,
    and per event the row of its stock (``vrow``) and of its benchmark (``brow``; −1: none) and the column of
    its first relative day (``col0``); day ``t`` is column ``col0 + t``, NaN off the grid."""

    logv: np.ndarray
    vrow: np.ndarray
    brow: np.ndarray
    col0: np.ndarray


def abnormal_volume_numba(volume: np.ndarray, bench_volume: np.ndarray | None, rel_days: np.ndarray,
                          est: tuple[int, int], logs: GridLogs | None = None):
    """Compiled :func:`eventstudy.volume.abnormal_volume`: the same :class:`~eventstudy.volume.VolumeMeasures`
    (``volume`` is the array passed in, as in the numpy path). ``logs``: the events' log volumes (and their
    benchmark's) are read from a grid (:class:`GridLogs`) whose cells hold :func:`log1p_grid` of the values
    ``volume`` and ``bench_volume`` were gathered from (a study's market grid: one log per ticker and session,
    not per event and day); without it they are computed here from ``volume`` and ``bench_volume``."""
    from .volume import VolumeMeasures

    vol = _rows("volume", volume)
    n, D = vol.shape
    rel = np.asarray(rel_days)
    if rel.shape != (D,):
        raise ValueError(f"rel_days: expected shape ({D},) (one per volume column), got {rel.shape}")
    has_bench = bench_volume is not None and bool(np.isfinite(bench_volume).any())
    if logs is None:                             # the events' own values: one log per event and day
        rows = np.arange(n, dtype=np.int64)
        logv = log1p_grid(np.concatenate([vol, _rows("bench_volume", bench_volume, vol.shape)]) if has_bench else vol)
        logs = GridLogs(logv, rows, rows + n if has_bench else np.full(n, -1, np.int64), np.zeros(n, np.int64))
    else:
        logs = GridLogs(_rows("logv", logs.logv), *(np.ascontiguousarray(a, dtype=np.int64)
                                                     for a in (logs.vrow, logs.brow, logs.col0)))
        if not (logs.vrow.shape == logs.brow.shape == logs.col0.shape == (n,)):
            raise ValueError(f"logs: vrow, brow and col0 expected of shape ({n},)")
    estcol = np.ascontiguousarray((rel >= est[0]) & (rel <= est[1]))
    c20 = np.ascontiguousarray((rel >= -20) & (rel <= -1))
    c63 = np.ascontiguousarray((rel >= -63) & (rel <= -1))
    r20, r63, ab, mm, vz = (np.empty((n, D)) for _ in range(5))
    b20, b63, sd = (np.empty(n) for _ in range(3))
    nest = np.empty(n, np.int64)
    if n:
        kernel = _jit("_volume_block")
        _run_blocks(lambda lo, hi: kernel(vol, logs.logv, logs.vrow, logs.col0, logs.brow, has_bench, estcol, c20,
                                          c63, lo, hi, r20, r63, ab, mm, vz, b20, b63, sd, nest), n)
    return VolumeMeasures(volume, r20, r63, ab, mm, vz, b20, b63, sd, nest)
