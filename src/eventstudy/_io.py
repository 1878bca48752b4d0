"""Atomic writes (of one file, and of a whole folder) and Excel-safe CSV text.

A folder is replaced as a unit by :func:`replace_dir`: the new content is written into a hidden
sibling ``.NAME.tmp-<pid>-<token>`` and swapped in. On Linux the swap is one
``renameat2(RENAME_EXCHANGE)`` call, so every reader sees either the old folder or the new one,
even if the writer is killed at any instruction. Elsewhere (or on a file system without the
exchange) the old folder is renamed aside to ``.NAME.old-<pid>-<token>`` and the new one renamed
in; a writer killed between the two renames leaves no ``NAME``, and :func:`recover_dir` (called by
every writer and reader) renames the old folder back. Leftover siblings of dead writers are
removed by the next writer.
"""

from __future__ import annotations

import errno
import io
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place.

    A reader never sees a half-written file, and a crash leaves the old file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; exports follow the umask like open()
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _is_number_like(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        parts = s.split(":")
        return len(parts) == 2 and all(p.lstrip("-").isdigit() for p in parts)


def neutralize_text(value: object) -> object:
    """Prefix ``'`` to text that a spreadsheet would run as a formula (starts with = + - @ tab CR).

    Numbers and window labels such as ``-1:1`` are left alone: they cannot carry a formula.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number_like(value):
        return "'" + value
    return value


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with ISO dates and neutralised text cells, ready for CSV."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").where(s.notna(), "")
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = _neutralize_column(s)
    return out


def _neutralize_column(s: pd.Series) -> pd.Series:
    """:func:`neutralize_text` on the cells that start with a formula character (found vectorised)."""
    try:
        hit = s.str.startswith(_FORMULA_START).fillna(False).astype(bool)
    except AttributeError:          # an object column without strings (e.g. booleans)
        return s.map(neutralize_text)
    if not hit.any():
        return s
    out = s.astype(object)
    out[hit] = s[hit].map(neutralize_text)
    return out


def _format_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns as their shortest round-trip decimal text (``0.1``, ``-0.1321048632913019``), formatted
    in C by pyarrow: pandas formats each value in Python (~2 s per million cells). Reading the CSV back
    gives the same doubles, bit for bit. NaN becomes an empty cell."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = _float_text(out[col]).to_numpy(zero_copy_only=False)
    return out


def _float_text(s: pd.Series):
    """A float column as pyarrow strings: the shortest text that reads back as the same double; NaN → null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(pa.array(s.to_numpy(dtype=float), from_pandas=True), pa.large_string())


def csv_bytes(frame: pd.DataFrame, float_format: str | None = None) -> bytes:
    """The Excel-safe CSV text of ``frame`` (UTF-8, ``\\n`` line ends, no index). Floats are written with
    full precision (shortest round-trip text) unless a ``float_format`` such as ``"%.10g"`` is given.

    Frames of plain columns (numpy floats, ints, bools and naive datetimes, text) are rendered column by
    column with pyarrow compute kernels (:func:`_csv_bytes_arrow`); anything else goes through pandas
    (:func:`_csv_bytes_pandas`). Both give the same bytes (tests/test_export_parquet.py checks this).
    """
    if float_format is None:
        data = _csv_bytes_arrow(frame)
        if data is not None:
            return data
    return _csv_bytes_pandas(frame, float_format)


def _csv_bytes_pandas(frame: pd.DataFrame, float_format: str | None = None) -> bytes:
    """:func:`csv_bytes` through :meth:`pandas.DataFrame.to_csv` (the reference rendering)."""
    safe = excel_safe(frame)
    if float_format is None:
        safe = _format_floats(safe)
    return safe.to_csv(index=False, float_format=float_format, lineterminator="\n").encode("utf-8")


def _probe_csv_writer() -> tuple[str, str]:
    """The characters that make Python's ``csv`` writer (used by ``DataFrame.to_csv``: minimal quoting,
    ``"`` doubled, ``\\n`` line ends) quote a field, and those it refuses; asked of the writer itself
    because the rule has changed between Python versions (``\\r``)."""
    import csv

    quote, refuse = [], []
    for c in [chr(i) for i in range(128)] + ["\x85", "\u2028", "\u2029"]:
        buf = io.StringIO()
        try:
            csv.writer(buf, lineterminator="\n").writerow(["a" + c + "b", "x"])
        except csv.Error:
            refuse.append(c)
            continue
        if buf.getvalue().startswith('"'):
            quote.append(c)
    return "".join(quote), "".join(refuse)


_CSV_CHARS: tuple[str, str] | None = None


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def _text_cells(s: pd.Series):
    """A text column (object or string dtype holding only ``str`` and missing values) as pyarrow strings,
    missing → null; ``None`` for any other content (the caller then uses pandas)."""
    import pyarrow as pa

    try:
        if isinstance(s.dtype, pd.StringDtype):
            arr = pa.array(s.array)                       # already strings (pyarrow- or Python-backed)
        else:
            arr = pa.array(s.to_numpy(dtype=object), from_pandas=True)
    except (pa.ArrowException, ValueError, TypeError):
        return None
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.large_string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return arr.cast(pa.large_string())


def _neutralize_cells(arr):
    """:func:`neutralize_text` on a pyarrow string array: only cells starting with a formula character are
    looked at, each distinct such value once (window labels such as ``-1:1`` repeat on every row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = pc.match_substring_regex(arr, "^" + _char_class("".join(_FORMULA_START)))
    if not pc.any(hit).as_py():
        return arr
    values = pc.unique(arr.filter(hit))
    fixed = pa.array([neutralize_text(v) for v in values.to_pylist()], pa.large_string())
    return pc.if_else(hit, pc.take(fixed, pc.index_in(arr, value_set=values)), arr)


def _quote_cells(arr, quote: str):
    """Fields as the ``csv`` writer writes them: a value holding a character of ``quote`` is enclosed in
    ``"`` with its ``"`` doubled; others are left as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    need = pc.match_substring_regex(arr, _char_class(quote))
    if not pc.any(need).as_py():
        return arr
    q = pa.scalar('"', pa.large_string())
    quoted = pc.binary_join_element_wise(q, pc.replace_substring(arr, '"', '""'), q, pa.scalar("", pa.large_string()))
    return pc.if_else(need, quoted, arr)


def _date_text(ts):
    """Timestamps as ``YYYY-MM-DD`` text (null stays null), formatted once per distinct value: long
    tables repeat a few thousand sessions over millions of rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = pc.dictionary_encode(ts)
    text = pc.strftime(codes.dictionary, format="%Y-%m-%d").cast(pa.large_string())
    return pc.take(text, codes.indices)


def _csv_bytes_arrow(frame: pd.DataFrame) -> bytes | None:
    """:func:`csv_bytes` (full precision) rendered with pyarrow, the same bytes as :func:`_csv_bytes_pandas`.

    Each column becomes a pyarrow array: floats (NaN → null) and ints as they are, bools as
    ``True``/``False``, datetimes as ISO dates, text neutralised (:func:`_neutralize_cells`). When no
    text value needs quoting (ids, labels: the usual case) ``pyarrow.csv`` writes the table unquoted;
    it formats numbers with the same cast to text as :func:`_float_text`. Otherwise the text is quoted as
    the ``csv`` writer quotes it, every column is cast to text and the fields are joined into lines
    in C (the lines' contiguous buffer is the body). The header is written by the ``csv`` writer.

    ``None`` (use pandas) for a frame with fewer than two columns, no rows, non-text objects,
    extension or time-zone dtypes, or a character the ``csv`` writer refuses."""
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    global _CSV_CHARS
    if frame.shape[1] < 2 or len(frame) == 0 or isinstance(frame.columns, pd.MultiIndex):
        return None
    if _CSV_CHARS is None:
        _CSV_CHARS = _probe_csv_writer()
    quote, refuse = _CSV_CHARS
    string = pa.large_string()
    cols, text = [], []
    for k in range(frame.shape[1]):
        s = frame.iloc[:, k]
        dt = s.dtype
        if isinstance(dt, np.dtype) and dt.kind == "f":
            cells = pa.array(s.to_numpy(dtype=float), from_pandas=True)
        elif isinstance(dt, np.dtype) and dt.kind in "iu":
            cells = pa.array(s.to_numpy())
        elif isinstance(dt, np.dtype) and dt.kind == "b":
            cells = pc.if_else(pa.array(s.to_numpy()), pa.scalar("True", string), pa.scalar("False", string))
        elif isinstance(dt, np.dtype) and dt.kind == "M":
            cells = _date_text(pa.array(s.to_numpy(), from_pandas=True))
        elif dt == object or pd.api.types.is_string_dtype(dt):
            cells = _text_cells(s)
            if cells is None:
                return None
            if refuse and pc.any(pc.match_substring_regex(cells, _char_class(refuse))).as_py():
                return None
            cells = _neutralize_cells(cells)
            text.append(k)
        else:
            return None
        cols.append(cells)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([str(c) for c in frame.columns])
    structural = _char_class("".join(sorted(set(quote) | set(',"\r\n'))))
    if not any(pc.any(pc.match_substring_regex(cols[k], structural)).as_py() for k in text):
        table = pa.Table.from_arrays(cols, names=[f"c{k}" for k in range(len(cols))])
        out = pa.BufferOutputStream()
        pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
        return b"".join((head.getvalue().encode("utf-8"), memoryview(out.getvalue())))
    empty = pa.scalar("", string)
    fields = []
    for k, cells in enumerate(cols):
        cells = _quote_cells(cells, quote) if k in text else pc.cast(cells, string)
        fields.append(pc.fill_null(cells, empty))
    fields[-1] = pc.binary_join_element_wise(fields[-1], pa.scalar("\n", string), empty)
    lines = pc.binary_join_element_wise(*fields, pa.scalar(",", string))
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    body = lines.buffers()[2][int(offsets[0]):int(offsets[-1])]
    return b"".join((head.getvalue().encode("utf-8"), memoryview(body)))     # one copy of the body


def write_csv(frame: pd.DataFrame, path: str | Path, float_format: str | None = None) -> None:
    """Write an Excel-safe CSV atomically (UTF-8, ``\\n`` line ends, no index)."""
    atomic_write_bytes(path, csv_bytes(frame, float_format))


def write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist), write ``data`` and flush it to disk.

    For files inside a folder that is not yet visible (see :func:`replace_dir`): no temp file is needed.
    """
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]+$")


def sibling_dir(target: Path, kind: str) -> Path:
    """A fresh hidden sibling name of ``target``: ``.NAME.tmp-<pid>-<token>`` (or ``.old-``)."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _siblings(target: Path, kind: str) -> list[tuple[Path, int]]:
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    out = []
    for n in names:
        m = _SIBLING.match(n)
        if m and m["name"] == target.name and m["kind"] == kind:
            out.append((target.parent / n, int(m["pid"])))
    return out


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":       # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_dir(target: Path) -> bool:
    """Undo a swap interrupted between its two renames (fallback path of :func:`replace_dir`).

    When ``target`` is missing and the old folder waits aside as ``.NAME.old-<pid>-…`` of a writer
    that is gone, rename it back. Return True when something was restored.
    """
    if os.path.lexists(target):
        return False
    aside = sorted((p for p, pid in _siblings(target, "old") if not _pid_alive(pid)),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for p in aside:
        try:
            os.rename(p, target)
            return True
        except OSError:
            continue
    return False


def remove_stale_siblings(target: Path) -> None:
    """Delete ``.NAME.tmp-…`` / ``.NAME.old-…`` folders left by writers that were killed."""
    recover_dir(target)
    for kind in ("tmp", "old"):
        for p, pid in _siblings(target, kind):
            if not _pid_alive(pid):
                shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(new: Path, target: Path) -> None:
    """Make the complete folder ``new`` (a sibling of ``target``) become ``target``, as one unit.

    ``target`` is missing → one rename. Otherwise the two folders are exchanged atomically
    (Linux) or, where that is impossible, ``target`` is renamed aside and ``new`` renamed in
    (see the module docstring for the crash window and its recovery). The previous content is
    deleted afterwards; if that deletion fails the leftover hidden sibling is removed by the
    next writer.
    """
    if not os.path.lexists(target):
        os.rename(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)       # ``new`` now names the previous folder
    else:
        aside = sibling_dir(target, "old")
        os.rename(target, aside)
        try:
            os.rename(new, target)
        except BaseException:
            os.rename(aside, target)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    fsync_dir(target.parent)


def sha256_arrays(*arrays: np.ndarray) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
