"""Cost curve of a whole study with every test, 1k → 1M events (10M with ``--sizes``), on SYNTHETIC data
(seeded; not market data).

Usage: ``python benchmarks/bench_scale.py [--sizes 1000 10000 100000 1000000] [--chunk 20000]
[--tickers 2000] [--days 2500] [--mode auto|memory|chunked|stream] [--workers N] [--processes N] [--tmp DIR]``

Each size runs in a fresh child process. The child builds a synthetic price panel (``--tickers`` ×
``--days`` sessions plus the benchmark) and ``n`` synthetic events, then times, as one block,
``run_study`` (prices → panel → market model → AR/CAR → statuses) and both test tables (every test per
window and per event-span day: ``caar`` and ``aar``). ``memory`` runs the study in one piece; ``chunked``
runs it in chunks of ``--chunk`` events with ``keep_frames=False`` (the long per-event frames are not
kept; the events table and the statistics are), which is how sizes beyond memory run; ``auto`` is the
library's default (``chunk_size="auto"``: one piece up to 10,000 events, chunks of 4,000 above, frames
kept); ``stream`` runs it in chunks of ``--chunk`` events and streams the results folder (parquet) to a
temporary folder (``run_study(out=..., format="parquet")``, docs/scale.md): events, frames and both
tables are written, nothing is kept in memory but the statistics. ``--workers N`` runs the chunks on a
local Dask cluster; ``--processes N`` sets the forked processes of in-process chunks (default: the
library's, one per CPU; ``1``: every chunk in this process). ``--tmp DIR`` is where the study's temporary folder and the results go (default:
the system's temporary folder); it is removed at the end.

Printed per size: wall seconds, CPU seconds of the process and of its forked chunk processes (Dask
workers are not counted), events per second, microseconds per event, the resident memory before the study (the synthetic panel
and events) and at its peak, and what the result holds (the events table and the compact per-event
statistics, MB). The machine is shared with other work: the load average is printed; compare rows of
one run. A sampler thread reads ``/proc/self/status`` every 0.2 s (Linux) and prints, for the child, the
peak of its anonymous memory (``RssAnon``: the process's own arrays) and of its file-backed resident
pages (``RssFile``: memory-mapped statistics and files, which the kernel can write back and evict), the
stage each peak was reached in (the study's progress messages), and the peak disk space under ``--tmp``
(spill, temporary statistics files, results), and the peak of the proportional set size of the process
with its forked chunk processes (``tree_pss``: shared pages counted once); then each stage's start time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

import numpy as np

from _machine import describe


class Sampler(threading.Thread):
    """Peaks of this process's anonymous and file-backed resident memory (``/proc/self/status``) and of the
    disk space under ``root``, each with the stage it was reached in; stages are set by :meth:`stage`."""

    def __init__(self, root: str | None, period: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.period, self.label, self.t0 = root, period, "prepare", time.perf_counter()
        self.peak: dict[str, tuple[float, str]] = {}
        self.stages: list[tuple[float, str]] = [(0.0, "prepare")]
        self.done = threading.Event()
        self._disk_at = 0.0

    def stage(self, message: str) -> None:
        label = message.split(":")[0] if message.startswith("writing") else message
        if label != self.label:
            self.label = label
            self.stages.append((time.perf_counter() - self.t0, label))

    def _note(self, key: str, value: float) -> None:
        if value > self.peak.get(key, (-1.0, ""))[0]:
            self.peak[key] = (value, self.label)

    def sample(self) -> None:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                        self._note(k, int(v.split()[0]) / 1024)
        except OSError:
            pass
        self._note("tree_pss", _tree_pss_mb())
        now = time.perf_counter()
        if self.root and now - self._disk_at > 2.0:
            self._disk_at = now
            self._note("disk", _tree_bytes(self.root) / 2**20)

    def run(self) -> None:
        while not self.done.wait(self.period):
            self.sample()


def _tree_pss_mb() -> float:
    """Proportional set size (MB) of this process plus its child processes (``/proc/*/smaps_rollup``; pages
    shared between them after a fork are split, not counted twice); 0 where /proc cannot tell."""
    pids = [os.getpid()]
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as fh:
            pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (forked chunk processes; not Dask workers)."""
    t = os.times()
    return t.children_user + t.children_system


def _tree_bytes(root: str) -> int:
    """Bytes of the files under ``root`` (allocated blocks: sparse files count what they hold)."""
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_blocks * 512
            except OSError:
                pass
    return total


def one(n: int, tickers: int, days: int, mode: str, chunk: int, workers: int | None, tmp: str | None,
        processes: int | None = None) -> dict:
    import shutil
    import tempfile

    from eventstudy import StudySpec, run_study
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

    root = tempfile.mkdtemp(prefix="bench-scale-", dir=tmp) if mode == "stream" else None
    if root:
        os.environ["TMPDIR"] = tempfile.tempdir = os.path.join(root, "tmp")
        os.mkdir(tempfile.tempdir)
    sampler = Sampler(root)
    sampler.start()
    bars = synthetic_bars(tickers, start="2012-01-03", n_days=days, seed=42)
    ev = synthetic_events(bars, n, seed=n)
    src = InMemorySource(bars, name="synthetic")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sampler.stage("study")
    t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
    kw = {"chunk_size": chunk, "keep_frames": False, "workers": workers} if mode == "chunked" else \
        {"chunk_size": None} if mode == "memory" else \
        {"chunk_size": chunk, "workers": workers, "out": os.path.join(root, "results"), "format": "parquet",
         "progress": sampler.stage} if mode == "stream" else {}
    if processes is not None and mode != "memory":
        kw["processes"] = processes
    try:
        res = run_study(ev, src, StudySpec(benchmark=BENCHMARK), **kw)
        t1 = time.perf_counter()
        sampler.stage("tables")
        caar, aar = res.caar, res.aar
        t2, c2, k2 = time.perf_counter(), time.process_time(), _children_cpu()
        sampler.sample()
        sampler.done.set()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        st = res.stats
        arrays = [a for d in (st.events.w, st.events.e, st.events.d) for a in d.values()]
        held = sum(a.nbytes for a in arrays) / 2**20
        mapped = sum(a.nbytes for a in arrays if isinstance(a.base, np.memmap)) / 2**20
        results = {}
        if root:
            from eventstudy.export import read_results

            out = os.path.join(root, "results")
            results = {f: os.path.getsize(os.path.join(out, f)) / 2**20 for f in sorted(os.listdir(out))}
            read_results(out, tables=())              # every file checked against the manifest's SHA-256
        events_mb = 0.0 if mode == "stream" else res.events.memory_usage(deep=True).sum() / 2**20
    finally:
        if root:
            shutil.rmtree(root, ignore_errors=True)
    return {"events": n, "mode": mode, "study_s": t1 - t0, "tables_s": t2 - t1, "wall_s": t2 - t0, "cpu_s": c2 - c0,
            "child_cpu_s": k2 - k0, "child_peak_mb": child_peak,
            "rss_before_mb": base, "peak_rss_mb": peak, "n_in_stats": int(res.in_stats.sum()),
            "events_table_mb": events_mb, "stats_mb": held, "stats_mapped_mb": mapped,
            "chunks": res.meta.get("chunks", {}).get("n_chunks", 1), "rows": len(caar) + len(aar),
            "peaks": {k: [round(v, 1), s] for k, (v, s) in sampler.peak.items()},
            "stages": [[round(t, 1), s] for t, s in sampler.stages], "results_mb": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--tickers", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=2_500)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--mode", default="auto", choices=("auto", "memory", "chunked", "stream"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--processes", type=int, default=None,
                    help="forked processes for in-process chunks (default: the library's: one per CPU)")
    ap.add_argument("--tmp", default=None, help="folder for the study's temporary files and results (stream)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tickers, args.days, args.mode, args.chunk, args.workers, args.tmp,
                             args.processes)))
        return
    print(f"synthetic panel: {args.tickers} tickers x {args.days} sessions; market model; windows -1:1 0:0 0:5 "
          f"-5:20; every test per window and per day; load average {os.getloadavg()[0]:.1f}")
    print(describe())
    print(f"{'events':>9} {'mode':>8} {'chunks':>6} {'study s':>8} {'tables s':>8} {'wall s':>8} {'cpu s':>8} "
          f"{'us/event':>9} {'RSS0 MB':>8} {'peak MB':>8} {'events MB':>9} {'stats MB':>8} {'child cpu s':>11} "
          f"{'child peak MB':>13}")
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--tickers", str(args.tickers), "--days", str(args.days),
               "--mode", args.mode, "--chunk", str(args.chunk)] + (["--workers", str(args.workers)] if args.workers else []) \
            + (["--tmp", args.tmp] if args.tmp else []) \
            + (["--processes", str(args.processes)] if args.processes else [])
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        print(f"{n:>9} {r['mode']:>8} {r['chunks']:>6} {r['study_s']:>8.2f} {r['tables_s']:>8.2f} {r['wall_s']:>8.2f} "
              f"{r['cpu_s']:>8.2f} {1e6 * r['wall_s'] / n:>9.1f} {r['rss_before_mb']:>8.0f} {r['peak_rss_mb']:>8.0f} "
              f"{r['events_table_mb']:>9.0f} {r['stats_mb']:>8.0f} {r['child_cpu_s']:>11.2f} "
              f"{r['child_peak_mb']:>13.0f}", flush=True)
        pk = r["peaks"]
        print("          peaks: " + "; ".join(f"{k} {v:.0f} MB during {where!r}" for k, (v, where) in pk.items())
              + f"; statistics memory-mapped: {r['stats_mapped_mb']:.0f} MB", flush=True)
        print("          stages (s from the start): " + ", ".join(f"{t:.0f} {s}" for t, s in r["stages"]), flush=True)
        if r["results_mb"]:
            print("          results (MB, verified against the manifest): "
                  + ", ".join(f"{f} {v:.0f}" for f, v in r["results_mb"].items()), flush=True)


if __name__ == "__main__":
    main()
