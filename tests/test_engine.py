"""The execution engine (eventstudy.engine): serial and dask executors give the same results, map_on
runs where the data lives, failures name the item, nothing is left behind.

One local cluster of 2 worker processes serves the whole module (fixture ``cluster``). Data are
SYNTHETIC (seeded normal draws), for tests only.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import NamedTuple

import numpy as np
import pytest

from eventstudy import engine
from eventstudy._errors import EventStudyError
from eventstudy.engine import DaskExecutor, SerialExecutor, TaskError, open_executor

class Chunk(NamedTuple):
    """A SYNTHETIC chunk description: what a task receives (small), not the data."""

    label: str
    seed: int
    n: int
    shift: float


CHUNKS = [Chunk(f"SYN-chunk-{i}", 1000 + i, 300 + 50 * i, 0.1 * i) for i in range(6)]


# ------------------------------------------------------------------ task functions (run on the workers)


def _here() -> str:
    """Address of the dask worker running the caller, or 'in-process'."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "in-process"


class StaysPut(dict):
    """Per-chunk state that refuses to be pickled: sending it anywhere (to the client, to another
    worker) fails the test."""

    def __reduce__(self):
        raise TypeError("the per-chunk state left its worker")


def make_chunk(spec: Chunk, scale: float, *, stay: bool = False) -> dict:
    """Pass 1: the per-chunk state kept on the worker (a large array in a real study)."""
    x = np.random.default_rng(spec.seed).normal(size=spec.n) * scale + spec.shift
    return (StaysPut if stay else dict)(x=x, made_on=_here())


def chunk_moments(state: dict) -> tuple:
    """Summary of pass 1: only these few numbers travel back."""
    x = state["x"]
    return float(x.sum()), float((x * x).sum()), int(x.size), _here()


def chunk_zstats(state: dict, mean: float, sd: float, *, cut: float) -> tuple:
    """Pass 2: needs the global mean and sd computed from every chunk's summary."""
    z = (state["x"] - mean) / sd
    return float((z**3).sum()), float(np.abs(z).max()), int((np.abs(z) > cut).sum()), state["made_on"], _here()


def fail_on(spec: Chunk, bad: str) -> str:
    if spec.label == bad:
        raise ValueError(f"synthetic failure in {spec.label}")
    return spec.label


def fail_on_value(state: dict, bad_size: int) -> int:
    if state["x"].size == bad_size:
        raise ZeroDivisionError("synthetic failure in pass 2")
    return state["x"].size


def exit_on(spec: Chunk, bad: str) -> str:
    if spec.label == bad:
        os._exit(13)  # the worker process dies, as when the OS kills it for memory
    return spec.label


def sleep_then(value: object, seconds: float) -> object:
    time.sleep(seconds)
    return value


def where_now(state: dict) -> tuple:
    time.sleep(0.05)
    return state["made_on"], _here()


def sleep_then_exit(seconds: float) -> None:
    time.sleep(seconds)
    os._exit(13)


def two_pass(ex) -> tuple[list, list, list]:
    """The toy two-pass study: pass-1 state stays as handles; pass 2 runs on them with a value made
    from every pass-1 summary."""
    handles = ex.submit_all(make_chunk, CHUNKS, 2.0, stay=True)
    moments = ex.gather(ex.map_on(chunk_moments, handles))
    s, ss, n = (sum(m[k] for m in moments) for k in range(3))
    mean = s / n
    sd = (ss / n - mean**2) ** 0.5
    stats = ex.gather(ex.map_on(chunk_zstats, handles, mean, sd, cut=2.0))
    return handles, moments, stats


def textbook_stats() -> list[tuple]:
    """The same statistics from the concatenated sample with numpy, chunk by chunk (independent of
    the engine and of the moment formula)."""
    xs = [np.random.default_rng(c.seed).normal(size=c.n) * 2.0 + c.shift for c in CHUNKS]
    allx = np.concatenate(xs)
    mean, sd = allx.mean(), allx.std()
    out = []
    for x in xs:
        z = (x - mean) / sd
        out.append((np.sum(z**3), np.max(np.abs(z)), np.count_nonzero(np.abs(z) > 2.0)))
    return out


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def cluster():
    """One 2-worker local cluster for the module; the test module's functions are pickled by value
    (the worker processes cannot import the test module)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with open_executor(workers=2) as ex:
            yield ex
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@contextlib.contextmanager
def allowed_failures(client, n: int):
    """Let the scheduler give up on a task after n worker deaths (default 3: a test would wait for
    4 deaths and restarts)."""
    def set_to(value, dask_scheduler=None):
        old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, value
        return old

    old = client.run_on_scheduler(set_to, n)
    try:
        yield
    finally:
        client.run_on_scheduler(set_to, old)


@pytest.fixture
def healthy(cluster):
    """The cluster with both workers up (a previous test may have killed one)."""
    cluster.client.wait_for_workers(2, timeout=30)
    return cluster


# ------------------------------------------------------------------ serial, no cluster


SERIAL_PROBE = """
import json, sys
from eventstudy.engine import open_executor
loaded_on_import = [m for m in ("dask", "distributed") if m in sys.modules]
with open_executor() as ex:
    h = ex.submit_all(lambda i, k: i * k, [1, 2, 3], 10)
    out = ex.gather(ex.map_on(lambda v, a: v + a, h, 1))
    ex.release(h)
    d = ex.describe()
print(json.dumps({"out": out, "describe": d, "on_import": loaded_on_import,
                  "loaded": [m for m in ("dask", "distributed") if m in sys.modules]}))
"""


def test_serial_executor_never_imports_dask():
    run = subprocess.run([sys.executable, "-c", SERIAL_PROBE], capture_output=True, text=True, check=True)
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["out"] == [11, 21, 31]
    assert got["on_import"] == [] and got["loaded"] == []
    assert got["describe"]["kind"] == "serial" and got["describe"]["n_workers"] == 1
    assert got["describe"]["dask_version"] is None


def test_serial_two_pass_matches_textbook():
    with open_executor() as ex:
        assert isinstance(ex, SerialExecutor)
        handles, moments, stats = two_pass(ex)
    assert handles[0]["x"].size == CHUNKS[0][2]  # serial handles are the values
    assert [m[3] for m in moments] == ["in-process"] * len(CHUNKS)
    for got, want in zip(stats, textbook_stats()):
        np.testing.assert_allclose(got[:2], want[:2], rtol=1e-10)
        assert got[2] == want[2]


def test_serial_failure_names_item_type_and_message():
    with open_executor() as ex:
        with pytest.raises(TaskError) as info:
            ex.submit_all(fail_on, CHUNKS, "SYN-chunk-3")
        err = info.value
        assert isinstance(err, EventStudyError)
        assert "submit_all(fail_on) failed on item 3 of 6 'SYN-chunk-3': " in str(err)
        assert "ValueError: synthetic failure in SYN-chunk-3" in str(err)
        assert (err.stage, err.index, err.exc_type, err.function) == ("submit_all", 3, "ValueError", "fail_on")
        assert isinstance(err.__cause__, ValueError)

        handles = ex.submit_all(make_chunk, CHUNKS, 1.0)
        with pytest.raises(TaskError, match=r"map_on\(fail_on_value\) failed on handle 2 of 6.*ZeroDivisionError"):
            ex.map_on(fail_on_value, handles, CHUNKS[2].n)
        # plain tuples and strings are shown as they are; other items by their index alone
        with pytest.raises(TaskError, match=r"on item 1 of 2 \('a', 2\): ZeroDivisionError"):
            ex.submit_all(lambda t: 1 / (t[1] - 2), [("a", 1), ("a", 2)])
        with pytest.raises(TaskError, match=r"on item 0 of 1: ZeroDivisionError"):
            ex.submit_all(lambda d: 1 / d["x"], [{"x": 0}])


needs_fork = pytest.mark.skipif(not engine.fork_available(), reason="this platform cannot fork")


def _pid_of(spec: Chunk, big: np.ndarray) -> tuple:
    """A task that reads an argument the forked worker inherited (never pickled) and says where it ran."""
    return spec.label, float(big[spec.seed % big.size]), os.getpid()


def _die_on(spec: Chunk, bad: str) -> str:
    if spec.label == bad:
        os._exit(3)          # the worker process dies (as when the kernel kills it for memory)
    return spec.label


class NoPickle:
    def __init__(self, values: np.ndarray):
        self.values = values

    def __reduce__(self):
        raise TypeError("an inherited argument was pickled")

    def __getitem__(self, i):
        return self.values[i]

    @property
    def size(self):
        return self.values.size


@needs_fork
def test_forked_processes_run_every_task_in_order_without_pickling_the_arguments():
    big = NoPickle(np.arange(1000.0))
    with open_executor(processes=2) as ex:
        assert isinstance(ex, engine.ForkExecutor) and ex.describe()["kind"] == "fork"
        got = ex.submit_all(_pid_of, CHUNKS, big)
        states = ex.submit_all(make_chunk, CHUNKS, 2.0)                 # values come back (pickled)
        moments = ex.gather(ex.map_on(chunk_moments, states))
    assert [g[0] for g in got] == [c.label for c in CHUNKS]
    assert [g[1] for g in got] == [float(c.seed % 1000) for c in CHUNKS]
    assert os.getpid() not in {g[2] for g in got}                     # the tasks ran in other processes
    with open_executor() as ex:
        serial = ex.gather(ex.map_on(chunk_moments, ex.submit_all(make_chunk, CHUNKS, 2.0)))
    assert [m[:3] for m in moments] == [m[:3] for m in serial]          # bit for bit
    with open_executor(processes=1) as ex:
        assert isinstance(ex, SerialExecutor) and not isinstance(ex, engine.ForkExecutor)


@needs_fork
def test_forked_task_failure_and_dead_worker_name_the_item():
    with open_executor(processes=2) as ex:
        with pytest.raises(TaskError, match=r"submit_all\(fail_on\) failed on item 3 of 6 'SYN-chunk-3'.*ValueError"):
            ex.submit_all(fail_on, CHUNKS, "SYN-chunk-3")
        with pytest.raises(TaskError, match=r"lost its worker process.*item \d of 6"):
            ex.submit_all(_die_on, CHUNKS, "SYN-chunk-2")
        states = ex.submit_all(make_chunk, CHUNKS, 1.0)
        with pytest.raises(TaskError, match=r"map_on\(fail_on_value\) failed on handle 2 of 6.*ZeroDivisionError"):
            ex.map_on(fail_on_value, states, CHUNKS[2].n)
    assert engine._FORKED == {}                       # nothing of the job stays behind


@pytest.mark.parametrize("kwargs, words", [
    ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}, ["workers=2", "tcp://127.0.0.1:8786", "not both"]),
    ({"workers": 0}, ["workers", "0"]),
    ({"workers": True}, ["workers", "True"]),
    ({"workers": "2"}, ["workers", "'2'"]),
    ({"memory_limit": "2GiB"}, ["memory_limit", "workers=N"]),
    ({"scheduler": "tcp://127.0.0.1:8786", "memory_limit": "2GiB"}, ["memory_limit", "--memory-limit"]),
    ({"scheduler": "  "}, ["scheduler", "tcp://host:8786"]),
])
def test_bad_arguments_are_refused_before_anything_starts(kwargs, words):
    with pytest.raises(EventStudyError) as info:
        with open_executor(**kwargs):
            pass
    for w in words:
        assert w in str(info.value)


class _FakeCluster:
    def __init__(self, **kwargs):
        self.kwargs, self.closed = kwargs, False

    def close(self):
        self.closed = True


class _FakeClient:
    made: list = []

    def __init__(self, target, **kwargs):
        self.target, self.kwargs = target, kwargs
        self.closed = self.shut_down = False
        _FakeClient.made.append(self)

    def run(self, fn, on_error="raise"):
        return {"tcp://fake:1": fn()}

    def wait_for_workers(self, n, timeout=None):
        return None

    def close(self):
        self.closed = True

    def shutdown(self):
        self.shut_down = True


def test_local_cluster_settings_and_closed_on_error(monkeypatch):
    import distributed

    clusters: list[_FakeCluster] = []
    monkeypatch.setattr(distributed, "LocalCluster", lambda **kw: clusters.append(_FakeCluster(**kw)) or clusters[-1])
    monkeypatch.setattr(distributed, "Client", _FakeClient)
    _FakeClient.made = []
    with pytest.raises(RuntimeError, match="study failed"):
        with open_executor(workers=3, memory_limit="1GiB") as ex:
            assert isinstance(ex, DaskExecutor) and ex.kind == "local-cluster"
            raise RuntimeError("study failed")
    (c,) = clusters
    assert c.kwargs["n_workers"] == 3 and c.kwargs["threads_per_worker"] == 1 and c.kwargs["processes"] is True
    assert c.kwargs["dashboard_address"] is None and c.kwargs["memory_limit"] == "1GiB"
    assert c.closed and _FakeClient.made[0].closed


def test_existing_cluster_is_never_shut_down(monkeypatch):
    import distributed

    monkeypatch.setattr(distributed, "Client", _FakeClient)
    _FakeClient.made = []
    with pytest.raises(RuntimeError):
        with open_executor(scheduler="tcp://sched.example:8786") as ex:
            assert ex.kind == "cluster"
            raise RuntimeError("study failed")
    (cl,) = _FakeClient.made
    assert cl.target == "tcp://sched.example:8786" and cl.kwargs["timeout"] == engine.CONNECT_TIMEOUT_S
    assert cl.closed and not cl.shut_down


def test_unreachable_scheduler_fails_quickly_naming_the_address(monkeypatch):
    assert engine.CONNECT_TIMEOUT_S <= 10
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 2.0)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    t0 = time.monotonic()
    with pytest.raises(EventStudyError, match="cannot connect to the dask scheduler") as info:
        with open_executor(scheduler=address):
            pass
    assert time.monotonic() - t0 < 8
    assert address in str(info.value) and "2 s" in str(info.value)

    with pytest.raises(EventStudyError, match="nonsense://nowhere:1"):
        with open_executor(scheduler="nonsense://nowhere:1"):
            pass


# ------------------------------------------------------------------ on the local cluster


def test_cluster_gives_serial_results_and_map_on_runs_where_the_data_lives(healthy):
    ex = healthy
    with open_executor() as serial:
        _h, s_moments, s_stats = two_pass(serial)
    handles, moments, stats = two_pass(ex)

    # identical numbers, not merely close (the worker addresses aside)
    assert [m[:3] for m in moments] == [m[:3] for m in s_moments]
    assert [s[:3] for s in stats] == [s[:3] for s in s_stats]

    # each map_on task ran on the worker that made and holds the chunk, and the chunk never moved
    who = ex.client.who_has(handles)
    workers = set(ex.client.nthreads())
    for h, m, s in zip(handles, moments, stats):
        (holder,) = who[h.key]  # exactly one copy: not transferred to another worker
        assert holder in workers
        assert m[3] == holder and s[3] == holder and s[4] == holder

    # still there when its worker is busy and the other idle (dask alone would move such tasks to the
    # idle worker, with the data: work stealing)
    busy = who[handles[0].key][0]
    blocker = ex.client.submit(sleep_then, "done", 1.5, workers=[busy], pure=False)
    on_busy = [h for h in handles if who[h.key] == (busy,)]
    ran = ex.gather(ex.map_on(where_now, on_busy))
    assert ran == [(busy, busy)] * len(on_busy)
    assert blocker.result() == "done"
    ex.release(handles)


def test_describe_names_the_cluster(healthy):
    import dask
    import distributed

    d = healthy.describe()
    assert d["kind"] == "local-cluster" and d["n_workers"] == 2 and d["threads"] == 2
    assert d["threads_per_worker"] == 1 and d["memory_limit_per_worker"] > 0
    assert d["scheduler"] == healthy.client.scheduler.address and d["scheduler"].startswith("tcp://")
    assert d["dask_version"] == dask.__version__ and d["distributed_version"] == distributed.__version__
    json.dumps(d)  # goes into a manifest


def test_failing_task_raises_naming_the_item(healthy):
    ex = healthy
    handles = ex.submit_all(fail_on, CHUNKS, "SYN-chunk-4")
    with pytest.raises(TaskError) as info:
        ex.gather(handles)
    err = info.value
    assert isinstance(err, EventStudyError)
    assert "submit_all(fail_on) failed on item 4 of 6 'SYN-chunk-4': " in str(err)
    assert "ValueError: synthetic failure in SYN-chunk-4" in str(err)
    assert (err.index, err.label, err.exc_type) == (4, "'SYN-chunk-4'", "ValueError")
    assert isinstance(err.__cause__, ValueError)
    # map_on over handles of which one failed: the error names the original item, no partial result
    with pytest.raises(TaskError, match=r"item 4 of 6 'SYN-chunk-4': ValueError"):
        ex.map_on(chunk_moments, handles)
    ex.release(handles)

    good = ex.submit_all(make_chunk, CHUNKS, 1.0)
    with pytest.raises(TaskError) as info:
        ex.gather(ex.map_on(fail_on_value, good, CHUNKS[2].n))
    assert "map_on(fail_on_value) failed on handle 2 of 6 (from item 2 'SYN-chunk-2')" in str(info.value)
    assert "ZeroDivisionError: synthetic failure in pass 2" in str(info.value)
    ex.release(good)


def test_unpicklable_argument_is_named(healthy):
    ex = healthy
    with pytest.raises(EventStudyError) as info:
        ex.submit_all(fail_on, CHUNKS, threading.Lock())
    msg = str(info.value)
    assert "args[0] (lock) cannot be pickled" in msg
    assert "price store on a filesystem every worker can read" in msg
    handles = ex.submit_all(make_chunk, CHUNKS[:2], 1.0)
    with pytest.raises(EventStudyError, match="keyword argument 'source' .*cannot be pickled"):
        ex.map_on(chunk_moments, handles, source=threading.Lock())
    ex.release(handles)
    with pytest.raises(EventStudyError, match=r"item 1 \(tuple\) cannot be pickled"):
        ex.submit_all(fail_on, [CHUNKS[0], ("SYN-bad", threading.Lock())], "x")
    # a result that cannot travel back is named too (the other values are not returned alone)
    with pytest.raises(TaskError, match=r"submit_all\(make_chunk\) returned a value that cannot be sent back on "
                                        r"item 0 of 2 'SYN-chunk-0': TypeError"):
        ex.gather(ex.submit_all(make_chunk, CHUNKS[:2], 1.0, stay=True))


def test_release_frees_the_workers_memory(healthy):
    ex = healthy
    handles = ex.submit_all(make_chunk, CHUNKS, 1.0)
    values = ex.gather(handles)
    assert len(values) == len(CHUNKS)
    keys = [h.key for h in handles]

    def held():
        on_scheduler = ex.client.run_on_scheduler(lambda dask_scheduler: [k for k in keys if k in dask_scheduler.tasks])
        on_workers = ex.client.run(lambda dask_worker: [k for k in keys if k in dask_worker.data])
        return on_scheduler, sorted(k for ks in on_workers.values() for k in ks)

    assert held() == (keys, sorted(keys))
    ex.release(handles)
    deadline = time.monotonic() + 10
    while held() != ([], []) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held() == ([], [])
    with pytest.raises(EventStudyError, match="handle 0 .* was released"):
        ex.gather(handles)
    with pytest.raises(EventStudyError, match="not a handle returned by this executor"):
        ex.gather([1, 2])


def test_connecting_to_a_running_cluster_leaves_it_running(healthy):
    address = healthy.client.scheduler.address
    with open_executor(scheduler=address) as ex:
        assert ex.kind == "cluster" and ex.describe()["n_workers"] == 2
        assert ex.gather(ex.submit_all(fail_on, CHUNKS[:2], "none")) == ["SYN-chunk-0", "SYN-chunk-1"]
    # the cluster and the first client still work
    assert healthy.gather(healthy.submit_all(fail_on, CHUNKS[:1], "none")) == ["SYN-chunk-0"]


def test_workers_running_other_code_are_refused(healthy):
    engine._check_same_code(healthy.client)  # the same code: accepted
    with pytest.raises(EventStudyError, match="2 of 2 dask worker.*same eventstudy version") as info:
        engine._check_same_code(healthy.client, here="0" * 16)
    assert engine.code_fingerprint() in str(info.value)


def test_dead_worker_is_reported_naming_the_task(healthy):
    ex = healthy
    killed = r"submit_all\(exit_on\) killed its worker\(s\) on item 1 of 3 'SYN-chunk-1': KilledWorker"
    with allowed_failures(ex.client, 0), pytest.raises(TaskError, match=killed):
        ex.gather(ex.submit_all(exit_on, CHUNKS[:3], "SYN-chunk-1"))

    # the worker holding a handle dies (here: killed by another task) before the map_on task pinned to
    # it could run: the task can never run; an error names it instead of waiting forever
    ex.client.wait_for_workers(2, timeout=30)
    handles = ex.submit_all(make_chunk, CHUNKS[:2], 1.0)
    ex.gather(handles)
    holder = ex.client.who_has(handles)[handles[0].key][0]
    killer = ex.client.submit(sleep_then_exit, 0.5, workers=[holder], pure=False)
    time.sleep(0.2)
    with pytest.raises(TaskError, match=r"map_on\(where_now\) cannot run on handle 0 of 1 \(from item 0 "
                                        r"'SYN-chunk-0'\): RuntimeError: worker tcp://\S+ left the cluster"):
        ex.gather(ex.map_on(where_now, handles[:1]))
    killer.release()
    ex.release(handles)
    ex.client.wait_for_workers(2, timeout=30)


def test_forked_workers_cap_the_compiled_kernels_threads_at_their_share_of_the_cpus():
    """Each forked worker sets the kernels' thread cap to cpu_count // workers (never below 1); the parent's
    cap is left as it was."""
    import os

    from eventstudy import _kernels
    from eventstudy.engine import ForkExecutor, fork_available

    if not fork_available():
        pytest.skip("no fork on this platform")
    before = _kernels._MAX_THREADS
    for k in (1, 2, 3):
        caps = ForkExecutor(k).submit_all(_read_cap, list(range(k)))
        assert caps == [max(1, (os.cpu_count() or 1) // k)] * k
    assert _kernels._MAX_THREADS == before


def _read_cap(_: int):
    from eventstudy import _kernels

    return _kernels._MAX_THREADS
