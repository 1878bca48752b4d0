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
from .base import CANONICAL_COLUMNS, PRICE_COLUMNS, arrays_frame, frame_arrays, normalize_bars, range_bounds

EXCHANGE_TZ = "America/New_York"
_ALIASES = {"adjclose": "adj_close", "adj close": "adj_close", "adj_close": "adj_close", "adjusted_close": "adj_close",
            "date": "date", "datetime": "date", "timestamp": "date"}
_NULLS = ("", "null", "NaN", "nan")
_BOM = b"\xef\xbb\xbf"
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


def _price_columns(head: list[str]) -> list[tuple[str, str]] | None:
    """The (raw, canonical) header names the bars need (the date and the price columns), or ``None``
    when the header is not one the typed parse can take (no date, no close, a name given twice)."""
    canon = [_canonical(c) for c in head]
    if len(set(canon)) != len(canon) or "date" not in canon or not {"close", "adj_close"} & set(canon):
        return None
    return [(raw, c) for raw, c in zip(head, canon) if c == "date" or c in PRICE_COLUMNS]


def _typed_table(data: bytes, keep: list[tuple[str, str]], date_type, threads: bool = False):
    """``data`` parsed by :mod:`pyarrow.csv` with the date column as ``date_type`` and the price columns
    as float64 (the missing markers :data:`_NULLS` → null), or ``None`` when a cell does not convert."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {raw: (date_type if c == "date" else pa.float64()) for raw, c in keep}
    try:
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=threads),
            convert_options=pacsv.ConvertOptions(column_types=types, include_columns=list(types),
                                                 null_values=list(_NULLS), strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _price_block(table, keep: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The price columns of a typed table in the canonical layout (rows × :data:`PRICE_COLUMNS`, NaN where a
    column is absent or a cell missing), and per row whether a value is negative or infinite."""
    block = np.full((table.num_rows, len(PRICE_COLUMNS)), np.nan)        # the canonical layout, filled in place
    bad = np.zeros(table.num_rows, dtype=bool)
    for raw, c in keep:
        if c == "date":
            continue
        v = table.column(raw).to_numpy()
        with np.errstate(invalid="ignore"):
            bad |= (v < 0) | np.isinf(v)
        block[:, PRICE_COLUMNS.index(c)] = v
    return block, bad


def _bars_frame(block: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(block, index=pd.DatetimeIndex(dates, name="date"), columns=CANONICAL_COLUMNS, copy=False)


def _fast_parse(data: bytes, name: str) -> pd.DataFrame | None:
    """Typed parse of a clean file with pyarrow into canonical bars (:func:`~eventstudy.sources.base.normalize_bars`'
    layout), or ``None`` when anything needs the slow path.

    Dates are read as ``date32`` first (plain YYYY-MM-DD, the common case, about 4× faster
    than text); time stamps are read as text and converted by :func:`parse_bar_dates`.
    """
    import pyarrow as pa

    if data.startswith(_BOM):
        data = data[len(_BOM):]
    keep = _price_columns(_header(data[:4096].decode("utf-8", errors="replace")))
    if keep is None:
        return None
    date_col = next(raw for raw, c in keep if c == "date")
    table = _typed_table(data, keep, pa.date32())
    if table is None:
        table = _typed_table(data, keep, pa.string())
    if table is None:
        return None
    col = table.column(date_col)
    if pa.types.is_date32(col.type):
        if col.null_count:
            return None
        dates = col.to_numpy().astype("datetime64[us]")
    else:
        parsed = parse_bar_dates(pd.Series(col.to_numpy(), dtype=object))
        if parsed.isna().any():
            return None
        dates = parsed.to_numpy()
    if ((dates < _MIN64) | (dates > _MAX64)).any():
        return None
    if not (dates[1:] > dates[:-1]).all() and not pd.Index(dates).is_unique:
        return None
    block, bad = _price_block(table, keep)
    if bad.any():
        return None
    out = _bars_frame(block, dates)
    return out if out.index.is_monotonic_increasing else out.sort_index()


#: files parsed as one table by :func:`parse_price_files` (bounds the batch's memory: about 60 MB of
#: numbers for files of 2,500 rows)
BATCH_FILES = 512


def _batch_body(data: bytes) -> tuple[bytes, memoryview, int] | None:
    """(header line, data lines, their number of line breaks) of a file that can be parsed together with
    other files of the same header; ``None`` for a file without data rows, without a line break after its
    last row or with a carriage return that does not end a line, which is parsed on its own
    (:func:`parse_price_bytes`).

    Within a batch every line break counts: with no lone carriage return the parser can only find fewer
    rows than line breaks (a blank line skipped, a quote running over a line end), and
    :func:`_parse_batch` then splits the batch, so a batch whose row count matches holds every line as
    one row of its own file."""
    start = len(_BOM) if data.startswith(_BOM) else 0
    nl = data.find(b"\n", start)
    if nl <= start or not data.endswith(b"\n"):
        return None
    rows = data.count(b"\n", nl + 1)
    if not rows or (data.find(b"\r", nl) >= 0 and data.count(b"\r", nl + 1) != data.count(b"\r\n", nl + 1)):
        return None
    return data[start:nl + 1], memoryview(data)[nl + 1:], rows


def parse_price_files(files: dict[str, bytes]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Canonical bars of many price files at once, as ``(dates, values)`` per file
    (:func:`~eventstudy.sources.base.frame_arrays`' layout, no frame built): files that share a header line
    are concatenated and parsed as one typed table (:mod:`pyarrow.csv`, on every core), then checked with
    array operations and cut back into one pair of arrays per file.

    Returns the bars of every file that passes the same checks as :func:`_fast_parse` (dates that
    convert as plain ``YYYY-MM-DD``, inside the supported range, strictly increasing; prices neither
    negative nor infinite): for those files the bars are identical to :func:`parse_price_bytes`'s. Files
    left out (time stamps, unsorted dates, any problem) are for :func:`parse_price_bytes` to parse one
    by one, which either sorts them or names file, row and field. A batch in which a cell does not
    convert is split in halves until the files that convert are found.

    The arrays of one batch share one block of numbers (views, read-only use)."""
    groups: dict[bytes, list[tuple[str, memoryview, int]]] = {}
    for key, data in files.items():
        split = _batch_body(data)
        if split is not None:
            groups.setdefault(split[0], []).append((key, *split[1:]))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for head, members in groups.items():
        keep = _price_columns(_header(head.decode("utf-8", errors="replace")))
        if keep is None:
            continue
        for i in range(0, len(members), BATCH_FILES):
            _parse_batch(head, keep, members[i:i + BATCH_FILES], out)
    return out


def _parse_batch(head: bytes, keep: list[tuple[str, str]], members: list[tuple[str, memoryview, int]],
                 out: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    import pyarrow as pa

    rows = np.array([n for _, _, n in members], dtype=np.int64)
    table = _typed_table(b"".join([head, *(body for _, body, _ in members)]), keep, pa.date32(), threads=True)
    if table is None or table.num_rows != int(rows.sum()):
        if len(members) > 1:
            half = len(members) // 2
            _parse_batch(head, keep, members[:half], out)
            _parse_batch(head, keep, members[half:], out)
        return
    col = table.column(next(raw for raw, c in keep if c == "date"))
    bad = col.is_null().to_numpy(zero_copy_only=False)
    dates = col.fill_null(0).to_numpy().astype("datetime64[us]")
    block, bad_value = _price_block(table, keep)
    bad |= bad_value | (dates < _MIN64) | (dates > _MAX64)
    starts = np.concatenate(([0], np.cumsum(rows)[:-1]))
    step = np.ones(len(dates), dtype=bool)
    step[1:] = dates[1:] > dates[:-1]
    step[starts] = True                     # a file's first row follows the previous file's last
    bad |= ~step
    failed = np.add.reduceat(bad.astype(np.int64), starts) > 0
    for (key, _, _), a, n, no in zip(members, starts.tolist(), rows.tolist(), failed.tolist()):
        if not no:
            out[key] = (dates[a:a + n], block[a:a + n].T)


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
        self._ready: dict[str, tuple[str, tuple[np.ndarray, np.ndarray]]] = {}

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
        """Daily bars of ``ticker``; only those in [start, end] when given (:meth:`bar_arrays` as a frame)."""
        return arrays_frame(*self.bar_arrays(ticker, start, end))

    def bar_arrays(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The bars of :meth:`bars` as ``(dates, values)`` (:func:`~eventstudy.sources.base.frame_arrays`):
        served from :meth:`prefetch`'s parse when there is one (once), else read and parsed now."""
        ready = self._ready.pop(ticker, None)
        if ready is not None:
            self._used[ticker] = ready[0]
            dates, values = ready[1]
        else:
            path = self.path_for(ticker)
            if path is None:
                raise TickerNotFoundError(f"no file {ticker}.csv in {self.directory}")
            from .._textio import read_bytes

            data, problem = read_bytes(path)
            if problem is not None:
                raise PriceFileError([problem])
            self._used[ticker] = hashlib.sha256(data).hexdigest()
            dates, values = frame_arrays(parse_price_bytes(data, path))
        lo, hi = range_bounds(dates, start, end)
        return dates[lo:hi], values[:, lo:hi]

    def prefetch(self, tickers: list[str]) -> None:
        """Read the files of ``tickers`` and parse them together (:func:`parse_price_files`); the next
        :meth:`bars` call for each ticker is served from that parse, once. A ticker whose file is missing,
        ambiguous, unreadable or unusual is left for :meth:`bars`, which reads it alone and says what is wrong."""
        from .._textio import read_bytes

        files: dict[str, bytes] = {}
        for t in tickers:
            try:
                path = self.path_for(t)
            except PriceFileError:
                continue
            if path is None or t in self._ready:
                continue
            data, problem = read_bytes(path)
            if problem is None:
                files[t] = data
        for t, bars in parse_price_files(files).items():
            self._ready[t] = (hashlib.sha256(files[t]).hexdigest(), bars)

    def describe(self) -> dict:
        return {"source": "csv", "directory": str(self.directory), "files_sha256": dict(sorted(self._used.items()))}
