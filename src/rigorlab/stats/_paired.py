"""Paired t-tests of one arm against the baseline, chosen by how the replicates' splits relate.

Pairs share a replicate's splits, so the unit of analysis is the difference between two arms
on the same split. Which differences are independent depends on the protocol (``splits``):

- ``"resampled"``: every replicate draws new splits (holdout, repeated k-fold). The
  **Nadeau-Bengio corrected resampled t-test** (Nadeau & Bengio 2003; for r x k-fold CV as in
  Bouckaert & Frank 2004) runs on all J = replicates x folds fold-level differences, whose sample
  variance is multiplied by ``1/J + n_test/n_train`` instead of ``1/J``: overlapping training sets
  make fold scores positively correlated, and the plain t-test then rejects far too often. With
  ``n_test/n_train = 0`` (one fold per replicate and unknown sizes) it is the paired t-test on
  replicate-level differences.
- ``"shared"``: every replicate uses the same k folds (kfold, stratified_kfold) and differs only in
  seeds. The r scores of a fold share their training and test rows, so they are not new evidence
  about the data: the differences are averaged over replicates within each fold, and the single
  k-fold corrected test runs on those k fold differences (J = k, df = k - 1). Copying a replicate
  leaves its p-value unchanged.
- ``"fixed"``: one split that every replicate shares (tracked runs on a fixed train/test split,
  group-shift test sets). The paired t-test on replicate-level differences; it is conditional on
  that split: seeds cannot estimate the variance that another split (or another sample of the data)
  would bring.

Multiplicity, verdicts and warnings are in ``_baseline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import FloatArray

SplitDesign = Literal["resampled", "shared", "fixed"]
SPLIT_DESIGNS: tuple[str, ...] = ("resampled", "shared", "fixed")


@dataclass(frozen=True)
class PairStatistics:
    """Frequentist part of one paired comparison, before any multiplicity correction.

    ``splits`` is the design the test used (``"shared"`` with fewer than 2 folds falls back to
    ``"fixed"``); ``seed_sd`` is, on a shared split, the pooled standard deviation of the
    differences between replicates within a fold (seed noise; NaN otherwise); ``zero_variance``
    marks differences that are all equal and not 0 (no test is possible: p is NaN); ``constant``
    marks differences that are all equal, 0 included (no posterior is possible).
    ``arm_units``/``baseline_units`` are the scores whose differences the test used (fold-level
    cells, fold means over replicates, or replicate means), for the Bayesian test.
    """

    mean_diff: float
    low: float
    high: float
    statistic: float
    df: float
    p_value: float
    effect_size: float
    difference_sd: float
    n_replicates: int
    n_total_replicates: int
    n_differences: int
    folds_per_replicate: int
    test: str
    test_train_ratio: float
    spread: float
    wins: FloatArray
    splits: str = "resampled"
    seed_sd: float = math.nan
    zero_variance: bool = False
    constant: bool = False
    arm_units: FloatArray = field(default_factory=lambda: np.empty(0))
    baseline_units: FloatArray = field(default_factory=lambda: np.empty(0))


def check_test_train_ratio(test_train_ratio: float | None) -> float | None:
    """Validate ``n_test / n_train`` (``None`` means "decide from the shape")."""
    if test_train_ratio is None:
        return None
    if isinstance(test_train_ratio, bool) or not isinstance(test_train_ratio, int | float | np.floating):
        raise InputError(msg.BAD_TEST_TRAIN_RATIO.format(value=test_train_ratio))
    if not (math.isfinite(test_train_ratio) and test_train_ratio >= 0):
        raise InputError(msg.BAD_TEST_TRAIN_RATIO.format(value=test_train_ratio))
    return float(test_train_ratio)


def check_splits(splits: str, *, allow_unknown: bool = False) -> str:
    """Validate a split design name."""
    allowed = SPLIT_DESIGNS + (("unknown",) if allow_unknown else ())
    if splits not in allowed:
        unknown = ", or 'unknown' when it is not known (both tests run, the more conservative counts)"
        raise InputError(
            msg.BAD_SPLITS.format(allowed=", ".join(allowed), unknown=unknown if allow_unknown else "", value=splits)
        )
    return splits


def k_fold_ratio(folds: int) -> float:
    """``n_test / n_train`` of k-fold cross-validation, ``1 / (k - 1)``; 0 for a single fold."""
    return 1.0 / (folds - 1) if folds > 1 else 0.0


ZERO_SD_RELATIVE = 1e-12
"""Differences whose standard deviation is below this fraction of the scores' magnitude count as
equal: subtracting two scores rounds at ~1e-16 of their size, so 0.81 - 0.80 and 0.83 - 0.82
differ by an ulp although both are 0.01."""


def corrected_t(
    differences: FloatArray, test_train_ratio: float, confidence: float, scale: float = 0.0
) -> tuple[float, float, float, float, float, float, bool]:
    """``(mean, low, high, t, df, p, zero_variance)`` of the (corrected) one-sample t-test.

    With ``test_train_ratio = 0`` this is ``scipy.stats.ttest_rel``; otherwise the variance of
    the mean is ``s^2 (1/J + test_train_ratio)`` (Nadeau & Bengio 2003).

    Differences that are all equal (standard deviation at most ``ZERO_SD_RELATIVE * scale``, with
    ``scale`` the magnitude of the scores) have zero variance and the t statistic is 0/0 or x/0.
    All 0 (two arms that scored alike everywhere): t = 0, p = 1. All equal to d != 0: the test is
    undefined, so t, p and the interval are NaN and ``zero_variance`` is True; a p-value of 0
    would call a difference certain from replicates that merely repeat one result.
    """
    count = differences.size
    mean = float(differences.mean())
    df = float(count - 1)
    sd = float(differences.std(ddof=1))
    standard_error = sd * math.sqrt(1.0 / count + test_train_ratio)
    if standard_error == 0.0 or sd <= ZERO_SD_RELATIVE * scale:
        if abs(mean) <= ZERO_SD_RELATIVE * scale:
            return 0.0, 0.0, 0.0, 0.0, df, 1.0, False
        # math.nan itself (not a new NaN object) keeps equal results equal under ``==``.
        return mean, math.nan, math.nan, math.nan, df, math.nan, True
    statistic = mean / standard_error
    # scipy.special directly: the same functions scipy.stats.t uses, without ~0.1 ms of
    # wrapper per call (a study runs hundreds of these).
    p_value = float(2 * special.stdtr(df, -abs(statistic)))
    half_width = float(special.stdtrit(df, 0.5 + confidence / 2)) * standard_error
    return mean, mean - half_width, mean + half_width, statistic, df, p_value, False


def paired_statistics(
    arm_cells: FloatArray,
    baseline_cells: FloatArray,
    *,
    test_train_ratio: float | None,
    confidence: float,
    higher_is_better: bool,
    splits: str = "resampled",
) -> PairStatistics:
    """Test one arm against the baseline from aligned score grids.

    Parameters
    ----------
    arm_cells, baseline_cells : arrays of shape (n_replicates, n_folds)
        Aligned scores; NaN marks a failed trial. Only cells where both have a score count.
    test_train_ratio : float or None
        ``n_test / n_train``. ``None``: ``1/(n_folds - 1)`` when there are several folds
        (k-fold), else 0. ``0``: no correction (resampled splits: the paired t-test on
        replicate-level differences).
    confidence : float
    higher_is_better : bool
    splits : {"resampled", "shared", "fixed"}
        How the replicates' splits relate (module docstring).
    """
    both = ~np.isnan(arm_cells) & ~np.isnan(baseline_cells)
    paired_replicates = both.any(axis=1)
    n_replicates = int(paired_replicates.sum())
    if n_replicates < 2:
        raise InputError(msg.TOO_FEW_PAIRS.format(n_pairs=n_replicates))
    folds = arm_cells.shape[1]
    kept = both[paired_replicates]
    arm_replicate = _row_means(arm_cells[paired_replicates], kept)
    baseline_replicate = _row_means(baseline_cells[paired_replicates], kept)
    replicate_differences = arm_replicate - baseline_replicate
    cell_differences = np.where(both, arm_cells - baseline_cells, np.nan)
    paired_folds = both.any(axis=0)

    design = splits
    if design == "shared" and int(paired_folds.sum()) < 2:
        design = "fixed"  # one shared fold is one fixed split
    seed_sd = math.nan
    arm_units, baseline_units = arm_replicate, baseline_replicate
    if design == "shared":
        ratio = k_fold_ratio(folds) if test_train_ratio is None else test_train_ratio
        within = cell_differences[:, paired_folds]
        units = np.nanmean(within, axis=0)
        seed_sd = _pooled_within_sd(within, units)
        arm_units = _column_means(arm_cells[:, paired_folds], both[:, paired_folds])
        baseline_units = _column_means(baseline_cells[:, paired_folds], both[:, paired_folds])
        test = msg.TEST_SHARED_SPLIT
        effect_size = _cohens_dz(units)
    elif design == "fixed":
        ratio = 0.0
        units = replicate_differences
        test = msg.TEST_FIXED_SPLIT
        effect_size = _cohens_dz(units)
    else:
        ratio = k_fold_ratio(folds) if test_train_ratio is None else test_train_ratio
        # Without a correction the fold scores of a replicate are not independent evidence:
        # the plain paired t-test runs on replicate-level differences.
        units = cell_differences[both] if ratio > 0 else replicate_differences
        if ratio > 0:
            arm_units, baseline_units = arm_cells[both], baseline_cells[both]
        test = msg.TEST_NADEAU_BENGIO if ratio > 0 else msg.TEST_PAIRED_T
        # In the units the test uses: replicate means of k fold differences barely vary under
        # repeated k-fold, so a d_z on them reads as an enormous effect (-95 for 1.3 points).
        effect_size = _cohens_dz(units)
    scale = float(max(np.abs(arm_units).max(), np.abs(baseline_units).max()))
    mean, low, high, statistic, df, p_value, zero_variance = corrected_t(units, ratio, confidence, scale)

    if higher_is_better:
        wins = np.where(arm_replicate > baseline_replicate, 1.0, 0.0)
    else:
        wins = np.where(arm_replicate < baseline_replicate, 1.0, 0.0)
    wins[arm_replicate == baseline_replicate] = 0.5
    unit_arm = arm_cells[both] if folds > 1 else arm_replicate
    unit_baseline = baseline_cells[both] if folds > 1 else baseline_replicate
    spread = math.sqrt((unit_arm.var(ddof=1) + unit_baseline.var(ddof=1)) / 2)
    either = (~np.isnan(arm_cells) | ~np.isnan(baseline_cells)).any(axis=1)
    return PairStatistics(
        mean_diff=mean,
        low=low,
        high=high,
        statistic=statistic,
        df=df,
        p_value=p_value,
        effect_size=effect_size,
        difference_sd=float(units.std(ddof=1)),
        n_replicates=n_replicates,
        n_total_replicates=int(either.sum()),
        n_differences=int(units.size),
        folds_per_replicate=folds,
        test=test,
        test_train_ratio=ratio,
        spread=spread,
        wins=wins,
        splits=design,
        seed_sd=seed_sd,
        zero_variance=zero_variance,
        constant=float(units.std(ddof=1)) <= ZERO_SD_RELATIVE * scale,
        arm_units=arm_units,
        baseline_units=baseline_units,
    )


def _row_means(cells: FloatArray, keep: npt.NDArray[np.bool_]) -> FloatArray:
    filled = np.where(keep, cells, 0.0)
    means: FloatArray = filled.sum(axis=1) / keep.sum(axis=1)
    return means


def _column_means(cells: FloatArray, keep: npt.NDArray[np.bool_]) -> FloatArray:
    means: FloatArray = np.where(keep, cells, 0.0).sum(axis=0) / keep.sum(axis=0)
    return means


def _pooled_within_sd(within: FloatArray, fold_means: FloatArray) -> float:
    """Pooled standard deviation of the replicates around their fold's mean (seed noise)."""
    present = ~np.isnan(within)
    df = int((present.sum(axis=0) - 1).clip(min=0).sum())
    if df == 0:
        return math.nan
    residuals = np.where(present, within - fold_means[None, :], 0.0)
    return math.sqrt(float((residuals**2).sum()) / df)


def _cohens_dz(differences: FloatArray) -> float:
    """Mean over standard deviation of the differences; NaN when they all equal one nonzero value.

    That ratio would be infinite: an "infinitely large effect" read off replicates that merely
    repeat one result (deterministic models on one split) is not a number worth printing.
    """
    mean = float(differences.mean())
    sd = float(differences.std(ddof=1))
    if sd == 0.0:
        return 0.0 if mean == 0.0 else math.nan
    return mean / sd
