"""A directory of per-ticker CSV files: ``DIR/<TICKER>.csv``.

Each file needs a ``date`` column and ``close`` or ``adj_close``; ``open, high, low, volume``
are optional. Header names are matched case-insensitively and ``Adj Close`` / ``adjclose``
count as ``adj_close``. Tickers such as ``^GSPC`` or ``BRK-B`` map to ``^GSPC.csv``,
``BRK-B.csv`` (``BRK.B.csv`` is tried too). A malformed file raises
:class:`~eventstudy._errors.PriceFileError` naming file, row and field.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import PriceFileError, Problem, TickerNotFoundError
from .base import PRICE_COLUMNS, normalize_bars

_ALIASES = {"adjclose": "adj_close", "adj close": "adj_close", "adj_close": "adj_close", "adjusted_close": "adj_close",
            "date": "date", "datetime": "date", "timestamp": "date"}


def _canonical(col: str) -> str:
    key = col.strip().lower()
    return _ALIASES.get(key, key.replace(" ", "_"))


def read_price_csv(path: str | Path) -> pd.DataFrame:
    """Read and check one price CSV; return canonical bars or raise ``PriceFileError``."""
    path = Path(path)
    name = str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriceFileError([Problem(name, 0, "-", f"not a readable CSV: {exc}")]) from None
    raw.columns = [_canonical(c) for c in raw.columns]
    problems: list[Problem] = []
    if "date" not in raw.columns:
        problems.append(Problem(name, 0, "date", "no 'date' column"))
    if "close" not in raw.columns and "adj_close" not in raw.columns:
        problems.append(Problem(name, 0, "close", "needs a 'close' or 'adj_close' column"))
    if problems:
        raise PriceFileError(problems)
    rows = np.arange(1, len(raw) + 1)
    dates = pd.to_datetime(raw["date"].str.strip().str[:10], format="%Y-%m-%d", errors="coerce")
    for r, v in zip(rows[dates.isna().to_numpy()], raw["date"][dates.isna()]):
        problems.append(Problem(name, int(r), "date", f"cannot parse {v!r} as a date"))
    values = {}
    for col in PRICE_COLUMNS:
        if col not in raw.columns:
            continue
        text = raw[col].str.strip()
        num = pd.to_numeric(text.replace({"": None, "null": None, "NaN": None, "nan": None}), errors="coerce")
        bad = num.isna().to_numpy() & text.ne("").to_numpy() & ~text.str.lower().isin(["null", "nan"]).to_numpy()
        for r, v in zip(rows[bad], text[bad]):
            problems.append(Problem(name, int(r), col, f"not a number: {v!r}"))
        neg = (num < 0).fillna(False).to_numpy()
        for r, v in zip(rows[neg], text[neg]):
            problems.append(Problem(name, int(r), col, f"negative value {v}"))
        values[col] = num.to_numpy(dtype="float64")
    dup = dates.duplicated(keep="first").to_numpy() & dates.notna().to_numpy()
    for r, v in zip(rows[dup], raw["date"][dup]):
        problems.append(Problem(name, int(r), "date", f"duplicate date {v}"))
    if problems:
        raise PriceFileError(sorted(problems, key=lambda p: (p.row, p.field)))
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(dates, name="date"))
    return normalize_bars(frame)


class CsvDirectorySource:
    """Prices from ``DIR/<TICKER>.csv`` files."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory).expanduser()
        self.name = f"csv:{self.directory}"
        self._used: dict[str, str] = {}

    def path_for(self, ticker: str) -> Path | None:
        """The file holding ``ticker`` (case-insensitive; ``BRK-B`` also tries ``BRK.B``)."""
        wanted = {ticker.upper(), ticker.upper().replace("-", "."), ticker.upper().replace(".", "-")}
        for path in sorted(self.directory.glob("*.csv")):
            if path.stem.upper() in wanted:
                return path
        return None

    def bars(self, ticker: str) -> pd.DataFrame:
        path = self.path_for(ticker)
        if path is None:
            raise TickerNotFoundError(f"no file {ticker}.csv in {self.directory}")
        self._used[ticker] = hashlib.sha256(path.read_bytes()).hexdigest()
        return read_price_csv(path)

    def describe(self) -> dict:
        return {"source": "csv", "directory": str(self.directory), "files_sha256": dict(sorted(self._used.items()))}


