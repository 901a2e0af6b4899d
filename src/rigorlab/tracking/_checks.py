"""The settings of a tracked run and the checks on what users pass to ``track`` and ``run.log``."""

from __future__ import annotations

import math
import operator
import re
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
    MSG_BAD_STUDY_NAME,
    MSG_BAD_VALUE,
)

__all__ = [
    "STUDY_NAME_PATTERN",
    "STUDY_NAME_RULE",
    "Settings",
    "as_name",
    "as_step",
    "as_value",
    "check_index",
    "check_name",
    "check_positive",
    "check_study_name",
    "is_study_name",
    "study_name_suggestion",
]

# The rule study files apply to names (rigorlab.spec NAME_PATTERN, and the words spec's messages use
# for it). Not imported from rigorlab.spec: importing spec loads scikit-learn (1-2 s), which a
# training loop calling track() must not pay. tests/tracking/test_track.py asserts both are equal.
STUDY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
STUDY_NAME_RULE = "a name of letters, digits, '_', '.' or '-' (no spaces)"
_STUDY_NAME = re.compile(STUDY_NAME_PATTERN)


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


def study_name_suggestion(value: str) -> str:
    """``value`` made to follow the study-name rule (other characters become ``-``), for messages."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "-", value.strip()).strip("-_.")
    return cleaned or "my-study"


def is_study_name(value: str) -> bool:
    return _STUDY_NAME.match(value) is not None


def check_study_name(value: Any) -> str:
    """The ``study`` argument of ``track``: a non-empty string that study files would accept too."""
    name = check_name("study", value, "mnist-baselines")
    if not is_study_name(name):
        raise InputError(
            MSG_BAD_STUDY_NAME.format(rule=STUDY_NAME_RULE, value=name, suggestion=study_name_suggestion(name))
        )
    return name


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


def as_value(name: str, value: Any, method: str = "log") -> float:
    """A logged value as a float (slow path: the fast path took real floats already).

    ``method`` is the run method that got the value (``log``, ``log_summary``), for the message.
    """
    if isinstance(value, str | bytes):
        raise InputError(_bad_value(name, value, method))
    try:
        return float(value)  # ints, numpy scalars, one-element tensors (``.item()``)
    except Exception as error:  # what a failed conversion raises depends on the type (TypeError, RuntimeError...)
        raise InputError(_bad_value(name, value, method)) from error


def _bad_value(name: str, value: Any, method: str) -> str:
    return MSG_BAD_VALUE.format(method=method, value=repr(value)[:80], type=type(value).__name__, name=name)


def as_name(name: Any, method: str = "log") -> str:
    if not isinstance(name, str) or not name:
        raise InputError(MSG_BAD_METRIC_NAME.format(method=method, name=name))
    return name


def as_step(step: Any) -> int:
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise InputError(MSG_BAD_STEP.format(value=step, type=type(step).__name__))
    return operator.index(step)
