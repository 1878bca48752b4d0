"""The yfinance source, offline: Yahoo's v8 chart JSON replayed through an injected session."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy._errors import NetworkError, OfflineCacheMissError, RateLimitedError, TickerNotFoundError
from eventstudy.sources import BundledSource
from eventstudy.sources.yahoo import YahooSource
from yahoo_replay import ReplaySession, load_chart


@pytest.fixture(autouse=True)
def _fresh_yfinance(tmp_path, monkeypatch):
    """yfinance memoises answers per URL in a process-wide LRU cache: clear it for each test."""
    from yfinance.data import YfData

    YfData.cache_get.cache_clear()
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(tmp_path / "cache"))
    yield
    YfData.cache_get.cache_clear()


def source(tmp_path, session, **kw):
    sleeps = []
    src = YahooSource(cache_dir=tmp_path / "cache", session=session, sleep=sleeps.append,
                      today=lambda: dt.date(2026, 1, 31), **kw)
    return src, sleeps


def test_fetch_parses_chart_json_into_bars_and_caches_them(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess)
    bars = src.fetch("IBRX", start="2025-11-01")
    real = BundledSource().bars("IBRX").loc["2025-11-03":"2026-01-30"]
    assert list(bars.index) == list(real.index)            # exchange-local dates, no tz, no shift
    np.testing.assert_allclose(bars["close"], real["close"].round(4), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(bars["volume"], real["volume"])
    assert bars.loc["2026-01-21", "volume"] == 96_093_500
    assert (src.cache.path("IBRX")).is_file()
    # served from the fresh cache: no further chart request
    n = len(sess.chart_calls("IBRX"))
    got = src.bars("IBRX")
    assert len(sess.chart_calls("IBRX")) == n
    assert got["adj_close"].notna().all() and list(got.columns) == ["open", "high", "low", "close", "adj_close",
                                                                    "volume"]


def test_offline_mode_serves_only_the_cache(tmp_path):
    src, _ = source(tmp_path, ReplaySession())
    src.fetch("IBRX", start="2025-11-01")
    dead = ReplaySession()
    dead.offline = True
    off, _ = source(tmp_path, dead, offline=True)
    assert len(off.bars("IBRX")) == 61 and dead.calls == []
    with pytest.raises(OfflineCacheMissError, match="eventstudy fetch XBI"):
        off.bars("XBI")


def test_unknown_ticker_404_is_ticker_not_found(tmp_path):
    src, _ = source(tmp_path, ReplaySession())
    with pytest.raises(TickerNotFoundError, match="NOSUCH"):
        src.fetch("NOSUCH", start="2025-11-01")
    assert not src.cache.path("NOSUCH").exists()


def test_rate_limit_retries_with_backoff_then_succeeds(tmp_path):
    sess = ReplaySession()
    sess.rate_limit = 4   # yfinance itself retries a 4xx once, so each of our attempts costs two 429s
    src, sleeps = source(tmp_path, sess, max_retries=3, backoff=1.5)
    bars = src.fetch("IBRX", start="2025-11-01")
    assert len(bars) == 61
    assert sleeps == [1.5, 3.0]


def test_rate_limit_that_persists_is_a_clear_error(tmp_path):
    sess = ReplaySession()
    sess.rate_limit = 100
    src, sleeps = source(tmp_path, sess, max_retries=2, backoff=1.0)
    with pytest.raises(RateLimitedError, match="429"):
        src.fetch("IBRX", start="2025-11-01")
    assert sleeps == [1.0, 2.0]


def test_network_down_is_a_network_error(tmp_path):
    sess = ReplaySession()
    sess.offline = True
    src, _ = source(tmp_path, sess)
    with pytest.raises(NetworkError, match="cannot reach Yahoo"):
        src.fetch("IBRX", start="2025-11-01")


def test_incremental_refresh_fetches_only_the_tail(tmp_path):
    sess = ReplaySession()
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-02")
    assert src.cache.read("IBRX")[0].index.max() == pd.Timestamp("2025-12-31")
    src.fetch("IBRX", start="2025-11-01", end="2026-01-31")
    last = sess.chart_calls("IBRX")[-1]
    first_asked = dt.datetime.fromtimestamp(int(last["period1"]), dt.timezone.utc).date()
    assert dt.date(2025, 12, 20) <= first_asked <= dt.date(2025, 12, 22)   # 10 days before the cached end
    cached, meta = src.cache.read("IBRX")
    assert len(cached) == 61 and cached.index.is_unique and meta["start"] == "2025-11-01"


def test_readjusted_history_triggers_a_full_refetch(tmp_path):
    chart = load_chart("IBRX")
    sess = ReplaySession({"IBRX": chart})
    src, _ = source(tmp_path, sess)
    src.fetch("IBRX", start="2025-11-01", end="2026-01-02")
    # a new dividend re-adjusts every earlier adj close (factor 0.99)
    adj = chart["chart"]["result"][0]["indicators"]["adjclose"][0]["adjclose"]
    adj[:] = [round(a * 0.99, 6) for a in adj]
    n_before = len(sess.chart_calls("IBRX"))
    bars = src.fetch("IBRX", start="2025-11-01", end="2026-01-31")
    calls = sess.chart_calls("IBRX")[n_before:]
    assert len(calls) == 2                                  # the tail, then everything again
    assert dt.datetime.fromtimestamp(int(calls[-1]["period1"]), dt.timezone.utc).date() <= dt.date(2025, 11, 1)
    np.testing.assert_allclose(bars["adj_close"] / bars["close"], 0.99, rtol=1e-5)


def test_study_runs_on_the_yahoo_cache_offline_from_the_cli(tmp_path, root, monkeypatch):
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
