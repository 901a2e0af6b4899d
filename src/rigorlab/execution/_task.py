"""What the driver hands to an executor: a trial and the row indices of its split, a batch of them, or an audit.

A :class:`BatchTask` holds the pending replicates of one torch arm x dataset x fold; a worker trains
them together as one stacked model and returns one TrialResult per trial, exactly as if each had
run alone (same keys, same records). An :class:`AuditWork` holds one audit
(``rigorlab.audits.AuditTask``) and returns one AuditResult. Every kind answers ``key``,
``dataset``, ``dataset_fingerprint`` and ``timeout``, which is all an executor needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.spec import Trial

__all__ = ["AuditWork", "BatchTask", "TrialTask", "Work", "as_work", "group_tasks"]


@dataclass(frozen=True, eq=False)
class TrialTask:
    """One trial to run. Picklable: executors send it to worker processes or Ray tasks."""

    trial: Trial
    train: NDArray[np.int64]
    test: NDArray[np.int64]
    timeout: float | None
    options: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return self.trial.key

    @property
    def tasks(self) -> tuple[TrialTask, ...]:
        """The trials this unit of work yields results for: itself."""
        return (self,)

    @property
    def dataset(self) -> str:
        return self.trial.dataset

    @property
    def dataset_fingerprint(self) -> str:
        return self.trial.dataset_fingerprint


@dataclass(frozen=True, eq=False)
class BatchTask:
    """Replicates of one torch arm on one dataset and fold, trained together in one worker.

    ``timeout`` (the arm's) applies to the batch as a whole: a batch past it is stopped and each of
    its trials is stored as failed. Picklable, like TrialTask.
    """

    tasks: tuple[TrialTask, ...]

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError("a BatchTask needs at least one TrialTask")

    @property
    def key(self) -> str:
        return self.tasks[0].key

    @property
    def dataset(self) -> str:
        return self.tasks[0].dataset

    @property
    def dataset_fingerprint(self) -> str:
        return self.tasks[0].dataset_fingerprint

    @property
    def timeout(self) -> float | None:
        return self.tasks[0].timeout


@dataclass(frozen=True, eq=False)
class AuditWork:
    """One audit as a unit of work: ``audit`` is a ``rigorlab.audits.AuditTask``; ``timeout`` (seconds, or
    None) stops it and stores it as failed, as for a trial. Picklable, like TrialTask."""

    audit: Any
    timeout: float | None = None

    @property
    def key(self) -> str:
        return str(self.audit.key)

    @property
    def tasks(self) -> tuple[TrialTask, ...]:
        """No trial: an audit yields one AuditResult."""
        return ()

    @property
    def dataset(self) -> str:
        return str(self.audit.dataset)

    @property
    def dataset_fingerprint(self) -> str:
        return str(self.audit.dataset_fingerprint)


Work = TrialTask | BatchTask | AuditWork


def as_work(unit: Any) -> Work:
    """``unit`` as a unit of work: a bare ``rigorlab.audits.AuditTask`` becomes an AuditWork without timeout.

    Examples
    --------
    >>> as_work(AuditWork(audit=None)).timeout is None
    True
    """
    if isinstance(unit, TrialTask | BatchTask | AuditWork):
        return unit
    from rigorlab.audits._records import AuditTask

    if isinstance(unit, AuditTask):
        return AuditWork(unit)
    raise TypeError(f"an executor runs TrialTask, BatchTask, AuditWork or AuditTask units, not {type(unit).__name__}")


def group_tasks(tasks: Sequence[TrialTask]) -> list[Work]:
    """Batch the replicates of torch arms that train batched; leave every other task as it is.

    Tasks of one (arm, dataset, fold) whose arm has ``training.batched`` become one BatchTask (at the
    position of the first of them), split into chunks of ``training.max_stack`` when that is set.
    Only the tasks given are grouped, so a resumed study batches just its pending replicates.

    Examples
    --------
    >>> group_tasks([])
    []
    """
    groups: dict[tuple[str, str, int], list[TrialTask]] = {}
    order: list[TrialTask | tuple[str, str, int]] = []
    for task in tasks:
        arm = task.trial.arm
        training = arm.training or {}
        if not (arm.is_torch and training.get("batched", True)):
            order.append(task)
            continue
        group = (arm.name, task.trial.dataset, task.trial.fold)
        if group not in groups:
            groups[group] = []
            order.append(group)
        groups[group].append(task)
    work: list[Work] = []
    for item in order:
        if isinstance(item, TrialTask):
            work.append(item)
            continue
        members = groups[item]
        size = members[0].trial.arm.training.get("max_stack") or len(members)  # type: ignore[union-attr]
        for start in range(0, len(members), size):
            chunk = tuple(members[start : start + size])
            work.append(chunk[0] if len(chunk) == 1 else BatchTask(chunk))
    return work
