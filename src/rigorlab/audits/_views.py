"""Stored audit results as tables (DataFrames) for reports, the dashboard and scripts.

Every function takes the frame of :func:`current_audit_results` (or ``RunStore.audit_results``)
and returns DataFrames with stated columns; figures are in ``_figures``. Summaries over replicates
average a replicate's folds first and give the mean with a 95% t interval over replicates
(``rigorlab.stats.mean_interval``); fairness summaries over replicates that share one split average
each fold's replicates instead and take the interval over folds. Fairness comparisons against the
baseline use the same paired test as the main comparison (``rigorlab.stats.compare_to_baseline``
with the study's split design; lower disparity is better), Holm-corrected across every arm,
attribute and metric of a dataset.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from rigorlab.audits._fairness_findings import fairness_findings
from rigorlab.audits._fairness_tables import DISPARITY_COLUMNS, GROUP_COLUMNS, fairness_tables
from rigorlab.audits._frames import SUMMARY_COLUMNS, done_of, rows_of, summarise, where_of
from rigorlab.audits._records import SEVERITIES
from rigorlab.errors import InputError
from rigorlab.store import RunStore

__all__ = [
    "DISPARITY_COLUMNS",
    "FINDING_COLUMNS",
    "GROUP_COLUMNS",
    "LOWER_IS_WORSE",
    "SUMMARY_COLUMNS",
    "audit_tables",
    "cards_table",
    "current_audit_results",
    "data_tables",
    "explain_tables",
    "fairness_tables",
    "findings_table",
    "robustness_tables",
    "rows_of",
    "study_splits",
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
LOWER_IS_WORSE = {("fairness", "demographic_parity"), ("data", "class_imbalance")}
"""Findings whose value is a ratio: the lowest value is the worst instance."""
PER_TRIAL = ("fairness", "robustness", "explain")


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


def _stored_findings(results: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for record in rows_of(results):
        if record.kind == "fairness":
            continue  # judged over trials (fairness_findings); results stored before that kept per-fold findings
        for finding in (record.result or {}).get("findings", []):
            rows.append(
                {
                    **finding,
                    "columns": ", ".join(finding["columns"]),
                    "rows": ", ".join(str(r) for r in finding["rows"][:10]),
                }
            )
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))


def _badness(table: pd.DataFrame) -> pd.Series:
    """How bad each finding's value is, larger worse (ratios are worse when lower); NaN last."""
    lower = [(kind, check) in LOWER_IS_WORSE for kind, check in zip(table["kind"], table["check"], strict=True)]
    values = pd.to_numeric(table["value"], errors="coerce")
    return values.where(~pd.Series(lower, index=table.index), -values)


def findings_table(results: pd.DataFrame, *, per_trial: bool = False, splits: str = "resampled") -> pd.DataFrame:
    """Every finding as a row, the most severe first (columns :data:`FINDING_COLUMNS`).

    Stored findings come from each result; fairness findings are judged here, over each arm's
    stored fairness results (:func:`rigorlab.audits.fairness_findings`, with the study's ``splits``
    design): one row per arm, dataset, attribute and check, ``count`` = the trials it summarises.

    Without ``per_trial``, a finding repeated over trials (the same check, dataset, arm, columns and
    severity) is one row per severity: ``count`` = the trials where it appeared with that severity,
    and ``value``, ``message``, ``replicate``, ``fold`` and ``rows`` are those of its worst instance
    (the largest value; the smallest for ratios, :data:`LOWER_IS_WORSE`).

    Examples
    --------
    >>> findings_table(current_audit_results(store, "arrests"), splits="resampled")  # doctest: +SKIP
    """
    table = _stored_findings(results)
    if not table.empty and not per_trial:
        table = table.assign(_badness=_badness(table))
        keys = ["kind", "check", "dataset", "arm", "columns", "severity"]
        worst_first = table.sort_values("_badness", ascending=False, na_position="last", kind="stable")
        worst_first["count"] = worst_first.groupby(keys, dropna=False, sort=False)["kind"].transform("size")
        table = worst_first.drop_duplicates(keys, keep="first").drop(columns="_badness")
    judged = fairness_findings(fairness_tables(results, splits=splits), splits=splits) if not results.empty else []
    if judged:
        extra = pd.DataFrame([f.to_dict() for f in judged])
        extra["columns"] = [", ".join(c) for c in extra["columns"]]
        extra["rows"] = ""
        table = pd.concat([table[list(FINDING_COLUMNS)], extra[list(FINDING_COLUMNS)]], ignore_index=True)
    table = table.assign(_rank=table["severity"].map({s: -i for i, s in enumerate(SEVERITIES)}))
    table = table.sort_values(["_rank", "kind", "dataset", "check"], kind="stable").drop(columns="_rank")
    return table[list(FINDING_COLUMNS)].reset_index(drop=True)


def study_splits(store: RunStore, study: str) -> str:
    """The split design of a stored study (``rigorlab.stats.stored_splits``): ``resampled``, ``shared``,
    ``fixed`` or ``unknown``. Fairness comparisons and summaries take it as ``splits``.

    Examples
    --------
    >>> study_splits(open_store(), "quickstart")  # doctest: +SKIP
    'resampled'
    """
    from rigorlab.spec import StudySpec
    from rigorlab.stats import stored_splits

    info = store.study_info(study)
    spec = StudySpec.model_validate(info["spec"]) if info.get("spec") else None
    frame = store.metrics(study) if spec is None else pd.DataFrame({"fold": []})
    return str(stored_splits(spec, frame)[0])


def data_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``summary`` (one row per dataset), ``columns`` (per-column checks), ``leakage`` (per split),
    ``target_leakage`` (single-column scores) and ``findings``."""
    done = done_of(results, "data")
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


def robustness_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``perturbation`` (arm, dataset, replicate, fold, perturbation, strength, metric, value) and
    ``adversarial`` (..., attack, epsilon, value = accuracy, rows), with ``*_summary`` over replicates."""
    done = done_of(results, "robustness")
    perturbation: list[dict[str, Any]] = []
    adversarial: list[dict[str, Any]] = []
    for record in rows_of(done):
        result = record.result["result"]
        perturbation.extend(
            {
                **where_of(record),
                "perturbation": p["perturbation"],
                "strength": p["strength"],
                "metric": result["metric"],
                "value": p["score"],
            }
            for p in result["perturbation"]
        )
        adversarial.extend(
            {
                **where_of(record),
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
        "perturbation_summary": summarise(perturbation_frame, ["arm", "dataset", "perturbation", "strength"]),
        "adversarial": adversarial_frame,
        "adversarial_summary": summarise(adversarial_frame, ["arm", "dataset", "attack", "epsilon"]),
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
    done = done_of(results, "explain")
    importance: list[dict[str, Any]] = []
    local: list[dict[str, Any]] = []
    for record in rows_of(done):
        result = record.result["result"]
        where = where_of(record)
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
    summary = summarise(importance_frame, ["arm", "dataset", "method", "feature"])
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
    done = done_of(results, "cards")
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
    """The tables of one audit kind (``data``, ``fairness``, ``robustness``, ``explain``, ``cards``);
    ``options`` go to :func:`fairness_tables` (``baseline``, ``seed``, ``splits``)."""
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
