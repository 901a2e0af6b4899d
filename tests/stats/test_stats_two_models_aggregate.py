"""Two models on one test set (McNemar, paired bootstrap) and rliable-style aggregates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, roc_auc_score
from statsmodels.stats.contingency_tables import mcnemar

from rigorlab.errors import InputError
from rigorlab.stats import (
    AGGREGATE_COLUMNS,
    aggregate_iqm,
    aggregate_optimality_gap,
    aggregate_scores,
    mcnemar_test,
    paired_bootstrap_test,
    probability_of_improvement,
    probability_of_improvement_interval,
    stratified_bootstrap_interval,
)
from rigorlab.stats import _messages as msg


def _predictions(seed: int, size: int, flip_a: float, flip_b: float):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, size)
    first = np.where(rng.uniform(size=size) < flip_a, 1 - truth, truth)
    second = np.where(rng.uniform(size=size) < flip_b, 1 - truth, truth)
    return truth, first, second


@pytest.mark.parametrize(("size", "exact"), [(40, True), (400, False)])
def test_mcnemar_equals_statsmodels(size: int, exact: bool) -> None:
    truth, first, second = _predictions(1, size, 0.1, 0.2)
    result = mcnemar_test(truth, first, second)
    a_right, b_right = first == truth, second == truth
    table = [
        [np.sum(a_right & b_right), np.sum(a_right & ~b_right)],
        [np.sum(~a_right & b_right), np.sum(~a_right & ~b_right)],
    ]
    assert (result.only_a_correct + result.only_b_correct < 25) == exact
    reference = mcnemar(table, exact=exact, correction=True)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-10)
    assert result.method == (msg.MCNEMAR_EXACT if exact else msg.MCNEMAR_CHI_SQUARE)


def test_mcnemar_no_discordant_pairs() -> None:
    result = mcnemar_test([0, 1, 1], [0, 1, 0], [0, 1, 0])
    assert result.p_value == 1.0 and result.only_a_correct == result.only_b_correct == 0


def test_mcnemar_chi_square_with_equal_discordant_counts_is_zero_and_one() -> None:
    """The review: b = c = 15 gave statistic 1/30 and p = 0.855 (statsmodels does too); the continuity
    correction must stop at |b - c| = 0."""
    truth = np.zeros(60, dtype=int)
    first, second = truth.copy(), truth.copy()
    first[:15] = 1
    second[15:30] = 1
    result = mcnemar_test(truth, first, second)
    assert (result.only_a_correct, result.only_b_correct) == (15, 15)
    assert result.method == msg.MCNEMAR_CHI_SQUARE
    assert result.statistic == 0.0 and result.p_value == 1.0


def test_paired_bootstrap_p_value_is_never_zero() -> None:
    """Every resample favours A: the Monte Carlo p-value is 2 (0 + 1) / (B + 1), not 0."""
    truth = np.array([0, 1] * 50)
    worse = truth.copy()
    worse[:40] = 1 - worse[:40]
    result = paired_bootstrap_test(truth, truth, worse, accuracy_score, n_resamples=199, seed=0)
    assert result.prob_a_better == 1.0
    assert result.p_value == pytest.approx(2 / 200)


def test_paired_bootstrap_with_sklearn_metrics() -> None:
    truth, first, second = _predictions(2, 300, 0.1, 0.25)
    result = paired_bootstrap_test(truth, first, second, accuracy_score, n_resamples=400, seed=1)
    assert result.difference == pytest.approx(accuracy_score(truth, first) - accuracy_score(truth, second))
    assert result.low < result.difference < result.high
    assert result.p_value < 0.05 and result.prob_a_better > 0.95
    again = paired_bootstrap_test(truth, first, second, accuracy_score, n_resamples=400, seed=1)
    assert again == result
    other = paired_bootstrap_test(truth, first, second, accuracy_score, n_resamples=400, seed=2)
    assert (other.low, other.high) != (result.low, result.high)
    rng = np.random.default_rng(0)
    probabilities = np.clip(truth + rng.normal(0, 0.6, truth.size), 0, 1)
    scores = paired_bootstrap_test(truth, probabilities, rng.uniform(size=truth.size), roc_auc_score, n_resamples=200)
    assert scores.metric_a > scores.metric_b


def test_paired_bootstrap_swap_flips() -> None:
    truth, first, second = _predictions(3, 200, 0.2, 0.22)
    forward = paired_bootstrap_test(truth, first, second, accuracy_score, n_resamples=300, seed=0)
    backward = paired_bootstrap_test(truth, second, first, accuracy_score, n_resamples=300, seed=0)
    assert backward.difference == pytest.approx(-forward.difference)
    assert (backward.low, backward.high) == pytest.approx((-forward.high, -forward.low))
    assert backward.p_value == pytest.approx(forward.p_value)


def test_probability_of_improvement_is_mann_whitney() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(0.1, 1, (6, 4)), rng.normal(0, 1, (8, 4))
    per_task = [stats.mannwhitneyu(first[:, task], second[:, task]).statistic / 48 for task in range(4)]
    assert probability_of_improvement(first, second) == pytest.approx(np.mean(per_task))
    interval = probability_of_improvement_interval(first, second, n_resamples=2000, seed=1)
    assert interval.low <= interval.estimate <= interval.high


def test_stratified_bootstrap_seeds() -> None:
    scores = np.random.default_rng(0).uniform(size=(5, 6))
    first = stratified_bootstrap_interval(scores, aggregate_iqm, n_resamples=1000, seed=3)
    assert first == stratified_bootstrap_interval(scores, aggregate_iqm, n_resamples=1000, seed=3)
    other = stratified_bootstrap_interval(scores, aggregate_iqm, n_resamples=1000, seed=4)
    assert (other.low, other.high) != (first.low, first.high)


def test_aggregate_scores_table() -> None:
    scores = np.random.default_rng(1).uniform(size=(5, 8))
    table = aggregate_scores(scores, n_resamples=1000, seed=0)
    assert list(table.columns) == list(AGGREGATE_COLUMNS)
    assert table["aggregate"].tolist() == ["mean", "median", "iqm", "optimality_gap"]
    assert (table["low"] <= table["estimate"]).all() and (table["estimate"] <= table["high"]).all()
    assert table.loc[2, "estimate"] == pytest.approx(stats.trim_mean(scores.ravel(), 0.25))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mcnemar_test([0, 1], [0, 1, 1], [0, 1]), msg.NOT_BINARY_CORRECTNESS.format(shapes=((2,), (3,), (2,)))),
        (
            lambda: paired_bootstrap_test([0, 1], [0, 1], [1, 0], lambda y, p: float("nan")),
            msg.METRIC_NOT_FINITE.format(value=float("nan"), which="A"),
        ),
        (
            lambda: probability_of_improvement(np.ones((2, 3)), np.ones((2, 2))),
            msg.BAD_LENGTHS.format(
                first="the tasks of scores_x", second="those of scores_y", first_shape=(3,), second_shape=(2,)
            ),
        ),
        (lambda: aggregate_scores([[1.0, np.nan]]), msg.NAN_IN_MATRIX.format(name="scores")),
        (lambda: aggregate_optimality_gap([[1.0]], gamma=float("inf")), msg.BAD_GAMMA.format(value=float("inf"))),
    ],
)
def test_bad_input_messages(call, message: str) -> None:
    with pytest.raises(InputError) as error:
        call()
    assert str(error.value) == message
