"""``compare_study``: the whole statistical comparison of a study from its fold-level scores.

Choices (stated in the result's legend too):

- **Per-arm estimates**, for every metric: fold scores are averaged within a replicate; the mean
  and interval run over replicates (independent splits), Student-t by default.
- **Paired tests** on the chosen metric, per dataset, every arm against the baseline on the
  (replicate, fold) cells both have. Several folds per replicate, or one fold with known
  ``n_train``/``n_test`` (resampled hold-out splits): Nadeau-Bengio corrected t-test over the
  J fold-level differences with ``n_test/n_train`` from the table (``1/(folds - 1)`` when the
  sizes are unknown). One fold and no sizes: paired t-test on replicate-level differences.
- **Holm** over the k - 1 comparisons within each dataset (the family a per-dataset table
  shows); verdicts read the adjusted p-value at ``alpha = 1 - confidence``.
- **Power**: where the verdict is "no evidence of a difference", the replicates that would
  give 80% power for the observed difference (or ``minimal_difference``) with the same test.
- **Across datasets** (>= 2 datasets, >= 2 arms with results on all): the mean score per
  dataset feeds Friedman / Iman-Davenport, Nemenyi and Wilcoxon-Holm.
- Randomness comes from one generator; groups are processed in sorted order, so the same seed
  gives the same numbers whatever the row order of the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rigorlab.errors import InputError, NotFoundError

from . import _messages as msg
from ._baseline import (
    PairedComparison,
    finish_family,
    prob_better_intervals,
)
from ._bayes import bayesian_signed_rank_test, correlated_bayesian_ttest
from ._common import (
    FloatArray,
    SeedLike,
    as_generator,
    check_confidence,
    check_n_resamples,
    check_rope,
)
from ._intervals import IntervalMethod, check_interval_method
from ._paired import PairStatistics, k_fold_ratio, paired_statistics
from ._power import replicates_needed
from ._ranking import RankingResult, rank_arms
from ._results_table import (
    DatasetGrid,
    estimates_table,
    normalise_results,
    ordered_unique,
)
from ._study import BAYESIAN_COLUMNS, STUDY_COMPARISON_COLUMNS, StudyComparison, study_legend

TARGET_POWER = 0.8

Pair = tuple[str, str, PairStatistics, FloatArray, FloatArray]
"""(dataset, arm, statistics, arm cells, baseline cells) of one comparison."""


def compare_study(
    frame: pd.DataFrame,
    *,
    metric: str,
    baseline: str,
    higher_is_better: bool = True,
    datasets: Sequence[str] | None = None,
    confidence: float = 0.95,
    bayesian: bool = False,
    rope: float = 0.01,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
    arms: Sequence[str] | None = None,
    interval_method: IntervalMethod = "t",
    minimal_difference: float | None = None,
) -> StudyComparison:
    """Compare the arms of a study from its fold-level scores.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table, one row per successful trial and metric, columns ``arm`` (str),
        ``dataset`` (str), ``replicate`` (int), ``fold`` (int), ``metric`` (str), ``value``
        (float), ``n_train`` (int), ``n_test`` (int). Failed trials are absent; NaN values
        (undefined metric) are dropped with a note in ``problems``.
    metric : str
        Metric of the paired comparisons and the ranking (estimates cover every metric).
    baseline : str
        Arm every other arm is compared with.
    higher_is_better : bool
        ``False`` for losses (log_loss, rmse, ...).
    datasets : sequence of str, optional
        Restrict to these datasets; listed ones without results go into ``problems``.
    confidence : float
        Coverage of the intervals; tests use ``alpha = 1 - confidence``.
    bayesian : bool
        Add the correlated Bayesian t-test per dataset and the Bayesian signed-rank test
        across datasets.
    rope : float
        Region of practical equivalence of the Bayesian tests, in metric units.
    n_resamples : int
        Bootstrap resamples per interval (and Monte Carlo samples of the signed-rank test).
    seed : int or numpy.random.Generator
    arms : sequence of str, optional
        Arms the study declares, in display order; declared arms without any result go into
        ``problems`` ("all its trials failed").
    interval_method : {"t", "bca", "percentile"}
        Interval of the per-arm estimates.
    minimal_difference : float, optional
        Difference for the power column; default the observed difference.

    Returns
    -------
    StudyComparison

    Raises
    ------
    rigorlab.errors.InputError
        Malformed table, or nothing at all can be compared.
    rigorlab.errors.NotFoundError
        Unknown metric or baseline.

    Examples
    --------
    >>> from rigorlab.stats import simulated_study_frame
    >>> frame = simulated_study_frame(arms=["logreg", "hgb"], replicates=10, seed=3,
    ...                               effects={"hgb": 0.03})
    >>> result = compare_study(frame, metric="accuracy", baseline="logreg", n_resamples=1000)
    >>> result.comparisons[["arm", "dataset", "verdict"]].iloc[0].tolist()
    ['hgb', 'breast_cancer', 'better']
    >>> result.ranking.average_ranks.to_dict()
    {'logreg': 2.0, 'hgb': 1.0}
    """
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rope = check_rope(rope)
    check_interval_method(interval_method)
    rng = as_generator(seed)
    data = normalise_results(frame)
    problems: list[str] = []

    undefined = data["value"].isna()
    for metric_name, count in data.loc[undefined].groupby("metric", sort=True).size().items():
        problems.append(msg.PROBLEM_NAN_VALUES.format(count=int(count), metric=metric_name))
    data = data.loc[~undefined]
    metric_order = ordered_unique(data["metric"])
    if metric not in metric_order:
        raise NotFoundError(msg.UNKNOWN_METRIC.format(metric=metric, available=", ".join(metric_order) or "none"))
    metric_order = [metric] + [name for name in metric_order if name != metric]

    present_datasets = ordered_unique(data["dataset"])
    if datasets is not None:
        requested = [str(name) for name in datasets]
        selected = [name for name in requested if name in present_datasets]
        if not selected:
            raise NotFoundError(
                msg.NO_SELECTED_DATASETS.format(requested=", ".join(requested), available=", ".join(present_datasets))
            )
        data = data.loc[data["dataset"].isin(selected)]
    else:
        requested = present_datasets
    primary = data.loc[data["metric"] == metric]
    primary_datasets = set(primary["dataset"])
    dataset_order = [name for name in requested if name in primary_datasets]
    for name in requested:
        if name not in primary_datasets:
            problems.append(msg.PROBLEM_DATASET_ABSENT.format(dataset=name, metric=metric))

    primary_arms = ordered_unique(primary["arm"])
    if baseline not in primary_arms:
        where = "" if datasets is None else f" on {', '.join(dataset_order)}"
        raise NotFoundError(
            msg.UNKNOWN_BASELINE.format(
                baseline=baseline, metric=metric, where=where, available=", ".join(primary_arms)
            )
        )
    declared = [str(arm) for arm in arms] if arms is not None else []
    for arm in declared:
        if arm not in primary_arms:
            problems.append(msg.PROBLEM_ARM_ABSENT.format(arm=arm, metric=metric))
    arm_order = [arm for arm in declared if arm in primary_arms]
    arm_order += [arm for arm in primary_arms if arm not in arm_order]
    if arm_order == [baseline]:
        problems.append(msg.PROBLEM_ONLY_BASELINE.format(baseline=baseline, metric=metric))

    estimates = estimates_table(
        data,
        metric_order=metric_order,
        dataset_order=dataset_order,
        arm_order=arm_order,
        method=interval_method,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=rng,
    )

    pairs = _pair_statistics(
        primary,
        metric=metric,
        baseline=baseline,
        dataset_order=dataset_order,
        arm_order=arm_order,
        confidence=confidence,
        higher_is_better=higher_is_better,
        problems=problems,
    )

    # P(better) intervals for all comparisons from one vectorised bootstrap, in sorted order.
    draw_order = sorted(range(len(pairs)), key=lambda index: (pairs[index][0], pairs[index][1]))
    prob = prob_better_intervals(
        [pairs[index][2] for index in draw_order],
        confidence=confidence,
        n_resamples=n_resamples,
        rng=rng,
    )
    position_in_draw = {index: position for position, index in enumerate(draw_order)}
    results: list[tuple[str, PairedComparison]] = []
    for dataset in dataset_order:
        members = [index for index in range(len(pairs)) if pairs[index][0] == dataset]
        if not members:
            continue
        picks = [position_in_draw[index] for index in members]
        family = finish_family(
            [pairs[index][2] for index in members],
            arms=[pairs[index][1] for index in members],
            baseline=baseline,
            higher_is_better=higher_is_better,
            confidence=confidence,
            prob=prob.subset(picks),
        )
        results.extend((dataset, comparison) for comparison in family)
    comparisons = _comparison_table(results, minimal_difference, confidence)

    ranking = _ranking(estimates, metric, dataset_order, arm_order, higher_is_better, confidence, problems)
    bayesian_table = (
        _bayesian_table(
            pairs,
            estimates,
            metric,
            baseline,
            arm_order,
            dataset_order,
            rope,
            n_resamples,
            higher_is_better,
            rng,
        )
        if bayesian
        else None
    )
    if comparisons.empty and ranking is None:
        raise InputError(msg.NOTHING_TO_COMPARE.format(problems="\n- ".join(problems)))
    legend = study_legend(
        metric=metric,
        baseline=baseline,
        higher_is_better=higher_is_better,
        confidence=confidence,
        interval_method=interval_method,
        n_resamples=n_resamples,
        tests_used=set(comparisons["test"]),
        minimal_difference=minimal_difference,
        ranking=ranking,
        bayesian=bayesian,
        rope=rope,
    )
    return StudyComparison(
        metric=metric,
        baseline=baseline,
        higher_is_better=higher_is_better,
        confidence=confidence,
        interval_method=interval_method,
        n_resamples=n_resamples,
        rope=rope if bayesian else None,
        arms=tuple(arm_order),
        datasets=tuple(dataset_order),
        estimates=estimates,
        comparisons=comparisons,
        ranking=ranking,
        bayesian=bayesian_table,
        problems=tuple(problems),
        legend=legend,
    )


def _pair_statistics(
    primary: pd.DataFrame,
    *,
    metric: str,
    baseline: str,
    dataset_order: list[str],
    arm_order: list[str],
    confidence: float,
    higher_is_better: bool,
    problems: list[str],
) -> list[Pair]:
    """Test every arm against the baseline on every dataset; note what cannot be tested.

    Problems are grouped (one line per dataset or per arm) so a large study stays readable.
    """
    pairs: list[Pair] = []
    missing_datasets: dict[str, list[str]] = {}
    missing_folds: dict[str, list[str]] = {}
    for dataset in dataset_order:
        rows = primary.loc[primary["dataset"] == dataset]
        arms_here = set(rows["arm"])
        if baseline not in arms_here:
            problems.append(msg.PROBLEM_BASELINE_MISSING_ON_DATASET.format(baseline=baseline, dataset=dataset))
            continue
        grid = DatasetGrid(rows)
        baseline_cells = grid.cells(baseline)
        too_few: dict[str, int] = {}
        for arm in arm_order:
            if arm not in arms_here:
                missing_datasets.setdefault(arm, []).append(dataset)
                continue
            arm_cells = grid.cells(arm)
            present = ~np.isnan(arm_cells)
            lacking = int((~present[present.any(axis=1)]).sum())
            if lacking:
                missing_folds.setdefault(arm, []).append(f"{dataset!r} ({lacking})")
            if arm == baseline:
                continue
            n_paired = int((present & ~np.isnan(baseline_cells)).any(axis=1).sum())
            if n_paired < 2:
                too_few[arm] = n_paired
                continue
            known_ratio = grid.split_ratio(arm, baseline)
            pair = paired_statistics(
                arm_cells,
                baseline_cells,
                test_train_ratio=k_fold_ratio(grid.folds.size) if known_ratio is None else known_ratio,
                confidence=confidence,
                higher_is_better=higher_is_better,
            )
            pairs.append((dataset, arm, pair, arm_cells, baseline_cells))
        if too_few:
            problems.append(
                msg.PROBLEM_TOO_FEW_REPLICATES.format(
                    dataset=dataset,
                    arms=", ".join(repr(arm) for arm in too_few),
                    metric=metric,
                    counts=", ".join(str(count) for count in too_few.values()),
                )
            )
    for arm, datasets in missing_datasets.items():
        problems.append(
            msg.PROBLEM_ARM_MISSING_ON_DATASET.format(
                arm=arm, metric=metric, datasets=", ".join(repr(name) for name in datasets)
            )
        )
    for arm, places in missing_folds.items():
        problems.append(msg.PROBLEM_MISSING_FOLDS.format(arm=arm, metric=metric, where=", ".join(places)))
    return pairs


def _comparison_table(
    results: list[tuple[str, PairedComparison]],
    minimal_difference: float | None,
    confidence: float,
) -> pd.DataFrame:
    rows = []
    for dataset, comparison in results:
        needed: int | None = None
        notes = comparison.warnings
        if comparison.verdict == msg.VERDICT_NO_EVIDENCE:
            difference = abs(minimal_difference) if minimal_difference is not None else abs(comparison.mean_diff)
            needed = replicates_needed(
                difference,
                comparison.difference_sd,
                folds_per_replicate=comparison.folds_per_replicate,
                test_train_ratio=comparison.test_train_ratio,
                alpha=1 - confidence,
                power=TARGET_POWER,
            )
            if needed is None and difference > 0 and comparison.test_train_ratio > 0:
                notes = notes + (msg.WARN_POWER_UNREACHABLE.format(difference=difference),)
        record = {column: getattr(comparison, column, None) for column in STUDY_COMPARISON_COLUMNS}
        record.update(dataset=dataset, warnings=notes, replicates_needed_for_80pct_power=needed)
        rows.append(record)
    table = pd.DataFrame(rows, columns=list(STUDY_COMPARISON_COLUMNS))
    table["replicates_needed_for_80pct_power"] = table["replicates_needed_for_80pct_power"].astype("Int64")
    return table


def _ranking(
    estimates: pd.DataFrame,
    metric: str,
    dataset_order: list[str],
    arm_order: list[str],
    higher_is_better: bool,
    confidence: float,
    problems: list[str],
) -> RankingResult | None:
    if len(dataset_order) < 2:
        return None
    means = estimates.loc[estimates["metric"] == metric].pivot(index="dataset", columns="arm", values="mean")
    means = means.reindex(index=dataset_order, columns=arm_order)
    complete = [arm for arm in arm_order if means[arm].notna().all()]
    for arm in arm_order:
        if arm not in complete:
            lacking = [str(name) for name, value in means[arm].items() if pd.isna(value)]
            problems.append(
                msg.PROBLEM_LEFT_OUT_OF_RANKING.format(arm=arm, datasets=", ".join(repr(name) for name in lacking))
            )
    if len(complete) < 2:
        problems.append(msg.PROBLEM_RANKING_IMPOSSIBLE.format(n_datasets=len(dataset_order), n_arms=len(complete)))
        return None
    return rank_arms(means[complete], higher_is_better=higher_is_better, alpha=1 - confidence)


def _bayesian_table(
    pairs: list[Pair],
    estimates: pd.DataFrame,
    metric: str,
    baseline: str,
    arm_order: list[str],
    dataset_order: list[str],
    rope: float,
    n_resamples: int,
    higher_is_better: bool,
    rng: np.random.Generator,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for dataset, arm, pair, arm_cells, baseline_cells in pairs:
        both = ~np.isnan(arm_cells) & ~np.isnan(baseline_cells)
        ratio = pair.test_train_ratio
        outcome = correlated_bayesian_ttest(
            arm_cells[both],
            baseline_cells[both],
            rope=rope,
            rho=ratio / (1 + ratio),
            higher_is_better=higher_is_better,
        )
        rows.append(_bayesian_row(arm, dataset, outcome.to_dict()))
    if len(dataset_order) >= 2:
        means = estimates.loc[estimates["metric"] == metric].pivot(index="dataset", columns="arm", values="mean")
        across: dict[str, dict[str, Any]] = {}
        # Draw in sorted order (reproducible whatever the table's row order), show in arm order.
        for arm in sorted(arm_order):
            if arm == baseline or arm not in means.columns:
                continue
            shared = means[[arm, baseline]].dropna()
            if len(shared) < 2:
                continue
            outcome = bayesian_signed_rank_test(
                shared[arm].to_numpy(),
                shared[baseline].to_numpy(),
                rope=rope,
                n_samples=n_resamples,
                seed=rng,
                higher_is_better=higher_is_better,
            )
            across[arm] = _bayesian_row(arm, msg.ACROSS_DATASETS, outcome.to_dict())
        rows.extend(across[arm] for arm in arm_order if arm in across)
    table = pd.DataFrame(rows, columns=list(BAYESIAN_COLUMNS))
    table["n_samples"] = table["n_samples"].astype("Int64")  # None for the analytic t-test
    return table


def _bayesian_row(arm: str, dataset: str, outcome: dict[str, Any]) -> dict[str, Any]:
    # p_left is "first argument better": the arm is passed first.
    return {
        "arm": arm,
        "dataset": dataset,
        "test": outcome["test"],
        "rope": outcome["rope"],
        "p_arm_better": outcome["p_left"],
        "p_rope": outcome["p_rope"],
        "p_baseline_better": outcome["p_right"],
        "n_samples": outcome["n_samples"],
    }
