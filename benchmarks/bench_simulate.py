"""Wall time, CPU time and peak memory of ``eventstudy simulate`` on the bundled real universe.

Usage: ``python benchmarks/bench_simulate.py [--runs 100x200 200x1000] [--abnormal 0] [--benchmark FF-MKT]``
or ``python benchmarks/bench_simulate.py --short-history [--reps 400]``

Each run ``EVENTSxREPS`` is one :func:`eventstudy.simulate.simulate` call on ``bundled:universe``
(220 tickers, 2013–2024), market model on ``--benchmark``, the four default windows, seed 1,
in a fresh child process. Printed: pseudo-events studied, wall and CPU seconds, pseudo-events
per CPU second, peak resident memory, and the size of ``bmp_t``/``kp_bmp_t``/``grank_t`` at 5 %
on day 0 (a sanity check on real data, not a test). Goal (issue 10): 1,000 replications of 200
events in minutes on 2 cores.

``--short-history`` instead measures the size of every test when half of the pseudo-events have
short estimation histories (SYNTHETIC i.i.d. normal returns, seeded: half the tickers list late,
so their events have 31–70 of the 90 estimation-window returns), the case where the
unweighted Corrado (1989) rank statistic is conservative (issue 10, section 2).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(n_events: int, reps: int, abnormal: list[float], benchmark: str) -> dict:
    from eventstudy import StudySpec
    from eventstudy.simulate import SimulationSpec, simulate

    t0, c0 = time.perf_counter(), time.process_time()
    res = simulate("bundled:universe", StudySpec(benchmark=benchmark),
                   SimulationSpec(n_events=n_events, reps=reps, abnormal=tuple(abnormal)), seed=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t = res.table
    size = t[(t["abnormal"] == 0) & (t["level"] == 0.05) & (t["side"] == "two-sided") & (t["window"] == "0:0")]
    return {"events": n_events, "reps": reps, "studied": n_events * reps * len(abnormal), "wall": wall, "cpu": cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "size": {r["test"]: r["rejection_rate"] for _, r in size.iterrows()}}


def short_history(reps: int, n_events: int = 30, seed: int = 21) -> None:
    """Size at 5 % (two-sided, window 0:0) with half the events on short histories (SYNTHETIC data)."""
    import numpy as np

    from eventstudy import StudySpec
    from eventstudy.simulate import SimulationSpec, simulate
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import BENCHMARK, synthetic_bars

    bars = synthetic_bars(80, n_days=700, seed=seed)
    rng = np.random.default_rng(seed)
    late = sorted(b for b in bars if b != BENCHMARK)[1::2]
    for t in late:                                  # a late lister: only ~75 sessions of history
        start = int(rng.integers(120, 600))
        bars[t] = bars[t].iloc[start:start + 75]
    spec = StudySpec(benchmark=BENCHMARK, estimation=(-100, -11), windows=((0, 0),), min_obs=30)
    t0 = time.perf_counter()
    res = simulate(InMemorySource(bars, name="synthetic-short-history"), spec,
                   SimulationSpec(n_events=n_events, reps=reps), seed=seed)
    ev = res.pseudo_events
    t = res.table
    t = t[(t["level"] == 0.05) & (t["side"] == "two-sided")]
    print(f"SYNTHETIC i.i.d. normal returns, {reps} replications x {n_events} events, estimation -100:-11 "
          f"(min_obs 30), half the tickers with ~75 sessions of history; {time.perf_counter() - t0:.0f} s")
    print(f"share of pseudo-events on short-history tickers: {ev['ticker'].isin(late).mean():.2f}")
    print(f"{'test':<14}{'size at 5 %':>12}{'mc_se':>8}")
    for _, r in t.sort_values("test").iterrows():
        print(f"{r['test']:<14}{r['rejection_rate']:>12.3f}{r['mc_se']:>8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=["100x200", "200x1000"], help="EVENTSxREPS")
    ap.add_argument("--abnormal", default="0", help="comma-separated injected abnormal returns")
    ap.add_argument("--benchmark", default="FF-MKT")
    ap.add_argument("--short-history", action="store_true", help="size with half the events on short histories")
    ap.add_argument("--reps", type=int, default=400, help="replications for --short-history")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.short_history:
        short_history(args.reps)
        return
    abnormal = [float(x) for x in args.abnormal.split(",")]
    if args.one:
        n, r = (int(x) for x in args.one.split("x"))
        print(json.dumps(one(n, r, abnormal, args.benchmark)))
        return
    print(f"bundled:universe, market model on {args.benchmark}, windows -1:1 0:0 0:5 -5:20, abnormal {args.abnormal}")
    print(f"{'events x reps':>14} {'studied':>9} {'wall s':>8} {'cpu s':>8} {'ev/cpu s':>9} {'peak MB':>8}  "
          "size at 5 % on 0:0 (bmp_t kp_bmp_t grank_t)")
    for run in args.runs:
        cmd = [sys.executable, __file__, "--one", run, "--abnormal", args.abnormal, "--benchmark", args.benchmark]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        s = r["size"]
        print(f"{run:>14} {r['studied']:>9} {r['wall']:>8.1f} {r['cpu']:>8.1f} {r['studied'] / r['cpu']:>9.0f} "
              f"{r['peak_rss_mb']:>8.0f}  {s.get('bmp_t', float('nan')):.3f} {s.get('kp_bmp_t', float('nan')):.3f} "
              f"{s.get('grank_t', float('nan')):.3f}", flush=True)


if __name__ == "__main__":
    main()
