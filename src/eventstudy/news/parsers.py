"""Digest parsers: one small parser per digest shape, all behind one interface.

A parser is a :class:`DigestParser`: ``sniff(text) -> bool`` says whether the text has its shape
and ``parse(text, source) -> ParsedDigest`` cuts it into :class:`RawItem` news items, symbol-lookup
entries and non-item sections (kept with a reason so nothing is dropped silently).
:func:`parse_digest` tries :data:`PARSERS` in order; :class:`GenericParser` (one item per
paragraph) always accepts. To support a new shape, write a class with ``name``, ``sniff`` and
``parse`` and insert it in :data:`PARSERS` before the generic one.

Parsers only cut text; they do not interpret it (dates, tickers and types come later), except
for a date written in the item header of a newsletter, which belongs to the shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]+")


@dataclass
class RawItem:
    """One news item as cut from a digest.

    ``header_date`` is the date string printed in the item's header (newsletters), ``page_symbols``
    the symbols the page itself names in boilerplate ("About ALLO").
    """

    source: str
    number: int
    title: str
    text: str
    url: str = ""
    parser: str = ""
    header_date: str = ""
    header_region: str = ""
    page_symbols: tuple[str, ...] = ()


@dataclass(frozen=True)
class LookupEntry:
    """One entry of a digest's symbol-lookup block ("Company info ...")."""

    source: str
    name: str
    symbol: str  # "" when the lookup gave none
    note: str    # the lookup's own error / note text, if any


@dataclass(frozen=True)
class Section:
    """A part of a digest that is not a news item (boilerplate, FAQ, empty feed block)."""

    source: str
    number: int
    title: str
    reason: str


@dataclass
class ParsedDigest:
    parser: str
    items: list[RawItem] = field(default_factory=list)
    lookups: list[LookupEntry] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


class DigestParser(Protocol):
    name: str

    def sniff(self, text: str) -> bool: ...

    def parse(self, text: str, source: str) -> ParsedDigest: ...


def clean_title(title: str) -> str:
    """Title without emoji, footnote marks and trailing colon."""
    t = _EMOJI.sub("", title)
    t = re.sub(r"\s*\[\d+\]\s*", " ", t)
    return re.sub(r"\s+", " ", t).strip().rstrip(":").strip()


# ---- feed dump: [TITLE] / [TEXT] / [Source link] blocks + "Company info" lookup blocks ----------

_LOOKUP_HEADER = re.compile(r"^=+\s*Company info", re.M)
_FIELD = re.compile(r"^([A-Za-z_ ]+):\s*(.*)$")


def parse_lookup_block(block: str, source: str) -> list[LookupEntry]:
    """Entries of a symbol-lookup block (``Company name:``, ``symbol:``, ``error:``/``note:`` lines,
    entries separated by dashed lines). A symbol ``None`` becomes ``""``."""
    out = []
    for chunk in re.split(r"^-{5,}\s*$", block, flags=re.M):
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            m = _FIELD.match(line.strip())
            if m and m.group(1).strip().lower() not in fields:
                fields[m.group(1).strip().lower()] = m.group(2).strip()
        name = fields.get("company name") or fields.get("name")
        if not name:
            continue
        sym = fields.get("symbol", "")
        sym = "" if sym.lower() in ("", "none", "null", "n/a") else sym
        note = "; ".join(f"{k}: {fields[k]}" for k in ("error", "note") if fields.get(k))
        out.append(LookupEntry(source, name, sym, note))
    return out


class FeedDumpParser:
    """Feed dump: ``[TITLE]…`` ``[TEXT]…`` ``[Source link]: URL`` blocks between ``=====`` lines,
    plus "Company info" symbol-lookup blocks (e.g. ``digest_c_2025-10-31.txt``)."""

    name = "feed_dump"

    def sniff(self, text: str) -> bool:
        return "[TITLE]" in text and "[TEXT]" in text

    def parse(self, text: str, source: str) -> ParsedDigest:
        out = ParsedDigest(self.name)
        n = 0
        for block in re.split(r"^={20,}\s*$", text, flags=re.M):
            if not block.strip():
                continue
            m = _LOOKUP_HEADER.search(block)
            if m:
                out.lookups.extend(parse_lookup_block(block[m.start():], source))
                block = block[:m.start()]
                if not block.strip():
                    continue
            pieces = re.split(r"^\[TITLE\]", block, flags=re.M)
            if pieces[0].strip():
                n += 1
                out.sections.append(Section(source, n, pieces[0].strip().splitlines()[0][:80],
                                            "feed block without a [TITLE] item (e.g. 'No articles found')"))
            for piece in pieces[1:]:
                n += 1
                title, _, rest = piece.partition("\n")
                body, _, link = rest.partition("[Source link]:")
                body = re.sub(r"^\[TEXT\]\s*", "", body.strip())
                out.items.append(RawItem(source, n, clean_title(title), body.strip(),
                                         link.strip().split()[0] if link.strip() else "", self.name))
        return out


# ---- newsletter: "emoji title [n] [REGION • 21 Jan 2026]" then URL, Context/Key point/Implication --

_NL_HEADER = re.compile(r"^(?P<title>.+?)\s*(?:\[\d+\])?\s*\[(?P<region>[A-Z]{2,6})\s*[•·|-]\s*"
                        r"(?P<date>\d{1,2} [A-Z][a-z]{2,8} \d{4})\]\s*$")


class NewsletterParser:
    """Newsletter: item header ``title [n] [US • 21 Jan 2026]``, the URL on the next line, then
    ``Context:``/``Key point:``/``Implication:`` lines; other sections (intro, "Why it matters",
    FAQ, references) are kept as non-item sections (e.g. ``digest_b_2026-01-hematology.txt``)."""

    name = "newsletter"

    def sniff(self, text: str) -> bool:
        return sum(bool(_NL_HEADER.match(line.strip())) for line in text.splitlines()) >= 2

    def parse(self, text: str, source: str) -> ParsedDigest:
        out = ParsedDigest(self.name)
        lines = text.splitlines()
        heads = [i for i, line in enumerate(lines) if _NL_HEADER.match(line.strip())]
        n = 0
        if heads and heads[0] > 0:
            n += 1
            out.sections.append(Section(source, n, lines[0].strip()[:80], "newsletter introduction"))
        for k, i in enumerate(heads):
            m = _NL_HEADER.match(lines[i].strip())
            end = heads[k + 1] if k + 1 < len(heads) else len(lines)
            body: list[str] = []
            url = ""
            for line in lines[i + 1:end]:
                s = line.strip()
                if _ends_items(s):
                    break
                if not url and not body and re.match(r"https?://\S+$", s):
                    url = s
                elif s:
                    body.append(s)
            n += 1
            out.items.append(RawItem(source, n, clean_title(m["title"]), "\n".join(body), url,
                                     self.name, header_date=m["date"], header_region=m["region"]))
        last = heads[-1] if heads else 0
        tail = [s.strip() for s in lines[last + 1:] if _ends_items(s.strip())]
        for t in tail:
            n += 1
            out.sections.append(Section(source, n, t, "newsletter section, not a news item"))
        return out


def _ends_items(line: str) -> bool:
    return line in ("Why it matters", "FAQ", "References") or line.startswith("Entities / Keywords")


# ---- plain summaries: a title line, then bullets or one paragraph; blank lines between -----------

_PAGE_SYMBOL = re.compile(r"^(?:About|Analyst Views on)\s+([A-Z]{1,5})$")
_BOILERPLATE = re.compile(r"^(Get Free Real-Time Notifications.*|About the author|Analyst Views on [A-Z]{1,5}|"
                          r"About [A-Z]{1,5})$")


class SummaryParser:
    """Plain news summaries: blocks separated by blank lines, each a title line followed by a
    paragraph or ``- `` bullets; no dates, no tickers (e.g. ``digest_a_2026-01.txt``). Page
    boilerplate lines such as ``About ALLO`` are removed and their symbol kept as a page symbol."""

    name = "summaries"

    def sniff(self, text: str) -> bool:
        blocks = _blocks(text)
        return bool(blocks) and all(len(b) >= 2 and len(b[0]) <= 160 and not b[0].startswith("- ") for b in blocks) \
            and sum(len(" ".join(b[1:])) > 200 for b in blocks) >= 1

    def parse(self, text: str, source: str) -> ParsedDigest:
        out = ParsedDigest(self.name)
        for n, b in enumerate(_blocks(text), start=1):
            syms = tuple(m.group(1) for line in b if (m := _PAGE_SYMBOL.match(line)))
            body = [line for line in b[1:] if not _BOILERPLATE.match(line)]
            out.items.append(RawItem(source, n, clean_title(b[0]), "\n".join(body), "", self.name,
                                     page_symbols=tuple(dict.fromkeys(syms))))
        return out


def _blocks(text: str) -> list[list[str]]:
    return [[line.strip() for line in blk.splitlines() if line.strip()]
            for blk in re.split(r"\n\s*\n", text) if blk.strip()]


class GenericParser:
    """Fallback for unknown shapes: one item per paragraph, its first line as the title."""

    name = "generic"

    def sniff(self, text: str) -> bool:
        return True

    def parse(self, text: str, source: str) -> ParsedDigest:
        out = ParsedDigest(self.name)
        for n, b in enumerate(_blocks(text), start=1):
            urls = [w for line in b for w in line.split() if re.match(r"https?://", w)]
            out.items.append(RawItem(source, n, clean_title(b[0]), "\n".join(b[1:]) or b[0],
                                     urls[0] if urls else "", self.name))
        return out


#: Tried in order; the first whose ``sniff`` accepts the text parses it.
PARSERS: list[DigestParser] = [FeedDumpParser(), NewsletterParser(), SummaryParser(), GenericParser()]


def parse_digest(text: str, source: str, parsers: list[DigestParser] | None = None) -> ParsedDigest:
    """Parse one digest's text with the first parser whose shape matches."""
    for p in parsers or PARSERS:
        if p.sniff(text):
            return p.parse(text, source)
    raise ValueError("no parser accepted the text")  # unreachable with GenericParser last
