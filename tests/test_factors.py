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


# -- user factor files: headers, units, errors --------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eventstudy._errors import EventStudyError, InputFileError  # noqa: E402
from eventstudy.factors import FactorDataError, FactorFileError, detect_units  # noqa: E402


def _real(start="2025-01-02", end="2025-03-31", cols=("Mkt-RF", "SMB", "HML", "RF")) -> pd.DataFrame:
    """Real Ken French daily factors (bundled), decimal."""
    return bundled_factors().loc[start:end, list(cols)]


def _plain_csv(path, frame: pd.DataFrame, header=None, fmt="%Y-%m-%d", digits=6) -> None:
    header = header or ["date"] + list(frame.columns)
    lines = [",".join(header)]
    for d, row in frame.iterrows():
        lines.append(",".join([d.strftime(fmt)] + [f"{v:.{digits}f}" for v in row]))
    path.write_text("\n".join(lines) + "\n")


def test_headers_match_case_insensitively(tmp_path):
    f = _real()
    p = tmp_path / "ff.csv"
    _plain_csv(p, f * 100, header=["Date", "MKT_RF", "smb", "Hml", "rf"], digits=2)
    got = load_factors(str(p))
    assert list(got.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    np.testing.assert_allclose(got.to_numpy(), (f * 100).round(2).to_numpy() / 100, atol=1e-12)


def test_the_shared_french_layout_with_iso_dates_is_read(tmp_path):
    f = _real("2026-03-02", "2026-04-30", ("Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF")) * 100
    p = tmp_path / "F-F_Research_Data_5_Factors_2x3_daily.csv"
    lines = ["This file was created by using the 202604 CRSP database.", "The Tbill return is ...", "",
             "Date,Mkt-RF,SMB,HML,RMW,CMA,RF"]
    lines += [f"{d.date()}," + ",".join(f"{v:8.2f}" for v in row) for d, row in f.iterrows()]
    lines += ["", "Copyright 2026 Eugene F. Fama and Kenneth R. French"]
    p.write_text("\n".join(lines) + "\n")
    got = load_factors(p)
    assert len(got) == len(f) and got.attrs["factor_units"].startswith("percent (detected")
    np.testing.assert_allclose(got.to_numpy(), f.round(2).to_numpy() / 100, atol=1e-12)


@pytest.mark.parametrize("scale, units", [(100, "percent"), (1, "decimal")])
def test_units_are_detected_from_magnitudes_and_reported(tmp_path, scale, units):
    f = _real()
    p = tmp_path / "ff.csv"
    _plain_csv(p, f * scale, digits=8)
    got = load_factors(str(p))
    np.testing.assert_allclose(got.to_numpy(), f.to_numpy(), atol=1e-9)
    m = np.median(np.abs((f["Mkt-RF"] * scale).round(8)))
    assert got.attrs["factor_units"].startswith(f"{units} (detected: median |Mkt-RF| = {m:.4g}")


def test_ambiguous_units_are_refused_unless_given(tmp_path):
    idx = pd.bdate_range("2025-01-02", periods=30, name="date")   # SYNTHETIC magnitudes, seeded
    rng = np.random.default_rng(7)
    mkt = rng.choice([-1, 1], 30) * rng.uniform(0.07, 0.09, 30)
    syn = pd.DataFrame({"Mkt-RF": mkt, "SMB": mkt / 2, "HML": mkt / 3, "RF": 0.0}, index=idx)
    p = tmp_path / "syn.csv"
    _plain_csv(p, syn)
    with pytest.raises(FactorDataError, match="--factor-units"):
        load_factors(str(p))
    got = load_factors(str(p), units="percent")
    np.testing.assert_allclose(got["Mkt-RF"].to_numpy(), syn["Mkt-RF"].round(6).to_numpy() / 100)
    assert got.attrs["factor_units"] == "percent (given: units='percent')"
    dec = load_factors(str(p), units="decimal")
    np.testing.assert_allclose(dec["Mkt-RF"].to_numpy(), syn["Mkt-RF"].round(6).to_numpy())
    # RF in percent with a market column that looks decimal: the two disagree, refuse
    with pytest.raises(FactorDataError, match="cannot tell"):
        detect_units(syn.assign(**{"Mkt-RF": syn["Mkt-RF"] / 10, "RF": 0.02}))
    # RF alone decides when Mkt-RF is ambiguous
    assert detect_units(syn.assign(RF=0.02))[0] == "percent"


def test_given_units_that_contradict_the_magnitudes_are_noted(tmp_path):
    p = tmp_path / "ff.csv"
    _plain_csv(p, _real() * 100, digits=4)
    got = load_factors(str(p), units="decimal")
    assert got.attrs["factor_units"] == "decimal (given: units='decimal'; note: the magnitudes look like percent)"
    with pytest.raises(FactorDataError, match="unknown factor units"):
        load_factors(str(p), units="basis-points")


def test_cache_before_update_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTSTUDY_CACHE", str(tmp_path))
    with pytest.raises(FactorDataError, match="run `eventstudy factors update` first"):
        load_factors("cache")
    from eventstudy.cli import app

    r = CliRunner().invoke(app, ["factors", "show", "--factors", "cache"])
    assert r.exit_code == 1 and "eventstudy factors update" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize("body, row, field, text", [
    ("date,Mkt-RF,SMB,HML,RF\n2025-01-02,0.5,0.1,-0.2,0.02\n2025-01-03,abc,0.1,-0.2,0.02\n", 2, "Mkt-RF",
     "not a number: 'abc'"),
    ("date,Mkt-RF,SMB,HML,RF\n2025-01-02,0.5,0.1,-0.2,0.02\n2025-13-03,0.5,0.1,-0.2,0.02\n", 2, "date",
     "cannot parse '2025-13-03'"),
    ("date,Mkt-RF,SMB,HML,RF\n2025-01-02,0.5,0.1,-0.2\n", 1, "-", "expected 5 fields, found 4"),
    ("date,Mkt-RF,SMB,HML,RF\n20250102,0.5,0.1,-0.2,0.02\n20250102,0.4,0.1,-0.2,0.02\n", 2, "date", "duplicate date"),
    ("Date,Mkt-RF,mkt_rf,RF\n20250102,0.5,0.5,0.02\n", 0, "Mkt-RF", "appears more than once"),
    ("", 0, "header", "no header row"),
    ("date,Mkt-RF,RF\n", 0, "-", "no data rows"),
    ("date;Mkt-RF;RF\n2025-01-02;0.5;0.02\n", 0, "header", "no header row"),
    (",Mkt-RF,SMB,HML,RF\n192607,1.0,1.0,1.0,0.1\n192608,1.0,1.0,1.0,0.1\n", 1, "date",   # SYNTHETIC values
     "monthly factor file"),
])
def test_malformed_factor_files_name_file_row_and_field(tmp_path, body, row, field, text):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(FactorFileError) as info:
        load_factors(str(p))
    probs = info.value.problems
    assert any(pr.file == str(p) and pr.row == row and pr.field == field and text in pr.message for pr in probs), probs


def test_missing_files_directories_and_binary_data_are_named(tmp_path):
    with pytest.raises(FactorDataError, match="neither 'bundled', 'cache' nor an existing CSV file"):
        load_factors(str(tmp_path / "nope.csv"))
    with pytest.raises(FactorFileError, match="not a file"):
        load_factors(str(tmp_path))
    p = tmp_path / "bin.csv"
    p.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(FactorFileError, match="binary data"):
        load_factors(str(p))


_NAMES = st.sampled_from(["date", "Date", "Mkt-RF", "mkt_rf", "SMB", "HML", "RF", "rf", "Mom", "x", ""])
_CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(
    ["", "NA", "-99.99", "20250102", "2025-01-02", "2025-02-30", "1e400", "abc", "0.5", '"1,2"']), st.text(max_size=6))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_fuzz_random_bytes_raise_only_our_errors(tmp_path, data):
    p = tmp_path / "fuzz.csv"
    p.write_bytes(data)
    try:
        got = load_factors(str(p))
    except EventStudyError:
        return
    assert got.index.is_monotonic_increasing and "factor_units" in got.attrs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(_NAMES, min_size=1, max_size=6),
       rows=st.lists(st.lists(_CELLS, min_size=0, max_size=7), max_size=8),
       preamble=st.lists(st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s), max_size=2),
       units=st.sampled_from(["auto", "percent", "decimal"]))
def test_fuzz_random_frames_raise_only_our_errors(tmp_path, header, rows, preamble, units):
    p = tmp_path / "fuzz.csv"
    p.write_text("\n".join(preamble + [",".join(header)] + [",".join(r) for r in rows]) + "\n")
    try:
        got = load_factors(str(p), units=units)
    except (FactorDataError, InputFileError):
        return
    assert np.isfinite(got.to_numpy()[~np.isnan(got.to_numpy())]).all()
    assert got.index.is_unique and got.attrs["factor_units"].split(" ")[0] in ("percent", "decimal")


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none()), min_size=1,
                       max_size=12), name=_NAMES)
def test_fuzz_random_in_memory_frames_raise_only_our_errors(values, name):
    frame = pd.DataFrame({"Mkt-RF": values, name or "RF": values[::-1]},
                         index=pd.bdate_range("2025-01-02", periods=len(values)))
    try:
        load_factors(frame)
    except FactorDataError:
        pass
