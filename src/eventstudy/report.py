"""One self-contained HTML report for a results folder: settings, provenance, per-type tables
with statistics and stars, the figures (embedded PNG), and every event that could not be studied.

It reads only the saved files, checked against manifest.json (:func:`eventstudy.export.read_results`),
so it can be rebuilt at any time with ``eventstudy report RESULTS_DIR``. Figures are embedded only
when ``figures/figures.json`` names the folder's run id and every PNG still has its recorded hash;
figures of another run are left out (the report says so: run ``eventstudy plot``), and a folder
without figures gets them drawn first. No external resource is referenced: the file opens offline.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .results import stars

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;color:#222}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{padding:3px 8px;border-bottom:1px solid #eee}
th{background:#f5f5f5;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.neg{color:#b00}.pos{color:#060}.muted{color:#777;font-size:.85em}img{max-width:100%;margin:.5em 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1em}
"""
MAIN_STATS = [("t_cs", "p_cs"), ("bmp_t", "p_bmp"), ("kp_bmp_t", "p_kp_bmp"), ("grank_t", "p_grank"),
              ("gsign_z", "p_gsign"), ("patell_z", "p_patell"), ("corrado_t", "p_corrado")]


def _e(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x))


def _pct(v: float) -> str:
    if not np.isfinite(v):
        return "<td class=num>n/a</td>"
    cls = "neg" if v < 0 else "pos"
    return f"<td class='num {cls}'>{100 * v:.2f}</td>"


def _stat(v: float, p: float) -> str:
    return f"<td class=num>{v:.2f}{stars(p)}</td>" if np.isfinite(v) else "<td class=num>n/a</td>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def summary_table(summary: pd.DataFrame) -> str:
    head = "".join(f"<th>{h}</th>" for h in ["group", "window", "n", "CAAR %", "median %", "pos. share"]
                   + [s for s, _ in MAIN_STATS] + ["boot 95 % (%)", "vol CAV", "vol spikes"])
    rows = []
    for _, r in summary.iterrows():
        boot = (f"{100 * r['boot_lo']:.1f} … {100 * r['boot_hi']:.1f}" if np.isfinite(r.get("boot_lo", np.nan))
                else "n/a")
        rows.append("<tr>" + f"<td>{_e(r['event_type'])}</td><td>{_e(r['window'])}</td><td class=num>{int(r['n'])}</td>"
                    + _pct(r["mean_car"]) + _pct(r["median_car"])
                    + (f"<td class=num>{r['pos_share']:.2f}</td>" if np.isfinite(r["pos_share"]) else "<td>n/a</td>")
                    + "".join(_stat(r[s], r[p]) for s, p in MAIN_STATS)
                    + f"<td class=num>{boot}</td>"
                    + (f"<td class=num>{r['vol_mean_cav']:.2f}</td>" if np.isfinite(r.get("vol_mean_cav", np.nan))
                       else "<td class=num>n/a</td>")
                    + (f"<td class=num>{r['vol_spike_share']:.2f}</td>"
                       if np.isfinite(r.get("vol_spike_share", np.nan)) else "<td class=num>n/a</td>") + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def events_table(ev: pd.DataFrame, car: pd.DataFrame) -> str:
    wide = car.pivot(index="event_id", columns="window", values="car")
    ok = ev[ev["status"] == "ok"].set_index("event_id")
    head = ["event", "ticker", "type", "day 0"] + [f"CAR {w} %" for w in wide.columns] + ["vol ×63", "data flags"]
    rows = []
    for eid, r in ok.iterrows():
        day0 = r["day0"].date() if isinstance(r["day0"], pd.Timestamp) else r["day0"]
        cells = [f"<td>{_e(eid)}</td><td>{_e(r['ticker'])}</td><td>{_e(r['event_type'])}</td><td>{_e(day0)}</td>"]
        cells += [_pct(wide.loc[eid, w]) if eid in wide.index else "<td>n/a</td>" for w in wide.columns]
        vr = r.get("vol_ratio_63", np.nan)
        cells.append(f"<td class=num>{vr:.1f}</td>" if np.isfinite(vr) else "<td>n/a</td>")
        cells.append(f"<td class=muted>{_e(r['data_flags'])}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"


def write_report(results_dir: str | Path, out: str | Path | None = None,
                 on_note: Callable[[str], None] | None = None) -> Path:
    """Build ``report.html`` in ``results_dir`` (or ``out``: a file, or a folder to hold report.html)
    and return its path. ``on_note`` receives what the user should know (figures left out and why)."""
    from ._io import atomic_write_text
    from .export import current_figures, read_results
    from .plots import draw_all

    d = Path(results_dir)
    res = read_results(d)
    man, ev, summary, car = res.manifest, res.events, res.summary, res.car
    figs, why = current_figures(res)
    if why == "missing":
        draw_all(d)
        figs, why = current_figures(res)
        index = d / "figures" / "figures.json"
        for n in json.loads(index.read_text(encoding="utf-8")).get("notes", []) if index.is_file() else []:
            if on_note is not None:
                on_note(n)
    fig_note = ""
    if why:
        fig_note = (f"<p class=muted>Figures not shown: {_e(why)}. Run <code>eventstudy plot {_e(d)}</code> "
                    "to draw them from these results, then the report again.</p>")
        if on_note is not None:
            on_note(f"figures not embedded: {why}; run `eventstudy plot {d}` and the report again")
    opts = man.get("options", {})
    src = man.get("data", {}).get("source", {})
    settings = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in opts.items())
    prov = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in src.items() if not isinstance(v, dict))
    prov += f"<tr><th>prices sha256</th><td class=muted>{_e(man.get('data', {}).get('price_sha256'))}</td></tr>"
    if "factors" in man.get("data", {}):
        f = man["data"]["factors"]
        prov += f"<tr><th>factors</th><td>Ken French daily, {f['first']} … {f['last']}</td></tr>"
    out_rows = ev[(ev["status"] == "ok") & (ev.get("stats_reason", pd.Series("", index=ev.index)).astype(str) != "")]
    out_html = "".join(f"<tr><td>{_e(r['event_id'])}</td><td>{_e(r['ticker'])}</td><td>{_e(r['stats_reason'])}</td>"
                       "</tr>" for _, r in out_rows.iterrows())
    if "factors" in man.get("data", {}) and man["data"]["factors"].get("units"):
        prov += f"<tr><th>factor units</th><td>{_e(man['data']['factors']['units'])}</td></tr>"
    longrun = ""
    if (d / "longrun_summary.csv").is_file():
        from .longrun_report import longrun_section

        longrun = longrun_section(d)
    bad = ev[ev["status"] != "ok"]
    bad_rows = "".join(f"<tr><td>{_e(r['event_id'])}</td><td>{_e(r['ticker'])}</td><td>{_e(r['status'])}</td>"
                       f"<td>{_e(r['reason'])}</td></tr>" for _, r in bad.iterrows())
    main = [f for k in ("caar", "abnormal_volume") for f in figs if f["kind"] == k]
    dist = [f for f in figs if f["kind"] == "car_distribution"]
    per_event = [f for f in figs if f["kind"] == "event"][:24]
    notes = "".join(f"<li>{_e(n)}</li>" for n in man.get("notes", []))
    body = f"""<!doctype html><html lang=en><head><meta charset=utf-8><meta name=eventstudy-run-id content="{_e(res.run_id)}">
<title>Event study: {_e(man.get('study'))}</title><style>{CSS}</style></head><body>
<h1>Event study: {_e(man.get('study'))}</h1>
<p class=muted>Run {_e(res.run_id)}, created {_e(man.get('created_utc'))} with eventstudy {_e(man.get('versions', {}).get('eventstudy'))}.
Events file: {_e(man.get('inputs', {}).get('events'))}. {int(man['data']['n_events'])} events,
{int(man['data']['n_ok'])} studied, {int(man['data']['n_in_stats'])} in the statistics.</p>
<ul>{notes}</ul>
<h2>Per-type results</h2>
<p class=muted>CAAR and median CAR in %; statistics with *** p&lt;0.01, ** p&lt;0.05, * p&lt;0.10 (two-sided).
t_cs cross-sectional t; bmp_t Boehmer–Musumeci–Poulsen; kp_bmp_t Kolari–Pynnönen adjusted for
cross-correlation; grank_t generalized rank; gsign_z generalized sign; patell_z Patell; corrado_t Corrado
rank. vol CAV: mean cumulative abnormal log volume; vol spikes: share of events with vol_z ≥ 3 in the
window. Definitions: docs/statistics.md.</p>
{summary_table(summary)}
<h2>Figures</h2>{fig_note}{''.join(_img(f["path"], f["path"].stem) for f in main)}
<div class=grid>{''.join(_img(f["path"], f["path"].stem) for f in dist)}</div>
<h2>Studied events</h2>{events_table(ev, car)}
<h2>Studied but not in the statistics ({len(out_rows)})</h2>
<p class=muted>Duplicates, excluded data flags, incomplete windows (with --require-complete) and the overlap rule.</p>
<table><tr><th>event</th><th>ticker</th><th>why</th></tr>{out_html}</table>
<h2>Events that could not be studied ({len(bad)})</h2>
<table><tr><th>event</th><th>ticker</th><th>status</th><th>reason</th></tr>{bad_rows}</table>{longrun}
<h2>Event charts</h2><div class=grid>{''.join(_img(f["path"], str(f["event_id"])) for f in per_event)}</div>
<h2>Settings</h2><table>{settings}</table>
<h2>Data provenance</h2><table>{prov}</table>
<p class=muted>Package versions: {_e(', '.join(f'{k} {v}' for k, v in man.get('versions', {}).items()))}</p>
</body></html>"""
    path = Path(out) if out else d / "report.html"
    if path.is_dir():
        path = path / "report.html"
    atomic_write_text(path, body)
    return path
