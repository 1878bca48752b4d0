"""Rebuild src/eventstudy/data/news_names.csv (company name -> ticker) from the project's event files.

Every distinct (company, ticker) pair of events/*.csv becomes one row, with the file it came from
in ``source``. Rows with an empty ticker (private companies, regulators) are kept: they tell the
news importer that the name is known to have no US listing. Run from the repository root:

    python scripts/build_news_names.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FILES = ("seed_events.csv", "curated_events_2015_2024.csv", "fda_decisions.csv")


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from eventstudy._io import write_csv

    frames = []
    for f in FILES:
        ev = pd.read_csv(ROOT / "events" / f, dtype=str, keep_default_na=False)
        pairs = ev[["company", "ticker"]].drop_duplicates()
        frames.append(pairs.rename(columns={"company": "name"}).assign(source=f))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["name"].str.strip() != ""].sort_values(["name", "ticker", "source"])
    out = out.drop_duplicates(["name", "ticker"]).reset_index(drop=True)
    write_csv(out, ROOT / "src" / "eventstudy" / "data" / "news_names.csv")
    print(f"{len(out)} names")


if __name__ == "__main__":
    main()
