r"""Abnormal returns, cumulative abnormal returns and buy-and-hold abnormal returns.

Definitions (MacKinlay 1997; Campbell, Lo & MacKinlay 1997, ch. 4), for event *i* and a
window :math:`w = [\tau_1, \tau_2]` of relative days:

* :math:`AR_{it} = R_{it} - E[R_{it}\mid X_t]` (the model's normal return);
* :math:`CAR_i(w) = \sum_{t \in w} AR_{it}` over the observed days of *w*;
* :math:`\operatorname{Var}[CAR_i(w)] = \hat\sigma_i^2\, V_i(w)` with the exact
  forecast-error factor :math:`V_i(w)` of :meth:`ModelFit.car_variance_factor`;
* :math:`SCAR_i(w) = CAR_i(w) / \sqrt{\operatorname{Var}[CAR_i(w)]}`;
* :math:`BHAR_i(w) = \prod_{t\in w}(1+R_{it}) - \prod_{t\in w}(1+E[R_{it}])` in simple
  returns (Barber & Lyon 1997), whatever the return convention of the study.

Missing days are never filled: the number of observed and missing days of each window
is returned beside the CAR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import ModelFit


def parse_window(text: str) -> tuple[int, int]:
    """Parse ``"a:b"`` (e.g. ``"-1:1"``, ``"-250:-11"``) into integers with ``a <= b``."""
    a, sep, b = str(text).strip().partition(":")
    try:
        lo, hi = int(a), int(b)
    except ValueError:
        raise ValueError(f"window {text!r} is not of the form A:B with integers (e.g. -1:1)") from None
    if not sep or lo > hi:
        raise ValueError(f"window {text!r}: need A:B with A <= B")
    return lo, hi


def window_label(window: tuple[int, int]) -> str:
    return f"{window[0]}:{window[1]}"


@dataclass
class WindowResult:
    """Per-event results for one window (all arrays (n,))."""

    window: tuple[int, int]
    car: np.ndarray
    var: np.ndarray
    n_days: np.ndarray
    n_missing: np.ndarray
    bhar: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.var)

    @property
    def scar(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.car / self.se


def to_simple(r: np.ndarray, log_returns: bool) -> np.ndarray:
    return np.expm1(r) if log_returns else r


def window_mask(rel_days: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """(D,) bool: relative days inside the inclusive window."""
    return (rel_days >= window[0]) & (rel_days <= window[1])


def cumulate(ar: np.ndarray, ret: np.ndarray, expected: np.ndarray, fit: ModelFit, rel_days: np.ndarray,
             window: tuple[int, int], log_returns: bool = False) -> WindowResult:
    """CAR, its exact variance, BHAR and day counts for one window, all events at once."""
    cols = np.flatnonzero(window_mask(rel_days, window))
    sl = slice(cols[0], cols[-1] + 1) if cols.size else slice(0, 0)
    a, r, e = ar[:, sl], ret[:, sl], expected[:, sl]
    obs = np.isfinite(a)
    n_days = obs.sum(axis=1)
    car = np.where(n_days > 0, np.where(obs, a, 0.0).sum(axis=1), np.nan)
    var = np.where(n_days > 0, fit.s2 * fit.car_variance_factor(obs, sl), np.nan)
    gross_r = np.where(obs, 1.0 + to_simple(r, log_returns), 1.0).prod(axis=1)
    gross_e = np.where(obs, 1.0 + to_simple(e, log_returns), 1.0).prod(axis=1)
    bhar = np.where(n_days > 0, gross_r - gross_e, np.nan)
    n_missing = cols.size - n_days
    return WindowResult(window, car, var, n_days, n_missing, bhar)
