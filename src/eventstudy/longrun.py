r"""Long-horizon abnormal returns: buy-and-hold abnormal returns (BHAR) with their tests, control
firms from the price source's own universe, and calendar-time portfolios.

BHAR (Barber & Lyon 1997; Lyon, Barber & Tsai 1999), event *i*, horizon :math:`[a, b]` of
relative trading days:

.. math:: BHAR_i(a,b) = \prod_{t=a}^{b}(1+R_{it}) - \prod_{t=a}^{b}(1+R_{Bt})

compounded from the close before day *a* (for ``0:b`` the day-0 reaction is included; use ``1:b``
or ``2:b`` to leave the announcement out, and ``1:b`` for IPOs, which have no earlier price).
The benchmark *B* is compounded over exactly the stock's observed span: both products are taken
from the same base session to the stock's last observed session at or before day *b*.

Delisting: when the stock's prices end before day *b* but the data continue, the event keeps
its row with ``delisted_before_end = True`` and

* ``truncate`` (default): both products stop at the last price (the benchmark is truncated with
  the stock);
* ``fill-benchmark``: the proceeds are reinvested in the benchmark until day *b* (Barber & Lyon
  1997; LBT 1999 fill missing returns with the benchmark), i.e. the stock product is extended by
  the benchmark's. A delisting return is not in the data (CRSP's ``DLRET`` has no equivalent in
  Yahoo bars), so the final loss of a firm that delists for cause is missed either way.

When day *b* lies after the last date of the whole price source the horizon is not over yet:
status ``incomplete_horizon``, BHAR reported over the days available but left out of the tests.

Control firms (Barber & Lyon 1997 match on size and book-to-market; the bundled universe has
prices and volume only, no shares outstanding or book equity): the candidate of the source's
universe nearest in :math:`|\log x_c - \log x_i|` on

* ``dollar-volume``: mean close × volume over sessions −``match_days``…−1 (a size proxy:
  trading volume in dollars rises steeply with market capitalisation);
* ``price``: the raw close on day −1 (low-priced stocks behave like small caps);
* ``volatility``: s.d. of daily log returns over sessions −``match_days``…−1;

among firms other than the event firm, listed with at least half the matching sessions observed,
priced from the base session to the horizon end (a control that delists would need a
replacement), and with no event of the input file between the matching window and the horizon end.
With ``control_k = k > 1`` the benchmark is the equal-weighted buy-and-hold portfolio of the k
nearest such firms (a characteristic-matched reference portfolio without rebalancing; Barber &
Lyon 1997), :math:`\prod(1+R_i) - \frac1k\sum_j\prod(1+R_{c_j})`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError

CONTROLS: tuple[str, ...] = ("dollar-volume", "price", "volatility")
DELISTING: tuple[str, ...] = ("truncate", "fill-benchmark")
METHODS: tuple[str, ...] = ("bhar", "calendar-time", "both")
ALL_TYPES = "ALL"


# =============================================================================================
# Pure core: levels, buy-and-hold paths
# =============================================================================================
def last_observed(levels: np.ndarray) -> np.ndarray:
    """(R, S) position of the last finite value at or before each column (−1 if none)."""
    S = levels.shape[1]
    return np.maximum.accumulate(np.where(np.isfinite(levels), np.arange(S), -1), axis=1)


def _value_at(levels: np.ndarray, last: np.ndarray, rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The most recent finite ``levels[rows, ·]`` at or before ``pos`` (NaN when none or ``pos < 0``)."""
    S = levels.shape[1]
    r = rows if pos.ndim == 1 else rows[:, None]
    q = last[r, np.clip(pos, 0, S - 1)]
    q = np.where(pos >= 0, q, -1)
    return np.where(q >= 0, levels[r, np.clip(q, 0, None)], np.nan)


@dataclass
class BuyHold:
    """Buy-and-hold paths for one horizon, all events (arrays (n, L) over horizon days a…b)."""

    bhar: np.ndarray
    stock: np.ndarray       # Π(1+R_i) − 1
    bench: np.ndarray       # Π(1+R_B) − 1
    n_days: np.ndarray      # observed stock sessions from day a to each day
    base: np.ndarray        # (n,) base session position (−1: no price before day a)
    last: np.ndarray        # (n,) stock's last observed session at or before day b


def buy_and_hold(stock_lv: np.ndarray, rows: np.ndarray, bench_lv: np.ndarray, bench_rows: np.ndarray,
                 start: np.ndarray, length: int, delisting: str = "truncate") -> BuyHold:
    r"""Buy-and-hold returns of stocks and their benchmarks from day *a* to every day of the horizon.

    Parameters
    ----------
    stock_lv : (T, S) log price levels on the session grid (NaN = no price)
    rows : (n,) row of each event's stock in ``stock_lv``
    bench_lv : (R, S) benchmark log levels (cumulative log(1 + r) for an index, log prices for a
        control firm); ``bench_rows`` (n,) picks each event's row
    start : (n,) grid position of horizon day *a*; ``length`` = b − a + 1
    delisting : ``truncate`` or ``fill-benchmark`` (module docstring)

    Notes
    -----
    With *s* the stock's last price before day *a* and :math:`e_k` its last price at or before
    horizon day *k*, :math:`\prod(1+R_i) = \exp(\ell_i(e_k) - \ell_i(s))` and the benchmark
    :math:`\exp(\ell_B(e_k) - \ell_B(s))`; a benchmark without a value on a session uses its most
    recent one. ``fill-benchmark`` multiplies the stock by :math:`\exp(\ell_B(t_k)-\ell_B(e_k))`
    and compounds the benchmark to :math:`t_k`, the nominal day (capped at the grid end).
    """
    S = stock_lv.shape[1]
    slast = last_observed(stock_lv)
    blast = last_observed(bench_lv)
    P = start[:, None] + np.arange(length)[None, :]
    Pc = np.clip(P, 0, S - 1)
    base = np.where(start - 1 >= 0, slast[rows, np.clip(start - 1, 0, S - 1)], -1)
    e = np.where(P >= 0, slast[rows[:, None], Pc], -1)
    started = (e >= start[:, None]) & (base[:, None] >= 0)
    ls_e = stock_lv[rows[:, None], np.clip(e, 0, None)]
    ls_s = stock_lv[rows, np.clip(base, 0, None)]
    lb_s = _value_at(bench_lv, blast, bench_rows, base)
    t = Pc if delisting == "fill-benchmark" else e
    lb_t = _value_at(bench_lv, blast, bench_rows, t)
    stock_cum = ls_e - ls_s[:, None]
    if delisting == "fill-benchmark":
        stock_cum = stock_cum + lb_t - _value_at(bench_lv, blast, bench_rows, e)
    bench_cum = lb_t - lb_s[:, None]
    gs, gb = np.expm1(stock_cum), np.expm1(bench_cum)
    obs = np.isfinite(stock_lv[rows[:, None], Pc]) & (P >= 0) & (P <= S - 1)
    n_days = np.cumsum(obs, axis=1)
    gs, gb = np.where(started, gs, np.nan), np.where(started, gb, np.nan)
    return BuyHold(gs - gb, gs, gb, n_days, base, e[:, -1] if length else np.full(len(rows), -1))


# =============================================================================================
# Control firms
# =============================================================================================
def matching_characteristic(kind: str, logp: np.ndarray, close: np.ndarray, volume: np.ndarray,
                            day0_pos: np.ndarray, match_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, n) characteristic of every ticker at every event's day 0 and (T, n) observed-session counts
    over sessions ``day0 − match_days … day0 − 1`` (see module docstring for the three kinds)."""
    T, S = logp.shape
    hi = np.clip(day0_pos, 0, S)                 # exclusive end: day −1 is the last session used
    lo = np.clip(day0_pos - match_days, 0, S)
    obs = np.isfinite(logp)

    def window_sum(x: np.ndarray) -> np.ndarray:
        cs = np.zeros((T, S + 1))
        np.cumsum(np.nan_to_num(x), axis=1, out=cs[:, 1:])
        return cs[:, hi] - cs[:, lo]

    count = window_sum(obs.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "dollar-volume":
            dv = np.where(obs & np.isfinite(volume), close * volume, np.nan)
            n_dv = window_sum(np.isfinite(dv).astype(float))
            x = window_sum(dv) / n_dv
        elif kind == "price":
            last = last_observed(close)
            q = last[:, np.clip(hi - 1, 0, S - 1)]
            x = np.where((q >= 0) & (q >= lo[None, :]), close[np.arange(T)[:, None], np.clip(q, 0, None)], np.nan)
        elif kind == "volatility":
            prev = np.full_like(logp, np.nan)
            prev[:, 1:] = logp[:, :-1]
            r = logp - prev                           # one-session log returns only (no gap returns)
            m = np.isfinite(r)
            n_r = window_sum(m.astype(float))
            s1, s2 = window_sum(np.where(m, r, 0)), window_sum(np.where(m, r * r, 0))
            x = np.sqrt(np.maximum(s2 - s1 * s1 / n_r, 0) / (n_r - 1))
            x = np.where(n_r >= 10, x, np.nan)
        else:
            raise ValueError(f"control {kind!r}: choose from {', '.join(CONTROLS)}")
    x = np.where(np.isfinite(x) & (x > 0), x, np.nan)
    return x, count


def match_controls(char: np.ndarray, own_rows: np.ndarray, eligible: np.ndarray, k: int = 1) -> np.ndarray:
    r"""The ``k`` nearest eligible candidates per event, nearest first: smallest :math:`|\log x_c - \log x_i|`.

    ``char`` (T, n) characteristic of each ticker at each event, ``own_rows`` (n,) the event
    firm's row (never its own match), ``eligible`` (T, n). Returns (n, k) rows; an event whose own
    value is missing, or with fewer than ``k`` eligible candidates, gets −1 throughout. Ties go to
    the lower row (alphabetical ticker).
    """
    T, n = char.shape
    cols = np.arange(n)
    own = np.where(own_rows >= 0, char[np.clip(own_rows, 0, None), cols], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.abs(np.log(char) - np.log(own)[None, :])
    ok = eligible & np.isfinite(d)
    ok[np.clip(own_rows, 0, None), cols] &= own_rows < 0
    d = np.where(ok, d, np.inf)
    best = np.argsort(d, axis=0, kind="stable")[:k].T          # (n, k)
    enough = np.isfinite(own) & (ok.sum(axis=0) >= k)
    return np.where(enough[:, None], best, -1)


def buy_and_hold_portfolio(stock_lv: np.ndarray, rows: np.ndarray, bench_lv: np.ndarray, bench_rows: np.ndarray,
                           start: np.ndarray, length: int, delisting: str = "truncate") -> BuyHold:
    r""":func:`buy_and_hold` against an equal-weighted *buy-and-hold* portfolio of ``k`` benchmarks per event
    (``bench_rows`` (n, k)): :math:`BHAR_i = \prod(1+R_i) - \frac1k\sum_j \prod(1+R_{c_j})` (Barber & Lyon
    1997: a buy-and-hold reference portfolio avoids the rebalancing bias). The portfolio's value is the
    mean of its members' buy-and-hold values; with ``fill-benchmark`` each member's fill is averaged.
    ``k = 1`` is :func:`buy_and_hold` itself."""
    parts = [buy_and_hold(stock_lv, rows, bench_lv, bench_rows[:, j], start, length, delisting)
             for j in range(bench_rows.shape[1])]
    if len(parts) == 1:
        return parts[0]
    mean = lambda name: np.mean([getattr(b, name) for b in parts], axis=0)  # noqa: E731
    return BuyHold(mean("bhar"), mean("stock"), mean("bench"), parts[0].n_days, parts[0].base, parts[0].last)


# =============================================================================================
# Tests on BHARs
# =============================================================================================
def skewness_adjusted_t(x: np.ndarray) -> tuple[float, float, float]:
    r"""Skewness-adjusted t (Johnson 1978; Hall 1992; as used by Lyon, Barber & Tsai 1999, eq. 5).

    .. math:: S = \frac{\bar x}{s},\qquad
              \hat\gamma = \frac{\sum_i (x_i-\bar x)^3}{n\, s^3},\qquad
              t_{sa} = \sqrt n\Big(S + \tfrac13\hat\gamma S^2 + \tfrac{1}{6n}\hat\gamma\Big)

    with *s* the sample standard deviation (n − 1). Returns ``(t_sa, p, γ̂)``; p two-sided from
    N(0, 1) (LBT compare t_sa with the normal or, better, bootstrapped critical values).
    """
    from scipy import stats

    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 3:
        return float("nan"), float("nan"), float("nan")
    s = x.std(ddof=1)
    if s == 0:
        return float("nan"), float("nan"), float("nan")
    S = x.mean() / s
    g = ((x - x.mean()) ** 3).sum() / (n * s**3)
    t = float(np.sqrt(n) * (S + g * S * S / 3 + g / (6 * n)))
    return t, float(2 * stats.norm.sf(abs(t))), float(g)


def bootstrap_skewness_adjusted(x: np.ndarray, reps: int = 1000, seed: int | np.random.Generator = 0,
                                fraction: float = 0.25, level: float = 0.05) -> tuple[float, float, float]:
    r"""Bootstrapped skewness-adjusted t (Lyon, Barber & Tsai 1999, sec. III.B; Sutton 1993).

    ``reps`` resamples of size :math:`n_b = \lfloor n\cdot\text{fraction}\rfloor` (LBT: n/4) drawn with
    replacement; in each, the statistic is centred on the full-sample mean:

    .. math:: S^b = \frac{\bar x^b - \bar x}{s^b},\quad
              \hat\gamma^b = \frac{\sum_j (x^b_j-\bar x^b)^3}{n_b (s^b)^3},\quad
              t^b = \sqrt{n_b}\Big(S^b + \tfrac13\hat\gamma^b (S^b)^2 + \tfrac{1}{6n_b}\hat\gamma^b\Big)

    The full-sample :math:`t_{sa}` is compared with the :math:`level/2` and :math:`1-level/2`
    quantiles of :math:`t^b`. Returns ``(crit_lo, crit_hi, p)`` with the two-sided bootstrap p-value
    :math:`p = 2\min\{\Pr(t^b \le t_{sa}), \Pr(t^b \ge t_{sa})\}` (capped at 1). Resamples with
    :math:`s^b = 0` are dropped.
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = x.size
    nb = int(np.floor(n * fraction))
    nan = float("nan")
    t_sa = skewness_adjusted_t(x)[0]
    if nb < 3 or not np.isfinite(t_sa):
        return nan, nan, nan
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    xb = x[rng.integers(0, n, size=(reps, nb))]
    m = xb.mean(axis=1)
    s = xb.std(axis=1, ddof=1)
    ok = s > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        S = (m - x.mean()) / s
        g = ((xb - m[:, None]) ** 3).sum(axis=1) / (nb * s**3)
        tb = np.sqrt(nb) * (S + g * S * S / 3 + g / (6 * nb))
    tb = tb[ok]
    if tb.size == 0:
        return nan, nan, nan
    lo, hi = np.quantile(tb, [level / 2, 1 - level / 2])
    p = min(1.0, 2 * min((tb <= t_sa).mean(), (tb >= t_sa).mean()))
    return float(lo), float(hi), float(p)


def bhar_tests(x: np.ndarray, reps: int = 1000, seed: int = 0) -> dict:
    """Every BHAR test on one sample: cross-sectional t, skewness-adjusted t and its bootstrap, Wilcoxon."""
    from .inference import cross_sectional, wilcoxon

    cs = cross_sectional(np.asarray(x, float))
    t_sa, p_sa, g = skewness_adjusted_t(x)
    lo, hi, p_b = bootstrap_skewness_adjusted(x, reps=reps, seed=seed)
    w, wz, p_w = wilcoxon(x)
    return {"n": int(cs.n), "mean_bhar": float(cs.mean), "median_bhar": float(cs.median),
            "sd_bhar": float(cs.sd), "pos_share": float(cs.pos_share), "t_cs": float(cs.t), "p_cs": float(cs.p),
            "skewness": g, "t_sa": t_sa, "p_sa": p_sa, "boot_crit_lo": lo, "boot_crit_hi": hi, "p_sa_boot": p_b,
            "wilcoxon_w": w, "wilcoxon_z": wz, "p_wilcoxon": p_w}


# =============================================================================================
# Specification, pipeline, results
# =============================================================================================
@dataclass(frozen=True)
class LongRunSpec:
    """Settings of a long-horizon study.

    Parameters
    ----------
    horizons : (a, b) relative trading days, e.g. ``((0, 125), (0, 250))`` or ``("1:250",)``
    benchmark : index ticker of the price source, ``FF-MKT`` (Fama–French Mkt-RF + RF), or ``none``
    controls : control-firm matches to add as benchmarks: any of :data:`CONTROLS`
    control_k : 1 for a control firm (benchmark ``control:<kind>``); k > 1 for an equal-weighted buy-and-hold
        reference portfolio of the k nearest firms (benchmark ``reference<k>:<kind>``)
    delisting : :data:`DELISTING`
    match_days : sessions before day 0 used to match control firms
    group_by : ``event_type``, ``subtype`` or ``type_subtype``
    method : ``bhar``, ``calendar-time`` or ``both``
    ct_models : factor models of the calendar-time regressions
    ct_frequency : ``daily`` or ``monthly``
    min_stocks : calendar-time periods with fewer holdings are left out
    nw_lags : Newey–West lags (default :func:`~eventstudy.calendar_time.newey_west_lags`)
    overlap : ``keep`` every event in the BHAR tests, or ``first``: of events of one ticker whose spans
        (first horizon start to last horizon end) overlap, only the earliest of each chain (the
        others keep their row and BHAR, with ``in_stats`` False). Calendar-time portfolios hold a
        stock once whatever the overlap.
    boot_reps, seed : bootstrap of the skewness-adjusted t
    """

    horizons: tuple[tuple[int, int], ...] = ((0, 125), (0, 250))
    benchmark: str = "FF-MKT"
    controls: tuple[str, ...] = ()
    control_k: int = 1
    delisting: str = "truncate"
    match_days: int = 63
    group_by: str = "event_type"
    method: str = "both"
    ct_models: tuple[str, ...] = ("ff3", "carhart", "ff5")
    ct_frequency: str = "daily"
    min_stocks: int = 5
    nw_lags: int | None = None
    overlap: str = "keep"
    boot_reps: int = 1000
    seed: int = 20260121
    name: str = "longrun"

    def __post_init__(self) -> None:
        from .abnormal import parse_window
        from .calendar_time import FACTOR_MODELS
        from .study import GROUP_BY

        hz = tuple(tuple(parse_window(h) if isinstance(h, str) else h) for h in self.horizons)
        if not hz:
            raise ValueError("at least one horizon is needed")
        object.__setattr__(self, "horizons", hz)
        object.__setattr__(self, "benchmark", self.benchmark.upper())
        object.__setattr__(self, "controls", tuple(self.controls))
        bad = [c for c in self.controls if c not in CONTROLS]
        if bad:
            raise ValueError(f"control {bad[0]!r}: choose from {', '.join(CONTROLS)}")
        if self.delisting not in DELISTING:
            raise ValueError(f"delisting {self.delisting!r}: choose truncate or fill-benchmark")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r}: choose bhar, calendar-time or both")
        if self.group_by not in GROUP_BY:
            raise ValueError(f"group_by {self.group_by!r}: choose from {', '.join(GROUP_BY)}")
        bad = [m for m in self.ct_models if m not in FACTOR_MODELS]
        if bad:
            raise ValueError(f"calendar-time model {bad[0]!r}: choose from {', '.join(FACTOR_MODELS)}")
        if self.ct_frequency not in ("daily", "monthly"):
            raise ValueError("ct_frequency: daily or monthly")
        if self.benchmark == "NONE" and not self.controls and self.method != "calendar-time":
            raise ValueError("BHAR needs a benchmark or a control firm (--control)")
        if self.overlap not in ("keep", "first"):
            raise ValueError(f"overlap {self.overlap!r}: choose keep or first")
        if self.control_k < 1:
            raise ValueError("control_k must be at least 1")
        if self.min_stocks < 1 or self.match_days < 10:
            raise ValueError("min_stocks must be ≥ 1 and match_days ≥ 10")

    @property
    def benchmarks(self) -> tuple[str, ...]:
        pre = "control" if self.control_k == 1 else f"reference{self.control_k}"
        return ((self.benchmark,) if self.benchmark != "NONE" else ()) + tuple(f"{pre}:{c}" for c in self.controls)

    def to_dict(self) -> dict:
        return {"horizons": [f"{a}:{b}" for a, b in self.horizons], "benchmark": self.benchmark,
                "controls": list(self.controls), "control_k": self.control_k, "delisting": self.delisting, "match_days": self.match_days,
                "group_by": self.group_by, "method": self.method, "ct_models": list(self.ct_models),
                "ct_frequency": self.ct_frequency, "min_stocks": self.min_stocks, "nw_lags": self.nw_lags,
                "overlap": self.overlap,
                "boot_reps": self.boot_reps, "seed": self.seed, "name": self.name}


def _source_tickers(source) -> list[str]:
    if hasattr(source, "tickers"):
        return list(source.tickers())
    directory = getattr(source, "directory", None)
    if directory is not None:
        return sorted(p.stem.upper() for p in Path(directory).glob("*.csv"))
    raise EventStudyError(f"control firms need a price source that lists its tickers (bundled:universe or a "
                          f"directory of CSV files); {getattr(source, 'name', source)!r} does not")


def run_longrun(events: str | pd.DataFrame, prices="bundled:universe", spec: LongRunSpec | None = None, *,
                factors: str | pd.DataFrame | None = None, progress: Callable[[str], None] | None = None,
                **spec_kwargs) -> "LongRunResults":
    """Long-horizon study of ``events``: BHARs per event × horizon × benchmark, their tests per group, and
    calendar-time portfolio alphas. Reuses the study's loaders, day-0 rule and session grid."""
    from .events import load_events
    from .factors import load_factors
    from .results import group_labels
    from .sources import open_source
    from .study import (FF_MARKET, _levels, _overlap_pairs, _rank_of, canonical_order, load_prices, session_grid,
                        source_statuses)
    from .trading_calendar import align_day0

    spec = replace(spec or LongRunSpec(), **spec_kwargs) if spec_kwargs else (spec or LongRunSpec())
    ev = canonical_order(load_events(events))
    source = open_source(prices)
    n = len(ev)
    tickers = sorted(t for t in ev["ticker"].unique() if t)
    bench = spec.benchmark if spec.benchmark not in ("NONE", FF_MARKET) else None
    universe = _source_tickers(source) if spec.controls else []
    to_load = sorted(set(tickers) | set(universe) | ({bench} if bench else set()))
    loaded = load_prices(source, to_load, progress)
    if bench and bench in loaded.failed:
        raise EventStudyError(f"benchmark {bench}: {loaded.failed[bench][1]}")
    need_fac = spec.benchmark == FF_MARKET or spec.method != "bhar"
    fac = load_factors(factors) if need_fac else None

    if not loaded.bars:
        raise EventStudyError("no prices for any event ticker")
    full, offset, sessions, grid = session_grid(loaded)
    S = len(sessions)
    row_of = pd.Index(grid.tickers)
    pos_full, _ = align_day0(ev["event_date"], ev["event_time"], full)
    day0 = np.where(pos_full >= 0, pos_full - offset, -1)
    rows = row_of.get_indexer(ev["ticker"]).astype(np.int64)
    first = np.where(rows >= 0, grid.first[np.clip(rows, 0, None)], -1)
    last = np.where(rows >= 0, grid.last[np.clip(rows, 0, None)], -1)

    # ---- event-level statuses ------------------------------------------------------------------
    status = np.full(n, "ok", dtype=object)
    reason = np.full(n, "", dtype=object)
    in_hist = (rows >= 0) & (day0 >= 0) & (day0 < S) & (day0 >= first) & (day0 <= last)
    status[~in_hist] = "outside_data"
    for i in np.flatnonzero(~in_hist & (rows >= 0)):
        reason[i] = (f"day 0 (news {ev['event_date'].iat[i].date()}) is outside the price history of "
                     f"{ev['ticker'].iat[i]} ({sessions[first[i]].date()} to {sessions[last[i]].date()})")
    source_statuses(status, reason, ev["ticker"].to_numpy(), loaded)
    ev_ok = status == "ok"
    groups = group_labels(ev, spec.group_by)
    a_min = min(h[0] for h in spec.horizons)
    b_max = max(h[1] for h in spec.horizons)
    first_of_chain = np.ones(n, dtype=bool)
    overlap_text = np.full(n, "", dtype=object)
    if spec.overlap == "first":
        _, _, idx, cluster = _overlap_pairs(np.where(ev_ok, rows, -1), day0 + a_min, day0 + b_max, ev_ok,
                                            _rank_of(ev["event_id"].to_numpy().astype(str)))
        if idx.size:
            lead = np.r_[True, cluster[1:] != cluster[:-1]]
            first_of_chain[idx[~lead]] = False
            lead_id = ev["event_id"].to_numpy()[idx[np.maximum.accumulate(np.where(lead, np.arange(idx.size), 0))]]
            overlap_text[idx[~lead]] = [f"overlaps the earlier event {x} of the same ticker (overlap=first): "
                                        "not in the tests" for x in lead_id[~lead]]

    # ---- benchmarks as level matrices ------------------------------------------------------------
    # name -> (levels (R, S), row per event, control ticker per event, control row or None)
    bench_levels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = {}
    if spec.benchmark == FF_MARKET:
        lv = _levels((fac["Mkt-RF"] + fac["RF"]).to_frame(), sessions)[:, 0]
        bench_levels[FF_MARKET] = (lv[None, :], np.zeros((n, 1), np.int64), np.full(n, "", dtype=object), None)
    elif bench:
        bench_levels[bench] = (grid.logp[[row_of.get_loc(bench)]], np.zeros((n, 1), np.int64),
                               np.full(n, "", dtype=object), None)
    data_end = S - 1
    if spec.controls:
        ev_rows_all = rows[ev_ok]
        had_event = _event_indicator(ev_rows_all, day0[ev_ok], grid.logp.shape)
        need_lo = day0 + a_min - 1
        need_hi = np.minimum(day0 + b_max, data_end)
        cs = np.zeros((grid.logp.shape[0], S + 1), np.int64)
        np.cumsum(had_event, axis=1, out=cs[:, 1:])
        w_lo = np.clip(day0 - spec.match_days, 0, S)
        w_hi = np.clip(need_hi + 1, 0, S)
        clean = (cs[:, w_hi] - cs[:, w_lo]) == 0                         # (T, n)
        for kind in spec.controls:
            char, count = matching_characteristic(kind, grid.logp, grid.close, grid.volume, day0, spec.match_days)
            eligible = (clean & (count >= spec.match_days / 2) & (grid.first[:, None] <= need_lo[None, :])
                        & (grid.last[:, None] >= need_hi[None, :]))
            ctrl = match_controls(char, np.where(ev_ok, rows, -1), eligible & ev_ok[None, :], spec.control_k)
            tick = np.asarray(grid.tickers, dtype=object)[np.clip(ctrl, 0, None)]
            names = np.where(ctrl[:, 0] >= 0, pd.DataFrame(tick).agg(";".join, axis=1).to_numpy(dtype=object), "")
            label = f"control:{kind}" if spec.control_k == 1 else f"reference{spec.control_k}:{kind}"
            bench_levels[label] = (grid.logp, np.clip(ctrl, 0, None), names, ctrl[:, 0])

    # ---- BHAR per horizon and benchmark ------------------------------------------------------------
    frames, paths = [], {}
    for (a, b) in spec.horizons:
        L = b - a + 1
        for bname, (lv, brow, bticker, ctrl) in bench_levels.items():
            bh = buy_and_hold_portfolio(grid.logp, np.clip(rows, 0, None), lv, brow, day0 + a, L, spec.delisting)
            st, rs = status.copy(), reason.copy()
            end_pos = day0 + b
            incomplete = ev_ok & (end_pos > data_end)
            delisted = ev_ok & ~incomplete & (last < end_pos)
            no_base = ev_ok & (bh.base < 0)
            no_data = ev_ok & ~no_base & ~np.isfinite(bh.stock[:, -1])
            no_bench = ev_ok & ~no_base & ~no_data & ~np.isfinite(bh.bench[:, -1])
            for code, mask, text in (
                    ("incomplete_horizon", incomplete, None),
                    ("no_event_data", no_data, f"no price inside the horizon {a}:{b}"),
                    ("no_benchmark", no_bench, f"{bname} has no value at the horizon base or end"),
                    ("no_base_price", no_base, f"no price before horizon day {a} (an IPO on day 0? use a horizon "
                                              f"starting at 1)")):
                st[mask], rs[mask] = code, text or ""
            for i in np.flatnonzero(st == "incomplete_horizon"):
                rs[i] = (f"horizon end (day {b}) is after the last date of the price data "
                         f"({sessions[-1].date()}): BHAR over {int(bh.n_days[i, -1])} of {L} days, not in the tests")
            if ctrl is not None:
                noc = (st == "ok") & (ctrl < 0)
                st[noc], rs[noc] = "no_control", (f"fewer than {spec.control_k} eligible {bname.split(':')[1]} control "
                                                  f"firm(s) (listed through the horizon, no event of their own, "
                                                  f"characteristic observed)")
            bhar_end = np.where(np.isin(st, ("ok", "incomplete_horizon")), bh.bhar[:, -1], np.nan)
            dl_text = np.full(n, "", dtype=object)
            for i in np.flatnonzero(delisted & (st == "ok")):
                dl_text[i] = (f"prices end {sessions[last[i]].date()}, {end_pos[i] - last[i]} sessions before the "
                              f"horizon end: {'truncated with the benchmark' if spec.delisting == 'truncate' else 'benchmark return after the last price'}")
            rs = np.where(dl_text != "", dl_text, rs)
            dropped = (st == "ok") & ~first_of_chain
            rs[dropped] = np.where(rs[dropped] != "", rs[dropped] + "; ", "") + overlap_text[dropped]
            frames.append(pd.DataFrame({
                "event_id": ev["event_id"], "ticker": ev["ticker"], "event_type": ev["event_type"],
                "subtype": ev["subtype"], "group": groups,
                "day0": pd.to_datetime(np.where(in_hist, sessions.to_numpy()[np.clip(day0, 0, S - 1)],
                                                np.datetime64("NaT"))),
                "horizon": f"{a}:{b}", "h_start": a, "h_end": b, "benchmark": bname, "control_ticker": bticker,
                "bhar": bhar_end, "bh_stock": np.where(np.isfinite(bhar_end), bh.stock[:, -1], np.nan),
                "bh_bench": np.where(np.isfinite(bhar_end), bh.bench[:, -1], np.nan),
                "n_days": np.where(ev_ok, bh.n_days[:, -1], 0), "delisted_before_end": delisted & (st == "ok"),
                "status": st, "reason": rs, "in_stats": (st == "ok") & first_of_chain}))
            paths[(f"{a}:{b}", bname)] = np.where(((st == "ok") & first_of_chain)[:, None], bh.bhar, np.nan)
    bhar = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    ct = None
    if spec.method != "bhar":
        ct = _calendar_time(spec, grid, fac, rows, day0, ev_ok, groups)
    notes = []
    counts = pd.Series(status[status != "ok"]).value_counts()
    if len(counts):
        notes.append("not studied: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    meta = {"source": source.describe(), "n_events": n, "n_ok": int(ev_ok.sum()),
            "data_first": str(sessions[0].date()), "data_last": str(sessions[-1].date())}
    return LongRunResults(spec, bhar, paths, groups, ct, notes, meta, events=ev)


def _event_indicator(rows: np.ndarray, pos: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.int64)
    ok = (rows >= 0) & (pos >= 0) & (pos < shape[1])
    np.add.at(out, (rows[ok], pos[ok]), 1)
    return out


def _calendar_time(spec: LongRunSpec, grid, fac: pd.DataFrame, rows, day0, ev_ok, groups) -> dict:
    """Calendar-time portfolio series and factor regressions per group and horizon."""
    from . import calendar_time as ctm

    sessions = grid.sessions
    S = len(sessions)
    monthly = spec.ct_frequency == "monthly"
    if monthly:
        ends = ctm.month_ends(sessions)
        rets = ctm.monthly_stock_returns(grid.logp, ends)
        f = ctm.monthly_factors(fac, sessions, ends)
        dates = sessions[ends]
    else:
        rets = np.expm1(grid.stock_log_return())
        f = fac.reindex(sessions)
        dates = sessions
    ppy = ctm.PERIODS_PER_YEAR[spec.ct_frequency]
    series, alphas = [], []
    labels = [(ALL_TYPES, ev_ok)] + [(g, ev_ok & (groups == g)) for g in sorted(set(groups[ev_ok]))]
    for (a, b) in spec.horizons:
        for g, mask in labels:
            held = ctm.holdings(rows[mask], day0[mask] + a, day0[mask] + b, grid.logp.shape)
            if monthly:
                held = held[:, ends] & np.isfinite(rets)
            port, size = ctm.portfolio_returns(rets, held)
            keep = size >= spec.min_stocks
            port = np.where(keep, port, np.nan)
            excess = port - f["RF"].to_numpy()
            series.append(pd.DataFrame({"group": g, "horizon": f"{a}:{b}", "date": dates, "n_stocks": size,
                                        "port_ret": port, "rf": f["RF"].to_numpy(), "excess": excess,
                                        "used": keep & np.isfinite(excess)}))
            for model in spec.ct_models:
                names = ctm.FACTOR_MODELS[model]
                missing = [c for c in names if c not in f.columns]
                if missing:
                    raise EventStudyError(f"factor data lacks {', '.join(missing)} for calendar-time model {model}")
                r = ctm.alpha_regression(excess, f[list(names)].to_numpy(), names, size, ppy, spec.nw_lags, model)
                alphas.append({"group": g, "horizon": f"{a}:{b}", "frequency": spec.ct_frequency, "model": model,
                               "n_events": int(mask.sum()), "n_periods": r.n_periods, "mean_size": r.mean_size,
                               "alpha": r.alpha, "alpha_ann": r.alpha_ann, "t_classical": r.t_classical,
                               "p_classical": r.p_classical, "t_nw": r.t_nw, "p_nw": r.p_nw, "nw_lags": r.nw_lags,
                               "r2": r.r2, **{f"beta_{k}": v for k, v in r.betas.items()}})
    return {"series": pd.concat(series, ignore_index=True), "alphas": pd.DataFrame(alphas)}


@dataclass
class LongRunResults:
    """Output of :func:`run_longrun`.

    Attributes
    ----------
    bhar : one row per event × horizon × benchmark (``bhar.csv``)
    paths : (horizon, benchmark) → (n, L) BHAR from day *a* to each horizon day (NaN unless status ok)
    calendar : ``{"series": calendar_time.csv frame, "alphas": calendar_time_alpha.csv frame}`` or None
    """

    spec: LongRunSpec
    bhar: pd.DataFrame
    paths: dict
    groups: np.ndarray
    calendar: dict | None
    notes: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    events: pd.DataFrame | None = None

    @cached_property
    def summary_table(self) -> pd.DataFrame:
        """Per group × horizon × benchmark: every BHAR test (``longrun_summary.csv``)."""
        rows = []
        if self.bhar.empty:
            return pd.DataFrame()
        for (h, bname), sub in self.bhar.groupby(["horizon", "benchmark"], sort=False):
            parts = [(ALL_TYPES, sub)] + [(g, s) for g, s in sub.groupby("group", sort=True)]
            for g, s in parts:
                x = s.loc[s["in_stats"], "bhar"].to_numpy(float)
                # the bootstrap seed depends only on (seed, horizon, benchmark, group), not on what else was asked
                seed = (self.spec.seed + zlib.crc32(f"{h}|{bname}|{g}".encode())) % 2**32
                rows.append({"group": g, "horizon": h, "benchmark": bname,
                             **bhar_tests(x, self.spec.boot_reps, seed),
                             "n_delisted": int(s["delisted_before_end"].sum()),
                             "n_incomplete": int((s["status"] == "incomplete_horizon").sum()),
                             "n_other_status": int((~s["status"].isin(("ok", "incomplete_horizon"))).sum())})
        return pd.DataFrame(rows)

    def path_table(self) -> pd.DataFrame:
        """Mean BHAR from day *a* to each horizon day per group, with a 95 % normal band
        (mean ± 1.96·s/√n over the events with status ok)."""
        from .inference import cross_sectional

        out = []
        for (h, bname), P in self.paths.items():
            a = int(h.split(":")[0])
            for g in [ALL_TYPES] + sorted(set(self.groups)):
                m = np.ones(len(self.groups), bool) if g == ALL_TYPES else self.groups == g
                cs = cross_sectional(P[m])
                nn, mean = cs.n, cs.mean
                if not nn.any():
                    continue
                se = cs.sd / np.sqrt(nn)
                out.append(pd.DataFrame({"group": g, "horizon": h, "benchmark": bname,
                                         "rel_day": a + np.arange(P.shape[1]), "n": nn, "mean_bhar": mean,
                                         "lo": mean - 1.959963984540054 * se, "hi": mean + 1.959963984540054 * se}))
        return pd.concat(out, ignore_index=True) if out else pd.DataFrame()

    def regress(self, formula: str, horizon: str, benchmark: str | None = None, cov: str = "HC1"):
        """Cross-sectional regression of the BHARs of one horizon and benchmark on event characteristics
        (``bhar ~ C(group) + …``; every column of the event file is available). Events not in the tests
        (status, overlap rule) are left out and counted. See :func:`eventstudy.regress.regress_frame`."""
        from .abnormal import parse_window, window_label
        from .regress import typed_columns, regress_frame

        label = window_label(parse_window(horizon))
        bname = benchmark or self.spec.benchmarks[0]
        bname = bname if ":" in bname else bname.upper()
        sub = self.bhar[(self.bhar["horizon"] == label) & (self.bhar["benchmark"] == bname)]
        if sub.empty:
            raise EventStudyError(f"no BHARs for horizon {label} and benchmark {bname}")
        keep = sub["in_stats"].to_numpy()
        data = sub[keep].assign(day0=sub["day0"].astype(str))
        if self.events is not None:
            extra = [c for c in self.events.columns if c not in data.columns]
            data = data.merge(typed_columns(self.events[["event_id"] + extra]), on="event_id", how="left")
        excluded = {"not in the BHAR tests (status or overlap)": int((~keep).sum())} if (~keep).any() else {}
        return regress_frame(data.reset_index(drop=True), formula, cov=cov, label=f"{label} vs {bname}",
                             excluded=excluded)

    def summary(self) -> str:
        """Plain text: settings, coverage, the BHAR tests and the calendar-time alphas."""
        s = self.spec
        lines = [f"Long-horizon study: {s.name}",
                 f"horizons={','.join(f'{a}:{b}' for a, b in s.horizons)} benchmarks={','.join(s.benchmarks)} "
                 f"delisting={s.delisting} overlap={s.overlap} data {self.meta.get('data_first')} to "
                 f"{self.meta.get('data_last')}",
                 f"events: {self.meta.get('n_events')} in file, {self.meta.get('n_ok')} with prices"]
        lines += [f"note: {x}" for x in self.notes]
        tab = self.summary_table
        if not tab.empty:
            lines += ["", f"{'group':<22}{'horizon':>8} {'benchmark':<22}{'n':>5}{'BHAR %':>9}{'med %':>8}"
                          f"{'t_cs':>9}{'t_sa':>9}{'p_boot':>8}{'wilc_z':>9}{'delist':>7}{'incompl':>8}"]
            for _, r in tab.iterrows():
                lines.append(f"{str(r['group'])[:21]:<22}{r['horizon']:>8} {r['benchmark'][:21]:<22}{r['n']:>5}"
                             f"{_cell(100 * r['mean_bhar'], 9, '.2f')}{_cell(100 * r['median_bhar'], 8, '.2f')}"
                             f"{_cell(r['t_cs'], 9, '.2f', r['p_cs'])}{_cell(r['t_sa'], 9, '.2f', r['p_sa'])}"
                             f"{_cell(r['p_sa_boot'], 8, '.3f')}{_cell(r['wilcoxon_z'], 9, '.2f', r['p_wilcoxon'])}"
                             f"{r['n_delisted']:>7}{r['n_incomplete']:>8}")
        if self.calendar is not None and not self.calendar["alphas"].empty:
            lines += ["", f"Calendar-time portfolios ({s.ct_frequency}, min {s.min_stocks} stocks)",
                      f"{'group':<22}{'horizon':>8}{'model':>9}{'periods':>8}{'size':>7}{'alpha %':>9}{'ann. %':>9}"
                      f"{'t':>9}{'t_NW':>9}"]
            for _, r in self.calendar["alphas"].iterrows():
                lines.append(f"{str(r['group'])[:21]:<22}{r['horizon']:>8}{r['model']:>9}{r['n_periods']:>8}"
                             f"{_cell(r['mean_size'], 7, '.1f')}{_cell(100 * r['alpha'], 9, '.4f')}"
                             f"{_cell(100 * r['alpha_ann'], 9, '.2f')}{_cell(r['t_classical'], 9, '.2f', r['p_classical'])}"
                             f"{_cell(r['t_nw'], 9, '.2f', r['p_nw'])}")
        lines.append("*** p<0.01 ** p<0.05 * p<0.10. t_cs cross-sectional t; t_sa skewness-adjusted t (Hall 1992; LBT "
                     "1999), p_boot its bootstrap p (n/4 resamples); wilc_z Wilcoxon signed rank; t_NW Newey-West. "
                     "See docs/statistics.md.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_csv(self, out: str | Path, inputs: dict | None = None) -> Path:
        """Write bhar.csv, longrun_summary.csv, bhar_paths.csv, calendar_time.csv, calendar_time_alpha.csv
        and longrun_manifest.json into ``out`` (atomically)."""
        import json
        from datetime import datetime, timezone

        from ._io import atomic_write_text, write_csv
        from .export import package_versions

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {"bhar.csv": self.bhar, "longrun_summary.csv": self.summary_table, "bhar_paths.csv": self.path_table()}
        if self.calendar is not None:
            files["calendar_time.csv"] = self.calendar["series"]
            files["calendar_time_alpha.csv"] = self.calendar["alphas"]
        for name, frame in files.items():
            write_csv(frame, out / name)
        manifest = {"study": self.spec.name, "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "inputs": inputs or {}, "options": self.spec.to_dict(), "data": self.meta, "notes": self.notes,
                    "versions": package_versions(), "files": sorted(files)}
        atomic_write_text(out / "longrun_manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
        return out


def _cell(v: float, width: int, fmt: str, p: float | None = None) -> str:
    """A right-aligned number (``n/a`` when not finite), with significance stars when ``p`` is given."""
    from .results import stars

    if not np.isfinite(v):
        return f"{'n/a':>{width}}"
    if p is None:
        return f"{v:>{width}{fmt}}"
    return f"{v:>{width - 3}{fmt}}{stars(p):<3}"


def plot_bhar_paths(paths: pd.DataFrame, horizon: str | None = None, benchmark: str | None = None,
                    groups: list[str] | None = None, ax=None):
    """Mean BHAR path per group with its 95 % band (from :meth:`LongRunResults.path_table`); returns ``ax``.

    Draws inside ``rc_context`` (no global matplotlib state); ``n`` on the last day is in the legend."""
    from .plots import STYLE, _ax, _mpl

    mpl, _ = _mpl()
    horizon = horizon or paths["horizon"].iloc[-1]
    benchmark = benchmark or paths["benchmark"].iloc[0]
    sub = paths[(paths["horizon"] == horizon) & (paths["benchmark"] == benchmark)]
    groups = groups or [g for g in dict.fromkeys(sub["group"]) if g != ALL_TYPES]
    with mpl.rc_context(STYLE):
        ax = _ax(ax)
        for g in groups:
            d = sub[sub["group"] == g]
            if d.empty:
                continue
            line, = ax.plot(d["rel_day"], 100 * d["mean_bhar"], lw=1.4, label=f"{g} (n={int(d['n'].iloc[-1])})")
            ax.fill_between(d["rel_day"], 100 * d["lo"], 100 * d["hi"], color=line.get_color(), alpha=0.15, lw=0)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_xlabel("trading days after the event")
        ax.set_ylabel("mean BHAR, % (95 % band)")
        ax.set_title(f"Buy-and-hold abnormal return, horizon {horizon}, benchmark {benchmark}")
        ax.legend(loc="best")
    return ax
