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
