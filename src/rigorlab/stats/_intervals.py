"""Intervals for the mean of replicate scores: t-based, percentile bootstrap and BCa bootstrap.

The bootstrap is written by hand and vectorised across groups: a study needs one interval per
(arm, dataset, metric), and ``scipy.stats.bootstrap`` resamples one statistic of one sample
per call. Here every group with the same number of replicates shares one table of resample
counts (n_resamples x n, drawn once from one generator), so all their bootstrap means are one
matrix product. Each interval is still an ordinary bootstrap interval with ``n_resamples``
resamples; only the Monte Carlo errors of different groups are correlated, which no single
interval's coverage depends on. For a single group the resample indices are drawn exactly as
scipy draws them (``rng.integers(0, n, (n_resamples, n))``), and the BCa formulas follow scipy
(Efron & Tibshirani 1993, 14.3 and 15.4), so both give the same interval (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import (
    FloatArray,
    SeedLike,
    as_float_array,
    as_generator,
    as_score_table,
    check_confidence,
    check_n_resamples,
    json_safe,
)

IntervalMethod = Literal["t", "bca", "percentile"]
INTERVAL_METHODS: tuple[str, ...] = ("t", "bca", "percentile")

ARM_ESTIMATE_COLUMNS: tuple[str, ...] = ("arm", "mean", "low", "high", "std", "n", "method")

TIE_RELATIVE_TOLERANCE = 1e-12
"""Bootstrap means within this fraction of the largest |value| of the estimate count as ties in
the BCa bias correction (rounding of a reordered sum is ~1e-16 relative per term)."""

MIN_REPLICATES_FOR_BOOTSTRAP = 20
"""Below this many values a bootstrap interval of the mean undercovers noticeably (BCa and
percentile cover about 89% at n = 8 for a nominal 95%, the t interval 95%): they get a warning."""

# Resample indices and bootstrap distributions are handled in blocks of at most this many
# elements (16 MiB of float64), so memory stays flat however many groups or resamples.
_MAX_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval.

    Attributes
    ----------
    estimate : float
        The statistic on the observed data (here: the mean).
    low, high : float
        Interval bounds; NaN when there are fewer than 2 observations.
    confidence : float
        Nominal coverage, e.g. 0.95.
    method : str
        ``"t"``, ``"bca"`` or ``"percentile"``.
    warnings : tuple of str
        E.g. that a bootstrap interval rests on too few values to reach its coverage.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN becomes ``None``)."""
        return dict(json_safe(asdict(self)))


def check_interval_method(method: str) -> str:
    """Validate an interval method name."""
    if method not in INTERVAL_METHODS:
        raise InputError(msg.BAD_INTERVAL_METHOD.format(allowed=", ".join(INTERVAL_METHODS), value=method))
    return method


def t_bounds(
    means: FloatArray, sds: FloatArray, counts: npt.NDArray[np.int64], confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Student-t bounds ``mean +- t_{n-1} * sd / sqrt(n)``, elementwise; NaN where n < 2.

    The t quantile, not 1.96: with a handful of replicates the normal quantile undercovers
    badly (t_{4, 0.975} = 2.78).
    """
    low = np.full(means.shape, np.nan)
    high = np.full(means.shape, np.nan)
    usable = counts >= 2
    if usable.any():
        quantile = special.stdtrit(counts[usable] - 1, 0.5 + confidence / 2)
        half_width = quantile * sds[usable] / np.sqrt(counts[usable])
        low[usable] = means[usable] - half_width
        high[usable] = means[usable] + half_width
    return low, high


def resample_counts(n: int, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """How often each of n observations appears in each bootstrap resample.

    Parameters
    ----------
    n : int
        Sample size.
    n_resamples : int
        Number of resamples.
    rng : numpy.random.Generator
        Draws ``rng.integers(0, n, (n_resamples, n))``, as scipy does, in blocks.

    Returns
    -------
    array of shape (n_resamples, n)
        Each row sums to n.
    """
    counts = np.empty((n_resamples, n))
    per_block = max(1, _MAX_BLOCK_ELEMENTS // n)
    for start in range(0, n_resamples, per_block):
        size = min(per_block, n_resamples - start)
        index = rng.integers(0, n, size=(size, n))
        index += (np.arange(size) * n)[:, None]
        counts[start : start + size] = np.bincount(index.ravel(), minlength=size * n).reshape(size, n)
    return counts


def bootstrap_mean_distribution(values: FloatArray, counts: FloatArray) -> FloatArray:
    """Bootstrap means of many equal-length samples sharing one table of resample counts.

    Parameters
    ----------
    values : array of shape (n_groups, n)
        One sample per row.
    counts : array of shape (n_resamples, n)
        From :func:`resample_counts`.

    Returns
    -------
    array of shape (n_groups, n_resamples)
    """
    distribution: FloatArray = values @ counts.T
    distribution /= values.shape[1]
    return distribution


def percentile_bounds(distribution: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval per row of a bootstrap distribution of shape (n_groups, n_resamples).

    numpy's default "linear" quantile, computed from one partition around the four order
    statistics involved (``np.quantile`` along an axis is several times slower here).
    """
    n_resamples = distribution.shape[1]
    tail = (1 - confidence) / 2
    positions = np.array([tail, 1 - tail]) * (n_resamples - 1)
    below = np.floor(positions).astype(np.int64)
    above = np.minimum(below + 1, n_resamples - 1)
    ordered = np.partition(distribution, np.unique(np.concatenate([below, above])), axis=1)
    fraction = positions - below
    bounds = ordered[:, below] + (ordered[:, above] - ordered[:, below]) * fraction
    return bounds[:, 0], bounds[:, 1]


def _row_quantiles(distribution: FloatArray, probabilities: FloatArray) -> FloatArray:
    # numpy's default "linear" quantile with one probability per row. Partitioning each row
    # around the two order statistics it needs is ~5x faster than sorting every row.
    n_resamples = distribution.shape[1]
    position = np.clip(probabilities, 0.0, 1.0) * (n_resamples - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n_resamples - 1)
    result = np.empty(distribution.shape[0])
    for row in range(distribution.shape[0]):
        ordered = np.partition(distribution[row], (below[row], above[row]))
        low_value, high_value = ordered[below[row]], ordered[above[row]]
        result[row] = low_value + (high_value - low_value) * (position[row] - below[row])
    return result


def bca_bounds(values: FloatArray, distribution: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """BCa interval of the mean, per row.

    Parameters
    ----------
    values : array of shape (n_groups, n)
        The observed samples (no NaN), n >= 2 and not constant.
    distribution : array of shape (n_groups, n_resamples)
        Bootstrap means of each sample.
    confidence : float
        Nominal coverage.

    Returns
    -------
    low, high : arrays of shape (n_groups,)
    """
    n_resamples = distribution.shape[1]
    estimate = values.mean(axis=1, keepdims=True)
    # scipy's "mean" percentile-of-score: ties count half. A resample that is a permutation of
    # the sample (9% of them at n = 4) has exactly the sample's mean, but the matrix product sums
    # in another order and lands an ulp or so above or below it: compare within a tolerance of a
    # few hundred ulps of the data's magnitude, far below any real difference between means.
    tolerance = TIE_RELATIVE_TOLERANCE * np.max(np.abs(values), axis=1, keepdims=True)
    below = np.count_nonzero(distribution < estimate - tolerance, axis=1)
    tied = np.count_nonzero(np.abs(distribution - estimate) <= tolerance, axis=1)
    share_below = (below + 0.5 * tied) / n_resamples
    # A share of exactly 0 or 1 would make z0 infinite and the bounds NaN (scipy warns there);
    # keep it half a resample inside.
    share_below = np.clip(share_below, 0.5 / n_resamples, 1 - 0.5 / n_resamples)
    bias = special.ndtri(share_below)
    n = values.shape[1]
    # Jackknife means have a closed form: leave x_i out of the sum.
    jackknife = (values.sum(axis=1, keepdims=True) - values) / (n - 1)
    deviation = jackknife.mean(axis=1, keepdims=True) - jackknife
    # The acceleration is scale-free: rescale first so tiny deviations cannot underflow to 0/0.
    largest = np.max(np.abs(deviation), axis=1, keepdims=True)
    deviation = np.divide(deviation, largest, out=np.zeros_like(deviation), where=largest > 0)
    spread = np.sum(deviation**2, axis=1)
    acceleration = np.divide(
        np.sum(deviation**3, axis=1),
        6 * spread**1.5,
        out=np.zeros_like(spread),
        where=spread > 0,
    )
    z_tail = float(special.ndtri((1 - confidence) / 2))
    lower_shift = bias + z_tail
    upper_shift = bias - z_tail
    lower_level = special.ndtr(bias + lower_shift / (1 - acceleration * lower_shift))
    upper_level = special.ndtr(bias + upper_shift / (1 - acceleration * upper_shift))
    return _row_quantiles(distribution, lower_level), _row_quantiles(distribution, upper_level)


@dataclass(frozen=True)
class GroupIntervals:
    """Intervals for many groups at once (internal to the package; arrays of shape (n_groups,))."""

    mean: FloatArray
    low: FloatArray
    high: FloatArray
    std: FloatArray
    n: npt.NDArray[np.int64]
    method: str

    def subset(self, positions: Sequence[int]) -> GroupIntervals:
        """The groups at ``positions``, in that order."""
        picks = list(positions)
        return GroupIntervals(
            self.mean[picks],
            self.low[picks],
            self.high[picks],
            self.std[picks],
            self.n[picks],
            self.method,
        )


def group_intervals(
    samples: Sequence[FloatArray],
    *,
    method: str,
    confidence: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> GroupIntervals:
    """Mean and interval of each sample; samples hold finite values only.

    Bootstrap samples of equal length are resampled together; groups with fewer than 2 values
    get NaN bounds and constant groups get ``low == high == mean`` (no resampling needed).
    """
    count = len(samples)
    n = np.array([len(sample) for sample in samples], dtype=np.int64)
    mean = np.array([sample.mean() if len(sample) else np.nan for sample in samples], dtype=np.float64)
    std = np.array(
        [sample.std(ddof=1) if len(sample) >= 2 else np.nan for sample in samples],
        dtype=np.float64,
    )
    if method == "t":
        low, high = t_bounds(mean, std, n, confidence)
        return GroupIntervals(mean, low, high, std, n, method)
    low = np.full(count, np.nan)
    high = np.full(count, np.nan)
    constant = np.array([len(sample) >= 2 and np.ptp(sample) == 0 for sample in samples], dtype=bool)
    low[constant] = mean[constant]
    high[constant] = mean[constant]
    varying = [index for index in range(count) if n[index] >= 2 and not constant[index]]
    # Stable order of lengths keeps the draws reproducible for a given list of samples.
    for length in sorted({int(n[index]) for index in varying}):
        members = [index for index in varying if n[index] == length]
        counts = resample_counts(length, n_resamples, rng)
        # Bound the (groups x resamples) block held in memory at once.
        per_block = max(1, _MAX_BLOCK_ELEMENTS // n_resamples)
        for start in range(0, len(members), per_block):
            block = members[start : start + per_block]
            values = np.stack([samples[index] for index in block])
            distribution = bootstrap_mean_distribution(values, counts)
            if method == "bca":
                group_low, group_high = bca_bounds(values, distribution, confidence)
            else:
                group_low, group_high = percentile_bounds(distribution, confidence)
            low[block] = group_low
            high[block] = group_high
    return GroupIntervals(mean, low, high, std, n, method)


def bootstrap_mean_intervals(
    samples: Sequence[npt.ArrayLike],
    *,
    method: Literal["bca", "percentile"] = "bca",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
) -> FloatArray:
    """Bootstrap intervals of the mean for many samples at once, from one generator.

    Parameters
    ----------
    samples : sequence of arrays of shape (n_i,)
        One sample per interval; NaN entries (failed trials) are dropped.
    method : {"bca", "percentile"}
        Interval construction.
    confidence : float
        Nominal coverage.
    n_resamples : int
        Bootstrap resamples per sample.
    seed : int or numpy.random.Generator
        Randomness; the same seed gives the same intervals.

    Returns
    -------
    array of shape (n_samples, 2)
        Columns are the low and high bound; NaN where a sample has fewer than 2 values.

    Examples
    --------
    >>> import numpy as np
    >>> samples = [np.array([0.81, 0.84, 0.80, 0.86]), np.array([0.70, 0.75, 0.71])]
    >>> bootstrap_mean_intervals(samples, n_resamples=2000, seed=1).shape
    (2, 2)
    """
    if method not in ("bca", "percentile"):
        raise InputError(msg.BAD_INTERVAL_METHOD.format(allowed="bca, percentile", value=method))
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    cleaned = [_finite(as_float_array(sample, "sample", ndims=(1,))) for sample in samples]
    result = group_intervals(
        cleaned,
        method=method,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=as_generator(seed),
    )
    return np.column_stack([result.low, result.high])


def _finite(values: FloatArray) -> FloatArray:
    return values[~np.isnan(values)]


def mean_interval(
    values: npt.ArrayLike,
    *,
    method: IntervalMethod = "t",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
) -> Interval:
    """Mean of replicate scores with a two-sided interval.

    Parameters
    ----------
    values : array of shape (n_replicates,)
        One score per replicate; NaN marks a failed replicate and is dropped.
    method : {"t", "bca", "percentile"}
        ``"t"``: Student-t interval (default; exact for normal scores, sound for few
        replicates). ``"bca"``: bias-corrected and accelerated bootstrap.
        ``"percentile"``: percentile bootstrap.
    confidence : float
        Nominal coverage, default 0.95.
    n_resamples : int
        Bootstrap resamples (ignored by ``"t"``).
    seed : int or numpy.random.Generator
        Randomness for the bootstrap.

    Returns
    -------
    Interval
        ``low``/``high`` are NaN with a single replicate. A bootstrap interval from fewer than
        :data:`MIN_REPLICATES_FOR_BOOTSTRAP` values carries a warning: it covers less than it
        claims (the t interval does not).

    Examples
    --------
    >>> interval = mean_interval([0.81, 0.84, 0.80, 0.86, 0.83])
    >>> round(interval.estimate, 3), interval.method
    (0.828, 't')
    >>> interval.low < interval.estimate < interval.high
    True
    """
    check_interval_method(method)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    sample = _finite(as_float_array(values, "values", ndims=(1,)))
    if sample.size == 0:
        raise InputError(msg.EMPTY_SAMPLE.format(name="values"))
    result = group_intervals(
        [sample],
        method=method,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=as_generator(seed),
    )
    notes: tuple[str, ...] = ()
    if method != "t" and 2 <= sample.size < MIN_REPLICATES_FOR_BOOTSTRAP:
        notes = (msg.WARN_FEW_FOR_BOOTSTRAP.format(n=sample.size, minimum=MIN_REPLICATES_FOR_BOOTSTRAP),)
    return Interval(
        estimate=float(result.mean[0]),
        low=float(result.low[0]),
        high=float(result.high[0]),
        confidence=confidence,
        method=method,
        warnings=notes,
    )


def arm_intervals(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    arm_names: Sequence[str] | None = None,
    method: IntervalMethod = "t",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Per-arm mean, interval, standard deviation and replicate count.

    Parameters
    ----------
    scores : array of shape (n_replicates, n_arms) or DataFrame
        One row per replicate, one column per arm (a DataFrame's columns name the arms). NaN
        marks a failed replicate of that arm.
    arm_names : sequence of str, optional
        Names for an array's columns (default ``arm_0``, ``arm_1``, ...).
    method, confidence, n_resamples, seed
        As in :func:`mean_interval`; all arms share one generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm, mean, low, high, std, n, method``, one row per arm.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"logreg": [0.80, 0.82, 0.81], "hgb": [0.85, 0.86, 0.83]})
    >>> table = arm_intervals(scores)
    >>> list(table["arm"]), list(table["n"])
    (['logreg', 'hgb'], [3, 3])
    """
    check_interval_method(method)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    values, names = as_score_table(scores, "scores", arm_names=arm_names)
    samples = [_finite(values[:, column]) for column in range(values.shape[1])]
    result = group_intervals(
        samples,
        method=method,
        confidence=confidence,
        n_resamples=n_resamples,
        rng=as_generator(seed),
    )
    return pd.DataFrame(
        {
            "arm": names,
            "mean": result.mean,
            "low": result.low,
            "high": result.high,
            "std": result.std,
            "n": result.n,
            "method": method,
        },
        columns=list(ARM_ESTIMATE_COLUMNS),
    )
