"""Digests in, draft events out: :func:`import_digests`.

Each news item becomes at most one candidate event in the project's event schema
(:data:`eventstudy.events.EVENT_COLUMNS`) plus the review columns :data:`REVIEW_COLUMNS`:

* ``needs_review``: ``;``-separated codes, empty when nothing needs a person:
  ``no_ticker`` (unlisted, unknown or a public body: the study reports it ``unmapped``),
  ``ambiguous_ticker``, ``lookup_ticker`` (only the feed's own symbol lookup gave it), ``no_date``
  (``event_date`` left empty: fill it in or delete the row), ``date_conflict``, ``url_date``,
  ``secondary_date`` (a newsletter's date of the linked article, which can trail the release),
  ``inferred_time`` (time from an aggregator stamp in an assumed zone), ``low_confidence_type``,
  ``no_type`` (``event_type`` left empty), ``counterparty`` (a second row derived for the target
  of an acquisition);
* ``evidence``: the text that gave the company, ticker, date, time and type, ``" | "``-separated;
* ``sources``: every ``file#item`` the event was read from (several after de-duplication).

Everything that is not a candidate (non-news sections, market research, features, symbol-lookup
entries without news) is returned in the skipped table with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._errors import InputFileError, Problem
from ..events import EVENT_COLUMNS
from .classify import Rule, classify, load_rules
from .names import NameMap, bundled_names, normalize_name, read_names_csv, same_company
from .parsers import LookupEntry, ParsedDigest, RawItem, parse_digest
from .resolve import acquisition_target, find_company, known_names_in, resolve_ticker
from .timing import find_timing

REVIEW_COLUMNS: tuple[str, ...] = ("needs_review", "evidence", "sources")
DRAFT_COLUMNS: tuple[str, ...] = EVENT_COLUMNS + REVIEW_COLUMNS
SKIPPED_COLUMNS: tuple[str, ...] = ("source", "item", "title", "reason", "mentions", "url")
REVIEW_ORDER = ("no_date", "no_type", "no_ticker", "ambiguous_ticker", "lookup_ticker", "date_conflict", "url_date",
                "secondary_date", "inferred_time", "low_confidence_type", "counterparty")
_CONF_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass
class Candidate:
    row: dict
    title_tokens: frozenset


def _codes(*groups: list[str]) -> str:
    seen = {c for g in groups for c in g}
    return ";".join(c for c in REVIEW_ORDER if c in seen) + \
        "".join(f";{c}" for c in sorted(seen - set(REVIEW_ORDER)))


def _tokens(title: str) -> frozenset:
    return frozenset(w for w in re.findall(r"[a-z0-9]+", title.lower()) if len(w) > 2)


def _candidate(item: RawItem, company: str, company_ev: str, text: str, lookups: list[LookupEntry],
               names: NameMap, typing, timing, extra_review: list[str], note: str) -> Candidate:
    tick = resolve_ticker(company, text, lookups, names, item.page_symbols)
    d = timing.event_date
    row = {
        "event_id": "",
        "ticker": tick.ticker,
        "company": company,
        "event_date": d.isoformat() if d else "",
        "event_time": timing.event_time,
        "event_type": typing.event_type,
        "subtype": typing.subtype,
        "headline": item.title,
        "source_url": item.url,
        "confidence": timing.confidence,
        "notes": note,
        "needs_review": _codes(tick.review, timing.review, typing.review, extra_review),
        "evidence": " | ".join([company_ev] + tick.evidence + timing.evidence + typing.evidence),
        "sources": f"{item.source}#{item.number}",
    }
    return Candidate(row, _tokens(item.title))


def items_to_candidates(digest: ParsedDigest, rules: list[Rule], names: NameMap) -> tuple[list[Candidate], list[dict]]:
    """Candidates and skipped rows for one parsed digest (no de-duplication yet)."""
    lookup_names = [e.name for e in digest.lookups]
    cands: list[Candidate] = []
    skipped: list[dict] = [
        {"source": s.source, "item": s.number, "title": s.title, "reason": s.reason, "mentions": "", "url": ""}
        for s in digest.sections]
    for item in digest.items:
        text = f"{item.title}\n{item.text}"
        mentions = ", ".join(dict.fromkeys(n for _, n in known_names_in(item.text, names, lookup_names)))
        typing = classify(item.title, item.text, rules)
        if typing.skip_reason:
            skipped.append({"source": item.source, "item": item.number, "title": item.title,
                            "reason": typing.skip_reason, "mentions": mentions, "url": item.url})
            continue
        comp = find_company(item, names, lookup_names)
        if not comp.company:
            skipped.append({"source": item.source, "item": item.number, "title": item.title,
                            "reason": "no company named (feature or general article, not a company event)",
                            "mentions": mentions, "url": item.url})
            continue
        timing = find_timing(item.text, item.url, item.header_date)
        note = f"draft from {item.source} item {item.number} ({digest.parser} parser); check evidence"
        cands.append(_candidate(item, comp.company, comp.evidence, text, digest.lookups, names, typing, timing,
                                [], note))
        if typing.event_type == "m_and_a" and typing.subtype in ("antitrust_clearance", "acquisition_agreement"):
            target = acquisition_target(text, comp.company)
            if target and not same_company(target, comp.company):
                cands.append(_candidate(item, target, f"company: acquisition target named in the text ('{target}')",
                                        text, digest.lookups, names, typing, timing,
                                        ["counterparty"], f"target-side row of the {comp.company} event; " + note))
    used = {normalize_name(c.row["company"]) for c in cands}
    for e in digest.lookups:
        if normalize_name(e.name) not in used:
            skipped.append({"source": e.source, "item": 0, "title": f"symbol lookup: {e.name} -> {e.symbol or 'none'}",
                            "reason": "symbol-lookup entry with no news item about this company in the digest",
                            "mentions": e.name, "url": ""})
    return cands, skipped


#: A newsletter's (secondary) date may trail the release by this many calendar days.
SECONDARY_DATE_LAG = 3


def _same_event(a: dict, b: dict, ta: frozenset, tb: frozenset) -> bool:
    """One event from two sources: same company (ticker or name) and

    * same date and event type; or
    * same type and subtype, dates at most :data:`SECONDARY_DATE_LAG` days apart, and one of the
      dates is a newsletter's secondary date (``secondary_date``); or
    * a missing date on either side and near-identical headlines (Jaccard ≥ 0.6 on words of 3+ letters).
    """
    same_entity = (a["ticker"] and a["ticker"] == b["ticker"]) or same_company(a["company"], b["company"])
    if not same_entity:
        return False
    if a["event_date"] and b["event_date"]:
        if a["event_date"] == b["event_date"]:
            return a["event_type"] == b["event_type"]
        lag = abs((pd.Timestamp(a["event_date"]) - pd.Timestamp(b["event_date"])).days)
        secondary = "secondary_date" in a["needs_review"] or "secondary_date" in b["needs_review"]
        return secondary and lag <= SECONDARY_DATE_LAG and \
            (a["event_type"], a["subtype"]) == (b["event_type"], b["subtype"])
    jacc = len(ta & tb) / max(1, len(ta | tb))
    return jacc >= 0.6


def deduplicate(cands: list[Candidate]) -> list[dict]:
    """Merge candidates that report the same event; the merged row lists every source.

    The row with the better-dated source (confidence high > medium > low) is kept as the base;
    the others' URLs go into ``notes`` and their sources into ``sources``.
    """
    groups: list[list[Candidate]] = []
    for c in cands:
        for g in groups:
            if _same_event(g[0].row, c.row, g[0].title_tokens, c.title_tokens):
                g.append(c)
                break
        else:
            groups.append([c])
    out = []
    for g in groups:
        g = sorted(g, key=lambda c: (_CONF_RANK.get(c.row["confidence"], 3), not c.row["event_date"]))
        base = dict(g[0].row)
        if len(g) > 1:
            others = g[1:]
            base["sources"] = "; ".join([base["sources"]] + [c.row["sources"] for c in others])
            urls = [c.row["source_url"] for c in others if c.row["source_url"] and c.row["source_url"] != base["source_url"]]
            base["notes"] += f"; same event in {len(g)} sources" + (f"; also {' '.join(urls)}" if urls else "")
            base["evidence"] += " | dedup: merged " + ", ".join(c.row["sources"] for c in others)
            other_dates = sorted({c.row["event_date"] for c in others} - {base["event_date"], ""})
            if other_dates:
                base["evidence"] += (f" | date: kept {base['event_date']} ({base['confidence']} source); merged "
                                     f"source(s) said {', '.join(other_dates)}")
            if not base["ticker"]:
                filled = [c.row for c in others if c.row["ticker"]]
                if filled:
                    base["ticker"] = filled[0]["ticker"]
                    base["evidence"] += f" | ticker from merged source {filled[0]['sources']}"
                    base["needs_review"] = ";".join(x for x in base["needs_review"].split(";") if x != "no_ticker")
        out.append(base)
    return out


def assign_ids(rows: list[dict]) -> list[dict]:
    """``NEWS-YYYYMMDD-TICKER-n`` (``NODATE`` without a date; ``PRIV<NAME>`` without a ticker)."""
    counts: dict[str, int] = {}
    for r in rows:
        who = r["ticker"] or "PRIV" + re.sub(r"[^A-Z0-9]", "", normalize_name(r["company"]).split(" ")[0].upper())[:12]
        stem = f"NEWS-{r['event_date'].replace('-', '') or 'NODATE'}-{who}"
        counts[stem] = counts.get(stem, 0) + 1
        r["event_id"] = f"{stem}-{counts[stem]}"
    return rows


def read_digest(path: str | Path) -> str:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError([Problem(str(path), 0, "-", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise InputFileError([Problem(str(path), 0, "-", f"not UTF-8 text: {exc}")]) from None


def import_digests(paths: list[str | Path], rules: list[str | Path] | None = None,
                   names: list[str | Path] | None = None, name_map: NameMap | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse news digests into draft events and a table of skipped items.

    Parameters
    ----------
    paths : digest text files (any shape in :data:`eventstudy.news.parsers.PARSERS`).
    rules : extra rule CSVs added to (or overriding, by ``rule_id``) the bundled typing rules.
    names : extra ``name,ticker`` CSVs added to (or overriding, by normalised name) the name map.
    name_map : the base name map (default: the bundled one).

    Returns
    -------
    events : one row per candidate event, columns :data:`DRAFT_COLUMNS`, sorted by date
        (undated last); passes ``events validate`` except for empty ``event_date`` /
        ``event_type`` (flagged ``no_date`` / ``no_type`` in ``needs_review``).
    skipped : columns :data:`SKIPPED_COLUMNS`, every part of the digests that is not a candidate,
        with the reason.
    """
    rule_list = load_rules(rules)
    nm = name_map if name_map is not None else bundled_names()
    for f in names or []:
        nm = nm.override(read_names_csv(f))
    cands: list[Candidate] = []
    skipped: list[dict] = []
    for p in paths:
        digest = parse_digest(read_digest(p), Path(p).name)
        c, s = items_to_candidates(digest, rule_list, nm)
        cands += c
        skipped += s
    rows = deduplicate(cands)
    rows.sort(key=lambda r: (r["event_date"] == "", r["event_date"]))
    events = pd.DataFrame(assign_ids(rows), columns=list(DRAFT_COLUMNS))
    return events, pd.DataFrame(skipped, columns=list(SKIPPED_COLUMNS))


def skipped_path(out: str | Path) -> Path:
    """``events/draft.csv`` → ``events/draft.skipped.csv``."""
    out = Path(out)
    return out.with_name(out.stem + ".skipped.csv")


def write_draft(events: pd.DataFrame, skipped: pd.DataFrame, out: str | Path) -> Path:
    """Write the draft and its skipped list atomically (Excel-safe); return the skipped path."""
    from .._io import write_csv

    write_csv(events, out)
    sp = skipped_path(out)
    write_csv(skipped, sp)
    return sp
