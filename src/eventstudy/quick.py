"""One-line studies of one or a few news items, without an events file.

>>> import eventstudy as es                                       # doctest: +SKIP
>>> res = es.study("IBRX", "2026-01-21", event_time="intraday")   # doctest: +SKIP
>>> res.car                                                       # doctest: +SKIP

The items become an ordinary event table (ids ``EV-<YYYYMMDD>-<TICKER>-<k>``) and go through
:func:`eventstudy.run_study`, so every number is the same as from a file with the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

#: the event type of items given without one (a neutral entry of the default taxonomy)
QUICK_EVENT_TYPE = "corporate_update"


def quick_events(tickers: str | Sequence[str], dates: str | Sequence[str], event_time: str | Sequence[str] = "unknown",
                 event_type: str = QUICK_EVENT_TYPE, headline: str | Sequence[str] = "") -> pd.DataFrame:
    """An event table for ``tickers`` × ``dates`` given pairwise (one date for many tickers, or one
    ticker for many dates, is repeated)."""
    t = [tickers] if isinstance(tickers, str) else list(tickers)
    d = [dates] if isinstance(dates, str) else [str(x) for x in dates]
    n = max(len(t), len(d))
    if len(t) not in (1, n) or len(d) not in (1, n):
        raise ValueError(f"{len(t)} tickers and {len(d)} dates: give one of each per event, or one to repeat")
    t, d = t * (n // len(t)), d * (n // len(d))

    def rep(v):
        return [v] * n if isinstance(v, str) else list(v)

    return pd.DataFrame({"ticker": [x.strip().upper() for x in t], "event_date": d, "event_time": rep(event_time),
                         "event_type": event_type, "headline": rep(headline)})


def study(tickers: str | Sequence[str], dates: str | Sequence[str], event_time: str | Sequence[str] = "unknown", *,
          event_type: str = QUICK_EVENT_TYPE, headline: str | Sequence[str] = "", prices="bundled", **spec_kwargs):
    """Study one or a few news items: ``study("IBRX", "2026-01-21", event_time="intraday")``.

    Keyword arguments go to :class:`~eventstudy.study.StudySpec` (``benchmark="SPY"``,
    ``windows="-1:1"``…). Returns :class:`~eventstudy.results.EventStudyResults`.
    """
    from .study import run_study

    spec_kwargs.setdefault("name", "quick")
    ev = quick_events(tickers, dates, event_time, event_type, headline)
    return run_study(ev, prices, **spec_kwargs)


def event_days(res, rel_from: int = -5, rel_to: int = 10) -> pd.DataFrame:
    """Per studied event and day in ``[rel_from, rel_to]`` (within the event span): date, return, normal
    return, abnormal return, cumulative AR from ``rel_from`` and the volume ratio to the 63-session mean."""
    ar = res.ar[(res.ar["rel_day"] >= rel_from) & (res.ar["rel_day"] <= rel_to)]
    vol = res.volume[["event_id", "rel_day", "vol_ratio_63"]]
    out = ar.merge(vol, on=["event_id", "rel_day"], how="left")
    out["car_from_start"] = out.groupby("event_id")["ar"].transform(lambda s: s.fillna(0).cumsum())
    return out[["event_id", "rel_day", "date", "ret", "expected", "ar", "car_from_start", "vol_ratio_63"]]
