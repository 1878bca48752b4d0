"""Fuzz suite (hypothesis): the loaders raise only the project's own errors, and no event is lost.

* the event loader and the price-file loader on random bytes and on random frames written as
  CSV raise nothing but :class:`eventstudy.EventStudyError` subclasses (never a pandas,
  pyarrow, Unicode or OS error), and what they accept is complete (one bar per price row);
* every valid input event, whatever its id (``001``, ``1e3``, ``NA``, ``null``, ``=cmd``…),
  ticker, date (weekend, far past, far future) or time, keeps exactly one row in events.csv.

Prices in the study fuzz are SYNTHETIC (``eventstudy.synthetic``, seeded). Bounded: each test
runs at most a few seconds.
"""

from __future__ import annotations

import csv
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from eventstudy import EventStudyError
from eventstudy._errors import EventFileError, PriceFileError
from eventstudy._io import neutralize_text
from eventstudy.events import EVENT_COLUMNS, EVENT_TIMES, TAXONOMY, load_events
from eventstudy.sources.csvdir import read_price_csv

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])

# ---- random bytes --------------------------------------------------------------------------------

_csvish = st.lists(st.sampled_from([b",", b";", b"\t", b"\n", b"\r\n", b'"', b"\xef\xbb\xbf", b"\xff\xfe", b"\x00",
                                    b"\xe9", b"date", b"close", b"event_id", b"ticker", b"event_date", b"event_type",
                                    b"2024-01-02", b"2026-01-21T00:00:00-08:00", b"9999-12-31", b"-1", b"1e309",
                                    b"nan", b"NA", b"fda_decision", b"X", b" "]), max_size=40).map(b"".join)
_bytes = st.one_of(st.binary(max_size=300), _csvish)


def _check_events(ev: pd.DataFrame) -> None:
    assert list(ev.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)


def _check_bars(bars: pd.DataFrame) -> None:
    assert bars.index.is_unique and bars.index.is_monotonic_increasing
    assert ((bars.fillna(0) >= 0).all()).all()


@pytest.mark.parametrize("loader,error,check,name", [
    (load_events, EventFileError, _check_events, "ev.csv"),
    (read_price_csv, PriceFileError, _check_bars, "X.csv"),
], ids=["events", "prices"])
@FUZZ
@given(data=_bytes)
def test_loaders_on_random_bytes(tmp_path, loader, error, check, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        out = loader(path)
    except error:
        return
    check(out)


# ---- random frames -------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_dates = st.one_of(st.dates(min_value=pd.Timestamp("1000-01-01").date()).map(str),
                   st.sampled_from(["", "2024-02-30", "2024-13-01", "0001-01-01", "9999-12-31", "20240105",
                                    "2024-01-05T10:00:00-05:00", "1e3"]), _text)


@st.composite
def event_frames(draw):
    n = draw(st.integers(0, 8))
    cols = draw(st.lists(st.sampled_from(EVENT_COLUMNS + ("extra", "Event_ID")), unique=True, max_size=13))
    rows = []
    for _ in range(n):
        row = {}
        for c in cols:
            if c == "event_date":
                row[c] = draw(_dates)
            elif c == "event_type":
                row[c] = draw(st.one_of(st.sampled_from(sorted(TAXONOMY)), _text))
            elif c == "event_time":
                row[c] = draw(st.one_of(st.sampled_from(EVENT_TIMES), _text))
            else:
                row[c] = draw(_text)
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


_num = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.floats(0, 1e6).map(lambda x: f"{x:.4f}"),
                 st.sampled_from(["", "null", "NaN", "NA", "-1", "1,5", " 2 ", "abc", "0"]))
_stamps = st.one_of(st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                                 max_value=pd.Timestamp("2200-01-01").to_pydatetime()).map(lambda d: d.isoformat()),
                    st.dates(min_value=pd.Timestamp("1900-01-01").date()).map(str),
                    st.sampled_from(["2026-01-21T00:00:00-08:00", "2026-01-21 05:00:00+00:00", "garbage", ""]))


@st.composite
def price_frames(draw):
    n = draw(st.integers(0, 12))
    cols = draw(st.lists(st.sampled_from(["date", "Date", "close", "Adj Close", "open", "volume", "high", "low",
                                          "other"]), unique=True, min_size=1, max_size=7))
    data = {c: [draw(_stamps) if c.lower() == "date" else draw(_num) for _ in range(n)] for c in cols}
    return pd.DataFrame(data, columns=cols)


@pytest.mark.parametrize("frames,loader,error,check,name", [
    (event_frames(), load_events, EventFileError, _check_events, "ev.csv"),
    (price_frames(), read_price_csv, PriceFileError, _check_bars, "X.csv"),
], ids=["events", "prices"])
@FUZZ
@given(data=st.data())
def test_loaders_on_random_frames(tmp_path, frames, loader, error, check, name, data):
    frame = data.draw(frames)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    for source in (path, frame) if loader is load_events else (path,):
        try:
            out = loader(source)
        except error:
            continue
        assert len(out) == len(frame)                    # nothing accepted is dropped
        check(out)


# ---- no valid event disappears from events.csv ---------------------------------------------------

@pytest.fixture(scope="module")
def synthetic_source():
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import synthetic_bars

    return InMemorySource(synthetic_bars(3, start="2019-01-02", n_days=400, seed=7), name="synthetic")


_ids = st.one_of(st.sampled_from(["001", "1", "1e3", "NA", "null", "nan", "None", "=1+1", "-5", "+x", "@a", "TRUE"]),
                 st.text(alphabet=string.ascii_letters + string.digits + "-_.,;\"' =+@", min_size=1, max_size=10))
_event_dates = st.one_of(st.dates(min_value=pd.Timestamp("2019-01-01").date(),
                                  max_value=pd.Timestamp("2020-08-01").date()),
                         st.dates(min_value=pd.Timestamp("1678-01-01").date(),
                                  max_value=pd.Timestamp("2261-12-31").date())).map(str)


_printable = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@st.composite
def valid_events(draw):
    n = draw(st.integers(1, 10))
    ids = draw(st.lists(_ids.map(str.strip).filter(bool), min_size=n, max_size=n, unique=True))
    return pd.DataFrame({
        "event_id": ids,
        "ticker": [draw(st.sampled_from(["SYN0000", "SYN0001", "syn0002", "", "NOPE", "SYNMKT"])) for _ in ids],
        "event_date": [draw(_event_dates) for _ in ids],
        "event_time": [draw(st.sampled_from(EVENT_TIMES + ("",))) for _ in ids],
        "event_type": [draw(st.sampled_from(sorted(TAXONOMY))) for _ in ids],
        "headline": [draw(_printable) for _ in ids],
    })


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(events=valid_events())
def test_no_valid_event_disappears_from_events_csv(tmp_path, synthetic_source, events):
    from eventstudy import run_study

    path = tmp_path / "ev.csv"
    events.to_csv(path, index=False, quoting=csv.QUOTE_ALL)
    res = run_study(path, synthetic_source, benchmark="SYNMKT", min_obs=30, estimation="-60:-11")
    out = tmp_path / "out"
    res.to_csv(out)
    got = pd.read_csv(out / "events.csv", dtype=str, keep_default_na=False)
    expected = sorted(neutralize_text(i) for i in events["event_id"])
    assert sorted(got["event_id"]) == expected
    assert got["status"].ne("").all()
