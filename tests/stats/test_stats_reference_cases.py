"""Reproduce every number of the four published reference cases within its stated tolerance.

Each case's SOURCE.md and expected.json say where the numbers come from, which are stale and
how close an independent implementation must come.
"""

from __future__ import annotations

import filecmp

import numpy as np
import pytest
from scipy import stats

from rigorlab import stats as rs

BAYCOMP = "baycomp_nbc_j48"
DEEPSIG = "deepsig_aso_readme"
RLIABLE = "rliable_metrics"
NEMENYI = "scikit_posthocs_nemenyi_friedman_bn"


# --- the copy in the repository ----------------------------------------------------------------


def test_in_repo_copy_has_every_case(in_repo_cases, case_names) -> None:
    for name in case_names:
        assert (in_repo_cases / name / "expected.json").is_file()
        assert (in_repo_cases / name / "SOURCE.md").is_file()


def test_in_repo_copy_is_byte_identical_to_shared(shared_cases, in_repo_cases) -> None:
    if not shared_cases.is_dir():
        pytest.skip("../shared is not beside this checkout (clean clone): nothing to compare")

    def compare(left: object, right: object) -> None:
        comparison = filecmp.dircmp(left, right)  # type: ignore[arg-type]
        assert not comparison.left_only and not comparison.right_only, (
            comparison.left_only,
            comparison.right_only,
        )
        _, mismatch, errors = filecmp.cmpfiles(
            left,  # type: ignore[arg-type]
            right,  # type: ignore[arg-type]
            comparison.common_files,
            shallow=False,
        )
        assert not mismatch and not errors, (mismatch, errors)
        for folder in comparison.common_dirs:
            compare(f"{left}/{folder}", f"{right}/{folder}")

    compare(shared_cases, in_repo_cases)


# --- baycomp: correlated Bayesian t-test, signed-rank, sign test, Nadeau-Bengio ------------------


def test_baycomp_two_on_single_exactly(expected, read_csv) -> None:
    case = expected(BAYCOMP)
    scores = read_csv(BAYCOMP, "single_sonar_first_cv_run.csv")
    # 10-fold CV, one run: rho = n_test / (n_train + n_test) = 1/10.
    result = rs.correlated_bayesian_ttest(scores["nbc"], scores["j48"], rho=0.1)
    published = case["published"]["two_on_single(nbc, j48)"]
    assert result.p_left == pytest.approx(published[0], abs=1e-9)
    assert result.p_right == pytest.approx(published[1], abs=1e-9)
    assert result.p_rope == 0.0


def test_baycomp_two_on_single_with_rope_exactly(expected, read_csv) -> None:
    case = expected(BAYCOMP)
    scores = read_csv(BAYCOMP, "single_sonar_first_cv_run.csv")
    result = rs.correlated_bayesian_ttest(scores["nbc"], scores["j48"], rho=0.1, rope=0.5)
    published = case["published"]["two_on_single(nbc, j48, rope=0.5)"]
    assert [result.p_left, result.p_rope, result.p_right] == pytest.approx(published, abs=1e-9)


def test_baycomp_rho_from_fold_sizes(read_csv) -> None:
    scores = read_csv(BAYCOMP, "single_sonar_first_cv_run.csv")
    by_rho = rs.correlated_bayesian_ttest(scores["nbc"], scores["j48"], rho=0.1, rope=0.5)
    by_sizes = rs.correlated_bayesian_ttest(scores["nbc"], scores["j48"], n_train=180, n_test=20, rope=0.5)
    assert by_sizes == by_rho


def test_baycomp_signed_rank_monte_carlo(expected, read_csv) -> None:
    case = expected(BAYCOMP)
    means = read_csv(BAYCOMP, "multiple_means_54.csv")
    result = rs.bayesian_signed_rank_test(means["nbc"], means["j48"], rope=1.0, n_samples=50_000, seed=2026)
    target = case["recomputed"]["signedrank_rope1_mean_over_20_seeds"]
    assert [result.p_left, result.p_rope, result.p_right] == pytest.approx(target, abs=0.015)
    for published in case["published"]["two_on_multiple(nbc, j48, rope=1) [SignedRankTest, Monte Carlo]"].values():
        assert [result.p_left, result.p_rope, result.p_right] == pytest.approx(published, abs=0.015)
    assert result.p_right == max(result.p_left, result.p_rope, result.p_right)


def test_baycomp_sign_test_monte_carlo(expected, read_csv) -> None:
    case = expected(BAYCOMP)
    means = read_csv(BAYCOMP, "multiple_means_54.csv")
    counts = case["recomputed"]["counts_for_sign_test_rope1"]
    differences = means["j48"] - means["nbc"]
    assert int((differences > 1).sum()) == counts["j48_better_beyond_rope"]
    assert int((differences < -1).sum()) == counts["nbc_better_beyond_rope"]
    result = rs.bayesian_sign_test(means["nbc"], means["j48"], rope=1.0, seed=7)
    target = case["recomputed"]["sign_rope1_mean_over_20_seeds"]
    assert [result.p_left, result.p_rope, result.p_right] == pytest.approx(target, abs=0.015)


def test_baycomp_frequentist_nadeau_bengio_and_naive(expected, read_csv) -> None:
    frequentist = expected(BAYCOMP)["recomputed"]["frequentist_nadeau_bengio_corrected_t"]
    scores = read_csv(BAYCOMP, "single_sonar_first_cv_run.csv")
    corrected = rs.paired_comparison(scores["j48"], scores["nbc"], test_train_ratio=1 / 9, n_resamples=200)
    assert corrected.test == rs._messages.TEST_NADEAU_BENGIO
    assert corrected.statistic == pytest.approx(frequentist["t"], abs=1e-6)
    assert corrected.p_value == pytest.approx(frequentist["p_two_sided"], abs=1e-6)
    naive = rs.paired_comparison(scores["j48"], scores["nbc"], test_train_ratio=0, n_resamples=200)
    assert naive.statistic == pytest.approx(frequentist["naive_paired_t"], abs=1e-6)
    assert naive.p_value == pytest.approx(frequentist["naive_p"], abs=1e-6)


def test_baycomp_wilcoxon_on_dataset_means(expected, read_csv) -> None:
    target = expected(BAYCOMP)["recomputed"]["frequentist_wilcoxon_j48_vs_nbc_means"]
    means = read_csv(BAYCOMP, "multiple_means_54.csv")
    table = rs.pairwise_wilcoxon(means[["j48", "nbc"]])
    assert table["statistic"].iloc[0] == pytest.approx(target["statistic"], abs=1e-6)
    assert table["p_value"].iloc[0] == pytest.approx(target["p_two_sided"], abs=1e-6)


def test_baycomp_raw_scores_match_the_means(read_csv) -> None:
    raw = read_csv(BAYCOMP, "accuracies_nbc_j48_54x100.csv")
    means = read_csv(BAYCOMP, "multiple_means_54.csv")
    nbc = raw.loc[raw["classifier"] == "nbc"].drop(columns=["classifier"]).drop_duplicates("dataset")
    folds = nbc.set_index("dataset").mean(axis=1)
    joined = means.set_index("dataset")["nbc"]
    assert np.allclose(folds.reindex(joined.index).to_numpy(), joined.to_numpy(), atol=1e-3)


# --- deepsig ASO -------------------------------------------------------------------------------


def test_aso_scenario1(expected, read_csv) -> None:
    case = expected(DEEPSIG)
    scores = read_csv(DEEPSIG, "scenario1_scores.csv")
    assert rs.violation_ratio(scores["model_A"], scores["baseline_B"]) == 0.0
    result = rs.aso(scores["model_A"], scores["baseline_B"], n_resamples=1000, seed=1234)
    assert result.eps_min == pytest.approx(case["published"]["scenario1_eps_min"], abs=0.06)
    assert result.eps_min < 0.5  # A better than B at the weakest threshold ...
    reverse = rs.aso(scores["baseline_B"], scores["model_A"], n_resamples=1000, seed=1234)
    assert reverse.eps_min == pytest.approx(case["recomputed"]["deepsig_1.2.8_scenario1_reverse_B_vs_A"], abs=1e-9)


def test_aso_scenario1_over_bootstrap_seeds(expected, read_csv) -> None:
    target = expected(DEEPSIG)["recomputed"]["independent_exact_integral_aso_scenario1_30_bootstrap_seeds"]
    scores = read_csv(DEEPSIG, "scenario1_scores.csv")
    values = [rs.aso(scores["model_A"], scores["baseline_B"], seed=seed).eps_min for seed in range(30)]
    assert np.mean(values) == pytest.approx(target["mean"], abs=0.02)
    assert target["min"] - 0.03 <= min(values) and max(values) <= target["max"] + 0.03


def _scenario2(read_csv):
    frame = read_csv(DEEPSIG, "scenario2_scores.csv")
    return [group for _, group in frame.groupby("dataset", sort=True)]


def test_aso_scenario2_violation_ratios(expected, read_csv) -> None:
    target = expected(DEEPSIG)["recomputed"]["violation_ratio_eps_W2_scenario2_exact"]
    ratios = [rs.violation_ratio(g["model_A"], g["baseline_B"]) for g in _scenario2(read_csv)]
    assert ratios == pytest.approx(target, abs=5e-4)


def test_aso_scenario2_true_bonferroni(expected, read_csv) -> None:
    case = expected(DEEPSIG)
    target = case["recomputed"]["independent_scenario2_true_bonferroni_alpha_0.05/3"]
    results = [rs.aso(g["model_A"], g["baseline_B"], num_comparisons=3, seed=11) for g in _scenario2(read_csv)]
    assert [r.eps_min for r in results] == pytest.approx(target, abs=0.06)
    assert all(r.alpha == pytest.approx(0.05 / 3) for r in results)
    # Decisions: no dataset is dominated, not even at tau = 0.5.
    assert all(r.eps_min > 0.5 for r in results)
    assert not any(r.dominates for r in results)


def test_aso_bonferroni_is_alpha_over_m_not_deepsig(expected, read_csv) -> None:
    case = expected(DEEPSIG)
    deepsig_like = case["recomputed"]["independent_scenario2_alpha_0.0333_as_deepsig_effectively_uses"]
    for group, deepsig_value in zip(_scenario2(read_csv), deepsig_like, strict=True):
        corrected = rs.aso(group["model_A"], group["baseline_B"], num_comparisons=3, seed=5)
        explicit = rs.aso(group["model_A"], group["baseline_B"], confidence=1 - 0.05 / 3, seed=5)
        assert corrected.eps_min == pytest.approx(explicit.eps_min, rel=1e-12)
        # deepsig's "confidence += (1 - confidence) / M" is alpha (1 - 1/M) = 0.0333 for M = 3.
        buggy = rs.aso(group["model_A"], group["baseline_B"], confidence=1 - 0.05 * 2 / 3, seed=5)
        assert buggy.eps_min == pytest.approx(deepsig_value, abs=0.06)
        if 0 < corrected.eps_min < 1:
            assert corrected.eps_min > buggy.eps_min


@pytest.mark.parametrize(
    ("key", "first", "second"),
    [
        ("normal(0.275,1.5) vs normal(0.25,1)", stats.norm(0.275, 1.5), stats.norm(0.25, 1)),
        ("laplace(0.275,1.5) vs laplace(0.25,1)", stats.laplace(0.275, 1.5), stats.laplace(0.25, 1)),
        ("rayleigh(1.05) vs rayleigh(1)", stats.rayleigh(scale=1.05), stats.rayleigh(scale=1)),
    ],
)
def test_aso_violation_ratio_of_exact_distributions(expected, key, first, second) -> None:
    table = expected(DEEPSIG)["recomputed"][
        "violation_ratio_exact_distributions (deepsig test inputs; A vs B quantile functions)"
    ]
    # Samples at the quantile midpoints make the empirical quantile function a fine step
    # approximation of the exact one.
    levels = (np.arange(20_000) + 0.5) / 20_000
    ratio = rs.violation_ratio(first.ppf(levels), second.ppf(levels))
    assert ratio == pytest.approx(table[key]["scipy_quad"], abs=0.02)


# --- rliable aggregates ------------------------------------------------------------------------


def _matrix(read_csv, file_name: str) -> np.ndarray:
    return read_csv(RLIABLE, file_name).to_numpy(dtype=float)


@pytest.fixture
def rliable_inputs(read_csv) -> dict[str, np.ndarray]:
    x_library = _matrix(read_csv, "library_test_x_5runs_16tasks.csv")
    return {
        "x": _matrix(read_csv, "metrics_test_x.csv"),
        "y": _matrix(read_csv, "metrics_test_y.csv"),
        "X_library_test": x_library,
        "Y_library_test": np.flip(x_library, axis=0),
        "Z_extra": _matrix(read_csv, "extra_Z_3runs_4tasks.csv"),
        "W_extra": _matrix(read_csv, "extra_W_4runs_4tasks.csv"),
    }


def test_rliable_published_values(expected, rliable_inputs) -> None:
    published = expected(RLIABLE)["published"]
    for name in ("x", "y"):
        scores = rliable_inputs[name]
        assert rs.aggregate_median(scores) == pytest.approx(published[name]["aggregate_median"], abs=1e-9)
        assert rs.aggregate_mean(scores) == pytest.approx(published[name]["aggregate_mean"], abs=1e-9)
        assert rs.aggregate_iqm(scores) == pytest.approx(published[name]["aggregate_iqm"], abs=1e-9)
    assert rs.probability_of_improvement(rliable_inputs["x"], rliable_inputs["y"]) == pytest.approx(
        published["probability_of_improvement(x, y)"], abs=1e-9
    )


def test_rliable_recomputed_point_values(expected, rliable_inputs) -> None:
    recomputed = expected(RLIABLE)["recomputed_rliable_1.2.0_and_independent_numpy"]
    for name in ("x", "y", "X_library_test", "Z_extra", "W_extra"):
        scores = rliable_inputs[name]
        values = recomputed[name]
        assert rs.aggregate_mean(scores) == pytest.approx(values["mean"], abs=1e-9)
        assert rs.aggregate_median(scores) == pytest.approx(values["median"], abs=1e-9)
        assert rs.aggregate_iqm(scores) == pytest.approx(values["iqm"], abs=1e-9)
        assert rs.aggregate_optimality_gap(scores) == pytest.approx(values["optimality_gap"], abs=1e-9)


def test_rliable_probability_of_improvement(expected, rliable_inputs) -> None:
    target = expected(RLIABLE)["recomputed_rliable_1.2.0_and_independent_numpy"]["probability_of_improvement"]
    inputs = rliable_inputs
    assert rs.probability_of_improvement(inputs["x"], inputs["y"]) == pytest.approx(target["P(x>y)"], abs=1e-9)
    assert rs.probability_of_improvement(inputs["X_library_test"], inputs["Y_library_test"]) == pytest.approx(
        target["P(X>Y) library_test"], abs=1e-9
    )
    assert rs.probability_of_improvement(inputs["Z_extra"], inputs["W_extra"]) == pytest.approx(
        target["P(Z>W)"], abs=1e-9
    )
    assert rs.probability_of_improvement(inputs["W_extra"], inputs["Z_extra"]) == pytest.approx(
        target["P(W>Z)"], abs=1e-9
    )


def test_rliable_performance_profiles(expected, rliable_inputs) -> None:
    recomputed = expected(RLIABLE)["recomputed_rliable_1.2.0_and_independent_numpy"]
    runs = recomputed["performance_profile_run_score_distribution (fraction of all runs x tasks with score > tau)"]
    for name, key in (("Z_extra", "Z"), ("W_extra", "W")):
        profile = rs.performance_profile(rliable_inputs[name], runs["taus"])
        assert profile.tolist() == pytest.approx(runs[key], abs=1e-9)
    average = recomputed[
        "performance_profile_average_score_distribution (fraction of tasks whose mean-over-runs > tau)"
    ]
    profile = rs.performance_profile(rliable_inputs["Z_extra"], average["taus"], kind="average")
    assert profile.tolist() == pytest.approx(average["Z"], abs=1e-9)


def test_rliable_iqm_stratified_bootstrap_intervals(expected, rliable_inputs) -> None:
    reference = expected(RLIABLE)["recomputed_rliable_1.2.0_and_independent_numpy"][
        "iqm_95ci_stratified_percentile_bootstrap_20000reps"
    ]
    for name, key in (("Z_extra", "Z"), ("W_extra", "W")):
        interval = rs.stratified_bootstrap_interval(rliable_inputs[name], rs.aggregate_iqm, n_resamples=20_000, seed=3)
        assert [interval.low, interval.high] == pytest.approx(reference["rliable"][key], abs=0.02)
        assert [interval.low, interval.high] == pytest.approx(reference["independent_numpy"][key], abs=0.02)


def test_rliable_library_properties(rliable_inputs) -> None:
    # Point estimates equal the metric on the scores; CIs bracket them (reps = 100).
    scores = rliable_inputs["X_library_test"]
    table = rs.aggregate_scores(scores, n_resamples=100, seed=0)
    for row in table.itertuples():
        assert row.low < row.estimate < row.high or row.aggregate == "optimality_gap"
    profile = rs.performance_profile(scores, np.linspace(0, 80, 41))
    assert np.all(np.diff(profile) <= 0)


# --- scikit-posthocs / R: Nemenyi after Friedman -----------------------------------------------


def test_nemenyi_p_values_match_r(expected, read_csv) -> None:
    case = expected(NEMENYI)
    blocks = read_csv(NEMENYI, "blocks.csv")
    result = rs.nemenyi_test(blocks, higher_is_better=False)
    matrix = result.p_values.to_numpy()
    published = case["published"]["nemenyi_pvalues_lower_triangle_rowwise"]
    for row, values in enumerate(published, start=1):
        assert matrix[row, :row].tolist() == pytest.approx(values, abs=1e-4)
    assert np.allclose(matrix, matrix.T)


def test_nemenyi_mean_ranks_match_r(expected, read_csv) -> None:
    case = expected(NEMENYI)
    blocks = read_csv(NEMENYI, "blocks.csv")
    ranks = rs.average_ranks(blocks, higher_is_better=False)
    assert ranks.tolist() == pytest.approx(case["published"]["mean_ranks_ascending_rank1_is_smallest_value"], abs=1e-6)


def test_friedman_tie_corrected_matches_r(expected, read_csv) -> None:
    case = expected(NEMENYI)
    blocks = read_csv(NEMENYI, "blocks.csv")
    p_value, statistic, df = case["published"][
        "friedman_equivalent_durbin_test (tests/test_posthocs.py::test_durbin, R values [p, statistic, df])"
    ]
    result = rs.friedman_test(blocks, higher_is_better=False)
    assert result.chi2 == pytest.approx(statistic, abs=1e-6)
    assert result.chi2_p_value == pytest.approx(p_value, abs=1e-6)
    assert result.df_numerator == df
    assert result.chi2 != pytest.approx(case["recomputed"]["friedman_chi2_uncorrected_formula"], abs=1e-3)
    # The direction does not change the statistic.
    assert rs.friedman_test(blocks).chi2 == pytest.approx(result.chi2, abs=1e-12)
