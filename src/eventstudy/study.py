"""The event-study pipeline: events → aligned panel → normal-return model → abnormal returns.

:func:`run_study` is the single entry point used by the CLI, notebooks and tests. It loops
over *tickers* only to read their bars (IO); everything per event is array code.

Status codes (``events.status``), in order of precedence:

=================  ==============================================================
``unmapped``        no ticker (private company or non-company event)
``source_error``    the price source failed (network, rate limit, server error, corrupt cache):
                    the ticker may well have data; the run exits non-zero unless allowed
``no_prices``       the price source has no data for the ticker
``bad_price_file``  the ticker's price file is malformed (reason names file/row/field)
``outside_data``    day 0 falls outside the ticker's price history (or the calendar)
``no_benchmark``    the benchmark / factors do not cover day 0
``short_estimation`` fewer usable estimation-window returns than ``min_obs``
``singular_model``  the estimation-window design matrix is singular
``no_event_data``   no return at all inside the event windows
``ok``              studied
=================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import models as mdl
from ._errors import EventStudyError, InputFileError, PriceSourceError, SourceFailureError, TickerNotFoundError
from .abnormal import cumulate, parse_window
from .trading_calendar import align_day0, nyse_sessions
from .events import load_events
from .panel import FLAG_NAMES, MarketGrid, Panel, build_grid, gather, window_counts
from .volume import VolumeMeasures, abnormal_volume
from .sources import PriceSource, open_source

if TYPE_CHECKING:  # pragma: no cover
    from .results import EventStudyResults

DEFAULT_WINDOWS: tuple[tuple[int, int], ...] = ((-1, 1), (0, 0), (0, 5), (-5, 20))
FF_MARKET = "FF-MKT"
RETURN_TYPES = ("simple", "log")
OVERLAP_POLICIES = ("keep", "drop", "first")
GROUP_BY = ("event_type", "subtype", "type_subtype")
CONVENTIONS = ("papers", "estudy2")
VOLUME_BASELINE = 63
STATUS_ORDER: tuple[str, ...] = ("unmapped", "source_error", "no_prices", "bad_price_file", "outside_data", "no_benchmark",
                                 "short_estimation", "singular_model", "no_event_data", "ok")


@dataclass(frozen=True)
class StudySpec:
    """Everything that defines a study except its inputs.

    Parameters
    ----------
    model : one of :data:`eventstudy.models.MODELS`
    benchmark : market-index ticker for ``market`` / ``market-adjusted`` (e.g. ``XBI``, ``SPY``),
        or ``FF-MKT`` for the Fama–French market return Mkt-RF + RF
    estimation : (first, last) relative day of the estimation window
    windows : event windows (first, last), inclusive
    returns : ``simple`` or ``log``
    min_obs : minimum usable estimation-window returns
    overlap : ``keep``, ``drop`` or ``first``: which overlapping events enter the per-type statistics
    spike_z : a day with abnormal log volume ``vol_z`` at or above this is a volume spike
    group_by : groups of the per-type statistics: ``event_type``, ``subtype`` or ``type_subtype``
        (e.g. ``fda_decision/crl``); the group is in the ``event_type`` column of summary/aar
    conventions : ``papers`` (the papers' definitions) or ``estudy2`` (R estudy2's conventions:
        sigma with divisor M-1, pooled sign baseline, its rank-test scaling; docs/statistics.md)
    """

    model: str = "market"
    benchmark: str = "XBI"
    estimation: tuple[int, int] = (-250, -11)
    windows: tuple[tuple[int, int], ...] = DEFAULT_WINDOWS
    returns: str = "simple"
    min_obs: int = 120
    overlap: str = "keep"
    name: str = "study"
    spike_z: float = 3.0
    group_by: str = "event_type"
    conventions: str = "papers"

    def __post_init__(self) -> None:
        if self.model not in mdl.MODELS:
            raise ValueError(f"model {self.model!r}: choose from {', '.join(mdl.MODELS)}")
        if self.returns not in RETURN_TYPES:
            raise ValueError(f"returns {self.returns!r}: choose simple or log")
        if self.group_by not in GROUP_BY:
            raise ValueError(f"group_by {self.group_by!r}: choose from {', '.join(GROUP_BY)}")
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions {self.conventions!r}: choose from {', '.join(CONVENTIONS)}")
        if self.overlap not in OVERLAP_POLICIES:
            raise ValueError(f"overlap {self.overlap!r}: choose keep, drop or first")
        est = tuple(parse_window(self.estimation) if isinstance(self.estimation, str) else self.estimation)
        wins = tuple(tuple(parse_window(w) if isinstance(w, str) else w) for w in self.windows)
        object.__setattr__(self, "estimation", est)
        object.__setattr__(self, "windows", wins)
        object.__setattr__(self, "benchmark", self.benchmark.upper())
        if not wins:
            raise ValueError("at least one event window is needed")
        if est[0] > est[1]:
            raise ValueError(f"estimation window {est} is empty")
        if self.min_obs < 3:
            raise ValueError("min_obs must be at least 3")
        if est[1] - est[0] + 1 < self.min_obs:
            raise ValueError(f"estimation window {est[0]}:{est[1]} has {est[1] - est[0] + 1} days, "
                             f"fewer than min_obs={self.min_obs}")

    @property
    def span(self) -> tuple[int, int]:
        """The event span: from the earliest window start to the latest window end."""
        return min(w[0] for w in self.windows), max(w[1] for w in self.windows)

    @property
    def rel_days(self) -> np.ndarray:
        lo = min(self.estimation[0], self.span[0], -VOLUME_BASELINE)
        hi = max(self.span[1], self.estimation[1], 0)
        return np.arange(lo, hi + 1)

    @property
    def uses_benchmark(self) -> bool:
        return self.model in ("market", "market-adjusted")

    @property
    def factor_names(self) -> tuple[str, ...]:
        return mdl.FACTOR_SETS.get(self.model, ())

    def notes(self) -> list[str]:
        out = []
        for w in self.windows:
            if w[0] <= self.estimation[1] and w[1] >= self.estimation[0]:
                out.append(f"event window {w[0]}:{w[1]} overlaps the estimation window "
                           f"{self.estimation[0]}:{self.estimation[1]}")
        return out

    def to_dict(self) -> dict:
        return {"model": self.model, "benchmark": self.benchmark if self.uses_benchmark else None,
                "estimation": f"{self.estimation[0]}:{self.estimation[1]}",
                "windows": [f"{a}:{b}" for a, b in self.windows], "returns": self.returns,
                "min_obs": self.min_obs, "overlap": self.overlap, "name": self.name, "spike_z": self.spike_z,
                "group_by": self.group_by, "conventions": self.conventions}


@dataclass
class LoadedPrices:
    """Bars per ticker plus the load status of tickers that failed."""

    bars: dict[str, pd.DataFrame]
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)


def load_prices(source: PriceSource, tickers: list[str],
                progress: Callable[[str], None] | None = None) -> LoadedPrices:
    """Read each ticker's bars from ``source``; failures become (status, reason), never exceptions."""
    out = LoadedPrices({})
    for t in tickers:
        if progress:
            progress(t)
        try:
            b = source.bars(t)
        except TickerNotFoundError as exc:
            out.failed[t] = ("no_prices", str(exc))
            continue
        except SourceFailureError as exc:
            out.failed[t] = ("source_error", f"{type(exc).__name__}: {exc}")
            continue
        except InputFileError as exc:
            out.failed[t] = ("bad_price_file", "; ".join(str(p) for p in exc.problems[:3]))
            continue
        except PriceSourceError as exc:
            out.failed[t] = ("no_prices", str(exc))
            continue
        if not np.isfinite(b["close"].to_numpy()).any() and not np.isfinite(b["adj_close"].to_numpy()).any():
            out.failed[t] = ("no_prices", f"{t}: the source returned no prices")
            continue
        out.bars[t] = b
    return out


def _levels(values: pd.DataFrame, sessions: pd.DatetimeIndex) -> np.ndarray:
    """Cumulative log(1 + r) of return columns on ``sessions`` (S, p); NaN where a date is missing."""
    aligned = values.reindex(sessions).to_numpy(dtype=float)
    lg = np.log1p(aligned)
    lv = np.cumsum(np.nan_to_num(lg), axis=0)
    lv[~np.isfinite(lg)] = np.nan
    return lv


def _overlap_pairs(row: np.ndarray, start: np.ndarray, end: np.ndarray, valid: np.ndarray):
    """Pairs (i, j) of valid events with the same ``row`` whose [start, end] intervals intersect."""
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return np.empty(0, int), np.empty(0, int), idx, np.empty(0, int)
    big = int(max(end[idx].max(), start[idx].max()) + 2 - min(start[idx].min(), 0))
    ks = row[idx].astype(np.int64) * big + start[idx]
    ke = row[idx].astype(np.int64) * big + end[idx]
    order = np.lexsort((np.arange(idx.size), ks))
    ks, ke, idx = ks[order], ke[order], idx[order]
    hi = np.searchsorted(ks, ke, side="right")
    counts = hi - np.arange(idx.size) - 1
    i_rep = np.repeat(np.arange(idx.size), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    j_rep = i_rep + 1 + offs
    run_max = np.maximum.accumulate(ke)
    new = np.ones(idx.size, dtype=bool)
    new[1:] = ks[1:] > run_max[:-1]
    cluster = np.cumsum(new) - 1
    return idx[i_rep], idx[j_rep], idx, cluster


def run_study(events: str | pd.DataFrame, prices: str | PriceSource = "bundled", spec: StudySpec | None = None,
              *, factors: str | pd.DataFrame | None = None,
              progress: Callable[[str], None] | None = None, **spec_kwargs) -> "EventStudyResults":
    """Run an event study.

    Parameters
    ----------
    events : path of a curated event CSV, or a DataFrame with the same columns
    prices : a price source or its spec (``bundled``, ``bundled:universe``, ``yahoo``, a directory)
    spec : the study settings; keyword arguments override its fields (``model="ff3"``…)
    factors : factor data for factor models and ``FF-MKT`` (default: bundled Ken French files)
    progress : called with each ticker as its prices are read

    Returns
    -------
    EventStudyResults
    """
    from .results import EventStudyResults

    spec = replace(spec or StudySpec(), **spec_kwargs) if spec_kwargs else (spec or StudySpec())
    ev = load_events(events)
    source = open_source(prices)
    n = len(ev)
    tickers = sorted(t for t in ev["ticker"].unique() if t)
    bench = spec.benchmark if spec.uses_benchmark else None
    need_factors = bool(spec.factor_names) or bench == FF_MARKET
    fac = None
    if need_factors:
        from .factors import load_factors

        fac = load_factors(factors)
        missing = [c for c in spec.factor_names + ("RF",) if c not in fac.columns]
        if missing:
            raise EventStudyError(f"factor data lacks column(s) {', '.join(missing)} needed by model {spec.model}")

    vol_bench = spec.benchmark if spec.benchmark != FF_MARKET else None
    to_load = tickers + ([vol_bench] if vol_bench and vol_bench not in tickers else [])
    loaded = load_prices(source, to_load, progress)
    if bench and bench != FF_MARKET and bench in loaded.failed:
        raise EventStudyError(f"benchmark {bench}: {loaded.failed[bench][1]}")

    full = nyse_sessions()
    firsts = [b.index.min() for b in loaded.bars.values()]
    lasts = [b.index.max() for b in loaded.bars.values()]
    if firsts:
        lo, hi = min(firsts), max(lasts)
        offset = int(np.searchsorted(full.to_numpy(), np.datetime64(lo, "ns"), side="left"))
        sessions = full[(full >= lo) & (full <= hi)]
    else:
        offset, sessions = 0, full[:0]
    grid = build_grid(loaded.bars, sessions)
    row_of = {t: i for i, t in enumerate(grid.tickers)}

    # --- day 0 and panel positions (arrays over events) -------------------------------
    pos_full, rule = align_day0(ev["event_date"], ev["event_time"], full)
    day0 = np.where(pos_full >= 0, full.to_numpy()[np.clip(pos_full, 0, None)], np.datetime64("NaT"))
    day0_pos = np.where(pos_full >= 0, pos_full - offset, -1)
    S = len(sessions)
    on_grid = (day0_pos >= 0) & (day0_pos < S)
    ticker_row = pd.Index(grid.tickers).get_indexer(ev["ticker"]).astype(np.int64)
    rel = spec.rel_days
    cols = day0_pos[:, None] + rel[None, :]
    g_row = np.where(on_grid, ticker_row, -1)

    # --- returns on the grid, then gathered into the panel ---------------------------------
    to_ret = (lambda x: np.expm1(x)) if spec.returns == "simple" else (lambda x: x)
    stock = to_ret(grid.stock_log_return())
    market = rf = fz = None
    bench_cover = np.ones(n, dtype=bool)
    if bench:
        if bench == FF_MARKET:
            blevel = _levels((fac["Mkt-RF"] + fac["RF"]).to_frame(), sessions)[:, 0]
        else:
            blevel = grid.logp[row_of[bench]]
        market = gather(to_ret(grid.span_log_return(blevel)), g_row, cols)
        bench_cover = np.isfinite(blevel)[np.clip(day0_pos, 0, max(S - 1, 0))] if S else bench_cover & False
    if spec.factor_names:
        flevel = _levels(fac[list(spec.factor_names)], sessions)
        rlevel = _levels(fac[["RF"]], sessions)[:, 0]
        fz = gather(to_ret(grid.span_log_return(flevel)), g_row, cols)
        rf = gather(to_ret(grid.span_log_return(rlevel)), g_row, cols)
        bench_cover = np.isfinite(flevel).all(axis=1)[np.clip(day0_pos, 0, max(S - 1, 0))] if S else bench_cover & False
    ret = gather(stock, g_row, cols)
    bench_volume = None
    if vol_bench in row_of:
        bench_volume = gather(grid.volume[row_of[vol_bench]][None, :], np.where(g_row >= 0, 0, -1), cols)
    panel = Panel(rel, day0_pos, g_row, ret, gather(grid.volume, g_row, cols), gather(grid.close, g_row, cols),
                  market, fz, rf, sessions, bench_volume)

    # --- the normal-return model, all events at once ------------------------------------
    est = ((rel >= spec.estimation[0]) & (rel <= spec.estimation[1]))[None, :] & np.ones((n, 1), dtype=bool)
    fit, expected = _fit(spec, panel, est)
    ar = ret - expected
    span_mask = (rel >= spec.span[0]) & (rel <= spec.span[1])

    # --- statuses --------------------------------------------------------------------------
    status = np.full(n, "ok", dtype=object)
    reason = np.full(n, "", dtype=object)
    first = np.where(ticker_row >= 0, grid.first[np.clip(ticker_row, 0, None)] if len(grid.first) else -1, -1)
    last = np.where(ticker_row >= 0, grid.last[np.clip(ticker_row, 0, None)] if len(grid.last) else -1, -1)
    in_range = on_grid & (ticker_row >= 0) & (day0_pos >= first) & (day0_pos <= last)
    no_evt = ~np.isfinite(np.where(span_mask[None, :], ar, np.nan)).any(axis=1)
    conds = [
        ("no_event_data", no_evt, "no return inside the event windows"),
        ("singular_model", fit.singular if fit.singular is not None else np.zeros(n, bool),
         "estimation-window regressors are collinear or constant"),
        ("short_estimation", fit.nobs < spec.min_obs, None),
        ("no_benchmark", ~bench_cover, None),
        ("outside_data", ~in_range, None),
    ]
    for code, mask, text in conds:
        status[mask] = code
        reason[mask] = text or ""
    m = status == "short_estimation"
    reason[m] = [f"{int(k)} usable estimation-window returns in "
                 f"{spec.estimation[0]}:{spec.estimation[1]}; minimum {spec.min_obs}" for k in fit.nobs[m]]
    m = status == "no_benchmark"
    what = "factor data" if spec.factor_names else f"benchmark {bench}"
    reason[m] = [f"{what} has no value on day 0 ({pd.Timestamp(d).date()})" for d in day0[m]]
    m = status == "outside_data"
    for i in np.flatnonzero(m):
        t = ev["ticker"].iat[i]
        if t not in loaded.bars:
            continue  # unmapped / failed tickers get their own status below
        if pos_full[i] < 0:
            reason[i] = f"event date {ev['event_date'].iat[i].date()} is outside the NYSE calendar " \
                        f"({full[0].date()} to {full[-1].date()})"
        else:
            b = loaded.bars[t]
            reason[i] = (f"day 0 {pd.Timestamp(day0[i]).date()} is outside the price history of {t} "
                         f"({b.index.min().date()} to {b.index.max().date()})")
    for t, (code, text) in loaded.failed.items():
        m = (ev["ticker"] == t).to_numpy()
        status[m], reason[m] = code, text
    m = (ev["ticker"] == "").to_numpy()
    status[m], reason[m] = "unmapped", "no listed ticker (private company or non-company event)"
    ok = status == "ok"

    # --- per-window CARs -----------------------------------------------------------------
    ar = np.where(ok[:, None], ar, np.nan)
    windows = [cumulate(ar, ret, expected, fit, rel, w, spec.returns == "log") for w in spec.windows]

    # --- overlaps, flags, event table --------------------------------------------------------
    s_start, s_end = day0_pos + spec.span[0], day0_pos + spec.span[1]
    pi, pj, _, _ = _overlap_pairs(g_row, s_start, s_end, g_row >= 0)
    overlaps = _overlap_lists(ev["event_id"].to_numpy(), pi, pj, n)
    in_stats = ok.copy()
    if spec.overlap == "drop":
        has = np.zeros(n, dtype=bool)
        has[pi], has[pj] = True, True
        in_stats &= ~has
    elif spec.overlap == "first":
        _, _, idx, cluster = _overlap_pairs(g_row, s_start, s_end, ok)
        keep = np.zeros(n, dtype=bool)
        if idx.size:
            firsts_ = np.ones(idx.size, dtype=bool)
            firsts_[1:] = cluster[1:] != cluster[:-1]
            keep[idx[firsts_]] = True
        in_stats &= keep
    flags = _data_flags(grid, g_row, day0_pos, spec, last)

    vol = abnormal_volume(panel.volume, panel.bench_volume, rel, spec.estimation)
    table = _event_table(ev, spec, panel, fit, ar, day0, rule, status, reason, flags, overlaps, in_stats, vol)
    notes = spec.notes()
    if bench_volume is None:
        notes.append("no benchmark volume: abvol_mm (log-volume market model) is not computed")
    if (status != "ok").any():
        counts = pd.Series(status[status != "ok"]).value_counts()
        notes.append("not studied: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    meta = {"source": source.describe(), "n_events": n, "n_ok": int(ok.sum()), "n_in_stats": int(in_stats.sum()),
            "price_sha256": _price_hash(grid, sessions)}
    if fac is not None:
        meta["factors"] = {"first": str(fac.index.min().date()), "last": str(fac.index.max().date())}
    return EventStudyResults(spec=spec, events=table, panel=panel, fit=fit, expected=expected, ar=ar,
                             windows=windows, ok=ok, in_stats=in_stats, notes=notes, meta=meta, volume=vol)


def _fit(spec: StudySpec, panel: Panel, est: np.ndarray) -> tuple[mdl.ModelFit, np.ndarray]:
    y = panel.ret
    if spec.model == "constant-mean":
        fit = mdl.fit_constant_mean(y, est)
        return fit, fit.expected
    if spec.model == "market-adjusted":
        fit = mdl.fit_market_adjusted(y, panel.market, est)
        return fit, fit.expected
    if spec.model == "market":
        fit = mdl.fit_ols(y, panel.market[..., None], est, "market", ("beta",))
        return fit, fit.expected
    fit = mdl.fit_ols(y - panel.rf, panel.factors, est, spec.model, tuple(f"beta_{f}" for f in spec.factor_names))
    return fit, fit.expected + panel.rf


def _overlap_lists(ids: np.ndarray, pi: np.ndarray, pj: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, "", dtype=object)
    if pi.size == 0:
        return out
    a = np.concatenate([pi, pj])
    other = ids[np.concatenate([pj, pi])].astype(str)
    order = np.lexsort((other, a))
    a, other = a[order], other[order]
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    joined = np.add.reduceat(np.char.add(other, ";").astype(object), starts)
    out[a[starts]] = [s[:-1] for s in joined]
    return out


def _data_flags(grid: MarketGrid, rows: np.ndarray, day0_pos: np.ndarray, spec: StudySpec,
                last: np.ndarray) -> np.ndarray:
    """Per event: ``est:<flag>=<count>;evt:<flag>=<count>`` for every data fault seen (see panel.FLAG_NAMES)."""
    n = len(rows)
    out = pd.Series([""] * n, dtype=object)
    if not len(grid.tickers):
        return out.to_numpy()
    parts = []
    for label, (a, b) in (("est", spec.estimation), ("evt", spec.span)):
        for name in FLAG_NAMES:
            c = window_counts(grid.flags[name], rows, day0_pos + a, day0_pos + b)
            parts.append(np.where(c > 0, f"{label}:{name}=" + pd.Series(c).astype(str).to_numpy() + ";", ""))
    beyond = np.where(rows >= 0, np.clip(day0_pos + spec.span[1] - last, 0, None), 0)
    parts.append(np.where(beyond > 0, "evt:after_last_price=" + pd.Series(beyond).astype(str).to_numpy() + ";", ""))
    offcal = grid.non_session_rows[np.clip(rows, 0, None)]
    parts.append(np.where((rows >= 0) & (offcal > 0),
                          "bars_off_calendar=" + pd.Series(offcal).astype(str).to_numpy() + ";", ""))
    joined = parts[0].astype(object)
    for p in parts[1:]:
        joined = joined + p
    return pd.Series(joined, dtype=object).str.rstrip(";").to_numpy(dtype=object)


def _event_table(ev, spec, panel, fit, ar, day0, rule, status, reason, flags, overlaps, in_stats,
                 vm: VolumeMeasures) -> pd.DataFrame:
    c0 = panel.column(0)
    ok = status == "ok"
    vol = panel.volume
    table = pd.DataFrame({
        "event_id": ev["event_id"], "ticker": ev["ticker"], "company": ev["company"],
        "event_type": ev["event_type"], "subtype": ev["subtype"], "event_date": ev["event_date"],
        "event_time": ev["event_time"], "day0": pd.to_datetime(day0), "day0_rule": rule,
        "status": status, "reason": reason, "in_stats": in_stats,
        "n_est": np.where(panel.ticker_row >= 0, fit.nobs, 0).astype(int),
    })
    for k, name in enumerate(fit.param_names):
        table[name] = np.where(ok, fit.params[:, k], np.nan)
    table["sigma"] = np.where(ok, np.sqrt(fit.s2), np.nan)
    table["ret_d0"] = np.where(ok, panel.ret[:, c0], np.nan)
    table["ar_d0"] = ar[:, c0]
    table["close_d0"] = panel.close[:, c0]
    table["volume_d0"] = vol[:, c0]
    table["vol_ratio_63"] = vm.ratio_63[:, c0]
    table["vol_ratio_20"] = vm.ratio_20[:, c0]
    table["vol_abvol_log_d0"] = vm.abvol_log[:, c0]
    table["vol_abvol_mm_d0"] = vm.abvol_mm[:, c0]
    table["vol_z_d0"] = vm.vol_z[:, c0]
    table["vol_zero_days_est"] = np.where(ok, ((vol == 0) & ((panel.rel_days >= spec.estimation[0])
                                                            & (panel.rel_days <= spec.estimation[1]))).sum(axis=1), 0)
    table["data_flags"] = flags
    table["overlaps"] = overlaps
    table["confidence"] = ev["confidence"]
    table["headline"] = ev["headline"]
    return table


def _price_hash(grid: MarketGrid, sessions: pd.DatetimeIndex) -> str:
    """SHA-256 of the prices actually used: tickers, sessions, log prices and volumes on the grid."""
    from ._io import sha256_arrays

    names = np.frombuffer("\n".join(grid.tickers).encode(), dtype=np.uint8)
    return sha256_arrays(names, sessions.asi8, grid.logp, grid.volume)
