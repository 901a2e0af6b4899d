"""Fairness tables of stored audit results: per-trial group rates and disparities, their summaries over
trials, and the paired comparison of each arm's disparities with the baseline's, Holm-corrected across
every arm, attribute and metric of a dataset and tested with the study's split design."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rigorlab.audits._fairness_findings import interval_units
from rigorlab.audits._frames import done_of, rows_of, summarise, where_of
from rigorlab.audits._records import SKIPPED
from rigorlab.errors import InputError

__all__ = ["COMPARED_DISPARITIES", "DISPARITY_COLUMNS", "GROUP_COLUMNS", "fairness_tables"]

COMPARED_DISPARITIES = ("demographic_parity_difference", "equalized_odds_difference")


def _compare_cells(cells: np.ndarray[Any, Any], arms: list[str], baseline: str, seed: int, splits: str) -> pd.DataFrame:
    from rigorlab.stats import compare_to_baseline

    # An unknown design runs both tests and keeps the more conservative one, as rigorlab.stats does.
    designs: tuple[Any, ...] = ("resampled", "shared") if splits == "unknown" else (splits,)
    tables = [
        compare_to_baseline(cells, baseline=baseline, arm_names=arms, higher_is_better=False, seed=seed, splits=design)
        for design in designs
    ]
    table = tables[0]
    for other in tables[1:]:
        larger = other["p_value"].fillna(np.inf) > table["p_value"].fillna(-np.inf)
        table = table.where(~larger, other)
    return table


def _holm_family(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Holm across every comparison of a dataset (arms x attributes x metrics), with verdicts again."""
    from rigorlab.stats import VERDICT_BETTER, VERDICT_NO_EVIDENCE, VERDICT_WORSE, holm_adjust

    table = table.copy()
    table["holm_family"] = 0
    for _, rows in table.groupby("dataset", sort=False):
        adjusted = holm_adjust(rows["p_value"].to_numpy(dtype=float))
        table.loc[rows.index, "p_adjusted"] = adjusted
        table.loc[rows.index, "holm_family"] = len(rows)
    significant = table["p_adjusted"].fillna(1.0) < 1 - confidence
    difference = table["mean_diff"].astype(float)
    # Lower disparity is better: a significant negative difference is "better".
    table["verdict"] = np.where(
        significant & (difference < 0),
        VERDICT_BETTER,
        np.where(significant & (difference > 0), VERDICT_WORSE, VERDICT_NO_EVIDENCE),
    )
    return table


def _fairness_comparison(
    disparities: pd.DataFrame, baseline: str | None, seed: int, splits: str
) -> tuple[pd.DataFrame, list[str]]:
    from rigorlab.stats import COMPARISON_COLUMNS

    columns = ["dataset", "attribute", "metric", *COMPARISON_COLUMNS, "holm_family"]
    notes: list[str] = []
    tables = []
    if disparities.empty or baseline is None:
        return pd.DataFrame(columns=columns), notes
    chosen = disparities[disparities["metric"].isin(COMPARED_DISPARITIES)]
    for (dataset, attribute, metric), group in chosen.groupby(["dataset", "attribute", "metric"], sort=True):
        arms = sorted(group["arm"].unique(), key=lambda a: (a != baseline, a))
        if baseline not in arms or len(arms) < 2:
            continue
        replicates, folds = sorted(group["replicate"].unique()), sorted(group["fold"].unique())
        cells = np.full((len(replicates), len(folds), len(arms)), np.nan)
        for row in rows_of(group):
            cells[replicates.index(row.replicate), folds.index(row.fold), arms.index(row.arm)] = row.value
        try:
            table = _compare_cells(cells, arms, baseline, seed, splits)
        except InputError as error:
            notes.append(f"{dataset} / {attribute} / {metric}: {error}")
            continue
        table.insert(0, "metric", str(metric))
        table.insert(0, "attribute", str(attribute))
        table.insert(0, "dataset", str(dataset))
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=columns), notes
    return _holm_family(pd.concat(tables, ignore_index=True))[columns], notes


GROUP_COLUMNS = (
    "arm",
    "dataset",
    "replicate",
    "fold",
    "attribute",
    "group",
    "rows",
    "too_small",
    "min_group_rows",
    "metric",
    "n",
    "value",
    "low",
    "high",
)
DISPARITY_COLUMNS = ("arm", "dataset", "replicate", "fold", "attribute", "metric", "value", "low", "high")


def _fairness_frames(done: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups: list[dict[str, Any]] = []
    disparities: list[dict[str, Any]] = []
    for record in rows_of(done):
        result = record.result["result"]
        for attribute in result["attributes"]:
            where = {**where_of(record), "attribute": attribute["attribute"]}
            for entry in attribute["groups"]:
                facts = {
                    "group": entry["group"],
                    "rows": entry["rows"],
                    "too_small": bool(entry.get("too_small", False)),
                    "min_group_rows": result.get("min_group_rows"),
                }
                groups.extend(
                    {**where, **facts, "metric": metric, **value}
                    for metric, value in entry.items()
                    if isinstance(value, dict)
                )
            disparities.extend(
                {**where, "metric": metric, **value} for metric, value in attribute["disparities"].items()
            )
    return pd.DataFrame(groups, columns=list(GROUP_COLUMNS)), pd.DataFrame(disparities, columns=list(DISPARITY_COLUMNS))


def _group_summary(groups: pd.DataFrame, over: str) -> pd.DataFrame:
    summary = summarise(groups, ["arm", "dataset", "attribute", "group", "metric"], over=over)
    if summary.empty:
        return summary.assign(rows=pd.Series(dtype=float), too_small=pd.Series(dtype=bool))
    sizes = groups.groupby(["arm", "dataset", "attribute", "group", "metric"], sort=False).agg(
        rows=("rows", "median"), too_small=("too_small", "mean")
    )
    # Marked too small when it was left out of the disparities in most of its trials.
    sizes["too_small"] = sizes["too_small"] > 0.5
    return summary.merge(sizes.reset_index(), on=["arm", "dataset", "attribute", "group", "metric"], how="left")


def fairness_tables(
    results: pd.DataFrame, *, baseline: str | None = None, seed: int = 0, splits: str = "resampled"
) -> dict[str, pd.DataFrame]:
    """Per-trial group metrics and disparities, their summaries over trials, and the paired
    comparison of each arm's disparity with the baseline's.

    Parameters
    ----------
    results : DataFrame
        :func:`current_audit_results` (other kinds are ignored).
    baseline : str, optional
        The arm disparities are compared with; None: no comparison.
    seed : int
    splits : str
        The study's split design (:func:`study_splits`): the comparison's test
        (``rigorlab.stats.compare_to_baseline(splits=...)``; ``unknown`` runs the resampled and the
        shared test and keeps the larger p-value) and the summaries' interval (over folds when the
        replicates share one split, else over replicates).

    Returns
    -------
    dict of DataFrame
        ``groups`` (:data:`GROUP_COLUMNS`: one row per trial, group and metric; ``low``/``high`` the
        bootstrap interval within the trial, ``too_small`` when the group had fewer than
        ``min_group_rows`` test rows and stayed out of the disparities), ``group_summary`` (by arm,
        dataset, attribute, group, metric: :data:`SUMMARY_COLUMNS`, ``rows`` = median test rows per
        trial, ``too_small``), ``disparities`` and ``disparity_summary`` (the same for demographic
        parity and equalized odds, over the groups that were not too small), ``comparison``
        (dataset, attribute, metric, ``rigorlab.stats.COMPARISON_COLUMNS`` and ``holm_family``: is
        the arm fairer than the baseline? p-values Holm-adjusted across all arms, attributes and
        metrics of a dataset, ``holm_family`` comparisons), ``notes`` (why fairness did not apply).

    Examples
    --------
    >>> tables = fairness_tables(current_audit_results(store, "arrests"), baseline="logreg")  # doctest: +SKIP
    >>> tables["comparison"][["attribute", "metric", "arm", "p_adjusted", "verdict"]]  # doctest: +SKIP
    """
    over = interval_units(splits)
    group_frame, disparity_frame = _fairness_frames(done_of(results, "fairness"))
    comparison, notes = _fairness_comparison(disparity_frame, baseline, seed, splits)
    skipped = (
        results[(results["kind"] == "fairness") & (results["status"] == SKIPPED)] if not results.empty else results
    )
    messages = (
        [{"dataset": r.dataset, "note": r.result.get("message")} for r in rows_of(skipped)] if not skipped.empty else []
    )
    messages += [{"dataset": None, "note": note} for note in notes]
    return {
        "groups": group_frame,
        "group_summary": _group_summary(group_frame, over),
        "disparities": disparity_frame,
        "disparity_summary": summarise(disparity_frame, ["arm", "dataset", "attribute", "metric"], over=over),
        "comparison": comparison,
        "notes": pd.DataFrame(messages, columns=["dataset", "note"]).drop_duplicates().reset_index(drop=True),
    }
