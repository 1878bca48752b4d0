"""The CLI, in-process: exit codes, help with examples, outputs on the bundled real data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from eventstudy.cli import app

from conftest import write_events

runner = CliRunner()


def _commands(group: typer.Typer, prefix=()):
    for cmd in group.registered_commands:
        yield prefix + (cmd.name or cmd.callback.__name__.replace("_", "-"),)
    for sub in group.registered_groups:
        yield from _commands(sub.typer_instance, prefix + (sub.name,))


@pytest.mark.parametrize("cmd", list(_commands(app)))
def test_every_command_has_help_with_an_example(cmd):
    r = runner.invoke(app, [*cmd, "--help"])
    assert r.exit_code == 0 and "Example" in r.output, r.output


def test_demo_writes_all_outputs_on_bundled_data(tmp_path):
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    for f in ("events.csv", "ar.csv", "car.csv", "summary.csv", "aar.csv", "manifest.json"):
        assert (out / f).is_file()
    ev = pd.read_csv(out / "events.csv", keep_default_na=False)
    assert len(ev) == 30                                    # every seed event keeps its row
    assert (ev["status"] == "unmapped").sum() == 6
    required = ["event_id", "ticker", "event_type", "event_date", "event_time", "day0", "status", "reason", "n_est",
                "alpha", "beta", "sigma", "ret_d0", "close_d0", "volume_d0", "vol_ratio_63", "data_flags", "n_overlaps", "overlaps"]
    assert list(ev.columns[: len(required)]) == required
    mtsr = ev.set_index("event_id").loc["SEED-20251031-MTSR-1"]
    assert mtsr["status"] == "outside_data" and mtsr["day0"] == "2025-11-03"  # after_close Friday -> Monday
    ibrx = ev.set_index("event_id").loc["SEED-20260121-IBRX-1"]
    # day-0 volume / mean volume of sessions -63..-1, computed from the bundled file directly
    from eventstudy.sources import BundledSource

    v = BundledSource().bars("IBRX")["volume"]
    i = v.index.get_loc(pd.Timestamp("2026-01-21"))
    assert float(ibrx["vol_ratio_63"]) == pytest.approx(v.iloc[i] / v.iloc[i - 63:i].mean(), rel=1e-9)
    assert "SEED-20260121-IBRX-2" in ibrx["overlaps"]
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns[:10]) == ["event_type", "window", "win_start", "win_end", "n", "mean_car",
                                          "median_car", "pos_share", "t_cs", "p_cs"]
    assert set(summary["window"]) == {"-1:1", "0:0", "0:5", "-5:20"}
    man = json.loads((out / "manifest.json").read_text())
    assert man["options"]["model"] == "market" and len(man["data"]["price_sha256"]) == 64
    assert man["data"]["source"]["source"] == "bundled:seed"
    assert "ALL" in r.output and "CAAR" in r.output


def test_run_parses_negative_ranges_and_repeated_windows(tmp_path, root):
    out = tmp_path / "r"
    r = runner.invoke(app, ["run", str(root / "events" / "seed_events.csv"), "--estimation", "-200:-21",
                            "--window", "-1:1", "--window", "-20:-1", "--benchmark", "IBB", "--returns", "log",
                            "--overlap", "first", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["options"]["estimation"] == "-200:-21" and man["options"]["windows"] == ["-1:1", "-20:-1"]
    assert man["options"]["benchmark"] == "IBB" and man["options"]["overlap"] == "first"
    assert set(pd.read_csv(out / "car.csv")["window"]) == {"-1:1", "-20:-1"}


def test_bad_window_is_a_usage_error(tmp_path, root):
    r = runner.invoke(app, ["run", str(root / "events" / "seed_events.csv"), "--window", "5:1", "--out", str(tmp_path)])
    assert r.exit_code == 2


def test_bad_event_file_is_exit_1_with_file_row_field(tmp_path):
    f = write_events(tmp_path / "bad.csv", [{"event_id": "E1", "ticker": "IBRX", "event_date": "2026-02-30",
                                             "event_type": "fda_decision"}])
    r = runner.invoke(app, ["run", str(f), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert "bad.csv, row 1, field 'event_date'" in r.output and "Traceback" not in r.output


def test_unknown_benchmark_is_exit_1(tmp_path, root):
    r = runner.invoke(app, ["run", str(root / "events" / "seed_events.csv"), "-b", "NOPE", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "benchmark NOPE" in r.output


def test_events_validate(tmp_path, root):
    r = runner.invoke(app, ["events", "validate", str(root / "events" / "seed_events.csv"),
                            str(root / "events" / "fda_decisions.csv")])
    assert r.exit_code == 0
    f = write_events(tmp_path / "bad.csv", [
        {"event_id": "E1", "ticker": "X", "event_date": "2024-01-01", "event_type": "fda_decision"},
        {"event_id": "E1", "ticker": "X", "event_date": "2024-01-01", "event_type": "nonsense"}])
    r = runner.invoke(app, ["events", "validate", str(f)])
    assert r.exit_code == 1
    assert "bad.csv, row 2, field 'event_id'" in r.output and "bad.csv, row 2, field 'event_type'" in r.output


def test_csv_directory_prices_with_a_malformed_file(tmp_path):
    from eventstudy.sources import BundledSource

    d = tmp_path / "px"
    d.mkdir()
    for t in ("IBRX", "XBI"):
        b = BundledSource().bars(t).reset_index()
        b.to_csv(d / f"{t}.csv", index=False)
    (d / "BAD.csv").write_text("date,close\n2026-01-02,1\n2026-01-05,oops\n")
    f = write_events(tmp_path / "ev.csv", [
        {"event_id": "E1", "ticker": "IBRX", "event_date": "2026-01-21", "event_type": "short_squeeze"},
        {"event_id": "E2", "ticker": "BAD", "event_date": "2026-01-21", "event_type": "fda_decision"}])
    out = tmp_path / "o"
    r = runner.invoke(app, ["run", str(f), "--prices", str(d), "--out", str(out)])
    assert r.exit_code == 0, r.output
    ev = pd.read_csv(out / "events.csv").set_index("event_id")
    assert ev.loc["E1", "status"] == "ok"
    assert ev.loc["E2", "status"] == "bad_price_file" and "BAD.csv, row 2, field 'close'" in ev.loc["E2", "reason"]


def test_group_by_subtype_on_the_real_fda_decisions(tmp_path, root):
    """Approvals vs CRLs on the bundled 2013-2024 universe (FF market return as benchmark)."""
    out = tmp_path / "fda"
    r = runner.invoke(app, ["run", str(root / "events" / "fda_decisions.csv"), "-p", "bundled:universe", "-b", "FF-MKT",
                            "--estimation", "-270:-21", "--window", "0:0", "--window", "-1:1", "--group-by", "subtype",
                            "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    ev = pd.read_csv(out / "events.csv", keep_default_na=False)
    assert len(ev) == 843
    car = pd.read_csv(out / "car.csv").merge(ev[["event_id", "subtype", "in_stats"]])
    car = car[car["in_stats"]]   # e.g. two approvals of one company on one day enter once
    s = pd.read_csv(out / "summary.csv").set_index(["event_type", "window"])
    for sub in ("approval", "crl"):
        x = car[(car["subtype"] == sub) & (car["window"] == "0:0")]["car"]
        assert s.loc[(sub, "0:0"), "n"] == len(x)
        assert s.loc[(sub, "0:0"), "mean_car"] == pytest.approx(x.mean(), rel=1e-9)
    # the literature's sign pattern: CRLs fall hard on day 0, approvals do not
    assert s.loc[("crl", "0:0"), "mean_car"] < -0.03 < 0 < s.loc[("approval", "0:0"), "mean_car"] + 0.01


def test_processes_option_same_folder_and_checked(tmp_path, root):
    """`--processes 2` (chunks on forked processes) and `--processes 1` (in this process) write the same
    bytes; the manifest's engine says which; 0 is refused before anything runs."""
    args = ["run", str(root / "events" / "fda_decisions.csv"), "-p", "bundled:universe", "-b", "FF-MKT",
            "--chunk-size", "200", "-q"]
    a = runner.invoke(app, args + ["--out", str(tmp_path / "one"), "--processes", "1"])
    b = runner.invoke(app, args + ["--out", str(tmp_path / "two"), "--processes", "2"])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    for name in ("events", "car", "ar", "volume", "summary", "aar"):
        assert (tmp_path / "one" / f"{name}.csv").read_bytes() == (tmp_path / "two" / f"{name}.csv").read_bytes(), name
    ma = json.loads((tmp_path / "one" / "manifest.json").read_text())
    mb = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert ma["run_id"] == mb["run_id"] and ma["engine"]["kind"] == "serial"
    from eventstudy.engine import fork_available

    assert mb["engine"]["kind"] == ("fork" if fork_available() else "serial")
    bad = runner.invoke(app, args + ["--out", str(tmp_path / "bad"), "--processes", "0"])
    assert bad.exit_code == 2 and not (tmp_path / "bad").exists()
