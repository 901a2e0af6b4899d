"""Tolerances, and the comparison of a re-run trial with the stored one.

Exact equality comes first: on CPU in the same environment a re-run must give the same bits.
Only when the environment differs (other package versions, Python, CPU) or a GPU computed the
result does a stated tolerance apply, and the verdict then says so with the largest difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.errors import InputError

__all__ = [
    "ACROSS_ENVIRONMENTS",
    "DIFFERENT",
    "EXACT",
    "FAILED",
    "GPU",
    "IDENTICAL",
    "NOT_REPRODUCIBLE",
    "REFUSED",
    "VERDICTS",
    "VERIFIED",
    "WITHIN_TOLERANCE",
    "Comparison",
    "Tolerance",
    "Tolerances",
    "compare_results",
]

IDENTICAL = "identical"
WITHIN_TOLERANCE = "within_tolerance"
DIFFERENT = "different"
FAILED = "failed"  # the re-run itself failed (an exception, a timeout)
REFUSED = "refused"  # not run: its data changed or its definition cannot be rebuilt
NOT_REPRODUCIBLE = "not_reproducible"  # not run: imported from another tracker, nothing to re-run
VERDICTS = (IDENTICAL, WITHIN_TOLERANCE, DIFFERENT, FAILED, REFUSED, NOT_REPRODUCIBLE)
VERIFIED = (IDENTICAL, WITHIN_TOLERANCE)

MSG_BAD_TOLERANCE = (
    "--{option} takes a non-negative number, for every metric (1e-6) or for one (roc_auc=1e-3; 'scores' for "
    "the predicted scores, a curve's name for its points). Got '{value}' instead."
)

# The name under which the tolerance for prediction scores (and regression predictions) is given.
SCORES = "scores"


@dataclass(frozen=True)
class Tolerance:
    """A difference ``|reproduced - stored| <= absolute + relative * |stored|`` is accepted.

    Examples
    --------
    >>> Tolerance(absolute=1e-6).allows(0.9, 0.9 + 5e-7)
    True
    >>> str(Tolerance())
    'exact'
    """

    absolute: float = 0.0
    relative: float = 0.0

    @property
    def exact(self) -> bool:
        return self.absolute == 0.0 and self.relative == 0.0

    def allows(self, stored: float, reproduced: float) -> bool:
        if _same_float(stored, reproduced):
            return True
        if math.isnan(stored) or math.isnan(reproduced):
            return False
        return abs(reproduced - stored) <= self.absolute + self.relative * abs(stored)

    def __str__(self) -> str:
        if self.exact:
            return "exact"
        parts = [f"abs {self.absolute:g}"] if self.absolute else []
        parts += [f"rel {self.relative:g}"] if self.relative else []
        return ", ".join(parts)


EXACT = Tolerance()
# Other package versions, Python or CPU: the last bits of floating-point results may move.
ACROSS_ENVIRONMENTS = Tolerance(absolute=1e-6, relative=1e-6)
# GPU kernels are not bit-reproducible across runs unless forced (cuDNN/cuBLAS nondeterminism).
GPU = Tolerance(absolute=1e-4, relative=1e-4)


@dataclass(frozen=True)
class Tolerances:
    """What a reproduction accepts: a default (None: chosen from the environment) and per-name
    overrides (a metric, ``scores``, or a curve's name).

    Examples
    --------
    >>> tolerances = Tolerances.parse(["1e-6", "roc_auc=1e-3"])
    >>> base, reason = tolerances.base(same_environment=True, gpu=False)
    >>> base, reason
    (Tolerance(absolute=1e-06, relative=0.0), 'as given')
    >>> tolerances.for_name("roc_auc", base)
    Tolerance(absolute=0.001, relative=0.0)
    """

    default: Tolerance | None = None
    per_name: Mapping[str, Tolerance] = field(default_factory=dict)

    def base(self, same_environment: bool, gpu: bool) -> tuple[Tolerance, str]:
        """The default tolerance and why it was chosen."""
        if self.default is not None:
            return self.default, "as given"
        if gpu:
            return GPU, "a GPU took part: GPU kernels are not bit-reproducible"
        if same_environment:
            return EXACT, "same environment on CPU: bit-identical results expected"
        return ACROSS_ENVIRONMENTS, "the environment differs: the last bits may move"

    def for_name(self, name: str, base: Tolerance) -> Tolerance:
        return self.per_name.get(name, base)

    @classmethod
    def parse(cls, absolute: Sequence[str] = (), relative: Sequence[str] = (), *, exact: bool = False) -> Tolerances:
        """From command-line values: ``VALUE`` for every metric or ``NAME=VALUE`` for one."""
        default_abs: float | None = 0.0 if exact else None
        default_rel: float | None = 0.0 if exact else None
        named: dict[str, list[float]] = {}
        for option, values, slot in (("tolerance", absolute, 0), ("rtol", relative, 1)):
            for value in values:
                name, _, number = value.rpartition("=")
                parsed = _non_negative(number, option, value)
                if name:
                    named.setdefault(name.strip(), [0.0, 0.0])[slot] = parsed
                elif slot == 0:
                    default_abs = parsed
                else:
                    default_rel = parsed
        default = None
        if default_abs is not None or default_rel is not None:
            default = Tolerance(default_abs or 0.0, default_rel or 0.0)
        return cls(default=default, per_name={name: Tolerance(*pair) for name, pair in named.items()})


def _non_negative(number: str, option: str, value: str) -> float:
    try:
        parsed = float(number)
    except ValueError:
        raise InputError(MSG_BAD_TOLERANCE.format(option=option, value=value)) from None
    if not parsed >= 0 or math.isinf(parsed):
        raise InputError(MSG_BAD_TOLERANCE.format(option=option, value=value))
    return parsed


def _same_float(a: float, b: float) -> bool:
    # Bit-for-bit: equal values (0.0 == -0.0 aside) or both NaN.
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


@dataclass
class Comparison:
    """The outcome of comparing one re-run with its stored result."""

    verdict: str
    max_difference: float
    differences: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Tally:
    exact: bool = True
    within: bool = True
    max_difference: float = 0.0
    differences: list[str] = field(default_factory=list)

    def number(
        self, label: str, stored: float | None, reproduced: float | None, tolerance: Tolerance
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"stored": stored, "reproduced": reproduced, "tolerance": str(tolerance)}
        if stored is None or reproduced is None:
            if stored is not None or reproduced is not None:
                self.exact = self.within = False
                self.differences.append(f"{label}: stored {_text(stored)}, reproduced {_text(reproduced)}")
            return record
        if _same_float(stored, reproduced):
            record["difference"] = 0.0
            return record
        self.exact = False
        difference = abs(reproduced - stored) if not (math.isnan(stored) or math.isnan(reproduced)) else math.inf
        record["difference"] = difference
        self.max_difference = max(self.max_difference, difference)
        if not tolerance.allows(stored, reproduced):
            self.within = False
            self.differences.append(
                f"{label}: stored {stored!r}, reproduced {reproduced!r} (difference {difference:.3g}, "
                f"tolerance {tolerance})"
            )
        return record


def _text(value: float | None) -> str:
    return "nothing" if value is None else repr(value)


def _compare_labels(name: str, stored: NDArray[Any], reproduced: NDArray[Any], tally: _Tally) -> dict[str, Any]:
    if stored.shape != reproduced.shape:
        tally.exact = tally.within = False
        tally.differences.append(f"{name}: shape {stored.shape} stored, {reproduced.shape} reproduced")
        return {"equal": False, "stored_shape": list(stored.shape), "reproduced_shape": list(reproduced.shape)}
    equal = stored.astype(str) == reproduced.astype(str) if stored.dtype != reproduced.dtype else stored == reproduced
    mismatches = int(np.size(equal) - np.count_nonzero(equal))
    if mismatches:
        tally.exact = tally.within = False
        first = int(np.flatnonzero(~np.asarray(equal).ravel())[0])
        tally.differences.append(
            f"{name}: {mismatches} of {stored.size} differ (first at position {first}: stored "
            f"{stored.ravel()[first].item()!r}, reproduced {reproduced.ravel()[first].item()!r})"
        )
    return {"equal": mismatches == 0, "mismatches": mismatches, "n": int(stored.size)}


def _compare_numbers(
    name: str, stored: NDArray[Any], reproduced: NDArray[Any], tolerance: Tolerance, tally: _Tally
) -> dict[str, Any]:
    if stored.shape != reproduced.shape:
        return _compare_labels(name, stored, reproduced, tally)
    first = np.asarray(stored, dtype=float)
    second = np.asarray(reproduced, dtype=float)
    if first.tobytes() == second.tobytes():
        return {"equal": True, "max_difference": 0.0, "n": int(first.size)}
    tally.exact = False
    nan_mismatch = np.isnan(first) != np.isnan(second)
    both = ~np.isnan(first) & ~np.isnan(second)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - (-inf) is a difference, not a warning
        differences = np.where(both & (first != second), np.abs(second - first), 0.0)
    differences[np.isnan(differences)] = np.inf
    largest = math.inf if nan_mismatch.any() else float(differences.max(initial=0.0))
    tally.max_difference = max(tally.max_difference, largest)
    allowed = tolerance.absolute + tolerance.relative * np.abs(first)
    outside = nan_mismatch | (both & (differences > allowed))
    count = int(np.count_nonzero(outside))
    if count:
        tally.within = False
        tally.differences.append(
            f"{name}: {count} of {first.size} values outside the tolerance ({tolerance}); largest difference "
            f"{largest:.3g}"
        )
    return {"equal": False, "max_difference": largest, "outside_tolerance": count, "n": int(first.size)}


def compare_results(
    stored: Mapping[str, Any],
    reproduced: Mapping[str, Any],
    base: Tolerance,
    tolerances: Tolerances,
) -> Comparison:
    """Compare a stored trial with its re-run.

    Parameters
    ----------
    stored, reproduced : mapping
        ``metrics`` (name -> value), ``predictions`` (name -> array, as the store returns them),
        ``curves`` (name -> list of (step, value)) and ``selected_params`` of each.
    base : Tolerance
        The default tolerance; ``tolerances`` may override it per metric, ``scores`` or curve.

    Returns
    -------
    Comparison
        ``identical`` when every metric, prediction and curve point is the same to the bit,
        ``within_tolerance`` when the numbers differ by no more than their tolerance (labels,
        ``y_pred`` of a classifier and selected hyperparameters must still be equal), else
        ``different`` with one line per difference.

    Examples
    --------
    >>> same = {"metrics": {"accuracy": 0.9}, "predictions": {}, "curves": {}, "selected_params": None}
    >>> compare_results(same, same, EXACT, Tolerances()).verdict
    'identical'
    """
    tally = _Tally()
    details: dict[str, Any] = {"metrics": {}, "predictions": {}, "curves": {}}
    stored_metrics: Mapping[str, float | None] = stored.get("metrics") or {}
    reproduced_metrics: Mapping[str, float | None] = reproduced.get("metrics") or {}
    for name in sorted(set(stored_metrics) | set(reproduced_metrics)):
        if name not in stored_metrics:
            continue  # a metric the stored trial did not compute has nothing to be compared with
        details["metrics"][name] = tally.number(
            name, stored_metrics.get(name), reproduced_metrics.get(name), tolerances.for_name(name, base)
        )
    stored_predictions: Mapping[str, NDArray[Any]] = stored.get("predictions") or {}
    reproduced_predictions: Mapping[str, NDArray[Any]] = reproduced.get("predictions") or {}
    for name in sorted(stored_predictions):
        first = np.asarray(stored_predictions[name])
        if name not in reproduced_predictions:
            tally.exact = tally.within = False
            tally.differences.append(f"{name}: stored, but the re-run did not produce it")
            continue
        second = np.asarray(reproduced_predictions[name])
        # Labels (and a classifier's y_pred) must match exactly; scores, and the continuous
        # predictions of a regressor, within the tolerance for scores.
        numeric = name == "scores" or (name == "y_pred" and first.dtype.kind == "f")
        if numeric:
            details["predictions"][name] = _compare_numbers(
                name, first, second, tolerances.for_name(SCORES, base), tally
            )
        else:
            details["predictions"][name] = _compare_labels(name, first, second, tally)
    stored_curves: Mapping[str, Sequence[tuple[int, float]]] = stored.get("curves") or {}
    reproduced_curves: Mapping[str, Sequence[tuple[int, float]]] = reproduced.get("curves") or {}
    for name in sorted(stored_curves):
        points = np.asarray([value for _, value in stored_curves[name]], dtype=float)
        again = np.asarray([value for _, value in reproduced_curves.get(name, [])], dtype=float)
        details["curves"][name] = _compare_numbers(
            f"curve {name}", points, again, tolerances.for_name(name, tolerances.for_name("curves", base)), tally
        )
    stored_params, reproduced_params = stored.get("selected_params"), reproduced.get("selected_params")
    if stored_params != reproduced_params:
        tally.exact = tally.within = False
        tally.differences.append(f"selected hyperparameters: stored {stored_params}, reproduced {reproduced_params}")
    verdict = IDENTICAL if tally.exact else WITHIN_TOLERANCE if tally.within else DIFFERENT
    return Comparison(verdict, tally.max_difference, tally.differences, details)
