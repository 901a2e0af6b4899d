"""Verification records: one verdict per re-run trial, a report per reproduction, and the
summary that reports and ``status`` show ("148 of 150 trials verified, last on 2026-11-27")."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rigorlab.provenance._compare import (
    DIFFERENT,
    FAILED,
    IDENTICAL,
    NOT_REPRODUCIBLE,
    REFUSED,
    VERDICTS,
    VERIFIED,
    WITHIN_TOLERANCE,
)
from rigorlab.provenance._envdiff import Change, EnvironmentDiff

if TYPE_CHECKING:
    from rigorlab.store import RunStore

__all__ = ["ReproductionReport", "TrialVerification", "VerificationSummary", "verification_summary"]


@dataclass
class TrialVerification:
    """The verdict on one stored trial.

    ``verdict`` is one of identical, within_tolerance, different, failed (the re-run raised; a
    tracked run's script failed or did not log it again), refused (not run: its data changed, its
    definition cannot be rebuilt, or a tracked run's script is gone) or not_reproducible (imported
    from another tracker: nothing to re-run). ``differences`` says what differs, ``explanation`` which
    environment changes may explain it, ``notes`` what changed in the trial's definition.
    """

    key: str
    arm: str
    dataset: str
    replicate: int
    fold: int
    verdict: str
    max_difference: float | None = None
    tolerance: str = ""
    differences: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    environment_hash: str | None = None

    @property
    def verified(self) -> bool:
        return self.verdict in VERIFIED

    @property
    def where(self) -> str:
        return f"{self.arm} on {self.dataset} (replicate {self.replicate}, fold {self.fold})"

    def summary(self) -> str:
        """One line: the verdict with its largest difference or first reason."""
        if self.verdict == IDENTICAL:
            return "identical"
        if self.verdict == WITHIN_TOLERANCE:
            return f"within tolerance ({self.tolerance}; largest difference {self.max_difference:.3g})"
        first = self.differences[0] if self.differences else ""
        return f"{self.verdict.replace('_', ' ')}: {first}" if first else self.verdict.replace("_", " ")

    def record(self) -> dict[str, Any]:
        """What the store keeps (the ``details`` column holds everything but the verdict)."""
        details = {
            **self.details,
            "tolerance": self.tolerance,
            "differences": self.differences,
            "explanation": self.explanation,
            "notes": self.notes,
            "stored_environment": self.environment_hash,
        }
        maximum = self.max_difference
        return {
            "key": self.key,
            "verdict": self.verdict,
            "max_difference": None if maximum is None or math.isinf(maximum) else maximum,
            "details": details,
        }


@dataclass
class ReproductionReport:
    """What a reproduction found. Filled before anything runs (``environments``, ``git_changes``,
    ``dataset_problems``, the refused trials, the tracked scripts to re-run in ``invocations``)
    and completed as trials come back."""

    study: str
    source: str
    selected: int
    environment_hash: str
    verified_at: str
    selected_keys: list[str] = field(default_factory=list)
    environments: list[EnvironmentDiff] = field(default_factory=list)
    git_changes: list[Change] = field(default_factory=list)
    dataset_problems: dict[str, str] = field(default_factory=dict)
    to_run: int = 0
    invocations: list[str] = field(default_factory=list)
    verifications: list[TrialVerification] = field(default_factory=list)
    scratch: Path | None = None
    recorded: bool = False
    interrupted: bool = False
    dry_run: bool = False
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Trials per verdict, in the order of ``VERDICTS`` (verdicts with none left out)."""
        counter = Counter(v.verdict for v in self.verifications)
        return {verdict: counter[verdict] for verdict in VERDICTS if counter[verdict]}

    @property
    def verified(self) -> int:
        return sum(1 for v in self.verifications if v.verified)

    @property
    def ok(self) -> bool:
        """True when no trial differs, failed or was refused (runs imported from other trackers,
        which cannot be re-run, do not count against it)."""
        bad = (DIFFERENT, FAILED, REFUSED)
        return not self.interrupted and not any(v.verdict in bad for v in self.verifications)

    def to_frame(self) -> pd.DataFrame:
        """One row per trial: key, arm, dataset, replicate, fold, verdict, max_difference, summary."""
        columns = ["key", "arm", "dataset", "replicate", "fold", "verdict", "max_difference", "summary"]
        rows = [
            [v.key, v.arm, v.dataset, v.replicate, v.fold, v.verdict, v.max_difference, v.summary()]
            for v in self.verifications
        ]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the environment diffs, the counts and every verification."""
        text = json.dumps(
            {
                "study": self.study,
                "source": self.source,
                "verified_at": self.verified_at,
                "environment_hash": self.environment_hash,
                "selected": self.selected,
                "counts": self.counts(),
                "ok": self.ok,
                "environments": [
                    {
                        "stored_hash": diff.stored_hash,
                        "trials": diff.trials,
                        "same": diff.same,
                        "changes": [str(change) for change in diff.changes],
                    }
                    for diff in self.environments
                ],
                "git_changes": [str(change) for change in self.git_changes],
                "dataset_problems": self.dataset_problems,
                "invocations": self.invocations,
                "verifications": [asdict(v) for v in self.verifications],
                "interrupted": self.interrupted,
                "seconds": self.seconds,
            },
            default=str,
        )
        parsed: dict[str, Any] = json.loads(text)
        return parsed


@dataclass
class VerificationSummary:
    """How many of a study's finished trials were verified, and when.

    ``latest`` has one row per finished trial of the current plan: key, arm, dataset, replicate,
    fold, verdict (None: never verified), verified (bool), verified_at, max_difference.
    """

    study: str
    finished: int
    verified: int
    counts: dict[str, int]
    first_verified_at: str | None
    last_verified_at: str | None
    latest: pd.DataFrame

    @property
    def unverified(self) -> int:
        return self.finished - int(self.latest["verdict"].notna().sum())

    def line(self) -> str:
        """One sentence for ``status`` and reports."""
        if self.finished == 0:
            return f"Study {self.study}: no finished trials to verify."
        text = f"Study {self.study}: {self.verified} of {self.finished} finished trial(s) verified"
        parts = [f"{self.counts[v]} {v.replace('_', ' ')}" for v in (IDENTICAL, WITHIN_TOLERANCE) if self.counts.get(v)]
        text += f" ({', '.join(parts)})" if parts else ""
        if self.last_verified_at:
            text += f", last on {self.last_verified_at[:10]}"
        problems = [
            f"{self.counts[v]} {v.replace('_', ' ')}" for v in (DIFFERENT, FAILED, REFUSED) if self.counts.get(v)
        ]
        if problems:
            text += f"; {', '.join(problems)}"
        if self.counts.get(NOT_REPRODUCIBLE):
            text += f"; {self.counts[NOT_REPRODUCIBLE]} not reproducible automatically"
        if self.unverified:
            text += f"; {self.unverified} never verified (rigorlab reproduce {self.study})"
        return text + "."


def verification_summary(study: str, store: RunStore | str | Path | None = None) -> VerificationSummary:
    """Summarise the verifications of a study's finished trials (the latest verdict counts).

    Parameters
    ----------
    study : str
        The study name.
    store : RunStore or path, optional
        Default: ``$RIGORLAB_STORE`` or ``./.rigorlab`` (opened read-only).

    Examples
    --------
    >>> summary = verification_summary("quickstart")  # doctest: +SKIP
    >>> summary.line()  # doctest: +SKIP
    'Study quickstart: 150 of 150 finished trial(s) verified (150 identical), last on 2026-11-27.'
    """
    from rigorlab.store import RunStore, open_store

    run_store = store if isinstance(store, RunStore) else open_store(store, read_only=True)
    try:
        finished = run_store.trials(study, status="done")
        records = run_store.verifications(study)
    finally:
        if not isinstance(store, RunStore):
            run_store.close()
    identity = finished[["key", "arm", "dataset", "replicate", "fold"]].copy()
    if records.empty:
        latest = identity.assign(verdict=None, verified=False, verified_at=None, max_difference=None)
    else:
        newest = records.sort_values(["verified_at", "id"]).groupby("key", sort=False).tail(1)
        latest = identity.merge(newest[["key", "verdict", "verified_at", "max_difference"]], on="key", how="left")
        latest = latest.astype({"verdict": object, "verified_at": object})
        latest = latest.where(latest.notna(), None)
        latest["verified"] = latest["verdict"].isin(VERIFIED)
        latest = latest[
            ["key", "arm", "dataset", "replicate", "fold", "verdict", "verified", "verified_at", "max_difference"]
        ]
    verdicts = Counter(v for v in latest["verdict"] if v is not None)
    dates = sorted(str(d) for d in latest["verified_at"] if d is not None)
    return VerificationSummary(
        study=study,
        finished=len(latest),
        verified=int(latest["verified"].sum()),
        counts={v: verdicts[v] for v in VERDICTS if verdicts[v]},
        first_verified_at=dates[0] if dates else None,
        last_verified_at=dates[-1] if dates else None,
        latest=latest.reset_index(drop=True),
    )
