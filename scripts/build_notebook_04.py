"""Write notebooks/04_long_horizon.ipynb (without outputs). Run from the repo root after editing the cells.

Kept apart from scripts/build_notebooks.py (notebooks 01–03) so the two can change independently; it
reuses that script's cell helpers only by copying their three one-line idioms."""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

NB = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str):
    return nbf.v4.new_markdown_cell(text.strip())


def code(text: str):
    return nbf.v4.new_code_cell(text.strip())


SETUP = """
import numpy as np
import pandas as pd
import eventstudy as es
from eventstudy.longrun import run_longrun, plot_bhar_paths
from eventstudy.regress import regress
pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 30)

def row(tab, group, horizon, benchmark):
    \"\"\"The one summary row of a group, horizon and benchmark.\"\"\"
    r = tab[(tab["group"] == group) & (tab["horizon"] == horizon) & (tab["benchmark"] == benchmark)]
    assert len(r) == 1, (group, horizon, benchmark)
    return r.iloc[0]
"""

cells = [
    md("""
# Beyond the announcement: long-horizon returns after FDA decisions and equity offerings

Do biotech stocks keep drifting for months after an FDA approval, a complete response letter (CRL)
or an equity offering? This notebook measures buy-and-hold abnormal returns (BHAR) over the 125 and
250 trading days *after* day 0 (horizons `1:125` and `1:250`, so the announcement reaction itself is
left out) and calendar-time portfolio alphas, on the bundled 2013–2024 Yahoo universe (220 tickers).

Benchmarks: the Fama–French market (`FF-MKT`, Mkt-RF + RF) and two control firms per event drawn
from the same universe (Barber & Lyon 1997): the firm nearest in dollar volume (a size proxy: the
universe has no market capitalisations) and the firm nearest in return volatility. Tests: the
cross-sectional t, the skewness-adjusted t and its bootstrap (Lyon, Barber & Tsai 1999), the
Wilcoxon signed-rank test. Overlapping events of one firm enter the tests once (`overlap="first"`).
Formulas: `docs/statistics.md`, last section.
"""),
    code(SETUP),
    code("""
BENCH = dict(horizons=("1:125", "1:250"), benchmark="FF-MKT", controls=("dollar-volume", "volatility"),
             overlap="first", boot_reps=1000)
fda = run_longrun("../events/fda_decisions.csv", "bundled:universe", group_by="subtype", **BENCH)
print(fda.summary())
"""),
    md("""
## Every event keeps a row
Events whose horizon runs past the last price date (2024-03-08) are `incomplete_horizon`: their BHAR
is shown but kept out of the tests. No event is `delisted_before_end`: every ticker of the universe
is still priced in March 2024 (survivorship bias). Tickers without a price file, among them sponsors
that were delisted, acquired or renamed (see the universe PROVENANCE), are `no_prices`.
"""),
    code("""
b = fda.bhar[fda.bhar["benchmark"] == "FF-MKT"]
pd.crosstab([b["horizon"], b["status"]], b["in_stats"])
"""),
    code("""
cols = ["group", "horizon", "benchmark", "n", "mean_bhar", "median_bhar", "skewness", "t_cs", "p_cs", "t_sa",
        "p_sa_boot", "p_wilcoxon"]
fda.summary_table[cols]
"""),
    code("""
ax = plot_bhar_paths(fda.path_table(), horizon="1:250", benchmark="FF-MKT", groups=["approval", "crl"])
"""),
    md("""
One control firm is a noisy benchmark. A buy-and-hold portfolio of the ten firms nearest in dollar
volume (`control_k=10`) averages that noise away:
"""),
    code("""
ref = run_longrun("../events/fda_decisions.csv", "bundled:universe", group_by="subtype", method="bhar",
                  **{**BENCH, "controls": ("dollar-volume",), "control_k": 10})
ref.summary_table.query("benchmark == 'reference10:dollar-volume'")[cols]
"""),
    code("""
ax = plot_bhar_paths(fda.path_table(), horizon="1:250", benchmark="control:dollar-volume", groups=["approval", "crl"])
"""),
    md("## Calendar-time portfolios (daily, at least 5 stocks)"),
    code("""
ct_cols = ["group", "horizon", "model", "n_periods", "mean_size", "alpha", "alpha_ann", "t_classical", "t_nw", "p_nw"]
fda.calendar["alphas"][ct_cols]
"""),
    md("## Equity offerings and the other curated catalysts, 2015–2024"),
    code("""
cur = run_longrun("../events/curated_events_2015_2024.csv", "bundled:universe", **BENCH)
cur.summary_table[cols]
"""),
    code("""
cur.calendar["alphas"][ct_cols]
"""),
    code("""
ax = plot_bhar_paths(cur.path_table(), horizon="1:125", benchmark="FF-MKT")
"""),
    md("""
## Which decisions move prices more? A cross-sectional regression of the announcement CAR
The short-window study of notebook 03, then the −1:1 CAR regressed on the decision type and the
stock's estimation-window volatility, with standard errors clustered by day-0 date and by ticker
(Cameron, Gelbach & Miller 2011).
"""),
    code("""
short = es.run_study("../events/fda_decisions.csv", prices="bundled:universe", benchmark="FF-MKT",
                     estimation="-270:-21", windows=("-1:1",))
reg = regress(short, "car ~ C(subtype) + sigma", window="-1:1", cov="cluster-2way")
print(reg.summary())
"""),
    md("""
## What the numbers say
* **Against the market, event firms trail badly**: a year after an approval the mean BHAR is about
  −17 % (median about −32 %), after a CRL about −19 %; the cross-sectional t rejects zero for both,
  as does the Wilcoxon test. But the benchmark is the whole US market, and the control-firm
  comparisons below say the gap is what comparable stocks of the same universe did over the same
  months, not a reaction to the decision.
* **Against control firms from the same universe, the drift disappears**: matched on dollar volume
  the one-year BHAR after approvals is positive (about +13 %) but not significant by the t tests
  (the Wilcoxon test, which looks at the median of about +18 %, does reject zero), and matched on
  volatility it is close to zero (about +1 %); after CRLs both are within a few percent of zero.
  Against a buy-and-hold portfolio of the ten firms nearest in dollar volume, the one-year BHAR
  after approvals is about −12 % and again not significant. We find no reliable post-decision drift
  beyond what similar biotech stocks did.
* **CRLs over six months**: about −18 % against the market (t ≈ −3.0, skewness-adjusted t ≈ −2.6,
  but bootstrapped p ≈ 0.06), and an insignificant −6 % and −14 % against the two control firms.
* **Calendar-time portfolios**, which absorb the correlation of firms held at the same time, show
  no significant three-factor alpha for approval or CRL portfolios (|t| < 1 with classical and
  Newey–West errors).
* **Equity offerings** (about 25 events with usable prices): the six-month BHAR against the market
  is about −17 % with a median near −25 %; the t test does not reject, the Wilcoxon test does. Against
  the dollar-volume control firm it is about +4 %, and the calendar-time alphas are insignificant.
  The long-run underperformance after seasoned offerings reported by Loughran & Ritter (1995) and
  Spiess & Affleck-Graves (1995) is neither confirmed nor ruled out: 25 events is far too few.
* **How sure are we?** Not very. The samples shrink fast: the price data end in March 2024, so
  nearly 200 FDA decisions are too recent for a one-year horizon, and one firm's overlapping events
  count once. BHARs are heavily skewed: against the market, group means and medians differ by 8 to 49
  percentage points. The sign of the answer depends on the benchmark, and the universe has no
  delisted firms, so the worst outcomes are missing. Read these as descriptive, not as estimates of
  a drift.
* **Announcement CARs**: a CRL's −1:1 CAR is about 14 points below an approval's, and the difference
  survives two-way clustering by date and ticker.
"""),
    md("### Every sentence above, checked against the computed values"),
    code("""
t = fda.summary_table
ap_m, crl_m = row(t, "approval", "1:250", "FF-MKT"), row(t, "crl", "1:250", "FF-MKT")
assert -0.22 < ap_m.mean_bhar < -0.12 and -0.37 < ap_m.median_bhar < -0.27, ap_m
assert -0.24 < crl_m.mean_bhar < -0.14, crl_m
assert max(ap_m.p_cs, crl_m.p_cs, ap_m.p_wilcoxon, crl_m.p_wilcoxon) < 0.05
ap_dv, ap_vol = row(t, "approval", "1:250", "control:dollar-volume"), row(t, "approval", "1:250", "control:volatility")
assert 0.08 < ap_dv.mean_bhar < 0.18 and ap_dv.p_cs > 0.10 and ap_dv.p_sa_boot > 0.10
assert ap_dv.p_wilcoxon < 0.01 and 0.15 < ap_dv.median_bhar < 0.21
assert abs(ap_vol.mean_bhar) < 0.05 and ap_vol.p_cs > 0.10
for bench in ("control:dollar-volume", "control:volatility"):
    r = row(t, "crl", "1:250", bench)
    assert abs(r.mean_bhar) < 0.06 and r.p_cs > 0.10, r
r10 = row(ref.summary_table, "approval", "1:250", "reference10:dollar-volume")
assert -0.16 < r10.mean_bhar < -0.08 and r10.p_cs > 0.10 and r10.p_sa_boot > 0.10, r10
c6 = row(t, "crl", "1:125", "FF-MKT")
assert -0.21 < c6.mean_bhar < -0.15 and c6.t_cs < -2.5 and c6.t_sa < -2.2 and 0.05 < c6.p_sa_boot < 0.07, c6
c6dv, c6vol = row(t, "crl", "1:125", "control:dollar-volume"), row(t, "crl", "1:125", "control:volatility")
assert -0.08 < c6dv.mean_bhar < -0.03 and -0.17 < c6vol.mean_bhar < -0.10 and max(c6dv.p_cs, c6vol.p_cs) > 0.10
al = fda.calendar["alphas"]
sub = al[al["group"].isin(["approval", "crl"]) & (al["model"] == "ff3")]
assert (sub["t_classical"].abs() < 1).all() and (sub["t_nw"].abs() < 1).all(), sub
u = cur.summary_table
eo, eodv = row(u, "equity_offering", "1:125", "FF-MKT"), row(u, "equity_offering", "1:125", "control:dollar-volume")
assert 20 <= eo.n <= 30 and -0.22 < eo.mean_bhar < -0.12 and -0.30 < eo.median_bhar < -0.20
assert eo.p_cs > 0.10 and eo.p_wilcoxon < 0.05 and 0.0 < eodv.mean_bhar < 0.08 and eodv.p_cs > 0.10
eoa = cur.calendar["alphas"].query("group == 'equity_offering'")
assert (eoa["p_classical"] > 0.10).all() and (eoa["p_nw"] > 0.10).all()
assert (fda.bhar["delisted_before_end"] == False).all() and (cur.bhar["delisted_before_end"] == False).all()
assert fda.meta["data_last"] == "2024-03-08"
for tab in (t, u):
    big = tab[(tab["group"] != "ALL") & (tab["n"] >= 20) & (tab["benchmark"] == "FF-MKT")]
    gap = (big["mean_bhar"] - big["median_bhar"]).abs()
    assert (gap > 0.075).all() and (gap < 0.495).all(), big
inc = fda.bhar.query("horizon == '1:250' and benchmark == 'FF-MKT' and status == 'incomplete_horizon'")
assert 180 <= len(inc) < 200, len(inc)
crl_coef = reg.tidy.set_index("term").loc["C(subtype)[T.crl]"]
assert -0.17 < crl_coef.coef < -0.11 and crl_coef.p < 0.01
print("all statements check out")
"""),
]

nb = nbf.v4.new_notebook()
nb.cells = cells
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, NB / "04_long_horizon.ipynb")
