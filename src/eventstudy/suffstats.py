r"""Sufficient statistics of a study: what the tests need, reduced per chunk of events and merged.

Data flow (one way)::

    aligned arrays of a chunk of events (panel, fit, AR, windows, volume)
      -> reduce_chunk      -> ChunkStats: per-event compact values (windows, event-span days) and
                              per-group additive sums over estimation + event days
      -> merge             -> StudyStats (events back in canonical order, sums added)
      -> grank_pass        -> the generalized rank test's column sums (second pass: its inputs are
                              standardized by the group's cross-sectional s.d. of the targets)
      -> eventstudy.tables -> the ``caar`` / ``aar`` tables

A study held in memory is one chunk; a chunked or distributed study has many and gives the same
numbers (sums added in a different order: equal to ~1e-15 relative; tests check 1e-12).

What is *additive* (summed over chunks): per group and estimation/event column, the sums and counts
of the estimation-window abnormal returns (the AAR series of :func:`~eventstudy.inference.cda_t` and
:func:`~eventstudy.inference.lamb_z`), of the Corrado ranks :math:`U_{it}` (Corrado 1989; Campbell &
Wasley 1993), of the Corrado–Zivney median signs :math:`G_{it}` (Corrado & Zivney 1992), of the ranks
of abnormal log volume, and of the GRANK rank deviations (Kolari & Pynnönen 2011); the events with the
smallest hash keys for :math:`\bar r` (Kolari & Pynnönen 2010). What is *not* additive (medians,
Wilcoxon ranks, bootstrap resampling, Hall's skewness) is computed from the compact per-event values,
which are kept whole: a few hundred floats per event, against the (events × 260 days) panel.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import inference as inf

#: per-event, per-window values (n, W)
WINDOW_FIELDS = ("car", "scar", "vfac", "bhar", "n_days", "bw_var", "cav_log", "cav_mm", "spike")
#: per-event scalars (n,)
EVENT_FIELDS = ("sigma", "df_resid", "nobs", "p_est", "pos_est", "n_est", "T_obs")
#: per-event, per-event-span-day values (n, D) kept whole (medians, Wilcoxon, bootstrap, signs need them)
DAY_FIELDS = ("ar", "abvol")
#: per-group, per-day additive sums (:func:`day_sums`); ``*_max`` are maxima (merged with ``fmax``)
DAY_SUMS = ("sar_sum", "sar_sq", "sar_n", "sar_max", "patell_num", "patell_den", "patell_n", "cfac_sum", "cfac_n",
            "spike_hit", "spike_n", "r63_sum", "r63_n", "mm_sum", "mm_n")


@dataclass
class EventStats:
    """Compact per-event values of the events entering the statistics (rows: events).

    ``row`` is each event's position in the study's canonical event order (merging chunks sorts on
    it, so a chunked study lists its events exactly as the in-memory one); ``key`` a hash of the
    event id that picks the :math:`\\bar r` sample independently of chunking.
    """

    row: np.ndarray
    key: np.ndarray
    group: np.ndarray
    w: dict[str, np.ndarray]
    e: dict[str, np.ndarray]
    d: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.row)

    @staticmethod
    def assemble(parts: list["EventStats"], spill: str | None = None) -> "EventStats":
        """The parts' events in the order of their ``row`` (the study's canonical order), each array
        allocated once and filled in place (no concatenated copy, no reordered copy).

        With ``spill`` (a folder) and at least :data:`MEMMAP_MIN_BYTES` of per-event numbers, every
        numeric array is allocated as a memory-mapped file there (:func:`file_array`): the merged
        statistics of a big study then live in the page cache, which the kernel writes back and evicts
        under pressure, instead of in the process's own memory. The values and their layout (C order)
        are the same either way, so are the tables built from them."""
        rows = np.concatenate([p.row for p in parts])
        order = np.argsort(rows, kind="stable")
        where = np.empty(len(rows), np.int64)
        where[order] = np.arange(len(rows))           # part event -> its position in the result
        bounds = np.r_[0, np.cumsum([len(p) for p in parts])]
        p0 = parts[0]
        per_event = sum(a.dtype.itemsize * int(np.prod(a.shape[1:])) for d in (p0.w, p0.e, p0.d) for a in d.values())
        mapped = spill is not None and per_event * len(rows) >= MEMMAP_MIN_BYTES

        def fill(get) -> np.ndarray:
            first = get(parts[0])
            shape = (len(rows),) + first.shape[1:]
            out = file_array(spill, shape, first.dtype) if mapped and first.dtype != object else \
                np.empty(shape, dtype=first.dtype)
            for k, p in enumerate(parts):
                out[where[bounds[k]:bounds[k + 1]]] = get(p)
            return out

        return EventStats(rows[order], fill(lambda p: p.key), fill(lambda p: p.group),
                          {k: fill(lambda p, k=k: p.w[k]) for k in p0.w},
                          {k: fill(lambda p, k=k: p.e[k]) for k in p0.e},
                          {k: fill(lambda p, k=k: p.d[k]) for k in p0.d})


#: merged per-event statistics of at least this many bytes are memory-mapped files when the caller gives a
#: folder (:meth:`EventStats.assemble`; a chunked study gives its temporary folder)
MEMMAP_MIN_BYTES = 256 << 20


def file_array(folder: str, shape: tuple, dtype) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` backed by a memory-mapped temporary file in ``folder``,
    contents undefined (as ``np.empty``). The file has no name (POSIX: unlinked at once; Windows:
    deleted when closed), so nothing is left behind whatever happens to the process, and it lives as
    long as the array (or a view of it) does. Returned as a plain ``ndarray`` view of the mapping."""
    import tempfile

    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes == 0:
        return np.empty(shape, dtype)
    with tempfile.TemporaryFile(dir=folder, prefix="eventstudy-stats-") as fh:
        fh.truncate(nbytes)
        mm = np.memmap(fh, dtype=dtype, mode="r+", shape=shape)
    return np.asarray(mm)


@dataclass
class ColSums:
    r"""Additive per-column summary of a per-event (n, C) array :math:`V` over one group of events:
    :math:`\sum_i V_{it}`, :math:`N_t` (observed), the number of rows, of rows with any observation,
    and :math:`\max|V|` (the scale of the degenerate-variance guard)."""

    total: np.ndarray
    count: np.ndarray
    rows: int
    rows_any: int
    absmax: float

    @staticmethod
    def of(V: np.ndarray) -> "ColSums":
        ok = np.isfinite(V)
        return ColSums(np.where(ok, V, 0.0).sum(axis=0), ok.sum(axis=0), V.shape[0], int(ok.any(axis=1).sum()),
                       float(np.abs(V[ok]).max()) if ok.any() else float("nan"))

    @staticmethod
    def by_group(V: np.ndarray, code: np.ndarray, n_groups: int, jit: bool = False) -> list["ColSums"]:
        """:meth:`of` the rows of each group ``0..n_groups-1`` (``code`` per row), all in one pass
        (:func:`eventstudy._kernels.group_colsums`)."""
        from ._kernels import group_colsums

        return ColSums._split(*group_colsums(V, code, n_groups, jit))

    @staticmethod
    def scaled_by_group(X: np.ndarray, F: np.ndarray, a: np.ndarray, off: float, mode: int, code: np.ndarray,
                        n_groups: int, jit: bool = False) -> list["ColSums"]:
        """:meth:`by_group` of ``V = X / a[:, None] − off`` (``mode`` 0) or ``sign(X − a[:, None])`` (``mode``
        1) where ``F`` is finite (NaN elsewhere), compiled without forming ``V``
        (:func:`eventstudy._kernels.group_scaled_colsums`): the rank tests' :math:`U_{it}` and signs."""
        from ._kernels import group_scaled_colsums

        return ColSums._split(*group_scaled_colsums(X, F, a, off, mode, code, n_groups, jit))

    @staticmethod
    def _split(total, count, rows, rows_any, absmax) -> list["ColSums"]:
        return [ColSums(total[g], count[g], int(rows[g]), int(rows_any[g]), float(absmax[g])) for g in range(len(rows))]

    def __add__(self, o: "ColSums") -> "ColSums":
        return ColSums(self.total + o.total, self.count + o.count, self.rows + o.rows, self.rows_any + o.rows_any,
                       float(np.fmax(self.absmax, o.absmax)))


@dataclass
class GroupSums:
    """Additive sums of one group of events (see :class:`ColSums`); ``rbar_*`` hold the estimation
    residuals of the group's events with the smallest keys (at most ``max_rbar_events``) and their day-0
    positions in the full NYSE calendar (``rbar_day0``: the residuals sit on the sessions
    ``rbar_day0[:, None] + layout["rel_est"]``, see :func:`rbar_positions`)."""

    est: ColSums                 # estimation-window abnormal returns, per estimation column
    U: ColSums                   # Corrado ranks U_it over estimation + event columns
    Uc: ColSums | None           # estudy2's unscaled rank deviations (conventions="estudy2")
    G: ColSums                   # Corrado-Zivney median signs
    VU: ColSums                  # ranks of abnormal log volume
    day: dict[str, np.ndarray]   # per event-span day sums (:func:`day_sums`)
    rbar_key: np.ndarray
    rbar_resid: np.ndarray
    rbar_day0: np.ndarray

    def add(self, o: "GroupSums", max_rbar: int) -> "GroupSums":
        day = {k: (np.fmax if k.endswith("_max") else np.add)(v, o.day[k]) for k, v in self.day.items()}
        return GroupSums(self.est + o.est, self.U + o.U, None if self.Uc is None else self.Uc + o.Uc, self.G + o.G,
                         self.VU + o.VU, day,
                         *_smallest(max_rbar, np.r_[self.rbar_key, o.rbar_key],
                                    np.r_[self.rbar_resid, o.rbar_resid], np.r_[self.rbar_day0, o.rbar_day0]))


@dataclass
class ChunkStats:
    """The reduction of one chunk: compact per-event values, per-type sums, and the GRANK inputs
    (estimation-window standardized ARs and their mid-ranks), kept for the second pass."""

    events: EventStats
    sums: dict[str, GroupSums]
    sar_est: np.ndarray
    est_ranks: np.ndarray
    layout: dict
    empty: GroupSums          # the sums of no event (the pooled group of a study with none)
    sar_span: np.ndarray | None = None   # (n, D) day SARs: the GRANK day targets of pass 2


@dataclass
class StudyStats:
    """Everything the tables need: merged per-event values (canonical order), per-group sums
    (``ALL`` first, then the groups sorted), GRANK sums and :math:`\\bar r` per group."""

    events: EventStats
    sums: dict[str, GroupSums]
    layout: dict
    grank: dict[str, tuple] = field(default_factory=dict)
    rbar: dict[str, float] = field(default_factory=dict)
    boot: dict[tuple, tuple] = field(default_factory=dict)   # bootstrap intervals per group (tables.group_bootstrap)

    def members(self, group: str) -> np.ndarray:
        from .results import ALL_TYPES

        return np.arange(len(self.events)) if group == ALL_TYPES else np.flatnonzero(self.events.group == group)


def _smallest(k: int, key: np.ndarray, *arrays: np.ndarray) -> tuple:
    """The ``k`` rows with the smallest keys, sorted by key."""
    return _smallest_rows(k, key, np.arange(len(key)), *arrays)


def _smallest_rows(k: int, key: np.ndarray, rows: np.ndarray, *arrays: np.ndarray) -> tuple:
    """:func:`_smallest` among the rows ``rows`` of ``arrays`` (``key`` holds theirs): only the ``k`` chosen
    rows are copied."""
    order = np.argsort(key, kind="stable")[:k]
    return (key[order],) + tuple(a[rows[order]] for a in arrays)


def event_keys(event_ids: np.ndarray) -> np.ndarray:
    """Deterministic 64-bit hash of each event id (pandas' fixed-key SipHash): the :math:`\\bar r`
    sample of a large group is its events with the smallest keys, whatever the chunking."""
    return pd.util.hash_array(np.asarray(event_ids, dtype=object)).astype(np.uint64)


def row_sd(x: np.ndarray) -> np.ndarray:
    """Sample s.d. (divisor n−1) of the observed values of each row; NaN below 2 observations."""
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(ok, x, 0.0).sum(axis=1) / n
        v = np.where(ok, (x - m[:, None]) ** 2, 0.0).sum(axis=1) / (n - 1)
    return np.where(n > 1, np.sqrt(v), np.nan)


def e2_market(panel, estimation: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """estudy2's market term: benchmark deviations from its mean over *all* estimation-window
    sessions (not only the stock's own days, which the papers' forecast factor uses) and their
    sum of squares. The benchmark's one-session returns are read from the panel wherever an
    event of the study observed them (stock priced on the session and the one before);
    sessions no event covers stay missing. This reads across events, so a chunked study cannot
    use it (refused with ``conventions="estudy2"`` and the market model)."""
    m, close = panel.market, panel.close
    if m is None:
        return None
    rel = panel.rel_days
    pos = panel.positions()
    S = len(panel.sessions)
    inside = (pos >= 0) & (pos < S)
    prev = np.full(close.shape, np.nan)
    prev[:, 1:] = close[:, :-1]
    single = np.isfinite(m) & np.isfinite(close) & np.isfinite(prev) & inside
    bench = np.full(S, np.nan)
    bench[pos[single]] = m[single]
    est = (rel >= estimation[0]) & (rel <= estimation[1])
    me = np.where(est[None, :] & inside, bench[np.clip(pos, 0, max(S - 1, 0))], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mbar = np.nanmean(me, axis=1)
        sxx = np.nansum((me - mbar[:, None]) ** 2, axis=1)
    return m - mbar[:, None], sxx


def day_sums(sar: np.ndarray, df: np.ndarray, ar: np.ndarray, cfac: np.ndarray, vol_z: np.ndarray,
             ratio_63: np.ndarray, abvol_mm: np.ndarray, spike_z: float) -> dict[str, np.ndarray]:
    r"""Additive per-day sums over a set of events (all arrays (n, D) but ``df`` (n,)):
    standardized ARs :math:`\sum SAR`, :math:`\sum SAR^2`, their count and largest absolute value (BMP,
    GRANK day scale); Patell's :math:`\sum SAR` and :math:`\sum d_i/(d_i-2)` over events with
    :math:`d_i > 2`; the Lamb factor :math:`\sum C_{it}` over observed ARs; volume spikes
    (:math:`z \ge` ``spike_z``) and observed :math:`z`; the sums and counts of the 63-day volume ratio
    and of the log-volume market-model abnormal volume."""
    ok = np.isfinite(sar)
    okp = ok & (df[:, None] > 2)
    okar = np.isfinite(ar)
    okz = np.isfinite(vol_z)
    okr, okm = np.isfinite(ratio_63), np.isfinite(abvol_mm)
    with np.errstate(invalid="ignore", divide="ignore"):
        dfr = np.where(okp, df[:, None] / (df[:, None] - 2), 0.0)
    a = np.abs(np.where(ok, sar, 0.0))
    return {"sar_sum": np.where(ok, sar, 0.0).sum(0), "sar_sq": np.where(ok, sar * sar, 0.0).sum(0),
            "sar_n": ok.sum(0).astype(float), "sar_max": a.max(0) if a.size else np.zeros(sar.shape[1]),
            "patell_num": np.where(okp, sar, 0.0).sum(0), "patell_den": dfr.sum(0),
            "patell_n": okp.sum(0).astype(float),
            "cfac_sum": np.where(okar, cfac, 0.0).sum(0), "cfac_n": okar.sum(0).astype(float),
            "spike_hit": (np.where(okz, vol_z, -np.inf) >= spike_z).sum(0).astype(float),
            "spike_n": okz.sum(0).astype(float),
            "r63_sum": np.where(okr, ratio_63, 0.0).sum(0), "r63_n": okr.sum(0).astype(float),
            "mm_sum": np.where(okm, abvol_mm, 0.0).sum(0), "mm_n": okm.sum(0).astype(float)}


def _as_slice(cols: np.ndarray):
    """Consecutive column positions as a slice (indexing with it is a view, not a copy); others unchanged."""
    cols = np.asarray(cols)
    if cols.size and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        return slice(int(cols[0]), int(cols[0]) + cols.size)
    return cols


def _positions(sub: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Position in ``cols`` (distinct values) of each entry of ``sub`` (all present in ``cols``)."""
    order = np.argsort(cols, kind="stable")
    return order[np.searchsorted(cols, sub, sorter=order)]


def _rows_cols(M: np.ndarray, rows: np.ndarray, cols) -> np.ndarray:
    """``M[rows][:, cols]`` copying only the needed columns when ``cols`` is a slice."""
    return M[rows, cols] if isinstance(cols, slice) else M[rows][:, cols]


def layout_of(spec, rel: np.ndarray) -> dict:
    """Column bookkeeping shared by every chunk: estimation columns, event-span columns, the combined
    estimation + event columns of the rank tests, and each window's columns among them."""
    s, e = spec.estimation
    a, b = spec.span
    est = np.flatnonzero((rel >= s) & (rel <= e))
    span = np.flatnonzero((rel >= a) & (rel <= b))
    comb = np.r_[est, span[~np.isin(span, est)]]
    at = {int(c): k for k, c in enumerate(comb)}
    span_days = rel[span]
    wcols = [np.asarray([at[int(c)] for c in span[(span_days >= w[0]) & (span_days <= w[1])]], int)
             for w in spec.windows]
    return {"est": est, "rel_est": rel[est], "span": span, "comb": comb, "span_days": span_days,
            "span_comb": np.asarray([at[int(c)] for c in span], int), "wcols": wcols,
            "windows": tuple(tuple(w) for w in spec.windows)}


def reduce_chunk(spec, table: pd.DataFrame, panel, fit, ar: np.ndarray, windows: list, in_stats: np.ndarray,
                 vol, groups: np.ndarray, rows: np.ndarray, global_day0: np.ndarray,
                 max_rbar_events: int = 500, jit: bool | None = None) -> ChunkStats:
    """Reduce one chunk of a study to what the tests need (module docstring).

    ``groups`` are the events' statistics groups, ``rows`` their positions in the study's canonical
    event order and ``global_day0`` their day-0 positions in the full NYSE calendar (so estimation
    residuals of events from different chunks are aligned on common sessions for :math:`\\bar r`).
    ``jit`` picks the compiled rank kernel (default: by this chunk's size; a chunked study decides once
    for all chunks by the whole study's size). Under ``conventions="estudy2"`` sigma is the sample s.d.
    of the estimation ARs (divisor M−1) and, for the market model, the forecast factor uses
    :func:`e2_market`.
    """
    from ._kernels import RANK_JIT_MIN_SIZE, ROW_ORDER_MIN_COLUMNS, rank_pass, row_ranks
    from .volume import cumulative, spike_any

    rel = panel.rel_days
    lay = layout_of(spec, rel)
    comb = lay["comb"]
    est, span = _as_slice(lay["est"]), _as_slice(lay["span"])     # views where the columns are consecutive
    idx = np.flatnonzero(in_stats)
    A = ar[idx]
    e2 = getattr(spec, "conventions", "papers") == "estudy2"
    nobs = fit.nobs[idx]
    obs = np.isfinite(A[:, est])
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = row_sd(A[:, est]) if e2 else np.sqrt(fit.s2[idx])
        mkt = e2_market(panel, spec.estimation) if e2 and spec.model == "market" else None
        if mkt is None:
            cfac = c_span = fit.forecast_factor(idx, span)   # the event span's columns only
        else:
            dev, sxx = mkt[0][idx], mkt[1][idx]
            c_span = (1.0 + 1.0 / nobs[:, None] + dev**2 / sxx[:, None])[:, span]
            cfac = dev[:, span] ** 2 / sxx[:, None]          # estudy2's Lamb term (see tables.lamb_cfac)
        sar_span = A[:, span] / (sigma[:, None] * np.sqrt(c_span))
        pos_est = np.where(obs, A[:, est] > 0, False).sum(axis=1)
        n_est = obs.sum(axis=1)
        p_est = pos_est / n_est
    a_comb = np.take(A, comb, axis=1)       # C order (A[:, comb] is laid out by column: every row-wise step strided)
    ok_comb = np.isfinite(a_comb)
    T_obs = ok_comb.sum(axis=1)
    # ranks and medians of a_comb, SAR = A[:, est] / sigma and SAR's ranks (GRANK), from one sort per row
    K, med, sar_est, est_ranks = rank_pass(a_comb, _positions(lay["est"], comb), sigma,
                                           targets=len(windows) + len(lay["span"]), jit=jit)
    # Corrado's U_it = K_it / (T_i + 1) - 1/2, the Corrado-Zivney signs sign(A_it - median_i) (inf.median_signs,
    # off the same sort) and the volume ranks' U_it (rank_uniform) are only summed per group and column: see
    # ColSums.scaled_by_group below (estudy2's unscaled K_it - (T_i + 1)/2 is formed)
    Uc = np.where(ok_comb, K - (T_obs[:, None] + 1.0) / 2, np.nan) if e2 else None
    lv = vol.abvol_log[idx]
    vc = np.take(lv, comb, axis=1)
    v_ranks, n_v = row_ranks(vc, jit=jit), np.isfinite(vc).sum(axis=1)

    wv: dict[str, list] = {k: [] for k in WINDOW_FIELDS}
    for w in windows:
        n_days = w.n_days[idx].astype(float)
        if e2 and mkt is not None:
            inw = ((rel >= w.window[0]) & (rel <= w.window[1]))[None, :]
            okd = np.isfinite(A) & inw
            L = okd.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                vfac = L + L**2 / nobs + np.where(okd, mkt[0][idx], 0.0).sum(1) ** 2 / mkt[1][idx]
                scar = w.car[idx] / (sigma * np.sqrt(vfac))
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                vfac = (w.se[idx] / np.sqrt(fit.s2[idx])) ** 2
                scar = w.scar[idx] if not e2 else w.car[idx] / (sigma * np.sqrt(vfac))
        wv["car"].append(w.car[idx])
        wv["scar"].append(scar)
        wv["vfac"].append(vfac)
        wv["bhar"].append(w.bhar[idx])
        wv["n_days"].append(n_days)
        wv["bw_var"].append(sigma**2 * n_days)
        wv["cav_log"].append(cumulative(lv, rel, w.window)[0])
        # row-wise over the window's columns of every event, then the events in the statistics (the same
        # sums; no copy of whole rows per window)
        wv["cav_mm"].append(cumulative(vol.abvol_mm, rel, w.window)[0][idx])
        wv["spike"].append(spike_any(vol.vol_z, rel, w.window, spec.spike_z)[idx])
    W = len(windows)
    n = len(idx)
    wd = {k: (np.column_stack(v) if v else np.empty((n, 0))).astype(float) for k, v in wv.items()} if W else \
        {k: np.empty((n, 0)) for k in WINDOW_FIELDS}
    ed = {"sigma": sigma, "df_resid": fit.df_resid[idx].astype(float), "nobs": nobs.astype(float),
          "p_est": p_est, "pos_est": pos_est.astype(float), "n_est": n_est.astype(float), "T_obs": T_obs.astype(float)}
    dd = {"ar": np.ascontiguousarray(A[:, span]), "abvol": np.ascontiguousarray(lv[:, span])}   # own copies, not views
    dfr = fit.df_resid[idx].astype(float)
    keys = event_keys(table["event_id"].to_numpy()[idx])
    ev = EventStats(np.asarray(rows)[idx], keys, np.asarray(groups, dtype=object)[idx], wd, ed, dd)

    day0 = np.asarray(global_day0, np.int64)[idx]
    resid = A[:, est]
    sums: dict[str, GroupSums] = {}
    labels = ev.group
    names = sorted(set(labels))
    code = np.searchsorted(np.asarray(names, dtype=object), labels) if len(labels) else np.zeros(0, np.int64)
    fused = jit if jit is not None else a_comb.size >= RANK_JIT_MIN_SIZE
    ng = len(names)
    per = [ColSums.by_group(A[:, est], code, ng, fused),
           ColSums.scaled_by_group(K, a_comb, T_obs + 1.0, 0.5, 0, code, ng, fused),                    # U
           ColSums.by_group(Uc, code, ng, fused) if Uc is not None else [None] * ng,                     # Uc
           ColSums.scaled_by_group(a_comb, a_comb, med, 0.0, 1, code, ng, fused),                        # G
           ColSums.scaled_by_group(v_ranks, vc, n_v + 1.0, 0.5, 0, code, ng, fused)]                     # VU
    a_span = A[:, span]
    n_span = len(lay["span"])
    if fused and isinstance(span, slice) and n_span >= ROW_ORDER_MIN_COLUMNS:   # every group's day sums, one pass
        from ._kernels import group_day_sums

        days = group_day_sums(sar_span, dfr, A, span, cfac, vol.vol_z, vol.ratio_63, vol.abvol_mm, idx, span, code,
                              ng, spec.spike_z)
        vz = r63 = amm = np.empty((0, n_span))        # only the empty group's shapes below
    else:
        days = None
        vz, r63, amm = (_rows_cols(v, idx, span) for v in (vol.vol_z, vol.ratio_63, vol.abvol_mm))
    for gi, g in enumerate(names):
        m = code == gi
        sel = (lambda x: x) if len(names) == 1 else (lambda x, m=m: x[m])    # one group: its rows are all rows
        k_, r_, p_ = _smallest_rows(max_rbar_events, sel(keys), sel(np.arange(n)), resid, day0)
        sums[g] = GroupSums(*(p[gi] for p in per),
                            days[gi] if days is not None else
                            day_sums(sel(sar_span), sel(dfr), sel(a_span), sel(cfac), sel(vz), sel(r63), sel(amm),
                                     spec.spike_z),
                            k_, r_, p_)
    lay["spike_z"] = spec.spike_z
    lay["e2_market"] = mkt is not None
    none = np.zeros(0, bool)
    no_rows = np.empty((0, a_comb.shape[1]))
    empty = GroupSums(ColSums.of(A[none][:, est]), ColSums.of(no_rows), None if Uc is None else ColSums.of(Uc[none]),
                      ColSums.of(no_rows), ColSums.of(no_rows),
                      day_sums(sar_span[none], dfr[none], A[none][:, span], cfac[none], vz[:0], r63[:0], amm[:0],
                               spec.spike_z), keys[none], resid[none], day0[none])
    return ChunkStats(ev, sums, sar_est, est_ranks, lay, empty, sar_span)


def merge(chunks: list[ChunkStats], max_rbar_events: int = 500, spill: str | None = None) -> StudyStats:
    """Merge chunk reductions: events sorted back into canonical order, per-type sums added, and the
    pooled ``ALL`` group formed as the sum of the types (each event is in exactly one type). ``spill``: a
    folder for memory-mapped per-event arrays (:meth:`EventStats.assemble`)."""
    from .results import ALL_TYPES

    ev = EventStats.assemble([c.events for c in chunks], spill) if len(chunks) > 1 else chunks[0].events
    sums: dict[str, GroupSums] = {}
    for c in chunks:
        for g, s in c.sums.items():
            sums[g] = s if g not in sums else sums[g].add(s, max_rbar_events)
    out: dict[str, GroupSums] = {}
    labels = sorted(sums)
    total = chunks[0].empty
    for g in labels:
        total = total.add(sums[g], max_rbar_events)
    out[ALL_TYPES] = total
    out.update((g, sums[g]) for g in labels)
    return StudyStats(ev, out, chunks[0].layout)


def targets(st: StudyStats, group: str) -> tuple[np.ndarray, np.ndarray]:
    r"""The GRANK event-point scales of ``group``: the cross-sectional s.d. of each window's SCAR (from the
    per-event values) and of each event-span day's SAR (from the day sums: :math:`s^2 =
    (\sum x^2 - N\bar x^2)/(N-1)`), Kolari & Pynnönen (2011)'s re-standardization; a target with fewer
    than :data:`~eventstudy.inference.MIN_N` events or a degenerate s.d. is invalid (its test is NaN).
    Returns ``(sd (K,), valid (K,))``; K = windows + span days."""
    idx = st.members(group)
    X = st.events.w["scar"][idx]
    ok = np.isfinite(X)
    n = ok.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(ok, X, 0.0).sum(axis=0) / n
        sd = np.sqrt(np.where(ok, (X - m) ** 2, 0.0).sum(axis=0) / (n - 1))
    scale = np.where(ok, np.abs(X), 0.0).max(axis=0) if X.size else np.zeros(X.shape[1])
    d = st.sums[group].day
    with np.errstate(invalid="ignore", divide="ignore"):
        md = d["sar_sum"] / d["sar_n"]
        sdd = np.sqrt(np.maximum(d["sar_sq"] - d["sar_n"] * md * md, 0.0) / (d["sar_n"] - 1))
    sd, n, scale = np.r_[sd, sdd], np.r_[n, d["sar_n"]], np.r_[scale, d["sar_max"]]
    valid = (n >= inf.MIN_N) & ~inf._degenerate(sd, scale)
    return sd, valid


def grank_chunk(chunk: ChunkStats, scales: dict[str, tuple[np.ndarray, np.ndarray]],
                jit: bool | None = None) -> dict[str, tuple]:
    """Second pass over one chunk: the GRANK column sums of every group
    (:func:`eventstudy._kernels.grank_sums_rows`, each group's rows read in place) for targets standardized
    by ``scales[group] = (sd, valid)`` from :func:`targets` on the merged study; ``jit`` picks the compiled
    kernel for every chunk alike (:func:`use_jit`)."""
    from ._kernels import grank_sums_rows
    from .results import ALL_TYPES

    ev = chunk.events
    X = np.concatenate([ev.w["scar"], chunk.sar_span], axis=1)
    out = {}
    types = [g for g in scales if g != ALL_TYPES]
    for g, (sd, valid) in scales.items():
        if len(types) == 1 and g == types[0] and ALL_TYPES in out:   # one type: the same events as ALL
            out[g] = out[ALL_TYPES]
            continue
        idx = None if g == ALL_TYPES else np.flatnonzero(ev.group == g)
        with np.errstate(invalid="ignore", divide="ignore"):
            tg = np.where(valid[None, :], (X if idx is None else X[idx]) / sd[None, :], np.nan)
        out[g] = grank_sums_rows(chunk.sar_est, chunk.est_ranks, idx, tg, jit=jit)     # the group's rows, in place
    return out


def add_grank(parts: list[dict[str, tuple]]) -> dict[str, tuple]:
    """Add per-chunk GRANK sums group by group."""
    out: dict[str, tuple] = {}
    for p in parts:
        for g, s in p.items():
            out[g] = s if g not in out else tuple(a + b for a, b in zip(out[g], s))
    return out


def study_jit(n_events: int, n_est: int, n_targets: int) -> bool:
    """Whether a study's GRANK work (events × estimation days × targets) is worth the compiled kernels
    (:data:`eventstudy._kernels.JIT_MIN_WORK`): decided once for a whole study, so every chunk takes the
    same path as the in-memory study would."""
    from ._kernels import JIT_MIN_WORK

    return n_events * n_est * n_targets >= JIT_MIN_WORK


def use_jit(st: StudyStats) -> bool:
    """:func:`study_jit` of a merged study."""
    lay = st.layout
    return study_jit(len(st.events), len(lay["est"]), len(lay["windows"]) + len(lay["span"]))


def grank_scales(st: StudyStats) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`targets` of every group; a type holding every event reuses ``ALL``'s (same s.d.)."""
    return {g: targets(st, g) for g in st.sums}


def rbar_positions(s: GroupSums, layout: dict) -> np.ndarray:
    """The sessions (positions in the full NYSE calendar) of the estimation residuals of a group's
    :math:`\\bar r` sample: each event's day 0 plus the estimation window's relative days."""
    return s.rbar_day0[:, None] + np.asarray(layout["rel_est"], np.int64)[None, :]


def finish(st: StudyStats, chunks_grank: list[dict[str, tuple]], min_common: int = 30) -> StudyStats:
    """Attach the GRANK sums and :math:`\\bar r` (from the smallest-key residual sample) per group."""
    st.grank = add_grank(chunks_grank)
    st.rbar = {}
    done: dict[bytes, float] = {}
    for g, s in st.sums.items():
        sample = s.rbar_key.tobytes()       # one type holding every event: the same sample as ALL
        if sample not in done:
            done[sample] = inf.mean_residual_correlation(s.rbar_resid, rbar_positions(s, st.layout),
                                                         min_common=min_common,
                                                         max_events=max(len(s.rbar_key), 1))[0]
        st.rbar[g] = done[sample]
    return st


def study_stats(chunks: list[ChunkStats], max_rbar_events: int = 500) -> StudyStats:
    """Merge in-memory chunks and run the second pass (the single-machine path)."""
    st = merge(chunks, max_rbar_events)
    scales = grank_scales(st)
    jit = use_jit(st)
    return finish(st, [grank_chunk(c, scales, jit) for c in chunks])

