"""results.xlsx: a sheet per table, frozen headers, percent formats on returns, literal text, no
truncation. Real bundled prices (seed events)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

openpyxl = pytest.importorskip("openpyxl")

import eventstudy as es
from eventstudy import excel


@pytest.fixture(scope="module")
def res(root):
    ev = es.load_events(root / "events" / "seed_events.csv")
    ev.loc[0, "headline"] = "=HYPERLINK(\"http://x\")"
    return es.run_study(ev, "bundled", windows=("-1:1", "0:5"))


def test_workbook_sheets_formats_and_values(res, tmp_path):
    path = excel.write_excel(excel.results_frames(res), tmp_path / "results.xlsx", {"model": "market"})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["summary", "events", "car", "aar", "ar", "volume", "about"]
    car = wb["car"]
    assert car.freeze_panes == "B2"
    header = [c.value for c in car[1]]
    assert header == list(res.car.columns)
    col = header.index("car") + 1
    cell = car.cell(row=2, column=col)
    assert cell.number_format == "0.00%"
    assert cell.value == pytest.approx(res.car["car"].iloc[0], abs=0)       # stored as the decimal itself
    assert car.cell(row=2, column=header.index("n_days") + 1).number_format == "0"
    summ = wb["summary"]
    sh = [c.value for c in summ[1]]
    assert summ.cell(row=2, column=sh.index("p_cs") + 1).number_format == "0.0000"
    assert summ.cell(row=2, column=sh.index("t_cs") + 1).number_format == "0.00"
    ev = wb["events"]
    eh = [c.value for c in ev[1]]
    head = ev.cell(row=2, column=eh.index("headline") + 1)
    assert head.data_type == "s" and head.value.startswith("=HYPERLINK")     # text, never a formula
    d0 = ev.cell(row=2, column=eh.index("day0") + 1)
    assert isinstance(d0.value, dt.datetime) and d0.number_format == "yyyy-mm-dd"
    # NaN cells are empty, not the text "nan"
    bad = res.events.index[res.events["status"] != "ok"][0]
    assert ev.cell(row=bad + 2, column=eh.index("beta") + 1).value is None
    about = {r[0].value: r[1].value for r in wb["about"].iter_rows(min_row=2)}
    assert about["model"] == "market" and "percent" in about["units"]


def test_too_large_sheet_is_left_out_and_said(res, tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "MAX_ROWS", 10)
    path = excel.write_excel({"car": res.car, "summary": res.caar.head(3)}, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert "car" not in wb.sheetnames and "summary" in wb.sheetnames
    about = [r[1].value for r in wb["about"].iter_rows(min_row=2)]
    assert any("car:" in v and "see car.csv" in v for v in about)


def test_column_formats():
    f = excel.column_format
    assert f("mean_car", np.dtype(float)) == "0.00%" and f("vol_mean_cav", np.dtype(float)) == "0.000000"
    assert f("p_wilcoxon", np.dtype(float)) == "0.0000" and f("kp_bmp_t", np.dtype(float)) == "0.00"
    assert f("headline", np.dtype(object)) is None and f("in_stats", np.dtype(bool)) is None
    assert f("day0", pd.Series(pd.to_datetime(["2026-01-02"])).dtype) == "yyyy-mm-dd"
