"""Execute every notebook top to bottom with nbclient (offline, bundled data). Deselect locally with
``-m "not notebooks"``; CI runs it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

#: a code cell that draws: calls a plot function (``plots.plot_caar``, ``plot_bhar_paths``…) or ``res.plot``
CHART = re.compile(r"(?<![\w.])(?:plots\.)?plot_\w+\(|\.plot\(")
NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    assert not any(o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])), \
        "commit notebooks without outputs"
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    charts = [c for c in nb.cells if c.cell_type == "code" and CHART.search(c.source)]
    assert charts, "every notebook draws at least one chart"
    blank = [c.source.splitlines()[0] for c in charts
             if not any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert not blank, f"chart cells without an image output: {blank}"


def test_chart_cells_are_recognised():
    assert CHART.search("ax = plots.plot_caar(res.aar)") and CHART.search('ax = res.plot("caar")')
    assert CHART.search("ax = plot_bhar_paths(fda.path_table())")
    assert not CHART.search("res.caar[[\"n\"]]") and not CHART.search("from eventstudy import plots")


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_seed_events.ipynb", "02_ibrx_squeeze.ipynb", "03_fda_decisions.ipynb",
                                          "04_long_horizon.ipynb"]
