"""ASO and the Bayesian tests: seeds, direction, symmetry and bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rigorlab.errors import InputError
from rigorlab.stats import _messages as msg
from rigorlab.stats import (
    aso,
    bayesian_sign_test,
    bayesian_signed_rank_test,
    correlated_bayesian_ttest,
    violation_ratio,
)

# The profile registered in conftest.py (rigorlab-stats, or thorough via the environment).
PROPERTY_SETTINGS = settings.get_profile(os.environ.get("RIGORLAB_HYPOTHESIS_PROFILE", "rigorlab-stats"))

grid_scores = st.integers(min_value=-400, max_value=400).map(lambda step: step / 32)
paired_lists = st.integers(min_value=3, max_value=12).flatmap(
    lambda size: st.tuples(
        st.lists(grid_scores, min_size=size, max_size=size),
        st.lists(grid_scores, min_size=size, max_size=size),
    )
)


def test_violation_ratio_is_complementary_and_direction_aware() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(0.1, 1, 7), rng.normal(0, 1, 9)
    forward = violation_ratio(first, second)
    assert forward + violation_ratio(second, first) == pytest.approx(1.0)
    assert violation_ratio(first, second, higher_is_better=False) == pytest.approx(1 - forward)


def test_violation_ratio_exact_on_step_functions() -> None:
    # A = {0, 2}, B = {1}: F^-1 - G^-1 is -1 on (0, 1/2] and +1 on (1/2, 1].
    assert violation_ratio([0.0, 2.0], [1.0]) == pytest.approx(0.5)
    # A = {0, 3}, B = {1}: gaps -1 and +2 over halves: (1 * 0.5) / (1 * 0.5 + 4 * 0.5) = 0.2.
    assert violation_ratio([0.0, 3.0], [1.0]) == pytest.approx(0.2)


def test_aso_seeds_and_direction() -> None:
    rng = np.random.default_rng(2)
    first, second = rng.normal(0.5, 1, 8), rng.normal(0, 1, 8)
    result = aso(first, second, seed=3)
    assert result == aso(first, second, seed=3)
    assert {aso(first, second, seed=s).eps_min for s in range(5)} != {result.eps_min}
    assert result.tau == 0.2 and result.dominates == (result.eps_min < 0.2)
    flipped = aso(-first, -second, higher_is_better=False, seed=3)
    assert flipped.eps_min == pytest.approx(result.eps_min)
    assert result.to_dict()["num_comparisons"] == 1


def test_aso_clear_domination() -> None:
    rng = np.random.default_rng(0)
    result = aso(rng.normal(5, 1, 20), rng.normal(0, 1, 20), seed=0)
    assert result.eps_min == 0.0 and result.dominates


def test_correlated_ttest_matches_student_t_posterior() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.normal(0.8, 0.02, 20), rng.normal(0.81, 0.02, 20)
    result = correlated_bayesian_ttest(first, second, rope=0.005, rho=0.2)
    differences = second - first
    scale = np.sqrt(differences.var(ddof=1) * (1 / 20 + 0.2 / 0.8))
    posterior = stats.t(19, loc=differences.mean(), scale=scale)
    assert result.p_left == pytest.approx(posterior.cdf(-0.005))
    assert result.p_right == pytest.approx(posterior.sf(0.005))
    assert result.p_left + result.p_rope + result.p_right == pytest.approx(1.0)
    lower = correlated_bayesian_ttest(first, second, rope=0.005, rho=0.2, higher_is_better=False)
    assert lower.p_left == pytest.approx(result.p_right)


def test_signed_rank_seeds() -> None:
    rng = np.random.default_rng(4)
    first, second = rng.normal(0, 1, 15), rng.normal(0.3, 1, 15)
    result = bayesian_signed_rank_test(first, second, rope=0.1, n_samples=3000, seed=9)
    assert result == bayesian_signed_rank_test(first, second, rope=0.1, n_samples=3000, seed=9)
    other = bayesian_signed_rank_test(first, second, rope=0.1, n_samples=3000, seed=10)
    assert (other.p_left, other.p_right) != (result.p_left, result.p_right)
    assert result.p_left + result.p_rope + result.p_right == pytest.approx(1.0)


@PROPERTY_SETTINGS
@given(paired_lists, st.floats(min_value=0, max_value=1))
def test_swapping_arms_swaps_left_and_right(pair, rope: float) -> None:
    first, second = (np.asarray(values) for values in pair)
    if np.ptp(second - first) == 0:  # zero variance: no posterior (tested above)
        return
    forward = correlated_bayesian_ttest(first, second, rope=rope, rho=0.1)
    backward = correlated_bayesian_ttest(second, first, rope=rope, rho=0.1)
    assert backward.p_left == pytest.approx(forward.p_right, abs=1e-12)
    assert backward.p_right == pytest.approx(forward.p_left, abs=1e-12)
    forward_rank = bayesian_signed_rank_test(first, second, rope=rope, n_samples=500, seed=1)
    backward_rank = bayesian_signed_rank_test(second, first, rope=rope, n_samples=500, seed=1)
    assert backward_rank.p_left == pytest.approx(forward_rank.p_right, abs=1e-12)
    assert backward_rank.p_right == pytest.approx(forward_rank.p_left, abs=1e-12)


@PROPERTY_SETTINGS
@given(paired_lists, st.integers(min_value=-80, max_value=80).map(lambda step: step / 8))
def test_adding_a_constant_changes_no_posterior(pair, shift: float) -> None:
    first, second = (np.asarray(values) for values in pair)
    base = bayesian_signed_rank_test(first, second, rope=0.2, n_samples=300, seed=2)
    moved = bayesian_signed_rank_test(first + shift, second + shift, rope=0.2, n_samples=300, seed=2)
    assert moved == base
    if np.ptp(second - first) > 0:
        assert correlated_bayesian_ttest(first + shift, second + shift, rho=0.1) == correlated_bayesian_ttest(
            first, second, rho=0.1
        )


def test_sign_test_counts_and_seed() -> None:
    result = bayesian_sign_test([0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, -1], rope=0.5, seed=0)
    assert result.p_right > 0.8
    assert result == bayesian_sign_test([0] * 6, [1, 1, 1, 1, 1, -1], rope=0.5, seed=0)


@pytest.mark.parametrize("shift", [0.0, 0.25])
def test_zero_variance_differences_have_no_posterior(shift: float) -> None:
    # A point mass would claim certainty from replicates that repeat one result.
    first = np.array([0.5, 0.75, 1.0])
    with pytest.raises(InputError) as error:
        correlated_bayesian_ttest(first, first + shift, rope=0.01, rho=0.1)
    assert str(error.value) == msg.ZERO_VARIANCE_POSTERIOR.format(difference=shift)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: correlated_bayesian_ttest([1, 2, 3], [1, 2, 4]), msg.RHO_OR_SIZES),
        (lambda: correlated_bayesian_ttest([1, 2, 3], [1, 2, 4], rho=1.0), msg.BAD_RHO.format(value=1.0)),
        (
            lambda: correlated_bayesian_ttest([1, 2, 3], [1, 2], rho=0.1),
            msg.BAD_LENGTHS.format(first="scores_a", second="scores_b", first_shape=(3,), second_shape=(2,)),
        ),
        (lambda: correlated_bayesian_ttest([1, 2], [1, 2], rho=0.1, rope=-1), msg.BAD_ROPE.format(value=-1)),
        (lambda: bayesian_signed_rank_test([1.0], [2.0]), msg.TOO_FEW_PAIRS.format(n_pairs=1)),
        (lambda: bayesian_sign_test([1, 2], [2, 3], n_samples=0), msg.BAD_N_RESAMPLES.format(value=0)),
        (lambda: aso([1, 2], [2, 3], num_comparisons=0), msg.BAD_NUM_COMPARISONS.format(value=0)),
        (lambda: aso([1, 2], [2, 3], tau=0), msg.BAD_TAU.format(value=0)),
        (lambda: aso([np.nan], [2, 3]), msg.EMPTY_SAMPLE.format(name="scores_a")),
    ],
)
def test_bad_input_messages(call, message: str) -> None:
    with pytest.raises(InputError) as error:
        call()
    assert str(error.value) == message
