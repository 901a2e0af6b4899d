"""Tracking for hand-written training loops: ``rigorlab.track()`` and ``seed_everything``.

A tracked run is a trial of a study with the provenance of study trials; ``run.log`` appends to
an in-memory buffer that a background thread writes in batches. ``import_mlflow`` and
``export_mlflow`` move runs between MLflow tracking stores and rigorlab.
"""

from typing import TYPE_CHECKING

from rigorlab._lazy import lazy_exports
from rigorlab.tracking._run import TrackedRun, current_run
from rigorlab.tracking._seed import last_seeding, seed_everything
from rigorlab.tracking._study_checks import ReplicateReplacedWarning
from rigorlab.tracking._system import SystemSampler
from rigorlab.tracking._track import track

if TYPE_CHECKING:
    from rigorlab.tracking._mlflow_export import ExportSummary, export_mlflow
    from rigorlab.tracking._mlflow_import import ImportSummary, import_mlflow

# The MLflow bridges are loaded on first use: a training loop that only tracks never pays for them.
_LAZY = {
    "ExportSummary": "rigorlab.tracking._mlflow_export",
    "export_mlflow": "rigorlab.tracking._mlflow_export",
    "ImportSummary": "rigorlab.tracking._mlflow_import",
    "import_mlflow": "rigorlab.tracking._mlflow_import",
}

__all__ = [
    "ExportSummary",
    "ImportSummary",
    "ReplicateReplacedWarning",
    "SystemSampler",
    "TrackedRun",
    "current_run",
    "export_mlflow",
    "import_mlflow",
    "last_seeding",
    "seed_everything",
    "track",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
