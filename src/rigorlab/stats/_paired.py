"""Paired t-tests of one arm against the baseline on shared splits.

Pairs share a replicate's splits, so the unit of analysis is the difference between two arms
on the same split. Two tests:

- **paired t-test** on replicate-level differences, when each replicate is one independent
  evaluation and nothing says the training sets overlap;
- **Nadeau-Bengio corrected resampled t-test** (Nadeau & Bengio 2003; for r x k-fold CV as in
  Bouckaert & Frank 2004) on all J = replicates x folds fold-level differences, whose sample
  variance is multiplied by ``1/J + n_test/n_train`` instead of ``1/J``: overlapping training
  sets make fold scores positively correlated, and the plain t-test then rejects far too often.
  The interval uses the same corrected variance.

Multiplicity, verdicts and warnings are in ``_baseline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import FloatArray


@dataclass(frozen=True)
class PairStatistics:
    """Frequentist part of one paired comparison, before any multiplicity correction."""

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


def check_test_train_ratio(test_train_ratio: float | None) -> float | None:
    """Validate ``n_test / n_train`` (``None`` means "decide from the shape")."""
    if test_train_ratio is None:
        return None
    if isinstance(test_train_ratio, bool) or not isinstance(test_train_ratio, int | float | np.floating):
        raise InputError(msg.BAD_TEST_TRAIN_RATIO.format(value=test_train_ratio))
    if not (math.isfinite(test_train_ratio) and test_train_ratio >= 0):
        raise InputError(msg.BAD_TEST_TRAIN_RATIO.format(value=test_train_ratio))
    return float(test_train_ratio)


def k_fold_ratio(folds: int) -> float:
    """``n_test / n_train`` of k-fold cross-validation, ``1 / (k - 1)``; 0 for a single fold."""
    return 1.0 / (folds - 1) if folds > 1 else 0.0


def corrected_t(
    differences: FloatArray, test_train_ratio: float, confidence: float
) -> tuple[float, float, float, float, float, float]:
    """``(mean, low, high, t, df, p)`` of the (corrected) one-sample t-test of differences.

    With ``test_train_ratio = 0`` this is ``scipy.stats.ttest_rel``; otherwise the variance of
    the mean is ``s^2 (1/J + test_train_ratio)`` (Nadeau & Bengio 2003).
    """
    count = differences.size
    mean = float(differences.mean())
    df = float(count - 1)
    sd = float(differences.std(ddof=1))
    standard_error = sd * math.sqrt(1.0 / count + test_train_ratio)
    if standard_error == 0.0:
        # All differences equal: the data leave no doubt about the mean difference.
        statistic = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        p_value = 1.0 if mean == 0.0 else 0.0
        return mean, mean, mean, statistic, df, p_value
    statistic = mean / standard_error
    # scipy.special directly: the same functions scipy.stats.t uses, without ~0.1 ms of
    # wrapper per call (a study runs hundreds of these).
    p_value = float(2 * special.stdtr(df, -abs(statistic)))
    half_width = float(special.stdtrit(df, 0.5 + confidence / 2)) * standard_error
    return mean, mean - half_width, mean + half_width, statistic, df, p_value


def paired_statistics(
    arm_cells: FloatArray,
    baseline_cells: FloatArray,
    *,
    test_train_ratio: float | None,
    confidence: float,
    higher_is_better: bool,
) -> PairStatistics:
    """Test one arm against the baseline from aligned score grids.

    Parameters
    ----------
    arm_cells, baseline_cells : arrays of shape (n_replicates, n_folds)
        Aligned scores; NaN marks a failed trial. Only cells where both have a score count.
    test_train_ratio : float or None
        ``n_test / n_train``. ``None``: Nadeau-Bengio with ``1/(n_folds - 1)`` when there are
        several folds (k-fold), else the plain paired t-test. ``0``: no correction.
    """
    both = ~np.isnan(arm_cells) & ~np.isnan(baseline_cells)
    paired_replicates = both.any(axis=1)
    n_replicates = int(paired_replicates.sum())
    if n_replicates < 2:
        raise InputError(msg.TOO_FEW_PAIRS.format(n_pairs=n_replicates))
    folds = arm_cells.shape[1]
    ratio = k_fold_ratio(folds) if test_train_ratio is None else test_train_ratio
    test = msg.TEST_NADEAU_BENGIO if ratio > 0 else msg.TEST_PAIRED_T
    differences = (arm_cells - baseline_cells)[both]
    mean, low, high, statistic, df, p_value = corrected_t(differences, ratio, confidence)

    kept = both[paired_replicates]
    arm_replicate = _row_means(arm_cells[paired_replicates], kept)
    baseline_replicate = _row_means(baseline_cells[paired_replicates], kept)
    replicate_differences = arm_replicate - baseline_replicate
    effect_size = _cohens_dz(replicate_differences)
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
        difference_sd=float(differences.std(ddof=1)),
        n_replicates=n_replicates,
        n_total_replicates=int(either.sum()),
        n_differences=int(differences.size),
        folds_per_replicate=folds,
        test=test,
        test_train_ratio=ratio,
        spread=spread,
        wins=wins,
    )


def _row_means(cells: FloatArray, keep: npt.NDArray[np.bool_]) -> FloatArray:
    filled = np.where(keep, cells, 0.0)
    means: FloatArray = filled.sum(axis=1) / keep.sum(axis=1)
    return means


def _cohens_dz(differences: FloatArray) -> float:
    mean = float(differences.mean())
    sd = float(differences.std(ddof=1))
    if sd == 0.0:
        return 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    return mean / sd
