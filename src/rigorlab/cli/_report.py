"""``rigorlab report``: the paper-ready account of a study, written from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rigorlab.cli._app import StoreOption, app, choice, console, handles_errors

REPORT_FORMATS = ("all", "html", "md", "latex")
DEFAULT_OUT = Path("reports")


@app.command()
@handles_errors
def report(
    study: Annotated[str, typer.Argument(help="The study name.")],
    store: StoreOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help="html, md, latex or all.")] = "all",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The report folder (default: reports/STUDY).", show_default=False)
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", "-m", help="Also report this metric (repeat for several); the primary metric always."),
    ] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples per interval.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Write the results tables, figures, methods section, reproducibility checklist and caveats of
    a study (HTML, Markdown, LaTeX). Reads the store only; a failure leaves no partial files."""
    from rigorlab.report import FORMATS, build_report, write_report
    from rigorlab.store import open_store

    choice(format, REPORT_FORMATS)
    formats = FORMATS if format == "all" else (format,)
    target = out if out is not None else DEFAULT_OUT / study
    with open_store(store, read_only=True) as run_store:
        data = build_report(run_store, study, metrics=metric or (), n_resamples=resamples, seed=seed)
    files = write_report(data, target, formats=formats)
    counts = data.trial_counts
    finished = counts.get("done", 0)
    metrics = ", ".join(result.metric for result in data.results)
    console.print(
        f"Report of study [bold]{study}[/bold]: {len(data.arms)} arms x {len(data.datasets)} datasets, "
        f"{finished} of {counts['planned']} planned trials finished; metrics {metrics}.",
        highlight=False,
    )
    main = [name for name in files.files if not name.startswith("figures/")]
    console.print(
        f"Wrote {target}/: {', '.join(main)} and {len(files.figures)} figures (PNG, PDF, SVG).", highlight=False
    )
    for caveat in data.caveats:
        if caveat.topic == "failures":
            console.print(f"[yellow]note[/yellow] {caveat.text}", highlight=False)
