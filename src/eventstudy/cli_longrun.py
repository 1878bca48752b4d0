"""CLI commands ``regress`` (cross-sectional regressions of a study's results) and ``longrun``
(long-horizon BHARs and calendar-time portfolios). Registered on the main app by :func:`register`;
heavy modules are imported inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ._errors import EventStudyError
from .cli import Benchmark, Factors, GroupBy, Out, Prices, Quiet, _err, _fail


def regress_cmd(
    results_dir: Annotated[Path, typer.Argument(help="A folder written by `eventstudy run`.")],
    formula: Annotated[str, typer.Argument(help="statsmodels formula: left side car, scar, bhar, vol_cav_log…; "
                                                "right side events.csv columns, extra event-file columns, C() "
                                                "categoricals.")],
    window: Annotated[str, typer.Option("--window", "-w", help="Event window A:B of the left-hand measure.")] = "-1:1",
    cov: Annotated[str, typer.Option("--cov", help="classical, HC1, HC3, cluster-date, cluster-ticker or "
                                                   "cluster-2way (date × ticker, Cameron–Gelbach–Miller).")] = "HC1",
    weights: Annotated[str, typer.Option("--weights", help="none (OLS) or inv_var (WLS, weights 1/car_se²).")] = "none",
    events: Annotated[Optional[Path], typer.Option("--events", help="Event file whose extra columns to add "
                      "(default: the one named in manifest.json).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV (default RESULTS_DIR/regress.csv).")] = None,
) -> None:
    """Regress a per-event measure of one window on event characteristics (OLS/WLS, robust and clustered
    standard errors). Prints the table; writes regress.csv (term, coef, se, t, p, ci_lo, ci_hi, n, cov, r2)."""
    from .regress import regress

    try:
        res = regress(results_dir, formula, window=window, cov=cov,
                      weights=None if weights == "none" else weights, events=events)
        path = res.to_csv(out or results_dir / "regress.csv")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except EventStudyError as exc:
        _fail(exc)
    typer.echo(res.summary())
    if res.excluded:
        _err("left out: " + ", ".join(f"{k}={v}" for k, v in res.excluded.items()))
    _err(f"wrote {path}")


def longrun_cmd(
    events: Annotated[Path, typer.Argument(help="Curated event CSV (see events/README.md).")],
    horizon: Annotated[Optional[list[str]], typer.Option("--horizon", "-H", help="Horizon A:B in trading days "
                       "(repeatable). Default 0:125 and 0:250. Use 1:B for IPOs.")] = None,
    method: Annotated[str, typer.Option(help="bhar, calendar-time or both.")] = "both",
    prices: Prices = "bundled:universe",
    benchmark: Benchmark = "FF-MKT",
    control: Annotated[Optional[list[str]], typer.Option("--control", help="Control-firm match from the price "
                       "source's universe (repeatable): dollar-volume, price, volatility.")] = None,
    control_k: Annotated[int, typer.Option("--control-k", help="1: one control firm per event; k > 1: an "
                         "equal-weighted buy-and-hold reference portfolio of the k nearest firms.")] = 1,
    delisting: Annotated[str, typer.Option(help="Prices ending before the horizon end: truncate (with the "
                                                "benchmark) or fill-benchmark.")] = "truncate",
    match_days: Annotated[int, typer.Option(help="Sessions before day 0 used to match control firms.")] = 63,
    group_by: GroupBy = "event_type",
    factors: Factors = None,
    ct_model: Annotated[Optional[list[str]], typer.Option("--ct-model", help="Calendar-time factor model "
                        "(repeatable): capm, ff3, carhart, ff5. Default ff3, carhart, ff5.")] = None,
    frequency: Annotated[str, typer.Option(help="Calendar-time portfolios: daily or monthly.")] = "daily",
    min_stocks: Annotated[int, typer.Option(help="Calendar-time periods with fewer stocks are left out.")] = 5,
    nw_lags: Annotated[Optional[int], typer.Option(help="Newey–West lags (default 4(T/100)^(2/9)).")] = None,
    boot_reps: Annotated[int, typer.Option(help="Resamples of the bootstrapped skewness-adjusted t.")] = 1000,
    regress_formula: Annotated[Optional[str], typer.Option("--regress", help="Also regress the BHARs of every "
                               "horizon and benchmark, e.g. \"bhar ~ C(subtype) + confidence\" → longrun_regress.csv.")] = None,
    cov: Annotated[str, typer.Option("--cov", help="Covariance of --regress (see `eventstudy regress`).")] = "HC1",
    overlap: Annotated[str, typer.Option(help="keep: every event in the BHAR tests; first: the earliest of "
                                              "each ticker's overlapping events.")] = "keep",
    out: Out = None,
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the event file's stem + _longrun).")] = None,
    quiet: Quiet = False,
) -> None:
    """Long-horizon abnormal returns: BHAR per event and horizon (market and control-firm benchmarks) with
    the cross-sectional, skewness-adjusted, bootstrapped and Wilcoxon tests per event type, and calendar-time
    portfolio alphas (FF3/Carhart/FF5, classical and Newey–West t).

    Writes bhar.csv, longrun_summary.csv, bhar_paths.csv, calendar_time.csv, calendar_time_alpha.csv,
    longrun_manifest.json and figures/bhar_paths_*.png into --out.
    """
    from .export import file_sha256
    from .longrun import LongRunSpec, plot_bhar_paths, run_longrun

    name = name or f"{events.stem}_longrun"
    try:
        spec = LongRunSpec(horizons=tuple(horizon) if horizon else ((0, 125), (0, 250)), benchmark=benchmark,
                           controls=tuple(control or ()), control_k=control_k, delisting=delisting, match_days=match_days,
                           group_by=group_by, method=method,
                           ct_models=tuple(ct_model) if ct_model else ("ff3", "carhart", "ff5"),
                           ct_frequency=frequency, min_stocks=min_stocks, nw_lags=nw_lags, boot_reps=boot_reps,
                           overlap=overlap, name=name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    out = out or Path("results") / name
    try:
        res = run_longrun(events, prices, spec, factors=factors)
        res.to_csv(out, inputs={"events": str(events), "events_sha256": file_sha256(events), "prices": prices})
    except EventStudyError as exc:
        _fail(exc)
    typer.echo(res.summary())
    if regress_formula and not res.bhar.empty:
        _regress_all(res, regress_formula, cov, out)
    if spec.method != "calendar-time" and not res.bhar.empty:
        import matplotlib.pyplot as plt

        from ._io import atomic_write_bytes
        import io

        paths = res.path_table()
        (out / "figures").mkdir(parents=True, exist_ok=True)
        for (h, bname), _ in res.paths.items():
            fig = plot_bhar_paths(paths, horizon=h, benchmark=bname).figure
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            plt.close(fig)
            safe = f"{h}_{bname}".replace(":", "_").replace("/", "_")
            atomic_write_bytes(out / "figures" / f"bhar_paths_{safe}.png", buf.getvalue())
    first = res.bhar.drop_duplicates("event_id") if not res.bhar.empty else res.bhar
    if not quiet:
        for _, r in first[~first["status"].isin(("ok", "incomplete_horizon", "no_control"))].iterrows():
            _err(f"not studied: {r['event_id']} [{r['status']}] {r['reason']}")
        _err(f"wrote {out}/ (bhar.csv, longrun_summary.csv, bhar_paths.csv"
             + (", calendar_time.csv, calendar_time_alpha.csv" if res.calendar is not None else "") + ")")
    if (first["status"] == "source_error").any():
        _err("error: the price source failed for some tickers (status source_error): rerun when it is reachable")
        raise typer.Exit(1)


def _regress_all(res, formula: str, cov: str, out: Path) -> None:
    """Fit ``formula`` on the BHARs of each horizon × benchmark; print the tables, write longrun_regress.csv."""
    import pandas as pd

    from ._io import write_csv

    frames = []
    try:
        for (h, bname), _ in res.bhar.groupby(["horizon", "benchmark"], sort=False):
            r = res.regress(formula, h, bname, cov=cov)
            typer.echo("\n" + r.summary())
            frames.append(r.tidy.assign(horizon=h, benchmark=bname))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except EventStudyError as exc:
        _fail(exc)
    write_csv(pd.concat(frames, ignore_index=True), out / "longrun_regress.csv")


def register(app: typer.Typer) -> None:
    """Add ``regress`` and ``longrun`` to the main CLI app."""
    app.command("regress", epilog='Example: `eventstudy regress results/fda "car ~ C(subtype) + sigma + vol_ratio_63" '
                                  '--window -1:1 --cov cluster-2way`\n\n'
                                  'Example: `eventstudy regress results/demo "scar ~ C(event_type)" --weights inv_var`')(
        regress_cmd)
    app.command("longrun", epilog="Example: `eventstudy longrun events/fda_decisions.csv -p bundled:universe "
                                  "--horizon 0:125 --horizon 0:250 --control dollar-volume --group-by subtype`\n\n"
                                  "Example: `eventstudy longrun events/curated_events_2015_2024.csv --method "
                                  "calendar-time --frequency monthly --min-stocks 3`")(longrun_cmd)
