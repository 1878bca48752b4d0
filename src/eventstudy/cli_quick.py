"""``eventstudy quick TICKER DATE``: a one-line study of one news item (registered at the end of cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import Benchmark, Estimation, Model, Out, Prices, Windows, _fail, _usage

QUICK_EPILOG = ("Example: `eventstudy quick IBRX 2026-01-21 --time intraday`\n\n"
                "Example: `eventstudy quick PFE 2025-11-10 -b SPY --window -1:1 --window 0:10`")


def quick(
    ticker: Annotated[str, typer.Argument(help="The stock's ticker (e.g. IBRX).")],
    date: Annotated[str, typer.Argument(help="The news date, YYYY-MM-DD.")],
    time: Annotated[str, typer.Option("--time", "-t", help="When the news came out: pre_market, intraday, "
                                      "after_close or unknown.")] = "unknown",
    prices: Prices = "bundled",
    benchmark: Benchmark = "XBI",
    model: Model = "market",
    estimation: Estimation = "-250:-11",
    window: Windows = None,
    headline: Annotated[str, typer.Option(help="A headline for the chart title.")] = "",
    out: Out = None,
    days: Annotated[str, typer.Option(help="Relative days A:B printed in the day table.")] = "-5:10",
) -> None:
    """Study one news item without an events file: prints AR per day, CARs with their standard errors and
    t, volume ratios, and writes the event's price/volume chart."""
    from .abnormal import parse_window
    from .study import DEFAULT_WINDOWS

    try:
        lo, hi = parse_window(days)
        wins = tuple(window) if window else DEFAULT_WINDOWS
        kw = dict(event_time=time, prices=prices, benchmark=benchmark, model=model, estimation=estimation,
                  windows=wins, headline=headline)
    except ValueError as exc:
        _usage(str(exc), "see `eventstudy quick --help`")
    from ._errors import EventStudyError
    from .quick import event_days, study

    try:
        res = study(ticker, date, **kw)
    except ValueError as exc:
        _usage(str(exc), "see `eventstudy quick --help`")
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    e = res.events.iloc[0]
    if e["status"] != "ok":
        _fail(EventStudyError(f"{e['event_id']} not studied: [{e['status']}] {e['reason']}"),
              hint="rerun when the price source is reachable" if e["status"] == "source_error" else
              "check the ticker, the date and the price source (--prices)")
    out = out or Path("results") / "quick"
    typer.echo(f"{e['ticker']}  news {str(e['event_date'])[:10]} ({e['event_time']})  day 0 {str(e['day0'])[:10]} "
               f"({e['day0_rule']})  model {res.spec.model}" + (f" vs {res.spec.benchmark}" if res.spec.uses_benchmark
                                                                else ""))
    if e["data_flags"]:
        typer.echo(f"data flags: {e['data_flags']}")
    typer.echo("")
    typer.echo(f"{'day':>4} {'date':>10} {'return %':>9} {'normal %':>9} {'AR %':>8} {'CAR %':>8} {'vol x63':>8}")
    for _, r in event_days(res, lo, hi).iterrows():
        def pct(v):
            return f"{100 * v:.2f}" if v == v else "n/a"
        vr = f"{r['vol_ratio_63']:.1f}" if r["vol_ratio_63"] == r["vol_ratio_63"] else "n/a"
        typer.echo(f"{int(r['rel_day']):>4} {str(r['date'])[:10]:>10} {pct(r['ret']):>9} {pct(r['expected']):>9} "
                   f"{pct(r['ar']):>8} {pct(r['car_from_start']):>8} {vr:>8}")
    typer.echo("")
    typer.echo(f"{'window':>7} {'CAR %':>8} {'s.e. %':>7} {'t':>6} {'BHAR %':>8} {'days':>5}")
    for _, c in res.car.iterrows():
        t = c["car"] / c["car_se"] if c["car_se"] > 0 else float("nan")
        typer.echo(f"{c['window']:>7} {100 * c['car']:8.2f} {100 * c['car_se']:7.2f} {t:6.2f} {100 * c['bhar']:8.2f} "
                   f"{int(c['n_days']):>3}/{c['win_end'] - c['win_start'] + 1}")
    typer.echo("(AR and CAR in percent; t = CAR / its standard error from the estimation window)")
    try:
        path = _chart(res, prices, out)
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    typer.echo(f"chart: {path}")


def _chart(res, prices, out: Path) -> Path:
    """Draw the event's price/volume chart into ``out/<event_id>.png`` (atomically)."""
    import io

    from ._io import atomic_write_bytes
    from .plots import plot_event
    from .sources import open_source

    e = res.events.iloc[0]
    src = open_source(prices)
    bars = src.bars(e["ticker"])
    bench = src.bars(res.spec.benchmark) if res.spec.uses_benchmark and res.spec.benchmark != "FF-MKT" else None
    ax = plot_event(bars, bench, e)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    path = out / f"{e['event_id']}.png"
    atomic_write_bytes(path, buf.getvalue())
    return path


def register(app: typer.Typer) -> None:
    """Add ``quick`` to the main app."""
    app.command("quick", epilog=QUICK_EPILOG)(quick)

