r"""Cross-sectional regressions of per-event measures (CAR, SCAR, BHAR, abnormal volume) on event
characteristics.

For one event window *w* the model is

.. math:: y_i = x_i'\beta + u_i,\qquad i = 1,\dots,N

with :math:`y_i` a per-event measure of *w* (``car``, ``scar``, ``bhar``, ``vol_cav_log``, …, the
columns of ``car.csv``) and :math:`x_i` built by a statsmodels/patsy formula from the columns of
``events.csv`` (``beta``, ``sigma``, ``vol_ratio_63``, ``confidence``, ``C(event_type)``, extra user
columns of the event file). statsmodels fits it (OLS, or WLS with weights
:math:`1/\widehat{Var}(CAR_i)`); this module only prepares the data, chooses the covariance and
reports.

Covariances (``cov``), :math:`\hat u` the residuals, :math:`X` the design, :math:`K` its columns:

* ``classical``: :math:`\hat s^2 (X'X)^{-1}`, t with N − K d.f.
* ``HC1``: :math:`\frac{N}{N-K}(X'X)^{-1}X'\operatorname{diag}(\hat u_i^2)X(X'X)^{-1}` (White 1980;
  MacKinnon & White 1985); ``HC3`` divides :math:`\hat u_i^2` by :math:`(1-h_{ii})^2` (MacKinnon &
  White 1985; Long & Ervin 2000: the better choice below N ≈ 250).
* ``cluster-date`` / ``cluster-ticker`` (CRV1; Arellano 1987, Rogers 1993):
  :math:`c\,(X'X)^{-1}\big(\sum_g X_g'\hat u_g\hat u_g'X_g\big)(X'X)^{-1}` with
  :math:`c = \frac{G}{G-1}\frac{N-1}{N-K}`, clusters the day-0 date or the ticker; t with G − 1 d.f.
* ``cluster-2way`` (Cameron, Gelbach & Miller 2011; Thompson 2011):
  :math:`V = V_{date} + V_{ticker} - V_{date\cap ticker}`, each term a CRV1 matrix with its own
  :math:`c` (its own G), which is what statsmodels computes for a two-column ``groups`` array;
  t with :math:`\min(G_{date}, G_{ticker}) - 1` d.f. V need not be positive semi-definite: a
  negative eigenvalue is reported in the notes (CGM 2011 §2.3 suggest clipping it; we do not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError

COV_TYPES: tuple[str, ...] = ("classical", "HC1", "HC3", "cluster-date", "cluster-ticker", "cluster-2way")
WEIGHTS: tuple[str | None, ...] = (None, "inv_var")
#: columns kept as text even when every value looks like a number
TEXT_COLUMNS: frozenset[str] = frozenset({"event_id", "ticker", "company", "event_type", "subtype", "headline",
                                          "event_time", "day0_rule", "status", "reason", "data_flags", "overlaps",
                                          "confidence", "notes", "source_url", "window"})


@dataclass
class RegressionResults:
    """A fitted cross-sectional regression: statsmodels results plus the sample bookkeeping.

    Attributes
    ----------
    fit : statsmodels ``RegressionResultsWrapper``
    formula, window, cov, weights : the specification
    n : observations used
    excluded : events left out, by reason (``status≠ok``, ``not in_stats``, ``missing <variable>``)
    notes : warnings about the covariance (non-PSD two-way matrix, few clusters)
    """

    fit: object
    formula: str
    window: str
    cov: str
    weights: str | None
    n: int
    excluded: dict[str, int]
    n_clusters: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def tidy(self) -> pd.DataFrame:
        """One row per term: ``term, coef, se, t, p, ci_lo, ci_hi, n, cov, weights, window, r2, r2_adj, df``."""
        f = self.fit
        ci = np.asarray(f.conf_int())
        return pd.DataFrame({
            "term": list(f.params.index), "coef": np.asarray(f.params), "se": np.asarray(f.bse),
            "t": np.asarray(f.tvalues), "p": np.asarray(f.pvalues), "ci_lo": ci[:, 0], "ci_hi": ci[:, 1],
            "n": self.n, "cov": self.cov, "weights": self.weights or "none", "window": self.window,
            "r2": float(f.rsquared), "r2_adj": float(f.rsquared_adj), "df": _inference_df(f),
        })

    def summary(self) -> str:
        """Plain-text table with the sample and covariance choices."""
        from .results import stars

        lhs = self.formula.split("~", 1)[0].strip()
        lines = [f"Cross-sectional regression: {self.formula}   window {self.window}",
                 f"N = {self.n}   cov = {self.cov}   weights = {self.weights or 'none'}   "
                 f"R² = {self.fit.rsquared:.4f}   adj. R² = {self.fit.rsquared_adj:.4f}   t d.f. = {_inference_df(self.fit):g}"]
        if self.n_clusters:
            lines.append("clusters: " + ", ".join(f"{k}={v}" for k, v in self.n_clusters.items()))
        if self.excluded:
            lines.append("left out: " + ", ".join(f"{k}={v}" for k, v in self.excluded.items()))
        lines += [f"note: {n}" for n in self.notes]
        lines.append("")
        lines.append(f"{'term (y = ' + lhs + ')':<34}{'coef':>11}{'se':>11}{'t':>8}{'p':>8}   {'95% CI':>22}")
        for _, r in self.tidy.iterrows():
            lines.append(f"{str(r['term'])[:33]:<34}{r['coef']:11.4f}{r['se']:11.4f}{r['t']:8.2f}{r['p']:8.3f}"
                         f"{stars(r['p']):<3}[{r['ci_lo']:9.4f}, {r['ci_hi']:9.4f}]")
        lines.append("*** p<0.01  ** p<0.05  * p<0.10 (two-sided). Formulas in docs/statistics.md.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<RegressionResults {self.formula!r} window={self.window} n={self.n} cov={self.cov}>"

    def to_csv(self, path: str | Path) -> Path:
        """Write the tidy table atomically (Excel-safe)."""
        from ._io import write_csv

        path = Path(path)
        write_csv(self.tidy, path)
        return path


def _inference_df(fit) -> float:
    df = getattr(fit, "df_resid_inference", None)
    return float(df if df is not None else fit.df_resid)


# ---- data preparation ------------------------------------------------------------------------------
def typed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Text frame (as read from CSV) → numbers where every non-empty value parses, booleans for
    True/False columns, text elsewhere. Empty cells of numeric columns become NaN."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if col in TEXT_COLUMNS or not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        text = s.astype(str).str.strip()
        nonempty = text != ""
        if nonempty.any() and text[nonempty].isin(("True", "False")).all():
            out[col] = text.map({"True": True, "False": False}).where(nonempty)
            continue
        num = pd.to_numeric(text.where(nonempty), errors="coerce")
        if nonempty.any() and num[nonempty].notna().all():
            out[col] = num.astype(float)
    return out


def _read_dir(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """events.csv and car.csv of a results folder, verified against its manifest (see
    :func:`eventstudy.export.read_results`: ids as text, a mixed or edited folder refused)."""
    from .export import read_results

    res = read_results(path, tables=("events", "car"))
    return typed_columns(res.events), res.car


def regression_frame(events: pd.DataFrame, car: pd.DataFrame, window: str,
                     event_file: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per event: the ``car.csv`` measures of ``window`` joined to ``events.csv`` columns and,
    when given, the extra columns of the loaded event file that ``events.csv`` does not carry."""
    from .abnormal import parse_window, window_label

    label = window_label(parse_window(window))
    w = car[car["window"].astype(str) == label].drop(columns=["window"])
    if w.empty:
        have = ", ".join(sorted(car["window"].astype(str).unique()))
        raise EventStudyError(f"window {label} is not in the results (windows: {have})")
    ev = events.copy()
    ev["event_id"] = ev["event_id"].astype(str)
    if event_file is not None:
        extra = [c for c in event_file.columns if c not in ev.columns]
        if extra:
            add = typed_columns(event_file[["event_id"] + extra].astype({"event_id": str}))
            ev = ev.merge(add, on="event_id", how="left")
    w = w.astype({"event_id": str})
    return ev.merge(w, on="event_id", how="left")


def _load(results_or_dir, events) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """events and car tables of a results object or folder, and the explicitly given event file (its
    columns that events.csv lacks are added; events.csv already carries every column of the file the
    study read, so the file named in a manifest is never re-read: it may have changed since)."""
    from .events import load_events

    if isinstance(results_or_dir, (str, Path)):
        ev, car = _read_dir(Path(results_or_dir))
    else:
        ev, car = results_or_dir.events, results_or_dir.car
    if events is None:
        return ev, car, None
    table = load_events(events) if not isinstance(events, pd.DataFrame) else events
    return ev, car, table


def regress(results_or_dir, formula: str, window: str = "-1:1", cov: str = "HC1", weights: str | None = None,
            *, events: str | Path | pd.DataFrame | None = None, in_stats_only: bool = True) -> RegressionResults:
    """Regress a per-event measure of one window on event characteristics (see module docstring).

    Parameters
    ----------
    results_or_dir : an :class:`~eventstudy.results.EventStudyResults` or a folder written by ``eventstudy run``
    formula : statsmodels formula, e.g. ``"car ~ C(event_type) + confidence + np.log(vol_ratio_63)"``
    window : the event window ``A:B`` whose measures are the left-hand side
    cov : one of :data:`COV_TYPES`
    weights : ``None`` (OLS) or ``"inv_var"``: WLS with weights :math:`1/\\widehat{Var}(CAR_i) = 1/car\\_se_i^2`
        (the exact CAR forecast-error variance; ∝ 1/σ̂_i² for a fixed window, as Eventus weights)
    events : an event file (path or frame) whose columns events.csv lacks are added (default: none;
        events.csv already carries every column of the study's own event file)
    in_stats_only : leave out events with ``in_stats`` False (the overlap rule), besides status ≠ ok

    Returns
    -------
    RegressionResults
    """
    if cov not in COV_TYPES:
        raise ValueError(f"cov {cov!r}: choose from {', '.join(COV_TYPES)}")
    if weights not in WEIGHTS:
        raise ValueError(f"weights {weights!r}: choose none or inv_var")
    ev, car, table = _load(results_or_dir, events)
    data = regression_frame(ev, car, window, table)
    excluded: dict[str, int] = {}
    keep = (data["status"].astype(str) == "ok").to_numpy().copy()
    if (~keep).sum():
        excluded["status not ok"] = int((~keep).sum())
    if in_stats_only and "in_stats" in data:
        ins = data["in_stats"].astype(str).isin(("True", "true", "1", "1.0")).to_numpy()
        if (keep & ~ins).sum():
            excluded["not in_stats (overlap rule)"] = int((keep & ~ins).sum())
        keep &= ins
    data = data[keep].reset_index(drop=True)
    return regress_frame(data, formula, cov, weights, label=window, excluded=excluded)


def regress_frame(data: pd.DataFrame, formula: str, cov: str = "HC1", weights: str | None = None, *,
                  label: str = "", excluded: dict[str, int] | None = None) -> RegressionResults:
    """Fit ``formula`` on an already selected per-event frame (one row per event). Rows with a missing
    formula variable are dropped and counted; clustering uses the ``day0`` and ``ticker`` columns and
    ``inv_var`` weights the ``car_se`` column. :func:`regress` and the long-horizon BHAR regressions use it."""
    import statsmodels.formula.api as smf
    from patsy import PatsyError

    if cov not in COV_TYPES:
        raise ValueError(f"cov {cov!r}: choose from {', '.join(COV_TYPES)}")
    excluded = dict(excluded or {})
    if weights == "inv_var":
        se = pd.to_numeric(data.get("car_se"), errors="coerce") if "car_se" in data else None
        if se is None:
            raise EventStudyError("weights inv_var need the car_se column of car.csv")
        bad = ~(np.isfinite(se) & (se > 0))
        if bad.sum():
            excluded["no car_se for the weight"] = int(bad.sum())
        data = data[~bad.to_numpy()].reset_index(drop=True)
        data["_w"] = 1.0 / data["car_se"].astype(float) ** 2
    try:
        model = (smf.wls(formula, data, weights=data["_w"], missing="drop") if weights
                 else smf.ols(formula, data, missing="drop"))
    except (PatsyError, KeyError, NameError, SyntaxError, TypeError) as exc:
        cols = ", ".join(c for c in data.columns if not c.startswith("_"))
        raise EventStudyError(f"formula {formula!r}: {str(exc).splitlines()[0]} (columns: {cols})") from None
    used = np.asarray(model.data.row_labels)
    dropped = len(data) - len(used)
    if dropped:
        excluded["missing value in a formula variable"] = int(dropped)
    n = len(used)
    if n <= model.exog.shape[1]:
        raise EventStudyError(f"{n} usable events for {model.exog.shape[1]} coefficients: nothing to estimate")
    sub = data.loc[used]
    kwargs, n_clusters = _cov_args(cov, sub)
    notes: list[str] = []
    fit = model.fit(**kwargs)
    if cov == "cluster-2way":
        eig = np.linalg.eigvalsh(np.asarray(fit.cov_params()))
        if eig.min() < 0:
            notes.append(f"the two-way covariance has a negative eigenvalue ({eig.min():.3g}); standard errors of "
                         "some combinations are undefined (Cameron, Gelbach & Miller 2011, sec. 2.3)")
    for k, g in n_clusters.items():
        if g < 30:
            notes.append(f"only {g} {k} clusters: cluster-robust t statistics are unreliable below ~30 "
                         "(Cameron & Miller 2015)")
    return RegressionResults(fit, formula, label, cov, weights, n, excluded, n_clusters, notes)




def _codes(s: pd.Series) -> np.ndarray:
    return pd.factorize(s.astype(str))[0]


def _cov_args(cov: str, data: pd.DataFrame) -> tuple[dict, dict[str, int]]:
    """statsmodels ``fit`` keywords for a :data:`COV_TYPES` name, and the cluster counts."""
    if cov == "classical":
        return {"cov_type": "nonrobust"}, {}
    if cov in ("HC1", "HC3"):
        return {"cov_type": cov, "use_t": True}, {}
    date, ticker = _codes(data["day0"]), _codes(data["ticker"])
    counts = {"date": int(date.max() + 1), "ticker": int(ticker.max() + 1)}
    if cov == "cluster-date":
        groups, counts = date, {"date": counts["date"]}
    elif cov == "cluster-ticker":
        groups, counts = ticker, {"ticker": counts["ticker"]}
    else:
        groups = np.column_stack([date, ticker])
    if min(counts.values()) < 2:
        raise EventStudyError(f"{cov}: fewer than two clusters ({counts})")
    return {"cov_type": "cluster", "cov_kwds": {"groups": groups}, "use_t": True}, counts
