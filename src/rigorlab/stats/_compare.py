"""``compare_study``: the whole statistical comparison of a study from its fold-level scores.

Choices (stated in the result's legend too):

- **Split design** (``splits``): whether replicates draw new splits (``"resampled"``: holdout,
  repeated k-fold), share one k-fold split (``"shared"``: kfold, stratified_kfold), use one fixed
  split (``"fixed"``: tracked runs, group-shift test sets) or it is not known (``"unknown"``).
  It picks the paired test (``_paired``), the per-arm interval (``_estimates``) and the power
  advice (``_pairs``). Left out, resampled splits are assumed and ``problems`` says so.
- **Direction**: ``higher_is_better`` as given, else from the metric's name
  (:func:`rigorlab.models.metric_direction`: known metrics, then lower-is-better words such as
  loss, error, perplexity); the legend says which.
- **Per-arm estimates**, for every metric: the mean over replicates (fold scores averaged within a
  replicate) with the interval that matches the design (``interval_method="auto"``), or a plain t /
  BCa / percentile interval over replicates.
- **Paired tests** on the chosen metric, per dataset, every arm against the baseline on the
  (replicate, fold) cells both have, with ``n_test/n_train`` from the table (``1/(folds - 1)``
  when the sizes are unknown).
- **Holm** over the k - 1 comparisons within each dataset (the family a per-dataset table
  shows); verdicts read the adjusted p-value at ``alpha = 1 - confidence``. Differences with zero
  variance get no p-value and no verdict of better or worse.
- **Power**: where the verdict is "no evidence of a difference", the replicates that would
  give 80% power for the observed difference (or ``minimal_difference``) with the test that ran,
  at the Bonferroni level alpha / (k - 1).
- **Across datasets** (>= 2 arms with results on all datasets): the mean score per dataset gives
  average ranks from 2 datasets on, and feeds Friedman / Iman-Davenport, Nemenyi, Wilcoxon-Holm
  (and the Bayesian signed-rank test) from :data:`MIN_DATASETS_FOR_RANKING` (5) datasets on; with
  fewer the ranks are a description only and ``problems`` says why.
- **Bounded metrics**: per-arm interval bounds are cut at the metric's range (accuracy in [0, 1],
  r2 at most 1, losses at least 0: :func:`rigorlab.models.metric_bounds`); ``clipped`` and the
  legend say where.
- Randomness comes from one generator; groups are processed in sorted order, so the same seed
  gives the same numbers whatever the row order of the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from rigorlab.errors import InputError, NotFoundError
from rigorlab.models import metric_direction

from . import _messages as msg
from ._baseline import PairedComparison, finish_family, prob_better_intervals
from ._bayes import bayesian_signed_rank_test, correlated_bayesian_ttest
from ._common import SeedLike, alpha_of, as_generator, check_confidence, check_n_resamples, check_rope
from ._estimates import clip_to_bounds, estimates_table
from ._intervals import check_interval_method
from ._paired import check_splits
from ._pairs import Pair, comparison_table, study_pairs
from ._ranking import MIN_DATASETS_FOR_RANKING, RankingResult, average_ranks, rank_arms
from ._results_table import normalise_results, ordered_unique
from ._study import BAYESIAN_COLUMNS, StudyComparison, StudyFacts, range_text, study_legend

SplitsOption = Literal["resampled", "shared", "fixed", "unknown"]
EstimateMethod = Literal["auto", "t", "bca", "percentile"]


def compare_study(
    frame: pd.DataFrame,
    *,
    metric: str,
    baseline: str,
    higher_is_better: bool | None = None,
    splits: SplitsOption | None = None,
    datasets: Sequence[str] | None = None,
    confidence: float = 0.95,
    bayesian: bool = False,
    rope: float = 0.01,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
    arms: Sequence[str] | None = None,
    interval_method: EstimateMethod = "auto",
    minimal_difference: float | None = None,
    splits_reason: str | None = None,
    metric_reason: str = "",
    baseline_reason: str = "",
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
    higher_is_better : bool, optional
        ``False`` for losses. Left out: from the metric's name
        (:func:`rigorlab.models.metric_direction`: known metrics keep their direction; unknown
        names containing loss, error, wer, perplexity, ... are lower-is-better; any other unknown
        name is higher-is-better). The result's ``direction`` says which.
    splits : {"resampled", "shared", "fixed", "unknown"}, optional
        How the replicates' splits relate. ``"resampled"``: every replicate draws new splits
        (holdout, repeated_kfold); Nadeau-Bengio corrected test over all replicates x folds
        differences. ``"shared"``: every replicate uses the same k folds (kfold,
        stratified_kfold); replicates are averaged within each fold and the corrected k-fold test
        runs on the k fold differences (df = k - 1; correlated Bayesian t-test with rho = 1/k).
        ``"fixed"``: one fixed split (tracked runs, group_shift); paired t-test over replicates,
        conditional on that split. ``"unknown"``: the resampled and the shared test both run and
        the one with the larger p-value counts. Left out: ``"resampled"`` is assumed and
        ``problems`` says so.
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
    interval_method : {"auto", "t", "bca", "percentile"}
        Interval of the per-arm estimates. ``"auto"``: the one that matches ``splits`` (t with
        the Nadeau-Bengio correction over fold scores for resampled and shared splits, t over
        replicates for a fixed split; ``method`` column ``"t_nb"`` or ``"t"``). The others run
        over replicate means and cover only the variation between replicates.
    minimal_difference : float, optional
        Difference for the power column; default the observed difference.
    splits_reason : str, optional
        Why ``splits`` has its value (e.g. "protocol kfold: one split shared by every
        replicate"), for the legend.
    metric_reason, baseline_reason : str
        Why this metric and baseline were chosen (e.g. "the first arm alphabetically; choose with
        --baseline"), for the legend and the result's fields of the same names.

    Returns
    -------
    StudyComparison

    Raises
    ------
    rigorlab.errors.InputError
        Malformed table, bad option, or nothing at all can be compared.
    rigorlab.errors.NotFoundError
        Unknown metric or baseline.

    Examples
    --------
    >>> from rigorlab.stats import simulated_study_frame
    >>> frame = simulated_study_frame(arms=["logreg", "hgb"], replicates=10, seed=3,
    ...                               effects={"hgb": 0.03})
    >>> result = compare_study(frame, metric="accuracy", baseline="logreg", splits="resampled",
    ...                        n_resamples=1000)
    >>> result.comparisons[["arm", "dataset", "verdict"]].iloc[0].tolist()
    ['hgb', 'breast_cancer', 'better']
    >>> result.average_ranks.to_dict()  # 3 datasets: ranks as a description, no Friedman test
    {'logreg': 2.0, 'hgb': 1.0}
    >>> result.ranking is None
    True
    """
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    rope = check_rope(rope)
    if interval_method != "auto":
        check_interval_method(interval_method)
    problems: list[str] = []
    if splits is None:
        problems.append(msg.PROBLEM_SPLITS_ASSUMED)
        design = "resampled"
        reason = splits_reason or "assumed (not stated)"
    else:
        design = check_splits(splits, allow_unknown=True)
        reason = splits_reason or "stated by the caller"
    rng = as_generator(seed)
    data = normalise_results(frame)

    undefined = data["value"].isna()
    for metric_name, count in data.loc[undefined].groupby("metric", sort=True).size().items():
        problems.append(msg.PROBLEM_NAN_VALUES.format(count=int(count), metric=metric_name))
    undefined_cells = {
        (str(row.dataset), str(row.arm), row.replicate, row.fold)
        for row in data.loc[undefined & (data["metric"] == metric)].itertuples(index=False)
    }
    data = data.loc[~undefined]
    metric_order = ordered_unique(data["metric"])
    if metric not in metric_order:
        raise NotFoundError(msg.UNKNOWN_METRIC.format(metric=metric, available=", ".join(metric_order) or "none"))
    metric_order = [metric] + [name for name in metric_order if name != metric]
    direction = metric_direction(metric, higher_is_better)
    higher = direction.higher_is_better

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
        splits=design,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=rng,
        problems=problems,
    )
    estimates, clipped = clip_to_bounds(estimates)

    pairs = study_pairs(
        primary,
        metric=metric,
        baseline=baseline,
        dataset_order=dataset_order,
        arm_order=arm_order,
        splits=design,
        confidence=confidence,
        higher_is_better=higher,
        undefined=undefined_cells,
        problems=problems,
    )
    results: list[tuple[str, PairedComparison]] = []
    for dataset in dataset_order:
        members = [pair for pair in pairs if pair[0] == dataset]
        if not members:
            continue
        statistics = [pair[2] for pair in members]
        family = finish_family(
            statistics,
            arms=[pair[1] for pair in members],
            baseline=baseline,
            higher_is_better=higher,
            confidence=confidence,
            prob=prob_better_intervals(statistics, confidence=confidence),
        )
        results.extend((dataset, comparison) for comparison in family)
    comparisons = comparison_table(results, minimal_difference, confidence)

    ranks, ranking = _ranking(estimates, metric, dataset_order, arm_order, higher, confidence, problems)
    bayesian_table = (
        _bayesian_table(
            pairs, estimates, metric, baseline, arm_order, dataset_order, rope, n_resamples, higher, rng, problems
        )
        if bayesian
        else None
    )
    if comparisons.empty and ranks is None:
        raise InputError(msg.NOTHING_TO_COMPARE.format(problems="\n- ".join(problems)))
    facts = StudyFacts(
        splits=design,
        splits_reason=reason,
        direction=direction.reason,
        estimate_methods=tuple(sorted(set(estimates.loc[estimates["metric"] == metric, "method"]))),
        seed=None if isinstance(seed, np.random.Generator) else int(seed),
        metric_reason=metric_reason,
        baseline_reason=baseline_reason,
        clipped_range=range_text(metric) if metric in clipped else None,
        average_ranks=ranks,
    )
    legend = study_legend(
        metric=metric,
        baseline=baseline,
        higher_is_better=higher,
        confidence=confidence,
        interval_method=interval_method,
        n_resamples=n_resamples,
        tests_used=set(comparisons["test"]),
        minimal_difference=minimal_difference,
        ranking=ranking,
        bayesian=bayesian,
        rope=rope,
        facts=facts,
        signed_rank=bayesian_table is not None and bool((bayesian_table["dataset"] == msg.ACROSS_DATASETS).any()),
    )
    return StudyComparison(
        metric=metric,
        baseline=baseline,
        higher_is_better=higher,
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
        splits=design,
        splits_reason=reason,
        direction=direction.reason,
        seed=facts.seed,
        metric_reason=metric_reason,
        baseline_reason=baseline_reason,
        clipped=clipped,
        average_ranks=ranks,
    )


def _ranking(
    estimates: pd.DataFrame,
    metric: str,
    dataset_order: list[str],
    arm_order: list[str],
    higher_is_better: bool,
    confidence: float,
    problems: list[str],
) -> tuple[pd.Series | None, RankingResult | None]:
    """(average ranks, the tests across datasets): ranks from 2 datasets, tests from
    MIN_DATASETS_FOR_RANKING; each None when there are too few."""
    if len(dataset_order) < 2:
        return None, None
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
        return None, None
    if len(dataset_order) < MIN_DATASETS_FOR_RANKING:
        problems.append(
            msg.PROBLEM_TOO_FEW_DATASETS_FOR_RANKING.format(
                n_datasets=len(dataset_order), minimum=MIN_DATASETS_FOR_RANKING
            )
        )
        return average_ranks(means[complete], higher_is_better=higher_is_better), None
    ranking = rank_arms(means[complete], higher_is_better=higher_is_better, alpha=alpha_of(confidence))
    return ranking.average_ranks, ranking


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
    problems: list[str],
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for dataset, arm, pair in pairs:
        # The same units as the frequentist test: fold cells (resampled), fold means over
        # replicates (shared split, rho = 1/k) or replicate means (fixed split, rho = 0).
        ratio = pair.test_train_ratio
        if pair.constant:
            problems.append(msg.PROBLEM_BAYES_ZERO_VARIANCE.format(arm=arm, dataset=dataset, difference=pair.mean_diff))
            outcome = _undefined_posterior(rope)
        else:
            outcome = correlated_bayesian_ttest(
                pair.arm_units,
                pair.baseline_units,
                rope=rope,
                rho=ratio / (1 + ratio),
                higher_is_better=higher_is_better,
            ).to_dict()
        rows.append(_bayesian_row(arm, dataset, outcome))
    if 2 <= len(dataset_order) < MIN_DATASETS_FOR_RANKING:
        problems.append(
            msg.PROBLEM_TOO_FEW_DATASETS_FOR_SIGNED_RANK.format(
                n_datasets=len(dataset_order), minimum=MIN_DATASETS_FOR_RANKING
            )
        )
    elif len(dataset_order) >= MIN_DATASETS_FOR_RANKING:
        means = estimates.loc[estimates["metric"] == metric].pivot(index="dataset", columns="arm", values="mean")
        across: dict[str, dict[str, Any]] = {}
        # Draw in sorted order (reproducible whatever the table's row order), show in arm order.
        for arm in sorted(arm_order):
            if arm == baseline or arm not in means.columns:
                continue
            shared = means[[arm, baseline]].dropna()
            if len(shared) < MIN_DATASETS_FOR_RANKING:
                continue
            ranked = bayesian_signed_rank_test(
                shared[arm].to_numpy(),
                shared[baseline].to_numpy(),
                rope=rope,
                n_samples=n_resamples,
                seed=rng,
                higher_is_better=higher_is_better,
            )
            across[arm] = _bayesian_row(arm, msg.ACROSS_DATASETS, ranked.to_dict())
        rows.extend(across[arm] for arm in arm_order if arm in across)
    table = pd.DataFrame(rows, columns=list(BAYESIAN_COLUMNS))
    table["n_samples"] = table["n_samples"].astype("Int64")  # None for the analytic t-test
    return table


def _undefined_posterior(rope: float) -> dict[str, Any]:
    return {
        "test": msg.TEST_CORRELATED_BAYESIAN_T,
        "rope": rope,
        "p_left": float("nan"),
        "p_rope": float("nan"),
        "p_right": float("nan"),
        "n_samples": None,
    }


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
