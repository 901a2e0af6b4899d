"""The result of :func:`rigorlab.stats.compare_study`: tables, JSON and a legend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import _messages as msg
from ._baseline import MIN_REPLICATES_WITHOUT_WARNING, TOO_WIDE_SPREAD_MULTIPLE
from ._cd_diagram import critical_difference_diagram
from ._common import json_safe
from ._ranking import RankingResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ESTIMATE_COLUMNS: tuple[str, ...] = (
    "arm",
    "dataset",
    "metric",
    "mean",
    "low",
    "high",
    "std",
    "n",
    "method",
)
STUDY_COMPARISON_COLUMNS: tuple[str, ...] = (
    "arm",
    "dataset",
    "n_replicates",
    "mean_diff",
    "low",
    "high",
    "effect_size",
    "statistic",
    "df",
    "p_value",
    "p_adjusted",
    "prob_better",
    "prob_better_low",
    "prob_better_high",
    "verdict",
    "warnings",
    "test",
    "test_train_ratio",
    "replicates_needed_for_80pct_power",
)
BAYESIAN_COLUMNS: tuple[str, ...] = (
    "arm",
    "dataset",
    "test",
    "rope",
    "p_arm_better",
    "p_rope",
    "p_baseline_better",
    "n_samples",
)


@dataclass(frozen=True, eq=False)
class StudyComparison:
    """Everything ``rigorlab compare`` reports for one metric of a study.

    Built once by :func:`~rigorlab.stats.compare_study`; the methods are cheap views. (Not
    comparable with ``==``: it holds DataFrames.)

    Attributes
    ----------
    metric : str
        The metric of the comparisons and the ranking.
    baseline : str
    higher_is_better : bool
    confidence : float
        Coverage of every interval; the tests use ``alpha = 1 - confidence``.
    interval_method : str
        ``"t"``, ``"bca"`` or ``"percentile"`` for the per-arm estimates.
    n_resamples : int
        Bootstrap resamples per interval (and Monte Carlo samples of the Bayesian signed-rank).
    rope : float or None
        Region of practical equivalence of the Bayesian tests; ``None`` without them.
    arms, datasets : tuple of str
        Arms and datasets with results for ``metric``, in display order.
    estimates : pandas.DataFrame
        Columns :data:`ESTIMATE_COLUMNS`: one row per (metric, dataset, arm), every metric in
        the results; fold scores are averaged within a replicate, the interval runs over
        replicates. ``low``/``high``/``std`` are NaN with a single replicate.
    comparisons : pandas.DataFrame
        Columns :data:`STUDY_COMPARISON_COLUMNS`: each arm against the baseline on each dataset.
        ``mean_diff``, ``low``, ``high``, ``effect_size`` are arm - baseline in metric units;
        ``warnings`` holds tuples of str; ``replicates_needed_for_80pct_power`` is set where
        the verdict is "no evidence of a difference" and <NA> otherwise or when unreachable.
    ranking : RankingResult or None
        Friedman / Iman-Davenport, average ranks, Nemenyi CD and p-values, Wilcoxon-Holm, over
        the arms with results on every dataset; ``None`` with fewer than 2 datasets or arms.
    bayesian : pandas.DataFrame or None
        Columns :data:`BAYESIAN_COLUMNS` when asked for: the correlated Bayesian t-test per
        dataset and the Bayesian signed-rank test across datasets (``dataset`` is
        ``"(across datasets)"``).
    problems : tuple of str
        What could not be compared and the command that fixes it.
    legend : str
        Which tests, corrections and interval methods produced the numbers.
    """

    metric: str
    baseline: str
    higher_is_better: bool
    confidence: float
    interval_method: str
    n_resamples: int
    rope: float | None
    arms: tuple[str, ...]
    datasets: tuple[str, ...]
    estimates: pd.DataFrame
    comparisons: pd.DataFrame
    ranking: RankingResult | None
    bayesian: pd.DataFrame | None
    problems: tuple[str, ...]
    legend: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only: NaN and infinities become ``None``; tables become records.

        Examples
        --------
        >>> import json
        >>> from rigorlab.stats import compare_study
        >>> from rigorlab.stats._examples import example_frame
        >>> result = compare_study(example_frame(), metric="accuracy", baseline="logreg",
        ...                        n_resamples=500)
        >>> text = json.dumps(result.to_dict(), allow_nan=False)
        """
        return dict(
            json_safe(
                {
                    "metric": self.metric,
                    "baseline": self.baseline,
                    "higher_is_better": self.higher_is_better,
                    "confidence": self.confidence,
                    "interval_method": self.interval_method,
                    "n_resamples": self.n_resamples,
                    "rope": self.rope,
                    "arms": self.arms,
                    "datasets": self.datasets,
                    "estimates": self.estimates,
                    "comparisons": self.comparisons,
                    "ranking": None if self.ranking is None else self.ranking.to_dict(),
                    "bayesian": self.bayesian,
                    "problems": self.problems,
                    "legend": self.legend,
                }
            )
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """DataFrames ready for CSV: ``estimates``, ``comparisons`` and, when computed,
        ``ranks``, ``friedman``, ``nemenyi``, ``wilcoxon``, ``bayesian``.

        ``warnings`` are joined with ``"; "``.
        """
        comparisons = self.comparisons.copy()
        comparisons["warnings"] = ["; ".join(notes) for notes in comparisons["warnings"].tolist()]
        tables = {"estimates": self.estimates.copy(), "comparisons": comparisons}
        if self.ranking is not None:
            ranks = self.ranking.average_ranks.rename_axis("arm").reset_index()
            tables["ranks"] = ranks.sort_values("average_rank", kind="stable").reset_index(drop=True)
            friedman = self.ranking.friedman.to_dict()
            friedman["nemenyi_critical_difference"] = self.ranking.critical_difference
            tables["friedman"] = pd.DataFrame([friedman])
            tables["nemenyi"] = self.ranking.nemenyi.pairs()
            tables["wilcoxon"] = self.ranking.wilcoxon.copy()
        if self.bayesian is not None:
            tables["bayesian"] = self.bayesian.copy()
        return tables

    def critical_difference_figure(self, title: str | None = None) -> Figure | None:
        """The critical-difference diagram of the ranking, or ``None`` without a ranking."""
        if self.ranking is None:
            return None
        return critical_difference_diagram(
            self.ranking.average_ranks,
            self.ranking.critical_difference,
            title=title if title is not None else f"{self.metric}: average ranks",
        )


def study_legend(
    *,
    metric: str,
    baseline: str,
    higher_is_better: bool,
    confidence: float,
    interval_method: str,
    n_resamples: int,
    tests_used: set[str],
    minimal_difference: float | None,
    ranking: RankingResult | None,
    bayesian: bool,
    rope: float,
) -> str:
    """The legend of a StudyComparison: which tests, corrections and intervals were used."""
    alpha = 1 - confidence
    method_words = {
        "t": "Student-t",
        "bca": f"BCa bootstrap ({n_resamples} resamples)",
        "percentile": f"percentile bootstrap ({n_resamples} resamples)",
    }[interval_method]
    lines = [
        f"Estimates: mean over replicates (fold scores averaged within a replicate) with a "
        f"{confidence:.0%} {method_words} interval.",
        f"Comparisons with the baseline {baseline!r} on {metric} "
        f"({'higher' if higher_is_better else 'lower'} is better); mean_diff = arm - baseline.",
    ]
    if msg.TEST_NADEAU_BENGIO in tests_used:
        lines.append(
            f"{msg.TEST_NADEAU_BENGIO}: all J = replicates x folds fold-level differences, "
            "variance x (1/J + n_test/n_train), df = J - 1 (interval uses the same variance)."
        )
    if msg.TEST_PAIRED_T in tests_used:
        lines.append(
            f"{msg.TEST_PAIRED_T}: replicate-level differences (one fold per replicate and no "
            "train/test sizes, so no overlap correction)."
        )
    lines += [
        f"Holm correction over the comparisons within each dataset; verdict "
        f"{msg.VERDICT_BETTER!r}/{msg.VERDICT_WORSE!r} when the adjusted p < {alpha:.3g}, "
        f"else {msg.VERDICT_NO_EVIDENCE!r}.",
        "Effect size: Cohen's d_z of replicate-level differences. prob_better: share of "
        "replicates in which the arm beats the baseline (ties 1/2), percentile bootstrap "
        f"interval ({n_resamples} resamples).",
        f"Replicates for 80% power (noncentral t, same test, alpha {alpha:.3g}) for "
        + ("the observed difference." if minimal_difference is None else f"a difference of {minimal_difference:g}."),
        f"Warnings: fewer than {MIN_REPLICATES_WITHOUT_WARNING} replicates; interval too wide "
        f"when its half-width exceeds {TOO_WIDE_SPREAD_MULTIPLE:g} x the pooled standard "
        "deviation of single scores of the two arms.",
    ]
    if ranking is not None:
        lines.append(
            f"Across {len(ranking.datasets)} datasets ({len(ranking.arms)} arms, mean score per "
            "dataset): Friedman test (tie-corrected) with the Iman-Davenport F; average ranks "
            f"(1 = best); Nemenyi critical difference at alpha {alpha:.3g}; pairwise Wilcoxon "
            "signed-rank tests with Holm."
        )
    if bayesian:
        lines.append(
            f"Bayesian, ROPE +-{rope:g}: {msg.TEST_CORRELATED_BAYESIAN_T} per dataset "
            f"(rho = n_test/(n_train + n_test)); {msg.TEST_BAYESIAN_SIGNED_RANK} across "
            f"datasets ({n_resamples} Monte Carlo samples)."
        )
    return "\n".join(lines)
