r"""Size and power of every test on the user's own data (Brown & Warner 1980, 1985).

A *replication* is a sample of ``n_events`` pseudo-events: random tickers of a universe on
random sessions (or, with ``date_pool``, the sessions of the user's own events, shuffled).
Each replication is run through the full study pipeline (:func:`eventstudy.run_study`: the
normal-return model, CARs and every test of ``summary.csv``) after an effect has optionally
been injected into the *prices*, so every test sees exactly the same data. Repeating ``R``
times gives each test's rejection rate: its size when nothing is injected, its power when
something is.

Injection, per pseudo-event *i* with day-0 session :math:`s_i` and inject window
:math:`[a, b]` (``inject_window``, :math:`L = b - a + 1` sessions, default ``0:0``):

.. math::

    g_{it} = 1 + A / L + \eta_{it}, \qquad
    \eta_{it} \sim N\bigl(0, (m - 1)\,\hat\sigma_i^2\bigr), \qquad t = a, \dots, b

and every price (open, high, low, close, adj_close) on session :math:`s_i + k`, :math:`k \ge a`,
is multiplied by :math:`\prod_{t=a}^{\min(k, b)} g_{it}`. The day-*t* simple return thus
becomes :math:`(1 + R_{it})\,g_{it} - 1 = R_{it} + A/L + \eta_{it} + R_{it}(A/L + \eta_{it})`:
the abnormal return :math:`A` is split evenly over the window (compounded, so the window's
buy-and-hold effect is :math:`\prod(1 + A/L) - 1 \approx A`), and the variance of each
window day's abnormal return rises by :math:`(m - 1)\hat\sigma_i^2`, i.e. by the factor
:math:`m` (``variance_multiplier``) when :math:`\hat\sigma_i` equals the residual standard
deviation. :math:`\hat\sigma_i` is the standard deviation of the stock's own daily returns
over the estimation window (total, not residual, volatility: it needs no model fit and
exceeds the residual σ by the market's share of the variance, small for single stocks).
:math:`g` is floored at 0.01 (a −99 % day); the number of floored draws is reported. Prices
before day ``a`` and volumes are untouched, so the estimation window (which must end before
``a``) and the model fit are those of the un-injected data.

Date clustering (``cluster_dates = k > 0``): each replication draws ``k`` sessions and puts
its events on them (as evenly as possible), which makes the abnormal returns of one
replication cross-correlated: the case of Kolari & Pynnönen (2010).

Speed: all replications of a scenario run as *one* study (chunked to bound memory), each
replication a statistics group (``subtype`` = ``rep_00007``), so the array core batches
every event. Each pseudo-event is served as its own ticker alias ``TICKER~k`` holding only
the bars of its own window (the injected prices of two pseudo-events never collide).

Rejection rule, per test (a ``summary.csv`` column with a matching ``p_`` column), window,
scenario and level α: two-sided, :math:`p < α`; upper, statistic > 0 and :math:`p < 2α`;
lower, statistic < 0 and :math:`p < 2α` (exact for symmetric null distributions: normal,
t). The rejection rate :math:`\hat p` over the :math:`R` replications with a finite p-value
has Monte-Carlo standard error :math:`\sqrt{\hat p(1 - \hat p)/R}`.

References
----------
Brown, S. J. and Warner, J. B. (1980). Measuring security price performance. *Journal of
Financial Economics* 8, 205–258.
Brown, S. J. and Warner, J. B. (1985). Using daily stock returns: the case of event studies.
*Journal of Financial Economics* 14, 3–31.
Kolari, J. W. and Pynnönen, S. (2010). Event study testing with cross-sectional correlation
of abnormal returns. *Review of Financial Studies* 23, 3996–4025.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import EventStudyError

LEVELS: tuple[float, ...] = (0.01, 0.05, 0.10)
SIDES: tuple[str, ...] = ("two-sided", "upper", "lower")
#: a pseudo-event alias is ``TICKER~k``
ALIAS_SEP = "~"
#: multiplier floor (a −99 % day) for the injected gross return
G_FLOOR = 0.01
SIM_EVENT_TYPE = "corporate_update"   # any valid taxonomy type: groups are the ``subtype`` labels
TABLE_COLUMNS = ("test", "window", "abnormal", "variance_multiplier", "clustering", "level", "side",
                 "rejection_rate", "mc_se", "reps", "events")


# ---- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate (the study settings are a separate :class:`~eventstudy.study.StudySpec`).

    Parameters
    ----------
    n_events : pseudo-events per replication
    reps : replications per scenario
    abnormal : abnormal returns :math:`A` injected (one scenario each; ``0`` measures size)
    inject_window : relative days (first, last) over which :math:`A` is split evenly
    variance_multiplier : event-window abnormal-return variance factors :math:`m \\ge 1`
    cluster_dates : ``0`` = independent dates; ``k > 0`` = the events of a replication fall on ``k`` sessions
    levels : nominal test levels
    chunk_events : at most this many pseudo-events per study (whole replications; bounds memory)
    """

    n_events: int = 100
    reps: int = 100
    abnormal: tuple[float, ...] = (0.0,)
    inject_window: tuple[int, int] = (0, 0)
    variance_multiplier: tuple[float, ...] = (1.0,)
    cluster_dates: tuple[int, ...] = (0,)
    levels: tuple[float, ...] = LEVELS
    chunk_events: int = 10_000

    def __post_init__(self) -> None:
        for name in ("abnormal", "variance_multiplier", "cluster_dates", "levels"):
            v = getattr(self, name)
            object.__setattr__(self, name, tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else (v,))
        object.__setattr__(self, "inject_window", tuple(int(x) for x in self.inject_window))
        if self.n_events < 3:
            raise ValueError("n_events must be at least 3 (most tests need 3 events)")
        if self.reps < 1:
            raise ValueError("reps must be at least 1")
        a, b = self.inject_window
        if a > b:
            raise ValueError(f"inject window {a}:{b} is empty")
        if any(not np.isfinite(x) or x <= -1 for x in self.abnormal):
            raise ValueError("abnormal returns must be finite and above -1 (-100 %)")
        if any(not np.isfinite(m) or m < 1 for m in self.variance_multiplier):
            raise ValueError("variance multipliers must be at least 1")
        if any(int(k) != k or k < 0 for k in self.cluster_dates):
            raise ValueError("cluster dates must be whole numbers >= 0 (0 = no clustering)")
        if any(k > self.n_events for k in self.cluster_dates):
            raise ValueError(f"cluster dates cannot exceed the {self.n_events} events of a replication")
        if any(not 0 < lv < 0.5 for lv in self.levels):
            raise ValueError("levels must lie in (0, 0.5)")

    def scenarios(self) -> list[tuple[int, float, float]]:
        """(cluster_dates, abnormal, variance_multiplier) of every scenario."""
        return [(int(k), float(a), float(m)) for k in self.cluster_dates for m in self.variance_multiplier
                for a in self.abnormal]


def clustering_label(k: int) -> str:
    """``none`` for independent dates, else ``1_date`` / ``k_dates``."""
    return "none" if k == 0 else f"{k}_date" if k == 1 else f"{k}_dates"


# ---- pure core --------------------------------------------------------------------------------
def eligible_sessions(observed: np.ndarray, cover: np.ndarray, estimation: tuple[int, int], span: tuple[int, int],
                      min_obs: int) -> np.ndarray:
    """Sessions on which each ticker can carry a pseudo-event, (T, S) bool.

    Session *s* is eligible for ticker *t* when the ticker has a bar on *s* (day 0), at least
    ``min_obs + 1`` bars in the estimation window ``[s + e1, s + e2]`` (so ``min_obs`` returns
    can exist), a bar at or after ``s + span[1]``, and the benchmark/factor data (``cover``,
    (S,) bool) cover every session from ``s + e1`` to ``s + span[1]``.
    """
    T, S = observed.shape
    e1, e2 = estimation
    lo, hi = min(e1, span[0]), max(span[1], 0)
    s = np.arange(S)
    inside = (s + lo >= 0) & (s + hi < S)
    cs = np.zeros((T, S + 1), dtype=np.int64)
    np.cumsum(observed, axis=1, out=cs[:, 1:])
    a, b = np.clip(s + e1, 0, S), np.clip(s + e2 + 1, 0, S)
    n_est = cs[:, b] - cs[:, a]
    after = cs[:, S][:, None] - cs[:, np.clip(s + span[1], 0, S)]
    gaps = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(~cover, out=gaps[1:])
    covered = (gaps[np.clip(s + hi + 1, 0, S)] - gaps[np.clip(s + lo, 0, S)]) == 0
    return observed & (n_est >= min_obs + 1) & (after > 0) & (inside & covered)[None, :]


def draw_pseudo_events(eligible: np.ndarray, n_events: int, reps: int, cluster_dates: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random (ticker, session) pairs: (reps, n_events) index arrays into ``eligible`` (T, S).

    Within a replication every ticker appears at most once. Without clustering each event
    draws its ticker uniformly among tickers with an eligible session and then a session
    uniformly among that ticker's eligible sessions. With ``cluster_dates = k`` the
    replication draws ``k`` distinct sessions uniformly among those with enough eligible
    tickers, event *j* goes to session ``j mod k``, and tickers are drawn without replacement
    among those eligible on it.
    """
    T, S = eligible.shape
    counts = eligible.sum(axis=1)
    if cluster_dates == 0:
        tick = np.flatnonzero(counts > 0)
        if tick.size < n_events:
            raise EventStudyError(f"only {tick.size} tickers have a session with enough history for a "
                                  f"pseudo-event; {n_events} distinct tickers per replication are needed "
                                  f"(lower --events)")
        keys = rng.random((reps, tick.size))
        t_idx = tick[np.argsort(keys, axis=1)[:, :n_events]]
        offsets = np.r_[0, np.cumsum(counts)]
        flat = np.nonzero(eligible)[1]          # row-major: each ticker's eligible sessions in order
        k = np.floor(rng.random((reps, n_events)) * counts[t_idx]).astype(np.int64)
        return t_idx, flat[offsets[t_idx] + k]
    per_date = np.bincount(np.arange(n_events) % cluster_dates, minlength=cluster_dates)
    per_session = eligible.sum(axis=0)
    ok_sessions = np.flatnonzero(per_session >= per_date.max())
    if ok_sessions.size < cluster_dates:
        raise EventStudyError(f"{cluster_dates} clustered date(s) need {per_date.max()} eligible tickers on a "
                              f"session; at most {int(per_session.max()) if S else 0} have one on any session "
                              f"(lower --events or raise --cluster-dates)")
    t_idx = np.empty((reps, n_events), dtype=np.int64)
    s_idx = np.empty((reps, n_events), dtype=np.int64)
    slot = np.arange(n_events) % cluster_dates
    for r in range(reps):            # loop over replications × dates, never over events
        for _attempt in range(100):  # redraw the dates when they cannot hold distinct tickers
            dates = rng.choice(ok_sessions, cluster_dates, replace=False)
            used = np.zeros(T, dtype=bool)
            for j, d in enumerate(dates):
                cand = np.flatnonzero(eligible[:, d] & ~used)
                if cand.size < per_date[j]:
                    break
                pick = rng.choice(cand, per_date[j], replace=False)
                used[pick] = True
                t_idx[r, slot == j] = pick
                s_idx[r, slot == j] = d
            else:
                break
        else:
            raise EventStudyError(f"replication {r}: 100 draws of {cluster_dates} session(s) could not hold "
                                  f"{n_events} distinct eligible tickers (lower --events)")
    return t_idx, s_idx


def injection_multipliers(abnormal: float, length: int, variance_multiplier: float, sigma: np.ndarray,
                          z: np.ndarray) -> tuple[np.ndarray, int]:
    """Gross-return multipliers :math:`g_{it} = 1 + A/L + \\sqrt{m-1}\\,\\hat\\sigma_i z_{it}`, (n, L).

    ``z`` are standard normal draws (n, L) (shared across scenarios: common random numbers);
    ``sigma`` (n,) the estimation-window return standard deviations. Returns the multipliers
    floored at :data:`G_FLOOR` and the number of floored cells.
    """
    g = 1.0 + abnormal / length + np.sqrt(variance_multiplier - 1.0) * np.nan_to_num(sigma)[:, None] * z
    low = g < G_FLOOR
    return np.where(low, G_FLOOR, g), int(low.sum())


def statistic_columns(columns: Sequence[str]) -> list[tuple[str, str]]:
    """(statistic, p-value) column pairs of a summary table, found generically.

    A statistic ``X`` pairs with ``p_B`` where ``B`` is ``X`` without a trailing ``_t``/``_z``/
    ``_w`` or a leading ``t_`` (``t_cs``→``p_cs``, ``bmp_t``→``p_bmp``, ``lamb_z``→``p_lamb``).
    When two statistics share a p-value the signed one (``_z``/``_t``/``t_``) is kept
    (``wilcoxon_z``, not the rank sum ``wilcoxon_w``). Volume tests (``vol_…``) are left out:
    injection changes returns, not volume.
    """
    cols = [c for c in columns if not c.startswith(("p_", "vol_", "q_"))]
    have = set(columns)
    found: dict[str, str] = {}
    for c in cols:
        bases = [c[:-2] for suf in ("_t", "_z", "_w") if c.endswith(suf)] + ([c[2:]] if c.startswith("t_") else [])
        for b in bases:
            p = f"p_{b}"
            if p in have:
                signed = c.endswith(("_t", "_z")) or c.startswith("t_")
                if p not in found or (signed and not found[p].endswith(("_t", "_z"))):
                    found[p] = c
                break
    return [(s, p) for p, s in found.items()]


def rejection_table(reps: pd.DataFrame, levels: Sequence[float] = LEVELS) -> pd.DataFrame:
    """Rejection rates from per-replication statistics.

    Parameters
    ----------
    reps : long frame, one row per scenario × replication × test × window, with columns
        ``test, window, abnormal, variance_multiplier, clustering, stat, p, n``
    levels : nominal levels α

    Returns
    -------
    DataFrame with :data:`TABLE_COLUMNS`: per test, window, scenario, level and side the
    share of replications (with a finite p-value) rejecting, its Monte-Carlo standard error
    :math:`\\sqrt{\\hat p(1-\\hat p)/R}`, ``reps`` = that R and ``events`` = the mean number of
    events in the statistics per replication.
    """
    keys = ["test", "window", "abnormal", "variance_multiplier", "clustering"]
    ok = np.isfinite(reps["p"].to_numpy(float)) & np.isfinite(reps["stat"].to_numpy(float))
    frame = reps.loc[ok, keys + ["stat", "p", "n"]]
    p, stat = frame["p"].to_numpy(float), frame["stat"].to_numpy(float)
    parts = []
    for lv in levels:
        for side, rej in (("two-sided", p < lv), ("upper", (stat > 0) & (p < 2 * lv)),
                          ("lower", (stat < 0) & (p < 2 * lv))):
            g = frame[keys].assign(rej=rej.astype(float), n=frame["n"]).groupby(keys, sort=False)
            agg = g.agg(rejection_rate=("rej", "mean"), reps=("rej", "size"), events=("n", "mean")).reset_index()
            agg["level"], agg["side"] = lv, side
            parts.append(agg)
    if not parts or frame.empty:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    r = out["rejection_rate"].to_numpy()
    out["mc_se"] = np.sqrt(r * (1 - r) / out["reps"].to_numpy())
    out = out.sort_values(["clustering", "variance_multiplier", "test", "window", "abnormal", "level", "side"],
                          kind="stable")
    return out[list(TABLE_COLUMNS)].reset_index(drop=True)


# ---- the injected price source -----------------------------------------------------------------
def pack_aliases(ticker: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Slot of each pseudo-event so that events sharing ``(ticker, slot)`` have disjoint ranges.

    ``start``/``end`` (n,) are session positions of each event's bar range. Greedy interval
    partitioning per ticker in date order (a range goes to the first slot whose last range
    ended at least two sessions before it starts), which uses the fewest slots. This keeps the
    price grid of a chunk small: one grid row per (ticker, slot), not per pseudo-event.
    """
    order = np.lexsort((start, ticker))
    slot = np.empty(len(ticker), dtype=np.int64)
    ends: list[int] = []
    prev = None
    for i in order:                 # bookkeeping only: O(n · slots), no arrays built per event
        if ticker[i] != prev:
            ends, prev = [], ticker[i]
        for j, e in enumerate(ends):
            if e + 2 <= start[i]:
                ends[j] = end[i]
                slot[i] = j
                break
        else:
            slot[i] = len(ends)
            ends.append(end[i])
    return slot


@dataclass
class _Plan:
    """Pseudo-events of one study chunk (arrays over events) and the events of each alias."""

    alias: np.ndarray      # (n,) ``TICKER~slot``
    ticker: np.ndarray     # (n,) base ticker
    day0: np.ndarray       # (n,) session position of day 0
    g: np.ndarray          # (n, L) gross-return multipliers on the inject-window days

    def members(self) -> dict[str, np.ndarray]:
        order = np.lexsort((self.day0, self.alias))
        names, first = np.unique(self.alias[order], return_index=True)
        return dict(zip(names, np.split(order, first[1:])))


class InjectedSource:
    """Price source serving pseudo-events under ticker aliases ``TICKER~slot``.

    An alias holds, for each of its pseudo-events (disjoint in time, see :func:`pack_aliases`),
    the base ticker's bars on sessions ``day0 + lo … day0 + hi`` with every price from session
    ``day0 + a`` to ``day0 + hi`` multiplied by the cumulative injected factor (see the module
    docstring). Any other ticker (the benchmark) is served unchanged by the base source.
    """

    def __init__(self, base: "_Universe", plan: _Plan, rel_range: tuple[int, int], inject_start: int):
        self.base, self.plan = base, plan
        self.name = "simulated:" + base.source_name
        self._members = plan.members()
        self._lo, self._hi = rel_range
        self._a = inject_start
        self._cum = np.cumprod(plan.g, axis=1)

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        from .sources.base import select_range

        idx = self._members.get(ticker)
        if idx is None:
            return self.base.passthrough(ticker, start, end)
        t = self.plan.ticker[idx[0]]
        pos, values = self.base.pos[t], self.base.values[t]
        d0 = self.plan.day0[idx]
        r0 = np.searchsorted(pos, d0 + self._lo)
        r1 = np.searchsorted(pos, d0 + self._hi + 1)
        rows = np.concatenate([np.arange(x, y) for x, y in zip(r0, r1)])
        owner = np.repeat(np.arange(len(idx)), r1 - r0)
        v = values[rows]
        k = pos[rows] - (d0[owner] + self._a)
        cum = self._cum[idx[owner], np.clip(k, 0, self._cum.shape[1] - 1)]
        v[:, :5] *= np.where(k >= 0, cum, 1.0)[:, None]     # open, high, low, close, adj_close; not volume
        return select_range(pd.DataFrame(v, index=self.base.dates[t][rows], columns=list(self.base.columns)), start, end)

    def describe(self) -> dict:
        return {"source": self.name, "pseudo_events": len(self.plan.alias), "aliases": len(self._members)}


@dataclass
class _Universe:
    """Bars of the universe as arrays on the NYSE session grid."""

    source: object
    source_name: str
    sessions: pd.DatetimeIndex
    tickers: list[str]
    pos: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    dates: dict[str, pd.DatetimeIndex]
    observed: np.ndarray           # (T, S)
    logret: np.ndarray             # (T, S) log return into each session (NaN if none)
    columns: tuple[str, ...]
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)

    def passthrough(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
                    ) -> pd.DataFrame:
        return self.source.bars(ticker, start=start, end=end)


def universe_tickers(source, exclude: Sequence[str] = ()) -> list[str]:
    """Tickers a price source can list: ``tickers()`` (bundled), ``*.csv`` files (a folder)."""
    from .sources import CsvDirectorySource

    if hasattr(source, "tickers"):
        names = list(source.tickers())
    elif isinstance(source, CsvDirectorySource):
        names = sorted(p.stem.upper() for p in source.directory.glob("*.csv"))
    elif hasattr(source, "_bars"):
        names = sorted(source._bars)
    else:
        raise EventStudyError(f"price source {getattr(source, 'name', source)!r} cannot list its tickers: pass "
                              f"tickers= (or --universe FILE) or --from-events FILE")
    ex = {e.upper() for e in exclude}
    return [t for t in names if t.upper() not in ex and ALIAS_SEP not in t]


def load_universe(source, tickers: Sequence[str], progress: Callable[[str], None] | None = None) -> _Universe:
    """Read every ticker's bars once and lay them on the NYSE session grid."""
    from .panel import build_grid
    from .sources import PRICE_COLUMNS
    from .study import load_prices
    from .trading_calendar import nyse_sessions

    loaded = load_prices(source, list(tickers), progress)
    broken = {t: r for t, (code, r) in loaded.failed.items() if code == "source_error"}
    if broken:   # the source failed (network, cache): the universe would silently shrink
        t, r = next(iter(broken.items()))
        raise EventStudyError(f"the price source failed for {len(broken)} universe ticker(s), e.g. {t}: {r}")
    if not loaded.bars:
        raise EventStudyError("no ticker of the universe has prices: "
                              + "; ".join(f"{t}: {r}" for t, (_, r) in list(loaded.failed.items())[:3]))
    full = nyse_sessions()
    lo = min(b.index.min() for b in loaded.bars.values())
    hi = max(b.index.max() for b in loaded.bars.values())
    sessions = full[(full >= lo) & (full <= hi)]
    grid = build_grid(loaded.bars, sessions)
    sess = sessions.to_numpy()
    pos, values, dates = {}, {}, {}
    for t, b in loaded.bars.items():       # IO shell: once per ticker
        p = np.searchsorted(sess, b.index.to_numpy())
        keep = (p < len(sess)) & (sess[np.minimum(p, len(sess) - 1)] == b.index.to_numpy())
        pos[t], values[t] = p[keep], b[list(PRICE_COLUMNS)].to_numpy(dtype=float)[keep]
        dates[t] = b.index[keep]
    return _Universe(source, getattr(source, "name", "source"), sessions, list(grid.tickers), pos, values, dates,
                     grid.observed, grid.stock_log_return(), PRICE_COLUMNS, loaded.failed)


def _coverage(spec, sessions: pd.DatetimeIndex, source, factors) -> np.ndarray:
    """(S,) bool: the benchmark or factor data have a value on each session."""
    from .study import FF_MARKET

    cover = np.ones(len(sessions), dtype=bool)
    need_fac = bool(spec.factor_names) or (spec.uses_benchmark and spec.benchmark == FF_MARKET)
    if need_fac:
        from .factors import load_factors

        fac = load_factors(factors)
        cols = list(spec.factor_names) + ["RF"] + (["Mkt-RF"] if spec.benchmark == FF_MARKET else [])
        ok = fac[cols].notna().all(axis=1)
        cover &= ok.reindex(sessions, fill_value=False).to_numpy()
    if spec.uses_benchmark and spec.benchmark != FF_MARKET:
        b = source.bars(spec.benchmark)
        cover &= pd.Series(True, index=b.index[np.isfinite(b["adj_close"].fillna(b["close"]).to_numpy())]) \
            .reindex(sessions, fill_value=False).to_numpy()
    return cover


# ---- results ----------------------------------------------------------------------------------
@dataclass
class SimulationResults:
    """Output of :func:`simulate`.

    Attributes
    ----------
    table : rejection rates (:data:`TABLE_COLUMNS`) → ``simulate.csv``
    replications : per scenario × replication × test × window: ``stat, p, n`` → ``replications.csv``
    pseudo_events : the drawn pseudo-events (clustering, rep, ticker, event_date, sigma_est)
    meta : settings, seed, timing, status counts, floored multipliers
    """

    table: pd.DataFrame
    replications: pd.DataFrame
    pseudo_events: pd.DataFrame
    meta: dict

    def summary(self, level: float = 0.05, side: str = "two-sided") -> str:
        """Console table: rejection rate (%) ± Monte-Carlo s.e. per test × scenario, one block per window."""
        t = self.table
        t = t[np.isclose(t["level"], level) & (t["side"] == side)]
        m = self.meta
        lines = [f"Simulation: {m['reps']} replications x {m['n_events']} pseudo-events, seed={m['seed']}, "
                 f"{m['prices']}, model={m['model']}" + (f" benchmark={m['benchmark']}" if m.get('benchmark') else "")
                 + f", {m['seconds']:.1f} s",
                 f"rejection rate % at {level:g} ({side}); +- Monte-Carlo s.e.; size rows: abnormal=0, "
                 f"variance_multiplier=1"]
        lines += [f"note: {n}" for n in m.get("notes", [])]
        for (clu, vm, win), block in t.groupby(["clustering", "variance_multiplier", "window"], sort=False):
            abn = sorted(block["abnormal"].unique())
            lines.append("")
            lines.append(f"window {win}  clustering={clu}  variance_multiplier={vm:g}  "
                         f"(mean events {block['events'].mean():.1f})")
            lines.append(f"{'test':<14}" + "".join(f"{'A=' + f'{a:g}':>16}" for a in abn))
            for test, rows in block.groupby("test", sort=False):
                by = dict(zip(rows["abnormal"], zip(rows["rejection_rate"], rows["mc_se"])))
                cells = [f"{100 * by[a][0]:9.1f} +-{100 * by[a][1]:4.1f}" if a in by else f"{'n/a':>16}" for a in abn]
                lines.append(f"{test:<14}" + "".join(cells))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot_power(self, window: str | None = None, level: float = 0.05, side: str = "two-sided",
                   clustering: str | None = None, variance_multiplier: float | None = None, ax=None):
        """Power curve: rejection rate against the injected abnormal return, one line per test.

        Draws on ``ax`` (or a new figure) and returns the axes; the nominal level is a dashed
        line and each point carries a ±2 Monte-Carlo s.e. bar.
        """
        from .plots import STYLE, _ax, _mpl

        t = self.table
        window = window or t["window"].iloc[0]
        clustering = clustering or t["clustering"].iloc[0]
        vm = variance_multiplier if variance_multiplier is not None else float(t["variance_multiplier"].iloc[0])
        sel = t[(t["window"] == window) & np.isclose(t["level"], level) & (t["side"] == side)
                & (t["clustering"] == clustering) & np.isclose(t["variance_multiplier"], vm)]
        mpl, _ = _mpl()
        with mpl.rc_context(STYLE):
            ax = _ax(ax, (7, 4.5))
            for i, (test, rows) in enumerate(sel.groupby("test", sort=False)):
                rows = rows.sort_values("abnormal")
                ax.errorbar(100 * rows["abnormal"], 100 * rows["rejection_rate"], yerr=200 * rows["mc_se"],
                            marker="os^Dv"[i // 10 % 5], ms=3, capsize=2, ls=("-", "--", ":")[i // 10 % 3],
                            label=test)     # the colour cycle has 10 colours: style tells lines 11+ apart
            ax.axhline(100 * level, color="grey", ls="--", lw=1)
            ax.set_xlabel("injected abnormal return (%)")
            ax.set_ylabel(f"rejection rate (%), {side} at {level:g}")
            ax.set_title(f"window {window}, clustering {clustering}, variance x{vm:g}")
            ax.set_ylim(0, 100)
            ax.legend(ncol=2, fontsize=7)
        return ax

    def to_csv(self, out: str | Path, inputs: dict | None = None, figures: bool = True) -> Path:
        """Write ``simulate.csv``, ``replications.csv``, ``pseudo_events.csv``, ``simulate.json`` and
        (``figures``) one ``power_<window>_<clustering>_v<m>.png`` per window and scenario."""
        import json

        from ._io import atomic_write_text, write_csv
        from .export import package_versions

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(self.table, out / "simulate.csv")
        write_csv(self.replications, out / "replications.csv")
        write_csv(self.pseudo_events, out / "pseudo_events.csv")
        meta = {**self.meta, "inputs": inputs or {}, "versions": package_versions()}
        atomic_write_text(out / "simulate.json", json.dumps(meta, indent=2, default=str) + "\n")
        if figures and not self.table.empty:
            self._write_figures(out / "figures")
        return out

    def _write_figures(self, folder: Path) -> list[Path]:
        import io

        from ._io import atomic_write_bytes

        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        t = self.table
        for (win, clu, vm), _ in t.groupby(["window", "clustering", "variance_multiplier"], sort=False):
            ax = self.plot_power(win, clustering=clu, variance_multiplier=vm)
            fig = ax.figure
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            _mpl_close(fig)
            p = folder / f"power_{win.replace(':', '_')}_{clu}_v{vm:g}.png"
            atomic_write_bytes(p, buf.getvalue())
            paths.append(p)
        return paths


def _mpl_close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


# ---- one study chunk (runs in this process or a worker) ---------------------------------------------
_WORKER_UNIVERSE: "_Universe | None" = None   # set once per worker process by _init_worker


def _init_worker(uni: "_Universe") -> None:
    global _WORKER_UNIVERSE
    _WORKER_UNIVERSE = uni


def _study_chunk(uni, spec, factors, tick, day0, g, rep, n_events, rel_range, inject_start):
    """Run one study over whole replications; return its per-replication summary rows and status counts."""
    from .study import run_study

    uni = uni if uni is not None else _WORKER_UNIVERSE
    n = len(tick)
    slot = pack_aliases(tick, day0 + rel_range[0], day0 + rel_range[1])
    alias = np.char.add(np.char.add(tick.astype(str), ALIAS_SEP), slot.astype(str)).astype(object)
    labels = np.char.add("rep_", np.char.zfill(rep.astype(str), 5))
    events = pd.DataFrame({
        "event_id": np.char.add("SIM-", np.arange(n).astype(str)), "ticker": alias,
        "event_date": uni.sessions[day0].strftime("%Y-%m-%d"), "event_time": "pre_market",
        "event_type": SIM_EVENT_TYPE, "subtype": labels})
    src = InjectedSource(uni, _Plan(alias, tick, day0, g), rel_range, inject_start)
    res = run_study(events, src, spec, factors=factors, chunk_size=None)   # one piece: the settings below apply
    res.max_boot_events = -1          # bootstrap intervals are not tests: skip them
    res.max_rbar_events = n_events    # whole replications; caps only the unused ALL group
    counts = {str(k): int(v) for k, v in zip(*np.unique(res.events["status"], return_counts=True))}
    caar = res.caar
    return caar[caar["event_type"] != "ALL"].reset_index(drop=True), counts


def _map_chunks(uni, tasks: list, workers: int):
    """Run the chunks in order: here (``workers <= 1``) or in a process pool, each worker holding the universe."""
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            yield _study_chunk(uni, *t)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(uni,)) as pool:
        yield from pool.map(_study_chunk, [None] * len(tasks), *zip(*tasks))


# ---- the driver -------------------------------------------------------------------------------
def simulate(prices, spec=None, sim: SimulationSpec | None = None, *, seed: int | np.random.Generator = 0,
             factors=None, tickers: Sequence[str] | None = None, date_pool: str | Path | pd.DataFrame | None = None,
             progress: Callable[[str], None] | None = None, workers: int = 1) -> SimulationResults:
    """Brown–Warner simulation of every test's size and power on a price source.

    Parameters
    ----------
    prices : a price source or its spec (``bundled:universe``, a CSV folder, ``yahoo-offline``…)
    spec : the study settings (:class:`~eventstudy.study.StudySpec`); ``group_by`` and
        ``overlap`` are set by the simulator
    sim : what to simulate (:class:`SimulationSpec`)
    seed : int or ``numpy.random.Generator``: the pseudo-events and the variance noise
    factors : factor data for factor models and ``FF-MKT``
    tickers : the universe (default: every ticker the source lists, minus the benchmark)
    date_pool : an events file (or frame): pseudo-events use its tickers and the day-0
        sessions of its events, reshuffled (the user's own sample, dates shuffled)
    progress : called with a short text per finished chunk
    workers : run the study chunks in this many processes (1 = here); results do not depend on it

    Returns
    -------
    SimulationResults
    """
    from .sources import open_source
    from .study import StudySpec
    from .abnormal import window_label

    t_start = time.perf_counter()
    spec = spec or StudySpec()
    sim = sim or SimulationSpec()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    a, b = sim.inject_window
    if a <= spec.estimation[1]:
        raise ValueError(f"inject window {a}:{b} must start after the estimation window ends "
                         f"({spec.estimation[1]}): injected prices would enter the model fit")
    source = open_source(prices)
    spec = replace(spec, group_by="subtype", overlap="keep")
    pool_tickers = None
    pool_days = None
    if date_pool is not None:
        from .events import load_events
        from .trading_calendar import align_day0, nyse_sessions

        ev = load_events(date_pool)
        ev = ev[ev["ticker"] != ""]
        pool_tickers = sorted(set(ev["ticker"]))
        full = nyse_sessions()
        pos, _ = align_day0(ev["event_date"], ev["event_time"], full)
        pool_days = pd.DatetimeIndex(full[np.unique(pos[pos >= 0])])
    exclude = [spec.benchmark] if spec.uses_benchmark else []
    names = list(tickers) if tickers is not None else (pool_tickers or universe_tickers(source, exclude))
    names = [t for t in names if t.upper() not in {e.upper() for e in exclude}]
    uni = load_universe(source, names)
    cover = _coverage(spec, uni.sessions, source, factors)
    elig = eligible_sessions(uni.observed, cover, spec.estimation, spec.span, spec.min_obs)
    if pool_days is not None:
        elig &= uni.sessions.isin(pool_days)[None, :]
    rel = spec.rel_days
    rel_range = (int(rel[0]) - 2, int(rel[-1]) + 1)
    L = b - a + 1
    est_cols = np.arange(spec.estimation[0], spec.estimation[1] + 1)
    S = len(uni.sessions)
    per_chunk = max(1, sim.chunk_events // sim.n_events)   # replications per study

    ev_rows, tasks, scen = [], [], []
    notes: list[str] = []
    floored = 0
    for k in sim.cluster_dates:
        t_idx, s_idx = draw_pseudo_events(elig, sim.n_events, sim.reps, int(k), rng)
        tick = np.asarray(uni.tickers, dtype=object)[t_idx.ravel()]
        day0 = s_idx.ravel()
        rows_est = np.clip(day0[:, None] + est_cols[None, :], 0, S - 1)
        r_est = uni.logret[t_idx.ravel()[:, None], rows_est]
        r_est = np.expm1(r_est) if spec.returns == "simple" else r_est
        with np.errstate(invalid="ignore"):
            sigma = np.nanstd(r_est, axis=1, ddof=1)
        z = rng.standard_normal((day0.size, L))
        ev_rows.append(pd.DataFrame({"clustering": clustering_label(int(k)), "rep": np.repeat(np.arange(sim.reps),
                                     sim.n_events), "ticker": tick,
                                     "event_date": uni.sessions[day0].strftime("%Y-%m-%d"), "sigma_est": sigma}))
        for m in sim.variance_multiplier:
            for A in sim.abnormal:
                g, nf = injection_multipliers(A, L, m, sigma, z)
                floored += nf
                for c0 in range(0, sim.reps, per_chunk):
                    reps_here = np.arange(c0, min(sim.reps, c0 + per_chunk))
                    sl = slice(reps_here[0] * sim.n_events, (reps_here[-1] + 1) * sim.n_events)
                    tasks.append((spec, factors, tick[sl], day0[sl], g[sl], np.repeat(reps_here, sim.n_events),
                                  sim.n_events, rel_range, a))
                    scen.append((clustering_label(int(k)), float(m), float(A), f"{reps_here[0]}-{reps_here[-1]}"))
    rep_rows = []
    status_counts: dict[str, int] = {}
    tests: list[tuple[str, str]] | None = None
    for (clu, m, A, span), (caar, counts) in zip(scen, _map_chunks(uni, tasks, workers)):
        for s_, c_ in counts.items():
            status_counts[s_] = status_counts.get(s_, 0) + c_
        tests = tests or statistic_columns(list(caar.columns))
        rep_no = caar["event_type"].str.slice(4).astype(int).to_numpy()
        for stat, pcol in tests:
            rep_rows.append(pd.DataFrame({
                "clustering": clu, "variance_multiplier": m, "abnormal": A, "rep": rep_no, "test": stat,
                "window": caar["window"].to_numpy(), "stat": caar[stat].to_numpy(float),
                "p": caar[pcol].to_numpy(float), "n": caar["n"].to_numpy()}))
        if progress:
            progress(f"clustering={clu} m={m:g} A={A:g} reps {span}")
    reps_frame = pd.concat(rep_rows, ignore_index=True) if rep_rows else pd.DataFrame()
    if not reps_frame.empty:   # one order whatever the chunking: scenario, test, window, replication
        reps_frame = reps_frame.sort_values(["clustering", "variance_multiplier", "abnormal", "test", "window", "rep"],
                                            kind="stable").reset_index(drop=True)
    table = rejection_table(reps_frame, sim.levels)
    bad = {k_: v for k_, v in status_counts.items() if k_ != "ok"}
    if bad:
        notes.append("pseudo-events not studied (left out of their replication): "
                     + ", ".join(f"{k_}={v}" for k_, v in sorted(bad.items())))
    if floored:
        notes.append(f"{floored} injected gross returns were floored at {G_FLOOR} (a -99 % day)")
    if uni.failed:
        notes.append(f"{len(uni.failed)} universe ticker(s) without usable prices were left out: "
                     + ", ".join(f"{t} [{c}]" for t, (c, _) in sorted(uni.failed.items())[:10])
                     + (" …" if len(uni.failed) > 10 else ""))
    meta = {"prices": getattr(source, "name", str(prices)), "model": spec.model,
            "benchmark": spec.benchmark if spec.uses_benchmark else None,
            "estimation": f"{spec.estimation[0]}:{spec.estimation[1]}",
            "windows": [window_label(w) for w in spec.windows], "returns": spec.returns, "min_obs": spec.min_obs,
            "n_events": sim.n_events, "reps": sim.reps, "abnormal": list(sim.abnormal),
            "inject_window": f"{a}:{b}", "variance_multiplier": list(sim.variance_multiplier),
            "cluster_dates": list(sim.cluster_dates), "levels": list(sim.levels),
            "seed": seed if isinstance(seed, int) else "generator", "universe_tickers": len(uni.tickers),
            "date_pool_sessions": None if pool_days is None else int(len(pool_days)),
            "status_counts": status_counts, "floored_multipliers": floored,
            "tests": [s for s, _ in (tests or [])], "notes": notes,
            "seconds": time.perf_counter() - t_start}
    pseudo = pd.concat(ev_rows, ignore_index=True)
    return SimulationResults(table, reps_frame, pseudo, meta)
