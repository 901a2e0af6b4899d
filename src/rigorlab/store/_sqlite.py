"""The embedded store: ``.rigorlab/`` holding ``rigorlab.sqlite`` (WAL) and ``objects/``."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import os
import socket
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from numpy.typing import NDArray

from rigorlab._version import __version__
from rigorlab.errors import NotFoundError, StoreError
from rigorlab.provenance import now_iso
from rigorlab.store._artifacts import ArtifactStore
from rigorlab.store._base import RunStore
from rigorlab.store._records import CRASHED, DONE, RUNNING, TrialResult
from rigorlab.store._schema import migrate

__all__ = ["DB_NAME", "SQLiteStore", "default_store_path", "open_store"]

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


class SQLiteStore(RunStore):
    """RunStore on SQLite (WAL mode) with content-addressed arrays beside it.

    Parameters
    ----------
    root : Path
        The store folder (``.rigorlab``).
    create : bool
        Create the folder when missing; otherwise a missing store raises NotFoundError.
    read_only : bool
        Refuse every write (reports and statistics open the store this way).
    """

    def __init__(self, root: Path, *, create: bool = False, read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only
        db_path = self.root / DB_NAME
        if not db_path.exists():
            if not create:
                raise NotFoundError(MSG_NO_STORE.format(path=self.root))
            self.root.mkdir(parents=True, exist_ok=True)
        self.path = db_path
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each trial is one transaction.
            self._db = sqlite3.connect(db_path, timeout=60.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 60000")
            if not read_only:
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            # An older schema is upgraded even for read-only use: migrations only add, never drop.
            migrate(self._db, str(db_path))
            self._sweep_dead_runs()
            if read_only:
                self._db.execute("PRAGMA query_only = ON")
        except sqlite3.DatabaseError as error:
            raise StoreError(MSG_NOT_A_STORE.format(path=self.root, reason=error)) from error
        self.artifacts = ArtifactStore(self.root / "objects")

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
        match = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        raise NotFoundError(
            MSG_UNKNOWN_STUDY.format(
                name=name,
                path=self.root,
                closest=f" Did you mean '{match[0]}'?" if match else "",
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

    # -- writing ---------------------------------------------------------------------------
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
        now = now_iso()
        with self._transaction() as db:
            db.execute(
                """INSERT INTO studies (name, question, spec_json, spec_text, spec_path, primary_metric, baseline,
                                        created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(name) DO UPDATE SET
                     question = excluded.question,
                     spec_json = COALESCE(excluded.spec_json, studies.spec_json),
                     spec_text = COALESCE(excluded.spec_text, studies.spec_text),
                     spec_path = COALESCE(excluded.spec_path, studies.spec_path),
                     primary_metric = COALESCE(excluded.primary_metric, studies.primary_metric),
                     baseline = COALESCE(excluded.baseline, studies.baseline),
                     updated_at = excluded.updated_at""",
                (name, question, _json(spec), spec_text, spec_path, primary_metric, baseline, now, now),
            )
        return self._study_id(name)

    def save_datasets(self, study: str, summaries: Sequence[Mapping[str, Any]]) -> None:
        study_id = self._study_id(study)
        with self._transaction() as db:
            db.execute("DELETE FROM datasets WHERE study_id = ?", (study_id,))
            db.executemany(
                "INSERT INTO datasets (study_id, name, fingerprint, summary_json) VALUES (?, ?, ?, ?)",
                [(study_id, s["name"], s["fingerprint"], _json(dict(s))) for s in summaries],
            )

    def save_plan(self, study: str, rows: Iterable[tuple[str, str, str, int, int]]) -> None:
        study_id = self._study_id(study)
        with self._transaction() as db:
            db.execute("DELETE FROM planned_trials WHERE study_id = ?", (study_id,))
            db.executemany(
                "INSERT INTO planned_trials (study_id, key, arm, dataset, replicate, fold) VALUES (?, ?, ?, ?, ?, ?)",
                [(study_id, *row) for row in rows],
            )

    def save_environment(self, environment_hash: str, environment: Mapping[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO environments (hash, json) VALUES (?, ?)",
                (environment_hash, _json(dict(environment))),
            )

    def start_run(
        self, study: str, *, command: Sequence[str], git: Mapping[str, Any] | None, environment_hash: str
    ) -> int:
        study_id = self._study_id(study)
        with self._transaction() as db:
            self._mark_dead_runs(db)
            cursor = db.execute(
                """INSERT INTO runs (study_id, command, git_json, environment, rigorlab_version, started_at, status,
                                     pid, hostname)
                   VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)""",
                (
                    study_id,
                    _json(list(command)),
                    _json(git),
                    environment_hash,
                    __version__,
                    now_iso(),
                    os.getpid(),
                    socket.gethostname(),
                ),
            )
            return int(cursor.lastrowid or 0)

    @staticmethod
    def _dead_runs(db: sqlite3.Connection) -> list[int]:
        rows = db.execute(
            "SELECT id, pid, started_at FROM runs WHERE status = 'running' AND hostname = ?", (socket.gethostname(),)
        ).fetchall()
        return [
            run_id for run_id, pid, started_at in rows if pid is not None and not _run_process_alive(pid, started_at)
        ]

    @staticmethod
    def _mark_dead_runs(db: sqlite3.Connection) -> None:
        """Runs still 'running' whose process on this host is gone were killed: mark them crashed,
        with the tracked trials they left running."""
        for run_id in SQLiteStore._dead_runs(db):
            db.execute("UPDATE runs SET status = 'crashed' WHERE id = ?", (run_id,))
        db.execute(
            "UPDATE trials SET status = ?, error = ?, finished_at = ? WHERE status = ? "
            "AND run_id IN (SELECT id FROM runs WHERE status != 'running')",
            (CRASHED, MSG_PROCESS_GONE, now_iso(), RUNNING),
        )

    def _sweep_dead_runs(self) -> None:
        """At open, so that readers (status, show, the dashboard) never show a dead process's
        trials as running. One small read when nothing died."""
        if not self._dead_runs(self._db):
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return  # a read-only file, or a writer holding the lock past the timeout: the next writer marks them
        try:
            self._mark_dead_runs(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def finish_run(self, run_id: int, status: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_iso(), run_id))

    def save_trial(
        self,
        study: str,
        result: TrialResult,
        *,
        run_id: int | None = None,
        split: Mapping[str, NDArray[Any]] | None = None,
    ) -> int:
        study_id = self._study_id(study)
        # Artifacts first: a crash between the two leaves an unreferenced object, never a row
        # that points at nothing.
        predictions_ref = self.artifacts.put(result.predictions) if result.predictions else None
        split_ref = self.artifacts.put(split) if split is not None else None
        if result.environment is not None and result.environment_hash is not None:
            self.save_environment(result.environment_hash, result.environment)
        with self._transaction() as db:
            return self._insert_trial(db, study_id, result, run_id, predictions_ref, split_ref)

    def save_trials(self, study: str, results: Sequence[TrialResult], *, run_id: int | None = None) -> None:
        """Store many trials in one transaction (bulk imports; the driver stores one at a time)."""
        study_id = self._study_id(study)
        refs = [self.artifacts.put(r.predictions) if r.predictions else None for r in results]
        with self._transaction() as db:
            for result, ref in zip(results, refs, strict=True):
                self._insert_trial(db, study_id, result, run_id, ref, None)

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

    # -- tracked and imported runs --------------------------------------------------------
    def ensure_study(self, name: str) -> int:
        now = now_iso()
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO studies (name, question, created_at, updated_at) VALUES (?, '', ?, ?)",
                (name, now, now),
            )
        return self._study_id(name)

    def begin_trial(
        self, study: str, result: TrialResult, *, run_id: int | None = None, next_replicate: bool = False
    ) -> tuple[int, int]:
        study_id = self._study_id(study)
        if result.environment is not None and result.environment_hash is not None:
            self.save_environment(result.environment_hash, result.environment)
        with self._transaction() as db:
            if next_replicate:
                taken = {
                    row[0]
                    for row in db.execute(
                        "SELECT DISTINCT replicate FROM trials WHERE study_id = ? AND arm = ? AND dataset = ? "
                        "AND fold = ? AND status IN (?, ?)",
                        (study_id, result.arm, result.dataset, result.fold, DONE, RUNNING),
                    )
                }
                replicate = next(r for r in itertools.count() if r not in taken)
                result = dataclasses.replace(result, replicate=replicate)
            trial_id = self._insert_trial(db, study_id, result, run_id, None, None)
        return trial_id, result.replicate

    def append_to_trial(
        self,
        trial_id: int,
        *,
        points: Sequence[tuple[str, int, float]] = (),
        metrics: Mapping[str, float | None] | None = None,
        tags: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, str, int]] = (),
    ) -> None:
        with self._transaction() as db:
            if points:
                # The trial id is an int we produced, inlined so every row binds three values, not four.
                db.executemany(
                    f"INSERT INTO curves (trial_id, name, step, value) VALUES ({int(trial_id)}, ?, ?, ?)", points
                )
            if metrics:
                db.executemany(
                    "INSERT INTO metrics (trial_id, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value",
                    [(trial_id, name, value) for name, value in metrics.items()],
                )
            if tags:
                db.executemany(
                    "INSERT INTO tags (trial_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (trial_id, key) DO UPDATE SET value = excluded.value",
                    [(trial_id, key, value) for key, value in tags.items()],
                )
            if files:
                db.executemany(
                    "INSERT INTO trial_files (trial_id, name, ref, size) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (trial_id, name) DO UPDATE SET ref = excluded.ref, size = excluded.size",
                    [(trial_id, name, ref, size) for name, ref, size in files],
                )

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
        with self._transaction() as db:
            # The last logged point is the one inserted last (one writer per trial, in log order).
            db.execute(
                "INSERT OR IGNORE INTO metrics (trial_id, name, value) "
                "SELECT trial_id, name, value FROM curves WHERE rowid IN "
                "(SELECT MAX(rowid) FROM curves WHERE trial_id = ? AND substr(name, 1, 7) != 'system/' GROUP BY name)",
                (trial_id,),
            )
            db.execute(
                "UPDATE trials SET status = ?, error = ?, traceback = ?, finished_at = ?, "
                "fit_seconds = COALESCE(?, fit_seconds), seeds_json = COALESCE(?, seeds_json) WHERE id = ?",
                (status, error, traceback, now_iso(), fit_seconds, _json(dict(seeds)) if seeds else None, trial_id),
            )

    def _file_location(self, ref: str) -> Path:
        # Beside the arrays (objects/ab/<rest>.npz), so whatever copies a ref's objects copies files too.
        return self.artifacts.root / ref[:2] / f"{ref[2:]}.bin"

    def put_file(self, path: Path) -> tuple[str, int]:
        if self.read_only:
            raise StoreError(MSG_READ_ONLY.format(path=self.root))
        folder = self.artifacts.root
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        # Copy and hash in one pass, so the stored bytes are the hashed bytes even if the file
        # changes meanwhile; the rename makes the object appear whole or not at all.
        descriptor, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as target, Path(path).open("rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    target.write(chunk)
                    size += len(chunk)
            ref = digest.hexdigest()
            location = self._file_location(ref)
            location.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, location)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return ref, size

    def file_path(self, ref: str) -> Path:
        location = self._file_location(ref)
        if not location.exists():
            raise StoreError(MSG_MISSING_FILE.format(ref=ref, root=self.artifacts.root))
        return location

    def trial_files(self, study: str, key: str) -> pd.DataFrame:
        row = self._trial_row(study, key)
        frame = self._frame("SELECT name, ref, size FROM trial_files WHERE trial_id = ? ORDER BY name", (row["id"],))
        frame["path"] = [str(self._file_location(ref)) for ref in frame["ref"]]
        return frame

    def trial_tags(self, study: str, key: str) -> dict[str, str]:
        row = self._trial_row(study, key)
        return dict(self._db.execute("SELECT key, value FROM tags WHERE trial_id = ? ORDER BY key", (row["id"],)))

    # -- reading ---------------------------------------------------------------------------
    def trial_states(self, study: str) -> dict[str, str]:
        study_id = self._study_id(study)
        return dict(self._db.execute("SELECT key, status FROM trials WHERE study_id = ?", (study_id,)).fetchall())

    def _frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self._db.execute(sql, parameters)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)

    def studies(self) -> pd.DataFrame:
        return self._frame(
            """SELECT s.name, s.question,
                      (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.status = 'done') AS done,
                      (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.status IN ('failed', 'crashed'))
                        AS failed,
                      (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.status = 'running') AS running,
                      (SELECT COUNT(*) FROM planned_trials p WHERE p.study_id = s.id) AS planned,
                      (SELECT COUNT(*) FROM planned_trials p WHERE p.study_id = s.id AND NOT EXISTS
                          (SELECT 1 FROM trials t WHERE t.study_id = p.study_id AND t.key = p.key)) AS pending,
                      s.updated_at
               FROM studies s ORDER BY s.name"""
        )

    def study_info(self, study: str) -> dict[str, Any]:
        study_id = self._study_id(study)
        row = self._db.execute(
            "SELECT name, question, spec_json, spec_text, spec_path, primary_metric, baseline, created_at, updated_at "
            "FROM studies WHERE id = ?",
            (study_id,),
        ).fetchone()
        keys = [
            "name",
            "question",
            "spec",
            "spec_text",
            "spec_path",
            "primary_metric",
            "baseline",
            "created_at",
            "updated_at",
        ]
        info = dict(zip(keys, row, strict=True))
        info["spec"] = json.loads(info["spec"]) if info["spec"] else None
        info["planned"] = self._db.execute(
            "SELECT COUNT(*) FROM planned_trials WHERE study_id = ?", (study_id,)
        ).fetchone()[0]
        return info

    def _scope(self, all_trials: bool) -> str:
        if all_trials:
            return ""
        # Study trials count when they belong to the current plan; tracked runs have no plan.
        return (
            " AND (t.source != 'study' OR EXISTS (SELECT 1 FROM planned_trials p "
            "WHERE p.study_id = t.study_id AND p.key = t.key))" + _HIDE_SUPERSEDED
        )

    def trials(self, study: str, *, status: str | None = None, all_trials: bool = False) -> pd.DataFrame:
        study_id = self._study_id(study)
        sql = (
            "SELECT t.id AS trial_id, t.key, t.arm, t.dataset, t.replicate, t.fold, t.status, t.source, "
            "t.n_train, t.n_test, t.fit_seconds, t.predict_seconds, t.error, t.started_at, t.finished_at, "
            "t.selected_params_json AS selected_params, t.environment, t.run_id "
            "FROM trials t WHERE t.study_id = ?" + self._scope(all_trials)
        )
        parameters: list[Any] = [study_id]
        if status is not None:
            sql += " AND t.status = ?"
            parameters.append(status)
        frame = self._frame(sql + " ORDER BY t.dataset, t.replicate, t.fold, t.arm", parameters)
        metrics = self._frame(
            "SELECT m.trial_id, m.name, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id WHERE t.study_id = ?",
            (study_id,),
        )
        if not metrics.empty and not frame.empty:
            wide = metrics.pivot(index="trial_id", columns="name", values="value")
            wide.columns = [str(c) for c in wide.columns]
            frame = frame.join(wide, on="trial_id")
        return frame.drop(columns=["trial_id"]).reset_index(drop=True)

    def metrics(self, study: str, *, all_trials: bool = False) -> pd.DataFrame:
        study_id = self._study_id(study)
        return self._frame(
            "SELECT t.key, t.arm, t.dataset, t.replicate, t.fold, m.name AS metric, m.value, t.n_train, t.n_test "
            "FROM metrics m JOIN trials t ON t.id = m.trial_id "
            "WHERE t.study_id = ? AND t.status = 'done'" + self._scope(all_trials) + " "
            "ORDER BY t.dataset, t.arm, m.name, t.replicate, t.fold",
            (study_id,),
        )

    def curves(self, study: str, key: str | None = None) -> pd.DataFrame:
        study_id = self._study_id(study)
        sql = (
            "SELECT t.key, t.arm, t.dataset, t.replicate, t.fold, c.name, c.step, c.value "
            "FROM curves c JOIN trials t ON t.id = c.trial_id WHERE t.study_id = ?"
        )
        parameters: list[Any] = [study_id]
        if key is not None:
            sql += " AND t.key = ?"
            parameters.append(self._trial_row(study, key)["key"])
        return self._frame(sql + " ORDER BY t.key, c.name, c.step", parameters)

    def datasets(self, study: str) -> pd.DataFrame:
        study_id = self._study_id(study)
        frame = self._frame(
            "SELECT name, fingerprint, summary_json FROM datasets WHERE study_id = ? ORDER BY rowid", (study_id,)
        )
        frame["summary"] = [json.loads(s) for s in frame.pop("summary_json")]
        return frame

    def runs(self, study: str) -> pd.DataFrame:
        study_id = self._study_id(study)
        frame = self._frame(
            "SELECT id AS run_id, command, git_json, environment, rigorlab_version, started_at, finished_at, status "
            "FROM runs WHERE study_id = ? ORDER BY id",
            (study_id,),
        )
        frame["command"] = [json.loads(c) for c in frame["command"]]
        frame["git"] = [json.loads(g) if g else None for g in frame.pop("git_json")]
        return frame

    def environment(self, environment_hash: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT json FROM environments WHERE hash = ?", (environment_hash,)).fetchone()
        return json.loads(row[0]) if row else None

    def predictions(self, study: str, key: str) -> dict[str, NDArray[Any]]:
        row = self._trial_row(study, key)
        if row["predictions_ref"] is None:
            raise NotFoundError(MSG_NO_PREDICTIONS.format(key=key, study=study, status=row["status"]))
        return self.artifacts.get(row["predictions_ref"])

    def split(self, study: str, key: str) -> dict[str, NDArray[np.int64]]:
        row = self._trial_row(study, key)
        if row["split_ref"] is None:
            raise NotFoundError(MSG_UNKNOWN_TRIAL.format(study=study, key=key))
        return self.artifacts.get(row["split_ref"])

    def provenance(self, study: str, key: str) -> dict[str, Any]:
        row = self._trial_row(study, key)
        record: dict[str, Any] = {
            "study": study,
            "key": row["key"],
            "arm": row["arm"],
            "dataset": row["dataset"],
            "replicate": row["replicate"],
            "fold": row["fold"],
            "status": row["status"],
            "source": row["source"],
            "config": json.loads(row["config_json"]),
            "seeds": json.loads(row["seeds_json"]),
            "dataset_fingerprint": row["dataset_fingerprint"],
            "split_fingerprint": row["split_fingerprint"],
            "selected_params": json.loads(row["selected_params_json"]) if row["selected_params_json"] else None,
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "environment_hash": row["environment"],
            "environment": self.environment(row["environment"]) if row["environment"] else None,
            "run": None,
        }
        if row["run_id"] is not None:
            run = self._db.execute(
                "SELECT command, git_json, rigorlab_version, started_at, finished_at, status FROM runs WHERE id = ?",
                (row["run_id"],),
            ).fetchone()
            record["run"] = {
                "id": row["run_id"],
                "command": json.loads(run[0]),
                "git": json.loads(run[1]) if run[1] else None,
                "rigorlab_version": run[2],
                "started_at": run[3],
                "finished_at": run[4],
                "status": run[5],
            }
        return record

    # -- reproduce-and-verify (rigorlab reproduce, rigorlab bundle) ---------------------------
    MSG_EXPORT_EXISTS = "{path} already holds a store; export a study into an empty folder."

    def save_verifications(
        self,
        study: str,
        records: Sequence[Mapping[str, Any]],
        *,
        environment_hash: str | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> None:
        study_id = self._study_id(study)
        now = now_iso()
        with self._transaction() as db:
            if environment_hash is not None and environment is not None:
                db.execute(
                    "INSERT OR IGNORE INTO environments (hash, json) VALUES (?, ?)",
                    (environment_hash, _json(dict(environment))),
                )
            db.executemany(
                "INSERT INTO verifications (study_id, key, verdict, max_difference, details_json, environment, "
                "verified_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        study_id,
                        record["key"],
                        record["verdict"],
                        record.get("max_difference"),
                        _json(dict(record.get("details") or {})),
                        environment_hash,
                        record.get("verified_at") or now,
                    )
                    for record in records
                ],
            )

    def verifications(self, study: str, key: str | None = None) -> pd.DataFrame:
        study_id = self._study_id(study)
        sql = (
            "SELECT v.id, v.key, t.arm, t.dataset, t.replicate, t.fold, v.verdict, v.max_difference, "
            "v.details_json, v.environment, v.verified_at FROM verifications v "
            "LEFT JOIN trials t ON t.study_id = v.study_id AND t.key = v.key WHERE v.study_id = ?"
        )
        parameters: list[Any] = [study_id]
        if key is not None:
            sql += " AND v.key = ?"
            parameters.append(self._trial_row(study, key)["key"])
        frame = self._frame(sql + " ORDER BY v.verified_at, v.id", parameters)
        frame["details"] = [json.loads(d) for d in frame.pop("details_json")]
        return frame

    def export_study(self, study: str, target: Path) -> Path:
        study_id = self._study_id(study)
        target = Path(target)
        if (target / DB_NAME).exists():
            raise StoreError(self.MSG_EXPORT_EXISTS.format(path=target))
        SQLiteStore(target, create=True).close()  # the newest schema, empty
        db = sqlite3.connect(target / DB_NAME, isolation_level=None)
        try:
            db.execute("ATTACH DATABASE ? AS source", (str(self.path),))
            db.execute("BEGIN IMMEDIATE")
            # Tables are found by their columns, not listed by name, so tables added by later
            # migrations travel with their study without this method changing.
            tables = [r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
            columns = {t: [r[1] for r in db.execute(f'PRAGMA main.table_info("{t}")')] for t in tables}
            filters = {"studies": "id = ?"}
            for table, names in columns.items():
                if "study_id" in names:
                    filters[table] = "study_id = ?"
                elif "trial_id" in names:
                    filters[table] = "trial_id IN (SELECT id FROM source.trials WHERE study_id = ?)"
                elif "run_id" in names:
                    filters[table] = "run_id IN (SELECT id FROM source.runs WHERE study_id = ?)"
            for table, condition in filters.items():
                listed = ", ".join(f'"{c}"' for c in columns[table])
                db.execute(
                    f'INSERT INTO main."{table}" ({listed}) SELECT {listed} FROM source."{table}" WHERE {condition}',
                    (study_id,),
                )
            hashes = {
                row[0]
                for table in filters
                if "environment" in columns[table]
                for row in db.execute(f'SELECT DISTINCT environment FROM main."{table}" WHERE environment IS NOT NULL')
            }
            db.executemany(
                "INSERT INTO main.environments SELECT * FROM source.environments WHERE hash = ?",
                [(h,) for h in sorted(hashes)],
            )
            refs = {
                row[0]
                for table in filters
                for column in columns[table]
                if column == "ref" or column.endswith("_ref")
                for row in db.execute(f'SELECT DISTINCT "{column}" FROM main."{table}" WHERE "{column}" IS NOT NULL')
            }
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()
        for ref in sorted(refs):
            folder = self.artifacts.root / ref[:2]
            for source in folder.glob(f"{ref[2:]}*"):
                destination = target / "objects" / ref[:2] / source.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(source.read_bytes())
        return target

    # -- audits (rigorlab audit) --------------------------------------------------------------
    MSG_UNKNOWN_AUDIT = (
        "Study '{study}' has no audit result with key '{key}' holding arrays. List the results with "
        "rigorlab.open_store().audit_results('{study}')."
    )

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
        study_id = self._study_id(study)
        # The object first: a crash between the two leaves an unreferenced object, never a dangling row.
        artifact_ref = self.artifacts.put(arrays) if arrays else None
        with self._transaction() as db:
            existing = db.execute(
                "SELECT id, status FROM audit_results WHERE study_id = ? AND key = ?", (study_id, key)
            ).fetchone()
            if existing is not None:
                if existing[1] != "failed":
                    return int(existing[0])  # a finished audit result is immutable
                db.execute("DELETE FROM audit_results WHERE id = ?", (existing[0],))
            cursor = db.execute(
                """INSERT INTO audit_results (study_id, key, kind, arm, dataset, replicate, fold, trial_key, status,
                       result_json, artifact_ref, error, traceback, started_at, finished_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    study_id,
                    key,
                    kind,
                    arm,
                    dataset,
                    replicate,
                    fold,
                    trial_key,
                    status,
                    _json(dict(result)) if result is not None else None,
                    artifact_ref,
                    error,
                    traceback,
                    started_at,
                    finished_at,
                ),
            )
            return int(cursor.lastrowid or 0)

    def audit_states(self, study: str) -> dict[str, str]:
        study_id = self._study_id(study)
        rows = self._db.execute("SELECT key, status FROM audit_results WHERE study_id = ?", (study_id,))
        return dict(rows.fetchall())

    def audit_results(self, study: str, *, kind: str | None = None) -> pd.DataFrame:
        study_id = self._study_id(study)
        sql = (
            "SELECT id, key, kind, arm, dataset, replicate, fold, trial_key, status, result_json, artifact_ref, "
            "error, traceback, started_at, finished_at FROM audit_results WHERE study_id = ?"
        )
        parameters: list[Any] = [study_id]
        if kind is not None:
            sql += " AND kind = ?"
            parameters.append(kind)
        frame = self._frame(sql + " ORDER BY id", parameters)
        frame.insert(9, "result", [json.loads(r) if r else {} for r in frame.pop("result_json")])
        return frame

    def audit_arrays(self, study: str, key: str) -> dict[str, NDArray[Any]]:
        study_id = self._study_id(study)
        row = self._db.execute(
            "SELECT artifact_ref FROM audit_results WHERE study_id = ? AND key = ?", (study_id, key)
        ).fetchone()
        if row is None or row[0] is None:
            raise NotFoundError(self.MSG_UNKNOWN_AUDIT.format(study=study, key=key))
        return self.artifacts.get(row[0])

    def close(self) -> None:
        self._db.close()


def open_store(path: str | Path | None = None, *, create: bool = False, read_only: bool = False) -> SQLiteStore:
    """Open the store at ``path`` (default: ``$RIGORLAB_STORE`` or ``./.rigorlab``).

    Examples
    --------
    >>> store = open_store(".rigorlab")  # doctest: +SKIP
    >>> store.metrics("quickstart").head()  # doctest: +SKIP
    """
    return SQLiteStore(Path(path) if path is not None else default_store_path(), create=create, read_only=read_only)
