"""Write time and size of a results folder as CSV and as parquet, on a SYNTHETIC study (seeded; not market data).

Usage: ``PYTHONPATH=src python benchmarks/bench_export.py [--sizes 10000 100000] [--tickers 2000] [--days 2500]``

Each size runs in a fresh child process: the study is run and every frame is built first (``events``,
``ar``, ``car``, ``summary``, ``aar``, ``volume``: their build time is printed apart), then the whole folder
is written with :func:`eventstudy.export.write_results` once per format. Printed per format: wall seconds
and CPU seconds (user + system of the process, all threads: pyarrow encodes in parallel) of the folder
write, the folder's MB, and the encode seconds (CPU) of the three long tables ``ar``, ``car`` and
``volume`` alone (bytes in memory, nothing written). An eventstudy without ``format=`` (before parquet
output) prints ``n/a`` for parquet.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _folder_mb(d: Path) -> float:
    return sum(p.stat().st_size for p in d.iterdir() if p.is_file()) / 1e6


def one(n: int, tickers: int, days: int) -> dict:
    from eventstudy import StudySpec, run_study
    from eventstudy import export
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

    bars = synthetic_bars(tickers, start="2012-01-03", n_days=days, seed=42)
    ev = synthetic_events(bars, n, seed=n)
    res = run_study(ev, InMemorySource(bars, name="synthetic"), StudySpec(benchmark=BENCHMARK))
    _ = res.caar, res.aar                       # the statistics: not part of any output's cost here
    c0 = _cpu()
    tables = export.result_tables(res)          # builds events, ar, car, volume (cached on res)
    build = _cpu() - c0
    formats = ["csv"]
    if "format" in inspect.signature(export.write_results).parameters:
        formats.append("parquet")
    out = {"events": n, "rows_ar": len(res.ar), "rows_car": len(res.car), "build_cpu": build}
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        for fmt in formats:
            d = tmp / fmt
            kw = {"format": fmt} if fmt != "csv" or len(formats) > 1 else {}
            t0, c0 = time.perf_counter(), _cpu()
            export.write_results(res, d, {}, **kw)
            out[f"{fmt}_wall"], out[f"{fmt}_cpu"] = time.perf_counter() - t0, _cpu() - c0
            out[f"{fmt}_mb"] = _folder_mb(d)
            long = {}
            for name in ("ar", "car", "volume"):
                frame = tables[f"{name}.csv"]
                c0 = _cpu()
                if fmt == "csv":
                    export.csv_bytes(frame)
                else:
                    export.parquet_bytes(frame, f"{name}.parquet")
                long[name] = _cpu() - c0
            out[f"{fmt}_long"] = long
            shutil.rmtree(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--tickers", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=2_500)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tickers, args.days)))
        return
    print(f"synthetic panel: {args.tickers} tickers x {args.days} sessions, market model; {os.cpu_count()} CPUs")
    print("folder = write_results (all six tables + manifest); long = encoding ar + car + volume only (CPU s)")
    head = (f"{'events':>8} {'ar rows':>9} {'build s':>8} {'format':>8} {'wall s':>7} {'CPU s':>7} {'MB':>7} "
            f"{'ar s':>6} {'car s':>6} {'vol s':>6}")
    print(head)
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--tickers", str(args.tickers), "--days", str(args.days)]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        for fmt in ("csv", "parquet"):
            lead = f"{n:>8} {r['rows_ar']:>9} {r['build_cpu']:>8.2f}" if fmt == "csv" else " " * 27
            if f"{fmt}_wall" not in r:
                print(f"{lead} {fmt:>8} {'n/a':>7}")
                continue
            lg = r[f"{fmt}_long"]
            print(f"{lead} {fmt:>8} {r[f'{fmt}_wall']:>7.2f} {r[f'{fmt}_cpu']:>7.2f} {r[f'{fmt}_mb']:>7.0f} "
                  f"{lg['ar']:>6.2f} {lg['car']:>6.2f} {lg['volume']:>6.2f}")


if __name__ == "__main__":
    main()
