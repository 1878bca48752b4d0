"""One-regressor fits and volume measures: numpy path vs the compiled kernels of ``eventstudy._fused``,
on SYNTHETIC data (seeded; not market data).

Usage: ``python benchmarks/bench_fused.py [--events 4000] [--days 280] [--repeat 7]``

One chunk of a study (``--events`` × ``--days``, estimation window −250…−11, 6 % of returns and 3 % of
volumes missing): the market-model fit (``models.fit_ols``), the volume measures with the log-volume
market model (``volume.abnormal_volume``), ``ModelFit.forecast_factor`` (the general 3-D einsum vs the
one-regressor form now used), ``cumulate`` over the four default windows (not compiled: for scale). Wall
and CPU seconds are medians of ``--repeat`` runs with numba already loaded (steady state); then the one-off
cost of the compiled path in a fresh interpreter (import numba, load the kernels from numba's disk cache,
first call). The machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))


def synthetic_chunk(n: int, D: int, seed: int = 1):
    """SYNTHETIC returns, benchmark returns, volumes and benchmark volumes (n, D)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0003, 0.012, (n, D))
    y = rng.normal(0, 5e-4, (n, 1)) + rng.uniform(0.5, 1.5, (n, 1)) * z + rng.normal(0, 0.02, (n, D))
    y[rng.random((n, D)) < 0.06] = np.nan
    vol = np.round(np.exp(rng.normal(np.log(1e6), 0.4, (n, D))))
    vol[rng.random((n, D)) < 0.03] = np.nan
    bench = np.round(np.exp(rng.normal(np.log(3e8), 0.3, (n, D))))
    return y, z, vol, bench


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


FRESH = r"""
import sys, time
sys.path.insert(0, {src!r})
import numpy as np
from eventstudy import models, volume
rel = np.arange(-250, {D} - 250)
rng = np.random.default_rng(0)
y, z = rng.normal(size=(100, {D})), rng.normal(size=(100, {D}))
est = ((rel >= -250) & (rel <= -11))[None, :] & np.ones((100, 1), bool)
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
models.fit_ols(y, z[..., None], est, "market", ("beta",), jit=True)
volume.abnormal_volume(np.abs(y) * 1e6, np.abs(z) * 1e8, rel, (-250, -11), jit=True)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=4000)
    ap.add_argument("--days", type=int, default=280)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    from eventstudy import models, volume
    from eventstudy.abnormal import cumulate

    n, D = args.events, args.days
    rel = np.arange(-250, D - 250)
    est = ((rel >= -250) & (rel <= -11))[None, :] & np.ones((n, 1), bool)
    y, z, vol, bench = synthetic_chunk(n, D)
    load0 = os.getloadavg()
    print(f"SYNTHETIC chunk: {n} events x {D} days; numba threads {os.environ.get('NUMBA_NUM_THREADS', 'default')}; "
          f"load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; medians of {args.repeat} runs")
    models.fit_ols(y, z[..., None], est, "market", ("beta",), jit=True)       # compile/load before timing
    volume.abnormal_volume(vol, bench, rel, (-250, -11), jit=True)
    fit = models.fit_ols(y, z[..., None], est, "market", ("beta",))
    rows = []

    def row(label, f_np, f_jit):
        a, b = timed(f_np, args.repeat), timed(f_jit, args.repeat)
        rows.append((label, a, b))

    with np.errstate(invalid="ignore", divide="ignore"):
        row("fit_ols (market model)", lambda: models.fit_ols(y, z[..., None], est, "market", ("beta",)),
            lambda: models.fit_ols(y, z[..., None], est, "market", ("beta",), jit=True))
        row("abnormal_volume (+ log-volume market model)", lambda: volume.abnormal_volume(vol, bench, rel, (-250, -11)),
            lambda: volume.abnormal_volume(vol, bench, rel, (-250, -11), jit=True))
        row("forecast_factor (einsum -> p = 1 form)",
            lambda: np.ones((n, D)) + 1.0 / fit.nobs[:, None] + np.einsum("ndp,npq,ndq->nd", fit.zdev, fit.sinv, fit.zdev),
            fit.forecast_factor)
        ar = y - fit.expected
        wins = [(-1, 1), (0, 0), (0, 5), (-5, 20)]
        t = timed(lambda: [cumulate(ar, y, fit.expected, fit, rel, w) for w in wins], args.repeat)
    print(f"{'step':<46} {'numpy wall':>10} {'cpu':>7} {'compiled':>9} {'cpu':>7} {'speed-up':>8}")
    tot_a = tot_b = 0.0
    for label, a, b in rows:
        tot_a += a[0]
        tot_b += b[0]
        print(f"{label:<46} {a[0]:>10.4f} {a[1]:>7.4f} {b[0]:>9.4f} {b[1]:>7.4f} {a[0] / b[0]:>7.1f}x")
    print(f"{'total':<46} {tot_a:>10.4f} {'':>7} {tot_b:>9.4f} {'':>7} {tot_a / tot_b:>7.1f}x")
    print(f"{'cumulate, 4 windows (numpy only, for scale)':<46} {t[0]:>10.4f} {t[1]:>7.4f}")
    fresh = [subprocess.run([sys.executable, "-c", FRESH.format(src=str(SRC), D=D)], check=True, capture_output=True,
                            text=True).stdout.split() for _ in range(3)]
    imp = statistics.median(float(f[0]) for f in fresh)
    first = statistics.median(float(f[1]) for f in fresh)
    print(f"fresh interpreter (kernels in numba's disk cache), median of 3: import numba {imp:.2f} s, "
          f"load + first calls {first:.2f} s")
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
