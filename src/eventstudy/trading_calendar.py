"""News time → trading day: the NYSE session calendar and the day-0 rule.

Day 0 is the first NYSE session in which the news could be traded:

* ``pre_market``, ``intraday`` or ``unknown`` on a session day → that session;
* ``after_close`` on a session day → the next session;
* any time on a weekend or holiday → the next session.

The calendar is ``exchange_calendars``' XNYS, which includes unscheduled closures
(e.g. 2025-01-09, the national day of mourning).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

CALENDAR_START = "1990-01-02"

#: codes stored in ``day0_rule``
SAME_SESSION = "same_session"
NEXT_AFTER_CLOSE = "next_session_after_close"
NEXT_NON_TRADING = "next_session_non_trading_day"


@lru_cache(maxsize=1)
def nyse_sessions() -> pd.DatetimeIndex:
    """All XNYS sessions from 1990 to the calendar's end (about a year ahead), tz-naive."""
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():  # exchange_calendars' own pandas deprecation notices
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start=CALENDAR_START)
    return pd.DatetimeIndex(cal.sessions.tz_localize(None) if cal.sessions.tz else cal.sessions).astype(
        "datetime64[ns]"
    )


def align_day0(event_dates: pd.Series | np.ndarray, event_times: pd.Series | np.ndarray,
               sessions: pd.DatetimeIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Map news dates and times to day-0 positions in ``sessions``.

    Returns ``(pos, rule)``: ``pos[i]`` is the index of day 0 in ``sessions`` (−1 when the
    date lies outside the calendar) and ``rule[i]`` one of ``same_session``,
    ``next_session_after_close``, ``next_session_non_trading_day`` (empty when ``pos`` is −1).
    """
    sessions = nyse_sessions() if sessions is None else sessions
    days = pd.DatetimeIndex(pd.to_datetime(np.asarray(event_dates))).normalize().astype("datetime64[ns]")
    times = np.asarray(event_times, dtype=object)
    sess = sessions.to_numpy()
    pos = np.searchsorted(sess, days.to_numpy(), side="left")
    inside = (pos < len(sess)) & (days.to_numpy() >= sess[0])
    is_session = np.zeros(len(days), dtype=bool)
    is_session[inside] = sess[pos[inside]] == days.to_numpy()[inside]
    after = times == "after_close"
    pos = pos + (is_session & after)
    rule = np.where(~is_session, NEXT_NON_TRADING, np.where(after, NEXT_AFTER_CLOSE, SAME_SESSION)).astype(object)
    bad = ~inside | (pos >= len(sess))
    pos = np.where(bad, -1, pos)
    rule[bad] = ""
    return pos.astype(np.int64), rule
