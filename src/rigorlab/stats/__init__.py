"""Statistics for comparing ML models: intervals, paired tests, ranking, power, Bayesian views.

Every function works on plain arrays or DataFrames with stated shapes, takes a ``seed`` (an int
or a ``numpy.random.Generator``) when it is random, and returns the same type whatever the
input. :func:`compare_study` runs the whole comparison of a study from its fold-level scores;
its ``splits`` argument says whether replicates draw new splits, share one split or use one fixed
split, and picks the test and the per-arm interval accordingly.
"""

from __future__ import annotations

from ._aggregate import (
    AGGREGATE_COLUMNS,
    aggregate_iqm,
    aggregate_mean,
    aggregate_median,
    aggregate_optimality_gap,
    aggregate_scores,
    performance_profile,
    probability_of_improvement,
    probability_of_improvement_interval,
    stratified_bootstrap_interval,
)
from ._aso import ASOResult, aso, violation_ratio
from ._baseline import (
    COMPARISON_COLUMNS,
    PairedComparison,
    compare_to_baseline,
    holm_adjust,
    paired_comparison,
    wilson_interval,
)
from ._bayes import (
    BayesianComparison,
    bayesian_sign_test,
    bayesian_signed_rank_test,
    correlated_bayesian_ttest,
)
from ._cd_diagram import critical_difference_diagram, save_figure
from ._common import SeedLike
from ._compare import compare_study
from ._examples import simulated_study_frame
from ._from_store import (
    IN_DISTRIBUTION_SUFFIX,
    StoredChoices,
    compare_stored,
    declared_arms,
    stored_choices,
    stored_estimates,
    stored_splits,
)
from ._intervals import (
    ARM_ESTIMATE_COLUMNS,
    Interval,
    arm_intervals,
    bootstrap_mean_intervals,
    mean_interval,
)
from ._messages import VERDICT_BETTER, VERDICT_NO_EVIDENCE, VERDICT_NONE, VERDICT_WORSE
from ._power import paired_test_power, replicates_needed, replicates_needed_shared_split
from ._ranking import (
    MIN_DATASETS_FOR_RANKING,
    FriedmanResult,
    NemenyiResult,
    RankingResult,
    average_ranks,
    critical_difference,
    friedman_test,
    nemenyi_test,
    pairwise_wilcoxon,
    rank_arms,
)
from ._results_table import REQUIRED_COLUMNS
from ._study import (
    BAYESIAN_COLUMNS,
    ESTIMATE_COLUMNS,
    STUDY_COMPARISON_COLUMNS,
    StudyComparison,
)
from ._two_models import (
    McNemarResult,
    PairedBootstrapResult,
    mcnemar_test,
    paired_bootstrap_test,
)

__all__ = [
    "AGGREGATE_COLUMNS",
    "ARM_ESTIMATE_COLUMNS",
    "ASOResult",
    "BAYESIAN_COLUMNS",
    "COMPARISON_COLUMNS",
    "ESTIMATE_COLUMNS",
    "IN_DISTRIBUTION_SUFFIX",
    "MIN_DATASETS_FOR_RANKING",
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
    "StoredChoices",
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
    "stored_choices",
    "stored_estimates",
    "stored_splits",
    "stratified_bootstrap_interval",
    "violation_ratio",
    "wilson_interval",
]
