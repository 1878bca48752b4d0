"""The long-horizon section of the HTML report, built from a folder written by ``eventstudy longrun``.

:func:`longrun_section` returns one self-contained HTML fragment (tables, embedded PNG figures); the
report calls it when the folder holds ``longrun_summary.csv``. Reads only the saved CSVs."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd


def _cell(v, fmt: str = ".2f", scale: float = 1.0, p: float | None = None) -> str:
    from .results import stars

    try:
        x = float(v)
    except (TypeError, ValueError):
        return f"<td>{html.escape(str(v))}</td>"
    if not np.isfinite(x):
        return "<td class=num>n/a</td>"
    star = stars(float(p)) if p is not None and np.isfinite(float(p)) else ""
    return f"<td class=num>{scale * x:{fmt}}{star}</td>"


def _table(frame: pd.DataFrame, columns: list[tuple[str, str, str, float, str | None]]) -> str:
    """``columns``: (header, column, format, scale, p-value column or None)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h, *_ in columns)
    rows = []
    for _, r in frame.iterrows():
        cells = []
        for _, col, fmt, scale, pcol in columns:
            if fmt == "text":
                cells.append(f"<td>{html.escape(str(r[col]))}</td>")
            else:
                cells.append(_cell(r[col], fmt, scale, r[pcol] if pcol else None))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


BHAR_COLUMNS = [("group", "group", "text", 1, None), ("horizon", "horizon", "text", 1, None),
                ("benchmark", "benchmark", "text", 1, None), ("n", "n", ".0f", 1, None),
                ("mean BHAR %", "mean_bhar", ".2f", 100, None), ("median %", "median_bhar", ".2f", 100, None),
                ("t_cs", "t_cs", ".2f", 1, "p_cs"), ("t_sa", "t_sa", ".2f", 1, "p_sa"),
                ("boot p", "p_sa_boot", ".3f", 1, None), ("Wilcoxon z", "wilcoxon_z", ".2f", 1, "p_wilcoxon"),
                ("delisted", "n_delisted", ".0f", 1, None), ("incomplete", "n_incomplete", ".0f", 1, None)]
ALPHA_COLUMNS = [("group", "group", "text", 1, None), ("horizon", "horizon", "text", 1, None),
                 ("model", "model", "text", 1, None), ("periods", "n_periods", ".0f", 1, None),
                 ("mean size", "mean_size", ".1f", 1, None), ("alpha %", "alpha", ".4f", 100, None),
                 ("annualised %", "alpha_ann", ".2f", 100, None), ("t", "t_classical", ".2f", 1, "p_classical"),
                 ("t Newey–West", "t_nw", ".2f", 1, "p_nw")]


def longrun_section(results_dir: str | Path) -> str:
    """HTML fragment: BHAR tests per group, calendar-time alphas, mean-BHAR-path figures (embedded)."""
    d = Path(results_dir)
    parts = ["<h2>Long-horizon returns</h2>",
             "<p>Buy-and-hold abnormal returns per group, horizon and benchmark: t_cs cross-sectional t; t_sa "
             "skewness-adjusted t and its bootstrap p (Lyon, Barber &amp; Tsai 1999); Wilcoxon signed rank. "
             "*** p&lt;0.01 ** p&lt;0.05 * p&lt;0.10. Formulas in docs/statistics.md.</p>"]
    summary = pd.read_csv(d / "longrun_summary.csv", keep_default_na=False, na_values=[""])
    parts.append(_table(summary, BHAR_COLUMNS))
    alpha = d / "calendar_time_alpha.csv"
    if alpha.is_file():
        a = pd.read_csv(alpha, keep_default_na=False, na_values=[""])
        parts += [f"<h3>Calendar-time portfolios ({html.escape(str(a['frequency'].iloc[0]) if len(a) else '')})</h3>",
                  _table(a, ALPHA_COLUMNS)]
    for png in sorted((d / "figures").glob("bhar_paths_*.png")):
        data = base64.b64encode(png.read_bytes()).decode()
        parts.append(f"<img alt='{html.escape(png.stem)}' src='data:image/png;base64,{data}'>")
    return "\n".join(parts)
