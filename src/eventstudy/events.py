"""Curated event files: schema, taxonomy, loading and validation.

An event file is a CSV with the columns of :data:`EVENT_COLUMNS`. Each problem found is
reported with file, row and field (:class:`eventstudy._errors.Problem`); loading a file with
problems raises :class:`eventstudy._errors.EventFileError` listing all of them.

A row whose ticker is empty is valid (a private company or a non-company event); the study
keeps it with status ``unmapped``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventFileError, InputFileError, Problem

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


def validate_events(frame: pd.DataFrame, file: str = "<events>") -> list[Problem]:
    """Return every problem in an event table (empty list when it is clean).

    Checks: required columns present; required fields non-empty (ticker may be empty);
    ``event_date`` parses as YYYY-MM-DD and lies in :data:`DATE_MIN` … :data:`DATE_MAX`; ``event_time`` is one of :data:`EVENT_TIMES` (empty
    means ``unknown``); ``event_type`` is in :data:`TAXONOMY`; ``event_id`` is unique.
    """
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
        for r, v in zip(rows[bad], et[bad]):
            problems.append(Problem(file, int(r), "event_time",
                                    f"{v!r} is not one of {', '.join(EVENT_TIMES)}"))
    etype = text["event_type"].fillna("")
    bad = (~etype.isin(tuple(TAXONOMY)) & etype.ne("")).to_numpy()
    for r, v in zip(rows[bad], etype[bad]):
        problems.append(Problem(file, int(r), "event_type",
                                f"unknown event type {v!r} (known: {', '.join(sorted(TAXONOMY))})"))
    if "confidence" in text:
        conf = text["confidence"].fillna("")
        bad = (~conf.isin(("",) + CONFIDENCE_LEVELS)).to_numpy()
        for r, v in zip(rows[bad], conf[bad]):
            problems.append(Problem(file, int(r), "confidence", f"{v!r} is not one of high, medium, low"))
    ids = text["event_id"]
    dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy() & ids.ne("").fillna(False).to_numpy()
    first_row = {v: int(r) for r, v in zip(rows[::-1], ids[::-1])}
    for r, v in zip(rows[dup], ids[dup]):
        problems.append(Problem(file, int(r), "event_id", f"duplicate event_id {v!r} (first at row {first_row[v]})"))
    return sorted(problems, key=lambda p: (p.row, p.field))


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
    out["ticker"] = out["ticker"].str.upper()
    out["event_time"] = out["event_time"].replace("", "unknown")
    out["event_date"] = pd.to_datetime(out["event_date"], format="%Y-%m-%d")
    extra = [c for c in out.columns if c not in EVENT_COLUMNS]
    return out[list(EVENT_COLUMNS) + extra].reset_index(drop=True)


def read_event_csv(path: str | Path) -> pd.DataFrame:
    """Read an event CSV as text (no type guessing); raise ``EventFileError`` if unreadable.

    See :func:`read_csv_text` for the checks (encoding, delimiter, folder, dangling link …).
    """
    from ._textio import read_csv_text

    return read_csv_text(path, EVENT_COLUMNS, EventFileError)


def _frame_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """An in-memory event table as the text a CSV would hold (dates as YYYY-MM-DD, missing as empty),
    so that a loaded, normalised table can be validated and loaded again."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out.astype(object).where(out.notna(), "").astype(str)


def load_events(path: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Load and validate an event file (or frame); raise ``EventFileError`` on any problem."""
    if isinstance(path, pd.DataFrame):
        frame, name = _frame_as_text(path), "<DataFrame>"
    else:
        frame, name = read_event_csv(path), str(path)
    problems = validate_events(frame, name)
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


def load_event_files(paths: list[str | Path]) -> pd.DataFrame:
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
            frame = read_event_csv(p)
        except EventFileError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(validate_events(frame, str(p)))
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
