"""Chunked studies give the in-memory study's answer: statistics merged from per-chunk sufficient
statistics equal the whole-study statistics (1e-12), events and frames are identical, and what cannot be
chunked is refused. Synthetic, seeded data (not market data)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from eventstudy import StudySpec, run_study
from eventstudy._errors import EventStudyError
from eventstudy.chunked import plan_chunks
from eventstudy.engine import fork_available
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events


@pytest.fixture(scope="module")
def data():
    bars = synthetic_bars(40, start="2012-01-03", n_days=800, seed=11)
    ev = synthetic_events(bars, 900, seed=12)
    # a few exact duplicates and same-ticker clusters, so the rules that compare events are exercised
    ev = pd.concat([ev, ev.iloc[:15].assign(event_id=lambda d: d["event_id"] + "-dup")], ignore_index=True)
    return bars, ev


def assert_tables_close(a: pd.DataFrame, b: pd.DataFrame, rtol: float = 1e-12) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if a[c].dtype.kind in "fi":
            x, y = x.astype(float), y.astype(float)
            assert np.array_equal(np.isnan(x), np.isnan(y)), c
            np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-300, err_msg=c)
        else:
            assert (a[c].astype(str) == b[c].astype(str)).all(), c


@pytest.mark.parametrize("opts", [{}, {"overlap": "first", "group_by": "event_type"}, {"model": "constant-mean"}])
def test_chunked_equals_in_memory(data, opts):
    bars, ev = data
    spec = StudySpec(benchmark=BENCHMARK, **opts)
    whole = run_study(ev, InMemorySource(bars, name="syn"), spec)
    parts = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=150)
    assert parts.meta["chunks"]["n_chunks"] > 3
    assert_tables_close(whole.caar, parts.caar)
    assert_tables_close(whole.aar, parts.aar)
    pd.testing.assert_frame_equal(whole.events, parts.events)
    for name in ("ar", "car", "volume"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(parts, name))
    assert parts.notes[:-1] == whole.notes
    assert "chunk" in parts.notes[-1]
    assert parts.events_text() == whole.events_text()          # --show-events reads no panel
    # the statistics really are non-trivial (a test that cannot fail is a defect)
    assert whole.caar["n"].iloc[0] > 300 and np.isfinite(whole.caar["grank_t"]).all()


def test_second_pass_reads_each_chunks_spill_in_place_then_deletes_it(data, monkeypatch):
    """The second pass maps a chunk's pack file of SARs and rank codes (no copy into memory), sums every group
    from it, and deletes the file once the chunk is done (the mapping closed first: Windows cannot delete a
    mapped file); the tables are those of the in-memory study."""
    import eventstudy.chunked as ch

    bars, ev = data
    seen = []
    real = ch.grank_chunk

    def spy(cs, scales, jit):
        path = cs.sar_est.filename if isinstance(cs.sar_est, np.memmap) else getattr(cs.sar_est.base, "filename", None)
        assert path is not None and os.path.exists(path)          # mapped from its file, which is still there
        assert cs.est_ranks.dtype == np.uint16                    # the codes, read as they are
        out = real(cs, scales, jit)
        seen.append(path)
        return out

    monkeypatch.setattr(ch, "grank_chunk", spy)
    spec = StudySpec(benchmark=BENCHMARK)
    parts = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=150, processes=1)
    whole = run_study(ev, InMemorySource(bars, name="syn"), spec)
    assert len(seen) == parts.meta["chunks"]["n_chunks"] > 3
    assert not any(os.path.exists(p) for p in seen)               # each deleted after its chunk
    assert_tables_close(whole.caar, parts.caar)
    assert_tables_close(whole.aar, parts.aar)


@pytest.mark.skipif(not fork_available(), reason="this platform cannot fork")
def test_forked_processes_give_the_in_process_answer(data):
    """Chunks on two forked processes (the default for local prices on a multi-core machine) and in this
    process: the same bits in every table and frame; where it ran is recorded."""
    bars, ev = data
    spec = StudySpec(benchmark=BENCHMARK)
    one = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=150, processes=1)
    two = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=150, processes=2)
    assert one.engine["kind"] == "serial" and two.engine["kind"] == "fork" and two.engine["n_workers"] == 2
    for name in ("caar", "aar", "events", "ar", "car", "volume"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name), check_exact=True)
    assert one.meta == two.meta and one.notes == two.notes
    # the workers' frames came back as files; once merged, the results hold the merged arrays only
    from eventstudy.frames import FrameArrays

    assert isinstance(two._frames, FrameArrays) and not isinstance(two._frames.day["ar"], np.memmap)
    with pytest.raises(EventStudyError, match="processes"):
        run_study(ev.iloc[:50], InMemorySource(bars), spec, chunk_size=10, processes=0)


def test_plan_chunks_keeps_each_ticker_whole(data):
    _, ev = data
    chunks = plan_chunks(ev, StudySpec(), 100)
    seen = np.concatenate(chunks)
    assert np.array_equal(np.sort(seen), np.arange(len(ev)))            # every event exactly once
    owner = {}
    for k, rows in enumerate(chunks):
        for t in set(ev["ticker"].iloc[rows]):
            assert owner.setdefault(t, k) == k                          # a ticker never spans chunks
    sizes = [len(r) for r in chunks]
    biggest_ticker = ev["ticker"].value_counts().max()
    assert max(sizes) <= max(100, biggest_ticker)


def test_keep_frames_false_keeps_statistics_only(data):
    bars, ev = data
    res = run_study(ev.iloc[:200], InMemorySource(bars), StudySpec(benchmark=BENCHMARK), chunk_size=60,
                    keep_frames=False)
    assert len(res.caar) and len(res.events) == 200
    with pytest.raises(EventStudyError, match="keep_frames"):
        _ = res.ar


def test_estudy2_market_model_is_refused_in_chunks(data):
    bars, ev = data
    with pytest.raises(EventStudyError, match="estudy2"):
        run_study(ev.iloc[:50], InMemorySource(bars), StudySpec(benchmark=BENCHMARK, conventions="estudy2"),
                  chunk_size=10)


def test_cli_chunk_size_matches_in_memory(tmp_path):
    from typer.testing import CliRunner

    from eventstudy.cli import app

    runner = CliRunner()
    a = runner.invoke(app, ["run", "events/seed_events.csv", "--out", str(tmp_path / "a"), "-q"])
    b = runner.invoke(app, ["run", "events/seed_events.csv", "--out", str(tmp_path / "b"), "-q", "--chunk-size", "4"])
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    for name in ("events", "car", "ar", "volume"):
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    assert_tables_close(pd.read_csv(tmp_path / "a" / "summary.csv"), pd.read_csv(tmp_path / "b" / "summary.csv"),
                        rtol=1e-12)
    assert_tables_close(pd.read_csv(tmp_path / "a" / "aar.csv"), pd.read_csv(tmp_path / "b" / "aar.csv"), rtol=1e-12)


def test_local_dask_cluster_gives_the_in_memory_answer(data):
    """Two worker processes (a real dask.distributed LocalCluster): same tables, events and frames."""
    bars, ev = data
    sub = ev.iloc[:400]
    spec = StudySpec(benchmark=BENCHMARK)
    whole = run_study(sub, InMemorySource(bars, name="syn"), spec)
    dist = run_study(sub, InMemorySource(bars, name="syn"), spec, chunk_size=100, workers=2)
    assert dist.engine["kind"] != "serial" and dist.engine.get("n_workers") == 2, dist.engine
    assert dist.meta["chunks"]["n_chunks"] >= 3
    assert_tables_close(whole.caar, dist.caar)
    assert_tables_close(whole.aar, dist.aar)
    pd.testing.assert_frame_equal(whole.events, dist.events)
    pd.testing.assert_frame_equal(whole.car, dist.car)


def test_cli_workers_give_the_serial_chunked_folder(tmp_path):
    """`--workers 2` (a local Dask cluster) writes the same bytes and run id as the serial chunked run;
    the manifest says where it ran, outside the run id."""
    import json

    from typer.testing import CliRunner

    from eventstudy.cli import app

    runner = CliRunner()
    args = ["run", "events/seed_events.csv", "-q", "--chunk-size", "6"]
    a = runner.invoke(app, args + ["--out", str(tmp_path / "serial")])
    b = runner.invoke(app, args + ["--out", str(tmp_path / "dask"), "--workers", "2", "--format", "parquet"])
    c = runner.invoke(app, args + ["--out", str(tmp_path / "dask_csv"), "--workers", "2"])
    assert a.exit_code == 0 and b.exit_code == 0 and c.exit_code == 0, (a.output, b.output, c.output)
    for name in ("events", "car", "ar", "volume", "summary", "aar"):
        assert (tmp_path / "serial" / f"{name}.csv").read_bytes() == (tmp_path / "dask_csv" / f"{name}.csv").read_bytes()
    ms = json.loads((tmp_path / "serial" / "manifest.json").read_text())
    md = json.loads((tmp_path / "dask_csv" / "manifest.json").read_text())
    forks = (os.cpu_count() or 1) > 1 and fork_available()        # local prices: forked processes by default
    assert ms["run_id"] == md["run_id"] and ms["engine"]["kind"] == ("fork" if forks else "serial")
    assert md["engine"]["n_workers"] == 2
    from eventstudy.export import read_results

    pq = read_results(tmp_path / "dask")
    assert_tables_close(pq.table("summary"), pd.read_csv(tmp_path / "serial" / "summary.csv"))


def test_auto_chunks_large_studies_only(data, monkeypatch):
    import eventstudy.study as study_mod

    bars, ev = data
    sub = ev.iloc[:120]
    spec = StudySpec(benchmark=BENCHMARK)
    monkeypatch.setattr(study_mod, "AUTO_CHUNK_EVENTS", 100)
    big = run_study(sub, InMemorySource(bars), spec)                       # "auto": above the threshold
    assert "chunks" in big.meta and big.panel is None
    whole = run_study(sub, InMemorySource(bars), spec, chunk_size=None)    # forced into one piece
    assert "chunks" not in whole.meta and whole.panel is not None
    assert_tables_close(whole.caar, big.caar)
    e2 = run_study(sub, InMemorySource(bars), StudySpec(benchmark=BENCHMARK, conventions="estudy2"))
    assert "chunks" not in e2.meta                                        # estudy2's market term: one piece
    monkeypatch.setattr(study_mod, "AUTO_CHUNK_EVENTS", 1000)
    assert "chunks" not in run_study(sub, InMemorySource(bars), spec).meta


def test_a_wrong_price_spec_fails_before_any_chunk_runs(data):
    from eventstudy._errors import PriceSourceError

    _, ev = data
    with pytest.raises(PriceSourceError, match="unknown price source"):
        run_study(ev.iloc[:50], "/no/such/prices", StudySpec(benchmark=BENCHMARK), chunk_size=10)


def test_chunked_manifest_lists_every_price_file(tmp_path, data):
    """A CSV folder read by several chunks: the provenance names every file read, as in one piece."""
    bars, ev = data
    d = tmp_path / "prices"
    d.mkdir()
    for t, b in bars.items():
        b.to_csv(d / f"{t}.csv", index_label="date", date_format="%Y-%m-%d", float_format="%.6f")
    sub = ev.iloc[:300]
    spec = StudySpec(benchmark=BENCHMARK)
    whole = run_study(sub, str(d), spec, chunk_size=None)
    parts = run_study(sub, str(d), spec, chunk_size=40)
    assert parts.meta["chunks"]["n_chunks"] > 3
    assert parts.meta["source"] == whole.meta["source"]
    assert len(whole.meta["source"]["files_sha256"]) > 10


@pytest.mark.parametrize("model", ["market", "ff3"])
def test_chunked_equals_in_memory_on_real_data(model):
    """Bundled real prices and Fama-French factors (FF-MKT), chunks of 10 events: factor returns are
    summed from the factor file's own origin, so every chunk sees the same bits and no near-tied day
    flips a rank (rank tests were 2e-5 apart when the sum started at each chunk's first session)."""
    args = ("events/curated_events_2015_2024.csv", "bundled:universe")
    whole = run_study(*args, benchmark="FF-MKT", model=model, chunk_size=None)
    parts = run_study(*args, benchmark="FF-MKT", model=model, chunk_size=10)
    assert parts.meta["chunks"]["n_chunks"] > 10 and whole.caar["n"].iloc[0] > 100
    for a, b in ((whole.caar, parts.caar), (whole.aar, parts.aar)):
        for c in a.columns:
            if a[c].dtype.kind == "f":
                x, y = a[c].to_numpy(float), b[c].to_numpy(float)
                assert np.array_equal(np.isnan(x), np.isnan(y)), c
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=c)   # atol: sums near zero
    pd.testing.assert_frame_equal(whole.events, parts.events)


def test_events_table_does_not_depend_on_the_other_events_of_a_chunk():
    """Seed events, Fama-French benchmark (no benchmark ticker on the grid), chunks of 3: an event whose
    day 0 is after its ticker's last price keeps the estimation count of the one-piece study (the grid
    spans what the events need, not only the bars its chunk loaded)."""
    whole = run_study("events/seed_events.csv", benchmark="FF-MKT", model="ff3", chunk_size=None)
    parts = run_study("events/seed_events.csv", benchmark="FF-MKT", model="ff3", chunk_size=3)
    outside = whole.events["status"] == "outside_data"
    assert (whole.events.loc[outside, "n_est"] > 200).any()
    pd.testing.assert_frame_equal(whole.events, parts.events)
    assert_tables_close(whole.caar, parts.caar)


def test_a_ticker_that_is_also_a_benchmark_gets_the_prices_of_both_roles():
    """Events on SYN0001 early in the sample; other events, late, use SYN0001 as their benchmark. The
    prices read for SYN0001 must cover both (its own events were outside_data when the benchmark's range
    replaced the stock's), in one piece and in chunks alike."""
    bars = synthetic_bars(6, start="2012-01-03", n_days=1400, seed=5)
    dates = bars["SYN0001"].index
    own = pd.DataFrame({"event_id": [f"OWN-{k}" for k in range(4)], "ticker": "SYN0001",
                        "event_date": dates[[300, 320, 340, 360]].strftime("%Y-%m-%d"), "event_type": "fda_decision"})
    late = pd.DataFrame({"event_id": [f"LATE-{k}" for k in range(8)], "ticker": [f"SYN000{2 + k % 4}" for k in range(8)],
                         "event_date": dates[1200:1360:20].strftime("%Y-%m-%d"), "event_type": "equity_offering",
                         "benchmark": "SYN0001"})
    ev = pd.concat([own, late], ignore_index=True).assign(event_time="pre_market")
    ev["benchmark"] = ev["benchmark"].fillna("")
    whole = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK), chunk_size=None)
    assert (whole.events.set_index("event_id").loc[own["event_id"], "status"] == "ok").all()
    parts = run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK), chunk_size=2)
    pd.testing.assert_frame_equal(whole.events, parts.events)


def test_spilled_per_event_values_travel_as_file_names_and_map_back_equal(tmp_path):
    """A chunk's per-event values leave a forked worker as file names (a few hundred bytes pickled, not the
    arrays) and are mapped read-only, equal bit for bit, where the chunks merge."""
    import pickle

    from eventstudy.chunked import _OnDisk, _mapped_events, _spill_events
    from eventstudy.suffstats import EventStats

    rng = np.random.default_rng(3)
    n = 5000
    ev = EventStats(row=np.arange(n), key=rng.integers(0, 2**63, n, dtype=np.uint64),
                    group=np.array(["FDA"] * n, dtype=object),
                    w={"scar": rng.normal(size=(n, 4))}, e={"sigma": rng.random(n)}, d={"sar": rng.normal(size=(n, 26))})
    spilled = _spill_events(ev, str(tmp_path / "chunk000000"))
    assert isinstance(spilled.row, _OnDisk) and isinstance(spilled.d["sar"], _OnDisk)
    assert len(pickle.dumps(spilled, protocol=5)) < 2000 + len(pickle.dumps(ev.group, protocol=5))
    back = _mapped_events(pickle.loads(pickle.dumps(spilled, protocol=5)))
    assert isinstance(back.w["scar"], np.memmap) and not back.w["scar"].flags.writeable
    for a, b in [(ev.row, back.row), (ev.key, back.key), (ev.w["scar"], back.w["scar"]), (ev.e["sigma"], back.e["sigma"]),
                 (ev.d["sar"], back.d["sar"])]:
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert back.group.tolist() == ev.group.tolist()      # the labels travel as they are


def test_spilled_frames_travel_as_file_names_and_map_back_equal(tmp_path):
    """A forked chunk's long-frame arrays leave the worker as file names and map back equal bit for bit
    (dates, per-day and per-window values); the event ids travel as they are."""
    import pickle

    from eventstudy.chunked import _mapped_frames, _OnDisk, _spill_frames
    from eventstudy.frames import FrameArrays

    rng = np.random.default_rng(4)
    n, D = 3000, 26
    days = rng.integers(0, 900, (n, D)).astype("timedelta64[D]")
    dates = (np.datetime64("2020-01-02") + days).astype("datetime64[ns]")
    dates[0, 3] = np.datetime64("NaT")
    fr = FrameArrays(np.array([f"e{i}" for i in range(n)], dtype=object), np.arange(-5, 21), dates,
                     {"ar": rng.normal(size=(n, D)), "volume": rng.random((n, D))}, ((-1, 1), (0, 5)),
                     {"car": rng.normal(size=(n, 2)), "n_days": rng.integers(0, 7, (n, 2)).astype(float)})
    spilled = _spill_frames(fr, str(tmp_path / "chunk000000"))
    assert isinstance(spilled.dates, _OnDisk) and isinstance(spilled.day["ar"], _OnDisk)
    assert len(pickle.dumps(spilled, protocol=5)) < 2000 + len(pickle.dumps(fr.ids, protocol=5))
    back = _mapped_frames(pickle.loads(pickle.dumps(spilled, protocol=5)))
    assert isinstance(back.day["ar"], np.memmap) and not back.day["ar"].flags.writeable
    for a, b in [(fr.dates, back.dates), *((fr.day[k], back.day[k]) for k in fr.day),
                 *((fr.win[k], back.win[k]) for k in fr.win)]:
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert back.ids.tolist() == fr.ids.tolist() and back.windows == fr.windows
    assert _mapped_frames(None) is None


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's mallopt only")
def test_forked_workers_allocator_takes_the_settings():
    """The chunk workers' allocator settings are accepted by glibc (``mallopt`` returns 0 for a setting it
    rejects); run in a child so this process keeps its own."""
    code = "from eventstudy.engine import keep_freed_memory as k; print(k(), k(heap_only=True))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]


def test_tables_on_threads_are_the_sequential_tables(data, monkeypatch):
    """Groups computed on threads (a study of TABLE_THREADS_MIN_EVENTS events or more): the same tables,
    bit for bit and in group order, as one group after the other (bootstrap intervals included)."""
    import threading

    import eventstudy.tables as tables

    bars, ev = data
    res = run_study(ev, InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK))
    st = res.stats
    args = (res.boot_reps, res.seed, res.max_boot_events, False)
    seq = [tables.caar_table(st, *args), tables.aar_table(st, *args)]
    assert seq[0]["event_type"].nunique() > 2
    seen = set()
    real = tables.group_settings
    monkeypatch.setattr(tables, "group_settings", lambda *a: seen.add(threading.current_thread().name) or real(*a))
    monkeypatch.setattr(tables, "TABLE_THREADS_MIN_EVENTS", 0)
    monkeypatch.setattr(tables.os, "cpu_count", lambda: 4)        # threads even on a one-CPU runner
    st.boot.clear()                                                # the bootstrap is computed again, on threads
    par = [tables.caar_table(st, *args), tables.aar_table(st, *args)]
    assert any(name.startswith("eventstudy-tables") for name in seen)
    for a, b in zip(seq, par):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_spilled_rbar_samples_travel_as_file_names_and_map_back_equal(tmp_path):
    """A forked chunk's r̄ residual samples (most of the bytes of its group sums) leave the worker as file
    names, one per group by position (any label), and map back equal bit for bit."""
    import pickle

    from eventstudy.chunked import ChunkPart, _OnDisk, _mapped_part, _spill_samples
    from eventstudy.suffstats import ChunkStats, EventStats, GroupSums

    rng = np.random.default_rng(5)

    def group(k: int) -> GroupSums:
        return GroupSums(None, None, None, None, None, {}, rng.integers(0, 2**63, k, dtype=np.uint64),
                         rng.normal(size=(k, 240)), rng.integers(0, 9000, k))

    sums = {"FDA/approval": group(500), "équity offering": group(37)}
    spilled = _spill_samples(sums, str(tmp_path / "chunk000003"))
    assert all(isinstance(s.rbar_resid, _OnDisk) for s in spilled.values())
    assert len(pickle.dumps(spilled, protocol=5)) < 50_000 < sum(s.rbar_resid.nbytes for s in sums.values())
    ev = EventStats(np.arange(0), np.zeros(0, np.uint64), np.zeros(0, object), {}, {}, {})
    part = ChunkPart(3, np.arange(0), None, ChunkStats(ev, pickle.loads(pickle.dumps(spilled, protocol=5)), None, None,
                                                      {}, None), None, {}, {})
    back = _mapped_part(part).stats.sums
    assert list(back) == list(sums)
    for g, s in sums.items():
        assert isinstance(back[g].rbar_resid, np.memmap)
        np.testing.assert_array_equal(back[g].rbar_resid, s.rbar_resid)
        np.testing.assert_array_equal(back[g].rbar_key, s.rbar_key)
        np.testing.assert_array_equal(back[g].rbar_day0, s.rbar_day0)


def test_pack_files_hold_many_arrays_and_map_back_equal(tmp_path):
    """One pack file per chunk and kind: arrays of any dtype and shape (datetimes, uint16 codes, 0-d sizes
    skipped) at aligned offsets, mapped back read-only (or private and writable, for the second pass's compiled
    kernel) and equal bit for bit, one mapping shared per file and mode."""
    import pickle

    from eventstudy.chunked import _from_disk, _OnDisk, _Pack

    rng = np.random.default_rng(8)
    arrays = [rng.normal(size=(7, 3)), np.arange(5, dtype=np.uint16), np.zeros((0, 4)),
              (np.datetime64("2021-03-01") + rng.integers(0, 99, (4, 2)).astype("timedelta64[D]")).astype("M8[ns]"),
              rng.normal(size=(9, 13))[:, ::3], np.array(["a", "b"], dtype=object), rng.integers(0, 2**63, 11, np.uint64)]
    with _Pack(str(tmp_path / "p.bin")) as pack:
        names = [pack.add(a) for a in arrays]
    assert [type(n) for n in names] == [_OnDisk, _OnDisk, np.ndarray, _OnDisk, _OnDisk, np.ndarray, _OnDisk]
    assert all(n.offset % 64 == 0 for n in names if isinstance(n, _OnDisk))
    assert os.listdir(tmp_path) == ["p.bin"]
    names = pickle.loads(pickle.dumps(names))
    maps = {}
    for a, n in zip(arrays, names):
        back, own = _from_disk(n, maps), _from_disk(n, maps, "c")
        assert back.dtype == a.dtype and back.shape == a.shape and own.dtype == a.dtype
        np.testing.assert_array_equal(back, a)
        np.testing.assert_array_equal(own, a)
        if isinstance(n, _OnDisk):
            assert isinstance(back, np.memmap) and not back.flags.writeable and own.flags.writeable
            own[...] = 0                                  # copy-on-write: the file keeps its bytes
            np.testing.assert_array_equal(back, a)
    assert len(maps) == 2
    with pytest.raises(FileExistsError):                  # a pack is written once
        _Pack(str(tmp_path / "p.bin"))
