"""The test tables (``caar``/``aar``), the per-day bootstrap and the Kolari–Pynnönen r̄: a previous revision vs
this checkout, on SYNTHETIC studies (seeded; not market data).

Usage: ``python benchmarks/bench_tables.py [--sizes 3000 100000] [--million] [--before 4fb79a4] [--repeat 3]``

For each size a study is built once with this checkout (``synthetic_bars(2000, n_days=2500, seed=42)``, *N*
events with seed *N*, ``chunk_size=20000``, ``keep_frames=False``) and its merged
:class:`~eventstudy.suffstats.StudyStats` pickled. Then two fresh interpreters, one importing the package as of
``--before`` (extracted with ``git archive``) and one this checkout, load it and time in CPU seconds
(``time.process_time``, all threads; median of ``--repeat``):

* **rbar**: ``inference.mean_residual_correlation`` on every group's residual sample (what
  ``suffstats.finish`` runs per group: up to 500 events × 240 estimation days);
* **boot**: ``tables.group_bootstrap`` for every group (its cache cleared; groups above 5,000 events skip it);
* **caar**, **aar**: ``tables.caar_table`` and ``tables.aar_table`` with the bootstrap already cached (the
  tables' own work).

The two versions' tables are then compared column by column: identical bit for bit, or the largest relative
difference (their ``rbar`` column is the one stored in the pickled study; the r̄ of the two versions is compared
separately). ``--million`` adds one study of 1,000,000 events (about 2.5 minutes and 4.5 GB to build, 1.3 GB per
timing interpreter; timed once). The machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("rbar", "boot", "caar", "aar")
BOOT_REPS, SEED, MAX_BOOT = 2000, 20260121, 5000


def build(n: int, path: Path) -> None:
    """Build the SYNTHETIC study of ``n`` events with this checkout and pickle its StudyStats."""
    sys.path.insert(0, str(ROOT / "src"))
    from eventstudy import StudySpec, run_study
    from eventstudy.sources import InMemorySource
    from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

    bars = synthetic_bars(2000, start="2012-01-03", n_days=2500, seed=42)
    res = run_study(synthetic_events(bars, n, seed=n), InMemorySource(bars, name="synthetic"),
                    StudySpec(benchmark=BENCHMARK), keep_frames=False, chunk_size=20000)
    st = res.stats
    st.boot.clear()
    with open(path, "wb") as f:
        pickle.dump(st, f, protocol=5)


def worker(stats_path: str, out_prefix: str, repeat: int) -> None:
    """Time the four parts with whichever ``eventstudy`` PYTHONPATH selects; print JSON, pickle the tables."""
    from eventstudy import inference as inf
    from eventstudy import tables

    with open(stats_path, "rb") as f:
        st = pickle.load(f)

    def cpu(fn) -> tuple[float, object]:
        times, out = [], None
        for _ in range(repeat):
            t0 = time.process_time()
            out = fn()
            times.append(time.process_time() - t0)
        return statistics.median(times), out

    def rbar():
        return [inf.mean_residual_correlation(s.rbar_resid, s.rbar_pos, min_common=30,
                                              max_events=max(len(s.rbar_key), 1)) for s in st.sums.values()]

    def boot():
        st.boot.clear()
        return [tables.group_bootstrap(st, gi, idx, BOOT_REPS, SEED, MAX_BOOT)
                for gi, (_, idx) in enumerate(tables._groups(st))]

    out: dict = {}
    out["rbar"], rb = cpu(rbar)
    out["boot"], _ = cpu(boot)
    out["caar"], caar = cpu(lambda: tables.caar_table(st, BOOT_REPS, SEED, MAX_BOOT, False))
    out["aar"], aar = cpu(lambda: tables.aar_table(st, BOOT_REPS, SEED, MAX_BOOT, False))
    out["rbar_values"] = [float(r[0]) for r in rb]
    out["rbar_pairs"] = [int(r[1]) for r in rb]
    out["groups"] = {g: int(len(st.members(g))) for g in st.sums}
    caar.to_pickle(out_prefix + "_caar.pkl")
    aar.to_pickle(out_prefix + "_aar.pkl")
    print(json.dumps(out))


def extract(rev: str, dest: Path) -> Path:
    """``src/`` of revision ``rev`` (git archive) under ``dest``."""
    dest.mkdir(parents=True)
    tar = dest / "src.tar"
    with open(tar, "wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, stdout=f)
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data")
    return dest / "src"


def run_worker(src: Path, stats: Path, prefix: Path, repeat: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    p = subprocess.run([sys.executable, __file__, "--worker", str(stats), str(prefix), str(repeat)], env=env,
                       check=True, capture_output=True, text=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def compare(a_prefix: Path, b_prefix: Path) -> list[str]:
    """Columns of the two versions' tables that are not identical, with the largest relative difference."""
    import numpy as np
    import pandas as pd

    out = []
    for name in ("caar", "aar"):
        a, b = pd.read_pickle(f"{a_prefix}_{name}.pkl"), pd.read_pickle(f"{b_prefix}_{name}.pkl")
        if list(a.columns) != list(b.columns) or len(a) != len(b):
            out.append(f"{name}: different shape or columns")
            continue
        for c in a.columns:
            x, y = a[c].to_numpy(), b[c].to_numpy()
            if x.dtype.kind not in "fc":
                if not (x == y).all():
                    out.append(f"{name}.{c}: differs")
                continue
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            if not same.all():
                with np.errstate(invalid="ignore", divide="ignore"):
                    rel = np.nanmax(np.abs(x - y) / np.abs(x))
                out.append(f"{name}.{c}: {int((~same).sum())} of {x.size} values differ, max relative {rel:.1e}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 100_000])
    ap.add_argument("--million", action="store_true", help="also 1,000,000 events (timed once)")
    ap.add_argument("--before", default="4fb79a4", help="git revision to compare with (default: before issue 13's "
                                                        "table work)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--build", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]))
        return
    if args.build:
        build(int(args.build[0]), Path(args.build[1]))
        return
    sizes = args.sizes + ([1_000_000] if args.million else [])
    print(f"load average {os.getloadavg()} (2 shared cores); CPU s = process_time, median of runs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before_src = extract(args.before, tmp / "before")
        for n in sizes:
            stats = tmp / f"stats_{n}.pkl"
            subprocess.run([sys.executable, __file__, "--build", str(n), str(stats)], check=True)
            rep = 1 if n >= 1_000_000 else args.repeat
            res = {v: run_worker(src, stats, tmp / f"{v}_{n}", rep)
                   for v, src in (("before", before_src), ("after", ROOT / "src"))}
            stats.unlink()
            b, a = res["before"], res["after"]
            print(f"\n{n:,} events, groups {a['groups']}, {rep} run(s) each")
            print(f"  {'part':6} {'before s':>9} {'after s':>9} {'ratio':>6}")
            for p in PARTS:
                print(f"  {p:6} {b[p]:9.3f} {a[p]:9.3f} {b[p] / max(a[p], 1e-9):6.1f}x")
            tb, ta = sum(b[p] for p in PARTS), sum(a[p] for p in PARTS)
            print(f"  {'total':6} {tb:9.3f} {ta:9.3f} {tb / max(ta, 1e-9):6.1f}x")
            drb = max(abs(x - y) for x, y in zip(a["rbar_values"], b["rbar_values"]))
            print(f"  rbar: largest difference {drb:.1e}; pairs identical: {a['rbar_pairs'] == b['rbar_pairs']}")
            diffs = compare(tmp / f"before_{n}", tmp / f"after_{n}")
            print("  tables: " + ("identical bit for bit" if not diffs else "; ".join(diffs)), flush=True)
    print(f"\nload average {os.getloadavg()}")


if __name__ == "__main__":
    main()
