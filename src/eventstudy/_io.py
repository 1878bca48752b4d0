"""Atomic file writes and Excel-safe CSV text."""

from __future__ import annotations

import os
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
            out[col] = s.map(neutralize_text)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, float_format: str = "%.10g") -> None:
    """Write an Excel-safe CSV atomically (UTF-8, ``\\n`` line ends, no index)."""
    text = excel_safe(frame).to_csv(index=False, float_format=float_format, lineterminator="\n")
    atomic_write_text(path, text)


def sha256_arrays(*arrays: np.ndarray) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
