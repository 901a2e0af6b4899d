"""``rigorlab report``: the paper-ready account of a study, written from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rigorlab.cli._app import (
    HigherOption,
    LowerOption,
    StoreOption,
    app,
    choice,
    console,
    direction,
    handles_errors,
    resolve_study,
)

REPORT_FORMATS = ("all", "html", "md", "latex")
DEFAULT_OUT = Path("reports")
NOTE_DEFAULTED = (
    "[yellow]note[/yellow] {what} {name}: {reason}. Record the study's {what} with rigorlab.track({argument}=...) "
    "or `rigorlab import mlflow --{option}`, or compare others with `rigorlab compare`."
)


@app.command()
@handles_errors
def report(
    study: Annotated[str, typer.Argument(help="The study name (or its study file).")],
    store: StoreOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help="html, md, latex or all.")] = "all",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The report folder (default: reports/STUDY).", show_default=False)
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Report only these metrics, each with its table and figures (repeat for several; the primary metric "
            "always). Default: a table for every stored metric, figures for the primary metric.",
        ),
    ] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples per interval.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    higher: HigherOption = False,
    lower: LowerOption = False,
) -> None:
    """Write the results tables, figures, methods section, reproducibility checklist and caveats of
    a study (HTML, Markdown, LaTeX). Reads the store only; a failure leaves no partial files."""
    from rigorlab.report import FORMATS, build_report, check_report_folder, default_metrics, keep_figures, write_report
    from rigorlab.store import open_store

    choice(format, REPORT_FORMATS)
    higher_is_better = direction(higher, lower)
    formats = FORMATS if format == "all" else (format,)
    study = resolve_study(study)
    target = out if out is not None else DEFAULT_OUT / study
    check_report_folder(target)  # before the statistics and figures, which take seconds
    with open_store(store, read_only=True) as run_store:
        chosen = metric or default_metrics(run_store, study)
        data = build_report(
            run_store, study, metrics=chosen, n_resamples=resamples, seed=seed, higher_is_better=higher_is_better
        )
    if not metric:
        data = keep_figures(data, [])  # figures for the primary metric; tables for every metric
    files = write_report(data, target, formats=formats)
    counts = data.trial_counts
    finished = counts.get("done", 0)
    metrics = ", ".join(result.metric for result in data.results)
    console.print(
        f"Report of study [bold]{study}[/bold]: {len(data.arms)} arms x {len(data.datasets)} datasets, "
        f"{finished} of {counts['planned']} planned trials finished; metrics {metrics} (primary "
        f"{data.primary_metric}, baseline {data.baseline}).",
        highlight=False,
    )
    main = [name for name in files.files if not name.startswith("figures/")]
    console.print(
        f"Wrote {target}/: {', '.join(main)} and {len(files.figures)} figures (PNG, PDF, SVG).", highlight=False
    )
    for caveat in data.caveats:
        if caveat.topic == "failures":
            console.print(f"[yellow]note[/yellow] {caveat.text}", highlight=False)
    primary = data.results[0].comparison
    for what, name, reason, argument, option in (
        ("primary metric", primary.metric, primary.metric_reason, "primary_metric", "primary-metric"),
        ("baseline", primary.baseline, primary.baseline_reason, "baseline", "baseline"),
    ):
        if "alphabetically" in reason:  # defaulted: say so, and how to record a choice
            note = NOTE_DEFAULTED.format(
                what=what, name=name, reason=reason.split("; choose")[0], argument=argument, option=option
            )
            console.print(note, highlight=False, soft_wrap=True)
