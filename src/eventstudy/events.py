"""Curated event files: schema, taxonomy, loading and validation.

An event file is a CSV with the columns of :data:`EVENT_COLUMNS`. Each problem found is
reported with file, row and field (:class:`eventstudy._errors.Problem`); loading a file with
problems raises :class:`eventstudy._errors.EventFileError` listing all of them.

A row whose ticker is empty is valid (a private company or a non-company event); the study
keeps it with status ``unmapped``.

Event files may also be Excel workbooks (``.xlsx``: the first sheet) or Excel-style CSVs (``;`` or
tab separators, cp1252 or UTF-16 text, ``2016-09-19 00:00:00`` datetimes, ``PRE_MARKET`` capitals);
each such detection is a note in ``frame.attrs["read_notes"]`` that the CLI prints and the study
keeps in its notes.

The event types come from a taxonomy: :data:`TAXONOMY` by default, extended or replaced by a file
(:func:`load_taxonomy`: a CSV of ``event_type,subtype`` rows or a TOML ``[taxonomy]`` table, as in a
project's ``eventstudy.toml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventFileError, EventStudyError, InputFileError, Problem

Taxonomy = dict[str, tuple[str, ...]]
#: a project config file read from the working folder by the CLI (a ``[taxonomy]`` table)
CONFIG_FILE = "eventstudy.toml"

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "ticker",
    "company",
    "event_date",
    "event_time",
    "event_type",
    "subtype",
    "headline",
    "source_url",
    "confidence",
    "notes",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("event_id", "ticker", "event_date", "event_type")
EVENT_TIMES: tuple[str, ...] = ("pre_market", "intraday", "after_close", "unknown")
CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
#: event dates outside this span are refused (nanosecond timestamps, which the price data use)
DATE_MIN = pd.Timestamp("1678-01-01")
DATE_MAX = pd.Timestamp("2261-12-31")

#: event_type -> subtypes named in the curated-events README. Subtypes are free text
#: (clinical readouts especially), so only the event type is validated.
TAXONOMY: dict[str, tuple[str, ...]] = {
    "fda_designation": ("fast_track", "breakthrough", "orphan", "rmat", "rare_pediatric", "qidp",
                        "orphan+rare_pediatric"),
    "fda_decision": ("approval", "crl"),
    "clinical_readout": ("phase1_data", "phase2_data", "phase2_topline_positive", "phase2_topline_negative",
                         "phase3_topline_positive", "phase3_topline_negative", "phase3_futility",
                         "interim_data", "abstract_data", "conference_data", "cohort_update"),
    "equity_offering": ("follow_on_launch", "follow_on_pricing", "registered_direct", "registered_offering",
                        "private_placement", "preferred_stock_pricing", "ipo"),
    "non_dilutive_financing": ("royalty_monetization",),
    "short_squeeze": ("post_approval_squeeze", "retail_meme_squeeze", "possible_squeeze",
                      "short_covering_rally"),
    "m_and_a": ("collaboration_license", "collaboration_expansion", "antitrust_clearance"),
    "regulatory_guidance": ("draft_guidance",),
    "product_launch": ("us_launch", "online_storefront"),
    "sales_report": ("partner_product_sales", "preliminary_unit_volume"),
    "conference": ("presentation_announcement",),
    "corporate_update": ("annual_outlook", "ex_us_regulatory_approval", "fda_meeting_outcome"),
    "rnd_program": ("new_rd_program", "trial_site_activation"),
}


def validate_events(frame: pd.DataFrame, file: str = "<events>", taxonomy: Taxonomy | None = None) -> list[Problem]:
    """Return every problem in an event table (empty list when it is clean).

    Checks: required columns present; required fields non-empty (ticker may be empty);
    ``event_date`` parses as YYYY-MM-DD and lies in :data:`DATE_MIN` … :data:`DATE_MAX`; ``event_time`` is
    one of :data:`EVENT_TIMES` or a clock time (empty means ``unknown``); ``event_type`` is in the
    taxonomy (default :data:`TAXONOMY`; an unknown type names the closest known ones); ``event_id`` is unique.
    """
    taxonomy = TAXONOMY if taxonomy is None else taxonomy
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    for col in missing:
        problems.append(Problem(file, 0, col, "required column is missing from the header"))
    if missing:
        return problems
    text = frame.astype("string").apply(lambda s: s.str.strip())
    rows = np.arange(1, len(frame) + 1)
    for col in ("event_id", "event_date", "event_type"):
        for r in rows[text[col].isna().to_numpy() | (text[col] == "").fillna(False).to_numpy()]:
            problems.append(Problem(file, int(r), col, "required value is empty"))
    dates = pd.to_datetime(text["event_date"], format="%Y-%m-%d", errors="coerce")
    bad_date = dates.isna().to_numpy() & text["event_date"].fillna("").ne("").to_numpy()
    for r, v in zip(rows[bad_date], text["event_date"][bad_date]):
        problems.append(Problem(file, int(r), "event_date", f"cannot parse {v!r} as a date (YYYY-MM-DD)"))
    out_of_range = ((dates < DATE_MIN) | (dates > DATE_MAX)).fillna(False).to_numpy()
    for r, v in zip(rows[out_of_range], text["event_date"][out_of_range]):
        problems.append(Problem(file, int(r), "event_date", f"{v} is outside the supported dates "
                                f"{DATE_MIN.date()} … {DATE_MAX.date()}"))
    if "event_time" in text:
        et = text["event_time"].fillna("")
        bad = ~et.isin(("",) + EVENT_TIMES).to_numpy()
        for r, v, d in zip(rows[bad], et[bad], dates[bad]):
            why = _event_time_problem(v, d)
            if why:
                problems.append(Problem(file, int(r), "event_time", why))
    etype = text["event_type"].fillna("")
    bad = (~etype.isin(tuple(taxonomy)) & etype.ne("")).to_numpy()
    for r, v in zip(rows[bad], etype[bad]):
        problems.append(Problem(file, int(r), "event_type", _unknown_type(v, taxonomy)))
    if "confidence" in text:
        conf = text["confidence"].fillna("")
        bad = (~conf.isin(("",) + CONFIDENCE_LEVELS)).to_numpy()
        for r, v in zip(rows[bad], conf[bad]):
            problems.append(Problem(file, int(r), "confidence", f"{v!r} is not one of high, medium, low"))
    ids = text["event_id"]
    dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy() & ids.ne("").fillna(False).to_numpy()
    first_row = {v: int(r) for r, v in zip(rows[::-1], ids[::-1])} if dup.any() else {}   # only to name duplicates
    for r, v in zip(rows[dup], ids[dup]):
        problems.append(Problem(file, int(r), "event_id", f"duplicate event_id {v!r} (first at row {first_row[v]})"))
    return sorted(problems, key=lambda p: (p.row, p.field))


def _unknown_type(value: str, taxonomy: Taxonomy) -> str:
    """'unknown event type' with the closest known types (a typo hint), or the whole list when short."""
    import difflib

    close = difflib.get_close_matches(value, list(taxonomy), n=3, cutoff=0.6)
    if close:
        return (f"unknown event type {value!r}: did you mean {' or '.join(repr(c) for c in close)}? (own types: "
                "--taxonomy FILE)")
    return (f"unknown event type {value!r} (known: {', '.join(sorted(taxonomy))}; add your own with "
            "--taxonomy FILE or a [taxonomy] table in eventstudy.toml)")


def _event_time_problem(value: str, date) -> str | None:
    """Why ``value`` is not a usable event time on ``date`` (a keyword of :data:`EVENT_TIMES` or a clock time
    such as ``15:45``, ``20:22 UTC``, ``2026-01-21T15:45-05:00``; see
    :func:`eventstudy.trading_calendar.event_time_problem`), or ``None``."""
    from .trading_calendar import event_time_problem

    why = event_time_problem(value, None if pd.isna(date) else date)
    if why is None:
        return None
    return f"{why} (use one of {', '.join(EVENT_TIMES)} or a clock time such as 15:45, 20:22 UTC)"


def load_taxonomy(path: str | Path, base: Taxonomy | None = None, replace: bool = False) -> Taxonomy:
    """The taxonomy of ``path``, added to ``base`` (default :data:`TAXONOMY`) or replacing it.

    ``path`` is a CSV with columns ``event_type`` and optional ``subtype`` (one row per subtype; a
    type with no subtype is a row with an empty subtype), or a TOML file with a ``[taxonomy]`` table
    mapping each type to a list of subtypes and an optional ``mode = "extend" | "replace"`` (the CSV
    and the ``replace`` argument default to extend). Types are lower-case names of letters, digits
    and ``_``.
    """
    import re

    path = Path(path)
    name = str(path)
    base = TAXONOMY if base is None else base
    entries: dict[str, list[str]] = {}
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise EventFileError([Problem(name, 0, "-", f"not a readable TOML file: {exc}")]) from None
        table = dict(doc.get("taxonomy", {}))
        if not table:
            raise EventFileError([Problem(name, 0, "taxonomy", "no [taxonomy] table")])
        mode = table.pop("mode", "extend")
        if mode not in ("extend", "replace"):
            raise EventFileError([Problem(name, 0, "taxonomy.mode", f"{mode!r}: use extend or replace")])
        replace = replace or mode == "replace"
        for k, v in table.items():
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise EventFileError([Problem(name, 0, f"taxonomy.{k}", "give a list of subtype names, e.g. []")])
            entries[k] = list(v)
    else:
        from ._textio import read_csv_text

        frame = read_csv_text(path, ("event_type", "subtype"), EventFileError, lenient=True)
        if "event_type" not in frame.columns:
            raise EventFileError([Problem(name, 0, "event_type", "required column is missing from the header")])
        subs = frame["subtype"] if "subtype" in frame.columns else pd.Series("", index=frame.index)
        for t, sub in zip(frame["event_type"].str.strip(), subs.str.strip()):
            entries.setdefault(t, [])
            if sub:
                entries[t].append(sub)
    bad = [t for t in entries if not re.fullmatch(r"[a-z0-9_]+", t)]
    if bad:
        raise EventFileError([Problem(name, 0, "event_type", f"{t!r} is not a lower-case name of letters, digits "
                                                              "and _") for t in bad])
    out = {} if replace else {k: tuple(v) for k, v in base.items()}
    for t, subs_ in entries.items():
        out[t] = tuple(dict.fromkeys(out.get(t, ()) + tuple(subs_)))
    return out


def project_taxonomy(folder: str | Path = ".") -> tuple[Taxonomy | None, str | None]:
    """The taxonomy of ``folder/eventstudy.toml`` when it has a ``[taxonomy]`` table, and its path."""
    cfg = Path(folder) / CONFIG_FILE
    if not cfg.is_file():
        return None, None
    import tomllib

    try:
        has = "taxonomy" in tomllib.loads(cfg.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EventFileError([Problem(str(cfg), 0, "-", f"not a readable TOML file: {exc}")]) from None
    return (load_taxonomy(cfg), str(cfg)) if has else (None, None)


def _clean_cells(frame: pd.DataFrame, name: str, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Excel habits made explicit: midnight datetimes in ``event_date`` become dates, keyword times and
    known event types in capitals become lower case; each change is a note in ``attrs["read_notes"]``."""
    import re

    taxonomy = TAXONOMY if taxonomy is None else taxonomy
    notes = list(frame.attrs.get("read_notes", []))
    out = frame.copy()
    if "event_date" in out.columns:
        d = out["event_date"].astype(str).str.strip()
        midnight = d.str.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]00:00(:00(\.0+)?)?")
        if midnight.any():
            out.loc[midnight, "event_date"] = d[midnight].str[:10]
            notes.append(f"{name}: event_date: {int(midnight.sum())} datetime(s) at 00:00 read as dates")
    for col, known in (("event_time", EVENT_TIMES), ("event_type", tuple(taxonomy))):
        if col in out.columns:
            v = out[col].astype(str).str.strip()
            lower = v.str.lower()
            fix = v.ne(lower) & lower.isin(known)
            if fix.any():
                out.loc[fix, col] = lower[fix]
                notes.append(f"{name}: {col}: {int(fix.sum())} value(s) in capitals read in lower case "
                             f"(e.g. {v[fix].iloc[0]!r})")
    out.attrs["read_notes"] = notes
    return out


def _per_value(col: pd.Series, fn) -> pd.Series:
    """``fn`` applied to each distinct value of a column of text once (an event table repeats its tickers:
    2,000 over 100,000 events; pandas' ``.str`` methods call it once per cell), as an object column on
    the same index; missing cells become empty."""
    codes, uniq = pd.factorize(col.to_numpy(dtype=object))
    return pd.Series(np.array([fn(u) for u in uniq] + [""], dtype=object)[codes], index=col.index, dtype=object)


def normalize_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Clean a validated event table: stripped text, all schema columns, typed dates.

    ``ticker`` is upper-cased and an empty ``event_time`` becomes ``unknown``. Extra columns
    are kept after the schema columns.
    """
    out = frame.copy()
    for col in EVENT_COLUMNS:
        if col not in out.columns:
            out[col] = ""
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype("string").str.strip().fillna("").astype(object)
    out["ticker"] = _per_value(out["ticker"], str.upper)
    out["event_time"] = out["event_time"].replace("", "unknown")
    out["event_date"] = pd.to_datetime(out["event_date"], format="%Y-%m-%d")
    extra = [c for c in out.columns if c not in EVENT_COLUMNS]
    result = out[list(EVENT_COLUMNS) + extra].reset_index(drop=True)
    result.attrs["read_notes"] = list(frame.attrs.get("read_notes", []))
    return result


def read_event_csv(path: str | Path, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Read an event file as text cells (no type guessing); raise ``EventFileError`` if unreadable.

    CSV (see :func:`eventstudy._textio.read_csv_text` for the checks: encoding, delimiter, folder,
    dangling link …; Excel-style CSVs are read with notes) or an Excel workbook (``.xlsx``/``.xlsm``,
    first sheet). Excel habits are cleaned with notes (:func:`_clean_cells`).
    """
    from ._textio import path_problem, read_csv_text

    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        problem = path_problem(path)
        if problem is not None:
            raise EventFileError([problem])
        try:
            with pd.ExcelFile(path, engine="openpyxl") as book:
                sheets = list(book.sheet_names)
                sheet = sheets[0]
                frame = pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False, na_filter=False)
        except ImportError:
            raise EventFileError([Problem(str(path), 0, "-", "reading .xlsx needs openpyxl: pip install openpyxl")]) \
                from None
        except (ValueError, OSError, KeyError) as exc:
            raise EventFileError([Problem(str(path), 0, "-", f"not a readable Excel workbook: {exc}")]) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        frame = frame.loc[:, [not c.startswith("Unnamed:") or frame[c].str.strip().ne("").any()
                              for c in frame.columns]]
        frame.attrs["read_notes"] = [f"{path}: read sheet {sheet!r} of the workbook"
                                     + (f" (of {len(sheets)} sheets)" if len(sheets) > 1 else "")]
    else:
        frame = read_csv_text(path, EVENT_COLUMNS, EventFileError, lenient=True)
    return _clean_cells(frame, str(path), taxonomy)


def _frame_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """An in-memory event table as the text a CSV would hold (dates as YYYY-MM-DD, missing as empty),
    so that a loaded, normalised table can be validated and loaded again."""
    out = frame.copy()
    text = pd.Series([], dtype=str).dtype       # what ``astype(str)`` gives: a string dtype from pandas 3 on
    fast = isinstance(text, pd.StringDtype)     # (object in pandas 2, whose object columns may hold non-text)
    for i in range(out.shape[1]):               # by position: duplicate column names stay as they are
        s = out.iloc[:, i]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%d")
        # a column of that string dtype only has its missing cells emptied (no round trip through Python
        # objects: ~0.1 s per column of a million events); any other column is rendered as text cell by cell
        out.isetitem(i, s.fillna("") if fast and s.dtype == text
                     else s.astype(object).where(s.notna(), "").astype(str))
    return out


def load_events(path: str | Path | pd.DataFrame, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Load and validate an event file (or frame); raise ``EventFileError`` on any problem.

    ``taxonomy`` replaces the default :data:`TAXONOMY` (see :func:`load_taxonomy`). What the reader
    detected (encoding, separator, Excel datetimes …) is in ``attrs["read_notes"]``."""
    if isinstance(path, pd.DataFrame):
        frame, name = _clean_cells(_frame_as_text(path), "<DataFrame>", taxonomy), "<DataFrame>"
    else:
        frame, name = read_event_csv(path, taxonomy), str(path)
    problems = validate_events(frame, name, taxonomy)
    if problems:
        raise EventFileError(problems)
    return normalize_events(frame)


def cross_file_duplicates(tables: list[tuple[str, pd.DataFrame]]) -> list[Problem]:
    """Problems for event ids that occur in more than one of several files.

    ``tables`` are ``(file name, table)`` pairs in the order given; row numbers are 1-based
    data rows. Each repeat names both files and rows (duplicates inside one file are reported
    by :func:`validate_events`).
    """
    first: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for name, table in tables:
        if "event_id" not in table.columns:
            continue
        ids = table["event_id"].astype("string").str.strip().fillna("")
        for row, eid in enumerate(ids.to_numpy(), start=1):
            if not eid:
                continue
            where = first.get(eid)
            if where is None:
                first[eid] = (name, row)
            elif where[0] != name:
                problems.append(Problem(name, row, "event_id", f"event_id {eid!r} is also in {where[0]}, row {where[1]}: "
                                                               "one event, one id (drop or rename one of them)"))
    return problems


def load_event_files(paths: list[str | Path], taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Load and validate several event files as one table; raise ``EventFileError`` on any problem.

    Problems of every file are collected before raising, and an ``event_id`` found in two
    files is a problem naming both files and rows (never a silent pick of one of them). A file
    named twice is read once.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    problems: list[Problem] = []
    tables: list[tuple[str, pd.DataFrame]] = []
    for p in unique:
        try:
            frame = read_event_csv(p, taxonomy)
        except EventFileError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(validate_events(frame, str(p), taxonomy))
        tables.append((str(p), frame))
    problems.extend(cross_file_duplicates(tables))
    if problems:
        raise EventFileError(problems)
    if not tables:
        return normalize_events(pd.DataFrame(columns=list(REQUIRED_COLUMNS)))
    out = pd.concat([normalize_events(t) for _, t in tables], ignore_index=True)
    extra = [c for c in out.columns if c not in EVENT_COLUMNS]
    out[extra] = out[extra].fillna("")          # an extra column of one file is empty in the others
    return out
