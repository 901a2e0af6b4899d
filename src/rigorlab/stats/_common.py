"""Small helpers shared by the statistics modules: seeds, input arrays, JSON-safe output."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from rigorlab.errors import InputError

from . import _messages as msg

SeedLike: TypeAlias = int | np.random.Generator
"""An ``int`` seed or a ``numpy.random.Generator`` (consumed in place). Never global state."""

FloatArray: TypeAlias = npt.NDArray[np.float64]


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a Generator for ``seed``; a Generator passes through (and advances when used)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(msg.BAD_SEED.format(type_name=type(seed).__name__))
    return np.random.default_rng(int(seed))


def check_confidence(confidence: float) -> float:
    """Validate a confidence level in (0, 1) and return it as a float."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float | np.floating):
        raise InputError(msg.BAD_CONFIDENCE.format(value=confidence))
    if not 0.0 < float(confidence) < 1.0:
        raise InputError(msg.BAD_CONFIDENCE.format(value=confidence))
    return float(confidence)


def alpha_of(confidence: float) -> float:
    """The test level ``alpha = 1 - confidence``, rounded to 12 decimals.

    ``1 - 0.95`` is ``0.050000000000000044`` in binary floating point; results and JSON carry 0.05.
    """
    return round(1.0 - float(confidence), 12)


def check_n_resamples(n_resamples: int) -> int:
    """Validate a count of bootstrap resamples or Monte Carlo samples."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer):
        raise InputError(msg.BAD_N_RESAMPLES.format(value=n_resamples))
    if n_resamples < 1:
        raise InputError(msg.BAD_N_RESAMPLES.format(value=n_resamples))
    return int(n_resamples)


def check_rope(rope: float) -> float:
    """Validate a region of practical equivalence half-width (metric units)."""
    if isinstance(rope, bool) or not isinstance(rope, int | float | np.floating):
        raise InputError(msg.BAD_ROPE.format(value=rope))
    if not (math.isfinite(rope) and rope >= 0):
        raise InputError(msg.BAD_ROPE.format(value=rope))
    return float(rope)


def as_float_array(values: npt.ArrayLike, name: str, *, ndims: Sequence[int]) -> FloatArray:
    """Convert to a float64 array with one of ``ndims`` dimensions; NaN allowed, inf not."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(
            msg.BAD_SHAPE.format(name=name, expected=_shape_words(ndims), shape="(not numeric)")
        ) from error
    if array.ndim not in ndims:
        raise InputError(msg.BAD_SHAPE.format(name=name, expected=_shape_words(ndims), shape=array.shape))
    if np.isinf(array).any():
        raise InputError(msg.NON_FINITE.format(name=name))
    return array


def _shape_words(ndims: Sequence[int]) -> str:
    words = {
        1: "(n,)",
        2: "(n_replicates, n_arms)",
        3: "(n_replicates, n_folds, n_arms)",
    }
    return " or ".join(words.get(ndim, f"{ndim}-D") for ndim in ndims)


def as_score_table(
    scores: npt.ArrayLike | pd.DataFrame,
    name: str,
    *,
    arm_names: Sequence[str] | None = None,
    ndims: Sequence[int] = (2,),
) -> tuple[FloatArray, list[str]]:
    """Return ``(values, arm_names)`` where the last axis of ``values`` indexes arms.

    A DataFrame gives its columns as arm names; an array gives ``arm_names`` or ``arm_0``,
    ``arm_1``, ...
    """
    if isinstance(scores, pd.DataFrame):
        names = [str(column) for column in scores.columns]
        values = as_float_array(scores.to_numpy(dtype=np.float64), name, ndims=(2,))
    else:
        values = as_float_array(scores, name, ndims=ndims)
        names = (
            [str(arm) for arm in arm_names]
            if arm_names is not None
            else [f"arm_{index}" for index in range(values.shape[-1])]
        )
    if len(names) != values.shape[-1]:
        raise InputError(
            msg.BAD_LENGTHS.format(
                first="arm_names",
                second=f"the last axis of {name}",
                first_shape=(len(names),),
                second_shape=(values.shape[-1],),
            )
        )
    if len(set(names)) != len(names):
        raise InputError(msg.DUPLICATE_ARM_NAMES.format(names=names))
    return values, names


def arm_index(names: Sequence[str], arm: str | int) -> int:
    """Position of ``arm`` (a name, or an integer column index) in ``names``."""
    if isinstance(arm, int | np.integer) and not isinstance(arm, bool):
        if 0 <= int(arm) < len(names):
            return int(arm)
    elif str(arm) in names:
        return list(names).index(str(arm))
    raise InputError(msg.UNKNOWN_ARM.format(name=arm, available=", ".join(names)))


def json_safe(value: Any) -> Any:
    """Convert to plain JSON types: numpy scalars to Python, NaN and infinities to ``None``.

    Strict JSON has no NaN or Infinity; a reader sees ``null`` for "not defined".
    """
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, pd.DataFrame):
        return [json_safe(record) for record in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return [json_safe(item) for item in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def finite_or_none(value: float) -> float | None:
    """``value`` as a float, or ``None`` when it is NaN or infinite."""
    number = float(value)
    return number if math.isfinite(number) else None
