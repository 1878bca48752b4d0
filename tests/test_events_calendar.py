"""Event files (schema, taxonomy, errors naming file/row/field) and the day-0 rule."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest

from eventstudy import EventFileError, load_events, validate_events
from eventstudy.trading_calendar import align_day0, nyse_sessions
from eventstudy.events import read_event_csv

from conftest import ROOT, write_events


@pytest.mark.parametrize("name", ["seed_events.csv", "fda_decisions.csv", "curated_events_2015_2024.csv"])
def test_curated_files_are_valid(name):
    ev = load_events(ROOT / "events" / name)
    assert len(ev) > 0 and ev["event_id"].is_unique


def test_packaged_seed_copy_is_identical_to_repo_copy():
    assert filecmp.cmp(ROOT / "events" / "seed_events.csv",
                       ROOT / "src" / "eventstudy" / "data" / "events" / "seed_events.csv", shallow=False)


def test_problems_name_file_row_and_field(tmp_path):
    f = write_events(tmp_path / "bad.csv", [
        {"event_id": "E1", "ticker": "ABC", "event_date": "2024-01-05", "event_type": "fda_decision"},
        {"event_id": "E1", "ticker": "ABC", "event_date": "2024-01-06", "event_type": "fda_decision"},
        {"event_id": "E3", "ticker": "ABC", "event_date": "2024-13-01", "event_type": "fda_decision"},
        {"event_id": "E4", "ticker": "ABC", "event_date": "2024-01-08", "event_type": "earnings_call"},
        {"event_id": "E5", "ticker": "ABC", "event_date": "2024-01-08", "event_type": "fda_decision",
         "event_time": "lunchtime"},
        {"event_id": "", "ticker": "ABC", "event_date": "2024-01-08", "event_type": "fda_decision"},
    ])
    with pytest.raises(EventFileError) as info:
        load_events(f)
    got = {(p.row, p.field) for p in info.value.problems}
    assert got == {(2, "event_id"), (3, "event_date"), (4, "event_type"), (5, "event_time"), (6, "event_id")}
    text = str(info.value)
    assert "bad.csv, row 3, field 'event_date'" in text and "'2024-13-01'" in text
    assert "duplicate event_id 'E1' (first at row 1)" in text


def test_missing_required_column_is_reported(tmp_path):
    f = tmp_path / "nocol.csv"
    f.write_text("event_id,ticker,event_date\nE1,ABC,2024-01-05\n")
    problems = validate_events(read_event_csv(f), str(f))
    assert [(p.row, p.field) for p in problems] == [(0, "event_type")]


def test_empty_ticker_is_valid_and_time_defaults_to_unknown(tmp_path):
    f = write_events(tmp_path / "ok.csv", [
        {"event_id": "P1", "ticker": "", "event_date": "2024-01-05", "event_type": "fda_designation"},
        {"event_id": "P2", "ticker": "abc", "event_date": "2024-01-05", "event_type": "fda_decision"}])
    ev = load_events(f)
    assert ev["ticker"].tolist() == ["", "ABC"] and ev["event_time"].tolist() == ["unknown", "unknown"]


def test_loaded_events_load_again_and_run(root):
    """A normalised table (datetime event_date) is valid input: notebooks pass frames around."""
    from eventstudy import run_study

    ev = load_events(ROOT / "events" / "seed_events.csv")
    again = load_events(ev)
    pd.testing.assert_frame_equal(again, ev)
    assert run_study(ev).ok.sum() == run_study(ROOT / "events" / "seed_events.csv").ok.sum() == 19


def test_missing_file_is_an_event_file_error(tmp_path):
    with pytest.raises(EventFileError, match="file not found"):
        load_events(tmp_path / "nope.csv")


@pytest.mark.parametrize("date,time,expected,rule", [
    ("2026-01-21", "intraday", "2026-01-21", "same_session"),            # Wednesday
    ("2026-01-21", "pre_market", "2026-01-21", "same_session"),
    ("2026-01-21", "unknown", "2026-01-21", "same_session"),
    ("2026-01-21", "after_close", "2026-01-22", "next_session_after_close"),
    ("2025-10-31", "after_close", "2025-11-03", "next_session_after_close"),  # Friday after close -> Monday
    ("2025-11-01", "unknown", "2025-11-03", "next_session_non_trading_day"),  # Saturday
    ("2025-11-02", "after_close", "2025-11-03", "next_session_non_trading_day"),  # Sunday: no extra shift
    ("2024-07-04", "pre_market", "2024-07-05", "next_session_non_trading_day"),  # Independence Day
    ("2025-01-09", "unknown", "2025-01-10", "next_session_non_trading_day"),  # national day of mourning
    ("2024-12-24", "after_close", "2024-12-26", "next_session_after_close"),  # early close, then holiday
])
def test_day0_rule(date, time, expected, rule):
    s = nyse_sessions()
    pos, r = align_day0(pd.Series([pd.Timestamp(date)]), [time], s)
    assert s[pos[0]] == pd.Timestamp(expected)
    assert r[0] == rule


def test_day0_outside_calendar():
    pos, r = align_day0(pd.Series([pd.Timestamp("1980-01-02"), pd.Timestamp("2099-01-02")]), ["unknown"] * 2)
    assert pos.tolist() == [-1, -1] and r.tolist() == ["", ""]


def test_bom_and_blank_padded_header_load(tmp_path):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfevent_id , ticker,event_date,event_type,\nE1,abc,2024-01-05,fda_decision,\n")
    ev = load_events(f)
    assert ev["event_id"].tolist() == ["E1"] and ev["ticker"].tolist() == ["ABC"]


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "1677-06-01", "2262-06-01"])
def test_event_dates_beyond_pandas_range_are_problems(tmp_path, date):
    f = write_events(tmp_path / "far.csv", [
        {"event_id": "E1", "ticker": "ABC", "event_date": "2024-01-05", "event_type": "fda_decision"},
        {"event_id": "E2", "ticker": "ABC", "event_date": date, "event_type": "fda_decision"}])
    with pytest.raises(EventFileError) as info:
        load_events(f)
    assert [(p.row, p.field) for p in info.value.problems] == [(2, "event_date")]
    assert "outside the supported dates" in str(info.value)


def test_repeated_or_unnamed_columns_are_problems(tmp_path):
    f = tmp_path / "cols.csv"
    f.write_text("event_id,ticker,event_date,event_type,ticker,\nE1,A,2024-01-05,fda_decision,B,x\n")
    with pytest.raises(EventFileError) as info:
        load_events(f)
    assert {p.field for p in info.value.problems} == {"ticker", "column 6"}


def test_several_files_load_as_one_and_cross_file_ids_are_problems(tmp_path):
    from eventstudy.events import load_event_files

    a = write_events(tmp_path / "a.csv", [
        {"event_id": "A1", "ticker": "X", "event_date": "2024-01-05", "event_type": "fda_decision"}])
    b = tmp_path / "b.csv"
    b.write_text("event_id,ticker,event_date,event_type,analyst\nB1,Y,2024-01-08,fda_decision,kim\n")
    ev = load_event_files([a, b, a])
    assert ev["event_id"].tolist() == ["A1", "B1"] and ev["analyst"].tolist() == ["", "kim"]
    c = write_events(tmp_path / "c.csv", [
        {"event_id": "C1", "ticker": "X", "event_date": "2024-01-05", "event_type": "fda_decision"},
        {"event_id": "A1", "ticker": "X", "event_date": "2024-02-05", "event_type": "fda_decision"}])
    with pytest.raises(EventFileError) as info:
        load_event_files([a, b, c])
    (p,) = info.value.problems
    assert (p.file, p.row, p.field) == (str(c), 2, "event_id") and f"also in {a}, row 1" in p.message


def test_calendar_cache_gives_exchange_calendars_arrays(tmp_path):
    """The cached XNYS arrays (start-up without importing exchange-calendars) equal a fresh build, and a
    corrupt cache file is rebuilt, not trusted."""
    import subprocess
    import sys

    code = ("import numpy as np, sys\n"
            "from eventstudy import trading_calendar as tc\n"
            "c = tc._calendar(); f = tc._calendar_from_xcals()\n"
            "assert all(np.array_equal(c[k], f[k]) for k in f), 'cache differs'\n"
            "print(len(c['sessions']), tc._calendar_cache_file())\n")
    env = {**__import__("os").environ, "EVENTSTUDY_CACHE": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    files = list((tmp_path / "calendar").glob("xnys-*.npz"))
    assert len(files) == 1
    files[0].write_bytes(b"not an npz file")
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert first.stdout == again.stdout and int(first.stdout.split()[0]) > 9000


def test_event_times_are_normalised_per_distinct_value_as_by_hand():
    from eventstudy.trading_calendar import _normalize_times

    raw = ["  After_Close ", "pre_market", None, float("nan"), "", "  ", "16:05", " 09:00 ET", "INTRADAY", "16:05",
           pd.NA, "unknown", "Unknown "]
    want = ["after_close", "pre_market", "unknown", "unknown", "unknown", "unknown", "16:05", "09:00 ET", "intraday",
            "16:05", "unknown", "unknown", "unknown"]
    assert _normalize_times(raw, len(raw)).tolist() == want
    assert _normalize_times(pd.Series(raw), len(raw)).tolist() == want
    # a value that is not text goes through pandas' conversion of the whole column: same rules
    assert _normalize_times(raw + [1605], len(raw) + 1).tolist() == want + ["1605"]
    with pytest.raises(ValueError, match="2 event times for 3"):
        _normalize_times(["a", "b"], 3)
    # every code point of the basic plane around and inside a keyword: the per-value path (Python's strip and
    # lower) gives what pandas' string methods give (the path taken when one value is not text)
    cells = [f"{chr(c)}pre_mar{chr(c)}et{chr(c)}" for c in range(1, 0x10000) if not 0xD800 <= c < 0xE000]
    cells += [f"{chr(c)}After_Close{chr(c)}" for c in range(1, 0x3100)]
    assert _normalize_times(cells, len(cells)).tolist() == _normalize_times(cells + [0], len(cells) + 1).tolist()[:-1]


def test_upper_case_per_distinct_value_is_pandas_upper_case():
    from eventstudy.events import _per_value

    tick = pd.Series(["ibrx", "Brk-b", "ibrx", "ß", "", "ǆ", "i̇"] * 4, dtype=object)
    assert _per_value(tick, str.upper).tolist() == tick.str.upper().tolist()
    assert _per_value(tick, str.upper).tolist()[:4] == ["IBRX", "BRK-B", "IBRX", "SS"]
