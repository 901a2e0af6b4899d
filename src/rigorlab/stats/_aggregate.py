"""Aggregate performance over runs and tasks, as in rliable (Agarwal et al., NeurIPS 2021).

rliable itself is not a dependency: rliable 1.2 needs ``arch``, and arch 7.2 fails to import
with pandas 3, which this project requires. The metrics are short, so they are reimplemented
here and checked against rliable's published and recomputed values (reference case
``rliable_metrics``). The stratified bootstrap is vectorised over resamples (rliable loops in
Python through arch).

Definitions (matching rliable):

- every score matrix has shape (n_runs, n_tasks): rows are runs/seeds, columns tasks/datasets;
- mean / median: over tasks, of the mean over runs;
- IQM: ``scipy.stats.trim_mean(all scores, 0.25)``, i.e. drop ``floor(N/4)`` lowest and highest
  of the N = runs x tasks scores (no interpolation when N is not a multiple of 4);
- optimality gap: ``gamma - mean(min(score, gamma))``;
- probability of improvement P(X > Y): mean over tasks of the Mann-Whitney ``U / (n_x n_y)``
  (ties count 1/2);
- stratified bootstrap: resample runs with replacement within each task; percentile interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import (
    FloatArray,
    SeedLike,
    as_float_array,
    as_generator,
    check_confidence,
    check_n_resamples,
)
from ._intervals import Interval

AGGREGATE_COLUMNS: tuple[str, ...] = ("aggregate", "estimate", "low", "high", "method")
STRATIFIED_METHOD = "stratified percentile bootstrap"
_MAX_BLOCK_ELEMENTS = 1 << 22

Statistic = Callable[[FloatArray], FloatArray | float]


def _matrix(scores: npt.ArrayLike | pd.DataFrame, name: str) -> FloatArray:
    values = as_float_array(np.asarray(scores, dtype=np.float64), name, ndims=(2,))
    if np.isnan(values).any():
        raise InputError(msg.NAN_IN_MATRIX.format(name=name))
    if values.size == 0:
        raise InputError(msg.EMPTY_SAMPLE.format(name=name))
    return values


def aggregate_mean(scores: npt.ArrayLike) -> Any:
    """Mean over tasks of the mean over runs.

    Parameters
    ----------
    scores : array of shape (..., n_runs, n_tasks)
        Leading axes (e.g. bootstrap resamples) are kept.

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    >>> aggregate_mean([[1, 2], [2, 2], [1, 1], [2, 1]])
    1.5
    """
    values = np.asarray(scores, dtype=np.float64)
    return _scalar(values.mean(axis=-2).mean(axis=-1))


def aggregate_median(scores: npt.ArrayLike) -> Any:
    """Median over tasks of the mean over runs.

    Parameters
    ----------
    scores : array of shape (..., n_runs, n_tasks)

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    >>> aggregate_median([[1, 2], [2, 2], [1, 1], [2, 1]])
    1.5
    """
    values = np.asarray(scores, dtype=np.float64)
    return _scalar(np.median(values.mean(axis=-2), axis=-1))


def aggregate_iqm(scores: npt.ArrayLike) -> Any:
    """Interquartile mean of all run x task scores (25% trimmed from each end).

    Parameters
    ----------
    scores : array of shape (..., n_runs, n_tasks)

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    >>> aggregate_iqm([[1, 2], [2, 2], [1, 1], [2, 1]])
    1.5
    """
    values = np.asarray(scores, dtype=np.float64)
    flat = values.reshape(values.shape[:-2] + (-1,))
    return _scalar(stats.trim_mean(flat, 0.25, axis=-1))


def aggregate_optimality_gap(scores: npt.ArrayLike, gamma: float = 1.0) -> Any:
    """How far scores fall short of ``gamma``: ``gamma - mean(min(score, gamma))``.

    Parameters
    ----------
    scores : array of shape (..., n_runs, n_tasks)
    gamma : float
        The score that counts as optimal (1 for normalised scores).

    Returns
    -------
    float or array of shape (...)

    Examples
    --------
    >>> round(aggregate_optimality_gap([[0.5, 1.2], [0.9, 1.0]]), 6)
    0.15
    """
    if not math.isfinite(gamma):
        raise InputError(msg.BAD_GAMMA.format(value=gamma))
    values = np.asarray(scores, dtype=np.float64)
    return _scalar(gamma - np.minimum(values, gamma).mean(axis=(-2, -1)))


def _scalar(value: Any) -> Any:
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array


def _pairwise_improvement(x: FloatArray, y: FloatArray) -> FloatArray:
    # x: (..., n_x, n_tasks), y: (..., n_y, n_tasks) -> (...,): Mann-Whitney U / (n_x n_y),
    # averaged over tasks.
    greater = x[..., :, None, :] > y[..., None, :, :]
    equal = x[..., :, None, :] == y[..., None, :, :]
    per_task = (greater + 0.5 * equal).mean(axis=(-3, -2))
    result: FloatArray = per_task.mean(axis=-1)
    return result


def probability_of_improvement(scores_x: npt.ArrayLike | pd.DataFrame, scores_y: npt.ArrayLike | pd.DataFrame) -> float:
    """P(X > Y): average over tasks of the chance that a run of X beats a run of Y.

    Parameters
    ----------
    scores_x : array of shape (n_runs_x, n_tasks)
    scores_y : array of shape (n_runs_y, n_tasks)
        Run counts may differ; tasks must match.

    Returns
    -------
    float

    Examples
    --------
    >>> probability_of_improvement([[1, 2], [2, 2], [1, 1], [2, 1]], [[1, 1], [2, 2], [3, 3]])
    0.3333333333333333
    """
    x = _matrix(scores_x, "scores_x")
    y = _matrix(scores_y, "scores_y")
    _check_tasks(x, y)
    return float(_pairwise_improvement(x, y))


def _check_tasks(x: FloatArray, y: FloatArray) -> None:
    if x.shape[1] != y.shape[1]:
        raise InputError(
            msg.BAD_LENGTHS.format(
                first="the tasks of scores_x",
                second="those of scores_y",
                first_shape=(x.shape[1],),
                second_shape=(y.shape[1],),
            )
        )


def _stratified_resamples(values: FloatArray, count: int, rng: np.random.Generator) -> FloatArray:
    n_runs, n_tasks = values.shape
    index = rng.integers(0, n_runs, size=(count, n_runs, n_tasks))
    resampled: FloatArray = values[index, np.arange(n_tasks)]
    return resampled


def _block_size(*matrices: FloatArray) -> int:
    largest = max(matrix.size for matrix in matrices)
    return max(1, _MAX_BLOCK_ELEMENTS // largest)


def _percentile_interval(estimate: float, distribution: FloatArray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2
    low, high = np.quantile(distribution, [tail, 1 - tail])
    return Interval(float(estimate), float(low), float(high), confidence, STRATIFIED_METHOD)


def stratified_bootstrap_interval(
    scores: npt.ArrayLike | pd.DataFrame,
    statistic: Statistic,
    *,
    n_resamples: int = 50_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> Interval:
    """Percentile interval of an aggregate by the stratified bootstrap (runs within tasks).

    Parameters
    ----------
    scores : array of shape (n_runs, n_tasks)
    statistic : callable
        Maps an array of shape (..., n_runs, n_tasks) to shape (...), like
        :func:`aggregate_iqm`.
    n_resamples : int
        rliable's default is 50,000.
    confidence : float
    seed : int or numpy.random.Generator

    Returns
    -------
    Interval

    Examples
    --------
    >>> scores = [[0.1, 0.9, 1.3, 0.4], [0.2, 0.7, 1.1, 0.35], [0.15, 0.95, 0.8, 0.6]]
    >>> interval = stratified_bootstrap_interval(scores, aggregate_iqm, n_resamples=2000)
    >>> interval.low <= interval.estimate <= interval.high
    True
    """
    values = _matrix(scores, "scores")
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = as_generator(seed)
    block = _block_size(values)
    distribution = np.concatenate(
        [
            np.asarray(statistic(_stratified_resamples(values, min(block, n_resamples - start), rng))).reshape(-1)
            for start in range(0, n_resamples, block)
        ]
    )
    return _percentile_interval(float(statistic(values)), distribution, confidence)


def probability_of_improvement_interval(
    scores_x: npt.ArrayLike | pd.DataFrame,
    scores_y: npt.ArrayLike | pd.DataFrame,
    *,
    n_resamples: int = 50_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> Interval:
    """P(X > Y) with a stratified bootstrap interval (both arms' runs resampled per task).

    Parameters
    ----------
    scores_x : array of shape (n_runs_x, n_tasks)
    scores_y : array of shape (n_runs_y, n_tasks)
    n_resamples, confidence, seed
        As in :func:`stratified_bootstrap_interval`.

    Returns
    -------
    Interval

    Examples
    --------
    >>> x = [[0.9, 0.8], [0.85, 0.82], [0.88, 0.79]]
    >>> y = [[0.7, 0.6], [0.72, 0.65], [0.69, 0.61]]
    >>> probability_of_improvement_interval(x, y, n_resamples=1000).estimate
    1.0
    """
    x = _matrix(scores_x, "scores_x")
    y = _matrix(scores_y, "scores_y")
    _check_tasks(x, y)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = as_generator(seed)
    block = max(1, _MAX_BLOCK_ELEMENTS // (x.shape[0] * y.shape[0] * x.shape[1]))
    pieces = []
    for start in range(0, n_resamples, block):
        count = min(block, n_resamples - start)
        pieces.append(_pairwise_improvement(_stratified_resamples(x, count, rng), _stratified_resamples(y, count, rng)))
    return _percentile_interval(float(_pairwise_improvement(x, y)), np.concatenate(pieces), confidence)


def performance_profile(
    scores: npt.ArrayLike | pd.DataFrame,
    taus: Sequence[float] | npt.ArrayLike,
    *,
    kind: Literal["runs", "average"] = "runs",
) -> FloatArray:
    """Score distribution: share of scores strictly above each threshold tau.

    Parameters
    ----------
    scores : array of shape (n_runs, n_tasks)
    taus : array of shape (n_taus,)
    kind : {"runs", "average"}
        ``"runs"``: over all run x task scores; ``"average"``: over tasks' mean-over-runs.

    Returns
    -------
    array of shape (n_taus,)
        Non-increasing in tau.

    Examples
    --------
    >>> performance_profile([[0.1, 0.9], [0.3, 0.5]], [0.0, 0.4]).tolist()
    [1.0, 0.5]
    """
    values = _matrix(scores, "scores")
    thresholds = np.asarray(taus, dtype=np.float64).reshape(-1)
    points = values.reshape(-1) if kind == "runs" else values.mean(axis=0)
    profile: FloatArray = (points[None, :] > thresholds[:, None]).mean(axis=1)
    return profile


def aggregate_scores(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    gamma: float = 1.0,
    n_resamples: int = 50_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Mean, median, IQM and optimality gap, each with a stratified bootstrap interval.

    The four aggregates share the same resamples (one generator), as in rliable.

    Parameters
    ----------
    scores : array of shape (n_runs, n_tasks) or DataFrame (rows runs, columns tasks)
        Normalised scores, higher is better.
    gamma : float
        Target of the optimality gap.
    n_resamples, confidence, seed
        As in :func:`stratified_bootstrap_interval`.

    Returns
    -------
    pandas.DataFrame
        Rows ``mean, median, iqm, optimality_gap``; columns :data:`AGGREGATE_COLUMNS`.

    Examples
    --------
    >>> table = aggregate_scores([[0.5, 0.7], [0.6, 0.9], [0.4, 0.8]], n_resamples=1000)
    >>> list(table["aggregate"])
    ['mean', 'median', 'iqm', 'optimality_gap']
    """
    values = _matrix(scores, "scores")
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rng = as_generator(seed)
    aggregates: dict[str, Statistic] = {
        "mean": aggregate_mean,
        "median": aggregate_median,
        "iqm": aggregate_iqm,
        "optimality_gap": lambda array: aggregate_optimality_gap(array, gamma),
    }
    distributions: dict[str, list[FloatArray]] = {name: [] for name in aggregates}
    block = _block_size(values)
    for start in range(0, n_resamples, block):
        resampled = _stratified_resamples(values, min(block, n_resamples - start), rng)
        for name, function in aggregates.items():
            distributions[name].append(np.asarray(function(resampled)).reshape(-1))
    rows = []
    for name, function in aggregates.items():
        interval = _percentile_interval(float(function(values)), np.concatenate(distributions[name]), confidence)
        rows.append(
            {
                "aggregate": name,
                "estimate": interval.estimate,
                "low": interval.low,
                "high": interval.high,
                "method": interval.method,
            }
        )
    return pd.DataFrame(rows, columns=list(AGGREGATE_COLUMNS))
