"""The Yahoo source, offline: Yahoo's v8 chart JSON replayed through an injected HTTP session.

The chart fixture holds the real bundled IBRX bars 2025-11-03 → 2026-01-30 in Yahoo's shape
(see fixtures/yahoo/make_chart_fixture.py). Dividends, splits and re-adjustments are added
per test in Yahoo's recorded ``events`` block shape; they are labelled as such.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy._errors import (AccessDeniedError, CorruptCacheError, NetworkError, OfflineCacheMissError,
                                RateLimitedError, ServerError, SourceFailureError, TickerNotFoundError)
from eventstudy.sources import BundledSource
from eventstudy.sources.cache import BarCache, default_cache_dir
from eventstudy.sources.yahoo import YahooSource, classify_response, parse_chart
from yahoo_replay import ReplaySession, curl_replay_session, load_chart

TODAY = dt.date(2026, 1, 31)


@pytest.fixture(autouse=True)
def _fresh_yfinance(tmp_path, monkeypatch):
    """yfinance memoises answers per URL in a process-wide LRU cache: clear it for each test."""
    from yfinance.data import YfData

    YfData.cache_get.cache_clear()
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(tmp_path / "cache"))
    yield
    YfData.cache_get.cache_clear()


SESSIONS = {"requests": ReplaySession, "curl_cffi": curl_replay_session}


def source(tmp_path, session, **kw):
    sleeps = []
    kw.setdefault("today", lambda: TODAY)
    src = YahooSource(cache_dir=tmp_path / "cache", session=session, sleep=sleeps.append, **kw)
    return src, sleeps


def real_ibrx(start="2025-11-03", end="2026-01-30") -> pd.DataFrame:
    return BundledSource().bars("IBRX").loc[start:end]


def ts(day: str) -> int:
    """A daily bar's timestamp as Yahoo sends it (09:30 New York in UTC seconds)."""
    return int(pd.Timestamp(day).tz_localize("America/New_York").replace(hour=9, minute=30).timestamp())


def with_dividend(chart: dict, day: str, amount: float, factor: float) -> dict:
    """Add a dividend in Yahoo's recorded ``events.dividends`` shape and re-adjust earlier adjclose by ``factor``."""
    res = chart["chart"]["result"][0]
    t = ts(day)
    res.setdefault("events", {}).setdefault("dividends", {})[str(t)] = {"amount": amount, "date": t}
    adj = res["indicators"]["adjclose"][0]["adjclose"]
    adj[:] = [a * factor if tt < t else a for a, tt in zip(adj, res["timestamp"])]
    return chart


def with_split(chart: dict, day: str, numerator: float, denominator: float) -> dict:
    """Add a split in Yahoo's ``events.splits`` shape; Yahoo's close and adjclose before it are split-adjusted.

    ``numerator:denominator`` new:old shares, so earlier prices are multiplied by ``denominator / numerator``.
    """
    res = chart["chart"]["result"][0]
    t = ts(day)
    res.setdefault("events", {}).setdefault("splits", {})[str(t)] = {
        "date": t, "numerator": numerator, "denominator": denominator, "splitRatio": f"{numerator:g}:{denominator:g}"}
    f = denominator / numerator
    q = res["indicators"]["quote"][0]
    for k in ("open", "high", "low", "close"):
        q[k] = [v * f if tt < t else v for v, tt in zip(q[k], res["timestamp"])]
    adj = res["indicators"]["adjclose"][0]["adjclose"]
    adj[:] = [a * f if tt < t else a for a, tt in zip(adj, res["timestamp"])]
    return chart


# -- parsing and caching ---------------------------------------------------------------------------
def test_fetch_parses_chart_json_into_bars_and_caches_them(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess)
    bars = src.fetch("IBRX", start="2025-11-01")
    real = real_ibrx()
    assert list(bars.index) == list(real.index)            # exchange-local dates, no tz, no shift
    np.testing.assert_allclose(bars["close"], real["close"].round(4), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(bars["volume"], real["volume"])
    assert bars.loc["2026-01-21", "volume"] == 96_093_500
    _, meta = src.cache.read("IBRX")
    assert (meta["covered_start"], meta["covered_end"]) == ("2025-11-01", "2026-01-30")   # today's bar excluded
    n = len(sess.chart_calls("IBRX"))
    got = src.bars("IBRX", pd.Timestamp("2025-11-10"), pd.Timestamp("2026-01-21"))
    assert len(sess.chart_calls("IBRX")) == n               # covered range: no network
    assert got.index[0] == pd.Timestamp("2025-11-10") and got.index[-1] == pd.Timestamp("2026-01-21")
    assert list(got.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert "source_flags" not in got.attrs


def test_events_block_is_parsed_onto_the_bar_dates():
    chart = with_split(with_dividend(load_chart("IBRX"), "2025-12-15", 0.25, 0.99), "2026-01-05", 1, 10)
    bars = parse_chart(chart)
    assert bars.loc["2025-12-15", "dividends"] == 0.25 and bars["dividends"].sum() == 0.25
    assert bars.loc["2026-01-05", "splits"] == pytest.approx(0.1) and (bars["splits"] != 0).sum() == 1
    # 1:10 reverse split: Yahoo's split-adjusted close before it is ten times the raw fixture close
    raw = parse_chart(load_chart("IBRX"))
    assert bars.loc["2025-12-31", "close"] == pytest.approx(raw.loc["2025-12-31", "close"] * 10)


def test_bars_range_is_inclusive_and_all_sources_take_it(tmp_path):
    from eventstudy.sources import InMemorySource

    s, e = pd.Timestamp("2025-12-01"), pd.Timestamp("2025-12-31")
    src, _ = source(tmp_path, ReplaySession())
    y = src.bars("IBRX", s, e)
    b = BundledSource().bars("IBRX", start=s, end=e)
    m = InMemorySource({"IBRX": BundledSource().bars("IBRX")}).bars("IBRX", s, e)
    for got in (y, b, m):
        assert got.index.min() == pd.Timestamp("2025-12-01") and got.index.max() == pd.Timestamp("2025-12-31")
    np.testing.assert_array_equal(y["volume"], b["volume"])
    assert len(BundledSource().bars("IBRX", end=e)) == len(BundledSource().bars("IBRX").loc[:e])


# -- results do not depend on the cache's age --------------------------------------------------------
def test_a_study_after_a_shorter_fetch_gets_the_same_bars_as_later(tmp_path):
    sess = ReplaySession()
    early, _ = source(tmp_path / "a", sess)
    early.fetch("IBRX", start="2025-12-01")                 # `eventstudy fetch IBRX --start 2025-12-01`
    s, e = pd.Timestamp("2025-11-03"), pd.Timestamp("2026-01-30")
    got = early.bars("IBRX", s, e)                         # the study, minutes later: fetches the head
    fresh, _ = source(tmp_path / "b", ReplaySession())
    want = fresh.bars("IBRX", s, e)
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == 61
    _, meta = early.cache.read("IBRX")
    assert meta["covered_start"] == "2025-11-03"
    head = sess.chart_calls("IBRX")[-1]
    assert dt.datetime.fromtimestamp(int(head["period1"]), dt.timezone.utc).date() <= dt.date(2025, 11, 3)
    n = len(sess.chart_calls())
    pd.testing.assert_frame_equal(early.bars("IBRX", s, e), want)
    assert len(sess.chart_calls()) == n


def test_incremental_refresh_fetches_only_the_tail(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-02")
    assert src.cache.read("IBRX")[0].index.max() == pd.Timestamp("2025-12-31")
    src.fetch("IBRX", start="2025-11-01", end="2026-01-31")
    last = sess.chart_calls("IBRX")[-1]
    first_asked = dt.datetime.fromtimestamp(int(last["period1"]), dt.timezone.utc).date()
    assert dt.date(2025, 12, 20) <= first_asked <= dt.date(2025, 12, 22)   # 10 days before the covered end
    cached, meta = src.cache.read("IBRX")
    assert len(cached) == 61 and cached.index.is_unique and meta["covered_start"] == "2025-11-01"


def test_a_range_ending_today_refreshes_the_tail_and_never_stores_todays_bar(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess, today=lambda: dt.date(2026, 1, 30))
    got = src.bars("IBRX", pd.Timestamp("2025-11-03"), pd.Timestamp("2026-01-30"))
    assert got.index.max() == pd.Timestamp("2026-01-29")     # the 2026-01-30 bar is still forming
    later, _ = source(tmp_path, sess, today=lambda: dt.date(2026, 2, 2))
    n = len(sess.chart_calls())
    got = later.bars("IBRX", pd.Timestamp("2025-11-03"), pd.Timestamp("2026-02-02"))
    assert len(sess.chart_calls()) == n + 1 and got.index.max() == pd.Timestamp("2026-01-30")


# -- adjustment basis ----------------------------------------------------------------------------
def test_a_dividend_newer_than_the_cache_readjusts_all_history(tmp_path):
    chart = load_chart("IBRX")
    sess = ReplaySession({"IBRX": chart})
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-16")
    with_dividend(chart, "2026-01-20", 0.06, 0.99)          # recorded-shape dividend; earlier adjclose × 0.99
    n_before = len(sess.chart_calls("IBRX"))
    bars = src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    calls = sess.chart_calls("IBRX")[n_before:]
    assert len(calls) == 2                                  # the tail, then everything again
    assert dt.datetime.fromtimestamp(int(calls[-1]["period1"]), dt.timezone.utc).date() <= dt.date(2025, 11, 1)
    ratio = bars["adj_close"] / bars["close"]
    np.testing.assert_allclose(ratio.loc[:"2026-01-16"], 0.99, rtol=1e-9)   # the first cached bar too
    np.testing.assert_allclose(ratio.loc["2026-01-20":], 1.0, rtol=1e-9)
    assert "dividend" in src.cache.read("IBRX")[1]["basis_changed"]


def test_a_split_newer_than_the_cache_never_mixes_bases(tmp_path):
    chart = load_chart("IBRX")
    sess = ReplaySession({"IBRX": chart})
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-16")
    with_split(chart, "2026-01-22", 1, 10)                   # a 1:10 reverse split: earlier close × 10
    bars = src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    raw = parse_chart(load_chart("IBRX"))
    np.testing.assert_allclose(bars["close"].loc[:"2026-01-21"], raw["close"].loc[:"2026-01-21"] * 10, rtol=1e-12)
    np.testing.assert_allclose(bars["close"].loc["2026-01-22":], raw["close"].loc["2026-01-22":], rtol=1e-12)


def test_a_late_recorded_action_inside_the_cached_range_triggers_a_full_refetch(tmp_path):
    chart = load_chart("IBRX")
    sess = ReplaySession({"IBRX": chart})
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-12-01")
    # Yahoo records a dividend of 2025-12-05 only now: adjclose before it changes, the tail does not
    with_dividend(chart, "2025-12-05", 0.02, 0.995)
    bars = src.bars("IBRX", pd.Timestamp("2025-11-03"), pd.Timestamp("2026-01-30"))   # head fetch sees it
    ratio = bars["adj_close"] / bars["close"]
    np.testing.assert_allclose(ratio.loc[:"2025-12-04"], 0.995, rtol=1e-9)
    np.testing.assert_allclose(ratio.loc["2025-12-05":], 1.0, rtol=1e-9)
    assert src.cache.read("IBRX")[0].loc["2025-12-05", "dividends"] == 0.02


# -- never throw away a usable cache ------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["offline", 503, 429, 404, 401])
def test_a_failed_refresh_serves_the_cache_with_a_stale_flag(tmp_path, fault):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess, max_retries=1, backoff=0.01)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-16")
    before = src.cache.path("IBRX").read_bytes()
    if fault == "offline":
        sess.offline = True
    else:
        sess.script = [fault] * 6
    got = src.bars("IBRX", pd.Timestamp("2025-11-03"), pd.Timestamp("2026-01-30"))
    flags = got.attrs["source_flags"]
    assert flags["stale_cache"] == "2026-01-15" and got.index.max() == pd.Timestamp("2026-01-15")
    expected = {"offline": "NetworkError", 503: "ServerError", 429: "RateLimitedError", 404: "TickerNotFoundError",
                401: "AccessDeniedError"}[fault]
    assert flags["stale_reason"].startswith(expected)
    assert src.cache.path("IBRX").read_bytes() == before
    assert src.describe()["tickers"]["IBRX"]["stale_cache"] == "2026-01-15"


def test_a_failure_without_usable_cache_raises(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-12-15", end="2026-01-16")
    sess.offline = True
    with pytest.raises(NetworkError):                       # the cache has nothing in this range
        src.bars("IBRX", pd.Timestamp("2025-11-03"), pd.Timestamp("2025-12-01"))
    with pytest.raises(NetworkError):                       # `eventstudy fetch` is strict
        src.fetch("IBRX", start="2025-11-01")


@pytest.mark.parametrize("kind", ["nulls", "empty"])
def test_an_empty_or_null_refetch_never_replaces_cached_bars(tmp_path, kind):
    chart = load_chart("IBRX")
    sess = ReplaySession({"IBRX": chart})
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-16")
    before = src.cache.path("IBRX").read_bytes()
    res = chart["chart"]["result"][0]
    if kind == "nulls":
        q = res["indicators"]["quote"][0]
        for k in q:
            q[k] = [None] * len(q[k])
        res["indicators"]["adjclose"][0]["adjclose"] = [None] * len(res["timestamp"])
    else:
        res["timestamp"] = []
        res["indicators"] = {"quote": [{"open": [], "high": [], "low": [], "close": [], "volume": []}],
                             "adjclose": [{"adjclose": []}]}
    got = src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert "no bars" in got.attrs["source_flags"]["stale_reason"]
    assert got["close"].notna().all() and len(got) == 51
    assert src.cache.path("IBRX").read_bytes() == before


# -- error classes: the same answer gives the same class with either HTTP library -----------------------
@pytest.mark.parametrize("kind", list(SESSIONS))
@pytest.mark.parametrize("fault, error, text", [
    (500, ServerError, "HTTP 500"), (502, ServerError, "HTTP 502"), (503, ServerError, "HTTP 503"),
    (401, AccessDeniedError, "HTTP 401"), (403, AccessDeniedError, "HTTP 403"),
    (429, RateLimitedError, "429"), ("offline", NetworkError, "cannot reach Yahoo"),
    ("hang", NetworkError, "timed out"), (404, TickerNotFoundError, "delisted")])
def test_each_failure_has_its_own_error_class(tmp_path, kind, fault, error, text):
    sess = SESSIONS[kind]()
    src, sleeps = source(tmp_path, sess, max_retries=2, backoff=0.5, timeout=0.1)
    if fault == "offline":
        sess.offline = True
    else:
        sess.script = [fault] * 10
    t0 = time.monotonic()
    with pytest.raises(error, match=text) as info:
        src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert type(info.value) is error
    assert time.monotonic() - t0 < 1.5                      # a hanging connection costs the timeout, not minutes
    assert sleeps == ([0.5, 1.0] if fault in (500, 502, 503, 429) else [])
    assert not src.cache.path("IBRX").exists()


def test_classify_response_table():
    ok = classify_response("X", 400, b'{"chart":{"result":null,"error":{"code":"Bad Request","description":'
                                     b'"Data doesn\'t exist for startDate = 1, endDate = 2"}}}')
    assert ok["chart"]["result"][0]["timestamp"] == []
    with pytest.raises(TickerNotFoundError):
        classify_response("X", 200, b'{"chart":{"result":null,"error":{"code":"Not Found","description":'
                                    b'"No data found, symbol may be delisted"}}}')
    with pytest.raises(ServerError, match="without a readable chart"):
        classify_response("X", 200, b"<html>Will be right back</html>")
    with pytest.raises(SourceFailureError, match="HTTP 418") as info:
        classify_response("X", 418, b"teapot")
    assert type(info.value) is SourceFailureError


def test_401_is_retried_through_yfinance_cookie_and_crumb(tmp_path):
    sess = ReplaySession()
    sess.require_crumb = True
    src, _ = source(tmp_path, sess)
    bars = src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert len(bars) == 61
    assert any(q.get("crumb") == "replayCrumb123" for q in sess.chart_calls("IBRX"))


def test_rate_limit_retries_with_backoff_then_succeeds(tmp_path):
    sess = ReplaySession()
    sess.rate_limit = 2
    src, sleeps = source(tmp_path, sess, max_retries=3, backoff=1.5)
    assert len(src.fetch("IBRX", start="2025-11-01")) == 61
    assert sleeps == [1.5, 3.0]


def test_the_deadline_bounds_retries_and_backoff(tmp_path):
    now = [0.0]
    sess = ReplaySession()
    sess.script = [503] * 10
    src = YahooSource(cache_dir=tmp_path / "cache", session=sess, today=lambda: TODAY, max_retries=10, backoff=2,
                      deadline=7, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(ServerError, match="deadline"):
        src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert now[0] == 6 and len(sess.chart_calls()) == 3     # waited 2 + 4; a further 8 s would pass 7 s


def test_after_consecutive_network_failures_the_rest_fail_fast(tmp_path):
    sess = ReplaySession({"IBRX": load_chart("IBRX"), "XBI": load_chart("IBRX")})
    sess.script = ["hang"] * 10
    src, _ = source(tmp_path, sess, timeout=0.05, max_failures=3)
    for t in ("A", "B", "C"):
        with pytest.raises(NetworkError, match="timed out"):
            src.bars(t, pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    n = len(sess.calls)
    t0 = time.monotonic()
    with pytest.raises(NetworkError, match="not requested: the last 3"):
        src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert len(sess.calls) == n and time.monotonic() - t0 < 0.05


def test_a_found_ticker_resets_the_failure_count(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess, timeout=0.05, max_failures=2)
    sess.script = ["offline"]
    with pytest.raises(NetworkError):
        src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    with pytest.raises(TickerNotFoundError):
        src.bars("NOSUCH", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    sess.script = ["offline"]
    with pytest.raises(NetworkError, match="cannot reach"):
        src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert len(src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))) == 61


def test_both_http_libraries_give_the_same_bars(tmp_path):
    a, _ = source(tmp_path / "a", ReplaySession())
    b, _ = source(tmp_path / "b", curl_replay_session())
    s, e = pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30")
    pd.testing.assert_frame_equal(a.bars("IBRX", s, e), b.bars("IBRX", s, e))


# -- offline mode and the cache file ------------------------------------------------------------------
def test_offline_mode_serves_only_the_cache(tmp_path):
    src, _ = source(tmp_path, ReplaySession())
    src.fetch("IBRX", start="2025-11-01", end="2026-01-16")
    dead = ReplaySession()
    dead.offline = True
    off, _ = source(tmp_path, dead, offline=True)
    assert len(off.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-15"))) == 51
    assert "source_flags" not in off.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-15")).attrs
    part = off.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
    assert part.attrs["source_flags"]["stale_reason"].startswith("offline: the cache covers 2025-11-01..2026-01-15")
    assert dead.calls == []
    with pytest.raises(OfflineCacheMissError, match="eventstudy fetch XBI"):
        off.bars("XBI")


def test_a_corrupt_cache_file_is_named_and_refetched_when_online(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01")
    path = src.cache.path("IBRX")
    path.write_bytes(path.read_bytes()[:200])               # truncated, as by a full disk
    with pytest.raises(CorruptCacheError, match="IBRX.parquet") as info:
        src.cache.read("IBRX")
    assert info.value.path == str(path)
    off, _ = source(tmp_path, sess, offline=True)
    with pytest.raises(CorruptCacheError, match="IBRX.parquet"):
        off.bars("IBRX")
    got = src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))   # online: refetched
    assert len(got) == 61 and len(src.cache.read("IBRX")[0]) == 61
    path.write_bytes(b"not parquet at all")
    sess.offline = True
    with pytest.raises(CorruptCacheError, match="refetching failed: NetworkError|refetching failed"):
        src.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))


def test_cache_location_follows_env_and_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("EVENTSTUDY_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "eventstudy"
    assert BarCache().dir == tmp_path / "xdg" / "eventstudy" / "yahoo"


def test_cache_info_and_clear_from_the_cli(tmp_path):
    from eventstudy.cli import app

    src, _ = source(tmp_path, ReplaySession())
    src.fetch("IBRX", start="2025-11-01")
    (src.cache.dir / "BAD.parquet").write_bytes(b"junk")
    runner = CliRunner()
    r = runner.invoke(app, ["cache", "info"])
    assert r.exit_code == 0, r.output
    assert str(tmp_path / "cache") in r.output
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("IBRX"))
    assert "2025-11-01" in line and "2026-01-30" in line and "61" in line
    assert "corrupt" in next(ln for ln in r.stdout.splitlines() if ln.startswith("BAD"))
    r = runner.invoke(app, ["cache", "clear", "ibrx", "NOPE"])
    assert r.exit_code == 0, r.output
    assert not src.cache.path("IBRX").exists() and src.cache.path("BAD").exists()
    assert "NOPE" in r.stderr
    r = runner.invoke(app, ["cache", "clear"])
    assert r.exit_code == 0 and src.cache.tickers() == []
    for cmd in (["cache", "info", "--help"], ["cache", "clear", "--help"]):
        assert "Example:" in runner.invoke(app, cmd).output


def test_study_runs_on_the_yahoo_cache_offline_from_the_cli(tmp_path, root):
    from eventstudy.cli import app

    src, _ = source(tmp_path, ReplaySession(), start="2025-11-01")
    src.fetch("IBRX", start="2025-11-01")
    ev = tmp_path / "ev.csv"
    ev.write_text("event_id,ticker,event_date,event_type\nE1,IBRX,2026-01-21,short_squeeze\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(ev), "--prices", "yahoo-offline", "--model", "constant-mean",
                                 "--estimation", "-40:-11", "--min-obs", "25", "--window", "0:0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    e = pd.read_csv(out / "events.csv")
    assert e.loc[0, "status"] == "ok" and e.loc[0, "volume_d0"] == 96_093_500


def test_a_fresh_row_without_prices_never_overwrites_a_cached_bar():
    from eventstudy.sources.yahoo import merge_bars

    cached = parse_chart(load_chart("IBRX")).loc[:"2026-01-15"]
    fresh = parse_chart(load_chart("IBRX")).loc["2026-01-12":]
    fresh.loc["2026-01-13", ["open", "high", "low", "close", "adj_close", "volume"]] = np.nan   # Yahoo's null row
    fresh.loc["2026-01-14", "volume"] = 1.0                                                     # a corrected bar
    got = merge_bars(cached, fresh)
    assert got.index.is_unique and got.index.max() == pd.Timestamp("2026-01-30")
    assert got.loc["2026-01-13", "close"] == cached.loc["2026-01-13", "close"]
    assert got.loc["2026-01-14", "volume"] == 1.0


def test_fetch_command_fills_the_cache_and_fails_loudly(tmp_path, monkeypatch):
    import eventstudy.sources.yahoo as ymod
    from eventstudy.cli import app

    sess = ReplaySession()
    monkeypatch.setattr(ymod, "_default_session", lambda: sess)
    runner = CliRunner()
    r = runner.invoke(app, ["fetch", "IBRX", "NOSUCH", "--start", "2025-11-01", "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 1
    assert "IBRX\t61 bars\t2025-11-03..2026-01-30" in r.stdout
    assert "NOSUCH" in r.stderr and "delisted" in r.stderr
    sess.offline = True
    n = len(sess.calls)
    r = runner.invoke(app, ["fetch", "IBRX", "--start", "2025-11-01", "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 0 and len(sess.calls) == n                   # covered through yesterday: no request
    r = runner.invoke(app, ["fetch", "IBRX", "--start", "2025-10-01", "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 1 and "cannot reach Yahoo" in r.stderr     # strict: the head fetch failed


def test_a_version_1_cache_file_is_read_with_its_requested_start(tmp_path):
    src, _ = source(tmp_path, ReplaySession())
    bars = parse_chart(load_chart("IBRX")).loc[:"2026-01-15"]
    BarCache(tmp_path / "cache").write("IBRX", bars, {"start": "2025-11-01", "fetched_utc": "2026-01-16T00:00:00+00:00",
                                                      "version": 1})
    dead = ReplaySession()
    dead.offline = True
    old, _ = source(tmp_path, dead)
    got = old.bars("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-15"))
    assert len(got) == 51 and dead.calls == [] and "source_flags" not in got.attrs



def test_fuzz_malformed_chart_answers_raise_only_source_errors(tmp_path):
    """Random mutations of the chart JSON (types, lengths, nulls) give a SourceFailureError, never a traceback."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    leaf = st.one_of(st.none(), st.integers(-2**40, 2**40), st.floats(allow_nan=True), st.text(max_size=4),
                     st.lists(st.one_of(st.none(), st.integers(0, 2**31), st.text(max_size=2)), max_size=4))
    keys = st.sampled_from(["timestamp", "meta", "events", "indicators", "quote", "adjclose", "close", "volume",
                            "dividends", "splits", "exchangeTimezoneName", "date", "amount"])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.lists(keys, min_size=1, max_size=4), value=leaf)
    def run(path, value):
        import json

        doc = load_chart("IBRX")
        node = doc["chart"]["result"][0]
        node["events"] = {"dividends": {str(ts("2025-12-15")): {"amount": 0.1, "date": ts("2025-12-15")}}}
        for k in path[:-1]:
            nxt = node.get(k) if isinstance(node, dict) else None
            if not isinstance(nxt, dict):
                nxt = node[k] = {} if isinstance(node, dict) else None
            if nxt is None:
                return
            node = nxt
        node[path[-1]] = value
        sess = ReplaySession()
        sess.raw["IBRX"] = json.dumps(doc)
        src, _ = source(tmp_path, sess)
        try:
            src.download("IBRX", pd.Timestamp("2025-11-01"), pd.Timestamp("2026-01-30"))
        except (SourceFailureError, TickerNotFoundError):
            pass

    run()
