"""Reproduce-and-verify records and study export in the SQLite store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rigorlab.errors import StoreError
from rigorlab.provenance import now_iso
from rigorlab.store._sqlite_base import (
    DB_NAME,
    SQLiteBase,
    _json,
)

__all__ = ["VerificationsMixin"]


class VerificationsMixin(SQLiteBase):
    """Reproduce-and-verify records and study export in the SQLite store."""

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
        from rigorlab.store._sqlite import SQLiteStore  # the assembled class (this module is one of its parts)

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
