"""Clock-time and timestamp ``event_time`` values → day 0 from the NYSE session opens and closes.

Expectations are written by hand from the NYSE calendar: regular session 09:30-16:00 New York
time; 2025-11-28 (day after Thanksgiving) closes at 13:00; US daylight saving time starts
2026-03-08 (New York UTC-5 → UTC-4), the UK's on 2026-03-29 (London UTC+0 → UTC+1).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from eventstudy.trading_calendar import (EventTime, align_day0, event_time_problem, is_event_time, nyse_schedule,
                                         nyse_sessions, parse_event_time)


def day0(date: str, time: str) -> tuple[str, str]:
    s = nyse_sessions()
    pos, rule = align_day0(pd.Series([pd.Timestamp(date)]), [time], s)
    assert pos[0] >= 0
    return str(s[pos[0]].date()), rule[0]


@pytest.mark.parametrize("date,time,expected,rule", [
    # Wednesday 2026-01-21, New York on EST (UTC-5)
    ("2026-01-21", "09:29 ET", "2026-01-21", "same_session_pre_open"),
    ("2026-01-21", "9:05", "2026-01-21", "same_session_pre_open"),
    ("2026-01-21", "00:00", "2026-01-21", "same_session_pre_open"),
    ("2026-01-21", "09:30", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "15:59", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "15:59:59", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "16:00", "2026-01-22", "next_session_after_close"),
    ("2026-01-21", "23:59", "2026-01-22", "next_session_after_close"),
    ("2026-01-21", "3:45 pm ET", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "15:45 EST", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "15:45-05:00", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "15:45 -0500", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "20:45Z", "2026-01-21", "same_session_intraday"),         # 15:45 EST
    ("2026-01-21", "21:00 UTC", "2026-01-22", "next_session_after_close"),   # 16:00 EST
    ("2026-01-21", "12:45 PT", "2026-01-21", "same_session_intraday"),       # 15:45 EST
    ("2026-01-21", "13:05 PST", "2026-01-22", "next_session_after_close"),   # 16:05 EST
    ("2026-01-21", "2026-01-21T15:45-05:00", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "2026-01-21T16:05:00-05:00", "2026-01-22", "next_session_after_close"),
    ("2026-01-21", "2026-01-21 08:00", "2026-01-21", "same_session_pre_open"),
    # London is UTC+0 in January: 20:22 London = 15:22 New York
    ("2026-01-21", "20:22 Europe/London", "2026-01-21", "same_session_intraday"),
    ("2026-01-21", "14:29 Europe/London", "2026-01-21", "same_session_pre_open"),
    # Tokyo UTC+9: 23:00 on the 21st = 09:00 New York on the 21st
    ("2026-01-21", "23:00 Asia/Tokyo", "2026-01-21", "same_session_pre_open"),
    # early close 13:00 on the day after Thanksgiving (Friday) → Monday
    ("2025-11-28", "12:59 ET", "2025-11-28", "same_session_intraday"),
    ("2025-11-28", "13:00 ET", "2025-12-01", "next_session_after_early_close"),
    ("2025-11-28", "13:30 ET", "2025-12-01", "next_session_after_early_close"),
    # Friday 16:22 ET (EDT, UTC-4 until 2025-11-02) → Monday
    ("2025-10-31", "20:22 UTC", "2025-11-03", "next_session_after_close"),
    # 02:00 UTC on the 21st is 21:00 New York on the 20th: after that day's close → the 21st
    ("2026-01-21", "02:00 UTC", "2026-01-21", "next_session_after_close"),
    # weekends and holidays
    ("2025-11-01", "10:00", "2025-11-03", "next_session_non_trading_day"),   # Saturday
    ("2025-11-02", "17:00 ET", "2025-11-03", "next_session_non_trading_day"),  # Sunday evening: no extra shift
    ("2025-11-27", "10:00", "2025-11-28", "next_session_non_trading_day"),   # Thanksgiving
    # Saturday 03:00 UTC is Friday 23:00 New York: after Friday's close
    ("2025-11-01", "03:00 UTC", "2025-11-03", "next_session_after_close"),
    # keywords keep their rules and are case-insensitive
    ("2026-01-21", "PRE_MARKET", "2026-01-21", "same_session"),
    ("2026-01-21", "After_Close", "2026-01-22", "next_session_after_close"),
    ("2026-01-21", " Intraday ", "2026-01-21", "same_session"),
    ("2026-01-21", "", "2026-01-21", "same_session"),
    # daylight saving switch. Friday 2026-03-06, New York on EST (UTC-5): 14:00 UTC = 09:00, 20:30 UTC = 15:30
    ("2026-03-06", "14:00 UTC", "2026-03-06", "same_session_pre_open"),
    ("2026-03-06", "20:30 UTC", "2026-03-06", "same_session_intraday"),
    # Monday 2026-03-09, New York on EDT (UTC-4): 14:00 UTC = 10:00, 20:30 UTC = 16:30
    ("2026-03-09", "14:00 UTC", "2026-03-09", "same_session_intraday"),
    ("2026-03-09", "20:30 UTC", "2026-03-10", "next_session_after_close"),
    # London still UTC+0 until 2026-03-29: 14:15 London = 09:15 EST on 03-02, 10:15 EDT on 03-16
    ("2026-03-02", "14:15 Europe/London", "2026-03-02", "same_session_pre_open"),
    ("2026-03-16", "14:15 Europe/London", "2026-03-16", "same_session_intraday"),
    # after 2026-03-29 London is UTC+1: 14:15 London = 13:15 UTC = 09:15 EDT
    ("2026-03-30", "14:15 Europe/London", "2026-03-30", "same_session_pre_open"),
    # a local time without zone follows New York's switch
    ("2026-03-09", "09:30", "2026-03-09", "same_session_intraday"),
    ("2026-03-09", "15:45 EDT", "2026-03-09", "same_session_intraday"),
])
def test_clock_time_day0(date, time, expected, rule):
    assert day0(date, time) == (expected, rule)


def test_mixed_keywords_and_clock_times_in_one_call():
    s = nyse_sessions()
    dates = pd.Series(pd.to_datetime(["2026-01-21", "2026-01-21", "2025-11-28", "1980-01-02", "2026-01-21"]))
    pos, rule = align_day0(dates, ["after_close", "10:00", "14:00", "10:00", np.nan], s)
    assert [str(s[p].date()) for p in pos[[0, 1, 2, 4]]] == ["2026-01-22", "2026-01-21", "2025-12-01", "2026-01-21"]
    assert rule.tolist() == ["next_session_after_close", "same_session_intraday", "next_session_after_early_close",
                             "", "same_session"]
    assert pos[3] == -1


def test_subset_of_sessions_gives_positions_in_that_subset():
    full = nyse_sessions()
    sub = full[(full >= "2025-10-01") & (full <= "2025-12-31")]
    pos, rule = align_day0(pd.Series(pd.to_datetime(["2025-10-31", "2025-09-15", "2026-02-02"])),
                           ["20:22 UTC", "10:00", "10:00"], sub)
    assert sub[pos[0]] == pd.Timestamp("2025-11-03") and rule[0] == "next_session_after_close"
    assert pos[1:].tolist() == [-1, -1] and rule[1:].tolist() == ["", ""]


def test_session_schedule_knows_early_closes():
    sched = nyse_schedule()
    assert sched.loc["2025-11-28", "close"] == pd.Timestamp("2025-11-28 18:00")   # 13:00 EST in UTC
    assert sched.loc["2026-01-21", "open"] == pd.Timestamp("2026-01-21 14:30")    # 09:30 EST
    assert sched.loc["2025-07-01", "close"] == pd.Timestamp("2025-07-01 20:00")   # 16:00 EDT
    assert bool(sched.loc["2025-11-28", "early_close"]) and bool(sched.loc["2024-12-24", "early_close"])
    assert not bool(sched.loc["2026-01-21", "early_close"])


def test_parse_event_time_fields():
    assert parse_event_time("PRE_MARKET") == EventTime("keyword", "PRE_MARKET", keyword="pre_market")
    t = parse_event_time("15:45:30")
    assert (t.kind, t.hh, t.mm, t.ss, t.zone, t.offset_minutes) == ("clock", 15, 45, 30, "America/New_York", None)
    t = parse_event_time("20:22Z")
    assert (t.kind, t.hh, t.mm, t.offset_minutes, t.zone) == ("clock", 20, 22, 0, None)
    t = parse_event_time("2026-01-21T15:45-05:00")
    assert (t.kind, t.date, t.hh, t.mm, t.offset_minutes) == ("timestamp", dt.date(2026, 1, 21), 15, 45, -300)
    t = parse_event_time("20:22 Europe/London")
    assert (t.zone, t.offset_minutes, t.label) == ("Europe/London", None, "Europe/London")
    assert parse_event_time("15:45 ET").zone == "America/New_York"
    assert parse_event_time("15:45 EDT").offset_minutes == -240
    assert parse_event_time("15:45+05:30").offset_minutes == 330
    assert (parse_event_time("12:00 am").hh, parse_event_time("12:30 PM").hh) == (0, 12)
    assert parse_event_time("15:45 ET").instant("2026-01-21") == pd.Timestamp("2026-01-21 20:45", tz="UTC")


@pytest.mark.parametrize("bad", ["25:00", "15:45 XYZ", "noon", "9:60", "13:00 pm", "15:45 Mars/Olympus",
                                 "2026-02-30T10:00", "15:45+25:00", "", "15", "lunchtime"])
def test_bad_event_times_raise_naming_the_input(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        parse_event_time(bad)
    assert not is_event_time(bad) or bad == ""


def test_is_event_time():
    for good in ["pre_market", "PRE_MARKET", "unknown", "", "15:45", "9:05", "15:45:30", "15:45 ET", "15:45 EST",
                 "20:22 UTC", "20:22Z", "15:45-05:00", "2026-01-21T15:45-05:00", "20:22 Europe/London"]:
        assert is_event_time(good), good
    for bad in ["25:00", "15:45 XYZ", "noon", "pre-market"]:
        assert not is_event_time(bad), bad


def test_problems_that_need_the_event_date():
    # EST written on a summer date: New York is on EDT; a guess either way could move day 0
    assert "EST" in event_time_problem("15:45 EST", "2025-07-01")
    assert event_time_problem("15:45 EST", "2026-01-21") is None
    # a timestamp must agree with event_date (written, UTC or New York date)
    assert "disagrees with event_date 2026-01-21" in event_time_problem("2026-01-23T10:00-05:00", "2026-01-21")
    assert event_time_problem("2026-01-21T23:30-05:00", "2026-01-22") is None      # UTC date 2026-01-22
    assert event_time_problem("2026-01-22T09:00+09:00", "2026-01-22") is None      # written date; NY 01-21
    assert event_time_problem("2026-01-22T09:00+09:00", "2026-01-21") is None      # New York date
    # New York local times skipped / repeated by the daylight saving switch
    assert "does not exist" in event_time_problem("02:30", "2026-03-08")
    assert "occurs twice" in event_time_problem("01:30 ET", "2025-11-02")
    assert event_time_problem("01:30-04:00", "2025-11-02") is None
    assert event_time_problem("noon", "2026-01-21").startswith("event_time 'noon'")
    assert event_time_problem("after_close", "2026-01-21") is None


def test_align_day0_refuses_times_it_cannot_place():
    s = nyse_sessions()
    one = pd.Series([pd.Timestamp("2026-01-21")])
    with pytest.raises(ValueError, match="disagrees with event_date 2026-01-21"):
        align_day0(one, ["2026-01-23T10:00-05:00"], s)
    with pytest.raises(ValueError, match=r"event at position 2 \(event_date 2026-01-21\): event_time 'lunchtime'"):
        align_day0(pd.Series(pd.to_datetime(["2026-01-21"] * 3)), ["10:00", "intraday", "lunchtime"], s)
    with pytest.raises(ValueError, match="EST"):
        align_day0(pd.Series([pd.Timestamp("2025-07-01")]), ["15:45 EST"], s)


def test_timestamp_on_the_next_utc_date_places_the_instant():
    # 23:30 New York on the 21st (after the close), event_date recorded as the UTC date
    assert day0("2026-01-22", "2026-01-21T23:30-05:00") == ("2026-01-22", "next_session_after_close")


def test_vectorised_rule_matches_a_slow_reference():
    """Random instants over 2025 against a plain loop over the exchange-calendars schedule."""
    import exchange_calendars as xcals

    with warnings.catch_warnings():   # exchange_calendars' own pandas deprecation notices
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start="2024-12-01", end="2026-01-31")
    sched = cal.schedule
    rng = np.random.default_rng(20261201)
    n = 3000
    base = pd.Timestamp("2025-01-01", tz="UTC")
    minutes = rng.integers(0, 365 * 24 * 60, n)
    instants = [base + pd.Timedelta(minutes=int(m)) for m in minutes]
    texts = [x.strftime("%Y-%m-%dT%H:%M+00:00") for x in instants]
    dates = [x.strftime("%Y-%m-%d") for x in instants]
    s = nyse_sessions()
    pos, rule = align_day0(pd.Series(pd.to_datetime(dates)), texts, s)
    rows = [(pd.Timestamp(d).tz_localize(None), o, c) for d, o, c in zip(sched.index, sched["open"], sched["close"])]
    for x, p, r in zip(instants, pos, rule):
        ny_day = x.tz_convert("America/New_York").tz_localize(None).normalize()
        k = 0
        while x >= rows[k][2]:            # first session whose close is after the instant
            k += 1
        want, open_, _ = rows[k]
        if x >= open_:
            want_rule = "same_session_intraday"
        elif ny_day == want:
            want_rule = "same_session_pre_open"
        elif rows[k - 1][0] == ny_day:    # the news came on a session day, at or after its close
            early = rows[k - 1][2].tz_convert("America/New_York").hour < 16
            want_rule = "next_session_after_early_close" if early else "next_session_after_close"
        else:
            want_rule = "next_session_non_trading_day"
        assert (s[p], r) == (want, want_rule), x
    assert set(rule) == {"same_session_intraday", "same_session_pre_open", "next_session_after_close",
                         "next_session_after_early_close", "next_session_non_trading_day"}
