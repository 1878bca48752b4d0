"""Prices → per-ticker arrays on the session grid → the aligned event panel.

Two layers, both plain arrays:

``MarketGrid`` holds one row per ticker and one column per NYSE session (``T × S``):
log price, raw close, volume, the return into each session and data-quality indicators.
A session with no bar is NaN. The return into a session spans back to the previous
session *with* a bar (a gap return is the multi-day return) and the benchmark / factor
returns are compounded over exactly the same span, so a gap never misaligns stock and
market.

``Panel`` gathers those arrays for every event at relative days ``rel_days`` around its
day 0 (``n_events × n_days``)::

    rel_days:      -250  -249  ...   -1     0     1  ...   20
    event 0 ret:   r     r     ...   r      r     r  ...   r     (NaN = not observed)
    event 1 ret:   NaN   NaN   ...   r      r     NaN...   NaN

Nothing here loops over events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: a one-day close ratio beyond ×3 or ÷3 is flagged (unadjusted split, basis change, or a real crash/squeeze)
JUMP_LOG_RATIO = float(np.log(3.0))
FLAG_NAMES: tuple[str, ...] = ("missing_days", "zero_volume", "stale_bars", "price_jump", "basis_change",
                               "gap_returns")


#: a basis change needs this many consecutive rows of each basis on both sides
BASIS_RUN = 3


def basis_changes(basis: np.ndarray, min_run: int = BASIS_RUN) -> np.ndarray:
    """True at row k when ``basis[k] != basis[k-1]`` and both runs last at least ``min_run`` rows.

    ``basis`` is a per-row label of one ticker's consecutive bars (e.g. "close on the cent
    grid"). Isolated rows (a single sub-penny close) are not changes of basis.
    """
    return basis_changes_runs(np.asarray(basis), np.zeros(len(basis), dtype=np.int8), min_run)


def _on_price_grid(x: np.ndarray) -> np.ndarray:
    """True where a price sits on the quote grid (cents ≥ $1, 1/100 cent below) up to float32 noise.

    Raw closing prices do; dividend-adjusted closes almost never do. A change between the
    two inside a series reveals a partially adjusted history (one-day dividend steps).
    Only the close is tested: highs and lows may carry sub-penny prints.
    """
    decimals = np.where(np.abs(x) >= 1.0, 100.0, 10000.0)
    dist = np.abs(x * decimals - np.round(x * decimals)) / decimals
    return dist <= np.maximum(1e-6, 4e-7 * np.abs(x))


@dataclass
class MarketGrid:
    """Per-ticker arrays on a common session grid (see module docstring)."""

    sessions: pd.DatetimeIndex
    tickers: list[str]
    logp: np.ndarray          # (T, S) log of adj_close (else close)
    close: np.ndarray         # (T, S) raw close
    volume: np.ndarray        # (T, S)
    prev: np.ndarray          # (T, S) position of the previous observed session, -1 if none
    first: np.ndarray         # (T,) first observed position (-1 if none)
    last: np.ndarray          # (T,) last observed position
    flags: dict[str, np.ndarray]   # name -> (T, S) bool indicator
    non_session_rows: np.ndarray   # (T,) bars dropped because their date is not an NYSE session

    @property
    def observed(self) -> np.ndarray:
        return np.isfinite(self.logp)

    def span_log_return(self, level: np.ndarray) -> np.ndarray:
        """Log return of ``level`` (log price or cumulative log return, shape (S,) or (S, p))
        over each ticker's own return span: ``level[t] − level[prev[t]]`` → (T, S[, p])."""
        prev = np.where(self.prev >= 0, self.prev, 0)
        cur = np.broadcast_to(np.arange(len(self.sessions)), self.prev.shape)
        out = level[cur] - level[prev]
        out[self.prev < 0] = np.nan
        return out

    def stock_log_return(self) -> np.ndarray:
        """(T, S) log return into each observed session from the previous observed one."""
        rows = np.arange(len(self.tickers))[:, None]
        prev = np.where(self.prev >= 0, self.prev, 0)
        out = self.logp - self.logp[rows, prev]
        out[(self.prev < 0) | ~self.observed] = np.nan
        return out


def basis_changes_runs(basis: np.ndarray, series: np.ndarray, min_run: int = BASIS_RUN) -> np.ndarray:
    """:func:`basis_changes` of many series at once: ``series`` labels each row's series (rows of a series
    consecutive); a run never continues across two series, and a series' first row is never a change."""
    n = len(basis)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    same_series = np.r_[False, series[1:] == series[:-1]]
    change = ~same_series | np.r_[True, basis[1:] != basis[:-1]]
    run_id = np.cumsum(change) - 1
    run_len = np.bincount(run_id)[run_id]
    k = np.flatnonzero(change[1:] & same_series[1:]) + 1
    good = (run_len[k] >= min_run) & (run_len[k - 1] >= min_run)
    out[k[good]] = True
    return out


def build_grid(bars: dict[str, pd.DataFrame], sessions: pd.DatetimeIndex) -> MarketGrid:
    """Lay each ticker's bars on ``sessions`` and compute the indicator arrays.

    ``bars`` maps ticker → canonical bars (see :mod:`eventstudy.sources.base`). The price
    used for returns is ``adj_close`` where present, else ``close`` (per row; a switch
    between the two inside a series is flagged as ``basis_change``). All tickers' bars are laid
    out as one long block (ticker, session) and processed at once.
    """
    tickers = list(bars)
    T, S = len(tickers), len(sessions)
    shape = (T, S)
    price = np.full(shape, np.nan)
    close = np.full(shape, np.nan)
    volume = np.full(shape, np.nan)
    basis = np.zeros(shape, dtype=bool)
    ohlc_same = np.zeros(shape, dtype=bool)
    sess = sessions.to_numpy()
    cols_ = ("open", "high", "low", "close", "adj_close", "volume")
    blocks = [bars[t] for t in tickers]
    lengths = np.fromiter((len(b) for b in blocks), np.int64, T)
    if T and lengths.sum():
        dates = np.concatenate([b.index.to_numpy() for b in blocks])
        arr = np.concatenate([b.to_numpy(dtype=float) if tuple(b.columns) == cols_ else b[list(cols_)].to_numpy(dtype=float)
                              for b in blocks])   # one block read per ticker, not six column lookups
    else:
        dates, arr = np.zeros(0, "datetime64[ns]"), np.zeros((0, 6))
    tick = np.repeat(np.arange(T), lengths)
    pos = np.searchsorted(sess, dates)
    keep = (pos < S) & (sess[np.minimum(pos, S - 1)] == dates) if S else np.zeros(len(dates), bool)
    non_session = np.bincount(tick[~keep], minlength=T).astype(np.int64)
    if not keep.all():
        tick, pos, arr = tick[keep], pos[keep], arr[keep]
    op, hi, lo_, cl, adj, vol = arr.T
    use_adj = np.isfinite(adj) & (adj > 0)
    px = np.where(use_adj, adj, cl)
    price[tick, pos] = px
    close[tick, pos] = cl
    volume[tick, pos] = vol
    seen = np.isfinite(px) & (px > 0)
    label = np.where(use_adj, 2, _on_price_grid(np.nan_to_num(cl)).astype(int))[seen]
    basis[tick[seen], pos[seen]] = basis_changes_runs(label, tick[seen])
    if len(pos) > 1:
        same = np.zeros(len(pos), dtype=bool)
        same[1:] = ((tick[1:] == tick[:-1]) & (op[1:] == op[:-1]) & (hi[1:] == hi[:-1]) & (lo_[1:] == lo_[:-1])
                    & (cl[1:] == cl[:-1]) & (vol[1:] == vol[:-1]))
        ohlc_same[tick, pos] = same
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = np.where(price > 0, np.log(np.where(price > 0, price, 1.0)), np.nan)
    observed = np.isfinite(logp)
    idx = np.where(observed, np.arange(S)[None, :], -1)
    last_seen = np.maximum.accumulate(idx, axis=1)
    prev = np.full(shape, -1, dtype=np.int64)
    prev[:, 1:] = last_seen[:, :-1]
    any_obs = observed.any(axis=1)
    if S:
        first = np.where(any_obs, observed.argmax(axis=1), -1)
        last = np.where(any_obs, S - 1 - observed[:, ::-1].argmax(axis=1), -1)
    else:   # no session at all (e.g. no bar in the range any event needs)
        first = last = np.full(T, -1, dtype=np.int64)
    cols = np.arange(S)[None, :]
    inside = (cols >= first[:, None]) & (cols <= last[:, None]) & any_obs[:, None]
    rows = np.arange(T)[:, None]
    p0 = np.where(prev >= 0, prev, 0)
    has_prev = observed & (prev >= 0)
    logret = np.where(has_prev, logp - logp[rows, p0], np.nan)
    flags = {
        "missing_days": inside & ~observed,
        "zero_volume": observed & (volume == 0),
        "stale_bars": observed & ohlc_same,
        "price_jump": has_prev & (np.abs(np.nan_to_num(logret)) > JUMP_LOG_RATIO),
        "basis_change": basis,
        "gap_returns": has_prev & (prev < np.arange(S)[None, :] - 1),
    }
    return MarketGrid(sessions, tickers, logp, close, volume, prev, first, last, flags, non_session)


def gather(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows[i], cols[i, j]]`` with NaN where ``rows`` is −1 or ``cols`` is off the grid.

    ``matrix`` is (T, S) or (T, S, p); ``rows`` (n,); ``cols`` (n, D) must be consecutive
    positions per event (``day0 + rel_days``). Each event's window is a contiguous run of its
    ticker's row, so it is copied as a block from a sliding-window view of the padded matrix.
    Returns float (n, D[, p]).
    """
    T, S = matrix.shape[:2]
    n, D = cols.shape
    pad = [(0, 1), (D, D)] + [(0, 0)] * (matrix.ndim - 2)
    padded = np.pad(matrix.astype(float, copy=False), pad, constant_values=np.nan)  # row T is all-NaN
    view = np.lib.stride_tricks.sliding_window_view(padded, D, axis=1)   # (T+1, S+D+1, [p,] D)
    r = np.where(rows >= 0, rows, T)
    start = np.clip(cols[:, 0] + D, 0, S + D) if n else cols[:, 0]
    out = view[r, start]
    return np.moveaxis(out, -1, 1) if matrix.ndim == 3 else out


def cumulative_counts(indicator: np.ndarray) -> np.ndarray:
    """(T, S + 1) running count of True cells of a (T, S) indicator along each row, starting at 0."""
    T, S = indicator.shape
    cs = np.zeros((T, S + 1), dtype=np.int64)
    np.cumsum(indicator, axis=1, out=cs[:, 1:])
    return cs


def window_counts(indicator: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray,
                  cs: np.ndarray | None = None) -> np.ndarray:
    """Number of True cells of a (T, S) indicator in ``[start, end]`` (positions, inclusive) per event
    (``cs``: its :func:`cumulative_counts`, when already computed)."""
    T, S = indicator.shape
    if cs is None:
        cs = cumulative_counts(indicator)
    a = np.clip(start, 0, S)
    b = np.clip(end + 1, 0, S)
    r = np.clip(rows, 0, None)
    out = cs[r, np.maximum(b, a)] - cs[r, a]
    return np.where(rows >= 0, out, 0)


@dataclass
class Panel:
    """The aligned event panel (see module docstring). All arrays are (n_events, n_days)."""

    rel_days: np.ndarray
    day0_pos: np.ndarray       # (n,) position of day 0 in the session grid, -1 if none
    ticker_row: np.ndarray     # (n,) row in the MarketGrid, -1 if none
    ret: np.ndarray            # stock return (simple or log) into each day
    volume: np.ndarray
    close: np.ndarray
    market: np.ndarray | None  # benchmark return over the same span
    factors: np.ndarray | None  # (n, D, p) factor returns over the same span
    rf: np.ndarray | None      # risk-free return over the same span
    sessions: pd.DatetimeIndex
    bench_volume: np.ndarray | None = None  # benchmark volume on the same days

    @property
    def n_events(self) -> int:
        return len(self.day0_pos)

    def positions(self) -> np.ndarray:
        return self.day0_pos[:, None] + self.rel_days[None, :]

    def dates(self) -> np.ndarray:
        """(n, D) datetime64 session dates (NaT off the grid)."""
        pos = self.positions()
        if not len(self.sessions):
            return np.full(pos.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = (pos >= 0) & (pos < len(self.sessions)) & (self.day0_pos[:, None] >= 0)
        out = self.sessions.to_numpy()[np.clip(pos, 0, len(self.sessions) - 1)]
        out[~ok] = np.datetime64("NaT")
        return out

    def column(self, rel_day: int) -> int:
        return int(rel_day - self.rel_days[0])
