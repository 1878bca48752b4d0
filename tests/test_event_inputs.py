"""Issue 12: own event types, grouping by any column, Excel event files, clock-time event times.
Real bundled prices (seed)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import eventstudy as es
from eventstudy._errors import EventFileError
from eventstudy.cli import app
from eventstudy.events import TAXONOMY, load_events, load_taxonomy

from conftest import write_events

runner = CliRunner()


def _rows(**kw):
    base = [{"event_id": "A", "ticker": "IBRX", "event_date": "2026-01-21", "event_type": "earnings", "phase": "3"},
            {"event_id": "B", "ticker": "PFE", "event_date": "2025-11-10", "event_type": "adcom", "phase": "2"},
            {"event_id": "C", "ticker": "ACLX", "event_date": "2025-11-03", "event_type": "earnings", "phase": ""}]
    return [{**r, **kw} for r in base]


def test_own_event_types_extend_or_replace_the_taxonomy(tmp_path):
    csv = tmp_path / "types.csv"
    csv.write_text("event_type,subtype\nearnings,beat\nearnings,miss\nadcom,\n")
    tax = load_taxonomy(csv)
    assert tax["earnings"] == ("beat", "miss") and tax["adcom"] == () and set(TAXONOMY) < set(tax)
    toml = tmp_path / "eventstudy.toml"
    toml.write_text('[taxonomy]\nmode = "replace"\nearnings = ["beat"]\nadcom = []\n')
    assert set(load_taxonomy(toml)) == {"earnings", "adcom"}
    ev = pd.DataFrame(_rows())
    with pytest.raises(EventFileError, match="unknown event type 'earnings'"):
        load_events(ev)
    res = es.run_study(ev, "bundled", windows="0:0", taxonomy=tax)
    assert set(res.caar["event_type"]) == {"ALL", "earnings", "adcom"}
    bad = tmp_path / "bad.csv"
    bad.write_text("event_type\nEarnings Calls\n")
    with pytest.raises(EventFileError, match="lower-case name"):
        load_taxonomy(bad)


def test_typo_hint_names_the_closest_type():
    ev = pd.DataFrame(_rows(event_type="fda_decison"))
    with pytest.raises(EventFileError, match="did you mean 'fda_decision'"):
        load_events(ev)


def test_cli_taxonomy_from_file_and_from_project_config(tmp_path, monkeypatch):
    f = write_events(tmp_path / "ev.csv", _rows())
    assert runner.invoke(app, ["events", "validate", str(f)]).exit_code == 1
    types = tmp_path / "types.csv"
    types.write_text("event_type\nearnings\nadcom\n")
    r = runner.invoke(app, ["events", "validate", str(f), "--taxonomy", str(types)])
    assert r.exit_code == 0, r.output
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eventstudy.toml").write_text("[taxonomy]\nearnings = []\nadcom = []\n")
    r = runner.invoke(app, ["run", str(f), "--window", "0:0", "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 0, r.output
    assert "event types from eventstudy.toml" in r.output


def test_group_by_any_column_and_several_columns(tmp_path):
    tax = load_taxonomy_from({"earnings": [], "adcom": []})
    ev = pd.DataFrame(_rows())
    res = es.run_study(ev, "bundled", windows="0:0", taxonomy=tax, group_by="phase")
    assert set(res.caar["event_type"]) == {"ALL", "3", "2", "(none)"}
    both = es.run_study(ev, "bundled", windows="0:0", taxonomy=tax, group_by="event_type,phase")
    assert set(both.caar["event_type"]) == {"ALL", "earnings/3", "adcom/2", "earnings/(none)"}
    one = both.caar.set_index("event_type").loc["earnings/3"]
    assert one["n"] == 1 and one["mean_car"] == pytest.approx(
        res.car.set_index("event_id").loc["A", "car"], abs=0)
    with pytest.raises(es.EventStudyError, match="no column 'stage'"):
        es.run_study(ev, "bundled", windows="0:0", taxonomy=tax, group_by="stage")


def load_taxonomy_from(d):
    return {**TAXONOMY, **{k: tuple(v) for k, v in d.items()}}


def test_xlsx_events_with_excel_habits(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "catalysts"
    ws.append(["event_id", "ticker", "event_date", "event_time", "event_type", "headline"])
    ws.append(["X1", "IBRX", dt.datetime(2026, 1, 21), "INTRADAY", "SHORT_SQUEEZE", "=not a formula"])
    ws.append(["X2", "PFE", dt.datetime(2025, 11, 10), "PRE_MARKET", "fda_decision", "plain"])
    ws["F2"].data_type = "s"                       # a text cell that starts with '=' (openpyxl would write a formula)
    path = tmp_path / "ev.xlsx"
    wb.save(path)
    ev = load_events(path)
    assert list(ev["event_time"]) == ["intraday", "pre_market"] and ev.loc[0, "event_type"] == "short_squeeze"
    assert ev.loc[0, "event_date"] == pd.Timestamp("2026-01-21") and ev.loc[0, "headline"] == "=not a formula"
    notes = ev.attrs["read_notes"]
    assert any("read sheet 'catalysts'" in n for n in notes)
    assert any("2 datetime(s) at 00:00 read as dates" in n for n in notes)
    assert any("event_time: 2 value(s) in capitals" in n for n in notes)
    r = runner.invoke(app, ["run", str(path), "--window", "0:0", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "read sheet 'catalysts'" in r.output


def test_clock_times_give_day0_from_the_session_times():
    ev = pd.DataFrame([
        {"event_id": "pre", "ticker": "IBRX", "event_date": "2026-01-21", "event_time": "09:29", "event_type": "short_squeeze"},
        {"event_id": "mid", "ticker": "IBRX", "event_date": "2026-01-21", "event_time": "2026-01-21T10:00-05:00",
         "event_type": "short_squeeze"},
        {"event_id": "late", "ticker": "PFE", "event_date": "2025-10-31", "event_time": "20:22 UTC",
         "event_type": "fda_decision"},
        {"event_id": "early", "ticker": "PFE", "event_date": "2025-11-28", "event_time": "13:30 ET",
         "event_type": "fda_decision"}])
    res = es.run_study(ev, "bundled", windows="0:0", duplicates="keep")
    st = res.events.set_index("event_id")
    assert st.loc["pre", "day0"] == pd.Timestamp("2026-01-21") and st.loc["pre", "day0_rule"] == "same_session_pre_open"
    assert st.loc["mid", "day0_rule"] == "same_session_intraday"
    assert st.loc["late", "day0"] == pd.Timestamp("2025-11-03")          # 16:22 New York on a Friday
    assert st.loc["early", "day0"] == pd.Timestamp("2025-12-01")         # after the 13:00 early close
    assert st.loc["early", "day0_rule"] == "next_session_after_early_close"
    with pytest.raises(EventFileError, match="row 1, field 'event_time'"):
        load_events(ev.assign(event_time=["noon", "", "", ""]))


def test_broken_utf16_is_a_problem_not_a_traceback(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"\xff\xfee\x00v\x00e")            # a UTF-16 byte-order mark, then an odd number of bytes
    with pytest.raises(EventFileError, match="not valid UTF-16"):
        load_events(path)


def test_frame_as_text_renders_every_column_as_the_cell_by_cell_reference():
    """An in-memory event table is validated as the text a CSV would hold. Text columns take a fast path
    (missing cells emptied, no round trip through Python objects); every column must come out exactly as
    the cell-by-cell rendering (each cell through ``str``, missing as empty, dates as YYYY-MM-DD), with
    duplicate column names and the frame's attrs kept."""
    import math

    import numpy as np

    from eventstudy.events import _frame_as_text

    n = 40
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "event_id": pd.array([None if i % 7 == 0 else f" E{i} " for i in range(n)], dtype="str"),
        "ticker": pd.array([None if i % 5 == 0 else f"t{i}" for i in range(n)], dtype="string"),
        "score": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        "event_date": pd.to_datetime(["2020-01-02"] * n).where(rng.random(n) < 0.8),
        "mixed": np.array([None, "z", 3, 4.5, True] * (n // 5), dtype=object),
        "count": pd.array([pd.NA if i % 3 == 0 else i for i in range(n)], dtype="Int64"),
        "kind": pd.Categorical(["p", "q", None, "p", "q"] * (n // 5)),
    })
    frame["again"] = frame["event_id"]
    frame.columns = [*frame.columns[:-1], "event_id"]          # a duplicate name
    frame.attrs["read_notes"] = ["from a notebook"]

    def cell(v) -> str:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            return ""
        return v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else str(v)

    got = _frame_as_text(frame)
    assert list(got.columns) == list(frame.columns) and got.attrs == frame.attrs
    for i in range(frame.shape[1]):
        want = [cell(v) for v in frame.iloc[:, i].astype(object)]
        assert got.iloc[:, i].tolist() == want, frame.columns[i]
        assert got.iloc[:, i].dtype == pd.Series(["x"]).astype(str).dtype
