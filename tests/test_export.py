"""Exports: Excel-safe text, ISO dates, atomic writes."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from eventstudy import _io


@pytest.mark.parametrize("cell,expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1+1", "'+1+1"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("-1:1", "-1:1"), ("-5:20", "-5:20"), ("-0.5", "-0.5"),
    ("FDA approves", "FDA approves"), ("", ""),
])
def test_neutralize_text(cell, expected):
    assert _io.neutralize_text(cell) == expected


def test_write_csv_is_excel_safe_with_iso_dates(tmp_path):
    df = pd.DataFrame({"d": pd.to_datetime(["2026-01-21", None]), "h": ["=1+1", "ok"], "x": [-1.5, 2.0]})
    p = tmp_path / "x.csv"
    _io.write_csv(df, p)
    assert p.read_text() == "d,h,x\n2026-01-21,'=1+1,-1.5\n,ok,2\n"


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "f.txt"
    _io.atomic_write_text(p, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        _io.atomic_write_text(p, "new")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["f.txt"]   # no temp file left behind


def test_atomic_write_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _io.atomic_write_text(tmp_path / "f.csv", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.csv").stat().st_mode & 0o777 == 0o644


def test_read_table_keeps_ids_and_user_columns_as_text():
    from eventstudy.export import read_table

    data = (b"event_id,ticker,event_date,day0,in_stats,beta,n_est,pubmed,notes\n"
            b"001,NA,2026-01-02,2026-01-05,True,1.5,120,007,null\n"
            b"1e3,,2026-01-03,,False,,0,NA,\n")
    ev = read_table(data, "events.csv")
    assert ev["event_id"].tolist() == ["001", "1e3"] and ev["ticker"].tolist() == ["NA", ""]
    assert ev["pubmed"].tolist() == ["007", "NA"] and ev["notes"].tolist() == ["null", ""]
    assert ev["in_stats"].tolist() == [True, False] and ev["day0"].isna().tolist() == [False, True]
    assert ev["beta"].iloc[0] == 1.5 and pd.isna(ev["beta"].iloc[1]) and ev["n_est"].tolist() == [120, 0]
    car = read_table(b"event_id,window,car\n1,-1:1,0.25\nnull,0:0,\n", "car.csv")
    assert car["event_id"].tolist() == ["1", "null"] and car["window"].tolist() == ["-1:1", "0:0"]
    assert car["car"].iloc[0] == 0.25 and pd.isna(car["car"].iloc[1])
