"""The data audit finds planted duplicates, leakage, flipped labels and a leaking column in a
copy of a real dataset, and reports none of them on the clean copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from rigorlab.audits import (
    INFO,
    SEVERE,
    WARNING,
    SplitInputs,
    audit_data,
    conflicting_label_rows,
    duplicate_rows,
    row_hashes,
    split_leakage,
)
from rigorlab.audits import _messages as msg
from tests.audits.conftest import make_dataset


def kfold_splits(rows: int, seed: int = 0) -> tuple[SplitInputs, ...]:
    folds = KFold(n_splits=3, shuffle=True, random_state=seed).split(np.arange(rows))
    return tuple(
        SplitInputs(0, fold, np.asarray(train), np.asarray(test), f"split{fold}")
        for fold, (train, test) in enumerate(folds)
    )


def by_check(findings, check):
    return [f for f in findings if f.check == check]


@pytest.fixture
def planted(breast_cancer_frame: pd.DataFrame, rng: np.random.Generator):
    """breast_cancer with 30 copied rows (which leak across folds) and 5% flipped labels."""
    frame = breast_cancer_frame.copy()
    originals = rng.choice(len(frame), size=30, replace=False)
    frame = pd.concat([frame, frame.iloc[originals]], ignore_index=True)
    copies = np.arange(len(breast_cancer_frame), len(frame))
    flipped = rng.choice(len(breast_cancer_frame), size=int(0.05 * len(breast_cancer_frame)), replace=False)
    flipped = np.setdiff1d(flipped, originals)
    frame.loc[flipped, "target"] = 1 - frame.loc[flipped, "target"]
    return make_dataset(frame, "target", name="planted"), originals, copies, flipped


def test_planted_problems_are_found(planted):
    dataset, originals, copies, flipped = planted
    splits = kfold_splits(dataset.n_rows)
    result, findings, notes, arrays = audit_data(dataset, splits, seed=1)

    duplicates = by_check(findings, "duplicates")
    assert len(duplicates) == 1 and duplicates[0].severity == WARNING
    # Flipping a label of an original would make its copy a conflict, not a duplicate: none were flipped.
    assert set(arrays["duplicate_rows"]) == set(copies)
    assert result["duplicates"]["exact"] == 30

    # A copy and its original on different sides of a split: the one in the test fold leaked.
    leaking_splits = 0
    for split, found in zip(splits, split_leakage(row_hashes(dataset.features), splits), strict=True):
        pairs = [(o, c) for o, c in zip(originals, copies, strict=True) if (o in split.test) != (c in split.test)]
        assert set(found) == {o if o in split.test else c for o, c in pairs}
        leaking_splits += bool(pairs)
    leaked = by_check(findings, "train_test_leakage")
    assert leaking_splits == 3 and len(leaked) == 3 and all(f.severity == SEVERE for f in leaked)
    assert not by_check(findings, "target_leakage")

    labels = by_check(findings, "label_issues")
    assert labels and labels[0].severity in (WARNING, SEVERE)
    found = set(arrays["label_issue_rows"])
    assert len(found & set(flipped)) / len(flipped) >= 0.7
    assert notes == []


def test_clean_copy_has_no_such_finding(breast_cancer_frame: pd.DataFrame):
    dataset = make_dataset(breast_cancer_frame, "target", name="clean")
    result, findings, notes, arrays = audit_data(dataset, kfold_splits(dataset.n_rows), seed=1)
    checks = {f.check: f.severity for f in findings}
    for check in ("duplicates", "near_duplicates", "conflicting_labels", "train_test_leakage", "target_leakage"):
        assert check not in checks
    # Confident learning flags a few borderline rows in any real data: information, not a warning.
    assert checks.get("label_issues", INFO) == INFO
    assert all(s["leaked_rows"] == 0 for s in result["leakage"])


def test_a_column_derived_from_the_target_is_a_leakage_suspect(breast_cancer_frame: pd.DataFrame):
    frame = breast_cancer_frame.copy()
    frame["follow_up_code"] = frame["target"] * 7 + 3  # the outcome recorded again under another name
    _, findings, _, _ = audit_data(make_dataset(frame, "target"), options={"label_issues": False}, seed=2)
    suspects = by_check(findings, "target_leakage")
    assert [f.columns for f in suspects] == [("follow_up_code",)] and suspects[0].severity == SEVERE
    assert suspects[0].message == msg.FINDING_TARGET_LEAKAGE.format(
        column="follow_up_code", metric="balanced accuracy", score=suspects[0].value
    )


def test_the_audit_is_seeded(planted):
    dataset = planted[0]
    first = audit_data(dataset, kfold_splits(dataset.n_rows), seed=5)
    second = audit_data(dataset, kfold_splits(dataset.n_rows), seed=5)
    assert first[0] == second[0] and first[1] == second[1]


def test_near_duplicates_and_conflicting_labels(breast_cancer_frame: pd.DataFrame):
    frame = breast_cancer_frame.copy()
    nearly = frame.iloc[:10].copy()
    nearly["mean radius"] += 1e-6  # below the rounding tolerance
    conflicting = frame.iloc[10:15].copy()
    conflicting["target"] = 1 - conflicting["target"]
    frame = pd.concat([frame, nearly, conflicting], ignore_index=True)
    n = len(breast_cancer_frame)
    found = duplicate_rows(frame.drop(columns="target"), frame["target"].to_numpy())
    assert found["exact"].tolist() == [] or set(found["exact"]).isdisjoint(range(n, n + 10))
    assert set(range(n, n + 10)) <= set(found["near"])
    rows, groups = conflicting_label_rows(row_hashes(frame.drop(columns="target")), frame["target"].to_numpy())
    assert groups == 5 and set(rows) == set(range(10, 15)) | set(range(n + 10, n + 15))


def test_column_checks(breast_cancer_frame: pd.DataFrame, rng: np.random.Generator):
    frame = breast_cancer_frame.copy()
    frame["record_id"] = [f"id-{i:05d}" for i in range(len(frame))]
    frame["site"] = "A"
    sparse = frame["mean area"].copy()
    sparse[rng.random(len(frame)) < 0.6] = np.nan
    frame["mean area"] = sparse
    dataset = make_dataset(frame, "target")
    _, findings, _, _ = audit_data(dataset, options={"label_issues": False}, seed=0)
    assert [f.columns for f in by_check(findings, "high_cardinality")] == [("record_id",)]
    assert by_check(findings, "high_cardinality")[0].severity == WARNING
    assert [f.columns for f in by_check(findings, "constant_column")] == [("site",)]
    missing = by_check(findings, "missing_values")
    assert [f.columns for f in missing] == [("mean area",)] and missing[0].severity == WARNING
    # An identifier is target-encoded with cross fitting, so it does not look like target leakage.
    assert not by_check(findings, "target_leakage")


def test_class_imbalance(breast_cancer_frame: pd.DataFrame):
    frame = pd.concat([breast_cancer_frame[breast_cancer_frame["target"] == 1], breast_cancer_frame.iloc[:30]])
    frame = frame[(frame["target"] == 1) | (frame.index < 30)]
    minority = int((frame["target"] == 0).sum())
    _, findings, _, _ = audit_data(make_dataset(frame, "target"), options={"label_issues": False}, seed=0)
    imbalance = by_check(findings, "class_imbalance")
    assert len(imbalance) == 1 and imbalance[0].count == minority
    assert imbalance[0].severity == (WARNING if minority / (frame["target"] == 1).sum() < 0.1 else INFO)


def test_repeats_in_a_discrete_feature_space_are_information(arrests_frame: pd.DataFrame):
    """arrests has four low-cardinality features: two people with the same record are not a copy."""
    dataset = make_dataset(arrests_frame, "released", sensitive=("colour", "sex", "citizen"))
    _, findings, _, _ = audit_data(dataset, kfold_splits(dataset.n_rows), options={"label_issues": False}, seed=0)
    repeats = [f for f in findings if f.check in ("duplicates", "conflicting_labels", "train_test_leakage")]
    assert repeats and all(f.severity == INFO for f in repeats)
    assert all(msg.EXPECTED_REPEATS.split("{")[0] in f.message for f in repeats)


def test_label_issues_for_regression_is_a_note():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    _, findings, notes, _ = audit_data(make_dataset(frame, "target", task="regression"), seed=0)
    assert notes == [msg.LABEL_ISSUES_REGRESSION.format(dataset="data")]
    assert not by_check(findings, "label_issues")
