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
    Only the close is tested: highs and lows may carry sub-penny prints. With
    :math:`d = 100` for :math:`|x| \\ge 1` else :math:`10^4`, the test is
    :math:`|xd - \\mathrm{round}(xd)|/d \\le \\max(10^{-6}, 4\\cdot10^{-7}|x|)`.
    """
    ax = np.abs(x)
    decimals = np.where(ax >= 1.0, 100.0, 10000.0)
    y = x * decimals
    dist = np.round(y)
    np.subtract(y, dist, out=dist)
    np.abs(dist, out=dist)
    dist /= decimals
    np.multiply(ax, 4e-7, out=ax)
    np.maximum(ax, 1e-6, out=ax)
    return dist <= ax


def _session_positions(dates: np.ndarray, sess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each of ``dates`` in the ascending, midnight ``sess`` and whether it is one of them
    (a date between sessions, with a time of day, or outside them is not). One table lookup per date by
    its day number instead of a binary search; the same answer as ``searchsorted`` plus an equality test."""
    S = len(sess)
    if not S or not len(dates):
        return np.zeros(len(dates), np.int64), np.zeros(len(dates), bool)
    day_ns = 86_400 * 10**9
    d = dates.astype("datetime64[ns]").view(np.int64)
    sd = sess.astype("datetime64[ns]").view(np.int64)
    day = d // day_ns
    d0 = sd[0] // day_ns
    span = int(sd[-1] // day_ns - d0) + 1
    table = np.full(span + 2, -1, dtype=np.int64)          # one slot below and above the sessions' days
    table[sd // day_ns - d0 + 1] = np.arange(S)
    pos = table[np.clip(day - d0 + 1, 0, span + 1)]
    keep = pos >= 0
    keep &= sd[np.maximum(pos, 0)] == d
    return pos, keep


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
    """Lay each ticker's bars on ``sessions`` and compute the indicator arrays (:func:`grid_from_arrays`).

    ``bars`` maps ticker → canonical bars (see :mod:`eventstudy.sources.base`), each ascending by date."""
    from .sources.base import frame_arrays

    return grid_from_arrays(list(bars), [frame_arrays(b) for b in bars.values()], sessions)


def grid_from_arrays(tickers: list[str], arrays: list[tuple[np.ndarray, np.ndarray]],
                     sessions: pd.DatetimeIndex) -> MarketGrid:
    """Lay each ticker's bars on ``sessions`` and compute the indicator arrays.

    ``arrays`` holds, per ticker, ``(dates, values)`` as :func:`eventstudy.sources.base.frame_arrays`
    gives them: dates ascending, the canonical columns as ``(6, n)`` float64. The price used for returns
    is ``adj_close`` where present, else ``close`` (per row; a switch between the two inside a series is
    flagged as ``basis_change``). All tickers' bars are laid out as one long block (ticker, session);
    every per-bar quantity (the log price, the indicators, the step from the previous observed bar) is
    computed on that block, bars only, and scattered onto the ``T × S`` grid once.
    """
    T, S = len(tickers), len(sessions)
    shape = (T, S)
    sess = sessions.to_numpy()
    lengths = np.fromiter((len(d) for d, _ in arrays), np.int64, T)
    if T and lengths.sum():
        dates = np.concatenate([d for d, _ in arrays])
        arr = np.concatenate([v for _, v in arrays], axis=1)     # (6, bars): six contiguous rows
    else:
        dates, arr = np.zeros(0, "datetime64[ns]"), np.zeros((6, 0))
    tick = np.repeat(np.arange(T), lengths)
    pos, keep = _session_positions(dates, sess)
    non_session = np.bincount(tick[~keep], minlength=T).astype(np.int64)
    if not keep.all():
        tick, pos, arr = tick[keep], pos[keep], arr[:, keep]
    key = tick * S + pos                                   # the bar's flat position on the grid
    if len(key) > 1 and not (key[1:] > key[:-1]).all():    # bars out of date order: put them in order
        order = np.argsort(key, kind="stable")
        tick, pos, key, arr = tick[order], pos[order], key[order], arr[:, order]
    op, hi, lo_, cl, adj, vol = arr
    use_adj = np.isfinite(adj) & (adj > 0)
    px = np.where(use_adj, adj, cl)
    close = np.full(shape, np.nan)
    volume = np.full(shape, np.nan)
    close.reshape(-1)[key] = cl                            # flat positions: one index per bar
    volume.reshape(-1)[key] = vol
    # the log price of every bar with a positive price (+inf stays +inf: not observed)
    pos_px = px > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log(px[pos_px])
    logp = np.full(shape, np.nan)
    logp.reshape(-1)[key[pos_px]] = lp
    seen = pos_px.copy()
    seen[pos_px] = np.isfinite(lp)                        # observed bars: finite, positive price
    ts, ps, ks, ls = tick[seen], pos[seen], key[seen], lp[np.isfinite(lp)]
    label = np.full(len(ts), 2, dtype=np.int64)
    raw = ~use_adj[seen]
    label[raw] = _on_price_grid(cl[seen][raw])
    same = np.zeros(len(pos), dtype=bool)
    if len(pos) > 1:
        same[1:] = ((tick[1:] == tick[:-1]) & (op[1:] == op[:-1]) & (hi[1:] == hi[:-1]) & (lo_[1:] == lo_[:-1])
                    & (cl[1:] == cl[:-1]) & (vol[1:] == vol[:-1]))
    observed = np.zeros(shape, dtype=bool)
    observed.reshape(-1)[ks] = True
    idx = np.where(observed, np.arange(S)[None, :], -1)
    prev = np.full(shape, -1, dtype=np.int64)
    if S:
        np.maximum.accumulate(idx[:, :-1], axis=1, out=prev[:, 1:])
    any_obs = observed.any(axis=1)
    if S:
        first = np.where(any_obs, observed.argmax(axis=1), -1)
        last = np.where(any_obs, S - 1 - observed[:, ::-1].argmax(axis=1), -1)
    else:   # no session at all (e.g. no bar in the range any event needs)
        first = last = np.full(T, -1, dtype=np.int64)
    cols = np.arange(S)[None, :]
    inside = (cols >= first[:, None]) & (cols <= last[:, None]) & any_obs[:, None]
    # the observed bar before each observed bar of the same ticker (bars ascend within a ticker)
    step = np.zeros(len(ts), dtype=bool)
    step[1:] = ts[1:] == ts[:-1]
    jump = np.zeros(len(ts), dtype=bool)
    jump[1:] = step[1:] & (np.abs(ls[1:] - ls[:-1]) > JUMP_LOG_RATIO)
    gap = np.zeros(len(ts), dtype=bool)
    gap[1:] = step[1:] & (ps[:-1] < ps[1:] - 1)

    def on_grid(values: np.ndarray) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        out.reshape(-1)[ks[values]] = True
        return out

    flags = {
        "missing_days": inside & ~observed,
        "zero_volume": on_grid(vol[seen] == 0),
        "stale_bars": on_grid(same[seen]),
        "price_jump": on_grid(jump),
        "basis_change": on_grid(basis_changes_runs(label, ts)),
        "gap_returns": on_grid(gap),
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


def flag_cells(indicator: np.ndarray) -> np.ndarray:
    """Flat positions (``row * S + column``, ascending) of the True cells of a (T, S) indicator: what
    :func:`window_counts` counts in. Flags are rare, so this is small where a running count would be T × S."""
    return np.flatnonzero(indicator)


def window_counts(indicator: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray,
                  cells: np.ndarray | None = None) -> np.ndarray:
    """Number of True cells of a (T, S) indicator in ``[start, end]`` (positions, inclusive, clipped to the
    grid) of row ``rows[i]`` per event (0 where ``rows`` is −1). ``cells``: its :func:`flag_cells`, when
    already computed. Two binary searches per event in the sorted flat positions of the True cells:
    :math:`\\#\\{c: rS + a \\le c < rS + b\\}`."""
    T, S = indicator.shape
    if cells is None:
        cells = flag_cells(indicator)
    a = np.clip(start, 0, S)
    b = np.maximum(np.clip(end + 1, 0, S), a)
    base = np.clip(rows, 0, None).astype(np.int64) * S
    out = np.searchsorted(cells, base + b) - np.searchsorted(cells, base + a)
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

    def dates(self, rows: np.ndarray | None = None, cols: np.ndarray | slice | None = None) -> np.ndarray:
        """(n, D) datetime64 session dates (NaT off the grid); ``rows`` (event positions) and ``cols``
        (column positions or a slice): only those, as ``dates()[rows][:, cols]`` without forming the rest."""
        d0 = self.day0_pos if rows is None else self.day0_pos[rows]
        rel = self.rel_days if cols is None else self.rel_days[cols]
        pos = d0[:, None] + rel[None, :]
        if not len(self.sessions):
            return np.full(pos.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = (pos >= 0) & (pos < len(self.sessions)) & (d0[:, None] >= 0)
        out = self.sessions.to_numpy()[np.clip(pos, 0, len(self.sessions) - 1)]
        out[~ok] = np.datetime64("NaT")
        return out

    def column(self, rel_day: int) -> int:
        return int(rel_day - self.rel_days[0])
