"""Generalized rank test (GRANK): old per-target loop vs the fused sufficient-statistic kernels, on SYNTHETIC data.

Usage: ``python benchmarks/bench_kernels.py [--sizes 10000 100000] [--days 240] [--targets 26] [--repeat 3]``
       ``python benchmarks/bench_kernels.py --reduction-only [--before 4fb79a4] [--rank-repeat 15]``

The inputs are SYNTHETIC (seeded; not market data): estimation-window standardized ARs with 5 % of
the days missing and 2 % of the values rounded onto a coarse grid (ties, as zero returns of an
illiquid stock), and *K* event-point targets (5 windows + 21 days by default) with 3 % missing.

Prints, per number of events *n*:

* **old**: ``inference.row_ranks`` once, then ``inference.grank_t`` per target (what ``results.py``
  does today, ranks shared);
* **new numpy / new numba**: ``grank_targets`` + ``grank_sums_numpy`` / ``grank_sums_numba`` +
  ``grank_from_sums`` for all targets at once (numba already compiled and loaded: steady state),
  and the largest difference of the t statistics against the old loop;
* **ranks**: ``inference.row_ranks`` vs the compiled ``row_ranks_numba`` (and whether identical).

Then the one-off costs measured in fresh interpreters: importing numba, compiling each kernel with an
empty cache (``NUMBA_CACHE_DIR`` pointed at a temporary folder) and loading it from that cache in a
second interpreter; and a sweep over small *n* comparing the numpy path with the compiled one, used to
choose ``_kernels.JIT_MIN_WORK``. Times are wall seconds (best of ``--repeat``) with the process CPU
seconds beside them; the machine is shared, so the load average is printed too.

First, the **rank work of a chunk's reduction** (``suffstats.reduce_chunk``, chunks of 4,000 events), CPU
milliseconds (median of ``--rank-repeat``, one thread), on SYNTHETIC (seeded) abnormal returns of
4,000 × 276 and 4,000 × 250 days (estimation days first, then 26 event-span days; ~2 % NaN), once
continuous and once with 1 % exact zeros (ties), and SYNTHETIC log abnormal volumes of the same shape:

* **before**: ``_kernels`` as of ``--before`` (git revision, loaded from the repository): three
  ``row_ranks`` calls: returns with medians, SAR = AR / sigma on the estimation days, log volumes;
* **after**: ``rank_pass`` (ranks and medians of the returns, SAR and its ranks off the same sort) and
  ``row_ranks`` of the log volumes; checked bit for bit against the before figures; **3 sorts now**: the
  before calls with the present kernel (what deriving SAR's ranks saves); and each call alone, before
  kernel -> present kernel: (1) ranks and medians of the returns, (2) SAR's ranks, (3) volume ranks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))


def synthetic_inputs(n: int, M: int, K: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """SYNTHETIC (seeded) SAR over the estimation window and SCAR-like event-point values."""
    rng = np.random.default_rng(seed)
    sar = rng.standard_t(5, size=(n, M))
    coarse = rng.random((n, M)) < 0.02
    sar[coarse] = np.round(sar[coarse] * 2) / 2
    sar[rng.random((n, M)) < 0.05] = np.nan
    scar = rng.standard_normal((n, K)) * 1.5 + 0.1
    scar[rng.random((n, K)) < 0.03] = np.nan
    return sar, scar


def best(fn, repeat: int) -> tuple[float, float, object]:
    """(best wall seconds, CPU seconds of that run, last result)."""
    out, wall, cpu = None, float("inf"), float("nan")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if w < wall:
            wall, cpu = w, c
    return wall, cpu, out


def old_grank(sar: np.ndarray, scar: np.ndarray) -> np.ndarray:
    from eventstudy import inference as inf

    rk = inf.row_ranks(sar)
    return np.array([inf.grank_t(sar, scar[:, k], rk)[0] for k in range(scar.shape[1])])


def new_grank(sar: np.ndarray, scar: np.ndarray, sums, ranks) -> np.ndarray:
    from eventstudy import _kernels as kr

    return kr.grank_from_sums(*sums(sar, ranks(sar), kr.grank_targets(scar)))[0]


PROBE = r"""
import json, sys, time
sys.path.insert(0, {src!r})
import numpy as np
from eventstudy import inference as inf
t0 = time.perf_counter()
import eventstudy._kernels as kr
t_mod = time.perf_counter() - t0
numba_after_import = "numba" in sys.modules
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 12)); x[0, 3] = np.nan
r = inf.row_ranks(x)
t0 = time.perf_counter()
import numba
t_numba = time.perf_counter() - t0
t0 = time.perf_counter()
kr.grank_sums_numba(x, r, rng.standard_normal((8, 3)))
t_grank = time.perf_counter() - t0
t0 = time.perf_counter()
kr.row_ranks_numba(x)
t_rank = time.perf_counter() - t0
print(json.dumps(dict(module=t_mod, numba_loaded_by_module=numba_after_import, import_numba=t_numba,
                      grank_kernel=t_grank, rank_kernel=t_rank)))
"""


def one_off_costs() -> tuple[dict, dict]:
    """Fresh interpreters: (empty numba cache, same cache again)."""
    with tempfile.TemporaryDirectory(prefix="bench-kernels-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", PROBE.format(src=str(SRC))], env=env, capture_output=True,
                                 text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs[0], runs[1]


def reduction_inputs(n: int, M: int, span: int = 26, zeros: float = 0.0, seed: int = 11
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC (seeded) ``(a_comb, est_cols, sigma, vc)`` as a chunk's reduction sees them: abnormal returns
    on M − span estimation days then span event days (t(4) × 2 %, ~2 % NaN, a share ``zeros`` of exact
    zeros), the estimation columns' positions, a positive sigma per event, and log abnormal volumes."""
    rng = np.random.default_rng(seed)
    a = rng.standard_t(4, size=(n, M)) * 0.02
    a[rng.random((n, M)) < zeros] = 0.0
    a[rng.random((n, M)) < 0.02] = np.nan
    sigma = 0.015 + 0.01 * rng.random(n)
    vc = rng.standard_normal((n, M)) * 0.6
    vc[rng.random((n, M)) < 0.02] = np.nan
    return a, np.arange(M - span), sigma, vc


def load_before(rev: str):
    """``eventstudy._kernels`` as of git revision ``rev`` (a module beside the current one; numba compiles it
    into a temporary folder, removed at exit), or None when git or the revision is not available."""
    import importlib.util

    repo = Path(__file__).resolve().parents[1]
    try:
        src = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:src/eventstudy/_kernels.py"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    import atexit
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="bench-kernels-before-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "_kernels_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("eventstudy._kernels_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def cpu_ms(fns: dict, repeat: int) -> tuple[dict, dict]:
    """Median CPU milliseconds of each function of ``fns`` over ``repeat`` rounds, the functions interleaved (in
    turned order each round, so that a change of the machine's load hits all alike), and their last results."""
    times: dict = {k: [] for k in fns}
    out: dict = {}
    names = list(fns)
    for r in range(repeat):
        for k in names[r % len(names):] + names[:r % len(names)]:
            c0 = time.process_time()
            out[k] = fns[k]()
            times[k].append(time.process_time() - c0)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}, out


def reduction_rank_work(rev: str, repeat: int) -> None:
    """Before/after CPU of the rank work of one chunk's reduction (module docstring)."""
    from eventstudy import _kernels as kr

    before = load_before(rev)
    if before is None:
        print(f"(git revision {rev} not available: no before figures)")
    kr.set_max_threads(1)
    if before is not None:
        before._threads = lambda blocks: 1
    print(f"\nrank work of one chunk's reduction (CPU ms, median of {repeat}, interleaved, one thread; before = "
          f"_kernels at {rev}); load average {os.getloadavg()[0]:.2f}")
    print(f"{'rows x days':>12} {'ties':>5} | {'before':>6} {'after':>6} {'ratio':>6} | {'3 sorts now':>11} | "
          f"{'(1) ranks+med':>13} | {'(2) SAR ranks':>13} | {'(3) volume':>12} | identical")
    for M in (276, 250):
        for zeros in (0.0, 0.01):
            a, cols, sigma, vc = reduction_inputs(4000, M, zeros=zeros)
            est = slice(int(cols[0]), int(cols[-1]) + 1)
            with np.errstate(all="ignore"):
                sar = a[:, est] / sigma[:, None]
            fns = {"after": lambda: (kr.rank_pass(a, cols, sigma, jit=True), kr.row_ranks_numba(vc)),
                   "now3": lambda: (kr.row_ranks_numba(a, True), a[:, est] / sigma[:, None], kr.row_ranks_numba(sar),
                                    kr.row_ranks_numba(vc)),
                   "1n": lambda: kr.row_ranks_numba(a, True), "2n": lambda: kr.row_ranks_numba(sar),
                   "3n": lambda: kr.row_ranks_numba(vc)}
            if before is not None:
                fns.update({"before": lambda: (before.row_ranks_numba(a, True), a[:, est] / sigma[:, None],
                                               before.row_ranks_numba(sar), before.row_ranks_numba(vc)),
                            "1o": lambda: before.row_ranks_numba(a, True), "2o": lambda: before.row_ranks_numba(sar),
                            "3o": lambda: before.row_ranks_numba(vc)})
            for f in fns.values():                                      # compiled before timing
                f()
            t, got = cpu_ms(fns, repeat)
            row = f"{f'4000 x {M}':>12} {zeros:>5.0%} | "
            if before is None:
                print(row + f"{'-':>6} {t['after']:6.1f} {'':>6} | {t['now3']:11.1f} |")
                continue
            (K, med, s2, r2), v = got["after"]
            (K0, med0), s0, r0, v0 = got["before"]
            same = all(np.array_equal(x, y, equal_nan=True) for x, y in ((K, K0), (med, med0), (s2, s0), (r2, r0),
                                                                      (v, v0)))
            calls = " | ".join(f"{t[k + 'o']:5.1f} -> {t[k + 'n']:4.1f}" for k in "123")
            print(row + f"{t['before']:6.1f} {t['after']:6.1f} {t['before'] / t['after']:5.2f}x | {t['now3']:11.1f} | "
                  f"{calls} | {same}")
    print("  before: the SAR division, then three row_ranks (the kernels of the before revision); after: rank_pass\n"
          "  (ranks and medians of the returns, the SAR division, SAR's ranks off the same sort) and row_ranks of the\n"
          "  volumes; 3 sorts now: the before calls with the present kernel (after vs this: what deriving SAR's\n"
          "  ranks saves). (1)-(3): each row_ranks call alone, before kernel -> present kernel.")
    kr.set_max_threads(None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--days", type=int, default=240)
    ap.add_argument("--targets", type=int, default=26)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old-repeat", type=int, default=1, help="repeats of the (slow) old loop")
    ap.add_argument("--sweep", type=int, nargs="*", default=[250, 500, 1000, 2000, 4000, 8000, 16000])
    ap.add_argument("--before", default="4fb79a4", help="git revision of the 'before' _kernels (reduction rank work)")
    ap.add_argument("--rank-repeat", type=int, default=15, help="repeats of the reduction rank work (median)")
    ap.add_argument("--reduction-only", action="store_true", help="only the reduction's rank work")
    args = ap.parse_args()

    import numba

    from eventstudy import _kernels as kr
    from eventstudy import inference as inf

    M, K = args.days, args.targets
    print(f"SYNTHETIC inputs; M={M} estimation days, K={K} targets; cpus={os.cpu_count()}, "
          f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, numba {numba.__version__}, "
          f"load average {os.getloadavg()[0]:.2f}")

    reduction_rank_work(args.before, args.rank_repeat)
    if args.reduction_only:
        return
    cold, warm = one_off_costs()
    print(f"\none-off costs (fresh interpreters): import eventstudy._kernels {cold['module']:.3f} s "
          f"(numba loaded: {cold['numba_loaded_by_module']}); import numba {cold['import_numba']:.2f} s "
          f"/ {warm['import_numba']:.2f} s")
    print(f"  empty cache (compile):  first call, grank kernel {cold['grank_kernel']:.2f} s; then rank kernel "
          f"{cold['rank_kernel']:.2f} s")
    print(f"  disk cache (load):      first call, grank kernel {warm['grank_kernel']:.2f} s (includes numba's "
          f"one-time set-up); then rank kernel {warm['rank_kernel']:.3f} s")
    fresh = warm["import_numba"] + warm["grank_kernel"]
    print(f"  => a fresh process pays {fresh:.2f} s before its first compiled call (cache present), "
          f"{cold['import_numba'] + cold['grank_kernel']:.2f} s when the cache is empty")

    # steady state: compile/load once here
    x, s = synthetic_inputs(50, M, K)
    kr.grank_sums_numba(x, kr.row_ranks_numba(x), kr.grank_targets(s))

    print(f"\n{'n':>8} {'what':<34} {'wall s':>8} {'cpu s':>8}  notes")
    for n in args.sizes:
        sar, scar = synthetic_inputs(n, M, K)
        w_old, c_old, t_old = best(lambda: old_grank(sar, scar), args.old_repeat)
        print(f"{n:>8} {'old: row_ranks + grank_t per target':<34} {w_old:8.3f} {c_old:8.3f}")
        for name, sums in (("numpy", kr.grank_sums_numpy), ("numba", kr.grank_sums_numba)):
            w, c, t_new = best(lambda: new_grank(sar, scar, sums, inf.row_ranks), args.repeat)
            diff = np.nanmax(np.abs(t_new - t_old))
            same_nan = np.array_equal(np.isnan(t_new), np.isnan(t_old))
            print(f"{n:>8} {'new ' + name + ': row_ranks + sums':<34} {w:8.3f} {c:8.3f}  "
                  f"x{w_old / w:.1f} vs old; max|dt| {diff:.1e}, same NaNs {same_nan}")
        rk = inf.row_ranks(sar)
        g = kr.grank_targets(scar)
        w_s, c_s, _ = best(lambda: kr.grank_sums_numba(sar, rk, g), args.repeat)
        w_n, c_n, _ = best(lambda: kr.grank_sums_numpy(sar, rk, g), args.repeat)
        print(f"{n:>8} {'  sums alone: numba':<34} {w_s:8.3f} {c_s:8.3f}  numpy {w_n:.3f} s wall")
        w_r, c_r, r_np = best(lambda: inf.row_ranks(sar), args.repeat)
        w_rn, c_rn, r_nb = best(lambda: kr.row_ranks_numba(sar), args.repeat)
        print(f"{n:>8} {'  ranks: inference.row_ranks':<34} {w_r:8.3f} {c_r:8.3f}")
        print(f"{n:>8} {'  ranks: row_ranks_numba':<34} {w_rn:8.3f} {c_rn:8.3f}  "
              f"identical {np.array_equal(r_np, r_nb, equal_nan=True)}")
        w, c, t_all = best(lambda: new_grank(sar, scar, kr.grank_sums_numba, kr.row_ranks_numba), args.repeat)
        print(f"{n:>8} {'new numba: row_ranks_numba + sums':<34} {w:8.3f} {c:8.3f}  x{w_old / w:.1f} vs old")

    print(f"\nthreshold sweep (sums only, M={M}, K={K}; numba steady state; a fresh process adds {fresh:.2f} s once)")
    print(f"{'n':>8} {'work n*M*K':>12} {'numpy s':>9} {'numba s':>9} {'ns/unit numpy':>14} {'ns/unit numba':>14}"
          f" | {'ranks numpy s':>14} {'ranks numba s':>14}")
    for n in args.sweep:
        sar, scar = synthetic_inputs(n, M, K)
        rk, g = inf.row_ranks(sar), kr.grank_targets(scar)
        w_n, _, _ = best(lambda: kr.grank_sums_numpy(sar, rk, g), args.repeat)
        w_b, _, _ = best(lambda: kr.grank_sums_numba(sar, rk, g), args.repeat)
        w_rn, _, _ = best(lambda: inf.row_ranks(sar), args.repeat)
        w_rb, _, _ = best(lambda: kr.row_ranks_numba(sar), args.repeat)
        work = n * M * K
        print(f"{n:>8} {work:>12,} {w_n:9.4f} {w_b:9.4f} {w_n / work * 1e9:14.2f} {w_b / work * 1e9:14.2f}"
              f" | {w_rn:14.4f} {w_rb:14.4f}")
    print(f"\nJIT_MIN_WORK = {kr.JIT_MIN_WORK:,} (n = {kr.JIT_MIN_WORK / (M * K):,.0f} events at M={M}, K={K}); "
          f"RANK_JIT_MIN_SIZE = {kr.RANK_JIT_MIN_SIZE:,} (n = {kr.RANK_JIT_MIN_SIZE / M:,.0f} rows at M={M})")


if __name__ == "__main__":
    main()
