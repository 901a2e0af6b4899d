"""k arms over m datasets: Friedman / Iman-Davenport, Nemenyi, pairwise Wilcoxon-Holm.

Following Demšar (2006): rank the arms within each dataset (rank 1 = best, ties share the mean
rank), test whether the average ranks differ (Friedman's chi-square with the tie correction,
and the less conservative Iman-Davenport F), then compare all pairs with Nemenyi's test
(studentized range with infinite degrees of freedom) and the critical difference, and with
Wilcoxon signed-rank tests on the datasets' scores, Holm-corrected (Benavoli et al. 2016 prefer
the latter: Nemenyi's outcome for two arms depends on the other arms in the study).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from rigorlab.errors import InputError

from . import _messages as msg
from ._baseline import holm_adjust
from ._common import FloatArray, as_score_table, json_safe

WILCOXON_COLUMNS: tuple[str, ...] = (
    "arm_a",
    "arm_b",
    "n_datasets",
    "median_diff",
    "statistic",
    "p_value",
    "p_adjusted",
    "significant",
)
NEMENYI_COLUMNS: tuple[str, ...] = ("arm_a", "arm_b", "rank_diff", "p_value", "significant")

MIN_DATASETS_FOR_RANKING = 5
"""Fewest datasets for which :func:`rigorlab.stats.compare_study` tests arms across datasets
(Friedman / Iman-Davenport, Nemenyi and its critical-difference diagram, Wilcoxon-Holm, and the
Bayesian signed-rank test); with fewer it reports average ranks as a description only.

Demšar (2006) recommends many datasets (the chi-square approximation of the Friedman statistic
wants N > 10). Below 5 the tests say little: when 2 datasets order 3 arms alike, the
Iman-Davenport F is infinite and its p-value 0, while the exact Friedman p-value of that outcome
is 1/3!^(N-1) = 1/6; a two-sided Wilcoxon p-value cannot go below 2/2^N (0.25 at 3
datasets); the Bayesian signed-rank posterior is dominated by its prior pseudo-observation. The
functions of this module still accept 2 or more datasets for callers who know what they ask."""


def _score_matrix(
    scores: npt.ArrayLike | pd.DataFrame,
    arm_names: Sequence[str] | None,
    what: str,
    minimum_datasets: int = 2,
    minimum_arms: int = 2,
) -> tuple[FloatArray, list[str]]:
    values, names = as_score_table(scores, "scores", arm_names=arm_names)
    if np.isnan(values).any():
        raise InputError(msg.MISSING_SCORES_IN_RANKING.format(name="scores"))
    if values.shape[0] < minimum_datasets:
        raise InputError(msg.TOO_FEW_DATASETS.format(what=what, minimum=minimum_datasets, n_datasets=values.shape[0]))
    if values.shape[1] < minimum_arms:
        raise InputError(msg.TOO_FEW_ARMS.format(what=what, minimum=minimum_arms, n_arms=values.shape[1]))
    return values, names


def _ranks(values: FloatArray, higher_is_better: bool) -> FloatArray:
    oriented = -values if higher_is_better else values
    ranks: FloatArray = stats.rankdata(oriented, axis=1)
    return ranks


def average_ranks(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    arm_names: Sequence[str] | None = None,
    higher_is_better: bool = True,
) -> pd.Series:
    """Average rank of each arm over datasets (rank 1 = best; ties get the mean rank).

    Parameters
    ----------
    scores : array of shape (n_datasets, n_arms) or DataFrame
        One row per dataset (e.g. the mean over replicates), one column per arm.
    arm_names : sequence of str, optional
        Names for an array's columns.
    higher_is_better : bool
        ``False`` ranks the smallest score first.

    Returns
    -------
    pandas.Series
        Indexed by arm, named ``"average_rank"``.

    Examples
    --------
    >>> average_ranks([[0.9, 0.8, 0.7], [0.8, 0.9, 0.7]], arm_names=["a", "b", "c"]).tolist()
    [1.5, 1.5, 3.0]
    """
    values, names = _score_matrix(scores, arm_names, "Ranking", minimum_datasets=1)
    return pd.Series(_ranks(values, higher_is_better).mean(axis=0), index=names, name="average_rank")


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test with the Iman-Davenport correction.

    Attributes
    ----------
    chi2, chi2_p_value : float
        Tie-corrected Friedman statistic (as ``scipy.stats.friedmanchisquare``) and its
        chi-square p-value with k - 1 degrees of freedom.
    iman_davenport, iman_davenport_p_value : float
        ``F = (n - 1) chi2 / (n (k - 1) - chi2)`` on (k - 1, (k - 1)(n - 1)) degrees of freedom;
        infinite (p = 0) when every dataset ranks the arms identically.
    df_numerator, df_denominator : int
    n_datasets, n_arms : int
    """

    chi2: float
    chi2_p_value: float
    iman_davenport: float
    iman_davenport_p_value: float
    df_numerator: int
    df_denominator: int
    n_datasets: int
    n_arms: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (an infinite F becomes ``None``)."""
        return dict(json_safe(self.__dict__))


def _friedman_from_ranks(ranks: FloatArray) -> FriedmanResult:
    n_datasets, n_arms = ranks.shape
    rank_sums = ranks.sum(axis=0)
    tie_term = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        tie_term += float(np.sum(counts**3 - counts))
    tie_correction = 1 - tie_term / (n_datasets * n_arms * (n_arms**2 - 1))
    df_numerator = n_arms - 1
    df_denominator = (n_arms - 1) * (n_datasets - 1)
    if tie_correction <= 0:
        # Every dataset ties every arm: nothing differs.
        return FriedmanResult(0.0, 1.0, 0.0, 1.0, df_numerator, df_denominator, n_datasets, n_arms)
    uncorrected = 12.0 / (n_datasets * n_arms * (n_arms + 1)) * float(np.sum(rank_sums**2)) - 3.0 * n_datasets * (
        n_arms + 1
    )
    chi2 = max(0.0, uncorrected / tie_correction)
    chi2_p_value = float(stats.chi2.sf(chi2, df_numerator))
    denominator = n_datasets * (n_arms - 1) - chi2
    if denominator <= 1e-12 * n_datasets * n_arms:
        iman_davenport, iman_davenport_p_value = math.inf, 0.0
    else:
        iman_davenport = (n_datasets - 1) * chi2 / denominator
        iman_davenport_p_value = (
            float(stats.f.sf(iman_davenport, df_numerator, df_denominator)) if df_denominator > 0 else math.nan
        )
    return FriedmanResult(
        chi2=chi2,
        chi2_p_value=chi2_p_value,
        iman_davenport=iman_davenport,
        iman_davenport_p_value=iman_davenport_p_value,
        df_numerator=df_numerator,
        df_denominator=df_denominator,
        n_datasets=n_datasets,
        n_arms=n_arms,
    )


def friedman_test(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    arm_names: Sequence[str] | None = None,
    higher_is_better: bool = True,
) -> FriedmanResult:
    """Friedman test (tie-corrected) with the Iman-Davenport F.

    Parameters
    ----------
    scores : array of shape (n_datasets, n_arms) or DataFrame
        One row per dataset, one column per arm; no missing values.
    arm_names : sequence of str, optional
    higher_is_better : bool
        Only orients the ranks; the statistic does not depend on it.

    Returns
    -------
    FriedmanResult

    Examples
    --------
    >>> result = friedman_test([[0.9, 0.8, 0.7], [0.85, 0.8, 0.6], [0.7, 0.75, 0.5]])
    >>> round(result.chi2, 3), result.df_numerator
    (4.667, 2)
    """
    values, _ = _score_matrix(scores, arm_names, "The Friedman test")
    return _friedman_from_ranks(_ranks(values, higher_is_better))


def critical_difference(n_arms: int, n_datasets: int, *, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: ``q_alpha / sqrt(2) * sqrt(k(k+1)/(6n))``.

    ``q_alpha`` is the studentized range quantile for k groups and infinite degrees of freedom.

    Parameters
    ----------
    n_arms, n_datasets : int
    alpha : float

    Returns
    -------
    float
        In units of average rank.

    Examples
    --------
    >>> round(critical_difference(4, 10), 3)
    1.483
    """
    q_alpha = float(stats.studentized_range.ppf(1 - alpha, n_arms, np.inf))
    return q_alpha / math.sqrt(2) * math.sqrt(n_arms * (n_arms + 1) / (6 * n_datasets))


@dataclass(frozen=True)
class NemenyiResult:
    """Nemenyi all-pairs test after Friedman.

    Attributes
    ----------
    critical_difference : float
        Two average ranks further apart than this differ at level ``alpha``.
    alpha : float
    average_ranks : pandas.Series
        Indexed by arm.
    p_values : pandas.DataFrame
        Square, indexed and columned by arm; 1 on the diagonal.
    """

    critical_difference: float
    alpha: float
    average_ranks: pd.Series
    p_values: pd.DataFrame

    def pairs(self) -> pd.DataFrame:
        """Long table of the pairs, columns :data:`NEMENYI_COLUMNS`."""
        names = list(self.average_ranks.index)
        rows = [
            {
                "arm_a": first,
                "arm_b": second,
                "rank_diff": float(self.average_ranks[first] - self.average_ranks[second]),
                "p_value": float(self.p_values.loc[first, second]),
                "significant": bool(self.p_values.loc[first, second] < self.alpha),
            }
            for first, second in combinations(names, 2)
        ]
        return pd.DataFrame(rows, columns=list(NEMENYI_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return dict(
            json_safe(
                {
                    "critical_difference": self.critical_difference,
                    "alpha": self.alpha,
                    "average_ranks": self.average_ranks,
                    "pairs": self.pairs(),
                }
            )
        )


def _nemenyi_from_ranks(ranks: FloatArray, names: list[str], alpha: float) -> NemenyiResult:
    n_datasets, n_arms = ranks.shape
    mean_ranks = ranks.mean(axis=0)
    scale = math.sqrt(n_arms * (n_arms + 1) / (6 * n_datasets))
    q_values = np.abs(mean_ranks[:, None] - mean_ranks[None, :]) / scale * math.sqrt(2)
    p_values = np.ones((n_arms, n_arms))
    upper = np.triu_indices(n_arms, k=1)
    p_values[upper] = stats.studentized_range.sf(q_values[upper], n_arms, np.inf)
    p_values = np.minimum(p_values, p_values.T)
    return NemenyiResult(
        critical_difference=critical_difference(n_arms, n_datasets, alpha=alpha),
        alpha=alpha,
        average_ranks=pd.Series(mean_ranks, index=names, name="average_rank"),
        p_values=pd.DataFrame(p_values, index=names, columns=names),
    )


def nemenyi_test(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    arm_names: Sequence[str] | None = None,
    higher_is_better: bool = True,
    alpha: float = 0.05,
) -> NemenyiResult:
    """Nemenyi all-pairs test of average ranks (p-values as R's ``frdAllPairsNemenyiTest``).

    Parameters
    ----------
    scores : array of shape (n_datasets, n_arms) or DataFrame
    arm_names : sequence of str, optional
    higher_is_better : bool
    alpha : float
        Level of the critical difference.

    Returns
    -------
    NemenyiResult

    Examples
    --------
    >>> result = nemenyi_test([[0.9, 0.8, 0.7]] * 6, arm_names=["a", "b", "c"])
    >>> result.average_ranks.tolist(), round(result.critical_difference, 3)
    ([1.0, 2.0, 3.0], 1.353)
    """
    values, names = _score_matrix(scores, arm_names, "The Nemenyi test")
    return _nemenyi_from_ranks(_ranks(values, higher_is_better), names, alpha)


def pairwise_wilcoxon(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    arm_names: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Wilcoxon signed-rank test for every pair of arms over datasets, Holm-corrected.

    Uses ``scipy.stats.wilcoxon`` with its defaults (zero differences dropped, exact
    distribution for small samples). A pair whose scores agree on every dataset gets p = 1.

    Parameters
    ----------
    scores : array of shape (n_datasets, n_arms) or DataFrame
    arm_names : sequence of str, optional
    alpha : float
        Level for the ``significant`` column (on the Holm-adjusted p-value).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`WILCOXON_COLUMNS`; ``median_diff`` is ``arm_a - arm_b``.

    Examples
    --------
    >>> table = pairwise_wilcoxon([[1, 2], [2, 4], [3, 5], [4, 7], [5, 9], [6, 8]])
    >>> round(float(table["p_value"].iloc[0]), 4)
    0.0312
    """
    values, names = _score_matrix(scores, arm_names, "Pairwise Wilcoxon tests")
    pairs = list(combinations(range(len(names)), 2))
    first = values[:, [pair[0] for pair in pairs]]
    second = values[:, [pair[1] for pair in pairs]]
    differences = first - second
    statistic = np.zeros(len(pairs))
    p_value = np.ones(len(pairs))
    # scipy's "auto" method picks, per call, the exact null distribution when n <= 50 and the
    # |differences| have no zeros or ties; a vectorised call would pick one method for all
    # pairs. So pairs that qualify go through one vectorised exact call, the rest (zeros,
    # ties, n > 50) one call each with scipy's defaults: the numbers equal per-pair calls.
    magnitudes = np.sort(np.abs(differences), axis=0)
    clean = (magnitudes[0] > 0) & np.all(np.diff(magnitudes, axis=0) > 0, axis=0)
    exact = clean if values.shape[0] <= 50 else np.zeros(len(pairs), dtype=bool)
    if exact.any():
        outcome = stats.wilcoxon(first[:, exact], second[:, exact], axis=0, method="exact")
        statistic[exact] = outcome.statistic
        p_value[exact] = outcome.pvalue
    for column in np.flatnonzero(~exact):
        if np.any(differences[:, column] != 0):
            outcome = stats.wilcoxon(first[:, column], second[:, column])
            statistic[column], p_value[column] = float(outcome.statistic), float(outcome.pvalue)
    rows = [
        {
            "arm_a": names[pair[0]],
            "arm_b": names[pair[1]],
            "n_datasets": values.shape[0],
            "median_diff": float(np.median(differences[:, column])),
            "statistic": float(statistic[column]),
            "p_value": float(p_value[column]),
        }
        for column, pair in enumerate(pairs)
    ]
    table = pd.DataFrame(rows)
    table["p_adjusted"] = holm_adjust(table["p_value"].to_numpy(dtype=np.float64))
    table["significant"] = table["p_adjusted"] < alpha
    return table[list(WILCOXON_COLUMNS)]


@dataclass(frozen=True)
class RankingResult:
    """Everything about k arms over m datasets.

    Attributes
    ----------
    arms, datasets : tuple of str
    scores : pandas.DataFrame
        The input, datasets x arms.
    higher_is_better : bool
    friedman : FriedmanResult
    nemenyi : NemenyiResult
        Holds the average ranks and the critical difference.
    wilcoxon : pandas.DataFrame
        Pairwise Wilcoxon-Holm table.
    """

    arms: tuple[str, ...]
    datasets: tuple[str, ...]
    scores: pd.DataFrame
    higher_is_better: bool
    friedman: FriedmanResult
    nemenyi: NemenyiResult
    wilcoxon: pd.DataFrame

    @property
    def average_ranks(self) -> pd.Series:
        """Average rank per arm (1 = best)."""
        return self.nemenyi.average_ranks

    @property
    def critical_difference(self) -> float:
        """Nemenyi critical difference."""
        return self.nemenyi.critical_difference

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return dict(
            json_safe(
                {
                    "arms": self.arms,
                    "datasets": self.datasets,
                    "higher_is_better": self.higher_is_better,
                    "friedman": self.friedman.to_dict(),
                    "nemenyi": self.nemenyi.to_dict(),
                    "wilcoxon": self.wilcoxon,
                }
            )
        )


def rank_arms(
    scores: npt.ArrayLike | pd.DataFrame,
    *,
    arm_names: Sequence[str] | None = None,
    dataset_names: Sequence[str] | None = None,
    higher_is_better: bool = True,
    alpha: float = 0.05,
) -> RankingResult:
    """Friedman/Iman-Davenport, average ranks, Nemenyi and Wilcoxon-Holm in one call.

    Parameters
    ----------
    scores : array of shape (n_datasets, n_arms) or DataFrame
        One row per dataset (index = dataset names for a DataFrame), one column per arm.
    arm_names, dataset_names : sequence of str, optional
    higher_is_better : bool
    alpha : float

    Returns
    -------
    RankingResult

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {"a": [0.9, 0.8, 0.85], "b": [0.7, 0.75, 0.7]}, index=["d1", "d2", "d3"]
    ... )
    >>> rank_arms(table).average_ranks.tolist()
    [1.0, 2.0]
    """
    values, names = _score_matrix(scores, arm_names, "Ranking across datasets")
    if isinstance(scores, pd.DataFrame):
        datasets = [str(index) for index in scores.index]
    elif dataset_names is not None:
        datasets = [str(name) for name in dataset_names]
    else:
        datasets = [f"dataset_{index}" for index in range(values.shape[0])]
    ranks = _ranks(values, higher_is_better)
    return RankingResult(
        arms=tuple(names),
        datasets=tuple(datasets),
        scores=pd.DataFrame(values, index=datasets, columns=names),
        higher_is_better=higher_is_better,
        friedman=_friedman_from_ranks(ranks),
        nemenyi=_nemenyi_from_ranks(ranks, names, alpha),
        wilcoxon=pairwise_wilcoxon(values, arm_names=names, alpha=alpha),
    )
