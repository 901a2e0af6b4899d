"""Intervals of the mean: t, percentile and BCa bootstrap, against scipy."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rigorlab.errors import InputError
from rigorlab.stats import _messages as msg
from rigorlab.stats import arm_intervals, bootstrap_mean_intervals, mean_interval
from rigorlab.stats._intervals import bca_bounds, percentile_bounds

# The profile registered in conftest.py (rigorlab-stats, or thorough via the environment).
PROPERTY_SETTINGS = settings.get_profile(os.environ.get("RIGORLAB_HYPOTHESIS_PROFILE", "rigorlab-stats"))

scores = st.lists(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False),
    min_size=2,
    max_size=25,
)


@pytest.mark.parametrize("size", [2, 3, 5, 12])
def test_t_interval_equals_scipy(size: int) -> None:
    values = np.random.default_rng(size).normal(0.8, 0.05, size=size)
    interval = mean_interval(values, confidence=0.9)
    low, high = stats.t.interval(0.9, size - 1, loc=values.mean(), scale=stats.sem(values))
    assert interval.method == "t"
    assert (interval.low, interval.high) == pytest.approx((low, high), rel=1e-12)


def test_t_interval_is_wider_than_normal_for_few_replicates() -> None:
    values = np.array([0.80, 0.83, 0.78, 0.82])
    interval = mean_interval(values)
    normal_half_width = 1.96 * values.std(ddof=1) / 2
    assert (interval.high - interval.low) / 2 > 1.5 * normal_half_width


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_bootstrap_formulas_equal_scipy_on_the_same_resamples(seed: int, method: str) -> None:
    # Values on a 1/64 grid: every resampled sum is exact, so a resample that permutes the sample
    # ties the estimate exactly in scipy too (with arbitrary floats scipy's own rounding puts some
    # of those ties an ulp below or above; see the tie test below).
    values = np.round(np.random.default_rng(100 + seed).gamma(2.0, size=9) * 64) / 64
    n_resamples = 4000
    # scipy draws the resample indices as rng.integers(0, n, (n_resamples, n)).
    index = np.random.default_rng(seed).integers(0, values.size, (n_resamples, values.size))
    distribution = values[index].mean(axis=1)[None, :]
    if method == "bca":
        low, high = bca_bounds(values[None, :], distribution, 0.95)
    else:
        low, high = percentile_bounds(distribution, 0.95)
    reference = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=n_resamples,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    assert low[0] == pytest.approx(reference.low, rel=1e-10)
    assert high[0] == pytest.approx(reference.high, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_group_resamples_exactly_like_scipy(seed: int) -> None:
    # Same seed, same resample indices: the percentile interval agrees to rounding; BCa only
    # differs where a resample that permutes the sample ties the estimate within an ulp.
    values = np.random.default_rng(10 + seed).gamma(2.0, size=10)
    for method, scipy_method, tolerance in (("percentile", "percentile", 1e-12), ("bca", "BCa", 2e-3)):
        ours = mean_interval(values, method=method, n_resamples=5000, seed=seed)
        theirs = stats.bootstrap(
            (values,), np.mean, n_resamples=5000, method=scipy_method, rng=np.random.default_rng(seed)
        ).confidence_interval
        width = theirs.high - theirs.low
        assert ours.low == pytest.approx(theirs.low, abs=tolerance * width)
        assert ours.high == pytest.approx(theirs.high, abs=tolerance * width)


def test_bca_counts_resamples_that_permute_the_sample_as_ties() -> None:
    """The review's c1d example: n = 4, 2000 resamples, of which the permutations of the sample (about
    9%) have exactly the sample's mean. Counted as ties (half below), whatever the rounding of the sum."""
    generator = np.random.default_rng(1)
    for _ in range(7):  # the review's generator: its trial 6 drew this sample
        n = int(generator.integers(2, 25))
        scale = generator.choice([1e-6, 1, 1e3])
        sample = generator.gamma(2, 1, n) * scale
    assert n == 4 and np.round(sample, 1).tolist() == [2990.6, 641.3, 6225.8, 1211.6]
    index = np.random.default_rng(6).integers(0, n, (2000, n))
    # Exact reference: a resample ties the estimate when it is a permutation of the sample.
    distribution = sample[index].mean(axis=1)
    permutation = (np.sort(index, axis=1) == np.arange(n)).all(axis=1)
    estimate = sample.mean()
    share = (np.sum((distribution < estimate) & ~permutation) + 0.5 * permutation.sum()) / 2000
    bias = stats.norm.ppf(share)
    jackknife = (sample.sum() - sample) / (n - 1)
    deviation = jackknife.mean() - jackknife
    acceleration = (deviation**3).sum() / (6 * ((deviation**2).sum()) ** 1.5)
    z_low = stats.norm.ppf(0.025)
    level = stats.norm.cdf(bias + (bias + z_low) / (1 - acceleration * (bias + z_low)))
    expected_low = np.quantile(distribution, level)
    ours = mean_interval(sample, method="bca", n_resamples=2000, seed=6)
    assert ours.low == pytest.approx(expected_low, rel=1e-9)
    assert round(ours.low, 1) == 1069.0
    # scipy's own rounding counts 35 of these 200 ties as strictly below the estimate (its lower
    # bound is 1211.6); on values whose sums are exact it agrees with rigorlab (test above).
    theirs = stats.bootstrap((sample,), np.mean, method="BCa", n_resamples=2000, rng=np.random.default_rng(6))
    assert round(float(theirs.confidence_interval.low), 1) == 1211.6


def test_bootstrap_intervals_from_few_values_carry_a_warning() -> None:
    few = mean_interval(np.arange(8.0), method="bca", n_resamples=200)
    assert few.warnings == (msg.WARN_FEW_FOR_BOOTSTRAP.format(n=8, minimum=20),)
    assert mean_interval(np.arange(8.0)).warnings == ()
    assert mean_interval(np.arange(25.0), method="percentile", n_resamples=200).warnings == ()


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_bootstrap_interval_agrees_with_scipy_within_monte_carlo_error(method: str) -> None:
    values = np.random.default_rng(5).lognormal(size=15)
    ours = mean_interval(values, method=method, n_resamples=20_000, seed=1)
    theirs = stats.bootstrap(
        (values,),
        np.mean,
        n_resamples=20_000,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(2),
    ).confidence_interval
    width = theirs.high - theirs.low
    assert ours.low == pytest.approx(theirs.low, abs=0.05 * width)
    assert ours.high == pytest.approx(theirs.high, abs=0.05 * width)


def test_vectorised_bootstrap_matches_scipy_group_by_group() -> None:
    rng = np.random.default_rng(9)
    samples = [rng.normal(size=size) for size in (4, 10, 10, 7, 10)]
    intervals = bootstrap_mean_intervals(samples, n_resamples=20_000, seed=4)
    for sample, (low, high) in zip(samples, intervals, strict=True):
        reference = stats.bootstrap(
            (sample,), np.mean, n_resamples=20_000, rng=np.random.default_rng(0)
        ).confidence_interval
        width = reference.high - reference.low
        assert low == pytest.approx(reference.low, abs=0.06 * width)
        assert high == pytest.approx(reference.high, abs=0.06 * width)


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    values = np.random.default_rng(0).normal(size=8)
    first = mean_interval(values, method="bca", n_resamples=2000, seed=42)
    again = mean_interval(values, method="bca", n_resamples=2000, seed=42)
    other = mean_interval(values, method="bca", n_resamples=2000, seed=43)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)
    from_generator = mean_interval(values, method="bca", n_resamples=2000, seed=np.random.default_rng(42))
    assert from_generator == first


def test_many_samples_from_one_seed_are_reproducible() -> None:
    samples = [np.random.default_rng(size).normal(size=size) for size in (3, 5, 5, 9)]
    first = bootstrap_mean_intervals(samples, n_resamples=1000, seed=7)
    assert np.array_equal(first, bootstrap_mean_intervals(samples, n_resamples=1000, seed=7))
    assert not np.array_equal(first, bootstrap_mean_intervals(samples, n_resamples=1000, seed=8))


def test_degenerate_samples() -> None:
    constant = mean_interval([0.7, 0.7, 0.7], method="bca", n_resamples=100)
    assert constant.low == constant.estimate == constant.high == pytest.approx(0.7)
    single = mean_interval([0.7, math.nan])
    assert single.estimate == 0.7 and math.isnan(single.low) and math.isnan(single.high)
    assert single.to_dict()["low"] is None
    intervals = bootstrap_mean_intervals([[1.0], [2.0, 2.0], [1.0, 3.0]], n_resamples=100)
    assert np.isnan(intervals[0]).all()
    assert intervals[1].tolist() == [2.0, 2.0]


def test_arm_intervals_same_table_for_frame_and_array() -> None:
    values = np.random.default_rng(1).normal(size=(6, 3))
    values[2, 1] = np.nan
    frame = pd.DataFrame(values, columns=["a", "b", "c"])
    from_frame = arm_intervals(frame, method="percentile", n_resamples=500, seed=3)
    from_array = arm_intervals(values, arm_names=["a", "b", "c"], method="percentile", n_resamples=500, seed=3)
    pd.testing.assert_frame_equal(from_frame, from_array)
    assert list(from_frame.columns) == ["arm", "mean", "low", "high", "std", "n", "method"]
    assert from_frame["n"].tolist() == [6, 5, 6]
    assert list(arm_intervals(values)["arm"]) == ["arm_0", "arm_1", "arm_2"]


@PROPERTY_SETTINGS
@given(scores, st.sampled_from(["t", "percentile", "bca"]))
def test_interval_contains_the_estimate(values: list[float], method: str) -> None:
    interval = mean_interval(values, method=method, n_resamples=200, seed=0)
    assert interval.low <= interval.estimate <= interval.high


@PROPERTY_SETTINGS
@given(scores, st.floats(min_value=-100, max_value=100))
def test_t_interval_shifts_with_the_data(values: list[float], shift: float) -> None:
    base = mean_interval(values)
    moved = mean_interval(np.asarray(values) + shift)
    scale = max(1.0, abs(shift), max(abs(v) for v in values))
    assert moved.low - shift == pytest.approx(base.low, abs=1e-9 * scale)
    assert moved.high - shift == pytest.approx(base.high, abs=1e-9 * scale)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: mean_interval([1, 2], method="z"),
            msg.BAD_INTERVAL_METHOD.format(allowed="t, bca, percentile", value="z"),
        ),
        (lambda: mean_interval([1, 2], confidence=1.5), msg.BAD_CONFIDENCE.format(value=1.5)),
        (lambda: mean_interval([1, 2], confidence=True), msg.BAD_CONFIDENCE.format(value=True)),
        (lambda: mean_interval([1, 2], n_resamples=0), msg.BAD_N_RESAMPLES.format(value=0)),
        (lambda: mean_interval([1, 2], seed="x"), msg.BAD_SEED.format(type_name="str")),  # type: ignore[arg-type]
        (lambda: mean_interval([math.nan]), msg.EMPTY_SAMPLE.format(name="values")),
        (lambda: mean_interval([1.0, math.inf]), msg.NON_FINITE.format(name="values")),
        (lambda: mean_interval([[1.0, 2.0]]), msg.BAD_SHAPE.format(name="values", expected="(n,)", shape=(1, 2))),
        (
            lambda: bootstrap_mean_intervals([[1.0, 2.0]], method="t"),
            msg.BAD_INTERVAL_METHOD.format(allowed="bca, percentile", value="t"),
        ),  # type: ignore[arg-type]
        (
            lambda: arm_intervals(np.ones((3, 2)), arm_names=["a"]),
            msg.BAD_LENGTHS.format(
                first="arm_names", second="the last axis of scores", first_shape=(1,), second_shape=(2,)
            ),
        ),
        (
            lambda: arm_intervals(np.ones((3, 2)), arm_names=["a", "a"]),
            msg.DUPLICATE_ARM_NAMES.format(names=["a", "a"]),
        ),
    ],
)
def test_bad_input_messages(call, message: str) -> None:
    with pytest.raises(InputError) as error:
        call()
    assert str(error.value) == message
