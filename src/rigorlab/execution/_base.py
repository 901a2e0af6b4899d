"""The Executor interface: how trials and audits get run (worker processes here, Ray later).

Contract
    ``run(tasks, datasets)`` takes units of work -- a TrialTask; a BatchTask holding the
    replicates of one torch arm x dataset x fold that train together; an AuditWork holding one
    audit (``rigorlab.audits.AuditTask``; a bare AuditTask is accepted and runs without timeout) --
    and yields, in completion order, exactly one TrialResult per trial (``work.tasks``) and one
    ``rigorlab.audits.AuditResult`` per audit; the results of a batch are indistinguishable from
    those of its trials run one by one. A unit that raises, times out or kills its worker yields
    failed results (one per trial of a batch: a timeout applies to the batch as a whole; one
    AuditResult for an audit), and the others go on. An executor runs a unit of work with
    ``rigorlab.execution.run_work(work, dataset)``, which never raises for errors in user code.
    If the caller stops iterating (Ctrl-C raises KeyboardInterrupt in the driver), the executor
    stops all work before the generator closes; results already yielded are the caller's to keep.

Thread-safety
    An executor is driven from one thread, one ``run`` at a time.

Determinism
    Results do not depend on which executor ran them or on how many workers it used: every
    worker limits BLAS libraries (and torch) to one thread, and trials and audits carry their own
    seeds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rigorlab.data import Dataset
from rigorlab.execution._task import Work

__all__ = ["Executor"]


class Executor(ABC):
    """Runs trials and audits and yields their results."""

    name: str = "executor"

    @abstractmethod
    def run(self, tasks: Sequence[Work], datasets: Mapping[str, Dataset]) -> Iterator[Any]:
        """Run ``tasks`` (each needs ``datasets[task.dataset]``); yield one result per trial (a TrialResult)
        and per audit (an AuditResult) as they finish."""

    def close(self) -> None:  # noqa: B027 - optional hook: executors without resources need nothing
        """Release workers and connections (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
