"""Whole-process race against PyPI ``eventstudy==0.1a12`` (the peer) on SYNTHETIC data (seeded; not market data).

Usage: ``python benchmarks/bench_peer.py [--events 3000] [--tickers 300] [--days 1500] [--repeat 3]``

What it does, in a throwaway temporary folder (removed at the end unless ``--keep``):

1. creates a venv (``python -m venv``) and installs the peer from the package registry into it; the
   peer shares our import name, so it lives only there and never touches this environment;
2. writes a folder of SYNTHETIC per-ticker price CSVs (``synthetic_bars``: ``SYN0000…`` plus the
   benchmark ``SYNMKT``) and SYNTHETIC events (``synthetic_events``), seeded;
3. times, as whole processes on the same inputs:

   * **peer**: a script run by the venv's Python that reads the same CSV folder into the one wide
     price file the peer's API takes (``Single.import_returns(path, is_price=True)``), then runs
     ``Multiple.from_csv(..., Single.market_model, event_window=(-5, 20), estimation_size=250,
     buffer_size=5)``: a per-event statsmodels OLS loop giving AR, CAR and one t-test (CAAR with a
     MacKinlay variance), plus the CAR distribution; it prints its results table;
   * **peer, wide file ready**: the same without building the wide file (its best case);
   * **ours**: ``eventstudy run EVENTS --prices DIR --model market --benchmark SYNMKT
     --estimation -260:-11 --window -5:20`` with this interpreter and this checkout's ``src``
     (same estimation window, days -260..-11, and event window); it writes every output file and
     computes every test per window and per day;
   * **ours, store**: the same with ``--prices store:STORE`` (the store build is timed on its own
     line, once); until ``open_source`` knows ``store:``, a two-line shim routes that spec to
     ``StoreSource`` (labelled ``shim``).

Both tools use simple returns. Prints wall and CPU seconds (median of ``--repeat``) and the ratios.
The machine is shared, so the load average is printed too: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe

PEER = "eventstudy==0.1a12"
SRC = Path(__file__).resolve().parents[1] / "src"

PEER_SCRIPT = r'''
import glob, os, sys
import pandas as pd
import eventstudy as es

prices_dir, events_path, wide_path, mode = sys.argv[1:5]
assert es.__version__ == "0.1a12", es.__file__
if mode == "folder":     # the user's job with the peer: one wide price file from the CSV folder
    cols = {}
    for f in sorted(glob.glob(os.path.join(prices_dir, "*.csv"))):
        cols[os.path.basename(f)[:-4]] = pd.read_csv(f, usecols=["date", "adj_close"], index_col="date")["adj_close"]
    wide = pd.DataFrame(cols)
    wide.index.name = "date"
    wide.to_csv(wide_path)
es.Single.import_returns(wide_path, is_price=True, log_return=False)
agg = es.Multiple.from_csv(events_path, es.Single.market_model, event_window=(-5, 20), estimation_size=250,
                           buffer_size=5, date_format="%Y-%m-%d", ignore_errors=True)
print(agg.results(decimals=4).tail(1).to_string())
print(f"peer: {len(agg.sample)} events studied, {len(agg.errors or [])} errors", file=sys.stderr)
'''


def _run(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall and CPU (user + system of the child) seconds of one whole process; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout + p.stderr


def write_inputs(root: Path, n_events: int, n_tickers: int, n_days: int, seed: int) -> tuple[Path, Path, Path]:
    """SYNTHETIC price CSVs, our event file and the peer's event file (same events)."""
    from eventstudy.synthetic import BENCHMARK, synthetic_bars, synthetic_events

    bars = synthetic_bars(n_tickers, start="2015-01-02", n_days=n_days, seed=seed)
    prices = root / "prices"
    prices.mkdir()
    for t, b in bars.items():
        b.to_csv(prices / f"{t}.csv", index_label="date", date_format="%Y-%m-%d", float_format="%.6f")
    ev = synthetic_events(bars, n_events, seed=seed, margin=300)
    ours = root / "events.csv"
    ev.to_csv(ours, index=False)
    peer = root / "peer_events.csv"
    ev.assign(security_ticker=ev["ticker"], market_ticker=BENCHMARK)[
        ["security_ticker", "market_ticker", "event_date"]].to_csv(peer, index=False)
    return prices, ours, peer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--tickers", type=int, default=300)
    ap.add_argument("--days", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (venv, inputs, outputs)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="eventstudy_bench_peer_"))
    try:
        venv = root / "venv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        vpy = venv / "bin" / "python"
        subprocess.run([str(vpy), "-m", "pip", "install", "-q", "--disable-pip-version-check", PEER], check=True,
                       capture_output=True)
        print(f"peer {PEER} installed in a throwaway venv ({time.perf_counter() - t0:.0f} s, not timed below)")
        sys.path.insert(0, str(SRC))
        prices, ours_events, peer_events = write_inputs(root, args.events, args.tickers, args.days, args.seed)
        peer_py = root / "peer_run.py"
        peer_py.write_text(PEER_SCRIPT)
        wide = root / "wide.csv"
        print(f"SYNTHETIC inputs: {args.events} events, {args.tickers} tickers + SYNMKT, {args.days} sessions, "
              f"{len(list(prices.glob('*.csv')))} price CSVs (seed {args.seed})")

        env = {**os.environ, "PYTHONPATH": str(SRC)}
        ours_cli = [sys.executable, "-c",
                    "import sys; from eventstudy.cli import app; sys.argv[0] = 'eventstudy'; app()"]
        common = ["run", str(ours_events), "--model", "market", "--benchmark", "SYNMKT", "--estimation", "-260:-11",
                  "--window", "-5:20", "--quiet"]
        peer_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        runs = {
            "peer (CSV folder -> wide file)": ([str(vpy), str(peer_py), str(prices), str(peer_events), str(wide),
                                                "folder"], peer_env),
            "peer (wide file ready)": ([str(vpy), str(peer_py), str(prices), str(peer_events), str(wide), "wide"],
                                       peer_env),
            "ours (--prices DIR)": ([*ours_cli, *common, "--prices", str(prices), "--out", str(root / "out_csv")], env),
        }
        store = root / "prices.store"
        wall, cpu, _ = _run([*ours_cli, "store", "build", str(prices), "--out", str(store), "--quiet"], env)
        print(f"store build (once): {wall:.2f} s wall, {cpu:.2f} s CPU")
        from eventstudy._errors import PriceSourceError
        from eventstudy.sources import open_source

        try:
            open_source(f"store:{store}")
            runs["ours (--prices store:)"] = ([*ours_cli, *common, "--prices", f"store:{store}", "--out",
                                               str(root / "out_store")], env)
        except PriceSourceError:
            # until open_source knows ``store:``, route that one spec to StoreSource (benchmark-only shim)
            shim = [sys.executable, "-c", "import sys; import eventstudy.study as st; "
                    "from eventstudy.sources.store import StoreSource; o = st.open_source; "
                    "st.open_source = lambda s: StoreSource(s[6:]) if isinstance(s, str) and s.startswith('store:') "
                    "else o(s); from eventstudy.cli import app; sys.argv[0] = 'eventstudy'; app()"]
            runs["ours (--prices store:, shim)"] = ([*shim, *common, "--prices", f"store:{store}", "--out",
                                                     str(root / "out_store")], env)

        times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        logs: dict[str, str] = {}
        for _ in range(args.repeat):
            for label, (cmd, e) in runs.items():   # interleaved so a load spike hits every contender alike
                wall, cpu, log = _run(cmd, e)
                times[label].append((wall, cpu))
                logs[label] = log
        print(f"load average (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(describe())
        print(f"{'contender':<32} {'wall s':>8} {'CPU s':>8}   (median of {args.repeat})")
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
        for k, (w, c) in med.items():
            print(f"{k:<32} {w:>8.2f} {c:>8.2f}")
        peer_w, peer_c = med["peer (CSV folder -> wide file)"]
        for k, (w, c) in med.items():
            if k.startswith("ours"):
                print(f"ratio peer / {k}: wall {peer_w / w:.2f}x, CPU {peer_c / c:.2f}x; against the peer's best case "
                      f"(wide file ready): wall {med['peer (wide file ready)'][0] / w:.2f}x")
        print("peer said:", logs["peer (CSV folder -> wide file)"].strip().splitlines()[-1])
        import pandas as pd

        ev = pd.read_csv(root / "out_csv" / "events.csv", keep_default_na=False)
        print(f"ours: {int((ev['status'] == 'ok').sum())} of {len(ev)} events ok")
        if args.keep:
            print(f"kept {root}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
