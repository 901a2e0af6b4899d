"""Two models on one test set: McNemar's test and a paired bootstrap over test examples.

Use these when there is a single train/test split (no replicates): the test examples are then
the only source of variation, and the pairing is by example.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import SeedLike, as_generator, check_confidence, check_n_resamples, json_safe

EXACT_MCNEMAR_BELOW = 25
"""With fewer discordant pairs than this, the chi-square approximation is poor: use the exact
binomial test (the usual rule, e.g. in statsmodels' documentation and Dietterich 1998)."""


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on the discordant pairs of two classifiers.

    Attributes
    ----------
    only_a_correct, only_b_correct : int
        Discordant counts b and c.
    statistic : float
        ``min(b, c)`` for the exact test; ``max(|b - c| - 1, 0)^2 / (b + c)`` for the chi-square test.
    p_value : float
        Two-sided.
    method : str
    n_examples : int
    """

    only_a_correct: int
    only_b_correct: int
    statistic: float
    p_value: float
    method: str
    n_examples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return dict(json_safe(asdict(self)))


def _aligned(
    y_true: npt.ArrayLike, predictions_a: npt.ArrayLike, predictions_b: npt.ArrayLike
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    truth = np.asarray(y_true)
    first = np.asarray(predictions_a)
    second = np.asarray(predictions_b)
    if truth.ndim != 1 or truth.size == 0 or first.shape[:1] != truth.shape or second.shape[:1] != truth.shape:
        raise InputError(msg.NOT_BINARY_CORRECTNESS.format(shapes=(truth.shape, first.shape, second.shape)))
    return truth, first, second


def mcnemar_test(y_true: npt.ArrayLike, predictions_a: npt.ArrayLike, predictions_b: npt.ArrayLike) -> McNemarResult:
    """McNemar's test from the predicted labels of two classifiers on the same examples.

    Exact binomial test when the discordant pairs number fewer than 25, else the chi-square
    test with continuity correction (as ``statsmodels.stats.contingency_tables.mcnemar``, except
    that b = c gives the statistic 0 and p = 1: the correction stops at |b - c| = 0).

    Parameters
    ----------
    y_true : array of shape (n_examples,)
        True labels.
    predictions_a, predictions_b : arrays of shape (n_examples,)
        Predicted labels of the two models.

    Returns
    -------
    McNemarResult

    Examples
    --------
    >>> y = [0, 1, 1, 0, 1, 0, 1, 1]
    >>> result = mcnemar_test(y, [0, 1, 1, 0, 1, 0, 1, 1], [1, 0, 1, 0, 0, 1, 1, 1])
    >>> result.only_a_correct, result.only_b_correct, round(result.p_value, 4)
    (4, 0, 0.125)
    """
    truth, first, second = _aligned(y_true, predictions_a, predictions_b)
    if first.ndim != 1 or second.ndim != 1:
        raise InputError(msg.NOT_BINARY_CORRECTNESS.format(shapes=(truth.shape, first.shape, second.shape)))
    a_correct = first == truth
    b_correct = second == truth
    only_a = int(np.sum(a_correct & ~b_correct))
    only_b = int(np.sum(~a_correct & b_correct))
    discordant = only_a + only_b
    if discordant < EXACT_MCNEMAR_BELOW:
        statistic = float(min(only_a, only_b))
        p_value = 1.0 if discordant == 0 else min(1.0, 2 * float(stats.binom.cdf(min(only_a, only_b), discordant, 0.5)))
        method = msg.MCNEMAR_EXACT
    else:
        # The continuity correction never pushes |b - c| below 0: with b = c the statistic is 0
        # and p = 1 (statsmodels gives 1/(b + c) there, a p-value of 0.86 instead of 1).
        statistic = max(abs(only_a - only_b) - 1, 0) ** 2 / discordant
        p_value = float(stats.chi2.sf(statistic, 1))
        method = msg.MCNEMAR_CHI_SQUARE
    return McNemarResult(only_a, only_b, statistic, p_value, method, int(truth.size))


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Paired bootstrap over test examples of ``metric(A) - metric(B)``.

    Attributes
    ----------
    metric_a, metric_b : float
        The metric on the full test set.
    difference : float
        ``metric_a - metric_b``.
    low, high : float
        Percentile bootstrap interval of the difference.
    p_value : float
        Two-sided: ``2 (m + 1) / (B + 1)`` with m the resampled differences on the smaller side of
        0 (ties count 1/2) and B the resamples; never 0, at least ``2 / (B + 1)``.
    prob_a_better : float
        Share of resamples in which A is better (direction aware; ties count 1/2).
    confidence : float
    n_resamples : int
    """

    metric_a: float
    metric_b: float
    difference: float
    low: float
    high: float
    p_value: float
    prob_a_better: float
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return dict(json_safe(asdict(self)))


def paired_bootstrap_test(
    y_true: npt.ArrayLike,
    predictions_a: npt.ArrayLike,
    predictions_b: npt.ArrayLike,
    metric: Callable[[Any, Any], float],
    *,
    higher_is_better: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
) -> PairedBootstrapResult:
    """Paired bootstrap of a metric difference: both models scored on the same resampled examples.

    Parameters
    ----------
    y_true : array of shape (n_examples,)
    predictions_a, predictions_b : arrays of shape (n_examples,) or (n_examples, n_classes)
        Labels, scores or probabilities: whatever ``metric`` takes second.
    metric : callable
        ``metric(y_true, predictions) -> float``, e.g. ``sklearn.metrics.accuracy_score``.
    higher_is_better : bool
        Orients ``prob_a_better``.
    confidence : float
    n_resamples : int
        Resamples of the test examples (the metric is called twice per resample).
    seed : int or numpy.random.Generator

    Returns
    -------
    PairedBootstrapResult

    Examples
    --------
    >>> import numpy as np
    >>> def accuracy(y, p):
    ...     return float(np.mean(np.asarray(y) == np.asarray(p)))
    >>> y = np.array([0, 1] * 50)
    >>> good, bad = y.copy(), y.copy()
    >>> bad[:30] = 1 - bad[:30]
    >>> result = paired_bootstrap_test(y, good, bad, accuracy, n_resamples=500, seed=0)
    >>> round(result.difference, 2), result.p_value < 0.05
    (0.3, True)
    """
    truth, first, second = _aligned(y_true, predictions_a, predictions_b)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = as_generator(seed)
    metric_a = _checked_metric(metric, truth, first, "A")
    metric_b = _checked_metric(metric, truth, second, "B")
    differences = np.empty(n_resamples)
    n_examples = truth.size
    # The metric is an arbitrary callable, so resamples are scored one at a time.
    for resample in range(n_resamples):
        index = rng.integers(0, n_examples, size=n_examples)
        differences[resample] = float(metric(truth[index], first[index])) - float(metric(truth[index], second[index]))
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    below = float(np.mean(differences < 0) + 0.5 * np.mean(differences == 0))
    # (count + 1) / (B + 1) per tail: a Monte Carlo p-value is never 0, it is at most as small
    # as the resamples can show (Davison & Hinkley 1997, 4.2.1).
    tail_count = min(below, 1 - below) * n_resamples
    p_value = min(1.0, 2 * (tail_count + 1) / (n_resamples + 1))
    prob_a_better = 1 - below if higher_is_better else below
    return PairedBootstrapResult(
        metric_a=metric_a,
        metric_b=metric_b,
        difference=metric_a - metric_b,
        low=float(low),
        high=float(high),
        p_value=p_value,
        prob_a_better=prob_a_better,
        confidence=confidence,
        n_resamples=n_resamples,
    )


def _checked_metric(
    metric: Callable[[Any, Any], float],
    truth: npt.NDArray[Any],
    predictions: npt.NDArray[Any],
    which: str,
) -> float:
    value = float(metric(truth, predictions))
    if not math.isfinite(value):
        raise InputError(msg.METRIC_NOT_FINITE.format(value=value, which=which))
    return value
