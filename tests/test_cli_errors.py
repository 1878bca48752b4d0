"""User mistakes end in one ``error:`` line plus a ``hint:`` line, never a traceback.

Exit codes: 2 for usage (a bad option value, a missing argument, an --out that is a file),
1 for data (a bad input file, a missing benchmark, an OS error while writing).
The console entry point :func:`eventstudy.cli.main` is called in-process; two cases also run
``python -m eventstudy`` in a subprocess.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from eventstudy import EventFileError, load_events
from eventstudy.cli import main

from conftest import ROOT, write_events

SEED = ROOT / "events" / "seed_events.csv"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return info.value.code, cap.out, cap.err


def assert_one_error(err: str, *needles: str) -> str:
    """Exactly one ``error:`` line and one ``hint:`` line; every needle in the error line."""
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    hints = [ln for ln in err.splitlines() if ln.startswith("hint:")]
    assert len(errors) == 1 and len(hints) == 1, err
    for n in needles:
        assert n in errors[0], errors[0]
    return errors[0]


def _events(tmp_path: Path, name: str = "ev.csv", **row) -> Path:
    base = {"event_id": "E1", "ticker": "IBRX", "event_date": "2026-01-21", "event_type": "short_squeeze"}
    return write_events(tmp_path / name, [base | row])


# ---- usage errors: exit 2 ------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["run", SEED, "--window", "1:x"], "window '1:x'"),
    (["run", SEED, "--window", "5:1"], "5:1"),
    (["run", SEED, "--estimation", "-10:-20"], "-10:-20"),
    (["run", SEED, "--overlap", "sometimes"], "overlap 'sometimes'"),
    (["run", SEED, "--model", "capm2"], "model 'capm2'"),
    (["run", SEED, "--min-obs", "abc"], "--min-obs"),
    (["run"], "Missing argument"),
    (["run", SEED, "--bogus"], "--bogus"),
    (["nosuch"], "nosuch"),
    (["scan", "IBRX", "--from", "2026-13-01"], "--from '2026-13-01' is not a date"),
    (["scan", "IBRX", "--to", "yesterday"], "--to 'yesterday'"),
    (["scan", "IBRX", "--from", "9999-12-31"], "outside the supported dates"),
    (["scan", "IBRX", "--from", "0001-01-01"], "outside the supported dates"),
    (["scan", "IBRX", "--from", "2026-02-01", "--to", "2026-01-01"], "after --to"),
    (["scan", "IBRX", "--spike-rule", "maybe"], "spike_rule"),
    (["scan", "IBRX", "--no-events", "--events", SEED], "contradict"),
    (["fetch", "IBRX", "--start", "2026-13-01"], "--start '2026-13-01'"),
    (["fetch", "IBRX", "--start", "2026-02-01", "--end", "2026-01-01"], "not before --end"),
])
def test_usage_errors_exit_2_with_one_line(capsys, args, needle):
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert_one_error(err, needle)


def test_out_that_is_a_file_is_a_usage_error(capsys, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    code, _, err = cli(capsys, "run", SEED, "--out", f)
    assert code == 2
    assert_one_error(err, "is a file, not a folder")
    code, _, err = cli(capsys, "run", SEED, "--out", f / "sub")
    assert code == 2
    assert_one_error(err, "is a file, not a folder")
    code, _, err = cli(capsys, "scan", "IBRX", "--out", f)
    assert code == 2
    assert_one_error(err, "is a file, not a folder")


def test_read_only_out_is_a_usage_error(capsys, tmp_path, monkeypatch):
    """The tests run as root, which can write anywhere: the permission check itself is faked."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: False if Path(p) == ro else real(p, m, **k))
    code, _, err = cli(capsys, "run", SEED, "--out", ro / "study")
    assert code == 2
    assert_one_error(err, "is not writable")


# ---- data errors: exit 1 -------------------------------------------------------------------------

def _bad_event_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases = {}
    good = SEED.read_bytes()
    cp = tmp_path / "cp1252.csv"
    cp.write_bytes(good.replace(b"ImmunityBio", "Immunité".encode("cp1252"), 1))
    cases["cp1252"] = (cp, "not UTF-8")
    u16 = tmp_path / "utf16.csv"
    u16.write_bytes(good.decode().encode("utf-16"))
    cases["utf16"] = (u16, "UTF-16")
    semi = tmp_path / "semi.csv"
    semi.write_text("event_id;ticker;event_date;event_type\nE1;IBRX;2026-01-21;short_squeeze\n")
    cases["semicolon"] = (semi, "semicolon-separated")
    tab = tmp_path / "tab.csv"
    tab.write_text("event_id\tticker\tevent_date\tevent_type\nE1\tIBRX\t2026-01-21\tshort_squeeze\n")
    cases["tab"] = (tab, "tab-separated")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases["empty"] = (empty, "empty")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    cases["folder"] = (folder, "is a folder")
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "gone.csv")
    cases["dangling symlink"] = (link, "does not exist")
    cases["missing"] = (tmp_path / "nope.csv", "file not found")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    cases["binary"] = (binary, "binary")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("event_id,ticker,event_date,event_type\nE1,IBRX,2026-01-21,short_squeeze,extra,cells\n")
    cases["ragged"] = (ragged, "well-formed")
    cases["date 9999"] = (_events(tmp_path, "late.csv", event_date="9999-12-31"), "row 1, field 'event_date'")
    cases["date 0001"] = (_events(tmp_path, "early.csv", event_date="0001-01-01"), "row 1, field 'event_date'")
    return cases


@pytest.mark.parametrize("case", ["empty", "folder", "dangling symlink",
                                  "missing", "binary", "ragged", "date 9999", "date 0001"])
def test_bad_event_file_is_one_line_exit_1(capsys, tmp_path, case):
    path, needle = _bad_event_files(tmp_path)[case]
    code, _, err = cli(capsys, "run", path, "--out", tmp_path / "o")
    assert code == 1
    line = assert_one_error(err, needle)
    assert str(path) in line
    assert not (tmp_path / "o").exists()
    code, out, err = cli(capsys, "events", "validate", path)
    assert code == 1 and needle in out and "Traceback" not in err


@pytest.mark.parametrize("case,note", [("cp1252", "read as cp1252"), ("utf16", "read as UTF-16"),
                                       ("semicolon", "read as semicolon-separated"), ("tab", "read as tab-separated")])
def test_excel_style_event_files_are_read_and_what_was_detected_is_said(capsys, tmp_path, case, note):
    """Issue 12 (Excel in): these files were refused; now they are read, and the detection is printed."""
    path, _ = _bad_event_files(tmp_path)[case]
    code, out, err = cli(capsys, "events", "validate", path)
    assert code == 0 and note in err, err
    code, out, err = cli(capsys, "run", path, "--out", tmp_path / "o", "--allow-source-errors")
    assert code == 0, err
    assert note in out                                           # in the summary notes (and the manifest)
    ev = pd.read_csv(tmp_path / "o" / "events.csv", dtype=str, keep_default_na=False)
    if case == "cp1252":
        assert "Immunité" in set(ev["company"]) and len(ev) == len(pd.read_csv(SEED))


def test_bom_prefixed_event_file_just_works(capsys, tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes())
    code, out, err = cli(capsys, "run", bom, "--out", tmp_path / "o", "-q")
    assert code == 0, err
    ev = pd.read_csv(tmp_path / "o" / "events.csv", keep_default_na=False)
    assert len(ev) == len(pd.read_csv(SEED)) and ev.columns[0] == "event_id"


def test_misspelled_benchmark_in_run_and_scan(capsys, tmp_path):
    code, _, err = cli(capsys, "run", SEED, "-b", "XBII", "--out", tmp_path / "o")
    assert code == 1
    assert_one_error(err, "benchmark XBII")
    code, _, err = cli(capsys, "scan", "IBRX", "-b", "XBII", "--out", tmp_path / "s")
    assert code == 1
    assert_one_error(err, "benchmark XBII", "--benchmark none")
    assert not (tmp_path / "s" / "scan.csv").exists()


def test_unknown_price_source_is_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "run", SEED, "--prices", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert code == 1
    assert_one_error(err, "unknown price source")


def test_two_price_files_for_one_ticker(capsys, tmp_path):
    px = tmp_path / "px"
    px.mkdir()
    for name in ("IBRX.csv", "ibrx.csv", "XBI.csv"):
        (px / name).write_text("date,close,volume\n2026-01-20,1,1\n2026-01-21,2,1\n")
    code, out, err = cli(capsys, "scan", "IBRX", "--prices", px, "--no-events", "--out", tmp_path / "s")
    assert code == 1 and "Traceback" not in err
    assert "IBRX.csv" in out and "ibrx.csv" in out and "bad_price_file" in out
    assert_one_error(err, "IBRX (bad_price_file)")
    s = pd.read_csv(tmp_path / "s" / "scan.csv", keep_default_na=False)
    assert s.loc[0, "kind"] == "bad_price_file" and "2 files match ticker IBRX" in s.loc[0, "reason"]


def test_two_event_files_with_one_id(capsys, tmp_path):
    a = _events(tmp_path, "a.csv")
    b = write_events(tmp_path / "b.csv", [
        {"event_id": "E0", "ticker": "IBRX", "event_date": "2026-01-13", "event_type": "short_squeeze"},
        {"event_id": "E1", "ticker": "IBRX", "event_date": "2026-01-22", "event_type": "short_squeeze"}])
    code, _, err = cli(capsys, "scan", "IBRX", "--events", a, "--events", b, "--out", tmp_path / "s")
    assert code == 1
    assert_one_error(err, f"{b}, row 2, field 'event_id'", f"also in {a}, row 1")
    code, out, err = cli(capsys, "events", "validate", a, b)
    assert code == 1 and f"{b}, row 2, field 'event_id': event_id 'E1' is also in {a}, row 1" in out
    code, _, _ = cli(capsys, "events", "validate", a, a)       # the same file twice is read once
    assert code == 0


def test_missing_factor_file_is_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "run", SEED, "--model", "ff3", "--factors", tmp_path / "nope.csv",
                       "--out", tmp_path / "o")
    assert code == 1
    line = assert_one_error(err, "nope.csv")
    assert "write" not in line


def test_disk_full_while_writing_results(capsys, tmp_path, monkeypatch):
    import eventstudy.export as export

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o" / "events.csv"))

    monkeypatch.setattr(export, "write_results", full)
    code, _, err = cli(capsys, "run", SEED, "--out", tmp_path / "o", "-q")
    assert code == 1
    assert_one_error(err, "No space left on device", "events.csv")
    assert "disk is full" in err


def test_disk_full_while_writing_the_scan(capsys, tmp_path, monkeypatch):
    import eventstudy._io as io_mod

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s" / "scan.csv"))

    monkeypatch.setattr(io_mod, "write_csv", full)
    code, _, err = cli(capsys, "scan", "IBRX", "--out", tmp_path / "s")
    assert code == 1
    assert_one_error(err, "No space left on device")


def test_os_error_reaching_the_entry_point_is_one_line(capsys, tmp_path, monkeypatch):
    """The last line of defence: any OSError a command lets through (here from `report`)."""
    import eventstudy.report as report

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "r" / "report.html"))

    monkeypatch.setattr(report, "write_report", denied)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "manifest.json").write_text("{}")
    code, _, err = cli(capsys, "report", tmp_path / "r")
    assert code == 1
    assert_one_error(err, "Permission denied", "report.html")


def test_scan_out_existing_folder_gets_scan_csv(capsys, tmp_path):
    d = tmp_path / "scan_here"
    d.mkdir()
    code, out, err = cli(capsys, "scan", "IBRX", "--out", d, "--from", "2026-01-01", "--to", "2026-01-31")
    assert code == 0, err
    assert (d / "scan.csv").is_file() and "wrote" in err


@pytest.mark.parametrize("args,code,needle", [
    (["scan", "IBRX", "--from", "2026-13-01"], 2, "--from '2026-13-01' is not a date"),
    (["run", "no_such_events.csv"], 1, "no_such_events.csv"),
])
def test_console_entry_point_in_a_subprocess(tmp_path, args, code, needle):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    r = subprocess.run([sys.executable, "-m", "eventstudy", *args], capture_output=True, text=True, cwd=tmp_path,
                       env=env, timeout=120)
    assert r.returncode == code
    assert_one_error(r.stderr, needle)


def test_unreadable_event_file_is_one_line(capsys, tmp_path, monkeypatch):
    """Root reads everything, so the permission check is faked; a real EACCES takes the same path."""
    f = _events(tmp_path)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: False if Path(p) == f else real(p, m, **k))
    code, _, err = cli(capsys, "run", f, "--out", tmp_path / "o")
    assert code == 2                                     # the argument parser checks readability first
    assert_one_error(err, "not readable", str(f))
    with pytest.raises(EventFileError, match="permission denied"):
        load_events(f)
