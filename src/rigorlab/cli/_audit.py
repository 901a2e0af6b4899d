"""The ``rigorlab audit`` command: run a study's audits and print what they found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from rigorlab.cli._app import StoreOption, app, console, errors, handles_errors

SEVERITY_STYLE = {"severe": "bold red", "warning": "yellow", "info": "dim"}
FINDINGS_SHOWN = 25


@app.command()
@handles_errors
def audit(
    study: Annotated[str, typer.Argument(help="A study name in the store, or a study file (YAML).")],
    store: StoreOption = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only", help="Comma-separated audits: data, fairness, robustness, explain, cards (default: all)."
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Stop with an error (exit 2) on a severe data finding, before other audits."),
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes (default: 1).")] = 1,
    rerun_failed: Annotated[bool, typer.Option("--rerun-failed", help="Run again audits stored as failed.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Audit a study: data quality and leakage, fairness, robustness, explanations, model cards.

    Results are stored with the study's trials; audits already stored are not run again. Exits 1
    when some audits failed (they are stored with their tracebacks), 2 on bad input or, with
    --strict, on a severe data finding.
    """
    from rigorlab.audits import AuditResult, audit_study, findings_table
    from rigorlab.audits._views import current_audit_results
    from rigorlab.store import open_store

    def on_result(result: AuditResult) -> None:
        if quiet:
            return
        where = " ".join(str(p) for p in (result.arm, result.dataset) if p)
        if result.replicate is not None:
            where += f" (replicate {result.replicate}, fold {result.fold})"
        status = {"done": "[green]done[/green]", "skipped": "[yellow]skipped[/yellow]"}.get(
            result.status, "[red]failed[/red]"
        )
        detail = result.first_error_line() if result.status == "failed" else (result.message or "")
        errors.print(f"  {status} {result.kind}: {where}{': ' + detail if detail else ''}", highlight=False)

    summary = audit_study(
        Path(study) if study.endswith((".yaml", ".yml")) else study,
        store=store,
        only=only,
        strict=strict,
        jobs=jobs,
        rerun_failed=rerun_failed,
        on_result=on_result,
    )
    console.print(
        f"Audited study [bold]{summary.study}[/bold] ({', '.join(summary.kinds)}) in {summary.seconds:.1f} s: "
        f"{summary.done} done, {summary.skipped} not applicable, {summary.failed} failed, "
        f"{summary.already_done} already stored, {summary.cards} card(s) written."
    )
    for note in dict.fromkeys(summary.notes):
        console.print(f"  [yellow]note[/yellow] {note}", highlight=False)
    with open_store(summary.store, read_only=True) as run_store:
        results = current_audit_results(run_store, summary.study)
    kinds = set(summary.kinds)
    shown = results[results["kind"].isin(kinds)] if not results.empty else results
    _print_findings(findings_table(shown) if not shown.empty else None)
    for failure in summary.failures[:10]:
        console.print(
            f"  [red]failed[/red] {failure.kind} {failure.arm or ''} {failure.dataset}: {failure.first_error_line()}",
            highlight=False,
        )
    if summary.failed:
        raise typer.Exit(code=1)


def _print_findings(findings: Any) -> None:
    from rigorlab.audits._views import rows_of

    if findings is None or findings.empty:
        console.print("No findings.")
        return
    table = Table(title="Findings (most severe first; repeated findings counted over trials)", show_edge=False)
    for column in ("severity", "audit", "dataset", "arm", "n", "finding"):
        table.add_column(column, overflow="fold")
    for row in rows_of(findings.head(FINDINGS_SHOWN)):
        style = SEVERITY_STYLE.get(str(row.severity), "")
        table.add_row(
            f"[{style}]{row.severity}[/{style}]",
            f"{row.kind}/{row.check}",
            str(row.dataset),
            "" if pd.isna(row.arm) else str(row.arm),
            str(row.count),
            str(row.message),
        )
    console.print(table)
    if len(findings) > FINDINGS_SHOWN:
        console.print(f"... and {len(findings) - FINDINGS_SHOWN} more (rigorlab.audits.findings_table in Python).")
