"""Write a study's results: Excel-safe CSVs and a manifest, every file written atomically."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ._io import atomic_write_text, write_csv

EVENTS_COLUMNS_FIRST = ("event_id", "ticker", "event_type", "event_date", "event_time", "day0", "status", "reason",
                        "n_est", "alpha", "beta", "sigma", "ret_d0", "close_d0", "volume_d0", "vol_ratio_63",
                        "data_flags", "n_overlaps", "overlaps")
PACKAGES = ("eventstudy", "numpy", "pandas", "scipy", "statsmodels", "exchange_calendars", "pyarrow", "yfinance")


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p.replace("_", "-"))
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def file_sha256(path: str | Path) -> str | None:
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def write_results(res, out: Path, inputs: dict) -> Path:
    """Write ``events.csv, ar.csv, car.csv, summary.csv, aar.csv, manifest.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    ev = res.events
    first = [c for c in EVENTS_COLUMNS_FIRST if c in ev.columns]
    ev = ev[first + [c for c in ev.columns if c not in first]]
    write_csv(ev, out / "events.csv")
    write_csv(res.ar, out / "ar.csv")
    write_csv(res.car, out / "car.csv")
    write_csv(res.caar, out / "summary.csv")
    write_csv(res.aar, out / "aar.csv")
    for name, frame in getattr(res, "extra_frames", {}).items():
        write_csv(frame, out / f"{name}.csv")
    manifest = {
        "study": res.spec.name,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": inputs,
        "options": res.spec.to_dict(),
        "data": res.meta,
        "notes": res.notes,
        "versions": package_versions(),
        "files": ["events.csv", "ar.csv", "car.csv", "summary.csv", "aar.csv"]
                 + [f"{k}.csv" for k in getattr(res, "extra_frames", {})],
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
    return out
