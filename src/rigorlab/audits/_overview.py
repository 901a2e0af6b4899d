"""A short overview of a study's stored audit results: what ``rigorlab audit`` prints after its findings.

One small table per kind, enough to see the result without opening the report: the data checks per
dataset, each arm's largest disparity with its interval and the verdict against the baseline, the
score drop at the largest perturbation strength (paired within each replicate), accuracy at the
largest attack epsilon, and each arm's top features. The full tables are ``audit_tables``.

Intervals of bounded scores are cut at their range, as ``rigorlab compare`` cuts them: accuracy under
attack at the metric's range (:func:`rigorlab.models.metric_bounds`), disparities at [0, 1]
(fairlearn's differences are max - min of group rates, never negative; its ratios min / max). The
score drop is a signed paired difference (a perturbation can raise the score) and is not cut. A
table whose bounds were cut carries ``attrs["clipped"]`` (the range, e.g. ``"[0, 1]"``) for the note
under it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rigorlab.audits._fairness_tables import COMPARED_DISPARITIES, fairness_tables
from rigorlab.audits._frames import rows_of
from rigorlab.audits._views import cards_table, data_tables, explain_tables, robustness_tables
from rigorlab.models import metric_bounds

__all__ = ["CLIPPED_NOTE", "OVERVIEW_COLUMNS", "TOP_FEATURES_SHOWN", "audit_overview"]

CLIPPED_NOTE = (
    "Interval bounds beyond the score's range {range} are cut at its edge (a t interval is symmetric and can reach "
    "past it)."
)
ADVERSARIAL_METRIC = "accuracy"  # what the attacks measure (robustness_tables: value = accuracy)
DISPARITY_BOUNDS = (0.0, 1.0)

TOP_FEATURES_SHOWN = 3

OVERVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "data": (
        "dataset",
        "rows",
        "exact_duplicates",
        "near_duplicates",
        "conflicting_rows",
        "leaked_test_rows",
        "label_issues",
    ),
    "fairness": ("dataset", "arm", "metric", "attribute", "estimate", "low", "high", "trials", "vs_baseline"),
    "robustness": ("dataset", "arm", "perturbation", "strength", "clean", "score", "drop", "low", "high"),
    "adversarial": ("dataset", "arm", "attack", "epsilon", "estimate", "low", "high"),
    "explain": ("dataset", "arm", "method", "top_features", "mean_spearman"),
    "cards": ("card", "arm", "dataset", "title"),
}
"""Columns of each overview table. ``fairness``: per arm and disparity, the attribute where it is
largest (mean over trials, 95% t interval) and the Holm-corrected verdict against the baseline on
that attribute. ``robustness``: clean score, score at the largest strength, and their paired drop
with a 95% t interval over replicates."""


def _fairness(tables: dict[str, pd.DataFrame], baseline: str | None) -> pd.DataFrame:
    summary = tables["disparity_summary"]
    summary = summary[summary["metric"].isin(COMPARED_DISPARITIES)] if not summary.empty else summary
    if summary.empty:
        return pd.DataFrame(columns=OVERVIEW_COLUMNS["fairness"])
    worst = (
        summary.dropna(subset=["estimate"])
        .sort_values("estimate", ascending=False, kind="stable")
        .drop_duplicates(["dataset", "arm", "metric"])
        .sort_values(["dataset", "arm", "metric"], kind="stable")
    )
    verdicts = {
        (r.dataset, r.attribute, r.metric, r.arm): f"{r.verdict} (p {r.p_adjusted:.3g})"
        for r in rows_of(tables["comparison"])
    }
    worst["vs_baseline"] = [
        "(baseline)" if r.arm == baseline else verdicts.get((r.dataset, r.attribute, r.metric, r.arm), "")
        for r in rows_of(worst)
    ]
    return _clipped(worst[list(OVERVIEW_COLUMNS["fairness"])].reset_index(drop=True), DISPARITY_BOUNDS)


def _range_text(bounds: tuple[float | None, float | None]) -> str:
    low, high = bounds
    return ("(-inf" if low is None else f"[{low:g}") + ", " + ("inf)" if high is None else f"{high:g}]")


def _clipped(table: pd.DataFrame, bounds: tuple[float | None, float | None]) -> pd.DataFrame:
    """``low``/``high`` cut at ``bounds``; ``attrs["clipped"]`` names the range when a bound moved."""
    low, high = table["low"].astype(float), table["high"].astype(float)
    new_low = low.clip(lower=bounds[0]) if bounds[0] is not None else low
    new_high = high.clip(upper=bounds[1]) if bounds[1] is not None else high
    moved = ((new_low != low) & low.notna()) | ((new_high != high) & high.notna())
    table = table.assign(low=new_low, high=new_high)
    if bool(moved.any()):
        table.attrs["clipped"] = _range_text(bounds)
    return table


def _robustness(perturbation: pd.DataFrame) -> pd.DataFrame:
    from rigorlab.stats import mean_interval

    rows: list[dict[str, Any]] = []
    keys = ["dataset", "arm", "perturbation"]
    for (dataset, arm, name), curve in perturbation.groupby(keys, sort=True) if not perturbation.empty else []:
        strongest = float(curve["strength"].max())
        per_replicate = curve.groupby(["replicate", "strength"])["value"].mean().unstack("strength")
        if 0.0 not in per_replicate or strongest == 0.0:
            continue
        clean, score = per_replicate[0.0], per_replicate[strongest]
        interval = mean_interval((clean - score).dropna().to_numpy(dtype=float))
        rows.append(
            {
                "dataset": dataset,
                "arm": arm,
                "perturbation": name,
                "strength": strongest,
                "clean": float(clean.mean()),
                "score": float(score.mean()),
                "drop": interval.estimate,
                "low": interval.low,
                "high": interval.high,
            }
        )
    return pd.DataFrame(rows, columns=OVERVIEW_COLUMNS["robustness"])


def _adversarial(summary: pd.DataFrame) -> pd.DataFrame:
    if summary.empty:
        return pd.DataFrame(columns=OVERVIEW_COLUMNS["adversarial"])
    largest = summary.groupby(["dataset", "arm", "attack"])["epsilon"].transform("max")
    chosen = summary[summary["epsilon"] == largest].sort_values(["dataset", "arm", "attack"])
    return _clipped(
        chosen[list(OVERVIEW_COLUMNS["adversarial"])].reset_index(drop=True), metric_bounds(ADVERSARIAL_METRIC)
    )


def _explain(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    importance = tables["importance_summary"]
    rows: list[dict[str, Any]] = []
    stability = {(r.dataset, r.arm, r.method): r.mean_spearman for r in rows_of(tables["stability"])}
    for (dataset, arm, method), group in importance.groupby(["dataset", "arm", "method"], sort=True):
        top = group.sort_values("rank").head(TOP_FEATURES_SHOWN)
        rows.append(
            {
                "dataset": dataset,
                "arm": arm,
                "method": method,
                "top_features": ", ".join(f"{r.feature} ({r.estimate:.3g})" for r in rows_of(top)),
                "mean_spearman": stability.get((dataset, arm, method), np.nan),
            }
        )
    return pd.DataFrame(rows, columns=OVERVIEW_COLUMNS["explain"])


def audit_overview(
    results: pd.DataFrame, *, baseline: str | None = None, splits: str = "resampled", seed: int = 0
) -> dict[str, pd.DataFrame]:
    """One short table per audit kind present in ``results`` (columns :data:`OVERVIEW_COLUMNS`).

    Parameters
    ----------
    results : DataFrame
        :func:`rigorlab.audits.current_audit_results`.
    baseline : str, optional
        The arm fairness disparities are compared with.
    splits : str
        The study's split design (:func:`rigorlab.audits.study_splits`), as for ``fairness_tables``.
    seed : int

    Returns
    -------
    dict of DataFrame
        Keys among ``data``, ``fairness``, ``robustness``, ``adversarial``, ``explain``, ``cards``;
        a kind without done results is left out.

    Examples
    --------
    >>> overview = audit_overview(current_audit_results(store, "arrests"), baseline="logreg")  # doctest: +SKIP
    >>> overview["fairness"][["arm", "metric", "attribute", "estimate", "vs_baseline"]]  # doctest: +SKIP
    """
    if results.empty:
        return {}
    present = set(results.loc[results["status"] == "done", "kind"])
    overview: dict[str, pd.DataFrame] = {}
    if "data" in present:
        summary = data_tables(results)["summary"]
        overview["data"] = summary[list(OVERVIEW_COLUMNS["data"])]
    if "fairness" in present:
        overview["fairness"] = _fairness(
            fairness_tables(results, baseline=baseline, seed=seed, splits=splits), baseline
        )
    if "robustness" in present:
        tables = robustness_tables(results)
        overview["robustness"] = _robustness(tables["perturbation"])
        overview["adversarial"] = _adversarial(tables["adversarial_summary"])
    if "explain" in present:
        overview["explain"] = _explain(explain_tables(results))
    if "cards" in present:
        overview["cards"] = cards_table(results)[list(OVERVIEW_COLUMNS["cards"])]
    return {kind: table for kind, table in overview.items() if not table.empty}
