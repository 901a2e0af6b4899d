"""Reading the long results table that ``compare_study`` takes.

One row per successful trial and metric; failed trials are absent. The per-arm estimates are in
``_estimates``; the paired tests read (replicate x fold) grids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rigorlab.errors import InputError

from . import _messages as msg
from ._common import FloatArray

REQUIRED_COLUMNS: tuple[str, ...] = (
    "arm",
    "dataset",
    "replicate",
    "fold",
    "metric",
    "value",
    "n_train",
    "n_test",
)
TRIAL_KEY = ["arm", "dataset", "replicate", "fold", "metric"]


def ordered_unique(values: pd.Series) -> list[str]:
    """Distinct values as strings, in order of first appearance."""
    return [str(value) for value in pd.unique(values)]


def normalise_results(frame: Any) -> pd.DataFrame:
    """Validate the results table and return a copy with plain dtypes (sizes as floats, NaN = unknown)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(msg.NOT_A_FRAME.format(type_name=type(frame).__name__))
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(msg.MISSING_COLUMNS.format(missing=", ".join(missing), required=", ".join(REQUIRED_COLUMNS)))
    if frame.empty:
        raise InputError(msg.NO_RESULTS)
    data = pd.DataFrame(
        {
            "arm": frame["arm"].astype(str).to_numpy(),
            "dataset": frame["dataset"].astype(str).to_numpy(),
            "replicate": frame["replicate"].to_numpy(),
            "fold": frame["fold"].to_numpy(),
            "metric": frame["metric"].astype(str).to_numpy(),
            "value": pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64),
            "n_train": pd.to_numeric(frame["n_train"], errors="coerce").to_numpy(dtype=np.float64),
            "n_test": pd.to_numeric(frame["n_test"], errors="coerce").to_numpy(dtype=np.float64),
        }
    )
    duplicated = data.duplicated(TRIAL_KEY, keep=False)
    if duplicated.any():
        example = data.loc[duplicated, TRIAL_KEY].iloc[0].to_dict()
        raise InputError(msg.DUPLICATE_ROWS.format(count=int(duplicated.sum()), example=example))
    return data


class DatasetGrid:
    """Scores of one dataset and metric as (replicate x fold) grids per arm, NaN = failed."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.rows = rows
        arms = pd.unique(rows["arm"])
        self.replicates = np.sort(rows["replicate"].unique())
        self.folds = np.sort(rows["fold"].unique())
        # One scatter into a dense (arm, replicate, fold) array instead of a lookup per arm.
        arm_position = pd.Index(arms).get_indexer(pd.Index(rows["arm"]))
        replicate_position = np.searchsorted(self.replicates, rows["replicate"].to_numpy())
        fold_position = np.searchsorted(self.folds, rows["fold"].to_numpy())
        self._grid = np.full((len(arms), self.replicates.size, self.folds.size), np.nan)
        self._grid[arm_position, replicate_position, fold_position] = rows["value"].to_numpy()
        self._arm_position = {str(arm): position for position, arm in enumerate(arms)}
        # n_test / n_train per row where both sizes are known and positive.
        n_train = rows["n_train"].to_numpy(dtype=np.float64)
        n_test = rows["n_test"].to_numpy(dtype=np.float64)
        known = np.isfinite(n_train) & np.isfinite(n_test) & (n_train > 0) & (n_test > 0)
        ratios = np.divide(n_test, n_train, out=np.zeros_like(n_test), where=known)
        self._ratio_sum = np.bincount(arm_position, weights=ratios, minlength=len(arms))
        self._rows = np.bincount(arm_position, minlength=len(arms))
        self._known_rows = np.bincount(arm_position, weights=known, minlength=len(arms))

    def cells(self, arm: str) -> FloatArray:
        """Array of shape (n_replicates, n_folds) of ``arm``'s scores."""
        cells: FloatArray = self._grid[self._arm_position[arm]].copy()
        return cells

    def split_ratio(self, arm: str, baseline: str) -> float | None:
        """Mean ``n_test / n_train`` over both arms' rows; ``None`` unless every row states
        positive sizes (then the split overlap is unknown)."""
        positions = [self._arm_position[arm], self._arm_position[baseline]]
        if np.any(self._known_rows[positions] < self._rows[positions]):
            return None
        return float(self._ratio_sum[positions].sum() / self._rows[positions].sum())
