"""Fama–French daily factors: bundled Ken French files, user CSV files, and an online updater.

Factors are returned as a DataFrame indexed by date in **decimal** units (the source files
are in percent): columns ``Mkt-RF, SMB, HML, RF`` and, where available, ``RMW, CMA, Mom``.
The bundled copy is the 202604 CRSP vintage (through 2026-04-30); see
``eventstudy/data/factors/README.md``.
"""

from __future__ import annotations

import io
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import PriceFileError, Problem
from .sources.bundled import data_dir

#: Ken French data-library zip files (daily) used by :func:`download_french_factors`
FRENCH_FILES = {
    "ff3": "F-F_Research_Data_Factors_daily_CSV.zip",
    "ff5": "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip",
    "mom": "F-F_Momentum_Factor_daily_CSV.zip",
}
FRENCH_BASE = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"


@lru_cache(maxsize=1)
def bundled_factors() -> pd.DataFrame:
    """The bundled daily factors in decimal units."""
    df = pd.read_parquet(data_dir() / "factors" / "ff_daily_percent.parquet").set_index("date")
    return df.astype("float64") / 100.0


def parse_french_csv(text: str, name: str = "<factors>") -> pd.DataFrame:
    """Parse one Ken French daily CSV (text preamble, header row, percent values, footer).

    Values of −99.99 / −999 (the library's missing codes) become NaN. Returns percent units.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.split(",")[0].strip() in ("", "Date", "date")
                     and "," in ln and any(c.isalpha() for c in ln.split(",", 1)[1]))
    except StopIteration:
        raise PriceFileError([Problem(name, 0, "header", "no header row with factor names")]) from None
    header = ["date"] + [h.strip() for h in lines[start].split(",")[1:]]
    rows, problems = [], []
    for k, ln in enumerate(lines[start + 1:], start=1):
        parts = [p.strip() for p in ln.split(",")]
        if not parts[0][:1].isdigit():
            if rows:  # annual section or footer: daily part ended
                break
            continue
        if len(parts) != len(header):
            problems.append(Problem(name, k, "-", f"expected {len(header)} fields, found {len(parts)}"))
            continue
        rows.append(parts)
    if problems:
        raise PriceFileError(problems)
    df = pd.DataFrame(rows, columns=header)
    df["date"] = pd.to_datetime(df["date"].str.replace("-", ""), format="%Y%m%d", errors="coerce")
    bad = df["date"].isna().to_numpy()
    if bad.any():
        raise PriceFileError([Problem(name, int(i) + 1, "date", "cannot parse date") for i in np.flatnonzero(bad)])
    df = df.set_index("date")
    df = df.apply(pd.to_numeric, errors="coerce").astype("float64")
    return df.mask(df <= -99.99)


def read_factor_csv(path: str | Path, percent: bool = True) -> pd.DataFrame:
    """Read a user-supplied factor CSV: a ``date`` column and factor columns (percent by default)."""
    path = Path(path)
    text = path.read_text()
    first = text.lstrip().split("\n", 1)[0].lower()
    if first.startswith("date,"):
        df = pd.read_csv(io.StringIO(text))
        df["date"] = pd.to_datetime(df["date"].astype(str).str.replace("-", ""), format="%Y%m%d", errors="coerce")
        bad = df["date"].isna().to_numpy()
        if bad.any():
            raise PriceFileError([Problem(str(path), int(i) + 1, "date", "cannot parse date")
                                  for i in np.flatnonzero(bad)])
        df = df.set_index("date").astype("float64")
    else:
        df = parse_french_csv(text, str(path))
    return df / 100.0 if percent else df


def factor_cache_dir() -> Path:
    return Path(os.environ.get("EVENTSTUDY_CACHE", Path.home() / ".cache" / "eventstudy")) / "factors"


def download_french_factors(session=None, dest: Path | None = None) -> Path:
    """Download the current daily FF3, FF5 and momentum files into the cache (needs network).

    Writes ``factors.parquet`` (percent units, same layout as the bundled file) atomically and
    returns its path. ``session`` is any object with a requests-like ``get``.
    """
    import requests

    from ._io import atomic_write_bytes

    session = session or requests.Session()
    frames = {}
    for key, fname in FRENCH_FILES.items():
        resp = session.get(FRENCH_BASE + fname, timeout=60)
        resp.raise_for_status()
        with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
            inner = zf.namelist()[0]
            frames[key] = parse_french_csv(zf.read(inner).decode("latin-1"), fname)
    merged = frames["ff3"].join(frames["ff5"][["RMW", "CMA"]], how="left").join(frames["mom"], how="left")
    merged.columns = [c.strip() for c in merged.columns]
    dest = dest or factor_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    merged.reset_index().to_parquet(buf, index=False)
    out = dest / "factors.parquet"
    atomic_write_bytes(out, buf.getvalue())
    return out


def load_factors(spec: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """Factors from ``None``/``'bundled'`` (default), ``'cache'`` (downloaded), a CSV path, or a frame."""
    if isinstance(spec, pd.DataFrame):
        return spec
    if spec is None or spec == "bundled":
        return bundled_factors()
    if spec == "cache":
        return pd.read_parquet(factor_cache_dir() / "factors.parquet").set_index("date") / 100.0
    return read_factor_csv(spec)
