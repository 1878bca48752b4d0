"""A ``requests.Session`` that replays Yahoo answers offline, for injecting into yfinance.

It serves the v8 chart JSON fixture (cut to the requested ``period1``/``period2``), the
cookie and crumb endpoints, Yahoo's 404 answer for unknown symbols, 429 rate limits, and
can simulate a dead network. Every request is logged in ``calls``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

FIXTURES = Path(__file__).parent / "fixtures" / "yahoo"
NOT_FOUND = {"chart": {"result": None, "error": {"code": "Not Found",
                                                 "description": "No data found, symbol may be delisted"}}}


class _Adapter(BaseAdapter):
    def __init__(self, owner: "ReplaySession"):
        super().__init__()
        self.owner = owner

    def send(self, request, **kwargs):
        return self.owner._answer(request)

    def close(self):
        pass


class ReplaySession(requests.Session):
    """Serve Yahoo-shaped answers; tweak ``charts``, ``rate_limit`` or ``offline`` per test."""

    def __init__(self, charts: dict[str, dict] | None = None):
        super().__init__()
        self.charts = charts if charts is not None else {"IBRX": load_chart("IBRX")}
        self.rate_limit = 0       # answer 429 to the next N chart requests
        self.offline = False      # raise ConnectionError on every request
        self.calls: list[tuple[str, dict]] = []
        self.mount("https://", _Adapter(self))

    def chart_calls(self, symbol: str | None = None) -> list[dict]:
        return [q for path, q in self.calls if "/v8/finance/chart/" in path
                and (symbol is None or path.endswith("/" + symbol)) and "period1" in q]

    def _answer(self, req) -> requests.Response:
        url = urlsplit(req.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.calls.append((url.path, query))
        if self.offline:
            raise requests.ConnectionError("Failed to resolve 'query2.finance.yahoo.com' (offline)")
        if url.hostname == "fc.yahoo.com":
            return _response(req, 404, "", headers={"Set-Cookie": "A3=d=replay; Domain=.yahoo.com; Path=/"})
        if url.path.endswith("/v1/test/getcrumb"):
            return _response(req, 200, "replayCrumb123")
        if "/v8/finance/chart/" in url.path:
            symbol = url.path.rsplit("/", 1)[1]
            if self.rate_limit > 0:
                self.rate_limit -= 1
                return _response(req, 429, "Too Many Requests")
            if symbol not in self.charts:
                return _response(req, 404, json.dumps(NOT_FOUND))
            return _response(req, 200, json.dumps(cut(self.charts[symbol], query)))
        return _response(req, 404, json.dumps({"finance": {"result": None, "error": {"code": "Not Found"}}}))


def load_chart(symbol: str) -> dict:
    return json.loads((FIXTURES / f"{symbol}_chart_v8.json").read_text())


def cut(chart: dict, query: dict) -> dict:
    """The chart restricted to ``[period1, period2)`` (or the last bar for ``range=1d``)."""
    doc = copy.deepcopy(chart)
    res = doc["chart"]["result"][0]
    ts = res["timestamp"]
    if "period1" in query:
        lo, hi = int(query["period1"]), int(query["period2"])
        keep = [i for i, t in enumerate(ts) if lo <= t < hi]
    else:
        keep = [len(ts) - 1]
    res["timestamp"] = [ts[i] for i in keep]
    q = res["indicators"]["quote"][0]
    for k in q:
        q[k] = [q[k][i] for i in keep]
    adj = res["indicators"]["adjclose"][0]
    adj["adjclose"] = [adj["adjclose"][i] for i in keep]
    return doc


def _response(req, status: int, body: str, headers: dict | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body.encode()
    r.url = req.url
    r.request = req
    r.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
    r.encoding = "utf-8"
    return r
