"""Power of the paired (corrected) t-test against statsmodels' noncentral t."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import TTestPower

from rigorlab.errors import InputError
from rigorlab.stats import _messages as msg
from rigorlab.stats import paired_test_power, replicates_needed


@pytest.mark.parametrize(("effect", "n"), [(0.2, 10), (0.5, 8), (1.0, 4), (0.8, 30)])
def test_power_equals_statsmodels_without_correction(effect: float, n: int) -> None:
    ours = paired_test_power(effect * 0.02, 0.02, n)
    theirs = TTestPower().power(effect_size=effect, nobs=n, alpha=0.05, alternative="two-sided")
    assert ours == pytest.approx(theirs, rel=1e-9)


@pytest.mark.parametrize("effect", [0.3, 0.5, 1.0, 1.5])
def test_replicates_needed_equals_ceil_of_statsmodels_solve_power(effect: float) -> None:
    needed = replicates_needed(effect, 1.0)
    solved = TTestPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, alternative="two-sided")
    assert needed == max(2, math.ceil(solved - 1e-9))
    assert paired_test_power(effect, 1.0, needed) >= 0.8
    assert needed == 2 or paired_test_power(effect, 1.0, needed - 1) < 0.8


def test_not_a_normal_approximation() -> None:
    # z-approximation: n = ((1.96 + 0.84) / 1)^2 = 7.8 -> 8; the t-test needs 10.
    assert replicates_needed(1.0, 1.0) == 10


def test_correction_needs_more_replicates_and_can_be_unreachable() -> None:
    plain = replicates_needed(0.01, 0.01, folds_per_replicate=5)
    corrected = replicates_needed(0.01, 0.01, folds_per_replicate=5, test_train_ratio=0.1)
    assert plain is not None and corrected is not None and corrected > plain
    # The corrected variance never falls below sd^2 * n_test/n_train.
    assert replicates_needed(0.005, 0.02, folds_per_replicate=5, test_train_ratio=0.25) is None


@pytest.mark.parametrize("n_replicates", [2, 10, 1000, 10_000])
@pytest.mark.parametrize("difference", [1e-3, 0.1, 10.0])
def test_power_is_a_probability_even_for_huge_noncentrality(n_replicates: int, difference: float) -> None:
    for ratio in (0.0, 0.25):
        power = paired_test_power(difference, 0.1, n_replicates, folds_per_replicate=5, test_train_ratio=ratio)
        assert 0.0 <= power <= 1.0


def test_edge_cases() -> None:
    assert replicates_needed(0.0, 0.1) is None
    assert replicates_needed(0.1, 0.0) == 2
    assert paired_test_power(0.0, 0.1, 10) == 0.05
    assert paired_test_power(0.1, 0.0, 10) == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: paired_test_power(0.1, 0.1, 1), msg.BAD_REPLICATES.format(value=1)),
        (lambda: paired_test_power(0.1, -1.0, 5), msg.BAD_DIFFERENCE_SD.format(value=-1.0)),
        (lambda: replicates_needed(0.1, 0.1, power=1.0), msg.BAD_PROBABILITY.format(name="power", value=1.0)),
        (lambda: replicates_needed(0.1, 0.1, alpha=0), msg.BAD_PROBABILITY.format(name="alpha", value=0)),
        (lambda: replicates_needed(0.1, 0.1, folds_per_replicate=0), msg.BAD_FOLDS.format(value=0)),
        (lambda: replicates_needed(0.1, 0.1, test_train_ratio=-0.5), msg.BAD_TEST_TRAIN_RATIO.format(value=-0.5)),
    ],
)
def test_bad_input_messages(call, message: str) -> None:
    with pytest.raises(InputError) as error:
        call()
    assert str(error.value) == message
