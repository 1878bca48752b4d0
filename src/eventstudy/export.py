"""The results folder: written as one unit, read back verified, every id kept as text.

Layout (``eventstudy run --out DIR``)::

    DIR/events.csv ar.csv car.csv summary.csv aar.csv volume.csv   the run's tables (CSV, the default)
    DIR/events.parquet ar.parquet …   the same tables with ``format="parquet"`` (``--format parquet``)
    DIR/manifest.json          run id, format, inputs, options, data provenance, SHA-256 of each table
    DIR/figures/               written by ``eventstudy plot`` (own ``figures.json``, see plots.py)
    DIR/report.html            written by ``eventstudy report``

**Formats.** ``csv`` (default): Excel-safe text, full-precision floats, byte-identical for the same
inputs (:func:`eventstudy._io.csv_bytes`). ``parquet``: one zstd-compressed parquet file per table with
typed columns (float64, int64, bool, dates as ``date32``, text as UTF-8 strings, empty numbers as
null) and the raw text (no ``'`` before ``=``/``+``/``-``/``@``: parquet is not opened by a
spreadsheet); same columns, units and row order as the CSVs (:func:`parquet_bytes`). Both are
listed with their SHA-256 in the manifest and read back by :func:`read_results`.

**One unit.** :func:`write_results` (through :class:`FolderWriter`, which also takes tables block by
block: a chunked study streaming its folder, :mod:`eventstudy.stream`) writes the tables and the
manifest into a hidden sibling ``.DIR.tmp-<pid>-<token>/`` and swaps it in as ``DIR``
(:func:`eventstudy._io.replace_dir`): a reader sees the previous complete run or the new complete run,
never a mix, whenever the writer dies. A new run replaces the *whole* folder: the previous run's ``figures/`` and ``report.html``
go with it (they describe the old numbers; run ``plot`` / ``report`` again). To protect the
user's own files, ``DIR`` must be new, empty, or a results folder holding only what eventstudy
writes; anything else is an error naming the foreign files.

**Run id.** ``run_id`` is the first 16 hex digits of the SHA-256 of the manifest without
``created_utc``, ``versions`` and ``engine`` (where a chunked study ran: it does not change the answer),
so it covers the table hashes, inputs, options and data hashes.
It is deterministic: the same inputs and options give the same run id and byte-identical CSVs (parquet
files: byte-identical with the same pyarrow version, whose name is written in each file);
any change to a table, the format or a setting gives another one. Figures record the run id they were drawn
from, and the report embeds only figures of the folder's run id.

**Row order.** Rows follow ``res.events``; ``run_study`` is expected to put events in the
canonical order ``(event_date, ticker, event_id)`` so that the files do not depend on the order
of the event file.

**Reading.** :func:`read_results` is the one reader of results folders (used by plots and
report, regress), whatever the format: it checks every file against the manifest's SHA-256 and reads
identifiers and labels as text with no NA conversion, so ids such as ``001``, ``1e3``, ``NA`` or ``null``
survive (parquet stores them as strings).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import ResultsFolderError
from ._io import csv_bytes, fsync_dir, remove_stale_siblings, replace_dir, sibling_dir, write_new_file

EVENTS_COLUMNS_FIRST = ("event_id", "ticker", "event_type", "event_date", "event_time", "day0", "status", "reason",
                        "n_est", "alpha", "beta", "sigma", "ret_d0", "close_d0", "volume_d0", "vol_ratio_63",
                        "data_flags", "n_overlaps", "overlaps")
PACKAGES = ("eventstudy", "numpy", "pandas", "scipy", "statsmodels", "exchange_calendars", "pyarrow", "yfinance")
MANIFEST = "manifest.json"
#: results formats → file extension of their tables (``--format``)
FORMATS = {"csv": ".csv", "parquet": ".parquet"}
#: every table a run may write (either format); with the manifest, figures/ and report.html: what
#: eventstudy owns in a folder
TABLE_NAMES = ("events", "ar", "car", "summary", "aar", "volume")
RESULT_TABLES = tuple(f"{t}{ext}" for ext in FORMATS.values() for t in TABLE_NAMES)
OWNED = frozenset(RESULT_TABLES) | {MANIFEST, "figures", "report.html"}
#: parquet compression of result tables (zstd: smaller than snappy at about the same speed)
PARQUET_COMPRESSION = "zstd"
#: operating-system litter that may sit in any folder
IGNORED = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
#: manifest keys that do not enter the run id (the time of writing and the machine's package versions)
NOT_IN_RUN_ID = ("created_utc", "run_id", "versions", "engine")

#: columns always read as text (identifiers, labels, free text): never numbers, never NA
TEXT_COLUMNS = frozenset({"event_id", "ticker", "company", "event_type", "subtype", "event_time", "day0_rule",
                          "status", "reason", "data_flags", "overlaps", "confidence", "headline", "source_url",
                          "notes", "window", "kind", "event_ids"})
DATE_COLUMNS = frozenset({"event_date", "day0", "date"})
BOOL_COLUMNS = frozenset({"in_stats"})
#: events.csv columns read as numbers; every other events.csv column is text (user columns pass through)
EVENT_NUMBER_COLUMNS = frozenset({"n_est", "alpha", "beta", "sigma", "ret_d0", "ar_d0", "close_d0", "volume_d0",
                                  "n_overlaps"})
EVENT_NUMBER_PREFIXES = ("beta_", "vol_")


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
    return _stream_sha256(p) if p.is_file() else None


def _stream_sha256(path: Path, dir_fd: int | None = None) -> str:
    h = hashlib.sha256()
    with _open(path, dir_fd) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_id(manifest: dict) -> str:
    """The run id of a manifest: SHA-256 (16 hex digits) of its canonical JSON without :data:`NOT_IN_RUN_ID`."""
    core = {k: v for k, v in manifest.items() if k not in NOT_IN_RUN_ID}
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()[:16]


# ---- writing -------------------------------------------------------------------------------------
def check_format(format: str) -> str:
    """``format`` as a known results format (``csv`` or ``parquet``, any case), else a ValueError naming it."""
    fmt = str(format).strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown results format {format!r}: use 'csv' (default) or 'parquet'")
    return fmt


def table_file(name: str, format: str) -> str:
    """The file of table ``name`` (``car``, ``car.csv``…) in a folder of ``format``: ``car.parquet``…"""
    return _stem(name) + FORMATS[format]


def _stem(name: str) -> str:
    for ext in FORMATS.values():
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def events_column_order(columns: list) -> list:
    """The columns of ``events.csv``: :data:`EVENTS_COLUMNS_FIRST` (those present), then the others in order."""
    first = [c for c in EVENTS_COLUMNS_FIRST if c in columns]
    return first + [c for c in columns if c not in first]


def result_tables(res) -> dict[str, pd.DataFrame]:
    """File name (``*.csv``) → frame of every table of a study, in the order they are written."""
    ev = res.events
    ev = ev[events_column_order(list(ev.columns))]
    tables = {"events.csv": ev, "ar.csv": res.ar, "car.csv": res.car, "summary.csv": res.caar, "aar.csv": res.aar}
    tables.update({f"{k}.csv": f for k, f in getattr(res, "extra_frames", {}).items()})
    return tables


def manifest_head(res, inputs: dict) -> dict:
    """The manifest of a study before its files are listed: name, time of writing, inputs, options, data
    provenance, notes and (a chunked study) where it ran."""
    head = {"study": res.spec.name, "run_id": "",
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inputs": inputs, "options": res.spec.to_dict(), "data": res.meta, "notes": res.notes}
    if getattr(res, "engine", None):    # where a chunked study ran (not in the run id: the answer is the same)
        head["engine"] = res.engine
    return head


def write_results(res, out: str | Path, inputs: dict, format: str = "csv") -> Path:
    """Write a study's tables and ``manifest.json`` into the folder ``out`` as one unit; return ``out``.

    ``format`` is ``"csv"`` (Excel-safe text, the default) or ``"parquet"`` (typed columns, raw text;
    for large studies): see the module docstring.

    Raises :class:`~eventstudy._errors.ResultsFolderError` (one line, naming the folder) when
    ``out`` is a file, not writable, holds files eventstudy did not write, or the write fails
    (disk full…); the previous content of ``out`` is then untouched. ValueError for an unknown
    ``format`` (before anything is written).
    """
    fmt = check_format(format)
    return write_folder(Path(out), result_tables(res), manifest_head(res, inputs), format=fmt)


def write_folder(out: Path, tables: dict[str, pd.DataFrame], head: dict, format: str = "csv") -> Path:
    """Write ``tables`` (name → frame; a name's ``.csv``/``.parquet`` ending is replaced by the format's) in
    ``format`` plus a manifest (``head`` + format + versions + file hashes + run id) into ``out``."""
    fmt = check_format(format)
    names = {name: table_file(name, fmt) for name in tables}
    if len(set(names.values())) < len(names):
        raise ValueError(f"two tables would be written to the same file: {sorted(tables)}")
    with FolderWriter(Path(out), fmt) as w:
        for name, frame in tables.items():
            w.add_frame(name, frame)
        w.commit(head)
    return out


class FolderWriter:
    """A results folder written as one unit (module docstring, "One unit"), table by table.

    Entering checks ``out`` (:func:`_writable_target`) and creates the hidden temporary sibling; tables
    are written into it whole (:meth:`add_frame`) or block by block (:meth:`add_blocks`, a chunked study
    streaming its tables), each hashed as it is written; :meth:`commit` adds the manifest and swaps the
    folder in. Leaving the ``with`` block without a commit (an error, an interrupt) removes the temporary
    folder, so ``out`` keeps its previous content; a killed process leaves a sibling that the next writer
    removes. Write failures (disk full…) raise :class:`~eventstudy._errors.ResultsFolderError` naming
    ``out``."""

    def __init__(self, out: str | Path, format: str = "csv"):
        self.out, self.format = Path(out), check_format(format)
        self.files: dict[str, dict] = {}
        self.tmp: Path | None = None
        self.target: Path | None = None

    def __enter__(self) -> "FolderWriter":
        self.target = _writable_target(self.out)
        try:
            tmp = sibling_dir(self.target, "tmp")
            tmp.mkdir()
        except OSError as exc:
            raise ResultsFolderError(f"cannot write results to {self.out}: {_why(exc)}") from None
        self.tmp = tmp
        return self

    def __exit__(self, *exc) -> None:
        if self.tmp is not None:                      # not committed: drop what was written
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _failed(self, exc: OSError) -> ResultsFolderError:
        return ResultsFolderError(f"cannot write results to {self.out}: {_why(exc)}; the previous content is "
                                  "unchanged")

    def _file(self, name: str) -> Path:
        if self.tmp is None:
            raise RuntimeError("FolderWriter: use it in a with block, before commit()")
        file = table_file(name, self.format)
        if file in self.files:
            raise ValueError(f"two tables would be written to the same file: {file}")
        return self.tmp / file

    def add_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Write the table ``name`` (``events``, ``car.csv``…) from one frame, as :func:`write_folder`."""
        path = self._file(name)
        data = csv_bytes(frame) if self.format == "csv" else parquet_bytes(frame, path.name)
        try:
            write_new_file(path, data)
        except OSError as exc:
            raise self._failed(exc) from None
        self.files[path.name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def add_blocks(self, name: str, columns: list, blocks, schema=None) -> None:
        """Write the table ``name`` from ``blocks``, frames of consecutive rows (the ``columns`` in this order,
        each column of one dtype in every block), hashed as written. The file is byte for byte what
        :meth:`add_frame` writes for the frame the blocks concatenate to: CSV blocks are rendered by
        :func:`~eventstudy._io.csv_bytes` (a row's text depends on that row only) after one header;
        parquet blocks are converted to the column types of ``schema`` (:func:`parquet_schema`, decided
        for the whole table) and written in row groups of :data:`PARQUET_ROW_GROUP` rows, each column of a
        row group one contiguous array, as :func:`parquet_bytes` writes them."""
        path = self._file(name)
        try:
            with open(path, "xb") as raw:
                sink = _HashingFile(raw)
                if self.format == "csv":
                    _write_csv_blocks(sink, columns, blocks)
                else:
                    _write_parquet_blocks(sink, schema, blocks, path.name)
                raw.flush()
                os.fsync(raw.fileno())
        except OSError as exc:
            raise self._failed(exc) from None
        self.files[path.name] = {"sha256": sink.sha.hexdigest(), "bytes": sink.size}

    def add_copy(self, name: str, source: Path, sha256: str) -> None:
        """Copy the file ``source`` (another folder's table ``name``), checked against its ``sha256`` as read."""
        path = self._file(name)
        try:
            with open(source, "rb") as src, open(path, "xb") as raw:
                sink = _HashingFile(raw)
                for piece in iter(lambda: src.read(1 << 22), b""):
                    sink.write(piece)
                raw.flush()
                os.fsync(raw.fileno())
        except OSError as exc:
            raise self._failed(exc) from None
        if sink.sha.hexdigest() != sha256:
            raise ResultsFolderError(f"{source} does not match its manifest (SHA-256 differs: edited or "
                                     "truncated): run the study again")
        self.files[path.name] = {"sha256": sha256, "bytes": sink.size}

    def commit(self, head: dict, order: list[str] | None = None) -> Path:
        """Write ``manifest.json`` (``head`` + format + versions + the files, in ``order`` of table names when
        given, else as written + run id) and swap the folder in as ``out``; return ``out``."""
        files = self.files
        if order is not None:
            want = [table_file(n, self.format) for n in order]
            if sorted(want) != sorted(files):
                raise ValueError(f"manifest order {want} does not list the written files {sorted(files)}")
            files = {f: files[f] for f in want}
        manifest = json.loads(json.dumps({**head, "format": self.format, "versions": package_versions(),
                                          "files": files}, default=str))
        manifest["run_id"] = run_id(manifest)
        try:
            write_new_file(self.tmp / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
            fsync_dir(self.tmp)
            replace_dir(self.tmp, self.target)
        except OSError as exc:
            raise self._failed(exc) from None
        self.tmp = None
        self.manifest = manifest
        return self.out


class _HashingFile(io.RawIOBase):
    """A write-only file that hashes (SHA-256) and counts what goes through it."""

    def __init__(self, raw):
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data)
        self.raw.write(view)
        self.sha.update(view)
        self.size += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.raw.flush()


def csv_header(columns: list) -> bytes:
    """The header line :func:`~eventstudy._io.csv_bytes` writes for ``columns``."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([str(c) for c in columns])
    return buf.getvalue().encode("utf-8")


def _write_csv_blocks(sink: "_HashingFile", columns: list, blocks) -> None:
    head = csv_header(columns)
    sink.write(head)
    for block in blocks:
        if list(block.columns) != list(columns):
            raise ValueError(f"a block has columns {list(block.columns)}, not {list(columns)}")
        if not len(block):
            continue
        data = csv_bytes(block)
        if not data.startswith(head):
            raise ValueError(f"CSV block header {data[:80]!r} differs from {head[:80]!r}")
        sink.write(memoryview(data)[len(head):])


def _write_parquet_blocks(sink: "_HashingFile", schema, blocks, name: str) -> None:
    """Blocks converted to ``schema``'s types, regrouped into row groups of exactly
    :data:`PARQUET_ROW_GROUP` rows (the last one shorter) of contiguous arrays."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, compression=PARQUET_COMPRESSION)
    pending, n_pending, wrote = [], 0, False

    def emit(table) -> None:
        writer.write_table(table.combine_chunks(), row_group_size=PARQUET_ROW_GROUP)

    try:
        for block in blocks:
            if not len(block):
                continue
            t = arrow_table(block, schema, name)
            pending.append(t)
            n_pending += len(t)
            while n_pending >= PARQUET_ROW_GROUP:
                whole = pa.concat_tables(pending)
                emit(whole.slice(0, PARQUET_ROW_GROUP))
                wrote = True
                rest = whole.slice(PARQUET_ROW_GROUP)
                pending, n_pending = ([rest] if len(rest) else []), len(rest)
        if n_pending or not wrote:             # the last row group; an empty table as write_table writes it
            emit(pa.concat_tables(pending) if pending else schema.empty_table())
    finally:
        writer.close()


#: key of the parquet schema metadata holding each column's pandas dtype (to give dates back their unit)
PARQUET_META = b"eventstudy"


#: rows per parquet row group (pyarrow's default, written explicitly: a streamed table is cut at the same rows)
PARQUET_ROW_GROUP = 1 << 20


def parquet_bytes(frame: pd.DataFrame, name: str = "table.parquet") -> bytes:
    """One results table as a parquet file (zstd, typed columns, no index), in memory.

    Columns: numpy floats, ints and bools as themselves (NaN → null); datetimes without a time of day
    as ``date32`` (with one: ``timestamp`` of their unit and zone); text as UTF-8 strings, raw (no
    formula neutralisation: parquet is not opened by a spreadsheet), missing → null; categoricals as
    dictionaries. An object column mixing Python types is stored as the text the CSV would hold
    (``str`` of each value). The schema metadata ``eventstudy`` records each column's pandas dtype, so
    :func:`read_table` gives dates back their unit. No pandas metadata is stored, and each column is
    one contiguous array cut into row groups of :data:`PARQUET_ROW_GROUP` rows: the bytes depend only on
    the data and the pyarrow version (not on how the frame's memory is laid out in pieces)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(frame.columns, pd.MultiIndex) or frame.columns.has_duplicates:
        raise ValueError(f"{name}: column names must be unique text to be written as parquet")
    arrays = [_contiguous(_small_strings(_arrow_column(frame[col], name))) for col in frame.columns]
    schema = parquet_schema(list(frame.columns), [a.type for a in arrays],
                            {str(c): str(frame[c].dtype) for c in frame.columns}, name)
    table = pa.Table.from_arrays(arrays, schema=schema)
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf, compression=PARQUET_COMPRESSION, row_group_size=PARQUET_ROW_GROUP)
    return buf.getvalue().to_pybytes()


def parquet_schema(columns: list, types: list, dtypes: dict[str, str], name: str):
    """The arrow schema of a results table: its columns with their arrow ``types`` and, as the schema
    metadata ``eventstudy``, the table's name and each column's pandas dtype (``dtypes``)."""
    import pyarrow as pa

    meta = {PARQUET_META: json.dumps({"table": _stem(name), "dtypes": dtypes}, sort_keys=True).encode()}
    return pa.schema([pa.field(str(c), t) for c, t in zip(columns, types)], metadata=meta)


def arrow_table(frame: pd.DataFrame, schema, name: str):
    """``frame``'s columns as contiguous arrays of the types of ``schema`` (decided for a whole table of
    which ``frame`` is a block, see :func:`arrow_column_as`)."""
    import pyarrow as pa

    if [str(c) for c in frame.columns] != schema.names:
        raise ValueError(f"{name}: block columns {list(frame.columns)} differ from the table's {schema.names}")
    return pa.Table.from_arrays([arrow_column_as(frame[c], f.type, name) for c, f in zip(frame.columns, schema)],
                                schema=schema)


#: arrow type conversions a block of a column may need to take its table's type (see :func:`arrow_column_as`)
_WIDEN = {("date32[day]", "timestamp"), ("string", "large_string"), ("large_string", "string"),
          ("int64", "double")}


def arrow_column_as(s: pd.Series, type, name: str):
    """One column of a block of a table as the contiguous arrow array of ``type``, the type
    :func:`parquet_bytes` gives that column over the whole table: the block's own conversion
    (:func:`_arrow_column`), then widened where a block may differ from the whole column: all missing
    (null), no time of day in this block while other rows have one (``date32`` → ``timestamp``), text
    over 2 GiB in the whole column (``large_string``), integers in an object column whose other values
    are floats. ``string`` as the type of an object column whose whole column mixes Python types is the
    text of each value (``str``). Any other difference is a ValueError naming the column."""
    import pyarrow as pa

    arr = _arrow_column(s, name)
    if s.dtype == object and (pa.types.is_string(type) or pa.types.is_large_string(type)) \
            and not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = _text_array(s)                   # the whole column mixes types: every value as its text
    if arr.type != type:
        have = "null" if pa.types.is_null(arr.type) else str(arr.type)
        want = "timestamp" if pa.types.is_timestamp(type) else str(type)
        if have != "null" and (have, want) not in _WIDEN:
            raise ValueError(f"{name}: column {s.name!r} is {arr.type} in a block but {type} in the table")
        arr = arr.cast(type)
    return _contiguous(arr)


def _contiguous(arr):
    """A chunked arrow array as one array (the parquet writer's pages depend on the pieces); text over the
    2 GiB one ``string`` array holds becomes one ``large_string`` array."""
    import pyarrow as pa

    if not isinstance(arr, pa.ChunkedArray):
        return arr
    try:
        return arr.combine_chunks()
    except (pa.ArrowCapacityError, pa.ArrowInvalid):
        if not pa.types.is_string(arr.type):
            raise
        return arr.cast(pa.large_string()).combine_chunks()


def _small_strings(arr):
    """``large_string`` (pandas' pyarrow-backed text) as ``string``, so every text column has one type;
    kept large when over the 2 GiB a ``string`` array holds."""
    import pyarrow as pa

    if pa.types.is_large_string(arr.type):
        try:
            return arr.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowCapacityError):
            return arr
    return arr


def has_time_of_day(s: pd.Series, ts=None) -> bool:
    """Whether any value of a datetime column is not at midnight (its parquet type is then ``timestamp``,
    else ``date32``); ``ts`` is the column as arrow timestamps when already converted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = pa.array(s, from_pandas=True) if ts is None else ts
    day = pc.cast(ts, pa.date32(), safe=False)
    return pc.all(pc.equal(pc.cast(day, ts.type), ts)).as_py() is False


def _text_array(s: pd.Series):
    """An object column as arrow text: ``str`` of each value, missing → null."""
    import pyarrow as pa

    return pa.array([None if v is None or (pd.api.types.is_scalar(v) and not isinstance(v, str) and bool(pd.isna(v)))
                     else str(v) for v in s.tolist()], pa.string())


def _arrow_column(s: pd.Series, name: str):
    """One column as a typed pyarrow array (see :func:`parquet_bytes`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dt = s.dtype
    if (isinstance(dt, np.dtype) and dt.kind == "M") or isinstance(dt, pd.DatetimeTZDtype):
        ts = pa.array(s, from_pandas=True)
        if ts.type.tz is None and not has_time_of_day(s, ts):
            return pc.cast(ts, pa.date32(), safe=False)  # no time of day anywhere: a date column
        return ts
    if (isinstance(dt, np.dtype) and dt.kind in "fiub") or isinstance(dt, (pd.StringDtype, pd.CategoricalDtype)):
        return pa.array(s, from_pandas=True)
    if dt == object:
        try:
            arr = pa.array(s.to_numpy(), from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError):
            arr = None
        if arr is not None and pa.types.is_null(arr.type):
            return arr.cast(pa.string())
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
                                or pa.types.is_boolean(arr.type) or pa.types.is_integer(arr.type)
                                or pa.types.is_floating(arr.type) or pa.types.is_date(arr.type)
                                or pa.types.is_timestamp(arr.type)):
            return arr
        return _text_array(s)
    try:
        return pa.array(s, from_pandas=True)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise ValueError(f"{name}: column {s.name!r} of dtype {dt} cannot be written as parquet ({exc})") from None


def _why(exc: OSError) -> str:
    """The OS reason in a few words (``No space left on device``), without a traceback."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _writable_target(out: Path) -> Path:
    """The folder a run may replace: ``out`` itself (a symlink: its target), checked and made ready."""
    out = Path(os.path.abspath(out))
    if out == out.parent:
        raise ResultsFolderError(f"--out {out} is the root of the file system: choose a folder for the results")
    if out.is_symlink():
        if not out.exists():
            raise ResultsFolderError(f"--out {out} is a dangling symbolic link: remove it or choose another folder")
        out = Path(os.path.realpath(out))
    if out.exists() and not out.is_dir():
        raise ResultsFolderError(f"--out {out} is a file, not a folder: give a folder for the results")
    probe = out.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ResultsFolderError(f"--out {out}: {probe} is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsFolderError(f"cannot create the folder {out.parent}: {_why(exc)}") from None
    for d in (out, out.parent):
        if d.exists() and not os.access(d, os.W_OK | os.X_OK):
            raise ResultsFolderError(f"--out {out}: {d} is read-only (results are written beside it and swapped "
                                     "in): choose a writable folder")
    remove_stale_siblings(out)
    if out.is_dir():
        foreign = _foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            what = ("is not an eventstudy results folder and not empty" if not (out / MANIFEST).is_file()
                    else "holds files eventstudy did not write")
            raise ResultsFolderError(f"--out {out} {what} ({shown}); a run replaces the whole folder: "
                                     "choose a new or empty folder, or move those files")
    return out


def _foreign_entries(d: Path) -> list[str]:
    """Entries of ``d`` that a new run would delete although eventstudy did not write them."""
    from ._io import _SIBLING

    names = sorted(os.listdir(d))
    if MANIFEST not in names:
        return [n for n in names if n not in IGNORED]
    listed: set[str] = set()
    try:
        files = json.loads((d / MANIFEST).read_text(encoding="utf-8")).get("files", [])
        listed = {str(f) for f in files}
    except (OSError, ValueError, AttributeError):
        pass
    return [n for n in names if n not in OWNED and n not in listed and n not in IGNORED and not _SIBLING.match(n)]


# ---- reading -------------------------------------------------------------------------------------
@dataclass
class ResultsFolder:
    """A verified results folder: its manifest and its tables (read on first use, ids as text)."""

    path: Path
    manifest: dict
    _data: dict[str, bytes] = field(default_factory=dict, repr=False)
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def run_id(self) -> str:
        return self.manifest["run_id"]

    @property
    def files(self) -> dict[str, dict]:
        return self.manifest["files"]

    @property
    def format(self) -> str:
        """``csv`` or ``parquet``: the format the tables were written in."""
        return self.manifest.get("format", "csv")

    def file_of(self, name: str) -> str:
        """The file holding table ``name`` (``car``, ``car.csv`` or ``car.parquet``) in this folder."""
        stem = _stem(name)
        for ext in FORMATS.values():
            if stem + ext in self.files:
                return stem + ext
        raise ResultsFolderError(f"{self.path} has no {stem} table (no {stem}.csv or {stem}.parquet in {MANIFEST})")

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (``events``, ``car``, ``ar``…), checked against its SHA-256 when read."""
        file = self.file_of(name)
        if file not in self._frames:
            data = self._data.pop(file, None)
            if data is None:
                data = _read_bytes(self.path / file)
                _check(self.path, file, data, self.files[file])
            self._frames[file] = read_table(data, file, self.path)
        return self._frames[file]

    @property
    def events(self) -> pd.DataFrame:
        return self.table("events")

    @property
    def car(self) -> pd.DataFrame:
        return self.table("car")

    @property
    def summary(self) -> pd.DataFrame:
        return self.table("summary")

    @property
    def aar(self) -> pd.DataFrame:
        return self.table("aar")


def read_results(results_dir: str | Path, tables: tuple[str, ...] = ("events", "car", "summary", "aar")
                 ) -> ResultsFolder:
    """Open a results folder after checking every file against ``manifest.json``.

    The named ``tables`` are read at once from one snapshot of the folder (a run swapped in
    meanwhile is not mixed in); the others are hashed now and read on first use.

    Raises
    ------
    ResultsFolderError
        (one line, naming the file) when the folder is missing, has no valid manifest, or a
        listed file is missing or differs from its hash (hand-edited, truncated, mixed runs).
    """
    d = Path(results_dir)
    for _ in range(5):
        try:
            return _read_snapshot(d, tables)
        except _Swapped:       # a writer swapped a new run in while we read the old one: read again
            continue
        except OSError as exc:
            name = str(exc.filename or "")
            where = d / name if name and not os.path.isabs(name) else (name or d)
            raise ResultsFolderError(f"cannot read {where}: {_why(exc)}") from None
    raise ResultsFolderError(f"{d} kept changing while it was read (runs writing into it?): try again")


class _Swapped(Exception):
    """The folder being read was replaced by another run during the read."""


def _read_snapshot(d: Path, tables: tuple[str, ...]) -> ResultsFolder:
    """Read ``d`` through one open handle of the folder, so every file comes from the same run."""
    from ._io import _siblings, recover_dir

    recover_dir(d)
    if not d.exists():
        if _siblings(d, "old"):     # a live writer between its two renames (no atomic exchange here)
            time.sleep(0.05)
            raise _Swapped()
        raise ResultsFolderError(f"{d} does not exist: run `eventstudy run` first")
    if not d.is_dir():
        raise ResultsFolderError(f"{d} is a file, not a results folder")
    dir_fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if os.open in os.supports_dir_fd else None
    try:
        return _read_files(d, tables, dir_fd)
    except (ResultsFolderError, FileNotFoundError) as exc:
        if dir_fd is not None and _replaced(d, dir_fd):
            raise _Swapped() from None
        if isinstance(exc, FileNotFoundError):
            raise ResultsFolderError(f"{d}: {exc.filename or exc} disappeared while it was read: try again") from None
        raise
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def _replaced(d: Path, dir_fd: int) -> bool:
    try:
        now = os.stat(d)
    except FileNotFoundError:
        return True
    then = os.fstat(dir_fd)
    return (now.st_ino, now.st_dev) != (then.st_ino, then.st_dev)


def _read_files(d: Path, tables: tuple[str, ...], dir_fd: int | None) -> ResultsFolder:
    try:
        raw = _read_bytes(d / MANIFEST, dir_fd)
    except FileNotFoundError:
        raise ResultsFolderError(f"{d} has no {MANIFEST}: it is not a results folder "
                                 "(run `eventstudy run … --out` first)") from None
    manifest = _parse_manifest(d, raw)
    present = set(os.listdir(dir_fd if dir_fd is not None else d))
    stray = [n for n in RESULT_TABLES if n in present and n not in manifest["files"]]
    if stray:
        raise ResultsFolderError(f"{d / stray[0]} is not part of this run (not in {MANIFEST}): the folder "
                                 "mixes runs; run the study again into a new folder")
    out = ResultsFolder(d, manifest)
    wanted = {_stem(t) for t in tables}
    for name, meta in manifest["files"].items():
        if name not in present:
            raise ResultsFolderError(f"{d / name} is missing although {MANIFEST} lists it: the folder is "
                                     "incomplete; run the study again")
        if _stem(name) in wanted:
            data = _read_bytes(d / name, dir_fd)
            _check(d, name, data, meta)
            out._data[name] = data
        elif _stream_sha256(d / name, dir_fd) != meta["sha256"]:
            _mismatch(d, name)
    for name in list(out._data):
        out.table(name)
    return out


def _parse_manifest(d: Path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultsFolderError(f"{d / MANIFEST} is not valid JSON ({exc}): the folder is damaged; "
                                 "run the study again") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
        raise ResultsFolderError(f"{d / MANIFEST} lists no file hashes (written by an older eventstudy or edited): "
                                 "run the study again")
    if manifest.get("run_id") != run_id(manifest):
        raise ResultsFolderError(f"{d / MANIFEST} was edited (its run id does not match its content): "
                                 "run the study again")
    return manifest


def _check(d: Path, name: str, data: bytes, meta: dict) -> None:
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        _mismatch(d, name)


def _mismatch(d: Path, name: str) -> None:
    raise ResultsFolderError(f"{d / name} does not match {MANIFEST} (SHA-256 differs: edited, truncated or "
                             "from another run): run the study again")


def _open(path: Path, dir_fd: int | None = None):
    if dir_fd is None:
        return open(path, "rb")
    return open(path.name, "rb", opener=lambda p, flags: os.open(p, flags, dir_fd=dir_fd))


def _read_bytes(path: Path, dir_fd: int | None = None) -> bytes:
    with _open(path, dir_fd) as fh:
        return fh.read()


def read_table(data: bytes, name: str, folder: Path | None = None) -> pd.DataFrame:
    """Parse one results table, CSV or parquet (by ``name``'s ending).

    CSV: :data:`TEXT_COLUMNS` as text with no NA conversion (``""`` stays ``""``), :data:`DATE_COLUMNS`
    as dates, numbers as floats/ints with an empty cell as NaN. In ``events.csv`` every column that is
    not a known number is text, so user columns pass through unchanged. Parquet: see
    :func:`read_parquet_table`."""
    if name.endswith(FORMATS["parquet"]):
        return read_parquet_table(data, name, folder)
    first = data.split(b"\n", 1)[0].decode("utf-8")
    header = next(csv.reader([first]), [])
    is_events = name == "events.csv"

    def kind(c: str) -> str:
        if c in DATE_COLUMNS:
            return "date"
        if c in TEXT_COLUMNS:
            return "text"
        if c in BOOL_COLUMNS:
            return "bool"
        if not is_events or c in EVENT_NUMBER_COLUMNS or c.startswith(EVENT_NUMBER_PREFIXES):
            return "number"
        return "text"

    kinds = {c: kind(c) for c in header}
    if not header:
        return pd.DataFrame()
    frame = pd.read_csv(io.BytesIO(data), dtype={c: str for c, k in kinds.items() if k != "number"},
                        keep_default_na=False, na_values={c: [""] for c, k in kinds.items() if k == "number"})
    for c, k in kinds.items():
        if k == "date":
            frame[c] = pd.to_datetime(frame[c].mask(frame[c] == ""), format="%Y-%m-%d")
        elif k == "bool":
            frame[c] = frame[c].map({"True": True, "False": False})
    return frame


def read_parquet_table(data: bytes, name: str, folder: Path | None = None) -> pd.DataFrame:
    """A table written by :func:`parquet_bytes`, with its types: floats, ints, bools as written, text as
    strings (a null stays missing), ``date32`` columns as datetimes of the unit recorded in the file's
    ``eventstudy`` metadata (nanoseconds when none is recorded)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    where = Path(folder) / name if folder is not None else Path(name)
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise ResultsFolderError(f"{where} is not a readable parquet file ({exc}): run the study again") from None
    try:
        dtypes = json.loads((table.schema.metadata or {}).get(PARQUET_META, b"{}")).get("dtypes", {})
    except (ValueError, AttributeError):
        dtypes = {}
    for k, f in enumerate(table.schema):
        if pa.types.is_date(f.type):
            want = str(dtypes.get(f.name, "datetime64[ns]"))
            if want.startswith("datetime64["):
                unit = want[len("datetime64["):].split(",")[0].rstrip("]")
                table = table.set_column(k, f.name, pc.cast(table.column(k), pa.timestamp(unit)))
    return table.to_pandas()


def write_figure_set(figdir: Path, figures: dict[str, bytes], index: dict) -> None:
    """Write PNGs and ``figures.json`` (``index`` + each file's SHA-256) as one unit replacing ``figdir``."""
    remove_stale_siblings(figdir)
    tmp = sibling_dir(figdir, "tmp")
    tmp.mkdir()
    try:
        for rel, data in figures.items():
            p = tmp / rel
            p.parent.mkdir(exist_ok=True)
            write_new_file(p, data)
        hashes = {rel: hashlib.sha256(data).hexdigest() for rel, data in figures.items()}
        for f in index["figures"]:
            f["sha256"] = hashes[f["file"]]
        write_new_file(tmp / "figures.json", (json.dumps(index, indent=2) + "\n").encode())
        fsync_dir(tmp)
        replace_dir(tmp, figdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def current_figures(results: ResultsFolder) -> tuple[list[dict], str]:
    """The figures of ``results/figures`` that belong to this run, and why none do (``""`` when they do).

    A figure belongs when ``figures.json`` names the folder's run id and the PNG still has the
    SHA-256 recorded there.
    """
    figdir = results.path / "figures"
    if not figdir.is_dir():
        return [], "missing"
    try:
        index = json.loads((figdir / "figures.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], "figures/ has no figures.json (drawn by an older eventstudy)"
    except (OSError, ValueError) as exc:
        return [], f"figures/figures.json is unreadable ({exc})"
    if index.get("run_id") != results.run_id:
        return [], f"figures/ was drawn from run {index.get('run_id')}, not from this run {results.run_id}"
    figs = []
    for f in index.get("figures", []):
        p = figdir / f["file"]
        if not p.is_file() or _stream_sha256(p) != f.get("sha256"):
            return [], f"figures/{f['file']} is missing or was changed after `plot` drew it"
        figs.append({**f, "path": p})
    return figs, ""
