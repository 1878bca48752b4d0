"""CLI for the news importer: ``eventstudy news import`` and ``eventstudy events review``.

Registered at the end of :mod:`eventstudy.cli` (``news_app`` as the ``news`` group, :func:`review`
as ``events review``). stdout carries data (counts, review screens); stderr carries talk.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

news_app = typer.Typer(help="Turn raw news digests into a draft events file.", no_args_is_help=True)


def _fail(msg: str, hint: str = "") -> None:
    typer.echo(f"error: {msg}" + (f" (hint: {hint})" if hint else ""), err=True)
    raise typer.Exit(1)


@news_app.command(
    "import",
    epilog="Example: `eventstudy news import digests/*.txt --out events/draft.csv` "
           "(writes events/draft.csv and events/draft.skipped.csv)\n\n"
           "Example: `eventstudy news import feed.txt --out draft.csv --names my_names.csv --rules my_rules.csv`")
def news_import(
    digests: Annotated[list[Path], typer.Argument(help="Digest text files (feed dumps, newsletters, summaries, "
                                                       "or any text: one item per paragraph).")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Draft events CSV to write; the skipped items go beside it as DRAFT.skipped.csv "
                            "(draft.csv → draft.skipped.csv).")] = Path("events/draft.csv"),
    rules: Annotated[Optional[list[Path]], typer.Option(
        "--rules", help="Extra typing rules CSV (columns rule_id,action,event_type,subtype,pattern,requires,"
                        "confidence,priority,note); a rule_id that exists replaces the bundled rule. "
                        "Repeatable.")] = None,
    names: Annotated[Optional[list[Path]], typer.Option(
        "--names", help="Extra company-name map CSV (columns name,ticker); an empty ticker marks a company "
                        "as unlisted. Replaces bundled rows of the same normalised name. Repeatable.")] = None,
) -> None:
    """Parse news digests into candidate events (event schema + needs_review, evidence, sources).

    Tickers come from exchange tags, the digest's symbol lookup or the company-name map, never a
    guess; undated items keep an empty event_date with needs_review=no_date. Prints counts; review
    the draft with `eventstudy events review`.
    """
    from ._errors import EventStudyError
    from .news import import_digests, write_draft
    from .news.importer import REVIEW_ORDER
    from .news.review import needs_review

    try:
        events, skipped = import_digests(digests, rules=rules, names=names)
    except EventStudyError as exc:
        _fail(str(exc))
    for d in digests:
        n_ev = int(events["sources"].str.split("; ").map(lambda s: any(x.rsplit("#", 1)[0] == d.name for x in s)).sum())
        n_sk = int((skipped["source"] == d.name).sum())
        if n_ev + n_sk == 0:
            _fail(f"no news items found in {d}", "is this a digest text file? nothing was written")
        typer.echo(f"{d}: {n_ev} candidate(s), {n_sk} skipped", err=True)
    sp = write_draft(events, skipped, out)
    flagged = needs_review(events)
    typer.echo(f"candidates\t{len(events)}")
    typer.echo(f"need_review\t{int(flagged.sum())}")
    for code in REVIEW_ORDER:
        n = int(events["needs_review"].str.split(";").map(lambda c: code in c).sum())
        if n:
            typer.echo(f"  {code}\t{n}")
    typer.echo(f"skipped\t{len(skipped)}")
    typer.echo(f"merged_duplicates\t{int(events['sources'].str.count(';').sum())}")
    typer.echo(f"wrote {out} and {sp}", err=True)
    if flagged.any():
        typer.echo(f"next: eventstudy events review {out}", err=True)


def review(
    draft: Annotated[Path, typer.Argument(help="Draft events CSV written by `eventstudy news import`.")],
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Print every candidate, not only those that need "
                                                               "review, without prompting.")] = False,
) -> None:
    """Print the candidates of a draft that need review, one screen per item.

    On a terminal it waits for Enter between screens (q quits); with --all, or when stdin is not
    a terminal, it prints everything without prompting. Accept a candidate by editing the CSV
    (fill event_date/event_type/ticker or delete the row, clear needs_review); then
    `eventstudy events validate` passes and `eventstudy run` takes the file.
    """
    from ._errors import EventFileError
    from .events import read_event_csv
    from .news.review import needs_review, review_screens

    try:
        frame = read_event_csv(draft)
    except EventFileError as exc:
        _fail(str(exc))
    screens = review_screens(frame, include_all=show_all)
    interactive = sys.stdin.isatty() and not show_all
    for k, screen in enumerate(screens):
        typer.echo(screen)
        typer.echo("")
        if interactive and k + 1 < len(screens):
            answer = typer.prompt("Enter: next, q: quit", default="", show_default=False, err=True)
            if answer.strip().lower() == "q":
                break
    n = int(needs_review(frame).sum())
    typer.echo(f"{draft}: {n} of {len(frame)} candidate(s) need review", err=True)


REVIEW_EPILOG = ("Example: `eventstudy events review events/draft.csv`\n\n"
                 "Example: `eventstudy events review events/draft.csv --all | less`")


def register(app: typer.Typer, events_app: typer.Typer) -> None:
    """Add ``news`` to the main app and ``review`` to its ``events`` group."""
    app.add_typer(news_app, name="news")
    events_app.command("review", epilog=REVIEW_EPILOG)(review)
