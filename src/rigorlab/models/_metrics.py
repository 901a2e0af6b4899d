"""Metrics by name, computed from stored predictions.

The friendly names researchers write in study files (``roc_auc``, ``rmse``) map to scikit-learn
metric functions. Every metric is computed from what the trial stores (labels and scores), so
audits and reproduce runs recompute exactly the same numbers from the store. Any other
scikit-learn scorer name (``get_scorer_names()``) is accepted too and evaluated on the fitted
model at trial time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn import metrics as skm

__all__ = [
    "CLASSIFICATION",
    "METRICS",
    "REGRESSION",
    "MetricInfo",
    "compute_metric",
    "higher_is_better",
    "is_known_metric",
    "known_metric_names",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"

Scores = NDArray[np.float64] | None
MetricFunction = Callable[[NDArray[np.generic], NDArray[np.generic], Scores, NDArray[np.generic]], float]


@dataclass(frozen=True)
class MetricInfo:
    """What rigorlab knows of a metric: which tasks it applies to and its direction."""

    name: str
    task: str
    higher_is_better: bool
    needs_scores: bool
    function: MetricFunction
    description: str


def _positive_scores(scores: Scores, classes: NDArray[np.generic]) -> NDArray[np.float64]:
    assert scores is not None
    return scores[:, 1] if scores.ndim == 2 else scores


def _roc_auc(y: NDArray[np.generic], _p: NDArray[np.generic], scores: Scores, classes: NDArray[np.generic]) -> float:
    assert scores is not None
    if len(classes) == 2:
        return float(skm.roc_auc_score(y, _positive_scores(scores, classes)))
    return float(skm.roc_auc_score(y, scores, multi_class="ovr", labels=classes))


def _log_loss(y: NDArray[np.generic], _p: NDArray[np.generic], scores: Scores, classes: NDArray[np.generic]) -> float:
    assert scores is not None
    return float(skm.log_loss(y, scores, labels=classes))


def _brier(y: NDArray[np.generic], _p: NDArray[np.generic], scores: Scores, classes: NDArray[np.generic]) -> float:
    assert scores is not None
    if len(classes) == 2:
        return float(skm.brier_score_loss(y, _positive_scores(scores, classes), pos_label=classes[1]))
    # Multi-class Brier score: mean over rows of the squared distance to the one-hot truth.
    one_hot = (np.asarray(y)[:, None] == classes[None, :]).astype(float)
    return float(np.mean(np.sum((scores - one_hot) ** 2, axis=1)))


def _labels(function: Callable[..., float], **kwargs: object) -> MetricFunction:
    def compute(y: NDArray[np.generic], pred: NDArray[np.generic], _s: Scores, _c: NDArray[np.generic]) -> float:
        return float(function(y, pred, **kwargs))

    return compute


def _rmse(y: NDArray[np.generic], pred: NDArray[np.generic], _s: Scores, _c: NDArray[np.generic]) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred)))


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in [
        MetricInfo("accuracy", CLASSIFICATION, True, False, _labels(skm.accuracy_score), "fraction of correct labels"),
        MetricInfo(
            "balanced_accuracy",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.balanced_accuracy_score),
            "mean recall over classes",
        ),
        MetricInfo(
            "f1_macro",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.f1_score, average="macro", zero_division=0),
            "unweighted mean F1 over classes",
        ),
        MetricInfo(
            "f1_weighted",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.f1_score, average="weighted", zero_division=0),
            "support-weighted mean F1",
        ),
        MetricInfo(
            "precision_macro",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.precision_score, average="macro", zero_division=0),
            "unweighted mean precision",
        ),
        MetricInfo(
            "recall_macro",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.recall_score, average="macro", zero_division=0),
            "unweighted mean recall",
        ),
        MetricInfo(
            "roc_auc",
            CLASSIFICATION,
            True,
            True,
            _roc_auc,
            "area under the ROC curve (one-vs-rest for several classes)",
        ),
        MetricInfo("log_loss", CLASSIFICATION, False, True, _log_loss, "cross-entropy of the predicted probabilities"),
        MetricInfo("brier", CLASSIFICATION, False, True, _brier, "mean squared error of the predicted probabilities"),
        MetricInfo("r2", REGRESSION, True, False, _labels(skm.r2_score), "coefficient of determination"),
        MetricInfo("mae", REGRESSION, False, False, _labels(skm.mean_absolute_error), "mean absolute error"),
        MetricInfo("mse", REGRESSION, False, False, _labels(skm.mean_squared_error), "mean squared error"),
        MetricInfo("rmse", REGRESSION, False, False, _rmse, "root mean squared error"),
    ]
}

# Measured by the trial runner, not computed from predictions.
TIMING_METRICS = {"fit_seconds": False, "predict_seconds": False}


def _sklearn_scorer_names() -> set[str]:
    return set(skm.get_scorer_names())


def known_metric_names() -> list[str]:
    """The friendly names, then every scikit-learn scorer name, sorted."""
    return sorted(METRICS) + sorted(_sklearn_scorer_names() - set(METRICS))


def is_known_metric(name: str) -> bool:
    return name in METRICS or name in TIMING_METRICS or name in _sklearn_scorer_names()


def higher_is_better(name: str) -> bool:
    """Direction of a metric: True when larger values are better.

    scikit-learn scorers are oriented so that larger is better (losses are negated: ``neg_*``).
    """
    if name in METRICS:
        return METRICS[name].higher_is_better
    if name in TIMING_METRICS:
        return TIMING_METRICS[name]
    return True


def compute_metric(
    name: str,
    y_true: NDArray[np.generic],
    y_pred: NDArray[np.generic],
    scores: Scores,
    classes: NDArray[np.generic],
) -> float:
    """Compute a friendly-named metric from labels and scores."""
    return METRICS[name].function(y_true, y_pred, scores, classes)
