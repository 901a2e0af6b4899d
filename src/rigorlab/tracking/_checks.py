"""The settings of a tracked run and the checks on what users pass to ``track`` and ``run.log``."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigorlab.errors import InputError
from rigorlab.tracking._messages import (
    MSG_BAD_INDEX,
    MSG_BAD_METRIC_NAME,
    MSG_BAD_NAME,
    MSG_BAD_SETTING,
    MSG_BAD_STEP,
    MSG_BAD_VALUE,
)

__all__ = ["Settings", "as_name", "as_step", "as_value", "check_index", "check_name", "check_positive"]


@dataclass(frozen=True)
class Settings:
    study: str
    arm: str
    dataset: str
    replicate: int | None
    fold: int
    params: dict[str, Any]
    tags: dict[str, str]
    seed: int | None
    store: Path | None
    n_train: int | None
    n_test: int | None
    system_metrics: float | None
    all_ranks: bool
    flush_interval: float
    flush_points: int
    max_buffered_points: int
    primary_metric: str | None = None
    baseline: str | None = None


def check_name(field_name: str, value: Any, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(MSG_BAD_NAME.format(field=field_name, value=value, example=example))
    return value


def check_index(field_name: str, value: Any, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__") or operator.index(value) < 0:
        raise InputError(MSG_BAD_INDEX.format(field=field_name, value=value))
    return operator.index(value)


def check_positive(field_name: str, value: Any, expected: str, kind: type = float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        raise InputError(MSG_BAD_SETTING.format(field=field_name, expected=expected, value=value))
    return kind(value)


def as_value(name: str, value: Any) -> float:
    """A logged value as a float (slow path: the fast path took real floats already)."""
    if isinstance(value, str | bytes):
        raise InputError(MSG_BAD_VALUE.format(value=repr(value)[:80], type=type(value).__name__, name=name))
    try:
        return float(value)  # ints, numpy scalars, one-element tensors (``.item()``)
    except Exception as error:  # what a failed conversion raises depends on the type (TypeError, RuntimeError...)
        raise InputError(MSG_BAD_VALUE.format(value=repr(value)[:80], type=type(value).__name__, name=name)) from error


def as_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InputError(MSG_BAD_METRIC_NAME.format(name=name))
    return name


def as_step(step: Any) -> int:
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise InputError(MSG_BAD_STEP.format(value=step, type=type(step).__name__))
    return operator.index(step)
