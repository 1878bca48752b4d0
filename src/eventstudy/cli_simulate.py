"""``eventstudy simulate``: size and power of every test on the user's own prices (a thin shell
around :func:`eventstudy.simulate.simulate`). Registered on the main app by :func:`register`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import EventStudyError
from .cli import Benchmark, Estimation, Factors, MinObs, Model, Prices, Quiet, Returns, Windows, _err, _fail

EPILOG = ("Example: `eventstudy simulate --prices bundled:universe -b FF-MKT --events 100 --reps 200 --seed 1 "
          "--out results/sim`\n\n"
          "Example: `eventstudy simulate -p bundled:universe -b FF-MKT --abnormal 0,0.005,0.01,0.02 "
          "--variance-multiplier 1,2 --cluster-dates 0,1 --window 0:0 --reps 100`")


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"{name} {text!r}: need comma-separated numbers, e.g. 0,0.01") from None


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace("none", "0").split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"{name} {text!r}: need comma-separated whole numbers, e.g. 0,1,5") from None


def simulate_command(
    prices: Prices = "bundled:universe",
    benchmark: Benchmark = "FF-MKT",
    model: Model = "market",
    estimation: Estimation = "-250:-11",
    window: Windows = None,
    returns: Returns = "simple",
    min_obs: MinObs = 120,
    factors: Factors = None,
    events: Annotated[int, typer.Option("--events", "-n", help="Pseudo-events per replication.",
                                        rich_help_panel="Simulation")] = 100,
    reps: Annotated[int, typer.Option("--reps", "-r", help="Replications per scenario.",
                                      rich_help_panel="Simulation")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed (pseudo-events and variance noise).",
                                      rich_help_panel="Simulation")] = 0,
    abnormal: Annotated[str, typer.Option(help="Abnormal returns injected, comma-separated (0 = size): "
                                          "e.g. 0,0.005,0.01,0.02.", rich_help_panel="Simulation")] = "0,0.01",
    inject_window: Annotated[str, typer.Option(help="Relative days A:B over which the abnormal return is split "
                                               "evenly (A/L per day, compounded).",
                                               rich_help_panel="Simulation")] = "0:0",
    variance_multiplier: Annotated[str, typer.Option(help="Event-window abnormal-return variance factors m >= 1, "
                                                     "comma-separated: adds N(0,(m-1)sigma_i^2) per inject-window "
                                                     "day, sigma_i from the estimation window.",
                                                     rich_help_panel="Simulation")] = "1",
    cluster_dates: Annotated[str, typer.Option(help="Date clustering, comma-separated: 0 (none: independent "
                                               "dates), 1 (every event of a replication on one date) or k dates.",
                                               rich_help_panel="Simulation")] = "0",
    tickers: Annotated[Optional[str], typer.Option(help="Universe: comma-separated tickers (default: every ticker "
                                                   "of the price source except the benchmark).",
                                                   rich_help_panel="Simulation")] = None,
    from_events: Annotated[Optional[Path], typer.Option(help="Draw from your own events file: its tickers and its "
                                                        "event dates, reshuffled.",
                                                        rich_help_panel="Simulation")] = None,
    workers: Annotated[int, typer.Option(help="Processes running the study chunks (results do not depend on it).",
                                         rich_help_panel="Simulation")] = 1,
    level: Annotated[float, typer.Option(help="Level shown in the console table (all of 0.01, 0.05, 0.10 are in "
                                         "simulate.csv).", rich_help_panel="Output")] = 0.05,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.",
                                      rich_help_panel="Output")] = Path("results/simulate"),
    figures: Annotated[bool, typer.Option(help="Write power-curve PNGs into OUT/figures.",
                                          rich_help_panel="Output")] = True,
    quiet: Quiet = False,
) -> None:
    """Size and power of every test on your own data (Brown & Warner 1985): random pseudo-events,
    optional injected abnormal return, variance increase or date clustering, the full study
    pipeline, R replications.

    Writes simulate.csv (rejection rate and Monte-Carlo s.e. per test, window, scenario, level
    and side), replications.csv, pseudo_events.csv, simulate.json and figures/power_*.png into
    --out; prints the rejection table at --level. See docs/simulate.md.
    """
    from .abnormal import parse_window
    from .export import file_sha256
    from .simulate import SimulationSpec, simulate
    from .study import DEFAULT_WINDOWS, StudySpec

    try:
        spec = StudySpec(model=model, benchmark=benchmark, estimation=estimation,
                         windows=tuple(window) if window else DEFAULT_WINDOWS, returns=returns, min_obs=min_obs,
                         name="simulate")
        sim = SimulationSpec(n_events=events, reps=reps, abnormal=_floats(abnormal, "--abnormal"),
                             inject_window=parse_window(inject_window),
                             variance_multiplier=_floats(variance_multiplier, "--variance-multiplier"),
                             cluster_dates=_ints(cluster_dates, "--cluster-dates"))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    show = None if quiet or not sys.stderr.isatty() else (lambda s: _err(f"done: {s}"))
    names = [t.strip().upper() for t in tickers.split(",") if t.strip()] if tickers else None
    try:
        res = simulate(prices, spec, sim, seed=seed, factors=factors, tickers=names, date_pool=from_events,
                       progress=show, workers=workers)
        inputs = {"prices": prices, "from_events": str(from_events) if from_events else None,
                  "from_events_sha256": file_sha256(from_events) if from_events else None}
        res.to_csv(out, inputs=inputs, figures=figures)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except EventStudyError as exc:
        _fail(exc)
    typer.echo(res.summary(level=level))
    if not quiet:
        _err(f"wrote {out}/ (simulate.csv, replications.csv, pseudo_events.csv, simulate.json"
             + (", figures/" if figures else "") + f") in {res.meta['seconds']:.1f} s")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``eventstudy`` app."""
    app.command("simulate", epilog=EPILOG)(simulate_command)
