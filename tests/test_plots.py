"""Figures: the CAAR band by hand; smoke test that `eventstudy plot` redraws everything from CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy.cli import app
from eventstudy.plots import caar_band


def test_caar_band_by_hand():
    aar = pd.DataFrame({"rel_day": [0, 1, 2], "n": [10, 10, 10], "aar": [0.02, -0.01, 0.005],
                        "caar": [0.02, 0.01, 0.015], "t_cs": [2.0, -0.5, 0.25]})
    b = caar_band(aar)
    se = np.array([0.01, 0.02, 0.02])                       # |aar / t|
    half = 1.959963984540054 * np.sqrt(np.cumsum(se**2))
    np.testing.assert_allclose(b["lo"], aar["caar"] - half, rtol=1e-12)
    np.testing.assert_allclose(b["hi"], aar["caar"] + half, rtol=1e-12)


def test_plot_command_draws_every_figure(tmp_path):
    out = tmp_path / "demo"
    assert CliRunner().invoke(app, ["demo", "--out", str(out), "-q"]).exit_code == 0
    r = CliRunner().invoke(app, ["plot", str(out), "--max-events", "3"])
    assert r.exit_code == 0, r.output
    figs = sorted(p.relative_to(out / "figures").as_posix() for p in (out / "figures").rglob("*.png"))
    assert {"caar.png", "abnormal_volume.png", "car_distribution_-1_1.png", "car_distribution_0_5.png"} <= set(figs)
    assert len([f for f in figs if f.startswith("events/")]) == 3
    for f in (out / "figures").rglob("*.png"):
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 5000


def test_plot_on_a_folder_without_results_is_exit_1(tmp_path):
    r = CliRunner().invoke(app, ["plot", str(tmp_path)])
    first, *rest = r.output.strip().splitlines()
    assert r.exit_code == 1 and first.startswith("error: ") and "no manifest.json" in first
    assert all(ln.startswith("hint: ") for ln in rest)


def test_group_labels_shared_by_statistics_and_plots():
    from eventstudy.results import group_labels

    ev = pd.DataFrame({"event_type": ["fda_decision", "fda_decision", "m_and_a"], "subtype": ["crl", "", "approval"]})
    assert group_labels(ev).tolist() == ["fda_decision", "fda_decision", "m_and_a"]
    assert group_labels(ev, "subtype").tolist() == ["crl", "(none)", "approval"]
    assert group_labels(ev, "type_subtype").tolist() == ["fda_decision/crl", "fda_decision/(none)", "m_and_a/approval"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots") / "demo"
    assert CliRunner().invoke(app, ["demo", "--out", str(out), "-q"]).exit_code == 0
    return out


def _figure_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_drawing_leaves_global_matplotlib_state_alone(demo, monkeypatch):
    import matplotlib
    from matplotlib.figure import Figure

    from eventstudy.export import read_results
    from eventstudy.plots import draw_all, plot_abnormal_volume, plot_caar, plot_car_distribution

    def no_use(*a, **k):
        raise AssertionError("plots must not select a matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", no_use)
    before = matplotlib.rcParams.copy()
    backend = matplotlib.rcParams._get("backend")
    draw_all(demo, max_events=2)
    res = read_results(demo)
    for draw in (lambda ax: plot_caar(res.aar, ax=ax), lambda ax: plot_abnormal_volume(res.aar, ax=ax),
                 lambda ax: plot_car_distribution(res.car, res.events, "-1:1", ax=ax)):
        ax = Figure().add_subplot()
        assert draw(ax) is ax and (ax.lines or ax.collections)
    # matplotlib may resolve its own automatic backend choice (boxplot reads every rcParam): not forced
    after = matplotlib.rcParams._get("backend")
    assert after == backend or backend is matplotlib.rcsetup._auto_backend_sentinel
    assert {k: v for k, v in matplotlib.rcParams.copy().items() if k != "backend"} == \
        {k: v for k, v in before.items() if k != "backend"}


def test_parallel_drawing_writes_the_same_files_and_reads_each_ticker_once(demo, tmp_path):
    import shutil

    from eventstudy.export import read_results
    from eventstudy.plots import draw_all
    from eventstudy.sources import BundledSource

    class Counting(BundledSource):
        def __init__(self):
            super().__init__("seed")
            self.calls: list[str] = []

        def bars(self, ticker, *a, **k):
            self.calls.append(ticker)
            return super().bars(ticker, *a, **k)

    other = tmp_path / "demo"
    shutil.copytree(demo, other)
    shutil.rmtree(other / "figures", ignore_errors=True)
    draw_all(demo, "bundled", max_events=40, workers=1, cache_dir=False)
    src, seen = Counting(), []
    paths = draw_all(other, src, max_events=40, workers=2, progress=lambda k, n: seen.append((k, n)), cache_dir=False)
    one, two = _figure_files(demo / "figures"), _figure_files(other / "figures")
    assert set(one) == set(two) and len(paths) == len(seen) == seen[-1][1] == seen[-1][0]
    assert [k for k, _ in seen] == list(range(1, len(paths) + 1))
    for name in one:                             # prices= differs ("bundled" vs the object): the only change
        if name != "figures.json":
            assert one[name] == two[name], name
    ev = read_results(demo).events
    tickers = set(ev.loc[ev["status"] == "ok", "ticker"])
    assert len(ev[ev["status"] == "ok"]) > len(tickers)          # some ticker has several events
    assert sorted(src.calls) == sorted(tickers | {"XBI"})       # each ticker (and the benchmark) read once


def test_results_plot_and_report(tmp_path):
    from matplotlib.figure import Figure

    import eventstudy as es

    res = es.run_study(str(Path(__file__).resolve().parents[1] / "events" / "seed_events.csv"), prices="bundled",
                       model="market", benchmark="XBI")
    for kind in ("caar", "car", "volume", "event"):
        ax = Figure().add_subplot()
        assert res.plot(kind, ax=ax) is ax and (ax.lines or ax.patches), kind
    eid = res.events.loc[res.events["status"] == "ok", "event_id"].iloc[-1]
    ax = res.plot("event", event_id=eid, ax=Figure().add_subplot())
    assert str(res.events.set_index("event_id").loc[eid, "ticker"]) in ax.get_title()
    with pytest.raises(ValueError, match="kind must be one of"):
        res.plot("pie")
    with pytest.raises(ValueError, match="no studied event"):
        res.plot("event", event_id="nope")
    path = res.report(tmp_path / "out")
    assert path == tmp_path / "out" / "report.html" and path.is_file()
    assert (tmp_path / "out" / "figures" / "caar.png").is_file() and "data:image/png;base64" in path.read_text()


def test_only_changed_figures_are_drawn_again(tmp_path, monkeypatch):
    """The figure cache: a second plot draws nothing and writes the same bytes; after re-running with
    other windows only the window figures are drawn; other prices for a ticker redraw its chart."""
    import eventstudy.plots as plots
    from eventstudy import run_study
    from eventstudy.sources import BundledSource, InMemorySource

    drawn: list = []
    real = plots._draw_jobs

    def counting(jobs, *a, **k):
        drawn.append([j[0] for j in jobs])
        return real(jobs, *a, **k)

    monkeypatch.setattr(plots, "_draw_jobs", counting)
    cache = tmp_path / "figcache"
    ev = tmp_path / "ev.csv"
    ev.write_text("event_id,ticker,event_date,event_type\nA,IBRX,2026-01-21,short_squeeze\n"
                  "B,PFE,2025-11-10,fda_decision\n")
    run_study(ev, "bundled", windows=("0:0",)).to_csv(tmp_path / "r1")
    first = plots.draw_all(tmp_path / "r1", cache_dir=cache)
    assert drawn[-1].count("event") == 2
    again = plots.draw_all(tmp_path / "r1", cache_dir=cache)
    assert drawn[-1] == [] and [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    run_study(ev, "bundled", windows=("0:0", "0:5")).to_csv(tmp_path / "r1")     # other windows, same events
    plots.draw_all(tmp_path / "r1", cache_dir=cache)
    assert "event" not in drawn[-1] and "car_distribution" in drawn[-1]
    seed = BundledSource("seed")
    bars = {t: seed.bars(t) for t in ("IBRX", "PFE", "XBI")}
    bars["PFE"] = bars["PFE"].assign(adj_close=bars["PFE"]["adj_close"] * 1.01, close=bars["PFE"]["close"] * 1.01)
    src = InMemorySource(bars)
    plots.draw_all(tmp_path / "r1", src, cache_dir=cache)
    assert drawn[-1].count("event") == 1                      # PFE's prices changed: its chart only
