"""Per-file read time of the CSV-folder price source on SYNTHETIC files.

Writes ``--files`` SYNTHETIC price files (``SYN0000.csv`` …, ``--rows`` sessions each, the
column layout of a Yahoo export) into a temporary folder, then reads every ticker through a
fresh :class:`~eventstudy.sources.CsvDirectorySource` (file lookup + parse + checks) and prints
the median and mean milliseconds per file.

``--before FILE`` also times another version of ``csvdir.py`` (e.g. the previous one:
``git show 8595b42:src/eventstudy/sources/csvdir.py > /tmp/csvdir_before.py``) on the same files.

Example: ``PYTHONPATH=src python benchmarks/bench_csv_read.py --files 300 --before /tmp/csvdir_before.py``
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

from eventstudy.synthetic import synthetic_bars


def write_files(folder: Path, n_files: int, n_rows: int) -> list[str]:
    bars = synthetic_bars(n_files, start="2012-01-03", n_days=n_rows, seed=1)
    tickers = [t for t in bars if t != "SYNMKT"]
    for t in tickers:
        b = bars[t].rename(columns={"open": "Open", "high": "High", "low": "Low", "close": "Close",
                                    "adj_close": "Adj Close", "volume": "Volume"})
        b.index.name = "Date"
        b.to_csv(folder / f"{t}.csv", float_format="%.6f")
    return tickers


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("eventstudy.sources._csvdir_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def time_reads(source_cls, folder: Path, tickers: list[str]) -> list[float]:
    src = source_cls(folder)
    out = []
    for t in tickers:
        t0 = time.perf_counter()
        src.bars(t)
        out.append(1e3 * (time.perf_counter() - t0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--rows", type=int, default=2500)
    ap.add_argument("--before", type=Path, default=None, help="another csvdir.py to compare with")
    args = ap.parse_args()
    from eventstudy.sources.csvdir import CsvDirectorySource

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tickers = write_files(folder, args.files, args.rows)
        versions = [("now", CsvDirectorySource)]
        if args.before:
            versions.insert(0, ("before", load_module(args.before).CsvDirectorySource))
        print(f"{args.files} SYNTHETIC files x {args.rows} rows ({sum(p.stat().st_size for p in folder.iterdir()) / 1e6:.1f} MB)")
        for label, cls in versions:
            time_reads(cls, folder, tickers[:5])              # warm-up (imports, caches)
            ms = time_reads(cls, folder, tickers)
            print(f"{label:>7}: median {statistics.median(ms):7.2f} ms/file   mean {statistics.mean(ms):7.2f} ms/file"
                  f"   total {sum(ms) / 1e3:6.2f} s")


if __name__ == "__main__":
    main()
