"""When did the news become public: dates, times and the NYSE session.

Sources of a date, in order of trust (each recorded in ``evidence``):

* a release stamp that states its zone: ``January 21, 2026 07:00 AM Eastern Standard Time`` →
  that instant, mapped to the NYSE session, confidence ``high`` (nothing assumed);
* a wire dateline: ``NORWOOD, Mass., Oct. 31, 2025 (GLOBE NEWSWIRE) --`` → that calendar date
  (US Eastern by the wire's convention), time ``unknown``, confidence ``medium``;
* an aggregator timestamp: ``This story appeared on breakingthenews.net , 2025-10-31 20:22:00`` →
  interpreted in the time zone :data:`SOURCE_TZ` assumes for that site (UTC for the feed's
  aggregator stamps; the assumption is written in the evidence and the time is flagged
  ``inferred_time``), converted to US Eastern and mapped to ``pre_market`` / ``intraday`` /
  ``after_close`` with the XNYS calendar (real open and close, early closes included). It is the
  time the aggregator *showed* the story, so an upper bound on the release time;
* a newsletter item date ``[US • 21 Jan 2026]`` → the date of the linked article, which can
  trail the primary release: confidence ``low``, flagged ``secondary_date``;
* a date in a wire URL (``/news-release/2025/10/31/``) → used to corroborate the dateline, or
  alone with ``needs_review=url_date``.

Nothing else is a date: a date in running text (``On Dec. 31, 2019``) is history, not the
release date. No date → ``event_date`` empty and ``needs_review=no_date``: never today's date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

ET = ZoneInfo("America/New_York")

#: Time zone assumed for the timestamps each site prints (host suffix → IANA zone).
#: ``breakingthenews.net`` stamps as seen in the feed dump are UTC: its Pfizer/Metsera stamp
#: (20:22) sits with another aggregator's 04:17 UTC+8 stamp (= 20:17 UTC) for the same story.
SOURCE_TZ: dict[str, str] = {"breakingthenews.net": "UTC", "biztoc.com": "UTC"}
DEFAULT_TZ = "UTC"

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_WIRES = r"GLOBE NEWSWIRE|BUSINESS WIRE|PR ?NEWSWIRE|ACCESSWIRE|ACCESS Newswire|Newsfile|EQS[- ]News"
DATELINE = re.compile(rf"(?P<place>[A-Z][^\n()]{{0,80}}?),?\s+(?P<mon>[A-Z][a-z]{{2,8}})\.?\s+(?P<day>\d{{1,2}}),\s+"
                      rf"(?P<year>\d{{4}})\s*(?:/PRNewswire/|\((?P<wire>{_WIRES})\))", re.I)
TIMESTAMP = re.compile(r"appeared on\s+(?P<site>[\w.-]+)\s*,\s*(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)")
#: A release's own stamp with a stated zone: ``January 21, 2026 07:00 AM Eastern Standard Time``.
STATED_TS = re.compile(r"(?P<mon>[A-Z][a-z]{2,8})\.? (?P<day>\d{1,2}), (?P<year>\d{4}),? (?:at )?"
                       r"(?P<h>\d{1,2}):(?P<mi>\d{2}) ?(?P<ampm>[AaPp])\.?[Mm]\.? "
                       r"(?P<tz>E[SD]?T|P[SD]?T|C[SD]?T|UTC|GMT|Eastern(?: Standard| Daylight)? Time|"
                       r"Pacific(?: Standard| Daylight)? Time|Central(?: Standard| Daylight)? Time)\b")
_TZ_NAMES = {"E": "America/New_York", "P": "America/Los_Angeles", "C": "America/Chicago", "U": "UTC", "G": "UTC"}
URL_DATE = re.compile(r"/(20\d{2})/(\d{2})/(\d{2})/")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class Timing:
    event_date: date | None
    event_time: str = "unknown"
    confidence: str = "low"
    evidence: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)


def _month(name: str) -> int | None:
    return _MONTHS.get(name[:3].lower())


def parse_dateline(text: str) -> tuple[date, str] | None:
    """The first wire dateline in ``text`` as ``(date, matched text)``."""
    for m in DATELINE.finditer(text):
        mon = _month(m["mon"])
        if mon:
            try:
                return date(int(m["year"]), mon, int(m["day"])), m.group(0).strip()
            except ValueError:
                continue
    return None


def parse_header_date(s: str) -> date | None:
    """``21 Jan 2026`` → date (newsletter item header)."""
    m = re.fullmatch(r"(\d{1,2}) ([A-Za-z]{3,9}) (\d{4})", s.strip())
    if not m or not _month(m[2]):
        return None
    return date(int(m[3]), _month(m[2]), int(m[1]))


def site_tz(site: str) -> str:
    site = site.lower()
    for host, tz in SOURCE_TZ.items():
        if site == host or site.endswith("." + host):
            return tz
    return DEFAULT_TZ


def session_time(ts_et: pd.Timestamp) -> str:
    """``pre_market`` / ``intraday`` / ``after_close`` for an Eastern-time instant.

    On an XNYS session day the session's real open and close are used (early closes included);
    on other days the regular 09:30 / 16:00 boundaries.
    """
    from ..trading_calendar import nyse_sessions

    day = pd.Timestamp(ts_et.date())
    if day in nyse_sessions():
        import warnings

        import exchange_calendars as xcals

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = xcals.get_calendar("XNYS")
            open_, close = cal.session_open(day).tz_convert(ET), cal.session_close(day).tz_convert(ET)
    else:
        open_ = pd.Timestamp(datetime(day.year, day.month, day.day, 9, 30), tz=ET)
        close = pd.Timestamp(datetime(day.year, day.month, day.day, 16, 0), tz=ET)
    if ts_et < open_:
        return "pre_market"
    return "intraday" if ts_et < close else "after_close"


def timestamp_timing(site: str, stamp: str, tz: str | None = None) -> Timing:
    """Date and session from an aggregator timestamp read in the zone assumed for ``site``.

    The evidence states the assumed zone and whether the result would change if the stamp were
    US Eastern instead; the time is always flagged ``inferred_time``.
    """
    tz = tz or site_tz(site)
    ts = pd.Timestamp(stamp).tz_localize(tz).tz_convert(ET)
    et_time = session_time(ts)
    alt = pd.Timestamp(stamp).tz_localize(ET)
    alt_time = session_time(alt)
    robust = (alt.date() == ts.date() and alt_time == et_time)
    ev = [f"date: aggregator timestamp '{site} , {stamp}' read as {tz} (assumed for {site}) = "
          f"{ts:%Y-%m-%d %H:%M} ET",
          f"time: {et_time} by the XNYS session of {ts.date()} (upper bound: when the aggregator showed the story); "
          + ("same result if the stamp were US Eastern" if robust else
             f"would be {alt.date()} {alt_time} if the stamp were US Eastern")]
    return Timing(ts.date(), et_time, "medium", ev, ["inferred_time"])


def stated_timing(text: str) -> Timing | None:
    """Date and session from a stamp that states its own zone (no assumption needed): confidence
    ``high``, the time is not flagged."""
    m = STATED_TS.search(text)
    if not m or not _month(m["mon"]):
        return None
    hour = int(m["h"]) % 12 + (12 if m["ampm"].lower() == "p" else 0)
    zone = _TZ_NAMES[m["tz"][0].upper()]
    local = pd.Timestamp(datetime(int(m["year"]), _month(m["mon"]), int(m["day"]), hour, int(m["mi"])), tz=zone)
    ts = local.tz_convert(ET)
    sess = session_time(ts)
    return Timing(ts.date(), sess, "high", [f"date: release stamp '{m.group(0)}' = {ts:%Y-%m-%d %H:%M} ET",
                                             f"time: {sess} by the XNYS session of {ts.date()}"])


def weekday_check(text: str, d: date) -> str:
    """A note when the text names a weekday ("on Friday") that is not ``d``'s weekday."""
    named = {w for w in _WEEKDAYS if re.search(rf"\b(?:on|last|this)\s+{w}\b", text, re.I)}
    if not named:
        return ""
    actual = _WEEKDAYS[d.weekday()]
    if actual in named:
        return f"date: the text says '{actual.title()}', consistent"
    return f"date: the text names {', '.join(sorted(w.title() for w in named))} but the date is a {actual.title()}"


def find_timing(text: str, url: str = "", header_date: str = "") -> Timing:
    """Date, session time, confidence and evidence for one item (see the module docstring)."""
    url_d = None
    if (um := URL_DATE.search(url or "")):
        try:
            url_d = date(int(um[1]), int(um[2]), int(um[3]))
        except ValueError:
            url_d = None
    dl = parse_dateline(text)
    stamp = TIMESTAMP.search(text)
    stated = stated_timing(text)
    if stated:
        t = stated
        if dl and dl[0] != t.event_date:
            t.evidence.append(f"date: dateline '{dl[1]}' says {dl[0]}")
            t.review.append("date_conflict")
    elif dl:
        t = Timing(dl[0], "unknown", "medium", [f"date: wire dateline '{dl[1]}'", "time: not stated (unknown)"])
        if url_d and url_d != dl[0]:
            t.evidence.append(f"date: URL date {url_d} differs from the dateline")
            t.review.append("date_conflict")
        elif url_d:
            t.evidence.append("date: URL date agrees")
    elif stamp:
        t = timestamp_timing(stamp["site"], stamp["ts"])
    elif header_date and (hd := parse_header_date(header_date)):
        t = Timing(hd, "unknown", "low", [f"date: newsletter item date '{header_date}' (date of the linked "
                                          "article; may trail the primary release)", "time: not stated (unknown)"],
                   ["secondary_date"])
    elif url_d:
        t = Timing(url_d, "unknown", "low", [f"date: only the URL's date path ({url_d})"], ["url_date"])
    else:
        named = [w.title() for w in _WEEKDAYS if re.search(rf"\b{w}\b", text, re.I)]
        t = Timing(None, "unknown", "low",
                   ["date: none in the item" + (f" (names {', '.join(named)} without a calendar date)" if named else "")],
                   ["no_date"])
    if t.event_date is not None and (note := weekday_check(text, t.event_date)):
        t.evidence.append(note)
        if "but the date" in note:
            t.review.append("date_conflict")
    if t.event_date is not None and (note := non_session_note(t.event_date)):
        t.evidence.append(note)
    return t


def non_session_note(d: date) -> str:
    """A note when ``d`` is not an NYSE session (weekend or holiday): day 0 is the next session."""
    from ..trading_calendar import nyse_sessions

    sessions = nyse_sessions()
    day = pd.Timestamp(d)
    if day < sessions[0] or day > sessions[-1] or day in sessions:
        return ""
    nxt = sessions[sessions.searchsorted(day)]
    return f"date: {d} ({_WEEKDAYS[d.weekday()].title()}) is not an NYSE session; day 0 is the next session {nxt.date()}"
