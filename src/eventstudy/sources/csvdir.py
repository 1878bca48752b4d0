"""A directory of per-ticker CSV files: ``DIR/<TICKER>.csv``.

Each file needs a ``date`` column and ``close`` or ``adj_close``; ``open, high, low, volume``
are optional. Header names are matched case-insensitively and ``Adj Close`` / ``adjclose``
count as ``adj_close``. Tickers such as ``^GSPC`` or ``BRK-B`` map to ``^GSPC.csv``,
``BRK-B.csv`` (``BRK.B.csv`` is tried too). File names match case-insensitively; when two
files match one ticker (``IBRX.csv`` and ``ibrx.csv``, or ``BRK-B.csv`` and ``BRK.B.csv``)
asking for that ticker raises :class:`~eventstudy._errors.PriceFileError` naming both.
A malformed file raises :class:`~eventstudy._errors.PriceFileError` naming file, row and field.

Dates
-----
A bar's date is the exchange-local (America/New_York) calendar date of its time stamp:

* ``2026-01-21`` → 2026-01-21;
* a stamp without a UTC offset (``2026-01-21 16:00:00``, ``2026-01-21T00:00``) is taken as
  exchange-local and its date part is used;
* a stamp with a UTC offset or ``Z`` (``2026-01-21T00:00:00-08:00``,
  ``2026-01-21 05:00:00+00:00``) is converted to New York time first, then its date is used
  (both examples are 2026-01-21; ``2026-01-20T21:00:00-08:00`` is 2026-01-21 too). A stamp is
  never cut to its first ten characters.

Two stamps that fall on the same New York date are a duplicate-date problem.

Speed
-----
Files are parsed typed with :mod:`pyarrow.csv` and checked with array operations; only when
that fast path meets anything unusual (a non-number, a duplicate date, a negative price, odd
blanks) is the file re-read as text by the slow path, which either produces the same bars or
the list of problems.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import PriceFileError, Problem, TickerNotFoundError
from ..events import DATE_MAX, DATE_MIN
from .base import CANONICAL_COLUMNS, PRICE_COLUMNS, normalize_bars

EXCHANGE_TZ = "America/New_York"
_ALIASES = {"adjclose": "adj_close", "adj close": "adj_close", "adj_close": "adj_close", "adjusted_close": "adj_close",
            "date": "date", "datetime": "date", "timestamp": "date"}
_NULLS = ("", "null", "NaN", "nan")
_MIN64, _MAX64 = DATE_MIN.to_datetime64(), DATE_MAX.to_datetime64()
_NAIVE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_AWARE = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$"


def _canonical(col: str) -> str:
    key = col.strip().lower()
    return _ALIASES.get(key, key.replace(" ", "_"))


def parse_bar_dates(stamps: pd.Series) -> pd.Series:
    """Exchange-local dates of date or time-stamp strings (NaT where a stamp cannot be read).

    See the module notes: plain dates and stamps without an offset keep their date part;
    stamps with a UTC offset are converted to America/New_York before the date is taken.
    """
    s = stamps.astype("string").str.strip().fillna("")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    plain = (s.str.len() == 10).to_numpy()
    if plain.all():
        return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
    naive = s.str.match(_NAIVE).fillna(False).to_numpy()
    aware = s.str.match(_AWARE).fillna(False).to_numpy()
    if naive.any():
        out[naive] = pd.to_datetime(s[naive].str[:10], format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
    if aware.any():
        ts = pd.to_datetime(s[aware], format="ISO8601", utc=True, errors="coerce")
        out[aware] = ts.dt.tz_convert(EXCHANGE_TZ).dt.tz_localize(None).dt.normalize().astype("datetime64[us]")
    return out


def _out_of_range(dates: pd.Series) -> np.ndarray:
    return ((dates < DATE_MIN) | (dates > DATE_MAX)).fillna(False).to_numpy()


def _header(text_head: str) -> list[str]:
    lines = text_head.splitlines()
    try:
        return next(csv.reader(lines[:1]), [])
    except csv.Error:               # odd bytes in the header: the slow path says what is wrong
        return []


def _fast_parse(data: bytes, name: str) -> pd.DataFrame | None:
    """Typed parse of a clean file with pyarrow into canonical bars (:func:`~eventstudy.sources.base.normalize_bars`'
    layout), or ``None`` when anything needs the slow path.

    Dates are read as ``date32`` first (plain YYYY-MM-DD, the common case, about 4× faster
    than text); time stamps are read as text and converted by :func:`parse_bar_dates`.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = _header(data[:4096].decode("utf-8", errors="replace"))
    canon = [_canonical(c) for c in head]
    if len(set(canon)) != len(canon) or "date" not in canon or not {"close", "adj_close"} & set(canon):
        return None
    keep = [(raw, c) for raw, c in zip(head, canon) if c == "date" or c in PRICE_COLUMNS]
    date_col = next(raw for raw, c in keep if c == "date")
    table = None
    for date_type in (pa.date32(), pa.string()):
        types = {raw: (date_type if c == "date" else pa.float64()) for raw, c in keep}
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data),
                read_options=pacsv.ReadOptions(use_threads=False),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=list(types),
                                                     null_values=list(_NULLS), strings_can_be_null=False,
                                                     quoted_strings_can_be_null=False))
            break
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            continue
    if table is None:
        return None
    col = table.column(date_col)
    if pa.types.is_date32(col.type):
        if col.null_count:
            return None
        dates = col.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    else:
        parsed = parse_bar_dates(pd.Series(col.to_numpy(zero_copy_only=False), dtype=object))
        if parsed.isna().any():
            return None
        dates = parsed.to_numpy()
    if ((dates < _MIN64) | (dates > _MAX64)).any():
        return None
    if not (dates[1:] > dates[:-1]).all() and not pd.Index(dates).is_unique:
        return None
    block = np.full((len(dates), len(PRICE_COLUMNS)), np.nan)        # the canonical layout, filled in place
    for raw, c in keep:
        if c == "date":
            continue
        v = table.column(raw).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            if (v < 0).any() or np.isinf(v).any():
                return None
        block[:, PRICE_COLUMNS.index(c)] = v
    out = pd.DataFrame(block, index=pd.DatetimeIndex(dates, name="date"), columns=CANONICAL_COLUMNS, copy=False)
    return out if out.index.is_monotonic_increasing else out.sort_index()


def _slow_parse(data: bytes, name: str, path: Path) -> pd.DataFrame:
    """Parse as text and collect every problem (file, row, field); raise them, or return the bars."""
    from .._textio import frame_from_text, read_text

    text = read_text(path, ("date", "close", "adj_close", "adj close"), PriceFileError, data=data)
    raw = frame_from_text(text, name, PriceFileError)
    raw.columns = [_canonical(c) for c in raw.columns]
    problems: list[Problem] = []
    seen = pd.Index(raw.columns)
    for col in sorted(set(seen[seen.duplicated()])):
        problems.append(Problem(name, 0, col, "column given twice (after matching header names case-insensitively)"))
    if "date" not in raw.columns:
        problems.append(Problem(name, 0, "date", "no 'date' column"))
    if "close" not in raw.columns and "adj_close" not in raw.columns:
        problems.append(Problem(name, 0, "close", "needs a 'close' or 'adj_close' column"))
    if problems:
        raise PriceFileError(problems)
    rows = np.arange(1, len(raw) + 1)
    dates = parse_bar_dates(raw["date"])
    for r, v in zip(rows[dates.isna().to_numpy()], raw["date"][dates.isna()]):
        problems.append(Problem(name, int(r), "date", f"cannot parse {v!r} as a date (YYYY-MM-DD, or an ISO time "
                                                      "stamp with or without a UTC offset)"))
    values = {}
    for col in PRICE_COLUMNS:
        if col not in raw.columns:
            continue
        text_col = raw[col].str.strip()
        num = pd.to_numeric(text_col.where(~text_col.isin(_NULLS)), errors="coerce")
        bad = num.isna().to_numpy() & ~text_col.isin(_NULLS).to_numpy()
        for r, v in zip(rows[bad], text_col[bad]):
            problems.append(Problem(name, int(r), col, f"not a number: {v!r}"))
        neg = (num < 0).fillna(False).to_numpy()
        for r, v in zip(rows[neg], text_col[neg]):
            problems.append(Problem(name, int(r), col, f"negative value {v}"))
        inf = np.isinf(num.to_numpy(dtype="float64", na_value=np.nan))
        for r, v in zip(rows[inf], text_col[inf]):
            problems.append(Problem(name, int(r), col, f"not a finite number: {v!r}"))
        values[col] = num.to_numpy(dtype="float64", na_value=np.nan)
    far = _out_of_range(dates)
    for r, v in zip(rows[far], raw["date"][far]):
        problems.append(Problem(name, int(r), "date", f"{v} is outside the supported dates "
                                                      f"{DATE_MIN.date()} … {DATE_MAX.date()}"))
    dup = dates.duplicated(keep="first").to_numpy() & dates.notna().to_numpy()
    for r, v in zip(rows[dup], raw["date"][dup]):
        problems.append(Problem(name, int(r), "date", f"duplicate date {v} (exchange-local date "
                                                      f"{dates[r - 1].date()})"))
    if problems:
        raise PriceFileError(sorted(problems, key=lambda p: (p.row, p.field)))
    return pd.DataFrame(values, index=pd.DatetimeIndex(dates.to_numpy(), name="date"))


def parse_price_bytes(data: bytes, path: str | Path, start: pd.Timestamp | None = None,
                      end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Canonical bars from a price file's bytes (fast typed path, slow text path for errors)."""
    path = Path(path)
    bars = _fast_parse(data, str(path))          # already in the canonical layout
    if bars is None:
        bars = normalize_bars(_slow_parse(data, str(path), path))
    if start is not None or end is not None:
        bars = bars.loc[start:end]
    return bars


def read_price_csv(path: str | Path, start: pd.Timestamp | None = None,
                   end: pd.Timestamp | None = None) -> pd.DataFrame:
    """Read and check one price CSV; return canonical bars (in [start, end] when given) or raise ``PriceFileError``."""
    from .._textio import read_bytes

    path = Path(path)
    data, problem = read_bytes(path)
    if problem is not None:
        raise PriceFileError([problem])
    return parse_price_bytes(data, path, start, end)


def _keys(ticker: str) -> set[str]:
    t = ticker.upper()
    return {t, t.replace("-", "."), t.replace(".", "-")}


class CsvDirectorySource:
    """Prices from ``DIR/<TICKER>.csv`` files (the folder is listed once, on first use)."""

    #: local and stateless between reads: chunks may run in processes forked from this one
    fork_safe = True


    def __init__(self, directory: str | Path):
        self.directory = Path(directory).expanduser()
        self.name = f"csv:{self.directory}"
        self._used: dict[str, str] = {}
        self._index: dict[str, list[Path]] | None = None

    def _files(self) -> dict[str, list[Path]]:
        """Upper-cased file stem → files with that stem (``*.csv``, any case of the suffix)."""
        if self._index is None:
            index: dict[str, list[Path]] = {}
            with os.scandir(self.directory) as it:
                for entry in it:
                    if entry.name.lower().endswith(".csv"):
                        index.setdefault(entry.name[:-4].upper(), []).append(Path(entry.path))
            self._index = {k: sorted(v) for k, v in index.items()}
        return self._index

    def path_for(self, ticker: str) -> Path | None:
        """The file holding ``ticker`` (case-insensitive; ``BRK-B`` also tries ``BRK.B``).

        Raises ``PriceFileError`` naming every candidate when more than one file matches.
        """
        files = self._files()
        found = sorted({p for k in _keys(ticker) for p in files.get(k, [])})
        if len(found) > 1:
            names = " and ".join(str(p) for p in found)
            raise PriceFileError([Problem(str(found[0]), 0, "-", f"{len(found)} files match ticker {ticker.upper()}: "
                                                                 f"{names}; keep one of them")])
        return found[0] if found else None

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Daily bars of ``ticker``; only those in [start, end] when given."""
        path = self.path_for(ticker)
        if path is None:
            raise TickerNotFoundError(f"no file {ticker}.csv in {self.directory}")
        from .._textio import read_bytes

        data, problem = read_bytes(path)
        if problem is not None:
            raise PriceFileError([problem])
        self._used[ticker] = hashlib.sha256(data).hexdigest()
        return parse_price_bytes(data, path, start, end)

    def describe(self) -> dict:
        return {"source": "csv", "directory": str(self.directory), "files_sha256": dict(sorted(self._used.items()))}
