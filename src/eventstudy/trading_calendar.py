"""News time → trading day: the NYSE session calendar and the day-0 rule.

Day 0 is the first NYSE session in which the news could be traded.

``event_time`` is either a keyword (case-insensitive; an empty value means ``unknown``):

* ``pre_market``, ``intraday`` or ``unknown`` on a session day → that session (``same_session``);
* ``after_close`` on a session day → the next session (``next_session_after_close``);
* any keyword on a weekend or holiday → the next session (``next_session_non_trading_day``);

or a clock time, alone or with a zone, or a full ISO timestamp:
``15:45``, ``9:05``, ``15:45:30``, ``3:45 pm``, ``15:45 ET``, ``15:45 EST``, ``20:22 UTC``, ``20:22Z``,
``15:45-05:00``, ``20:22 Europe/London``, ``2026-01-21T15:45-05:00``.

* A clock time **without a zone is New York time** (``America/New_York``, EST or EDT as applies).
* ``ET``/``CT``/``MT``/``PT`` are the US zones with their daylight saving time; ``EST``/``EDT``,
  ``CST``/``CDT``, ``MST``/``MDT``, ``PST``/``PDT`` are the fixed offsets they name, and writing
  one on a date when that zone observes the other (``15:45 EST`` in July) is a problem
  (:func:`event_time_problem`), not a guess: write ``ET`` for local time.
* ``UTC``, ``GMT``, ``Z`` and offsets ``±HH:MM`` / ``±HHMM`` / ``±HH`` are fixed; any other zone must
  be an IANA name with a slash (``Europe/London``, ``Asia/Tokyo``).
* Fractions of a second are dropped (the session bounds are whole seconds).
* A local time that does not exist or occurs twice in its zone (the daylight saving switch) is a
  problem: write an explicit offset.

The news instant is ``event_date`` + clock time in its zone (for a timestamp, its own date and
offset). A timestamp must agree with ``event_date``: ``event_date`` must equal the date as
written, the UTC date or the New York date of the instant; otherwise it is a problem. The
instant in New York time then gives day 0 from the XNYS session opens and closes (early closes
such as 13:00 on the day after Thanksgiving included):

===================================================  =================================
instant                                              day 0, ``day0_rule``
===================================================  =================================
before the open of a session on that New York date   that session, ``same_session_pre_open``
at or after the open, before the close               that session, ``same_session_intraday``
at or after the close (16:00)                        next session, ``next_session_after_close``
at or after an early close                           next session, ``next_session_after_early_close``
on a New York date without a session                 next session, ``next_session_non_trading_day``
===================================================  =================================

The calendar is ``exchange_calendars``' XNYS, which includes unscheduled closures
(e.g. 2025-01-09, the national day of mourning).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

CALENDAR_START = "1990-01-02"
NEW_YORK = "America/New_York"

#: codes stored in ``day0_rule``
SAME_SESSION = "same_session"
NEXT_AFTER_CLOSE = "next_session_after_close"
NEXT_NON_TRADING = "next_session_non_trading_day"
SAME_PRE_OPEN = "same_session_pre_open"
SAME_INTRADAY = "same_session_intraday"
NEXT_AFTER_EARLY_CLOSE = "next_session_after_early_close"
DAY0_RULES: tuple[str, ...] = (SAME_SESSION, NEXT_AFTER_CLOSE, NEXT_NON_TRADING, SAME_PRE_OPEN, SAME_INTRADAY,
                               NEXT_AFTER_EARLY_CLOSE)

#: ``event_time`` keywords (matched case-insensitively)
TIME_KEYWORDS: tuple[str, ...] = ("pre_market", "intraday", "after_close", "unknown")

#: zone abbreviations: name → (IANA zone, fixed offset in minutes or None for the zone's local time)
ZONE_ABBREVIATIONS: dict[str, tuple[str, int | None]] = {
    "ET": (NEW_YORK, None), "EST": (NEW_YORK, -300), "EDT": (NEW_YORK, -240),
    "CT": ("America/Chicago", None), "CST": ("America/Chicago", -360), "CDT": ("America/Chicago", -300),
    "MT": ("America/Denver", None), "MST": ("America/Denver", -420), "MDT": ("America/Denver", -360),
    "PT": ("America/Los_Angeles", None), "PST": ("America/Los_Angeles", -480), "PDT": ("America/Los_Angeles", -420),
    "UTC": ("UTC", 0), "GMT": ("UTC", 0), "Z": ("UTC", 0),
}

_CLOCK = r"(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2})(?:[.,]\d+)?)?(?:\s*(?P<ampm>[ap]\.?m\.?))?"
_ZONE = r"(?:\s*(?P<off>[+-]\d{2}(?::?\d{2})?)|\s*(?P<z>Z)|\s+(?P<name>[A-Za-z][A-Za-z0-9_+\-/]*))?"
_RE_CLOCK = re.compile(rf"^{_CLOCK}{_ZONE}$", re.IGNORECASE)
_RE_STAMP = re.compile(rf"^(?P<date>\d{{4}}-\d{{2}}-\d{{2}})[T ]{_CLOCK}{_ZONE}$", re.IGNORECASE)


@dataclass(frozen=True)
class EventTime:
    """A parsed ``event_time``.

    ``kind`` is ``keyword`` (``keyword`` set), ``clock`` (``hh``, ``mm``, ``ss``) or ``timestamp``
    (a clock with its own ``date``). The zone is ``zone`` (an IANA name; ``America/New_York`` when
    none was written) unless ``offset_minutes`` (a fixed offset from UTC) is set; ``label`` is the
    zone as written (``""`` when none).
    """

    kind: str
    text: str
    keyword: str | None = None
    hh: int = 0
    mm: int = 0
    ss: int = 0
    zone: str | None = None
    offset_minutes: int | None = None
    label: str = ""
    date: _dt.date | None = None

    @property
    def tzinfo(self) -> _dt.tzinfo:
        """The zone as a ``tzinfo`` (fixed offset or IANA zone)."""
        if self.offset_minutes is not None:
            return _dt.timezone(_dt.timedelta(minutes=self.offset_minutes))
        return _zoneinfo(self.zone or NEW_YORK)

    def instant(self, event_date) -> pd.Timestamp:
        """The news instant in UTC for an event on ``event_date``; ``ValueError`` naming the input
        when the time cannot be placed (keyword; local time skipped or repeated by a daylight saving
        switch; ``EST`` on a summer date; a timestamp whose date disagrees with ``event_date``)."""
        problem = self._problem(event_date)
        if problem:
            raise ValueError(problem)
        return self._instant(event_date)

    def _local(self, event_date) -> _dt.datetime:
        day = self.date if self.date is not None else pd.Timestamp(event_date).date()
        return _dt.datetime(day.year, day.month, day.day, self.hh, self.mm, self.ss)

    def _instant(self, event_date) -> pd.Timestamp:
        return pd.Timestamp(self._local(event_date).replace(tzinfo=self.tzinfo)).tz_convert("UTC")

    def _problem(self, event_date) -> str | None:
        if self.kind == "keyword":
            return f"event_time {self.text!r} is a keyword, not a clock time"
        local = self._local(event_date)
        if self.offset_minutes is None:
            tz = self.tzinfo
            a, b = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
            if a.utcoffset() != b.utcoffset():
                back = a.astimezone(_dt.timezone.utc).astimezone(tz).replace(tzinfo=None)
                what = "does not exist" if back != local else "occurs twice"
                return (f"event_time {self.text!r}: {local:%Y-%m-%d %H:%M:%S} {self.zone} {what} (daylight saving "
                        f"switch); write an explicit UTC offset, e.g. '{local:%H:%M}-05:00', or the UTC time")
        elif self.label.upper() in ZONE_ABBREVIATIONS and ZONE_ABBREVIATIONS[self.label.upper()][0] != "UTC":
            zone, minutes = ZONE_ABBREVIATIONS[self.label.upper()]
            actual = local.replace(tzinfo=_zoneinfo(zone)).utcoffset()
            if actual != _dt.timedelta(minutes=minutes):
                return (f"event_time {self.text!r}: {self.label.upper()} is UTC{_fmt_offset(minutes)} but on "
                        f"{local:%Y-%m-%d} {zone} is at UTC{_fmt_offset(int(actual.total_seconds() // 60))}; "
                        f"write {self.label.upper()[0]}T for local time or give the offset")
        if self.date is not None and event_date is not None and not pd.isna(event_date):
            want = pd.Timestamp(event_date).date()
            inst = self._instant(event_date)
            dates = {self.date, inst.date(), inst.tz_convert(NEW_YORK).date()}
            if want not in dates:
                return (f"event_time {self.text!r} is on {self.date} (UTC {inst.date()}, New York "
                        f"{inst.tz_convert(NEW_YORK).date()}), which disagrees with event_date {want}")
        return None


def _fmt_offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@lru_cache(maxsize=64)
def _zoneinfo(name: str) -> _dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def parse_event_time(text: str) -> EventTime:
    """Parse an ``event_time`` value (see the module docstring for the accepted forms).

    Raises ``ValueError`` naming the input when it is none of them (``25:00``, ``15:45 XYZ``,
    ``noon``, an empty string).
    """
    if not isinstance(text, str):
        raise ValueError(f"event_time {text!r} is not text")
    s = text.strip()
    if s.lower() in TIME_KEYWORDS:
        return EventTime("keyword", text, keyword=s.lower())
    m = _RE_STAMP.match(s)
    kind = "timestamp" if m else "clock"
    m = m or _RE_CLOCK.match(s)
    if not m:
        raise ValueError(f"event_time {text!r} is neither one of {', '.join(TIME_KEYWORDS)} nor a clock time "
                         "such as 15:45, 15:45 ET, 20:22 UTC, 15:45-05:00 or 2026-01-21T15:45-05:00")
    hh, mm, ss = int(m["hh"]), int(m["mm"]), int(m["ss"] or 0)
    if m["ampm"]:
        if not 1 <= hh <= 12:
            raise ValueError(f"event_time {text!r}: hour {hh} is not 1-12 with am/pm")
        hh = hh % 12 + (12 if m["ampm"].lower().startswith("p") else 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise ValueError(f"event_time {text!r} is not a valid clock time (00:00:00-23:59:59)")
    date = None
    if kind == "timestamp":
        try:
            date = _dt.date.fromisoformat(m["date"])
        except ValueError:
            raise ValueError(f"event_time {text!r}: {m['date']!r} is not a valid date") from None
    zone, offset, label = NEW_YORK, None, ""
    if m["off"]:
        digits = m["off"][1:].replace(":", "")
        h, mi = int(digits[:2]), int(digits[2:] or 0)
        if h > 23 or mi > 59:
            raise ValueError(f"event_time {text!r}: {m['off']!r} is not a valid UTC offset")
        zone, offset, label = None, (h * 60 + mi) * (-1 if m["off"][0] == "-" else 1), m["off"]
    elif m["z"] or m["name"]:
        label = m["z"] or m["name"]
        if label.upper() in ZONE_ABBREVIATIONS:
            zone, offset = ZONE_ABBREVIATIONS[label.upper()]
            zone = None if offset is not None else zone
        elif "/" in label:
            from zoneinfo import ZoneInfoNotFoundError

            try:
                _zoneinfo(label)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"event_time {text!r}: unknown time zone {label!r} (use an IANA name such as "
                                 "Europe/London)") from None
            zone = label
        else:
            raise ValueError(f"event_time {text!r}: unknown time zone {label!r} (known: "
                             f"{', '.join(ZONE_ABBREVIATIONS)}, UTC offsets like -05:00, or an IANA name such as "
                             "Europe/London)")
    return EventTime(kind, text, hh=hh, mm=mm, ss=ss, zone=zone, offset_minutes=offset, label=label, date=date)


def is_event_time(text) -> bool:
    """True when ``text`` is a valid ``event_time`` by itself (keyword or clock time; empty means
    ``unknown`` and is valid). Use :func:`event_time_problem` to check it against ``event_date``."""
    return event_time_problem(text) is None


def event_time_problem(text, event_date=None) -> str | None:
    """Why ``text`` is not a valid ``event_time`` for an event on ``event_date`` (``None`` when it is).

    Without ``event_date`` only the syntax is checked; with it also the daylight saving switch,
    ``EST``-style abbreviations against the date, and a timestamp's agreement with ``event_date``.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)) or (isinstance(text, str) and not text.strip()):
        return None
    try:
        et = parse_event_time(text)
    except ValueError as exc:
        return str(exc)
    if et.kind == "keyword" or event_date is None or pd.isna(event_date):
        return None
    return et._problem(event_date)


@lru_cache(maxsize=1)
def _xnys():
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():  # exchange_calendars' own pandas deprecation notices
        warnings.simplefilter("ignore")
        return xcals.get_calendar("XNYS", start=CALENDAR_START)


def _calendar_from_xcals() -> dict[str, np.ndarray]:
    """Sessions, open/close instants (int64 ns, tz-naive UTC) and early closes from exchange-calendars."""
    cal = _xnys()
    sessions = pd.DatetimeIndex(cal.sessions.tz_localize(None) if cal.sessions.tz else cal.sessions).astype(
        "datetime64[ns]")
    sched = cal.schedule
    close_ny = sched["close"].dt.tz_convert(NEW_YORK)
    return {"sessions": sessions.asi8,
            "open": sched["open"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy()
            .view("int64"),
            "close": sched["close"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy()
            .view("int64"),
            "early_close": (close_ny.dt.hour * 60 + close_ny.dt.minute < 16 * 60).to_numpy()}


def _calendar_cache_file() -> Path:
    """Cache file of the XNYS arrays, keyed on exchange-calendars' version, the calendar start and today's
    date (the calendar's end moves with the date): a new version or a new day builds it afresh."""
    from importlib.metadata import version

    from .sources.cache import default_cache_dir

    key = f"{version('exchange-calendars')}-{CALENDAR_START}-{pd.Timestamp.today().date()}"
    return default_cache_dir() / "calendar" / f"xnys-{key}.npz"


@lru_cache(maxsize=1)
def _calendar() -> dict[str, np.ndarray]:
    """The XNYS arrays, from the cache file when there is one (importing and building exchange-calendars
    costs ~1 s of start-up), else built and cached atomically. A cache that cannot be read or written is
    ignored (the arrays are then built each run: same answer, slower)."""
    path = _calendar_cache_file()
    try:
        with np.load(path) as z:
            return {k: z[k] for k in ("sessions", "open", "close", "early_close")}
    except (OSError, ValueError, KeyError):
        pass
    arrays = _calendar_from_xcals()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass
    return arrays


@lru_cache(maxsize=1)
def nyse_sessions() -> pd.DatetimeIndex:
    """All XNYS sessions from 1990 to the calendar's end (about a year ahead), tz-naive."""
    return pd.DatetimeIndex(_calendar()["sessions"].view("datetime64[ns]"))


@lru_cache(maxsize=1)
def nyse_schedule() -> pd.DataFrame:
    """XNYS session ``open`` and ``close`` (tz-naive UTC, ``datetime64[ns]``) and ``early_close``
    (closing before 16:00 New York time), indexed like :func:`nyse_sessions`."""
    c = _calendar()
    return pd.DataFrame({"open": c["open"].view("datetime64[ns]"), "close": c["close"].view("datetime64[ns]"),
                         "early_close": c["early_close"].astype(bool)}, index=nyse_sessions())


def _normalize_times(event_times, n: int) -> np.ndarray:
    """Stripped ``event_time`` text; empty, None and NaN become ``unknown``, keywords lower case.

    Text times are normalised once per distinct value (a study has a handful of them); any other value
    (a number, a time object) goes through pandas' string conversion as a whole column."""
    raw = np.asarray(event_times, dtype=object)
    if len(raw) != n:
        raise ValueError(f"{len(raw)} event times for {n} event dates")
    codes, uniq = pd.factorize(raw)                     # None, NaN and NA: code −1
    if all(type(v) is str for v in uniq):
        norm = [v.strip() for v in uniq]
        norm = [t.lower() if t.lower() in TIME_KEYWORDS else t or "unknown" for t in norm]
        return np.array(norm + ["unknown"], dtype=object)[codes]
    s = pd.Series(raw, dtype=object)
    text = s.astype("string").str.strip().fillna("")
    low = text.str.lower()
    out = np.where(low.isin(TIME_KEYWORDS).to_numpy(), low.to_numpy(dtype=object), text.to_numpy(dtype=object))
    out = np.where(out == "", "unknown", out).astype(object)
    return out


def clock_instants(event_dates, event_times) -> np.ndarray:
    """News instants (``datetime64[ns]``, UTC) of events whose ``event_time`` is a clock time or a
    timestamp; NaT for keywords. ``ValueError`` naming the event position, date and time for any
    time that cannot be parsed or placed (see :meth:`EventTime.instant`)."""
    days = pd.DatetimeIndex(pd.to_datetime(np.asarray(event_dates))).normalize()
    times = _normalize_times(event_times, len(days))
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
    for i in np.flatnonzero(~pd.Series(times).isin(TIME_KEYWORDS).to_numpy()):   # clock times only
        try:
            out[i] = parse_event_time(times[i]).instant(days[i]).tz_localize(None).to_datetime64()
        except ValueError as exc:
            raise ValueError(f"event at position {i} (event_date {str(days[i])[:10]}): {exc}") from None
    return out


def align_day0(event_dates: pd.Series | np.ndarray, event_times: pd.Series | np.ndarray,
               sessions: pd.DatetimeIndex | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Map news dates and times to day-0 positions in ``sessions``.

    Returns ``(pos, rule)``: ``pos[i]`` is the index of day 0 in ``sessions`` (−1 when the
    date lies outside the calendar) and ``rule[i]`` one of :data:`DAY0_RULES` (empty when
    ``pos`` is −1): keyword times give ``same_session``, ``next_session_after_close`` or
    ``next_session_non_trading_day``; clock times and timestamps ``same_session_pre_open``,
    ``same_session_intraday``, ``next_session_after_close``, ``next_session_after_early_close`` or
    ``next_session_non_trading_day`` (rules in the module docstring). Keywords are matched
    case-insensitively; empty or missing times are ``unknown``. Raises ``ValueError`` naming the
    event for a time that is neither (validate event files first: :func:`event_time_problem`).
    """
    sessions = nyse_sessions() if sessions is None else sessions
    days = pd.DatetimeIndex(pd.to_datetime(np.asarray(event_dates))).normalize().astype("datetime64[ns]")
    times = _normalize_times(event_times, len(days))
    sess = sessions.to_numpy()
    pos = np.searchsorted(sess, days.to_numpy(), side="left")
    inside = (pos < len(sess)) & (days.to_numpy() >= sess[0])
    is_session = np.zeros(len(days), dtype=bool)
    is_session[inside] = sess[pos[inside]] == days.to_numpy()[inside]
    after = times == "after_close"
    pos = pos + (is_session & after)
    rule = np.where(~is_session, NEXT_NON_TRADING, np.where(after, NEXT_AFTER_CLOSE, SAME_SESSION)).astype(object)
    bad = ~inside | (pos >= len(sess))

    clock = ~np.isin(times, list(TIME_KEYWORDS))
    if clock.any():
        c_pos, c_rule, c_bad = _align_instants(clock_instants(days, times)[clock], sessions)
        pos[clock], rule[clock], bad[clock] = c_pos, c_rule, c_bad
    pos = np.where(bad, -1, pos)
    rule[bad] = ""
    return pos.astype(np.int64), rule


def _align_instants(instants: np.ndarray, sessions: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day-0 position, rule and out-of-calendar flag of UTC instants (vectorised over events).

    Day 0 is the first session whose close is after the instant; the rule compares the instant with
    that session's open and the New York date of the instant with the sessions around it.
    """
    sched = nyse_schedule().reindex(sessions)
    if sched["open"].isna().any():
        missing = sessions[sched["open"].isna().to_numpy()]
        raise ValueError(f"{len(missing)} session(s) not in the XNYS calendar (first {missing[0].date()}): "
                         "clock-time event times need the NYSE session opens and closes")
    opens, closes = sched["open"].to_numpy(), sched["close"].to_numpy()
    early, sess = sched["early_close"].to_numpy(dtype=bool), sessions.to_numpy()
    ny_date = (pd.DatetimeIndex(instants).tz_localize("UTC").tz_convert(NEW_YORK).tz_localize(None)
               .normalize().to_numpy())
    pos = np.searchsorted(closes, instants, side="right")
    n = len(sess)
    bad = (pos >= n) | ((pos == 0) & (ny_date < sess[0]))
    p = np.clip(pos, 0, n - 1)
    prev = np.clip(pos - 1, 0, n - 1)
    intraday = instants >= opens[p]
    pre_open = ~intraday & (ny_date == sess[p])
    after_close = ~intraday & ~pre_open & (pos > 0) & (ny_date == sess[prev])
    rule = np.full(len(instants), NEXT_NON_TRADING, dtype=object)
    rule[after_close] = np.where(early[prev][after_close], NEXT_AFTER_EARLY_CLOSE, NEXT_AFTER_CLOSE)
    rule[pre_open] = SAME_PRE_OPEN
    rule[intraday] = SAME_INTRADAY
    return pos, rule, bad
