"""HTTP sessions that replay Yahoo answers offline, for injecting into ``YahooSource``.

They serve the v8 chart JSON fixture (cut to the requested ``period1``/``period2``, events
included), the cookie and crumb endpoints, Yahoo's 404 answer for unknown symbols, and
scripted faults: 429, 5xx, 401/403, a hanging connection (waits the request's timeout, capped
at 1 s, then times out), a dead network. Every request is logged in ``calls``.

``ReplaySession`` is a ``requests.Session``; ``CurlReplaySession`` is a ``curl_cffi`` Session
answering the same way with curl_cffi's own response and exception classes.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

FIXTURES = Path(__file__).parent / "fixtures" / "yahoo"
NOT_FOUND = {"chart": {"result": None, "error": {"code": "Not Found",
                                                 "description": "No data found, symbol may be delisted"}}}
UNAUTHORIZED = {"finance": {"result": None, "error": {"code": "Unauthorized", "description": "Invalid Crumb"}}}
BODIES = {
    401: json.dumps(UNAUTHORIZED),
    403: "<html><body>Forbidden</body></html>",
    404: json.dumps(NOT_FOUND),
    429: "Too Many Requests",
    500: json.dumps({"chart": {"result": None, "error": {"code": "Internal Server Error",
                                                         "description": "Unexpected error"}}}),
    502: "<html><body>Bad Gateway</body></html>",
    503: "<html><body>Will be right back...</body></html>",
}
HANG_CAP = 1.0


class Replay:
    """The answering logic shared by both session types."""

    def _setup(self, charts):
        self.charts = charts if charts is not None else {"IBRX": load_chart("IBRX")}
        self.rate_limit = 0       # answer 429 to the next N chart requests
        self.offline = False      # fail every request with a connection error
        self.script: list = []    # answers to the next chart requests: an HTTP status, "hang" or "offline"
        self.require_crumb = False  # chart requests without ?crumb= get 401
        self.delay = 0.0          # seconds to wait before answering a chart request (concurrency tests)
        self.raw: dict[str, str] = {}   # symbol → chart body served verbatim (malformed answers)
        self.calls: list[tuple[str, dict]] = []

    def chart_calls(self, symbol: str | None = None) -> list[dict]:
        return [q for path, q in self.calls if "/v8/finance/chart/" in path
                and (symbol is None or path.endswith("/" + symbol)) and "period1" in q]

    def _route(self, url: str, timeout) -> tuple[int, str, dict]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.calls.append((parts.path, query))
        if self.offline:
            self._fail("offline", timeout)
        if parts.hostname == "fc.yahoo.com":
            return 404, "", {"Set-Cookie": "A3=d=replay; Domain=.yahoo.com; Path=/"}
        if parts.path.endswith("/v1/test/getcrumb"):
            return 200, "replayCrumb123", {}
        if "/v8/finance/chart/" in parts.path:
            symbol = parts.path.rsplit("/", 1)[1]
            if self.delay:
                time.sleep(self.delay)
            if self.script:
                what = self.script.pop(0)
                if isinstance(what, str):
                    self._fail(what, timeout)
                if what != 200:
                    return what, BODIES.get(what, f"HTTP {what}"), {}
            if self.rate_limit > 0:
                self.rate_limit -= 1
                return 429, BODIES[429], {}
            if self.require_crumb and query.get("crumb") != "replayCrumb123":
                return 401, BODIES[401], {}
            if symbol in self.raw:
                return 200, self.raw[symbol], {}
            if symbol not in self.charts:
                return 404, BODIES[404], {}
            return 200, json.dumps(cut(self.charts[symbol], query)), {}
        return 404, json.dumps({"finance": {"result": None, "error": {"code": "Not Found"}}}), {}

    def _fail(self, what: str, timeout) -> None:
        raise NotImplementedError


class _Adapter(BaseAdapter):
    def __init__(self, owner: "ReplaySession"):
        super().__init__()
        self.owner = owner

    def send(self, request, timeout=None, **kwargs):
        status, body, headers = self.owner._route(request.url, timeout)
        r = requests.Response()
        r.status_code = status
        r._content = body.encode()
        r.url = request.url
        r.request = request
        r.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
        r.encoding = "utf-8"
        return r

    def close(self):
        pass


class ReplaySession(Replay, requests.Session):
    """A ``requests.Session`` serving Yahoo-shaped answers; tweak ``charts``, ``script``… per test."""

    def __init__(self, charts: dict[str, dict] | None = None):
        requests.Session.__init__(self)
        self._setup(charts)
        self.mount("https://", _Adapter(self))

    def _fail(self, what, timeout):
        if what == "hang":
            time.sleep(min(float(timeout or HANG_CAP), HANG_CAP))
            raise requests.ReadTimeout(f"HTTPSConnectionPool: Read timed out. (read timeout={timeout})")
        raise requests.ConnectionError("Failed to resolve 'query2.finance.yahoo.com' (offline)")


def _curl_classes():
    from curl_cffi import requests as cr
    from curl_cffi.requests import exceptions as ce

    return cr, ce


def curl_replay_session(charts: dict[str, dict] | None = None):
    """A ``curl_cffi.requests.Session`` answering like :class:`ReplaySession` (curl_cffi's classes)."""
    cr, ce = _curl_classes()

    class CurlReplaySession(Replay, cr.Session):
        def __init__(self):
            cr.Session.__init__(self)
            self._setup(charts)

        def request(self, method, url, params=None, timeout=None, **kwargs):
            full = url + ("?" + urlencode(params) if params else "")
            status, body, headers = self._route(full, timeout)
            r = cr.Response()
            r.status_code = status
            r.content = body.encode()
            r.url = full
            r.headers = cr.Headers({"Content-Type": "application/json", **headers})
            return r

        def _fail(self, what, timeout):
            if what == "hang":
                time.sleep(min(float(timeout or HANG_CAP), HANG_CAP))
                raise ce.Timeout(f"Failed to perform, curl: (28) Operation timed out after {timeout} s")
            raise ce.DNSError("Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com")

    return CurlReplaySession()


def load_chart(symbol: str) -> dict:
    return json.loads((FIXTURES / f"{symbol}_chart_v8.json").read_text())


def cut(chart: dict, query: dict) -> dict:
    """The chart restricted to ``[period1, period2)`` (or the last bar for ``range=1d``), events too."""
    doc = copy.deepcopy(chart)
    res = doc["chart"]["result"][0]
    ts = res["timestamp"]
    if "period1" in query:
        lo, hi = int(query["period1"]), int(query["period2"])
    else:
        lo, hi = ts[-1], ts[-1] + 1
    keep = [i for i, t in enumerate(ts) if lo <= t < hi]
    res["timestamp"] = [ts[i] for i in keep]
    q = res["indicators"]["quote"][0]
    for k in q:
        q[k] = [q[k][i] for i in keep]
    adj = res["indicators"]["adjclose"][0]
    adj["adjclose"] = [adj["adjclose"][i] for i in keep]
    for kind, block in list((res.get("events") or {}).items()):
        res["events"][kind] = {k: v for k, v in block.items() if lo <= int(v["date"]) < hi}
    if not keep:   # Yahoo leaves the arrays out when the range holds no bar
        res.pop("timestamp")
        res["indicators"] = {"quote": [{}], "adjclose": [{}]}
    return doc
