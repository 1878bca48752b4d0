"""Company names → tickers: name normalisation and the name map.

The bundled map (``eventstudy/data/news_names.csv``, columns ``name,ticker,source``) is built by
``scripts/build_news_names.py`` from the ``company`` and ``ticker`` columns of the project's event
files. A row with an empty ticker records a company known to be unlisted (private) or a
non-company body: it resolves to "no ticker", with that reason. Users add or override rows with
their own CSV of the same columns (``--names FILE``); a user row replaces every bundled row of
the same normalised name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from .._errors import InputFileError, Problem

#: Legal-form and sector words dropped from the END of a name ("Corbus Pharmaceuticals Holdings,
#: Inc." → "corbus"). Dropped only at the end and never down to nothing.
NAME_SUFFIXES: frozenset[str] = frozenset("""
inc incorporated corp corporation co company ltd limited plc llc lp sa ag nv se as a/s ab asa oyj spa
holdings holding group therapeutics therapeutic pharmaceuticals pharmaceutical pharma pharmas biotherapeutics
biosciences bioscience biotech biotechnology biopharma biopharmaceuticals biopharmaceutical bio medicines
sciences adr ads the and
""".split())

#: Bodies that are never a listed company (regulators, agencies, health systems).
NON_COMPANY_BODIES: frozenset[str] = frozenset(
    "fda ftc sec ema ec nih nhs cms hhs who mhra pmda nmpa sfda bmbf eic doj usda cdc".split())

_PAREN = re.compile(r"\([^)]*\)")
_NON_WORD = re.compile(r"[^a-z0-9&/+ ]+")


def normalize_name(name: str) -> str:
    """Lower-case core of a company name: no parentheses, punctuation or trailing legal-form words.

    ``"Corbus Pharmaceuticals Holdings, Inc."`` → ``"corbus"``; ``"Genmab A/S"`` → ``"genmab"``;
    ``"Eli Lilly and Company"`` → ``"eli lilly"``; ``"Wugen (trial site: ...)"`` → ``"wugen"``.
    """
    s = _PAREN.sub(" ", str(name)).replace("’", "'").lower()
    s = re.sub(r"'s\b", "", s).replace("&", " and ")
    s = _NON_WORD.sub(" ", s.replace(".", " ").replace(",", " "))
    tokens = [t for t in s.split() if t not in ("&",)]
    while len(tokens) > 1 and tokens[-1] in NAME_SUFFIXES:
        tokens.pop()
    while len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    return " ".join(tokens)


def same_company(a: str, b: str) -> bool:
    """Two names denote the same company when one normalised core is a leading-token prefix of
    the other ("Ouro" ~ "Ouro Medicines", "FDA" ~ "FDA (Oncology Center of Excellence)")."""
    ta, tb = normalize_name(a).split(), normalize_name(b).split()
    if not ta or not tb:
        return False
    n = min(len(ta), len(tb))
    return ta[:n] == tb[:n]


@dataclass(frozen=True)
class NameHit:
    """The map's answer for one name: ``tickers`` (one = mapped, several = ambiguous, ``("",)`` =
    known unlisted) and where each row came from."""

    key: str
    tickers: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass
class NameMap:
    """Normalised company name → ticker(s), with the source of every entry."""

    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["name", "ticker", "source", "key"]))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "NameMap":
        t = frame.reindex(columns=["name", "ticker", "source"]).fillna("").astype(str)
        t["ticker"] = t["ticker"].str.strip().str.upper()
        t["key"] = t["name"].map(normalize_name)
        t = t[t["key"] != ""].drop_duplicates(["key", "ticker", "source"]).reset_index(drop=True)
        return cls(t)

    def override(self, other: "NameMap") -> "NameMap":
        """Rows of ``other`` replace all rows of the same key here."""
        keep = self.table[~self.table["key"].isin(set(other.table["key"]))]
        return NameMap(pd.concat([keep, other.table], ignore_index=True))

    def without_sources(self, *sources: str) -> "NameMap":
        """The map without the rows taken from the given sources (e.g. the measured target file)."""
        return NameMap(self.table[~self.table["source"].isin(sources)].reset_index(drop=True))

    def lookup(self, name: str) -> NameHit | None:
        key = normalize_name(name)
        rows = self.table[self.table["key"] == key]
        if rows.empty:
            return None
        listed = rows[rows["ticker"] != ""]
        rows = listed if not listed.empty else rows
        by_ticker = rows.groupby("ticker", sort=False)["source"].agg(lambda s: ", ".join(dict.fromkeys(s)))
        return NameHit(key, tuple(by_ticker.index), tuple(by_ticker))

    @property
    def keys(self) -> list[str]:
        return sorted(set(self.table["key"]), key=lambda k: (-len(k), k))


def read_text_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A user CSV read as text; ``InputFileError`` (file, row 0, field) if unreadable or a required
    column is missing."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputFileError([Problem(str(path), 0, "-", "file not found")]) from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError([Problem(str(path), 0, "-", f"not a readable CSV: {exc}")]) from None
    missing = [Problem(str(path), 0, c, "required column is missing from the header")
               for c in required if c not in frame.columns]
    if missing:
        raise InputFileError(missing)
    return frame


def read_names_csv(path: str | Path, source: str | None = None) -> NameMap:
    """Read a ``name,ticker[,source]`` CSV; raise ``InputFileError`` naming file/row/field on faults."""
    path = Path(path)
    frame = read_text_csv(path, ("name", "ticker"))
    problems: list[Problem] = []
    for i, (n, t) in enumerate(zip(frame["name"], frame["ticker"]), start=1):
        if not str(n).strip():
            problems.append(Problem(str(path), i, "name", "empty name"))
        if str(t).strip() and not re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-]{0,9}", str(t).strip()):
            problems.append(Problem(str(path), i, "ticker", f"{t!r} is not a ticker symbol"))
    if problems:
        raise InputFileError(problems)
    if "source" not in frame.columns or source is not None:
        frame["source"] = source or path.name
    return NameMap.from_frame(frame)


def bundled_names() -> NameMap:
    """The name map shipped with the package (see ``scripts/build_news_names.py``)."""
    return read_names_csv(Path(str(resources.files("eventstudy") / "data" / "news_names.csv")), source=None)
