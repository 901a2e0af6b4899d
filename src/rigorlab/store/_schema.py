"""The store's versioned schema and its migrations.

``PRAGMA user_version`` holds the schema version. Opening a store applies, in one transaction
each, the migrations it has not seen; a store written by a newer rigorlab is refused rather than
misread. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3

from rigorlab.errors import SchemaVersionError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

MSG_NEWER_SCHEMA = (
    "The store {path} has schema version {found}, newer than this rigorlab understands ({supported}). "
    "Upgrade rigorlab (pip install -U rigorlab) to open it; nothing was changed."
)

MIGRATIONS: list[str] = [
    # 1: studies, runs, environments, datasets, the current plan, trials and their metrics.
    """
    CREATE TABLE studies (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        question TEXT NOT NULL DEFAULT '',
        spec_json TEXT,
        spec_text TEXT,
        spec_path TEXT,
        primary_metric TEXT,
        baseline TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE environments (
        hash TEXT PRIMARY KEY,
        json TEXT NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        command TEXT NOT NULL,
        git_json TEXT,
        environment TEXT REFERENCES environments(hash),
        rigorlab_version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL
    );
    CREATE TABLE datasets (
        study_id INTEGER NOT NULL REFERENCES studies(id),
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        summary_json TEXT NOT NULL,
        PRIMARY KEY (study_id, name)
    );
    CREATE TABLE planned_trials (
        study_id INTEGER NOT NULL REFERENCES studies(id),
        key TEXT NOT NULL,
        arm TEXT NOT NULL,
        dataset TEXT NOT NULL,
        replicate INTEGER NOT NULL,
        fold INTEGER NOT NULL,
        PRIMARY KEY (study_id, key)
    );
    CREATE TABLE trials (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        key TEXT NOT NULL,
        arm TEXT NOT NULL,
        dataset TEXT NOT NULL,
        replicate INTEGER NOT NULL,
        fold INTEGER NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'study',
        run_id INTEGER REFERENCES runs(id),
        config_json TEXT NOT NULL,
        seeds_json TEXT NOT NULL,
        dataset_fingerprint TEXT,
        split_fingerprint TEXT,
        split_ref TEXT,
        predictions_ref TEXT,
        n_train INTEGER,
        n_test INTEGER,
        fit_seconds REAL,
        predict_seconds REAL,
        selected_params_json TEXT,
        environment TEXT REFERENCES environments(hash),
        error TEXT,
        traceback TEXT,
        started_at TEXT,
        finished_at TEXT,
        UNIQUE (study_id, key)
    );
    CREATE INDEX trials_by_study ON trials(study_id, status);
    CREATE TABLE metrics (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value REAL,
        PRIMARY KEY (trial_id, name)
    ) WITHOUT ROWID;
    """,
    # 2: per-step curves (learning curves, tracked metrics), free-form tags on trials, and the
    # process behind each run (so a run whose process died can be marked crashed).
    """
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN hostname TEXT;
    CREATE TABLE curves (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL
    );
    CREATE INDEX curves_by_trial ON curves(trial_id, name, step);
    CREATE TABLE tags (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (trial_id, key)
    ) WITHOUT ROWID;
    """,
    # 3: files logged with a trial (tracking), reproduce-and-verify verdicts, and audit results.
    """
    CREATE TABLE trial_files (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        ref TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (trial_id, name)
    ) WITHOUT ROWID;
    CREATE TABLE verifications (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        key TEXT NOT NULL,
        verdict TEXT NOT NULL,
        max_difference REAL,
        details_json TEXT NOT NULL,
        environment TEXT,
        verified_at TEXT NOT NULL
    );
    CREATE INDEX verifications_by_trial ON verifications(study_id, key);
    CREATE TABLE audit_results (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id),
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        arm TEXT,
        dataset TEXT NOT NULL,
        replicate INTEGER,
        fold INTEGER,
        trial_key TEXT,
        status TEXT NOT NULL,
        result_json TEXT,
        artifact_ref TEXT,
        error TEXT,
        traceback TEXT,
        started_at TEXT,
        finished_at TEXT,
        UNIQUE (study_id, key)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection, path: str, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``target`` (default: the newest schema); returns the version reached."""
    found = schema_version(connection)
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(MSG_NEWER_SCHEMA.format(path=path, found=found, supported=SCHEMA_VERSION))
    for version in range(found + 1, target + 1):
        # executescript commits first; BEGIN IMMEDIATE makes the whole migration one transaction,
        # so a crash mid-migration leaves the previous version intact.
        connection.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[version - 1]}; PRAGMA user_version = {version}; COMMIT;"
        )
    return max(found, target)
