"""Commands for study files and their stored trials: init, check, run, status, show, trials."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from rigorlab.cli._app import (
    QuietProgress,
    StoreOption,
    app,
    choice,
    console,
    errors,
    handles_errors,
    name_column,
    resolve_study,
    short_key,
)
from rigorlab.errors import InputError

MSG_INIT_EXISTS = "{path} already exists; pass --force to overwrite it, or give another path."
MSG_INIT_FOLDER = "{path} is a folder; give the path of the study file to write, such as {path}/study.yaml."
MSG_INIT_UNWRITABLE = "Cannot write {path}: {reason}. Give a path in a folder you can write to."
MSG_FAILED_KEPT = (
    "{count} failed trial(s) from earlier runs are kept: `rigorlab status {study}` shows their errors, "
    "`rigorlab run {file} --rerun-failed` retries them."
)


@app.command()
@handles_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path("study.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented study template to start from."""
    from rigorlab.spec._template import TEMPLATE

    if path.is_dir():
        raise InputError(MSG_INIT_FOLDER.format(path=path))
    if path.exists() and not force:
        raise InputError(MSG_INIT_EXISTS.format(path=path))
    name = path.stem if path.stem != "study" else "my-study"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATE.format(file=path, name=name), encoding="utf-8")
    except OSError as error:
        raise InputError(MSG_INIT_UNWRITABLE.format(path=path, reason=error.strerror or error)) from error
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
    console.print(f"[bold green]OK[/bold green] {escape(str(study_file))}: study [bold]{escape(spec.study)}[/bold]")
    table = Table(title="Datasets", show_edge=False)
    for column in ("dataset", "task", "rows", "features", "fingerprint"):
        table.add_column(column)
    for dataset in datasets.values():
        table.add_row(
            escape(dataset.name),
            dataset.task,
            str(dataset.n_rows),
            str(dataset.features.shape[1]),
            dataset.fingerprint[:12],
        )
    console.print(table)
    arms = ", ".join(arm.name for arm in plan.arms)
    protocol = spec.protocol
    folds = protocol.folds_per_replicate
    console.print(f"Arms ({len(plan.arms)}): {arms}", markup=False)
    console.print(
        f"Protocol: {protocol.kind}, {folds} fold(s) per replicate, {spec.replicates} replicate(s)"
        + (f", nested selection with {protocol.inner_folds} inner folds" if protocol.inner_folds else "")
    )
    for line in _shift_lines(plan):
        console.print(escape(line), highlight=False)
    audits = _audit_lines(spec, datasets, plan)
    console.print(
        f"Trial plan: {len(plan.arms)} arms x {len(datasets)} datasets x {spec.replicates} replicates x {folds} folds "
        f"= [bold]{plan.size}[/bold] trials." + ("" if audits else " Nothing was run.")
    )
    for line in audits:
        console.print(escape(line), highlight=False)
    if audits:
        console.print("Nothing was run.")


def _shift_lines(plan: Any) -> list[str]:
    """For a group-shift protocol: each dataset's training groups and what is tested."""
    protocol = plan.spec.protocol
    if protocol.kind != "group_shift":
        return []
    lines = []
    for dataset in plan.spec.datasets:
        trial = next(t for t in plan.trials if t.dataset == dataset.name)
        groups = ", ".join(trial.train_groups[:12]) + (" ..." if len(trial.train_groups) > 12 else "")
        lines.append(
            f"  {dataset.name}: trains on {dataset.group} in ({groups}) and tests on the other groups; "
            f"{protocol.test_size:g} of the training groups' rows are the in-distribution test "
            "(metrics stored as <metric>@in_distribution)."
        )
    return lines


def _audit_lines(spec: Any, datasets: Any, plan: Any) -> list[str]:
    """The audits the study file declares, with how many audit tasks each plans."""
    if spec.audits is None or not spec.audits.kinds:
        return []
    from rigorlab.audits import resolve_options

    declared = spec.audits
    lines = [
        "Audits: "
        + ", ".join(declared.kinds)
        + (" (strict: a severe data finding stops the run before training)" if declared.strict else "")
    ]
    for kind in declared.kinds:
        if kind == "data":
            lines.append(f"  data: {len(datasets)} task(s), before training")
        elif kind == "cards":
            lines.append("  cards: a datasheet per dataset and a model card per arm and dataset, after training")
        else:
            trials = plan.trials
            if kind == "fairness":
                usable = [d.name for d in datasets.values() if d.task == "classification" and d.sensitive.shape[1]]
                trials = [t for t in trials if t.dataset in usable]
                skipped = sorted(set(datasets) - set(usable))
                note = (
                    f" (not applicable on {', '.join(skipped)}: no sensitive columns, or regression)" if skipped else ""
                )
            else:
                if resolve_options(kind, declared.options).get("folds", "all") != "all":
                    trials = [t for t in trials if t.fold == 0]
                note = ""
            lines.append(f"  {kind}: {len(trials)} task(s), after training{note}")
    return lines


def _progress() -> Progress:
    return QuietProgress(
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
    replace: Annotated[
        bool, typer.Option("--replace", help="Take over a stored study of the same name run from another file.")
    ] = False,
) -> None:
    """Run a study: every planned trial not stored yet (running it again resumes), and the audits its
    study file declares (the data audit before training; with strict: true a severe data finding
    stops the run with exit 2 before any trial). Exits 1 when trials (of this run or kept from earlier
    runs) or audits failed, 130 on Ctrl-C."""
    from rigorlab.cli._audit import print_audit_result, print_audit_summary
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

    seen_skips: set[tuple[str, str]] = set()

    def on_audit(result: Any) -> None:
        if not quiet:
            print_audit_result(result, seen_skips)

    try:
        summary = run_study(
            study_file,
            store=store,
            jobs=jobs,
            rerun_failed=rerun_failed,
            on_result=on_result,
            on_start=on_start,
            on_audit=on_audit,
            replace=replace,
        )
    finally:
        if progress is not None:
            progress.stop()
    _print_run_summary(summary)
    if summary.audits is not None:
        card_files = None
        if "cards" in summary.audits.kinds and not summary.interrupted:
            from rigorlab.audits import default_cards_folder, write_cards
            from rigorlab.store import open_store

            # The cards as Markdown files too, as `rigorlab audit` writes them.
            with open_store(summary.store, read_only=True) as reader:
                card_files = write_cards(reader, summary.study, default_cards_folder(summary.study))
        print_audit_summary(summary.audits, card_files=card_files)
    if summary.skipped_failed:
        console.print(
            MSG_FAILED_KEPT.format(count=summary.skipped_failed, study=summary.study, file=study_file), style="yellow"
        )
    if summary.interrupted:
        raise typer.Exit(code=130)
    if summary.failed or summary.skipped_failed or summary.audit_failures:
        raise typer.Exit(code=1)


def _print_run_summary(summary: Any) -> None:
    for name, old, new in summary.changed_datasets:
        console.print(
            f"[yellow]Dataset '{escape(name)}' changed since the study last ran "
            f"(fingerprint {old[:12]} -> {new[:12]}): "
            "its trials ran again on the new data; the earlier results stay stored "
            f"(rigorlab trials {summary.study} --all).[/yellow]",
            highlight=False,
        )
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
            f"  [red]failed[/red] {escape(where)}: {escape(failure.first_error_line())}",
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

    study = resolve_study(study) if study is not None else None

    with open_store(store, read_only=True) as run_store:
        if study is None:
            frame = run_store.studies()
            table = Table(title=escape(f"Studies in {run_store.root}"))
            name_column(table, "study")
            for column in ("done", "failed", "running", "pending", "updated"):
                table.add_column(column)
            for record in frame.to_dict("records"):
                table.add_row(
                    escape(str(record["name"])),
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
        if info["spec"] is None and int(info["planned"]) == 0:
            # A study written by rigorlab.track() or an import: it has runs, not a plan.
            console.print(
                f"Study [bold]{study}[/bold] (tracked runs): {done} done, {failed} failed"
                + (f", {running} running" if running else "")
                + "."
            )
        else:
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
            name_column(table, "dataset")
            name_column(table, "arm")
            for column in (str(c) for c in counts.columns):
                table.add_column(column)
            for index, counts_row in zip(counts.index, counts.to_numpy(), strict=True):
                table.add_row(escape(str(index[0])), escape(str(index[1])), *[str(int(v)) for v in counts_row])
            console.print(table)
        failures = trials[trials["status"] != "done"] if not trials.empty else trials
        for failure in failures.head(20).to_dict("records"):
            error = str(failure["error"] or "").strip()
            first_line = error.splitlines()[0] if error else str(failure["status"])
            position = f"replicate {failure['replicate']}, fold {failure['fold']}"
            where = f"{failure['arm']} on {failure['dataset']} ({position})"
            console.print(
                f"  [red]{failure['status']}[/red] {short_key(str(failure['key']))} {escape(where)}: "
                + escape(first_line),
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

    study = resolve_study(study)

    with open_store(store, read_only=True) as run_store:
        info = run_store.study_info(study)
        metrics = run_store.metrics(study)
        all_trials = run_store.trials(study)
    trials = all_trials[all_trials["status"] == "done"] if not all_trials.empty else all_trials
    unfinished = all_trials[all_trials["status"] != "done"] if not all_trials.empty else all_trials
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
    table = Table(title=escape(f"{study}: mean ± sd over replicates"), show_edge=False)
    name_column(table, "dataset")
    name_column(table, "arm")
    table.add_column("n")
    for name in names:
        table.add_column(escape(name) + (" *" if name == primary else ""), justify="right")
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
            escape(str(dataset)),
            escape(str(arm)),
            str(replicates),
            *cells,
            "-" if fit_seconds is None else f"{fit_seconds:.3f}",
        )
    console.print(table)
    console.print("* primary metric. Intervals and tests: rigorlab compare (statistics).", style="dim")
    if not unfinished.empty:
        # An arm whose trials failed has fewer (or no) rows above; say so rather than leave it out silently.
        counts = unfinished.groupby(["dataset", "arm", "status"]).size().reset_index(name="count")
        for record in counts.to_dict("records"):
            console.print(
                f"[yellow]{escape(str(record['arm']))} on {escape(str(record['dataset']))}: {record['count']} "
                f"{record['status']} trial(s) "
                "not in the table[/yellow] "
                f"(rigorlab status {study})",
                highlight=False,
            )


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
    study = resolve_study(study)
    with open_store(store, read_only=True) as run_store:
        frame = run_store.trials(study, status=status_filter, all_trials=all_trials)
    if format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        records = json.loads(frame.to_json(orient="records"))
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
