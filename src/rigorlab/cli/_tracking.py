"""Commands that move runs between rigorlab and other trackers: ``import mlflow``, ``export mlflow``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from rigorlab.cli._app import StoreOption, app, console, handles_errors, resolve_study

MSG_SINGLE_RUN_ARMS = (
    "{count} arm(s) have a single run, so nothing can be compared for them: name the arm with --arm PARAM "
    "(e.g. --arm model) and the replicate with --replicate PARAM (e.g. --replicate seed). Runs already imported "
    "keep their arms, so import again into another study: --study {study}-2 (or another store)."
)

import_app = typer.Typer(help="Bring runs from another tracker into the store.", no_args_is_help=True)
export_app = typer.Typer(help="Write a study's trials to another tracker.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


@import_app.command("mlflow")
@handles_errors
def import_mlflow(
    source: Annotated[
        str, typer.Argument(help="An MLflow file store folder (mlruns), an MLflow SQLite file, or a tracking URI.")
    ],
    store: StoreOption = None,
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", help="Only this experiment (repeatable).")
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Import into this study (one experiment; default: the experiment's name).")
    ] = None,
    arm: Annotated[
        str | None, typer.Option(help="The param or tag naming each run's arm (default: tag rigorlab.arm, run name).")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="The param or tag naming the dataset (default: tag rigorlab.dataset, input).")
    ] = None,
    replicate: Annotated[
        str | None,
        typer.Option(help="The param or tag holding the replicate, e.g. seed (default: order by start time)."),
    ] = None,
    artifacts: Annotated[bool, typer.Option("--artifacts/--no-artifacts", help="Copy the runs' artifacts.")] = True,
    primary_metric: Annotated[
        str | None,
        typer.Option(
            "--primary-metric",
            help="The metric compare and report use by default (default: the first metric, alphabetically, that no "
            "run logged at more than one step).",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="The arm compare and report use as baseline by default.", show_default=False),
    ] = None,
) -> None:
    """Import the runs of an MLflow tracking store; each experiment becomes a study."""
    from rigorlab.tracking import import_mlflow as run_import

    summary = run_import(
        source,
        store=store,
        experiments=experiment,
        study=study,
        arm=arm,
        dataset=dataset,
        replicate=replicate,
        artifacts=artifacts,
        primary_metric=primary_metric,
        baseline=baseline,
    )
    studies = ", ".join(f"{name} ({count})" for name, count in summary.imported.items()) or "none"
    console.print(  # names and paths are the user's: printed as they are, not as Rich markup
        escape(
            f"Imported {summary.total} run(s) from {summary.source} into {summary.store}: {studies}; "
            f"{summary.failed} of them failed in MLflow, {summary.files} artifact file(s) copied."
        )
    )
    if summary.already_stored:
        console.print(f"{summary.already_stored} run(s) were already in the store and were left as they are.")
    if summary.still_running:
        console.print(f"{summary.still_running} run(s) still running in MLflow were skipped; import again later.")
    if summary.single_run_arms:
        # Stored runs keep their grouping (a second import with other options is refused), so the
        # fix is a new study, named here so that the command can be copied as it is.
        first = next(iter(summary.imported), "study")
        console.print(
            MSG_SINGLE_RUN_ARMS.format(count=summary.single_run_arms, study=first),
            style="yellow",
            highlight=False,
            markup=False,
        )
    for name, (metric, reason) in summary.primary_metrics.items():
        shown = f"[bold]{escape(metric)}[/bold]" if metric is not None else "none"
        console.print(f"Primary metric of {escape(name)}: {shown} ({escape(reason)}).", highlight=False)
        if baseline is not None:
            console.print(
                f"Baseline of {escape(name)}: [bold]{escape(baseline)}[/bold] (given with --baseline).", highlight=False
            )
    for name in summary.imported:
        console.print(escape(f"Next: rigorlab show {name}" + (f" --store {store}" if store else "")))


@export_app.command("mlflow")
@handles_errors
def export_mlflow(
    study: Annotated[str, typer.Argument(help="The study to export (its name, or its study file).")],
    destination: Annotated[
        str, typer.Argument(help="An MLflow SQLite file (mlflow.db), a file store folder, or a tracking URI.")
    ],
    store: StoreOption = None,
    experiment: Annotated[str | None, typer.Option(help="The MLflow experiment (default: the study's name).")] = None,
    artifacts: Annotated[
        bool, typer.Option("--artifacts/--no-artifacts", help="Write provenance and files as artifacts.")
    ] = True,
) -> None:
    """Write a study's trials to an MLflow store, one run per trial (again: only new trials)."""
    from rigorlab.tracking import export_mlflow as run_export

    study = resolve_study(study)
    summary = run_export(study, destination, store=store, experiment=experiment, artifacts=artifacts)
    console.print(
        escape(
            f"Exported {summary.exported} trial(s) of study {summary.study} to MLflow experiment "
            f"'{summary.experiment}' at {summary.destination}"
            + (f"; {summary.already_there} were there already" if summary.already_there else "")
            + (f"; {summary.still_running} still running were skipped" if summary.still_running else "")
            + "."
        )
    )
