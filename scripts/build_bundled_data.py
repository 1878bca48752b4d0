"""Rebuild the datasets bundled in ``src/eventstudy/data`` from ``../shared/data``.

Run from the repository root: ``python scripts/build_bundled_data.py [SHARED_DATA_DIR]``.
The outputs are committed, so neither CI nor a fresh clone needs the shared folder.
No value is changed: every price/volume is parsed from the source string to float64
(volume to int64; a missing value stays missing) and written as parquet (zstd).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "eventstudy" / "data"
PRICE_COLUMNS = ["date", "open", "high", "low", "close", "adj_close", "volume"]


def _read_price_dir(folder: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(folder.glob("*.csv")):
        df = pd.read_csv(path, dtype={"date": str})
        missing = [c for c in PRICE_COLUMNS if c not in df.columns]
        if missing:
            raise SystemExit(f"{path}: missing columns {missing}")
        df = df[PRICE_COLUMNS].copy()
        df.insert(0, "ticker", path.stem)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"], format="%Y-%m-%d")
    for col in ["open", "high", "low", "close", "adj_close"]:
        out[col] = out[col].astype("float64")
    out["volume"] = out["volume"].astype("Int64")
    return out.sort_values(["ticker", "date"], ignore_index=True)


def _write(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False, compression="zstd", compression_level=19)
    print(f"{path.relative_to(ROOT)}: {len(df):,} rows, {path.stat().st_size / 1e6:.2f} MB")


def _read_french(path: Path) -> pd.DataFrame:
    """Read a Ken French daily CSV (text header, percent units, copyright footer)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower().startswith(("date,", ",")))
    rows = []
    for line in lines[start + 1 :]:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2 or not parts[0][:1].isdigit():
            continue
        rows.append(parts)
    header = ["date"] + [h.strip() for h in lines[start].split(",")[1:]]
    df = pd.DataFrame(rows, columns=header)
    df["date"] = pd.to_datetime(df["date"].str.replace("-", ""), format="%Y%m%d")
    for col in header[1:]:
        df[col] = df[col].astype("float64")
    return df


def main(shared: Path) -> None:
    # seed sample (default dataset)
    _write(_read_price_dir(shared / "seed_sample" / "prices"), OUT / "seed" / "prices.parquet")
    divs = []
    for path in sorted((shared / "seed_sample" / "dividends").glob("*.csv")):
        d = pd.read_csv(path)
        d.insert(0, "ticker", path.stem)
        divs.append(d)
    div = pd.concat(divs, ignore_index=True)
    div["date"] = pd.to_datetime(div["date"], format="%Y-%m-%d")
    _write(div, OUT / "seed" / "dividends.parquet")
    shutil.copyfile(shared / "seed_sample" / "PROVENANCE.md", OUT / "seed" / "PROVENANCE.md")

    # 2013-2024 universe
    _write(_read_price_dir(shared / "universe_2013_2024" / "prices"), OUT / "universe" / "prices.parquet")
    for name in ["PROVENANCE.md", "LICENSE"]:
        shutil.copyfile(shared / "universe_2013_2024" / name, OUT / "universe" / name)

    # Fama-French daily factors, kept in the source's percent units (converted at load time)
    fdir = shared / "factors"
    ff3 = _read_french(fdir / "F-F_Research_Data_Factors_daily.csv")
    ff5 = _read_french(fdir / "F-F_Research_Data_5_Factors_2x3_daily.csv")
    mom = _read_french(fdir / "F-F_Momentum_Factor_daily.csv")
    mom.columns = ["date", "Mom"]
    merged = ff3.merge(ff5[["date", "RMW", "CMA"]], on="date", how="left").merge(mom, on="date", how="left")
    merged.loc[merged["Mom"] <= -99.99, "Mom"] = float("nan")
    _write(merged, OUT / "factors" / "ff_daily_percent.parquet")
    shutil.copyfile(fdir / "README.md", OUT / "factors" / "README.md")

    # curated events: repo copy (canonical) + the seed file inside the package for `eventstudy demo`
    edir = shared / "events"
    for name in ["seed_events.csv", "fda_decisions.csv", "curated_events_2015_2024.csv", "README.md"]:
        shutil.copyfile(edir / name, ROOT / "events" / name)
    (ROOT / "events" / "supplementary").mkdir(exist_ok=True)
    shutil.copyfile(edir / "fda_decisions_excluded.csv", ROOT / "events" / "supplementary" / "fda_decisions_excluded.csv")
    shutil.copyfile(edir / "seed_events.csv", OUT / "events" / "seed_events.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
