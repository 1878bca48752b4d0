"""``eventstudy cache info|clear``: look into and empty the local price cache (registered at the end of cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

cache_app = typer.Typer(help="The local price cache (Yahoo bars): where it is, what it covers, clearing it.",
                        epilog="Example: `eventstudy cache info` then `eventstudy cache clear IBRX`",
                        no_args_is_help=True)

#: seconds the cache commands wait for a ticker that another process is fetching
LOCK_WAIT = 10.0

CacheDir = Annotated[Optional[Path], typer.Option(
    "--cache-dir", help="Cache root (default $EVENTSTUDY_CACHE, else the platform user cache dir).")]


@cache_app.command("info", epilog="Example: `eventstudy cache info`")
def cache_info(cache_dir: CacheDir = None) -> None:
    """Print the cache folder and, per cached ticker, the covered date range, bars, size and fetch time."""
    from .sources.cache import BarCache

    cache = BarCache(cache_dir, "yahoo", lock_timeout=LOCK_WAIT)
    typer.echo(f"cache: {cache.dir}", err=True)
    factors = cache.root / "factors" / "factors.parquet"
    if factors.is_file():
        typer.echo(f"factors: {factors} ({factors.stat().st_size} bytes; `eventstudy factors show --factors cache`)",
                   err=True)
    table = cache.info()
    if table.empty:
        typer.echo("no cached tickers", err=True)
        return
    typer.echo("\t".join(["ticker", "covered", "bars", "first..last", "bytes", "fetched_utc", "status"]))
    for r in table.itertuples(index=False):
        covered = f"{r.covered_start}..{r.covered_end}" if r.covered_start else "-"
        span = f"{r.first}..{r.last}" if r.first else "-"
        typer.echo("\t".join([r.ticker, covered, str(r.rows), span, str(r.bytes), r.fetched_utc or "-", r.status]))
    typer.echo(f"{len(table)} ticker(s), {int(table['bytes'].sum())} bytes", err=True)


@cache_app.command("clear", epilog="Example: `eventstudy cache clear IBRX XBI` (or `eventstudy cache clear` "
                                   "for every ticker)")
def cache_clear(
    tickers: Annotated[Optional[list[str]], typer.Argument(help="Tickers to remove (default: all).")] = None,
    cache_dir: CacheDir = None,
) -> None:
    """Delete cached bars of the given tickers (all when none is given); prints each removed file."""
    from ._errors import SourceFailureError
    from .sources.cache import BarCache

    cache = BarCache(cache_dir, "yahoo", lock_timeout=LOCK_WAIT)
    wanted = [t.upper() for t in tickers] if tickers else cache.tickers()
    for t in wanted:
        path = cache.path(t)
        try:
            removed = cache.remove(t)
        except SourceFailureError as exc:     # another process is fetching it
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        if removed:
            typer.echo(str(path))
        else:
            typer.echo(f"note: {t} is not in the cache {cache.dir}", err=True)
    removed = cache.remove_stray_temp_files()
    if removed:
        typer.echo(f"removed {removed} temporary file(s) left by interrupted writes", err=True)
