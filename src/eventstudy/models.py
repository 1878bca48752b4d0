r"""Normal-return models, fitted for all events at once.

Every model is a batched least-squares fit over the estimation window of each event
(MacKinlay 1997, sec. 4; Campbell, Lo & MacKinlay 1997, ch. 4). With ``M_i`` usable
estimation days for event *i* and regressors :math:`z_t` (``p`` of them) the model is

.. math::  R_{it} = \alpha_i + z_{it}'\beta_i + \varepsilon_{it},\qquad
           \hat\sigma_i^2 = \frac{1}{M_i-k}\sum_{t\in\text{est}} \hat\varepsilon_{it}^2

with ``k = p + 1`` parameters. The out-of-sample forecast error of an abnormal return
on event day :math:`t` has variance :math:`\sigma_i^2 C_{it}` with

.. math::  C_{it} = 1 + \frac{1}{M_i} + (z_{it}-\bar z_i)' S_i^{-1} (z_{it}-\bar z_i),\qquad
           S_i = \sum_{\text{est}} (z_{is}-\bar z_i)(z_{is}-\bar z_i)'

(Patell 1976; CLM 1997 eq. 4.4.8 generalised). The models:

=================  ======================================  ====  =========================
name               regressors z                            k     residual variance d.f.
=================  ======================================  ====  =========================
constant-mean      none (R = μ + ε)                        1     M − 1
market-adjusted    none; AR = R − R_m, α=0, β=1 imposed    0     M − 1 (demeaned AR)
market             benchmark return R_m                    2     M − 2
ff3                Mkt-RF, SMB, HML on R − RF              4     M − 4
carhart            ff3 + Mom                               5     M − 5
ff5                Mkt-RF, SMB, HML, RMW, CMA on R − RF    6     M − 6
=================  ======================================  ====  =========================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._names import FACTOR_SETS, MODELS  # noqa: F401  (re-exported)

#: a design whose regressor cross-product matrix is worse conditioned than this is singular
MAX_CONDITION = 1e12


@dataclass
class ModelFit:
    """Batched fit of one normal-return model (arrays over events; see module docstring).

    ``expected`` is the normal return on every panel day (NaN where a regressor is
    missing). ``zdev`` are the regressors minus their estimation mean and ``sinv`` the
    inverse of their centred cross-product, kept to form forecast-error variances.
    """

    model: str
    param_names: tuple[str, ...]
    params: np.ndarray            # (n, k)
    s2: np.ndarray                # (n,)
    nobs: np.ndarray              # (n,) usable estimation days M_i
    df_resid: np.ndarray          # (n,)
    expected: np.ndarray          # (n, D)
    intercept: bool
    zdev: np.ndarray | None = None   # (n, D, p)
    sinv: np.ndarray | None = None   # (n, p, p)
    singular: np.ndarray | None = None  # (n,) bool

    def forecast_factor(self, rows: np.ndarray | None = None, cols: np.ndarray | slice | None = None) -> np.ndarray:
        r"""(n, D) :math:`C_{it}` so that :math:`\operatorname{Var}(AR_{it}) = \sigma_i^2 C_{it}` out of sample.

        ``1`` for market-adjusted (no estimated parameters), ``1 + 1/M`` for constant-mean,
        ``1 + 1/M + (z−z̄)'S⁻¹(z−z̄)`` for regression models (Patell 1976). ``rows`` (event positions) and
        ``cols`` (day positions or a slice): only those, ``forecast_factor()[rows][:, cols]`` computed for
        them alone (the same values).
        """
        def pick(a: np.ndarray, by_day: bool = False) -> np.ndarray:
            a = a if rows is None else a[rows]
            return a[:, cols] if by_day and cols is not None else a

        nobs = pick(self.nobs)
        n = len(nobs)
        if self.intercept and self.zdev is not None and self.zdev.shape[2] == 1:
            # one regressor (market model): one pass, the same operations as below bit for bit
            z = pick(self.zdev[..., 0], by_day=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                return (1.0 + 1.0 / nobs[:, None]) + (z * pick(self.sinv[:, 0, :])) * z
        days = self.expected.shape[1] if cols is None else np.arange(self.expected.shape[1])[cols].size
        base = np.ones((n, days))
        if not self.intercept:
            return base
        with np.errstate(divide="ignore", invalid="ignore"):
            base = base + 1.0 / nobs[:, None]
        if self.zdev is not None:
            zd = pick(self.zdev, by_day=True)
            base = base + np.einsum("ndp,npq,ndq->nd", zd, pick(self.sinv), zd)
        return base

    def car_variance_factor(self, in_window: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
        r"""Exact :math:`\operatorname{Var}(CAR_i)/\sigma_i^2` over the days where ``in_window`` (n, D) is True.

        .. math:: L + L^2/M + \Big(\sum_{t\in w} (z_t-\bar z)\Big)' S^{-1}\Big(\sum_{t\in w}(z_t-\bar z)\Big)

        (Campbell, Lo & MacKinlay 1997, ch. 4: for the market model
        :math:`\sigma^2[L + L^2/M + (\sum_t (R_{mt}-\bar R_m))^2/\sum_{est}(R_m-\bar R_m)^2]`).
        ``L`` counts only observed days. ``in_window`` may cover only the panel ``columns``.
        """
        L = in_window.sum(axis=1).astype(float)
        if not self.intercept:
            return L
        with np.errstate(divide="ignore", invalid="ignore"):
            out = L + L**2 / self.nobs
        if self.zdev is not None:
            if self.zdev.shape[2] == 1:   # one regressor: the same sums and products as below, bit for bit
                dz1 = np.where(in_window, self.zdev[:, columns, 0], 0.0).sum(axis=1)
                return out + (dz1 * self.sinv[:, 0, 0]) * dz1
            dz = np.where(in_window[..., None], self.zdev[:, columns], 0.0).sum(axis=1)
            out = out + np.einsum("np,npq,nq->n", dz, self.sinv, dz)
        return out


def _masked(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, x, 0.0)


def fit_constant_mean(y: np.ndarray, est: np.ndarray) -> ModelFit:
    r"""Constant-mean-return model: :math:`E[R_{it}] = \mu_i`, :math:`\hat\mu_i` = estimation-window mean."""
    est = est & np.isfinite(y)
    m = est.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = _masked(y, est).sum(axis=1) / m
        ssr = (_masked(y - mu[:, None], est) ** 2).sum(axis=1)
        s2 = ssr / (m - 1)
    expected = np.broadcast_to(mu[:, None], y.shape).copy()
    return ModelFit("constant-mean", ("mu",), mu[:, None], s2, m, m - 1, expected, intercept=True)


def fit_market_adjusted(y: np.ndarray, market: np.ndarray, est: np.ndarray) -> ModelFit:
    r"""Market-adjusted model: :math:`E[R_{it}] = R_{mt}` (α = 0, β = 1 imposed, nothing estimated).

    :math:`\hat\sigma_i^2` is the sample variance (d.f. M − 1) of :math:`R_{it}-R_{mt}` over the
    estimation window (Brown & Warner 1985; MacKinlay 1997, sec. 4.1).
    """
    est = est & np.isfinite(y) & np.isfinite(market)
    m = est.sum(axis=1).astype(float)
    d = y - market
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _masked(d, est).sum(axis=1) / m
        s2 = (_masked(d - mean[:, None], est) ** 2).sum(axis=1) / (m - 1)
    params = np.column_stack([np.zeros_like(m), np.ones_like(m)])
    return ModelFit("market-adjusted", ("alpha", "beta"), params, s2, m, m - 1, market.copy(), intercept=False)


def fit_ols(y: np.ndarray, z: np.ndarray, est: np.ndarray, name: str,
            regressor_names: tuple[str, ...], jit: bool = False) -> ModelFit:
    r"""Batched OLS of ``y`` on a constant and ``z`` over each event's estimation window.

    Parameters
    ----------
    y : (n, D) dependent returns (NaN = not observed)
    z : (n, D, p) regressors
    est : (n, D) bool, the estimation window; days with any NaN are dropped from it

    Notes
    -----
    Solved in centred form (Frisch–Waugh): :math:`\hat\beta = S^{-1}\sum (z-\bar z)(y-\bar y)`,
    :math:`\hat\alpha = \bar y - \bar z'\hat\beta`, :math:`\hat\sigma^2 = SSR/(M-p-1)`.
    Events with fewer than ``p + 2`` usable days or a singular design get NaN parameters and
    ``singular = True``. Singular: a regressor constant up to rounding over the usable days
    (:math:`S_{kk}\cdot` :data:`MAX_CONDITION` :math:`\le \sum z_k^2`: its centred sum of squares is
    rounding noise next to its raw one, e.g. a constant benchmark log volume log(1024), whose mean is
    not exact in binary), or :math:`S` worse conditioned than :data:`MAX_CONDITION`.

    ``jit=True`` with one regressor (``p = 1``: the market model) computes the same fit with the
    compiled kernel :func:`eventstudy._fused.fit_ols1` (equal up to summation order, ~1e-16); with
    more regressors it has no effect. A study chooses once (:func:`eventstudy._fused.study_jit_for`).
    """
    n, D, p = z.shape
    if jit and p == 1:
        from ._fused import fit_ols1

        return fit_ols1(y, z[..., 0], est, name, regressor_names)
    est = est & np.isfinite(y) & np.isfinite(z).all(axis=2)
    m = est.sum(axis=1).astype(float)
    w = est.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.einsum("nd,ndp->np", w, np.nan_to_num(z)) / m[:, None]
        ybar = _masked(y, est).sum(axis=1) / m
    zc = np.where(est[..., None], z - zbar[:, None, :], 0.0)
    yc = _masked(y - ybar[:, None], est)
    zt = zc.transpose(0, 2, 1)
    s = zt @ zc
    sy = (zt @ yc[..., None])[..., 0]
    ok = m >= p + 2
    with np.errstate(invalid="ignore", over="ignore"):
        raw = (np.where(est[..., None], z, 0.0) ** 2).sum(axis=1)        # sum of z_k^2 over the usable days
        ok &= (np.diagonal(s, axis1=1, axis2=2) * MAX_CONDITION > raw).all(axis=1)
    ok[ok] = np.linalg.cond(s[ok]) < MAX_CONDITION if ok.any() else ok[ok]
    beta = np.full((n, p), np.nan)
    sinv = np.full((n, p, p), np.nan)
    if ok.any():
        sinv[ok] = np.linalg.inv(s[ok])
        beta[ok] = np.einsum("npq,nq->np", sinv[ok], sy[ok])
    alpha = ybar - np.einsum("np,np->n", zbar, beta)
    expected = alpha[:, None] + np.einsum("ndp,np->nd", z, beta)
    resid = _masked(y - expected, est)
    df = m - p - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(ok, (resid**2).sum(axis=1) / df, np.nan)
    params = np.column_stack([alpha, beta])
    return ModelFit(name, ("alpha",) + tuple(regressor_names), params, s2, m, df, expected, intercept=True,
                    zdev=z - zbar[:, None, :], sinv=sinv, singular=~ok)
