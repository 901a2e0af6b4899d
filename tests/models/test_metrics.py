"""Metrics by name match scikit-learn's own functions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from rigorlab.models import METRICS, compute_metric, higher_is_better, is_known_metric

RNG = np.random.default_rng(0)
Y_BINARY = RNG.integers(0, 2, size=200)
P_BINARY = np.clip(Y_BINARY * 0.6 + RNG.uniform(0, 0.4, size=200), 0, 1)
SCORES_BINARY = np.column_stack([1 - P_BINARY, P_BINARY])
PRED_BINARY = (P_BINARY > 0.5).astype(int)
CLASSES_BINARY = np.array([0, 1])


def test_binary_metrics_equal_sklearn():
    assert compute_metric("accuracy", Y_BINARY, PRED_BINARY, SCORES_BINARY, CLASSES_BINARY) == skm.accuracy_score(
        Y_BINARY, PRED_BINARY
    )
    assert compute_metric("roc_auc", Y_BINARY, PRED_BINARY, SCORES_BINARY, CLASSES_BINARY) == skm.roc_auc_score(
        Y_BINARY, P_BINARY
    )
    assert compute_metric("log_loss", Y_BINARY, PRED_BINARY, SCORES_BINARY, CLASSES_BINARY) == skm.log_loss(
        Y_BINARY, SCORES_BINARY
    )
    assert compute_metric("brier", Y_BINARY, PRED_BINARY, SCORES_BINARY, CLASSES_BINARY) == skm.brier_score_loss(
        Y_BINARY, P_BINARY
    )


def test_multiclass_roc_auc_is_one_vs_rest_and_brier_is_multiclass():
    y = RNG.integers(0, 3, size=150)
    raw = RNG.uniform(size=(150, 3)) + np.eye(3)[y]
    scores = raw / raw.sum(axis=1, keepdims=True)
    classes = np.array([0, 1, 2])
    expected = skm.roc_auc_score(y, scores, multi_class="ovr")
    assert compute_metric("roc_auc", y, scores.argmax(1), scores, classes) == pytest.approx(expected)
    brier = compute_metric("brier", y, scores.argmax(1), scores, classes)
    assert brier == pytest.approx(np.mean(np.sum((scores - np.eye(3)[y]) ** 2, axis=1)))


def test_regression_metrics():
    y = RNG.normal(size=100)
    pred = y + RNG.normal(scale=0.3, size=100)
    empty = np.array([])
    assert compute_metric("rmse", y, pred, None, empty) == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert compute_metric("mae", y, pred, None, empty) == skm.mean_absolute_error(y, pred)
    assert compute_metric("r2", y, pred, None, empty) == skm.r2_score(y, pred)


def test_directions_and_names():
    assert higher_is_better("accuracy") and not higher_is_better("log_loss") and not higher_is_better("rmse")
    assert higher_is_better("neg_mean_absolute_error")  # sklearn scorers are oriented larger-is-better
    assert is_known_metric("neg_log_loss") and not is_known_metric("rocauc")
    assert {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "brier", "r2", "mae", "rmse"} <= set(
        METRICS
    )


def test_a_qualified_metric_keeps_its_base_metrics_direction_and_range():
    from rigorlab.models._metrics import metric_bounds, metric_direction

    assert metric_direction("log_loss@in_distribution").higher_is_better is False
    assert metric_direction("accuracy@in_distribution").higher_is_better is True
    assert metric_bounds("accuracy@in_distribution") == (0.0, 1.0)
