"""Figures from result frames. Each function draws on an optional ``ax`` and returns it.

Drawing never changes global matplotlib state (styles apply inside ``rc_context``) and never
calls ``plt.show()``. :func:`draw_all` re-creates every PNG of a results folder from its CSVs.

CAAR confidence band: with :math:`se_t = AAR_t / t_{cs,t}` the cross-sectional standard error
of each day's AAR, the band is :math:`CAAR_t \\pm z_{0.975}\\sqrt{\\sum_{s\\le t} se_s^2}`
(days treated as independent, as in the cross-sectional test).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

STYLE = {"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9, "legend.fontsize": 8, "legend.frameon": False}


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return matplotlib, plt


def _ax(ax, size=(9, 4)):
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
    mpl, _ = _mpl()
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
    mpl, _ = _mpl()
    d = car[car["window"] == window].merge(events[["event_id", group_col]], on="event_id")
    with mpl.rc_context(STYLE):
        ax = _ax(ax, (7, 0.5 + 0.45 * max(d[group_col].nunique(), 2)))
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


def plot_abnormal_volume(aar: pd.DataFrame, groups: list[str] | None = None, ax=None):
    """Mean abnormal log volume per event type by relative day."""
    mpl, _ = _mpl()
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
    mpl, _ = _mpl()
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


def draw_all(results_dir: str | Path, prices=None, max_events: int = 40) -> list[Path]:
    """(Re)draw every figure of a results folder from its verified CSVs; return the PNG paths.

    The new figures replace ``figures/`` as one unit, so figures drawn for an earlier run
    (windows or events no longer in the study) are removed. ``figures/figures.json`` records the
    run id they were drawn from, what each shows and its SHA-256; the report embeds only figures
    of the folder's current run id. Per-event charts need prices: the source named in
    ``manifest.json`` is used unless ``prices`` is given; at most ``max_events`` are drawn
    (studied events, in file order). Charts that cannot be drawn are listed under ``notes``.
    """
    _, plt = _mpl()
    import io

    from ._errors import EventStudyError
    from .export import read_results, write_figure_set
    from .results import group_labels

    res = read_results(results_dir)
    d = Path(results_dir)
    man = res.manifest
    aar, car, ev = res.aar, res.car, res.events.copy()
    pngs: dict[str, bytes] = {}
    index: list[dict] = []
    notes: list[str] = []

    def save(ax, name, **what):
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png")
        plt.close(ax.figure)
        pngs[name] = buf.getvalue()
        index.append({"file": name, **what})

    save(plot_caar(aar), "caar.png", kind="caar")
    if "vol_mean_abvol" in aar:
        save(plot_abnormal_volume(aar), "abnormal_volume.png", kind="abnormal_volume")
    ev["_group"] = group_labels(ev, man.get("options", {}).get("group_by", "event_type"))
    for w in car["window"].unique():
        save(plot_car_distribution(car, ev, w, group_col="_group"), f"car_distribution_{_safe(w)}.png",
             kind="car_distribution", window=w)
    ok = ev[ev["status"] == "ok"].head(max_events)
    if len(ok):
        from .sources import open_source

        spec = prices or man.get("inputs", {}).get("prices") or "bundled"
        src = bench = None
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
        for (_, e), name in zip(ok.iterrows(), _event_file_names(ok["event_id"].tolist())):
            if src is None:
                break
            try:
                bars = src.bars(e["ticker"])
            except EventStudyError as exc:
                notes.append(f"no chart for event {e['event_id']}: {exc}")
                continue
            save(plot_event(bars, bench, e), name, kind="event", event_id=e["event_id"])
    figdir = d / "figures"
    write_figure_set(figdir, pngs, {"run_id": res.run_id, "prices": str(prices or ""), "figures": index,
                                    "notes": notes})
    return [figdir / f["file"] for f in index]
