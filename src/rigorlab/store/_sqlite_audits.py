"""Audit results in the SQLite store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from numpy.typing import NDArray

from rigorlab.errors import NotFoundError
from rigorlab.store._sqlite_base import (
    SQLiteBase,
    _json,
)

__all__ = ["AuditResultsMixin"]


class AuditResultsMixin(SQLiteBase):
    """Audit results in the SQLite store."""

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
