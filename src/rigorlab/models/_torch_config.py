"""The torch trainer's settings, as plain data (no torch import).

The study file's ``training:`` block is validated by ``rigorlab.spec.TrainingSpec`` (pydantic) and
reaches the trainer as a dict; :class:`TrainingConfig` is that dict with attribute access and the
learning-rate schedule. The defaults are the same as the spec's (a test checks it), so the trainer
can also be driven from Python without a study file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["EarlyStopping", "TrainingConfig"]


@dataclass(frozen=True)
class EarlyStopping:
    """Stop a replicate when its validation loss has not improved by ``min_delta`` for ``patience`` epochs."""

    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


@dataclass(frozen=True)
class TrainingConfig:
    """How a torch module is trained. See ``TrainingSpec`` in ``rigorlab.spec`` for each field."""

    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    epochs: int = 20
    batch_size: int = 64
    schedule: str = "constant"
    step_size: int = 10
    gamma: float = 0.1
    validation_fraction: float | None = None
    early_stopping: EarlyStopping | None = None
    input_shape: tuple[int, ...] | None = None
    scale_target: bool = True
    device: str = "auto"
    batched: bool = True
    max_stack: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any] | None) -> TrainingConfig:
        """Build from the study's ``training:`` settings (missing keys take the defaults).

        Examples
        --------
        >>> TrainingConfig.from_dict({"epochs": 3, "early_stopping": {"patience": 2}}).early_stopping.patience
        2
        """
        values = dict(settings or {})
        names = {f.name for f in fields(cls)} - {"extra"}
        unknown = {k: values.pop(k) for k in list(values) if k not in names}
        stopping = values.get("early_stopping")
        if isinstance(stopping, Mapping):
            values["early_stopping"] = EarlyStopping(**stopping)
        if values.get("input_shape") is not None:
            values["input_shape"] = tuple(int(size) for size in values["input_shape"])
        return cls(**values, extra=unknown)

    def __post_init__(self) -> None:
        if self.early_stopping is not None and self.validation_fraction is None:
            # Early stopping needs held-out rows; 0.1 is the spec's documented default.
            object.__setattr__(self, "validation_fraction", 0.1)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values.pop("extra")
        if values["input_shape"] is not None:
            values["input_shape"] = list(values["input_shape"])
        return values

    def lr_at(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (0-based) under the schedule.

        Closed forms (what torch's schedulers compute, without their recursive drift):
        cosine ``lr/2 (1 + cos(pi e / E))``, linear ``lr (1 - e / E)``, step ``lr gamma^(e // step_size)``.

        Examples
        --------
        >>> TrainingConfig(lr=0.1, schedule="step", step_size=2, gamma=0.5).lr_at(4)
        0.025
        """
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        if self.schedule == "linear":
            return self.lr * (1.0 - epoch / self.epochs)
        if self.schedule == "step":
            return float(self.lr * self.gamma ** (epoch // self.step_size))
        return self.lr
