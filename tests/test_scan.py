"""The scanner: planted spikes/episodes on SYNTHETIC series found exactly; the real IBRX January 2026 run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy.scan import ScanParams, scan
from eventstudy.sources import InMemorySource
from eventstudy.trading_calendar import nyse_sessions

from conftest import write_events


def _clean(seed=5, n=900, vol_sd=0.25):
    """SYNTHETIC: a quiet stock (σ 2 %/day, log-volume s.d. 0.25) and a benchmark."""
    rng = np.random.default_rng(seed)
    d = nyse_sessions()
    d = d[d >= pd.Timestamp("2018-01-02")][:n]
    m = rng.normal(0, 0.01, n)
    r = 0.8 * m + rng.normal(0, 0.02, n)
    px = 10 * np.exp(np.cumsum(r))
    vol = np.round(np.exp(rng.normal(np.log(1e6), vol_sd, n)))
    frame = lambda p, v: pd.DataFrame({"close": p, "adj_close": p, "volume": v}, index=pd.DatetimeIndex(d, name="date"))  # noqa: E731
    return {"SYNA": frame(px, vol), "SYNMKT": frame(100 * np.exp(np.cumsum(m)), np.full(n, 5e7))}, d


def test_clean_series_has_no_spikes_or_episodes():
    bars, _ = _clean()
    out = scan(["SYNA"], InMemorySource(bars), benchmark="SYNMKT")
    assert out.empty


def test_planted_spikes_are_found_exactly():
    bars, d = _clean()
    planted = [200, 450, 700]
    for i in planted:
        bars["SYNA"].iloc[i, bars["SYNA"].columns.get_loc("volume")] *= 8
    out = scan(["SYNA"], InMemorySource(bars), benchmark="SYNMKT")
    assert list(out["kind"]) == ["spike"] * 3
    assert list(out["date"]) == [d[i] for i in planted]
    assert ((out["vol_ratio_63"] >= 3) | (out["vol_z"] >= 4)).all()


def test_planted_episode_is_found_with_its_shape_and_matched_news():
    bars, d = _clean()
    a = bars["SYNA"].copy()
    r = np.diff(np.log(a["close"].to_numpy()), prepend=np.nan)
    run = slice(500, 512)                                 # 12 sessions of +6 % abnormal moves
    r[run] += np.log(1.06)
    r[512:520] -= np.log(1.03)                            # then a fade
    px = 10 * np.exp(np.nancumsum(np.nan_to_num(r)))
    a["close"] = a["adj_close"] = px
    a.iloc[run, a.columns.get_loc("volume")] *= 5
    bars["SYNA"] = a
    ev = pd.DataFrame([{"event_id": "N1", "ticker": "SYNA", "event_date": d[505].strftime("%Y-%m-%d"),
                        "event_time": "pre_market", "event_type": "short_squeeze", "headline": "planted news"},
                       {"event_id": "FAR", "ticker": "SYNA", "event_date": d[100].strftime("%Y-%m-%d"),
                        "event_time": "pre_market", "event_type": "equity_offering", "headline": "unrelated"}])
    out = scan(["SYNA"], InMemorySource(bars), ev, benchmark="SYNMKT")
    epi = out[out["kind"] == "episode"]
    assert len(epi) == 1
    e = epi.iloc[0]
    assert d.get_loc(e["date"]) in range(495, 502)        # starts at the run, not 15 sessions earlier
    assert e["peak_date"] == d[511]
    assert e["price_return"] == pytest.approx(px[511] / px[d.get_loc(e["date"]) - 1] - 1, rel=1e-12)
    assert e["max_drawdown"] < -0.15                      # the fade after the peak
    assert e["event_ids"] == "N1" and e["headlines"] == "planted news"
    spikes = out[out["kind"] == "spike"]
    assert set(spikes["date"]) <= set(d[500:512])          # volume spikes only inside the run


def test_unknown_ticker_is_reported_not_dropped():
    bars, _ = _clean()
    out = scan(["SYNA", "NOPE"], InMemorySource(bars), benchmark="SYNMKT")
    assert list(out["kind"]) == ["no_prices"] and "NOPE" in out["reason"].iloc[0]


def test_params_are_validated():
    with pytest.raises(ValueError):
        ScanParams(spike_rule="maybe")


def test_ibrx_january_2026_on_bundled_data(root, tmp_path):
    from eventstudy.cli import app

    out = tmp_path / "scan.csv"
    r = CliRunner().invoke(app, ["scan", "IBRX", "--from", "2025-12-01", "--to", "2026-03-31", "--events",
                                 str(root / "events" / "seed_events.csv"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(out, keep_default_na=False)
    spike = s[(s["kind"] == "spike") & (s["date"] == "2026-01-21")].iloc[0]
    assert float(spike["volume"]) == 96_093_500 and float(spike["vol_ratio_63"]) > 3
    assert "SEED-20260121-IBRX-1" in spike["event_ids"]       # the short-covering rally news
    epi = s[s["kind"] == "episode"]
    assert len(epi) == 1
    e = epi.iloc[0]
    assert "2026-01-01" <= e["date"] <= "2026-01-13" and e["peak_date"] == "2026-01-22"
    assert float(e["car"]) > 1.0 and float(e["max_drawdown"]) < 0
    for eid in ("SEED-20260113-IBRX-1", "SEED-20260116-IBRX-1", "SEED-20260121-IBRX-1"):
        assert eid in e["event_ids"]
    assert "episode" in r.output and "2026-01-21" in r.output


def test_missing_benchmark_is_an_error_not_raw_returns():
    from eventstudy import PriceSourceError

    bars, _ = _clean()
    with pytest.raises(PriceSourceError, match="benchmark XBII"):
        scan(["SYNA"], InMemorySource(bars), benchmark="XBII")


def test_raw_returns_only_on_request_and_labelled_as_such():
    """SYNTHETIC: the same planted run scanned market-adjusted and raw; raw rows carry no AR/CAR."""
    bars, d = _clean()
    a = bars["SYNA"].copy()
    r = np.diff(np.log(a["close"].to_numpy()), prepend=np.nan)
    r[500:512] += np.log(1.06)
    a["close"] = a["adj_close"] = 10 * np.exp(np.nancumsum(np.nan_to_num(r)))
    a.iloc[500:512, a.columns.get_loc("volume")] *= 5
    bars["SYNA"] = a
    adj = scan(["SYNA"], InMemorySource(bars), benchmark="SYNMKT")
    raw = scan(["SYNA"], InMemorySource(bars), benchmark=None)
    assert set(adj["measure"]) == {"market_adjusted"} and set(adj["benchmark"]) == {"SYNMKT"}
    assert set(raw["measure"]) == {"raw"} and set(raw["benchmark"]) == {""}
    assert raw["ar"].isna().all() and raw["car"].isna().all()
    e = raw[raw["kind"] == "episode"].iloc[0]
    px = a["adj_close"]
    ret = px.pct_change()
    start, peak = d.get_loc(e["date"]), d.get_loc(e["peak_date"])
    assert e["cum_return"] == pytest.approx(ret.iloc[start:peak + 1].sum(), rel=1e-12)
    ea = adj[adj["kind"] == "episode"].iloc[0]
    s2, p2 = d.get_loc(ea["date"]), d.get_loc(ea["peak_date"])
    mkt = bars["SYNMKT"]["adj_close"].pct_change()
    assert ea["car"] == pytest.approx((ret - mkt).iloc[s2:p2 + 1].sum(), rel=1e-12)


def test_unscannable_tickers_say_why(tmp_path):
    (tmp_path / "BAD.csv").write_text("date,close\n2024-01-02,abc\n")
    (tmp_path / "XBI.csv").write_text("date,close\n2024-01-02,1\n")
    out = scan(["BAD", "NOPE"], str(tmp_path), benchmark="XBI")
    assert list(out["kind"]) == ["bad_price_file", "no_prices"]
    assert "BAD.csv, row 1, field 'close'" in out["reason"].iloc[0]


def test_scan_cli_universe_needs_an_explicit_benchmark_choice(root, tmp_path):
    from eventstudy.cli import app

    r = CliRunner().invoke(app, ["scan", "SRPT", "--prices", "bundled:universe", "--out", str(tmp_path / "a")])
    assert r.exit_code == 1 and "benchmark XBI" in r.output and "--benchmark none" in r.output
    r = CliRunner().invoke(app, ["scan", "SRPT", "--prices", "bundled:universe", "-b", "none", "--events",
                                 str(root / "events" / "fda_decisions.csv"), "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(tmp_path / "b" / "scan.csv", keep_default_na=False)
    assert set(s["measure"]) == {"raw"} and (s["car"] == "").all()
    assert "fda_decisions.csv (843 events)" in r.output      # the event file used is printed
    epi = s[s["kind"] == "episode"]
    assert "CAR" not in r.stdout or epi.empty
    if not epi.empty:
        assert "raw return" in r.stdout


def test_scan_cli_default_events_are_the_bundled_seed_file_whatever_the_folder(tmp_path, monkeypatch):
    from eventstudy.cli import app

    (tmp_path / "events").mkdir()
    write_events(tmp_path / "events" / "seed_events.csv", [
        {"event_id": "LOCAL-1", "ticker": "IBRX", "event_date": "2026-01-21", "event_type": "short_squeeze"}])
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["scan", "IBRX", "--from", "2026-01-01", "--to", "2026-01-31"])
    assert r.exit_code == 0, r.output
    assert "eventstudy/data/events/seed_events.csv (30 events)" in r.output
    s = pd.read_csv(tmp_path / "results" / "scan" / "scan.csv", keep_default_na=False)
    assert "LOCAL-1" not in ";".join(s["event_ids"]) and "SEED-20260121-IBRX-1" in ";".join(s["event_ids"])
    r = CliRunner().invoke(app, ["scan", "IBRX", "--from", "2026-01-01", "--to", "2026-01-31", "--no-events",
                                 "--out", "plain.csv"])
    assert r.exit_code == 0 and "matching no news" in r.output
    assert (pd.read_csv(tmp_path / "plain.csv", keep_default_na=False)["event_ids"] == "").all()
