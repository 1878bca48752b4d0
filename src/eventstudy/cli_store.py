"""``eventstudy store``: build and inspect a parquet price store (see :mod:`eventstudy.sources.store`).

Registered as a sub-app at the end of :mod:`eventstudy.cli`. Heavy modules (pandas, pyarrow) are
imported inside the commands, so ``eventstudy --help`` does not pay for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import EventStudyError

store_app = typer.Typer(help="A partitioned parquet price store for big universes: build it once from a folder "
                             "of `TICKER.csv` files, then run studies with `--prices store:PATH`.",
                        no_args_is_help=True)


def _fail(exc: Exception, hint: str = "") -> None:
    typer.echo(f"error: {exc}{hint}", err=True)
    raise typer.Exit(1)


@store_app.command("build", epilog="Example: `eventstudy store build prices/ --out prices.store`\n\n"
                                   "Example: `eventstudy store build prices/ --out prices.store --skip-bad "
                                   "--overwrite` then `eventstudy run events.csv --prices store:prices.store`")
def build(
    csv_dir: Annotated[Path, typer.Argument(help="Folder of `TICKER.csv` files (date, close or adj_close, "
                                                 "optional open, high, low, volume).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The store folder to create.")],
    buckets: Annotated[Optional[int], typer.Option(
        "--buckets", min=1, help="Number of partitions (default: about 64 tickers each).")] = None,
    skip_bad: Annotated[bool, typer.Option(
        "--skip-bad", help="Leave malformed files out and list them, with file, row and field, in the manifest "
        "(a study asking for such a ticker gets status bad_price_file). Default: any bad file fails the build "
        "and nothing is written.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing store at --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notes on stderr.")] = False,
) -> None:
    """Read every CSV with the project's checked reader and write a bucketed parquet store with a manifest
    (rows, date range and sha256 of each input). Built in a temporary folder and renamed into place."""
    from ._errors import PriceFileError
    from .sources.store import build_store

    try:
        report = build_store(csv_dir, out, n_buckets=buckets, skip_bad=skip_bad, overwrite=overwrite)
    except PriceFileError as exc:
        _fail(exc, "\nhint: fix the files, or pass --skip-bad to build without them (they are listed in the "
                   "manifest)")
    except (EventStudyError, OSError) as exc:
        _fail(exc)
    m = report.manifest
    if not quiet:
        typer.echo(f"store {out}: {m['n_tickers']} tickers, {m['n_rows']} rows, {m['first_date']} .. "
                   f"{m['last_date']}, {m['partitioning']['n_buckets']} bucket(s)", err=True)
        for s in report.skipped:
            typer.echo(f"skipped {s['file']}: {s['problems'][0]}"
                       + (f" (+{len(s['problems']) - 1} more)" if len(s["problems"]) > 1 else ""), err=True)
        if report.skipped:
            typer.echo(f"{len(report.skipped)} file(s) skipped; listed in {out}/manifest.json", err=True)
    typer.echo(str(out))


@store_app.command("info", epilog="Example: `eventstudy store info prices.store`\n\n"
                                  "Example: `eventstudy store info prices.store --ticker MRNA --json`")
def info(
    store: Annotated[Path, typer.Argument(help="A store written by `eventstudy store build`.")],
    ticker: Annotated[Optional[str], typer.Option("--ticker", "-t", help="Show one ticker's entry.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the whole manifest, or the ticker's "
                                                          "entry).")] = False,
) -> None:
    """Print what a store holds: tickers, rows, date range, partitions, input digest and skipped files."""
    from .sources.store import read_manifest

    try:
        m = read_manifest(store)
    except EventStudyError as exc:
        _fail(exc)
    if ticker is not None:
        key = ticker.strip().upper()
        entry = m["tickers"].get(key)
        skipped = [s for s in m.get("skipped", []) if s["ticker"] == key]
        if entry is None and not skipped:
            _fail(EventStudyError(f"{ticker!r} is not in the store {store}"))
        if as_json:
            typer.echo(json.dumps({"ticker": key, **(entry or {}), "skipped": skipped}, indent=1))
            return
        if entry is not None:
            typer.echo(f"{key}: {entry['rows']} rows, {entry['first']} .. {entry['last']}, bucket {entry['bucket']}, "
                       f"from {entry['file']} (sha256 {entry['sha256']})")
        for s in skipped:
            typer.echo(f"{key}: skipped {s['file']}: " + "; ".join(s["problems"]))
        return
    if as_json:
        typer.echo(json.dumps(m, indent=1))
        return
    lines = [f"store        {store}",
             f"created      {m.get('created_utc')}",
             f"from         {m.get('source_dir')}",
             f"tickers      {m['n_tickers']}",
             f"rows         {m['n_rows']}",
             f"dates        {m['first_date']} .. {m['last_date']}",
             f"buckets      {m['partitioning']['n_buckets']} (hive, {m['partitioning']['bucket_of_ticker']})",
             f"inputs       sha256 {m['inputs_sha256']}",
             f"skipped      {m.get('n_skipped', 0)} file(s)"]
    lines += [f"  {s['file']}: {s['problems'][0]}" for s in m.get("skipped", [])]
    typer.echo("\n".join(lines))
