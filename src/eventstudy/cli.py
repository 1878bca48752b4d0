"""The ``eventstudy`` command line: a thin shell around :func:`eventstudy.run_study`.

stdout carries data (tables); stderr carries talk (progress, notes, errors).
Exit codes: 0 success (even when some events carry a non-ok status), 1 data or user error,
2 usage error.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import EventStudyError
from .models import MODELS

app = typer.Typer(
    help="Event studies for biotech/pharma news: abnormal returns and volume around events, "
         "per-event and per-event-type statistics, CSV exports.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
events_app = typer.Typer(help="Work with curated event files.", no_args_is_help=True)
app.add_typer(events_app, name="events")


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _fail(exc: Exception) -> None:
    _err(f"error: {exc}")
    raise typer.Exit(1)


# ---- options shared by run and demo (defined once) ------------------------------------------
Prices = Annotated[str, typer.Option(
    "--prices", "-p", help="Price source: `bundled` (default, offline), `bundled:universe`, `yahoo`, "
    "`yahoo-offline` (cache only) or a directory of <TICKER>.csv files.", rich_help_panel="Data")]
Benchmark = Annotated[str, typer.Option(
    "--benchmark", "-b", help="Benchmark ticker for market / market-adjusted models (XBI, IBB, SPY, …) "
    "or FF-MKT for the Fama–French market return.", rich_help_panel="Model")]
Model = Annotated[str, typer.Option(
    "--model", "-m", help=f"Normal-return model: {', '.join(MODELS)}.", rich_help_panel="Model")]
Estimation = Annotated[str, typer.Option(
    "--estimation", "-e", help="Estimation window A:B in trading days relative to day 0.", rich_help_panel="Model")]
Windows = Annotated[Optional[list[str]], typer.Option(
    "--window", "-w", help="Event window A:B (repeatable). Default: -1:1, 0:0, 0:5, -5:20.",
    rich_help_panel="Model")]
Returns = Annotated[str, typer.Option("--returns", help="simple or log returns.", rich_help_panel="Model")]
MinObs = Annotated[int, typer.Option("--min-obs", help="Minimum usable estimation-window returns.",
                                     rich_help_panel="Model")]
Overlap = Annotated[str, typer.Option(
    "--overlap", help="Events of one ticker with overlapping windows in the per-type statistics: "
    "keep (all), drop (none of them), first (the earliest of each cluster).", rich_help_panel="Model")]
GroupBy = Annotated[str, typer.Option(
    "--group-by", help="Statistics per event_type, subtype, or type_subtype (e.g. fda_decision/crl).",
    rich_help_panel="Model")]
Factors = Annotated[Optional[str], typer.Option(
    "--factors", help="Factor data for ff3/carhart/ff5/FF-MKT: `bundled` (default), `cache` (after "
    "`eventstudy factors update`) or a CSV path.", rich_help_panel="Data")]
Out = Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default results/<name>/).",
                                             rich_help_panel="Output")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.",
                                     rich_help_panel="Output")]


def _progress(total: int, quiet: bool):
    """A progress callback on stderr when it is a terminal and there is enough to show."""
    if quiet or total < 5 or not sys.stderr.isatty():
        return None, None
    from rich.progress import Progress

    prog = Progress(transient=True, console=__import__("rich.console").console.Console(stderr=True))
    task = prog.add_task("reading prices", total=total)
    prog.start()
    return (lambda t: prog.update(task, advance=1, description=f"reading {t}")), prog


def _study(events: Path | str, prices: str, benchmark: str, model: str, estimation: str, window: list[str] | None,
           returns: str, min_obs: int, overlap: str, factors: str | None, out: Path | None, name: str,
           quiet: bool, inputs: dict, group_by: str = "event_type") -> None:
    from .study import DEFAULT_WINDOWS, StudySpec, run_study

    try:
        spec = StudySpec(model=model, benchmark=benchmark, estimation=estimation,
                         windows=tuple(window) if window else DEFAULT_WINDOWS, returns=returns,
                         min_obs=min_obs, overlap=overlap, name=name, group_by=group_by)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        from .events import load_events

        table = load_events(events)
        callback, prog = _progress(len(set(table["ticker"]) - {""}), quiet)
        try:
            res = run_study(table, prices, spec, factors=factors, progress=callback)
        finally:
            if prog is not None:
                prog.stop()
        out = out or Path("results") / name
        res.to_csv(out, inputs=inputs)
    except EventStudyError as exc:
        _fail(exc)
    typer.echo(res.summary())
    if not quiet:
        bad = res.events[res.events["status"] != "ok"]
        for _, r in bad.iterrows():
            _err(f"not studied: {r['event_id']} [{r['status']}] {r['reason']}")
        _err(f"wrote {out}/ (events.csv, ar.csv, car.csv, summary.csv, aar.csv, manifest.json)")


@app.command(epilog="Example: `eventstudy run events/seed_events.csv --benchmark XBI --window -1:1 --window 0:5`\n\n"
                    "Example: `eventstudy run events/fda_decisions.csv -p bundled:universe -b FF-MKT "
                    "--estimation -270:-21 --window -20:-1 --window 0:0 --group-by subtype`")
def run(
    events: Annotated[Path, typer.Argument(help="Curated event CSV (see events/README.md for the schema).")],
    prices: Prices = "bundled",
    benchmark: Benchmark = "XBI",
    model: Model = "market",
    estimation: Estimation = "-250:-11",
    window: Windows = None,
    returns: Returns = "simple",
    min_obs: MinObs = 120,
    overlap: Overlap = "keep",
    group_by: GroupBy = "event_type",
    factors: Factors = None,
    out: Out = None,
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the event file's stem).",
                                                rich_help_panel="Output")] = None,
    quiet: Quiet = False,
) -> None:
    """Run an event study: abnormal returns per event, CARs per window, statistics per event type.

    Writes events.csv, ar.csv, car.csv, summary.csv, aar.csv and manifest.json into --out and
    prints the per-type CAAR table.
    """
    from .export import file_sha256

    name = name or events.stem
    _study(events, prices, benchmark, model, estimation, window, returns, min_obs, overlap, factors, out, name,
           quiet, {"events": str(events), "events_sha256": file_sha256(events), "prices": prices}, group_by)


def _seed_events() -> Path:
    local = Path("events") / "seed_events.csv"
    return local if local.is_file() else Path(str(resources.files("eventstudy") / "data" / "events" / "seed_events.csv"))


@app.command(epilog="Example: `eventstudy demo` (writes results/demo/)\n\nExample: `eventstudy demo --out /tmp/demo`")
def demo(
    out: Out = None,
    model: Model = "market",
    benchmark: Benchmark = "XBI",
    quiet: Quiet = False,
) -> None:
    """Run the bundled seed events (Oct 2025 – Jan 2026 biotech news) on the bundled prices, offline."""
    from .export import file_sha256

    ev = _seed_events()
    _study(ev, "bundled", benchmark, model, "-250:-11", None, "simple", 120, "keep", None,
           out or Path("results") / "demo", "demo", quiet,
           {"events": str(ev), "events_sha256": file_sha256(ev), "prices": "bundled"})


@events_app.command("validate", epilog="Example: `eventstudy events validate events/*.csv`")
def events_validate(
    files: Annotated[list[Path], typer.Argument(help="Event CSV files to check.")],
) -> None:
    """Check event files against the schema and taxonomy; exit 1 when any problem is found.

    Each problem names the file, the row (1 = first data row) and the field.
    """
    from .events import read_event_csv, validate_events
    from ._errors import EventFileError

    total = 0
    for f in files:
        try:
            problems = validate_events(read_event_csv(f), str(f))
        except EventFileError as exc:
            problems = exc.problems
        for p in problems:
            typer.echo(str(p))
        total += len(problems)
        _err(f"{f}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    if total:
        raise typer.Exit(1)


@app.command(epilog="Example: `eventstudy fetch IBRX XBI --start 2024-01-01`\n\n"
                    "Then run offline from the cache: `eventstudy run events.csv --prices yahoo-offline`")
def fetch(
    tickers: Annotated[list[str], typer.Argument(help="Tickers to download (e.g. IBRX XBI ^GSPC BRK-B).")],
    start: Annotated[str, typer.Option(help="First date (YYYY-MM-DD).")] = "2000-01-01",
    end: Annotated[Optional[str], typer.Option(help="End date, exclusive (default: today).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Cache root (default $EVENTSTUDY_CACHE or "
                                                           "~/.cache/eventstudy).")] = None,
) -> None:
    """Download daily bars from Yahoo Finance into the local parquet cache (incremental)."""
    from .sources.yahoo import YahooSource

    src = YahooSource(cache_dir=cache_dir)
    failed = 0
    for t in tickers:
        try:
            bars = src.fetch(t, start, end)
            typer.echo(f"{t.upper()}\t{len(bars)} bars\t{bars.index.min().date()}..{bars.index.max().date()}")
        except EventStudyError as exc:
            _err(f"error: {exc}")
            failed += 1
    if failed:
        raise typer.Exit(1)


def _default_event_files() -> list[Path]:
    local = [Path("events") / f for f in ("seed_events.csv", "curated_events_2015_2024.csv", "fda_decisions.csv")]
    found = [f for f in local if f.is_file()]
    return found or [_seed_events()]


@app.command(epilog="Example: `eventstudy scan IBRX --from 2025-12-01 --to 2026-02-28`\n\n"
                    "Example: `eventstudy scan SRPT VYNE --prices bundled:universe --benchmark none`")
def scan(
    tickers: Annotated[list[str], typer.Argument(help="Tickers to scan.")],
    prices: Prices = "bundled",
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="Benchmark for abnormal returns "
                                           "(`none` for raw returns).")] = "XBI",
    date_from: Annotated[Optional[str], typer.Option("--from", help="First date reported (YYYY-MM-DD).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last date reported (YYYY-MM-DD).")] = None,
    events: Annotated[Optional[list[Path]], typer.Option("--events", "-e", help="Curated event files to match "
                      "(repeatable; default: the files in events/).")] = None,
    spike_z: Annotated[float, typer.Option(help="Spike: vol_z at least this.")] = 4.0,
    spike_ratio: Annotated[float, typer.Option(help="Spike: vol_ratio_63 at least this.")] = 3.0,
    spike_rule: Annotated[str, typer.Option(help="any: either threshold makes a spike; all: both.")] = "any",
    runup_window: Annotated[int, typer.Option(help="Rolling window (sessions) for run-ups.")] = 15,
    runup: Annotated[float, typer.Option(help="Run-up: rolling CAR at least this (0.5 = +50 %).")] = 0.5,
    runup_vol: Annotated[float, typer.Option(help="Run-up: mean vol_ratio_63 over the window at least this.")] = 2.0,
    match: Annotated[int, typer.Option(help="Match events within ± this many sessions.")] = 3,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV written here.")] = Path("results/scan/scan.csv"),
) -> None:
    """Find volume spikes and run-up / squeeze episodes, with or without news, and match curated events."""
    import pandas as pd

    from ._io import write_csv
    from .events import load_events
    from .scan import ScanParams, scan as run_scan

    try:
        params = ScanParams(spike_z=spike_z, spike_ratio=spike_ratio, spike_rule=spike_rule,
                            runup_window=runup_window, runup_threshold=runup, runup_min_vol_ratio=runup_vol,
                            match_sessions=match)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        files = events or _default_event_files()
        ev = pd.concat([load_events(f) for f in files], ignore_index=True).drop_duplicates("event_id")
        res = run_scan(tickers, prices, ev, None if benchmark.lower() == "none" else benchmark, params,
                       date_from, date_to)
        write_csv(res, out)
    except EventStudyError as exc:
        _fail(exc)
    if res.empty:
        typer.echo("no spikes or episodes found")
    for _, r in res.iterrows():
        d = lambda v: pd.Timestamp(v).date() if pd.notna(v) else ""  # noqa: E731
        if r["kind"] == "spike":
            typer.echo(f"{r['ticker']:<6} spike    {d(r['date'])}  ret {100 * r['ret']:+6.1f}%  vol x{r['vol_ratio_63']:.1f}"
                       f" z {r['vol_z']:.1f}  news: {r['event_ids'] or '-'}")
        elif r["kind"] == "episode":
            typer.echo(f"{r['ticker']:<6} episode  {d(r['date'])} -> peak {d(r['peak_date'])} -> end {d(r['end_date'])}"
                       f"  CAR {100 * r['car']:+.0f}%  drawdown {100 * r['max_drawdown']:.0f}%  peak vol x"
                       f"{r['vol_ratio_63']:.1f}  news: {r['event_ids'] or '-'}")
        else:
            typer.echo(f"{r['ticker']:<6} {r['kind']}: {r['reason']}")
    _err(f"wrote {out}")


@app.command(epilog="Example: `eventstudy plot results/demo` (writes results/demo/figures/*.png)")
def plot(
    results_dir: Annotated[Path, typer.Argument(help="A folder written by `eventstudy run` or `demo`.")],
    prices: Annotated[Optional[str], typer.Option("--prices", "-p", help="Price source for the per-event charts "
                                                  "(default: the one in manifest.json).")] = None,
    max_events: Annotated[int, typer.Option(help="At most this many per-event charts.")] = 40,
) -> None:
    """(Re)draw the study's figures from its saved CSVs: CAAR paths with 95 % bands, CAR distributions,
    abnormal volume by day, and one price/volume chart per event.

    The results are checked against manifest.json first; figures/ is replaced as a whole, so
    figures of earlier runs do not survive."""
    import json

    from .plots import draw_all

    try:
        paths = draw_all(results_dir, prices, max_events)
        notes = json.loads((results_dir / "figures" / "figures.json").read_text(encoding="utf-8"))["notes"]
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    for n in notes:
        _err(f"note: {n}")
    typer.echo(f"wrote {len(paths)} figures in {results_dir / 'figures'}")


@app.command(epilog="Example: `eventstudy report results/demo` (writes results/demo/report.html)")
def report(
    results_dir: Annotated[Path, typer.Argument(help="A folder written by `eventstudy run` or `demo`.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file (default RESULTS_DIR/report.html).")] = None,
) -> None:
    """Write one self-contained HTML report (tables, embedded figures, settings, provenance,
    and the events that could not be studied with their reasons). Opens offline.

    The results are checked against manifest.json first; only figures drawn from this run are embedded."""
    from .report import write_report

    try:
        path = write_report(results_dir, out, on_note=lambda m: _err(f"note: {m}"))
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    typer.echo(str(path))


factors_app = typer.Typer(help="Fama–French factor data.", no_args_is_help=True)
app.add_typer(factors_app, name="factors")


@factors_app.command("update", epilog="Example: `eventstudy factors update` then `eventstudy run events.csv "
                                      "--model ff3 --factors cache`")
def factors_update() -> None:
    """Download the current daily FF3, FF5 and momentum files from Ken French's data library (needs network)."""
    from .factors import download_french_factors

    try:
        path = download_french_factors()
    except Exception as exc:  # network errors from requests
        _fail(EventStudyError(f"cannot download factors: {type(exc).__name__}: {exc}"))
    typer.echo(str(path))


@factors_app.command("show", epilog="Example: `eventstudy factors show --factors bundled`")
def factors_show(factors: Factors = None) -> None:
    """Print the coverage (first and last date, columns) of the factor data that a study would use."""
    from .factors import load_factors

    try:
        f = load_factors(factors)
    except (OSError, EventStudyError) as exc:
        _fail(exc)
    typer.echo(f"{f.index.min().date()} .. {f.index.max().date()}  {len(f)} days  columns: {', '.join(f.columns)}")

