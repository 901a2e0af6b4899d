"""Split designs: resampled, shared and fixed splits each get the test, interval, Bayesian test and
power advice that fit them (the statistician's review, items 1, 2, 4, 5 and the guards)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rigorlab.errors import InputError
from rigorlab.stats import (
    VERDICT_BETTER,
    VERDICT_NO_EVIDENCE,
    VERDICT_NONE,
    compare_study,
    compare_to_baseline,
    correlated_bayesian_ttest,
    paired_comparison,
    replicates_needed,
    replicates_needed_shared_split,
)
from rigorlab.stats import _messages as msg

COLUMNS = ["arm", "dataset", "replicate", "fold", "metric", "value", "n_train", "n_test"]
# The review's c3: deterministic arms, the same 5 fold scores in every replicate of one shared split.
BASE_FOLDS = np.array([0.850, 0.842, 0.861, 0.838, 0.855])
NEW_FOLDS = BASE_FOLDS + np.array([0.012, -0.004, 0.015, 0.006, 0.002])


def grid_frame(base: np.ndarray, new: np.ndarray, n_train: float = 480, n_test: float = 120) -> pd.DataFrame:
    rows = []
    for arm, values in (("base", base), ("new", new)):
        replicates, folds = values.shape
        for replicate in range(replicates):
            for fold in range(folds):
                rows.append((arm, "d", replicate, fold, "accuracy", float(values[replicate, fold]), n_train, n_test))
    return pd.DataFrame(rows, columns=COLUMNS)


def single_k_fold_test() -> tuple[float, float]:
    """The correct test of the review: the single 5-fold corrected t-test (J = k, df = k - 1)."""
    differences = NEW_FOLDS - BASE_FOLDS
    standard_error = math.sqrt(differences.var(ddof=1) * (1 / 5 + 120 / 480))
    statistic = differences.mean() / standard_error
    return statistic, 2 * stats.t.sf(abs(statistic), 4)


@pytest.mark.parametrize("replicates", [2, 5, 10, 30])
def test_copied_replicates_of_a_shared_split_do_not_shrink_the_p_value(replicates: int) -> None:
    frame = grid_frame(np.tile(BASE_FOLDS, (replicates, 1)), np.tile(NEW_FOLDS, (replicates, 1)))
    result = compare_study(frame, metric="accuracy", baseline="base", splits="shared", bayesian=True, n_resamples=200)
    row = result.comparisons.iloc[0]
    statistic, p_value = single_k_fold_test()
    assert row["test"] == msg.TEST_SHARED_SPLIT
    assert row["df"] == 4 and row["statistic"] == pytest.approx(statistic) and row["p_value"] == pytest.approx(p_value)
    assert row["p_value"] == pytest.approx(0.2924, abs=1e-4)
    # The Bayesian test runs on the same 5 fold differences with rho = n_test/(n_train + n_test) = 1/5.
    direct = correlated_bayesian_ttest(NEW_FOLDS, BASE_FOLDS, rope=0.01, rho=0.2)
    bayes = result.bayesian.iloc[0]
    assert bayes["p_arm_better"] == pytest.approx(direct.p_left) and bayes["p_rope"] == pytest.approx(direct.p_rope)
    # Deterministic arms: the per-arm interval still has the split's width (the fold means vary).
    estimate = result.estimates.set_index("arm").loc["new"]
    assert estimate["method"] == "t_nb" and estimate["high"] - estimate["low"] > 0.02
    # No number of replicates helps: the seeds add nothing, the split's variance stays.
    assert pd.isna(row["replicates_needed_for_80pct_power"])
    assert msg.WARN_POWER_UNREACHABLE_SHARED.format(difference=abs(row["mean_diff"])) in row["warnings"]
    assert "copies of a replicate add no evidence" in result.legend


def test_the_resampled_test_on_a_shared_split_was_the_review_bug() -> None:
    """The same copied frame under the resampled test: p falls with every copy (0.179 -> 0.076)."""
    p_values = [
        compare_study(
            grid_frame(np.tile(BASE_FOLDS, (r, 1)), np.tile(NEW_FOLDS, (r, 1))),
            metric="accuracy",
            baseline="base",
            splits="resampled",
            n_resamples=100,
        )
        .comparisons["p_value"]
        .item()
        for r in (2, 30)
    ]
    assert p_values[0] == pytest.approx(0.1791, abs=1e-4) and p_values[1] == pytest.approx(0.0759, abs=1e-4)


def test_type_one_error_on_a_shared_split_stays_near_alpha() -> None:
    """Under H0 on one shared split (review c3: the resampled test rejected 22%), the shared-split test
    keeps near the nominal 5%."""
    rng = np.random.default_rng(5)
    rejections = {"shared": 0, "resampled": 0}
    simulations, replicates, folds = 600, 10, 5
    rho = 1 / folds
    for _ in range(simulations):
        split = math.sqrt(rho) * rng.normal() + math.sqrt(1 - rho) * rng.normal(size=(1, folds))
        differences = 0.01 * np.broadcast_to(split, (replicates, folds)) + 0.005 * rng.normal(size=(replicates, folds))
        zeros = np.zeros_like(differences)
        for design in rejections:
            result = paired_comparison(differences, zeros, splits=design)  # type: ignore[arg-type]
            rejections[design] += result.p_value < 0.05
    assert rejections["shared"] / simulations < 0.09
    assert rejections["resampled"] / simulations > 0.10


def test_tracked_fixed_split_is_a_paired_t_test_over_seeds() -> None:
    """The review's c4: ten seeds on one fixed split with stated sizes took the NB path (p = 0.11 and a false
    'overlap of training sets' warning); on a fixed split the paired t-test is right, conditionally."""
    rng = np.random.default_rng(0)
    base = 0.930 + rng.normal(0, 0.002, 10)
    new = base + 0.002 + rng.normal(0, 0.0015, 10)
    frame = grid_frame(base[:, None], new[:, None], n_train=50_000, n_test=10_000)
    result = compare_study(frame, metric="accuracy", baseline="base", splits="fixed", n_resamples=200)
    row = result.comparisons.iloc[0]
    assert row["test"] == msg.TEST_FIXED_SPLIT and row["test_train_ratio"] == 0.0
    assert row["p_value"] == pytest.approx(stats.ttest_rel(new, base).pvalue)
    assert row["p_value"] == pytest.approx(0.0139, abs=1e-4) and row["verdict"] == VERDICT_BETTER
    assert not any("overlap" in warning for warning in row["warnings"])
    assert "conditional on that split" in result.legend
    estimate = result.estimates.set_index("arm").loc["new"]
    low, high = stats.t.interval(0.95, 9, loc=new.mean(), scale=stats.sem(new))
    assert estimate["method"] == "t" and (estimate["low"], estimate["high"]) == pytest.approx((low, high))
    assert "run-to-run (seed) variation on this one split only" in result.legend


def test_fixed_split_power_is_the_plain_paired_test_at_the_bonferroni_level() -> None:
    rng = np.random.default_rng(1)
    base = 0.8 + rng.normal(0, 0.01, (6, 1))
    frame = grid_frame(base, base + 0.002 + rng.normal(0, 0.01, (6, 1)))
    row = compare_study(frame, metric="accuracy", baseline="base", splits="fixed").comparisons.iloc[0]
    assert row["verdict"] == VERDICT_NO_EVIDENCE
    expected = replicates_needed(abs(row["mean_diff"]), row_sd(frame), alpha=0.05)
    assert row["replicates_needed_for_80pct_power"] == expected


def row_sd(frame: pd.DataFrame) -> float:
    values = frame.pivot_table(index="replicate", columns="arm", values="value")
    return float((values["new"] - values["base"]).std(ddof=1))


def test_ratio_zero_with_folds_tests_replicate_level_differences() -> None:
    """The review's c10: test_train_ratio=0 on 5 x 5 x 2 scores ran the naive t-test over 25 fold
    differences (df 24, p = 0.0007) under the label "paired t-test"."""
    rng = np.random.default_rng(0)
    base = rng.normal(0.8, 0.02, (5, 5))
    arm = base + 0.004 + rng.normal(0, 0.01, (5, 5))
    table = compare_to_baseline(np.stack([base, arm], axis=2), baseline=0, test_train_ratio=0)
    reference = stats.ttest_rel(arm.mean(axis=1), base.mean(axis=1))
    assert table["test"].item() == msg.TEST_PAIRED_T and table["df"].item() == 4
    assert table["p_value"].item() == pytest.approx(reference.pvalue)
    assert table["p_value"].item() == pytest.approx(0.059, abs=1e-3)


def test_unknown_splits_keep_the_more_conservative_test() -> None:
    copied = grid_frame(np.tile(BASE_FOLDS, (10, 1)), np.tile(NEW_FOLDS, (10, 1)))
    unknown = compare_study(copied, metric="accuracy", baseline="base", splits="unknown", n_resamples=100)
    assert unknown.comparisons["test"].item() == msg.TEST_SHARED_SPLIT  # p 0.29 rather than 0.09
    rng = np.random.default_rng(3)
    base = rng.normal(0.8, 0.02, (10, 5))
    resampled = grid_frame(base, base + 0.003 + rng.normal(0, 0.02, (10, 5)))
    options = {"metric": "accuracy", "baseline": "base", "n_resamples": 100}
    both = {
        design: compare_study(resampled, splits=design, **options).comparisons.iloc[0]
        for design in ("resampled", "shared", "unknown")
    }
    larger = max(both["resampled"]["p_value"], both["shared"]["p_value"])
    assert both["unknown"]["p_value"] == larger
    assert "larger p-value" in compare_study(resampled, splits="unknown", **options).legend


def test_unstated_splits_are_assumed_resampled_and_said_so() -> None:
    frame = grid_frame(np.tile(BASE_FOLDS, (3, 1)), np.tile(NEW_FOLDS, (3, 1)))
    result = compare_study(frame, metric="accuracy", baseline="base", n_resamples=100)
    assert msg.PROBLEM_SPLITS_ASSUMED in result.problems
    assert result.splits == "resampled" and result.splits_reason == "assumed (not stated)"


def test_bad_splits_name_the_choices() -> None:
    frame = grid_frame(np.tile(BASE_FOLDS, (3, 1)), np.tile(NEW_FOLDS, (3, 1)))
    with pytest.raises(InputError) as error:
        compare_study(frame, metric="accuracy", baseline="base", splits="kfold")  # type: ignore[arg-type]
    unknown = ", or 'unknown' when it is not known (both tests run, the more conservative counts)"
    allowed = "resampled, shared, fixed, unknown"
    assert str(error.value) == msg.BAD_SPLITS.format(allowed=allowed, unknown=unknown, value="kfold")
    with pytest.raises(InputError) as error:
        paired_comparison([0.8, 0.9], [0.7, 0.8], splits="unknown")  # type: ignore[arg-type]
    assert str(error.value) == msg.BAD_SPLITS.format(allowed="resampled, shared, fixed", unknown="", value="unknown")


def test_too_wide_is_not_said_next_to_a_verdict() -> None:
    """The review: p = 0.004, CI [0.065, 0.115], verdict "better" and "interval too wide to say anything"."""
    result = paired_comparison([0.80, 0.79, 0.81], [0.70, 0.71, 0.72])
    assert result.verdict == VERDICT_BETTER
    assert not any(warning.startswith("interval too wide") for warning in result.warnings)


def test_zero_variance_in_a_study_gets_no_verdict_no_power_and_no_posterior() -> None:
    """The review's c8 A: two replicates each exactly 0.01 better gave p = 0, "better", CI [0.01, 0.01]."""
    frame = grid_frame(np.array([[0.80], [0.82]]), np.array([[0.81], [0.83]]), n_train=300, n_test=100)
    result = compare_study(frame, metric="accuracy", baseline="base", splits="fixed", bayesian=True)
    row = result.comparisons.iloc[0]
    assert row["verdict"] == VERDICT_NONE and math.isnan(row["p_value"])
    assert msg.WARN_ZERO_VARIANCE.format(difference=row["mean_diff"]) in row["warnings"]
    assert pd.isna(row["replicates_needed_for_80pct_power"])
    assert math.isnan(result.bayesian.iloc[0]["p_arm_better"])
    expected = msg.PROBLEM_BAYES_ZERO_VARIANCE.format(arm="new", dataset="d", difference=row["mean_diff"])
    assert expected in result.problems
    assert result.to_dict()["comparisons"][0]["p_value"] is None


def test_shared_split_power_weighs_seed_noise_against_split_variance() -> None:
    # Seed noise dominates: more replicates average it out and reach the power.
    noisy = replicates_needed_shared_split(0.01, 0.006, 0.015, n_replicates=5, folds=5, test_train_ratio=0.25)
    assert noisy is not None and noisy > 5
    # No seed noise: the fold differences' variance is all split variance; replicates cannot help.
    fixed = replicates_needed_shared_split(0.002, 0.006, 0.0, n_replicates=5, folds=5, test_train_ratio=0.25)
    assert fixed is None


def test_group_shift_and_protocols_map_to_designs() -> None:
    from rigorlab.spec import StudySpec
    from rigorlab.stats import stored_splits

    def spec(protocol: dict[str, object]) -> StudySpec:
        return StudySpec.model_validate(
            {
                "study": "s",
                "datasets": [{"name": "iris"}],
                "models": [{"name": "m", "estimator": "sklearn.linear_model.LogisticRegression"}],
                "metrics": ["accuracy"],
                "protocol": protocol,
            }
        )

    empty = pd.DataFrame({"fold": [0, 1]})
    assert stored_splits(spec({"kind": "repeated_kfold"}), empty)[0] == "resampled"
    assert stored_splits(spec({"kind": "holdout"}), empty)[0] == "resampled"
    assert stored_splits(spec({"kind": "kfold"}), empty)[0] == "shared"
    assert stored_splits(spec({"kind": "stratified_kfold"}), empty)[0] == "shared"
    assert stored_splits(None, pd.DataFrame({"fold": [0, 0]})) == ("fixed", stored_splits(None, empty.iloc[:1])[1])
    assert stored_splits(None, empty)[0] == "unknown"


def test_the_effect_size_of_resampled_splits_is_in_the_units_of_the_test() -> None:
    """The review's -94.8 for a 1.3-point difference: d_z on replicate means, which barely vary."""
    rng = np.random.default_rng(11)
    base = rng.normal(0.80, 0.02, (5, 5))
    new = base + 0.013 + rng.normal(0, 0.01, (5, 5))
    result = compare_study(grid_frame(base, new), metric="accuracy", baseline="base", splits="resampled")
    differences = (new - base).ravel()
    expected = differences.mean() / differences.std(ddof=1)
    assert result.comparisons.iloc[0]["effect_size"] == pytest.approx(expected)
    assert abs(expected) < 5
