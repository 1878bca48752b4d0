"""Fault suite for the price cache: kill -9 of writers, concurrent writers and readers, concurrent fetchers.

Writers and fetchers run as real subprocesses (tests/cache_fault_worker.py). Every read during and
after the faults must return one complete version of the file (frame A or frame B, both
SYNTHETIC), never a torn or unreadable one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from eventstudy._errors import CorruptCacheError
from eventstudy.sources.cache import BarCache

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from cache_fault_worker import synthetic  # noqa: E402

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock semantics are POSIX")


def _env() -> dict:
    src = str(HERE.parent / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(HERE), os.environ.get("PYTHONPATH", "")])}


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "cache_fault_worker.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


def _which(frame) -> str:
    for name, want in (("A", synthetic(300)), ("B", synthetic(600))):
        if len(frame) == len(want) and np.array_equal(frame["close"].to_numpy(), want["close"].to_numpy()) \
                and np.array_equal(frame["volume"].to_numpy(), want["volume"].to_numpy()):
            return name
    raise AssertionError(f"a read returned neither version: {len(frame)} rows")


def test_kill_9_of_concurrent_writers_leaves_the_file_old_or_new_and_reads_are_never_torn(tmp_path):
    cache = BarCache(tmp_path)
    rng = np.random.default_rng(20261201)
    seen: set[str] = set()
    reads = 0
    writers = [_spawn("write", str(tmp_path)) for _ in range(3)]
    for w in writers:
        assert w.stdout.readline().strip() == "ready", w.stderr.read()
    # kill each writer after a random number of reads (the last only once both versions were read)
    kill_after = sorted(int(k) for k in rng.integers(5, 60, len(writers)))
    give_up = time.monotonic() + 60
    while kill_after and time.monotonic() < give_up:      # a reader racing the writers
        got = cache.read("SYN")
        assert got is not None
        seen.add(_which(got[0]))
        reads += 1
        if reads >= kill_after[0] and (len(kill_after) > 1 or seen == {"A", "B"}):
            kill_after.pop(0)
            writers[len(writers) - len(kill_after) - 1].send_signal(signal.SIGKILL)
    for w in writers:
        w.send_signal(signal.SIGKILL)
        w.wait()
        assert w.returncode == -signal.SIGKILL
    frame, meta = cache.read("SYN")          # after the kills: one whole version, metadata matching
    assert meta["rows"] == len(frame) and _which(frame) in "AB"
    assert seen == {"A", "B"} and reads > 10
    assert cache.tickers() == ["SYN"]
    cache.remove_stray_temp_files()
    assert not list(cache.dir.glob(".*.tmp"))


def test_two_processes_fetching_one_ticker_take_turns(tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [_spawn("fetch", str(tmp_path / "cache"), str(barrier), str(i)) for i in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outs.append(out.split())
    calls = sorted(int(o[0]) for o in outs)
    assert calls == [0, 1]                        # the second waited for the lock, then found the range cached
    assert outs[0][1:] == outs[1][1:] and outs[0][1] == "61"
    frame, meta = BarCache(tmp_path / "cache").read("IBRX")
    assert len(frame) == 61 and meta["covered_start"] == "2025-11-03"


def test_a_reader_waits_for_the_lock_holder(tmp_path):
    cache = BarCache(tmp_path, lock_timeout=0.2)
    cache.write("SYN", synthetic(300), {"rows": 300})
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, filelock; lk = filelock.FileLock(sys.argv[1]); lk.acquire(); print('held', flush=True); "
        "time.sleep(30)"), f"{cache.path('SYN')}.lock"], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        from eventstudy._errors import SourceFailureError

        with pytest.raises(SourceFailureError, match="locked by another process"):
            cache.read("SYN")
        assert cache.info().set_index("ticker").loc["SYN", "status"].startswith("busy: ")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert len(cache.read("SYN")[0]) == 300       # the kill released the lock


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "bad-meta"])
def test_damaged_cache_files_raise_corrupt_cache_error_naming_the_file(tmp_path, damage):
    cache = BarCache(tmp_path)
    path = cache.write("SYN", synthetic(300), {"rows": 300})
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        pq.write_table(table.replace_schema_metadata({b"eventstudy": b"{not json"}), path)
    with pytest.raises(CorruptCacheError, match="SYN.parquet") as info:
        cache.read("SYN")
    assert info.value.path == str(path)
    assert "corrupt" in cache.info().set_index("ticker").loc["SYN", "status"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_cache_folder_is_a_source_error_not_a_traceback(tmp_path):
    cache = BarCache(tmp_path)
    cache.write("SYN", synthetic(300), {"rows": 300})
    os.chmod(cache.dir, 0o555)
    try:
        from eventstudy._errors import SourceFailureError

        with pytest.raises(SourceFailureError, match="cannot (write|lock) the cache file"):
            cache.write("NEW", synthetic(300), {"rows": 300})
    finally:
        os.chmod(cache.dir, 0o755)


def test_a_failing_cache_write_keeps_the_old_file(tmp_path, monkeypatch):
    import eventstudy.sources.cache as cmod
    from eventstudy._errors import SourceFailureError

    cache = BarCache(tmp_path)
    path = cache.write("SYN", synthetic(300), {"rows": 300})

    def disk_full(p, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cmod, "atomic_write_bytes", disk_full)
    with pytest.raises(SourceFailureError, match="No space left on device"):
        cache.write("SYN", synthetic(600), {"rows": 600})
    assert _which(cache.read("SYN")[0]) == "A" and path.is_file()
