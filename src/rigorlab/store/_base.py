"""The RunStore interface: where studies, trials, metrics and artifacts live.

Backends implement this class; callers (the driver, the tracking API, the statistics, reports,
the CLI and the dashboard) use only these methods. ``rigorlab.store.testing`` holds the contract
tests that every backend must pass.

Thread-safety and processes
    An instance is used from one thread. Several processes may open the same store at once;
    writes are serialised by the backend (SQLite: WAL mode and a busy timeout), so no caller sees
    "database is locked". For study trials the driver is the only writer.

Immutability
    A stored trial is never changed, except that ``save_trial`` replaces a trial of the same key
    whose status is failed/crashed/running (a retry). Artifacts are immutable and content-addressed.
    A tracked trial (``begin_trial``) gains points, metrics, tags and files while it is running and
    is then ended once by ``finish_trial``; a newer finished tracked or imported trial of the same
    arm, dataset, replicate and fold hides the older ones from ``trials``/``metrics`` (they stay
    stored; ``all_trials=True`` shows them).

Errors
    ``NotFoundError`` for an unknown study or trial (with the closest names), ``StoreError`` for
    an unreadable store, ``SchemaVersionError`` for a store written by a newer rigorlab.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.store._records import TrialResult

__all__ = ["RunStore"]


class RunStore(ABC):
    """Abstract store of studies and their trials."""

    root: Path

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    def save_study(
        self,
        name: str,
        *,
        question: str = "",
        spec: Mapping[str, Any] | None = None,
        spec_text: str | None = None,
        spec_path: str | None = None,
        primary_metric: str | None = None,
        baseline: str | None = None,
    ) -> int:
        """Create or update a study by name; returns its id. Existing trials are kept."""

    @abstractmethod
    def save_datasets(self, study: str, summaries: Sequence[Mapping[str, Any]]) -> None:
        """Record the datasets (name, fingerprint and summary) the study's current plan uses."""

    @abstractmethod
    def save_plan(self, study: str, rows: Iterable[tuple[str, str, str, int, int]]) -> None:
        """Replace the study's current plan: rows of (key, arm, dataset, replicate, fold)."""

    @abstractmethod
    def save_environment(self, environment_hash: str, environment: Mapping[str, Any]) -> None:
        """Store an environment record once (idempotent)."""

    @abstractmethod
    def start_run(
        self, study: str, *, command: Sequence[str], git: Mapping[str, Any] | None, environment_hash: str
    ) -> int:
        """Record the start of an invocation (``rigorlab run`` or a tracked process); returns its id."""

    @abstractmethod
    def finish_run(self, run_id: int, status: str) -> None:
        """Record how an invocation ended: finished, interrupted or crashed."""

    @abstractmethod
    def save_trial(
        self,
        study: str,
        result: TrialResult,
        *,
        run_id: int | None = None,
        split: Mapping[str, NDArray[Any]] | None = None,
    ) -> int:
        """Store one trial atomically (row, metrics, curves, tags, artifacts); returns its id."""

    # -- tracked and imported runs (rigorlab.track, rigorlab import) -------------------------
    @abstractmethod
    def ensure_study(self, name: str) -> int:
        """Create the study (without a spec) when it is missing; an existing study is left as it is.
        Returns its id. Safe when several processes ask at once."""

    @abstractmethod
    def begin_trial(
        self, study: str, result: TrialResult, *, run_id: int | None = None, next_replicate: bool = False
    ) -> tuple[int, int]:
        """Store a trial that is still going (``result.status`` is ``running``); returns (trial id, replicate).

        With ``next_replicate`` the replicate is chosen in the same transaction: the smallest number with
        no finished or running trial of the same arm, dataset and fold (so concurrent processes get
        different numbers, and a crashed replicate's number is used again)."""

    @abstractmethod
    def append_to_trial(
        self,
        trial_id: int,
        *,
        points: Sequence[tuple[str, int, float]] = (),
        metrics: Mapping[str, float | None] | None = None,
        tags: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, str, int]] = (),
    ) -> None:
        """In one short transaction: add curve points (name, step, value), set summary metrics and
        tags (a name set again replaces its value), and record files (name, ref, size)."""

    @abstractmethod
    def finish_trial(
        self,
        trial_id: int,
        *,
        status: str,
        error: str | None = None,
        traceback: str | None = None,
        seeds: Mapping[str, int] | None = None,
        fit_seconds: float | None = None,
    ) -> None:
        """End a running trial with ``status`` (done, failed or crashed).

        Summary rule: each curve without a summary metric of the same name gets the value of its last
        logged point as summary (curves whose name starts with ``system/`` excepted)."""

    @abstractmethod
    def put_file(self, path: Path) -> tuple[str, int]:
        """Copy a file into the content-addressed objects (named by the sha256 of its bytes);
        returns (ref, size in bytes). Storing the same bytes twice stores them once."""

    @abstractmethod
    def file_path(self, ref: str) -> Path:
        """Where the file stored under ``ref`` lies (StoreError when it is missing)."""

    @abstractmethod
    def trial_files(self, study: str, key: str) -> pd.DataFrame:
        """The files logged with a trial: name, ref, size, path."""

    @abstractmethod
    def trial_tags(self, study: str, key: str) -> dict[str, str]:
        """The tags of a trial."""

    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def trial_states(self, study: str) -> dict[str, str]:
        """Status of every stored trial of the study, by key."""

    @abstractmethod
    def studies(self) -> pd.DataFrame:
        """One row per study: name, question, done, failed (or crashed), running, planned, pending
        (planned trials not stored yet), updated_at."""

    @abstractmethod
    def study_info(self, study: str) -> dict[str, Any]:
        """The study's record: name, question, spec (dict), spec_text, primary_metric, baseline."""

    @abstractmethod
    def trials(self, study: str, *, status: str | None = None, all_trials: bool = False) -> pd.DataFrame:
        """One row per trial of the current plan (``all_trials``: every stored trial), with
        identity, status, timings, error and one column per metric."""

    @abstractmethod
    def metrics(self, study: str, *, all_trials: bool = False) -> pd.DataFrame:
        """Long table of finished trials' metrics: key, arm, dataset, replicate, fold, metric,
        value, n_train, n_test."""

    @abstractmethod
    def curves(self, study: str, key: str | None = None) -> pd.DataFrame:
        """Long table of curve points: key, arm, dataset, replicate, fold, name, step, value."""

    @abstractmethod
    def datasets(self, study: str) -> pd.DataFrame:
        """The study's datasets with their fingerprints and summaries."""

    @abstractmethod
    def runs(self, study: str) -> pd.DataFrame:
        """The invocations that wrote the study's trials."""

    @abstractmethod
    def predictions(self, study: str, key: str) -> dict[str, NDArray[Any]]:
        """A finished trial's stored test predictions (see TrialResult)."""

    @abstractmethod
    def split(self, study: str, key: str) -> dict[str, NDArray[np.int64]]:
        """A trial's ``train`` and ``test`` row indices."""

    @abstractmethod
    def provenance(self, study: str, key: str) -> dict[str, Any]:
        """Everything recorded about how a trial was produced (config, seeds, fingerprints, run,
        git, environment, times)."""

    # -- reproduce-and-verify (rigorlab reproduce, rigorlab bundle) ---------------------------
    @abstractmethod
    def save_verifications(
        self,
        study: str,
        records: Sequence[Mapping[str, Any]],
        *,
        environment_hash: str | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> None:
        """Store verdicts of re-run trials in one transaction; each record holds ``key``, ``verdict``,
        ``max_difference``, ``details`` (JSON-safe mapping) and optionally ``verified_at``. The
        environment the re-runs used is stored once. Nothing else in the store changes."""

    @abstractmethod
    def verifications(self, study: str, key: str | None = None) -> pd.DataFrame:
        """Every stored verification, oldest first: id, key, arm, dataset, replicate, fold, verdict,
        max_difference, details (dict), environment, verified_at."""

    @abstractmethod
    def export_study(self, study: str, target: Path) -> Path:
        """Write a new store at ``target`` holding only this study: its rows in every table, the
        environments they refer to and the objects they reference. Returns ``target``."""

    # -- audits (rigorlab audit) --------------------------------------------------------------
    @abstractmethod
    def save_audit_result(
        self,
        study: str,
        *,
        key: str,
        kind: str,
        dataset: str,
        status: str,
        arm: str | None = None,
        replicate: int | None = None,
        fold: int | None = None,
        trial_key: str | None = None,
        result: Mapping[str, Any] | None = None,
        arrays: Mapping[str, NDArray[Any]] | None = None,
        error: str | None = None,
        traceback: str | None = None,
        started_at: str | None = None,
        finished_at: str | None = None,
    ) -> int:
        """Store one audit result in one transaction; returns its id.

        ``result`` must be JSON-safe; ``arrays`` (row lists, values) go to the content-addressed
        objects. A stored result of the same key is replaced only when it failed: a done or
        skipped result is immutable (audit keys hash their inputs, so new inputs make a new key)."""

    @abstractmethod
    def audit_states(self, study: str) -> dict[str, str]:
        """Status of every stored audit result of the study, by key."""

    @abstractmethod
    def audit_results(self, study: str, *, kind: str | None = None) -> pd.DataFrame:
        """Every stored audit result of the study (of one kind), oldest first: id, key, kind, arm,
        dataset, replicate, fold, trial_key, status, result (dict), artifact_ref, error, traceback,
        started_at, finished_at."""

    @abstractmethod
    def audit_arrays(self, study: str, key: str) -> dict[str, NDArray[Any]]:
        """The arrays stored with an audit result (NotFoundError when it has none)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
