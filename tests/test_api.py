"""The Python API where pandas users are: frames as prices, events without ids, window strings,
one-line studies, per-event benchmarks and ticker renames. Real bundled prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import eventstudy as es
from eventstudy.quick import event_days, study
from eventstudy.sources import BundledSource


@pytest.fixture(scope="module")
def seed():
    return BundledSource("seed")


def _px(b):
    return b["adj_close"].fillna(b["close"])


def test_one_line_study_matches_a_file_based_study(seed):
    res = study("IBRX", "2026-01-21", event_time="intraday", windows="-1:1")
    ev = pd.DataFrame([{"event_id": "X", "ticker": "IBRX", "event_date": "2026-01-21", "event_time": "intraday",
                        "event_type": "corporate_update"}])
    ref = es.run_study(ev, "bundled", windows=("-1:1",), name="ref")
    assert res.events["event_id"].iloc[0] == "EV-20260121-IBRX-1" and res.events["status"].iloc[0] == "ok"
    assert res.car["car"].iloc[0] == ref.car["car"].iloc[0]
    # the day table is the AR frame itself: cumulated by hand
    days = event_days(res, -1, 1)
    assert days["car_from_start"].iloc[-1] == pytest.approx(days["ar"].sum(), abs=1e-14)
    assert days["car_from_start"].iloc[-1] == pytest.approx(res.car["car"].iloc[0], abs=1e-14)


@pytest.mark.parametrize("shape", ["wide", "long", "dict"])
def test_prices_as_pandas_objects_give_the_same_numbers(seed, shape):
    tickers = ["IBRX", "XBI"]
    if shape == "wide":
        prices = pd.DataFrame({t: _px(seed.bars(t)) for t in tickers})
    elif shape == "long":
        prices = pd.concat({t: seed.bars(t) for t in tickers}, names=["ticker"]).reset_index()
    else:
        prices = {t: seed.bars(t).reset_index().rename(columns={"date": "Date", "close": "Close"}) for t in tickers}
    ref = study("IBRX", "2026-01-21", event_time="intraday", windows=["-1:1", "0:5"])
    got = study("IBRX", "2026-01-21", event_time="intraday", windows=["-1:1", "0:5"], prices=prices)
    np.testing.assert_allclose(got.car["car"], ref.car["car"], rtol=1e-12)


def test_events_without_ids_get_stable_generated_ids():
    ev = pd.DataFrame({"ticker": ["IBRX", "IBRX", "ACLX"], "event_date": ["2026-01-21", "2026-01-21", "2025-11-03"],
                       "event_type": "corporate_update"})
    res = es.run_study(ev, "bundled", windows="0:0")
    assert list(res.events["event_id"]) == ["EV-20251103-ACLX-1", "EV-20260121-IBRX-1", "EV-20260121-IBRX-2"]


def test_per_event_benchmark_equals_separate_studies():
    ev = pd.DataFrame({"event_id": ["A", "B", "C"], "ticker": ["IBRX", "PFE", "IBRX"],
                       "event_date": ["2026-01-21", "2025-11-10", "2025-12-19"], "event_type": "corporate_update",
                       "benchmark": ["xbi", "SPY", ""]})
    mixed = es.run_study(ev, "bundled", windows="-1:1", benchmark="IBB").car.set_index("event_id")["car"]
    for eid, bench in (("A", "XBI"), ("B", "SPY"), ("C", "IBB")):
        alone = es.run_study(ev[ev["event_id"] == eid].drop(columns="benchmark"), "bundled", windows="-1:1",
                             benchmark=bench)
        assert mixed[eid] == pytest.approx(alone.car["car"].iloc[0], rel=1e-12), eid
    res = es.run_study(ev.assign(benchmark=["NOPE", "", ""]), "bundled", windows="-1:1")
    st = res.events.set_index("event_id")
    assert st.loc["A", "status"] == "no_benchmark" and "NOPE" in st.loc["A", "reason"]
    assert st.loc["B", "status"] == "ok" and st.loc["A", "benchmark"] == "NOPE"


def test_ticker_rename_serves_old_symbol_from_new_prices():
    ev = pd.DataFrame({"event_id": ["OLD"], "ticker": ["NANT"], "event_date": ["2026-01-21"],
                       "event_type": "corporate_update", "event_time": "intraday"})
    res = es.run_study(ev, "bundled", windows="-1:1", rename="NANT=IBRX")
    ref = study("IBRX", "2026-01-21", event_time="intraday", windows="-1:1")
    e = res.events.iloc[0]
    assert e["ticker"] == "NANT" and e["price_ticker"] == "IBRX" and e["status"] == "ok"
    assert res.car["car"].iloc[0] == ref.car["car"].iloc[0]
    with pytest.raises(ValueError, match="OLD=NEW"):
        es.StudySpec(rename="NANT:IBRX")


def test_quick_command_prints_days_cars_and_writes_the_chart(tmp_path):
    from typer.testing import CliRunner

    from eventstudy.cli import app

    r = CliRunner().invoke(app, ["quick", "IBRX", "2026-01-21", "--time", "intraday", "--window", "-1:1",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    ref = study("IBRX", "2026-01-21", event_time="intraday", windows="-1:1")
    car = ref.car["car"].iloc[0]
    assert f"{100 * car:8.2f}" in r.output                      # the CAR line, in percent
    assert "day 0 2026-01-21 (same_session)" in r.output
    png = tmp_path / "EV-20260121-IBRX-1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = CliRunner().invoke(app, ["quick", "IBRX", "2031-01-21", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "outside_data" in r.output


def test_run_options_excel_rename_and_factor_units(tmp_path, root):
    from typer.testing import CliRunner

    from conftest import write_events
    from eventstudy.cli import app

    f = write_events(tmp_path / "ev.csv", [{"event_id": "OLD", "ticker": "NANT", "event_date": "2026-01-21",
                                            "event_time": "intraday", "event_type": "corporate_update"}])
    ren = tmp_path / "renames.csv"
    ren.write_text("old,new\nNANT,IBRX\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(f), "--rename", str(ren), "--window", "-1:1", "--excel", "--out", str(out),
                                 "--model", "ff3", "--factor-units", "auto"])
    assert r.exit_code == 0, r.output
    ev = pd.read_csv(out / "events.csv", dtype=str, keep_default_na=False)
    assert ev.loc[0, "price_ticker"] == "IBRX" and ev.loc[0, "status"] == "ok"
    assert (out / "results.xlsx").is_file()
    import json

    man = json.loads((out / "manifest.json").read_text())
    assert man["options"]["rename"] == {"NANT": "IBRX"}
    assert man["data"]["factors"]["units"].startswith("percent")     # the bundled Ken French files
    assert "units: percent" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("NANT IBRX\n")
    r = CliRunner().invoke(app, ["run", str(f), "--rename", str(bad), "--out", str(tmp_path / "o2")])
    assert r.exit_code == 2 and "line 1" in r.output


def test_summary_is_a_frame_and_the_console_table_fits_100_columns(root):
    res = es.run_study(root / "events" / "fda_decisions.csv", "bundled:universe", benchmark="FF-MKT",
                       estimation="-270:-21", windows=["0:0", "-1:1"], group_by="type_subtype")
    frame = res.summary()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns[:5]) == ["type_subtype", "window", "n", "CAAR %",
                                                                           "med %"]
    caar = res.caar.set_index(["event_type", "window"])
    row = frame[(frame["type_subtype"] == "fda_decision/crl") & (frame["window"] == "0:0")].iloc[0]
    ref = caar.loc[("fda_decision/crl", "0:0")]
    assert row["CAAR %"] == round(100 * ref["mean_car"], 2)
    from eventstudy.results import stars
    assert row["t_cs"] == f"{ref['t_cs']:.2f}{stars(ref['p_cs'])}"
    text = res.summary_text()
    table = text.split("\n\n", 1)[1].splitlines()
    assert max(len(line) for line in table) <= 100
    assert any(line.startswith("fda_decision/approval ") for line in table)   # whole group names, never cut
    assert "in percent" in text and "type_subtype" in table[0]
    assert "<table" in res._repr_html_()
    ev = res.events_text()
    assert "CAR 0:0 %" in ev and "(CAR in percent" in ev


def test_wide_price_frame_with_a_repeated_date_is_refused():
    from eventstudy.sources import frames_source

    with pytest.raises(es.PriceSourceError, match="repeated date"):
        frames_source(pd.DataFrame({"date": ["2026-01-02", "2026-01-02"], "IBRX": [1.0, 2.0]}))
