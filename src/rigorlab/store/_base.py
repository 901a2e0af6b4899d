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

    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def trial_states(self, study: str) -> dict[str, str]:
        """Status of every stored trial of the study, by key."""

    @abstractmethod
    def studies(self) -> pd.DataFrame:
        """One row per study: name, question, done, failed, planned, updated_at."""

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

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
