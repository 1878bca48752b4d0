"""One Excel workbook of a study: a sheet per table, frozen headers, number formats, text that is
never run as a formula.

The CSVs hold decimals (0.0123 = 1.23 %); in the workbook the same numbers are stored unchanged
and *shown* as percent where they are returns (cell format ``0.00%``), so a formula over a cell
gets the decimal. A sheet that would exceed Excel's row limit is not truncated: it is left out and
the ``about`` sheet says so (the CSV holds it).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import atomic_write_bytes

#: Excel's sheet limit is 1,048,576 rows including the header
MAX_ROWS = 1_048_575
#: columns whose values are returns or shares (stored as decimals, shown as percent)
PERCENT_COLUMNS = frozenset({
    "car", "car_se", "bhar", "ret", "expected", "ar", "ret_d0", "ar_d0", "sigma", "alpha", "mean_car", "median_car",
    "pos_share", "aar", "caar", "boot_lo", "boot_hi", "mean_bhar", "vol_spike_share", "car_from_start"})
PERCENT_PREFIXES = ("mean_", "median_")
P_PREFIXES = ("p_", "q_")
FORMATS = {"percent": "0.00%", "p": "0.0000", "stat": "0.00", "int": "0", "num": "0.000000", "date": "yyyy-mm-dd"}


def column_format(name: str, dtype) -> str | None:
    """The number format of a column, from its name and dtype (see :data:`PERCENT_COLUMNS`)."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return FORMATS["date"]
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    if pd.api.types.is_integer_dtype(dtype) or name in ("n", "n_days", "n_missing", "n_est", "rel_day", "vol_n"):
        return FORMATS["int"]
    if name in PERCENT_COLUMNS or (name.startswith(PERCENT_PREFIXES) and "cav" not in name and "vol" not in name):
        return FORMATS["percent"]
    if name.startswith(P_PREFIXES):
        return FORMATS["p"]
    if name.endswith(("_t", "_z", "_w")) or name.startswith("t_") or name in ("rbar",):
        return FORMATS["stat"]
    return FORMATS["num"]


def _cells(ws, frame: pd.DataFrame):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)
    header = []
    for c in frame.columns:
        cell = WriteOnlyCell(ws, value=str(c))
        cell.font = bold
        header.append(cell)
    yield header
    formats = [column_format(str(c), frame[c].dtype) for c in frame.columns]
    cols = []
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            cols.append([None if pd.isna(v) else v.to_pydatetime() for v in s])
        elif pd.api.types.is_bool_dtype(s):
            cols.append(s.tolist())
        elif pd.api.types.is_numeric_dtype(s):
            a = s.to_numpy(dtype=float)
            cols.append([None if not np.isfinite(v) else v for v in a.tolist()])
        else:
            cols.append(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in s.tolist()])
    for row in zip(*cols):
        out = []
        for v, fmt in zip(row, formats):
            cell = WriteOnlyCell(ws, value=v)
            if isinstance(v, str):
                cell.data_type = "s"   # a literal string: '=1+1' stays text, never a formula
            elif fmt and v is not None:
                cell.number_format = fmt
            out.append(cell)
        yield out


def write_excel(frames: dict[str, pd.DataFrame], path: str | Path, about: dict[str, str] | None = None) -> Path:
    """Write ``frames`` (sheet name → table) into one workbook at ``path``, atomically.

    Every sheet has a bold, frozen header row and the first column frozen; returns are shown as
    percent; dates as ISO dates. An ``about`` sheet lists ``about`` (settings, units) and any table
    left out for size.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    skipped = []
    for name, frame in frames.items():
        if len(frame) > MAX_ROWS:
            skipped.append(f"{name}: {len(frame):,} rows, more than an Excel sheet holds; see {name}.csv")
            continue
        ws = wb.create_sheet(title=name[:31])
        ws.freeze_panes = "B2"
        for c, col in enumerate(frame.columns, start=1):
            from openpyxl.utils import get_column_letter

            width = min(max(len(str(col)), 10) + 2, 60)
            ws.column_dimensions[get_column_letter(c)].width = width
        for row in _cells(ws, frame):
            ws.append(row)
    info = dict(about or {})
    info["units"] = ("returns are stored as decimals (0.0123) and shown as percent (1.23 %); t, z and p as numbers; "
                     "volume measures in log points or ratios as their column docs say")
    for k, line in enumerate(skipped):
        info[f"left out ({k + 1})"] = line
    ws = wb.create_sheet(title="about")
    ws.append(["item", "value"])
    for k, v in info.items():
        from openpyxl.cell import WriteOnlyCell

        key, val = WriteOnlyCell(ws, value=str(k)), WriteOnlyCell(ws, value=str(v))
        key.data_type = val.data_type = "s"
        ws.append([key, val])
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def results_frames(res) -> dict[str, pd.DataFrame]:
    """The tables of a results object, columns as in the CSVs."""
    from .export import EVENTS_COLUMNS_FIRST

    ev = res.events
    first = [c for c in EVENTS_COLUMNS_FIRST if c in ev.columns]
    ev = ev[first + [c for c in ev.columns if c not in first]]
    return {"summary": res.caar, "events": ev, "car": res.car, "aar": res.aar, "ar": res.ar, "volume": res.volume}
