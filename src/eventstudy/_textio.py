"""Reading user-supplied CSV text: path checks, encoding and delimiter diagnosis.

Every failure is a :class:`~eventstudy._errors.Problem` that says what is wrong and how to fix
it, so the loaders (events, price files) can raise their own error class with it:

* a missing file, a folder, a dangling symbolic link, an unreadable file → one problem each;
* a UTF-8 byte-order mark is dropped silently (Excel's "CSV UTF-8" writes one);
* text that is not UTF-8 is refused with the encoding it looks like (UTF-16, cp1252/Latin-1)
  and the fix ("re-save as CSV UTF-8"); a file with NUL bytes is called binary;
* a header separated by ``;`` or tabs instead of commas is refused with that diagnosis
  (European Excel writes ``;`` and decimal commas, which are not read automatically).

With ``lenient=True`` (event files: text cells only, no decimal numbers) UTF-16 and cp1252 text and
``;``/tab separators are read instead, and each such detection is returned as a note for the user
(``frame.attrs["read_notes"]``), never silently.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from ._errors import InputFileError, Problem

_UTF8_BOM = b"\xef\xbb\xbf"
_RESAVE = "re-save it as UTF-8 (Excel: Save As → 'CSV UTF-8 (Comma delimited)')"


def path_problem(path: Path) -> Problem | None:
    """Why ``path`` cannot be read as a file, or ``None`` when it is a readable regular file."""
    name = str(path)
    if path.is_symlink() and not path.exists():
        return Problem(name, 0, "-", f"is a symbolic link to {os.readlink(path)!s}, which does not exist")
    if not path.exists():
        return Problem(name, 0, "-", "file not found")
    if path.is_dir():
        return Problem(name, 0, "-", "is a folder, not a file: give the CSV file inside it")
    if not os.access(path, os.R_OK):
        return Problem(name, 0, "-", "permission denied: the file is not readable by this user")
    return None


def read_bytes(path: Path) -> tuple[bytes | None, Problem | None]:
    """The file's bytes, or the problem that prevented reading them."""
    problem = path_problem(path)
    if problem is not None:
        return None, problem
    try:
        return path.read_bytes(), None
    except OSError as exc:
        return None, Problem(str(path), 0, "-", f"cannot read: {exc.strerror or exc}")


def _guess_encoding(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    try:
        data.decode("cp1252")
        return "cp1252 / Latin-1"
    except UnicodeDecodeError:
        return "an 8-bit code page"


def decode(data: bytes, name: str) -> tuple[str | None, Problem | None]:
    """Decode UTF-8 text (an optional byte-order mark dropped), or say why it is not UTF-8 text."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem(name, 0, "-", f"file is UTF-16, not UTF-8: {_RESAVE}")
    if b"\x00" in data:
        return None, Problem(name, 0, "-", "file contains NUL bytes: a binary file, not CSV text")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, Problem(name, line - 1, "-",
                             f"file is not UTF-8 (byte 0x{data[exc.start]:02X} on line {line}; looks like "
                             f"{_guess_encoding(data)}): {_RESAVE}")


def delimiter_problem(text: str, name: str, expected: tuple[str, ...]) -> Problem | None:
    """A problem when the header is separated by ``;`` or tabs rather than commas.

    ``expected`` are column names of which at least one should appear in a comma-separated header.
    """
    header = text.split("\n", 1)[0].strip("\r")
    if "," in header:
        return None
    for sep, label in ((";", "semicolon"), ("\t", "tab")):
        cells = [c.strip().strip('"').lower() for c in header.split(sep)]
        if len(cells) > 1 and any(c in expected for c in cells):
            return Problem(name, 0, "-", f"file is {label}-separated (header {header[:60]!r}), not comma-separated: "
                                         "save it as CSV with commas (and '.' as the decimal point)")
    return None


def _decode_lenient(data: bytes, name: str, notes: list[str]) -> tuple[str | None, Problem | None]:
    """Like :func:`decode`, but UTF-16 (with its byte-order mark) and cp1252 text are read, with a note."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            return None, Problem(name, 0, "-", f"file starts like UTF-16 but is not valid UTF-16 ({exc.reason}): "
                                              f"{_RESAVE}")
        notes.append(f"{name}: read as UTF-16 (not UTF-8)")
        return text, None
    text, problem = decode(data, name)
    if problem is not None and b"\x00" not in data and problem.message.startswith("file is not UTF-8"):
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return None, problem
        notes.append(f"{name}: read as cp1252 (Windows/Excel encoding), not UTF-8")
        return text, None
    return text, problem


def _separator(text: str, expected: tuple[str, ...]) -> tuple[str, str]:
    """The separator of a ``;``- or tab-separated header naming expected columns, else ``,``."""
    header = text.split("\n", 1)[0].strip("\r")
    if "," not in header:
        for sep, label in ((";", "semicolon"), ("\t", "tab")):
            cells = [c.strip().strip('"').lower() for c in header.split(sep)]
            if len(cells) > 1 and any(c in expected for c in cells):
                return sep, label
    return ",", "comma"


def read_csv_text(path: str | Path, expected: tuple[str, ...], error: type[InputFileError],
                  lenient: bool = False) -> pd.DataFrame:
    """Read a user CSV as text cells (no type guessing, no NA conversion); raise ``error`` if unreadable.

    Shared by the event and price-file loaders: a missing file, a folder, a dangling link, text
    that is not UTF-8 (named with the encoding it looks like), a ``;``- or tab-separated header
    and a ragged row are each one :class:`Problem` with the fix. A UTF-8 byte-order mark is
    accepted. Header names are stripped of surrounding blanks; an unnamed column that holds no
    values (a trailing comma) is dropped; a repeated or unnamed column with values is a problem.
    """
    path = Path(path)
    if not lenient:
        return frame_from_text(read_text(path, expected, error), str(path), error)
    name, notes = str(path), []
    data, problem = read_bytes(path)
    text = None
    if problem is None:
        text, problem = _decode_lenient(data, name, notes)
    if problem is None and not text.strip():
        problem = Problem(name, 0, "-", "file is empty (no header line)")
    if problem is not None:
        raise error([problem])
    sep, label = _separator(text, expected)
    if sep != ",":
        notes.append(f"{name}: read as {label}-separated (not comma-separated)")
    frame = frame_from_text(text, name, error, sep)
    frame.attrs["read_notes"] = notes
    return frame


def read_text(path: Path, expected: tuple[str, ...], error: type[InputFileError],
              data: bytes | None = None) -> str:
    """The file's text after the path, encoding, emptiness and delimiter checks; raise ``error`` otherwise.

    ``data`` are the file's bytes when the caller has read them already.
    """
    name = str(path)
    problem = None
    if data is None:
        data, problem = read_bytes(path)
    text = None
    if problem is None:
        text, problem = decode(data, name)
    if problem is None and not text.strip():
        problem = Problem(name, 0, "-", "file is empty (no header line)")
    if problem is None:
        problem = delimiter_problem(text, name, expected)
    if problem is not None:
        raise error([problem])
    return text


def frame_from_text(text: str, name: str, error: type[InputFileError], sep: str = ",") -> pd.DataFrame:
    """Parse checked CSV text into a frame of text cells (see :func:`read_csv_text`)."""
    try:
        raw = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_values=[],
                          skip_blank_lines=True, sep=sep)
    except pd.errors.ParserError as exc:
        msg = str(exc).replace("Error tokenizing data. C error: ", "")
        raise error([Problem(name, 0, "-", f"not a well-formed CSV: {msg.strip()}")]) from None
    except pd.errors.EmptyDataError:
        raise error([Problem(name, 0, "-", "file is empty (no header line)")]) from None
    raw = raw.fillna("")
    header = [str(c).strip() for c in raw.iloc[0]]
    body = raw.iloc[1:].reset_index(drop=True)
    keep = [i for i, h in enumerate(header) if h or body.iloc[:, i].str.strip().ne("").any()]
    problems = [Problem(name, 0, f"column {i + 1}", "column has values but no name in the header")
                for i in keep if not header[i]]
    seen: dict[str, int] = {}
    for i in keep:
        if header[i] and header[i] in seen:
            problems.append(Problem(name, 0, header[i], f"column name repeated (columns {seen[header[i]] + 1} "
                                                        f"and {i + 1})"))
        seen.setdefault(header[i], i)
    if problems:
        raise error(problems)
    out = body.iloc[:, keep]
    out.columns = [header[i] for i in keep]
    return out
