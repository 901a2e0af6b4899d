"""Commands for reproduce-and-verify: reproduce, bundle, verifications."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
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

if TYPE_CHECKING:
    from rigorlab.provenance import ReproductionReport, Tolerances, TrialVerification

SHOWN_PER_VERDICT = 10


def _is_bundle(source: str) -> bool:
    from rigorlab.provenance._bundle import BUNDLE_SUFFIXES

    return source.endswith(BUNDLE_SUFFIXES) or Path(source).is_file()


def _print_plan(report: ReproductionReport, tolerances: Tolerances) -> None:
    refused = sum(1 for v in report.verifications if v.verdict == "refused")
    skipped = sum(1 for v in report.verifications if v.verdict == "not_reproducible")
    console.print(
        f"Reproducing study [bold]{escape(report.study)}[/bold] from {escape(str(report.source))}: "
        f"{report.selected} trial(s) selected, "
        f"{report.to_run} to re-run"
        + (f", {refused} refused" if refused else "")
        + (f", {skipped} not reproducible automatically" if skipped else "")
        + ".",
        highlight=False,
    )
    for diff in report.environments:
        label = f"environment {diff.stored_hash[:10]}" if diff.stored_hash else "an unrecorded environment"
        if not diff.recorded:
            console.print(f"Environment: {diff.trials} trial(s) ran in {label}; it cannot be compared.", markup=False)
        elif not diff.changes:
            console.print(
                f"Environment: the same as when {diff.trials} trial(s) ran ({label}); bit-identical results expected.",
                markup=False,
            )
        else:
            console.print(
                f"Environment differences from {label} ({diff.trials} trial(s)):", highlight=False, markup=False
            )
            for line in diff.lines():
                console.print(f"  {line}", highlight=False, markup=False)
        if diff.recorded and (diff.changes or tolerances.default is not None):
            tolerance, reason = tolerances.base(diff.same, gpu=False)
            console.print(f"  tolerance on CPU: {tolerance} ({reason})", highlight=False, markup=False)
    for change in report.git_changes:
        console.print(f"Git: {change}", highlight=False, markup=False)
    for name, problem in report.dataset_problems.items():
        console.print(f"[yellow]Data[/yellow] {escape(name)}: {escape(problem)}", highlight=False)
    if report.invocations:
        console.print(
            f"Tracked runs: {len(report.invocations)} script invocation(s) to re-run:", highlight=False, markup=False
        )
        for line in report.invocations:
            console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)


def _print_verdicts(report: ReproductionReport) -> None:
    counts = report.counts()
    text = ", ".join(f"{n} {verdict.replace('_', ' ')}" for verdict, n in counts.items()) or "nothing to compare"
    state = "Interrupted" if report.interrupted else "Verdicts"
    console.print(f"{state} ({report.seconds:.1f} s): {text}.", highlight=False, markup=False)
    shown: dict[str, int] = {}
    for verification in report.verifications:
        if verification.verdict == "identical":
            continue
        shown[verification.verdict] = shown.get(verification.verdict, 0) + 1
        if shown[verification.verdict] > SHOWN_PER_VERDICT:
            continue
        _print_one(verification)
    for verdict, count in shown.items():
        if count > SHOWN_PER_VERDICT:
            console.print(f"  ... and {count - SHOWN_PER_VERDICT} more {verdict.replace('_', ' ')} (--json for all)")


def _print_one(verification: TrialVerification) -> None:
    colour = {"within_tolerance": "green", "different": "red", "failed": "red", "refused": "yellow"}.get(
        verification.verdict, "dim"
    )
    console.print(
        f"  [{colour}]{verification.verdict.replace('_', ' ')}[/{colour}] {short_key(verification.key)} "
        + escape(f"{verification.where}: {verification.summary().split(': ', 1)[-1]}"),
        highlight=False,
    )
    for line in verification.differences[1:4]:
        console.print(f"      {line}", highlight=False, markup=False)
    if verification.explanation:
        console.print(f"      likely: {'; '.join(verification.explanation[:3])}", highlight=False, markup=False)
    for note in verification.notes:
        console.print(f"      note: {note}", highlight=False, markup=False)


@app.command()
@handles_errors
def reproduce(
    source: Annotated[
        str, typer.Argument(help="A study name in the store (or its study file), or a bundle (.tar.gz).")
    ],
    store: StoreOption = None,
    trial: Annotated[
        list[str] | None, typer.Option("--trials", "--trial", "-t", help="Trial keys or unique prefixes (repeat).")
    ] = None,
    sample: Annotated[int | None, typer.Option("--sample", help="A random sample of N finished trials.")] = None,
    all_trials: Annotated[
        bool, typer.Option("--all", help="Every finished trial stored, also those of earlier study files.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --sample.")] = 0,
    tolerance: Annotated[
        list[str] | None,
        typer.Option("--tolerance", help="Absolute tolerance: VALUE for every metric, or METRIC=VALUE (repeat)."),
    ] = None,
    rtol: Annotated[
        list[str] | None, typer.Option("--rtol", help="Relative tolerance: VALUE or METRIC=VALUE (repeat).")
    ] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Require bit-identical results everywhere.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = None,
    script_timeout: Annotated[
        float | None,
        typer.Option(
            "--script-timeout", min=0.001, help="Seconds a tracked run's script may take to re-run (default 3600)."
        ),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="A folder holding moved data files.")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the scratch store and print where it is.")] = False,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="Do not store the verdicts (the store is then not changed at all).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the environment diff and what would run; run nothing.")
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the full report as JSON here.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Re-run stored trials from their provenance and verify that the results come out the same.
    Exit code 0 when every re-run trial is identical or within tolerance, 1 when some differ,
    failed or were refused, 2 for bad input (or when every trial was refused), 130 if interrupted.
    """
    from rigorlab.provenance import Tolerances, reproduce_bundle
    from rigorlab.provenance import reproduce as reproduce_study

    tolerances = Tolerances.parse(tolerance or [], rtol or [], exact=exact)
    progress = QuietProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[bad]}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    )
    progress_task: Any = None

    def on_start(report: ReproductionReport) -> None:
        nonlocal progress_task
        _print_plan(report, tolerances)
        if not quiet and not dry_run and report.to_run:
            progress.start()
            progress_task = progress.add_task("re-running", total=report.to_run, bad="")

    def on_result(verification: TrialVerification) -> None:
        if progress_task is None or verification.verdict in ("refused", "not_reproducible"):
            return
        if verification.verified:
            progress.update(progress_task, advance=1)
        else:
            progress.update(progress_task, advance=1, bad="[red]mismatches")

    keys = [key.strip() for given in trial or [] for key in given.split(",") if key.strip()]
    options: dict[str, Any] = {
        "tolerances": tolerances,
        "jobs": jobs,
        "script_timeout": script_timeout,
        "data_dir": data_dir,
        "keep": keep,
        "dry_run": dry_run,
        "on_start": on_start,
        "on_result": on_result,
        "trials": keys or None,
        "sample": sample,
        "all_trials": all_trials,
        "seed": seed,
    }
    source = resolve_study(source)  # a study file means the study it names, not a bundle
    try:
        if _is_bundle(source):
            report = reproduce_bundle(source, **options)
        else:
            report = reproduce_study(source, store=store, record=not no_record, **options)
    finally:
        progress.stop()
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    if dry_run:
        console.print("Dry run: nothing was run or recorded.")
        return
    _print_verdicts(report)
    if report.scratch is not None:
        console.print(f"Scratch store kept at {report.scratch}", highlight=False, markup=False)
    if report.recorded:
        console.print(
            f"Recorded {len(report.verifications)} verdict(s) (rigorlab verifications {report.study}).",
            highlight=False,
        )
    if report.interrupted:
        raise typer.Exit(code=130)
    if report.verifications and all(v.verdict == "refused" for v in report.verifications):
        raise typer.Exit(code=2)
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
@handles_errors
def bundle(
    study: Annotated[str, typer.Argument(help="The study name (or its study file).")],
    out: Annotated[Path, typer.Argument(help="The bundle to write (.tar.gz).")],
    store: StoreOption = None,
    with_data: Annotated[bool, typer.Option("--with-data", help="Include the data files.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT.")] = False,
) -> None:
    """Write what a reader needs to re-run and verify a study: study file, plan, provenance,
    environment lock, dataset fingerprints (and data), results."""
    from rigorlab.provenance import write_bundle

    study = resolve_study(study)
    info = write_bundle(study, out, store=store, with_data=with_data, force=force)
    console.print(
        f"Wrote {info.path} ({info.size_bytes / 1e6:.1f} MB, {info.files} files): study {info.study}, "
        f"{info.trials} trial(s)" + (f", data of {', '.join(info.data_files)}" if info.data_files else "") + ".",
        highlight=False,
        markup=False,
    )
    for name, reason in info.not_bundled.items():
        console.print(f"  dataset {name}: {reason}", highlight=False, markup=False)
    console.print(f"A reader verifies it with: rigorlab reproduce {info.path.name}", highlight=False, markup=False)


@app.command()
@handles_errors
def verifications(
    study: Annotated[str, typer.Argument(help="The study name (or its study file).")],
    store: StoreOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """How many finished trials were verified by `rigorlab reproduce`, and when (the latest verdicts)."""
    from rigorlab.provenance import verification_summary

    choice(format, ("table", "csv", "json"))
    study = resolve_study(study)
    summary = verification_summary(study, store)
    if format == "csv":
        sys.stdout.write(summary.latest.to_csv(index=False))
        return
    if format == "json":
        records = json.loads(summary.latest.to_json(orient="records"))
        payload = {
            "summary": summary.line(),
            "verified": summary.verified,
            "finished": summary.finished,
            "counts": summary.counts,
            "last_verified_at": summary.last_verified_at,
            "trials": records,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    console.print(summary.line(), highlight=False)
    latest = summary.latest
    if latest.empty or latest["verdict"].isna().all():
        return
    table = Table(show_edge=False)
    name_column(table, "dataset")
    name_column(table, "arm")
    for column in ("verified", "not verified", "last verified"):
        table.add_column(column)
    for (dataset, arm), group in latest.groupby(["dataset", "arm"], sort=True):
        dates = [str(d) for d in group["verified_at"] if d is not None]
        table.add_row(
            str(dataset),
            str(arm),
            str(int(group["verified"].sum())),
            str(int((~group["verified"]).sum())),
            max(dates)[:19] if dates else "-",
        )
    console.print(table)
