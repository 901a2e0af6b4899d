"""Stored audit results as tables (DataFrames) for reports, the dashboard and scripts.

Every function takes the frame of :func:`current_audit_results` (or ``RunStore.audit_results``)
and returns DataFrames with stated columns; figures are in ``_figures``. Summaries over replicates
average a replicate's folds first and give the mean with a 95% t interval over replicates
(``rigorlab.stats.mean_interval``); fairness comparisons against the baseline use the same paired
test as the main comparison (``rigorlab.stats.compare_to_baseline``; lower disparity is better).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rigorlab.audits._records import DONE, SEVERITIES, SKIPPED
from rigorlab.errors import InputError
from rigorlab.store import RunStore

__all__ = [
    "FINDING_COLUMNS",
    "SUMMARY_COLUMNS",
    "audit_tables",
    "cards_table",
    "current_audit_results",
    "data_tables",
    "explain_tables",
    "fairness_tables",
    "findings_table",
    "robustness_tables",
]

FINDING_COLUMNS = (
    "severity",
    "kind",
    "check",
    "dataset",
    "arm",
    "replicate",
    "fold",
    "columns",
    "rows",
    "count",
    "value",
    "message",
)
SUMMARY_COLUMNS = ("estimate", "low", "high", "replicates")
COMPARED_DISPARITIES = ("demographic_parity_difference", "equalized_odds_difference")
PER_TRIAL = ("fairness", "robustness", "explain")


def rows_of(frame: pd.DataFrame) -> list[Any]:
    """The rows of ``frame`` as named tuples (typed ``Any``: their columns are known at run time)."""
    return list(frame.itertuples(index=False))


def current_audit_results(store: RunStore, study: str, kind: str | None = None) -> pd.DataFrame:
    """The audit results that describe the study as it is now.

    Per-trial audits count when their trial belongs to the current plan (the latest result per
    trial and kind); data audits and cards count in their latest version per dataset (and arm).
    Columns as ``RunStore.audit_results``; ``result`` holds the stored payload (``result``,
    ``findings``, ``notes``, ``warnings``, ``message``, ``seconds``).
    """
    frame = store.audit_results(study, kind=kind)
    if frame.empty:
        return frame
    planned = set(store.trials(study)["key"])
    per_trial = frame["kind"].isin(PER_TRIAL)
    trial_rows = frame[per_trial & frame["trial_key"].isin(planned)].drop_duplicates(["kind", "trial_key"], keep="last")
    other = frame[~per_trial].copy()
    other["_card"] = [str((r or {}).get("result", {}).get("card", "")) for r in other["result"]]
    other = other.drop_duplicates(["kind", "_card", "arm", "dataset"], keep="last").drop(columns="_card")
    return pd.concat([other, trial_rows]).sort_values("id").reset_index(drop=True)


def _done(results: pd.DataFrame, kind: str) -> pd.DataFrame:
    if results.empty:
        return results
    return results[(results["kind"] == kind) & (results["status"] == DONE)]


def _where(row: Any) -> dict[str, Any]:
    return {"arm": row.arm, "dataset": row.dataset, "replicate": row.replicate, "fold": row.fold}


def findings_table(results: pd.DataFrame, *, per_trial: bool = False) -> pd.DataFrame:
    """Every finding as a row, the most severe first (columns :data:`FINDING_COLUMNS`).

    Without ``per_trial``, a finding repeated over trials (the same check, dataset, arm and
    columns) is one row: its worst severity, ``count`` = trials where it appeared, ``value`` =
    their mean, and the message of its worst instance.
    """
    rows = []
    for record in rows_of(results):
        for finding in (record.result or {}).get("findings", []):
            rows.append(
                {
                    **finding,
                    "columns": ", ".join(finding["columns"]),
                    "rows": ", ".join(str(r) for r in finding["rows"][:10]),
                }
            )
    table = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    table["_rank"] = table["severity"].map({s: -i for i, s in enumerate(SEVERITIES)})
    if not per_trial and not table.empty:
        keys = ["kind", "check", "dataset", "arm", "columns"]
        grouped = table.sort_values(["_rank", "value"]).groupby(keys, dropna=False, sort=False)
        table = grouped.agg(
            severity=("severity", "first"),
            _rank=("_rank", "first"),
            replicate=("replicate", "first"),
            fold=("fold", "first"),
            rows=("rows", "first"),
            count=("count", "size"),
            value=("value", "mean"),
            message=("message", "first"),
        ).reset_index()
    table = table.sort_values(["_rank", "kind", "dataset", "check"], kind="stable").drop(columns="_rank")
    return table[list(FINDING_COLUMNS)].reset_index(drop=True)


def _summarise(frame: pd.DataFrame, by: Sequence[str], value: str = "value") -> pd.DataFrame:
    """Mean over replicates (folds averaged first) with a 95% t interval, per group ``by``."""
    from rigorlab.stats import mean_interval

    columns = [*by, *SUMMARY_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    replicate_means = frame.dropna(subset=[value]).groupby([*by, "replicate"], dropna=False, sort=False)[value].mean()
    rows = []
    for group, values in replicate_means.groupby(level=list(range(len(by))), dropna=False, sort=False):
        interval = mean_interval(values.to_numpy(dtype=float))
        keys = group if isinstance(group, tuple) else (group,)
        rows.append(
            {
                **dict(zip(by, keys, strict=True)),
                "estimate": interval.estimate,
                "low": interval.low,
                "high": interval.high,
                "replicates": len(values),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def data_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``summary`` (one row per dataset), ``columns`` (per-column checks), ``leakage`` (per split),
    ``target_leakage`` (single-column scores) and ``findings``."""
    done = _done(results, "data")
    summary: list[dict[str, Any]] = []
    columns: list[dict[str, Any]] = []
    leakage: list[dict[str, Any]] = []
    suspects: list[dict[str, Any]] = []
    for record in rows_of(done):
        result = record.result["result"]
        duplicates, labels = result["duplicates"], result.get("label_issues") or {}
        summary.append(
            {
                "dataset": record.dataset,
                "rows": result["rows"],
                "columns": result["columns"],
                "exact_duplicates": duplicates["exact"],
                "near_duplicates": duplicates["near"],
                "conflicting_rows": duplicates["conflicting_rows"],
                "leaked_test_rows": sum(s["leaked_rows"] for s in result["leakage"]),
                "label_issues": labels.get("count"),
                "label_issue_share": labels.get("share"),
            }
        )
        columns.extend({"dataset": record.dataset, **c} for c in result["column_checks"])
        leakage.extend({"dataset": record.dataset, **s} for s in result["leakage"])
        target = result["target_leakage"]
        suspects.extend(
            {"dataset": record.dataset, "column": c, "metric": target["metric"], "score": s}
            for c, s in target["scores"].items()
        )
    findings = findings_table(done, per_trial=True) if not done.empty else findings_table(pd.DataFrame())
    return {
        "summary": pd.DataFrame(summary),
        "columns": pd.DataFrame(columns),
        "leakage": pd.DataFrame(leakage),
        "target_leakage": pd.DataFrame(suspects),
        "findings": findings,
    }


def _fairness_comparison(disparities: pd.DataFrame, baseline: str | None, seed: int) -> tuple[pd.DataFrame, list[str]]:
    from rigorlab.stats import COMPARISON_COLUMNS, compare_to_baseline

    columns = ["dataset", "attribute", "metric", *COMPARISON_COLUMNS]
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
            table = compare_to_baseline(cells, baseline=baseline, arm_names=arms, higher_is_better=False, seed=seed)
        except InputError as error:
            notes.append(f"{dataset} / {attribute} / {metric}: {error}")
            continue
        table.insert(0, "metric", str(metric))
        table.insert(0, "attribute", str(attribute))
        table.insert(0, "dataset", str(dataset))
        tables.append(table)
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)), notes


def fairness_tables(results: pd.DataFrame, *, baseline: str | None = None, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Per-trial group metrics and disparities, their summaries over replicates, and the paired
    comparison of each arm's disparity with the baseline's.

    Returns
    -------
    dict of DataFrame
        ``groups`` (arm, dataset, replicate, fold, attribute, group, rows, metric, value, low,
        high: bootstrap interval within the trial), ``group_summary`` (by arm, dataset,
        attribute, group, metric: estimate, low, high, replicates), ``disparities`` and
        ``disparity_summary`` (the same for demographic parity and equalized odds), ``comparison``
        (dataset, attribute, metric and ``rigorlab.stats.COMPARISON_COLUMNS``: is the arm fairer
        than the baseline?), ``notes`` (message per dataset where fairness did not apply).
    """
    done = _done(results, "fairness")
    groups: list[dict[str, Any]] = []
    disparities: list[dict[str, Any]] = []
    for record in rows_of(done):
        for attribute in record.result["result"]["attributes"]:
            where = {**_where(record), "attribute": attribute["attribute"]}
            for entry in attribute["groups"]:
                for metric, value in entry.items():
                    if isinstance(value, dict):
                        groups.append(
                            {**where, "group": entry["group"], "rows": entry["rows"], "metric": metric, **value}
                        )
            disparities.extend(
                {**where, "metric": metric, **value} for metric, value in attribute["disparities"].items()
            )
    group_frame = pd.DataFrame(
        groups,
        columns=["arm", "dataset", "replicate", "fold", "attribute", "group", "rows", "metric", "value", "low", "high"],
    )
    disparity_frame = pd.DataFrame(
        disparities, columns=["arm", "dataset", "replicate", "fold", "attribute", "metric", "value", "low", "high"]
    )
    comparison, notes = _fairness_comparison(disparity_frame, baseline, seed)
    skipped = (
        results[(results["kind"] == "fairness") & (results["status"] == SKIPPED)] if not results.empty else results
    )
    messages = (
        [{"dataset": r.dataset, "note": r.result.get("message")} for r in rows_of(skipped)] if not skipped.empty else []
    )
    messages += [{"dataset": None, "note": note} for note in notes]
    return {
        "groups": group_frame,
        "group_summary": _summarise(group_frame, ["arm", "dataset", "attribute", "group", "metric"]),
        "disparities": disparity_frame,
        "disparity_summary": _summarise(disparity_frame, ["arm", "dataset", "attribute", "metric"]),
        "comparison": comparison,
        "notes": pd.DataFrame(messages, columns=["dataset", "note"]).drop_duplicates().reset_index(drop=True),
    }


def robustness_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``perturbation`` (arm, dataset, replicate, fold, perturbation, strength, metric, value) and
    ``adversarial`` (..., attack, epsilon, value = accuracy, rows), with ``*_summary`` over replicates."""
    done = _done(results, "robustness")
    perturbation: list[dict[str, Any]] = []
    adversarial: list[dict[str, Any]] = []
    for record in rows_of(done):
        result = record.result["result"]
        perturbation.extend(
            {
                **_where(record),
                "perturbation": p["perturbation"],
                "strength": p["strength"],
                "metric": result["metric"],
                "value": p["score"],
            }
            for p in result["perturbation"]
        )
        adversarial.extend(
            {
                **_where(record),
                "attack": a["attack"],
                "epsilon": a["epsilon"],
                "value": a["accuracy"],
                "rows": a["rows"],
            }
            for a in result["adversarial"]
        )
    perturbation_frame = pd.DataFrame(
        perturbation, columns=["arm", "dataset", "replicate", "fold", "perturbation", "strength", "metric", "value"]
    )
    adversarial_frame = pd.DataFrame(
        adversarial, columns=["arm", "dataset", "replicate", "fold", "attack", "epsilon", "value", "rows"]
    )
    return {
        "perturbation": perturbation_frame,
        "perturbation_summary": _summarise(perturbation_frame, ["arm", "dataset", "perturbation", "strength"]),
        "adversarial": adversarial_frame,
        "adversarial_summary": _summarise(adversarial_frame, ["arm", "dataset", "attack", "epsilon"]),
    }


def _stability(importance: pd.DataFrame) -> pd.DataFrame:
    """Mean and minimum Spearman correlation of the importance ranking between replicates."""
    from scipy.stats import spearmanr

    rows = []
    for (arm, dataset, method), group in importance.groupby(["arm", "dataset", "method"], sort=True):
        per_replicate = group.groupby(["replicate", "feature"])["value"].mean().unstack("feature")
        correlations = []
        for first, second in itertools.combinations(per_replicate.index, 2):
            a, b = per_replicate.loc[first].to_numpy(), per_replicate.loc[second].to_numpy()
            if np.ptp(a) > 0 and np.ptp(b) > 0:
                correlations.append(float(spearmanr(a, b).statistic))
        rows.append(
            {
                "arm": arm,
                "dataset": dataset,
                "method": method,
                "replicates": len(per_replicate),
                "mean_spearman": float(np.mean(correlations)) if correlations else np.nan,
                "min_spearman": float(np.min(correlations)) if correlations else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["arm", "dataset", "method", "replicates", "mean_spearman", "min_spearman"])


def explain_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``importance`` (arm, dataset, replicate, fold, method, feature, value, std), its
    ``importance_summary`` over replicates with a ``rank`` (1 = most important), the ranking's
    ``stability`` across replicates (Spearman), and ``local`` explanations of misclassified rows."""
    done = _done(results, "explain")
    importance: list[dict[str, Any]] = []
    local: list[dict[str, Any]] = []
    for record in rows_of(done):
        result = record.result["result"]
        where = _where(record)
        importance.extend(
            {**where, "method": "permutation", "feature": f["feature"], "value": f["mean"], "std": f["std"]}
            for f in result["permutation_importance"]["features"]
        )
        method = f"shap_{result['shap']['explainer']}"
        importance.extend(
            {**where, "method": method, "feature": f["feature"], "value": f["mean_abs"], "std": np.nan}
            for f in result["shap"]["features"]
        )
        for row in result["local"]:
            local.extend(
                {**where, "row": row["row"], "y_true": row["y_true"], "y_pred": row["y_pred"], **c}
                for c in row["contributions"]
            )
    importance_frame = pd.DataFrame(
        importance, columns=["arm", "dataset", "replicate", "fold", "method", "feature", "value", "std"]
    )
    summary = _summarise(importance_frame, ["arm", "dataset", "method", "feature"])
    if not summary.empty:
        summary["rank"] = (
            summary.groupby(["arm", "dataset", "method"])["estimate"].rank(ascending=False, method="min").astype(int)
        )
    return {
        "importance": importance_frame,
        "importance_summary": summary,
        "stability": _stability(importance_frame),
        "local": pd.DataFrame(
            local,
            columns=["arm", "dataset", "replicate", "fold", "row", "y_true", "y_pred", "feature", "value", "shap"],
        ),
    }


def cards_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per stored card: card (model_card or datasheet), arm, dataset, title, markdown."""
    done = _done(results, "cards")
    rows = [
        {
            "card": r.result["result"]["card"],
            "arm": r.arm,
            "dataset": r.dataset,
            "title": r.result["result"]["title"],
            "markdown": r.result["result"]["markdown"],
        }
        for r in rows_of(done)
    ]
    return pd.DataFrame(rows, columns=["card", "arm", "dataset", "title", "markdown"])


def audit_tables(results: pd.DataFrame, kind: str, **options: Any) -> dict[str, pd.DataFrame]:
    """The tables of one audit kind (``data``, ``fairness``, ``robustness``, ``explain``, ``cards``)."""
    if kind == "data":
        return data_tables(results)
    if kind == "fairness":
        return fairness_tables(results, **options)
    if kind == "robustness":
        return robustness_tables(results)
    if kind == "explain":
        return explain_tables(results)
    if kind == "cards":
        return {"cards": cards_table(results)}
    raise InputError(f"Unknown audit kind '{kind}'. Audits: data, fairness, robustness, explain, cards.")
