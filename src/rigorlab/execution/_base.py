"""The Executor interface: how trials get run (worker processes here, Ray later).

Contract
    ``run(tasks, datasets)`` yields exactly one TrialResult per task, in completion order; a
    trial that raises, times out or kills its worker yields a failed result, and the others go
    on. If the caller stops iterating (Ctrl-C raises KeyboardInterrupt in the driver), the
    executor stops all work before the generator closes; results already yielded are the
    caller's to keep.

Thread-safety
    An executor is driven from one thread, one ``run`` at a time.

Determinism
    Results do not depend on which executor ran them or on how many workers it used: every
    worker limits BLAS libraries to one thread and trials carry their own seeds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence

from rigorlab.data import Dataset
from rigorlab.execution._task import TrialTask
from rigorlab.store import TrialResult

__all__ = ["Executor"]


class Executor(ABC):
    """Runs trials and yields their results."""

    name: str = "executor"

    @abstractmethod
    def run(self, tasks: Sequence[TrialTask], datasets: Mapping[str, Dataset]) -> Iterator[TrialResult]:
        """Run ``tasks`` (each needs ``datasets[task.trial.dataset]``); yield results as they finish."""

    def close(self) -> None:  # noqa: B027 - optional hook: executors without resources need nothing
        """Release workers and connections (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
