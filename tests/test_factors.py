"""Factor models on the bundled Ken French factors and real bundled prices, against statsmodels."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from eventstudy import StudySpec, run_study
from eventstudy.factors import bundled_factors, download_french_factors, load_factors, read_factor_csv
from eventstudy.sources import BundledSource

FACTORS = {"ff3": ["Mkt-RF", "SMB", "HML"], "carhart": ["Mkt-RF", "SMB", "HML", "Mom"],
           "ff5": ["Mkt-RF", "SMB", "HML", "RMW", "CMA"]}


def test_bundled_factors_are_in_decimal_units():
    f = bundled_factors()
    # first and last data lines of the Ken French files (percent): 1926-07-01 Mkt-RF 0.09; 2026-04-30 Mom 2.17
    assert f.loc["1926-07-01", "Mkt-RF"] == pytest.approx(0.0009)
    assert f.loc["2026-04-30", "Mom"] == pytest.approx(0.0217)
    assert f.loc["2026-04-30", "RF"] == pytest.approx(0.0001)
    assert f.index.max() == pd.Timestamp("2026-04-30")


@pytest.mark.parametrize("model", ["ff3", "carhart", "ff5"])
def test_factor_models_match_statsmodels_on_real_data(model, root):
    res = run_study(root / "events" / "seed_events.csv", "bundled", StudySpec(model=model, windows=((0, 0), (0, 5))))
    f = bundled_factors()
    ok = res.events[res.events["status"] == "ok"]
    assert len(ok) >= 15
    for _, e in ok.head(6).iterrows():
        px = BundledSource().bars(e["ticker"])
        price = px["adj_close"].fillna(px["close"])
        r = price.pct_change()
        pos = price.index.get_loc(e["day0"])
        idx = price.index[max(pos - 250, 1): pos - 10]
        y = r.loc[idx] - f.loc[idx, "RF"]
        X = sm.add_constant(f.loc[idx, FACTORS[model]])
        fit = sm.OLS(y, X).fit()
        assert e["alpha"] == pytest.approx(fit.params["const"], abs=1e-10)
        for name in FACTORS[model]:
            assert e[f"beta_{name}"] == pytest.approx(fit.params[name], abs=1e-9)
        assert e["sigma"] == pytest.approx(np.sqrt(fit.scale), rel=1e-9)   # SSR / (M - k)
        d0 = price.index[pos]
        expected = f.loc[d0, "RF"] + fit.params["const"] + f.loc[d0, FACTORS[model]] @ fit.params[FACTORS[model]]
        assert e["ar_d0"] == pytest.approx(r.loc[d0] - expected, abs=1e-10)


def test_ff_market_benchmark_is_mkt_rf_plus_rf(root):
    res = run_study(root / "events" / "seed_events.csv", "bundled", StudySpec(benchmark="FF-MKT", windows=((0, 0),)))
    f = bundled_factors()
    e = res.events[res.events["status"] == "ok"].iloc[0]
    px = BundledSource().bars(e["ticker"])
    price = px["adj_close"].fillna(px["close"])
    pos = price.index.get_loc(e["day0"])
    idx = price.index[max(pos - 250, 1): pos - 10]
    m = (f["Mkt-RF"] + f["RF"]).loc[idx]
    fit = sm.OLS(price.pct_change().loc[idx], sm.add_constant(m)).fit()
    assert e["beta"] == pytest.approx(fit.params.iloc[1], rel=1e-9)


def test_events_after_the_factor_data_are_no_benchmark(tmp_path):
    ev = tmp_path / "ev.csv"
    ev.write_text("event_id,ticker,event_date,event_type\nLATE,IBRX,2026-06-01,clinical_readout\n"
                  "OK,IBRX,2026-01-21,short_squeeze\n")
    res = run_study(ev, "bundled", StudySpec(model="ff3"))
    st = res.events.set_index("event_id")
    assert st.loc["LATE", "status"] == "no_benchmark" and "factor data" in st.loc["LATE", "reason"]
    assert st.loc["OK", "status"] == "ok"


def _french_text(frame: pd.DataFrame, title: str) -> str:
    lines = [title, "", ",".join([""] + list(frame.columns))]
    for d, row in frame.iterrows():
        lines.append(",".join([d.strftime("%Y%m%d")] + [f"{v:.2f}" for v in row]))
    lines += ["", "Annual Factors: January-December", ",".join([""] + list(frame.columns)),
              "2025," + ",".join("1.00" for _ in frame.columns), "", "Copyright 2026 Kenneth R. French"]
    return "\n".join(lines) + "\n"


def test_user_factor_csv_in_french_format(tmp_path):
    f = bundled_factors().loc["2025-01-02":"2025-01-10", ["Mkt-RF", "SMB", "HML", "RF"]] * 100
    p = tmp_path / "ff.csv"
    p.write_text(_french_text(f, "This file was created by CMPT_ME_BEME_RETS_DAILY using the 202604 CRSP database."))
    got = read_factor_csv(p)
    assert len(got) == len(f)                                     # annual section ignored
    np.testing.assert_allclose(got.to_numpy(), f.round(2).to_numpy() / 100, atol=1e-12)
    plain = tmp_path / "plain.csv"
    plain.write_text("date,Mkt-RF,SMB,HML,RF\n2025-01-02,0.5,0.1,-0.2,0.02\n")
    assert load_factors(str(plain)).loc["2025-01-02", "Mkt-RF"] == pytest.approx(0.005)


class _FakeSession:
    """Serves Ken French zip files built from the bundled factors (offline stand-in for the library)."""

    def __init__(self):
        base = bundled_factors().loc["2025-12-01":] * 100
        self.files = {"F-F_Research_Data_Factors_daily_CSV.zip": base[["Mkt-RF", "SMB", "HML", "RF"]],
                      "F-F_Research_Data_5_Factors_2x3_daily_CSV.zip": base[["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"]],
                      "F-F_Momentum_Factor_daily_CSV.zip": base[["Mom"]]}
        self.urls = []

    def get(self, url, timeout=None):
        self.urls.append(url)
        name = url.rsplit("/", 1)[1]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name.replace("_CSV.zip", ".CSV"), _french_text(self.files[name], "header text"))

        class R:
            content = buf.getvalue()

            def raise_for_status(self):
                pass

        return R()


def test_factor_updater_writes_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(tmp_path))
    sess = _FakeSession()
    path = download_french_factors(session=sess)
    assert len(sess.urls) == 3 and all(u.startswith("https://mba.tuck.dartmouth.edu/") for u in sess.urls)
    cached = load_factors("cache")
    want = bundled_factors().loc["2025-12-01":]
    np.testing.assert_allclose(cached[["Mkt-RF", "RMW", "Mom"]].to_numpy(), want[["Mkt-RF", "RMW", "Mom"]].to_numpy(),
                               atol=1e-12)
    from eventstudy.cli import app

    r = CliRunner().invoke(app, ["factors", "show", "--factors", "cache"])
    assert r.exit_code == 0 and "2025-12-01" in r.output and path.is_file()
