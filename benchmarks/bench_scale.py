"""Cost curve of a whole study with every test, 1k → 1M events (10M with ``--sizes``), on SYNTHETIC data
(seeded; not market data).

Usage: ``python benchmarks/bench_scale.py [--sizes 1000 10000 100000 1000000] [--chunk 20000]
[--tickers 2000] [--days 2500] [--mode auto|memory|chunked] [--workers N]``

Each size runs in a fresh child process. The child builds a synthetic price panel (``--tickers`` ×
``--days`` sessions plus the benchmark) and ``n`` synthetic events, then times, as one block,
``run_study`` (prices → panel → market model → AR/CAR → statuses) and both test tables (every test per
window and per event-span day: ``caar`` and ``aar``). ``memory`` runs the study in one piece; ``chunked``
runs it in chunks of ``--chunk`` events with ``keep_frames=False`` (the long per-event frames are not
kept; the events table and the statistics are), which is how sizes beyond memory run; ``auto`` is the
library's default (``chunk_size="auto"``: one piece up to 10,000 events, chunks of 4,000 above, frames
kept). ``--workers N`` runs the chunks on a local Dask cluster; ``--processes N`` sets the forked processes
of in-process chunks (default: the library's, one per CPU; ``1``: all in this process).

Printed per size: wall seconds, CPU seconds of the process and of its forked chunk processes (Dask
workers are not counted), the largest forked process's peak memory,
events per second, microseconds per event, the resident memory before the study (the synthetic panel
and events) and at its peak, and what the result holds (the events table and the compact per-event
statistics, MB). The machine is shared with other work: the load average is printed; compare rows of
one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (forked chunk processes; not Dask workers)."""
    t = os.times()
    return t.children_user + t.children_system


def one(n: int, tickers: int, days: int, mode: str, chunk: int, workers: int | None,
        processes: int | None = None) -> dict:
    from eventstudy import StudySpec, run_study
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

    bars = synthetic_bars(tickers, start="2012-01-03", n_days=days, seed=42)
    ev = synthetic_events(bars, n, seed=n)
    src = InMemorySource(bars, name="synthetic")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
    kw = {"chunk_size": chunk, "keep_frames": False, "workers": workers} if mode == "chunked" else \
        {"chunk_size": None} if mode == "memory" else {}
    if processes is not None and mode != "memory":
        kw["processes"] = processes
    res = run_study(ev, src, StudySpec(benchmark=BENCHMARK), **kw)
    t1 = time.perf_counter()
    caar, aar = res.caar, res.aar
    t2, c2, k2 = time.perf_counter(), time.process_time(), _children_cpu()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    st = res.stats
    held = sum(a.nbytes for d in (st.events.w, st.events.e, st.events.d) for a in d.values()) / 2**20
    return {"events": n, "mode": mode, "study_s": t1 - t0, "tables_s": t2 - t1, "wall_s": t2 - t0, "cpu_s": c2 - c0,
            "child_cpu_s": k2 - k0, "child_peak_mb": child_peak,
            "rss_before_mb": base, "peak_rss_mb": peak, "n_in_stats": int(res.in_stats.sum()),
            "events_table_mb": res.events.memory_usage(deep=True).sum() / 2**20, "stats_mb": held,
            "chunks": res.meta.get("chunks", {}).get("n_chunks", 1), "rows": len(caar) + len(aar)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--tickers", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=2_500)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--mode", default="auto", choices=("auto", "memory", "chunked"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--processes", type=int, default=None,
                    help="forked processes for in-process chunks (default: the library's: one per CPU)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tickers, args.days, args.mode, args.chunk, args.workers, args.processes)))
        return
    print(f"synthetic panel: {args.tickers} tickers x {args.days} sessions; market model; windows -1:1 0:0 0:5 "
          f"-5:20; every test per window and per day; load average {os.getloadavg()[0]:.1f}")
    print(f"{'events':>9} {'mode':>8} {'chunks':>6} {'study s':>8} {'tables s':>8} {'wall s':>8} {'cpu s':>8} "
          f"{'us/event':>9} {'RSS0 MB':>8} {'peak MB':>8} {'events MB':>9} {'stats MB':>8} {'child cpu s':>11} "
          f"{'child peak MB':>13}")
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--tickers", str(args.tickers), "--days", str(args.days),
               "--mode", args.mode, "--chunk", str(args.chunk)] + (["--workers", str(args.workers)] if args.workers else []) \
            + (["--processes", str(args.processes)] if args.processes else [])
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        print(f"{n:>9} {r['mode']:>8} {r['chunks']:>6} {r['study_s']:>8.2f} {r['tables_s']:>8.2f} {r['wall_s']:>8.2f} "
              f"{r['cpu_s']:>8.2f} {1e6 * r['wall_s'] / n:>9.1f} {r['rss_before_mb']:>8.0f} {r['peak_rss_mb']:>8.0f} "
              f"{r['events_table_mb']:>9.0f} {r['stats_mb']:>8.0f} {r['child_cpu_s']:>11.2f} "
              f"{r['child_peak_mb']:>13.0f}", flush=True)


if __name__ == "__main__":
    main()
