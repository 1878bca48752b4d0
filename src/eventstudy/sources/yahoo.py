"""Yahoo Finance daily bars (the v8 chart API, as yfinance uses it), with a parquet cache and an offline mode.

What a caller gets
------------------
``YahooSource.bars(ticker, start, end)`` returns the bars with ``start <= date <= end``.
Results do not depend on the cache's age: the cache records the date range it covers
(:mod:`eventstudy.sources.cache`); a range inside it is served without network, and only the
missing part is fetched (the head before the covered start, or the tail after the covered
end; a range ending today or later always refreshes the tail). Bars dated today or later are
never stored (today's bar is still forming).

Adjustment basis
----------------
Yahoo's ``close`` is split-adjusted and ``adjclose`` split- and dividend-adjusted *as of the
request*: a dividend or split recorded later changes these columns for every earlier bar.
Each incremental fetch overlaps the cache by :data:`REFRESH_OVERLAP_DAYS`; when ``close`` or
the ratio ``adj_close / close`` differs on the overlap, when the fetch reports a dividend or
split newer than the cache, or when it reports an action inside the cached range that the
cache does not have, the whole covered range is fetched again and replaces the cache. Two
adjustment bases are never mixed. A fetch that returns no rows or only empty rows never
replaces cached bars.

Failures
--------
HTTP 5xx → retried with exponential backoff, then :class:`ServerError`; 401/403 →
:class:`AccessDeniedError` (after one retry through yfinance's cookie/crumb handshake); 404 or
Yahoo's "No data found, symbol may be delisted" → :class:`TickerNotFoundError`; 429 → retried
with backoff, then :class:`RateLimitedError`; connection errors and timeouts →
:class:`NetworkError`. The status code and body are read by this module, so a ``requests`` and
a ``curl_cffi`` session give the same class for the same answer. (``yfinance.Ticker.history``
is not used for the request: with its default settings it logs and returns an empty frame on
errors, reads a 5xx page or a failed time-zone lookup as "possibly delisted", and its cookie
requests have fixed 30 s timeouts. The default session is yfinance's choice, ``curl_cffi``
impersonating Chrome.) Every request has a timeout (``timeout``) and every ticker a
deadline (``deadline``, retries and backoff included); after ``max_failures`` consecutive
failed tickers the source stops asking Yahoo and fails the rest at once.

When a fetch fails (or Yahoo calls the ticker delisted) but the cache holds bars in the
requested range, :meth:`YahooSource.bars` serves them and sets
``frame.attrs["source_flags"] = {"stale_cache": <last cached bar date>, "stale_reason": <what failed>,
"cache_covers": "<start>..<end>"}``. Without usable cached bars the error is raised.
``offline=True`` serves only the cache (:class:`OfflineCacheMissError` when absent; a range the
cache does not fully cover is served with the same ``stale_cache`` flags).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from urllib.parse import quote

import numpy as np
import pandas as pd

from .._errors import (AccessDeniedError, CorruptCacheError, NetworkError, OfflineCacheMissError, RateLimitedError,
                       ServerError, SourceFailureError, TickerNotFoundError)
from .base import normalize_bars, select_range
from .cache import RAW_COLUMNS, BarCache, covered_range

DEFAULT_START = "2000-01-01"
REFRESH_OVERLAP_DAYS = 10
CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
#: relative tolerance when comparing ``close`` and ``adj_close / close`` of cached and fresh bars
BASIS_RTOL = 1e-6

Day = pd.Timedelta(days=1)


# -- pure helpers ---------------------------------------------------------------------------------
def _chart_error(doc: object) -> dict | None:
    if not isinstance(doc, dict):
        return None
    for key in ("chart", "finance"):
        block = doc.get(key)
        if isinstance(block, dict) and isinstance(block.get("error"), dict):
            return block["error"]
    return None


def classify_response(ticker: str, status: int, body: bytes) -> dict:
    """Return the chart JSON of a Yahoo answer, or raise the error class the answer means.

    ===========================================  =============================================
    answer                                       result
    ===========================================  =============================================
    200 with ``chart.result``                    the parsed document
    400 "Data doesn't exist for startDate …"     an empty chart (no bars in the range)
    404, or ``chart.error`` "Not Found" /        :class:`TickerNotFoundError`
    "No data found, symbol may be delisted"
    401, 403                                     :class:`AccessDeniedError`
    429                                          :class:`RateLimitedError`
    5xx, or 200 with an unreadable body          :class:`ServerError`
    any other status                             :class:`SourceFailureError`
    ===========================================  =============================================
    """
    text = body.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    err = _chart_error(doc)
    desc = f"{err.get('code', '')}: {err.get('description', '')}".strip(": ") if err else text[:120].strip()
    if status == 429:
        raise RateLimitedError(f"{ticker}: Yahoo rate limit (HTTP 429)")
    if status >= 500:
        raise ServerError(f"{ticker}: Yahoo server error (HTTP {status}: {desc or 'no detail'})")
    if status in (401, 403):
        raise AccessDeniedError(f"{ticker}: Yahoo refused access (HTTP {status}: {desc or 'no detail'}); "
                                "not a network outage: the request was blocked or needs a new cookie/crumb")
    if status == 400 and err and "doesn't exist" in str(err.get("description", "")):
        return {"chart": {"result": [{"meta": {}, "timestamp": [], "indicators": {"quote": [{}]}}], "error": None}}
    not_found = err is not None and ("not found" in str(err.get("code", "")).lower()
                                     or "no data found" in str(err.get("description", "")).lower()
                                     or "delisted" in str(err.get("description", "")).lower())
    if status == 404 or (status == 200 and not_found):
        raise TickerNotFoundError(f"{ticker}: Yahoo has no such ticker or it is delisted (HTTP {status}: "
                                  f"{desc or 'not found'})")
    if status != 200:
        raise SourceFailureError(f"{ticker}: Yahoo rejected the request (HTTP {status}: {desc or 'no detail'})")
    try:
        result = doc["chart"]["result"][0]
        result["timestamp"] = result.get("timestamp") or []
        result["indicators"]["quote"][0]
    except (TypeError, KeyError, IndexError):
        raise ServerError(f"{ticker}: Yahoo answered HTTP 200 without a readable chart "
                          f"({(desc or text[:80])!r})") from None
    return doc


def parse_chart(doc: dict) -> pd.DataFrame:
    """Yahoo v8 chart JSON → raw bars (``RAW_COLUMNS``) indexed by exchange-local date.

    Timestamps are converted to the exchange's time zone (``meta.exchangeTimezoneName``)
    before taking the date. ``events.dividends`` (``amount``) and ``events.splits``
    (``numerator / denominator``) are placed on the bar of their date (0 = none).
    """
    res = doc["chart"]["result"][0]
    ts = res.get("timestamp") or []
    tz = (res.get("meta") or {}).get("exchangeTimezoneName") or "America/New_York"
    idx = pd.to_datetime(np.asarray(ts, dtype="int64"), unit="s", utc=True).tz_convert(tz)
    dates = pd.DatetimeIndex(idx.tz_localize(None).normalize(), name="date")
    q = res["indicators"]["quote"][0] if res["indicators"].get("quote") else {}
    adj = (res["indicators"].get("adjclose") or [{}])[0].get("adjclose")

    def col(values) -> np.ndarray:
        if values is None or len(values) != len(dates):
            return np.full(len(dates), np.nan)
        return np.array([np.nan if v is None else v for v in values], dtype="float64")

    out = pd.DataFrame({"open": col(q.get("open")), "high": col(q.get("high")), "low": col(q.get("low")),
                        "close": col(q.get("close")), "adj_close": col(adj if adj is not None else q.get("close")),
                        "volume": col(q.get("volume")), "dividends": 0.0, "splits": 0.0}, index=dates)
    out = out[~out.index.duplicated(keep="last")].sort_index()
    events = res.get("events") or {}
    for key, name in (("dividends", "dividends"), ("splits", "splits")):
        for ev in (events.get(key) or {}).values():
            try:
                when = pd.Timestamp(int(ev["date"]), unit="s", tz="UTC").tz_convert(tz).tz_localize(None).normalize()
                value = float(ev["amount"]) if key == "dividends" else float(ev["numerator"]) / float(ev["denominator"])
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                continue
            if when in out.index:
                out.loc[when, name] = value
    return out[list(RAW_COLUMNS)]


def _usable(frame: pd.DataFrame) -> pd.Series:
    """Rows carrying a price (close or adj_close observed)."""
    return frame["close"].notna() | frame["adj_close"].notna()


def basis_changed(cached: pd.DataFrame, fresh: pd.DataFrame, covered_end: pd.Timestamp) -> str | None:
    """Why ``fresh`` is on another adjustment basis than ``cached`` (``None`` when they agree).

    Compared on the dates both hold: ``close`` (split basis) and ``adj_close / close``
    (dividend basis), relative tolerance :data:`BASIS_RTOL`. Also a basis change: a dividend
    or split in ``fresh`` dated after ``covered_end``, or inside the cached range but not in
    the cache (Yahoo recorded it late).
    """
    common = cached.index.intersection(fresh.index)
    a, b = cached.loc[common], fresh.loc[common]
    both = (a["close"].notna() & b["close"].notna()).to_numpy()
    if both.any() and not np.allclose(a["close"].to_numpy()[both], b["close"].to_numpy()[both], rtol=BASIS_RTOL,
                                      atol=0):
        return "close prices changed on the overlap (split re-adjustment)"
    ra, rb = (a["adj_close"] / a["close"]).to_numpy(), (b["adj_close"] / b["close"]).to_numpy()
    ok = np.isfinite(ra) & np.isfinite(rb)
    if ok.any() and not np.allclose(ra[ok], rb[ok], rtol=BASIS_RTOL, atol=0):
        return "adj_close/close changed on the overlap (dividend or split re-adjustment)"
    acts = fresh[(fresh["dividends"] != 0) | ((fresh["splits"] != 0) & (fresh["splits"] != 1))]
    if (acts.index > covered_end).any():
        return f"new dividend/split on {acts.index[acts.index > covered_end][0].date()}"
    inside = acts.index[acts.index <= covered_end].intersection(cached.index)
    for d in inside:
        if not (np.isclose(cached.at[d, "dividends"], fresh.at[d, "dividends"])
                and np.isclose(cached.at[d, "splits"], fresh.at[d, "splits"])):
            return f"dividend/split on {d.date()} not in the cache"
    return None


def merge_bars(cached: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame:
    """Cached bars updated by fresh ones (same basis); a fresh row without prices never replaces a cached one."""
    keep_fresh = fresh[_usable(fresh) | ~fresh.index.isin(cached.index)]
    return pd.concat([cached[~cached.index.isin(keep_fresh.index)], keep_fresh]).sort_index()


def _d(ts: pd.Timestamp) -> str:
    return str(pd.Timestamp(ts).date())


def _default_session():
    """yfinance's preferred session: curl_cffi with browser impersonation, else requests."""
    try:
        from curl_cffi import requests as cr
    except ImportError:  # pragma: no cover - curl_cffi is a yfinance dependency
        import requests

        return requests.Session()
    return cr.Session(impersonate="chrome")


class YahooSource:
    """Daily bars from Yahoo Finance (cached). See the module docstring for the policy.

    Parameters
    ----------
    cache_dir : cache root (default ``$EVENTSTUDY_CACHE`` or the platform user cache dir)
    offline : serve only the cache
    session : a ``requests`` or ``curl_cffi`` Session (tests inject a replaying one)
    start : first date fetched when a caller gives no start and the ticker is not cached
    max_retries, backoff : retries after HTTP 429 / 5xx, sleeping ``backoff * 2**k`` seconds
    timeout : seconds per HTTP request
    deadline : seconds per ticker fetch, retries and backoff included
    max_failures : after this many consecutive failed fetches, later fetches fail at once
    sleep, today, clock : injectable for tests (``today`` returns the current UTC date)
    """

    def __init__(self, cache_dir=None, offline: bool = False, session=None, start: str = DEFAULT_START,
                 max_retries: int = 3, backoff: float = 2.0, timeout: float = 10.0, deadline: float = 60.0,
                 max_failures: int = 3, sleep: Callable[[float], None] = time.sleep,
                 today: Callable[[], date] | None = None, clock: Callable[[], float] = time.monotonic):
        self.cache = BarCache(cache_dir, "yahoo")
        self.offline = offline
        self.session = session
        self.start = start
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = timeout
        self.deadline = deadline
        self.max_failures = max_failures
        self._sleep = sleep
        self._today = today or (lambda: datetime.now(timezone.utc).date())
        self._clock = clock
        self.name = "yahoo-offline" if offline else "yahoo"
        self._served: dict[str, dict] = {}
        self._failures = 0
        self._last_failure: SourceFailureError | None = None
        self._yf_auth = False

    # -- network --------------------------------------------------------------------------------
    def _send(self, url: str, params: dict, timeout: float):
        if self.session is None:
            self.session = _default_session()
        if self._yf_auth:  # yfinance's cookie + crumb handshake, then the same request
            from yfinance.data import YfData
            from yfinance.exceptions import YFException, YFRateLimitError

            try:
                return YfData(session=self.session).get(url, params=params, timeout=timeout)
            except YFRateLimitError:
                raise RateLimitedError("Yahoo rate limit (HTTP 429) during the cookie/crumb handshake") from None
            except YFException as exc:
                raise AccessDeniedError(f"yfinance's cookie/crumb handshake failed ({exc})") from None
        return self.session.get(url, params=params, timeout=timeout)

    def download(self, ticker: str, start, end) -> pd.DataFrame:
        """Fetch raw bars with ``start <= date <= end`` (inclusive) from Yahoo; raise our error classes."""
        ticker = ticker.upper()
        if self._failures >= self.max_failures and self._last_failure is not None:
            raise type(self._last_failure)(f"{ticker}: not requested: the last {self._failures} Yahoo requests "
                                           f"failed (last: {self._last_failure})")
        try:
            doc = self._request_chart(ticker, pd.Timestamp(start), pd.Timestamp(end))
        except SourceFailureError as exc:
            self._failures += 1
            self._last_failure = exc
            raise
        except TickerNotFoundError:
            self._failures, self._last_failure = 0, None   # Yahoo answered: the network works
            raise
        self._failures, self._last_failure = 0, None
        try:
            bars = parse_chart(doc)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise ServerError(f"{ticker}: Yahoo's chart answer is malformed ({type(exc).__name__}: {exc})") from None
        return bars.loc[pd.Timestamp(start):pd.Timestamp(end)]

    def _request_chart(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> dict:
        # a day of margin each side: daily timestamps are the session open in UTC
        params = {"period1": int((start - Day).tz_localize("UTC").timestamp()),
                  "period2": int((end + 2 * Day).tz_localize("UTC").timestamp()),
                  "interval": "1d", "includePrePost": "false", "events": "div,splits,capitalGains"}
        url = CHART_URL.format(symbol=quote(ticker, safe="^=-."))
        t0 = self._clock()
        error: SourceFailureError | None = None
        auth_retried = False
        attempt = 0
        while True:
            remaining = self.deadline - (self._clock() - t0)
            if remaining <= 0:
                raise error or NetworkError(f"{ticker}: no answer from Yahoo within the {self.deadline:g} s deadline")
            wait = min(self.timeout, remaining)
            try:
                resp = self._send(url, params, wait)
            except RateLimitedError as exc:
                error = RateLimitedError(f"{ticker}: {exc}")
            except OSError as exc:  # requests and curl_cffi exceptions are OSErrors; so are socket errors
                kind = "timed out" if "timeout" in type(exc).__name__.lower() or isinstance(exc, TimeoutError) else \
                    "cannot reach Yahoo"
                raise NetworkError(f"{ticker}: {kind} ({type(exc).__name__}: {str(exc)[:200]}; "
                                   f"timeout {wait:g} s)") from None
            else:
                try:
                    return classify_response(ticker, int(resp.status_code), bytes(resp.content or b""))
                except AccessDeniedError:
                    if auth_retried:
                        raise
                    auth_retried, self._yf_auth = True, True
                    continue
                except (RateLimitedError, ServerError) as exc:
                    error = exc
            if attempt >= self.max_retries:
                if isinstance(error, RateLimitedError):
                    raise RateLimitedError(f"{error} persisted after {self.max_retries} retries") from None
                raise error
            pause = self.backoff * 2**attempt
            if self._clock() - t0 + pause >= self.deadline:
                raise type(error)(f"{error} (gave up: the {self.deadline:g} s deadline would pass while waiting)")
            self._sleep(pause)
            attempt += 1

    # -- cache-aware access -----------------------------------------------------------------------
    def _update(self, ticker: str, start: pd.Timestamp | None, end: pd.Timestamp | None, strict: bool
                ) -> tuple[pd.DataFrame, dict, dict]:
        """Make the cache cover ``[start, end]`` as far as possible; return (raw bars, meta, source flags)."""
        today = pd.Timestamp(self._today())
        with self.cache.lock(ticker):
            corrupt: CorruptCacheError | None = None
            try:
                cached = self.cache.read(ticker)
            except CorruptCacheError as exc:
                corrupt, cached = exc, None
            frame, meta = cached if cached is not None else (None, {})
            cov = None
            if frame is not None:
                cov = covered_range(meta, frame) or (frame.index.min(), frame.index.max())
            start = start if start is not None else (cov[0] if cov else pd.Timestamp(self.start))
            end = end if end is not None else today
            want_end = min(end, today - Day)       # today's bar is still forming: never stored
            if self.offline:
                if corrupt:
                    raise corrupt
                if frame is None:
                    raise OfflineCacheMissError(f"{ticker}: not in the cache {self.cache.dir} (offline mode; run "
                                                f"`eventstudy fetch {ticker}` with network first)")
                flags = {}
                if not (cov[0] <= start and want_end <= cov[1]):
                    flags = self._stale(frame, cov, f"offline: the cache covers {_d(cov[0])}..{_d(cov[1])}, "
                                                    f"asked {_d(start)}..{_d(end)}")
                return frame, meta, flags
            plan = self._plan(cov, start, want_end)
            if plan is None:
                if corrupt is not None:
                    raise corrupt
                if frame is None:
                    raise TickerNotFoundError(f"{ticker}: nothing to fetch for {_d(start)}..{_d(end)} (before today) "
                                              "and nothing cached")
                return frame, meta, {}
            try:
                return self._refresh(ticker, frame, meta, cov, *plan)
            except (SourceFailureError, TickerNotFoundError) as exc:
                if corrupt is not None:
                    raise CorruptCacheError(f"{corrupt} and refetching failed: {exc}", path=corrupt.path) from None
                usable = frame is not None and _usable(frame.loc[start:end]).any()
                if strict or not usable:
                    raise
                return frame, meta, self._stale(frame, cov, f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _stale(frame: pd.DataFrame, cov, reason: str) -> dict:
        have = frame.index[_usable(frame).to_numpy()]
        return {"stale_cache": _d(have.max()) if len(have) else "none", "stale_reason": reason,
                "cache_covers": f"{_d(cov[0])}..{_d(cov[1])}"}

    @staticmethod
    def _plan(cov, start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, bool] | None:
        """What to fetch: ``(first, last, replaces_all)`` or ``None`` when the cache covers the range."""
        if end < start:
            return None
        if cov is None:
            return start, end, True
        cs, ce = cov
        head, tail = start < cs, end > ce
        if head and tail:
            return start, end, True
        if head:
            return start, min(ce, cs + REFRESH_OVERLAP_DAYS * Day), False
        if tail:
            return max(cs, ce - REFRESH_OVERLAP_DAYS * Day), end, False
        return None

    def _refresh(self, ticker: str, frame, meta: dict, cov, first: pd.Timestamp, last: pd.Timestamp,
                 replaces_all: bool) -> tuple[pd.DataFrame, dict, dict]:
        fresh = self.download(ticker, first, last)
        has_bars = frame is not None and _usable(frame).any()
        if not _usable(fresh).any():
            if has_bars and _usable(frame.loc[first:last]).any():
                raise ServerError(f"{ticker}: Yahoo returned no bars for {_d(first)}..{_d(last)} although the cache "
                                  "holds bars there; cache kept")
            if not has_bars:
                raise TickerNotFoundError(f"{ticker}: Yahoo returned no bars for {_d(first)}..{_d(last)}")
        note = None
        if replaces_all or frame is None:
            bars, lo, hi = fresh, first, last
            if frame is not None:
                note = basis_changed(frame, fresh, cov[1])
        else:
            lo, hi = min(cov[0], first), max(cov[1], last)
            note = basis_changed(frame, fresh, cov[1])
            common = frame.index[_usable(frame).to_numpy()].intersection(fresh.index[_usable(fresh).to_numpy()])
            if note is None and has_bars and _usable(fresh).any() and common.empty:
                note = "no common bar to compare adjustment bases on"
            if note is None:
                bars = merge_bars(frame, fresh)
            else:  # another basis (or unverifiable): fetch the whole range again, never mix bases
                bars = self.download(ticker, lo, hi)
                if not _usable(bars).any():
                    raise ServerError(f"{ticker}: Yahoo returned no bars when refetching {_d(lo)}..{_d(hi)} "
                                      f"after a basis change ({note}); cache kept")
        new_meta = {"ticker": ticker, "covered_start": _d(lo), "covered_end": _d(hi),
                    "fetched_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "first": _d(bars.index.min()) if len(bars) else None,
                    "last": _d(bars.index.max()) if len(bars) else None, "rows": int(len(bars))}
        if note:
            new_meta["basis_changed"] = note
        self.cache.write(ticker, bars, new_meta)
        return bars, new_meta, {}

    def fetch(self, ticker: str, start: str | None = None, end: str | None = None) -> pd.DataFrame:
        """Make the cache cover ``[start, end)`` (``end`` exclusive, default today) and return those raw bars.

        Unlike :meth:`bars`, a failure raises even when cached bars exist.
        """
        ticker = ticker.upper()
        s = pd.Timestamp(start or self.start)
        e = pd.Timestamp(end) - Day if end else None
        raw, meta, _ = self._update(ticker, s, e, strict=True)
        self._served[ticker] = meta
        return raw.loc[s:e] if e is not None else raw.loc[s:]

    def bars(self, ticker: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Bars of ``ticker`` with ``start <= date <= end`` (see the module docstring for cache and failures)."""
        ticker = ticker.upper()
        s = pd.Timestamp(start) if start is not None else None
        e = pd.Timestamp(end) if end is not None else None
        raw, meta, flags = self._update(ticker, s, e, strict=False)
        self._served[ticker] = {**meta, **flags}
        out = select_range(normalize_bars(raw), s, e)
        if flags:
            out.attrs["source_flags"] = flags
        return out

    def describe(self) -> dict:
        return {"source": self.name, "cache": str(self.cache.dir), "tickers": dict(sorted(self._served.items()))}


__all__ = ["YahooSource", "classify_response", "parse_chart", "basis_changed", "merge_bars"]
