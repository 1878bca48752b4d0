"""Figures from result frames. Each function draws on an optional ``ax`` and returns it.

Drawing never changes global matplotlib state: no backend is forced (matplotlib picks Agg by itself
without a display; Jupyter's inline backend shows the figures under the cell), styles apply inside
``rc_context`` only, and ``plt.show()`` is never called. Without ``ax`` a function draws on a new
pyplot figure (displayed in a notebook); :func:`draw_all` re-creates every PNG of a results folder
from its CSVs on plain ``Figure`` objects (no pyplot, nothing left open).

CAAR confidence band: with :math:`se_t = AAR_t / t_{cs,t}` the cross-sectional standard error
of each day's AAR, the band is :math:`CAAR_t \\pm z_{0.975}\\sqrt{\\sum_{s\\le t} se_s^2}`
(days treated as independent, as in the cross-sectional test).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9, "legend.fontsize": 8, "legend.frameon": False}


def _mpl():
    """matplotlib and pyplot, imported lazily, with pyplot's backend loaded: the one matplotlib chooses
    (``MPLBACKEND``, Jupyter's inline backend, or Agg by itself when there is no display); none is forced.

    Call it *before* entering ``rc_context``: loading Jupyter's inline backend switches interactive
    mode on, and ``rc_context`` would switch it off again on exit, so later figures would not show.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    plt._get_backend_mod()      # pyplot's own "ensure a backend is selected" (what plt.figure calls first)
    return matplotlib, plt


def _matplotlib(ax):
    """matplotlib, readied by :func:`_mpl` when a new pyplot figure is to be made (``ax`` is None)."""
    if ax is None:
        return _mpl()[0]
    import matplotlib

    return matplotlib


def _ax(ax, size=(9, 4)):
    """``ax``, or the axes of a new pyplot figure (so that Jupyter shows it under the cell)."""
    if ax is not None:
        return ax
    _, plt = _mpl()
    return plt.figure(figsize=size, layout="constrained").add_subplot()


def caar_band(aar: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """CAAR and its band per relative day of one group (columns rel_day, n, caar, lo, hi)."""
    from scipy.stats import norm

    a = aar.sort_values("rel_day")
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.abs(a["aar"] / a["t_cs"]).fillna(0.0)
    half = norm.ppf(0.5 + level / 2) * np.sqrt(np.cumsum(se.to_numpy() ** 2))
    return pd.DataFrame({"rel_day": a["rel_day"].to_numpy(), "n": a["n"].to_numpy(), "caar": a["caar"].to_numpy(),
                         "lo": a["caar"].to_numpy() - half, "hi": a["caar"].to_numpy() + half})


def plot_caar(aar: pd.DataFrame, groups: list[str] | None = None, ax=None, level: float = 0.95):
    """CAAR path per event type with its confidence band; n in the legend."""
    mpl = _matplotlib(ax)

    with mpl.rc_context(STYLE):
        ax = _ax(ax)
        groups = groups or [g for g in aar["event_type"].unique() if g != "ALL"] or ["ALL"]
        for g in groups:
            b = caar_band(aar[aar["event_type"] == g], level)
            if b.empty:
                continue
            line, = ax.plot(b["rel_day"], 100 * b["caar"], marker="o", ms=2.5,
                            label=f"{g} (n={int(b['n'].max())})")
            ax.fill_between(b["rel_day"], 100 * b["lo"], 100 * b["hi"], color=line.get_color(), alpha=0.15)
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xlabel("trading days relative to day 0")
        ax.set_ylabel("CAAR (%)")
        ax.set_title(f"Cumulative average abnormal return, {int(100 * level)} % band")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_car_distribution(car: pd.DataFrame, events: pd.DataFrame, window: str, ax=None, group_col="event_type"):
    """Box and strip plot of per-event CARs by event type for one window."""
    mpl = _matplotlib(ax)

    d = _car_window(car, events, window, group_col)
    with mpl.rc_context(STYLE):
        ax = _ax(ax, _car_distribution_size(d, group_col))
        groups = sorted(d[group_col].unique())
        data = [100 * d.loc[d[group_col] == g, "car"].dropna().to_numpy() for g in groups]
        if groups:
            ax.boxplot(data, orientation="horizontal", widths=0.5, showfliers=False, tick_labels=[f"{g} (n={len(x)})"
                                                                                   for g, x in zip(groups, data)])
            rng = np.random.default_rng(0)
            for k, x in enumerate(data, start=1):
                ax.scatter(x, k + rng.uniform(-0.15, 0.15, len(x)), s=9, alpha=0.6, color="tab:blue")
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel(f"CAR {window} (%)")
        ax.set_title(f"Distribution of CARs, window {window}")
    return ax


def _car_window(car: pd.DataFrame, events: pd.DataFrame, window: str, group_col: str) -> pd.DataFrame:
    """The CARs of one window with each event's group."""
    return car[car["window"] == window].merge(events[["event_id", group_col]], on="event_id")


def _car_distribution_size(d: pd.DataFrame, group_col: str) -> tuple[float, float]:
    """Figure size of the CAR distribution chart: one row per group."""
    return (7, 0.5 + 0.45 * max(d[group_col].nunique(), 2))


def plot_abnormal_volume(aar: pd.DataFrame, groups: list[str] | None = None, ax=None):
    """Mean abnormal log volume per event type by relative day."""
    mpl = _matplotlib(ax)

    with mpl.rc_context(STYLE):
        ax = _ax(ax)
        groups = groups or [g for g in aar["event_type"].unique() if g != "ALL"] or ["ALL"]
        for g in groups:
            a = aar[aar["event_type"] == g].sort_values("rel_day")
            ax.plot(a["rel_day"], a["vol_mean_abvol"], marker="o", ms=2.5, label=f"{g} (n={int(a['vol_n'].max())})")
        ax.axvline(0, color="black", lw=0.8, ls="--")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xlabel("trading days relative to day 0")
        ax.set_ylabel("abnormal log volume (log points)")
        ax.set_title("Abnormal volume: log(1+volume) minus its estimation-window mean")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_event(bars: pd.DataFrame, bench: pd.DataFrame | None, event: pd.Series, before: int = 30, after: int = 30,
               ax=None):
    """Price and benchmark rebased to 100 on the day before day 0, volume bars, day 0 marked."""
    mpl = _matplotlib(ax)
    import matplotlib.dates as mdates

    day0 = pd.Timestamp(event["day0"])
    px = bars["adj_close"].where(bars["adj_close"] > 0, bars["close"])
    i = px.index.searchsorted(day0)
    sl = slice(max(i - before, 0), min(i + after + 1, len(px)))
    p = px.iloc[sl]
    base = px.iloc[max(i - 1, 0)]
    with mpl.rc_context(STYLE):
        ax = _ax(ax, (8, 4.2))
        vax = ax.twinx()
        vax.bar(p.index, bars["volume"].iloc[sl] / 1e6, color="tab:grey", alpha=0.3, width=0.8)
        vax.set_ylabel("volume (million shares)")
        vax.grid(False)
        ax.set_zorder(vax.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot(p.index, 100 * p / base, color="tab:blue", label=str(event["ticker"]))
        if bench is not None:
            b = bench["adj_close"].where(bench["adj_close"] > 0, bench["close"]).reindex(p.index)
            bb = bench["adj_close"].where(bench["adj_close"] > 0, bench["close"]).asof(px.index[max(i - 1, 0)])
            ax.plot(p.index, 100 * b / bb, color="tab:orange", label="benchmark")
        ax.axvline(day0, color="red", lw=1, ls="--", label=f"day 0 ({day0.date()})")
        ax.set_ylabel("price, rebased to 100 before day 0")
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        title = _plain(str(event.get("headline", "") or event["event_id"]))
        title = title if len(title) <= 110 else title[:109] + "…"
        ax.set_title(f"{event['ticker']} · {event['event_type']}\n{title}", fontsize=9)
        ax.legend(loc="upper left")
    return ax


def _plain(text: str) -> str:
    """Escape ``$`` so matplotlib shows headlines literally instead of parsing math."""
    return text.replace("$", r"\$")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _event_file_names(ids: list[str]) -> list[str]:
    """One PNG name per event id: the id made file-safe, with ``-2``, ``-3``… when two ids would give
    the same name (``a/b`` and ``a_b``; ``X`` and ``x`` on a case-insensitive disk)."""
    used: set[str] = set()
    out = []
    for eid in ids:
        base = _safe(eid) or "event"
        name, k = base, 1
        while name.lower() in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name.lower())
        out.append(f"events/{name}.png")
    return out


#: the event fields :func:`plot_event` reads: the figure cache keys on exactly these (add any new one here)
EVENT_CHART_FIELDS = ("event_id", "ticker", "event_type", "day0", "headline")
#: bump when the meaning of a cached figure changes without a change to this module's source
FIGURE_CACHE_VERSION = 1


def _frame_digest(h, frame) -> None:
    """Feed a frame's columns, index and values (NaN-aware) into the hash ``h``."""
    if frame is None:
        h.update(b"<none>")
        return
    h.update(repr(list(frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())


def figure_key(job: tuple, data: dict) -> str:
    """SHA-256 of everything figure ``job`` is drawn from: the chart kind and argument, its input data,
    the style, matplotlib's version and this module's source (so a change of code invalidates it)."""
    import hashlib

    import matplotlib

    kind, arg = job
    h = hashlib.sha256()
    h.update(f"{FIGURE_CACHE_VERSION}|{matplotlib.__version__}|{kind}|{arg!r}|{sorted(STYLE.items())!r}".encode())
    h.update(_module_digest())
    if kind in ("caar", "abnormal_volume"):
        _frame_digest(h, data["aar"])
    elif kind == "car_distribution":
        _frame_digest(h, data["car"])
        _frame_digest(h, data["events"][["event_id", "_group"]])
    else:
        e = data["events"].loc[arg]
        h.update(repr([(f, str(e.get(f, ""))) for f in EVENT_CHART_FIELDS]).encode())
        _frame_digest(h, data["bars"][e["ticker"]])
        _frame_digest(h, data["bench"])
    return h.hexdigest()


def _module_digest() -> bytes:
    import hashlib

    return hashlib.sha256(Path(__file__).read_bytes()).digest()


class FigureCache:
    """PNG bytes by :func:`figure_key`, one file per figure, written atomically; a missing or unreadable
    entry is simply drawn again. Default folder: ``<eventstudy cache>/figures`` (see ``eventstudy cache info``)."""

    def __init__(self, root: str | Path | None = None):
        if root is None:
            from .sources.cache import default_cache_dir

            root = Path(default_cache_dir()) / "figures"
        self.dir = Path(root)

    def get(self, key: str) -> bytes | None:
        p = self.dir / f"{key}.png"
        try:
            data = p.read_bytes()
        except OSError:
            return None
        return data if data.startswith(b"\x89PNG\r\n\x1a\n") else None

    def put(self, key: str, png: bytes) -> None:
        from ._io import atomic_write_bytes

        try:
            atomic_write_bytes(self.dir / f"{key}.png", png)
        except OSError:   # a read-only or full cache only costs drawing again next time
            pass


#: per process: the data the figure jobs of one :func:`draw_all` call read, and one Figure per chart kind
_JOB_DATA: dict = {}
_FIGURES: dict = {}


def _job_init(data: dict) -> None:
    """Give a drawing process (or this one) the frames and price bars the jobs refer to."""
    _JOB_DATA.clear()
    _JOB_DATA.update(data)
    _FIGURES.clear()


def _figure_ax(kind: str, size: tuple[float, float]):
    """Fresh axes on this process's Figure for ``kind`` (created once, cleared and resized after).

    Plain :class:`~matplotlib.figure.Figure` objects: no pyplot, no backend, nothing to close."""
    from matplotlib.figure import Figure

    fig = _FIGURES.get(kind)
    if fig is None:
        fig = _FIGURES[kind] = Figure(figsize=size, layout="constrained")
    else:
        fig.clear()
        fig.set_size_inches(size)
    return fig.add_subplot()


def _draw_job(job: tuple) -> bytes:
    """PNG bytes of one figure job ``(kind, arg)`` drawn from :data:`_JOB_DATA`."""
    import io

    import matplotlib as mpl

    kind, arg = job
    d = _JOB_DATA
    with mpl.rc_context(STYLE):
        if kind == "caar":
            ax = plot_caar(d["aar"], ax=_figure_ax(kind, (9, 4)))
        elif kind == "abnormal_volume":
            ax = plot_abnormal_volume(d["aar"], ax=_figure_ax(kind, (9, 4)))
        elif kind == "car_distribution":
            size = _car_distribution_size(_car_window(d["car"], d["events"], arg, "_group"), "_group")
            ax = plot_car_distribution(d["car"], d["events"], arg, group_col="_group", ax=_figure_ax(kind, size))
        else:
            e = d["events"].loc[arg]
            ax = plot_event(d["bars"][e["ticker"]], d["bench"], e, ax=_figure_ax(kind, (8, 4.2)))
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png")
    return buf.getvalue()


def _draw_jobs(jobs: list[tuple], data: dict, workers: int,
               progress: Callable[[int, int], None] | None) -> list[bytes]:
    """PNG bytes of every job, in order; over ``workers`` processes when more than one."""
    total = len(jobs)
    if workers <= 1 or total < 4:
        _job_init(data)
        out = []
        try:
            for k, job in enumerate(jobs, start=1):
                out.append(_draw_job(job))
                if progress is not None:
                    progress(k, total)
        finally:
            _job_init({})
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # fork shares the imported modules and the data; elsewhere (spawn) they are sent once per process
    fork = "fork" in mp.get_all_start_methods()
    if fork:
        import matplotlib.backends.backend_agg  # noqa: F401  (imported once here, not in every process)
        import matplotlib.dates  # noqa: F401
        import matplotlib.figure  # noqa: F401
    ctx = mp.get_context("fork" if fork else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_job_init,
                             initargs=(data,)) as pool:
        out = []
        for k, png in enumerate(pool.map(_draw_job, jobs), start=1):
            out.append(png)
            if progress is not None:
                progress(k, total)
    return out


def draw_all(results_dir: str | Path, prices=None, max_events: int = 40, *, workers: int = 1,
             progress: Callable[[int, int], None] | None = None, cache_dir: str | Path | None | bool = None
             ) -> list[Path]:
    """(Re)draw every figure of a results folder from its verified CSVs; return the PNG paths.

    The new figures replace ``figures/`` as one unit, so figures drawn for an earlier run
    (windows or events no longer in the study) are removed. ``figures/figures.json`` records the
    run id they were drawn from, what each shows and its SHA-256; the report embeds only figures
    of the folder's current run id. Per-event charts need prices: the source named in
    ``manifest.json`` is used unless ``prices`` is given; at most ``max_events`` are drawn
    (studied events, in file order), and each ticker's bars are read once. Charts that cannot be
    drawn are listed under ``notes``.

    Drawing uses plain ``Figure`` objects (one per chart kind, reused), never pyplot: global
    matplotlib state is left alone. ``workers > 1`` draws in that many processes (same PNG bytes);
    ``progress(done, total)`` is called after each figure.

    Only what changed is drawn: each figure's PNG is kept in a content-addressed cache
    (:class:`FigureCache`; ``cache_dir=None`` the user cache folder, a path, or ``False`` for none)
    under a key of everything it is drawn from (:func:`figure_key`), so an unchanged figure (the same
    event chart after re-running with other windows, or ``plot`` run twice) is copied, never stale.
    """
    from ._errors import EventStudyError
    from .export import read_results, write_figure_set
    from .results import group_labels

    res = read_results(results_dir)
    d = Path(results_dir)
    man = res.manifest
    aar, car, ev = res.aar, res.car, res.events.copy()
    index: list[dict] = []
    jobs: list[tuple] = []
    notes: list[str] = []

    def add(job, name, **what):
        jobs.append(job)
        index.append({"file": name, **what})

    add(("caar", None), "caar.png", kind="caar")
    if "vol_mean_abvol" in aar:
        add(("abnormal_volume", None), "abnormal_volume.png", kind="abnormal_volume")
    ev["_group"] = group_labels(ev, man.get("options", {}).get("group_by", "event_type"))
    for w in car["window"].unique():
        add(("car_distribution", w), f"car_distribution_{_safe(w)}.png", kind="car_distribution", window=w)
    ok = ev[ev["status"] == "ok"].head(max_events)
    bars: dict[str, pd.DataFrame] = {}
    bench = None
    if len(ok):
        from .sources import open_source, reopen_spec

        spec = prices or man.get("inputs", {}).get("prices") or reopen_spec(man.get("data", {}).get("source"))
        src = None
        if spec is None:   # never a guessed source: charts of other prices would be wrong charts
            notes.append("no per-event charts: the results do not name a price source that can be reopened "
                         "(pass --prices / prices=)")
        else:
            try:
                src = open_source(spec)
            except EventStudyError as exc:
                notes.append(f"no per-event charts: price source {spec!r}: {exc}")
        bench_name = man.get("options", {}).get("benchmark")
        if src is not None and bench_name and bench_name != "FF-MKT":
            try:
                bench = src.bars(bench_name)
            except EventStudyError as exc:
                notes.append(f"per-event charts without benchmark {bench_name}: {exc}")
        failed: dict[str, EventStudyError] = {}
        for (row, e), name in zip(ok.iterrows(), _event_file_names(ok["event_id"].tolist())):
            if src is None:
                break
            t = e["ticker"]
            if t not in bars and t not in failed:
                try:
                    bars[t] = src.bars(t)
                except EventStudyError as exc:
                    failed[t] = exc
            if t in failed:
                notes.append(f"no chart for event {e['event_id']}: {failed[t]}")
                continue
            add(("event", row), name, kind="event", event_id=e["event_id"])
    data = {"aar": aar, "car": car, "events": ev, "bars": bars, "bench": bench}
    cache = FigureCache(cache_dir) if cache_dir is not False else None
    keys = [figure_key(job, data) for job in jobs] if cache is not None else [None] * len(jobs)
    cached = [cache.get(k) if cache is not None else None for k in keys]
    todo = [k for k, png in enumerate(cached) if png is None]
    drawn = _draw_jobs([jobs[k] for k in todo], data, workers, progress)
    for k, png in zip(todo, drawn):
        cached[k] = png
        if cache is not None:
            cache.put(keys[k], png)
    if cache is not None and len(todo) < len(jobs):
        notes.append(f"{len(jobs) - len(todo)} of {len(jobs)} figures unchanged since they were last drawn: taken "
                     f"from the figure cache ({cache.dir})")
    pngs = dict(zip((f["file"] for f in index), cached))
    figdir = d / "figures"
    write_figure_set(figdir, pngs, {"run_id": res.run_id, "prices": str(prices or ""), "figures": index,
                                    "notes": notes})
    return [figdir / f["file"] for f in index]
