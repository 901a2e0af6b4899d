"""The paired tests of a study: every arm against the baseline on every dataset, under the study's
split design, and the power advice that goes with each verdict.

``splits="unknown"`` (tracked cross-validation, where rigorlab cannot see whether each replicate
drew a new partition) runs the resampled and the shared-split test and keeps the one with the
larger p-value: each is valid under its own design, so the larger is valid under either, at some
cost in power. State the design (``splits=``) for the sharper test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _messages as msg
from ._baseline import PairedComparison
from ._common import alpha_of
from ._paired import PairStatistics, k_fold_ratio, paired_statistics
from ._power import replicates_needed, replicates_needed_shared_split
from ._results_table import DatasetGrid
from ._study import STUDY_COMPARISON_COLUMNS

TARGET_POWER = 0.8

Pair = tuple[str, str, PairStatistics]
"""(dataset, arm, statistics) of one comparison."""


def study_pairs(
    primary: pd.DataFrame,
    *,
    metric: str,
    baseline: str,
    dataset_order: list[str],
    arm_order: list[str],
    splits: str,
    confidence: float,
    higher_is_better: bool,
    undefined: set[tuple[str, str, Any, Any]],
    problems: list[str],
) -> list[Pair]:
    """Test every arm against the baseline on every dataset; note what cannot be tested.

    ``undefined`` holds the (dataset, arm, replicate, fold) cells whose score was NaN, so that a
    missing fold is reported as NaN rather than as a failed trial. Problems are grouped (one line
    per dataset or per arm) so a large study stays readable.
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
            lacking: np.ndarray = ~present & np.any(present, axis=1, keepdims=True)
            if lacking.any():
                missing_folds.setdefault(arm, []).append(_missing_text(dataset, arm, grid, lacking, undefined))
            if arm == baseline:
                continue
            n_paired = int((present & ~np.isnan(baseline_cells)).any(axis=1).sum())
            if n_paired < 2:
                too_few[arm] = n_paired
                continue
            known_ratio = grid.split_ratio(arm, baseline)
            ratio = k_fold_ratio(grid.folds.size) if known_ratio is None else known_ratio
            pair = _test(arm_cells, baseline_cells, splits, ratio, confidence, higher_is_better)
            pairs.append((dataset, arm, pair))
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


def _test(
    arm_cells: np.ndarray,
    baseline_cells: np.ndarray,
    splits: str,
    ratio: float,
    confidence: float,
    higher_is_better: bool,
) -> PairStatistics:
    options: dict[str, Any] = {
        "test_train_ratio": ratio,
        "confidence": confidence,
        "higher_is_better": higher_is_better,
    }
    if splits != "unknown":
        return paired_statistics(arm_cells, baseline_cells, splits=splits, **options)
    resampled = paired_statistics(arm_cells, baseline_cells, splits="resampled", **options)
    shared = paired_statistics(arm_cells, baseline_cells, splits="shared", **options)
    # No p-value (zero variance) in either: keep that one, it draws no verdict.
    for candidate in (shared, resampled):
        if np.isnan(candidate.p_value):
            return candidate
    return resampled if resampled.p_value > shared.p_value else shared


def _missing_text(
    dataset: str,
    arm: str,
    grid: DatasetGrid,
    lacking: np.ndarray,
    undefined: set[tuple[str, str, Any, Any]],
) -> str:
    replicate_index, fold_index = np.nonzero(lacking)
    nan_count = sum(
        (dataset, arm, grid.replicates[r], grid.folds[f]) in undefined
        for r, f in zip(replicate_index, fold_index, strict=True)
    )
    failed = int(lacking.sum()) - nan_count
    parts = []
    if failed:
        parts.append(msg.MISSING_FAILED.format(count=failed))
    if nan_count:
        parts.append(msg.MISSING_NAN.format(count=nan_count))
    return f"{dataset!r} ({', '.join(parts)})"


def comparison_table(
    results: Sequence[tuple[str, PairedComparison]],
    minimal_difference: float | None,
    confidence: float,
) -> pd.DataFrame:
    """The comparisons as a table, with the replicates that would give 80% power where the verdict
    is "no evidence of a difference".

    Power is computed for the test that was run, at the Bonferroni level ``alpha / m`` (m the
    comparisons on the dataset): Holm's first step tests at that level, so it is a conservative
    stand-in for Holm's power.
    """
    family_size: dict[str, int] = {}
    for dataset, _ in results:
        family_size[dataset] = family_size.get(dataset, 0) + 1
    rows = []
    for dataset, comparison in results:
        needed: int | None = None
        notes = comparison.warnings
        zero_variance = np.isnan(comparison.p_value)
        if comparison.verdict == msg.VERDICT_NO_EVIDENCE and not zero_variance:
            difference = abs(minimal_difference) if minimal_difference is not None else abs(comparison.mean_diff)
            alpha = alpha_of(confidence) / family_size[dataset]
            needed, unreachable = _replicates_needed(comparison, difference, alpha)
            if needed is None and difference > 0 and unreachable:
                notes = notes + (unreachable.format(difference=difference),)
        record = {column: getattr(comparison, column, None) for column in STUDY_COMPARISON_COLUMNS}
        record.update(dataset=dataset, warnings=notes, replicates_needed_for_80pct_power=needed)
        rows.append(record)
    table = pd.DataFrame(rows, columns=list(STUDY_COMPARISON_COLUMNS))
    table["replicates_needed_for_80pct_power"] = table["replicates_needed_for_80pct_power"].astype("Int64")
    return table


def _replicates_needed(comparison: PairedComparison, difference: float, alpha: float) -> tuple[int | None, str]:
    """(replicates for 80% power, the note to give when none suffices)."""
    if comparison.splits == "shared":
        needed = replicates_needed_shared_split(
            difference,
            comparison.difference_sd,
            comparison.seed_sd,
            n_replicates=comparison.n_replicates,
            folds=comparison.n_differences,
            test_train_ratio=comparison.test_train_ratio,
            alpha=alpha,
            power=TARGET_POWER,
        )
        return needed, msg.WARN_POWER_UNREACHABLE_SHARED
    corrected = comparison.test == msg.TEST_NADEAU_BENGIO
    needed = replicates_needed(
        difference,
        comparison.difference_sd,
        folds_per_replicate=comparison.folds_per_replicate if corrected else 1,
        test_train_ratio=comparison.test_train_ratio if corrected else 0.0,
        alpha=alpha,
        power=TARGET_POWER,
    )
    return needed, msg.WARN_POWER_UNREACHABLE if corrected else ""
