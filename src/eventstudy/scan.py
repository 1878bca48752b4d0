r"""Scan price/volume series for volume spikes and run-up (squeeze) episodes, and match them to news.

Per ticker, on its own trading days (all arrays, no per-day Python loop):

* abnormal return :math:`AR_t = R_t - R_{mt}` (market-adjusted against the benchmark over the
  same span, ``measure = market_adjusted``). Only when the caller asks for no benchmark
  (``benchmark=None``; CLI ``--benchmark none``) are raw returns used for detection; the rows
  then say ``measure = raw``, ``ar`` and ``car`` stay empty and the episode's summed raw return
  is in ``cum_return``. A benchmark that the source cannot deliver is an error, never a silent
  switch to raw returns;
* trailing volume baseline over the previous ``baseline`` sessions (t−N…t−1, at least
  ``min_baseline`` of them): ``vol_ratio_63`` :math:`= V_t / \overline V` and
  ``vol_z`` :math:`= (\log(1+V_t) - \overline{\log(1+V)}) / s(\log(1+V))`;
* **spike day**: ``vol_z ≥ spike_z`` and/or ``vol_ratio_63 ≥ spike_ratio`` (``spike_rule``);
* **run-up episode**: a maximal stretch of days on which the rolling sum of AR over the last
  ``runup_window`` sessions is at least ``runup_threshold`` *and* the mean ``vol_ratio_63`` over
  those sessions is at least ``runup_min_vol_ratio`` (sustained abnormal volume). The episode
  starts the day after the trough of cumulative AR inside the first qualifying window, peaks at
  the maximum cumulative AR, and ends on the last qualifying day. Reported: CAR start→peak, the
  raw price return start→peak, the maximum drawdown of the price after the peak (through
  ``runup_window`` sessions after the end), and the peak ``vol_ratio_63``.

``cum_return`` is :math:`\sum R_t` from the episode's start to its peak in both modes.
A ticker that cannot be scanned keeps one row whose ``kind`` says why: ``no_prices`` (the
source has no such ticker), ``bad_price_file`` or ``source_error``, with ``reason``.

Each spike (episode) is matched to curated events whose day 0 lies within ±``match_sessions``
sessions of the spike day (of the episode's start…end).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

SCAN_COLUMNS = ("ticker", "kind", "measure", "benchmark", "date", "peak_date", "end_date", "sessions", "ret", "ar",
                "car", "cum_return", "price_return", "max_drawdown", "volume", "vol_ratio_63", "vol_z", "n_events", "event_ids", "event_types",
                "headlines", "reason")


@dataclass(frozen=True)
class ScanParams:
    """Thresholds of the scanner (documented defaults)."""

    spike_z: float = 4.0
    spike_ratio: float = 3.0
    spike_rule: str = "any"
    baseline: int = 63
    min_baseline: int = 40
    runup_window: int = 15
    runup_threshold: float = 0.50
    runup_min_vol_ratio: float = 2.0
    match_sessions: int = 3

    def __post_init__(self) -> None:
        if self.spike_rule not in ("any", "all"):
            raise ValueError("spike_rule must be 'any' or 'all'")
        if self.runup_window < 2 or self.baseline < 2 or self.min_baseline > self.baseline:
            raise ValueError("runup_window and baseline must be >= 2 and min_baseline <= baseline")


def _trailing(x: np.ndarray, n: int, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and s.d. (ddof 1) of the previous ``n`` values (t−n…t−1), NaN-aware."""
    s = pd.Series(x)
    roll = s.rolling(n, min_periods=min_n)
    return roll.mean().shift(1).to_numpy(), roll.std(ddof=1).shift(1).to_numpy()


def daily_signals(price: np.ndarray, volume: np.ndarray, bench_price: np.ndarray | None,
                  p: ScanParams) -> dict[str, np.ndarray]:
    """Per-day arrays: ret, ar, vol_ratio_63, vol_z, spike, rolling CAR and volume, qualifying flag."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = np.r_[np.nan, price[1:] / price[:-1] - 1]
        if bench_price is not None:
            rb = np.r_[np.nan, bench_price[1:] / bench_price[:-1] - 1]
            ar = ret - rb
        else:
            ar = ret
        mv, _ = _trailing(volume, p.baseline, p.min_baseline)
        lv = np.log1p(volume)
        ml, sl = _trailing(lv, p.baseline, p.min_baseline)
        ratio = np.where(mv > 0, volume / mv, np.nan)
        z = np.where(sl > 0, (lv - ml) / sl, np.nan)
    hit_z = np.nan_to_num(z, nan=-np.inf) >= p.spike_z
    hit_r = np.nan_to_num(ratio, nan=-np.inf) >= p.spike_ratio
    spike = (hit_z | hit_r) if p.spike_rule == "any" else (hit_z & hit_r)
    w = p.runup_window
    car_w = pd.Series(ar).rolling(w, min_periods=w).sum().to_numpy()
    vol_w = pd.Series(ratio).rolling(w, min_periods=w).mean().to_numpy()
    qual = (np.nan_to_num(car_w, nan=-np.inf) >= p.runup_threshold) & (
        np.nan_to_num(vol_w, nan=-np.inf) >= p.runup_min_vol_ratio)
    return {"ret": ret, "ar": ar, "vol_ratio_63": ratio, "vol_z": z, "spike": spike, "car_w": car_w,
            "vol_w": vol_w, "qual": qual}


def episodes(sig: dict[str, np.ndarray], price: np.ndarray, p: ScanParams) -> list[dict]:
    """Run-up episodes from the qualifying flags (positions into the series)."""
    q = sig["qual"]
    if not q.any():
        return []
    edges = np.diff(np.r_[0, q.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    ar = np.nan_to_num(sig["ar"])
    out = []
    for a, b in zip(starts, ends):      # one iteration per episode (a handful per ticker)
        s0 = max(a - p.runup_window + 1, 0)
        pre = np.r_[0.0, np.cumsum(ar[s0:a + 1])][:-1]          # P_{s0-1} … P_{a-1}
        start = s0 + int(np.argmin(pre))
        cum = np.cumsum(ar[start:b + 1])
        peak = start + int(np.argmax(cum))
        after = price[peak + 1: min(b + p.runup_window, len(price) - 1) + 1]
        dd = float(np.nanmin(after) / price[peak] - 1) if after.size and np.isfinite(after).any() else np.nan
        base = price[start - 1] if start > 0 else np.nan
        out.append({"start": start, "peak": peak, "end": int(b), "car": float(cum[peak - start]),
                    "cum_return": float(np.nansum(sig["ret"][start:peak + 1])),
                    "price_return": float(price[peak] / base - 1) if np.isfinite(base) else np.nan,
                    "max_drawdown": dd, "peak_vol_ratio": float(np.nanmax(sig["vol_ratio_63"][start:b + 1]))})
    return out


def _match(ev_pos: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return np.flatnonzero((ev_pos >= lo) & (ev_pos <= hi))


def scan_ticker(ticker: str, bars: pd.DataFrame, bench: pd.DataFrame | None, events: pd.DataFrame,
                p: ScanParams, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None,
                benchmark: str = "") -> pd.DataFrame:
    """Spikes and episodes of one ticker, with matched events; one row each.

    ``bench`` None means raw returns (``measure`` raw, ``ar``/``car`` empty).
    """
    raw = bench is None
    tag = {"measure": "raw" if raw else "market_adjusted", "benchmark": "" if raw else benchmark}
    price = bars["adj_close"].where(bars["adj_close"] > 0, bars["close"]).to_numpy(dtype=float)
    volume = bars["volume"].to_numpy(dtype=float)
    bp = None
    if bench is not None:
        b = bench["adj_close"].where(bench["adj_close"] > 0, bench["close"])
        bp = b.reindex(bars.index).to_numpy(dtype=float)
    sig = daily_signals(price, volume, bp, p)
    dates = bars.index
    ev = events[events["ticker"] == ticker]
    ev_pos = np.searchsorted(dates.to_numpy(), ev["day0"].to_numpy()) if len(ev) else np.empty(0, int)
    lo_d = pd.Timestamp(start) if start else dates.min()
    hi_d = pd.Timestamp(end) if end else dates.max()
    k = p.match_sessions
    rows = []

    def matched(lo: int, hi: int) -> dict:
        m = ev.iloc[_match(ev_pos, lo - k, hi + k)]
        return {"n_events": len(m), "event_ids": ";".join(m["event_id"]), "event_types": ";".join(m["event_type"]),
                "headlines": " | ".join(m["headline"].astype(str))}

    for i in np.flatnonzero(sig["spike"]):
        if not lo_d <= dates[i] <= hi_d:
            continue
        rows.append({"ticker": ticker, "kind": "spike", **tag, "date": dates[i], "sessions": 1,
                     "ret": sig["ret"][i], "ar": np.nan if raw else sig["ar"][i], "volume": volume[i], "vol_ratio_63": sig["vol_ratio_63"][i],
                     "vol_z": sig["vol_z"][i], **matched(i, i)})
    for e in episodes(sig, price, p):
        if dates[e["end"]] < lo_d or dates[e["start"]] > hi_d:
            continue
        rows.append({"ticker": ticker, "kind": "episode", **tag, "date": dates[e["start"]],
                     "peak_date": dates[e["peak"]], "end_date": dates[e["end"]], "sessions": e["end"] - e["start"] + 1,
                     "car": np.nan if raw else e["car"], "cum_return": e["cum_return"],
                     "price_return": e["price_return"], "max_drawdown": e["max_drawdown"],
                     "vol_ratio_63": e["peak_vol_ratio"], **matched(e["start"], e["end"])})
    return pd.DataFrame(rows, columns=list(SCAN_COLUMNS))


def scan(tickers: list[str], source, events: pd.DataFrame | None = None, benchmark: str | None = "XBI",
         params: ScanParams | None = None, start: str | pd.Timestamp | None = None,
         end: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Scan several tickers; a ticker that cannot be scanned keeps one row saying why.

    ``benchmark=None`` asks for raw returns; a named benchmark that the source cannot deliver
    raises :class:`~eventstudy._errors.PriceSourceError` (``benchmark XBI: …``).
    """
    from ._errors import EventStudyError, PriceFileError, PriceSourceError, SourceFailureError
    from .sources import open_source
    from .trading_calendar import align_day0

    p = params or ScanParams()
    src = open_source(source)
    ev = events if events is not None else pd.DataFrame(columns=["event_id", "ticker", "event_date", "event_time",
                                                                  "event_type", "headline"])
    ev = ev.copy()
    if len(ev):
        from .trading_calendar import nyse_sessions

        pos, _ = align_day0(ev["event_date"], ev["event_time"])
        sess = nyse_sessions()
        ev["day0"] = np.where(pos >= 0, sess.to_numpy()[np.clip(pos, 0, None)], np.datetime64("NaT"))
    else:
        ev["day0"] = pd.Series(dtype="datetime64[ns]")
    bench = None
    if benchmark:
        benchmark = benchmark.upper()
        try:
            bench = src.bars(benchmark)
        except EventStudyError as exc:
            raise PriceSourceError(f"benchmark {benchmark}: {exc} (choose another with --benchmark, or "
                                   "--benchmark none for raw returns)") from None
    frames = []
    for t in dict.fromkeys(t.upper() for t in tickers):
        try:
            bars = src.bars(t)
        except EventStudyError as exc:
            kind = ("bad_price_file" if isinstance(exc, PriceFileError) else
                    "source_error" if isinstance(exc, SourceFailureError) else "no_prices")
            frames.append(pd.DataFrame([{"ticker": t, "kind": kind, "reason": " ".join(str(exc).split())}],
                                       columns=list(SCAN_COLUMNS)))
            continue
        frames.append(scan_ticker(t, bars, bench, ev, p, start, end, benchmark or ""))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(SCAN_COLUMNS))
    out.attrs["params"] = asdict(p) | {"benchmark": benchmark}
    return out
