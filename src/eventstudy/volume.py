r"""Abnormal trading volume around events, all events at once (arrays (n_events, n_days)).

Definitions, for event *i*, relative day *t*, volume :math:`V_{it}` and :math:`v_{it} = \log(1 + V_{it})`:

* ``vol_ratio_N`` :math:`= V_{it} / \overline V_i^{(N)}` with :math:`\overline V_i^{(N)}` the mean
  volume of sessions −N…−1 relative to day 0 (fixed per event, so the event does not
  contaminate its own baseline); N = 20 and 63;
* ``abvol_log`` :math:`= v_{it} - \bar v_i^{est}` (mean-adjusted log volume);
* ``abvol_mm`` :math:`= v_{it} - (a_i + b_i v_{mt})`, a log-volume market model fitted by OLS
  over the estimation window on the benchmark's log volume (Campbell & Wasley 1996; Ajinkya &
  Jain 1989 for the log transform);
* ``vol_z`` :math:`= abvol\_log_{it} / s_i^{est}(v)`, the estimation-window s.d. of log volume;
* cumulative abnormal volume over a window: :math:`CAV_i(w) = \sum_{t\in w} abvol\_log_{it}`.

A zero volume is a fact (:math:`v = 0`); a missing volume stays NaN and is never counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .models import fit_ols

if TYPE_CHECKING:  # pragma: no cover
    from ._fused import GridLogs

SPIKE_Z = 3.0


@dataclass
class VolumeMeasures:
    """Per-event, per-day abnormal volume arrays (n, D) and per-event baselines (n,)."""

    volume: np.ndarray
    ratio_20: np.ndarray
    ratio_63: np.ndarray
    abvol_log: np.ndarray
    abvol_mm: np.ndarray
    vol_z: np.ndarray
    base_20: np.ndarray
    base_63: np.ndarray
    sd_est: np.ndarray
    n_est: np.ndarray


def baseline_mean(volume: np.ndarray, rel_days: np.ndarray, n: int) -> np.ndarray:
    """Mean volume over relative days −n…−1 (observed days only; NaN when none)."""
    cols = (rel_days >= -n) & (rel_days <= -1)
    x = volume[:, cols]
    ok = np.isfinite(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok.any(axis=1), np.where(ok, x, 0.0).sum(axis=1) / ok.sum(axis=1), np.nan)


def abnormal_volume(volume: np.ndarray, bench_volume: np.ndarray | None, rel_days: np.ndarray,
                    est: tuple[int, int], jit: bool = False, logs: GridLogs | None = None) -> VolumeMeasures:
    """Compute every measure of the module docstring for all events at once.

    ``jit=True`` computes the same measures with the compiled one-pass kernel
    :func:`eventstudy._fused.abnormal_volume_numba` (equal up to summation order, ~1e-16; a study
    chooses once, :func:`eventstudy._fused.study_jit_for`), which reads the log volumes from ``logs`` (a
    :class:`eventstudy._fused.GridLogs`: one log per ticker and session) when given.
    """
    if jit:
        from ._fused import abnormal_volume_numba

        return abnormal_volume_numba(volume, bench_volume, rel_days, est, logs)
    v = np.log1p(volume)
    est_mask = ((rel_days >= est[0]) & (rel_days <= est[1]))[None, :] & np.isfinite(v)
    m = est_mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(est_mask, v, 0.0).sum(axis=1) / m
        sd = np.sqrt(np.where(est_mask, (v - mean[:, None]) ** 2, 0.0).sum(axis=1) / (m - 1))
        ab = v - mean[:, None]
        z = np.where(sd[:, None] > 0, ab / sd[:, None], np.nan)
        b20 = baseline_mean(volume, rel_days, 20)
        b63 = baseline_mean(volume, rel_days, 63)
        r20 = np.where(b20[:, None] > 0, volume / b20[:, None], np.nan)
        r63 = np.where(b63[:, None] > 0, volume / b63[:, None], np.nan)
    if bench_volume is not None and np.isfinite(bench_volume).any():
        vb = np.log1p(bench_volume)
        fit = fit_ols(v, vb[..., None], est_mask, "volume-market", ("b",))
        mm = v - fit.expected
    else:
        mm = np.full(v.shape, np.nan)
    return VolumeMeasures(volume, r20, r63, ab, mm, z, b20, b63, sd, m)


def cumulative(x: np.ndarray, rel_days: np.ndarray, window: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sum over the observed days of ``window`` and the number of those days (NaN sum when none)."""
    cols = (rel_days >= window[0]) & (rel_days <= window[1])
    w = x[:, cols]
    ok = np.isfinite(w)
    n = ok.sum(axis=1)
    return np.where(n > 0, np.where(ok, w, 0.0).sum(axis=1), np.nan), n


def spike_any(z: np.ndarray, rel_days: np.ndarray, window: tuple[int, int], threshold: float = SPIKE_Z) -> np.ndarray:
    """Per event: 1.0 when some day of the window has vol_z ≥ threshold, 0.0 if none, NaN if no day observed."""
    cols = (rel_days >= window[0]) & (rel_days <= window[1])
    w = z[:, cols]
    ok = np.isfinite(w)
    return np.where(ok.any(axis=1), (np.where(ok, w, -np.inf) >= threshold).any(axis=1).astype(float), np.nan)
