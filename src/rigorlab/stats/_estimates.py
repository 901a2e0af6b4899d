"""Per-arm estimates of a study: the mean of every (metric, dataset, arm) with an interval that
matches the comparisons.

The mean is always the mean over replicates of the replicate's fold-averaged score. What the
interval covers depends on the method:

- ``"auto"`` (the default of :func:`compare_study`): the interval that matches the split design
  of the paired tests.

  - resampled splits (new splits per replicate): Student-t over all J fold-level scores with the
    Nadeau-Bengio variance ``s^2 (1/J + n_test/n_train)`` (method ``"t_nb"``). It estimates the
    arm's expected score when trained on a dataset of this size, the data-sampling variation
    included (approximately: the correction is a heuristic), and unlike an interval over
    replicates it does not shrink to zero as replicates grow. One fold per replicate and unknown
    sizes: the plain t interval over replicates (``"t"``), as the paired t-test.
  - one shared k-fold split: the scores are averaged over replicates within each fold, then the
    same corrected t interval over the k fold means (J = k, df = k - 1).
  - a fixed split: Student-t over replicates (``"t"``). It covers run-to-run (seed) variation
    on that split only.
  - unknown: the wider of the resampled and the shared interval.

- ``"t"``, ``"bca"``, ``"percentile"``: over the replicate means, as :func:`mean_interval`. They
  cover the variation between replicates of this dataset (new splits and seeds, or seeds only),
  not the sampling of the dataset.

A t interval is symmetric and can cross the edge of a bounded metric (accuracy 0.977 [0.942,
1.012]); :func:`clip_to_bounds` cuts such bounds at the metric's range
(:func:`rigorlab.models.metric_bounds`), and the legend says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from rigorlab.models import metric_bounds

from . import _messages as msg
from ._common import FloatArray
from ._intervals import MIN_REPLICATES_FOR_BOOTSTRAP, group_intervals
from ._study import ESTIMATE_COLUMNS

METHOD_T_NB = "t_nb"
"""``method`` of an estimate with the Nadeau-Bengio corrected t interval."""

GROUP = ["metric", "dataset", "arm"]


def estimates_table(
    data: pd.DataFrame,
    *,
    metric_order: list[str],
    dataset_order: list[str],
    arm_order: list[str],
    method: str,
    splits: str,
    confidence: float,
    n_resamples: int,
    rng: np.random.Generator,
    problems: list[str],
) -> pd.DataFrame:
    """One row per (metric, dataset, arm) with columns :data:`ESTIMATE_COLUMNS`, in display order."""
    replicate_means = data.groupby([*GROUP, "replicate"], sort=True)["value"].mean()
    keys: list[tuple[str, str, str]] = []
    samples: list[FloatArray] = []
    for key, group in replicate_means.groupby(level=[0, 1, 2], sort=True):
        metric, dataset, arm = (str(part) for part in tuple(key))  # type: ignore[arg-type]
        keys.append((metric, dataset, arm))
        samples.append(group.to_numpy(dtype=np.float64))
    interval_method = "t" if method == "auto" else method
    result = group_intervals(samples, method=interval_method, confidence=confidence, n_resamples=n_resamples, rng=rng)
    low, high = result.low, result.high
    methods = np.full(len(keys), interval_method, dtype=object)
    if method == "auto" and splits != "fixed":
        index = pd.MultiIndex.from_tuples(keys, names=GROUP)
        corrected = _corrected_bounds(data, index, result.mean, splits, confidence)
        use = np.isfinite(corrected[0])
        low = np.where(use, corrected[0], low)
        high = np.where(use, corrected[1], high)
        methods[use] = METHOD_T_NB
    if method in ("bca", "percentile"):
        few = [int(count) for count in result.n if 2 <= count < MIN_REPLICATES_FOR_BOOTSTRAP]
        if few:
            problems.append(
                msg.PROBLEM_FEW_REPLICATES_FOR_BOOTSTRAP.format(
                    method="BCa" if method == "bca" else "Percentile bootstrap",
                    count=len(few),
                    minimum=MIN_REPLICATES_FOR_BOOTSTRAP,
                    fewest=min(few),
                )
            )
    table = pd.DataFrame(
        {
            "arm": [key[2] for key in keys],
            "dataset": [key[1] for key in keys],
            "metric": [key[0] for key in keys],
            "mean": result.mean,
            "low": low,
            "high": high,
            "std": result.std,
            "n": result.n,
            "method": methods.astype(str),
        },
        columns=list(ESTIMATE_COLUMNS),
    )
    order = {
        "metric": {name: position for position, name in enumerate(metric_order)},
        "dataset": {name: position for position, name in enumerate(dataset_order)},
        "arm": {name: position for position, name in enumerate(arm_order)},
    }
    sort_keys = pd.DataFrame({column: table[column].map(order[column]) for column in order})
    ranked = sort_keys.sort_values(["metric", "dataset", "arm"], kind="stable").index
    return table.loc[ranked].reset_index(drop=True)


def _corrected_bounds(
    data: pd.DataFrame, index: pd.MultiIndex, means: FloatArray, splits: str, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Nadeau-Bengio corrected t bounds around ``means`` for the groups of ``index``; NaN where
    the design gives none (one fold per replicate without sizes, or fewer than 2 units)."""
    counts = data.groupby(GROUP, sort=True)["fold"].nunique().reindex(index)
    folds = np.asarray(counts, dtype=np.float64)
    ratio = _size_ratio(data, index, folds)
    if splits == "shared":
        return _shared_bounds(data, index, means, ratio, confidence)
    resampled = _resampled_bounds(data, index, means, ratio, confidence)
    if splits == "resampled":
        return resampled
    # Unknown: the wider interval of the two designs (each is valid under its own design).
    shared = _shared_bounds(data, index, means, ratio, confidence)
    resampled_width = np.nan_to_num(resampled[1] - resampled[0], nan=-1.0)
    shared_width = np.nan_to_num(shared[1] - shared[0], nan=-1.0)
    take_shared = shared_width > resampled_width
    return np.where(take_shared, shared[0], resampled[0]), np.where(take_shared, shared[1], resampled[1])


def _size_ratio(data: pd.DataFrame, index: pd.MultiIndex, folds: FloatArray) -> FloatArray:
    """Mean ``n_test / n_train`` per group when every row states positive sizes, else 1/(k - 1)
    (k-fold) for several folds and 0 for one."""
    known = np.isfinite(data["n_train"]) & np.isfinite(data["n_test"]) & (data["n_train"] > 0) & (data["n_test"] > 0)
    sizes = pd.DataFrame(
        {
            "ratio": np.where(known, data["n_test"] / data["n_train"].where(known, 1.0), np.nan),
            "known": known,
        }
    ).join(data[GROUP])
    grouped = sizes.groupby(GROUP, sort=True).agg(ratio=("ratio", "mean"), known=("known", "all")).reindex(index)
    k_fold = np.where(folds > 1, 1.0 / np.maximum(folds - 1, 1), 0.0)
    ratio: FloatArray = np.where(grouped["known"].to_numpy(dtype=bool), grouped["ratio"].to_numpy(), k_fold)
    return ratio


def _t_half_width(sd: FloatArray, count: FloatArray, ratio: FloatArray, confidence: float) -> FloatArray:
    usable = (count >= 2) & (ratio > 0) & np.isfinite(sd)
    half: FloatArray = np.full(sd.shape, np.nan)
    quantile = special.stdtrit(count[usable] - 1, 0.5 + confidence / 2)
    half[usable] = quantile * sd[usable] * np.sqrt(1.0 / count[usable] + ratio[usable])
    return half


def _resampled_bounds(
    data: pd.DataFrame, index: pd.MultiIndex, means: FloatArray, ratio: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    cells = data.groupby(GROUP, sort=True)["value"].agg(["std", "count"]).reindex(index)
    sd, count = cells["std"].to_numpy(np.float64), cells["count"].to_numpy(np.float64)
    half = _t_half_width(sd, count, ratio, confidence)
    return means - half, means + half


def _shared_bounds(
    data: pd.DataFrame, index: pd.MultiIndex, means: FloatArray, ratio: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    fold_means = data.groupby([*GROUP, "fold"], sort=True)["value"].mean()
    spread = fold_means.groupby(level=[0, 1, 2], sort=True).agg(["std", "count"]).reindex(index)
    sd, count = spread["std"].to_numpy(np.float64), spread["count"].to_numpy(np.float64)
    half = _t_half_width(sd, count, ratio, confidence)
    return means - half, means + half


def clip_to_bounds(estimates: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Cut interval bounds at each metric's range; return the table and the metrics that were cut.

    Only ``low`` and ``high`` change (means of values inside a range stay inside it). Metrics
    without a known range (:func:`rigorlab.models.metric_bounds`) are left as they are.
    """
    clipped: list[str] = []
    table = estimates.copy()
    for metric in dict.fromkeys(str(name) for name in table["metric"]):
        low_bound, high_bound = metric_bounds(metric)
        if low_bound is None and high_bound is None:
            continue
        rows = table["metric"] == metric
        low, high = table.loc[rows, "low"], table.loc[rows, "high"]
        new_low = low.clip(lower=low_bound) if low_bound is not None else low
        new_high = high.clip(upper=high_bound) if high_bound is not None else high
        moved = ((new_low != low) & low.notna()) | ((new_high != high) & high.notna())
        if bool(moved.any()):
            clipped.append(metric)
        table.loc[rows, "low"] = new_low
        table.loc[rows, "high"] = new_high
    return table, tuple(clipped)
