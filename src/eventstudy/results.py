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

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .abnormal import WindowResult, window_label
from .inference import cross_sectional
from .models import ModelFit
from .panel import Panel

ALL_TYPES = "ALL"


def stars(p: float) -> str:
    """Significance stars: *** p<0.01, ** p<0.05, * p<0.10."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


@dataclass
class EventStudyResults:
    """Output of :func:`eventstudy.run_study` (arrays plus labels; frames built lazily)."""

    spec: object
    events: pd.DataFrame
    panel: Panel
    fit: ModelFit
    expected: np.ndarray
    ar_matrix: np.ndarray = field(repr=False, default=None)
    windows: list[WindowResult] = field(default_factory=list)
    ok: np.ndarray = None
    in_stats: np.ndarray = None
    notes: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __init__(self, spec, events, panel, fit, expected, ar, windows, ok, in_stats, notes, meta):
        self.spec, self.events, self.panel, self.fit, self.expected = spec, events, panel, fit, expected
        self.ar_matrix, self.windows, self.ok, self.in_stats = ar, windows, ok, in_stats
        self.notes, self.meta = notes, meta

    # ---- tidy frames ---------------------------------------------------------------------------
    @property
    def span_days(self) -> np.ndarray:
        a, b = self.spec.span
        return self.panel.rel_days[(self.panel.rel_days >= a) & (self.panel.rel_days <= b)]

    @cached_property
    def ar(self) -> pd.DataFrame:
        """Long frame of event-span returns for studied events."""
        cols = np.flatnonzero(np.isin(self.panel.rel_days, self.span_days))
        idx = np.flatnonzero(self.ok)
        k = len(cols)
        dates = self.panel.dates()[np.ix_(idx, cols)]
        return pd.DataFrame({
            "event_id": np.repeat(self.events["event_id"].to_numpy()[idx], k),
            "rel_day": np.tile(self.panel.rel_days[cols], len(idx)),
            "date": pd.to_datetime(dates.ravel()),
            "ret": self.panel.ret[np.ix_(idx, cols)].ravel(),
            "expected": self.expected[np.ix_(idx, cols)].ravel(),
            "ar": self.ar_matrix[np.ix_(idx, cols)].ravel(),
        })

    @cached_property
    def car(self) -> pd.DataFrame:
        """Long frame of per-event window results for studied events."""
        idx = np.flatnonzero(self.ok)
        ids = self.events["event_id"].to_numpy()[idx]
        frames = []
        for w in self.windows:
            frames.append(pd.DataFrame({
                "event_id": ids, "window": window_label(w.window), "win_start": w.window[0], "win_end": w.window[1],
                "car": w.car[idx], "car_se": w.se[idx], "scar": w.scar[idx], "bhar": w.bhar[idx],
                "n_days": w.n_days[idx], "n_missing": w.n_missing[idx]}))
        return pd.concat(frames, ignore_index=True)

    def _groups(self):
        types = self.events["event_type"].to_numpy()
        yield ALL_TYPES, self.in_stats
        for t in sorted(set(types[self.in_stats])):
            yield t, self.in_stats & (types == t)

    @cached_property
    def caar(self) -> pd.DataFrame:
        """Per event type and window: n, mean/median CAR, share positive, cross-sectional t and p."""
        rows = []
        for etype, mask in self._groups():
            for w in self.windows:
                cs = cross_sectional(w.car[mask])
                rows.append({"event_type": etype, "window": window_label(w.window), "win_start": w.window[0],
                             "win_end": w.window[1], "n": int(cs.n), "mean_car": float(cs.mean),
                             "median_car": float(cs.median), "pos_share": float(cs.pos_share),
                             "t_cs": float(cs.t), "p_cs": float(cs.p), "mean_bhar": _nanmean(w.bhar[mask])})
        return pd.DataFrame(rows)

    @cached_property
    def aar(self) -> pd.DataFrame:
        """Per event type and relative day of the event span: n, AAR, CAAR (cumulated from the span start), t."""
        cols = np.flatnonzero(np.isin(self.panel.rel_days, self.span_days))
        rows = []
        for etype, mask in self._groups():
            x = self.ar_matrix[np.ix_(np.flatnonzero(mask), cols)]
            cs = cross_sectional(x)
            aar = np.where(cs.n > 0, cs.mean, 0.0)
            caar = np.where(np.cumsum(cs.n) > 0, np.cumsum(aar), np.nan)
            rows.append(pd.DataFrame({"event_type": etype, "rel_day": self.panel.rel_days[cols], "n": cs.n,
                                      "aar": cs.mean, "caar": caar, "t_cs": cs.t, "p_cs": cs.p}))
        return pd.concat(rows, ignore_index=True)

    # ---- text ----------------------------------------------------------------------------------
    def summary(self, max_types: int | None = None) -> str:
        """Plain-text summary: settings, coverage, and per-type CAAR with t, p and stars."""
        s = self.spec
        lines = [f"Event study: {s.name}",
                 f"model={s.model}" + (f" benchmark={s.benchmark}" if s.uses_benchmark else "")
                 + f" estimation={s.estimation[0]}:{s.estimation[1]} returns={s.returns} overlap={s.overlap}",
                 f"events: {len(self.events)} in file, {int(self.ok.sum())} studied, "
                 f"{int(self.in_stats.sum())} in statistics"]
        lines += [f"note: {n}" for n in self.notes]
        tab = self.caar.copy()
        tab["CAAR %"] = (100 * tab["mean_car"]).map(lambda v: f"{v:8.2f}" if np.isfinite(v) else "     n/a")
        tab["t"] = tab["t_cs"].map(lambda v: f"{v:6.2f}" if np.isfinite(v) else "   n/a")
        tab["p"] = tab["p_cs"].map(lambda v: f"{v:5.3f}" if np.isfinite(v) else "  n/a")
        tab["sig"] = tab["p_cs"].map(stars)
        order = list(dict.fromkeys(tab["event_type"]))
        if max_types:
            order = order[: max_types + 1]
        lines.append("")
        lines.append(f"{'event_type':<24}{'window':>8}{'n':>5}{'CAAR %':>9}{'t':>7}{'p':>7} sig")
        for etype in order:
            for _, r in tab[tab["event_type"] == etype].iterrows():
                lines.append(f"{etype:<24}{r['window']:>8}{r['n']:>5}{r['CAAR %']:>9}{r['t']:>7}{r['p']:>7} {r['sig']}")
        lines.append("*** p<0.01  ** p<0.05  * p<0.10 (two-sided, cross-sectional t)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<EventStudyResults {self.spec.name}: {int(self.ok.sum())}/{len(self.events)} events studied>"

    def to_csv(self, out: str | Path, inputs: dict | None = None) -> Path:
        """Write events/ar/car/summary/aar CSVs and manifest.json into ``out`` (atomically)."""
        from .export import write_results

        return write_results(self, Path(out), inputs or {})


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")
