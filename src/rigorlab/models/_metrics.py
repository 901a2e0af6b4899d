"""Metrics by name, computed from stored predictions.

The friendly names researchers write in study files (``roc_auc``, ``rmse``) map to scikit-learn
metric functions. Every metric is computed from what the trial stores (labels and scores), so
audits and reproduce runs recompute exactly the same numbers from the store. Any other
scikit-learn scorer name (``get_scorer_names()``) is accepted too and evaluated on the fitted
model at trial time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn import metrics as skm

__all__ = [
    "CLASSIFICATION",
    "LOWER_IS_BETTER_WORDS",
    "METRICS",
    "REGRESSION",
    "MetricDirection",
    "MetricInfo",
    "compute_metric",
    "higher_is_better",
    "is_known_metric",
    "known_metric_names",
    "metric_bounds",
    "metric_direction",
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
    bounds: tuple[float | None, float | None] = (None, None)
    """The range every value lies in, ``(low, high)``; ``None`` where it is unbounded."""


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


Bounds = tuple[float | None, float | None]
UNIT: Bounds = (0.0, 1.0)
NON_NEGATIVE: Bounds = (0.0, None)
AT_MOST_ONE: Bounds = (None, 1.0)
UNBOUNDED: Bounds = (None, None)
# The multi-class Brier score sums the squared error over classes, so it reaches 2 (binary: 1).
BRIER_RANGE: Bounds = (0.0, 2.0)

METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in [
        MetricInfo(
            "accuracy", CLASSIFICATION, True, False, _labels(skm.accuracy_score), "fraction of correct labels", UNIT
        ),
        MetricInfo(
            "balanced_accuracy",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.balanced_accuracy_score),
            "mean recall over classes",
            UNIT,
        ),
        MetricInfo(
            "f1_macro",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.f1_score, average="macro", zero_division=0),
            "unweighted mean F1 over classes",
            UNIT,
        ),
        MetricInfo(
            "f1_weighted",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.f1_score, average="weighted", zero_division=0),
            "support-weighted mean F1",
            UNIT,
        ),
        MetricInfo(
            "precision_macro",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.precision_score, average="macro", zero_division=0),
            "unweighted mean precision",
            UNIT,
        ),
        MetricInfo(
            "recall_macro",
            CLASSIFICATION,
            True,
            False,
            _labels(skm.recall_score, average="macro", zero_division=0),
            "unweighted mean recall",
            UNIT,
        ),
        MetricInfo(
            "roc_auc",
            CLASSIFICATION,
            True,
            True,
            _roc_auc,
            "area under the ROC curve (one-vs-rest for several classes)",
            UNIT,
        ),
        MetricInfo(
            "log_loss",
            CLASSIFICATION,
            False,
            True,
            _log_loss,
            "cross-entropy of the predicted probabilities",
            NON_NEGATIVE,
        ),
        MetricInfo(
            "brier",
            CLASSIFICATION,
            False,
            True,
            _brier,
            "mean squared error of the predicted probabilities",
            BRIER_RANGE,
        ),
        MetricInfo("r2", REGRESSION, True, False, _labels(skm.r2_score), "coefficient of determination", AT_MOST_ONE),
        MetricInfo(
            "mae", REGRESSION, False, False, _labels(skm.mean_absolute_error), "mean absolute error", NON_NEGATIVE
        ),
        MetricInfo(
            "mse", REGRESSION, False, False, _labels(skm.mean_squared_error), "mean squared error", NON_NEGATIVE
        ),
        MetricInfo("rmse", REGRESSION, False, False, _rmse, "root mean squared error", NON_NEGATIVE),
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


LOWER_IS_BETTER_WORDS: tuple[str, ...] = (
    "loss",
    "error",
    "err",
    "errors",
    "wer",
    "cer",
    "ter",
    "perplexity",
    "ppl",
    "nll",
    "xent",
    "crossentropy",
    "mse",
    "mae",
    "rmse",
    "mape",
    "smape",
    "brier",
    "ece",
    "fid",
    "regret",
    "distance",
    "latency",
    "seconds",
    "time",
)
"""Words that make an unknown metric name lower-is-better (``val_loss``, ``test/error``, ``wer``,
``eval_perplexity``, ``fit_time``). A name is cut into lower-case words at anything that is not a
letter or digit and at lower-to-upper case changes (``valLoss`` is ``val loss``)."""

NEGATED_PREFIXES: tuple[str, ...] = ("neg", "negative", "minus")
"""A first word that negates the rest (``neg_loss``, scikit-learn's convention): higher is better."""

DIRECTION_KNOWN = "known"
DIRECTION_NAME_RULE = "name"
DIRECTION_DEFAULT = "default"
DIRECTION_GIVEN = "given"


@dataclass(frozen=True)
class MetricDirection:
    """Whether larger values of a metric are better, and why rigorlab thinks so.

    ``source`` is ``"known"`` (a metric rigorlab or scikit-learn defines), ``"name"`` (an unknown
    name holding a word of :data:`LOWER_IS_BETTER_WORDS`, or a negated one), ``"default"`` (an
    unknown name with no such word: higher is better) or ``"given"`` (stated by the user);
    ``reason`` says why in words, for legends and methods sections ("a known metric", "the name
    contains 'loss' (rigorlab's rule for unknown names)", ...).
    """

    higher_is_better: bool
    source: str
    reason: str


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


def base_metric_name(name: str) -> str:
    """The metric a qualified name measures: ``accuracy@in_distribution`` is accuracy (on other rows).

    Examples
    --------
    >>> base_metric_name("log_loss@in_distribution"), base_metric_name("val_loss")
    ('log_loss', 'val_loss')
    """
    return name.split("@", 1)[0]


def metric_direction(name: str, given: bool | None = None) -> MetricDirection:
    """The direction of a metric: stated (``given``), known, or read from its name.

    Known metrics keep their direction (``log_loss``, ``rmse`` lower; scikit-learn scorers higher,
    their losses being negated as ``neg_*``). A name rigorlab does not know (a tracked
    ``val_loss``, ``wer``, ``perplexity``) is lower-is-better when one of its words is in
    :data:`LOWER_IS_BETTER_WORDS`, unless its first word negates it (``neg_loss``); any other
    unknown name is taken as higher-is-better, and ``reason`` says that this is a default.

    Parameters
    ----------
    name : str
        The metric's name.
    given : bool, optional
        The user's statement (``--higher-is-better`` / ``--lower-is-better``); it wins.

    Returns
    -------
    MetricDirection

    Examples
    --------
    >>> metric_direction("val_loss").higher_is_better, metric_direction("val_loss").source
    (False, 'name')
    >>> metric_direction("bleu").source
    'default'
    >>> metric_direction("bleu", given=False).higher_is_better
    False
    """
    if given is not None:
        return MetricDirection(bool(given), DIRECTION_GIVEN, "stated by the user")
    name = base_metric_name(name)
    if name in METRICS or name in TIMING_METRICS or name in _sklearn_scorer_names():
        known = METRICS[name].higher_is_better if name in METRICS else TIMING_METRICS.get(name, True)
        return MetricDirection(known, DIRECTION_KNOWN, "a known metric")
    words = _words(name)
    if words and words[0] in NEGATED_PREFIXES:
        return MetricDirection(True, DIRECTION_NAME_RULE, f"the name starts with {words[0]!r}, a negated score")
    found = next((word for word in words if word in LOWER_IS_BETTER_WORDS), None)
    if found is not None:
        return MetricDirection(
            False, DIRECTION_NAME_RULE, f"the name contains {found!r} (rigorlab's rule for unknown names)"
        )
    return MetricDirection(
        True,
        DIRECTION_DEFAULT,
        "rigorlab's default for an unknown name without a lower-is-better word such as loss or error; "
        "state the direction if it is wrong",
    )


def higher_is_better(name: str) -> bool:
    """Direction of a metric: True when larger values are better.

    Known metrics: their definition (scikit-learn scorers are oriented so that larger is better;
    losses are negated: ``neg_*``). Unknown names follow :func:`metric_direction`'s name rule
    (``val_loss``, ``wer``, ``perplexity`` are lower-is-better).
    """
    return metric_direction(name).higher_is_better


# scikit-learn scorer names by their leading word: shares and areas lie in [0, 1]; scikit-learn
# negates losses (``neg_*``), so those are <= 0; explained variance and D^2 are <= 1 like r2.
_SCORER_PREFIX_BOUNDS: tuple[tuple[str, Bounds], ...] = (
    ("neg_", (None, 0.0)),
    ("f1", UNIT),
    ("precision", UNIT),
    ("recall", UNIT),
    ("jaccard", UNIT),
    ("roc_auc", UNIT),
    ("average_precision", UNIT),
    ("top_k_accuracy", UNIT),
    ("explained_variance", AT_MOST_ONE),
    ("d2_", AT_MOST_ONE),
    ("matthews_corrcoef", (-1.0, 1.0)),
)


def metric_bounds(name: str) -> tuple[float | None, float | None]:
    """The range a metric's values lie in, ``(low, high)``, with ``None`` where it is unbounded.

    Friendly names have their range in :data:`METRICS` (accuracy, F1, ROC AUC in [0, 1]; r2 at
    most 1; losses and errors at least 0; the Brier score in [0, 2], as it sums over classes);
    timings are at least 0; scikit-learn scorer names by their family (``neg_*`` at most 0). A name
    rigorlab does not know (a tracked ``val_loss``) is unbounded: rigorlab cannot know its range.
    Intervals (a symmetric t interval can cross an edge) are clipped to this range for display.

    Examples
    --------
    >>> metric_bounds("accuracy"), metric_bounds("r2"), metric_bounds("rmse"), metric_bounds("val_loss")
    ((0.0, 1.0), (None, 1.0), (0.0, None), (None, None))
    """
    name = base_metric_name(name)
    if name in METRICS:
        return METRICS[name].bounds
    if name in TIMING_METRICS:
        return NON_NEGATIVE
    if name in _sklearn_scorer_names():
        for prefix, bounds in _SCORER_PREFIX_BOUNDS:
            if name.startswith(prefix):
                return bounds
    return UNBOUNDED


def compute_metric(
    name: str,
    y_true: NDArray[np.generic],
    y_pred: NDArray[np.generic],
    scores: Scores,
    classes: NDArray[np.generic],
) -> float:
    """Compute a friendly-named metric from labels and scores."""
    return METRICS[name].function(y_true, y_pred, scores, classes)
