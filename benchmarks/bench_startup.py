"""Start-up cost of the CLI: wall time of whole processes and the imports that dominate them.

Usage: ``python benchmarks/bench_startup.py [--repeat 5] [--top 8]``

Runs this checkout's CLI (``src`` first on the path, this interpreter) as whole processes and prints:

* wall time (median of ``--repeat``) of ``eventstudy --help``, ``eventstudy events validate
  events/seed_events.csv`` and ``eventstudy demo`` (bundled real seed data; outputs to a temporary
  folder), against the targets of issue 13 (``--help`` <= 0.3 s, demo <= 3 s);
* for each command, ``python -X importtime``: total import time, which heavy libraries get loaded
  (none of scipy, statsmodels, matplotlib, yfinance may load for ``--help`` or ``events validate``),
  and the top imports by cumulative time.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from eventstudy.cli import app; sys.argv[0] = 'eventstudy'; app()"]
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "statsmodels", "matplotlib", "yfinance", "exchange_calendars",
         "rich", "typer", "numba", "dask")
TARGETS = {"--help": 0.3, "demo": 3.0}
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "100"}


def wall(args: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of ``eventstudy ARGS`` as a whole process."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c, p = _t([*CLI, *args])
        walls.append(w)
        cpus.append(c)
        if p.returncode != 0:
            raise SystemExit(f"eventstudy {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def importtime(args: list[str]) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) of every import of one run."""
    p = subprocess.run([sys.executable, "-X", "importtime", *CLI[1:], *args], capture_output=True, text=True,
                       env=_env(), cwd=ROOT)
    out = []
    for line in p.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out.append((m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eventstudy_bench_startup_"))
    try:
        commands = {"--help": ["--help"],
                    "events validate": ["events", "validate", "events/seed_events.csv"],
                    "demo": ["demo", "--out", str(tmp / "demo"), "--quiet"]}
        print(f"load average (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        base = statistics.median(_t([sys.executable, "-c", "pass"])[0] for _ in range(args.repeat))
        print(f"bare `python -c pass`: {base:.3f} s wall")
        for name, cmd in commands.items():
            w, cpu = wall(cmd, args.repeat if name != "demo" else max(1, args.repeat // 2))
            target = TARGETS.get(name)
            verdict = "" if target is None else f"  target <= {target} s: {'met' if w <= target else 'MISSED'}"
            print(f"\n== eventstudy {' '.join(cmd)}\nwall {w:.3f} s, CPU {cpu:.3f} s (medians; interpreter alone "
                  f"{base:.3f} s wall){verdict}")
            imps = importtime(cmd)
            total = sum(s for _, s, _, _ in imps) / 1e6
            loaded = {m.split(".")[0] for m, *_ in imps}
            print(f"imports: {total:.3f} s in {len(imps)} modules; heavy loaded: "
                  f"{', '.join(h for h in HEAVY if h in loaded) or 'none'}")
            by_pkg: dict[str, int] = {}
            for mod, self_us, _, _ in imps:
                by_pkg[mod.split(".")[0]] = by_pkg.get(mod.split(".")[0], 0) + self_us
            print(f"  {'self s':>8}  top-level package (self time of all its modules), top {args.top}")
            for pkg, us in sorted(by_pkg.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"  {us / 1e6:>8.3f}  {pkg}{'  <- ' + _importer(imps, pkg) if pkg != 'eventstudy' else ''}")

    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _importer(imps: list[tuple[str, int, int, int]], pkg: str) -> str:
    """Who first imported ``pkg``: its chain of parent modules (importtime lists children before parents)."""
    for i, (mod, _, _, depth) in enumerate(imps):
        if mod == pkg or mod.startswith(pkg + "."):
            chain, d = [], depth
            for parent, _, _, pdepth in imps[i + 1:]:
                if d == 0:
                    break
                if pdepth < d:
                    d = pdepth
                    if parent.split(".")[0] != pkg:
                        chain.append(parent)
            return "imported via " + " <- ".join(chain[:4]) if chain else "imported at top level (run time)"
    return ""


def _t(cmd: list[str]):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT)
    w = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return w, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p


if __name__ == "__main__":
    main()
