"""Abnormal volume measures, checked by hand on SYNTHETIC panels and on the bundled real IBRX data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy import StudySpec, run_study
from eventstudy.sources import BundledSource, InMemorySource
from eventstudy.synthetic import BENCHMARK, synthetic_bars
from eventstudy.volume import abnormal_volume


def test_measures_by_hand(rng):
    rel = np.arange(-80, 6)
    vol = np.round(np.exp(rng.normal(13, 0.5, (3, rel.size))))
    bench = np.round(np.exp(rng.normal(15, 0.3, (3, rel.size))))
    vol[0, 10] = 0.0          # a zero is a fact
    vol[1, 12] = np.nan       # a missing value is not a zero
    m = abnormal_volume(vol, bench, rel, (-70, -11))
    for i in range(3):
        est = (rel >= -70) & (rel <= -11) & np.isfinite(vol[i])
        lv = np.log1p(vol[i])
        mu, sd = lv[est].mean(), lv[est].std(ddof=1)
        d0 = np.flatnonzero(rel == 0)[0]
        assert m.abvol_log[i, d0] == pytest.approx(lv[d0] - mu, abs=1e-12)
        assert m.vol_z[i, d0] == pytest.approx((lv[d0] - mu) / sd, abs=1e-12)
        b63 = np.nanmean(vol[i, (rel >= -63) & (rel <= -1)])
        b20 = np.nanmean(vol[i, (rel >= -20) & (rel <= -1)])
        assert m.ratio_63[i, d0] == pytest.approx(vol[i, d0] / b63, rel=1e-12)
        assert m.ratio_20[i, d0] == pytest.approx(vol[i, d0] / b20, rel=1e-12)
        fit = sm.OLS(lv[est], sm.add_constant(np.log1p(bench[i, est]))).fit()
        assert m.abvol_mm[i, d0] == pytest.approx(lv[d0] - fit.params[0] - fit.params[1] * np.log1p(bench[i, d0]),
                                                  abs=1e-10)
    assert m.abvol_log[0, 10] == pytest.approx(0.0 - np.log1p(vol[0])[(rel >= -70) & (rel <= -11)].mean())
    assert np.isnan(m.abvol_log[1, 12]) and m.n_est[1] == 59 and m.n_est[0] == 60


def test_event_type_volume_statistics_by_hand():
    bars = synthetic_bars(6, start="2016-01-04", n_days=600, seed=8)
    d = bars["SYN0000"].index
    rows = []
    for k, t in enumerate(["SYN0000", "SYN0001", "SYN0002", "SYN0003", "SYN0004"]):
        day = d[300 + 20 * k]
        bars[t].loc[day, "volume"] *= 30          # planted spike on day 0
        rows.append({"event_id": f"V{k}", "ticker": t, "event_date": day.strftime("%Y-%m-%d"),
                     "event_type": "fda_decision"})
    res = run_study(pd.DataFrame(rows), InMemorySource(bars), StudySpec(benchmark=BENCHMARK, windows=((0, 0), (-1, 1))))
    vol = res.volume
    d0 = vol[vol["rel_day"] == 0]
    assert (d0["vol_z"] > 3).all()
    a = res.aar.query("event_type == 'ALL' and rel_day == 0").iloc[0]
    x = d0["abvol_log"].to_numpy()
    assert a["vol_mean_abvol"] == pytest.approx(x.mean(), abs=1e-12)
    assert a["vol_t_cs"] == pytest.approx(x.mean() / (x.std(ddof=1) / math.sqrt(5)), abs=1e-10)
    assert a["vol_spike_share"] == 1.0
    s = res.caar.query("event_type == 'ALL' and window == '-1:1'").iloc[0]
    cav = vol[vol["rel_day"].between(-1, 1)].groupby("event_id")["abvol_log"].sum()
    assert s["vol_mean_cav"] == pytest.approx(cav.mean(), abs=1e-12)
    per_event = res.car.query("window == '-1:1'").set_index("event_id")["vol_cav_log"]
    np.testing.assert_allclose(per_event.loc[cav.index], cav, atol=1e-12)
    assert s["vol_spike_share"] == 1.0
    # five top ranks out of ~240: U ≈ 0.5 each, S_U ≈ sqrt(1/12/5) → Corrado ≈ 3.8 on the spike day
    assert res.caar.query("event_type == 'ALL' and window == '0:0'")["vol_corrado_t"].iloc[0] > 3
    # the events file carries day-0 volume measures
    e = res.events.set_index("event_id")
    assert (e["vol_z_d0"] > 3).all()


def test_ibrx_january_2026_volume_on_bundled_data(root):
    res = run_study(root / "events" / "seed_events.csv", "bundled", StudySpec())
    e = res.events.set_index("event_id").loc["SEED-20260121-IBRX-1"]
    v = BundledSource().bars("IBRX")["volume"]
    i = v.index.get_loc(pd.Timestamp("2026-01-21"))
    assert e["volume_d0"] == 96_093_500
    assert e["vol_ratio_20"] == pytest.approx(v.iloc[i] / v.iloc[i - 20:i].mean(), rel=1e-12)
    lv = np.log1p(v.iloc[i - 250:i - 10])
    assert e["vol_z_d0"] == pytest.approx((np.log1p(v.iloc[i]) - lv.mean()) / lv.std(ddof=1), rel=1e-10)
    assert e["vol_z_d0"] > 3
