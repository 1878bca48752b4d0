"""Cross-sectional regressions: against a direct statsmodels fit and a hand-computed two-way clustered covariance.

The results folders here are SYNTHETIC (seeded random numbers), written by the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from eventstudy._errors import EventStudyError
from eventstudy.regress import regress


def _synthetic_dir(tmp_path, n=120, seed=7):
    rng = np.random.default_rng(seed)
    ids = [f"SYN-{i:03d}" for i in range(n)]
    tickers = rng.choice([f"T{k}" for k in range(15)], n)
    dates = rng.choice(pd.date_range("2020-01-01", periods=25, freq="B").strftime("%Y-%m-%d"), n)
    etype = rng.choice(["a", "b", "c"], n)
    sigma = rng.uniform(0.01, 0.06, n)
    size = rng.normal(5, 1, n).round(6)
    status = np.where(rng.random(n) < 0.1, "no_prices", "ok")
    in_stats = (status == "ok") & (rng.random(n) > 0.05)
    car = 0.02 * (etype == "b") - 0.5 * sigma + 0.01 * size + rng.normal(0, 0.05, n)
    ev = pd.DataFrame({"event_id": ids, "ticker": tickers, "event_type": etype, "day0": dates, "status": status,
                       "reason": "", "in_stats": in_stats, "sigma": np.where(status == "ok", sigma, np.nan),
                       "confidence": rng.choice(["high", "medium", ""], n)})
    ev.loc[3, "sigma"] = np.nan if status[3] == "ok" else ev.loc[3, "sigma"]
    cr = pd.DataFrame({"event_id": ids, "window": "-1:1", "car": car, "car_se": sigma * np.sqrt(3), "scar": car / (sigma * np.sqrt(3))})
    other = cr.assign(window="0:0", car=0.0)
    out = tmp_path / "res"
    from eventstudy.export import write_folder        # a verified results folder (manifest with file hashes)

    write_folder(out, {"events.csv": ev, "car.csv": pd.concat([cr, other])}, {"study": "synthetic"})
    extra = pd.DataFrame({"event_id": ids, "ticker": tickers, "event_date": dates, "event_type": "fda_decision",
                          "log_size": size.round(6)})
    extra.to_csv(tmp_path / "events_in.csv", index=False)
    ok = (status == "ok") & in_stats & np.isfinite(ev["sigma"].to_numpy())
    frame = ev.assign(car=car, log_size=size, car_se=sigma * np.sqrt(3))[ok].reset_index(drop=True)
    return out, tmp_path / "events_in.csv", frame, int((status != "ok").sum())


def _design(frame):
    X = np.column_stack([np.ones(len(frame)), (frame["event_type"] == "b"), (frame["event_type"] == "c"),
                         frame["sigma"], frame["log_size"]]).astype(float)
    return X, frame["car"].to_numpy(float)


FORMULA = "car ~ C(event_type) + sigma + log_size"


def test_ols_matches_direct_statsmodels(tmp_path):
    out, evfile, frame, n_bad = _synthetic_dir(tmp_path)
    r = regress(out, FORMULA, window="-1:1", cov="HC3", events=evfile)
    X, y = _design(frame)
    direct = sm.OLS(y, X).fit(cov_type="HC3")
    np.testing.assert_allclose(r.tidy["coef"], direct.params, rtol=1e-10)
    np.testing.assert_allclose(r.tidy["se"], direct.bse, rtol=1e-10)
    assert r.n == len(frame)
    assert r.excluded["status not ok"] == n_bad
    assert r.excluded["missing value in a formula variable"] == 1
    classical = regress(out, FORMULA, cov="classical", events=evfile)
    np.testing.assert_allclose(classical.tidy["se"], sm.OLS(y, X).fit().bse, rtol=1e-10)


def test_wls_inverse_variance(tmp_path):
    out, evfile, frame, _ = _synthetic_dir(tmp_path)
    r = regress(out, FORMULA, cov="HC1", weights="inv_var", events=evfile)
    X, y = _design(frame)
    w = 1.0 / frame["car_se"].to_numpy() ** 2
    direct = sm.WLS(y, X, weights=w).fit(cov_type="HC1")
    np.testing.assert_allclose(r.tidy["coef"], direct.params, rtol=1e-10)
    np.testing.assert_allclose(r.tidy["se"], direct.bse, rtol=1e-10)


def _crv1_meat(X, u, g):
    """Σ_g (X_g'u_g)(X_g'u_g)' times G/(G−1)·(N−1)/(N−K), by a loop over clusters."""
    N, K = X.shape
    labels = np.unique(g)
    meat = np.zeros((K, K))
    for lab in labels:
        s = X[g == lab].T @ u[g == lab]
        meat += np.outer(s, s)
    G = len(labels)
    return G / (G - 1) * (N - 1) / (N - K) * meat


def test_two_way_cluster_matches_hand_formula(tmp_path):
    out, evfile, frame, _ = _synthetic_dir(tmp_path)
    r = regress(out, FORMULA, cov="cluster-2way", events=evfile)
    X, y = _design(frame)
    bread = np.linalg.inv(X.T @ X)
    u = y - X @ (bread @ X.T @ y)
    d, t = frame["day0"].to_numpy(), frame["ticker"].to_numpy()
    both = np.array([f"{a}|{b}" for a, b in zip(d, t)])
    V = bread @ (_crv1_meat(X, u, d) + _crv1_meat(X, u, t) - _crv1_meat(X, u, both)) @ bread
    np.testing.assert_allclose(np.asarray(r.fit.cov_params()), V, rtol=1e-9)
    G = min(len(set(d)), len(set(t)))
    assert r.tidy["df"].iloc[0] == G - 1
    from scipy import stats
    tt = r.tidy["coef"].to_numpy() / np.sqrt(np.diag(V))
    np.testing.assert_allclose(r.tidy["p"], 2 * stats.t.sf(np.abs(tt), G - 1), rtol=1e-8)
    one = regress(out, FORMULA, cov="cluster-ticker", events=evfile)
    np.testing.assert_allclose(np.asarray(one.fit.cov_params()), bread @ _crv1_meat(X, u, t) @ bread, rtol=1e-9)
    assert any("clusters" in n for n in r.notes)   # 15 tickers < 30: warned


def test_csv_and_errors(tmp_path):
    out, evfile, _, _ = _synthetic_dir(tmp_path)
    r = regress(out, FORMULA, events=evfile)
    path = r.to_csv(tmp_path / "regress.csv")
    back = pd.read_csv(path)
    assert list(back.columns[:7]) == ["term", "coef", "se", "t", "p", "ci_lo", "ci_hi"]
    assert {"n", "cov", "r2"} <= set(back.columns)
    assert "Intercept" in r.summary()
    with pytest.raises(EventStudyError, match="window 5:9 is not in the results"):
        regress(out, FORMULA, window="5:9", events=evfile)
    with pytest.raises(EventStudyError, match="no_such_col"):
        regress(out, "car ~ no_such_col", events=evfile)
    with pytest.raises(ValueError, match="cov"):
        regress(out, FORMULA, cov="HC9", events=evfile)


def test_on_a_study_results_object():
    import eventstudy as es

    res = es.run_study("events/seed_events.csv", prices="bundled", benchmark="XBI")
    r = regress(res, "car ~ sigma", window="0:5", cov="HC1")
    ok = res.events[res.events["in_stats"]]
    y = res.car[res.car["window"] == "0:5"].set_index("event_id").loc[ok["event_id"], "car"].to_numpy()
    direct = sm.OLS(y, sm.add_constant(ok["sigma"].to_numpy())).fit(cov_type="HC1")
    np.testing.assert_allclose(r.tidy["coef"], direct.params, rtol=1e-10)
    assert r.n == len(ok)
