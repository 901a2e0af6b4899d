"""``rigorlab compare``: what beats what, with intervals, corrected tests and plain verdicts."""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any, cast

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from rigorlab.cli._app import (
    HigherOption,
    LowerOption,
    StoreOption,
    app,
    choice,
    console,
    direction,
    handles_errors,
    name_column,
    resolve_study,
)
from rigorlab.errors import InputError

FORMATS = ("table", "json", "csv")
SPLITS = ("resampled", "shared", "fixed", "unknown")
HELP_SPLITS = (
    "How replicates' splits relate: resampled (new splits per replicate), shared (one k-fold split for all), "
    "fixed (one fixed split: conditional inference) or unknown (both tests, the more conservative counts). "
    "Default: from the study's protocol; tracked runs: fixed with one fold, unknown with several."
)
TABLES = ("comparisons", "estimates", "ranks", "friedman", "nemenyi", "wilcoxon", "bayesian")
MSG_NO_TABLE = "The comparison has no '{table}' table (it needs {need}). Tables here: {available}."
MSG_TABLE_NEEDS_FORMAT = (
    "--table picks one table for --format csv or --format json; the default view (--format table) prints them all. "
    "Add --format csv or --format json."
)
VERDICT_STYLE = {"better": "bold green", "worse": "bold red"}
WARNING_MARK = "(!)"
LEGEND_WARNING_MARK = "(!) after a verdict: a warning about that comparison; the notes above say which."
HELP_TABLE = (
    "One table for --format csv (default: comparisons) or --format json (default: everything): "
    + ", ".join(TABLES)
    + "."
)


def _number(value: Any, digits: int = 4) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def _interval(mean: Any, low: Any, high: Any, digits: int = 4) -> str:
    return f"{_number(mean, digits)} [{_number(low, digits)}, {_number(high, digits)}]"


def _p_value(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value < 0.001:
        return "<0.001"
    # Three significant digits below 0.1, so that 0.0498 (a verdict) never reads as 0.050.
    return f"{value:.3g}" if value < 0.1 else f"{value:.3f}"


def _p_text(value: Any) -> str:
    """``p = 0.135``, ``p < 0.001`` or ``no p-value``: a p-value inside a sentence."""
    shown = _p_value(value)
    if shown == "-":
        return "no p-value"
    return "p < 0.001" if shown == "<0.001" else f"p = {shown}"


def _why(reason: str) -> str:
    return f" ({reason})" if reason else ""


def _header(comparison: Any) -> str:
    direction = "higher" if comparison.higher_is_better else "lower"
    metric_reason = f"; {comparison.metric_reason}" if comparison.metric_reason else ""
    rest = (
        f" ({direction} is better: {comparison.direction}{metric_reason}), baseline "
        f"[bold]{escape(comparison.baseline)}[/bold]"
    )
    return f"[bold]{escape(comparison.metric)}[/bold]{rest}" + escape(
        f"{_why(comparison.baseline_reason)}, {comparison.confidence:.0%} intervals; splits "
        f"{comparison.splits} ({comparison.splits_reason})"
    )


def _ranking_line(comparison: Any) -> str | None:
    from rigorlab.stats import MIN_DATASETS_FOR_RANKING

    ranking = comparison.ranking
    average = ranking.average_ranks if ranking is not None else comparison.average_ranks
    if average is None:
        return None
    ranks = ", ".join(f"{arm} {rank:.2f}" for arm, rank in average.sort_values().items())
    n_datasets = len(comparison.datasets)
    if ranking is None:
        return (
            f"Across {n_datasets} datasets: average ranks (1 = best) {ranks}: a description only, no tests across "
            f"datasets (they need at least {MIN_DATASETS_FOR_RANKING} datasets; see the problem below)."
        )
    friedman = ranking.friedman
    if math.isinf(friedman.iman_davenport):
        iman = "Iman-Davenport F infinite (every dataset ranks the arms alike)"
    else:
        iman = f"Iman-Davenport F = {friedman.iman_davenport:.3f} ({_p_text(friedman.iman_davenport_p_value)})"
    return (
        f"Across {friedman.n_datasets} datasets: average ranks (1 = best) {ranks}. Friedman chi2 = "
        f"{friedman.chi2:.3f} ({_p_text(friedman.chi2_p_value)}), {iman}; "
        f"Nemenyi critical difference {ranking.critical_difference:.3f}."
    )


def _grouped_notes(notes: list[tuple[str, str, str]], compared: dict[str, list[str]]) -> list[str]:
    """One line per distinct note, naming where it applies: every comparison, every comparison on
    a dataset, or the arms concerned (rather than the same sentence once per comparison)."""
    places: dict[str, list[tuple[str, str]]] = {}
    for arm, dataset, text in notes:
        places.setdefault(text, []).append((arm, dataset))
    total = sum(len(arms) for arms in compared.values())
    lines = []
    for text, where in places.items():
        if len(where) == total and total > 1:
            lines.append(f"(every comparison) {text}")
            continue
        parts = []
        for dataset in dict.fromkeys(dataset for _, dataset in where):
            arms = [arm for arm, on in where if on == dataset]
            if len(arms) == len(compared.get(dataset, [])) and len(arms) > 1:
                parts.append(f"every comparison on {dataset}")
            else:
                parts.append(f"{', '.join(arms)} on {dataset}")
        lines.append(f"{'; '.join(parts)}: {text}")
    return lines


def _print_tables(comparison: Any) -> None:
    metric = comparison.metric
    console.print(_header(comparison), highlight=False, soft_wrap=True)
    estimates = comparison.estimates[comparison.estimates["metric"] == metric].set_index(["dataset", "arm"])
    rows = comparison.comparisons.set_index(["dataset", "arm"])
    notes: list[tuple[str, str, str]] = []
    compared: dict[str, list[str]] = {}
    for dataset in comparison.datasets:
        table = Table(title=escape(f"{dataset}"), show_edge=False, title_justify="left")
        name_column(table, "arm")
        for column in ("mean [CI]", "n", "diff vs baseline [CI]", "effect", "p (Holm)", "P(better)"):
            # Fold, never cut: "[-0.095…" on a narrow terminal would hide the sign of a bound.
            table.add_column(column, justify="right", overflow="fold")
        name_column(table, "verdict")
        for arm in comparison.arms:
            if (dataset, arm) not in estimates.index:
                continue
            estimate = estimates.loc[(dataset, arm)]
            mean = _interval(estimate["mean"], estimate["low"], estimate["high"])
            if arm == comparison.baseline:
                table.add_row(escape(f"{arm} (baseline)"), mean, str(int(estimate["n"])), "", "", "", "", "")
                continue
            if (dataset, arm) not in rows.index:
                table.add_row(escape(arm), mean, str(int(estimate["n"])), "-", "-", "-", "-", "not compared")
                continue
            compared.setdefault(dataset, []).append(arm)
            row = rows.loc[(dataset, arm)]
            verdict = str(row["verdict"])
            style = VERDICT_STYLE.get(verdict, "yellow")
            warnings = list(row["warnings"])
            table.add_row(
                escape(arm),
                mean,
                str(int(estimate["n"])),
                _interval(row["mean_diff"], row["low"], row["high"]),
                _number(row["effect_size"], 2),
                _p_value(row["p_adjusted"]),
                _number(row["prob_better"], 2),
                f"[{style}]{verdict}[/{style}]" + (f" [dim]{WARNING_MARK}[/dim]" if warnings else ""),
            )
            notes.extend((arm, dataset, warning) for warning in warnings)
            needed = row["replicates_needed_for_80pct_power"]
            if verdict == "no evidence of a difference" and needed is not pd.NA and not pd.isna(needed):
                # On a fixed split more seeds answer the question for that split only.
                scope = " on this split" if comparison.splits == "fixed" else ""
                notes.append(
                    (
                        arm,
                        dataset,
                        f"about {int(needed)} replicates would detect a difference of "
                        f"{abs(float(row['mean_diff'])):.4g}{scope} with 80% power (rerun with replicates: "
                        f"{int(needed)}).",
                    )
                )
        console.print(table)
    ranking_line = _ranking_line(comparison)
    if ranking_line is not None:
        console.print(ranking_line, highlight=False, soft_wrap=True, markup=False)
    if comparison.bayesian is not None:
        for record in comparison.bayesian.to_dict("records"):
            console.print(
                f"Bayesian ({record['test']}, rope {record['rope']:g}) {record['arm']} on {record['dataset']}: "
                f"P(arm better) {_number(record['p_arm_better'], 3)}, P(rope) {_number(record['p_rope'], 3)}, "
                f"P(baseline better) {_number(record['p_baseline_better'], 3)}",
                highlight=False,
                markup=False,
            )
    for note in _grouped_notes(notes, compared):
        console.print(f"[yellow]note[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    for problem in comparison.problems:
        console.print(f"[yellow]problem[/yellow] {escape(problem)}", highlight=False, soft_wrap=True)
    if any(row_warnings for row_warnings in comparison.comparisons["warnings"]):
        console.print(LEGEND_WARNING_MARK, style="dim", highlight=False, markup=False)
    console.print(comparison.legend, style="dim", highlight=False, soft_wrap=True, markup=False)


@app.command()
@handles_errors
def compare(
    study: Annotated[str, typer.Argument(help="The study name (or its study file).")],
    store: StoreOption = None,
    metric: Annotated[str | None, typer.Option("--metric", "-m", help="Default: the primary metric.")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", "-b", help="Default: the study's baseline.")] = None,
    datasets: Annotated[list[str] | None, typer.Option("--datasets", "-d", help="Only these datasets.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    table_name: Annotated[str | None, typer.Option("--table", help=HELP_TABLE, show_default=False)] = None,
    bayesian: Annotated[bool, typer.Option("--bayesian", help="Add Bayesian tests with a ROPE.")] = False,
    rope: Annotated[float, typer.Option(help="Region of practical equivalence, in metric units.")] = 0.01,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples per interval.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    higher: HigherOption = False,
    lower: LowerOption = False,
    splits: Annotated[str | None, typer.Option("--splits", help=HELP_SPLITS, show_default=False)] = None,
) -> None:
    """Paired comparisons against the baseline with Holm-corrected tests and plain verdicts;
    ranks and the Friedman test across datasets."""
    from rigorlab.stats import compare_stored
    from rigorlab.store import open_store

    choice(format, FORMATS)
    higher_is_better = direction(higher, lower)
    if table_name is not None:
        choice(table_name, TABLES, "--table")
        if format == "table":
            raise InputError(MSG_TABLE_NEEDS_FORMAT)
    if splits is not None:
        choice(splits, SPLITS, "--splits")
    study = resolve_study(study)
    with open_store(store, read_only=True) as run_store:
        comparison = compare_stored(
            run_store,
            study,
            metric=metric,
            baseline=baseline,
            datasets=datasets,
            bayesian=bayesian,
            rope=rope,
            n_resamples=resamples,
            seed=seed,
            higher_is_better=higher_is_better,
            splits=cast(Any, splits),  # one of SPLITS, checked above
        )
    if format == "table":
        _print_tables(comparison)
        return
    tables = comparison.tables()
    if table_name is not None and table_name not in tables:
        need = "--bayesian" if table_name == "bayesian" else _table_need(table_name)
        raise InputError(MSG_NO_TABLE.format(table=table_name, need=need, available=", ".join(tables)))
    if format == "json":
        payload: Any = comparison.to_dict() if table_name is None else comparison.table_records(table_name)
        sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(tables[table_name or "comparisons"].to_csv(index=False))


def _table_need(table: str) -> str:
    from rigorlab.stats import MIN_DATASETS_FOR_RANKING

    if table == "ranks":
        return "at least 2 datasets with every arm"
    return f"at least {MIN_DATASETS_FOR_RANKING} datasets with every arm"
