"""The HTML report: self-contained, with tables, embedded figures and the events not studied."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from eventstudy.cli import app


def test_report_is_self_contained_and_complete(tmp_path):
    out = tmp_path / "demo"
    assert CliRunner().invoke(app, ["demo", "--out", str(out), "-q"]).exit_code == 0
    r = CliRunner().invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert html.startswith("<!doctype html>")
    # no external resource: every image is embedded
    assert not re.search(r"(src|href)=['\"]https?:", html)
    assert len(re.findall(r"src='data:image/png;base64,", html)) >= 6
    # per-type table with stars, studied events, and every event that could not be studied with its reason
    assert "kp_bmp_t" in html and "ALL" in html
    assert "SEED-20251031-MTSR-1" in html and "after the last price of MTSR (2025-09-29)" in html
    assert html.count("<td>unmapped</td>") == 6
    # settings and provenance
    assert "bundled:seed" in html and "estimation" in html
    # headline text is escaped, not interpreted
    assert "<script" not in html


def test_report_needs_a_results_folder(tmp_path):
    r = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert r.exit_code == 1 and "manifest.json" in r.output
