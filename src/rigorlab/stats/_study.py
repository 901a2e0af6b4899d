"""The result of :func:`rigorlab.stats.compare_study`: tables, JSON and a legend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from rigorlab.models import metric_bounds

from . import _messages as msg
from ._baseline import MIN_REPLICATES_WITHOUT_WARNING, TOO_WIDE_SPREAD_MULTIPLE
from ._cd_diagram import critical_difference_diagram
from ._common import alpha_of, json_safe
from ._ranking import MIN_DATASETS_FOR_RANKING, RankingResult

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
        the results. ``mean`` is the mean over replicates of the fold-averaged scores, ``std`` and
        ``n`` their standard deviation and count; ``method`` says which interval ``low``/``high``
        is (``"t_nb"``: Student-t with the Nadeau-Bengio correction over fold scores; ``"t"``,
        ``"bca"``, ``"percentile"``: over replicates). ``low``/``high``/``std`` are NaN with a
        single replicate.
    comparisons : pandas.DataFrame
        Columns :data:`STUDY_COMPARISON_COLUMNS`: each arm against the baseline on each dataset.
        ``mean_diff``, ``low``, ``high``, ``effect_size`` are arm - baseline in metric units;
        ``warnings`` holds tuples of str; ``replicates_needed_for_80pct_power`` is set where
        the verdict is "no evidence of a difference" and <NA> otherwise or when unreachable.
    ranking : RankingResult or None
        Friedman / Iman-Davenport, average ranks, Nemenyi CD and p-values, Wilcoxon-Holm, over
        the arms with results on every dataset; ``None`` with fewer than
        :data:`~rigorlab.stats.MIN_DATASETS_FOR_RANKING` datasets or 2 arms.
    bayesian : pandas.DataFrame or None
        Columns :data:`BAYESIAN_COLUMNS` when asked for: the correlated Bayesian t-test per
        dataset and the Bayesian signed-rank test across datasets (``dataset`` is
        ``"(across datasets)"``).
    problems : tuple of str
        What could not be compared and the command that fixes it.
    legend : str
        Which tests, corrections and interval methods produced the numbers.
    splits : str
        The split design of the tests: ``"resampled"``, ``"shared"``, ``"fixed"`` or ``"unknown"``.
    splits_reason : str
        Where that design came from (the stored protocol, tracked runs, the caller, an assumption).
    direction : str
        Where ``higher_is_better`` came from, in words (a known metric, the metric's name, the user).
    seed : int or None
        The seed of the bootstrap and Monte Carlo draws (``None`` when a Generator was passed).
    metric_reason, baseline_reason : str
        Why this metric and this baseline (the study file's, recorded by ``rigorlab.track``, the
        first alphabetically, or given by the caller), for headers and legends.
    clipped : tuple of str
        Metrics whose per-arm interval bounds were cut at the metric's range (a t interval of an
        accuracy near 1 can reach past 1).
    average_ranks : pandas.Series or None
        Average rank of each arm across datasets (1 = best), as a description, whenever 2 or more
        datasets and arms have results on all; the tests across datasets are in ``ranking``.
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
    splits: str = "resampled"
    splits_reason: str = ""
    direction: str = ""
    seed: int | None = 0
    metric_reason: str = ""
    baseline_reason: str = ""
    clipped: tuple[str, ...] = ()
    average_ranks: pd.Series | None = None

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
                    "splits": self.splits,
                    "splits_reason": self.splits_reason,
                    "direction": self.direction,
                    "seed": self.seed,
                    "metric_reason": self.metric_reason,
                    "baseline_reason": self.baseline_reason,
                    "clipped": self.clipped,
                    "average_ranks": self.average_ranks,
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
        average = self.ranking.average_ranks if self.ranking is not None else self.average_ranks
        if average is not None:
            ranks = average.rename("average_rank").rename_axis("arm").reset_index()
            tables["ranks"] = ranks.sort_values("average_rank", kind="stable").reset_index(drop=True)
        if self.ranking is not None:
            friedman = self.ranking.friedman.to_dict()
            friedman["nemenyi_critical_difference"] = self.ranking.critical_difference
            tables["friedman"] = pd.DataFrame([friedman])
            tables["nemenyi"] = self.ranking.nemenyi.pairs()
            tables["wilcoxon"] = self.ranking.wilcoxon.copy()
        if self.bayesian is not None:
            tables["bayesian"] = self.bayesian.copy()
        return tables

    def table_records(self, name: str) -> list[dict[str, Any]]:
        """One table of :meth:`tables` as JSON-safe records (``warnings`` of comparisons stay lists).

        Raises ``KeyError`` for a table this comparison does not have (``tables()`` lists them).
        """
        frame = self.comparisons if name == "comparisons" else self.tables()[name]
        return list(json_safe(frame))

    def estimate_description(self) -> str:
        """What the per-arm intervals of :attr:`metric` are and what variation they cover, in words."""
        methods = tuple(sorted(set(self.estimates.loc[self.estimates["metric"] == self.metric, "method"])))
        return estimate_sentence(
            interval_method=self.interval_method,
            estimate_methods=methods,
            splits=self.splits,
            confidence=self.confidence,
            n_resamples=self.n_resamples,
            clipped_range=range_text(self.metric) if self.metric in self.clipped else None,
        )

    def critical_difference_figure(self, title: str | None = None) -> Figure | None:
        """The critical-difference diagram of the ranking, or ``None`` without a ranking."""
        if self.ranking is None:
            return None
        return critical_difference_diagram(
            self.ranking.average_ranks,
            self.ranking.critical_difference,
            title=title if title is not None else f"{self.metric}: average ranks",
        )


@dataclass(frozen=True)
class StudyFacts:
    """What the legend needs to know beyond the tables: the design, the direction, the seed."""

    splits: str
    splits_reason: str
    direction: str
    estimate_methods: tuple[str, ...]
    seed: int | None
    metric_reason: str = ""
    baseline_reason: str = ""
    clipped_range: str | None = None
    average_ranks: pd.Series | None = None


def range_text(metric: str) -> str:
    """A metric's range in interval notation: ``[0, 1]``, ``(-inf, 1]``, ``[0, inf)``."""
    low, high = metric_bounds(metric)
    left = "(-inf" if low is None else f"[{low:g}"
    right = "inf)" if high is None else f"{high:g}]"
    return f"{left}, {right}"


SPLITS_WORDS = {
    "resampled": "new splits in every replicate",
    "shared": "one k-fold split shared by every replicate (replicates differ in seeds only)",
    "fixed": "one fixed split (replicates differ in seeds only)",
    "unknown": "not known",
}
BETWEEN_REPLICATES = {
    "resampled": "new splits and seeds",
    "shared": "seeds only, on one shared split",
    "fixed": "seeds only, on one fixed split",
    "unknown": "splits and seeds, or seeds only",
}


def estimate_sentence(
    *,
    interval_method: str,
    estimate_methods: tuple[str, ...],
    splits: str,
    confidence: float,
    n_resamples: int,
    clipped_range: str | None = None,
) -> str:
    """What the per-arm intervals are and what variation they cover (one or two sentences).

    ``clipped_range`` (e.g. ``"[0, 1]"``): the metric's range, when some interval bounds were cut
    at it; the sentence then says so.
    """
    sentence = _interval_words(
        interval_method=interval_method,
        estimate_methods=estimate_methods,
        splits=splits,
        confidence=confidence,
        n_resamples=n_resamples,
    )
    if clipped_range is not None:
        sentence += (
            f" Interval bounds beyond the metric's range {clipped_range} are cut at its edge (a t interval is "
            "symmetric and can reach past it)."
        )
    return sentence


def _interval_words(
    *,
    interval_method: str,
    estimate_methods: tuple[str, ...],
    splits: str,
    confidence: float,
    n_resamples: int,
) -> str:
    start = f"mean over replicates (fold scores averaged within a replicate) with a {confidence:.0%}"
    coverage = (
        "it covers the variation between replicates of this dataset "
        f"({BETWEEN_REPLICATES.get(splits, splits)}), not the sampling of the data, and narrows as replicates grow"
    )
    if interval_method in ("bca", "percentile"):
        kind = "BCa" if interval_method == "bca" else "percentile"
        return f"{start} {kind} bootstrap interval over replicates ({n_resamples} resamples); {coverage}."
    parts = []
    if "t_nb" in estimate_methods:
        units = {
            "resampled": "all J = replicates x folds fold scores",
            "shared": "the J = k fold scores averaged over replicates",
            "unknown": "the fold scores (the wider of the resampled and the shared-split interval)",
        }.get(splits, "the fold scores")
        # The interval is computed from fold scores, not replicate means: the sentence says so
        # rather than "fold scores averaged within a replicate", which describes only the mean.
        parts.append(
            f"mean score over replicates and folds with a {confidence:.0%} Student-t interval computed from {units}, "
            "Nadeau-Bengio corrected (variance x (1/J + n_test/n_train), df = J - 1): it covers the variation from "
            "sampling the data, approximately, and does not shrink to zero with more replicates"
        )
    if "t" in estimate_methods or not parts:
        if splits == "fixed":
            what = (
                "it covers run-to-run (seed) variation on this one split only, not the variation another split or "
                "another sample of the data would bring"
            )
        elif interval_method == "t":
            what = coverage
        else:
            what = "one fold per replicate and no train/test sizes, so no overlap correction; " + coverage
        lead = start if not parts else "elsewhere a"
        parts.append(f"{lead} Student-t interval over replicates: {what}")
    return "; ".join(parts) + "."


def _test_lines(tests_used: set[str]) -> list[str]:
    lines = []
    if msg.TEST_NADEAU_BENGIO in tests_used:
        lines.append(
            f"{msg.TEST_NADEAU_BENGIO}: all J = replicates x folds fold-level differences, "
            "variance x (1/J + n_test/n_train), df = J - 1 (interval uses the same variance)."
        )
    if msg.TEST_SHARED_SPLIT in tests_used:
        lines.append(
            f"{msg.TEST_SHARED_SPLIT}: the replicates differ only in seeds, so the differences are averaged over "
            "replicates within each fold; the k fold differences are tested with variance x (1/k + n_test/n_train), "
            "df = k - 1 (copies of a replicate add no evidence about the split)."
        )
    if msg.TEST_PAIRED_T in tests_used:
        lines.append(
            f"{msg.TEST_PAIRED_T}: replicate-level differences (fold scores averaged within a replicate; no "
            "train/test overlap correction)."
        )
    if msg.TEST_FIXED_SPLIT in tests_used:
        lines.append(
            f"{msg.TEST_FIXED_SPLIT}: replicate-level differences on one fixed split. The inference is conditional "
            "on that split: seeds cannot estimate the variance another split (or another sample of the data) would "
            "bring, so 'better' means better on this split."
        )
    return lines


def _rho_words(tests_used: set[str]) -> str:
    words = {
        msg.TEST_NADEAU_BENGIO: "fold-level differences, rho = n_test/(n_train + n_test)",
        msg.TEST_SHARED_SPLIT: "the k fold differences averaged over replicates, rho = n_test/(n_train + n_test) "
        "(1/k for k-fold)",
        msg.TEST_PAIRED_T: "replicate-level differences, rho = 0",
        msg.TEST_FIXED_SPLIT: "replicate-level differences, rho = 0 (conditional on the split)",
    }
    used = [words[test] for test in words if test in tests_used]
    return "; ".join(used) if used else "rho = n_test/(n_train + n_test)"


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
    facts: StudyFacts,
    signed_rank: bool = True,
) -> str:
    """The legend of a StudyComparison: which tests, corrections and intervals were used."""
    alpha = alpha_of(confidence)
    estimate = estimate_sentence(
        interval_method=interval_method,
        estimate_methods=facts.estimate_methods,
        splits=facts.splits,
        confidence=confidence,
        n_resamples=n_resamples,
        clipped_range=facts.clipped_range,
    )
    baseline_why = f" ({facts.baseline_reason})" if facts.baseline_reason else ""
    metric_why = f"; {facts.metric_reason}" if facts.metric_reason else ""
    lines = [
        f"Estimates: {estimate}",
        f"Comparisons with the baseline {baseline!r}{baseline_why} on {metric} "
        f"({'higher' if higher_is_better else 'lower'} is better: {facts.direction}{metric_why}); "
        "mean_diff = arm - baseline.",
        f"Splits: {SPLITS_WORDS.get(facts.splits, facts.splits)} ({facts.splits_reason}).",
    ]
    if facts.splits == "unknown":
        lines.append(
            "With the splits unknown, the resampled and the shared-split test both ran; each comparison shows the "
            "one with the larger p-value (valid under either design)."
        )
    lines += _test_lines(tests_used)
    lines += [
        f"Holm correction over the comparisons within each dataset; verdict "
        f"{msg.VERDICT_BETTER!r}/{msg.VERDICT_WORSE!r} when the adjusted p < {alpha:.3g}, "
        f"else {msg.VERDICT_NO_EVIDENCE!r}. Differences that all equal one nonzero value have no p-value "
        f"and the verdict {msg.VERDICT_NONE!r} (a warning says so).",
        "Effect size: Cohen's d_z of the differences the test uses (fold-level differences under the corrected "
        "resampled test, fold differences averaged over replicates on a shared split, replicate-level differences "
        "otherwise); none when the differences all equal one nonzero value "
        "(the ratio would be infinite). prob_better: share of replicates in which the arm beats "
        "the baseline (ties 1/2), with Wilson's score interval.",
        f"Replicates for 80% power (noncentral t, the test that ran, at the Bonferroni level {alpha:.3g}/m for m "
        "comparisons on a dataset: a conservative stand-in for Holm) for "
        + ("the observed difference." if minimal_difference is None else f"a difference of {minimal_difference:g}."),
    ]
    if msg.TEST_SHARED_SPLIT in tests_used:
        lines.append(
            "On a shared split more replicates only average out seed noise; the split's own variance stays, so "
            "some differences are out of reach of any number of replicates."
        )
    if msg.TEST_FIXED_SPLIT in tests_used:
        lines.append(
            "On a fixed split the replicates needed answer the question for this split only; no number of "
            "replicates says anything about other splits."
        )
    lines.append(
        f"Warnings: fewer than {MIN_REPLICATES_WITHOUT_WARNING} replicates; zero variance; interval too wide "
        f"(said only without a verdict) when its half-width exceeds {TOO_WIDE_SPREAD_MULTIPLE:g} x the pooled "
        "standard deviation of single scores of the two arms."
    )
    if ranking is not None:
        lines.append(
            f"Across {len(ranking.datasets)} datasets ({len(ranking.arms)} arms, mean score per "
            "dataset): Friedman test (tie-corrected) with the Iman-Davenport F; average ranks "
            f"(1 = best); Nemenyi critical difference at alpha {alpha:.3g}; pairwise Wilcoxon "
            "signed-rank tests with Holm."
        )
    elif facts.average_ranks is not None:
        lines.append(
            f"Across datasets: average ranks (1 = best, mean score per dataset) as a description only; the "
            f"Friedman, Nemenyi and Wilcoxon tests across datasets need at least {MIN_DATASETS_FOR_RANKING} "
            "datasets."
        )
    if bayesian:
        lines.append(
            f"Bayesian, ROPE +-{rope:g}: {msg.TEST_CORRELATED_BAYESIAN_T} per dataset on the differences the "
            f"frequentist test used ({_rho_words(tests_used)})"
            + (
                f"; {msg.TEST_BAYESIAN_SIGNED_RANK} across datasets ({n_resamples} Monte Carlo samples)."
                if signed_rank
                else f"; no {msg.TEST_BAYESIAN_SIGNED_RANK} across datasets (it needs at least "
                f"{MIN_DATASETS_FOR_RANKING} datasets)."
            )
        )
    seed = "a numpy Generator passed by the caller" if facts.seed is None else str(facts.seed)
    lines.append(f"Random draws (bootstrap, Monte Carlo): seed {seed}.")
    return "\n".join(lines)
