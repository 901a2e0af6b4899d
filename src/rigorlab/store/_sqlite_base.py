"""Shared pieces of the SQLite store: the connection, transactions, lookups and messages.

``SQLiteStore`` is assembled from this base and one mixin per concern (tracked runs, verifications,
audit results), so that each file stays readable on its own.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from rigorlab.errors import NotFoundError, StoreError, did_you_mean
from rigorlab.store._artifacts import ArtifactStore
from rigorlab.store._records import DONE, TrialResult

__all__ = ["SQLiteBase", "default_store_path"]

DB_NAME = "rigorlab.sqlite"
STORE_ENV = "RIGORLAB_STORE"

MSG_NO_STORE = (
    "There is no rigorlab store at {path}. Run `rigorlab run STUDY.yaml` here first, or point to the store "
    "with --store PATH or the RIGORLAB_STORE environment variable."
)
MSG_UNKNOWN_STUDY = "There is no study '{name}' in the store {path}.{closest} Studies: {studies}."
MSG_NO_STUDIES = (
    "There is no study '{name}' in the store {path}: it holds no studies yet. Run `rigorlab run STUDY.yaml`."
)
MSG_UNKNOWN_TRIAL = (
    "Study '{study}' has no trial with key '{key}'. List the keys with `rigorlab trials {study} --format csv`."
)
MSG_AMBIGUOUS_TRIAL = "The key prefix '{key}' matches {count} trials of study '{study}'; give more characters."
MSG_NO_PREDICTIONS = "Trial '{key}' of study '{study}' has no stored predictions (status: {status})."
MSG_NOT_A_STORE = "{path} is not a rigorlab store: {reason}. Point --store at a .rigorlab folder."
MSG_READ_ONLY = "The store {path} is opened read-only; this command must not change it."
MSG_PROCESS_GONE = (
    "The process that ran this trial ended without finishing it (killed, out of memory, or the machine "
    "stopped); the points it had flushed are stored."
)
MSG_MISSING_FILE = (
    "The stored file {ref} is missing from {root}. The store was copied without its objects/ folder, "
    "or the file was deleted; copy the whole .rigorlab folder."
)
# The clock of psutil's process start time and of the run's started_at differ by up to about a
# second; a process created later than this after the run started cannot be the run's process.
PID_REUSE_MARGIN_SECONDS = 2.0
# A finished tracked or imported trial hides older trials of the same identity (a run repeated
# after a crash or a change): they stay stored and show with all_trials=True. One window over the
# store's non-study trials, computed once per query.
_HIDE_SUPERSEDED = (
    " AND t.id NOT IN (SELECT id FROM (SELECT id, MAX(CASE WHEN status = 'done' THEN id END) "
    "OVER (PARTITION BY study_id, arm, dataset, replicate, fold) AS newest_done "
    "FROM trials WHERE source != 'study') WHERE newest_done > id)"
)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_process_alive(pid: int, started_at: str | None) -> bool:
    """Whether the process that started a run still runs: its pid exists and was not reused by a
    process created after the run started (pids are reused quickly in containers)."""
    if not _process_alive(pid):
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False  # killed, not yet reaped by its parent
        if started_at is None:
            return True
        created = process.create_time()
        started = datetime.fromisoformat(started_at).timestamp()
    except psutil.NoSuchProcess:
        return False
    except (psutil.Error, ValueError, OSError):
        return True  # cannot tell: keep the run as running rather than mark a live one crashed
    return created <= started + PID_REUSE_MARGIN_SECONDS


def default_store_path() -> Path:
    """``$RIGORLAB_STORE`` when set, else ``./.rigorlab``."""
    return Path(os.environ.get(STORE_ENV) or ".rigorlab")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


class SQLiteBase:
    """The connection and the helpers every part of the store uses."""

    root: Path
    path: Path
    read_only: bool
    artifacts: ArtifactStore
    _db: sqlite3.Connection

    # -- helpers ---------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(MSG_READ_ONLY.format(path=self.root))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _study_id(self, name: str) -> int:
        row = self._db.execute("SELECT id FROM studies WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        names = [r[0] for r in self._db.execute("SELECT name FROM studies ORDER BY name")]
        if not names:
            raise NotFoundError(MSG_NO_STUDIES.format(name=name, path=self.root))
        raise NotFoundError(
            MSG_UNKNOWN_STUDY.format(
                name=name,
                path=self.root,
                closest=did_you_mean(name, names),
                studies=", ".join(names),
            )
        )

    def _trial_row(self, study: str, key: str) -> sqlite3.Row:
        study_id = self._study_id(study)
        self._db.row_factory = sqlite3.Row
        try:
            rows = self._db.execute(
                "SELECT * FROM trials WHERE study_id = ? AND key LIKE ? LIMIT 2", (study_id, f"{key}%")
            ).fetchall()
        finally:
            self._db.row_factory = None
        if not rows:
            raise NotFoundError(MSG_UNKNOWN_TRIAL.format(study=study, key=key))
        if len(rows) > 1:
            count = self._db.execute(
                "SELECT COUNT(*) FROM trials WHERE study_id = ? AND key LIKE ?", (study_id, f"{key}%")
            ).fetchone()[0]
            raise NotFoundError(MSG_AMBIGUOUS_TRIAL.format(key=key, count=count, study=study))
        row: sqlite3.Row = rows[0]
        return row

    def _frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self._db.execute(sql, parameters)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)

    def save_environment(self, environment_hash: str, environment: Mapping[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO environments (hash, json) VALUES (?, ?)",
                (environment_hash, _json(dict(environment))),
            )

    @staticmethod
    def _insert_trial(
        db: sqlite3.Connection,
        study_id: int,
        result: TrialResult,
        run_id: int | None,
        predictions_ref: str | None,
        split_ref: str | None,
    ) -> int:
        existing = db.execute(
            "SELECT id, status FROM trials WHERE study_id = ? AND key = ?", (study_id, result.key)
        ).fetchone()
        if existing is not None:
            if existing[1] == DONE and result.source == "study":
                return int(existing[0])  # a finished trial is immutable
            db.execute("DELETE FROM trials WHERE id = ?", (existing[0],))
        cursor = db.execute(
            """INSERT INTO trials (study_id, key, arm, dataset, replicate, fold, status, source, run_id,
                   config_json, seeds_json, dataset_fingerprint, split_fingerprint, split_ref, predictions_ref,
                   n_train, n_test, fit_seconds, predict_seconds, selected_params_json, environment,
                   error, traceback, started_at, finished_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                study_id,
                result.key,
                result.arm,
                result.dataset,
                result.replicate,
                result.fold,
                result.status,
                result.source,
                run_id,
                _json(result.config),
                _json(result.seeds),
                result.dataset_fingerprint,
                result.split_fingerprint,
                split_ref,
                predictions_ref,
                result.n_train,
                result.n_test,
                result.fit_seconds,
                result.predict_seconds,
                _json(result.selected_params),
                result.environment_hash,
                result.error,
                result.traceback,
                result.started_at,
                result.finished_at,
            ),
        )
        trial_id = int(cursor.lastrowid or 0)
        if result.metrics:
            db.executemany(
                "INSERT INTO metrics (trial_id, name, value) VALUES (?, ?, ?)",
                [(trial_id, name, None if value is None else float(value)) for name, value in result.metrics.items()],
            )
        if result.curves:
            db.executemany(
                "INSERT INTO curves (trial_id, name, step, value) VALUES (?, ?, ?, ?)",
                [(trial_id, name, int(step), float(value)) for name, step, value in result.curves],
            )
        if result.tags:
            db.executemany(
                "INSERT INTO tags (trial_id, key, value) VALUES (?, ?, ?)",
                [(trial_id, k, str(v)) for k, v in result.tags.items()],
            )
        return trial_id
