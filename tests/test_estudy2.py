"""conventions="estudy2" reproduces the statistics estudy2 0.10.0 publishes in its vignette.

The data (7 stocks and ^GSPC, the vignette's own, tests/fixtures/estudy2) and the expected
numbers (transcribed from the published vignette, ESTUDY2_VIGNETTE.md) are external: nothing
here was produced by this project. Each value must match to the printed precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy import StudySpec, run_study
from eventstudy.sources import InMemorySource
from eventstudy.sources.wide import bars_from_wide_prices

FIX = Path(__file__).parent / "fixtures" / "estudy2"
# estudy2 column -> our aar.csv column (docs/statistics.md, "Conventions")
COLUMNS = {"mean AR": "aar", "brown_warner_1980": "t_bw1980", "brown_warner_1985": "t_cda", "t_test": "t_cs",
           "patell": "patell_z", "boehmer": "bmp_t", "lamb": "lamb_z", "sign": "sign_z",
           "generalized_sign": "gsign_z", "corrado_sign": "czsign_z", "rank": "corrado_t",
           "modified_rank": "mrank_t", "wilcoxon (W)": "wilcoxon_w"}


def published() -> pd.DataFrame:
    """The vignette's two tables, parsed from the markdown (values kept as printed strings)."""
    tables, cur = [], None
    for line in (FIX / "ESTUDY2_VIGNETTE.md").read_text().splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = [cells]
            elif not set("".join(cells)) <= set("-: "):
                cur.append(cells)
        elif cur is not None:
            tables.append(pd.DataFrame(cur[1:], columns=cur[0]).set_index("date"))
            cur = None
    if cur is not None:
        tables.append(pd.DataFrame(cur[1:], columns=cur[0]).set_index("date"))
    return pd.concat(tables, axis=1)


def vignette_study(conventions: str):
    prices = pd.read_csv(FIX / "prices.csv").merge(pd.read_csv(FIX / "prices_indx.csv"), on="date", how="outer")
    bars = bars_from_wide_prices(prices)
    dates = pd.DatetimeIndex(prices["date"])
    day0 = dates.get_loc(pd.Timestamp("2020-03-16"))
    # estimation 2019-04-01 .. 2020-03-13 (the session before day 0), event days 2020-03-16 .. 03-20
    est = (dates.get_loc(pd.Timestamp("2019-04-01")) - day0, -1)
    tickers = [c for c in prices.columns if c not in ("date", "^GSPC")]
    events = pd.DataFrame({"event_id": tickers, "ticker": tickers, "event_date": "2020-03-16",
                           "event_type": "corporate_update"})
    spec = StudySpec(benchmark="^GSPC", estimation=est, windows=((0, 4),), returns="log", min_obs=100,
                     conventions=conventions)
    return run_study(events, InMemorySource(bars), spec)


@pytest.fixture(scope="module")
def e2():
    return vignette_study("estudy2")


def test_reproduces_published_vignette_to_printed_precision(e2):
    assert (e2.events["status"] == "ok").all() and len(e2.events) == 7
    pub = published()
    assert len(pub) == 5 and set(COLUMNS) <= set(pub.columns)
    got = e2.aar.query("event_type == 'ALL' and 0 <= rel_day <= 4").reset_index(drop=True)
    for k, date in enumerate(pub.index):
        for theirs, ours in COLUMNS.items():
            text = pub.loc[date, theirs]
            decimals = len(text.split(".")[1]) if "." in text else 0
            assert got.loc[k, ours] == pytest.approx(float(text), abs=0.5 * 10.0**-decimals + 1e-12), \
                (date, theirs, ours, got.loc[k, ours], text)


def test_default_mode_keeps_the_papers_definitions(e2):
    """ZM and UBER have short estimation windows: the conventions that differ (sigma divisor
    M-1 vs M-k, pooled sign baseline, rank scaling and weights) change the statistics."""
    papers = vignette_study("papers")
    assert papers.spec.conventions == "papers" and StudySpec().conventions == "papers"
    a = papers.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    b = e2.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    for col in ("aar", "t_cs", "t_cda", "sign_z", "wilcoxon_w"):        # same definition in both
        assert a[col] == pytest.approx(b[col], abs=1e-12)
    for col in ("patell_z", "bmp_t", "t_bw1980", "gsign_z", "corrado_t", "mrank_t", "czsign_z"):
        assert abs(a[col] - b[col]) > 1e-4, col


def test_conventions_is_validated_and_recorded():
    with pytest.raises(ValueError, match="conventions"):
        StudySpec(conventions="eventus")
    assert StudySpec(conventions="estudy2").to_dict()["conventions"] == "estudy2"


def test_wide_adapter_drops_unpriced_days_and_rejects_repeats():
    frame = pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "A": [np.nan, 2.0], "B": [1.0, 1.5]})
    bars = bars_from_wide_prices(frame)
    assert list(bars["A"].index) == [pd.Timestamp("2020-01-03")] and bars["B"]["adj_close"].tolist() == [1.0, 1.5]
    with pytest.raises(ValueError, match="repeated"):
        bars_from_wide_prices(pd.concat([frame, frame.iloc[:1]]))
