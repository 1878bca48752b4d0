"""Figures: the CAAR band by hand; smoke test that `eventstudy plot` redraws everything from CSVs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from eventstudy.cli import app
from eventstudy.plots import caar_band


def test_caar_band_by_hand():
    aar = pd.DataFrame({"rel_day": [0, 1, 2], "n": [10, 10, 10], "aar": [0.02, -0.01, 0.005],
                        "caar": [0.02, 0.01, 0.015], "t_cs": [2.0, -0.5, 0.25]})
    b = caar_band(aar)
    se = np.array([0.01, 0.02, 0.02])                       # |aar / t|
    half = 1.959963984540054 * np.sqrt(np.cumsum(se**2))
    np.testing.assert_allclose(b["lo"], aar["caar"] - half, rtol=1e-12)
    np.testing.assert_allclose(b["hi"], aar["caar"] + half, rtol=1e-12)


def test_plot_command_draws_every_figure(tmp_path):
    out = tmp_path / "demo"
    assert CliRunner().invoke(app, ["demo", "--out", str(out), "-q"]).exit_code == 0
    r = CliRunner().invoke(app, ["plot", str(out), "--max-events", "3"])
    assert r.exit_code == 0, r.output
    figs = sorted(p.relative_to(out / "figures").as_posix() for p in (out / "figures").rglob("*.png"))
    assert {"caar.png", "abnormal_volume.png", "car_distribution_-1_1.png", "car_distribution_0_5.png"} <= set(figs)
    assert len([f for f in figs if f.startswith("events/")]) == 3
    for f in (out / "figures").rglob("*.png"):
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 5000


def test_plot_on_a_folder_without_results_is_exit_1(tmp_path):
    r = CliRunner().invoke(app, ["plot", str(tmp_path)])
    first, *rest = r.output.strip().splitlines()
    assert r.exit_code == 1 and first.startswith("error: ") and "no manifest.json" in first
    assert all(ln.startswith("hint: ") for ln in rest)


def test_group_labels_shared_by_statistics_and_plots():
    from eventstudy.results import group_labels

    ev = pd.DataFrame({"event_type": ["fda_decision", "fda_decision", "m_and_a"], "subtype": ["crl", "", "approval"]})
    assert group_labels(ev).tolist() == ["fda_decision", "fda_decision", "m_and_a"]
    assert group_labels(ev, "subtype").tolist() == ["crl", "(none)", "approval"]
    assert group_labels(ev, "type_subtype").tolist() == ["fda_decision/crl", "fda_decision/(none)", "m_and_a/approval"]
