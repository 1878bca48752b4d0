"""The results of a study: tidy DataFrames, per-type statistics and a text summary.

Frames (each maps to one CSV written by :meth:`EventStudyResults.to_csv`):

* ``events``  one row per input event, studied or not (``status``, ``reason``);
* ``ar``      long: ``event_id, rel_day, date, ret, expected, ar`` over the event span;
* ``car``     long: ``event_id, window, car, car_se, scar, bhar`` (+ day counts);
* ``caar``    per event type × window → ``summary.csv``;
* ``aar``     per event type × relative day → ``aar.csv``.

Statistics use only events with ``in_stats`` (status ``ok`` and the overlap policy).
``ALL`` rows pool every event type.
"""

from __future__ import annotations

import warnings
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .abnormal import window_label
from . import inference as inf
from .inference import cross_sectional

ALL_TYPES = "ALL"


def group_labels(events: pd.DataFrame, group_by: str = "event_type") -> np.ndarray:
    """Statistics group of each event: its ``event_type``, ``subtype`` or ``event_type/subtype``, or the
    values of the named event-file column(s) (comma-separated, joined with ``/``). An empty value is
    labelled ``(none)``."""
    def col(name: str) -> pd.Series:
        return events[name].fillna("").astype(str).str.strip().replace("", "(none)")

    if group_by == "subtype":
        return col("subtype").to_numpy()
    if group_by == "type_subtype":
        return (events["event_type"].astype(str) + "/" + col("subtype")).to_numpy()
    if group_by == "event_type":
        return events["event_type"].to_numpy()
    names = [c.strip() for c in group_by.split(",")]
    out = col(names[0])
    for c in names[1:]:
        out = out + "/" + col(c)
    return out.to_numpy()


def stars(p: float) -> str:
    """Significance stars: *** p<0.01, ** p<0.05, * p<0.10."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


class EventStudyResults:
    """Output of :func:`eventstudy.run_study`: arrays plus labels; frames and statistics built lazily.

    Attributes
    ----------
    spec : StudySpec
    events : one row per input event (status, reason, model parameters, day-0 values, flags)
    panel : the aligned :class:`~eventstudy.panel.Panel`
    fit : the batched :class:`~eventstudy.models.ModelFit`
    expected, ar_matrix : (n_events, n_days) normal and abnormal returns (NaN unless status ok)
    windows : one :class:`~eventstudy.abnormal.WindowResult` per event window
    ok, in_stats : (n_events,) studied / entering the per-type statistics
    vol : :class:`~eventstudy.volume.VolumeMeasures`
    """

    #: bootstrap resamples, base seed, and the cap on events used for the KP residual correlation
    boot_reps: int = 2000
    seed: int = 20260121
    max_rbar_events: int = 500
    #: bootstrap intervals are skipped (NaN) for groups larger than this (the mean is then
    #: normal to any practical precision and resampling is pure cost)
    max_boot_events: int = 5_000

    def __init__(self, spec, events, panel, fit, expected, ar, windows, ok, in_stats, notes, meta, volume=None):
        self.spec, self.events, self.panel, self.fit, self.expected = spec, events, panel, fit, expected
        self.ar_matrix, self.windows, self.ok, self.in_stats = ar, windows, ok, in_stats
        self.notes, self.meta, self.vol = notes, meta, volume

    # ---- tidy frames ---------------------------------------------------------------------------
    @property
    def span_days(self) -> np.ndarray:
        a, b = self.spec.span
        return self.panel.rel_days[(self.panel.rel_days >= a) & (self.panel.rel_days <= b)]

    @cached_property
    def ar(self) -> pd.DataFrame:
        """Long frame of event-span returns for studied events."""
        return self._long_frame(ret=self.panel.ret, expected=self.expected, ar=self.ar_matrix)

    @cached_property
    def car(self) -> pd.DataFrame:
        """Long frame of per-event window results for studied events."""
        from .volume import cumulative

        idx = np.flatnonzero(self.ok)
        ids = self.events["event_id"].to_numpy()[idx]
        rel = self.panel.rel_days
        frames = []
        for w in self.windows:
            cav, _ = cumulative(self.vol.abvol_log[idx], rel, w.window)
            cav_mm, _ = cumulative(self.vol.abvol_mm[idx], rel, w.window)
            frames.append(pd.DataFrame({
                "event_id": ids, "window": window_label(w.window), "win_start": w.window[0], "win_end": w.window[1],
                "car": w.car[idx], "car_se": w.se[idx], "scar": w.scar[idx], "bhar": w.bhar[idx],
                "n_days": w.n_days[idx], "n_missing": w.n_missing[idx], "vol_cav_log": cav, "vol_cav_mm": cav_mm}))
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def volume(self) -> pd.DataFrame:
        """Long frame of event-span volume measures for studied events (→ ``volume.csv``)."""
        v = self.vol
        return self._long_frame(volume=v.volume, vol_ratio_20=v.ratio_20, vol_ratio_63=v.ratio_63,
                                abvol_log=v.abvol_log, abvol_mm=v.abvol_mm, vol_z=v.vol_z)

    @cached_property
    def _long_index(self) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Rows (studied events), columns (event-span days) and the ``event_id, rel_day, date`` keys."""
        cols = np.flatnonzero(np.isin(self.panel.rel_days, self.span_days))
        idx = np.flatnonzero(self.ok)
        dates = self.panel.dates()[np.ix_(idx, cols)]   # NaT beyond the session grid
        keys = pd.DataFrame({"event_id": np.repeat(self.events["event_id"].to_numpy()[idx], len(cols)),
                             "rel_day": np.tile(self.panel.rel_days[cols], len(idx)),
                             "date": pd.to_datetime(dates.ravel())})
        return idx, cols, keys

    def _long_frame(self, **arrays: np.ndarray) -> pd.DataFrame:
        """Keys plus each (n_events, n_days) array flattened over studied events × event-span days."""
        idx, cols, keys = self._long_index
        out = keys.copy()
        for name, a in arrays.items():
            out[name] = a[np.ix_(idx, cols)].ravel()
        return out

    @property
    def extra_frames(self) -> dict[str, pd.DataFrame]:
        return {"volume": self.volume}

    @cached_property
    def _vol_U(self) -> tuple[np.ndarray, dict]:
        """Corrado ranks of abnormal log volume over estimation + event days, per event."""
        x = self._inputs
        comb = np.r_[x["est"], x["span"][~np.isin(x["span"], x["est"])]]
        return inf.rank_uniform(self.vol.abvol_log[:, comb]), {int(c): k for k, c in enumerate(comb)}

    def _vol_window_stats(self, idx: np.ndarray, window: tuple[int, int]) -> dict:
        from .volume import cumulative, spike_any

        rel = self.panel.rel_days
        cav, _ = cumulative(self.vol.abvol_log[idx], rel, window)
        cav_mm, _ = cumulative(self.vol.abvol_mm[idx], rel, window)
        cs = cross_sectional(cav)
        U, ucol = self._vol_U
        cols = np.asarray([ucol[int(c)] for c in np.flatnonzero((rel >= window[0]) & (rel <= window[1]))])
        ct, p_ct = inf.corrado_t(U[idx], cols)
        spikes = spike_any(self.vol.vol_z[idx], rel, window, self.spec.spike_z)
        return {"vol_n": int(cs.n), "vol_mean_cav": float(cs.mean), "vol_median_cav": float(cs.median),
                "vol_t_cs": float(cs.t), "vol_p_cs": float(cs.p), "vol_corrado_t": ct, "vol_p_corrado": p_ct,
                "vol_spike_share": _nanmean(spikes), "vol_mean_cav_mm": _nanmean(cav_mm)}

    def _vol_day_stats(self, idx: np.ndarray) -> dict:
        span = self._inputs["span"]
        ab = self.vol.abvol_log[np.ix_(idx, span)]
        cs = cross_sectional(ab)
        U, ucol = self._vol_U
        ct = inf.corrado_days(U[idx], np.asarray([ucol[int(c)] for c in span], int))
        z = self.vol.vol_z[np.ix_(idx, span)]
        okz = np.isfinite(z)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(okz.any(axis=0), (np.where(okz, z, -np.inf) >= self.spec.spike_z).sum(axis=0)
                             / okz.sum(axis=0), np.nan)
        return {"vol_n": cs.n, "vol_mean_abvol": cs.mean, "vol_median_abvol": cs.median, "vol_t_cs": cs.t,
                "vol_p_cs": cs.p, "vol_corrado_t": ct, "vol_p_corrado": inf.two_sided_p_z(ct),
                "vol_spike_share": share,
                "vol_mean_ratio_63": cross_sectional(self.vol.ratio_63[np.ix_(idx, span)]).mean,
                "vol_mean_abvol_mm": cross_sectional(self.vol.abvol_mm[np.ix_(idx, span)]).mean}

    @property
    def groups(self) -> np.ndarray:
        """The statistics group of each event (``spec.group_by``)."""
        return group_labels(self.events, self.spec.group_by)

    def _groups(self):
        types = self.groups
        yield ALL_TYPES, self.in_stats
        for t in sorted(set(types[self.in_stats])):
            yield t, self.in_stats & (types == t)

    @property
    def conventions(self) -> str:
        """``papers`` (default) or ``estudy2`` (see docs/statistics.md "Conventions")."""
        return getattr(self.spec, "conventions", "papers")

    @cached_property
    def _inputs(self) -> dict:
        """Per-event arrays shared by the tests (computed once, sliced per group)."""
        rel = self.panel.rel_days
        s, e = self.spec.estimation
        est = np.flatnonzero((rel >= s) & (rel <= e))
        span = np.flatnonzero(np.isin(rel, self.span_days))
        ar = self.ar_matrix
        e2 = self.conventions == "estudy2"
        obs = np.isfinite(ar[:, est])
        with np.errstate(invalid="ignore", divide="ignore"):
            # sigma_i: SSR/(M-k) (papers) or the sample s.d. of the estimation ARs, divisor M-1 (estudy2)
            sigma = _row_sd(ar[:, est]) if e2 else np.sqrt(self.fit.s2)
            mkt = self._e2_market() if e2 and self.spec.model == "market" else None
            if mkt is None:
                c = self.fit.forecast_factor()
            else:
                dev, sxx = mkt
                c = 1.0 + 1.0 / self.fit.nobs[:, None] + dev**2 / sxx[:, None]
            sar_span = ar[:, span] / (sigma[:, None] * np.sqrt(c[:, span]))
            sar_est = ar[:, est] / sigma[:, None]
            pos_est = np.where(obs, ar[:, est] > 0, False).sum(axis=1)
            p_est = pos_est / obs.sum(axis=1)
        comb = np.r_[est, span[~np.isin(span, est)]]
        a_comb = ar[:, comb]
        return {"est": est, "span": span, "sar_span": sar_span, "sar_est": sar_est, "p_est": p_est,
                "pos_est": pos_est, "n_est": obs.sum(axis=1), "sigma": sigma, "c": c, "mkt": mkt,
                "est_pos": self.panel.day0_pos[:, None] + rel[est][None, :],
                "U": inf.rank_uniform(a_comb), "U_col": {int(c): k for k, c in enumerate(comb)},
                "U_raw": inf.rank_uniform(a_comb, raw=True) if e2 else None,
                "G": inf.median_signs(a_comb), "T_obs": np.isfinite(a_comb).sum(axis=1),
                "est_ranks": inf.row_ranks(sar_est)}

    def _e2_market(self) -> tuple[np.ndarray, np.ndarray] | None:
        """estudy2's market term: benchmark deviations from its mean over *all* estimation-window
        sessions (not only the stock's own days, which the papers' forecast factor uses) and their
        sum of squares. The benchmark's one-session returns are read from the panel wherever an
        event of the study observed them (stock priced on the session and the one before);
        sessions no event covers stay missing."""
        m, close = self.panel.market, self.panel.close
        if m is None:
            return None
        rel = self.panel.rel_days
        pos = self.panel.positions()
        S = len(self.panel.sessions)
        inside = (pos >= 0) & (pos < S)
        prev = np.full(close.shape, np.nan)
        prev[:, 1:] = close[:, :-1]
        single = np.isfinite(m) & np.isfinite(close) & np.isfinite(prev) & inside
        bench = np.full(S, np.nan)
        bench[pos[single]] = m[single]
        est = (rel >= self.spec.estimation[0]) & (rel <= self.spec.estimation[1])
        me = np.where(est[None, :] & inside, bench[np.clip(pos, 0, max(S - 1, 0))], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mbar = np.nanmean(me, axis=1)
            sxx = np.nansum((me - mbar[:, None]) ** 2, axis=1)
        return m - mbar[:, None], sxx

    def _group_test_args(self, idx: np.ndarray) -> dict:
        """Per-group settings of the tests that depend on the conventions."""
        x = self._inputs
        e2 = self.conventions == "estudy2"
        nobs = self.fit.nobs[idx]
        out = {"df": float(np.mean(nobs - 1 if e2 else self.fit.df_resid[idx])) if len(idx) else np.nan}
        if e2:
            # generalized sign: share of positive ARs pooled over all estimation days of the group
            with np.errstate(invalid="ignore", divide="ignore"):
                pooled = x["pos_est"][idx].sum() / x["n_est"][idx].sum()
            out["p_est"] = np.full(len(idx), pooled)
            T = float(np.mean(x["T_obs"][idx])) if len(idx) else None
            out["rank"] = {"T": T, "inflate": True}
            out["corrado"] = {"weighted": False, "T": T, "inflate": True}
            out["U_corrado"] = x["U_raw"][idx]
        else:
            out["p_est"] = x["p_est"][idx]
            out["rank"] = {}
            out["corrado"] = {}
            out["U_corrado"] = x["U"][idx]
        return out

    def _lamb_cfac_days(self, idx: np.ndarray) -> np.ndarray:
        """Mean forecast-error factor of the group's events on each span day (Lamb 1995)."""
        x = self._inputs
        span = x["span"]
        ok = np.isfinite(self.ar_matrix[np.ix_(idx, span)])
        if self.conventions == "estudy2" and x["mkt"] is not None:
            dev, sxx = x["mkt"]
            term = dev[np.ix_(idx, span)] ** 2 / sxx[idx, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                return 1.0 + 1.0 / np.mean(self.fit.nobs[idx]) + np.where(ok, term, 0.0).sum(0) / ok.sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, x["c"][np.ix_(idx, span)], 0.0).sum(0) / ok.sum(0)

    def _window_var_factor(self, w, idx: np.ndarray) -> np.ndarray:
        """Var(CAR_i)/sigma_i^2 of each event over window ``w`` under the conventions."""
        x = self._inputs
        if self.conventions == "estudy2" and x["mkt"] is not None:
            dev, sxx = x["mkt"]
            inw = ((self.panel.rel_days >= w.window[0]) & (self.panel.rel_days <= w.window[1]))[None, :]
            okd = np.isfinite(self.ar_matrix[idx]) & inw
            L = okd.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return L + L**2 / self.fit.nobs[idx] + np.where(okd, dev[idx], 0.0).sum(1) ** 2 / sxx[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w.se[idx] / np.sqrt(self.fit.s2[idx])) ** 2

    def _scar(self, w, idx: np.ndarray) -> np.ndarray:
        """Standardized CARs of window ``w`` (exact variance; estudy2: its sigma and market term)."""
        if self.conventions != "estudy2":
            return w.scar[idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            return w.car[idx] / (self._inputs["sigma"][idx] * np.sqrt(self._window_var_factor(w, idx)))

    @cached_property
    def _rbar(self) -> dict[str, float]:
        """Mean estimation-residual correlation per group (Kolari & Pynnönen 2010)."""
        x = self._inputs
        out = {}
        for name, mask in self._groups():
            idx = np.flatnonzero(mask)
            out[name] = inf.mean_residual_correlation(self.ar_matrix[np.ix_(idx, x["est"])], x["est_pos"][idx],
                                                      max_events=self.max_rbar_events, seed=self.seed)[0]
        return out

    def _aar_est(self, mask: np.ndarray) -> np.ndarray:
        x = self.ar_matrix[np.ix_(np.flatnonzero(mask), self._inputs["est"])]
        ok = np.isfinite(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, x, 0.0).sum(axis=0) / ok.sum(axis=0)

    @cached_property
    def caar(self) -> pd.DataFrame:
        """Per event type and window: CAAR with the full test battery (see docs/statistics.md)."""
        x = self._inputs
        rows = []
        for gi, (etype, mask) in enumerate(self._groups()):
            idx = np.flatnonzero(mask)
            g = self._group_test_args(idx)
            aar_est = self._aar_est(mask)
            day_aar = self._day_means(mask)
            rbar = self._rbar[etype]
            wcols = []
            for w in self.windows:
                in_w = (self.span_days >= w.window[0]) & (self.span_days <= w.window[1])
                wcols.append(np.asarray([x["U_col"][int(c)] for c in x["span"][in_w]], int))
            ct_all = inf.corrado_days(g["U_corrado"], wcols, **g["corrado"])
            cz_all = inf.std_sum_days(x["G"][idx], wcols, **g["rank"])
            mr_all = inf.std_sum_days(x["U"][idx], wcols, **g["rank"])
            for wi, w in enumerate(self.windows):
                car, scar = w.car[idx], self._scar(w, idx)
                cs = cross_sectional(car)
                L = w.window[1] - w.window[0] + 1
                in_w = (self.span_days >= w.window[0]) & (self.span_days <= w.window[1])
                cda, p_cda = inf.cda_t(np.nansum(day_aar[in_w]), aar_est, L)
                vfac = self._window_var_factor(w, idx)
                bw, p_bw = inf.bw1980_t(car, x["sigma"][idx] ** 2 * w.n_days[idx], g["df"])
                lz, p_lz = inf.lamb_z(cs.mean, aar_est, np.nanmean(vfac) if np.isfinite(vfac).any() else np.nan)
                pz, p_pz = inf.patell_z(scar, self.fit.df_resid[idx])
                bt, p_bt = inf.bmp_t(scar)
                n_std = np.isfinite(scar).sum()
                kpb = inf.kp_adjust(bt, rbar, n_std, "bmp")
                kpp = inf.kp_adjust(pz, rbar, n_std, "patell")
                ct = ct_all[wi]
                gt, p_gt = inf.grank_t(x["sar_est"][idx], scar, x["est_ranks"][idx])
                sz, _ = inf.sign_z(car)
                gz, _ = inf.gsign_z(car, g["p_est"])
                k_pos, n_obs = inf.sign_counts(car)
                p_gs = inf.binom_two_sided_p(k_pos, n_obs, np.nanmean(g["p_est"]) if len(idx) else np.nan)
                ht, p_ht = inf.hall_t(car)
                ww, wz, p_w = inf.wilcoxon(car)
                lo, hi = (inf.bootstrap_mean_ci(car, reps=self.boot_reps, seed=self.seed + 1000 * gi + wi)
                          if len(idx) <= self.max_boot_events else (np.nan, np.nan))
                rows.append({
                    "event_type": etype, "window": window_label(w.window), "win_start": w.window[0],
                    "win_end": w.window[1], "n": int(cs.n), "mean_car": float(cs.mean),
                    "median_car": float(cs.median), "pos_share": float(cs.pos_share), "t_cs": float(cs.t),
                    "p_cs": float(cs.p), "t_cda": float(cda), "p_cda": float(p_cda),
                    "t_bw1980": float(bw), "p_bw1980": float(p_bw), "lamb_z": float(lz), "p_lamb": float(p_lz),
                    "patell_z": float(pz), "p_patell": float(p_pz), "bmp_t": float(bt), "p_bmp": float(p_bt),
                    "kp_patell_z": float(kpp), "p_kp_patell": float(inf.two_sided_p_z(kpp)),
                    "kp_bmp_t": float(kpb), "p_kp_bmp": float(inf.two_sided_p_t(kpb, np.asarray(n_std - 1))),
                    "hall_t": float(ht), "p_hall": float(p_ht),
                    "corrado_t": float(ct), "p_corrado": float(inf.two_sided_p_z(ct)),
                    "mrank_t": float(mr_all[wi]), "p_mrank": float(inf.two_sided_p_z(mr_all[wi])),
                    "grank_t": gt, "p_grank": p_gt,
                    "sign_z": float(sz), "p_sign": float(inf.binom_two_sided_p(k_pos, n_obs, 0.5)),
                    "gsign_z": float(gz), "p_gsign": float(p_gs),
                    "czsign_z": float(cz_all[wi]), "p_czsign": float(inf.two_sided_p_z(cz_all[wi])),
                    "wilcoxon_w": ww, "wilcoxon_z": wz, "p_wilcoxon": p_w,
                    "boot_lo": lo, "boot_hi": hi,
                    "mean_bhar": _nanmean(w.bhar[idx]), "rbar": rbar, **self._vol_window_stats(idx, w.window)})
        return add_qvalues(pd.DataFrame(rows))

    def _day_means(self, mask: np.ndarray) -> np.ndarray:
        return cross_sectional(self.ar_matrix[np.ix_(np.flatnonzero(mask), self._inputs["span"])]).mean

    @cached_property
    def aar(self) -> pd.DataFrame:
        """Per event type and relative day: AAR, CAAR (cumulated from the span start) and the tests."""
        x = self._inputs
        rows = []
        ucols = np.asarray([x["U_col"][int(c)] for c in x["span"]], int)
        for etype, mask in self._groups():
            idx = np.flatnonzero(mask)
            g = self._group_test_args(idx)
            a = self.ar_matrix[np.ix_(idx, x["span"])]
            std = x["sar_span"][idx]
            cs = cross_sectional(a)
            aar = np.where(cs.n > 0, cs.mean, 0.0)
            caar = np.where(np.cumsum(cs.n) > 0, np.cumsum(aar), np.nan)
            aar_est = self._aar_est(mask)
            cda, p_cda = inf.cda_t(cs.mean, aar_est, 1)
            bw, p_bw = inf.bw1980_t(a, x["sigma"][idx] ** 2, g["df"])
            lz, p_lz = inf.lamb_z(cs.mean, aar_est, self._lamb_cfac_days(idx))
            pz, p_pz = inf.patell_z(std, self.fit.df_resid[idx])
            bt, p_bt = inf.bmp_t(std)
            n_std = np.isfinite(std).sum(axis=0)
            rbar = self._rbar[etype]
            kpb = inf.kp_adjust(bt, rbar, n_std, "bmp")
            kpp = inf.kp_adjust(pz, rbar, n_std, "patell")
            ct = inf.corrado_days(g["U_corrado"], ucols, **g["corrado"])
            cz = inf.std_sum_days(x["G"][idx], ucols, **g["rank"])
            mr = inf.std_sum_days(x["U"][idx], ucols, **g["rank"])
            sar_g, rank_g = x["sar_est"][idx], x["est_ranks"][idx]
            gr = [inf.grank_t(sar_g, std[:, d], rank_g) for d in range(len(x["span"]))]
            sz, _ = inf.sign_z(a)
            gz, _ = inf.gsign_z(a, g["p_est"])
            k_pos, n_obs = inf.sign_counts(a)
            p_hat = np.nanmean(g["p_est"]) if len(idx) else np.nan
            ht, p_ht = inf.hall_t(a)
            wil = [inf.wilcoxon(a[:, d]) for d in range(a.shape[1])]
            boot_lo, boot_hi = (inf.bootstrap_mean_ci_days(a, reps=self.boot_reps, seed=self.seed)
                                if len(idx) <= self.max_boot_events else (np.full(a.shape[1], np.nan),) * 2)
            rows.append(pd.DataFrame({
                "event_type": etype, "rel_day": self.panel.rel_days[x["span"]], "n": cs.n, "aar": cs.mean,
                "caar": caar, "t_cs": cs.t, "p_cs": cs.p, "t_cda": cda, "p_cda": p_cda,
                "t_bw1980": bw, "p_bw1980": p_bw, "lamb_z": lz, "p_lamb": p_lz, "patell_z": pz,
                "p_patell": p_pz, "bmp_t": bt, "p_bmp": p_bt, "kp_patell_z": kpp,
                "p_kp_patell": inf.two_sided_p_z(kpp), "kp_bmp_t": kpb,
                "p_kp_bmp": inf.two_sided_p_t(kpb, n_std - 1), "hall_t": ht, "p_hall": p_ht,
                "corrado_t": ct, "p_corrado": inf.two_sided_p_z(ct), "mrank_t": mr, "p_mrank": inf.two_sided_p_z(mr),
                "grank_t": [r[0] for r in gr], "p_grank": [r[1] for r in gr],
                "sign_z": sz, "p_sign": inf.binom_two_sided_p(k_pos, n_obs, 0.5),
                "gsign_z": gz, "p_gsign": inf.binom_two_sided_p(k_pos, n_obs, p_hat),
                "czsign_z": cz, "p_czsign": inf.two_sided_p_z(cz),
                "wilcoxon_w": [w[0] for w in wil], "wilcoxon_z": [w[1] for w in wil],
                "p_wilcoxon": [w[2] for w in wil],
                "boot_lo": boot_lo, "boot_hi": boot_hi,
                **self._vol_day_stats(idx)}))
        return pd.concat(rows, ignore_index=True)

    # ---- text ----------------------------------------------------------------------------------
    #: the tests shown in the summary table (all of them are in summary.csv)
    SUMMARY_TESTS: tuple[tuple[str, str], ...] = (("t_cs", "p_cs"), ("bmp_t", "p_bmp"), ("kp_bmp_t", "p_kp_bmp"),
                                                  ("grank_t", "p_grank"), ("gsign_z", "p_gsign"))

    def _header_lines(self) -> list[str]:
        s = self.spec
        return [f"Event study: {s.name}",
                f"model={s.model}" + (f" benchmark={s.benchmark}" if s.uses_benchmark else "")
                + f" estimation={s.estimation[0]}:{s.estimation[1]} returns={s.returns} overlap={s.overlap}"
                + f" groups={s.group_by}" + (f" conventions={self.conventions}" if self.conventions != "papers" else ""),
                f"events: {len(self.events)} in file, {int(self.ok.sum())} studied, "
                f"{int(self.in_stats.sum())} in statistics"]

    def summary(self, max_types: int | None = None) -> pd.DataFrame:
        """The per-group table as a DataFrame for notebooks: one row per group and window with ``n``,
        CAAR and median CAR **in percent**, and the main tests as text with stars (``3.02***``).

        Numbers with full precision, p-values and every other test are in :attr:`caar` (summary.csv,
        decimals). ``attrs["notes"]`` holds the study's notes; :meth:`summary_text` is the console form.
        """
        tab = self.caar
        order = list(dict.fromkeys(tab["event_type"]))
        if max_types:
            order = order[: max_types + 1]
        tab = tab[tab["event_type"].isin(order)]

        def cell(v: float, p: float) -> str:
            return f"{v:.2f}{stars(p)}" if np.isfinite(v) else "n/a"

        out = pd.DataFrame({
            self.spec.group_by: tab["event_type"].to_numpy(), "window": tab["window"].to_numpy(),
            "n": tab["n"].to_numpy(), "CAAR %": np.round(100 * tab["mean_car"].to_numpy(), 2),
            "med %": np.round(100 * tab["median_car"].to_numpy(), 2)})
        for c, pc in self.SUMMARY_TESTS:
            out[c] = [cell(v, p) for v, p in zip(tab[c].to_numpy(), tab[pc].to_numpy())]
        out.attrs["notes"] = list(self.notes)
        return out

    def summary_text(self, max_types: int | None = None, width: int = 100) -> str:
        """Console summary: settings, coverage, notes and the per-group table (fits ``width`` columns; long
        group names wrap, never cut), with units and the meaning of the stars."""
        import io

        from rich.console import Console
        from rich.table import Table

        frame = self.summary(max_types)
        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False, padding=(0, 1),
                      collapse_padding=True)
        for k, col in enumerate(frame.columns):
            table.add_column(str(col), justify="left" if k < 2 else "right", overflow="fold", no_wrap=k > 0)
        prev = None
        for row in frame.itertuples(index=False):
            group = row[0] if row[0] != prev else ""
            prev = row[0]
            table.add_row(str(group), *[("n/a" if isinstance(v, float) and not np.isfinite(v) else
                                         f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row[1:]])
        buf = io.StringIO()
        Console(file=buf, width=width, color_system=None, force_terminal=False, soft_wrap=False).print(table)
        import textwrap

        lines = self._header_lines() + [f"note: {n}" for n in self.notes] + ["", buf.getvalue().rstrip()]
        lines += textwrap.wrap("CAAR and median CAR in percent (the CSVs hold decimals: 0.0123 = 1.23 %). *** p<0.01  ** p<0.05  "
                     "* p<0.10 (two-sided). t_cs cross-sectional t; bmp_t Boehmer et al. (1991); kp_bmp_t "
                     "Kolari-Pynnonen (2010) adjusted; grank_t Kolari-Pynnonen (2011); gsign_z Cowan (1992). n/a: not "
                     "defined for the group (n < 3, zero or negligible variance). All statistics, exact p-values and "
                     "BH/Holm q-values in summary.csv; see docs/statistics.md.", width=width)
        return "\n".join(lines)

    def events_text(self, width: int = 100) -> str:
        """Per-event CARs of the studied events (percent), one row per event, for ``--show-events``."""
        import io

        from rich.console import Console
        from rich.table import Table

        car = self.car.pivot(index="event_id", columns="window", values="car")
        wins = [window_label(w.window) for w in self.windows]
        ev = self.events.set_index("event_id")
        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
        for col in ("event_id", "ticker", "day 0", "group", "stats"):
            table.add_column(col, overflow="fold")
        for w in wins:
            table.add_column(f"CAR {w} %", justify="right")
        groups = dict(zip(self.events["event_id"], self.groups))
        for eid in ev.index[self.ok]:
            e = ev.loc[eid]
            table.add_row(str(eid), str(e["ticker"]), str(e["day0"])[:10], str(groups[eid]),
                          "in" if e["in_stats"] else "out",
                          *[f"{100 * car.loc[eid, w]:.2f}" if np.isfinite(car.loc[eid, w]) else "n/a" for w in wins])
        buf = io.StringIO()
        Console(file=buf, width=width, color_system=None, force_terminal=False).print(table)
        return buf.getvalue().rstrip() + "\n(CAR in percent; stats: in or out of the statistics, see stats_reason)"

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<div>{html.escape(x)}</div>" for x in self._header_lines() + [f"note: {n}" for n in self.notes])
        return (head + self.summary().to_html(index=False, na_rep="n/a")
                + "<div><small>CAAR and median in percent; *** p&lt;0.01 ** p&lt;0.05 * p&lt;0.10</small></div>")

    def __str__(self) -> str:
        return self.summary_text()

    def __repr__(self) -> str:
        return f"<EventStudyResults {self.spec.name}: {int(self.ok.sum())}/{len(self.events)} events studied>"

    def regress(self, formula: str, window: str = "-1:1", cov: str = "HC1", weights: str | None = None, **kw):
        """Cross-sectional regression of a per-event measure on event characteristics
        (see :func:`eventstudy.regress.regress`): ``res.regress("car ~ C(event_type)", cov="cluster-2way")``."""
        from .regress import regress

        return regress(self, formula, window, cov, weights, **kw)

    def to_csv(self, out: str | Path, inputs: dict | None = None) -> Path:
        """Write events/ar/car/summary/aar CSVs and manifest.json into ``out`` (atomically)."""
        from .export import write_results

        return write_results(self, Path(out), inputs or {})

    def save(self, out: str | Path, format: str = "csv", inputs: dict | None = None) -> Path:
        """Write the results folder ``out`` (atomically): every table as ``format`` ``"csv"`` (Excel-safe
        text, as :meth:`to_csv`) or ``"parquet"`` (typed columns, raw text: for large studies), plus
        manifest.json (format, SHA-256 of each file). Read it back with :func:`eventstudy.export.read_results`."""
        from .export import write_results

        return write_results(self, Path(out), inputs or {}, format=format)

    # ---- figures and the HTML report -------------------------------------------------------------
    def _prices_spec(self, prices):
        """``prices``, else the spec of the source the study read (bundled, a CSV folder, a store)."""
        if prices is not None:
            return prices
        from .sources import reopen_spec

        spec = reopen_spec(self.meta.get("source"))
        if spec is not None:
            return spec
        name = (self.meta.get("source") or {}).get("source", "") if isinstance(self.meta.get("source"), dict) else ""
        raise ValueError(f"the study's price source ({name or 'unknown'}) cannot be reopened: pass prices= "
                         "(the source or its spec, as given to run_study)")

    def plot(self, kind: str = "caar", *, window: str | None = None, event_id: str | None = None,
             groups: list[str] | None = None, prices=None, ax=None):
        """Draw one chart of the study and return its axes (Jupyter shows it under the cell).

        Parameters
        ----------
        kind : ``"caar"`` CAAR per group with its 95 % band (:func:`eventstudy.plots.plot_caar`);
            ``"car"`` distribution of per-event CARs of ``window`` (default: the first window);
            ``"volume"`` mean abnormal log volume per group and day; ``"event"`` price, benchmark and
            volume around day 0 of ``event_id`` (default: the first studied event)
        groups : groups drawn by ``caar`` and ``volume`` (default: all but the pooled ``ALL``)
        prices : price source of the ``event`` chart (default: the one the study read)
        ax : matplotlib axes to draw on (default: a new figure)
        """
        from . import plots

        if kind == "caar":
            return plots.plot_caar(self.aar, groups=groups, ax=ax)
        if kind == "volume":
            return plots.plot_abnormal_volume(self.aar, groups=groups, ax=ax)
        if kind == "car":
            window = window or str(self.car["window"].iloc[0])
            return plots.plot_car_distribution(self.car, self.events.assign(_group=self.groups), window, ax=ax,
                                               group_col="_group")
        if kind == "event":
            from .sources import open_source

            ok = self.events[self.events["status"] == "ok"]
            rows = ok if event_id is None else ok[ok["event_id"] == event_id]
            if rows.empty:
                raise ValueError(f"no studied event {event_id!r} (status ok) to draw" if event_id is not None
                                 else "no studied event (status ok) to draw")
            e = rows.iloc[0]
            src = open_source(self._prices_spec(prices))
            s = self.spec
            bench = src.bars(s.benchmark) if s.uses_benchmark and s.benchmark != "FF-MKT" else None
            return plots.plot_event(src.bars(e["ticker"]), bench, e, ax=ax)
        raise ValueError(f"kind must be one of caar, car, volume, event, not {kind!r}")

    def report(self, path: str | Path, prices=None) -> Path:
        """Write the results folder ``path`` (tables, figures) and its ``report.html``; return the report.

        ``path`` is written as by :meth:`to_csv` (replacing an earlier run there); ``prices`` is the
        source of the per-event charts (default: the one the study read).
        """
        from .plots import draw_all
        from .report import write_report

        spec = self._prices_spec(prices)
        out = self.to_csv(path, {"prices": spec} if isinstance(spec, str) else {})
        draw_all(out, spec)
        return write_report(out)


#: tests with multiple-testing adjusted columns ``q_bh_<name>`` and ``q_holm_<name>`` in summary.csv
QVALUE_TESTS: tuple[str, ...] = ("cs", "bmp", "kp_bmp", "grank", "gsign")


def add_qvalues(tab: pd.DataFrame, tests: tuple[str, ...] = QVALUE_TESTS) -> pd.DataFrame:
    """Benjamini–Hochberg and Holm adjusted p-values of each test in :data:`QVALUE_TESTS`.

    One family per test: every (group, window) row of the per-type groups, i.e. all event
    types × windows; the pooled ``ALL`` rows form a second family (across windows), since they
    re-use the same events. Columns ``q_bh_<test>`` and ``q_holm_<test>`` follow ``p_<test>``.
    """
    out = tab.copy()
    is_all = (out["event_type"] == ALL_TYPES).to_numpy() if len(out) else np.zeros(0, bool)
    for name in tests:
        p = out[f"p_{name}"].to_numpy(float)
        for method in ("bh", "holm"):
            q = np.full(len(p), np.nan)
            for fam in (is_all, ~is_all):
                q[fam] = inf.qvalues(p[fam], method)
            out.insert(out.columns.get_loc(f"p_{name}") + (1 if method == "bh" else 2), f"q_{method}_{name}", q)
    return out


def _row_sd(x: np.ndarray) -> np.ndarray:
    """Sample standard deviation (divisor n-1) of the observed values of each row."""
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=1) / n
        dev = np.where(ok, x - mean[:, None], 0.0)
        return np.sqrt((dev**2).sum(axis=1) / (n - 1))


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")
