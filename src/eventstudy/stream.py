"""Streamed results folders: a chunked study writes its tables while it runs (docs/scale.md).

Without streaming, a chunked study gathers every chunk's events table and long frames (``ar``, ``car``,
``volume``) in the client, concatenates them, puts them in the study's canonical event order and then
:func:`~eventstudy.export.write_results` writes the folder: at ten million events that is more memory
than this kind of machine has. Streamed (``run_study(..., out=DIR)`` when the study runs in chunks, and
``eventstudy run`` whenever it does):

1. **Spill.** The canonical event rows are cut into *blocks* ``[k·B, (k+1)·B)`` (B =
   :func:`block_events`). Chunks are whole tickers, so a chunk's rows are an increasing, non-contiguous
   subset of the canonical rows, and its rows inside one block are one contiguous slice of its tables
   (``searchsorted``). Each slice is appended, as one compressed Arrow IPC stream, to the spill file of
   its table and block in the study's temporary folder; ``car`` (ordered window by window, then event)
   has one file per window and block. In this process the chunk task spills its own tables (only the
   slices' offsets come back); on Dask the client spills each chunk as it gathers it, one at a time.
2. **Write.** Once every chunk is done, each table is written block by block: the block's spill file
   is read (that block's rows only), its slices are put in canonical order and handed to the
   incremental writer of :class:`~eventstudy.export.FolderWriter`, which hashes the file as it writes
   it into the hidden temporary sibling of the results folder; the spill file is then deleted, so the
   spill shrinks as the results grow. The folder is swapped in at the end, as one unit.
3. **Types.** A column's dtype is the one ``pandas.concat`` of the chunks' tables gives it (computed
   from a one-row probe of each chunk, which keeps each chunk's dtype, emptiness and missingness);
   a parquet column's arrow type is the one :func:`~eventstudy.export.parquet_bytes` gives the whole
   column (dates without a time of day in every chunk as ``date32``, text over 2 GiB as
   ``large_string``…), decided from per-chunk facts before the first block is written.

The folder is byte for byte the one the same chunked study writes without streaming (every file and
the manifest's run id; tests/test_stream.py, CSV and parquet). The client holds, per event, its
canonical row and status (for ``ok``/``in_stats`` and the notes) and the compact statistics; never an
events table or a frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError
from .results import EventStudyResults

#: the fewest canonical events in one block (a block's rows of one table are read and written at once)
BLOCK_MIN_EVENTS = 50_000
#: the most blocks a study is cut into (each chunk appends one slice per block and table to the spill)
MAX_BLOCKS = 64
#: compression of the spilled slices (Arrow IPC buffer compression; lz4: fast, compresses ids and dates)
SPILL_CODEC = "lz4"
#: the long frames a study streams besides its events table
FRAME_TABLES = ("ar", "car", "volume")
#: every streamed table, in the order they are written
STREAMED = ("events",) + FRAME_TABLES
#: the events-table columns kept in memory for the events not studied (``eventstudy run`` lists them)
NOT_STUDIED_COLUMNS = ("event_id", "ticker", "status", "reason")


def block_events(n_events: int) -> int:
    """Canonical events per block: at least :data:`BLOCK_MIN_EVENTS`, at most :data:`MAX_BLOCKS` blocks."""
    return max(BLOCK_MIN_EVENTS, -(-int(n_events) // MAX_BLOCKS))


@dataclass(frozen=True)
class StreamPlan:
    """Where and how a study's tables are spilled: the spill folder, the number of events, the events per
    block, the number of windows (``car`` parts) and the results format (parquet needs column facts)."""

    folder: str
    n_events: int
    block: int
    n_windows: int
    format: str = "csv"

    @property
    def n_blocks(self) -> int:
        return max(1, -(-self.n_events // self.block))

    def n_parts(self, table: str) -> int:
        """Spill files of ``table``: one per block (``car``: per window and block, window-major)."""
        return self.n_blocks * (self.n_windows if table == "car" else 1)

    def path(self, table: str, part: int) -> Path:
        return Path(self.folder) / f"{table}-{part:06d}.arrows"


@dataclass
class TableSpill:
    """One chunk's spilled table: a probe (≤ 1 row with the chunk's dtypes, see :func:`probe`), per-column
    facts for the parquet types (:func:`column_facts`), rows per event (``per``) and the slices
    ``segs`` (S, 5) int64: part, first and end row in the chunk's table, offset and length in the part's
    spill file."""

    probe: pd.DataFrame
    facts: dict
    per: int
    segs: np.ndarray


def probe(frame: pd.DataFrame) -> pd.DataFrame:
    """At most one row of ``frame`` with its dtypes: empty when ``frame`` is, else per column its first
    non-missing value (a missing one when the column has none; an object column: its first value that is
    not text, if any). ``pd.concat`` of the chunks' probes has the dtypes ``pd.concat`` of the chunks'
    tables has: pandas decides them from the dtypes, from emptiness and missingness, and, where object
    meets pandas text, from whether every object value is text; the probe keeps all of these."""
    if len(frame) == 0:
        return frame.iloc[:0].copy()
    cols = {}
    for c in frame.columns:
        s = frame[c]
        seen = s.notna().to_numpy()
        if s.dtype == object and seen.any():
            other = seen & ~np.fromiter((isinstance(v, str) for v in s.to_numpy()), bool, len(s))
            seen = other if other.any() else seen
        cols[c] = s.iloc[[int(np.argmax(seen)) if seen.any() else 0]].reset_index(drop=True)
    return pd.DataFrame(cols)


def column_facts(frame: pd.DataFrame) -> dict:
    """What a parquet column type depends on beyond the dtype, per column of one chunk: naive datetimes,
    whether any value has a time of day; text (object or string dtype), the type arrow infers (``null``
    when every value is missing, ``text`` when the values mix Python types) and the UTF-8 bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .export import _text_array, has_time_of_day

    out: dict[str, dict] = {}
    for c in frame.columns:
        s = frame[c]
        dt = s.dtype
        if isinstance(dt, np.dtype) and dt.kind == "M":
            out[str(c)] = {"time": bool(len(s)) and has_time_of_day(s)}
        elif dt == object or isinstance(dt, pd.StringDtype):
            try:
                arr = pa.array(s.array if isinstance(dt, pd.StringDtype) else s.to_numpy(), from_pandas=True)
                kind = "null" if arr.null_count == len(arr) else \
                    "string" if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else str(arr.type)
            except (pa.ArrowException, ValueError, TypeError):
                arr, kind = None, "text"
            if kind in ("string", "text"):
                text = arr if kind == "string" else _text_array(s)
                nbytes = int(pc.sum(pc.binary_length(text)).as_py() or 0)
            else:
                nbytes = 0
            out[str(c)] = {"type": kind, "bytes": nbytes}
    return out


def parquet_types(table: str, dtypes: pd.Series, probes: pd.DataFrame, facts: list[dict]) -> list:
    """The arrow type of each column of ``table`` over all chunks, as :func:`~eventstudy.export.parquet_bytes`
    gives it to the whole column: from the dtype (``dtypes``), and for naive datetimes and text from the
    chunks' ``facts`` (:func:`column_facts`); ``probes`` is the concatenated probe (the whole table's
    dtypes and some values)."""
    import pyarrow as pa

    from .export import _arrow_column

    out = []
    for c, dt in dtypes.items():
        f = [x[str(c)] for x in facts if str(c) in x]
        if isinstance(dt, np.dtype) and dt.kind == "M":
            out.append(pa.timestamp(np.datetime_data(dt)[0]) if any(x.get("time") for x in f) else pa.date32())
        elif dt == object or isinstance(dt, pd.StringDtype):
            kinds = {x["type"] for x in f} - {"null"}
            big = sum(x["bytes"] for x in f) > 2**31 - 1
            # as arrow infers the whole column: text; ints with floats as floats; other mixes as each value's text
            if kinds <= {"string"} or "text" in kinds or (len(kinds) > 1 and not kinds <= {"int64", "double"}):
                out.append(pa.large_string() if big else pa.string())
            elif kinds == {"int64", "double"}:
                out.append(pa.float64())
            else:
                kind = kinds.pop()
                try:
                    out.append(pa.type_for_alias(kind))
                except (ValueError, KeyError, pa.ArrowException):
                    raise EventStudyError(f"the {table} table's column {c!r} holds {kind} values: a streamed study "
                                          "cannot write it as parquet; use CSV") from None
        elif isinstance(dt, pd.CategoricalDtype):
            raise EventStudyError(f"the {table} table's column {c!r} is categorical: a streamed study cannot "
                                  "write it as parquet (its dictionaries differ between chunks); use CSV")
        else:
            out.append(_arrow_column(probes[c], table).type)
    return out


# ---- spilling (a chunk) ----------------------------------------------------------------------------
def spill_part(plan: StreamPlan, part) -> None:
    """Spill a chunk's events table and frames (:class:`~eventstudy.chunked.ChunkPart`) to ``plan``'s
    folder (module docstring) and drop them from the part: ``part.spill`` maps each table to its
    :class:`TableSpill`."""
    if part.frames is None:
        raise EventStudyError(f"chunk {part.index}: no frames to stream (the chunk ran without keep_frames)")
    label = f"chunk {part.index}"
    spill = {"events": _spill(plan, "events", part.table, _slices(plan, "events", part.rows, len(part.table)),
                               label)}
    from .frames import FrameArrays, render

    for name in FRAME_TABLES:          # a study's chunk holds the frames' arrays; rendered here, block by block
        frame = render(part.frames, name) if isinstance(part.frames, FrameArrays) else part.frames[name]
        spill[name] = _spill(plan, name, frame, _slices(plan, name, part.ok_rows, len(frame), label), label)
    part.spill, part.table, part.frames = spill, None, None


def _slices(plan: StreamPlan, table: str, keys: np.ndarray, n_rows: int, label: str = "") -> tuple[int, list]:
    """Rows per event and the ``(part, first, end)`` row slices of a chunk's ``table`` whose events (canonical
    rows ``keys``, increasing) fall in each block."""
    m = len(keys)
    edges = np.searchsorted(keys, np.arange(plan.n_blocks + 1) * plan.block)
    K = plan.n_blocks
    if table == "events":
        return 1, [(k, int(edges[k]), int(edges[k + 1])) for k in range(K)]
    if m == 0:
        if n_rows:
            raise EventStudyError(f"{label}: the {table} frame has {n_rows} rows but the chunk studied no event")
        return 0, []
    if table == "car":
        if n_rows != plan.n_windows * m:
            raise EventStudyError(f"{label}: the car frame has {n_rows} rows, not {plan.n_windows} windows × {m} "
                                  "studied events")
        return 1, [(w * K + k, w * m + int(edges[k]), w * m + int(edges[k + 1]))
                   for w in range(plan.n_windows) for k in range(K)]
    per = n_rows // m
    if per * m != n_rows:
        raise EventStudyError(f"{label}: the {table} frame has {n_rows} rows, not a whole number of days for "
                              f"each of its {m} studied events")
    return per, [(k, int(edges[k]) * per, int(edges[k + 1]) * per) for k in range(K)]


def _lock(fh) -> None:
    """An exclusive lock on an open spill file, held until it is closed: two processes appending to one file
    each write their piece whole, at the offset they record. (Without ``fcntl``, e.g. on Windows, chunks never
    run on several processes of one machine: nothing to lock.)"""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)


def _spill(plan: StreamPlan, table: str, frame: pd.DataFrame, slices: tuple[int, list], label: str) -> TableSpill:
    import pyarrow as pa

    per, pieces = slices
    try:
        at = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise EventStudyError(f"{label}: the {table} table cannot be spilled to stream the results folder "
                              f"({exc}); run the study without out= and save it afterwards") from None
    opts = pa.ipc.IpcWriteOptions(compression=SPILL_CODEC)
    segs = []
    for part, lo, hi in pieces:
        if hi <= lo:
            continue
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, at.schema, options=opts) as w:
            w.write_table(at.slice(lo, hi - lo))
        buf = sink.getvalue()
        with open(plan.path(table, part), "ab") as fh:
            _lock(fh)                     # chunks on forked processes append to the same spill files
            offset = fh.seek(0, os.SEEK_END)
            fh.write(buf)
            fh.flush()                    # written before the lock goes with the file's closing
        segs.append((part, lo, hi, offset, buf.size))
    return TableSpill(probe(frame), column_facts(frame) if plan.format == "parquet" else {}, per,
                      np.asarray(segs, np.int64).reshape(-1, 5))


# ---- writing (the client) ---------------------------------------------------------------------------
@dataclass
class _Layout:
    """A streamed table over all chunks: its columns (file order), pandas dtypes and parquet schema."""

    columns: list
    dtypes: pd.Series
    schema: object = None


def _layout(plan: StreamPlan, table: str, spills: list[TableSpill]) -> _Layout:
    from .export import events_column_order, parquet_schema

    probes = pd.concat([s.probe for s in spills], ignore_index=True)
    columns = list(probes.columns)
    if table == "events":
        columns = events_column_order(columns)
        probes = probes[columns]
    lay = _Layout(columns, probes.dtypes)
    if plan.format == "parquet":
        types = parquet_types(table, probes.dtypes, probes, [s.facts for s in spills])
        lay.schema = parquet_schema(columns, types, {str(c): str(probes[c].dtype) for c in columns},
                                    f"{table}.parquet")
    return lay


def _keys(table: str, part: int, lo: int, hi: int, per: int, rows: np.ndarray, ok_rows: np.ndarray,
          n_blocks: int) -> np.ndarray:
    """The canonical order keys of rows ``[lo, hi)`` of a chunk's ``table`` (module docstring)."""
    if table == "events":
        return rows[lo:hi]
    if table == "car":
        base = (part // n_blocks) * len(ok_rows)
        return ok_rows[lo - base:hi - base]
    ev = ok_rows[lo // per:hi // per]
    return (ev[:, None] * per + np.arange(per)[None, :]).ravel()


def _read_part(plan: StreamPlan, table: str, part: int, parts: list, lay: _Layout) -> pd.DataFrame | None:
    """The rows of spill file ``part`` of ``table`` from every chunk, in canonical order, with the table's
    columns and dtypes; the spill file is deleted once read. None when no chunk has rows there."""
    import pyarrow as pa

    path = plan.path(table, part)
    if not path.exists():
        return None
    buf = pa.py_buffer(path.read_bytes())
    groups: dict[bytes, tuple[list, list]] = {}       # arrow schema -> (slices, keys)
    for p in parts:
        sp = p.spill[table]
        at = np.searchsorted(sp.segs[:, 0], part)
        if at >= len(sp.segs) or sp.segs[at, 0] != part:
            continue
        _, lo, hi, offset, length = (int(v) for v in sp.segs[at])
        t = pa.ipc.open_stream(buf.slice(offset, length)).read_all()
        g = groups.setdefault(t.schema.serialize().to_pybytes(), ([], []))
        g[0].append(t)
        g[1].append(_keys(table, part, lo, hi, sp.per, p.rows, p.ok_rows, plan.n_blocks))
    del buf
    frames, keys = [], []
    for slices, k in groups.values():
        df = pa.concat_tables(slices).to_pandas()
        for c in df.columns:
            if df[c].dtype != lay.dtypes[c]:
                df[c] = df[c].astype(lay.dtypes[c])
        frames.append(df)
        keys += k
    block = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    block = block.take(np.argsort(np.concatenate(keys), kind="stable")).reset_index(drop=True)
    block = block[lay.columns]
    bad = [c for c in lay.columns if block[c].dtype != lay.dtypes[c]]
    if bad:
        raise EventStudyError(f"{table}: block {part} column(s) {bad} came back as {[str(block[c].dtype) for c in bad]}, "
                              f"not {[str(lay.dtypes[c]) for c in bad]}")
    path.unlink()
    return block


def write_streamed(writer, plan: StreamPlan, parts: list, progress=None) -> pd.DataFrame:
    """Write the events table and the frames of a chunked study from its spilled ``parts`` into
    ``writer`` (a :class:`~eventstudy.export.FolderWriter`), block by block in canonical order; return
    the events not studied (:data:`NOT_STUDIED_COLUMNS`), gathered while the events table is written."""
    not_studied: list[pd.DataFrame] = []
    for table in STREAMED:
        lay = _layout(plan, table, [p.spill[table] for p in parts])
        n = plan.n_parts(table)

        def blocks(table=table, lay=lay, n=n):
            for part in range(n):
                if progress and part % max(1, n // 8) == 0:
                    progress(f"writing {table}: block {part + 1} of {n}")
                block = _read_part(plan, table, part, parts, lay)
                if block is None:
                    continue
                if table == "events":
                    cols = [c for c in NOT_STUDIED_COLUMNS if c in block.columns]
                    not_studied.append(block.loc[block["status"] != "ok", cols])
                yield block

        writer.add_blocks(table, lay.columns, blocks(), lay.schema)
    return (pd.concat(not_studied, ignore_index=True) if not_studied
            else pd.DataFrame({c: pd.Series(dtype=object) for c in NOT_STUDIED_COLUMNS}))


# ---- the results of a streamed study -----------------------------------------------------------------
class StreamedResults(EventStudyResults):
    """A chunked study whose tables were streamed to its results folder (:attr:`path`): the statistics,
    ``caar``/``aar``, ``ok``, ``in_stats``, notes and metadata are in memory; ``events`` and the frames
    (``ar``, ``car``, ``volume``) are read from the folder on first use (checked against the manifest's
    SHA-256), with the types :func:`~eventstudy.export.read_table` gives them."""

    def __init__(self, *args, path: Path, format: str, manifest: dict, not_studied: pd.DataFrame, **kw):
        self._events = None
        super().__init__(*args, **kw)
        self.path, self.format, self.manifest = Path(path), format, manifest
        self._not_studied = not_studied

    @property
    def events(self) -> pd.DataFrame:
        if self._events is None:
            self._events = self._read("events")
        return self._events

    @events.setter
    def events(self, value) -> None:
        self._events = value

    def _kept(self, name: str) -> pd.DataFrame:
        return self._read(name)

    def _read(self, name: str) -> pd.DataFrame:
        import hashlib

        from ._errors import ResultsFolderError
        from .export import read_table, table_file

        file = table_file(name, self.format)
        data = (self.path / file).read_bytes()
        if hashlib.sha256(data).hexdigest() != self.manifest["files"][file]["sha256"]:
            raise ResultsFolderError(f"{self.path / file} changed after this study wrote it (SHA-256 differs "
                                     "from its manifest): run the study again")
        return read_table(data, file, self.path)

    def not_studied(self) -> pd.DataFrame:
        return self._not_studied

    def save(self, out, format: str = "csv", inputs: dict | None = None) -> Path:
        """The results folder in ``out``: this study's folder when ``out`` is it; else a copy of its files
        (verified against the manifest) with a new manifest (``inputs`` when given). Another format than the
        one streamed is refused: rewriting would read every table back into memory."""
        from .export import FolderWriter, check_format, manifest_head

        fmt = check_format(format)
        if fmt != self.format:
            raise EventStudyError(f"this study was streamed to {self.path} as {self.format}; writing it as {fmt} "
                                  f"would read every table back into memory: run it again with format={fmt}")
        out = Path(out)
        if out.resolve() == self.path.resolve() and inputs in (None, self.manifest.get("inputs")):
            return out
        head = manifest_head(self, self.manifest.get("inputs", {}) if inputs is None else inputs)
        with FolderWriter(out, fmt) as w:
            for file, meta in self.manifest["files"].items():
                w.add_copy(file, self.path / file, meta["sha256"])
            w.commit(head)
        return out

    def to_csv(self, out, inputs: dict | None = None) -> Path:
        return self.save(out, "csv", inputs)
