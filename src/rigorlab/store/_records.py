"""The records that flow into the store: one per finished (or failed) trial."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from numpy.typing import NDArray

__all__ = ["CRASHED", "DONE", "FAILED", "RUNNING", "TRIAL_COLUMNS", "TrialResult"]

# The columns of ``RunStore.trials()`` that describe a trial; every other column is a metric.
TRIAL_COLUMNS = (
    "key",
    "arm",
    "dataset",
    "replicate",
    "fold",
    "status",
    "source",
    "n_train",
    "n_test",
    "fit_seconds",
    "predict_seconds",
    "error",
    "started_at",
    "finished_at",
    "selected_params",
    "environment",
    "run_id",
)

DONE = "done"
FAILED = "failed"
RUNNING = "running"
CRASHED = "crashed"


@dataclass
class TrialResult:
    """What a trial produced: metrics, predictions, timings, or the failure that stopped it.

    ``predictions`` maps array names to arrays of shape (n_test,) (``y_true``, ``y_pred``,
    ``test_index``) or (n_test, n_classes) (``scores``), plus ``classes`` of shape (n_classes,).
    ``curves`` holds (name, step, value) points, e.g. per-epoch losses.
    """

    key: str
    arm: str
    dataset: str
    replicate: int
    fold: int
    status: str
    config: dict[str, Any]
    seeds: dict[str, int]
    dataset_fingerprint: str | None = None
    split_fingerprint: str | None = None
    n_train: int | None = None
    n_test: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, NDArray[Any]] | None = None
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    selected_params: dict[str, Any] | None = None
    environment_hash: str | None = None
    environment: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    curves: list[tuple[str, int, float]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    source: str = "study"

    @property
    def ok(self) -> bool:
        return self.status == DONE

    def first_error_line(self) -> str:
        return (self.error or "").strip().splitlines()[0] if self.error else ""
