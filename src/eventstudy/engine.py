"""Where the chunks of a study run: in this process, on a local Dask cluster, or on an existing one.

A study split in chunks talks to one small interface, :class:`Executor`, and does not care where
its tasks run::

    with open_executor(workers=None, scheduler=None) as ex:      # serial, in this process
        handles = ex.submit_all(pass_one, chunks, store_path)      # one task per chunk
        sums = ex.gather(ex.map_on(summarize, handles))            # small values come back
        final = ex.gather(ex.map_on(pass_two, handles, global_value))
        ex.release(handles)                                        # the workers drop the chunks

:func:`open_executor` picks the executor:

* ``workers=None, scheduler=None`` -- :class:`SerialExecutor`: every call runs at once, in order, in
  this process; a handle *is* the value. Neither dask nor distributed is imported.
* ``workers=N`` -- a ``distributed.LocalCluster`` of ``N`` worker processes with one thread each,
  started for the ``with`` block and closed when it ends, also on error.
* ``scheduler="tcp://host:8786"`` -- a ``distributed.Client`` connected to a running cluster
  (``dask scheduler`` / ``dask worker`` on other machines). Only the client is closed at the end:
  the cluster is never shut down.

**Handles and locality.** With dask a handle is a ``distributed.Future``: the value stays in the
memory of the worker that computed it. :meth:`Executor.map_on` runs a function *on that worker*
(the task is pinned to the workers holding the handle's value), so a large per-chunk state is
computed once, kept where it is, and never crosses the network; only what the function returns
(a summary) travels when gathered. :meth:`Executor.release` lets the workers drop the values.

**What is sent.** The function, each item and the extra ``*args, **kwargs`` are pickled
(cloudpickle) and sent with every task; they must be picklable and should be small: parameters,
chunk descriptions, *the path of a price store on a filesystem every worker can read*. An
in-memory price source (a DataFrame built in the client, an open connection or file) is not a
way to give workers prices: it is either refused (unpicklable; the error names the argument) or
copied into every task. The eventstudy code must be importable, in the same version, on the
client, the scheduler and every worker (checked on connection, see :func:`code_fingerprint`).

**Failures are visible.** Nothing returns partial results: :meth:`Executor.gather` returns every
value or raises. A task that raises is re-raised in the caller as :class:`TaskError` (an
:class:`~eventstudy._errors.EventStudyError`) naming the function, the item's index and label and
the original exception's type and message (the original is chained as ``__cause__``). A worker
that dies while running a task (out of memory, a crash in native code) gives a :class:`TaskError`
naming the task, and so does a :meth:`~Executor.map_on` task whose data's worker has left the
cluster (it could never run: an error instead of a wait without end); an unreachable scheduler
gives an :class:`~eventstudy._errors.EventStudyError` naming the address after at most
:data:`CONNECT_TIMEOUT_S` seconds.

**Identical results.** The executors run the same functions on the same inputs; results do not
depend on the executor as long as the caller combines gathered values in handle order (which
:meth:`Executor.gather` preserves) and the functions are deterministic.

**Scripts.** Worker processes of a local cluster are *spawned*: a script that calls
``open_executor(workers=N)`` at top level needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ._errors import EventStudyError

#: seconds to wait for a scheduler (and for its first worker) before giving up
CONNECT_TIMEOUT_S: float = 10.0
#: seconds between checks, while waiting for tasks, that the workers holding pinned data are alive
POLL_S: float = 0.5
#: longest item label quoted in an error message
_LABEL_MAX = 80


class Executor(Protocol):
    """What a chunked study needs from an execution engine (see the module docstring)."""

    def submit_all(self, fn: Callable[..., Any], items: list, *args: Any, **kwargs: Any) -> list:
        """One task per item, ``fn(item, *args, **kwargs)``; returns one handle per item, in order."""

    def map_on(self, fn: Callable[..., Any], handles: list, *args: Any, **kwargs: Any) -> list:
        """``fn(value, *args, **kwargs)`` for the value of each handle, run where that value lives.

        With dask it first waits for the handles' values (a failed task raises here, naming its
        item), then pins each new task to the worker(s) holding its handle's value."""

    def gather(self, handles: list) -> list:
        """The values of the handles, in order; raises :class:`TaskError` if any task failed."""

    def release(self, handles: list) -> None:
        """Let the workers drop the values of these handles (they cannot be used afterwards)."""

    def describe(self) -> dict:
        """Where the tasks run, for the results manifest."""


class TaskError(EventStudyError):
    """A task failed: its function raised, its worker died, or it was cancelled.

    ``stage`` is ``"submit_all"`` or ``"map_on"``; ``index`` the 0-based position of the item (or
    handle) in the call; ``label`` the item's label as shown (see :func:`item_label`; empty if
    none); ``function`` the function's name; ``exc_type`` and ``exc_message`` the original
    exception's class name and text.
    """

    def __init__(self, message: str, *, stage: str = "", index: int = -1, label: str = "",
                 function: str = "", exc_type: str = "", exc_message: str = ""):
        super().__init__(message)
        self.stage, self.index, self.label, self.function = stage, index, label, function
        self.exc_type, self.exc_message = exc_type, exc_message

    def __reduce__(self):
        return (_rebuild_task_error, (str(self), self.stage, self.index, self.label, self.function,
                                      self.exc_type, self.exc_message))


def _rebuild_task_error(message, stage, index, label, function, exc_type, exc_message) -> TaskError:
    return TaskError(message, stage=stage, index=index, label=label, function=function, exc_type=exc_type,
                     exc_message=exc_message)


# --------------------------------------------------------------------------------------------- naming


def _fn_name(fn: Callable[..., Any]) -> str:
    """A readable name of a callable (functools.partial and callable objects included)."""
    inner = getattr(fn, "func", fn)
    return getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None) or type(inner).__name__


def item_label(item: Any) -> str:
    """How an error message shows an item besides its index: the repr of its ``label`` attribute if
    it has one (a chunk description should), else of the item itself when it is a string or a
    tuple; else ``""``. Cut to 80 characters."""
    lab = getattr(item, "label", None)
    if lab is None and isinstance(item, (str, tuple)):
        lab = item
    if lab is None:
        return ""
    text = repr(lab)
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


def _where(stage: str, index: int, total: int, label: str, origin: str = "") -> str:
    """"item 3 of 8 'ACME'" for submit_all, "handle 3 of 8 (from item 3 'ACME')" for map_on."""
    if stage == "submit_all":
        return f"item {index} of {total}" + (f" {label}" if label else "")
    return f"handle {index} of {total}" + (f" (from {origin})" if origin else "")


def _task_error(stage: str, index: int, total: int, label: str, fn_name: str, exc: BaseException,
                origin: str = "", what: str = "failed", hint: str = "") -> TaskError:
    exc_type, exc_message = type(exc).__name__, str(exc)
    message = (f"{stage}({fn_name}) {what} on {_where(stage, index, total, label, origin)}: "
               f"{exc_type}: {exc_message}" + (f"\n{hint}" if hint else ""))
    return TaskError(message, stage=stage, index=index, label=label, function=fn_name, exc_type=exc_type,
                     exc_message=exc_message)


# --------------------------------------------------------------------------------------------- serial


class SerialExecutor:
    """Runs every task at once, in order, in this process; a handle is the value itself.

    Nothing is pickled, so an argument that works here may still be refused by a dask executor
    (see the module docstring). :meth:`release` cannot free anything the caller still references.
    """

    def submit_all(self, fn: Callable[..., Any], items: list, *args: Any, **kwargs: Any) -> list:
        return [self._run("submit_all", fn, i, len(items), item, args, kwargs) for i, item in enumerate(items)]

    def map_on(self, fn: Callable[..., Any], handles: list, *args: Any, **kwargs: Any) -> list:
        return [self._run("map_on", fn, i, len(handles), h, args, kwargs) for i, h in enumerate(handles)]

    def gather(self, handles: list) -> list:
        return list(handles)

    def release(self, handles: list) -> None:
        return None

    def describe(self) -> dict:
        return {"kind": "serial", "n_workers": 1, "threads": 1, "threads_per_worker": 1,
                "memory_limit_per_worker": None, "scheduler": None, "dask_version": None,
                "distributed_version": None}

    @staticmethod
    def _run(stage: str, fn: Callable[..., Any], index: int, total: int, value: Any, args: tuple,
             kwargs: dict) -> Any:
        try:
            return fn(value, *args, **kwargs)
        except Exception as exc:            # an item is labelled only on failure (a chunk's label reads its events)
            label = item_label(value) if stage == "submit_all" else ""
            raise _task_error(stage, index, total, label, _fn_name(fn), exc) from exc


# --------------------------------------------------------------------------------------------- fork

#: what the forked workers of :class:`ForkExecutor` run: set in the parent just before the pool forks,
#: inherited by the children (never pickled: a large in-memory price source costs nothing to share)
_FORKED: dict[str, Any] = {}


def _forked_task(index: int) -> Any:
    job = _FORKED
    return job["fn"](job["items"][index], *job["args"], **job["kwargs"])


def _forked_worker_init(processes: int) -> None:
    """In each forked worker: the compiled kernels' thread pools get this worker's share of the CPUs
    (``processes`` workers already keep every core busy; more threads only contend). Results do not
    depend on it (:func:`eventstudy._kernels.set_max_threads`)."""
    from ._kernels import set_max_threads

    set_max_threads(max(1, (os.cpu_count() or 1) // max(1, processes)))
    keep_freed_memory(heap_only=True)


#: glibc ``mallopt`` parameters (``malloc.h``)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4


def keep_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30, heap_only: bool = False) -> bool:
    """Let this process's C allocator keep and reuse freed memory (glibc only; elsewhere nothing).

    A chunk's temporaries are arrays of a few to a few tens of MB. By default glibc serves each with a
    fresh ``mmap`` and returns it on ``free``, so every temporary costs one page fault per 4 KiB page
    when first written. With allocations up to ``mmap_threshold`` bytes served from the heap and up to
    ``trim_threshold`` bytes of free heap kept, a temporary reuses pages already mapped (measured, a
    100,000-event study on two forked workers, whole run: 0.80 M minor page faults and 4.6–5.6 s of
    kernel time before, 0.48 M and 2.9–3.1 s after). glibc caps ``mmap_threshold`` at 32 MiB, so a chunk of
    more than ~14,000 events (an (events × 276 days) float64 array is then larger) still got a fresh
    ``mmap`` per array: ``heap_only`` (``M_MMAP_MAX`` = 0) serves every allocation from the heap (measured,
    200,000 events in chunks of 20,000 in one process: 18.4–18.7 s CPU with 3.7–4.0 s in the kernel →
    15.9–17.1 s with 1.3–2.4 s; peak resident memory 2.20 → 2.34 GB). Only the speed changes: the same
    arrays hold the same values. Called in the forked chunk workers (processes this package starts and ends,
    ``heap_only``: they live for one pass) and by the ``eventstudy`` command for its own process (without
    ``heap_only``: a long study's parent keeps its memory returnable), never for a library caller's process;
    returns whether the allocator took the settings (all are C ``int``: at most 2**31 − 1).
    """
    if not (0 <= int(mmap_threshold) < 2**31 and 0 <= int(trim_threshold) < 2**31):
        raise ValueError(f"keep_freed_memory: thresholds must be in [0, 2**31), got {mmap_threshold}, {trim_threshold}")
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt      # the C library already loaded in this process (no search)
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl without mallopt, Windows)
        return False
    ok_trim = mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    ok_mmap = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
    ok_heap = mallopt(_M_MMAP_MAX, 0) if heap_only else 1
    return bool(ok_trim and ok_mmap and ok_heap)


def fork_available() -> bool:
    """Whether this platform can fork worker processes (POSIX; not Windows)."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class ForkExecutor(SerialExecutor):
    """Runs tasks on ``processes`` worker processes *forked* from this one, one task at a time each.

    Neither the function, nor the items or handles, nor the extra arguments are pickled: the workers
    inherit them from this process when they fork (an in-memory price source, an open folder index, the
    chunks' values), so only each task's result crosses back (pickled). A handle is the value itself,
    held in this process (as with :class:`SerialExecutor`); :meth:`map_on` forks again and runs on the
    inherited values. Use it only with sources that hold no connection or shared budget (a network
    source's fail-fast count would be per worker): :func:`eventstudy.chunked.run_chunked` forks only
    local sources. Results are identical to :class:`SerialExecutor`'s: same functions, same inputs,
    values returned in item order. A task that raises gives a :class:`TaskError` naming it; a worker that
    dies (killed, out of memory) gives one naming the task it was running.
    """

    def __init__(self, processes: int):
        self.processes = int(processes)

    def submit_all(self, fn: Callable[..., Any], items: list, *args: Any, **kwargs: Any) -> list:
        return self._forked("submit_all", fn, items, args, kwargs)

    def map_on(self, fn: Callable[..., Any], handles: list, *args: Any, **kwargs: Any) -> list:
        return self._forked("map_on", fn, handles, args, kwargs)

    def _forked(self, stage: str, fn: Callable[..., Any], values: list, args: tuple, kwargs: dict) -> list:
        """``fn(values[i], *args, **kwargs)`` for every i on the forked workers; ``values`` may be a lazy
        sequence (each worker reads only its items; an item is labelled in this process only on failure)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        if not values:
            return []
        _FORKED.update(fn=fn, items=values, args=args, kwargs=kwargs)
        out: list = [None] * len(values)
        name, n = _fn_name(fn), len(values)
        try:
            k = min(self.processes, n)
            with ProcessPoolExecutor(k, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_forked_worker_init, initargs=(k,)) as pool:
                futures = [pool.submit(_forked_task, i) for i in range(n)]
                for i, f in enumerate(futures):
                    try:
                        out[i] = f.result()
                    except BrokenProcessPool as exc:
                        for g in futures:
                            g.cancel()
                        raise _task_error(stage, i, n, self._label(stage, values, i), name, exc,
                                          what="lost its worker process (killed, or out of memory?)") from exc
                    except Exception as exc:
                        for g in futures:
                            g.cancel()
                        raise _task_error(stage, i, n, self._label(stage, values, i), name, exc) from exc
        finally:
            _FORKED.clear()
        return out

    @staticmethod
    def _label(stage: str, values, i: int) -> str:
        return item_label(values[i]) if stage == "submit_all" else ""

    def describe(self) -> dict:
        return {"kind": "fork", "n_workers": self.processes, "threads": self.processes, "threads_per_worker": 1,
                "memory_limit_per_worker": None, "scheduler": None, "dask_version": None,
                "distributed_version": None}


# --------------------------------------------------------------------------------------------- dask


class _Call:
    """``fn(value, *args, **kwargs)`` as one picklable callable, so that the user's keyword names
    never collide with those of ``Client.map`` (``key``, ``workers``, ``pure``, ...)."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __call__(self, value: Any) -> Any:
        return self.fn(value, *self.args, **self.kwargs)


def code_fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the eventstudy package's ``.py`` files, path and content.

    Compared between the client and every worker when an executor opens: results are identical
    to an in-process run only if every node runs the same code.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _check_same_code(client: Any, here: str | None = None) -> None:
    """Raise if a worker cannot import eventstudy or runs other eventstudy code than this process
    (``here``: this process's :func:`code_fingerprint`, computed if not given)."""
    here = here if here is not None else code_fingerprint()
    there = client.run(code_fingerprint, on_error="return")
    bad = {w: v for w, v in there.items() if v != here}
    if bad:
        shown = "; ".join(f"{w}: {type(v).__name__}: {v}" if isinstance(v, BaseException) else f"{w}: {v}"
                          for w, v in sorted(bad.items(), key=lambda kv: kv[0])[:10])
        raise EventStudyError(
            f"{len(bad)} of {len(there)} dask worker(s) do not run the same eventstudy code as this process "
            f"(code fingerprint here {here}; there: {shown}). Install the same eventstudy version on the "
            f"scheduler and every worker node and restart them.")


def _unpicklable(fn: Callable[..., Any], items: Sequence, args: tuple, kwargs: dict,
                 item_word: str) -> str | None:
    """Name the first of fn, args, kwargs, items that cloudpickle refuses, with the reason."""
    import cloudpickle

    candidates: list[tuple[str, Any]] = [("the function", fn)]
    candidates += [(f"args[{j}] ({type(a).__name__})", a) for j, a in enumerate(args)]
    candidates += [(f"keyword argument {k!r} ({type(v).__name__})", v) for k, v in kwargs.items()]
    candidates += [(f"{item_word} {i} ({type(x).__name__})", x) for i, x in enumerate(items)]
    for name, obj in candidates:
        try:
            cloudpickle.dumps(obj)
        except Exception as exc:
            return f"{name} cannot be pickled ({type(exc).__name__}: {exc})"
    return None


_PICKLE_HINT = ("Dask tasks run in other processes or machines, so the function, the items and the extra "
                "arguments are pickled and sent to them. Pass picklable, small values: parameters, chunk "
                "descriptions, and prices as the path of a price store on a filesystem every worker can read "
                "(not an in-memory price source, an open file or a connection).")


class DaskExecutor:
    """Tasks on a dask.distributed cluster through ``client``; handles are ``distributed.Future``.

    ``kind`` is ``"local-cluster"`` or ``"cluster"`` (for :meth:`describe`). Use through
    :func:`open_executor`, which owns the client (and the local cluster).
    """

    def __init__(self, client: Any, kind: str):
        self.client = client
        self.kind = kind
        #: key -> (stage, index, total, label, function name, origin description)
        self._meta: dict[Any, tuple[str, int, int, str, str, str]] = {}
        #: key of a map_on task -> the workers it is pinned to
        self._pinned: dict[Any, frozenset[str]] = {}
        self._released: set[Any] = set()

    # -- the interface

    def submit_all(self, fn: Callable[..., Any], items: list, *args: Any, **kwargs: Any) -> list:
        items = list(items)
        if not items:
            return []
        name, keys = self._keys(fn, len(items))
        call = self._checked_call(fn, args, kwargs, "item")
        try:
            futures = self.client.map(call, items, key=keys, pure=False)
        except Exception as exc:
            raise self._submit_error(exc, fn, items, args, kwargs, "item") from exc
        for i, (key, item) in enumerate(zip(keys, items)):
            self._meta[key] = ("submit_all", i, len(items), item_label(item), name, "")
        return futures

    def map_on(self, fn: Callable[..., Any], handles: list, *args: Any, **kwargs: Any) -> list:
        from distributed import Future

        handles = list(handles)
        if not handles:
            return []
        self._check_handles(handles)
        name, keys = self._keys(fn, len(handles))
        call = self._checked_call(fn, args, kwargs, "handle")
        holders = self._holders(handles)
        out: list[Future | None] = [None] * len(handles)
        groups: dict[frozenset[str], list[int]] = {}
        for i, h in enumerate(handles):
            groups.setdefault(holders[h.key], []).append(i)
        for where, idx in groups.items():
            try:
                futures = self.client.map(call, [handles[i] for i in idx], key=[keys[i] for i in idx],
                                          workers=sorted(where), allow_other_workers=False, pure=False)
            except Exception as exc:
                raise self._submit_error(exc, fn, [], args, kwargs, "handle") from exc
            for i, f in zip(idx, futures):
                out[i] = f
        for i, h in enumerate(handles):
            self._meta[keys[i]] = ("map_on", i, len(handles), "", name, self._origin(h.key))
            self._pinned[keys[i]] = holders[h.key]
        return out

    def gather(self, handles: list) -> list:
        handles = list(handles)
        if not handles:
            return []
        self._check_handles(handles)
        self._wait(handles)
        try:
            return self.client.gather(handles, errors="raise")
        except Exception as exc:  # a value that cannot be sent back (unpicklable) or was lost meanwhile
            for h in handles:  # find which one, to name it
                try:
                    self.client.gather(h, errors="raise")
                except Exception as one:
                    raise self._failure(h, one, what="returned a value that cannot be sent back") from one
            raise EventStudyError(f"gathering {len(handles)} values from the cluster failed: "
                                  f"{type(exc).__name__}: {exc}") from exc

    def release(self, handles: list) -> None:
        for h in handles:
            key = getattr(h, "key", None)
            if key is None or key in self._released:
                continue
            h.release()
            self._released.add(key)
            self._pinned.pop(key, None)

    def describe(self) -> dict:
        import dask
        import distributed

        workers = self._workers()
        threads = sorted({w.get("nthreads", 0) for w in workers.values()})
        memory = sorted({w.get("memory_limit") or 0 for w in workers.values()})
        return {"kind": self.kind, "n_workers": len(workers),
                "threads": sum(w.get("nthreads", 0) for w in workers.values()),
                "threads_per_worker": threads[0] if len(threads) == 1 else threads,
                "memory_limit_per_worker": memory[0] if len(memory) == 1 else memory,
                "scheduler": self.client.scheduler.address, "dask_version": dask.__version__,
                "distributed_version": distributed.__version__}

    # -- helpers

    def _workers(self) -> dict[str, dict]:
        """The scheduler's current workers, address -> info, asked now (``Client.scheduler_info``
        returns a cache that a periodic refresh may leave without workers)."""
        try:
            return self.client.sync(self.client.scheduler.identity, n_workers=-1)["workers"]
        except Exception as exc:
            raise EventStudyError(f"lost the connection to the dask scheduler {self.client.scheduler.address}: "
                                  f"{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _keys(fn: Callable[..., Any], n: int) -> tuple[str, list[str]]:
        name = _fn_name(fn)
        prefix = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "task"
        token = uuid.uuid4().hex
        return name, [f"{prefix}-{token}-{i}" for i in range(n)]

    @staticmethod
    def _checked_call(fn: Callable[..., Any], args: tuple, kwargs: dict, word: str) -> _Call:
        """The task callable, once checked to pickle (a clear error naming the culprit instead of
        distributed's serialization traceback); the items are checked only if submission fails."""
        import cloudpickle

        if not callable(fn):
            raise EventStudyError(f"the task function must be callable, got {type(fn).__name__}")
        call = _Call(fn, args, kwargs)
        try:
            cloudpickle.dumps(call)
        except Exception as exc:
            problem = _unpicklable(fn, [], args, kwargs, word) or f"the task cannot be pickled ({exc})"
            raise EventStudyError(f"{problem}. {_PICKLE_HINT}") from exc
        return call

    def _submit_error(self, exc: Exception, fn: Callable[..., Any], items: list, args: tuple, kwargs: dict,
                      word: str) -> EventStudyError:
        problem = _unpicklable(fn, items, args, kwargs, word)
        if problem:
            return EventStudyError(f"{problem}. {_PICKLE_HINT}")
        return EventStudyError(f"could not submit {_fn_name(fn)} to the dask scheduler "
                               f"{self.client.scheduler.address}: {type(exc).__name__}: {exc}")

    def _check_handles(self, handles: list) -> None:
        from distributed import Future

        for i, h in enumerate(handles):
            if not isinstance(h, Future):
                raise EventStudyError(f"handle {i} is a {type(h).__name__}, not a handle returned by this executor")
            if h.key in self._released:
                raise EventStudyError(f"handle {i} ({self._describe_key(h.key)}) was released; "
                                      "it has no value any more")
            if h.client is not self.client or h.key not in self._meta:
                raise EventStudyError(f"handle {i} was not returned by this executor")

    def _describe_key(self, key: Any) -> str:
        meta = self._meta.get(key)
        if meta is None:
            return f"task {key}"
        stage, index, total, label, name, origin = meta
        return f"{stage}({name}) {_where(stage, index, total, label, origin)}"

    def _origin(self, key: Any) -> str:
        """'item 3 'ACME'' for the value a map_on task starts from (followed through map_on chains)."""
        meta = self._meta.get(key)
        if meta is None:
            return ""
        stage, index, total, label, _name, origin = meta
        if stage == "submit_all":
            return f"item {index}" + (f" {label}" if label else "")
        return origin

    def _holders(self, handles: list) -> dict[Any, frozenset[str]]:
        """Wait for the handles' values and return the workers holding each (a value may be
        recomputed elsewhere if its worker died: asked again a few times)."""
        for _attempt in range(5):
            self._wait(handles)
            who = self.client.who_has(handles)
            holders = {h.key: frozenset(who.get(h.key, ())) for h in handles}
            if all(holders.values()):
                return holders
        lost = next(i for i, h in enumerate(handles) if not holders[h.key])
        raise EventStudyError(f"handle {lost} ({self._describe_key(handles[lost].key)}) has no worker holding "
                              "its value (workers keep leaving the cluster)")

    def _wait(self, futures: list) -> None:
        """Block until every future is finished; raise :class:`TaskError` as soon as one fails (the
        lowest index among those failed by then), or when a pinned task's workers have all left the
        cluster (it could never run). Event-driven: one done-callback per future, no polling of
        the futures; every :data:`POLL_S` seconds only the pinned tasks' workers are checked."""
        pending = [f for f in futures if f.status != "finished"]
        if not pending:
            return
        lock = threading.Lock()
        wake = threading.Event()
        left = [len(pending)]

        def on_done(future: Any) -> None:
            with lock:
                left[0] -= 1
                if left[0] == 0 or future.status != "finished":
                    wake.set()

        for f in pending:
            f.add_done_callback(on_done)
        while not wake.wait(POLL_S):
            pinned = [f for f in pending if f.key in self._pinned and not f.done()]
            if pinned:
                alive = set(self._workers())
                for f in pinned:
                    if not self._pinned[f.key] & alive:
                        raise self._dead_holder(f)
        failed = [f for f in futures if f.status in ("error", "cancelled")]
        if failed:
            raise self._failure(min(failed, key=lambda f: self._meta.get(f.key, ("", -1))[1]))

    def _failure(self, future: Any, exc: BaseException | None = None, what: str = "failed") -> TaskError:
        from distributed import KilledWorker

        stage, index, total, label, name, origin = self._meta.get(
            future.key, ("task", -1, -1, "", str(future.key), ""))
        if future.status == "cancelled":
            return _task_error(stage, index, total, label, name, exc or RuntimeError("cancelled"), origin,
                               what="was cancelled",
                               hint="The connection to the scheduler was lost or the cluster was shut down.")
        if future.status == "error":
            try:
                exc = future.exception(timeout=CONNECT_TIMEOUT_S)
                exc = exc.with_traceback(future.traceback(timeout=CONNECT_TIMEOUT_S))
            except Exception:
                pass
        exc = exc if exc is not None else RuntimeError(f"task status {future.status!r}")
        if isinstance(exc, KilledWorker):
            err = _task_error(stage, index, total, label, name, exc, origin, what="killed its worker(s)",
                              hint="Every worker that ran this task died (out of memory: raise the memory per "
                                   "worker or lower --chunk-size; or a crash in native code).")
        elif isinstance(exc, ImportError):
            err = _task_error(stage, index, total, label, name, exc, origin,
                              hint="Is the same eventstudy installed on the scheduler and every worker?")
        else:
            err = _task_error(stage, index, total, label, name, exc, origin, what=what)
        err.__cause__ = exc
        return err

    def _dead_holder(self, future: Any) -> TaskError:
        stage, index, total, label, name, origin = self._meta[future.key]
        gone = ", ".join(sorted(self._pinned[future.key]))
        return _task_error(stage, index, total, label, name,
                           RuntimeError(f"worker {gone} left the cluster"), origin,
                           what="cannot run",
                           hint="The worker holding this handle's value died or was stopped (out of memory: "
                                "raise the memory per worker or lower --chunk-size), so the task pinned to it "
                                "can never run. Run the study again.")


# --------------------------------------------------------------------------------------------- opening


@contextlib.contextmanager
def open_executor(workers: int | None = None, scheduler: str | None = None, *,
                  memory_limit: str | None = None, processes: int = 1) -> Iterator[Executor]:
    """The executor for a study, as a context manager (see the module docstring).

    ``workers=N`` starts a local cluster of ``N`` single-threaded worker processes (``memory_limit``
    per worker, e.g. ``"4GiB"``; default: the machine's memory shared equally) and closes it at the
    end; ``scheduler="tcp://host:port"`` connects to a running cluster and leaves it running; neither
    runs everything in this process: serially, or with ``processes > 1`` on that many forked processes
    (:class:`ForkExecutor`; where the platform cannot fork, serially).
    """
    if workers is not None and scheduler is not None:
        raise EventStudyError(f"give either workers={workers} (start a local cluster) or scheduler={scheduler!r} "
                              "(use a running cluster), not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise EventStudyError(f"workers must be a whole number >= 1, got {workers!r}")
    if memory_limit is not None and workers is None:
        where = (f"set it on each node with `dask worker {scheduler} --memory-limit ...`" if scheduler
                 else "it needs workers=N")
        raise EventStudyError(f"memory_limit={memory_limit!r} applies only to a local cluster: {where}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise EventStudyError(f"scheduler must be an address such as 'tcp://host:8786', got {scheduler!r}")

    if workers is None and scheduler is None:
        yield ForkExecutor(processes) if processes > 1 and fork_available() else SerialExecutor()
        return

    from distributed import Client

    with contextlib.ExitStack() as stack:
        if workers is not None:
            from distributed import LocalCluster

            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.CRITICAL,
                                       memory_limit=memory_limit if memory_limit is not None else "auto")
            except Exception as exc:
                raise EventStudyError(f"could not start a local dask cluster of {workers} worker(s): "
                                      f"{type(exc).__name__}: {exc}") from exc
            stack.callback(cluster.close)
            client = Client(cluster, set_as_default=False)
            stack.callback(client.close)
            kind = "local-cluster"
        else:
            address = scheduler.strip()
            try:
                client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except Exception as exc:
                raise EventStudyError(
                    f"cannot connect to the dask scheduler at {address!r} (waited at most {CONNECT_TIMEOUT_S:g} s): "
                    f"{type(exc).__name__}: {exc}. Is `dask scheduler` running there, and is the port "
                    "reachable from this machine?") from exc
            stack.callback(client.close)
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except Exception as exc:
                raise EventStudyError(f"the dask scheduler at {address!r} has no workers (none joined within "
                                      f"{CONNECT_TIMEOUT_S:g} s); start some with `dask worker {address}`") from exc
            kind = "cluster"
        _check_same_code(client)
        yield DaskExecutor(client, kind)
