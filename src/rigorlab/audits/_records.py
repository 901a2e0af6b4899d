"""What audits plan, run and store: tasks, results, findings and their severity.

An :class:`AuditTask` is small, frozen and picklable, so any executor can send it to a worker; it
carries everything the audit reads except the dataset (sent once per worker, as for trials). Its
``key`` hashes every input, so a stored result with the same key is not computed again (resume).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "AUDIT_FORMAT",
    "KIND_FORMATS",
    "DONE",
    "FAILED",
    "INFO",
    "KINDS",
    "SEVERE",
    "SEVERITIES",
    "SKIPPED",
    "WARNING",
    "AuditResult",
    "AuditTask",
    "Finding",
    "SplitInputs",
    "TrialInputs",
    "audit_key",
    "audit_seed",
    "json_safe",
]

# Bump when the meaning of an audit's inputs or outputs changes, so old results are recomputed.
AUDIT_FORMAT = 1

KIND_FORMATS: dict[str, int] = {"fairness": 2}
"""Format of one audit kind's results, part of its keys: bump a kind's number when only its outputs
change, so that only its stored results are recomputed (a kind not listed keeps its keys). Fairness 2:
groups below ``min_group_rows`` are left out of the disparities, and disparity findings are judged
over replicates (``rigorlab.audits.fairness_findings``), not per trial."""

KINDS = ("data", "fairness", "robustness", "explain", "cards")

DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"  # the audit does not apply (its message says why); not an error

INFO = "info"
WARNING = "warning"
SEVERE = "severe"
SEVERITIES = (INFO, WARNING, SEVERE)
"""Severity vocabulary. ``info``: worth knowing, no action needed. ``warning``: may bias or weaken
the conclusions; look at it. ``severe``: the results cannot be trusted as they are (leakage, a
feature that is the target); ``rigorlab audit --strict`` stops on it. Each audit module states the
thresholds it uses as constants."""

ROWS_SHOWN = 20
"""Rows named in a finding's JSON; every row is kept in the result's arrays."""


@dataclass(frozen=True)
class Finding:
    """One thing an audit found.

    Attributes
    ----------
    kind : str
        The audit (``data``, ``fairness``, ...).
    check : str
        What was checked (``duplicates``, ``train_test_leakage``, ``label_issues``...).
    severity : str
        One of :data:`SEVERITIES`.
    message : str
        A sentence naming what was found and what to do.
    dataset : str
    columns : tuple of str
        The columns concerned (empty for row-level findings).
    rows : tuple of int
        The first :data:`ROWS_SHOWN` rows concerned (dataset row positions).
    count : int
        How many rows (or groups, or trials) are concerned in all.
    value : float or None
        The measured quantity the severity was judged on.
    arm, replicate, fold : optional
        Where the finding comes from, when it is about one trial or split.
    """

    kind: str
    check: str
    severity: str
    message: str
    dataset: str
    columns: tuple[str, ...] = ()
    rows: tuple[int, ...] = ()
    count: int = 0
    value: float | None = None
    arm: str | None = None
    replicate: int | None = None
    fold: int | None = None

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["columns"] = list(self.columns)
        record["rows"] = list(self.rows)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Finding:
        values = dict(record)
        values["columns"] = tuple(values.get("columns") or ())
        values["rows"] = tuple(values.get("rows") or ())
        return cls(**values)


@dataclass(frozen=True, eq=False)
class SplitInputs:
    """One split of a dataset: its training and test rows."""

    replicate: int
    fold: int
    train: NDArray[np.int64]
    test: NDArray[np.int64]
    fingerprint: str


@dataclass(frozen=True, eq=False)
class TrialInputs:
    """What an audit needs about one stored trial: how to refit it and what it predicted.

    ``config`` and ``seeds`` are the trial's stored provenance; ``predictions`` its stored test
    predictions (``test_index``, ``y_true``, ``y_pred``, ``classes`` and optionally ``scores``).
    """

    key: str
    arm: str
    replicate: int
    fold: int
    config: dict[str, Any]
    seeds: dict[str, int]
    selected_params: dict[str, Any] | None
    train: NDArray[np.int64]
    test: NDArray[np.int64]
    predictions: dict[str, NDArray[Any]]


@dataclass(frozen=True, eq=False)
class AuditTask:
    """One audit to run. Picklable: executors send it to worker processes or Ray tasks.

    Attributes
    ----------
    key : str
        Hash of every input (see :func:`audit_key`); a stored result with this key is reused.
    kind : str
        One of :data:`KINDS` (``cards`` are built from the store by the driver, not by tasks).
    study, dataset, dataset_fingerprint : str
    seed : int
        Derived from the study seed and the key; every random step of the audit uses it.
    trial : TrialInputs or None
        For per-trial audits (fairness, robustness, explanations).
    splits : tuple of SplitInputs
        For the data audit: every split of the dataset, checked for train/test leakage.
    oof : dict or None
        For the data audit: out-of-fold probabilities from stored predictions (``probabilities``
        of shape (n_rows, n_classes), ``classes``, ``source``); None computes them.
    options : dict
        Audit settings (strengths, epsilons, sample sizes); part of the key.
    """

    key: str
    kind: str
    study: str
    dataset: str
    dataset_fingerprint: str
    seed: int
    trial: TrialInputs | None = None
    splits: tuple[SplitInputs, ...] = ()
    oof: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def arm(self) -> str | None:
        return self.trial.arm if self.trial is not None else None

    @property
    def replicate(self) -> int | None:
        return self.trial.replicate if self.trial is not None else None

    @property
    def fold(self) -> int | None:
        return self.trial.fold if self.trial is not None else None

    @property
    def trial_key(self) -> str | None:
        return self.trial.key if self.trial is not None else None


@dataclass
class AuditResult:
    """What one audit task produced, or why it failed or did not apply.

    ``result`` is JSON-safe (stored as JSON); ``arrays`` hold long row lists (content-addressed
    objects). ``message`` says why a skipped audit did not apply; ``notes`` are the messages of
    parts that did not apply while the rest ran.
    """

    key: str
    kind: str
    dataset: str
    status: str
    arm: str | None = None
    replicate: int | None = None
    fold: int | None = None
    trial_key: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    arrays: dict[str, NDArray[Any]] = field(default_factory=dict)
    message: str | None = None
    error: str | None = None
    traceback: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    def payload(self) -> dict[str, Any]:
        """The JSON stored in ``result_json``."""
        return {
            "result": self.result,
            "findings": [finding.to_dict() for finding in self.findings],
            "notes": self.notes,
            "warnings": self.warnings,
            "message": self.message,
            "seconds": self.seconds,
        }

    def first_error_line(self) -> str:
        return (self.error or "").strip().splitlines()[0] if self.error else ""


def audit_key(payload: Mapping[str, Any]) -> str:
    """Content key of an audit: sha256 of its inputs (with :data:`AUDIT_FORMAT` and the kind's
    :data:`KIND_FORMATS` entry), 32 hex digits.

    Examples
    --------
    >>> audit_key({"kind": "data", "dataset": "abc"}) == audit_key({"dataset": "abc", "kind": "data"})
    True
    """
    kind_format = KIND_FORMATS.get(str(payload.get("kind")))
    versioned = {"format": AUDIT_FORMAT, **payload, **({"kind_format": kind_format} if kind_format else {})}
    text = json.dumps(versioned, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def audit_seed(study_seed: int, key: str) -> int:
    """The seed of one audit, derived from the study seed and the audit's key (numpy SeedSequence).

    Examples
    --------
    >>> audit_seed(7, "ab" * 16) == audit_seed(7, "ab" * 16)
    True
    >>> audit_seed(7, "ab" * 16) != audit_seed(8, "ab" * 16)
    True
    """
    sequence = np.random.SeedSequence([study_seed, int(key[:16], 16)])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers, tuples as lists and NaN/infinity as None.

    Examples
    --------
    >>> json_safe({"a": np.float64("nan"), "b": (np.int64(2), 1.5)})
    {'a': None, 'b': [2, 1.5]}
    """
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
