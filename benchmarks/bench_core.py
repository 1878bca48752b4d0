"""Throughput and peak memory of the core pipeline on a SYNTHETIC panel (seeded; not market data).

Usage: ``python benchmarks/bench_core.py [--sizes 1000 10000 100000] [--tickers 2000] [--days 2500]``

Each size runs in a fresh child process, which prints: wall time of the core (``run_study``:
events → panel → market model → AR/CAR, plus the ``car`` and ``ar`` frames), events per second,
the time including every per-type test (``caar``, ``aar``), and the child's peak resident memory (``ru_maxrss``, which includes the synthetic
price panel itself). Goal: 100k events in a few seconds on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(n: int, tickers: int, days: int, model: str) -> dict:
    from eventstudy import StudySpec, run_study
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

    bars = synthetic_bars(tickers, start="2012-01-03", n_days=days, seed=42)
    ev = synthetic_events(bars, n, seed=n)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    res = run_study(ev, InMemorySource(bars, name="synthetic"), StudySpec(model=model, benchmark=BENCHMARK))
    _ = res.car, res.ar
    core = time.perf_counter() - t0
    _ = res.caar, res.aar
    full = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"events": n, "seconds": core, "full_seconds": full, "rss_before_mb": base, "peak_rss_mb": peak,
            "ok": int(res.ok.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--tickers", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=2_500)
    ap.add_argument("--model", default="market")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tickers, args.days, args.model)))
        return
    print(f"synthetic panel: {args.tickers} tickers x {args.days} sessions, model={args.model}")
    print("core = events -> panel -> model -> AR/CAR frames; +tests = per-type summary and AAR with every test")
    print(f"{'events':>8} {'core s':>8} {'events/s':>10} {'+tests s':>9} {'RSS before MB':>14} {'peak RSS MB':>12}")
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--tickers", str(args.tickers), "--days", str(args.days),
               "--model", args.model]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        print(f"{n:>8} {r['seconds']:>8.2f} {n / r['seconds']:>10.0f} {r['full_seconds']:>9.2f} "
              f"{r['rss_before_mb']:>14.0f} {r['peak_rss_mb']:>12.0f}")


if __name__ == "__main__":
    main()
