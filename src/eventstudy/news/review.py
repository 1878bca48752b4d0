"""Review screens for a draft events file: one block of text per candidate.

A person accepts a candidate by editing the CSV: fill an empty ``event_date`` / ``event_type`` /
``ticker`` (or delete the row) and clear ``needs_review``. ``events validate`` then passes, and
``run`` takes the file as it is (the review columns pass through as extra columns).
"""

from __future__ import annotations

import pandas as pd

#: What to do for each review code (shown under the candidate).
ADVICE: dict[str, str] = {
    "no_date": "no date in the digest: find the release date and fill event_date (YYYY-MM-DD), or delete the row",
    "no_type": "no rule matched: fill event_type/subtype (see events/README.md), or delete the row",
    "no_ticker": "no US ticker: leave empty if unlisted (reported 'unmapped'), or fill the listing symbol",
    "ambiguous_ticker": "sources disagree on the ticker: pick one from the evidence",
    "lookup_ticker": "ticker only from the feed's symbol lookup (can be wrong): confirm it",
    "date_conflict": "dates disagree: check the primary release",
    "url_date": "date only from the URL path: confirm it",
    "secondary_date": "date of the newsletter's linked article, which can trail the release: confirm it",
    "inferred_time": "event_time inferred from an aggregator stamp in an assumed time zone: confirm it",
    "low_confidence_type": "type matched only weakly: confirm event_type/subtype",
    "counterparty": "second row derived for the acquisition target: keep if the target is listed",
}

_FIELDS = ("event_id", "company", "ticker", "event_date", "event_time", "event_type", "subtype", "confidence",
           "headline", "source_url", "sources")


def needs_review(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows with a non-empty ``needs_review``."""
    if "needs_review" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["needs_review"].fillna("").astype(str).str.strip().ne("")


def review_screens(frame: pd.DataFrame, include_all: bool = False) -> list[str]:
    """One text screen per candidate that needs review (every candidate with ``include_all``).

    Each screen shows the row number as ``events validate`` counts it (1 = first data row), the
    event fields, the review codes with what to do, and the evidence, one line per piece.
    """
    mask = needs_review(frame) | include_all
    rows = frame.reset_index(drop=True)
    n_total = int(mask.sum())
    screens = []
    for k, (i, r) in enumerate(rows[mask.to_numpy()].iterrows(), start=1):
        lines = [f"[{k}/{n_total}] row {i + 1}: {r.get('event_id', '')}", "-" * 72]
        for f in _FIELDS:
            if f in r.index:
                v = str(r[f]) if pd.notna(r[f]) else ""
                lines.append(f"{f:>12}: {v if v else '(empty)'}")
        codes = [c for c in str(r.get("needs_review", "") or "").split(";") if c.strip()]
        lines.append(f"{'needs_review':>12}: {';'.join(codes) if codes else '(nothing)'}")
        for c in codes:
            lines.append(f"{'':>14}- {c}: {ADVICE.get(c, 'see evidence')}")
        ev = [e.strip() for e in str(r.get("evidence", "") or "").split(" | ") if e.strip()]
        if ev:
            lines.append(f"{'evidence':>12}:")
            lines += [f"{'':>14}{e}" for e in ev]
        screens.append("\n".join(lines))
    return screens
