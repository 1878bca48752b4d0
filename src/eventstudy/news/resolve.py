"""Who is the news about, and what is its US ticker.

:func:`find_company` picks the company of an item (press-release dateline, a known name in the
title, the title's subject, a known name in the body or the URL host). :func:`resolve_ticker`
then tries, in order, and records each step in the evidence:

1. exchange tags in the text (``(Nasdaq: CRBP)``, ``NYSE: PFE``); with a dual listing
   (``Euronext: NANO – NASDAQ: NBTX``) the US listing is preferred and the evidence says so;
   OTC and foreign tags are noted, never used;
2. the digest's own symbols: the symbol-lookup block, when it names a plain US symbol (``5NR.F``
   style foreign symbols and lookup errors are noted, not used), and page boilerplate such as
   ``About ALLO``;
3. the company-name map (:mod:`eventstudy.news.names`).

No step guesses: when nothing applies the ticker is empty (``needs_review=no_ticker``); when the
sources disagree the ticker is empty too (``ambiguous_ticker``) and the evidence lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlparse

from .names import NON_COMPANY_BODIES, NameMap, normalize_name
from .parsers import LookupEntry, RawItem

US_EXCHANGES = ("NASDAQ", "NYSE", "NYSE AMERICAN", "NYSE MKT", "NYSE ARCA", "CBOE")
OTC_EXCHANGES = ("OTC", "OTCQX", "OTCQB", "OTC PINK", "OTC MARKETS")

# Longer, non-US "Nasdaq <city>" names first so that "Nasdaq Copenhagen: GMAB" is not read as US.
_EXCH = (r"Nasdaq (?:Copenhagen|Stockholm|Helsinki|Iceland|Tallinn|Riga|Vilnius|First North)|"
         r"NYSE American|NYSE MKT|NYSE Arca|Nasdaq(?: ?GS| ?GM| ?CM| Global Select Market| Global Market|"
         r" Capital Market)?|NYSE|Cboe|Euronext(?: Paris| Brussels| Amsterdam| Growth| Lisbon| Oslo)?|"
         r"TSX(?:V| Venture)?|LSE|AIM|ASX|SIX|HKEX|SEHK|TSE|TYO|KOSDAQ|KRX|OTCQX|OTCQB|OTC Pink|OTC Markets|OTC|"
         r"Frankfurt|FSE|XETRA")
EXCHANGE_TAG = re.compile(rf"\b({_EXCH})\s*:\s*([A-Z0-9]{{1,6}}(?:\.[A-Z]{{1,2}})?)\b", re.I)
_US_SYMBOL = re.compile(r"[A-Z]{1,5}")


def _exchange_kind(exch: str) -> str:
    e = re.sub(r"\s+", " ", exch.upper())
    if e.startswith("NASDAQ ") and not re.match(r"NASDAQ ?(GS|GM|CM|GLOBAL|CAPITAL)", e):
        return "foreign"
    if e.split(" ")[0] in ("NASDAQ", "NYSE", "CBOE") or e in US_EXCHANGES:
        return "us"
    if e in OTC_EXCHANGES or e.startswith("OTC"):
        return "otc"
    return "foreign"


@dataclass(frozen=True)
class ExchangeTag:
    exchange: str
    symbol: str
    kind: str  # us | otc | foreign
    pos: int
    end: int


def exchange_tags(text: str) -> list[ExchangeTag]:
    """All ``EXCHANGE: SYMBOL`` tags in ``text``, in order."""
    return [ExchangeTag(m.group(1), m.group(2).upper(), _exchange_kind(m.group(1)), m.start(), m.end())
            for m in EXCHANGE_TAG.finditer(text)]


def tag_group(tags: list[ExchangeTag], text: str) -> list[ExchangeTag]:
    """The first tag and the tags that directly follow it, separated only by punctuation or
    dashes (``Euronext: NANO –– NASDAQ: NBTX``, ``(TSX: ONC) (NASDAQ: ONCY)``, ``NASDAQ: A; NYSE: B``)."""
    group = tags[:1]
    for t in tags[1:]:
        gap = text[group[-1].end:t.pos]
        if len(gap) > 12 or re.search(r"[A-Za-z]", gap):
            break
        group.append(t)
    return group


_PARENS = re.compile(r"\([^()]*\)")


def attached(company: str, text: str, pos: int) -> bool:
    """Whether the tag at ``pos`` belongs to ``company``: a mention of the company's name (its
    first core word) precedes it with only name words and parenthesised asides in between, e.g.
    ``Corbus Pharmaceuticals Holdings, Inc. (Nasdaq: CRBP)`` or
    ``Cosmos Health Inc. ("Cosmos Health" or the "Company") (NASDAQ:COSM)``; in ``Pfizer ... the
    acquisition of Metsera Inc. (NASDAQ: MTSR)`` the tag is Metsera's, not Pfizer's."""
    key = normalize_name(company) if company else ""
    if not key:
        return False
    word = re.escape(key.split(" ")[0])
    for m in re.finditer(rf"(?<![\w-]){word}", text[max(0, pos - 400):pos], re.I):
        gap = _PARENS.sub(" ", text[max(0, pos - 400) + m.end():pos])
        if len(gap) <= 45 and gap.rstrip().endswith("(") or len(gap.strip()) <= 3:
            if not re.search(r"\b(?:of|and|with|by|from|to|acquire|acquisition|said|announced)\b", gap, re.I):
                return True
    return False


@dataclass
class TickerResult:
    ticker: str
    method: str  # exchange_tag | lookup_block | page_symbol | name_map | none | ambiguous | non_company
    evidence: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)


def resolve_ticker(company: str, text: str, lookups: list[LookupEntry], names: NameMap,
                   page_symbols: tuple[str, ...] = ()) -> TickerResult:
    """Resolve the US ticker of ``company`` from the item ``text`` and the digest's hints.

    Returns the ticker ("" when unresolved), the method and the evidence lines; ``review``
    holds ``no_ticker`` / ``ambiguous_ticker`` / ``lookup_ticker`` codes.
    """
    ev: list[str] = []
    key = normalize_name(company) if company else ""
    if key.split(" ")[0] in NON_COMPANY_BODIES:
        return TickerResult("", "non_company", [f"ticker: none: '{company}' is a regulator or public body, "
                                               "not a listed company"], ["no_ticker"])
    # 1. exchange tags attached to the company's name, and the tags right after them (one group)
    all_tags = exchange_tags(text)
    first = next((t for t in all_tags if attached(company, text, t.pos)), None)
    tags = [t for t in all_tags if first is not None and t.pos >= first.pos]
    if all_tags and first is None:
        shown = ", ".join(f"{t.exchange}: {t.symbol}" for t in all_tags)
        ev.append(f"ticker: tags '{shown}' are not attached to '{company or '?'}' (another company's?): not used")
    if tags:
        group = tag_group(tags, text)
        us = list(dict.fromkeys(t.symbol for t in group if t.kind == "us"))
        shown = ", ".join(f"{t.exchange}: {t.symbol}" for t in group)
        others = sorted({t.symbol for t in all_tags if t not in group and t.kind == "us"} - set(us))
        for t in group:
            if t.kind == "otc":
                ev.append(f"ticker: OTC tag '{t.exchange}: {t.symbol}' noted, not used (not an exchange listing)")
        if len(us) == 1:
            note = f"ticker: exchange tag '{shown}'"
            if len(group) > 1 and any(t.kind != "us" for t in group):
                note += f" -> {us[0]} (dual listing: US listing preferred)"
            if others:
                note += f"; other US tags later in the text (not the issuer's): {', '.join(others)}"
            ev.append(note)
            _cross_check(us[0], key, company, lookups, names, ev)
            return TickerResult(us[0], "exchange_tag", ev, [])
        if len(us) > 1:
            ev.append(f"ticker: several US tags in one group '{shown}': ambiguous")
            return TickerResult("", "ambiguous", ev, ["ambiguous_ticker"])
        ev.append(f"ticker: only non-US tags '{shown}': not used")
    # 2a. the digest's symbol-lookup block
    candidates: list[tuple[str, str]] = []
    for entry in lookups:
        if key and normalize_name(entry.name) == key:
            if not entry.symbol:
                ev.append(f"ticker: lookup block '{entry.name}' gave no symbol"
                          + (f" ({entry.note[:90]})" if entry.note else ""))
            elif not _US_SYMBOL.fullmatch(entry.symbol):
                ev.append(f"ticker: lookup block '{entry.name}' -> {entry.symbol} noted, not used "
                          "(foreign or OTC symbol, not a US listing)")
            else:
                candidates.append((entry.symbol, f"lookup block '{entry.name}' -> {entry.symbol}"))
    # 2b. page boilerplate symbols
    for s in page_symbols:
        candidates.append((s, f"page symbol '{s}' (from 'About {s}' / 'Analyst Views on {s}' lines)"))
    # 3. the name map
    hit = names.lookup(company) if company else None
    if hit is not None:
        if hit.tickers == ("",):
            ev.append(f"ticker: name map lists '{company}' as unlisted (source: {hit.sources[0]})")
        elif len(set(hit.tickers)) > 1:
            ev.append(f"ticker: name map has several tickers for '{hit.key}': {', '.join(hit.tickers)}")
            return TickerResult("", "ambiguous", ev, ["ambiguous_ticker"])
        else:
            candidates.append((hit.tickers[0], f"name map '{hit.key}' -> {hit.tickers[0]} (source: {hit.sources[0]})"))
    found = list(dict.fromkeys(c[0] for c in candidates))
    if found and hit is not None and hit.tickers == ("",):
        ev.append("ticker: the name map says unlisted but " + "; ".join(c[1] for c in candidates) + ": ambiguous")
        return TickerResult("", "ambiguous", ev, ["ambiguous_ticker"])
    if len(found) == 1:
        ev.append("ticker: " + "; ".join(c[1] for c in candidates))
        only_lookup = all(c[1].startswith("lookup block") for c in candidates)
        method = candidates[0][1].split(" ")[0] if candidates[0][1].startswith("lookup") else \
            ("page_symbol" if candidates[0][1].startswith("page") else "name_map")
        return TickerResult(found[0], method if method != "lookup" else "lookup_block", ev,
                            ["lookup_ticker"] if only_lookup else [])
    if len(found) > 1:
        ev.append("ticker: sources disagree: " + "; ".join(c[1] for c in candidates))
        return TickerResult("", "ambiguous", ev, ["ambiguous_ticker"])
    if not any(e.startswith("ticker: name map") for e in ev):
        ev.append(f"ticker: none: no exchange tag, no usable lookup symbol, "
                  f"'{company or '?'}' not in the name map")
    return TickerResult("", "none", ev, ["no_ticker"])


def _cross_check(ticker: str, key: str, company: str, lookups: list[LookupEntry], names: NameMap,
                 ev: list[str]) -> None:
    hit = names.lookup(company) if company else None
    if hit is not None and hit.tickers != ("",) and ticker not in hit.tickers:
        ev.append(f"ticker: note: name map has '{hit.key}' -> {', '.join(hit.tickers)} (tag used)")
    for entry in lookups:
        if key and normalize_name(entry.name) == key and entry.symbol and entry.symbol != ticker:
            kind = "foreign/OTC symbol" if not _US_SYMBOL.fullmatch(entry.symbol) else "different symbol"
            ev.append(f"ticker: lookup block '{entry.name}' -> {entry.symbol} noted, not used ({kind})")


# ---- company -------------------------------------------------------------------------------------

_DATELINE_COMPANY = re.compile(r"(?:\((?:GLOBE NEWSWIRE|BUSINESS WIRE|PR ?NEWSWIRE|ACCESSWIRE|ACCESS Newswire|"
                               r"Newsfile|EQS[^)]*)\)|/PRNewswire/)\s*[-–—]+\s*(?P<rest>[^\n]{3,300})", re.I)
_LEGAL_END = re.compile(r"^(.{2,80}?(?:,? (?:Inc|Corp|Ltd|plc|LLC|N\.V|S\.A|SE|AG|A/S|Co)\.?))(?=[\s,(“\"])")
_TITLE_STOP = frozenset("""
announces announce announced reports report reported receives receive received earns earn gets get wins
launches launch launched unveils unveil enters enter prices price priced defines define advances advance
opens open presents present to shares stock stocks completes complete signs sign secures secure raises raise
provides provide outlines outline initiates initiate begins begin expands expand grants granted posts joins
closes close files file submits submit says said is are was will could may
""".split())
_GENERIC_LEAD = frozenset("one the a an new how why what when where this these us global study report according".split())
_COMPANY_WORDS = frozenset("""inc corp ltd plc therapeutics pharmaceuticals pharma biotech bio biosciences
medicines biopharma sciences health holdings oncology genetics biologics""".split())


def dateline_company(text: str) -> str:
    """The issuer named right after a wire dateline (``(GLOBE NEWSWIRE) -- Corbus ... Inc. (Nasdaq: ...``)."""
    m = _DATELINE_COMPANY.search(text)
    if not m:
        return ""
    rest = m["rest"]
    lm = _LEGAL_END.match(rest)
    cand = lm.group(1) if lm else re.split(r"\s*[(,“\"]|\s[-–—]\s|\s(?:today|has|is|a|an|the)\s", rest, maxsplit=1)[0]
    cand = cand.strip().strip(",")
    words = cand.split()
    if not words or len(words) > 7 or not words[0][:1].isupper() or words[0].lower() in _GENERIC_LEAD:
        return ""
    return cand


def title_subject(title: str) -> tuple[str, bool]:
    """Leading name of a headline and whether it is a strong cue (possessive or company word).

    ``"Wugen’s Sofi-cel earns ..."`` → ``("Wugen", True)``; ``"Oncolytics Biotech Advances ..."`` →
    ``("Oncolytics Biotech", True)``; ``"CHLA site opens ..."`` → ``("CHLA", False)``.
    """
    out: list[str] = []
    for raw in title.replace("’", "'").split():
        w = raw.strip(",:;")
        if not w or w.lower() in _TITLE_STOP or not (w[0].isupper() or w[0].isdigit() and out) or \
                w[0].isdigit():
            break
        if w.endswith("'s"):
            out.append(w[:-2])
            return " ".join(out), True
        out.append(w)
        if w.lower() in _COMPANY_WORDS:
            return " ".join(out), True
        if raw.endswith((",", ":", ";")) or len(out) >= 4:
            break
    if not out or out[0].lower() in _GENERIC_LEAD:
        return "", False
    return " ".join(out), False


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern:
    words = [r"(?:and|&)" if w.lower() in ("and", "&") else re.escape(w) for w in re.split(r"\s+", name.strip())]
    return re.compile(r"(?<![\w-])" + r"[\s,]+".join(words) + r"(?![\w-])", re.I)


_LEGAL_TAIL = re.compile(r"(?:,?\s+(?:Inc|Corp|Corporation|Ltd|Limited|plc|LLC|N\.V|S\.A|SA|SE|AG|A/S|Co)\.?)+\s*$", re.I)


def known_names_in(text: str, names: NameMap, extra: list[str]) -> list[tuple[int, str]]:
    """Known company names mentioned in ``text`` as ``(position, name)``, earliest first.

    A name whose normalised core is one short word (< 5 letters, e.g. "kite", "rain") must appear
    in full ("Kite Pharma"); others match on their core, capitalised ("Gilead", "Pfizer").
    """
    found: dict[str, tuple[int, str]] = {}
    pool = [(k, n) for k, n in zip(names.table["key"], names.table["name"])] + [(normalize_name(n), n) for n in extra]
    for key, name in dict(pool).items():
        if not key or key in found or key.split(" ")[0] in NON_COMPANY_BODIES:
            continue
        probe = _LEGAL_TAIL.sub("", re.sub(r"\([^)]*\)", "", name)).strip() \
            if (" " not in key and len(key) < 5) else key
        pat = _name_pattern(probe)
        for m in pat.finditer(text):
            if m.group(0)[:1].isupper():
                found[key] = (m.start(), _extend(text, m))
                break
    return sorted(found.values())


_SUFFIX_RUN = re.compile(r"(?:,?\s+(?:Inc\.?|Corp\.?|Ltd\.?|plc|N\.V\.|S\.A\.|SE|AG|A/S|Holdings|Therapeutics|"
                         r"Pharmaceuticals?|Pharma|Biotech|Biosciences|Medicines|Sciences|Bio|Oncology|Health))+")


def _extend(text: str, m: re.Match) -> str:
    """The matched name as written, extended over following company words ("Allogene Therapeutics")."""
    tail = _SUFFIX_RUN.match(text, m.end())
    return (m.group(0) + (tail.group(0) if tail else "")).strip()


def url_host_name(url: str, names: NameMap, extra: list[str]) -> str:
    """A known company whose core is the URL's host name (``ir.genmab.com`` → Genmab)."""
    host = urlparse(url).netloc.lower()
    parts = [p for p in host.split(".") if p not in ("www", "ir", "investors", "news", "com", "net", "org", "co")]
    if not parts:
        return ""
    label = parts[-1].replace("-", "")
    for key, name in list(zip(names.table["key"], names.table["name"])) + [(normalize_name(n), n) for n in extra]:
        if key and key.replace(" ", "") == label:
            return name
    return ""


@dataclass
class CompanyResult:
    company: str
    evidence: str


def find_company(item: RawItem, names: NameMap, lookup_names: list[str]) -> CompanyResult:
    """The company an item is about, with the cue that gave it ("" when none)."""
    dl = dateline_company(item.text)
    if dl:
        return CompanyResult(dl, f"company: named after the wire dateline ('{dl}')")
    in_title = known_names_in(item.title, names, lookup_names)
    if in_title:
        return CompanyResult(in_title[0][1], f"company: known name '{in_title[0][1]}' in the title")
    subj, strong = title_subject(item.title)
    if subj and strong:
        return CompanyResult(subj, f"company: headline subject '{subj}'")
    host = url_host_name(item.url, names, lookup_names)
    if host:
        return CompanyResult(host, f"company: source URL host names '{host}'")
    in_body = known_names_in(item.text, names, lookup_names)
    if in_body:
        return CompanyResult(in_body[0][1], f"company: first known name in the text '{in_body[0][1]}'")
    if subj:
        return CompanyResult(subj, f"company: headline subject '{subj}' (weak cue)")
    return CompanyResult("", "company: none named in the title, dateline or text")


_TARGET = re.compile(r"\b(?:acquisition of|to acquire|acquire|merger with|buyout of)\s+(?:[a-z-]+\s+){0,3}"
                     r"((?:[A-Z][\w&.-]*\s?){1,4}?)(?:,? Inc\.?|,? Corp\.?|,? Ltd\.?|\b)(?=[\s\"”.,;]|$)")


def acquisition_target(text: str, acquirer: str) -> str:
    """The target company of an acquisition (``acquisition of biotechnology company Metsera Inc.``)."""
    for m in _TARGET.finditer(text):
        name = m.group(1).strip()
        if name and normalize_name(name) != normalize_name(acquirer) and name.split()[0].lower() not in _GENERIC_LEAD:
            return name
    return ""
