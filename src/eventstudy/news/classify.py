"""Event type and subtype by transparent, user-extendable rules.

Rules live in a CSV (bundled: ``eventstudy/data/news_rules.csv``; more with ``--rules FILE``),
one rule per row::

    rule_id,action,event_type,subtype,pattern,requires,confidence,priority,note

* ``action``: ``event`` (assign ``event_type``/``subtype``) or ``skip`` (the item is not a company
  event; ``note`` is the reason written to the skipped list);
* ``pattern``: a case-insensitive regular expression searched in the title and the text;
  ``requires`` (optional) a second expression that must also occur somewhere in the item;
* ``confidence``: ``high``/``medium``/``low`` for a match in the title; a match only in the body
  is one level lower;
* ``priority``: larger wins. A user rule with an existing ``rule_id`` replaces it.

Choice: among the rules that match, a title match beats a body-only match, then the higher
priority wins. A ``skip`` rule applies when it wins on the title, or when it is the only kind of
rule that matched. When two different event types match in the title at the same priority, the
type is kept but its confidence becomes ``low``. Every match (winner and runners-up) goes into
``evidence`` with the words it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


from .._errors import InputFileError, Problem
from ..events import CONFIDENCE_LEVELS, TAXONOMY
from .names import read_text_csv

RULE_COLUMNS = ("rule_id", "action", "event_type", "subtype", "pattern", "requires", "confidence", "priority", "note")
_LOWER = {"high": "medium", "medium": "low", "low": "low"}


@dataclass(frozen=True)
class Rule:
    rule_id: str
    action: str
    event_type: str
    subtype: str
    pattern: re.Pattern
    requires: re.Pattern | None
    confidence: str
    priority: float
    note: str


def read_rules(path: str | Path) -> list[Rule]:
    """Read and check a rules CSV; raise ``InputFileError`` naming file, row and field of each fault."""
    path = Path(path)
    frame = read_text_csv(path, ("rule_id", "action", "pattern"))
    problems: list[Problem] = []
    frame = frame.reindex(columns=RULE_COLUMNS, fill_value="").astype(str)
    rules = []
    for i, r in enumerate(frame.itertuples(index=False), start=1):
        def bad(fld: str, msg: str) -> None:
            problems.append(Problem(str(path), i, fld, msg))

        action = r.action.strip().lower()
        if action not in ("event", "skip"):
            bad("action", f"{r.action!r} is not 'event' or 'skip'")
        if action == "event" and r.event_type not in TAXONOMY:
            bad("event_type", f"unknown event type {r.event_type!r} (known: {', '.join(sorted(TAXONOMY))})")
        if action == "event" and not r.subtype.strip():
            bad("subtype", "an event rule needs a subtype")
        conf = r.confidence.strip() or "medium"
        if conf not in CONFIDENCE_LEVELS:
            bad("confidence", f"{r.confidence!r} is not one of high, medium, low")
        try:
            prio = float(r.priority) if r.priority.strip() else 50.0
        except ValueError:
            bad("priority", f"{r.priority!r} is not a number")
            prio = 0.0
        pats = []
        for fld, text in (("pattern", r.pattern), ("requires", r.requires)):
            if fld == "pattern" and not text.strip():
                bad("pattern", "empty pattern")
                pats.append(None)
                continue
            try:
                pats.append(re.compile(text, re.I) if text.strip() else None)
            except re.error as exc:
                bad(fld, f"not a regular expression: {exc}")
                pats.append(None)
        if not r.rule_id.strip():
            bad("rule_id", "empty rule_id")
        rules.append(Rule(r.rule_id.strip(), action, r.event_type.strip(), r.subtype.strip(), pats[0], pats[1],
                          conf, prio, r.note.strip()))
    if problems:
        raise InputFileError(problems)
    return rules


def bundled_rules_path() -> Path:
    return Path(str(resources.files("eventstudy") / "data" / "news_rules.csv"))


def load_rules(extra: list[str | Path] | None = None, bundled: bool = True) -> list[Rule]:
    """Bundled rules plus the rules of each ``extra`` file (same ``rule_id`` → replaced)."""
    by_id: dict[str, Rule] = {}
    for path in ([bundled_rules_path()] if bundled else []) + list(extra or []):
        for rule in read_rules(path):
            by_id[rule.rule_id] = rule
    return list(by_id.values())


@dataclass
class Typing:
    """Outcome for one item: ``skip_reason`` set for a skipped item, else the type (may be empty)."""

    event_type: str = ""
    subtype: str = ""
    confidence: str = "low"
    skip_reason: str = ""
    evidence: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)


def _snippet(m: re.Match) -> str:
    return re.sub(r"\s+", " ", m.group(0))[:80]


def classify(title: str, text: str, rules: list[Rule]) -> Typing:
    """Type one item by the rules (see the module docstring for how the winner is chosen)."""
    hits = []
    whole = f"{title}\n{text}"
    for rule in rules:
        if rule.pattern is None:
            continue
        if rule.requires is not None and not rule.requires.search(whole):
            continue
        m_title = rule.pattern.search(title)
        m = m_title or rule.pattern.search(text)
        if m:
            hits.append((bool(m_title), rule.priority, rule, _snippet(m)))
    if not hits:
        return Typing(evidence=["type: no rule matched"], review=["no_type"])
    hits.sort(key=lambda h: (h[0], h[1]), reverse=True)
    events = [h for h in hits if h[2].action == "event"]
    top = hits[0]
    if top[2].action == "skip" and (top[0] or not events):
        where = "title" if top[0] else "text"
        return Typing(skip_reason=f"{top[2].note or 'not a company event'} (rule '{top[2].rule_id}' matched "
                                  f"'{top[3]}' in the {where})")
    in_title, prio, rule, words = events[0]
    conf = rule.confidence if in_title else _LOWER[rule.confidence]
    ev = [f"type: rule '{rule.rule_id}' matched '{words}' in the {'title' if in_title else 'text'}"]
    rivals = [h for h in events[1:] if h[0] == in_title and h[1] == prio and h[2].event_type != rule.event_type]
    if rivals:
        conf = "low"
        ev.append("type: tie with " + ", ".join(f"'{h[2].rule_id}' ({h[2].event_type})" for h in rivals))
    others = [h for h in events[1:] if h not in rivals][:3]
    if others:
        ev.append("type: also matched " + "; ".join(
            f"'{h[2].rule_id}' on '{h[3]}' ({'title' if h[0] else 'text'})" for h in others))
    ev[0] += f" (confidence {conf})"
    return Typing(rule.event_type, rule.subtype, conf, "", ev, ["low_confidence_type"] if conf == "low" else [])
