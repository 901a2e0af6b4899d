"""The public surface of rigorlab.stats changes only on purpose, and its examples run."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import rigorlab.stats as stats_package

PUBLIC_NAMES = {
    "AGGREGATE_COLUMNS",
    "MIN_DATASETS_FOR_RANKING",
    "StoredChoices",
    "stored_choices",
    "ARM_ESTIMATE_COLUMNS",
    "ASOResult",
    "BAYESIAN_COLUMNS",
    "COMPARISON_COLUMNS",
    "ESTIMATE_COLUMNS",
    "IN_DISTRIBUTION_SUFFIX",
    "REQUIRED_COLUMNS",
    "STUDY_COMPARISON_COLUMNS",
    "VERDICT_BETTER",
    "VERDICT_NO_EVIDENCE",
    "VERDICT_NONE",
    "VERDICT_WORSE",
    "BayesianComparison",
    "FriedmanResult",
    "Interval",
    "McNemarResult",
    "NemenyiResult",
    "PairedBootstrapResult",
    "PairedComparison",
    "RankingResult",
    "SeedLike",
    "StudyComparison",
    "aggregate_iqm",
    "aggregate_mean",
    "aggregate_median",
    "aggregate_optimality_gap",
    "aggregate_scores",
    "arm_intervals",
    "aso",
    "average_ranks",
    "bayesian_sign_test",
    "bayesian_signed_rank_test",
    "bootstrap_mean_intervals",
    "compare_stored",
    "compare_study",
    "declared_arms",
    "compare_to_baseline",
    "correlated_bayesian_ttest",
    "critical_difference",
    "critical_difference_diagram",
    "friedman_test",
    "holm_adjust",
    "mcnemar_test",
    "mean_interval",
    "nemenyi_test",
    "paired_bootstrap_test",
    "paired_comparison",
    "paired_test_power",
    "pairwise_wilcoxon",
    "performance_profile",
    "probability_of_improvement",
    "probability_of_improvement_interval",
    "rank_arms",
    "replicates_needed",
    "replicates_needed_shared_split",
    "save_figure",
    "simulated_study_frame",
    "stored_estimates",
    "stored_splits",
    "stratified_bootstrap_interval",
    "violation_ratio",
    "wilson_interval",
}

MODULES = sorted(
    f"rigorlab.stats.{info.name}" for info in pkgutil.iter_modules(stats_package.__path__) if info.name.startswith("_")
)


def test_public_names_are_deliberate() -> None:
    assert set(stats_package.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert hasattr(stats_package, name)


@pytest.mark.parametrize("name", sorted(PUBLIC_NAMES))
def test_public_functions_document_an_example(name: str) -> None:
    item = getattr(stats_package, name)
    if inspect.isfunction(item):
        doc = inspect.getdoc(item) or ""
        assert "Examples" in doc and ">>>" in doc, f"{name} lacks a runnable example"
        assert "Returns" in doc or name == "compare_study", f"{name} does not state its return"
    elif inspect.isclass(item):
        assert inspect.getdoc(item), f"{name} lacks a docstring"


def test_every_random_function_takes_a_seed() -> None:
    for name in (
        "aso",
        "bayesian_sign_test",
        "bayesian_signed_rank_test",
        "bootstrap_mean_intervals",
        "compare_stored",
        "compare_study",
        "compare_to_baseline",
        "mean_interval",
        "arm_intervals",
        "paired_bootstrap_test",
        "paired_comparison",
        "probability_of_improvement_interval",
        "stratified_bootstrap_interval",
        "aggregate_scores",
        "simulated_study_frame",
    ):
        assert "seed" in inspect.signature(getattr(stats_package, name)).parameters, name


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.failed == 0


def test_modules_stay_readable() -> None:
    for module_name in MODULES:
        source = inspect.getsource(importlib.import_module(module_name))
        assert source.count("\n") < 520, f"{module_name} has grown past ~500 lines"
