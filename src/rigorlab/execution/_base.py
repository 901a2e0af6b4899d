"""The Executor interface: how trials get run (worker processes here, Ray later).

Contract
    ``run(tasks, datasets)`` takes units of work -- a TrialTask, or a BatchTask holding the
    replicates of one torch arm x dataset x fold that train together -- and yields exactly one
    TrialResult per trial (``work.tasks``), in completion order; the results of a batch are
    indistinguishable from those of its trials run one by one. A trial that raises, times out or
    kills its worker yields a failed result, and the others go on; a batch that times out or
    kills its worker yields a failed result for each of its trials (a timeout applies to the
    batch as a whole). An executor runs a unit of work with
    ``rigorlab.execution.run_work(work, dataset)``, which never raises for errors in user code.
    If the caller stops iterating (Ctrl-C raises KeyboardInterrupt in the driver), the executor
    stops all work before the generator closes; results already yielded are the caller's to keep.

Thread-safety
    An executor is driven from one thread, one ``run`` at a time.

Determinism
    Results do not depend on which executor ran them or on how many workers it used: every
    worker limits BLAS libraries (and torch) to one thread and trials carry their own seeds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence

from rigorlab.data import Dataset
from rigorlab.execution._task import Work
from rigorlab.store import TrialResult

__all__ = ["Executor"]


class Executor(ABC):
    """Runs trials and yields their results."""

    name: str = "executor"

    @abstractmethod
    def run(self, tasks: Sequence[Work], datasets: Mapping[str, Dataset]) -> Iterator[TrialResult]:
        """Run ``tasks`` (each needs ``datasets[task.dataset]``); yield one result per trial as they finish."""

    def close(self) -> None:  # noqa: B027 - optional hook: executors without resources need nothing
        """Release workers and connections (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
