"""compare_study: the bridge the `rigorlab compare` command calls."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rigorlab.errors import InputError, NotFoundError
from rigorlab.stats import (
    BAYESIAN_COLUMNS,
    ESTIMATE_COLUMNS,
    STUDY_COMPARISON_COLUMNS,
    VERDICT_BETTER,
    VERDICT_NO_EVIDENCE,
    VERDICT_WORSE,
    StudyComparison,
    compare_study,
    correlated_bayesian_ttest,
    rank_arms,
    replicates_needed,
    simulated_study_frame,
)
from rigorlab.stats import _messages as msg


def compare(frame: pd.DataFrame, **options) -> StudyComparison:
    """compare_study on the simulated repeated k-fold frames: new splits in every replicate."""
    options.setdefault("splits", "resampled")
    return compare_study(frame, **options)


ARMS = ("logreg", "hgb", "knn", "tree")
EFFECTS = {"logreg": 0.0, "hgb": 0.04, "knn": 0.0, "tree": -0.04}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return simulated_study_frame(
        arms=ARMS,
        datasets=("iris", "wine", "digits"),
        replicates=10,
        folds=5,
        metrics=("accuracy", "log_loss"),
        effects=EFFECTS,
        seed=11,
    )


@pytest.fixture(scope="module")
def result(frame: pd.DataFrame) -> StudyComparison:
    return compare(frame, metric="accuracy", baseline="logreg", n_resamples=1000)


FIVE_DATASETS = ("iris", "wine", "digits", "breast_cancer", "diabetes")


@pytest.fixture(scope="module")
def five(frame: pd.DataFrame) -> pd.DataFrame:
    """The study on MIN_DATASETS_FOR_RANKING datasets: enough for the tests across datasets."""
    return simulated_study_frame(
        arms=ARMS, datasets=FIVE_DATASETS, replicates=10, folds=5, metrics=("accuracy",), effects=EFFECTS, seed=11
    )


@pytest.fixture(scope="module")
def result5(five: pd.DataFrame) -> StudyComparison:
    return compare(five, metric="accuracy", baseline="logreg", n_resamples=1000)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["arm", "dataset", "replicate", "fold", "metric", "value", "n_train", "n_test"],
    )


def test_fields_and_columns(result: StudyComparison) -> None:
    assert list(result.estimates.columns) == list(ESTIMATE_COLUMNS)
    assert list(result.comparisons.columns) == list(STUDY_COMPARISON_COLUMNS)
    assert result.arms == ARMS
    assert result.datasets == ("iris", "wine", "digits")
    assert set(result.estimates["metric"]) == {"accuracy", "log_loss"}
    assert len(result.estimates) == 2 * 3 * 4
    assert result.estimates["metric"].iloc[0] == "accuracy"
    assert len(result.comparisons) == 3 * 3
    # Three datasets: average ranks as a description, no tests across datasets.
    assert result.problems == (msg.PROBLEM_TOO_FEW_DATASETS_FOR_RANKING.format(n_datasets=3, minimum=5),)
    assert result.ranking is None and result.average_ranks is not None
    assert result.bayesian is None and result.rope is None


def test_verdicts_on_known_effects(result: StudyComparison) -> None:
    verdicts = result.comparisons.groupby("arm")["verdict"].agg(set).to_dict()
    assert verdicts == {
        "hgb": {VERDICT_BETTER},
        "knn": {VERDICT_NO_EVIDENCE},
        "tree": {VERDICT_WORSE},
    }
    assert set(result.comparisons["test"]) == {msg.TEST_NADEAU_BENGIO}
    # Five folds, 600 samples: n_test / n_train = 120 / 480.
    assert set(result.comparisons["test_train_ratio"]) == {0.25}


def test_estimates_default_to_the_nadeau_bengio_interval_over_fold_scores(frame, result) -> None:
    rows = frame.query("arm == 'hgb' and dataset == 'wine' and metric == 'log_loss'")
    replicate_means = rows.groupby("replicate")["value"].mean().to_numpy()
    values = rows["value"].to_numpy()
    half_width = stats.t.ppf(0.975, values.size - 1) * math.sqrt(values.var(ddof=1) * (1 / values.size + 120 / 480))
    row = result.estimates.query("arm == 'hgb' and dataset == 'wine' and metric == 'log_loss'")
    assert row["mean"].item() == pytest.approx(replicate_means.mean())
    assert (row["low"].item(), row["high"].item()) == pytest.approx(
        (replicate_means.mean() - half_width, replicate_means.mean() + half_width)
    )
    assert row["n"].item() == 10 and row["method"].item() == "t_nb"
    assert "interval computed from all J = replicates x folds fold scores, Nadeau-Bengio corrected" in result.legend
    # The mean is over replicates and folds; the legend does not describe the interval as one over
    # replicate means ("fold scores averaged within a replicate").
    assert "averaged within a replicate" not in result.legend.splitlines()[0]


def test_plain_t_estimates_average_folds_then_run_over_replicates(frame) -> None:
    plain = compare(frame, metric="accuracy", baseline="logreg", interval_method="t", n_resamples=100)
    rows = frame.query("arm == 'hgb' and dataset == 'wine' and metric == 'log_loss'")
    replicate_means = rows.groupby("replicate")["value"].mean().to_numpy()
    low, high = stats.t.interval(0.95, 9, loc=replicate_means.mean(), scale=stats.sem(replicate_means))
    row = plain.estimates.query("arm == 'hgb' and dataset == 'wine' and metric == 'log_loss'")
    assert (row["low"].item(), row["high"].item()) == pytest.approx((low, high))
    assert row["method"].item() == "t"
    assert "not the sampling of the data" in plain.legend


def test_per_arm_intervals_agree_with_the_comparison(frame) -> None:
    """The review's c11: 30 x 5 repeated k-fold, a difference with p = 0.37 must not show two
    disjoint per-arm intervals (the plain t interval over replicates did, at a tenth of the width)."""
    wide = simulated_study_frame(arms=["a", "b"], datasets=["d"], replicates=30, folds=5, effects={"b": 0.006}, seed=11)
    result = compare(wide, metric="accuracy", baseline="a", n_resamples=200)
    estimates = result.estimates.set_index("arm")
    assert result.comparisons["verdict"].item() == VERDICT_NO_EVIDENCE
    assert estimates.loc["a", "high"] > estimates.loc["b", "low"]  # they overlap
    values = wide.query("arm == 'a'")["value"].to_numpy()
    expected = stats.t.ppf(0.975, 149) * math.sqrt(values.var(ddof=1) * (1 / 150 + 0.25))
    assert (estimates.loc["a", "high"] - estimates.loc["a", "low"]) / 2 == pytest.approx(expected)
    assert expected == pytest.approx(0.0215, abs=5e-4)


def test_holm_within_each_dataset(result: StudyComparison) -> None:
    for _, family in result.comparisons.groupby("dataset"):
        assert family["p_adjusted"].to_numpy() == pytest.approx(
            multipletests(family["p_value"].to_numpy(), method="holm")[1]
        )


def test_ranking_over_dataset_means(result5: StudyComparison) -> None:
    result = result5
    assert result.ranking is not None and result.problems == ()
    means = result.estimates.query("metric == 'accuracy'").pivot(index="dataset", columns="arm", values="mean")
    direct = rank_arms(means.loc[list(result.datasets), list(ARMS)])
    assert result.ranking.average_ranks.equals(direct.average_ranks)
    assert result.average_ranks is not None and result.average_ranks.equals(direct.average_ranks)
    assert result.ranking.average_ranks["hgb"] == 1.0
    assert result.ranking.friedman.chi2 == pytest.approx(direct.friedman.chi2)
    # alpha = 1 - 0.95 exactly, not 0.050000000000000044, in the result and its JSON.
    assert result.ranking.nemenyi.alpha == 0.05
    assert result.to_dict()["ranking"]["nemenyi"]["alpha"] == 0.05


def test_too_few_datasets_rank_without_tests(frame: pd.DataFrame) -> None:
    """Two datasets: no Friedman (an infinite Iman-Davenport F), Nemenyi, CD diagram or Bayesian
    signed-rank test; the average ranks remain as a description and the problems say why."""
    two = frame.loc[frame["dataset"].isin(["iris", "wine"])]
    result = compare(two, metric="accuracy", baseline="logreg", n_resamples=500, bayesian=True)
    assert result.ranking is None and result.critical_difference_figure() is None
    assert result.average_ranks is not None and result.average_ranks["hgb"] == 1.0
    assert msg.PROBLEM_TOO_FEW_DATASETS_FOR_RANKING.format(n_datasets=2, minimum=5) in result.problems
    assert msg.PROBLEM_TOO_FEW_DATASETS_FOR_SIGNED_RANK.format(n_datasets=2, minimum=5) in result.problems
    assert result.bayesian is not None and msg.ACROSS_DATASETS not in set(result.bayesian["dataset"])
    assert set(result.tables()) == {"estimates", "comparisons", "ranks", "bayesian"}
    assert "no Bayesian signed-rank test across datasets" in result.legend
    payload = result.to_dict()
    assert payload["ranking"] is None and payload["average_ranks"]["hgb"] == 1.0


def test_power_column_only_where_no_evidence_at_the_bonferroni_level(frame) -> None:
    result = compare(frame, metric="accuracy", baseline="logreg", n_resamples=500, minimal_difference=0.03)
    table = result.comparisons
    no_evidence = table["verdict"] == VERDICT_NO_EVIDENCE
    assert table.loc[~no_evidence, "replicates_needed_for_80pct_power"].isna().all()
    row = table.loc[no_evidence].iloc[0]
    sd = np.std(
        (
            frame.query(f"arm == 'knn' and dataset == '{row['dataset']}' and metric == 'accuracy'")["value"].to_numpy()
            - frame.query(f"arm == 'logreg' and dataset == '{row['dataset']}' and metric == 'accuracy'")[
                "value"
            ].to_numpy()
        ),
        ddof=1,
    )
    # Three comparisons per dataset under Holm: power at alpha / 3, not the unadjusted alpha.
    expected = replicates_needed(0.03, sd, folds_per_replicate=5, test_train_ratio=0.25, alpha=0.05 / 3)
    unadjusted = replicates_needed(0.03, sd, folds_per_replicate=5, test_train_ratio=0.25)
    assert expected is not None and unadjusted is not None and expected > unadjusted
    assert row["replicates_needed_for_80pct_power"] == expected
    assert "a difference of 0.03" in result.legend and "Bonferroni level 0.05/m" in result.legend


def test_power_unreachable_under_the_correction_is_explained(frame) -> None:
    result = compare(frame, metric="accuracy", baseline="logreg", n_resamples=200, minimal_difference=1e-4)
    rows = result.comparisons.loc[result.comparisons["verdict"] == VERDICT_NO_EVIDENCE]
    assert len(rows) > 0 and rows["replicates_needed_for_80pct_power"].isna().all()
    warning = msg.WARN_POWER_UNREACHABLE.format(difference=1e-4)
    assert all(warning in notes for notes in rows["warnings"])


def test_lower_is_better_metric(frame) -> None:
    flipped = frame.assign(value=lambda data: 1 - data["value"])
    result = compare(flipped, metric="accuracy", baseline="logreg", higher_is_better=False, n_resamples=500)
    hgb = result.comparisons.query("arm == 'hgb'")
    assert (hgb["verdict"] == VERDICT_BETTER).all()
    assert (hgb["mean_diff"] < 0).all()
    assert result.average_ranks is not None and result.average_ranks["hgb"] == 1.0
    assert "lower is better" in result.legend


def test_single_fold_without_sizes_is_a_paired_t_test() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.8, 0.02, 8)
    arm = base + rng.normal(0.01, 0.01, 8)
    rows = [("a", "d", r, 0, "acc", base[r], np.nan, np.nan) for r in range(8)]
    rows += [("b", "d", r, 0, "acc", arm[r], np.nan, np.nan) for r in range(8)]
    result = compare(_frame(rows), metric="acc", baseline="a", n_resamples=200)
    row = result.comparisons.iloc[0]
    assert row["test"] == msg.TEST_PAIRED_T
    assert row["p_value"] == pytest.approx(stats.ttest_rel(arm, base).pvalue)
    assert msg.TEST_PAIRED_T in result.legend and msg.TEST_NADEAU_BENGIO not in result.legend
    assert result.ranking is None


def test_single_fold_with_sizes_is_a_resampled_hold_out() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(0.8, 0.02, 8)
    arm = base + rng.normal(0.01, 0.01, 8)
    rows = [("a", "d", r, 0, "acc", base[r], 700, 300) for r in range(8)]
    rows += [("b", "d", r, 0, "acc", arm[r], 700, 300) for r in range(8)]
    row = compare(_frame(rows), metric="acc", baseline="a", n_resamples=200).comparisons
    assert row["test"].item() == msg.TEST_NADEAU_BENGIO
    assert row["test_train_ratio"].item() == pytest.approx(300 / 700)


def test_folds_without_sizes_use_the_k_fold_ratio(frame) -> None:
    unknown = frame.assign(n_train=np.nan, n_test=np.nan)
    result = compare(unknown, metric="accuracy", baseline="logreg", n_resamples=200)
    assert set(result.comparisons["test_train_ratio"]) == {0.25}


def test_interval_method_bca_and_seeds(frame) -> None:
    def run(seed: int) -> StudyComparison:
        return compare(
            frame,
            metric="accuracy",
            baseline="logreg",
            n_resamples=500,
            interval_method="bca",
            seed=seed,
        )

    first, again, other = run(5), run(5), run(6)
    assert set(first.estimates["method"]) == {"bca"}
    pd.testing.assert_frame_equal(first.estimates, again.estimates)
    pd.testing.assert_frame_equal(first.comparisons, again.comparisons)
    assert not first.estimates["low"].equals(other.estimates["low"])
    assert "BCa bootstrap interval over replicates (500 resamples)" in first.legend
    # Ten replicates: a bootstrap interval of the mean undercovers, and the problems say so.
    warning = msg.PROBLEM_FEW_REPLICATES_FOR_BOOTSTRAP.format(method="BCa", count=24, minimum=20, fewest=10)
    assert warning in first.problems


def test_row_order_does_not_change_the_numbers(frame) -> None:
    shuffled = frame.sample(frac=1.0, random_state=3)
    options = {"metric": "accuracy", "baseline": "logreg", "n_resamples": 300, "bayesian": True}
    ordered, reordered = compare(frame, **options), compare(shuffled, **options)

    def canonical(table: pd.DataFrame) -> pd.DataFrame:
        keys = [column for column in ("metric", "dataset", "arm") if column in table.columns]
        return table.sort_values(keys).reset_index(drop=True)

    # Display order follows the table's order of appearance; the numbers do not.
    for name in ("comparisons", "bayesian", "estimates"):
        pd.testing.assert_frame_equal(canonical(getattr(ordered, name)), canonical(getattr(reordered, name)))


def test_bayesian_tables(five) -> None:
    result = compare(five, metric="accuracy", baseline="logreg", bayesian=True, rope=0.01, n_resamples=2000)
    table = result.bayesian
    assert table is not None and list(table.columns) == list(BAYESIAN_COLUMNS)
    assert len(table) == 3 * 5 + 3
    across = table.loc[table["dataset"] == msg.ACROSS_DATASETS]
    assert across["test"].eq(msg.TEST_BAYESIAN_SIGNED_RANK).all()
    assert table.loc[table["dataset"] != msg.ACROSS_DATASETS, "test"].eq(msg.TEST_CORRELATED_BAYESIAN_T).all()
    sums = table[["p_arm_better", "p_rope", "p_baseline_better"]].sum(axis=1)
    assert sums.to_numpy() == pytest.approx(1.0)
    row = table.query("arm == 'hgb' and dataset == 'wine'").iloc[0]
    arm = five.query("arm == 'hgb' and dataset == 'wine' and metric == 'accuracy'")
    base = five.query("arm == 'logreg' and dataset == 'wine' and metric == 'accuracy'")
    direct = correlated_bayesian_ttest(
        arm.sort_values(["replicate", "fold"])["value"].to_numpy(),
        base.sort_values(["replicate", "fold"])["value"].to_numpy(),
        rope=0.01,
        n_train=480,
        n_test=120,
    )
    assert row["p_arm_better"] == pytest.approx(direct.p_left)
    assert row["p_baseline_better"] == pytest.approx(direct.p_right)
    assert result.rope == 0.01 and "ROPE +-0.01" in result.legend


def test_to_dict_is_strict_json_and_tables(result5: StudyComparison) -> None:
    result = result5
    payload = result.to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text)["comparisons"][0]["warnings"] == list(result.comparisons["warnings"].iloc[0])
    tables = result.tables()
    assert set(tables) == {"estimates", "comparisons", "ranks", "friedman", "nemenyi", "wilcoxon"}
    assert tables["comparisons"]["warnings"].map(type).eq(str).all()
    assert tables["ranks"]["arm"].iloc[0] == "hgb"
    assert "nemenyi_critical_difference" in tables["friedman"].columns
    for table in tables.values():
        table.to_csv(index=False)
    assert isinstance(result.critical_difference_figure(), Figure)


def test_legend_names_tests_and_corrections(result5: StudyComparison) -> None:
    legend = result5.legend
    for phrase in (
        "95% Student-t interval",
        msg.TEST_NADEAU_BENGIO,
        "1/J + n_test/n_train",
        "Holm correction",
        "Friedman test",
        "Iman-Davenport",
        "Nemenyi critical difference",
        "Wilcoxon",
        "Cohen's d_z",
    ):
        assert phrase in legend


# --- bad input: problems that leave the rest standing ------------------------------------------


def test_fewer_than_two_replicates(frame) -> None:
    one = frame.loc[frame["replicate"] == 0]
    result = compare(one, metric="accuracy", baseline="logreg", n_resamples=100)
    assert result.comparisons.empty
    assert result.average_ranks is not None  # dataset means still rank the arms
    expected = msg.PROBLEM_TOO_FEW_REPLICATES.format(
        dataset="iris", arms="'hgb', 'knn', 'tree'", metric="accuracy", counts="1, 1, 1"
    )
    assert expected in result.problems
    assert len(result.problems) == 3 + 1  # one line per dataset, not one per arm (+ too few datasets)
    assert "replicates >= 2" in expected
    # One replicate of 5-fold CV still has the corrected interval over its 5 fold scores ...
    estimate = result.estimates.iloc[0]
    assert estimate["n"] == 1 and estimate["method"] == "t_nb" and math.isfinite(estimate["low"])
    # ... while an interval over replicates has none.
    plain = compare(one, metric="accuracy", baseline="logreg", n_resamples=100, interval_method="t")
    assert math.isnan(plain.estimates.iloc[0]["low"])
    assert plain.to_dict()["estimates"][0]["low"] is None


def test_nothing_to_compare_raises_with_the_problems(frame) -> None:
    one = frame.loc[(frame["replicate"] == 0) & (frame["dataset"] == "iris")]
    with pytest.raises(InputError) as error:
        compare(one, metric="accuracy", baseline="logreg", n_resamples=100)
    problem = msg.PROBLEM_TOO_FEW_REPLICATES.format(
        dataset="iris", arms="'hgb', 'knn', 'tree'", metric="accuracy", counts="1, 1, 1"
    )
    assert str(error.value).startswith(msg.NOTHING_TO_COMPARE.format(problems=problem))


def test_declared_arm_with_all_trials_failed(frame) -> None:
    result = compare(frame, metric="accuracy", baseline="logreg", arms=["logreg", "svm", "hgb"], n_resamples=100)
    assert msg.PROBLEM_ARM_ABSENT.format(arm="svm", metric="accuracy") in result.problems
    assert result.arms == ("logreg", "hgb", "knn", "tree")
    assert len(result.comparisons) == 9


def test_baseline_missing_on_one_dataset(frame) -> None:
    partial = frame.loc[~((frame["arm"] == "logreg") & (frame["dataset"] == "wine"))]
    result = compare(partial, metric="accuracy", baseline="logreg", n_resamples=100)
    assert msg.PROBLEM_BASELINE_MISSING_ON_DATASET.format(baseline="logreg", dataset="wine") in result.problems
    assert set(result.comparisons["dataset"]) == {"iris", "digits"}
    assert msg.PROBLEM_LEFT_OUT_OF_RANKING.format(arm="logreg", datasets="'wine'") in result.problems
    assert result.average_ranks is not None and "logreg" not in result.average_ranks.index


def test_arm_missing_on_one_dataset(frame) -> None:
    partial = frame.loc[~((frame["arm"] == "knn") & (frame["dataset"] == "digits"))]
    result = compare(partial, metric="accuracy", baseline="logreg", n_resamples=100)
    expected = msg.PROBLEM_ARM_MISSING_ON_DATASET.format(arm="knn", metric="accuracy", datasets="'digits'")
    assert expected in result.problems
    assert len(result.comparisons) == 8


def test_failed_folds_and_replicates(frame) -> None:
    lacking = frame.loc[
        ~(
            (frame["arm"] == "hgb")
            & (frame["dataset"] == "iris")
            & (((frame["replicate"] == 2) & (frame["fold"] == 1)) | (frame["replicate"] == 7))
        )
    ]
    result = compare(lacking, metric="accuracy", baseline="logreg", n_resamples=100)
    where = "'iris' (" + msg.MISSING_FAILED.format(count=1) + ")"
    assert msg.PROBLEM_MISSING_FOLDS.format(arm="hgb", metric="accuracy", where=where) in result.problems
    row = result.comparisons.query("arm == 'hgb' and dataset == 'iris'").iloc[0]
    assert row["n_replicates"] == 9
    assert msg.WARN_REPLICATES_DROPPED.format(n_common=9, n_total=10) in row["warnings"]


def test_requested_dataset_without_results(frame) -> None:
    result = compare(frame, metric="accuracy", baseline="logreg", datasets=["wine", "mnist"], n_resamples=100)
    assert msg.PROBLEM_DATASET_ABSENT.format(dataset="mnist", metric="accuracy") in result.problems
    assert result.datasets == ("wine",)
    assert set(result.estimates["dataset"]) == {"wine"}
    assert result.ranking is None


def test_nan_values_are_dropped_with_a_note(frame) -> None:
    holes = frame.copy()
    holes.loc[holes.index[:3], "value"] = np.nan
    result = compare(holes, metric="accuracy", baseline="logreg", n_resamples=100)
    assert msg.PROBLEM_NAN_VALUES.format(count=3, metric="accuracy") in result.problems
    # The missing folds are NaN scores, not failed trials, and the note says so.
    where = "'iris' (" + msg.MISSING_NAN.format(count=3) + ")"
    assert msg.PROBLEM_MISSING_FOLDS.format(arm="logreg", metric="accuracy", where=where) in result.problems


def test_no_complete_arms_for_the_ranking() -> None:
    rows = [("a", "d1", r, 0, "acc", 0.5 + 0.01 * r, 80, 20) for r in range(3)]
    rows += [("b", "d1", r, 0, "acc", 0.6 + 0.01 * r, 80, 20) for r in range(3)]
    rows += [("a", "d2", r, 0, "acc", 0.5 + 0.02 * r, 80, 20) for r in range(3)]
    result = compare(_frame(rows), metric="acc", baseline="a", n_resamples=100)
    assert msg.PROBLEM_RANKING_IMPOSSIBLE.format(n_datasets=2, n_arms=1) in result.problems
    assert msg.PROBLEM_ARM_MISSING_ON_DATASET.format(arm="b", metric="acc", datasets="'d2'") in result.problems


# --- bad input: nothing can be compared --------------------------------------------------------


def test_unknown_metric(frame) -> None:
    with pytest.raises(NotFoundError) as error:
        compare(frame, metric="roc_auc", baseline="logreg")
    assert str(error.value) == msg.UNKNOWN_METRIC.format(metric="roc_auc", available="accuracy, log_loss")
    assert error.value.exit_code == 2


def test_unknown_baseline(frame) -> None:
    with pytest.raises(NotFoundError) as error:
        compare(frame, metric="accuracy", baseline="svm")
    assert str(error.value) == msg.UNKNOWN_BASELINE.format(
        baseline="svm", metric="accuracy", where="", available="logreg, hgb, knn, tree"
    )


def test_only_the_baseline_has_results(frame) -> None:
    only = frame.loc[(frame["arm"] == "logreg") & (frame["dataset"] == "iris")]
    with pytest.raises(InputError) as error:
        compare(only, metric="accuracy", baseline="logreg")
    assert msg.PROBLEM_ONLY_BASELINE.format(baseline="logreg", metric="accuracy") in str(error.value)


def test_no_requested_dataset_has_results(frame) -> None:
    with pytest.raises(NotFoundError) as error:
        compare(frame, metric="accuracy", baseline="logreg", datasets=["mnist"])
    assert str(error.value) == msg.NO_SELECTED_DATASETS.format(requested="mnist", available="iris, wine, digits")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: f.to_dict(), msg.NOT_A_FRAME.format(type_name="dict")),
        (
            lambda f: f.drop(columns=["n_test", "fold"]),
            msg.MISSING_COLUMNS.format(
                missing="fold, n_test",
                required="arm, dataset, replicate, fold, metric, value, n_train, n_test",
            ),
        ),
        (lambda f: f.iloc[:0], msg.NO_RESULTS),
        (
            lambda f: pd.concat([f, f.iloc[:1]]),
            msg.DUPLICATE_ROWS.format(
                count=2,
                example={
                    "arm": "logreg",
                    "dataset": "iris",
                    "replicate": 0,
                    "fold": 0,
                    "metric": "accuracy",
                },
            ),
        ),
    ],
)
def test_malformed_tables(frame, make, message: str) -> None:
    with pytest.raises(InputError) as error:
        compare(make(frame), metric="accuracy", baseline="logreg")
    assert str(error.value) == message


def test_bad_settings(frame) -> None:
    with pytest.raises(InputError, match="confidence"):
        compare(frame, metric="accuracy", baseline="logreg", confidence=95)
    with pytest.raises(InputError, match="rope"):
        compare(frame, metric="accuracy", baseline="logreg", rope=-0.1)
    with pytest.raises(InputError, match="method"):
        compare(frame, metric="accuracy", baseline="logreg", interval_method="z")  # type: ignore[arg-type]
