r"""Calendar-time portfolios (Jaffe 1974; Mandelker 1974; Fama 1998; Mitchell & Stafford 2000).

For every calendar period *t* (session or month) the portfolio holds, with equal weights, the
stocks that had an event whose holding window :math:`[\tau_a, \tau_b]` (relative days) covers *t*.
A stock with several events covering *t* is held once. Its excess return is regressed on a
factor model,

.. math:: R_{pt} - R_{ft} = \alpha + \beta'f_t + e_t,

and :math:`\hat\alpha` is the average abnormal return per period. Because every period enters
once, cross-sectional dependence of event firms that overlap in calendar time is absorbed by
the portfolio variance (Fama 1998; Mitchell & Stafford 2000 prefer this method to BHAR tests
for that reason). Periods with fewer than ``min_stocks`` holdings are left out.

t statistics: classical OLS, and Newey & West (1987) HAC with Bartlett weights and
:math:`\lfloor 4 (T/100)^{2/9}\rfloor` lags by default (Newey & West 1994). The annualised alpha
compounds the per-period alpha: :math:`(1+\hat\alpha)^{252} - 1` (daily) or
:math:`(1+\hat\alpha)^{12} - 1` (monthly).

Monthly portfolios: a stock is held in month *m* when the last session of *m* lies in its
holding window and it has a price inside *m*; its monthly return runs from its last price at or
before the previous month end to its last price at or before this month end (so a delisting
month counts the partial month). Monthly factors compound the daily files:
:math:`R_{m} = \prod(1 + (Mkt\text{-}RF) + RF) - 1`, :math:`RF_m = \prod(1+RF)-1`,
:math:`(Mkt\text{-}RF)_m = R_m - RF_m`, and :math:`\prod(1+f)-1` for the long–short factors
(an approximation: Ken French's monthly files are built from monthly portfolio returns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FACTOR_MODELS: dict[str, tuple[str, ...]] = {
    "capm": ("Mkt-RF",),
    "ff3": ("Mkt-RF", "SMB", "HML"),
    "carhart": ("Mkt-RF", "SMB", "HML", "Mom"),
    "ff5": ("Mkt-RF", "SMB", "HML", "RMW", "CMA"),
}
PERIODS_PER_YEAR = {"daily": 252, "monthly": 12}


def holdings(rows: np.ndarray, start: np.ndarray, end: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(T, S) bool: True where ticker row *r* is held at session *s*, i.e. some event of the row has
    ``start <= s <= end`` (positions on the session grid; events with ``rows < 0`` are ignored)."""
    T, S = shape
    ok = (rows >= 0) & (end >= 0) & (start <= S - 1)
    diff = np.zeros((T, S + 1), dtype=np.int64)
    np.add.at(diff, (rows[ok], np.clip(start[ok], 0, S)), 1)
    np.add.at(diff, (rows[ok], np.clip(end[ok] + 1, 0, S)), -1)
    return np.cumsum(diff, axis=1)[:, :S] > 0


def portfolio_returns(returns: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal-weighted mean of ``returns`` (T, S) over held stocks with a return, per column.

    Returns ``(mean (S,), n (S,))``; the mean is NaN where no held stock has a return."""
    use = held & np.isfinite(returns)
    n = use.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.where(use, returns, 0.0).sum(axis=0) / n, np.nan)
    return mean, n


def month_ends(sessions: pd.DatetimeIndex) -> np.ndarray:
    """Positions of the last session of each calendar month in ``sessions``."""
    per = sessions.to_period("M")
    return np.flatnonzero(np.r_[per[1:] != per[:-1], True])


def monthly_stock_returns(logp: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """(T, M) simple return from the last price at or before each previous month end to the last price
    at or before this month end; NaN for the first month, and where the stock has no price inside the
    month or none before it."""
    T, S = logp.shape
    obs = np.isfinite(logp)
    last = np.maximum.accumulate(np.where(obs, np.arange(S), -1), axis=1)
    rows = np.arange(T)[:, None]
    le = last[:, ends]                        # (T, M)
    lv = np.where(le >= 0, logp[rows, np.clip(le, 0, None)], np.nan)
    out = np.full(le.shape, np.nan)
    inside = le[:, 1:] > ends[None, :-1]      # a price inside the month
    out[:, 1:] = np.where(inside & (le[:, :-1] >= 0), np.expm1(lv[:, 1:] - lv[:, :-1]), np.nan)
    return out


def monthly_factors(daily: pd.DataFrame, sessions: pd.DatetimeIndex, ends: np.ndarray) -> pd.DataFrame:
    """Compound daily factors (decimal) over the sessions of each month ending at ``ends`` (see module notes)."""
    d = daily.reindex(sessions)
    month = np.searchsorted(ends, np.arange(len(sessions)))
    g = np.log1p(d.drop(columns=["Mkt-RF"], errors="ignore")).groupby(month).sum(min_count=1)
    mkt = np.log1p(d["Mkt-RF"] + d["RF"]).groupby(month).sum(min_count=1)
    out = np.expm1(g)
    out["Mkt-RF"] = np.expm1(mkt) - out["RF"]
    out.index = sessions[ends[out.index.to_numpy()]]
    return out


def newey_west_lags(n: int) -> int:
    r""":math:`\lfloor 4 (T/100)^{2/9} \rfloor` (Newey & West 1994)."""
    return int(np.floor(4 * (n / 100.0) ** (2.0 / 9.0)))


@dataclass
class AlphaResult:
    """One calendar-time factor regression."""

    model: str
    n_periods: int
    mean_size: float
    alpha: float
    alpha_ann: float
    t_classical: float
    p_classical: float
    t_nw: float
    p_nw: float
    nw_lags: int
    r2: float
    betas: dict[str, float]


def alpha_regression(excess: np.ndarray, factors: np.ndarray, names: tuple[str, ...], size: np.ndarray,
                     periods_per_year: int, nw_lags: int | None = None, model: str = "") -> AlphaResult:
    r"""OLS of portfolio excess returns on factors with classical and Newey–West t for the intercept.

    ``excess`` (P,), ``factors`` (P, k), ``size`` (P,) the number of stocks; periods with any NaN are
    dropped. Classical t uses :math:`\hat s^2 (X'X)^{-1}` with P − k − 1 d.f.; Newey–West uses
    statsmodels' HAC (Bartlett kernel, small-sample correction P/(P − k − 1)) with t on P − k − 1 d.f.
    """
    import statsmodels.api as sm

    ok = np.isfinite(excess) & np.isfinite(factors).all(axis=1)
    P = int(ok.sum())
    nan = float("nan")
    y, X = excess[ok], np.column_stack([np.ones(P), factors[ok]])
    if P <= X.shape[1] + 1:
        return AlphaResult(model, P, float(np.mean(size[ok])) if P else nan, nan, nan, nan, nan, nan, nan, 0, nan,
                           {f: nan for f in names})
    lags = newey_west_lags(P) if nw_lags is None else int(nw_lags)
    ols = sm.OLS(y, X).fit()
    nw = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    a = float(ols.params[0])
    return AlphaResult(model, P, float(size[ok].mean()), a, float((1 + a) ** periods_per_year - 1),
                       float(ols.tvalues[0]), float(ols.pvalues[0]), float(nw.tvalues[0]), float(nw.pvalues[0]),
                       lags, float(ols.rsquared), {f: float(b) for f, b in zip(names, ols.params[1:])})
