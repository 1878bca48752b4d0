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

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .abnormal import window_label
from . import inference as inf

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
    stats : the :class:`~eventstudy.suffstats.StudyStats` the ``caar``/``aar`` tables are built from

    A study run in chunks (``run_study(chunk_size=...)``, the default above 10,000 events) has no
    ``panel``, ``fit``, ``expected``, ``ar_matrix``, ``windows`` or ``vol`` (None): its statistics were
    merged from the chunks and its ``ar``/``car``/``volume`` frames built per chunk (see docs/scale.md).
    """

    #: bootstrap resamples, base seed, and the cap on events used for the KP residual correlation (the
    #: events with the smallest hashes of their id, see :func:`eventstudy.suffstats.event_keys`)
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
        rel = self.spec.rel_days
        return rel[(rel >= a) & (rel <= b)]

    _frames = None          # a chunked study's FrameArrays (eventstudy.frames), or what merges them, when kept
    _stats = None

    def _kept(self, name: str) -> pd.DataFrame:
        """A long frame of a chunked study, rendered from the chunks' merged arrays on first use."""
        if self._frames is None:
            from ._errors import EventStudyError

            raise EventStudyError(f"the {name} frame was not kept: this chunked study ran with keep_frames=False "
                                  "(run it with keep_frames=True, or write the results folder from the CLI)")
        from .frames import render

        return render(self.frame_arrays, name)

    @cached_property
    def frame_arrays(self):
        """The values of the long frames (:class:`eventstudy.frames.FrameArrays`) of the studied events: their
        event-span days' returns and volume measures and their windows' results."""
        from .frames import CAR_COLUMNS, FrameArrays
        from .volume import cumulative

        if self.panel is None:
            if self._frames is None:
                self._kept("ar")                # raises: not kept
            if callable(self._frames):      # merged on first use; the chunks' parts (memory-mapped files) let go
                self._frames = self._frames()
            return self._frames
        from .suffstats import _as_slice, _rows_cols

        rel = self.panel.rel_days
        cols = _as_slice(np.flatnonzero(np.isin(rel, self.span_days)))    # the span's columns: consecutive
        idx = np.flatnonzero(self.ok)
        v = self.vol
        day = {k: _rows_cols(a, idx, cols) for k, a in (
            ("ret", self.panel.ret), ("expected", self.expected), ("ar", self.ar_matrix), ("volume", v.volume),
            ("vol_ratio_20", v.ratio_20), ("vol_ratio_63", v.ratio_63), ("abvol_log", v.abvol_log),
            ("abvol_mm", v.abvol_mm), ("vol_z", v.vol_z))}
        win: dict[str, list] = {k: [] for k in CAR_COLUMNS}
        for w in self.windows:       # every value per event (row-wise sums over the window's columns), then the studied
            for k, a in (("car", w.car), ("car_se", w.se), ("scar", w.scar), ("bhar", w.bhar),
                         ("n_days", w.n_days), ("n_missing", w.n_missing),
                         ("vol_cav_log", cumulative(v.abvol_log, rel, w.window)[0]),
                         ("vol_cav_mm", cumulative(v.abvol_mm, rel, w.window)[0])):
                win[k].append(a[idx])
        n = len(idx)
        return FrameArrays(self.events["event_id"].to_numpy()[idx], rel[cols], self.panel.dates(idx, cols), day,
                           tuple(tuple(w.window) for w in self.windows),
                           {k: np.column_stack(a) if a else np.empty((n, 0)) for k, a in win.items()})

    @cached_property
    def ar(self) -> pd.DataFrame:
        """Long frame of event-span returns for studied events (``event_id, rel_day, date, ret, expected, ar``)."""
        return self._frame("ar")

    @cached_property
    def car(self) -> pd.DataFrame:
        """Long frame of per-event window results for studied events (window by window, then event)."""
        return self._frame("car")

    @cached_property
    def volume(self) -> pd.DataFrame:
        """Long frame of event-span volume measures for studied events (→ ``volume.csv``)."""
        return self._frame("volume")

    def _frame(self, name: str) -> pd.DataFrame:
        if self.panel is None:
            return self._kept(name)
        from .frames import render

        return render(self.frame_arrays, name)

    @property
    def extra_frames(self) -> dict[str, pd.DataFrame]:
        return {"volume": self.volume}

    def not_studied(self) -> pd.DataFrame:
        """``event_id``, ``ticker``, ``status`` and ``reason`` of the events not studied (status not ``ok``), in
        the events' order."""
        ev = self.events
        return ev.loc[ev["status"] != "ok", [c for c in ("event_id", "ticker", "status", "reason") if c in ev]]

    @property
    def groups(self) -> np.ndarray:
        """The statistics group of each event (``spec.group_by``)."""
        return group_labels(self.events, self.spec.group_by)

    @property
    def conventions(self) -> str:
        """``papers`` (default) or ``estudy2`` (see docs/statistics.md "Conventions")."""
        return getattr(self.spec, "conventions", "papers")

    def chunk_stats(self, rows: np.ndarray | None = None, day0_global: np.ndarray | None = None,
                    jit: bool | None = None):
        """This study's reduction to sufficient statistics (:func:`eventstudy.suffstats.reduce_chunk`)."""
        from .suffstats import reduce_chunk

        n = len(self.events)
        d0 = getattr(self, "day0_global", None)
        return reduce_chunk(self.spec, self.events, self.panel, self.fit, self.ar_matrix, self.windows, self.in_stats,
                            self.vol, self.groups, np.arange(n) if rows is None else rows,
                            self.panel.day0_pos if d0 is None else d0, self.max_rbar_events, jit)

    @cached_property
    def stats(self):
        """The :class:`~eventstudy.suffstats.StudyStats` every table is built from."""
        if self._stats is not None:
            return self._stats
        from .suffstats import study_stats

        return study_stats([self.chunk_stats()], self.max_rbar_events)

    @cached_property
    def caar(self) -> pd.DataFrame:
        """Per event type and window: CAAR with the full test battery (see docs/statistics.md)."""
        from .tables import caar_table

        return caar_table(self.stats, self.boot_reps, self.seed, self.max_boot_events, self.conventions == "estudy2")

    @cached_property
    def aar(self) -> pd.DataFrame:
        """Per event type and relative day: AAR, CAAR (cumulated from the span start) and the tests."""
        from .tables import aar_table

        return aar_table(self.stats, self.boot_reps, self.seed, self.max_boot_events, self.conventions == "estudy2")

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
                f"events: {len(self.ok)} in file, {int(self.ok.sum())} studied, "
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
        wins = [window_label(w) for w in self.spec.windows]
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
