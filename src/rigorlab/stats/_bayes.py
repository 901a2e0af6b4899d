"""Bayesian comparisons of two arms with a region of practical equivalence (ROPE).

Benavoli, Corani, Demšar & Zaffalon, "Time for a change", JMLR 18(77), 2017, and baycomp:

- **correlated Bayesian t-test** (Corani & Benavoli 2015), one dataset, fold-level scores of
  cross-validation: the posterior of the mean difference is Student t with n - 1 degrees of
  freedom, location ``mean(d)`` and scale ``sqrt(s^2 (1/n + rho/(1 - rho)))``, where
  ``rho = n_test / (n_train + n_test)`` is the correlation between folds. Analytic.
- **Bayesian signed-rank test** (Dirichlet process prior), across datasets: Monte Carlo over
  Dirichlet weights, seeded.
- **Bayesian sign test**: Dirichlet over the counts left of, inside and right of the ROPE.

Orientation (as in baycomp): with ``d = scores_b - scores_a`` and higher is better,
``p_left`` is the probability that A (the first argument) is better by more than the ROPE,
``p_right`` that B is, and ``p_rope`` that they are practically equivalent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import (
    FloatArray,
    SeedLike,
    as_float_array,
    as_generator,
    check_n_resamples,
    check_rope,
    json_safe,
)
from ._paired import ZERO_SD_RELATIVE

_SAMPLES_PER_BLOCK = 5_000


@dataclass(frozen=True)
class BayesianComparison:
    """Posterior probabilities of "A better", "practically equivalent", "B better".

    Attributes
    ----------
    p_left : float
        P(A better by more than the ROPE).
    p_rope : float
        P(difference within the ROPE); 0 for the t-test and the signed-rank test when
        ``rope == 0``.
    p_right : float
        P(B better by more than the ROPE).
    rope : float
    test : str
    n_samples : int or None
        Monte Carlo samples; ``None`` for the analytic t-test.
    """

    p_left: float
    p_rope: float
    p_right: float
    rope: float
    test: str
    n_samples: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return dict(json_safe(asdict(self)))


def _differences(scores_a: npt.ArrayLike, scores_b: npt.ArrayLike, higher_is_better: bool) -> FloatArray:
    a = as_float_array(scores_a, "scores_a", ndims=(1,))
    b = as_float_array(scores_b, "scores_b", ndims=(1,))
    if a.shape != b.shape:
        raise InputError(
            msg.BAD_LENGTHS.format(first="scores_a", second="scores_b", first_shape=a.shape, second_shape=b.shape)
        )
    keep = ~np.isnan(a) & ~np.isnan(b)
    differences: FloatArray = (b - a)[keep] if higher_is_better else (a - b)[keep]
    if differences.size < 2:
        raise InputError(msg.TOO_FEW_PAIRS.format(n_pairs=int(differences.size)))
    return differences


def correlated_bayesian_ttest(
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    *,
    rope: float = 0.0,
    rho: float | None = None,
    n_train: float | None = None,
    n_test: float | None = None,
    higher_is_better: bool = True,
) -> BayesianComparison:
    """Correlated Bayesian t-test on paired fold scores of one dataset.

    Parameters
    ----------
    scores_a, scores_b : arrays of shape (n_folds_total,)
        Paired fold-level scores (all folds of all cross-validation runs), NaN dropped in pairs.
    rope : float
        Half-width of the region of practical equivalence, in the metric's units.
    rho : float, optional
        Correlation between folds. Give it, or ``n_train`` and ``n_test``
        (``rho = n_test / (n_train + n_test)``, 1/k for k-fold CV).
    n_train, n_test : float, optional
        Training and test set sizes of one fold.
    higher_is_better : bool

    Returns
    -------
    BayesianComparison

    Raises
    ------
    rigorlab.errors.InputError
        The differences have zero variance (the posterior would be a point mass), fewer than 2
        pairs, or a bad ``rope``/``rho``.

    Examples
    --------
    >>> a = [0.80, 0.82, 0.79, 0.81, 0.80, 0.83, 0.78, 0.82, 0.81, 0.80]
    >>> b = [0.84, 0.85, 0.83, 0.86, 0.84, 0.85, 0.82, 0.86, 0.85, 0.84]
    >>> result = correlated_bayesian_ttest(a, b, rope=0.01, rho=0.1)
    >>> result.p_right > 0.95
    True
    """
    rope = check_rope(rope)
    if rho is None:
        if n_train is None or n_test is None:
            raise InputError(msg.RHO_OR_SIZES)
        rho = float(n_test) / (float(n_train) + float(n_test))
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0 <= rho < 1:
        raise InputError(msg.BAD_RHO.format(value=rho))
    differences = _differences(scores_a, scores_b, higher_is_better)
    count = differences.size
    mean = float(differences.mean())
    sd = float(differences.std(ddof=1))
    scale = sd * math.sqrt(1 / count + rho / (1 - rho))
    magnitude = float(np.nanmax(np.abs(np.concatenate([np.ravel(scores_a), np.ravel(scores_b)]))))
    # Zero up to the rounding of subtracting two scores (see _paired.ZERO_SD_RELATIVE).
    if scale == 0.0 or sd <= ZERO_SD_RELATIVE * magnitude:
        # The posterior would be a point mass at the mean difference: certainty drawn from
        # replicates that repeat one result. Refuse rather than report it.
        raise InputError(msg.ZERO_VARIANCE_POSTERIOR.format(difference=mean))
    posterior = stats.t(df=count - 1, loc=mean, scale=scale)
    left = float(posterior.cdf(-rope))
    right = float(posterior.sf(rope))
    return BayesianComparison(left, max(0.0, 1.0 - left - right), right, rope, msg.TEST_CORRELATED_BAYESIAN_T, None)


def _heaviside(values: FloatArray) -> FloatArray:
    result: FloatArray = np.where(values > 0, 1.0, 0.0) + np.where(values == 0, 0.5, 0.0)
    return result


def _split_wins(theta: FloatArray) -> FloatArray:
    # A sample whose largest theta is shared (e.g. all differences 0) counts for each tied
    # region equally, so swapping A and B swaps p_left and p_right exactly.
    is_max = theta >= theta.max(axis=1, keepdims=True)
    wins: FloatArray = (is_max / is_max.sum(axis=1, keepdims=True)).sum(axis=0)
    return wins


def bayesian_signed_rank_test(
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    *,
    rope: float = 0.0,
    prior_weight: float = 0.5,
    n_samples: int = 50_000,
    seed: SeedLike = 0,
    higher_is_better: bool = True,
) -> BayesianComparison:
    """Bayesian signed-rank test (Dirichlet process prior), e.g. over datasets.

    A pseudo-observation at 0 carries the prior weight ``prior_weight``; each sample draws
    Dirichlet weights ``w`` and computes ``theta_left = sum_ij w_i w_j H(-(z_i + z_j) - 2 rope)``
    and ``theta_right`` likewise (H(0) = 1/2). ``p_left`` etc. are the shares of samples in which
    that region has the largest theta.

    Parameters
    ----------
    scores_a, scores_b : arrays of shape (n_datasets,)
        Paired scores, e.g. mean scores per dataset.
    rope : float
        Region of practical equivalence, metric units.
    prior_weight : float
        Strength of the prior pseudo-observation (baycomp's default 0.5).
    n_samples : int
        Monte Carlo samples.
    seed : int or numpy.random.Generator
    higher_is_better : bool

    Returns
    -------
    BayesianComparison

    Examples
    --------
    >>> a = [0.80, 0.70, 0.90, 0.60, 0.75, 0.85]
    >>> b = [0.85, 0.74, 0.93, 0.66, 0.79, 0.88]
    >>> result = bayesian_signed_rank_test(a, b, rope=0.01, n_samples=2000, seed=0)
    >>> result.p_right > result.p_left
    True
    """
    rope = check_rope(rope)
    n_samples = check_n_resamples(n_samples)
    differences = _differences(scores_a, scores_b, higher_is_better)
    rng = as_generator(seed)
    points = np.concatenate([[0.0], differences])
    sums = points[:, None] + points[None, :]
    towards_left = _heaviside(-sums - 2 * rope)
    towards_right = _heaviside(sums - 2 * rope)
    concentration = np.ones(points.size)
    concentration[0] = prior_weight
    winners = np.zeros(3)
    for start in range(0, n_samples, _SAMPLES_PER_BLOCK):
        count = min(_SAMPLES_PER_BLOCK, n_samples - start)
        weights = rng.dirichlet(concentration, size=count)
        theta_left = np.sum((weights @ towards_left) * weights, axis=1)
        theta_right = np.sum((weights @ towards_right) * weights, axis=1)
        theta = np.column_stack([theta_left, 1 - theta_left - theta_right, theta_right])
        winners += _split_wins(theta)
    shares = winners / n_samples
    if rope == 0:
        shares = np.array([shares[0] + shares[1] / 2, 0.0, shares[2] + shares[1] / 2])
    return BayesianComparison(
        float(shares[0]),
        float(shares[1]),
        float(shares[2]),
        rope,
        msg.TEST_BAYESIAN_SIGNED_RANK,
        n_samples,
    )


def bayesian_sign_test(
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    *,
    rope: float = 0.0,
    prior_weight: float = 1.0,
    n_samples: int = 50_000,
    seed: SeedLike = 0,
    higher_is_better: bool = True,
) -> BayesianComparison:
    """Bayesian sign test: Dirichlet over the counts left of, inside and right of the ROPE.

    The prior weight goes to the ROPE (as in baycomp), and 1e-4 is added to every count.

    Parameters
    ----------
    scores_a, scores_b : arrays of shape (n_datasets,)
    rope : float
    prior_weight : float
    n_samples : int
    seed : int or numpy.random.Generator
    higher_is_better : bool

    Returns
    -------
    BayesianComparison

    Examples
    --------
    >>> result = bayesian_sign_test([1, 2, 3, 4, 5], [2, 3, 4, 5, 6], rope=0.5, seed=0)
    >>> result.p_right > 0.9
    True
    """
    rope = check_rope(rope)
    n_samples = check_n_resamples(n_samples)
    differences = _differences(scores_a, scores_b, higher_is_better)
    rng = as_generator(seed)
    n_left = float(np.sum(differences < -rope))
    n_right = float(np.sum(differences > rope))
    n_rope = differences.size - n_left - n_right
    concentration = np.array([n_left, n_rope + prior_weight, n_right]) + 1e-4
    theta = rng.dirichlet(concentration, size=n_samples)
    shares = _split_wins(theta) / n_samples
    return BayesianComparison(
        float(shares[0]),
        float(shares[1]),
        float(shares[2]),
        rope,
        msg.TEST_BAYESIAN_SIGN,
        n_samples,
    )
