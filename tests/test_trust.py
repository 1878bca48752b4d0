"""Issue 8, study side: no event disappears, no degenerate event looks significant, every exclusion
from the statistics has a reason, source failures are loud. SYNTHETIC prices (seeded, SYN…)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy import StudySpec, run_study
from eventstudy._errors import NetworkError
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars

from conftest import write_events

runner = CliRunner()


@pytest.fixture(scope="module")
def syn():
    return synthetic_bars(6, start="2016-01-04", n_days=700, seed=21)


def _ev(rows):
    return pd.DataFrame([{"event_type": "fda_decision", **r} for r in rows])


def _day(bars, k, t="SYN0000"):
    return bars[t].index[k].strftime("%Y-%m-%d")


def test_constant_price_and_benchmark_clone_are_degenerate_not_significant(syn):
    bars = dict(syn)
    flat = syn["SYN0001"].copy()
    flat[["open", "high", "low", "close", "adj_close"]] = 12.5
    bars["FLAT"] = flat
    bars["CLONE"] = syn[BENCHMARK].copy()
    ev = _ev([{"event_id": "F", "ticker": "FLAT", "event_date": _day(syn, 400, "SYN0001")},
              {"event_id": "C", "ticker": "CLONE", "event_date": _day(syn, 420, "SYN0001")},
              {"event_id": "N", "ticker": "SYN0002", "event_date": _day(syn, 430, "SYN0002")}])
    for model in ("market", "market-adjusted", "constant-mean"):
        res = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, model=model))
        st = res.events.set_index("event_id")
        assert st.loc["F", "status"] == "degenerate_model", model
        assert "price is constant" in st.loc["F", "reason"]
        if model != "constant-mean":   # the clone's own return varies: only a benchmark model makes it degenerate
            assert st.loc["C", "status"] == "degenerate_model", model
        assert st.loc["N", "status"] == "ok"
        num = res.caar.select_dtypes("number").to_numpy()
        assert np.all(np.abs(num[np.isfinite(num)]) < 1e6), model   # no 1e16 t-statistics


def test_exact_duplicates_count_once_with_a_reason(syn):
    d = _day(syn, 400)
    ev = _ev([{"event_id": f"X{k}", "ticker": "SYN0000", "event_date": d, "subtype": "approval"} for k in (3, 1, 2)]
             + [{"event_id": "Y", "ticker": "SYN0000", "event_date": d, "subtype": "crl"}])
    res = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK))
    st = res.events.set_index("event_id")
    assert list(st.index) == ["X1", "X2", "X3", "Y"]          # every input event keeps its row (canonical order)
    assert st["status"].eq("ok").all()
    assert set(st.index[st["in_stats"]]) == {"X1", "Y"}       # the smallest id of the group is kept
    assert st.loc["X3", "stats_reason"].startswith("duplicate of X1")
    assert "duplicate_of=X1" in st.loc["X2", "data_flags"]
    assert res.caar.query("event_type == 'ALL' and window == '0:0'")["n"].iloc[0] == 2
    assert any("duplicate 2" in n for n in res.notes)
    keep = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, duplicates="keep"))
    assert keep.in_stats.sum() == 4


def test_incomplete_window_is_flagged_and_require_complete_takes_it_out(syn):
    bars = dict(syn)
    b = syn["SYN0003"]
    k = 450
    bars["SYN0003"] = b.drop(index=b.index[[k + 2, k + 3]])       # two missing days inside 0:5
    ev = _ev([{"event_id": "I", "ticker": "SYN0003", "event_date": _day(syn, k, "SYN0003")},
              {"event_id": "L", "ticker": "SYN0004", "event_date": _day(syn, len(b) - 3, "SYN0004")},  # runs off the end
              {"event_id": "C", "ticker": "SYN0002", "event_date": _day(syn, 400, "SYN0002")}])
    spec = StudySpec(benchmark=BENCHMARK, windows=((0, 0), (0, 5)))
    res = run_study(ev, InMemorySource(bars), spec)
    st = res.events.set_index("event_id")
    assert "incomplete_window[0:5]=4/6" in st.loc["I", "data_flags"]
    assert "incomplete_window[0:5]=3/6" in st.loc["L", "data_flags"]
    assert "incomplete_window" not in st.loc["C", "data_flags"]
    assert st["in_stats"].all()
    strict = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, windows=((0, 0), (0, 5)),
                                                           require_complete=True))
    st = strict.events.set_index("event_id")
    assert list(st.index[st["in_stats"]]) == ["C"]
    assert "incomplete_window[0:5]=4/6" in st.loc["I", "stats_reason"]
    assert any("require_complete" in n for n in strict.notes)   # the rule is said in the summary
    assert strict.caar.query("event_type == 'ALL' and window == '0:0'")["n"].iloc[0] == 1


def test_unadjusted_split_in_window_is_counted_and_can_be_excluded(syn):
    bars = dict(syn)
    b = syn["SYN0001"].copy()
    k = 400
    cols = ["open", "high", "low", "close", "adj_close"]
    b.loc[b.index[k + 2]:, cols] = b.loc[b.index[k + 2]:, cols] / 10.0     # an unadjusted 10:1 split on day +2
    bars["SYN0001"] = b
    ev = _ev([{"event_id": "S", "ticker": "SYN0001", "event_date": _day(syn, k, "SYN0001")},
              {"event_id": "C", "ticker": "SYN0002", "event_date": _day(syn, k, "SYN0002")}])
    res = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK))
    st = res.events.set_index("event_id")
    assert "evt:price_jump=1" in st.loc["S", "data_flags"] and st.loc["S", "in_stats"]
    assert any("evt:price_jump 1" in n for n in res.notes)
    gated = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, exclude_flags="price_jump"))
    st = gated.events.set_index("event_id")
    assert not st.loc["S", "in_stats"] and st.loc["C", "in_stats"]
    assert "evt:price_jump=1" in st.loc["S", "stats_reason"]
    # an estimation-only exclusion does not touch an event-span flag
    est_only = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, exclude_flags="est:price_jump"))
    assert est_only.events.set_index("event_id").loc["S", "in_stats"]


def test_overlap_exclusions_name_the_other_event_and_the_rule(syn):
    rows = [{"event_id": i, "ticker": "SYN0004", "event_date": _day(syn, k, "SYN0004")}
            for i, k in (("A1", 400), ("A2", 403), ("A3", 600))]
    ev = _ev(rows)
    drop = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, overlap="drop")).events.set_index("event_id")
    assert drop.loc["A1", "stats_reason"].startswith("overlaps A2") and "'drop'" in drop.loc["A1", "stats_reason"]
    assert drop.loc["A3", "stats_reason"] == "" and drop.loc["A3", "in_stats"]
    first = run_study(ev.iloc[::-1], InMemorySource(syn), StudySpec(benchmark=BENCHMARK, overlap="first"))
    st = first.events.set_index("event_id")
    assert st.loc["A2", "stats_reason"].startswith("overlaps the earlier event A1") and st.loc["A1", "in_stats"]


def test_user_columns_pass_through_and_overlap_lists_stay_short(syn):
    rows = [{"event_id": f"E{k:02d}", "ticker": "SYN0005", "event_date": _day(syn, 400 + k, "SYN0005"),
             "notes": "=1+1", "source_url": "https://example.org/pr", "log_mcap": 20.5 + k, "status": "mine"}
            for k in range(8)]
    res = run_study(_ev(rows), InMemorySource(syn), StudySpec(benchmark=BENCHMARK))
    st = res.events.set_index("event_id")
    assert st.loc["E03", "log_mcap"] == str(23.5) and st.loc["E00", "source_url"] == "https://example.org/pr"
    assert st.loc["E00", "notes"] == "=1+1" and st.loc["E00", "input_status"] == "mine"
    assert st.loc["E00", "status"] == "ok"
    assert st.loc["E00", "n_overlaps"] == 7
    assert st.loc["E00", "overlaps"] == "E01;E02;E03;E04;E05;…(+2)"


class _FailingSource:
    """Serves SYN bars but fails like a network outage for one ticker."""

    name = "failing"

    def __init__(self, bars, broken):
        self._inner, self._broken = InMemorySource(bars), broken

    def bars(self, ticker, start=None, end=None):
        if ticker.upper() == self._broken:
            raise NetworkError(f"{ticker}: cannot reach the source (connection refused)")
        out = self._inner.bars(ticker)
        if ticker.upper() == "SYN0002":
            out.attrs["source_flags"] = {"stale_cache": "2018-09-28", "stale_reason": "rate limited (HTTP 429)"}
        return out

    def describe(self):
        return {"source": self.name}


def test_source_failure_is_its_own_status_and_stale_cache_is_flagged(syn):
    ev = _ev([{"event_id": "B", "ticker": "SYN0001", "event_date": _day(syn, 400, "SYN0001")},
              {"event_id": "S", "ticker": "SYN0002", "event_date": _day(syn, 400, "SYN0002")},
              {"event_id": "G", "ticker": "SYN0003", "event_date": _day(syn, 400, "SYN0003")}])
    res = run_study(ev, _FailingSource(syn, "SYN0001"), StudySpec(benchmark=BENCHMARK))
    st = res.events.set_index("event_id")
    assert st.loc["B", "status"] == "source_error" and "NetworkError" in st.loc["B", "reason"]
    assert "stale_cache=2018-09-28" in st.loc["S", "data_flags"] and st.loc["S", "status"] == "ok"
    assert any("rate limited" in n for n in res.notes)
    assert res.meta["n_source_errors"] == 1


def test_cli_exits_non_zero_on_source_errors_unless_allowed(syn, tmp_path, monkeypatch):
    import eventstudy.study as study_mod
    from eventstudy.cli import app

    monkeypatch.setattr(study_mod, "open_source", lambda spec: _FailingSource(syn, "SYN0001"))
    f = write_events(tmp_path / "ev.csv", [
        {"event_id": "B", "ticker": "SYN0001", "event_date": _day(syn, 400, "SYN0001"), "event_type": "fda_decision"},
        {"event_id": "G", "ticker": "SYN0003", "event_date": _day(syn, 400, "SYN0003"), "event_type": "fda_decision"}])
    args = ["run", str(f), "-b", BENCHMARK, "--out", str(tmp_path / "out")]
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "price source failed for 1 event(s) (SYN0001)" in r.output
    ev = pd.read_csv(tmp_path / "out" / "events.csv", dtype=str, keep_default_na=False)
    assert ev.set_index("event_id").loc["B", "status"] == "source_error"   # the rest is written, marked
    r = runner.invoke(app, args + ["--allow-source-errors"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, args + ["--allow-source-errors", "--exclude-flags", "price_jump,evt:stale_bars",
                                   "--require-complete", "--duplicates", "keep"])
    assert r.exit_code == 0, r.output


def test_rows_still_marked_for_review_are_named_in_the_notes(syn):
    ev = _ev([{"event_id": "R", "ticker": "SYN0001", "event_date": _day(syn, 400, "SYN0001"), "needs_review": "no_ticker"},
              {"event_id": "A", "ticker": "SYN0002", "event_date": _day(syn, 400, "SYN0002"), "needs_review": ""}])
    res = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK))
    assert [n for n in res.notes if "needs_review" in n] == [
        "1 event(s) are still marked needs_review in the event file (e.g. R): check them with `eventstudy events "
        "review` and clear the column once accepted"]


def test_report_lists_the_events_left_out_of_the_statistics(syn, tmp_path):
    from eventstudy.report import write_report

    d = _day(syn, 400)
    ev = _ev([{"event_id": f"X{k}", "ticker": "SYN0000", "event_date": d} for k in (1, 2, 3)]
             + [{"event_id": "A1", "ticker": "SYN0004", "event_date": _day(syn, 400, "SYN0004")},
                {"event_id": "A2", "ticker": "SYN0004", "event_date": _day(syn, 403, "SYN0004")}])
    res = run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, overlap="first", windows=("0:5",)))
    res.to_csv(tmp_path / "r")
    html = write_report(tmp_path / "r").read_text()
    assert "Studied but not in the statistics (3)" in html
    assert "duplicate of X1" in html and "overlaps the earlier event A1" in html


def test_event_charts_never_fall_back_to_another_price_source(syn, tmp_path):
    """A study on in-memory prices cannot be reopened: no per-event chart, and a note saying so (before,
    the bundled prices were used silently)."""
    import json

    from eventstudy.plots import draw_all

    ev = _ev([{"event_id": "S", "ticker": "SYN0001", "event_date": _day(syn, 400, "SYN0001")}])
    run_study(ev, InMemorySource(syn), StudySpec(benchmark=BENCHMARK, windows=("0:0",))).to_csv(tmp_path / "r")
    paths = draw_all(tmp_path / "r")
    assert not any("events" in p.parts for p in paths)
    notes = json.loads((tmp_path / "r" / "figures" / "figures.json").read_text())["notes"]
    assert any("do not name a price source" in n for n in notes)
