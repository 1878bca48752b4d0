"""Streamed results folders (eventstudy.stream): a chunked study that writes its folder block by block gives,
file for file and byte for byte, the folder the same chunked study writes through ``save`` (CSV and parquet;
the manifest differs only in its time of writing); a failure or a kill mid-stream leaves the previous folder;
``eventstudy run --chunk-size`` streams; memory-mapped per-event statistics give identical tables. SYNTHETIC,
seeded data (not market data)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import eventstudy.export as export
import eventstudy.stream as stream
import eventstudy.suffstats as suffstats
from eventstudy import StudySpec, run_study
from eventstudy._errors import EventStudyError, ResultsFolderError
from eventstudy._kernels import rank_codes, rank_values
from eventstudy.chunked import ChunkPart
from eventstudy.export import FolderWriter, read_results, write_folder
from eventstudy.sources import InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    """Synthetic prices and events, plus events that are not studied: two tickers the source lacks (they sort
    last, so they form a chunk with no studied event: its frames are empty, of other dtypes) and events
    before the prices start."""
    bars = synthetic_bars(30, start="2012-01-03", n_days=700, seed=21)
    ev = synthetic_events(bars, 700, seed=22)
    missing = pd.DataFrame({"event_id": [f"SYN-MISSING-{k}" for k in range(6)],
                            "ticker": ["ZZZ1", "ZZZ2"] * 3, "event_date": ev["event_date"].iloc[:6].to_numpy(),
                            "event_time": "pre_market", "event_type": "fda_decision",
                            "headline": "=synthetic (formula-like text)"})
    early = ev.iloc[:4].assign(event_id=lambda d: d["event_id"] + "-early", event_date="2012-02-01")
    return bars, pd.concat([ev, missing, early], ignore_index=True)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 60 canonical events and parquet row groups of 1,000 rows, so a small study crosses many
    of both (the real sizes are 50,000+ events and 1Mi rows)."""
    monkeypatch.setattr(stream, "BLOCK_MIN_EVENTS", 60)
    monkeypatch.setattr(stream, "MAX_BLOCKS", 10_000)
    monkeypatch.setattr(export, "PARQUET_ROW_GROUP", 1000)


def _files(d: Path) -> dict[str, bytes]:
    return {f: (d / f).read_bytes() for f in sorted(os.listdir(d))}


def _manifest_core(d: Path) -> dict:
    m = json.loads((d / "manifest.json").read_text())
    m.pop("created_utc")
    return m


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_streamed_folder_is_the_saved_folder_byte_for_byte(data, small_blocks, tmp_path, fmt):
    bars, ev = data
    spec = StudySpec(benchmark=BENCHMARK)
    ref = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=90)
    ref.save(tmp_path / "saved", format=fmt, inputs={"events": "synthetic"})
    res = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=90, out=tmp_path / "streamed",
                    format=fmt, inputs={"events": "synthetic"})
    assert isinstance(res, stream.StreamedResults)
    # the study is what the test needs: several chunks and blocks, studied and not studied events, a chunk
    # with no studied event (its empty frames have other dtypes), row groups of parquet
    assert ref.meta["chunks"]["n_chunks"] >= 8
    assert stream.block_events(len(ev)) == 60 and len(ev) > 10 * 60
    status = ref.events.set_index("event_id")["status"]
    assert (status[[f"SYN-MISSING-{k}" for k in range(6)]] == "no_prices").all()
    assert (status != "ok").sum() >= 10 and (status == "ok").sum() > 600
    a, b = _files(tmp_path / "saved"), _files(tmp_path / "streamed")
    assert sorted(a) == sorted(b) == sorted([f"{t}.{fmt}" for t in export.TABLE_NAMES] + ["manifest.json"])
    for f in a:
        if f != "manifest.json":
            assert a[f] == b[f], f
    assert _manifest_core(tmp_path / "saved") == _manifest_core(tmp_path / "streamed")   # run id included
    if fmt == "parquet":
        assert pq.ParquetFile(tmp_path / "streamed" / "ar.parquet").metadata.num_row_groups > 10
    # the result: tables, events (read from the folder), and what the command line lists
    pd.testing.assert_frame_equal(res.caar, ref.caar, check_exact=True)
    pd.testing.assert_frame_equal(res.aar, ref.aar, check_exact=True)
    assert np.array_equal(res.ok, ref.ok) and np.array_equal(res.in_stats, ref.in_stats)
    assert res.notes == ref.notes and res.meta == ref.meta
    folder = read_results(tmp_path / "saved")
    pd.testing.assert_frame_equal(res.events, folder.events)
    pd.testing.assert_frame_equal(res.car, folder.car)
    pd.testing.assert_frame_equal(res.not_studied().reset_index(drop=True),
                                  ref.not_studied().reset_index(drop=True), check_dtype=False)
    assert res.summary_text() == ref.summary_text()
    # nothing of the spill is left behind, and the folder reads back verified
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


def test_streamed_results_save_copies_the_folder_and_refuses_another_format(data, small_blocks, tmp_path):
    bars, ev = data
    res = run_study(ev.iloc[:300], InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=80,
                    out=tmp_path / "s", format="parquet")
    assert res.save(tmp_path / "s", format="parquet") == tmp_path / "s"
    res.save(tmp_path / "copy", format="parquet", inputs={"note": "copied"})
    a, b = _files(tmp_path / "s"), _files(tmp_path / "copy")
    assert {f: v for f, v in a.items() if f != "manifest.json"} == {f: v for f, v in b.items() if f != "manifest.json"}
    assert read_results(tmp_path / "copy").manifest["inputs"] == {"note": "copied"}
    with pytest.raises(EventStudyError, match="streamed .* as parquet"):
        res.save(tmp_path / "csv", format="csv")


def test_a_failure_mid_stream_leaves_the_previous_folder_and_no_temporary_files(data, small_blocks, tmp_path,
                                                                                  monkeypatch):
    import tempfile

    bars, ev = data
    out = tmp_path / "out"
    run_study(ev.iloc[:200], InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=None,
              out=out)
    before = _files(out)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    real, calls = stream._read_part, []

    def dying(plan, table, part, *args):
        calls.append((table, part))
        if table == "ar" and part == 2:
            raise RuntimeError("synthetic failure while writing ar")
        return real(plan, table, part, *args)

    monkeypatch.setattr(stream, "_read_part", dying)
    with pytest.raises(RuntimeError, match="synthetic failure"):
        run_study(ev, InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=90, out=out)
    assert ("events", 5) in calls and ("ar", 2) in calls          # it failed mid-stream, files half written
    assert _files(out) == before
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".out.")]
    assert os.listdir(tmp_path / "tmp") == []                      # the spill and statistics files are gone


@pytest.mark.skipif(not __import__("eventstudy.engine").engine.fork_available(), reason="cannot fork here")
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_forked_chunks_append_to_shared_spill_files_safely(data, tmp_path, small_blocks, fmt):
    """Chunks on two forked processes append their pieces to the same per-block spill files at once: each
    piece must land whole at the offset it records (a lock per append), so the folder is byte for byte the
    one written by chunks in this process. Many small chunks and blocks make the appends collide."""
    bars, ev = data
    spec = StudySpec(benchmark=BENCHMARK)
    outs = {}
    for procs in (1, 2, 2):
        out = tmp_path / f"p{procs}-{len(outs)}"
        res = run_study(ev, InMemorySource(bars, name="syn"), spec, chunk_size=25, out=out, format=fmt,
                        processes=procs)
        assert res.engine["kind"] == ("serial" if procs == 1 else "fork")
        outs[out.name] = {k: v for k, v in _files(out).items() if k != "manifest.json"}
    first, *others = outs.values()
    assert len(first) == 6 and all(o == first for o in others)


def test_a_killed_run_leaves_the_previous_folder_and_the_next_run_cleans_up(data, tmp_path):
    """A process killed (SIGKILL) while it writes the streamed folder: the old folder is intact, the half
    written sibling is removed by the next run into the same folder."""
    bars, ev = data
    out = tmp_path / "out"
    run_study(ev.iloc[:200], InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=None,
              out=out, format="parquet")
    before = _files(out)
    script = textwrap.dedent(f"""
        import os, signal
        import eventstudy.stream as stream
        from eventstudy import StudySpec, run_study
        from eventstudy.sources import InMemorySource
        from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events
        stream.BLOCK_MIN_EVENTS = 60
        real = stream._read_part
        def killed(plan, table, part, *args):
            if table == "car" and part == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(plan, table, part, *args)
        stream._read_part = killed
        bars = synthetic_bars(30, start="2012-01-03", n_days=700, seed=21)
        ev = synthetic_events(bars, 700, seed=22)
        run_study(ev, InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=90,
                  out={str(out)!r}, format="parquet")
    """)
    killed_tmp = tmp_path / "tmp"                 # the killed run's temporary folder, kept out of the system's
    killed_tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(killed_tmp)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [n for n in os.listdir(killed_tmp) if n.startswith("eventstudy-chunks-")]   # it could not clean up
    stale = [n for n in os.listdir(tmp_path) if n.startswith(".out.tmp-")]
    assert len(stale) == 1 and "events.parquet" in os.listdir(tmp_path / stale[0])   # killed mid-stream
    assert _files(out) == before
    read_results(out)                                                               # still a verified folder
    res = run_study(ev.iloc[:300], InMemorySource(bars, name="syn"), StudySpec(benchmark=BENCHMARK), chunk_size=80,
                    out=out, format="parquet")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".out.")]
    assert len(read_results(out).events) == 300 == len(res.ok)


def test_an_unwritable_out_fails_before_the_study_runs(data, tmp_path, monkeypatch):
    bars, ev = data
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "mine.txt").write_text("not eventstudy's")
    ran = []
    import eventstudy.chunked as chunked

    monkeypatch.setattr(chunked, "_run_chunk", lambda *a, **k: ran.append(1))
    with pytest.raises(ResultsFolderError, match="mine.txt"):
        run_study(ev, InMemorySource(bars), StudySpec(benchmark=BENCHMARK), chunk_size=90, out=tmp_path / "foreign")
    assert ran == [] and (tmp_path / "foreign" / "mine.txt").read_text() == "not eventstudy's"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cli_run_with_chunk_size_streams_the_folder(fmt, tmp_path, monkeypatch):
    """``eventstudy run --chunk-size`` writes through the streaming path (the frames never gathered), and the
    folder is the one the chunked study saves with the same inputs."""
    from typer.testing import CliRunner

    from eventstudy.cli import app

    calls = []
    real = stream.write_streamed
    monkeypatch.setattr(stream, "write_streamed", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(stream, "BLOCK_MIN_EVENTS", 5)
    monkeypatch.chdir(ROOT)
    events = Path("events/seed_events.csv")
    r = CliRunner().invoke(app, ["run", str(events), "--out", str(tmp_path / "cli"), "--chunk-size", "4",
                                 "--format", fmt])
    assert r.exit_code == 0, r.output
    assert calls == [1]
    inputs = {"events": str(events), "events_sha256": export.file_sha256(events), "prices": "bundled"}
    ref = run_study(str(events), "bundled", StudySpec(name="seed_events"), chunk_size=4)
    ref.save(tmp_path / "api", format=fmt, inputs=inputs)
    a, b = _files(tmp_path / "api"), _files(tmp_path / "cli")
    assert sorted(a) == sorted(b)
    for f in a:
        if f != "manifest.json":
            assert a[f] == b[f], f
    ma, mb = _manifest_core(tmp_path / "api"), _manifest_core(tmp_path / "cli")
    assert ma == mb and ma["data"]["chunks"]["n_chunks"] > 3
    bad = ref.not_studied()                                         # listed by status (more than 10 events)
    assert len(bad) > 10 and f"not studied: {len(bad)} events (" in r.output
    assert all(f"{k} {v}" in r.output for k, v in bad["status"].value_counts().items())


def test_memory_mapped_statistics_give_identical_tables(data, monkeypatch, tmp_path):
    bars, ev = data
    spec = StudySpec(benchmark=BENCHMARK)
    ram = run_study(ev, InMemorySource(bars), spec, chunk_size=90, keep_frames=False)
    monkeypatch.setattr(suffstats, "MEMMAP_MIN_BYTES", 0)
    mapped = run_study(ev, InMemorySource(bars), spec, chunk_size=90, keep_frames=False)
    E, M = ram.stats.events, mapped.stats.events
    for d0, d1 in ((E.w, M.w), (E.e, M.e), (E.d, M.d)):
        for k in d0:
            assert not isinstance(d0[k].base, np.memmap) and isinstance(d1[k].base, np.memmap), k
            assert type(d1[k]) is np.ndarray and d1[k].flags.c_contiguous
            assert np.array_equal(d0[k], d1[k], equal_nan=True), k
    assert isinstance(M.key.base, np.memmap) and not isinstance(M.group.base, np.memmap)    # labels stay objects
    pd.testing.assert_frame_equal(ram.caar, mapped.caar, check_exact=True)
    pd.testing.assert_frame_equal(ram.aar, mapped.aar, check_exact=True)
    assert np.isfinite(mapped.caar["grank_t"]).all() and mapped.caar["n"].iloc[0] > 600
    # and the per-day statistics computed two days at a time (as at ten million events) are the same bits
    import eventstudy.tables as tables

    monkeypatch.setattr(tables, "DAY_BLOCK_BYTES", 1)
    assert [b.stop - b.start for b in tables.day_blocks(len(E), E.d["ar"].shape[1])] == [2] * 13
    for name in ("aar", "caar"):
        again = getattr(tables, f"{name}_table")(mapped.stats, mapped.boot_reps, mapped.seed, mapped.max_boot_events,
                                                 False)
        pd.testing.assert_frame_equal(again, getattr(ram, name), check_exact=True)


def test_day_blocks_cover_the_days_two_or_more_at_a_time(monkeypatch):
    import eventstudy.tables as tables

    assert tables.day_blocks(10_000_000, 26) != [slice(0, 26)]
    assert tables.day_blocks(1000, 26) == [slice(0, 26)] and tables.day_blocks(10**9, 3) == [slice(0, 3)]
    for n_days in range(4, 60):
        for n in (10**6, 10**7, 10**8):
            b = tables.day_blocks(n, n_days)
            assert b[0].start == 0 and b[-1].stop == n_days
            assert all(x.stop == y.start for x, y in zip(b[:-1], b[1:]))
            assert min(x.stop - x.start for x in b) >= 2
            assert max(x.stop - x.start for x in b) * 8 * n <= max(tables.DAY_BLOCK_BYTES, 2 * 8 * n) or len(b) == n_days // 2


def test_file_array_leaves_no_file(tmp_path):
    a = suffstats.file_array(str(tmp_path), (1000, 7), np.float64)
    a[:] = np.arange(7000.0).reshape(1000, 7)
    assert os.listdir(tmp_path) == [] and isinstance(a.base, np.memmap)
    assert a[999, 6] == 6999.0 and a.sum() == 6999 * 7000 / 2
    assert suffstats.file_array(str(tmp_path), (0, 3), np.float64).shape == (0, 3)


@pytest.mark.parametrize("jit", [False, True])
def test_pass_two_ranks_are_saved_exactly(jit):
    """Mid-ranks go to disk as uint16 codes (twice the rank) only when every one reads back exactly; the
    compiled encoder (one pass) and numpy's (encode, decode, compare) give the same codes and fall back alike."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 240))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, 5] = x[:, 4]                                                  # ties: half ranks
    from eventstudy.inference import row_ranks

    ranks = row_ranks(x)
    assert np.any(ranks % 1 == 0.5)
    code = rank_codes(ranks, jit)
    assert code.dtype == np.uint16
    assert np.array_equal(code, rank_codes(ranks, not jit))          # both encoders: the same codes
    back = rank_values(code)
    assert back.dtype == np.float64 and np.array_equal(back, ranks, equal_nan=True)
    # not mid-ranks, or not representable: kept as float64 (65535 / 2 would read back as NaN)
    for bad in (1.25, -0.5, np.inf, -np.inf, 32767.5, 40000.0, 1e300, 2.0**-1074):
        odd = ranks.copy()
        odd[0, 0] = bad
        assert rank_codes(odd, jit).dtype == np.float64, bad
        assert np.array_equal(rank_values(rank_codes(odd, jit)), odd, equal_nan=True)
    top = ranks.copy()
    top[0, 0] = 32767.0                                                # the largest value the code holds
    assert rank_codes(top, jit).dtype == np.uint16
    assert np.array_equal(rank_values(rank_codes(top, jit)), top, equal_nan=True)
    zero = ranks.copy()
    zero[0, 0] = -0.0                                                  # numpy's cast gives 0: kept, as 0
    assert rank_codes(zero, jit)[0, 0] == 0 and rank_codes(zero, jit).dtype == np.uint16


# ---- the block machinery on tables whose chunks disagree on dtypes ---------------------------------------
def _chunk_tables(rng: np.random.Generator, rows: np.ndarray, k: int, studied: np.ndarray) -> tuple:
    """SYNTHETIC events table and frames of one chunk, with dtypes that differ from chunk to chunk: an
    integer column that is float where values are missing, a date column with a time of day in one chunk,
    text as object or pandas string, a column all missing in one chunk, awkward text."""
    n = len(rows)
    awkward = np.array(["a", "", "x,y", 'q"q', "l\nb", "=1+1", "-1:1", "@SUM(A1)", "é 漢", "+x"], dtype=object)
    ids = np.array([f"EV{r:05d}" for r in rows], dtype=object)
    table = pd.DataFrame({
        "extra": awkward[rng.integers(0, len(awkward), n)],
        "event_id": ids if k % 2 else pd.array(ids, dtype="str"),
        "ticker": f"T{k}", "status": np.where(studied, "ok", "no_prices"), "reason": "",
        "n_est": rng.integers(0, 250, n) if k != 1 else np.where(rng.random(n) < 0.5, np.nan, 7.0),
        "alpha": rng.normal(size=n),
        "event_date": pd.to_datetime("2020-01-01") + pd.to_timedelta(rows, unit="D")
        + (pd.Timedelta(hours=9) if k == 2 else pd.Timedelta(0)),
        "in_stats": studied.copy(),
        "notes": None if k == 0 else awkward[rng.integers(0, len(awkward), n)],
    })
    ok = rows[studied]
    m, per, W = len(ok), 3, 2
    eids = np.array([f"EV{r:05d}" for r in ok], dtype=object)
    ar = pd.DataFrame({"event_id": pd.array(np.repeat(eids, per), dtype="str") if m else np.repeat(eids, per),
                       "rel_day": np.tile(np.arange(per), m), "ar": rng.normal(size=m * per)})
    car = pd.DataFrame({"event_id": np.tile(eids, W), "window": np.repeat(["-1:1", "0:5"], m),
                        "car": rng.normal(size=m * W)})
    vol = ar.rename(columns={"ar": "volume"}).assign(volume=rng.random(m * per) * 1e6)
    return table, {"ar": ar, "car": car, "volume": vol}, ok


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_block_writer_equals_the_concatenated_tables(fmt, tmp_path, monkeypatch):
    """Tables of chunks built here by hand, concatenated and reordered the slow way (pd.concat, sort by
    canonical row; car window by window) and written whole, against the streamed write."""
    monkeypatch.setattr(export, "PARQUET_ROW_GROUP", 7)
    rng = np.random.default_rng(5)
    n = 400
    owner = rng.integers(0, 5, n)
    owner[owner == 4] = 3                                           # chunk 4 is empty of events: drop it
    parts, tables, frames = [], [], []
    plan = stream.StreamPlan(str(tmp_path / "spill"), n, 37, 2, fmt)
    (tmp_path / "spill").mkdir()
    for k in range(4):
        rows = np.flatnonzero(owner == k)
        studied = rng.random(len(rows)) < (0.0 if k == 3 else 0.8)  # chunk 3: nothing studied, empty frames
        table, fr, ok = _chunk_tables(rng, rows, k, studied)
        tables.append((rows, table))
        frames.append((ok, fr))
        part = ChunkPart(k, rows, table, None, {n_: f.copy() for n_, f in fr.items()}, {}, {}, ok)
        stream.spill_part(plan, part)
        parts.append(part)
    with FolderWriter(tmp_path / "streamed", fmt) as w:
        stream.write_streamed(w, plan, parts)
        w.commit({"study": "synthetic"})
    # the slow way
    rows = np.concatenate([r for r, _ in tables])
    ev = pd.concat([t for _, t in tables], ignore_index=True).iloc[np.argsort(rows)].reset_index(drop=True)
    ev = ev[export.events_column_order(list(ev.columns))]
    ok = np.concatenate([o for o, _ in frames])
    whole = {}
    for name in ("ar", "volume"):
        f = pd.concat([fr[name] for _, fr in frames], ignore_index=True)
        key = np.repeat(ok, 3) * 3 + np.tile(np.arange(3), len(ok))
        whole[name] = f.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    f = pd.concat([fr["car"] for _, fr in frames], ignore_index=True)
    win = np.concatenate([np.repeat([0, 1], len(o)) for o, _ in frames])
    evk = np.concatenate([np.tile(o, 2) for o, _ in frames])
    whole["car"] = f.iloc[np.lexsort((evk, win))].reset_index(drop=True)
    # the chunks' dtypes did differ: object and pandas text (text wins), empty frames' object (object wins),
    # integers and floats, a column all missing (None) in one chunk
    assert isinstance(ev["event_id"].dtype, pd.StringDtype) and whole["ar"]["event_id"].dtype == object
    assert ev["n_est"].dtype == np.float64 and ev["notes"].dtype == object
    write_folder(tmp_path / "whole", {"events": ev, **whole}, {"study": "synthetic"}, format=fmt)
    a, b = _files(tmp_path / "whole"), _files(tmp_path / "streamed")
    assert sorted(a) == sorted(b)
    for name in a:
        if name != "manifest.json":
            assert a[name] == b[name], name
    assert json.loads(a["manifest.json"])["files"] == json.loads(b["manifest.json"])["files"]   # hashed as written
    assert os.listdir(tmp_path / "spill") == []                     # each spill file deleted once written
    if fmt == "parquet":
        t = pq.read_table(tmp_path / "streamed" / "events.parquet")
        assert str(t.schema.field("event_date").type).startswith("timestamp")      # 09:00 in one chunk
        assert pq.ParquetFile(tmp_path / "streamed" / "ar.parquet").metadata.num_row_groups > 20
