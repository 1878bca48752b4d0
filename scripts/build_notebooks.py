"""Write the notebooks in notebooks/ (without outputs). Run from the repo root after editing the cells."""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

NB = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str):
    return nbf.v4.new_markdown_cell(text.strip())


def code(text: str):
    return nbf.v4.new_code_cell(text.strip())


def write(name: str, cells: list) -> None:
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbf.write(nb, NB / name)


SETUP = """
import pandas as pd
import eventstudy as es
from eventstudy import plots
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
"""

write("01_seed_events.ipynb", [
    md("""
# Seed events, Oct 2025 – Jan 2026

The 30 curated seed news items (FDA designations, financings, readouts, M&A clearances, the
ImmunityBio squeeze) studied on the bundled real prices: market model against XBI, estimation
window −250…−11, windows −1:1, 0:0, 0:5, −5:20. Everything runs offline.
"""),
    code(SETUP),
    code("""
res = es.run_study("../events/seed_events.csv", prices="bundled", model="market", benchmark="XBI")
print(res.summary())
"""),
    md("""
## Every event keeps a row
Six items have no listed ticker (private companies, the FDA guidance): `unmapped`. MTSR's prices
end 2025-09-29 and ONCY/ACLX end 2025-12-17, so their later events are `outside_data`; the two
December-2022 Arcellx/Gilead rows fall before the estimation window could be filled.
"""),
    code("""
res.events[["event_id", "ticker", "event_type", "day0", "status", "reason", "ret_d0", "vol_ratio_63", "data_flags"]]
"""),
    code("""
res.caar[["event_type", "window", "n", "mean_car", "median_car", "t_cs", "bmp_t", "kp_bmp_t", "grank_t", "rbar"]]
"""),
    code("""
ax = res.plot("caar")   # the same as plots.plot_caar(res.aar); kind="car", "volume" or "event" for the others
"""),
    code("""
ax = plots.plot_car_distribution(res.car, res.events, "-1:1")
"""),
    code("""
from eventstudy.sources import BundledSource
src = BundledSource()
e = res.events.set_index("event_id", drop=False).loc["SEED-20251031-CRBP-1"]
ax = plots.plot_event(src.bars("CRBP"), src.bars("XBI"), e)
"""),
    md("""
## What the numbers say
* With 19 studied events across eleven types, most groups have one to six events: read them as
  case studies, not as typical reactions.
* The pooled −1:1 CAAR is large and positive, but it is driven by the five overlapping
  ImmunityBio items of 13–21 January 2026. Their estimation residuals are strongly correlated,
  which is why the Kolari–Pynnönen adjusted BMP statistic (`kp_bmp_t`) is far smaller than the
  unadjusted one. Use `overlap="first"` to count that cluster once.
* Corbus' follow-on pricing (31 Oct 2025) shows the textbook dilution reaction: a large negative
  day-0 abnormal return on a volume spike many times its 63-day average.
* `data_flags` mark the real-data faults documented in the provenance: the ONCY/COSM/ACLX
  adjusted→raw splice on 2025-09-30 and PFE's partially dividend-adjusted history.
"""),
    code("""
first = es.run_study("../events/seed_events.csv", prices="bundled", overlap="first")
first.caar.query("event_type == 'ALL'")[["window", "n", "mean_car", "t_cs", "kp_bmp_t", "grank_t"]]
"""),
])

write("02_ibrx_squeeze.ipynb", [
    md("""
# ImmunityBio (IBRX), January 2026: a news-driven squeeze

Prices, volume, the curated news timeline, abnormal returns and volume around each item, and
the scanner's view of the run. Bundled real data (the S0 source; see the PROVENANCE).
"""),
    code(SETUP + """
from eventstudy.sources import BundledSource
from eventstudy.scan import scan, ScanParams
src = BundledSource()
ibrx, xbi = src.bars("IBRX"), src.bars("XBI")
ibrx.loc["2026-01-05":"2026-02-06", ["close", "volume"]].assign(volume_m=lambda d: d["volume"] / 1e6)
"""),
    md("## The news timeline (curated seed events)"),
    code("""
ev = es.load_events("../events/seed_events.csv")
ev[ev["ticker"] == "IBRX"][["event_id", "event_date", "event_time", "event_type", "subtype", "headline"]]
"""),
    code("""
res = es.run_study("../events/seed_events.csv", prices="bundled", benchmark="XBI")
ib = res.events[res.events["ticker"] == "IBRX"]
ib[["event_id", "day0", "ret_d0", "ar_d0", "volume_d0", "vol_ratio_63", "vol_z_d0", "overlaps"]]
"""),
    code("""
res.car.merge(ib[["event_id"]]).pivot(index="event_id", columns="window", values="car")
"""),
    md("""
## Volume spikes and the run-up episode
The scanner uses a trailing 63-session baseline: a spike is `vol_z ≥ 4` or `vol_ratio_63 ≥ 3`; an
episode is a 15-session cumulative abnormal return of at least +50 % with mean volume ratio ≥ 2.
"""),
    code("""
found = scan(["IBRX"], src, ev, benchmark="XBI", start="2025-12-01", end="2026-03-31")
found[["kind", "date", "peak_date", "end_date", "ret", "car", "max_drawdown", "volume", "vol_ratio_63", "vol_z", "event_ids"]]
"""),
    code("""
e = res.events.set_index("event_id", drop=False).loc["SEED-20260121-IBRX-1"]
ax = plots.plot_event(ibrx, xbi, e, before=40, after=25)
"""),
    md("""
## What the numbers say
* The run starts in the first days of January: the scanner dates the episode from 2 January, with
  the peak on 22 January and a cumulative abnormal return above +100 % from start to peak,
  followed by a drawdown of roughly a fifth within the next weeks.
* Volume led the price: 16 and 20 January traded 182 M and 211 M shares, 13–14× the 63-session
  average; 21 January, the day of the short-covering headlines, still traded 96 M shares (5× the
  average) while the price gained only a few percent.
* Every one of the six IBRX news items falls inside the episode, so their event windows overlap:
  their individual CARs are not independent evidence, and any per-type statistic that pools them
  should use `overlap="first"` or the Kolari–Pynnönen statistics.
* The scanner also lists a volume spike on 19 December 2025 without curated news: a candidate for
  an analyst to look up.
"""),
])

write("03_fda_decisions.ipynb", [
    md("""
# FDA decisions 2020–2024 and curated biotech catalysts 2015–2024

843 FDA decisions (686 approvals, 157 complete response letters) and 158 curated catalysts,
studied on the bundled 2013–2024 Yahoo universe (220 tickers). The universe has no ETF history,
so the market model uses the Fama–French market return (Mkt-RF + RF, `benchmark="FF-MKT"`);
factor models (FF3, Carhart, FF5) are shown beside it. Estimation window −270…−21 so that the
run-up window −20:−1 lies outside it.
"""),
    code(SETUP + """
WINDOWS = ("-1:1", "0:0", "0:5", "-20:-1")
fda = es.run_study("../events/fda_decisions.csv", prices="bundled:universe", model="market", benchmark="FF-MKT",
                   estimation="-270:-21", windows=WINDOWS, group_by="subtype")
print(fda.summary())
"""),
    code("""
fda.events["status"].value_counts()
"""),
    code("""
cols = ["event_type", "window", "n", "mean_car", "median_car", "pos_share", "t_cs", "bmp_t", "kp_bmp_t", "grank_t", "gsign_z", "boot_lo", "boot_hi"]
fda.caar[cols]
"""),
    md("## The same study under the factor models"),
    code("""
rows = []
for model in ("market", "ff3", "carhart", "ff5"):
    r = es.run_study("../events/fda_decisions.csv", prices="bundled:universe", model=model, benchmark="FF-MKT",
                     estimation="-270:-21", windows=WINDOWS, group_by="subtype")
    rows.append(r.caar.query("window == '0:0' and event_type != 'ALL'").assign(model=model))
pd.concat(rows)[["model", "event_type", "n", "mean_car", "median_car", "t_cs", "grank_t"]]
"""),
    code("""
ax = plots.plot_caar(fda.aar, groups=["approval", "crl"])
"""),
    code("""
ax = plots.plot_car_distribution(fda.car, fda.events.assign(group=fda.groups), "0:0", group_col="group")
"""),
    md("## Curated catalysts: offerings, designations, readouts, squeezes"),
    code("""
cur = es.run_study("../events/curated_events_2015_2024.csv", prices="bundled:universe", benchmark="FF-MKT",
                   estimation="-270:-21", windows=WINDOWS)
cur.caar[cols]
"""),
    code("""
ax = plots.plot_caar(cur.aar)
"""),
    md("""
## What the numbers say
* **CRLs**: a complete response letter costs the average small-cap sponsor about 8 % on day 0 and
  about 13 % over −1:1 (medians −1.5 % and −4 %: a few collapses dominate the mean). Every test,
  including the rank-based GRANK and the correlation-adjusted KP-BMP, rejects zero. This is the
  large negative reaction the literature reports for small caps.
* **Approvals**: small and positive, about +0.7 % on day 0 and +1.3 % over −1:1. The cross-sectional
  and GRANK tests are significant, but the Kolari–Pynnönen adjustment is not: biotech residuals
  against the broad market share a sector component (r̄ ≈ 0.06 in the `rbar` column), which over
  hundreds of events shrinks the BMP statistic about six-fold. Approvals are largely expected.
* **Run-up (−20:−1)**: no significant drift before either decision type.
* **Factor models** change little: across market, FF3, Carhart and FF5 the day-0 means stay within
  about 0.2 percentage points of each other (CRLs −8.0 % to −8.2 %, approvals +0.6 % to +0.7 %).
* **Equity offerings** come after large run-ups (−20:−1 CAAR above +40 %) and are followed by
  small, insignificant negative abnormal returns; **designations** and **squeeze** days show large
  positive day-0 reactions. With 4 to 51 events per type (4 squeezes, 22 designations), these are
  case collections more than estimates.
* Caveats: decision dates come from the source repository and are not checked against FDA
  letters; times of day are unknown, so a post-close decision shows up in the −1:1 window
  rather than on day 0; delisted sponsors are missing (survivorship bias). See
  `events/README.md` and the universe PROVENANCE.
"""),
])
