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
``degenerate_model`` the residual variance is zero or negligible (constant price, a stock identical to
                    its benchmark): every t-statistic would be meaningless
``no_event_data``   no return at all inside the event windows
``ok``              studied
=================  ==============================================================

An ``ok`` event may still stay out of the per-group statistics (``in_stats`` False); the
``stats_reason`` column says why: an exact duplicate of another event (same ticker, day 0, event
type and subtype; counted once unless ``duplicates="keep"``), a data flag the user excluded
(``exclude_flags``), an incomplete window (``require_complete``), or the overlap policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import models as mdl
from ._errors import EventStudyError, InputFileError, PriceSourceError, SourceFailureError, TickerNotFoundError
from .abnormal import cumulate, parse_window
from .trading_calendar import align_day0, nyse_sessions
from .events import EVENT_COLUMNS, load_events
from .panel import FLAG_NAMES, MarketGrid, Panel, flag_cells, gather, grid_from_arrays, window_counts
from .volume import VolumeMeasures, abnormal_volume
from .sources import PriceSource, open_source
from .sources.base import PRICE_COLUMNS, array_reader, arrays_frame, frame_arrays

if TYPE_CHECKING:  # pragma: no cover
    from ._fused import GridLogs
    from .results import EventStudyResults

DEFAULT_WINDOWS: tuple[tuple[int, int], ...] = ((-1, 1), (0, 0), (0, 5), (-5, 20))
FF_MARKET = "FF-MKT"
#: above this many events, ``run_study(chunk_size="auto")`` processes the events in chunks (docs/scale.md)
AUTO_CHUNK_EVENTS = 10_000
RETURN_TYPES = ("simple", "log")
OVERLAP_POLICIES = ("keep", "drop", "first")
GROUP_BY = ("event_type", "subtype", "type_subtype")
CONVENTIONS = ("papers", "estudy2")
VOLUME_BASELINE = 63
STATUS_ORDER: tuple[str, ...] = ("unmapped", "source_error", "no_prices", "bad_price_file", "outside_data", "no_benchmark",
                                 "short_estimation", "singular_model", "degenerate_model", "no_event_data", "ok")
DUPLICATE_POLICIES = ("once", "keep")
#: sessions read before the first relative day a study needs: the close its first return starts from,
#: with room for a short halt (a gap longer than this before the window leaves that first return NaN)
PRICE_LOOKBACK = 5
#: an event whose residual s.d. is at most this fraction of its return r.m.s. is ``degenerate_model``
DEGENERATE_RTOL = 1e-6
#: events.csv lists at most this many overlapping event ids (``n_overlaps`` counts them all)
MAX_OVERLAP_IDS = 5
#: data-flag names that ``exclude_flags`` accepts (with or without an ``est:``/``evt:`` prefix)
GATE_FLAGS: tuple[str, ...] = FLAG_NAMES + ("after_last_price", "bars_off_calendar", "incomplete_window",
                                            "stale_cache")


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
        (e.g. ``fda_decision/crl``), or any column(s) of the events file, comma-separated (``phase`` or
        ``event_type,phase``: values joined with ``/``); the group is in the ``event_type`` column of
        summary/aar
    conventions : ``papers`` (the papers' definitions) or ``estudy2`` (R estudy2's conventions:
        sigma with divisor M-1, pooled sign baseline, its rank-test scaling; docs/statistics.md)
    duplicates : ``once`` (default): exact duplicates (same ticker, day 0, event type and subtype) enter the
        statistics once, the others are flagged ``duplicate_of=<id>``; ``keep``: all of them
    exclude_flags : data flags (see :data:`GATE_FLAGS`; ``price_jump`` matches both ``est:`` and
        ``evt:``, ``evt:price_jump`` only the event span) that take an event out of the statistics
    require_complete : take events with an incomplete window (missing days or beyond the last
        price) out of the statistics
    allow_estimation_overlap : allow an event window that overlaps the estimation window (refused by
        default: the event would contaminate its own normal-return model)
    rename : ticker renames ``{OLD: NEW}`` (or ``"OLD=NEW,..."``) for tickers that changed symbol: the
        prices of NEW serve events filed under OLD (events.csv keeps OLD in ``ticker`` and NEW in
        ``price_ticker``)

    Windows may be given as ``"a:b"`` strings, a single string, or (a, b) pairs. A ``benchmark`` column
    in the events file gives an event its own benchmark (e.g. XBI for small caps, SPY for large
    pharma, FF-MKT); an empty cell uses ``benchmark``.
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
    duplicates: str = "once"
    exclude_flags: tuple[str, ...] = ()
    require_complete: bool = False
    allow_estimation_overlap: bool = False
    rename: tuple[tuple[str, str], ...] = ()
    conventions: str = "papers"

    def __post_init__(self) -> None:
        if self.model not in mdl.MODELS:
            raise ValueError(f"model {self.model!r}: choose from {', '.join(mdl.MODELS)}")
        if self.returns not in RETURN_TYPES:
            raise ValueError(f"returns {self.returns!r}: choose simple or log")
        if not str(self.group_by).strip() or any(not c.strip() for c in str(self.group_by).split(",")):
            raise ValueError(f"group_by {self.group_by!r}: give {', '.join(GROUP_BY)} or event-file column(s), "
                             "comma-separated")
        if self.conventions not in CONVENTIONS:
            raise ValueError(f"conventions {self.conventions!r}: choose from {', '.join(CONVENTIONS)}")
        if self.overlap not in OVERLAP_POLICIES:
            raise ValueError(f"overlap {self.overlap!r}: choose keep, drop or first")
        est = tuple(parse_window(self.estimation) if isinstance(self.estimation, str) else self.estimation)
        raw_wins = (self.windows,) if isinstance(self.windows, str) else self.windows
        wins = tuple(tuple(parse_window(w) if isinstance(w, str) else w) for w in raw_wins)
        object.__setattr__(self, "rename", parse_rename(self.rename))
        object.__setattr__(self, "estimation", est)
        object.__setattr__(self, "windows", wins)
        object.__setattr__(self, "benchmark", self.benchmark.upper())
        if not wins:
            raise ValueError("at least one event window is needed")
        seen = [w for k, w in enumerate(wins) if w in wins[:k]]
        if seen:
            raise ValueError(f"window {seen[0][0]}:{seen[0][1]} is given more than once")
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ValueError(f"duplicates {self.duplicates!r}: choose once or keep")
        flags = tuple(f.strip() for f in ((self.exclude_flags.split(",") if isinstance(self.exclude_flags, str)
                                           else self.exclude_flags)) if f.strip())
        unknown = [f for f in flags if f.split(":", 1)[-1] not in GATE_FLAGS
                   or (":" in f and f.split(":", 1)[0] not in ("est", "evt"))]
        if unknown:
            raise ValueError(f"unknown data flag(s) {', '.join(unknown)} in exclude_flags; known: "
                             f"{', '.join(GATE_FLAGS)} (optionally prefixed est: or evt:)")
        object.__setattr__(self, "exclude_flags", flags)
        if est[0] > est[1]:
            raise ValueError(f"estimation window {est} is empty")
        if self.min_obs < 3:
            raise ValueError("min_obs must be at least 3")
        if est[1] - est[0] + 1 < self.min_obs:
            raise ValueError(f"estimation window {est[0]}:{est[1]} has {est[1] - est[0] + 1} days, "
                             f"fewer than min_obs={self.min_obs}")
        clash = self._estimation_overlaps()
        if clash and not self.allow_estimation_overlap:
            raise ValueError(f"{clash[0]}: the event would enter its own normal-return model; end the "
                             f"estimation window before the event windows (e.g. {est[0]}:{min(w[0] for w in wins) - 1}) "
                             "or allow it explicitly (allow_estimation_overlap=True, --allow-estimation-overlap)")

    def _estimation_overlaps(self) -> list[str]:
        est = self.estimation
        return [f"event window {w[0]}:{w[1]} overlaps the estimation window {est[0]}:{est[1]}"
                for w in self.windows if w[0] <= est[1] and w[1] >= est[0]]

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
        """Settings a reader of the results must know about (printed in the summary and manifest)."""
        out = [f"{c} (allowed explicitly)" for c in self._estimation_overlaps()]
        if self.duplicates == "keep":
            out.append("exact duplicate events (same ticker, day 0, event type) all enter the statistics")
        if self.exclude_flags:
            out.append(f"events with data flag(s) {', '.join(self.exclude_flags)} are left out of the statistics")
        if self.require_complete:
            out.append("only events whose every window is complete (no missing day) enter the statistics")
        return out

    def to_dict(self) -> dict:
        return {"model": self.model, "benchmark": self.benchmark if self.uses_benchmark else None,
                "estimation": f"{self.estimation[0]}:{self.estimation[1]}",
                "windows": [f"{a}:{b}" for a, b in self.windows], "returns": self.returns,
                "min_obs": self.min_obs, "overlap": self.overlap, "name": self.name, "spike_z": self.spike_z,
                "group_by": self.group_by, "duplicates": self.duplicates, "exclude_flags": list(self.exclude_flags),
                "require_complete": self.require_complete,
                "allow_estimation_overlap": self.allow_estimation_overlap,
                "rename": {a: b for a, b in self.rename}, "conventions": self.conventions}


def parse_rename(value: str | dict | tuple | list | None) -> tuple[tuple[str, str], ...]:
    """``"OLD=NEW,OLD2=NEW2"``, a dict or pairs → sorted, upper-cased ``((OLD, NEW), ...)``."""
    if not value:
        return ()
    if isinstance(value, str):
        pairs = []
        for item in value.split(","):
            old, sep, new = item.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise ValueError(f"rename {item.strip()!r}: use OLD=NEW (e.g. FB=META)")
            pairs.append((old, new))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = [tuple(v) for v in value]
    out = {str(a).strip().upper(): str(b).strip().upper() for a, b in pairs}
    return tuple(sorted(out.items()))


@dataclass
class LoadedPrices:
    """The bars of each loaded ticker as arrays, plus the load status of tickers that failed.

    ``arrays`` maps ticker → ``(dates, values)`` (:func:`~eventstudy.sources.base.frame_arrays`: ascending
    dates and the canonical columns as a ``(6, n)`` float64 array); :attr:`bars` gives them as frames."""

    arrays: dict[str, tuple[np.ndarray, np.ndarray]]
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: per ticker, what the source said about the bars it served (``{"stale_cache": "2025-12-01", ...}``)
    flags: dict[str, dict] = field(default_factory=dict)
    #: the frames a source served (kept, not rebuilt), and those built from arrays on first use
    frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def bars(self) -> dict[str, pd.DataFrame]:
        """Canonical bars per loaded ticker (a frame per ticker: built from :attr:`arrays` on first use)."""
        if len(self.frames) != len(self.arrays):
            self.frames.update({t: arrays_frame(*a) for t, a in self.arrays.items() if t not in self.frames})
        return {t: self.frames[t] for t in self.arrays}


def load_prices(source: PriceSource, tickers: list[str], progress: Callable[[str], None] | None = None,
                ranges: dict[str, tuple[pd.Timestamp, pd.Timestamp]] | None = None) -> LoadedPrices:
    """Read each ticker's bars from ``source``; failures become (status, reason), never exceptions.

    ``ranges`` asks the source for exactly the dates a study needs per ticker (see :func:`price_ranges`),
    so that a cache's age or extent cannot change the answer; a ticker without a range is read whole.
    A range in which the source has no bar gives ``outside_data`` naming the range. A source with
    ``bar_arrays`` is read through it (no frame per ticker; :class:`~eventstudy.sources.base.PriceSource`),
    unless a subclass overrides ``bars`` alone (:func:`~eventstudy.sources.base.array_reader`)."""
    out = LoadedPrices({})
    ranges = ranges or {}
    prefetch = getattr(source, "prefetch", None)       # a source that reads many tickers at once faster
    if prefetch is not None:
        prefetch(list(tickers))
    read_arrays = array_reader(source)
    for t in tickers:
        if progress:
            progress(t)
        start, end = ranges.get(t, (None, None))
        b = None
        try:
            if read_arrays is not None:
                dates, values = read_arrays(t, start=start, end=end)
            else:
                b = source.bars(t, start=start, end=end)
                dates, values = frame_arrays(b)
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
        if not _has_price(values):
            if start is not None:
                out.failed[t] = ("outside_data", f"{t}: the source has no prices from {start.date()} to {end.date()}, "
                                                 "the dates the study needs around its events")
            else:
                out.failed[t] = ("no_prices", f"{t}: the source returned no prices")
            continue
        if b is not None:
            source_flags = b.attrs.get("source_flags")
            if source_flags:
                out.flags[t] = dict(source_flags)
            out.frames[t] = b
        out.arrays[t] = (dates, values)
    return out


#: rows of ``close`` and ``adj_close`` in the canonical ``(6, n)`` values
_CLOSE_ROWS = [PRICE_COLUMNS.index("close"), PRICE_COLUMNS.index("adj_close")]


def _has_price(values: np.ndarray) -> bool:
    """Whether canonical ``(6, n)`` bar values hold any finite ``close`` or ``adj_close``."""
    return bool(np.isfinite(values[_CLOSE_ROWS]).any())


def price_ranges(tickers: np.ndarray, pos_full: np.ndarray, full: pd.DatetimeIndex, rel_days: np.ndarray,
                 extra: dict[str, np.ndarray] | None = None) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Per ticker, the first and last NYSE session any of its events needs: day 0 + the first and last
    relative day (estimation window, event windows and the volume baseline), starting
    :data:`PRICE_LOOKBACK` sessions earlier so that the first needed day has the close its return
    starts from. ``extra`` maps further names (benchmarks) to the events whose range they must cover."""
    valid = pos_full >= 0
    lo = np.clip(pos_full + rel_days[0] - PRICE_LOOKBACK, 0, len(full) - 1)
    hi = np.clip(pos_full + rel_days[-1], 0, len(full) - 1)
    use = valid & (tickers != "")
    names, code = np.unique(np.asarray(tickers, dtype=object)[use], return_inverse=True)
    first = np.full(len(names), len(full), dtype=np.int64)
    last = np.full(len(names), -1, dtype=np.int64)
    np.minimum.at(first, code, lo[use])
    np.maximum.at(last, code, hi[use])
    out = dict(zip(names.tolist(), zip(full[first], full[last])))
    for name, mask in (extra or {}).items():
        m = mask & valid
        if m.any():
            a, b = full[int(lo[m].min())], full[int(hi[m].max())]
            if name in out:            # a ticker that is also a benchmark needs both ranges
                a, b = min(a, out[name][0]), max(b, out[name][1])
            out[name] = (a, b)
    return out


def session_grid(loaded: LoadedPrices, need: tuple[pd.Timestamp, pd.Timestamp] | None = None
                 ) -> tuple[pd.DatetimeIndex, int, pd.DatetimeIndex, MarketGrid]:
    """The NYSE calendar, the position of the grid's first session in it, the grid's sessions, and the
    bars laid on them (:func:`eventstudy.panel.build_grid`).

    The grid spans the loaded bars and, with ``need`` (the first and last session the events ask for,
    :func:`price_ranges`), every session the events need: so an event's position on the grid, and what
    is computed for it, never depends on which other events (or chunk) share the study."""
    full = nyse_sessions()
    if loaded.arrays:
        lo = pd.Timestamp(min(d.min() for d, _ in loaded.arrays.values()))
        hi = pd.Timestamp(max(d.max() for d, _ in loaded.arrays.values()))
        if need is not None:
            lo, hi = min(lo, need[0]), max(hi, need[1])
        offset = int(np.searchsorted(full.to_numpy(), np.datetime64(lo, "ns"), side="left"))
        sessions = full[(full >= lo) & (full <= hi)]
    else:
        offset, sessions = 0, full[:0]
    return full, offset, sessions, grid_from_arrays(list(loaded.arrays), list(loaded.arrays.values()), sessions)


def source_statuses(status: np.ndarray, reason: np.ndarray, tickers: np.ndarray, loaded: LoadedPrices) -> None:
    """In place: events whose ticker failed to load take the load status (``source_error``, ``no_prices``,
    ``bad_price_file``) and reason; events without a ticker become ``unmapped``. Later rules win."""
    tickers = np.asarray(tickers, dtype=object)
    for t, (code, text) in loaded.failed.items():
        m = tickers == t
        status[m], reason[m] = code, text
    m = tickers == ""
    status[m], reason[m] = "unmapped", "no listed ticker (private company or non-company event)"


def _levels(values: pd.DataFrame, sessions: pd.DatetimeIndex) -> np.ndarray:
    """Cumulative log(1 + r) of return columns on ``sessions`` (S, p); NaN where a session has no value.

    The sum runs over the factor data's own dates from its first row, whatever ``sessions`` holds, so
    a return over a span is the same bits in every study and every chunk of one (summing from the first
    session of a chunk's grid rounded differently, enough to flip the ranks of near-tied days)."""
    lg = np.log1p(values.to_numpy(dtype=float))
    lv = np.cumsum(np.nan_to_num(lg), axis=0)
    lv[~np.isfinite(lg)] = np.nan
    return pd.DataFrame(lv, index=values.index).reindex(sessions).to_numpy(dtype=float)


def _overlap_pairs(row: np.ndarray, start: np.ndarray, end: np.ndarray, valid: np.ndarray,
                   tie: np.ndarray | None = None):
    """Pairs (i, j) of valid events with the same ``row`` whose [start, end] intervals intersect.

    Also returns the valid events in (row, start, ``tie``) order and their cluster number (a cluster is
    a run of transitively overlapping events). ``tie`` (default: input order) breaks equal starts, so
    passing the rank of the event id makes the result independent of the order of the input rows.
    """
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return np.empty(0, int), np.empty(0, int), idx, np.empty(0, int)
    big = int(max(end[idx].max(), start[idx].max()) + 2 - min(start[idx].min(), 0))
    ks = row[idx].astype(np.int64) * big + start[idx]
    ke = row[idx].astype(np.int64) * big + end[idx]
    order = np.lexsort((np.arange(idx.size) if tie is None else tie[idx], ks))
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
              *, factors: str | pd.DataFrame | None = None, factor_units: str = "auto",
              taxonomy: dict | None = None, progress: Callable[[str], None] | None = None,
              chunk_size: int | str | None = "auto", workers: int | None = None, scheduler: str | None = None,
              keep_frames: bool = True, processes: int | None = None, out: str | Path | None = None,
              format: str = "csv", inputs: dict | None = None, **spec_kwargs) -> "EventStudyResults":
    """Run an event study.

    Parameters
    ----------
    events : path of a curated event CSV, or a DataFrame with the same columns
    prices : a price source or its spec (``bundled``, ``bundled:universe``, ``yahoo``, a directory)
    spec : the study settings; keyword arguments override its fields (``model="ff3"``…)
    factors : factor data for factor models and ``FF-MKT`` (default: bundled Ken French files)
    factor_units : units of a factor file: ``auto`` (detected, refused when ambiguous), ``percent`` or
        ``decimal`` (see :func:`eventstudy.factors.load_factors`); what was used is in the notes and manifest
    taxonomy : the event types allowed (default :data:`eventstudy.events.TAXONOMY`; see
        :func:`eventstudy.events.load_taxonomy` to extend or replace it)
    progress : called with each ticker as its prices are read (per chunk with ``chunk_size``)
    chunk_size : process the events in chunks of about this many events, grouped by ticker so each price
        series is read once; the statistics are merged from per-chunk sufficient statistics and equal the
        in-memory study's (:mod:`eventstudy.chunked`, docs/scale.md). Memory is bounded by the chunk.
        ``"auto"`` (default): chunks of :data:`~eventstudy.chunked.DEFAULT_CHUNK` above
        :data:`AUTO_CHUNK_EVENTS` events (faster and leaner; the results then hold no ``panel``/``fit``
        arrays), one piece below; ``None``: always one piece.
    workers : run the chunks on a local Dask cluster with this many worker processes
    scheduler : run the chunks on an existing Dask cluster (``tcp://host:8786``); prices must be a spec
        the workers can open (a folder or store path they see), not an in-memory source
    keep_frames : with chunks, keep the long per-event frames (``ar``, ``car``, ``volume``) in memory; at
        millions of events set False and they are not built (the statistics and ``events`` are)
    processes : with chunks and without ``workers``/``scheduler``, run the chunks on this many processes
        forked from this one (default ``None``: one per CPU when the price source is local and there are
        several chunks; ``1``: in this process). The numbers do not depend on it.
    out : write the results folder there (as :meth:`~eventstudy.results.EventStudyResults.save`, in
        ``format``: ``csv`` or ``parquet``; ``inputs`` go to the manifest). A study run in chunks *streams*
        it: each chunk's events and frames go to disk as the chunk finishes and the folder is written
        block by block, byte for byte the folder ``save`` would write, without the client ever holding
        the events table or a frame (:mod:`eventstudy.stream`, docs/scale.md); the result then reads
        ``events`` and the frames from ``out`` on first use. ``out`` is checked before the study runs.

    Returns
    -------
    EventStudyResults
    """
    spec = replace(spec or StudySpec(), **spec_kwargs) if spec_kwargs else (spec or StudySpec())
    if out is not None:
        from .export import check_format

        format = check_format(format)
    ev = load_events(with_event_ids(events) if isinstance(events, pd.DataFrame) else events, taxonomy)
    ev = canonical_order(ev)
    _check_group_columns(spec.group_by, ev)
    fac = None
    if bool(spec.factor_names) or (_event_benchmarks(ev, spec) == FF_MARKET).any():
        from .factors import load_factors

        fac = load_factors(factors, units=factor_units)
        missing = [c for c in spec.factor_names + ("RF",) if c not in fac.columns]
        if missing:
            raise EventStudyError(f"factor data lacks column(s) {', '.join(missing)} needed by model {spec.model}")
    if chunk_size == "auto":
        from .chunked import DEFAULT_CHUNK

        e2_market = getattr(spec, "conventions", "papers") == "estudy2" and spec.model == "market"
        big = len(ev) > AUTO_CHUNK_EVENTS and not e2_market
        chunk_size = DEFAULT_CHUNK if big or workers is not None or scheduler is not None else None
    elif chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)):
        raise EventStudyError(f"chunk_size {chunk_size!r}: a number of events, 'auto' or None")
    if chunk_size is None and workers is None and scheduler is None:
        if out is not None:
            from .export import _writable_target

            _writable_target(Path(out))           # a folder that cannot be written fails before the study runs
        res = study_events(ev, open_source(prices), spec, fac, progress)
        if out is not None:
            res.save(out, format=format, inputs=inputs or {})
        return res
    from .chunked import run_chunked

    return run_chunked(ev, prices, spec, fac, chunk_size=chunk_size, workers=workers, scheduler=scheduler,
                       keep_frames=keep_frames, progress=progress, processes=processes, out=out, format=format,
                       inputs=inputs)


@dataclass
class Aligned:
    """Events aligned on the price grid (the first stage of :func:`study_events`): the price ticker and
    benchmarks of each event, the loaded bars laid on their sessions, day 0 in the NYSE calendar
    (``pos_full``) and on the grid (``day0_pos``), and the grid row of each event (``g_row``, −1 off the
    grid)."""

    price_ticker: np.ndarray
    bench_of: np.ndarray
    vb_of: np.ndarray
    bench: str | None
    pos_full: np.ndarray
    rule: np.ndarray
    loaded: LoadedPrices
    full: pd.DatetimeIndex
    sessions: pd.DatetimeIndex
    grid: MarketGrid
    day0: np.ndarray
    day0_pos: np.ndarray
    ticker_row: np.ndarray
    on_grid: np.ndarray
    g_row: np.ndarray


def align_events(ev: pd.DataFrame, spec: StudySpec, source: PriceSource,
                 progress: Callable[[str], None] | None = None) -> Aligned:
    """Stage 1: day 0 of each event, the prices each ticker and benchmark needs (and only those), the
    session grid. A study benchmark that failed to load is an error (every event would lack it)."""
    n = len(ev)
    price_ticker = ev["ticker"].replace(dict(spec.rename)).to_numpy(dtype=object) if spec.rename else \
        ev["ticker"].to_numpy(dtype=object)
    tickers = sorted(t for t in set(price_ticker) if t)
    bench_of = _event_benchmarks(ev, spec)
    bench = spec.benchmark if spec.uses_benchmark else None
    vol_bench = spec.benchmark if spec.benchmark != FF_MARKET else None
    bench_tickers = sorted(set(bench_of[bench_of != ""]) - {FF_MARKET})
    vol_benches = sorted(set(bench_tickers) | ({vol_bench} if vol_bench else set()))
    to_load = tickers + [b for b in vol_benches if b not in tickers]
    pos_full, rule = align_day0(ev["event_date"], ev["event_time"], nyse_sessions())
    vb_of = np.where(bench_of == FF_MARKET, vol_bench or "", bench_of) if bench else np.full(n, vol_bench or "")
    ranges = price_ranges(price_ticker, pos_full, nyse_sessions(), spec.rel_days,
                          {b: (vb_of == b) | (bench_of == b) for b in vol_benches})
    loaded = load_prices(source, to_load, progress, ranges)
    if (bench and bench != FF_MARKET and bench in loaded.failed and (bench_of == bench).any()
            and loaded.failed[bench][0] != "outside_data"):   # a benchmark with no prices around the events: no_benchmark
        raise EventStudyError(f"benchmark {bench}: {loaded.failed[bench][1]}")
    need = (min(r[0] for r in ranges.values()), max(r[1] for r in ranges.values())) if ranges else None
    full, offset, sessions, grid = session_grid(loaded, need)
    day0 = np.where(pos_full >= 0, full.to_numpy()[np.clip(pos_full, 0, None)], np.datetime64("NaT"))
    day0_pos = np.where(pos_full >= 0, pos_full - offset, -1)
    on_grid = (day0_pos >= 0) & (day0_pos < len(sessions))
    ticker_row = pd.Index(grid.tickers).get_indexer(price_ticker).astype(np.int64)
    return Aligned(price_ticker, bench_of, vb_of, bench, pos_full, rule, loaded, full, sessions, grid, day0,
                   day0_pos, ticker_row, on_grid, np.where(on_grid, ticker_row, -1))


def build_panel(a: Aligned, spec: StudySpec, fac: pd.DataFrame | None) -> tuple[Panel, np.ndarray]:
    """Stage 2: returns on the grid gathered into the (events × relative days) panel, with the
    benchmark, factor and risk-free returns over each stock's own return spans and the benchmark
    volume. Also returns whether each event's benchmark (or factor data) has a value on day 0."""
    grid, sessions, g_row, day0_pos = a.grid, a.sessions, a.g_row, a.day0_pos
    n, S = len(day0_pos), len(sessions)
    row_of = {t: i for i, t in enumerate(grid.tickers)}
    rel = spec.rel_days
    cols = day0_pos[:, None] + rel[None, :]
    to_ret = (lambda x: np.expm1(x)) if spec.returns == "simple" else (lambda x: x)
    stock = to_ret(grid.stock_log_return())
    market = rf = fz = None
    bench_cover = np.ones(n, dtype=bool)
    if a.bench:
        market = np.full(cols.shape, np.nan)
        bench_cover[:] = False
        for b in sorted(set(a.bench_of)):   # a loop over benchmarks (a few), never over events
            on = a.bench_of == b
            if b == FF_MARKET:
                blevel = _levels((fac["Mkt-RF"] + fac["RF"]).to_frame(), sessions)[:, 0]
            elif b in row_of:
                blevel = grid.logp[row_of[b]]
            else:
                continue   # a per-event benchmark without prices: no_benchmark, with the reason
            bret = to_ret(grid.span_log_return(blevel))
            if on.all():                    # one benchmark for every event: no masked copies
                market = gather(bret, g_row, cols)
            else:
                market[on] = gather(bret, g_row[on], cols[on])
            bench_cover[on] = np.isfinite(blevel)[np.clip(day0_pos[on], 0, max(S - 1, 0))] if S else False
    if spec.factor_names:
        flevel = _levels(fac[list(spec.factor_names)], sessions)
        rlevel = _levels(fac[["RF"]], sessions)[:, 0]
        fz = gather(to_ret(grid.span_log_return(flevel)), g_row, cols)
        rf = gather(to_ret(grid.span_log_return(rlevel)), g_row, cols)
        bench_cover = np.isfinite(flevel).all(axis=1)[np.clip(day0_pos, 0, max(S - 1, 0))] if S else bench_cover & False
    ret = gather(stock, g_row, cols)
    bench_volume = None
    if any(b in row_of for b in set(a.vb_of)):
        bench_volume = np.full(cols.shape, np.nan)
        for b in sorted(set(a.vb_of) & set(row_of)):
            on = a.vb_of == b
            bvol = grid.volume[row_of[b]][None, :]
            if on.all():
                bench_volume = gather(bvol, np.where(g_row >= 0, 0, -1), cols)
            else:
                bench_volume[on] = gather(bvol, np.where(g_row[on] >= 0, 0, -1), cols[on])
    panel = Panel(rel, day0_pos, g_row, ret, gather(grid.volume, g_row, cols), gather(grid.close, g_row, cols),
                  market, fz, rf, sessions, bench_volume)
    return panel, bench_cover


def volume_logs(a: Aligned, spec: StudySpec) -> GridLogs:
    """Where the compiled volume kernel reads the events' log volumes (:class:`eventstudy._fused.GridLogs`): the
    grid's volumes through :func:`eventstudy._fused.log1p_grid` (one log per ticker and session), each event's
    stock row and the row of its volume benchmark (−1 off the grid or without one, as :func:`build_panel`'s
    ``bench_volume``), and the column of its first relative day."""
    from ._fused import GridLogs, log1p_grid

    brow = pd.Index(a.grid.tickers).get_indexer(np.asarray(a.vb_of, dtype=object)).astype(np.int64)
    return GridLogs(log1p_grid(a.grid.volume), a.g_row, np.where(a.g_row >= 0, brow, -1),
                    a.day0_pos + spec.rel_days[0])


def event_statuses(ev: pd.DataFrame, spec: StudySpec, a: Aligned, fit: mdl.ModelFit, ar: np.ndarray,
                   ret: np.ndarray, est: np.ndarray, bench_cover: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage 4: each event's ``status`` and ``reason`` (later rules win: a failed source outranks the
    model's complaints)."""
    n = len(ev)
    grid, ticker_row, day0_pos, day0, loaded = a.grid, a.ticker_row, a.day0_pos, a.day0, a.loaded
    span_mask = (spec.rel_days >= spec.span[0]) & (spec.rel_days <= spec.span[1])
    status = np.full(n, "ok", dtype=object)
    reason = np.full(n, "", dtype=object)
    first = np.where(ticker_row >= 0, grid.first[np.clip(ticker_row, 0, None)] if len(grid.first) else -1, -1)
    last = _last_positions(a)
    in_range = a.on_grid & (ticker_row >= 0) & (day0_pos >= first) & (day0_pos <= last)
    no_evt = ~np.isfinite(ar[:, span_mask]).any(axis=1)
    degenerate, rms = _degenerate(fit, ret, est)
    conds = [
        ("degenerate_model", degenerate, None),
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
    m = status == "degenerate_model"
    reason[m] = [("the price is constant over the estimation window (all returns zero)" if r == 0 else
                  f"residual s.d. {sd:.3g} is negligible against the return r.m.s. {r:.3g} (a stock identical to "
                  "its benchmark?)") + ": its tests would be meaningless"
                 for sd, r in zip(np.sqrt(fit.s2[m]), rms[m])]
    m = status == "short_estimation"
    reason[m] = [f"{int(k)} usable estimation-window returns in "
                 f"{spec.estimation[0]}:{spec.estimation[1]}; minimum {spec.min_obs}" for k in fit.nobs[m]]
    m = status == "no_benchmark"
    reason[m] = [(f"factor data has no value on day 0 ({pd.Timestamp(d).date()})" if spec.factor_names else
                  f"benchmark {b}: {loaded.failed[b][1]}" if b in loaded.failed else
                  f"benchmark {b} has no value on day 0 ({pd.Timestamp(d).date()})")
                 for d, b in zip(day0[m], a.bench_of[m])]
    m = status == "outside_data"
    for i in np.flatnonzero(m):
        t = a.price_ticker[i]
        if t not in loaded.arrays:
            continue  # unmapped / failed tickers get their own status below
        if a.pos_full[i] < 0:
            reason[i] = f"event date {ev['event_date'].iat[i].date()} is outside the NYSE calendar " \
                        f"({a.full[0].date()} to {a.full[-1].date()})"
        else:
            d = loaded.arrays[t][0]
            first, last = pd.Timestamp(d.min()), pd.Timestamp(d.max())
            where = (f"after the last price of {t} ({last.date()})" if day0[i] > last else
                     f"before the first price of {t} ({first.date()})" if day0[i] < first else
                     f"in the price history of {t} but not a session with a price")
            reason[i] = f"day 0 {pd.Timestamp(day0[i]).date()} is {where}"
    source_statuses(status, reason, a.price_ticker, loaded)
    return status, reason


def _last_positions(a: Aligned) -> np.ndarray:
    """Each event's last priced session on the grid (−1 without prices)."""
    last = a.grid.last
    return np.where(a.ticker_row >= 0, last[np.clip(a.ticker_row, 0, None)] if len(last) else -1, -1)


def membership(ev: pd.DataFrame, spec: StudySpec, a: Aligned, windows: list, ok: np.ndarray) -> dict:
    """Stage 6: overlaps, duplicates and data flags of each event, and who enters the statistics
    (:func:`_stats_membership`), with the flag text of ``events.csv``."""
    n = len(ev)
    ids = ev["event_id"].to_numpy().astype(str)
    id_rank = _rank_of(ids)
    g_row, day0_pos = a.g_row, a.day0_pos
    s_start, s_end = day0_pos + spec.span[0], day0_pos + spec.span[1]
    pi, pj, _, _ = _overlap_pairs(g_row, s_start, s_end, g_row >= 0, id_rank)
    n_overlaps, overlaps = _overlap_lists(ids, pi, pj, n, id_rank)
    counts = _flag_counts(a.grid, g_row, day0_pos, spec, _last_positions(a))
    counts["incomplete_window"], incomplete_text = _incomplete_windows(windows, ok)
    stale = np.full(n, "", dtype=object)
    if a.loaded.flags:                                  # a source that served stale bars said so, per ticker
        stale[:] = [a.loaded.flags.get(t, {}).get("stale_cache", "") for t in a.price_ticker]
    counts["stale_cache"] = (stale != "").astype(np.int64)
    etype, sub = pd.factorize(ev["event_type"])[0], pd.factorize(ev["subtype"])[0]     # -1: missing
    kind = etype.astype(np.int64) * (int(sub.max(initial=0)) + 2) + sub               # one code per pair
    dup_of = _duplicates(a.price_ticker, day0_pos, kind, ok, id_rank)
    in_stats, stats_reason, taken = _stats_membership(spec, ok, ids, id_rank, g_row, s_start, s_end, dup_of,
                                                      counts, incomplete_text)
    flags = _join_flags(counts, incomplete_text, np.where(stale != "", "stale_cache=" + stale, ""),
                        np.where(dup_of >= 0, "duplicate_of=" + ids[np.clip(dup_of, 0, None)].astype(object), ""))
    return {"in_stats": in_stats, "stats_reason": stats_reason, "taken": taken, "counts": counts, "flags": flags,
            "n_overlaps": n_overlaps, "overlaps": overlaps}


def study_events(ev: pd.DataFrame, source: PriceSource, spec: StudySpec, fac: pd.DataFrame | None,
                 progress: Callable[[str], None] | None = None, jit: bool | None = None) -> "EventStudyResults":
    """The whole study of a loaded, canonically ordered event table held in memory (one chunk of a
    chunked study). Stages: align events and prices → panel → normal-return model (all events at
    once) → statuses → per-window CARs → who enters the statistics → volume → results.

    ``jit``: fit the one-regressor models and the volume measures with the compiled kernels
    (:mod:`eventstudy._fused`); None decides by this study's size (:func:`eventstudy._fused.study_jit_for`),
    a chunked study passes its study-wide choice so every chunk takes the same path."""
    from ._fused import study_jit_for
    from .results import EventStudyResults

    n = len(ev)
    jit = study_jit_for(spec, n) if jit is None else bool(jit)
    rel = spec.rel_days
    a = align_events(ev, spec, source, progress)                              # 1
    panel, bench_cover = build_panel(a, spec, fac)                            # 2
    est = ((rel >= spec.estimation[0]) & (rel <= spec.estimation[1]))[None, :] & np.ones((n, 1), dtype=bool)
    fit, expected = _fit(spec, panel, est, jit)                               # 3
    ret = panel.ret
    ar = ret - expected
    status, reason = event_statuses(ev, spec, a, fit, ar, ret, est, bench_cover)   # 4
    ok = status == "ok"
    ar = np.where(ok[:, None], ar, np.nan)
    windows = [cumulate(ar, ret, expected, fit, rel, w, spec.returns == "log") for w in spec.windows]   # 5
    mem = membership(ev, spec, a, windows, ok)                                # 6
    in_stats = mem["in_stats"]
    vol = abnormal_volume(panel.volume, panel.bench_volume, rel, spec.estimation, jit,   # 7
                          volume_logs(a, spec) if jit else None)
    table = _event_table(ev, spec, panel, fit, ar, a.day0, a.rule, status, reason, mem["flags"], mem["n_overlaps"],
                         mem["overlaps"], in_stats, mem["stats_reason"], vol)
    if spec.rename:
        table.insert(2, "price_ticker", a.price_ticker)
    if a.bench and "benchmark" in ev.columns:
        table["benchmark"] = a.bench_of
    parts = {"status": status, "counts": mem["counts"], "in_stats": in_stats, "taken": mem["taken"],
             "flags": a.loaded.flags, "no_bench_volume": panel.bench_volume is None}
    notes = study_notes(ev, spec, parts)
    meta = {"source": source.describe(), "n_events": n, "n_ok": int(ok.sum()), "n_in_stats": int(in_stats.sum()),
            "n_source_errors": int((status == "source_error").sum()),
            "price_sha256": _price_hash(a.grid, a.sessions)}
    if fac is not None:
        units = fac.attrs.get("factor_units", "")
        meta["factors"] = {"first": str(fac.index.min().date()), "last": str(fac.index.max().date()), "units": units}
        notes.append(f"factor data {meta['factors']['first']} to {meta['factors']['last']}, units: {units}")
    res = EventStudyResults(spec=spec, events=table, panel=panel, fit=fit, expected=expected, ar=ar,
                            windows=windows, ok=ok, in_stats=in_stats, notes=notes, meta=meta, volume=vol)
    res.day0_global, res.note_parts = a.pos_full, parts
    return res


def study_notes(ev: pd.DataFrame, spec: StudySpec, parts: dict) -> list[str]:
    """The notes of a study: reading notes, the settings, what was not studied and why, data flags,
    pending reviews, stale caches. ``parts`` holds the per-event ``status``, flag ``counts`` and
    ``in_stats``, the per-rule ``taken`` counts, the source ``flags`` per ticker and whether benchmark
    volume was missing (a chunked study concatenates them over its chunks)."""
    status, counts, in_stats, taken = parts["status"], parts["counts"], parts["in_stats"], parts["taken"]
    notes = list(ev.attrs.get("read_notes", [])) + spec.notes()
    if parts["no_bench_volume"]:
        notes.append("no benchmark volume: abvol_mm (log-volume market model) is not computed")
    if (status != "ok").any():
        st_counts = pd.Series(status[status != "ok"]).value_counts()
        notes.append("not studied: " + ", ".join(f"{k}={v}" for k, v in st_counts.items()))
    notes += _flag_notes(counts, in_stats, taken)
    if "needs_review" in ev.columns:
        pending = ev["event_id"][ev["needs_review"].astype(str).str.strip() != ""]
        if len(pending):
            notes.append(f"{len(pending)} event(s) are still marked needs_review in the event file (e.g. "
                         f"{', '.join(pending.head(3))}): check them with `eventstudy events review` and clear the "
                         "column once accepted")
    for t, sf in sorted(parts["flags"].items()):
        if sf.get("stale_cache"):
            notes.append(f"{t}: served from a stale cache (last bar {sf['stale_cache']}): "
                         f"{sf.get('stale_reason', 'the source could not refresh it')}")
    return notes


def with_event_ids(events: pd.DataFrame) -> pd.DataFrame:
    """An event table without ``event_id`` (or with empty ids) gets ids ``EV-<YYYYMMDD>-<TICKER>-<k>``,
    numbered in row order within each date and ticker; given ids are kept."""
    if "event_id" in events.columns and events["event_id"].astype(str).str.strip().ne("").all():
        return events
    out = events.copy()
    date = pd.to_datetime(out["event_date"], errors="coerce").dt.strftime("%Y%m%d").fillna("NODATE")
    tick = out.get("ticker", pd.Series("", index=out.index)).fillna("").astype(str).str.strip().str.upper()
    base = "EV-" + date + "-" + tick.where(tick != "", "NOTICKER")
    gen = base + "-" + (base.groupby(base).cumcount() + 1).astype(str)
    if "event_id" in out.columns:
        given = out["event_id"].astype(str).str.strip()
        out["event_id"] = given.where(given != "", gen)
    else:
        out.insert(0, "event_id", gen)
    return out


def canonical_order(ev: pd.DataFrame) -> pd.DataFrame:
    """Events sorted by (event_date, ticker, event_id): every output, seeded statistic included, is then
    the same whatever the order of the rows in the event file (reproducibility). The order is
    ``ev.sort_values(["event_date", "ticker", "event_id"], kind="stable")``'s (:func:`_canonical_positions`)."""
    notes = ev.attrs.get("read_notes", [])
    out = ev.take(_canonical_positions(ev)).reset_index(drop=True)
    out.attrs["read_notes"] = notes
    return out


def _canonical_positions(ev: pd.DataFrame) -> np.ndarray:
    """Row positions of ``ev`` in the stable sort by (event_date, ticker, event_id).

    A loaded table (datetime dates without NaT, text tickers and ids) is sorted by pyarrow's stable
    multi-column sort (a million events in random order: ~0.9 s instead of pandas' ~2.7 s); text compares
    by UTF-8 bytes there, which is code-point order, as Python's. Anything else (a missing value, a
    non-text cell, another dtype) is sorted by pandas itself."""
    import pyarrow as pa
    import pyarrow.compute as pc

    date, tick, ids = ev["event_date"], ev["ticker"], ev["event_id"]
    if (pd.api.types.is_datetime64_dtype(date) and not date.isna().any()
            and all(pd.api.types.infer_dtype(s, skipna=False) == "string" for s in (tick, ids))):
        text = {k: pa.array(s.to_numpy(dtype=object), pa.large_string()) for k, s in (("t", tick), ("i", ids))}
        table = pa.table({"d": date.to_numpy().view(np.int64), **text})
        return pc.sort_indices(table, sort_keys=[("d", "ascending"), ("t", "ascending"), ("i", "ascending")]
                               ).to_numpy().astype(np.int64)
    return ev.reset_index(drop=True).sort_values(["event_date", "ticker", "event_id"], kind="stable").index.to_numpy()


def _check_group_columns(group_by: str, ev: pd.DataFrame) -> None:
    """A ``group_by`` that names event-file columns must name existing ones."""
    if group_by in GROUP_BY:
        return
    missing = [c.strip() for c in group_by.split(",") if c.strip() not in ev.columns]
    if missing:
        raise EventStudyError(f"group_by: the events have no column {', '.join(map(repr, missing))} (columns: "
                              f"{', '.join(ev.columns)}; or use {', '.join(GROUP_BY)})")


def _event_benchmarks(ev: pd.DataFrame, spec: StudySpec) -> np.ndarray:
    """Each event's benchmark: its ``benchmark`` cell when given, else ``spec.benchmark`` ("" for models
    without one)."""
    if not spec.uses_benchmark:
        return np.full(len(ev), "", dtype=object)
    default = np.full(len(ev), spec.benchmark, dtype=object)
    if "benchmark" not in ev.columns:
        return default
    own = ev["benchmark"].astype(str).str.strip().str.upper().to_numpy(dtype=object)
    return np.where(own != "", own, default)


def _fit(spec: StudySpec, panel: Panel, est: np.ndarray, jit: bool = False) -> tuple[mdl.ModelFit, np.ndarray]:
    y = panel.ret
    if spec.model == "constant-mean":
        fit = mdl.fit_constant_mean(y, est)
        return fit, fit.expected
    if spec.model == "market-adjusted":
        fit = mdl.fit_market_adjusted(y, panel.market, est)
        return fit, fit.expected
    if spec.model == "market":
        fit = mdl.fit_ols(y, panel.market[..., None], est, "market", ("beta",), jit)
        return fit, fit.expected
    fit = mdl.fit_ols(y - panel.rf, panel.factors, est, spec.model, tuple(f"beta_{f}" for f in spec.factor_names))
    return fit, fit.expected + panel.rf


def _rank_of(ids: np.ndarray) -> np.ndarray:
    """Rank of each event id in sorted order: the order-independent tie-breaker of every 'first' rule."""
    r = np.empty(len(ids), dtype=np.int64)
    r[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    return r


def _overlap_lists(ids: np.ndarray, pi: np.ndarray, pj: np.ndarray, n: int,
                   id_rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event: how many events overlap it, and the first :data:`MAX_OVERLAP_IDS` of their ids (sorted,
    ``;``-separated, ``;…(+k)`` when more). The ids are sorted by ``id_rank`` (:func:`_rank_of` of ``ids``: a
    permutation of ``0..n-1`` in the order of their text, ties by position). The pairs are sorted as one
    integer key (event, rank of the other's id) and each event's ids joined by pyarrow in one call (20,000
    events with ~60 overlaps each: 0.84 -> 0.26 s against numpy's text functions)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(n, "", dtype=object)
    if pi.size == 0:
        return np.zeros(n, dtype=np.int64), out
    a = np.concatenate([pi, pj]).astype(np.int64)
    n_ov = np.bincount(a, minlength=n)
    a, r = np.divmod(np.sort(a * n + id_rank[np.concatenate([pj, pi])]), n)   # by event, then by the id's rank
    by_rank = np.empty(n, dtype=np.int64)
    by_rank[id_rank] = np.arange(n)
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    rank_in = np.arange(a.size) - np.repeat(starts, np.diff(np.r_[starts, a.size]))
    keep = rank_in < MAX_OVERLAP_IDS
    a, other = a[keep], by_rank[r[keep]]
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    LS = pa.large_string()
    lists = pa.LargeListArray.from_arrays(pa.array(np.r_[starts, a.size], pa.int64()), pa.array(ids[other], LS))
    text = pc.binary_join(lists, pa.scalar(";", LS))
    more = n_ov[a[starts]] - MAX_OVERLAP_IDS
    if (more > 0).any():
        longer = pc.binary_join_element_wise(text, pa.scalar(";…(+", LS), pa.array(more).cast(LS), pa.scalar(")", LS),
                                             pa.scalar("", LS))
        text = pc.if_else(pa.array(more > 0), longer, text)
    out[a[starts]] = text.to_numpy(zero_copy_only=False)
    return n_ov, out


def _flag_counts(grid: MarketGrid, rows: np.ndarray, day0_pos: np.ndarray, spec: StudySpec,
                 last: np.ndarray) -> dict[str, np.ndarray]:
    """Per event, the count of each data fault (see panel.FLAG_NAMES) in the estimation window (``est:``)
    and the event span (``evt:``), days of the span after the last price, and bars off the calendar."""
    n = len(rows)
    out: dict[str, np.ndarray] = {}
    if not len(grid.tickers):
        return out
    cs = {name: flag_cells(grid.flags[name]) for name in FLAG_NAMES}   # the flagged cells of each flag, once
    for label, (a, b) in (("est", spec.estimation), ("evt", spec.span)):
        for name in FLAG_NAMES:
            out[f"{label}:{name}"] = window_counts(grid.flags[name], rows, day0_pos + a, day0_pos + b, cs[name])
    out["evt:after_last_price"] = np.where(rows >= 0, np.clip(day0_pos + spec.span[1] - last, 0, None), 0)
    offcal = grid.non_session_rows[np.clip(rows, 0, None)]
    out["bars_off_calendar"] = np.where(rows >= 0, offcal, 0).astype(np.int64)
    assert all(len(v) == n for v in out.values())
    return out


def _incomplete_windows(windows: list, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event: the number of windows with fewer observed days than their length, and the flag text
    ``incomplete_window[a:b]=used/length`` for each (studied events only)."""
    n = len(ok)
    count = np.zeros(n, dtype=np.int64)
    text = np.full(n, "", dtype=object)
    for w in windows:
        length = w.window[1] - w.window[0] + 1
        bad = ok & (w.n_days < length)
        count += bad
        hit = np.flatnonzero(bad)                     # text is built for the flagged events only
        if hit.size:
            text[hit] = text[hit] + np.array([f"incomplete_window[{w.window[0]}:{w.window[1]}]={k}/{length};"
                                              for k in w.n_days[hit].astype(np.int64).tolist()], dtype=object)
    return count, text


def _join_flags(counts: dict[str, np.ndarray], *texts: np.ndarray) -> np.ndarray:
    """``name=count`` for every non-zero count, then the given per-event texts, ``;``-separated."""
    if not counts and not texts:
        return np.array([], dtype=object)
    n = len(next(iter(counts.values()))) if counts else len(texts[0])
    joined = np.full(n, "", dtype=object)
    for name, c in counts.items():
        if name in ("incomplete_window", "stale_cache", "duplicate"):
            continue  # written with their details below
        hit = np.flatnonzero(c > 0)                   # text is built for the flagged events only
        if hit.size:
            joined[hit] = joined[hit] + np.char.add(f"{name}=", c[hit].astype(np.int64).astype(str)).astype(object) + ";"
    for t in texts:
        t = np.asarray(t, dtype=object)
        hit = np.flatnonzero(t != "")
        if hit.size:
            joined[hit] = joined[hit] + t[hit] + ";"
    hit = np.flatnonzero(joined != "")
    if hit.size:
        joined[hit] = pd.Series(joined[hit], dtype=object).str.replace(";;", ";", regex=False).str.rstrip(";").to_numpy(dtype=object)
    return joined


def _duplicates(tickers: np.ndarray, day0_pos: np.ndarray, kinds: np.ndarray, ok: np.ndarray,
                id_rank: np.ndarray) -> np.ndarray:
    """Index of the event each studied event duplicates (same ticker, day 0 and kind), else -1.

    The study passes one code per (``event_type``, ``subtype``): two approvals of one company on one day
    share one stock return and count once; an approval and a CRL on one day stay two events. The kept
    event of each duplicate group is the one with the smallest event id (``id_rank``; independent of the
    file's row order)."""
    dup_of = np.full(len(ok), -1, dtype=np.int64)
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return dup_of
    t = pd.factorize(np.asarray(tickers, dtype=object)[idx])[0]
    d, k, r = day0_pos[idx], np.asarray(kinds)[idx], id_rank[idx]
    order = np.lexsort((r, k, d, t))                       # stable: equal ranks keep the row order
    t, d, k, i = t[order], d[order], k[order], idx[order]
    start = np.ones(len(i), dtype=bool)
    start[1:] = (t[1:] != t[:-1]) | (d[1:] != d[:-1]) | (k[1:] != k[:-1])
    keeper = i[np.flatnonzero(start)[np.cumsum(start) - 1]]
    dup_of[i] = np.where(keeper != i, keeper, -1)
    return dup_of


def _degenerate(fit: mdl.ModelFit, ret: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Events whose model carries no information: the stock's own estimation-window returns are all zero
    (a constant price: any model's abnormal return is then just minus its normal return), or the fitted
    residual s.d. is negligible, :math:`\hat\sigma_i \le` ``DEGENERATE_RTOL`` · r.m.s. of :math:`R_{it}`
    (zero for a constant price, ~1e-17 for a stock identical to its benchmark), so that every
    standardised statistic would divide by ~0. Returns the mask and the r.m.s."""
    obs = est & np.isfinite(ret)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt((np.where(obs, ret, 0.0) ** 2).sum(axis=1) / obs.sum(axis=1))
        sd = np.sqrt(fit.s2)
    flat = np.isfinite(rms) & (rms == 0.0)
    return flat | (np.isfinite(sd) & ~(sd > DEGENERATE_RTOL * rms)), rms


def _stats_membership(spec: StudySpec, ok: np.ndarray, ids: np.ndarray, id_rank: np.ndarray, rows: np.ndarray,
                      start: np.ndarray, end: np.ndarray, dup_of: np.ndarray, counts: dict[str, np.ndarray],
                      incomplete_text: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Which studied events enter the statistics, why the others do not, and how many each rule took out.

    Rules, in order: exact duplicates (``spec.duplicates``), excluded data flags (``spec.exclude_flags``),
    incomplete windows (``spec.require_complete``), then the overlap policy among the remaining events.
    """
    n = len(ok)
    in_stats = ok.copy()
    why = np.full(n, "", dtype=object)
    taken: dict[str, int] = {}

    def take(mask: np.ndarray, text, rule: str) -> None:
        mask = mask & ok
        if mask.any():
            taken[rule] = taken.get(rule, 0) + int((mask & in_stats).sum())
            why[mask] = why[mask] + np.where(why[mask] != "", "; ", "") + (text[mask] if isinstance(text, np.ndarray)
                                                                          else text)
            in_stats[mask] = False

    if spec.duplicates == "once":
        take(dup_of >= 0, "duplicate of " + ids[np.clip(dup_of, 0, None)].astype(object)
             + " (same ticker, day 0, event type and subtype): counted once", "duplicate")
    for f in spec.exclude_flags:
        keys = [k for k in counts if k == f or (":" not in f and k.split(":", 1)[-1] == f)]
        for k in keys:
            take(counts[k] > 0, np.char.add(f"data flag {k}=", counts[k].astype(np.int64).astype(str)).astype(object)
                 + " is excluded (exclude_flags)", "exclude_flags")
    if spec.require_complete:
        take(counts.get("incomplete_window", np.zeros(n)) > 0,
             pd.Series(incomplete_text).str.rstrip(";").to_numpy(dtype=object) + " (require_complete)",
             "require_complete")
    if spec.overlap != "keep":
        cand = in_stats.copy()
        pi, pj, idx, cluster = _overlap_pairs(rows, start, end, cand & (rows >= 0), id_rank)
        span = f"{spec.span[0]}:{spec.span[1]}"
        if spec.overlap == "drop":
            _, listed = _overlap_lists(ids, pi, pj, n, id_rank)
            take(listed != "", "overlaps " + listed + f" (same ticker, event span {span}); the overlap rule "
                 "'drop' leaves out every overlapping event", "overlap")
        elif idx.size:
            first = np.r_[True, cluster[1:] != cluster[:-1]]
            head = np.full(n, -1, dtype=np.int64)
            head[idx] = idx[first][cluster]
            later = (head >= 0) & (head != np.arange(n))
            take(later, "overlaps the earlier event " + ids[np.clip(head, 0, None)].astype(object)
                 + f" (same ticker, event span {span}); the overlap rule 'first' keeps the first of each "
                 "overlapping cluster", "overlap")
    return in_stats, why, taken


def _flag_notes(counts: dict[str, np.ndarray], in_stats: np.ndarray, taken: dict[str, int]) -> list[str]:
    """Summary lines: which data flags the events in the statistics carry, and what each rule left out."""
    out = []
    flagged = {k: int((c[in_stats] > 0).sum()) for k, c in counts.items()}
    flagged = {k: v for k, v in flagged.items() if v}
    if flagged:
        out.append(f"data flags among the {int(in_stats.sum())} events in the statistics: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(flagged.items()))
                   + " (leave them out with exclude_flags / --exclude-flags)")
    if taken:
        out.append("studied but left out of the statistics: "
                   + ", ".join(f"{k} {v}" for k, v in taken.items()) + " (events.csv stats_reason says why)")
    return out


def _event_table(ev, spec, panel, fit, ar, day0, rule, status, reason, flags, n_overlaps, overlaps, in_stats,
                 stats_reason, vm: VolumeMeasures) -> pd.DataFrame:
    c0 = panel.column(0)
    ok = status == "ok"
    vol = panel.volume
    cols = {
        "event_id": ev["event_id"], "ticker": ev["ticker"], "company": ev["company"],
        "event_type": ev["event_type"], "subtype": ev["subtype"], "event_date": ev["event_date"],
        "event_time": ev["event_time"], "day0": pd.to_datetime(day0), "day0_rule": rule,
        "status": status, "reason": reason, "in_stats": in_stats, "stats_reason": stats_reason,
        "n_est": np.where(panel.ticker_row >= 0, fit.nobs, 0).astype(int),
    }
    for k, name in enumerate(fit.param_names):
        cols[name] = np.where(ok, fit.params[:, k], np.nan)
    cols["sigma"] = np.where(ok, np.sqrt(fit.s2), np.nan)
    cols["ret_d0"] = np.where(ok, panel.ret[:, c0], np.nan)
    cols["ar_d0"] = ar[:, c0]
    cols["close_d0"] = panel.close[:, c0]
    cols["volume_d0"] = vol[:, c0]
    cols["vol_ratio_63"] = vm.ratio_63[:, c0]
    cols["vol_ratio_20"] = vm.ratio_20[:, c0]
    cols["vol_abvol_log_d0"] = vm.abvol_log[:, c0]
    cols["vol_abvol_mm_d0"] = vm.abvol_mm[:, c0]
    cols["vol_z_d0"] = vm.vol_z[:, c0]
    cols["vol_zero_days_est"] = np.where(ok, ((vol == 0) & ((panel.rel_days >= spec.estimation[0])
                                                           & (panel.rel_days <= spec.estimation[1]))).sum(axis=1), 0)
    cols["data_flags"] = flags
    cols["n_overlaps"] = n_overlaps
    cols["overlaps"] = overlaps
    for col in ("confidence", "headline", "source_url", "notes"):
        cols[col] = ev[col]
    for col in ev.columns:   # the user's own columns pass through (renamed if they clash with ours)
        if col not in cols:
            cols[col] = ev[col]
        elif col not in EVENT_COLUMNS:
            cols[f"input_{col}"] = ev[col]
    return pd.DataFrame(cols)       # one frame built from every column (inserting them one by one costs ~1 ms each)


def _price_hash(grid: MarketGrid, sessions: pd.DatetimeIndex) -> str:
    """SHA-256 of the prices actually used: tickers, sessions, log prices and volumes on the grid."""
    from ._io import sha256_arrays

    names = np.frombuffer("\n".join(grid.tickers).encode(), dtype=np.uint8)
    return sha256_arrays(names, sessions.asi8, grid.logp, grid.volume)
