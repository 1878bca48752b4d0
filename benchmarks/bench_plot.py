"""Wall time of ``eventstudy demo`` and then ``eventstudy plot`` on its results (issue 12, item 6).

Usage: ``python benchmarks/bench_plot.py [--out DIR] [--repeat 1] [--src SRC]``

Runs this checkout's CLI (``src`` first on the path, this interpreter) as whole processes, with no
display (``MPLBACKEND`` unset, stderr not a TTY), and prints the seconds of each command. The demo
writes ``DIR`` (default: a temporary folder) and ``plot`` redraws its 25 figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from eventstudy.cli import app; sys.argv[0] = 'eventstudy'; app()"]


def _run(args: list[str], src: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    subprocess.run(CLI + args, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="results folder (default: a temporary one)")
    ap.add_argument("--src", type=Path, default=ROOT / "src",
                    help="the eventstudy sources to time (default: this checkout's; e.g. an export of main)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of `plot` (the minimum is printed)")
    a = ap.parse_args()
    tmp = None if a.out else Path(tempfile.mkdtemp(prefix="bench_plot_"))
    out = a.out or tmp / "demo"
    try:
        print(f"eventstudy demo: {_run(['demo', '--out', str(out), '-q'], a.src):.2f} s")
        best = min(_run(["plot", str(out)], a.src) for _ in range(max(a.repeat, 1)))
        n = len(list((out / "figures").rglob("*.png")))
        print(f"eventstudy plot: {best:.2f} s ({n} figures)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
