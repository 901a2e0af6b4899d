"""Tracked and imported runs in the SQLite store, and crash detection of their processes."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import socket
import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rigorlab.errors import StoreError
from rigorlab.provenance import now_iso
from rigorlab.store._records import CRASHED, DONE, RUNNING, TrialResult
from rigorlab.store._sqlite_base import (
    MSG_MISSING_FILE,
    MSG_PROCESS_GONE,
    MSG_READ_ONLY,
    SQLiteBase,
    _json,
    _run_process_alive,
)

__all__ = ["TrackedRunsMixin"]


class TrackedRunsMixin(SQLiteBase):
    """Tracked and imported runs in the SQLite store, and crash detection of their processes."""

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
        for run_id in TrackedRunsMixin._dead_runs(db):
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
