"""Power of the paired (corrected) t-test and the replicates needed to reach a target power.

The power is computed from the noncentral t distribution, as statsmodels' ``TTestPower`` does
(tested equal when there is no correction), not from a normal approximation: with few
replicates the normal approximation promises power the test does not have.

Under the Nadeau-Bengio correction the variance of the mean difference is
``sd^2 (1/J + n_test/n_train)`` with J = replicates x folds: the second term does not shrink
with more replicates, so some differences cannot be detected by any number of replicates
(:func:`replicates_needed` then returns ``None``).

On one split shared by every replicate (``kfold``, ``stratified_kfold``) the test runs on the k
fold differences averaged over replicates. Their variance has a part from the split, which no
number of replicates changes, and a part from the seeds, which shrinks as 1/r:
:func:`replicates_needed_shared_split` uses that decomposition.

Under Holm's correction over m comparisons the first (most stringent) step tests at alpha/m:
callers pass that Bonferroni level as ``alpha``, a conservative stand-in for Holm's power.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from rigorlab.errors import InputError

from . import _messages as msg

DEFAULT_MAX_REPLICATES = 10_000


def _check_probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise InputError(msg.BAD_PROBABILITY.format(name=name, value=value))
    if not 0.0 < float(value) < 1.0:
        raise InputError(msg.BAD_PROBABILITY.format(name=name, value=value))
    return float(value)


def _check_sd(difference_sd: float) -> float:
    if isinstance(difference_sd, bool) or not isinstance(difference_sd, int | float | np.floating):
        raise InputError(msg.BAD_DIFFERENCE_SD.format(value=difference_sd))
    if not (math.isfinite(difference_sd) and difference_sd >= 0):
        raise InputError(msg.BAD_DIFFERENCE_SD.format(value=difference_sd))
    return float(difference_sd)


def _check_folds(folds_per_replicate: int) -> int:
    if isinstance(folds_per_replicate, bool) or not isinstance(folds_per_replicate, int | np.integer):
        raise InputError(msg.BAD_FOLDS.format(value=folds_per_replicate))
    if folds_per_replicate < 1:
        raise InputError(msg.BAD_FOLDS.format(value=folds_per_replicate))
    return int(folds_per_replicate)


def _check_ratio(test_train_ratio: float) -> float:
    if isinstance(test_train_ratio, bool) or not isinstance(test_train_ratio, int | float | np.floating):
        raise InputError(msg.BAD_TEST_TRAIN_RATIO.format(value=test_train_ratio))
    if not (math.isfinite(test_train_ratio) and test_train_ratio >= 0):
        raise InputError(msg.BAD_TEST_TRAIN_RATIO.format(value=test_train_ratio))
    return float(test_train_ratio)


def _power(
    difference: float,
    difference_sd: float,
    n_replicates: int,
    folds_per_replicate: int,
    test_train_ratio: float,
    alpha: float,
) -> float:
    count = n_replicates * folds_per_replicate
    df = count - 1
    if difference == 0:
        return alpha
    if difference_sd == 0:
        return 1.0
    noncentrality = abs(difference) / (difference_sd * math.sqrt(1 / count + test_train_ratio))
    # scipy.special's noncentral t CDF (what scipy.stats.nct.cdf calls) without the wrapper
    # cost. Its lower tail at -critical returns NaN for large noncentralities, so that tail is
    # taken by reflection: P(T(df, nc) < -c) = 1 - P(T(df, -nc) <= c).
    critical = float(special.stdtrit(df, 1 - alpha / 2))
    upper = 1.0 - float(special.nctdtr(df, noncentrality, critical))
    lower = 1.0 - float(special.nctdtr(df, -noncentrality, critical))
    return min(1.0, upper + lower)


def paired_test_power(
    difference: float,
    difference_sd: float,
    n_replicates: int,
    *,
    folds_per_replicate: int = 1,
    test_train_ratio: float = 0.0,
    alpha: float = 0.05,
) -> float:
    """Power of the two-sided paired (corrected) t-test.

    Parameters
    ----------
    difference : float
        True mean difference to detect, in the metric's units.
    difference_sd : float
        Standard deviation of one paired difference (fold-level under the correction).
    n_replicates : int
        Replicates (>= 2).
    folds_per_replicate : int
        Folds per replicate; the test uses replicates x folds differences.
    test_train_ratio : float
        ``n_test / n_train`` for the Nadeau-Bengio correction; 0 for the plain paired t-test.
    alpha : float
        Two-sided significance level.

    Returns
    -------
    float
        Probability of rejecting the null hypothesis of no difference.

    Examples
    --------
    >>> round(paired_test_power(0.01, 0.01, 10), 3)
    0.803
    """
    if isinstance(n_replicates, bool) or not isinstance(n_replicates, int | np.integer):
        raise InputError(msg.BAD_REPLICATES.format(value=n_replicates))
    if n_replicates < 2:
        raise InputError(msg.BAD_REPLICATES.format(value=n_replicates))
    return _power(
        float(difference),
        _check_sd(difference_sd),
        int(n_replicates),
        _check_folds(folds_per_replicate),
        _check_ratio(test_train_ratio),
        _check_probability(alpha, "alpha"),
    )


def _smallest_reaching(reaches: Callable[[int], bool], max_replicates: int) -> int | None:
    """The fewest replicates (from 2) for which ``reaches`` holds, or None when even
    ``max_replicates`` do not. Power grows with the number of replicates (both df and
    noncentrality grow), so bisection finds it."""
    if not reaches(max_replicates):
        return None
    low, high = 2, max_replicates
    if reaches(low):
        return low
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def replicates_needed(
    difference: float,
    difference_sd: float,
    *,
    folds_per_replicate: int = 1,
    test_train_ratio: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    max_replicates: int = DEFAULT_MAX_REPLICATES,
) -> int | None:
    """Smallest number of replicates whose paired test reaches ``power`` for ``difference``.

    Parameters
    ----------
    difference : float
        Difference to detect (the observed one, or a minimal difference of interest).
    difference_sd : float
        Observed standard deviation of the paired differences the test uses.
    folds_per_replicate, test_train_ratio, alpha
        As in :func:`paired_test_power`.
    power : float
        Target power, default 0.8.
    max_replicates : int
        Search limit.

    Returns
    -------
    int or None
        ``None`` when no number of replicates up to ``max_replicates`` reaches the power: the
        difference is 0, or the training-set overlap (``test_train_ratio``) bounds the
        precision of the corrected test.

    Examples
    --------
    >>> replicates_needed(0.01, 0.01)
    10
    >>> replicates_needed(0.005, 0.02, folds_per_replicate=5, test_train_ratio=0.25) is None
    True
    """
    sd = _check_sd(difference_sd)
    folds = _check_folds(folds_per_replicate)
    ratio = _check_ratio(test_train_ratio)
    alpha = _check_probability(alpha, "alpha")
    target = _check_probability(power, "power")
    difference = abs(float(difference))
    if difference == 0 or not math.isfinite(difference):
        return None
    if sd == 0:
        return 2

    def reaches(n_replicates: int) -> bool:
        return _power(difference, sd, n_replicates, folds, ratio, alpha) >= target

    return _smallest_reaching(reaches, max_replicates)


def replicates_needed_shared_split(
    difference: float,
    fold_difference_sd: float,
    seed_sd: float,
    *,
    n_replicates: int,
    folds: int,
    test_train_ratio: float,
    alpha: float = 0.05,
    power: float = 0.8,
    max_replicates: int = DEFAULT_MAX_REPLICATES,
) -> int | None:
    """Replicates that give ``power`` to the corrected k-fold test on one shared split.

    The test runs on the k fold differences, each averaged over the replicates. With r replicates
    their variance is ``split_var + seed_var / r``: ``seed_var`` is estimated from the spread of
    the replicates within a fold (``seed_sd``), ``split_var`` from the rest of the observed variance
    of the fold differences (``fold_difference_sd`` at ``n_replicates``). More replicates only
    shrink the seed part: when the split part alone keeps the power below target, no number of
    replicates helps (``None``).

    Parameters
    ----------
    difference : float
        Difference to detect.
    fold_difference_sd : float
        Observed standard deviation of the k fold differences (averaged over replicates).
    seed_sd : float
        Pooled standard deviation of single differences around their fold's mean; NaN (one
        replicate per fold) counts as 0.
    n_replicates : int
        Replicates behind ``fold_difference_sd``.
    folds : int
        k: the test's number of differences (df = k - 1) whatever the number of replicates.
    test_train_ratio : float
        ``n_test / n_train`` of the folds.
    alpha, power, max_replicates
        As in :func:`replicates_needed`.

    Returns
    -------
    int or None

    Examples
    --------
    >>> replicates_needed_shared_split(0.01, 0.004, 0.012, n_replicates=3, folds=5, test_train_ratio=0.25)
    10
    >>> replicates_needed_shared_split(0.001, 0.004, 0.0, n_replicates=3, folds=5, test_train_ratio=0.25) is None
    True
    """
    fold_sd = _check_sd(fold_difference_sd)
    seed_var = 0.0 if not math.isfinite(seed_sd) else _check_sd(seed_sd) ** 2
    k = _check_folds(folds)
    ratio = _check_ratio(test_train_ratio)
    alpha = _check_probability(alpha, "alpha")
    target = _check_probability(power, "power")
    difference = abs(float(difference))
    if difference == 0 or not math.isfinite(difference) or k < 2:
        return None
    split_var = max(0.0, fold_sd**2 - seed_var / max(1, int(n_replicates)))

    def reaches(replicates: int) -> bool:
        sd = math.sqrt(split_var + seed_var / replicates)
        # One "replicate" of k differences: J = k whatever the number of replicates averaged.
        return _power(difference, sd, 1, k, ratio, alpha) >= target

    return _smallest_reaching(reaches, max_replicates)
