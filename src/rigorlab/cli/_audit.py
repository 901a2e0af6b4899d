"""The ``rigorlab audit`` command: run a study's audits, write the cards, and print what was found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from rigorlab.cli._app import StoreOption, app, console, errors, handles_errors

SEVERITY_STYLE = {"severe": "bold red", "warning": "yellow", "info": "dim"}
FINDINGS_SHOWN = 25
OVERVIEW_ROWS_SHOWN = 20
FINDINGS_TITLE = (
    "Findings (most severe first; one row per check, arm and severity: n = trials with that severity, "
    "the worst shown; fairness is judged on the mean over an arm's trials)"
)
OVERVIEW_TITLES = {
    "data": "Data checks per dataset (rows concerned)",
    "fairness": "Largest disparity per arm (mean over trials, 95% t interval; vs baseline: paired test, Holm across "
    "arms x attributes x metrics)",
    "robustness": "Score drop at the largest perturbation strength (paired per replicate, 95% t interval)",
    "adversarial": "Accuracy at the largest attack epsilon (95% t interval)",
    "explain": "Top features per arm (mean importance; ranking stability: mean Spearman across replicates)",
}
CARDS_WRITTEN = "Cards: {count} Markdown file(s) in {folder}/ (model cards and datasheets; also kept in the store)."
CARDS_STORED_ONLY = (
    "Cards are kept in the store; `rigorlab audit {study} --only cards` writes them as Markdown files "
    "(default folder {folder}/)."
)


SKIPPED_AGAIN = "  (each reason of a skipped audit is shown once; the summary counts them)"


def print_audit_result(result: Any, seen_skips: set[tuple[str, str]] | None = None) -> None:
    """One progress line for a stored audit result (stderr).

    ``seen_skips``: the (kind, reason) of the skipped audits already printed; a skipped audit whose
    reason is in it prints nothing (the same reason would repeat once per trial), and the summary
    counts them. Text from results and messages is escaped: rich markup would eat ``[column, ...]``.
    """
    detail = result.first_error_line() if result.status == "failed" else (result.message or "")
    if result.status == "skipped" and seen_skips is not None:
        reason = (str(result.kind), str(detail))
        if reason in seen_skips:
            return
        if not seen_skips:
            errors.print(SKIPPED_AGAIN, highlight=False, style="dim")
        seen_skips.add(reason)
    where = " ".join(str(p) for p in (result.arm, result.dataset) if p)
    if result.replicate is not None and not (result.status == "skipped" and seen_skips is not None):
        where += f" (replicate {result.replicate}, fold {result.fold})"
    status = {"done": "[green]done[/green]", "skipped": "[yellow]skipped[/yellow]"}.get(
        result.status, "[red]failed[/red]"
    )
    text = f"{result.kind}: {where}{': ' + detail if detail else ''}"
    errors.print(f"  {status} {escape(text)}", highlight=False)


def print_audit_summary(summary: Any, card_files: Sequence[Path] | None = None) -> None:
    """What an audit run did, why audits did not apply, the findings and an overview of the kinds it ran,
    where the cards are, and its failures. ``card_files``: the Markdown cards written (None: not written)."""
    from rigorlab.audits import (
        SKIPPED,
        audit_overview,
        current_audit_results,
        default_cards_folder,
        findings_table,
        study_splits,
    )
    from rigorlab.audits import _messages as msg
    from rigorlab.audits._views import rows_of
    from rigorlab.store import open_store

    state = "Interrupted" if summary.interrupted else "Audited"
    console.print(
        f"{state} study [bold]{summary.study}[/bold] ({', '.join(summary.kinds)}) in {summary.seconds:.1f} s: "
        f"{summary.done} done, {summary.skipped} not applicable, {summary.failed} failed, "
        f"{summary.already_done} already stored, {summary.cards} new card(s) stored."
    )
    for note in dict.fromkeys(summary.notes):
        console.print(f"  [yellow]note[/yellow] {escape(note)}", highlight=False)
    with open_store(summary.store, read_only=True) as run_store:
        results = current_audit_results(run_store, summary.study)
        info = run_store.study_info(summary.study)
        splits = study_splits(run_store, summary.study)
    shown = results[results["kind"].isin(set(summary.kinds))] if not results.empty else results
    skipped = shown[shown["status"] == SKIPPED] if not shown.empty else shown
    reasons = Counter((r.kind, str((r.result or {}).get("message") or "")) for r in rows_of(skipped))
    for (kind, reason), count in reasons.items():
        text = msg.NOT_APPLICABLE.format(count=count, kind=kind, reason=reason)
        console.print(f"  [yellow]{escape(text)}[/yellow]", highlight=False)
    _print_findings(findings_table(shown, splits=splits) if not shown.empty else None)
    baseline = info.get("baseline")
    _print_overview(audit_overview(shown, baseline=baseline, splits=splits) if not shown.empty else {})
    if card_files:
        console.print(CARDS_WRITTEN.format(count=len(card_files), folder=card_files[0].parent), highlight=False)
    elif "cards" in summary.kinds and card_files is None:
        console.print(
            CARDS_STORED_ONLY.format(study=summary.study, folder=default_cards_folder(summary.study)), highlight=False
        )
    for failure in summary.failures[:10]:
        console.print(
            f"  [red]failed[/red] {failure.kind} {failure.arm or ''} {failure.dataset}: "
            + escape(failure.first_error_line()),
            highlight=False,
        )
    if summary.interrupted:
        console.print("Run the same command again to finish the remaining audits.")


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
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.001,
            help="Seconds per audit before it is stopped and stored as failed (default: the study file's).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for the Markdown model cards and datasheets (default: reports/STUDY-cards).",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Audit a study: data quality and leakage, fairness, robustness, explanations, model cards.
    Results are stored with the study's trials; audits already stored are not run again. Audits
    run in worker processes like trials (parallel with --jobs, stopped after --timeout). The model
    cards and datasheets are stored and written as Markdown files (--out). Exits 1 when some audits
    failed (they are stored with their tracebacks), 2 on bad input or, with --strict, on a severe
    data finding, 130 when interrupted with Ctrl-C (what finished is stored).
    """
    from rigorlab.audits import AuditResult, audit_study, check_cards_folder, default_cards_folder, write_cards
    from rigorlab.errors import RigorlabError
    from rigorlab.store import open_store

    if out is not None:
        check_cards_folder(out)  # before any audit runs and is stored
    seen_skips: set[tuple[str, str]] = set()

    def on_result(result: AuditResult) -> None:
        if not quiet:
            print_audit_result(result, seen_skips)

    summary = audit_study(
        Path(study) if study.endswith((".yaml", ".yml")) else study,
        store=store,
        only=only,
        strict=strict,
        jobs=jobs,
        rerun_failed=rerun_failed,
        timeout=timeout,
        on_result=on_result,
    )
    card_files: list[Path] | None = None
    if "cards" in summary.kinds and not summary.interrupted:
        try:
            with open_store(summary.store, read_only=True) as run_store:
                card_files = write_cards(run_store, summary.study, out or default_cards_folder(summary.study))
        except RigorlabError:
            print_audit_summary(summary)  # the audits are stored: show them, then the problem with the folder
            raise
    print_audit_summary(summary, card_files)
    if summary.interrupted:
        raise typer.Exit(code=130)
    if summary.failed:
        raise typer.Exit(code=1)


def _print_findings(findings: Any) -> None:
    from rigorlab.audits._views import rows_of

    if findings is None or findings.empty:
        console.print("No findings.")
        return
    table = Table(title=FINDINGS_TITLE, show_edge=False)
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
            escape(str(row.message)),
        )
    console.print(table)
    if len(findings) > FINDINGS_SHOWN:
        console.print(f"... and {len(findings) - FINDINGS_SHOWN} more (rigorlab.audits.findings_table in Python).")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def _with_interval(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """``value``, ``low`` and ``high`` as one column ``value [low, high]``."""
    if value not in frame or "low" not in frame:
        return frame
    text = [
        _cell(v) + (f" [{lo:.3f}, {hi:.3f}]" if pd.notna(lo) and pd.notna(hi) else "")
        for v, lo, hi in zip(frame[value], frame["low"], frame["high"], strict=True)
    ]
    return frame.drop(columns=["low", "high"]).assign(**{value: text})


def _print_overview(overview: dict[str, pd.DataFrame]) -> None:
    """The overview tables (``rigorlab.audits.audit_overview``); the cards are listed by their files."""
    from rigorlab.audits._overview import CLIPPED_NOTE

    for kind, frame in overview.items():
        if kind not in OVERVIEW_TITLES:
            continue
        shown = _with_interval(_with_interval(frame, "estimate"), "drop").head(OVERVIEW_ROWS_SHOWN)
        table = Table(title=OVERVIEW_TITLES[kind], show_edge=False)
        for column in shown.columns:
            table.add_column(str(column), overflow="fold")
        for row in shown.itertuples(index=False):
            table.add_row(*(_cell(value) for value in row))
        console.print(table)
        if frame.attrs.get("clipped"):
            console.print(escape(CLIPPED_NOTE.format(range=frame.attrs["clipped"])), highlight=False, style="dim")
        if len(frame) > OVERVIEW_ROWS_SHOWN:
            console.print(f"... and {len(frame) - OVERVIEW_ROWS_SHOWN} more (rigorlab.audits.audit_overview).")
