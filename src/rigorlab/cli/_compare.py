"""``rigorlab compare``: what beats what, with intervals, corrected tests and plain verdicts."""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from rigorlab.cli._app import StoreOption, app, choice, console, handles_errors

FORMATS = ("table", "json", "csv")
TABLES = ("comparisons", "estimates", "ranks", "friedman", "nemenyi", "wilcoxon", "bayesian")
MSG_NO_TABLE = "The comparison has no '{table}' table (it needs {need}). Tables here: {available}."
VERDICT_STYLE = {"better": "bold green", "worse": "bold red"}


def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    return f"{value:.{digits}f}"


def _interval(mean: Any, low: Any, high: Any, digits: int = 4) -> str:
    return f"{_number(mean, digits)} [{_number(low, digits)}, {_number(high, digits)}]"


def _p_value(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _print_tables(comparison: Any) -> None:
    metric = comparison.metric
    direction = "higher" if comparison.higher_is_better else "lower"
    console.print(
        f"[bold]{metric}[/bold] ({direction} is better), baseline [bold]{comparison.baseline}[/bold], "
        f"{comparison.confidence:.0%} intervals"
    )
    estimates = comparison.estimates[comparison.estimates["metric"] == metric].set_index(["dataset", "arm"])
    rows = comparison.comparisons.set_index(["dataset", "arm"])
    power_notes: list[str] = []
    for dataset in comparison.datasets:
        table = Table(title=f"{dataset}", show_edge=False, title_justify="left")
        for column in ("arm", "mean [CI]", "n", "diff vs baseline [CI]", "effect", "p (Holm)", "P(better)", "verdict"):
            table.add_column(column, justify="left" if column in ("arm", "verdict") else "right")
        for arm in comparison.arms:
            if (dataset, arm) not in estimates.index:
                continue
            estimate = estimates.loc[(dataset, arm)]
            mean = _interval(estimate["mean"], estimate["low"], estimate["high"])
            if arm == comparison.baseline:
                table.add_row(f"{arm} (baseline)", mean, str(int(estimate["n"])), "", "", "", "", "")
                continue
            if (dataset, arm) not in rows.index:
                table.add_row(arm, mean, str(int(estimate["n"])), "-", "-", "-", "-", "not compared")
                continue
            row = rows.loc[(dataset, arm)]
            verdict = str(row["verdict"])
            style = VERDICT_STYLE.get(verdict, "yellow")
            warnings = list(row["warnings"])
            table.add_row(
                arm,
                mean,
                str(int(estimate["n"])),
                _interval(row["mean_diff"], row["low"], row["high"]),
                _number(row["effect_size"], 2),
                _p_value(row["p_adjusted"]),
                _number(row["prob_better"], 2),
                f"[{style}]{verdict}[/{style}]" + (" [dim](!)[/dim]" if warnings else ""),
            )
            for warning in warnings:
                power_notes.append(f"{arm} on {dataset}: {warning}")
            needed = row["replicates_needed_for_80pct_power"]
            if verdict == "no evidence of a difference" and needed is not pd.NA and not pd.isna(needed):
                power_notes.append(
                    f"{arm} on {dataset}: about {int(needed)} replicates would detect a difference of "
                    f"{abs(float(row['mean_diff'])):.4g} with 80% power (rerun with replicates: {int(needed)})."
                )
        console.print(table)
    if comparison.ranking is not None:
        ranking = comparison.ranking
        ranks = ", ".join(f"{arm} {rank:.2f}" for arm, rank in ranking.average_ranks.sort_values().items())
        friedman = ranking.friedman
        console.print(
            f"Across {friedman.n_datasets} datasets: average ranks (1 = best) {ranks}. Friedman chi2 = "
            f"{friedman.chi2:.3f} (p = {_p_value(friedman.chi2_p_value)}), Iman-Davenport F p = "
            f"{_p_value(friedman.iman_davenport_p_value)}; "
            f"Nemenyi critical difference {ranking.critical_difference:.3f}."
        )
    if comparison.bayesian is not None:
        for record in comparison.bayesian.to_dict("records"):
            console.print(
                f"Bayesian ({record['test']}, rope {record['rope']:g}) {record['arm']} on {record['dataset']}: "
                f"P(arm better) {record['p_arm_better']:.3f}, P(rope) {record['p_rope']:.3f}, "
                f"P(baseline better) {record['p_baseline_better']:.3f}"
            )
    for note in power_notes:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)
    for problem in comparison.problems:
        console.print(f"[yellow]problem[/yellow] {problem}", highlight=False)
    console.print(comparison.legend, style="dim", highlight=False)


@app.command()
@handles_errors
def compare(
    study: Annotated[str, typer.Argument(help="The study name.")],
    store: StoreOption = None,
    metric: Annotated[str | None, typer.Option("--metric", "-m", help="Default: the primary metric.")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", "-b", help="Default: the study's baseline.")] = None,
    datasets: Annotated[list[str] | None, typer.Option("--datasets", "-d", help="Only these datasets.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    table_name: Annotated[str, typer.Option("--table", help="With --format csv: which table.")] = "comparisons",
    bayesian: Annotated[bool, typer.Option("--bayesian", help="Add Bayesian tests with a ROPE.")] = False,
    rope: Annotated[float, typer.Option(help="Region of practical equivalence, in metric units.")] = 0.01,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples per interval.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Paired comparisons against the baseline with Holm-corrected tests and plain verdicts;
    ranks and the Friedman test across datasets."""
    from rigorlab.stats import compare_stored
    from rigorlab.store import open_store

    choice(format, FORMATS)
    choice(table_name, TABLES)
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
        )
    if format == "json":
        sys.stdout.write(json.dumps(comparison.to_dict(), indent=2, allow_nan=False) + "\n")
    elif format == "csv":
        tables = comparison.tables()
        if table_name not in tables:
            need = "--bayesian" if table_name == "bayesian" else "at least 2 datasets with every arm"
            from rigorlab.errors import InputError

            raise InputError(MSG_NO_TABLE.format(table=table_name, need=need, available=", ".join(tables)))
        sys.stdout.write(tables[table_name].to_csv(index=False))
    else:
        _print_tables(comparison)
