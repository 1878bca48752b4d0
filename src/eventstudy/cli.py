"""The ``eventstudy`` command line: a thin shell around :func:`eventstudy.run_study`.

stdout carries data (tables); stderr carries talk (progress, notes, errors).
Exit codes: 0 success (even when some events carry a non-ok status), 1 data or user error,
2 usage error.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

from ._errors import EventStudyError
from ._names import MODELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

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


def _hint_for(exc: Exception) -> str:
    from ._errors import EventFileError, PriceFileError, PriceSourceError

    if isinstance(exc, EventFileError):
        return "check it with `eventstudy events validate FILE`; the schema is in events/README.md"
    if isinstance(exc, PriceFileError):
        return ("fix the file named above (a price file needs date and close or adj_close; a factor file "
                "date and the factor columns)")
    if isinstance(exc, PriceSourceError):
        return "see --prices and --benchmark in `eventstudy COMMAND --help`"
    return "see `eventstudy COMMAND --help`"


def _fail(exc: Exception, code: int = 1, hint: str | None = None) -> NoReturn:
    """Print an error as one ``error:`` line (an input file's problems listed below it) and a hint; exit."""
    from ._errors import InputFileError

    if isinstance(exc, OSError):
        message, os_hint = _os_error_text(exc)
        exc, hint = EventStudyError(message), hint or os_hint
    if isinstance(exc, InputFileError) and len(exc.problems) == 1:
        _err(f"error: {exc.problems[0]}")
    elif isinstance(exc, InputFileError):
        files = sorted({p.file for p in exc.problems})
        _err(f"error: {len(exc.problems)} problems in {', '.join(files)}:")
        for p in exc.problems[:20]:
            _err(f"  - {p}")
        if len(exc.problems) > 20:
            _err(f"  … and {len(exc.problems) - 20} more")
    else:
        _err(f"error: {' '.join(str(exc).split())}")
    _err(f"hint: {hint or _hint_for(exc)}")
    raise typer.Exit(code)


def _usage(message: str, hint: str) -> NoReturn:
    """A usage error (a bad option value): one line, a hint, exit code 2."""
    _fail(EventStudyError(message), code=2, hint=hint)


def _os_error_text(exc: OSError) -> tuple[str, str]:
    """One-line message and hint for an operating-system error (disk full, permissions, …)."""
    import errno

    what = " → ".join(str(f) for f in (exc.filename, exc.filename2) if f) or "a file"
    reason = exc.strerror or str(exc)
    hints = {
        errno.ENOSPC: "the disk is full: free some space or write elsewhere with --out",
        errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere with --out",
        errno.EACCES: "check the permissions, or choose another folder with --out",
        errno.EPERM: "check the permissions, or choose another folder with --out",
        errno.EROFS: "the file system is read-only: choose another folder with --out",
        errno.ENOTDIR: "a path component is a file where a folder is needed",
        errno.EISDIR: "a folder is where a file is needed",
        errno.ENOENT: "check the path",
    }
    return f"{what}: {reason}", hints.get(exc.errno, "check the path, the disk and the permissions")


def _check_out_dir(out: Path) -> None:
    """Refuse an ``--out`` folder that cannot be created or written before any work is done (exit 2)."""
    import os

    if out.exists() and not out.is_dir():
        _usage(f"--out {out} is a file, not a folder", "give a folder for the results (it is created if needed)")
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        _usage(f"--out {out}: {probe} is a file, not a folder", "give a folder path whose parents are folders")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        _usage(f"--out {out}: {probe} is not writable", "choose a folder you can write to")


def _date_option(value: str | None, option: str) -> "pd.Timestamp | None":
    """Parse a YYYY-MM-DD option value (exit 2 with the option named when it is not a date)."""
    if value is None:
        return None
    import pandas as pd

    from .events import DATE_MAX, DATE_MIN

    try:
        ts = pd.to_datetime(value.strip(), format="%Y-%m-%d")
    except (ValueError, OverflowError):
        _usage(f"{option} {value!r} is not a date", "write dates as YYYY-MM-DD, e.g. 2026-01-21")
    if not DATE_MIN <= ts <= DATE_MAX:
        _usage(f"{option} {value} is outside the supported dates {DATE_MIN.date()} … {DATE_MAX.date()}",
               "write a date in that range as YYYY-MM-DD")
    return pd.Timestamp(ts)


# ---- options shared by run and demo (defined once) ------------------------------------------
Prices = Annotated[str, typer.Option(
    "--prices", "-p", help="Price source: `bundled` (default, offline), `bundled:universe`, `yahoo`, "
    "`yahoo-offline` (cache only), `store:PATH` (a price store built by `eventstudy store build`) or a "
    "directory of <TICKER>.csv files.", rich_help_panel="Data")]
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
    "--group-by", help="Statistics per event_type, subtype, type_subtype (e.g. fda_decision/crl), or any "
    "column(s) of the events file, comma-separated (e.g. `phase` or `event_type,phase`).",
    rich_help_panel="Model")]
Factors = Annotated[Optional[str], typer.Option(
    "--factors", help="Factor data for ff3/carhart/ff5/FF-MKT: `bundled` (default), `cache` (after "
    "`eventstudy factors update`) or a CSV path.", rich_help_panel="Data")]
Out = Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default results/<name>/).",
                                             rich_help_panel="Output")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.",
                                     rich_help_panel="Output")]
AllowSourceErrors = Annotated[bool, typer.Option(
    "--allow-source-errors", help="Study the other events and exit 0 when the price source failed for some "
    "tickers (network, rate limit, server error, corrupt cache). Default: exit 1, results marked incomplete.",
    rich_help_panel="Data")]
ExcludeFlags = Annotated[Optional[str], typer.Option(
    "--exclude-flags", help="Comma-separated data flags that take an event out of the statistics, e.g. "
    "`price_jump,basis_change` (est:/evt: prefix for one part only; incomplete_window, stale_cache too).",
    rich_help_panel="Statistics")]
RequireComplete = Annotated[bool, typer.Option(
    "--require-complete", help="Only events whose every window is complete enter the statistics.",
    rich_help_panel="Statistics")]
Duplicates = Annotated[str, typer.Option(
    "--duplicates", help="Exact duplicates (same ticker, day 0, type and subtype): `once` (default) or `keep`.",
    rich_help_panel="Statistics")]
FactorUnits = Annotated[str, typer.Option(
    "--factor-units", help="Units of a factor CSV: `auto` (detected from the magnitudes of Mkt-RF and RF; "
    "refused when ambiguous), `percent` (Ken French files) or `decimal`.", rich_help_panel="Data")]
TaxonomyOpt = Annotated[Optional[Path], typer.Option(
    "--taxonomy", help="Your own event types: a CSV of event_type,subtype rows or a TOML [taxonomy] table, added "
    "to the built-in biotech types (TOML `mode = \"replace\"` replaces them). Default: the [taxonomy] table of "
    "./eventstudy.toml if there is one.", rich_help_panel="Data")]
ShowEvents = Annotated[bool, typer.Option(
    "--show-events", help="Also print each studied event's CARs (percent).", rich_help_panel="Output")]
Excel = Annotated[bool, typer.Option(
    "--excel", help="Also write results.xlsx: a sheet per table, frozen headers, returns shown as percent.",
    rich_help_panel="Output")]
Format = Annotated[str, typer.Option(
    "--format", help="Results tables as `csv` (default: Excel-safe text) or `parquet` (typed columns, compressed, "
    "several times faster to write and smaller: for large studies).", rich_help_panel="Output")]
Rename = Annotated[Optional[list[str]], typer.Option(
    "--rename", help="Ticker renames OLD=NEW (repeatable) or a file of OLD,NEW lines, for tickers that changed "
    "symbol: NEW's prices serve events filed under OLD.", rich_help_panel="Data")]
AllowEstOverlap = Annotated[bool, typer.Option(
    "--allow-estimation-overlap", help="Allow event windows that overlap the estimation window.",
    rich_help_panel="Model")]


def _progress(total: int, quiet: bool):
    """A progress callback on stderr when it is a terminal and there is enough to show."""
    if quiet or total < 5 or not sys.stderr.isatty():
        return None, None
    from rich.progress import Progress

    prog = Progress(transient=True, console=__import__("rich.console").console.Console(stderr=True))
    task = prog.add_task("reading prices", total=total)
    prog.start()
    return (lambda t: prog.update(task, advance=1, description=f"reading {t}")), prog


class _SlowStepProgress:
    """``progress(done, total)`` for a step that may be slow: a rich bar on stderr once it has run
    ``after`` seconds when stderr is a terminal; otherwise one summary line at :meth:`close` when it
    took that long."""

    def __init__(self, what: str, after: float = 2.0):
        import time

        self.what, self.after, self.t0, self.bar, self.done = what, after, time.perf_counter(), None, 0

    def __call__(self, done: int, total: int) -> None:
        import time

        self.done = done
        if self.bar is None and sys.stderr.isatty() and time.perf_counter() - self.t0 > self.after:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=Console(stderr=True))
            self.task = self.bar.add_task(self.what, total=total)
            self.bar.start()
        if self.bar is not None:
            self.bar.update(self.task, completed=done)

    def close(self, summary: str = "") -> None:
        import time

        took = time.perf_counter() - self.t0
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        elif summary and took > self.after and not sys.stderr.isatty():
            _err(f"{summary} in {took:.1f} s")


def _taxonomy(path: Path | None):
    """The taxonomy of ``--taxonomy FILE``, else of ./eventstudy.toml, else None (the built-in one)."""
    from .events import load_taxonomy, project_taxonomy

    try:
        if path is not None:
            return load_taxonomy(path)
        tax, cfg = project_taxonomy(".")
    except EventStudyError as exc:
        _fail(exc)
    if cfg:
        _err(f"note: event types from {cfg}")
    return tax


def _study(events: Path | str, prices: str, spec_kwargs: dict, *, factors: str | None = None,
           factor_units: str = "auto", out: Path | None = None, quiet: bool = False, inputs: dict | None = None,
           allow_source_errors: bool = False, excel: bool = False, taxonomy: dict | None = None,
           show_events: bool = False, fmt: str = "csv", scale: dict | None = None) -> None:
    """Build the spec, run the study (in chunks or on a cluster with ``scale``), write the folder (tables in
    ``fmt``: csv or parquet), print the summary; exit 1 when a source failed."""
    from .engine import keep_freed_memory
    from .study import DEFAULT_WINDOWS, StudySpec, run_study

    keep_freed_memory()      # this command's own process: freed arrays' memory is reused (only the speed changes)
    kwargs = {k: v for k, v in spec_kwargs.items() if v is not None}
    kwargs["windows"] = tuple(kwargs.get("windows") or DEFAULT_WINDOWS)
    try:
        spec = StudySpec(**kwargs)
    except (ValueError, EventStudyError) as exc:
        _usage(str(exc), "see `eventstudy run --help` for the option formats")
    out = out or Path("results") / spec.name
    _check_out_dir(out)
    try:
        from .events import load_events

        table = load_events(events, taxonomy)
        scale = {k: v for k, v in (scale or {}).items() if v is not None}
        if scale:
            callback, prog = (None if quiet else _err), None
        else:
            callback, prog = _progress(len(set(table["ticker"]) - {""}), quiet)
        try:       # writes out (streamed when the study runs in chunks: the client never holds every frame)
            res = run_study(table, prices, spec, factors=factors, factor_units=factor_units, taxonomy=taxonomy,
                            progress=callback, out=out, format=fmt, inputs=inputs or {}, **scale)
        finally:
            if prog is not None:
                prog.stop()
        if excel:
            from .excel import results_frames, write_excel

            write_excel(results_frames(res), out / "results.xlsx", {"study": spec.name, **{
                k: str(v) for k, v in spec.to_dict().items()}})
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    typer.echo(res.summary_text())
    if show_events:
        typer.echo("")
        typer.echo(res.events_text())
    bad = res.not_studied()
    if not quiet:
        if len(bad) <= 10:
            for _, r in bad.iterrows():
                _err(f"not studied: {r['event_id']} [{r['status']}] {r['reason']}")
        else:
            counts = bad["status"].value_counts()
            _err(f"not studied: {len(bad)} events (" + ", ".join(f"{k} {v}" for k, v in counts.items())
                 + f"); status and reason of each in {out}/events.{fmt}")
        _err(f"wrote {out}/ (" + ", ".join(f"{t}.{fmt}" for t in ("events", "ar", "car", "summary", "aar", "volume"))
             + ", manifest.json" + (", results.xlsx)" if excel else ")"))
    failed = bad[bad["status"] == "source_error"]
    if len(failed) and not allow_source_errors:
        tickers = ", ".join(sorted(set(failed["ticker"])))
        _fail(EventStudyError(f"the price source failed for {len(failed)} event(s) ({tickers}): the results are "
                              "incomplete"),
              hint="rerun when the source is reachable, or pass --allow-source-errors to accept the partial study")


@app.command(epilog="Example: `eventstudy run events/seed_events.csv --benchmark XBI --window -1:1 --window 0:5`\n\n"
                    "Example: `eventstudy run events/fda_decisions.csv -p bundled:universe -b FF-MKT "
                    "--estimation -270:-21 --window -20:-1 --window 0:0 --group-by subtype --excel`")
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
    factor_units: FactorUnits = "auto",
    out: Out = None,
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the event file's stem).",
                                                rich_help_panel="Output")] = None,
    quiet: Quiet = False,
    excel: Excel = False,
    fmt: Format = "csv",
    allow_source_errors: AllowSourceErrors = False,
    exclude_flags: ExcludeFlags = None,
    require_complete: RequireComplete = False,
    duplicates: Duplicates = "once",
    allow_estimation_overlap: AllowEstOverlap = False,
    rename: Rename = None,
    taxonomy: TaxonomyOpt = None,
    show_events: ShowEvents = False,
    conventions: Annotated[str, typer.Option(
        "--conventions", help="Test statistics as the papers define them (`papers`) or as R estudy2 computes "
        "them (`estudy2`: sigma divisor M-1, pooled sign baseline, its rank tests; see docs/statistics.md).",
        rich_help_panel="Model")] = "papers",
    chunk_size: Annotated[Optional[int], typer.Option(
        "--chunk-size", help="Process the events in chunks of about this many (grouped by ticker); the statistics "
        "are merged from per-chunk sufficient statistics and equal the in-memory run (docs/scale.md).",
        rich_help_panel="Scale")] = None,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", help="Run the chunks on a local Dask cluster with N worker processes.",
        rich_help_panel="Scale")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="Run the chunks on an existing Dask cluster (tcp://host:8786); the workers must see "
        "the --prices path.", rich_help_panel="Scale")] = None,
    processes: Annotated[Optional[int], typer.Option(
        "--processes", min=1, help="Without --workers/--scheduler, run the chunks on N processes forked from this "
        "one (default: one per CPU when the prices are local and there are several chunks; 1 = in this "
        "process). The numbers do not depend on it.", rich_help_panel="Scale")] = None,
) -> None:
    """Run an event study: abnormal returns per event, CARs per window, statistics per event type.

    Writes events.csv, ar.csv, car.csv, summary.csv, aar.csv, volume.csv and manifest.json into --out
    (.parquet files with --format parquet; and results.xlsx with --excel) and prints the per-type CAAR table.
    """
    from .export import check_format, file_sha256

    try:
        fmt = check_format(fmt)
    except ValueError as exc:
        _usage(f"--format: {exc}", "--format csv (default) or --format parquet")
    name = name or events.stem
    spec = dict(model=model, benchmark=benchmark, estimation=estimation, windows=window, returns=returns,
                min_obs=min_obs, overlap=overlap, name=name, group_by=group_by, exclude_flags=exclude_flags,
                require_complete=require_complete, duplicates=duplicates,
                allow_estimation_overlap=allow_estimation_overlap, conventions=conventions,
                rename=_read_rename(rename))
    _study(events, prices, spec, factors=factors, factor_units=factor_units, out=out, quiet=quiet,
           inputs={"events": str(events), "events_sha256": file_sha256(events), "prices": prices},
           allow_source_errors=allow_source_errors, excel=excel, taxonomy=_taxonomy(taxonomy),
           show_events=show_events, fmt=fmt,
           scale={"chunk_size": chunk_size, "workers": workers, "scheduler": scheduler, "processes": processes})


def _read_rename(values: list[str] | None) -> str | None:
    """``--rename OLD=NEW`` (repeatable) or ``--rename FILE`` (lines or CSV rows ``OLD,NEW``) → ``"OLD=NEW,..."``."""
    if not values:
        return None
    pairs = []
    for v in values:
        path = Path(v)
        if "=" not in v and path.is_file():
            for k, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
                line = line.strip()
                if not line or line.startswith("#") or line.lower().replace(" ", "") in ("old,new", "old=new"):
                    continue
                if "=" not in line and line.count(",") != 1:
                    _usage(f"{path}, line {k}: {line!r} is not OLD=NEW or OLD,NEW", "one rename per line")
                pairs.append(line.replace(",", "="))
        else:
            pairs.append(v)
    return ",".join(pairs)


def _bundled_seed_events() -> Path:
    """The seed events file shipped inside the package (the same whatever the working directory)."""
    return Path(str(resources.files("eventstudy") / "data" / "events" / "seed_events.csv"))


def _seed_events() -> Path:
    local = Path("events") / "seed_events.csv"
    return local if local.is_file() else _bundled_seed_events()


@app.command(epilog="Example: `eventstudy demo` (writes results/demo/)\n\nExample: `eventstudy demo --out /tmp/demo`")
def demo(
    out: Out = None,
    model: Model = "market",
    benchmark: Benchmark = "XBI",
    quiet: Quiet = False,
    excel: Excel = False,
    show_events: ShowEvents = False,
) -> None:
    """Run the bundled seed events (Oct 2025 – Jan 2026 biotech news) on the bundled prices, offline."""
    from .export import file_sha256

    ev = _seed_events()
    _study(ev, "bundled", dict(model=model, benchmark=benchmark, name="demo"), out=out or Path("results") / "demo",
           quiet=quiet, inputs={"events": str(ev), "events_sha256": file_sha256(ev), "prices": "bundled"},
           excel=excel, show_events=show_events)


@events_app.command("validate", epilog="Example: `eventstudy events validate events/*.csv`")
def events_validate(
    files: Annotated[list[Path], typer.Argument(help="Event files to check (CSV or .xlsx).")],
    taxonomy: TaxonomyOpt = None,
) -> None:
    """Check event files against the schema and taxonomy; exit 1 when any problem is found.

    Each problem names the file, the row (1 = first data row) and the field. An event_id that
    occurs in two of the files is a problem naming both files and rows.
    """
    from .events import cross_file_duplicates, read_event_csv, validate_events
    from ._errors import EventFileError

    taxonomy = _taxonomy(taxonomy)
    total = 0
    tables = []
    for f in dict.fromkeys(files):
        try:
            frame = read_event_csv(f, taxonomy)
            for note in frame.attrs.get("read_notes", []):
                _err(f"note: {note}")
            problems = validate_events(frame, str(f), taxonomy)
            tables.append((str(f), frame))
        except EventFileError as exc:
            problems = exc.problems
        for p in problems:
            typer.echo(str(p))
        total += len(problems)
        _err(f"{f}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    across = cross_file_duplicates(tables)
    for p in across:
        typer.echo(str(p))
    if across:
        _err(f"{len(across)} event_id(s) occur in more than one file")
    if total or across:
        raise typer.Exit(1)


@app.command(epilog="Example: `eventstudy fetch IBRX XBI --start 2024-01-01`\n\n"
                    "Then run offline from the cache: `eventstudy run events.csv --prices yahoo-offline`")
def fetch(
    tickers: Annotated[list[str], typer.Argument(help="Tickers to download (e.g. IBRX XBI ^GSPC BRK-B).")],
    start: Annotated[str, typer.Option(help="First date (YYYY-MM-DD).")] = "2000-01-01",
    end: Annotated[Optional[str], typer.Option(help="End date, exclusive (default: today).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Cache root (default $EVENTSTUDY_CACHE, else the "
                                                           "platform cache folder, e.g. $XDG_CACHE_HOME/eventstudy; "
                                                           "`eventstudy cache info` shows it).")] = None,
) -> None:
    """Download daily bars from Yahoo Finance into the local parquet cache (incremental)."""
    from .sources.yahoo import YahooSource

    first, last = _date_option(start, "--start"), _date_option(end, "--end")
    if first is not None and last is not None and first >= last:
        _usage(f"--start {start} is not before --end {end}", "--end is exclusive: give a later date")
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


def _scan_out(out: Path | None) -> Path:
    """The CSV file a scan writes: ``DIR/scan.csv`` for a folder, the path itself when it ends in .csv."""
    if out is None:
        return Path("results") / "scan" / "scan.csv"
    if out.suffix.lower() == ".csv" and not out.is_dir():
        _check_out_dir(out.parent)
        return out
    _check_out_dir(out)
    return out / "scan.csv"


@app.command(epilog="Example: `eventstudy scan IBRX --from 2025-12-01 --to 2026-02-28`\n\n"
                    "Example: `eventstudy scan SRPT VYNE --prices bundled:universe --benchmark none "
                    "--events events/fda_decisions.csv --out results/scan-fda`")
def scan(
    tickers: Annotated[list[str], typer.Argument(help="Tickers to scan.")],
    prices: Prices = "bundled",
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="Benchmark for market-adjusted returns "
                                           "(AR = R − R_benchmark). `none`: raw returns, reported as such "
                                           "(`measure` = raw, no AR/CAR). A benchmark the source lacks is an "
                                           "error.")] = "XBI",
    date_from: Annotated[Optional[str], typer.Option("--from", help="First date reported (YYYY-MM-DD).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last date reported (YYYY-MM-DD).")] = None,
    events: Annotated[Optional[list[Path]], typer.Option("--events", "-e", help="Curated event files to match "
                      "(repeatable). Default: the bundled seed events file. The files used are printed.")] = None,
    no_events: Annotated[bool, typer.Option("--no-events", help="Match no news at all.")] = False,
    spike_z: Annotated[float, typer.Option(help="Spike: vol_z at least this.")] = 4.0,
    spike_ratio: Annotated[float, typer.Option(help="Spike: vol_ratio_63 at least this.")] = 3.0,
    spike_rule: Annotated[str, typer.Option(help="any: either threshold makes a spike; all: both.")] = "any",
    runup_window: Annotated[int, typer.Option(help="Rolling window (sessions) for run-ups.")] = 15,
    runup: Annotated[float, typer.Option(help="Run-up: rolling CAR (raw return with `-b none`) at least this "
                                         "(0.5 = +50 %).")] = 0.5,
    runup_vol: Annotated[float, typer.Option(help="Run-up: mean vol_ratio_63 over the window at least this.")] = 2.0,
    match: Annotated[int, typer.Option(help="Match events within ± this many sessions.")] = 3,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (writes FOLDER/scan.csv; "
                                                "default results/scan/); a path ending in .csv is the file "
                                                "itself.")] = None,
) -> None:
    """Find volume spikes and run-up / squeeze episodes, with or without news, and match curated events.

    Returns are market-adjusted against --benchmark (columns `ar`, `car`; `measure` =
    market_adjusted) or, with `--benchmark none`, raw (`measure` = raw; `ar`/`car` stay empty and
    the episode's summed raw return is in `cum_return`).
    """
    from ._io import write_csv
    from .events import load_event_files
    from .scan import ScanParams, scan as run_scan

    try:
        params = ScanParams(spike_z=spike_z, spike_ratio=spike_ratio, spike_rule=spike_rule,
                            runup_window=runup_window, runup_threshold=runup, runup_min_vol_ratio=runup_vol,
                            match_sessions=match)
    except ValueError as exc:
        _usage(str(exc), "see `eventstudy scan --help` for the thresholds")
    first, last = _date_option(date_from, "--from"), _date_option(date_to, "--to")
    if first is not None and last is not None and first > last:
        _usage(f"--from {date_from} is after --to {date_to}", "give --from on or before --to")
    if no_events and events:
        _usage("--events and --no-events contradict each other", "use one of them")
    target = _scan_out(out)
    files = [] if no_events else list(events or [_bundled_seed_events()])
    bench = None if benchmark.strip().lower() == "none" else benchmark
    try:
        ev = load_event_files(files) if files else None
        _err(f"matching news from {', '.join(map(str, files))} ({0 if ev is None else len(ev)} events)" if files
             else "matching no news (--no-events)")
        res = run_scan(tickers, prices, ev, bench, params, first, last)
        write_csv(res, target)
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    _print_scan(res)
    _err(f"wrote {target} (returns: {'raw, no benchmark' if bench is None else f'market-adjusted vs {bench.upper()}'})")
    failed = res[res["kind"].isin(("no_prices", "bad_price_file", "source_error"))]
    if len(failed):
        _fail(EventStudyError(f"{len(failed)} of {len(set(t.upper() for t in tickers))} tickers not scanned: "
                              + ", ".join(f"{r.ticker} ({r.kind})" for r in failed.itertuples())),
              hint="the reasons are above and in the reason column of the CSV")


def _print_scan(res) -> None:
    """The scan table on stdout: one line per spike / episode / ticker not scanned."""
    import pandas as pd

    if res.empty:
        typer.echo("no spikes or episodes found")
    d = lambda v: pd.Timestamp(v).date() if pd.notna(v) else ""  # noqa: E731
    for _, r in res.iterrows():
        raw = r["measure"] == "raw"
        if r["kind"] == "spike":
            ar = "" if raw else f"  AR {100 * r['ar']:+6.1f}%"
            typer.echo(f"{r['ticker']:<6} spike    {d(r['date'])}  ret {100 * r['ret']:+6.1f}%{ar}  vol x"
                       f"{r['vol_ratio_63']:.1f} z {r['vol_z']:.1f}  news: {r['event_ids'] or '-'}")
        elif r["kind"] == "episode":
            move = f"raw return {100 * r['cum_return']:+.0f}%" if raw else f"CAR {100 * r['car']:+.0f}%"
            typer.echo(f"{r['ticker']:<6} episode  {d(r['date'])} -> peak {d(r['peak_date'])} -> end {d(r['end_date'])}"
                       f"  {move}  drawdown {100 * r['max_drawdown']:.0f}%  peak vol x"
                       f"{r['vol_ratio_63']:.1f}  news: {r['event_ids'] or '-'}")
        else:
            typer.echo(f"{r['ticker']:<6} {r['kind']}: {r['reason']}")


@app.command(epilog="Example: `eventstudy plot results/demo` (writes results/demo/figures/*.png)")
def plot(
    results_dir: Annotated[Path, typer.Argument(help="A folder written by `eventstudy run` or `demo`.")],
    prices: Annotated[Optional[str], typer.Option("--prices", "-p", help="Price source for the per-event charts "
                                                  "(default: the one in manifest.json).")] = None,
    max_events: Annotated[int, typer.Option(help="At most this many per-event charts.")] = 40,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Draw every figure (default: figures whose inputs "
                                           "are unchanged are taken from the figure cache).")] = False,
) -> None:
    """(Re)draw the study's figures from its saved CSVs: CAAR paths with 95 % bands, CAR distributions,
    abnormal volume by day, and one price/volume chart per event.

    The results are checked against manifest.json first; figures/ is replaced as a whole, so
    figures of earlier runs do not survive."""
    import json
    import os

    from .plots import draw_all

    show = _SlowStepProgress("drawing figures")
    try:
        paths = draw_all(results_dir, prices, max_events, workers=min(2, os.cpu_count() or 1), progress=show,
                         cache_dir=False if no_cache else None)
        notes = json.loads((results_dir / "figures" / "figures.json").read_text(encoding="utf-8"))["notes"]
    except (EventStudyError, OSError) as exc:
        show.close()
        _fail(exc)
    show.close(f"drew {len(paths)} figures")
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
    except (EventStudyError, OSError) as exc:   # NetworkError, ServerError, AccessDeniedError, FactorFileError
        _fail(exc, hint="needs network access to Ken French's data library; the bundled factors work offline")
    typer.echo(str(path))


@factors_app.command("show", epilog="Example: `eventstudy factors show --factors bundled`")
def factors_show(factors: Factors = None, factor_units: FactorUnits = "auto") -> None:
    """Print the coverage (first and last date, columns, units) of the factor data that a study would use."""
    from .factors import load_factors

    try:
        f = load_factors(factors, units=factor_units)
    except (OSError, EventStudyError) as exc:
        _fail(exc)
    typer.echo(f"{f.index.min().date()} .. {f.index.max().date()}  {len(f)} days  columns: {', '.join(f.columns)}"
               f"  units: {f.attrs.get('factor_units', 'decimal')}")


# ---- sub-commands defined in their own modules (registered here, at the very end) -----------------
from .cli_news import register as _register_news  # noqa: E402  (news import + events review)
from .cli_longrun import register as _register_longrun  # noqa: E402  (regress + longrun)

_register_news(app, events_app)
_register_longrun(app)
from .cli_cache import cache_app  # noqa: E402  (`eventstudy cache info|clear`)
from .cli_simulate import register as _register_simulate  # noqa: E402  (size and power)
from .cli_quick import register as _register_quick  # noqa: E402  (one-line study)
from .cli_store import store_app  # noqa: E402  (the parquet price store)

app.add_typer(cache_app, name="cache")
app.add_typer(store_app, name="store")
_register_simulate(app)
_register_quick(app)


def main(argv: list[str] | None = None) -> NoReturn:
    """The console entry point: runs the app and turns every user mistake into one ``error:`` line.

    Usage errors from the command-line parser (unknown option, bad value, missing argument)
    exit 2; operating-system errors that reach this point (disk full, permissions, a folder
    where a file belongs) exit 1 with the file named. Programming errors still show their
    traceback: they are bugs to report, not user mistakes.
    """
    import errno

    try:
        rv = app(args=argv, prog_name="eventstudy", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except typer.Abort:
        _err("error: interrupted")
        code = 130
    except typer.TyperException as exc:      # the parser's errors (typer's own click)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(ctx.get_help() if ctx is not None else exc.format_message(), err=True)
        else:
            _err(f"error: {' '.join(exc.format_message().split())}")
            _err(f"hint: see `{ctx.command_path if ctx is not None else 'eventstudy'} --help`")
        code = exc.exit_code
    except (EventStudyError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:    # stdout closed by `| head`
            code = 1
        else:
            try:
                _fail(exc)
            except typer.Exit as done:
                code = done.exit_code
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
