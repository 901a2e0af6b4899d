"""What the driver hands to an executor: a trial and the row indices of its split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.spec import Trial

__all__ = ["TrialTask"]


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
