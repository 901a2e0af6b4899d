"""Tolerances, the comparison of a re-run with its stored result, and environment diffs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rigorlab.errors import InputError
from rigorlab.provenance import (
    ACROSS_ENVIRONMENTS,
    EXACT,
    GPU,
    Change,
    EnvironmentDiff,
    Tolerance,
    Tolerances,
    compare_results,
    diff_environments,
    diff_git,
)
from rigorlab.provenance._compare import MSG_BAD_TOLERANCE
from rigorlab.provenance._envdiff import explain


def result(metrics=None, scores=None, y_pred=None, curves=None, selected=None):
    predictions = {}
    if scores is not None:
        predictions["scores"] = np.asarray(scores, dtype=float)
    if y_pred is not None:
        predictions["y_pred"] = np.asarray(y_pred)
    return {"metrics": metrics or {}, "predictions": predictions, "curves": curves or {}, "selected_params": selected}


def test_identical_to_the_bit():
    stored = result({"accuracy": 0.9, "log_loss": float("nan")}, [[0.2, 0.8]], ["a"], {"loss": [(0, 1.5)]})
    again = result({"accuracy": 0.9, "log_loss": float("nan")}, [[0.2, 0.8]], ["a"], {"loss": [(0, 1.5)]})
    comparison = compare_results(stored, again, EXACT, Tolerances())
    assert comparison.verdict == "identical"
    assert comparison.max_difference == 0.0 and comparison.differences == []


def test_exact_tolerance_reports_the_smallest_difference_as_different():
    comparison = compare_results(result({"accuracy": 0.9}), result({"accuracy": 0.9 + 1e-15}), EXACT, Tolerances())
    assert comparison.verdict == "different"
    assert comparison.differences[0].startswith(
        "accuracy: stored 0.9, reproduced 0.900000000000001 (difference 9.99e-16"
    )
    assert "tolerance exact" in comparison.differences[0]


def test_within_tolerance_gives_the_largest_difference():
    stored = result({"accuracy": 0.9, "roc_auc": 0.95}, [[0.1, 0.9]])
    again = result({"accuracy": 0.9 + 2e-7, "roc_auc": 0.95}, [[0.1 + 5e-7, 0.9 - 5e-7]])
    comparison = compare_results(stored, again, ACROSS_ENVIRONMENTS, Tolerances())
    assert comparison.verdict == "within_tolerance"
    assert comparison.max_difference == pytest.approx(5e-7, rel=1e-3)
    assert comparison.details["metrics"]["accuracy"]["difference"] == pytest.approx(2e-7)


def test_predicted_labels_must_match_exactly_whatever_the_tolerance():
    stored = result({"accuracy": 0.9}, y_pred=["a", "b", "a"])
    again = result({"accuracy": 0.9}, y_pred=["a", "a", "a"])
    comparison = compare_results(stored, again, Tolerance(1.0, 1.0), Tolerances())
    assert comparison.verdict == "different"
    assert comparison.differences == ["y_pred: 1 of 3 differ (first at position 1: stored 'b', reproduced 'a')"]


def test_regression_predictions_and_scores_use_the_scores_tolerance():
    stored = result({"r2": 0.5}, y_pred=[1.0, 2.0])
    again = result({"r2": 0.5}, y_pred=[1.0, 2.0 + 1e-4])
    assert compare_results(stored, again, EXACT, Tolerances()).verdict == "different"
    loose = Tolerances.parse(["scores=1e-3"])
    assert compare_results(stored, again, EXACT, loose).verdict == "within_tolerance"


def test_a_nan_on_one_side_only_is_a_difference_of_infinity():
    comparison = compare_results(result(scores=[[0.5, np.nan]]), result(scores=[[0.5, 0.5]]), GPU, Tolerances())
    assert comparison.verdict == "different"
    assert math.isinf(comparison.max_difference)


def test_missing_metric_shape_change_curves_and_selected_params():
    missing = compare_results(result({"accuracy": 0.9}), result({}), GPU, Tolerances())
    assert missing.verdict == "different" and missing.differences == ["accuracy: stored 0.9, reproduced nothing"]
    shapes = compare_results(result(scores=[[0.1, 0.9]]), result(scores=[[0.1, 0.9], [0.2, 0.8]]), GPU, Tolerances())
    assert shapes.verdict == "different" and "shape (1, 2) stored, (2, 2) reproduced" in shapes.differences[0]
    curve = compare_results(result(curves={"loss": [(0, 1.0)]}), result(curves={"loss": [(0, 1.1)]}), GPU, Tolerances())
    assert curve.verdict == "different" and curve.differences[0].startswith("curve loss: 1 of 1 values outside")
    params = compare_results(result(selected={"C": 1.0}), result(selected={"C": 0.1}), GPU, Tolerances())
    assert params.differences == ["selected hyperparameters: stored {'C': 1.0}, reproduced {'C': 0.1}"]


def test_tolerances_from_the_command_line():
    tolerances = Tolerances.parse(["1e-6", "roc_auc=1e-3"], ["log_loss=1e-2"])
    assert tolerances.default == Tolerance(1e-6, 0.0)
    assert tolerances.for_name("roc_auc", EXACT) == Tolerance(1e-3, 0.0)
    assert tolerances.for_name("log_loss", EXACT) == Tolerance(0.0, 1e-2)
    assert tolerances.for_name("accuracy", ACROSS_ENVIRONMENTS) == ACROSS_ENVIRONMENTS
    assert Tolerances.parse(exact=True).base(same_environment=False, gpu=True) == (EXACT, "as given")
    for value in ("abc", "-1", "roc_auc=inf", "x=nan"):
        with pytest.raises(InputError) as caught:
            Tolerances.parse([value])
        assert str(caught.value) == MSG_BAD_TOLERANCE.format(option="tolerance", value=value)


def test_default_tolerance_follows_the_environment():
    tolerances = Tolerances()
    assert tolerances.base(same_environment=True, gpu=False)[0] == EXACT
    assert tolerances.base(same_environment=False, gpu=False)[0] == ACROSS_ENVIRONMENTS
    assert tolerances.base(same_environment=True, gpu=True)[0] == GPU
    assert str(EXACT) == "exact" and str(GPU) == "abs 0.0001, rel 0.0001"


ENVIRONMENT = {
    "python": "3.11.7",
    "python_implementation": "CPython",
    "machine": "x86_64",
    "cpu": "Intel Xeon",
    "cpu_cores": 2,
    "platform": "Linux-6.1-x86_64",
    "hostname": "here",
    "executable": "/venv/bin/python",
    "memory_bytes": 1,
    "gpus": [],
    "packages": {"numpy": "2.4.0", "scikit-learn": "1.9.1", "rich": "14.0"},
}


def test_environment_diff_names_each_change_and_ignores_the_machine_name():
    before = {
        **ENVIRONMENT,
        "hostname": "there",
        "executable": "/other/python",
        "memory_bytes": 2,
        "python": "3.12.1",
        "gpus": [{"name": "A100", "driver": "550"}],
        "packages": {"numpy": "2.4.0", "scikit-learn": "1.8.0", "torch": "2.13.0"},
    }
    changes = diff_environments(before, ENVIRONMENT)
    assert [str(c) for c in changes] == [
        "Python 3.12.1 -> 3.11.7",
        "GPU A100 (driver 550) -> none",
        "rich not installed -> 14.0",
        "scikit-learn 1.8.0 -> 1.9.1",
        "torch 2.13.0 -> not installed",
    ]
    diff = EnvironmentDiff("abc", "def", 3, changes)
    assert not diff.same and diff.has_gpu
    assert diff.lines(limit=3) == ["gpu: GPU A100 (driver 550) -> none", "Python 3.12.1 -> 3.11.7", "... and 3 more"]
    assert diff_environments(ENVIRONMENT, dict(ENVIRONMENT, hostname="x")) == []
    assert EnvironmentDiff("abc", "def", 1, []).same and not EnvironmentDiff(None, "def", 1, []).same


def test_git_diff():
    clean = {"commit": "a" * 40, "diff": "", "diff_sha256": "e3b0"}
    dirty = {"commit": "b" * 40, "diff": "+x", "diff_sha256": "f00d"}
    assert [str(c) for c in diff_git(clean, dirty)] == [
        "commit aaaaaaaaaaaa -> bbbbbbbbbbbb",
        "uncommitted changes none -> diff sha256 f00d",
    ]
    assert diff_git(clean, clean) == []
    assert [str(c) for c in diff_git(clean, None)] == ["git commit aaaaaaaaaaaa -> not a git work tree"]


def test_explain_puts_the_estimators_package_first():
    changes = [
        Change("package", "rich", "13", "14"),
        Change("python", "Python", "3.12.1", "3.11.7"),
        Change("package", "numpy", "2.3.0", "2.4.0"),
        Change("package", "scikit-learn", "1.8.0", "1.9.1"),
        Change("git", "commit", "aaa", "bbb"),
    ]
    config = {"estimator": "sklearn.ensemble.RandomForestClassifier"}
    assert explain(changes, config) == [
        "scikit-learn 1.8.0 -> 1.9.1 (provides the estimator)",
        "numpy 2.3.0 -> 2.4.0",
        "Python 3.12.1 -> 3.11.7",
        "rich 13 -> 14",
    ]
    own_code = explain(changes, {"estimator": "helper_estimators.Sleepy"})
    assert "commit aaa -> bbb (the estimator is code from the work tree)" in own_code
