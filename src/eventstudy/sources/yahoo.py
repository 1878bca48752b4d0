"""Yahoo Finance daily bars through yfinance, with a parquet cache and an offline mode.

Bars come from ``yfinance.Ticker(t, session=...).history(start, end, interval="1d",
auto_adjust=False, actions=True)`` (raw OHLC, ``Adj Close``, volume, dividends, splits)
and are cached per ticker (:class:`~eventstudy.sources.cache.BarCache`).

Refresh policy: a cached ticker is refreshed incrementally from a few sessions before its
last cached bar. If the overlapping rows' ``adj_close`` changed (a new dividend or split
re-adjusted the history), the whole history is fetched again, so a cache never mixes
adjustment bases. ``end`` is exclusive and defaults to today, so a partial intraday bar
is never cached.

Errors: an unknown or delisted ticker → ``TickerNotFoundError``; no connection →
``NetworkError``; HTTP 429 → retried with exponential backoff, then ``RateLimitedError``.
``offline=True`` serves only the cache (``OfflineCacheMissError`` when absent).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from .._errors import NetworkError, OfflineCacheMissError, PriceSourceError, RateLimitedError, TickerNotFoundError
from .base import normalize_bars
from .cache import BarCache

DEFAULT_START = "2000-01-01"
REFRESH_OVERLAP_DAYS = 10
_RENAME = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Adj Close": "adj_close",
           "Volume": "volume", "Dividends": "dividends", "Stock Splits": "splits"}
RAW_COLUMNS = ("open", "high", "low", "close", "adj_close", "volume", "dividends", "splits")


def history_to_bars(df: pd.DataFrame) -> pd.DataFrame:
    """yfinance ``history()`` frame → raw bar frame indexed by exchange-local date."""
    out = df.rename(columns=_RENAME)
    idx = pd.DatetimeIndex(out.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    out.index = pd.DatetimeIndex(idx.normalize(), name="date")
    for col in RAW_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64") if col in out else (
            0.0 if col in ("dividends", "splits") else np.nan)
    out = out[list(RAW_COLUMNS)]
    return out[~out.index.duplicated(keep="last")].sort_index()


class YahooSource:
    """Daily bars from Yahoo Finance (cached). See the module docstring for the policy.

    Parameters
    ----------
    cache_dir : cache root (default ``$EVENTSTUDY_CACHE`` or ``~/.cache/eventstudy``)
    offline : serve only the cache
    session : a ``requests``/``curl_cffi`` Session given to yfinance (tests inject a replaying one)
    start : first date fetched for a ticker not yet cached
    max_retries, backoff : retries after HTTP 429, sleeping ``backoff * 2**k`` seconds
    max_age_hours : a cache fetched more recently than this is served without a refresh
    """

    def __init__(self, cache_dir=None, offline: bool = False, session=None, start: str = DEFAULT_START,
                 max_retries: int = 3, backoff: float = 2.0, max_age_hours: float = 12.0,
                 sleep: Callable[[float], None] = time.sleep, today: Callable[[], date] | None = None):
        self.cache = BarCache(cache_dir, "yahoo")
        self.offline = offline
        self.session = session
        self.start = start
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_age = timedelta(hours=max_age_hours)
        self._sleep = sleep
        self._today = today or (lambda: datetime.now(timezone.utc).date())
        self.name = "yahoo-offline" if offline else "yahoo"
        self._served: dict[str, dict] = {}

    # -- network ----------------------------------------------------------------------------
    def download(self, ticker: str, start: str | date, end: str | date) -> pd.DataFrame:
        """Fetch raw bars ``[start, end)`` from Yahoo, mapping yfinance errors to ours."""
        import yfinance as yf
        from yfinance import exceptions as yfe

        cfg = yf.config.debug
        hide = cfg.hide_exceptions
        cfg.hide_exceptions = False
        try:
            yf.set_tz_cache_location(str(self.cache.dir.parent / "yfinance"))
        except Exception:  # pragma: no cover - cache location is an optimisation only
            pass
        try:
            for attempt in range(self.max_retries + 1):
                try:
                    tk = yf.Ticker(ticker, session=self.session)
                    with warnings.catch_warnings():  # yfinance's own pandas deprecation notices
                        warnings.simplefilter("ignore", FutureWarning)
                        warnings.simplefilter("ignore", DeprecationWarning)
                        df = tk.history(start=str(start), end=str(end), interval="1d", auto_adjust=False,
                                        actions=True, repair=False)
                    return history_to_bars(df)
                except yfe.YFRateLimitError:
                    if attempt == self.max_retries:
                        raise RateLimitedError(f"{ticker}: Yahoo rate limit (HTTP 429) persisted after "
                                               f"{self.max_retries} retries") from None
                    self._sleep(self.backoff * 2**attempt)
                except (yfe.YFTzMissingError, yfe.YFPricesMissingError, yfe.YFTickerMissingError) as exc:
                    raise TickerNotFoundError(f"{ticker}: Yahoo has no data ({exc})") from None
                except Exception as exc:  # network layer: requests or curl_cffi
                    name = type(exc).__name__
                    status = getattr(getattr(exc, "response", None), "status_code", None)
                    if status == 404:
                        raise TickerNotFoundError(f"{ticker}: Yahoo answered 404 (unknown or delisted)") from None
                    if "Connection" in name or "Timeout" in name or isinstance(exc, OSError):
                        raise NetworkError(f"{ticker}: cannot reach Yahoo ({name}: {exc})") from None
                    raise PriceSourceError(f"{ticker}: Yahoo request failed ({name}: {exc})") from None
        finally:
            cfg.hide_exceptions = hide
        raise AssertionError("unreachable")

    # -- cache-aware access ---------------------------------------------------------------------
    def fetch(self, ticker: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """Fill or refresh the cache of ``ticker`` for ``[start, end)`` and return the cached bars."""
        ticker = ticker.upper()
        start = str(start or self.start)
        end = str(end or self._today())
        cached = self.cache.read(ticker)
        if cached is None:
            bars = self.download(ticker, start, end)
            if bars.empty:
                raise TickerNotFoundError(f"{ticker}: Yahoo returned no bars for {start}..{end}")
            return self._store(ticker, bars, start)
        bars, meta = cached
        first_cached = meta.get("start", str(bars.index.min().date()))
        if pd.Timestamp(start) < pd.Timestamp(first_cached):
            return self._store(ticker, self.download(ticker, start, end), start)
        tail_start = (bars.index.max() - pd.Timedelta(days=REFRESH_OVERLAP_DAYS)).date()
        fresh = self.download(ticker, tail_start, end)
        common = bars.index.intersection(fresh.index)
        old_adj, new_adj = bars.loc[common, "adj_close"].to_numpy(), fresh.loc[common, "adj_close"].to_numpy()
        if len(common) and not np.allclose(old_adj, new_adj, rtol=1e-9, equal_nan=True):
            # history was re-adjusted (dividend/split): refetch everything on the new basis
            return self._store(ticker, self.download(ticker, first_cached, end), first_cached)
        merged = pd.concat([bars[~bars.index.isin(fresh.index)], fresh]).sort_index()
        return self._store(ticker, merged, first_cached)

    def _store(self, ticker: str, bars: pd.DataFrame, start: str) -> pd.DataFrame:
        meta = {"start": start, "fetched_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "first": str(bars.index.min().date()) if len(bars) else None,
                "last": str(bars.index.max().date()) if len(bars) else None, "rows": int(len(bars))}
        self.cache.write(ticker, bars, meta)
        return bars

    def bars(self, ticker: str) -> pd.DataFrame:
        ticker = ticker.upper()
        cached = self.cache.read(ticker)
        if self.offline:
            if cached is None:
                raise OfflineCacheMissError(f"{ticker}: not in the cache {self.cache.dir} (offline mode; "
                                            f"run `eventstudy fetch {ticker}` with network first)")
            raw, meta = cached
        elif cached is not None and self._is_fresh(cached[1]):
            raw, meta = cached
        else:
            raw = self.fetch(ticker)
            meta = self.cache.read(ticker)[1]
        self._served[ticker] = meta
        return normalize_bars(raw)

    def _is_fresh(self, meta: dict) -> bool:
        try:
            fetched = datetime.fromisoformat(meta["fetched_utc"])
        except (KeyError, ValueError):
            return False
        return datetime.now(timezone.utc) - fetched < self.max_age

    def describe(self) -> dict:
        return {"source": self.name, "cache": str(self.cache.dir), "tickers": dict(sorted(self._served.items()))}
