"""The command line starts light: `--help` loads neither numpy nor pandas, `events validate` none of
scipy, statsmodels, matplotlib or yfinance (issue: instant CLI). Checked on sys.modules in a fresh
interpreter, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "yfinance", "exchange_calendars", "pyarrow")

PROBE = """
import json, sys
from typer.testing import CliRunner
from eventstudy.cli import app
r = CliRunner().invoke(app, {args!r})
print(json.dumps({{"code": r.exit_code, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _loaded(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_loads_no_numerical_library():
    for args in (["--help"], ["run", "--help"], ["longrun", "--help"], ["news", "--help"], ["simulate", "--help"]):
        got = _loaded(args)
        assert got["code"] == 0 and got["loaded"] == [], (args, got)


def test_events_validate_loads_no_statistics_plotting_or_network_library(root):
    got = _loaded(["events", "validate", str(root / "events" / "seed_events.csv")])
    assert got["code"] == 0
    assert not set(got["loaded"]) & {"scipy", "statsmodels", "matplotlib", "yfinance"}, got
