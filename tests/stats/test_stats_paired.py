"""Paired comparisons against the baseline: t-tests, Nadeau-Bengio, Holm, verdicts, warnings."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rigorlab.errors import InputError
from rigorlab.stats import (
    COMPARISON_COLUMNS,
    VERDICT_BETTER,
    VERDICT_NO_EVIDENCE,
    VERDICT_NONE,
    VERDICT_WORSE,
    compare_to_baseline,
    holm_adjust,
    paired_comparison,
)
from rigorlab.stats import _messages as msg
from rigorlab.stats._baseline import TOO_WIDE_SPREAD_MULTIPLE

# The profile registered in conftest.py (rigorlab-stats, or thorough via the environment).
PROPERTY_SETTINGS = settings.get_profile(os.environ.get("RIGORLAB_HYPOTHESIS_PROFILE", "rigorlab-stats"))


def test_verdict_words_are_exact() -> None:
    assert (VERDICT_BETTER, VERDICT_WORSE, VERDICT_NO_EVIDENCE) == (
        "better",
        "worse",
        "no evidence of a difference",
    )


@pytest.mark.parametrize("seed", range(5))
def test_uncorrected_test_equals_scipy_ttest_rel(seed: int) -> None:
    rng = np.random.default_rng(seed)
    baseline = rng.normal(0.8, 0.03, size=12)
    arm = baseline + rng.normal(0.01, 0.02, size=12)
    result = paired_comparison(arm, baseline, test_train_ratio=0, n_resamples=200)
    reference = stats.ttest_rel(arm, baseline)
    assert result.test == msg.TEST_PAIRED_T
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    interval = reference.confidence_interval(0.95)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high), rel=1e-10)
    assert result.df == 11
    # No folds and no ratio: the plain paired t-test is the default.
    default = paired_comparison(arm, baseline, n_resamples=200)
    assert default.test == msg.TEST_PAIRED_T and default.p_value == result.p_value


def test_nadeau_bengio_formula_on_fold_level_differences() -> None:
    rng = np.random.default_rng(3)
    baseline = rng.normal(0.8, 0.03, size=(6, 5))
    arm = baseline + rng.normal(0.01, 0.02, size=(6, 5))
    result = paired_comparison(arm, baseline, test_train_ratio=0.25, n_resamples=200)
    differences = (arm - baseline).ravel()
    count = differences.size
    standard_error = differences.std(ddof=1) * math.sqrt(1 / count + 0.25)
    statistic = differences.mean() / standard_error
    assert result.test == msg.TEST_NADEAU_BENGIO
    assert result.n_differences == 30 and result.df == 29
    assert result.statistic == pytest.approx(statistic, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(statistic), 29), rel=1e-10)
    half_width = stats.t.ppf(0.975, 29) * standard_error
    assert result.high - result.low == pytest.approx(2 * half_width, rel=1e-12)
    # Without a ratio, several folds mean k-fold: n_test/n_train = 1/(k - 1).
    k_fold = paired_comparison(arm, baseline, n_resamples=200)
    assert k_fold.test_train_ratio == pytest.approx(0.25)
    assert k_fold.statistic == pytest.approx(result.statistic)


def test_correction_makes_the_test_more_conservative() -> None:
    rng = np.random.default_rng(8)
    baseline = rng.normal(0.8, 0.03, size=(5, 10))
    arm = baseline + rng.normal(0.01, 0.02, size=(5, 10))
    corrected = paired_comparison(arm, baseline, n_resamples=100)
    naive = paired_comparison(arm, baseline, test_train_ratio=0, n_resamples=100)
    assert corrected.p_value > naive.p_value
    assert corrected.high - corrected.low > naive.high - naive.low


def test_holm_equals_statsmodels() -> None:
    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 10, 40):
        p_values = rng.uniform(size=size) ** 3
        p_values[-1] = p_values[0]  # a tie
        assert np.array_equal(holm_adjust(p_values), multipletests(p_values, method="holm")[1])
    assert holm_adjust([]).size == 0


def test_verdicts_follow_direction() -> None:
    rng = np.random.default_rng(1)
    baseline = rng.normal(0.5, 0.05, size=10)
    higher = baseline + 0.05 + rng.normal(0, 0.005, size=10)
    assert paired_comparison(higher, baseline, n_resamples=200).verdict == VERDICT_BETTER
    assert paired_comparison(baseline, higher, n_resamples=200).verdict == VERDICT_WORSE
    loss = paired_comparison(higher, baseline, higher_is_better=False, n_resamples=200)
    assert loss.verdict == VERDICT_WORSE
    assert loss.mean_diff > 0  # metric units, arm - baseline, whatever the direction
    assert loss.prob_better == 0.0
    noise = baseline + rng.normal(0, 0.01, size=10)
    assert paired_comparison(noise, baseline, n_resamples=200).verdict == VERDICT_NO_EVIDENCE


def test_prob_better_counts_replicate_wins_and_ties() -> None:
    baseline = np.array([0.5, 0.5, 0.5, 0.5])
    arm = np.array([0.6, 0.4, 0.5, 0.7])
    result = paired_comparison(arm, baseline, n_resamples=500, seed=0)
    assert result.prob_better == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert result.prob_better_low <= result.prob_better <= result.prob_better_high


def test_effect_size_is_cohens_dz() -> None:
    baseline = np.array([0.70, 0.72, 0.71, 0.69, 0.73])
    arm = baseline + np.array([0.01, 0.03, 0.02, 0.02, 0.04])
    result = paired_comparison(arm, baseline, n_resamples=100)
    differences = arm - baseline
    assert result.effect_size == pytest.approx(differences.mean() / differences.std(ddof=1))


def test_warnings_few_replicates_and_wide_interval() -> None:
    result = paired_comparison([0.9, 0.5], [0.6, 0.7], n_resamples=100)
    half_width = (result.high - result.low) / 2
    assert msg.WARN_FEW_REPLICATES.format(n=2) in result.warnings
    spread = math.sqrt((np.var([0.9, 0.5], ddof=1) + np.var([0.6, 0.7], ddof=1)) / 2)
    assert half_width > TOO_WIDE_SPREAD_MULTIPLE * spread
    assert msg.WARN_INTERVAL_TOO_WIDE.format(half_width=half_width, spread=spread) in result.warnings
    many = np.random.default_rng(0).normal(0.8, 0.05, size=30)
    clean = paired_comparison(many + 0.01, many - 0.001 * np.arange(30) % 0.003, n_resamples=100)
    assert clean.warnings == ()


def test_failed_replicates_are_dropped_in_pairs() -> None:
    arm = np.array([0.81, np.nan, 0.84, 0.82, 0.83])
    baseline = np.array([0.80, 0.79, np.nan, 0.80, 0.81])
    result = paired_comparison(arm, baseline, n_resamples=100)
    assert result.n_replicates == 3
    assert msg.WARN_REPLICATES_DROPPED.format(n_common=3, n_total=5) in result.warnings
    reference = stats.ttest_rel([0.81, 0.82, 0.83], [0.80, 0.80, 0.81])
    assert result.p_value == pytest.approx(reference.pvalue)


def test_identical_differences_do_not_warn_or_divide_by_zero() -> None:
    same = paired_comparison([0.8, 0.8, 0.8], [0.8, 0.8, 0.8], n_resamples=100)
    assert same.p_value == 1.0 and same.verdict == VERDICT_NO_EVIDENCE


def test_zero_variance_differences_get_no_verdict() -> None:
    """The review's guard: two replicates each exactly 0.01 better gave p = 0 and "better"."""
    shifted = paired_comparison([0.8125, 0.8375], [0.8, 0.825], n_resamples=100)
    assert shifted.verdict == VERDICT_NONE
    assert math.isnan(shifted.p_value) and math.isnan(shifted.p_adjusted) and math.isnan(shifted.statistic)
    assert math.isnan(shifted.low) and math.isnan(shifted.high)
    assert shifted.mean_diff == pytest.approx(0.0125)
    assert msg.WARN_ZERO_VARIANCE.format(difference=0.0125) in shifted.warnings
    assert shifted.to_dict()["p_value"] is None
    # In a family it counts for Holm but never gets a verdict; the others keep theirs.
    rng = np.random.default_rng(0)
    base = rng.normal(0.8, 0.02, 10)
    scores = np.column_stack([base, base + 0.25, base + 0.05 + rng.normal(0, 0.005, 10)])
    table = compare_to_baseline(scores, baseline=0)
    assert table["verdict"].tolist() == [VERDICT_NONE, VERDICT_BETTER]
    assert math.isnan(table["p_adjusted"].iloc[0])
    assert table["p_adjusted"].iloc[1] == pytest.approx(2 * table["p_value"].iloc[1])


def test_compare_to_baseline_holm_and_columns() -> None:
    rng = np.random.default_rng(4)
    base = rng.normal(0.8, 0.02, size=10)
    scores = pd.DataFrame(
        {
            "logreg": base,
            "hgb": base + 0.03 + rng.normal(0, 0.005, 10),
            "knn": base + rng.normal(0, 0.01, 10),
            "tree": base - 0.02 + rng.normal(0, 0.005, 10),
        }
    )
    table = compare_to_baseline(scores, baseline="logreg", n_resamples=500)
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    assert table["arm"].tolist() == ["hgb", "knn", "tree"]
    assert table["verdict"].tolist() == [VERDICT_BETTER, VERDICT_NO_EVIDENCE, VERDICT_WORSE]
    assert np.array_equal(table["p_adjusted"].to_numpy(), multipletests(table["p_value"], method="holm")[1])
    by_index = compare_to_baseline(scores.to_numpy(), baseline=0, n_resamples=500)
    assert by_index["p_value"].tolist() == table["p_value"].tolist()
    assert by_index["arm"].tolist() == ["arm_1", "arm_2", "arm_3"]


def test_compare_to_baseline_three_dimensional_uses_folds() -> None:
    rng = np.random.default_rng(2)
    scores = rng.normal(0.8, 0.02, size=(4, 5, 3))
    table = compare_to_baseline(scores, baseline=0, n_resamples=200)
    assert set(table["test"]) == {msg.TEST_NADEAU_BENGIO}


def test_prob_better_interval_is_wilson_with_fractional_counts() -> None:
    from statsmodels.stats.proportion import proportion_confint

    baseline = np.array([0.5, 0.5, 0.5, 0.5, 0.5])
    arm = np.array([0.6, 0.4, 0.5, 0.7, 0.9])  # 3 wins and a tie: 3.5 of 5
    result = paired_comparison(arm, baseline)
    low, high = proportion_confint(3.5, 5, alpha=0.05, method="wilson")
    assert result.prob_better == pytest.approx(0.7)
    assert (result.prob_better_low, result.prob_better_high) == pytest.approx((low, high), rel=1e-12)
    # Nothing random is left: the same numbers whatever the seed.
    assert paired_comparison(arm, baseline, seed=1) == paired_comparison(arm, baseline, seed=2)


@pytest.mark.parametrize("n", [2, 3, 10])
def test_prob_better_interval_does_not_collapse_when_every_replicate_wins(n: int) -> None:
    """The review's c9: a percentile bootstrap of an all-wins share gave [1, 1] even at n = 2."""
    baseline = np.linspace(0.70, 0.80, n)
    result = paired_comparison(baseline + 0.05 + np.linspace(0, 0.01, n), baseline)
    assert result.prob_better == 1.0 and result.prob_better_high == 1.0
    assert result.prob_better_low < {2: 0.35, 3: 0.45, 10: 0.75}[n]


def test_prob_better_interval_covers_near_its_nominal_level() -> None:
    """Coverage sanity: the review's c9 settings (true P(better) 0.8 at n = 5, 0.9 at 10, 0.95 at 20)
    covered 64-68% with the bootstrap; Wilson's interval must stay near 95%."""
    rng = np.random.default_rng(0)
    for probability, n in ((0.8, 5), (0.9, 10), (0.95, 20)):
        wins = (rng.random((2000, n)) < probability).sum(axis=1)
        from rigorlab.stats import wilson_interval

        low, high = wilson_interval(wins, np.full(wins.shape, n), 0.95)
        coverage = float(np.mean((low <= probability) & (probability <= high)))
        assert coverage > 0.85, (probability, n, coverage)


# Scores on a 1/64 grid keep sums and differences exact in float64, so the properties below
# hold exactly rather than up to rounding.
grid_scores = st.integers(min_value=-640, max_value=640).map(lambda step: step / 64)
pairs = st.integers(min_value=3, max_value=15).flatmap(
    lambda size: st.tuples(
        st.lists(grid_scores, min_size=size, max_size=size),
        st.lists(grid_scores, min_size=size, max_size=size),
    )
)


@PROPERTY_SETTINGS
@given(pairs)
def test_swapping_arms_flips_the_difference(pair: tuple[list[float], list[float]]) -> None:
    first, second = (np.asarray(values) for values in pair)
    forward = paired_comparison(first, second, n_resamples=100, seed=0)
    backward = paired_comparison(second, first, n_resamples=100, seed=0)
    assert backward.mean_diff == -forward.mean_diff
    if math.isnan(forward.p_value):  # every difference equal: no test either way
        assert math.isnan(backward.p_value) and math.isnan(backward.low) and math.isnan(forward.high)
    else:
        assert backward.low == pytest.approx(-forward.high, abs=1e-12)
        assert backward.high == pytest.approx(-forward.low, abs=1e-12)
        assert backward.p_value == forward.p_value
    assert backward.effect_size == -forward.effect_size
    assert backward.prob_better == pytest.approx(1 - forward.prob_better, abs=1e-12)
    flipped = {VERDICT_BETTER: VERDICT_WORSE, VERDICT_WORSE: VERDICT_BETTER}
    assert backward.verdict == flipped.get(forward.verdict, forward.verdict)


@PROPERTY_SETTINGS
@given(pairs, st.integers(min_value=-800, max_value=800).map(lambda step: step / 8))
def test_adding_a_constant_to_both_arms_changes_nothing(pair: tuple[list[float], list[float]], shift: float) -> None:
    first, second = (np.asarray(values) for values in pair)
    base = paired_comparison(first, second, n_resamples=100, seed=0)
    moved = paired_comparison(first + shift, second + shift, n_resamples=100, seed=0)
    assert moved == base


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0]),
            msg.BAD_LENGTHS.format(first="arm_scores", second="baseline_scores", first_shape=(3,), second_shape=(2,)),
        ),
        (lambda: paired_comparison([1.0, np.nan], [1.0, 2.0]), msg.TOO_FEW_PAIRS.format(n_pairs=1)),
        (
            lambda: paired_comparison([1.0, 2.0], [1.0, 2.0], test_train_ratio=-1),
            msg.BAD_TEST_TRAIN_RATIO.format(value=-1),
        ),
        (
            lambda: compare_to_baseline(np.ones((3, 2)), baseline="nope"),
            msg.UNKNOWN_ARM.format(name="nope", available="arm_0, arm_1"),
        ),
        (
            lambda: compare_to_baseline(np.ones((3, 2)), baseline=5),
            msg.UNKNOWN_ARM.format(name=5, available="arm_0, arm_1"),
        ),
        (
            lambda: compare_to_baseline(np.ones(3), baseline=0),
            msg.BAD_SHAPE.format(
                name="scores", expected="(n_replicates, n_arms) or (n_replicates, n_folds, n_arms)", shape=(3,)
            ),
        ),
    ],
)
def test_bad_input_messages(call, message: str) -> None:
    with pytest.raises(InputError) as error:
        call()
    assert str(error.value) == message
