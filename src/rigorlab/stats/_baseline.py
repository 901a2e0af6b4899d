"""Every arm against the baseline: Holm's correction, verdicts, warnings and P(better).

Holm's step-down correction controls the family-wise error over the k - 1 comparisons against
the baseline; the verdict reads the Holm-adjusted p-value at ``alpha = 1 - confidence``. A
comparison whose differences all equal one nonzero value has no p-value (NaN): it counts in the
family but never gets a verdict of "better" or "worse".

P(better) is a share of replicates (ties count 1/2, so the count can be fractional); its interval
is Wilson's score interval, which handles fractional counts, stays inside [0, 1] and does not
collapse to a point when every replicate wins (a percentile bootstrap of a 0/1 share does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import (
    FloatArray,
    SeedLike,
    alpha_of,
    arm_index,
    as_float_array,
    as_generator,
    as_score_table,
    check_confidence,
    check_n_resamples,
    json_safe,
)
from ._paired import PairStatistics, SplitDesign, check_splits, check_test_train_ratio, paired_statistics

MIN_REPLICATES_WITHOUT_WARNING = 10
"""Fewer replicates than this earn a warning next to the verdict."""

TOO_WIDE_SPREAD_MULTIPLE = 1.0
"""The interval of a difference is "too wide to say anything" when its half-width exceeds this
multiple of the pooled standard deviation of the individual scores (one fold, or one replicate
when there are no folds) of the two arms: the experiment has then not pinned the difference down
more finely than the noise of a single evaluation."""

COMPARISON_COLUMNS: tuple[str, ...] = (
    "arm",
    "baseline",
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
)


@dataclass(frozen=True)
class PairedComparison:
    """One arm against the baseline.

    ``mean_diff``, ``low``, ``high`` and ``effect_size`` are arm minus baseline in the metric's
    units (negative is better when lower is better); ``prob_better`` and ``verdict`` already
    account for the direction.

    Attributes
    ----------
    arm, baseline : str
    n_replicates : int
        Replicates where both arms have a score.
    mean_diff, low, high : float
        Mean difference and its interval (corrected variance under Nadeau-Bengio).
    confidence : float
    effect_size : float
        Cohen's d_z: mean over standard deviation of the replicate-level differences; NaN when the
        differences all equal one nonzero value (the ratio would be infinite).
    statistic, df, p_value : float
        t statistic, its degrees of freedom and the two-sided p-value.
    p_adjusted : float
        Holm-adjusted p-value (equal to ``p_value`` for a single comparison).
    prob_better, prob_better_low, prob_better_high : float
        Share of replicates in which the arm beats the baseline (ties count 1/2), with Wilson's
        score interval.
    verdict : str
        ``"better"``, ``"worse"`` or ``"no evidence of a difference"`` (always the latter when the
        differences have zero variance: ``p_value`` is then NaN and a warning says why).
    warnings : tuple of str
    test : str
    test_train_ratio : float
        ``n_test / n_train`` used by the correction (0 for the plain paired t-test).
    difference_sd : float
        Standard deviation of the differences the test used (for power analysis).
    n_differences : int
        Differences the test used (replicates x folds under Nadeau-Bengio, folds on a shared
        split, replicates otherwise).
    folds_per_replicate : int
    splits : str
        The split design the test assumed: ``"resampled"``, ``"shared"`` or ``"fixed"``.
    seed_sd : float
        Shared split: standard deviation of the differences between replicates within a fold
        (seed noise), for power analysis; NaN otherwise.
    """

    arm: str
    baseline: str
    n_replicates: int
    mean_diff: float
    low: float
    high: float
    confidence: float
    effect_size: float
    statistic: float
    df: float
    p_value: float
    p_adjusted: float
    prob_better: float
    prob_better_low: float
    prob_better_high: float
    verdict: str
    warnings: tuple[str, ...]
    test: str
    test_train_ratio: float
    difference_sd: float
    n_differences: int
    folds_per_replicate: int
    splits: str = "resampled"
    seed_sd: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN and infinities become ``None``)."""
        return dict(json_safe(asdict(self)))


def holm_adjust(p_values: Sequence[float] | FloatArray) -> FloatArray:
    """Holm step-down adjusted p-values.

    Equal to ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]`` (tested). A NaN
    p-value (a comparison without a test) stays NaN and still counts in the family size.
    Computed here because statsmodels' Holm branch calls ``gc.collect()`` on every call, which
    costs ~0.1 s in a process holding pandas and scipy: a second per study with ten datasets.

    Parameters
    ----------
    p_values : array of shape (n_comparisons,)

    Returns
    -------
    array of shape (n_comparisons,)

    Examples
    --------
    >>> holm_adjust([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    values = np.asarray(p_values, dtype=np.float64)
    if values.size == 0:
        return values
    order = np.argsort(values, kind="stable")
    scaled = values[order] * np.arange(values.size, 0, -1)
    adjusted = np.empty_like(values)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def verdict_for(mean_diff: float, significant: bool, higher_is_better: bool, tested: bool = True) -> str:
    """``"better"``, ``"worse"`` or ``"no evidence of a difference"`` for arm - baseline.

    ``tested`` is False when the differences all equal one nonzero value: no test is defined, and
    calling that "no evidence of a difference" would misread a perfectly consistent difference.
    """
    if not tested and mean_diff != 0:
        return msg.VERDICT_NONE
    if not significant or mean_diff == 0:
        return msg.VERDICT_NO_EVIDENCE
    arm_is_higher = mean_diff > 0
    return msg.VERDICT_BETTER if arm_is_higher == higher_is_better else msg.VERDICT_WORSE


def comparison_warnings(pair: PairStatistics, verdict: str) -> tuple[str, ...]:
    """Warnings shown next to a verdict: dropped replicates, few replicates, zero variance, a
    useless interval.

    "Too wide to say anything" is only said of a comparison without a verdict: next to "better"
    or "worse" it would contradict an interval that already excludes 0.
    """
    notes: list[str] = []
    if pair.n_replicates < pair.n_total_replicates:
        notes.append(msg.WARN_REPLICATES_DROPPED.format(n_common=pair.n_replicates, n_total=pair.n_total_replicates))
    if pair.n_replicates < MIN_REPLICATES_WITHOUT_WARNING:
        notes.append(msg.WARN_FEW_REPLICATES.format(n=pair.n_replicates))
    if pair.zero_variance:
        notes.append(msg.WARN_ZERO_VARIANCE.format(difference=pair.mean_diff))
    half_width = (pair.high - pair.low) / 2
    if verdict == msg.VERDICT_NO_EVIDENCE and half_width > TOO_WIDE_SPREAD_MULTIPLE * pair.spread:
        notes.append(msg.WARN_INTERVAL_TOO_WIDE.format(half_width=half_width, spread=pair.spread))
    return tuple(notes)


@dataclass(frozen=True)
class ProbBetter:
    """P(arm beats baseline) of each comparison with its Wilson interval (arrays of shape (n,))."""

    share: FloatArray
    low: FloatArray
    high: FloatArray

    def subset(self, positions: Sequence[int]) -> ProbBetter:
        """The comparisons at ``positions``, in that order."""
        picks = list(positions)
        return ProbBetter(self.share[picks], self.low[picks], self.high[picks])


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Wilson's score interval of a binomial share, elementwise; counts may be fractional.

    Equal to ``statsmodels.stats.proportion.proportion_confint(..., method="wilson")`` (tested).
    Written out because ties count 1/2 here, and the closed form is one vectorised line.

    Parameters
    ----------
    successes : array of shape (n,)
        Successes, possibly fractional (a tie counts 1/2).
    trials : array of shape (n,)
        Trials (> 0).
    confidence : float
        Nominal coverage.

    Returns
    -------
    low, high : arrays of shape (n,)
        Bounds in [0, 1].

    Examples
    --------
    >>> low, high = wilson_interval([3.0], [3], 0.95)
    >>> round(float(low[0]), 3), float(high[0])
    (0.439, 1.0)
    """
    count = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = float(special.ndtri(0.5 + confidence / 2))
    share = count / n
    denominator = 1 + z**2 / n
    centre = (share + z**2 / (2 * n)) / denominator
    half_width = z / denominator * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    # At 0 or n successes the bound is exactly 0 or 1 (the formula can miss it by an ulp).
    low = np.where(count <= 0, 0.0, np.clip(centre - half_width, 0.0, 1.0))
    high = np.where(count >= n, 1.0, np.clip(centre + half_width, 0.0, 1.0))
    return low, high


def prob_better_intervals(pairs: Sequence[PairStatistics], *, confidence: float) -> ProbBetter:
    """P(arm beats baseline) per comparison (share of replicates, ties 1/2) with Wilson intervals."""
    wins = [pair.wins.sum() for pair in pairs]
    counts = [pair.wins.size for pair in pairs]
    share = np.asarray(wins, dtype=np.float64) / np.asarray(counts, dtype=np.float64)
    low, high = wilson_interval(wins, counts, confidence)
    return ProbBetter(share, low, high)


def finish_family(
    pairs: Sequence[PairStatistics],
    *,
    arms: Sequence[str],
    baseline: str,
    higher_is_better: bool,
    confidence: float,
    prob: ProbBetter,
) -> list[PairedComparison]:
    """Holm-correct one family of comparisons; add verdicts, warnings and P(better).

    ``prob`` holds the P(better) intervals of ``pairs``, in the same order. A NaN p-value (zero
    variance) stays NaN after adjustment and counts in the family size.
    """
    adjusted = holm_adjust([pair.p_value for pair in pairs])
    alpha = alpha_of(confidence)
    results: list[PairedComparison] = []
    for position, (arm, pair) in enumerate(zip(arms, pairs, strict=True)):
        p_adjusted = float(adjusted[position])
        if math.isnan(p_adjusted):
            p_adjusted = math.nan  # the shared object: equal results stay equal under ==
        verdict = verdict_for(pair.mean_diff, p_adjusted < alpha, higher_is_better, tested=not math.isnan(p_adjusted))
        results.append(
            PairedComparison(
                arm=arm,
                baseline=baseline,
                n_replicates=pair.n_replicates,
                mean_diff=pair.mean_diff,
                low=pair.low,
                high=pair.high,
                confidence=confidence,
                effect_size=pair.effect_size,
                statistic=pair.statistic,
                df=pair.df,
                p_value=pair.p_value,
                p_adjusted=p_adjusted,
                prob_better=float(prob.share[position]),
                prob_better_low=float(prob.low[position]),
                prob_better_high=float(prob.high[position]),
                verdict=verdict,
                warnings=comparison_warnings(pair, verdict),
                test=pair.test,
                test_train_ratio=pair.test_train_ratio,
                difference_sd=pair.difference_sd,
                n_differences=pair.n_differences,
                folds_per_replicate=pair.folds_per_replicate,
                splits=pair.splits,
                seed_sd=pair.seed_sd,
            )
        )
    return results


def _as_cells(values: FloatArray) -> FloatArray:
    return values[:, None] if values.ndim == 1 else values


def paired_comparison(
    arm_scores: npt.ArrayLike,
    baseline_scores: npt.ArrayLike,
    *,
    higher_is_better: bool = True,
    test_train_ratio: float | None = None,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
    arm: str = "arm",
    baseline: str = "baseline",
    splits: SplitDesign = "resampled",
) -> PairedComparison:
    """Compare one arm with the baseline on paired replicates.

    Parameters
    ----------
    arm_scores, baseline_scores : array of shape (n_replicates,) or (n_replicates, n_folds)
        Scores on the same splits (row r of both shares replicate r's split). NaN marks a
        failed trial; only cells where both arms have a score are used.
    higher_is_better : bool
        ``False`` for losses (log_loss, rmse, ...): "better" then means lower.
    test_train_ratio : float, optional
        ``n_test / n_train`` of each split. Given and > 0: Nadeau-Bengio corrected test over all
        fold-level differences (use it for repeated hold-out or bootstrap splits). ``0``: no
        correction, the paired t-test on replicate-level differences (fold scores averaged
        within a replicate). Omitted: ``1/(n_folds - 1)`` (k-fold) when there are several folds,
        else the paired t-test on replicate-level differences.
    confidence : float
        Interval coverage; the verdict uses ``alpha = 1 - confidence``.
    n_resamples : int
        Validated but no longer used: P(better) now has Wilson's closed-form interval. Kept so
        that existing calls keep working.
    seed : int or numpy.random.Generator
        As ``n_resamples`` (nothing here is random any more).
    arm, baseline : str
        Names carried into the result.
    splits : {"resampled", "shared", "fixed"}
        How the replicates' splits relate. ``"resampled"`` (default): new splits per replicate,
        the tests above. ``"shared"``: every replicate uses the same k folds (columns), so the
        differences are averaged over replicates within each fold and the corrected k-fold test
        runs on those k differences (df = k - 1). ``"fixed"``: one fixed split; the paired
        t-test on replicate-level differences, conditional on that split.

    Returns
    -------
    PairedComparison

    Examples
    --------
    >>> arm = [0.86, 0.88, 0.85, 0.87, 0.86, 0.89]
    >>> base = [0.84, 0.85, 0.83, 0.85, 0.85, 0.86]
    >>> result = paired_comparison(arm, base, n_resamples=1000)
    >>> result.verdict, result.test
    ('better', 'paired t-test')
    """
    confidence = check_confidence(confidence)
    check_n_resamples(n_resamples)
    as_generator(seed)  # still validated: a bad seed is a mistake worth naming
    ratio = check_test_train_ratio(test_train_ratio)
    check_splits(splits)
    arm_values = as_float_array(arm_scores, "arm_scores", ndims=(1, 2))
    baseline_values = as_float_array(baseline_scores, "baseline_scores", ndims=(1, 2))
    if arm_values.shape != baseline_values.shape:
        raise InputError(
            msg.BAD_LENGTHS.format(
                first="arm_scores",
                second="baseline_scores",
                first_shape=arm_values.shape,
                second_shape=baseline_values.shape,
            )
        )
    pair = paired_statistics(
        _as_cells(arm_values),
        _as_cells(baseline_values),
        test_train_ratio=ratio,
        confidence=confidence,
        higher_is_better=higher_is_better,
        splits=splits,
    )
    prob = prob_better_intervals([pair], confidence=confidence)
    return finish_family(
        [pair],
        arms=[arm],
        baseline=baseline,
        higher_is_better=higher_is_better,
        confidence=confidence,
        prob=prob,
    )[0]


def comparisons_frame(results: Sequence[PairedComparison]) -> pd.DataFrame:
    """Results as a DataFrame with the columns :data:`COMPARISON_COLUMNS`."""
    rows = [{column: getattr(result, column) for column in COMPARISON_COLUMNS} for result in results]
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def compare_to_baseline(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    baseline: str | int,
    arm_names: Sequence[str] | None = None,
    higher_is_better: bool = True,
    test_train_ratio: float | None = None,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
    splits: SplitDesign = "resampled",
) -> pd.DataFrame:
    """Paired comparison of every arm against the baseline, Holm-corrected.

    Parameters
    ----------
    scores : array of shape (n_replicates, n_arms) or (n_replicates, n_folds, n_arms), or DataFrame
        Paired scores (rows share a replicate's split); a DataFrame has one column per arm and
        one row per replicate. NaN marks a failed trial.
    baseline : str or int
        The baseline's name or column index.
    arm_names : sequence of str, optional
        Names for an array's arms (default ``arm_0``, ``arm_1``, ...).
    higher_is_better, test_train_ratio, confidence, n_resamples, seed, splits
        As in :func:`paired_comparison`. Holm's correction runs over the k - 1 comparisons.

    Returns
    -------
    pandas.DataFrame
        One row per non-baseline arm, columns :data:`COMPARISON_COLUMNS`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(0.80, 0.02, size=10)
    >>> scores = np.column_stack([base, base + 0.03 + rng.normal(0, 0.005, 10), base])
    >>> table = compare_to_baseline(scores, baseline=0, n_resamples=1000)
    >>> list(table["verdict"])
    ['better', 'no evidence of a difference']
    """
    confidence = check_confidence(confidence)
    check_n_resamples(n_resamples)
    as_generator(seed)
    ratio = check_test_train_ratio(test_train_ratio)
    check_splits(splits)
    values, names = as_score_table(scores, "scores", arm_names=arm_names, ndims=(2, 3))
    base_position = arm_index(names, baseline)
    cells = values[:, None, :] if values.ndim == 2 else values
    others = [position for position in range(len(names)) if position != base_position]
    pairs = [
        paired_statistics(
            cells[:, :, position],
            cells[:, :, base_position],
            test_train_ratio=ratio,
            confidence=confidence,
            higher_is_better=higher_is_better,
            splits=splits,
        )
        for position in others
    ]
    prob = prob_better_intervals(pairs, confidence=confidence)
    results = finish_family(
        pairs,
        arms=[names[position] for position in others],
        baseline=names[base_position],
        higher_is_better=higher_is_better,
        confidence=confidence,
        prob=prob,
    )
    return comparisons_frame(results)
