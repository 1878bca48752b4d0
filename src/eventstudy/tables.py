r"""The per-group test tables (``summary.csv`` per window, ``aar.csv`` per event-span day), built from a
:class:`~eventstudy.suffstats.StudyStats` only: no panel, so a chunked or distributed study and an
in-memory one share this code and give the same numbers.

Every statistic is a function of :mod:`eventstudy.inference` (definitions and papers there and in
docs/statistics.md); this module only picks each group's inputs. Conventions (``papers`` or
``estudy2``) change sigma, the sign baseline, the rank-test scaling and the Lamb factor, as listed in
docs/statistics.md "Conventions".
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import inference as inf
from .inference import cross_sectional
from .suffstats import ColSums, StudyStats


def group_settings(st: StudyStats, idx: np.ndarray, group: str, e2: bool) -> dict:
    """Per-group settings of the tests that depend on the conventions (df of the t tests, the sign
    baseline, the rank-test scaling)."""
    e = st.events.e
    out = {"df": float(np.mean(e["nobs"][idx] - 1 if e2 else e["df_resid"][idx])) if len(idx) else np.nan}
    s = st.sums[group]
    if e2:
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = e["pos_est"][idx].sum() / e["n_est"][idx].sum()   # pooled over the group's estimation days
        out["p_est"] = np.full(len(idx), pooled)
        T = float(np.mean(e["T_obs"][idx])) if len(idx) else None
        out["rank"] = {"T": T, "inflate": True}
        out["corrado"] = {"weighted": False, "T": T, "inflate": True}
        out["U_corrado"] = s.Uc
    else:
        out["p_est"] = e["p_est"][idx]
        out["rank"] = {}
        out["corrado"] = {}
        out["U_corrado"] = s.U
    return out


def _corrado(c: ColSums, windows, **kw) -> np.ndarray:
    return inf.corrado_from_sums(c.total, c.count, c.rows, c.rows_any, c.absmax, windows, **kw)


def _stdsum(c: ColSums, windows, **kw) -> np.ndarray:
    return inf.std_sum_from_sums(c.total, c.count, c.rows, c.absmax, windows, **kw)


def _grank(st: StudyStats, group: str) -> tuple[np.ndarray, np.ndarray]:
    from ._kernels import grank_from_sums

    return grank_from_sums(*st.grank[group])


def group_bootstrap(st: StudyStats, gi: int, idx: np.ndarray, boot_reps: int, seed: int, max_boot_events: int
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The percentile bootstrap intervals of group number ``gi`` (its events ``idx``) for every window's mean
    CAR and every event-span day's AAR, from *one* case resampling of the group's events shared by all of
    them (:func:`eventstudy.inference.bootstrap_mean_ci_days`, seed ``seed + 1000 * gi``); NaN above
    ``max_boot_events`` events. Computed once per group for both tables (kept on ``st``)."""
    key = (gi, boot_reps, seed, max_boot_events)
    if key not in st.boot:
        E = st.events
        nW, nD = E.w["car"].shape[1], E.d["ar"].shape[1]
        if len(idx) <= max_boot_events:
            lo, hi = inf.bootstrap_mean_ci_days(np.concatenate([E.w["car"][idx], E.d["ar"][idx]], axis=1),
                                                reps=boot_reps, seed=seed + 1000 * gi)
        else:
            lo = hi = np.full(nW + nD, np.nan)
        st.boot[key] = ((lo[:nW], hi[:nW]), (lo[nW:], hi[nW:]))
    return st.boot[key]


def _groups(st: StudyStats):
    for g in st.sums:
        yield g, st.members(g)


#: from this many events on, the tables compute their groups on threads, one per CPU (each group's numbers
#: are computed by the same code from the same inputs: the tables do not change; numpy's array work
#: releases the GIL, so the groups of a large study use every core)
TABLE_THREADS_MIN_EVENTS = 50_000


def _per_group(st: StudyStats, fn: Callable[[int, str, np.ndarray], object]) -> list:
    """``fn(gi, group, idx)`` for every group, in group order: on threads for a study of at least
    :data:`TABLE_THREADS_MIN_EVENTS` events (the groups are independent), else one after the other."""
    items = list(enumerate(_groups(st)))
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2 or len(st.events) < TABLE_THREADS_MIN_EVENTS:
        return [fn(gi, g, idx) for gi, (g, idx) in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="eventstudy-tables") as ex:
        return list(ex.map(lambda item: fn(item[0], *item[1]), items))


#: the per-day statistics of a group are computed on blocks of event-span days whose (events × days) array
#: takes at most this many bytes (:func:`day_blocks`): memory bounded by the block, not by events × days
DAY_BLOCK_BYTES = 128 << 20


def day_blocks(n_events: int, n_days: int) -> list[slice]:
    """Contiguous blocks of the ``n_days`` event-span days for a group of ``n_events`` events: all days at
    once when the (events × days) float64 array fits :data:`DAY_BLOCK_BYTES`, else the fewest blocks that
    fit, each at least two days wide. Two or more columns keep every per-day number bit for bit: numpy sums
    each column of a C-ordered (n, d ≥ 2) array event after event, as it does in the whole (n, D) array (a
    single column would be summed pairwise, in another order); medians, ranks and sorts are per column."""
    per = max(2, DAY_BLOCK_BYTES // max(1, 8 * n_events))
    if per >= n_days or n_days < 4:
        return [slice(0, n_days)]
    k = min(-(-n_days // per), n_days // 2)
    edges = (np.arange(k + 1) * n_days) // k
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _day_columns(X: np.ndarray, idx: np.ndarray, days: slice) -> np.ndarray:
    """The group's rows ``idx`` of the per-event, per-day values ``X`` on the days of one block, as a
    C-ordered (n, d) array (read from ``X`` block by block: ``X`` may be a memory-mapped file)."""
    return X[:, days][idx] if (days.start, days.stop) != (0, X.shape[1]) else X[idx]


def _cat(blocks: list, key: str) -> np.ndarray:
    return blocks[0][key] if len(blocks) == 1 else np.concatenate([b[key] for b in blocks])


def caar_table(st: StudyStats, boot_reps: int, seed: int, max_boot_events: int, e2: bool) -> pd.DataFrame:
    """Per group and window: CAAR with the full test battery (see docs/statistics.md)."""
    from .abnormal import window_label
    from .results import add_qvalues
    from .suffstats import use_jit

    lay = st.layout
    E = st.events
    jit = use_jit(st)

    def group_rows(gi: int, group: str, idx: np.ndarray) -> list[dict]:
        rows = []
        g = group_settings(st, idx, group, e2)
        S = st.sums[group]
        aar_est = _mean(S.est.total, S.est.count)
        day_aar = np.concatenate([inf.column_means(_day_columns(E.d["ar"], idx, b))
                                  for b in day_blocks(len(idx), E.d["ar"].shape[1])])
        rbar = st.rbar[group]
        ct_all = _corrado(g["U_corrado"], lay["wcols"], **g["corrado"])
        cz_all = _stdsum(S.G, lay["wcols"], **g["rank"])
        mr_all = _stdsum(S.U, lay["wcols"], **g["rank"])
        vct_all = _corrado(S.VU, lay["wcols"])
        gt_all, p_gt_all = _grank(st, group)
        blo, bhi = group_bootstrap(st, gi, idx, boot_reps, seed, max_boot_events)[0]
        # every window's Wilcoxon test from one call (columns are independent: what inf.wilcoxon gives per window)
        wil = inf.wilcoxon_from_sums(*inf.signed_rank_sums(E.w["car"][idx], jit))
        for wi, w in enumerate(lay["windows"]):
            car, scar = E.w["car"][idx, wi], E.w["scar"][idx, wi]
            cs = cross_sectional(car)
            L = w[1] - w[0] + 1
            in_w = (lay["span_days"] >= w[0]) & (lay["span_days"] <= w[1])
            cda, p_cda = inf.cda_t(np.nansum(day_aar[in_w]), aar_est, L)
            vfac = E.w["vfac"][idx, wi]
            bw, p_bw = inf.bw1980_t(car, E.w["bw_var"][idx, wi], g["df"])
            lz, p_lz = inf.lamb_z(cs.mean, aar_est, np.nanmean(vfac) if np.isfinite(vfac).any() else np.nan)
            pz, p_pz = inf.patell_z(scar, E.e["df_resid"][idx])
            bt, p_bt = inf.bmp_t(scar)
            n_std = np.isfinite(scar).sum()
            kpb = inf.kp_adjust(bt, rbar, n_std, "bmp")
            kpp = inf.kp_adjust(pz, rbar, n_std, "patell")
            ct = ct_all[wi]
            gt, p_gt = float(gt_all[wi]), float(p_gt_all[wi])
            sz, _ = inf.sign_z(car)
            gz, _ = inf.gsign_z(car, g["p_est"])
            k_pos, n_obs = inf.sign_counts(car)
            p_gs = inf.binom_two_sided_p(k_pos, n_obs, np.nanmean(g["p_est"]) if len(idx) else np.nan)
            ht, p_ht = inf.hall_t(car, cs)
            ww, wz, p_w = (float(v[wi]) for v in wil)
            lo, hi = float(blo[wi]), float(bhi[wi])
            cav = E.w["cav_log"][idx, wi]
            vcs = cross_sectional(cav)
            rows.append({
                "event_type": group, "window": window_label(w), "win_start": w[0],
                "win_end": w[1], "n": int(cs.n), "mean_car": float(cs.mean),
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
                "mean_bhar": _nanmean(E.w["bhar"][idx, wi]), "rbar": rbar,
                "vol_n": int(vcs.n), "vol_mean_cav": float(vcs.mean), "vol_median_cav": float(vcs.median),
                "vol_t_cs": float(vcs.t), "vol_p_cs": float(vcs.p), "vol_corrado_t": float(vct_all[wi]),
                "vol_p_corrado": float(inf.two_sided_p_z(vct_all[wi])),
                "vol_spike_share": _nanmean(E.w["spike"][idx, wi]),
                "vol_mean_cav_mm": _nanmean(E.w["cav_mm"][idx, wi])})
        return rows

    return add_qvalues(pd.DataFrame([r for rows in _per_group(st, group_rows) for r in rows]))


def lamb_cfac(st: StudyStats, group: str, idx: np.ndarray, e2: bool) -> np.ndarray:
    r"""Mean forecast-error factor :math:`\bar C_t` of the group's events on each span day (Lamb 1995):
    the mean of :math:`C_{it}` over events observed that day; estudy2: :math:`1 + 1/\bar M` plus the mean
    of its market term :math:`(R_{mt}-\bar R_m)^2/\sum(R_m-\bar R_m)^2`."""
    d = st.sums[group].day
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = d["cfac_sum"] / d["cfac_n"]
        if e2 and st.layout.get("e2_market"):
            return 1.0 + 1.0 / np.mean(st.events.e["nobs"][idx]) + mean
        return mean


def _mean(total: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan)


def aar_table(st: StudyStats, boot_reps: int, seed: int, max_boot_events: int, e2: bool) -> pd.DataFrame:
    """Per group and event-span day: AAR, CAAR (cumulated from the span start) and the tests."""
    from .suffstats import use_jit

    lay = st.layout
    E = st.events
    ucols = lay["span_comb"]
    nW = len(lay["windows"])
    jit = use_jit(st)

    def group_frame(gi: int, group: str, idx: np.ndarray) -> pd.DataFrame:
        g = group_settings(st, idx, group, e2)
        S = st.sums[group]
        d = S.day
        blocks = [_day_stats(E, idx, b, g, jit) for b in day_blocks(len(idx), E.d["ar"].shape[1])]
        cs_n, cs_mean = _cat(blocks, "n"), _cat(blocks, "mean")
        aar = np.where(cs_n > 0, cs_mean, 0.0)
        caar = np.where(np.cumsum(cs_n) > 0, np.cumsum(aar), np.nan)
        aar_est = _mean(S.est.total, S.est.count)
        cda, p_cda = inf.cda_t(cs_mean, aar_est, 1)
        lz, p_lz = inf.lamb_z(cs_mean, aar_est, lamb_cfac(st, group, idx, e2))
        pz, p_pz = inf.patell_from_sums(d["patell_num"], d["patell_den"], d["patell_n"])
        bt, p_bt = inf.mean_t_from_sums(d["sar_sum"], d["sar_sq"], d["sar_n"], d["sar_max"])
        n_std = d["sar_n"]
        rbar = st.rbar[group]
        kpb = inf.kp_adjust(bt, rbar, n_std, "bmp")
        kpp = inf.kp_adjust(pz, rbar, n_std, "patell")
        ct = _corrado(g["U_corrado"], ucols, **g["corrado"])
        cz = _stdsum(S.G, ucols, **g["rank"])
        mr = _stdsum(S.U, ucols, **g["rank"])
        gt, p_gt = _grank(st, group)
        k_pos, n_obs = _cat(blocks, "k_pos"), _cat(blocks, "n_obs")
        p_hat = np.nanmean(g["p_est"]) if len(idx) else np.nan
        boot_lo, boot_hi = group_bootstrap(st, gi, idx, boot_reps, seed, max_boot_events)[1]
        vct = _corrado(S.VU, ucols)
        share = _mean(d["spike_hit"], d["spike_n"])
        c = {k: _cat(blocks, k) for k in blocks[0]}
        return pd.DataFrame({
            "event_type": group, "rel_day": lay["span_days"], "n": cs_n, "aar": cs_mean,
            "caar": caar, "t_cs": c["t"], "p_cs": c["p"], "t_cda": cda, "p_cda": p_cda,
            "t_bw1980": c["bw"], "p_bw1980": c["p_bw"], "lamb_z": lz, "p_lamb": p_lz, "patell_z": pz,
            "p_patell": p_pz, "bmp_t": bt, "p_bmp": p_bt, "kp_patell_z": kpp,
            "p_kp_patell": inf.two_sided_p_z(kpp), "kp_bmp_t": kpb,
            "p_kp_bmp": inf.two_sided_p_t(kpb, n_std - 1), "hall_t": c["ht"], "p_hall": c["p_ht"],
            "corrado_t": ct, "p_corrado": inf.two_sided_p_z(ct), "mrank_t": mr, "p_mrank": inf.two_sided_p_z(mr),
            "grank_t": gt[nW:], "p_grank": p_gt[nW:],
            "sign_z": c["sz"], "p_sign": inf.binom_two_sided_p(k_pos, n_obs, 0.5),
            "gsign_z": c["gz"], "p_gsign": inf.binom_two_sided_p(k_pos, n_obs, p_hat),
            "czsign_z": cz, "p_czsign": inf.two_sided_p_z(cz),
            "wilcoxon_w": c["wil_w"], "wilcoxon_z": c["wil_z"], "p_wilcoxon": c["wil_p"],
            "boot_lo": boot_lo, "boot_hi": boot_hi,
            "vol_n": c["v_n"], "vol_mean_abvol": c["v_mean"], "vol_median_abvol": c["v_median"], "vol_t_cs": c["v_t"],
            "vol_p_cs": c["v_p"], "vol_corrado_t": vct, "vol_p_corrado": inf.two_sided_p_z(vct),
            "vol_spike_share": share,
            "vol_mean_ratio_63": _mean(d["r63_sum"], d["r63_n"]),
            "vol_mean_abvol_mm": _mean(d["mm_sum"], d["mm_n"])})

    return pd.concat(_per_group(st, group_frame), ignore_index=True)


def _day_stats(E, idx: np.ndarray, days: slice, g: dict, jit: bool = False) -> dict[str, np.ndarray]:
    """The per-day statistics of the aar table that read the group's per-event values, on one block of days
    (:func:`day_blocks`): cross-sectional mean and t, Brown–Warner, signs, Hall, Wilcoxon, and the same
    for abnormal log volume. ``jit`` (the study's compiled path, :func:`eventstudy.suffstats.use_jit`):
    :func:`_day_stats_compiled`, the same numbers bit for bit, for blocks of two or more days (numpy sums
    a single column pairwise, not event after event)."""
    from ._kernels import ROW_ORDER_MIN_COLUMNS

    var = E.e["sigma"][idx] ** 2
    lo, hi, _ = days.indices(E.d["ar"].shape[1])
    if jit and hi - lo >= ROW_ORDER_MIN_COLUMNS:
        return _day_stats_compiled(E, idx, days, g, var)
    a = _day_columns(E.d["ar"], idx, days)
    cs = cross_sectional(a, median=False)      # the aar table reports no median AR (the volume median below)
    k_pos, n_obs = inf.sign_counts(a)
    out = _day_out(cs, inf.bw1980_t(a, var, g["df"]), inf.sign_z(a), inf.gsign_z(a, g["p_est"]), k_pos, n_obs,
                   inf.hall_t(a, cs), inf.wilcoxon_columns(a))
    del a
    return out | _day_volume(cross_sectional(_day_columns(E.d["abvol"], idx, days)))


def _day_stats_compiled(E, idx: np.ndarray, days: slice, g: dict, var: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`_day_stats` from compiled passes over the group's rows in place: the sums of the parametric and
    sign tests (:func:`eventstudy._kernels.day_table_sums`: the same additions in the same order as numpy's
    column sums) and Wilcoxon's signed-rank sums (:func:`eventstudy._kernels.signed_rank_sums_rows`), turned
    into statistics by the same functions as the numpy path (``inference.*_from_sums``)."""
    from ._kernels import day_table_sums, signed_rank_sums_rows

    s = day_table_sums(E.d["ar"], idx, days, var, g["p_est"])
    cs = inf.cross_section_from_sums(s["n"], s["mean"], s["ss"], s["scale"], s["npos"])
    out = _day_out(cs, inf.bw1980_from_sums(s["bw_n"], s["bw_sum"], s["bw_var"], g["df"]),
                   inf.sign_z_from_counts(s["npos"], s["n"]), inf.gsign_z_from_sums(s["g_pos"], s["g_n"], s["g_psum"]),
                   s["npos"], s["n"], inf.hall_from_sums(cs, s["m3"]),
                   inf.wilcoxon_from_sums(*signed_rank_sums_rows(E.d["ar"], idx, days)))
    v = day_table_sums(E.d["abvol"], idx, days, var, g["p_est"])   # (its Brown–Warner and sign sums unused)
    med = inf.column_medians(_day_columns(E.d["abvol"], idx, days))
    return out | _day_volume(inf.cross_section_from_sums(v["n"], v["mean"], v["ss"], v["scale"], v["npos"], med))


def _day_out(cs, bw, sz, gz, k_pos, n_obs, ht, wil) -> dict[str, np.ndarray]:
    return {"n": cs.n, "mean": cs.mean, "t": cs.t, "p": cs.p, "bw": bw[0], "p_bw": bw[1], "sz": sz[0], "gz": gz[0],
            "k_pos": k_pos, "n_obs": n_obs, "ht": ht[0], "p_ht": ht[1], "wil_w": wil[0], "wil_z": wil[1],
            "wil_p": wil[2]}


def _day_volume(vcs) -> dict[str, np.ndarray]:
    return {"v_n": vcs.n, "v_mean": vcs.mean, "v_median": vcs.median, "v_t": vcs.t, "v_p": vcs.p}


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")
