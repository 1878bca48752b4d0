"""Parquet price store vs the CSV folder on SYNTHETIC prices (seeded ``synthetic_bars``; not market data).

Usage: ``python benchmarks/bench_store.py [--tickers 1000] [--days 2500] [--reads 200] [--real DIR]``

Writes ``--tickers`` SYNTHETIC per-ticker CSVs (plus the benchmark SYNMKT) into a temporary folder,
builds a store from them (``build_store``, the code behind ``eventstudy store build``) and prints:
build time, sizes on disk, and per-ticker read times for ``--reads`` random tickers (seeded):

* ``csv folder``: ``CsvDirectorySource.bars`` (find the file, check and parse it),
* ``read_price_csv``: the CSV reader alone, file path known,
* ``store``: ``StoreSource.bars`` (one bucket file, the ticker's row group),
* ``store, 1 year``: ``StoreSource.bars(t, start, end)`` for one calendar year.

Each read is checked to give the same bars as the CSV. ``--real DIR`` repeats the build and reads on a
folder of real price CSVs (e.g. ``/work/shared/data/universe_2013_2024/prices``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _per_read(fn, tickers) -> tuple[float, float]:
    """Median and total milliseconds of ``fn(t)`` over ``tickers``."""
    ms = []
    for t in tickers:
        t0 = time.perf_counter()
        fn(t)
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), sum(ms)


def bench(csv_dir: Path, work: Path, n_reads: int, seed: int, label: str) -> None:
    import numpy as np
    import pandas as pd

    from eventstudy.sources import CsvDirectorySource
    from eventstudy.sources.csvdir import read_price_csv
    from eventstudy.sources.store import StoreSource, build_store

    files = sorted(csv_dir.glob("*.csv"))
    out = work / (label.split(":")[0] + ".store")
    t0 = time.perf_counter()
    rep = build_store(csv_dir, out)
    build = time.perf_counter() - t0
    m = rep.manifest
    print(f"\n[{label}] {len(files)} CSVs, {m['n_rows']:,} rows, {m['first_date']} .. {m['last_date']}")
    print(f"build: {build:.2f} s ({build / len(files) * 1e3:.1f} ms per file), "
          f"{m['partitioning']['n_buckets']} buckets, "
          f"{len(rep.skipped)} skipped; CSV {_du(csv_dir):.1f} MiB -> store {_du(out):.1f} MiB")
    rng = np.random.default_rng(seed)
    store = StoreSource(out)
    tickers = list(rng.choice(store.tickers(), size=min(n_reads, len(store.tickers())), replace=False))
    csv = CsvDirectorySource(csv_dir)
    path = {p.stem.upper(): p for p in files}
    for t in tickers[:20]:
        pd.testing.assert_frame_equal(store.bars(t), read_price_csv(path[t]), check_exact=True)
    year = pd.Timestamp(m["last_date"]).year - 1
    rows = [("csv folder (CsvDirectorySource)", _per_read(csv.bars, tickers)),
            ("read_price_csv (path known)", _per_read(lambda t: read_price_csv(path[t]), tickers)),
            ("store (StoreSource.bars)", _per_read(store.bars, tickers)),
            (f"store, {year} only (start, end)",
             _per_read(lambda t: store.bars(t, f"{year}-01-01", f"{year}-12-31"), tickers))]
    print(f"{'per-ticker read, ' + str(len(tickers)) + ' tickers':<38} {'median ms':>10} {'total s':>8} {'vs csv':>7}")
    base = rows[0][1][0]
    for name, (med, tot) in rows:
        print(f"{name:<38} {med:>10.2f} {tot / 1e3:>8.2f} {base / med:>6.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickers", type=int, default=1000)
    ap.add_argument("--days", type=int, default=2500)
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--real", type=Path, help="also benchmark a folder of real price CSVs")
    args = ap.parse_args()
    from eventstudy.synthetic import synthetic_bars

    work = Path(tempfile.mkdtemp(prefix="eventstudy_bench_store_"))
    try:
        csv_dir = work / "prices"
        csv_dir.mkdir()
        t0 = time.perf_counter()
        for t, b in synthetic_bars(args.tickers, start="2012-01-03", n_days=args.days, seed=args.seed).items():
            b.to_csv(csv_dir / f"{t}.csv", index_label="date", date_format="%Y-%m-%d", float_format="%.6f")
        print(f"SYNTHETIC prices: {args.tickers} tickers + SYNMKT x {args.days} sessions written in "
              f"{time.perf_counter() - t0:.1f} s (not timed below)")
        bench(csv_dir, work, args.reads, args.seed, "SYNTHETIC")
        if args.real:
            bench(args.real, work, args.reads, args.seed, f"real: {args.real.name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
