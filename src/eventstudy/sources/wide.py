"""Adapter for wide price tables (one column per ticker), the layout of R estudy2's data sets."""

from __future__ import annotations

import pandas as pd


def bars_from_wide_prices(frame: pd.DataFrame, date_column: str = "date") -> dict[str, pd.DataFrame]:
    """Split a wide table of adjusted closes into per-ticker bars for :class:`~eventstudy.sources.InMemorySource`.

    ``frame`` has a ``date`` column (or a date index) and one column of adjusted closing prices
    per ticker, NaN where the ticker has no price (before an IPO, after a delisting), e.g.
    estudy2's ``prices``/``prices_indx``. Each ticker gets ``close = adj_close`` = its column on
    the dates it is priced; open/high/low/volume are left missing (NaN). Pure: no IO.

    Raises ``ValueError`` naming the dates when a date repeats or cannot be parsed.
    """
    df = frame.set_index(date_column) if date_column in frame.columns else frame
    idx = pd.to_datetime(pd.Index(df.index), errors="coerce")
    if idx.isna().any():
        bad = [str(v) for v, b in zip(df.index, idx.isna()) if b][:3]
        raise ValueError(f"wide price table: unparseable date(s) {', '.join(bad)}")
    if idx.has_duplicates:
        raise ValueError(f"wide price table: repeated date(s) {', '.join(map(str, idx[idx.duplicated()][:3].date))}")
    out = {}
    for col in df.columns:
        s = pd.to_numeric(df[col], errors="raise").set_axis(idx).dropna()
        out[str(col)] = pd.DataFrame({"close": s, "adj_close": s}).rename_axis("date")
    return out
