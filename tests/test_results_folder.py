"""A results folder is one unit: swapped in whole, verified on reading, figures tied to their run,
ids kept as text, and the same inputs give the same bytes (issue 8, sections 4, 8, 9, 14, 15)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy import _io, run_study
from eventstudy._errors import ResultsFolderError
from eventstudy.cli import app
from eventstudy.export import read_results, result_tables, write_folder

runner = CliRunner()
TABLES = ("events.csv", "ar.csv", "car.csv", "summary.csv", "aar.csv", "volume.csv")


@pytest.fixture(scope="module")
def seed(root, tmp_path_factory) -> Path:
    """The seed events of IBRX and GMAB (7 studied) and the 6 without a ticker: few charts to draw."""
    ev = pd.read_csv(root / "events" / "seed_events.csv", dtype=str, keep_default_na=False)
    path = tmp_path_factory.mktemp("events") / "seed_small.csv"
    ev[ev["ticker"].isin(["IBRX", "GMAB", ""])].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def full_seed(root) -> Path:
    return root / "events" / "seed_events.csv"


def _run(seed: Path, out: Path, *args: str):
    r = runner.invoke(app, ["run", str(seed), "--out", str(out), "-q", *args])
    assert r.exit_code == 0, r.output
    return r


def _one_line_error(r, *needles: str, codes: tuple[int, ...] = (1,)) -> None:
    """One ``error:`` line (the needles in it); besides it only ``hint:`` and ``note:`` lines, no traceback."""
    assert r.exit_code in codes, r.output
    lines = r.output.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and all(ln.startswith(("error: ", "hint: ", "note: ")) for ln in lines), r.output
    for n in needles:
        assert n in errors[0], r.output


def _hidden_siblings(out: Path) -> list[str]:
    return sorted(n for n in os.listdir(out.parent) if n.startswith(f".{out.name}."))


# ---- section 4: figures always belong to the current results -----------------------------------------
def test_rerun_with_other_windows_leaves_no_figure_of_the_old_run(tmp_path, seed):
    out = tmp_path / "study"
    _run(seed, out, "--window", "-1:1", "--window", "0:5")
    assert runner.invoke(app, ["plot", str(out), "--max-events", "4"]).exit_code == 0
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    assert (out / "figures" / "car_distribution_0_5.png").is_file()

    # the same folder, other windows and fewer events: nothing of the first run may survive
    fewer = tmp_path / "fewer.csv"
    ev = pd.read_csv(seed, dtype=str, keep_default_na=False)
    ev[ev["ticker"] == "IBRX"].to_csv(fewer, index=False)
    assert (ev["ticker"] == "GMAB").any()
    _run(fewer, out, "--window", "0:0")
    assert not (out / "figures").exists() and not (out / "report.html").exists()
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    run_id = json.loads((out / "manifest.json").read_text())["run_id"]
    assert f'content="{run_id}"' in html
    assert "car_distribution_0_0" in html
    assert "car_distribution_-1_1" not in html and "car_distribution_0_5" not in html
    charts = {p.stem for p in (out / "figures" / "events").glob("*.png")}
    assert len(charts) == 6 and all("IBRX" in c for c in charts)    # only events of the current run
    assert json.loads((out / "figures" / "figures.json").read_text())["run_id"] == run_id


def test_plot_removes_the_figures_it_drew_before(tmp_path, seed):
    out = tmp_path / "study"
    _run(seed, out)
    assert runner.invoke(app, ["plot", str(out), "--max-events", "5"]).exit_code == 0
    assert len(list((out / "figures" / "events").glob("*.png"))) == 5
    (out / "figures" / "events" / "stray.png").write_bytes(b"\x89PNG old")
    r = runner.invoke(app, ["plot", str(out), "--max-events", "2"])
    assert r.exit_code == 0, r.output
    assert len(list((out / "figures" / "events").glob("*.png"))) == 2
    index = json.loads((out / "figures" / "figures.json").read_text())
    assert sorted(f["file"] for f in index["figures"]) == sorted(
        p.relative_to(out / "figures").as_posix() for p in (out / "figures").rglob("*.png"))


def test_report_leaves_out_figures_of_another_run_and_says_so(tmp_path, seed):
    a, b = tmp_path / "a", tmp_path / "b"
    _run(seed, a, "--window", "0:5")
    _run(seed, b, "--window", "0:0")
    assert runner.invoke(app, ["plot", str(a), "--max-events", "2"]).exit_code == 0
    shutil.copytree(a / "figures", b / "figures")       # figures of run a in the folder of run b
    r = runner.invoke(app, ["report", str(b)])
    assert r.exit_code == 0, r.output
    assert "not from this run" in r.output and f"eventstudy plot {b}" in r.output
    html = (b / "report.html").read_text()
    assert "data:image/png" not in html and "Figures not shown" in html

    assert runner.invoke(app, ["plot", str(b), "--max-events", "2"]).exit_code == 0
    assert runner.invoke(app, ["report", str(b)]).exit_code == 0
    html = (b / "report.html").read_text()
    assert "Figures not shown" not in html and "car_distribution_0_0" in html and "car_distribution_0_5" not in html


def test_report_leaves_out_a_figure_changed_after_plot(tmp_path, seed):
    out = tmp_path / "s"
    _run(seed, out)
    assert runner.invoke(app, ["plot", str(out), "--max-events", "1"]).exit_code == 0
    shutil.copy(out / "figures" / "car_distribution_0_0.png", out / "figures" / "caar.png")
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0 and "caar.png is missing or was changed" in r.output


# ---- section 8: verified reading ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def made(tmp_path_factory, seed) -> tuple[Path, Path]:
    """Two complete runs of the seed events with other windows (read-only for the tests: copy them)."""
    base = tmp_path_factory.mktemp("runs")
    _run(seed, base / "a", "--window", "-1:1")
    _run(seed, base / "b", "--window", "0:0")
    return base / "a", base / "b"


@pytest.mark.parametrize("damage,needle", [
    (lambda d, o: (d / "car.csv").write_text((d / "car.csv").read_text() + "X,0:0,0,0,0.5\n"), "car.csv does not match"),
    (lambda d, o: (d / "events.csv").write_bytes((d / "events.csv").read_bytes()[:500]), "events.csv does not match"),
    (lambda d, o: shutil.copy(o / "summary.csv", d / "summary.csv"), "summary.csv does not match"),
    (lambda d, o: (d / "aar.csv").unlink(), "aar.csv is missing"),
    (lambda d, o: (d / "manifest.json").write_text((d / "manifest.json").read_text().replace('"XBI"', '"IBB"')),
     "manifest.json was edited"),
    (lambda d, o: (d / "manifest.json").write_text("{\"files\": [\"car.csv\"]}"), "lists no file hashes"),
    (lambda d, o: (d / "manifest.json").write_text("{not json"), "manifest.json is not valid JSON"),
])
@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_refuse_a_folder_that_does_not_match_its_manifest(tmp_path, made, damage, needle, command):
    d = tmp_path / "d"
    shutil.copytree(made[0], d)
    damage(d, made[1])
    r = runner.invoke(app, [command, str(d)])
    _one_line_error(r, needle)
    assert not (d / "report.html").exists() and not (d / "figures").exists()


def test_a_stray_table_of_another_run_is_refused(tmp_path, made):
    d = tmp_path / "d"
    shutil.copytree(made[0], d)
    m = json.loads((d / "manifest.json").read_text())
    assert "volume.csv" in m["files"]
    # a folder whose manifest does not list volume.csv but holds one: mixed
    del m["files"]["volume.csv"]
    from eventstudy.export import run_id

    m["run_id"] = run_id(m)
    (d / "manifest.json").write_text(json.dumps(m))
    _one_line_error(runner.invoke(app, ["report", str(d)]), "volume.csv is not part of this run")


def test_an_export_that_dies_midway_leaves_the_previous_run(tmp_path, made, seed, monkeypatch):
    out = tmp_path / "s"
    shutil.copytree(made[0], out)
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}
    res = run_study(seed, "bundled", windows=("0:5",))
    calls = []

    def dying(frame, float_format="%.10g"):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt       # Ctrl-C after events.csv and ar.csv were written
        return real(frame, float_format)

    real = _io.csv_bytes
    monkeypatch.setattr("eventstudy.export.csv_bytes", dying)
    with pytest.raises(KeyboardInterrupt):
        res.to_csv(out)
    assert {f: (out / f).read_bytes() for f in os.listdir(out)} == before
    assert _hidden_siblings(out) == []
    assert read_results(out).manifest["options"]["windows"] == ["-1:1"]


def test_disk_full_is_one_line_and_leaves_the_previous_run(tmp_path, made, seed, monkeypatch):
    out = tmp_path / "s"
    shutil.copytree(made[0], out)
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}

    def full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("eventstudy.export.write_new_file", full)
    r = runner.invoke(app, ["run", str(seed), "--out", str(out), "-q", "--window", "0:5"])
    _one_line_error(r, "No space left on device", str(out))
    assert {f: (out / f).read_bytes() for f in os.listdir(out)} == before
    assert _hidden_siblings(out) == []


# ---- section 14 (outputs): --out that cannot be used ---------------------------------------------------
def test_out_on_a_file_is_one_line(tmp_path, seed):
    f = tmp_path / "file.csv"
    f.write_text("x\n")
    res = run_study(seed, "bundled", windows=("0:0",))
    for out in (f, f / "sub"):
        with pytest.raises(ResultsFolderError, match="is a file, not a folder"):
            res.to_csv(out)
        # the command line may refuse it before the study (usage, exit 2) or when writing (exit 1)
        _one_line_error(runner.invoke(app, ["run", str(seed), "--out", str(out), "-q"]), "is a file",
                        codes=(1, 2))
    assert f.read_text() == "x\n" and os.listdir(tmp_path) == ["file.csv"]


def test_out_on_a_read_only_folder_is_one_line(tmp_path, seed, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    if os.geteuid() != 0:      # a real read-only folder; root ignores permissions, so simulate access() there
        ro.chmod(0o555)
    else:
        monkeypatch.setattr(os, "access", lambda p, mode, **k: (False if Path(p) == ro and mode & os.W_OK
                                                                  else real(p, mode, **k)))
    res = run_study(seed, "bundled", windows=("0:0",))
    try:
        for out in (ro / "s", ro):
            with pytest.raises(ResultsFolderError, match="read-only"):
                res.to_csv(out)
            _one_line_error(runner.invoke(app, ["run", str(seed), "--out", str(out), "-q"]), str(ro), codes=(1, 2))
        # a writable results folder in a read-only parent cannot be swapped: refused before any work
        monkeypatch.setattr(os, "access", lambda p, mode, **k: (False if Path(p) == tmp_path and mode & os.W_OK
                                                                  else real(p, mode, **k)))
        with pytest.raises(ResultsFolderError, match=f"{tmp_path} is read-only"):
            res.to_csv(tmp_path / "new")
    finally:
        ro.chmod(0o755)
    assert os.listdir(ro) == []


def test_report_out_in_a_read_only_place_is_one_line(tmp_path, made, monkeypatch):
    d = tmp_path / "d"
    shutil.copytree(made[0], d)
    monkeypatch.setattr("eventstudy.plots.draw_all", lambda *a, **k: [])     # no figures: not what is tested

    def denied(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("eventstudy._io.atomic_write_text", denied)
    _one_line_error(runner.invoke(app, ["report", str(d), "--out", str(tmp_path / "r.html")]), "Permission denied",
                    "r.html")


def test_foreign_files_are_never_deleted(tmp_path, seed):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("precious")
    r = runner.invoke(app, ["run", str(seed), "--out", str(home), "-q"])
    _one_line_error(r, "not an eventstudy results folder", "thesis.docx")
    assert os.listdir(home) == ["thesis.docx"]

    out = tmp_path / "s"
    _run(seed, out)
    (out / "my_notes.txt").write_text("mine")
    _one_line_error(runner.invoke(app, ["run", str(seed), "--out", str(out), "-q"]), "did not write", "my_notes.txt")
    assert (out / "my_notes.txt").read_text() == "mine"


def test_out_through_a_symlink_replaces_the_target(tmp_path, seed):
    real, link = tmp_path / "real", tmp_path / "link"
    _run(seed, real, "--window", "0:0")
    link.symlink_to(real)
    _run(seed, link, "--window", "0:5")
    assert link.is_symlink() and read_results(link).manifest["options"]["windows"] == ["0:5"]
    assert read_results(real).run_id == read_results(link).run_id


# ---- the swap without renameat2 and its crash recovery --------------------------------------------------
def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_fallback_swap_and_recovery_of_an_interrupted_swap(tmp_path, made, seed, monkeypatch):
    monkeypatch.setattr(_io, "_exchange", lambda a, b: False)
    out = tmp_path / "s"
    shutil.copytree(made[0], out)
    old_id = read_results(out).run_id
    run_study(seed, "bundled", windows=("0:5",)).to_csv(out)
    assert read_results(out).manifest["options"]["windows"] == ["0:5"] and _hidden_siblings(out) == []

    # a writer killed between its two renames: the old run waits aside, the new one in .tmp-
    new_id = read_results(out).run_id
    os.rename(out, tmp_path / f".s.old-{_dead_pid()}-0a1b2c3d")
    shutil.copytree(made[0], tmp_path / f".s.tmp-{_dead_pid()}-0a1b2c3e")
    assert read_results(out).run_id == new_id            # the reader restores the folder
    assert [n for n in _hidden_siblings(out) if ".old-" in n] == []
    run_study(seed, "bundled").to_csv(out)               # the next writer clears what is left
    assert _hidden_siblings(out) == [] and read_results(out).run_id != old_id


# ---- section 14: kill -9 of a writer, in a loop ----------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to kill a writer without re-importing")
def test_kill_9_of_the_writer_in_a_loop_leaves_a_complete_run_always_readable(tmp_path, seed):
    runs = [run_study(seed, "bundled", windows=w) for w in (("-1:1", "0:5"), ("0:0",))]
    payload = [(result_tables(r), {"study": r.spec.name, "run_id": "", "created_utc": "", "inputs": {},
                                   "options": r.spec.to_dict(), "data": r.meta, "notes": r.notes}) for r in runs]
    ids = []
    for k, (tables, head) in enumerate(payload):
        write_folder(tmp_path / f"ref{k}", tables, head)
        ids.append(read_results(tmp_path / f"ref{k}").run_id)
    out = tmp_path / "s"
    write_folder(out, *payload[0])
    rng = random.Random(8)
    mid_write = reads = 0
    for i in range(16):
        pid = os.fork()
        if pid == 0:                                      # the writer: alternate the two runs until killed
            try:
                k = i
                while True:
                    write_folder(out, *payload[k % 2])
                    k += 1
            finally:
                os._exit(0)
        deadline = time.monotonic() + rng.uniform(0.05, 0.6)
        while time.monotonic() < deadline:               # readers during the writes: always a complete run
            assert read_results(out, tables=("events", "car")).run_id in ids
            reads += 1
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        mid_write += any(".tmp-" in n for n in _hidden_siblings(out))
        res = read_results(out, tables=("events", "car", "summary", "aar", "ar", "volume"))
        assert res.run_id in ids
        assert sorted(os.listdir(out)) == sorted([*TABLES, "manifest.json"])
    assert mid_write >= 3 and reads > 0                   # the kills did land inside writes
    write_folder(out, *payload[1])
    assert _hidden_siblings(out) == [] and read_results(out).run_id == ids[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to kill a writer without re-importing")
def test_kill_9_of_plot_writing_figures_leaves_a_complete_figure_set(tmp_path, made):
    from eventstudy.export import current_figures, write_figure_set

    d = tmp_path / "d"
    shutil.copytree(made[0], d)
    res = read_results(d)
    sets = []
    for k, n in enumerate((30, 3)):                   # two figure sets of different size and content
        pngs = {f"events/e{i}.png": bytes([k, i]) * 200_000 for i in range(n)}
        sets.append((pngs, {"run_id": res.run_id, "figures": [{"file": f, "kind": "event", "event_id": f[7:-4]}
                                                              for f in pngs], "notes": []}))
    write_figure_set(d / "figures", *sets[0])
    rng = random.Random(14)
    for i in range(10):
        pid = os.fork()
        if pid == 0:
            try:
                k = i
                while True:
                    write_figure_set(d / "figures", sets[k % 2][0], json.loads(json.dumps(sets[k % 2][1])))
                    k += 1
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.02, 0.3))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        figs, why = current_figures(res)
        assert why == "" and len(figs) in (30, 3)
        assert len(list((d / "figures" / "events").iterdir())) == len(figs)


# ---- section 9: event ids are text everywhere --------------------------------------------------------
ODD_IDS = ["1", "2", "3", "001", "1e3", "NA", "null"]


def test_odd_event_ids_survive_run_plot_report_and_a_second_report(tmp_path, full_seed):
    ev = pd.read_csv(full_seed, dtype=str, keep_default_na=False)
    picks = ["SEED-20251031-CRBP-1", "SEED-20251031-NBTX-1", "SEED-20251031-PFE-1", "SEED-20260108-ALLO-1",
             "SEED-20260121-GMAB-1", "SEED-20260122-TAK-1", "SEED-20251028-ONCY-1"]
    ev = ev.set_index("event_id").loc[picks].reset_index()
    ev["event_id"] = ODD_IDS
    res = run_study(ev, "bundled", windows=("-1:1", "0:0"))
    assert (res.events["status"] == "ok").all()
    out = tmp_path / "odd"
    res.to_csv(out, inputs={"prices": "bundled"})

    back = read_results(out)
    assert sorted(back.events["event_id"]) == sorted(ODD_IDS)
    assert sorted(set(back.car["event_id"])) == sorted(ODD_IDS)
    assert list(back.events["headline"]) == list(res.events["headline"])
    r = runner.invoke(app, ["plot", str(out)])
    assert r.exit_code == 0, r.output
    charts = sorted(p.stem for p in (out / "figures" / "events").glob("*.png"))
    assert charts == sorted(ODD_IDS)

    expected = res.car.pivot(index="event_id", columns="window", values="car")
    pages = []
    for _ in range(2):                                  # a second report reads the same files again
        r = runner.invoke(app, ["report", str(out)])
        assert r.exit_code == 0, r.output
        html = (out / "report.html").read_text()
        studied = html.split("<h2>Studied events</h2>")[1].split("<h2>")[0]
        for eid in ODD_IDS:
            row = re.search(rf"<tr><td>{re.escape(eid)}</td>(.*?)</tr>", studied)
            assert row, eid
            for w in ("-1:1", "0:0"):
                assert f">{100 * expected.loc[eid, w]:.2f}</td>" in row.group(1), (eid, w)
        pages.append(studied)
    assert pages[0] == pages[1]


def test_read_results_keeps_text_and_types(tmp_path, made):
    res = read_results(made[0])
    ev = res.events
    assert ev["event_id"].map(type).eq(str).all() and ev["reason"].map(type).eq(str).all()
    assert (ev["ticker"] == "").sum() == 6                     # empty text stays "", not NaN
    assert ev["in_stats"].dtype == bool and pd.api.types.is_datetime64_any_dtype(ev["day0"])
    assert pd.api.types.is_float_dtype(ev["beta"]) and ev["beta"].isna().any()
    assert pd.api.types.is_float_dtype(res.car["car"]) and res.car["window"].eq("-1:1").all()


# ---- section 15: reproducible --------------------------------------------------------------------------
def _same_folders(a: Path, b: Path, ignore=("created_utc",)) -> None:
    for f in TABLES:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    for m in (ma, mb):
        for key in ignore:
            m.pop(key, None)
            m.get("inputs", {}).pop(key, None)
    assert ma == mb


def test_same_inputs_and_options_give_identical_folders(tmp_path, full_seed):
    for d in ("a", "b"):
        _run(full_seed, tmp_path / d, "--window", "-1:1", "--window", "0:5")
    _same_folders(tmp_path / "a", tmp_path / "b")


def test_event_order_in_the_file_does_not_change_any_byte(tmp_path, full_seed):
    ev = pd.read_csv(full_seed, dtype=str, keep_default_na=False)
    shuffled = tmp_path / "shuffled.csv"
    ev.sample(frac=1, random_state=1).to_csv(shuffled, index=False)
    _run(full_seed, tmp_path / "a", "--name", "s")
    _run(shuffled, tmp_path / "b", "--name", "s")
    _same_folders(tmp_path / "a", tmp_path / "b", ignore=("created_utc", "run_id", "events", "events_sha256"))
    assert read_results(tmp_path / "a").run_id != ""


def test_a_manifest_that_is_a_folder_is_one_line(tmp_path, made):
    d = tmp_path / "d"
    shutil.copytree(made[0], d)
    (d / "manifest.json").unlink()
    (d / "manifest.json").mkdir()
    _one_line_error(runner.invoke(app, ["report", str(d)]), "cannot read", str(d / "manifest.json"))
