"""The data audit: duplicates, train/test leakage, class balance, column checks, target leakage
suspects and label issues (confident learning, cleanlab).

Rows are compared through 64-bit hashes of their values (pandas ``hash_pandas_object``), which
makes duplicate and leakage detection linear in the number of rows: a million rows take about a
second. Two different rows share a hash with probability about n^2 / 2^65 (3e-8 for a million
rows), so a reported duplicate is a duplicate.

Severity thresholds (see :data:`rigorlab.audits.SEVERITIES`):

=====================  =====================================  ==============================
check                  warning                                severe
=====================  =====================================  ==============================
exact duplicates       >= 1% of rows (info below)             --
near-duplicates        >= 5% of rows (info below)             --
conflicting labels     any                                    --
train/test leakage     any leaked test row                    >= 1% of a split's test rows
class imbalance        smallest/largest < 0.1 (info < 0.5)    --
missing values         >= 50% of a column (info below)        --
constant column        -- (info)                              --
high cardinality       > 50 values and >= 50% unique          --
target leakage         single-column score >= 0.98            >= 0.995
label issues           >= 2% of rows (info below)             >= 10% of rows
=====================  =====================================  ==============================
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.audits import _messages as msg
from rigorlab.audits._data_models import label_issue_rows, out_of_fold_probabilities, target_leakage_scores
from rigorlab.audits._records import INFO, ROWS_SHOWN, SEVERE, WARNING, Finding, SplitInputs
from rigorlab.data import Dataset

__all__ = [
    "DATA_DEFAULTS",
    "audit_data",
    "conflicting_label_rows",
    "duplicate_rows",
    "feature_combinations",
    "row_hashes",
    "split_leakage",
]

DUPLICATE_WARNING_SHARE = 0.01
NEAR_DUPLICATE_WARNING_SHARE = 0.05
LEAKAGE_SEVERE_SHARE = 0.01
IMBALANCE_INFO_RATIO = 0.5
IMBALANCE_WARNING_RATIO = 0.1
MISSING_WARNING_SHARE = 0.5
HIGH_CARDINALITY_MIN_VALUES = 50
HIGH_CARDINALITY_SHARE = 0.5
TARGET_LEAKAGE_WARNING = 0.98
TARGET_LEAKAGE_SEVERE = 0.995
LABEL_ISSUES_WARNING_SHARE = 0.02
LABEL_ISSUES_SEVERE_SHARE = 0.10
EXPECTED_REPEATS_FACTOR = 10
"""Repeated feature vectors are expected, not suspicious, when the columns' distinct values allow
fewer than this many times as many combinations as there are rows (a few discrete columns, as in
scikit-lego's arrests data); duplicate, conflict and leakage findings are then ``info``."""
REPEAT_CHECKS = ("duplicates", "near_duplicates", "conflicting_labels", "train_test_leakage")

DATA_DEFAULTS: dict[str, Any] = {
    "near_duplicate_tolerance": 0.01,  # numbers rounded to this many standard deviations
    "target_leakage_rows": 5000,  # rows sampled for the single-column models
    "label_issues": True,
    "label_issue_folds": 5,
}


def row_hashes(frame: pd.DataFrame) -> NDArray[np.uint64]:
    """One 64-bit hash per row of ``frame`` (values and column order; the index is ignored).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2, 1], "b": ["x", "y", "x"]})
    >>> hashes = row_hashes(frame)
    >>> bool(hashes[0] == hashes[2]), bool(hashes[0] == hashes[1])
    (True, False)
    """
    return np.asarray(pd.util.hash_pandas_object(frame, index=False).to_numpy(), dtype=np.uint64)


def _quantized(frame: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Numbers rounded to ``tolerance`` standard deviations, text trimmed and lower-cased."""
    columns: dict[str, Any] = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = values.to_numpy(dtype=float)
            scale = float(np.nanstd(numbers)) * tolerance if np.isfinite(numbers).any() else 0.0
            columns[column] = np.round(numbers / scale) if scale > 0 else numbers
        elif pd.api.types.is_string_dtype(values) or values.dtype == object:
            columns[column] = values.astype("string").str.strip().str.lower()
        else:
            columns[column] = values
    return pd.DataFrame(columns)


def duplicate_rows(frame: pd.DataFrame, target: NDArray[Any], *, tolerance: float = 0.01) -> dict[str, NDArray[Any]]:
    """Rows that repeat an earlier row, exactly and nearly.

    Returns
    -------
    dict
        ``exact``: rows equal to an earlier row in features and target; ``near``: rows equal to an
        earlier row once numbers are rounded to ``tolerance`` standard deviations and text is
        trimmed and lower-cased, and not exact duplicates. Arrays of row positions, ascending.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, 1.0, 2.0000001]})
    >>> found = duplicate_rows(frame, np.array([0, 1, 0, 1]))
    >>> found["exact"].tolist(), found["near"].tolist()
    ([2], [3])
    """
    labelled = frame.assign(__target__=target)
    exact = pd.Series(row_hashes(labelled)).duplicated().to_numpy()
    near = pd.Series(row_hashes(_quantized(labelled, tolerance))).duplicated().to_numpy() & ~exact
    return {"exact": np.flatnonzero(exact), "near": np.flatnonzero(near)}


def conflicting_label_rows(feature_hashes: NDArray[np.uint64], target: NDArray[Any]) -> tuple[NDArray[np.int64], int]:
    """Rows whose feature vector also appears with another label; returns (rows, number of vectors)."""
    target_hashes = pd.util.hash_array(
        np.asarray(target).astype(str) if np.asarray(target).dtype.kind in "OUS" else np.asarray(target)
    )
    pairs = pd.DataFrame({"features": feature_hashes, "target": target_hashes}).drop_duplicates()
    conflicting = pairs["features"][pairs["features"].duplicated(keep=False)].unique()
    rows = np.flatnonzero(np.isin(feature_hashes, conflicting))
    return rows.astype(np.int64), len(conflicting)


def split_leakage(feature_hashes: NDArray[np.uint64], splits: Sequence[SplitInputs]) -> list[NDArray[np.int64]]:
    """For each split, the test rows whose feature vector also appears among its training rows.

    Linear per split: rows are first numbered by distinct feature vector (``pandas.factorize``).
    """
    codes, uniques = pd.factorize(feature_hashes)
    leaked: list[NDArray[np.int64]] = []
    for split in splits:
        in_train = np.zeros(len(uniques), dtype=bool)
        in_train[codes[split.train]] = True
        leaked.append(np.asarray(split.test[in_train[codes[split.test]]], dtype=np.int64))
    return leaked


def _shown(rows: NDArray[Any]) -> tuple[int, ...]:
    return tuple(int(r) for r in rows[:ROWS_SHOWN])


def _finding(dataset: Dataset, check: str, severity: str, message: str, **fields: Any) -> Finding:
    return Finding(kind="data", check=check, severity=severity, message=message, dataset=dataset.name, **fields)


def feature_combinations(features: pd.DataFrame) -> float:
    """How many distinct feature vectors the columns' observed values allow (their product)."""
    logs = [math.log10(max(1, int(features[c].nunique(dropna=False)))) for c in features.columns]
    return float(10 ** min(sum(logs), 300))


def _expected_repeats(dataset: Dataset, findings: list[Finding]) -> list[Finding]:
    combinations = feature_combinations(dataset.features)
    if combinations >= EXPECTED_REPEATS_FACTOR * dataset.n_rows:
        return findings
    note = msg.EXPECTED_REPEATS.format(combinations=f"{combinations:,.0f}", rows=dataset.n_rows)
    return [
        dataclasses.replace(f, severity=INFO, message=f"{f.message.replace(msg.LEAKAGE_OVERSTATES, '')} {note}")
        if f.check in REPEAT_CHECKS
        else f
        for f in findings
    ]


def _duplicate_findings(
    dataset: Dataset, options: Mapping[str, Any], feature_hashes: NDArray[np.uint64]
) -> tuple[dict[str, Any], list[Finding], dict[str, NDArray[Any]]]:
    tolerance = float(options["near_duplicate_tolerance"])
    found = duplicate_rows(dataset.features, dataset.target, tolerance=tolerance)
    conflicts, groups = conflicting_label_rows(feature_hashes, dataset.target)
    n = dataset.n_rows
    findings: list[Finding] = []
    exact, near = found["exact"], found["near"]
    if len(exact):
        share = len(exact) / n
        severity = WARNING if share >= DUPLICATE_WARNING_SHARE else INFO
        text = msg.FINDING_DUPLICATES.format(count=len(exact), share=share)
        findings.append(
            _finding(dataset, "duplicates", severity, text, rows=_shown(exact), count=len(exact), value=share)
        )
    if len(near):
        share = len(near) / n
        severity = WARNING if share >= NEAR_DUPLICATE_WARNING_SHARE else INFO
        text = msg.FINDING_NEAR_DUPLICATES.format(count=len(near), share=share, tolerance=tolerance)
        findings.append(
            _finding(dataset, "near_duplicates", severity, text, rows=_shown(near), count=len(near), value=share)
        )
    if len(conflicts):
        share = len(conflicts) / n
        text = msg.FINDING_CONFLICTS.format(groups=groups, count=len(conflicts), share=share)
        findings.append(
            _finding(
                dataset, "conflicting_labels", WARNING, text, rows=_shown(conflicts), count=len(conflicts), value=share
            )
        )
    summary = {
        "exact": len(exact),
        "near": len(near),
        "conflicting_rows": len(conflicts),
        "conflicting_vectors": groups,
    }
    arrays = {"duplicate_rows": exact, "near_duplicate_rows": near, "conflicting_rows": conflicts}
    return summary, findings, arrays


def _leakage_findings(
    dataset: Dataset, splits: Sequence[SplitInputs], feature_hashes: NDArray[np.uint64]
) -> tuple[list[dict[str, Any]], list[Finding], dict[str, NDArray[Any]]]:
    rows_out: list[dict[str, Any]] = []
    findings: list[Finding] = []
    arrays: dict[str, NDArray[Any]] = {}
    for split, leaked in zip(splits, split_leakage(feature_hashes, splits), strict=True):
        share = len(leaked) / max(1, len(split.test))
        rows_out.append(
            {
                "replicate": split.replicate,
                "fold": split.fold,
                "test_rows": len(split.test),
                "leaked_rows": len(leaked),
                "share": share,
            }
        )
        if len(leaked):
            arrays[f"leaked_rows_r{split.replicate}_f{split.fold}"] = leaked
            severity = SEVERE if share >= LEAKAGE_SEVERE_SHARE else WARNING
            text = msg.FINDING_LEAKAGE.format(
                replicate=split.replicate, fold=split.fold, count=len(leaked), rows=len(split.test), share=share
            )
            findings.append(
                _finding(
                    dataset,
                    "train_test_leakage",
                    severity,
                    text,
                    rows=_shown(leaked),
                    count=len(leaked),
                    value=share,
                    replicate=split.replicate,
                    fold=split.fold,
                )
            )
    return rows_out, findings, arrays


def _column_findings(dataset: Dataset) -> tuple[list[dict[str, Any]], dict[str, int], list[Finding]]:
    findings: list[Finding] = []
    columns: list[dict[str, Any]] = []
    n = dataset.n_rows
    categorical = set(dataset.categorical_columns)
    for column in dataset.features.columns:
        values = dataset.features[column]
        missing = int(values.isna().sum())
        unique = int(values.nunique(dropna=True))
        name = str(column)
        columns.append(
            {
                "column": name,
                "dtype": str(values.dtype),
                "missing": missing,
                "missing_share": missing / n,
                "unique": unique,
            }
        )
        if missing:
            share = missing / n
            severity = WARNING if share >= MISSING_WARNING_SHARE else INFO
            findings.append(
                _finding(
                    dataset,
                    "missing_values",
                    severity,
                    msg.FINDING_MISSING.format(column=name, count=missing, share=share),
                    columns=(name,),
                    count=missing,
                    value=share,
                )
            )
        if unique <= 1:
            value = values.dropna().iloc[0] if unique == 1 else None
            value = value.item() if isinstance(value, np.generic) else value
            findings.append(
                _finding(
                    dataset,
                    "constant_column",
                    INFO,
                    msg.FINDING_CONSTANT.format(column=name, value=value),
                    columns=(name,),
                )
            )
        if name in categorical and unique > HIGH_CARDINALITY_MIN_VALUES and unique / n >= HIGH_CARDINALITY_SHARE:
            text = msg.FINDING_HIGH_CARDINALITY.format(column=name, unique=unique, rows=n, share=unique / n)
            findings.append(
                _finding(dataset, "high_cardinality", WARNING, text, columns=(name,), count=unique, value=unique / n)
            )
    balance: dict[str, int] = {}
    if dataset.task == "classification":
        labels, counts = np.unique(dataset.target, return_counts=True)
        balance = {str(label): int(count) for label, count in zip(labels, counts, strict=True)}
        largest = labels[np.argmax(counts)]
        for label, count in zip(labels, counts, strict=True):
            ratio = count / counts.max()
            if ratio < IMBALANCE_INFO_RATIO:
                severity = WARNING if ratio < IMBALANCE_WARNING_RATIO else INFO
                text = msg.FINDING_IMBALANCE.format(
                    label=str(label), count=int(count), ratio=ratio, largest=str(largest)
                )
                findings.append(
                    _finding(dataset, "class_imbalance", severity, text, count=int(count), value=float(ratio))
                )
    return columns, balance, findings


def _label_findings(
    dataset: Dataset, oof: Mapping[str, Any] | None, options: Mapping[str, Any], seed: int
) -> tuple[dict[str, Any] | None, list[Finding], list[str], dict[str, NDArray[Any]]]:
    if not options["label_issues"]:
        return None, [], [], {}
    if dataset.task != "classification":
        return None, [], [msg.LABEL_ISSUES_REGRESSION.format(dataset=dataset.name)], {}
    classes, labels, counts = np.unique(dataset.target, return_inverse=True, return_counts=True)
    folds = int(options["label_issue_folds"])
    if oof is not None:
        probabilities, source = np.asarray(oof["probabilities"], dtype=float), str(oof["source"])
    elif counts.min() < folds:
        small = int(np.argmin(counts))
        note = msg.LABEL_ISSUES_SMALL_CLASS.format(
            dataset=dataset.name, label=str(classes[small]), count=int(counts[small]), folds=folds
        )
        return None, [], [note], {}
    else:
        probabilities = out_of_fold_probabilities(dataset, labels.astype(np.int64), folds, seed)
        source = f"a {folds}-fold logistic regression fit for this audit"
    rows = label_issue_rows(labels.astype(np.int64), probabilities)
    share = len(rows) / dataset.n_rows
    summary = {"count": len(rows), "share": share, "source": source, "rows": [int(r) for r in rows[:ROWS_SHOWN]]}
    findings: list[Finding] = []
    if len(rows):
        severity = (
            SEVERE if share >= LABEL_ISSUES_SEVERE_SHARE else WARNING if share >= LABEL_ISSUES_WARNING_SHARE else INFO
        )
        shown = ", ".join(str(int(r)) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
        text = msg.FINDING_LABEL_ISSUES.format(count=len(rows), share=share, source=source, rows=shown)
        findings.append(
            _finding(dataset, "label_issues", severity, text, rows=_shown(rows), count=len(rows), value=share)
        )
    return summary, findings, [], {"label_issue_rows": rows}


def audit_data(
    dataset: Dataset,
    splits: Sequence[SplitInputs] = (),
    *,
    oof: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], list[Finding], list[str], dict[str, NDArray[Any]]]:
    """Audit one dataset and its splits.

    Parameters
    ----------
    dataset : Dataset
    splits : sequence of SplitInputs
        The study's splits of this dataset, each checked for train/test leakage.
    oof : mapping, optional
        ``probabilities`` (n_rows, n_classes) out of fold, in the order of ``np.unique(target)``,
        and their ``source``; without it a seeded logistic regression computes them.
    options : mapping, optional
        Overrides of :data:`DATA_DEFAULTS`.
    seed : int

    Returns
    -------
    (result, findings, notes, arrays)
        ``result`` is JSON-safe; ``arrays`` hold every row behind the findings.

    Examples
    --------
    >>> from rigorlab.data import load_dataset
    >>> from rigorlab.spec import DatasetSpec
    >>> from pathlib import Path
    >>> iris = load_dataset(DatasetSpec(name="iris"), Path("."))
    >>> result, findings, notes, arrays = audit_data(iris, options={"label_issues": False})
    >>> result["duplicates"]["exact"]
    1
    """
    settings = {**DATA_DEFAULTS, **(options or {})}
    feature_hashes = row_hashes(dataset.features)
    duplicates, findings, arrays = _duplicate_findings(dataset, settings, feature_hashes)
    leakage, leak_findings, leak_arrays = _leakage_findings(dataset, splits, feature_hashes)
    columns, balance, column_findings = _column_findings(dataset)
    suspects = target_leakage_scores(dataset, rows=int(settings["target_leakage_rows"]), seed=seed)
    metric = "balanced accuracy" if dataset.task == "classification" else "R²"
    for column, score in sorted(suspects.items(), key=lambda item: -item[1]):
        if score >= TARGET_LEAKAGE_WARNING:
            severity = SEVERE if score >= TARGET_LEAKAGE_SEVERE else WARNING
            text = msg.FINDING_TARGET_LEAKAGE.format(column=column, metric=metric, score=score)
            column_findings.append(_finding(dataset, "target_leakage", severity, text, columns=(column,), value=score))
    labels, label_findings, notes, label_arrays = _label_findings(dataset, oof, settings, seed)
    result = {
        "rows": dataset.n_rows,
        "columns": int(dataset.features.shape[1]),
        "task": dataset.task,
        "duplicates": duplicates,
        "leakage": leakage,
        "class_balance": balance,
        "column_checks": columns,
        "target_leakage": {"metric": metric, "scores": suspects},
        "label_issues": labels,
    }
    findings = _expected_repeats(dataset, findings + leak_findings) + column_findings + label_findings
    return result, findings, notes, {**arrays, **leak_arrays, **label_arrays}
