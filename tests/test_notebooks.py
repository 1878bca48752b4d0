"""Execute every notebook top to bottom with nbclient (offline, bundled data). Deselect locally with
``-m "not notebooks"``; CI runs it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

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


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_seed_events.ipynb", "02_ibrx_squeeze.ipynb", "03_fda_decisions.ipynb",
                                          "04_long_horizon.ipynb"]
