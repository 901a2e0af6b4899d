"""The embedded store: ``.rigorlab/`` holding ``rigorlab.sqlite`` (WAL) and ``objects/``."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab._version import __version__
from rigorlab.errors import NotFoundError, StoreError
from rigorlab.provenance import now_iso
from rigorlab.store._artifacts import ArtifactStore
from rigorlab.store._base import RunStore
from rigorlab.store._records import TrialResult
from rigorlab.store._schema import migrate
from rigorlab.store._sqlite_audits import AuditResultsMixin
from rigorlab.store._sqlite_base import (
    _HIDE_SUPERSEDED,
    DB_NAME,
    MSG_NO_PREDICTIONS,
    MSG_NO_STORE,
    MSG_NOT_A_STORE,
    MSG_UNKNOWN_TRIAL,
    _json,
    default_store_path,
)
from rigorlab.store._sqlite_tracked import TrackedRunsMixin
from rigorlab.store._sqlite_verify import VerificationsMixin

__all__ = ["DB_NAME", "MSG_STORE_UNUSABLE", "SQLiteStore", "default_store_path", "open_store"]

MSG_STORE_UNUSABLE = (
    "Cannot create or open the store at {path}: {reason}. Give a folder you can write to with --store PATH (or "
    "RIGORLAB_STORE=PATH; rigorlab.track(store=...) in Python), or create the folder {path} yourself first."
)


class SQLiteStore(TrackedRunsMixin, VerificationsMixin, AuditResultsMixin, RunStore):
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
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as error:  # not writable, a file in the way, /proc, a read-only mount
                reason = REASON_A_FILE if self.root.is_file() else _reason(error)
                raise StoreError(MSG_STORE_UNUSABLE.format(path=self.root, reason=reason)) from error
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
        except sqlite3.OperationalError as error:
            if db_path.exists():
                raise StoreError(MSG_NOT_A_STORE.format(path=self.root, reason=error)) from error
            # "unable to open database file": the folder exists but the file cannot be created in it.
            raise StoreError(MSG_STORE_UNUSABLE.format(path=self.root, reason=error)) from error
        except sqlite3.DatabaseError as error:
            raise StoreError(MSG_NOT_A_STORE.format(path=self.root, reason=error)) from error
        except OSError as error:
            raise StoreError(MSG_STORE_UNUSABLE.format(path=self.root, reason=_reason(error))) from error
        self.artifacts = ArtifactStore(self.root / "objects")

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

    # -- reading ---------------------------------------------------------------------------
    def trial_states(self, study: str) -> dict[str, str]:
        study_id = self._study_id(study)
        return dict(self._db.execute("SELECT key, status FROM trials WHERE study_id = ?", (study_id,)).fetchall())

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

    def close(self) -> None:
        self._db.close()


REASON_A_FILE = "it is a file, and a store is a folder (SQLite database and objects inside)"


def _reason(error: OSError) -> str:
    """``permission denied``, ``no such file or directory``: the OS's words, without the path repeated."""
    return (error.strerror or str(error)).lower()


def open_store(path: str | Path | None = None, *, create: bool = False, read_only: bool = False) -> SQLiteStore:
    """Open the store at ``path`` (default: ``$RIGORLAB_STORE`` or ``./.rigorlab``).

    Examples
    --------
    >>> store = open_store(".rigorlab")  # doctest: +SKIP
    >>> store.metrics("quickstart").head()  # doctest: +SKIP
    """
    return SQLiteStore(Path(path) if path is not None else default_store_path(), create=create, read_only=read_only)
