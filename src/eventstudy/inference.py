r"""Test statistics for average abnormal returns, pure functions over arrays.

Each function takes per-event values along axis 0 (NaN = not observed, dropped) and
returns plain arrays, so the same code serves one window (shape (n,)) and every relative
day at once (shape (n, D)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


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


def two_sided_p_t(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided p-value of a Student-t statistic with ``df`` degrees of freedom."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(t) & (df > 0), 2.0 * stats.t.sf(np.abs(t), np.maximum(df, 1)), np.nan)


def two_sided_p_z(z: np.ndarray) -> np.ndarray:
    """Two-sided p-value of a standard-normal statistic."""
    return np.where(np.isfinite(z), 2.0 * stats.norm.sf(np.abs(z)), np.nan)


def cross_sectional(x: np.ndarray) -> CrossSection:
    r"""Cross-sectional t test of a mean abnormal return (Brown & Warner 1985; MacKinlay 1997, eq. 20 with
    the cross-sectional variance estimator, Boehmer et al. 1991 "ordinary cross-sectional test").

    .. math:: \bar x = \frac1N\sum_i x_i,\quad s^2 = \frac{1}{N-1}\sum_i (x_i-\bar x)^2,\quad
              t_{cs} = \frac{\bar x}{s/\sqrt N} \sim t_{N-1}

    Assumes independent events (no event-date clustering); robust to event-induced
    variance changes. NaNs are dropped per column; ``t`` is NaN when ``N < 2`` or ``s = 0``.
    """
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=0) / n
        dev = np.where(ok, x - mean, 0.0)
        sd = np.sqrt((dev**2).sum(axis=0) / (n - 1))
        t = np.where((n >= 2) & (sd > 0), mean / (sd / np.sqrt(n)), np.nan)
        pos = np.where(ok, x > 0, False).sum(axis=0) / n
    median = np.full(mean.shape, np.nan) if np.ndim(mean) else np.nan
    if np.any(n > 0):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(np.where(ok, x, np.nan), axis=0)
    mean = np.where(n > 0, mean, np.nan)
    sd = np.where(n > 1, sd, np.nan)
    return CrossSection(n, mean, median, sd, np.where(n > 0, pos, np.nan), t, two_sided_p_t(t, n - 1))
