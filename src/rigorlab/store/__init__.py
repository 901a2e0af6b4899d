"""The RunStore: studies, trials, metrics and artifacts in ``.rigorlab/`` (SQLite + files)."""

from rigorlab.store._artifacts import ArtifactStore
from rigorlab.store._base import RunStore
from rigorlab.store._records import CRASHED, DONE, FAILED, RUNNING, TRIAL_COLUMNS, TrialResult
from rigorlab.store._schema import SCHEMA_VERSION
from rigorlab.store._sqlite import SQLiteStore, default_store_path, open_store
from rigorlab.store._summary import replicate_scores, summarize

__all__ = [
    "CRASHED",
    "DONE",
    "FAILED",
    "RUNNING",
    "SCHEMA_VERSION",
    "TRIAL_COLUMNS",
    "ArtifactStore",
    "RunStore",
    "SQLiteStore",
    "TrialResult",
    "default_store_path",
    "open_store",
    "replicate_scores",
    "summarize",
]
