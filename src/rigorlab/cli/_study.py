"""Commands for study files and their stored trials: init, check, run, status, show, trials."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from rigorlab.cli._app import StoreOption, app, choice, console, errors, handles_errors, short_key
from rigorlab.errors import InputError

MSG_INIT_EXISTS = "{path} already exists; pass --force to overwrite it, or give another path."


@app.command()
@handles_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path("study.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented study template to start from."""
    from rigorlab.spec._template import TEMPLATE

    if path.exists() and not force:
        raise InputError(MSG_INIT_EXISTS.format(path=path))
    name = path.stem if path.stem != "study" else "my-study"
    path.write_text(TEMPLATE.format(file=path, name=name), encoding="utf-8")
    console.print(
        f"Wrote {path}. Edit it, then: [bold]rigorlab check {path}[/bold] and [bold]rigorlab run {path}[/bold]."
    )


@app.command()
@handles_errors
def check(study_file: Annotated[Path, typer.Argument(help="The study file (YAML).")]) -> None:
    """Validate a study file and its datasets without running anything; print the plan's size."""
    from rigorlab.execution import prepare

    loaded, datasets, plan = prepare(study_file)
    spec = loaded.spec
    console.print(f"[bold green]OK[/bold green] {study_file}: study [bold]{spec.study}[/bold]")
    table = Table(title="Datasets", show_edge=False)
    for column in ("dataset", "task", "rows", "features", "fingerprint"):
        table.add_column(column)
    for dataset in datasets.values():
        table.add_row(
            dataset.name, dataset.task, str(dataset.n_rows), str(dataset.features.shape[1]), dataset.fingerprint[:12]
        )
    console.print(table)
    arms = ", ".join(arm.name for arm in plan.arms)
    protocol = spec.protocol
    folds = protocol.folds_per_replicate
    console.print(f"Arms ({len(plan.arms)}): {arms}")
    console.print(
        f"Protocol: {protocol.kind}, {folds} fold(s) per replicate, {spec.replicates} replicate(s)"
        + (f", nested selection with {protocol.inner_folds} inner folds" if protocol.inner_folds else "")
    )
    console.print(
        f"Trial plan: {len(plan.arms)} arms x {len(datasets)} datasets x {spec.replicates} replicates x {folds} folds "
        f"= [bold]{plan.size}[/bold] trials. Nothing was run."
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    )


@app.command()
@handles_errors
def run(
    study_file: Annotated[Path, typer.Argument(help="The study file (YAML).")],
    store: StoreOption = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes (default: CPU cores).")
    ] = None,
    rerun_failed: Annotated[bool, typer.Option("--rerun-failed", help="Run again trials stored as failed.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run a study: every planned trial not stored yet (running it again resumes)."""
    from rigorlab.execution import RunSummary, run_study
    from rigorlab.store import TrialResult

    progress = _progress() if not quiet else None
    task_id: Any = None

    def on_start(summary: RunSummary) -> None:
        nonlocal task_id
        if summary.already_done or summary.skipped_failed:
            errors.print(
                f"Resuming: {summary.already_done} of {summary.planned} trials already stored"
                + (
                    f", {summary.skipped_failed} failed kept (--rerun-failed retries them)"
                    if summary.skipped_failed
                    else ""
                )
                + "."
            )
        if progress is not None and summary.to_run:
            progress.start()
            task_id = progress.add_task(summary.study, total=summary.to_run, failed=0)

    def on_result(result: TrialResult, summary: RunSummary) -> None:
        if progress is not None and task_id is not None:
            progress.update(task_id, advance=1, failed=summary.failed)

    try:
        summary = run_study(
            study_file, store=store, jobs=jobs, rerun_failed=rerun_failed, on_result=on_result, on_start=on_start
        )
    finally:
        if progress is not None:
            progress.stop()
    _print_run_summary(summary)
    if summary.interrupted:
        raise typer.Exit(code=130)
    if summary.failed:
        raise typer.Exit(code=1)


def _print_run_summary(summary: Any) -> None:
    status = "Interrupted" if summary.interrupted else "Finished"
    console.print(
        f"{status}: study [bold]{summary.study}[/bold] in {summary.seconds:.1f} s: {summary.done} trial(s) done, "
        f"{summary.failed} failed, {summary.already_done} already stored"
        + (f", {summary.remaining} not run" if summary.interrupted else "")
        + "."
    )
    for failure in summary.failures[:10]:
        where = f"{failure.arm} on {failure.dataset} (replicate {failure.replicate}, fold {failure.fold})"
        console.print(
            f"  [red]failed[/red] {where}: {failure.first_error_line()}",
            highlight=False,
        )
    if len(summary.failures) > 10:
        console.print(f"  ... and {len(summary.failures) - 10} more (rigorlab status {summary.study})")
    if summary.interrupted:
        console.print("Run the same command again to finish the remaining trials.")
    console.print(
        f"Results are in {summary.store}/ : rigorlab show {summary.study}"
        + (f" --store {summary.store}" if str(summary.store) != ".rigorlab" else "")
    )


def _print_verifications(run_store: Any, study: str) -> None:
    """One line on reproduce-and-verify, when any trial of the study was reproduced."""
    from rigorlab.provenance import verification_summary

    summary = verification_summary(study, run_store)
    if summary.last_verified_at is not None:
        console.print(summary.line(), highlight=False)


@app.command()
@handles_errors
def status(
    study: Annotated[str | None, typer.Argument(help="A study name (default: every study).")] = None,
    store: StoreOption = None,
) -> None:
    """Counts of done, failed and pending trials; failures with their first error line."""
    from rigorlab.store import open_store

    with open_store(store, read_only=True) as run_store:
        if study is None:
            frame = run_store.studies()
            table = Table(title=f"Studies in {run_store.root}")
            for column in ("study", "done", "failed", "running", "pending", "updated"):
                table.add_column(column)
            for record in frame.to_dict("records"):
                table.add_row(
                    str(record["name"]),
                    str(record["done"]),
                    str(record["failed"]),
                    str(record["running"]),
                    str(record["pending"]),
                    str(record["updated_at"])[:19],
                )
            console.print(table)
            return
        info = run_store.study_info(study)
        trials = run_store.trials(study)
        counts_by_status = trials["status"].value_counts() if not trials.empty else pd.Series(dtype=int)
        done = int(counts_by_status.get("done", 0))
        failed = int(counts_by_status.get("failed", 0)) + int(counts_by_status.get("crashed", 0))
        running = int(counts_by_status.get("running", 0))
        stored_study_trials = len(trials[trials["source"] == "study"]) if not trials.empty else 0
        pending = max(0, int(info["planned"]) - stored_study_trials)
        console.print(
            f"Study [bold]{study}[/bold]: {done} done, {failed} failed, "
            + (f"{running} running, " if running else "")
            + f"{pending} pending of {info['planned']} planned."
        )
        _print_verifications(run_store, study)
        if not trials.empty:
            counts = trials.pivot_table(
                index=["dataset", "arm"], columns="status", values="key", aggfunc="count", fill_value=0
            )
            table = Table(show_edge=False)
            for column in ("dataset", "arm", *[str(c) for c in counts.columns]):
                table.add_column(column)
            for index, counts_row in zip(counts.index, counts.to_numpy(), strict=True):
                table.add_row(str(index[0]), str(index[1]), *[str(int(v)) for v in counts_row])
            console.print(table)
        failures = trials[trials["status"] != "done"] if not trials.empty else trials
        for failure in failures.head(20).to_dict("records"):
            error = str(failure["error"] or "").strip()
            first_line = error.splitlines()[0] if error else str(failure["status"])
            position = f"replicate {failure['replicate']}, fold {failure['fold']}"
            where = f"{failure['arm']} on {failure['dataset']} ({position})"
            console.print(
                f"  [red]{failure['status']}[/red] {short_key(str(failure['key']))} {where}: {first_line}",
                highlight=False,
            )


@app.command()
@handles_errors
def show(
    study: Annotated[str, typer.Argument(help="The study name.")],
    store: StoreOption = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Only these metrics.")] = None,
) -> None:
    """Each arm x dataset: mean and standard deviation of every metric over replicates."""
    from rigorlab.store import open_store, summarize

    with open_store(store, read_only=True) as run_store:
        info = run_store.study_info(study)
        metrics = run_store.metrics(study)
        trials = run_store.trials(study, status="done")
    if metrics.empty:
        raise InputError(f"Study '{study}' has no finished trials yet. Run `rigorlab run` on its study file first.")
    summary = summarize(metrics)
    names = list(dict.fromkeys(summary["metric"]))
    if metric:
        unknown = [m for m in metric if m not in names]
        if unknown:
            raise InputError(f"Study '{study}' has no metric {', '.join(unknown)}. Stored metrics: {', '.join(names)}.")
        names = [m for m in names if m in metric]
    primary = info.get("primary_metric")
    names.sort(key=lambda m: (m != primary, m))
    table = Table(title=f"{study}: mean ± sd over replicates", show_edge=False)
    table.add_column("dataset")
    table.add_column("arm")
    table.add_column("n")
    for name in names:
        table.add_column(name + (" *" if name == primary else ""), justify="right")
    table.add_column("fit s", justify="right")
    fit = trials.groupby(["dataset", "arm"])["fit_seconds"].mean() if not trials.empty else pd.Series(dtype=float)
    for (dataset, arm), group in summary.groupby(["dataset", "arm"], sort=True):
        by_metric = group.set_index("metric")
        cells = []
        for name in names:
            if name in by_metric.index:
                row = by_metric.loc[name]
                std = "" if pd.isna(row["std"]) else f" ± {row['std']:.4f}"
                cells.append(f"{row['mean']:.4f}{std}")
            else:
                cells.append("-")
        replicates = int(group["replicates"].max())
        fit_seconds = fit.get((dataset, arm))
        table.add_row(
            str(dataset), str(arm), str(replicates), *cells, "-" if fit_seconds is None else f"{fit_seconds:.3f}"
        )
    console.print(table)
    console.print("* primary metric. Intervals and tests: rigorlab compare (statistics).", style="dim")


@app.command()
@handles_errors
def trials(
    study: Annotated[str, typer.Argument(help="The study name.")],
    store: StoreOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help="json or csv.")] = "csv",
    status_filter: Annotated[str | None, typer.Option("--status", help="Only trials with this status.")] = None,
    all_trials: Annotated[bool, typer.Option("--all", help="Include trials outside the current plan.")] = False,
) -> None:
    """Every trial of a study, one row each, as CSV or JSON (for scripts)."""
    from rigorlab.store import open_store

    choice(format, ("csv", "json"))
    with open_store(store, read_only=True) as run_store:
        frame = run_store.trials(study, status=status_filter, all_trials=all_trials)
    if format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        records = json.loads(frame.to_json(orient="records"))
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
