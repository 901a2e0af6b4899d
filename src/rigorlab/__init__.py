"""rigorlab: a research bench for AI/ML.

One study file states a research question; rigorlab runs it reproducibly, stores every number
with its provenance, and (in later modules) says with sound statistics what is supported.

Examples
--------
>>> import rigorlab
>>> study = rigorlab.load_study("examples/quickstart.yaml")  # doctest: +SKIP
>>> summary = rigorlab.run_study(study)  # doctest: +SKIP
>>> rigorlab.open_store().metrics("quickstart")  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from rigorlab._lazy import lazy_exports
from rigorlab._version import __version__
from rigorlab.errors import RigorlabError

if TYPE_CHECKING:
    from rigorlab.execution import RunSummary, run_study
    from rigorlab.spec import LoadedStudy, StudySpec, load_study
    from rigorlab.store import RunStore, open_store
    from rigorlab.tracking import seed_everything, track

# Imported on first use: a training script that only calls rigorlab.track() should not pay for
# importing scikit-learn and the executor (seconds) before its first line runs.
_LAZY = {
    "RunSummary": "rigorlab.execution",
    "run_study": "rigorlab.execution",
    "LoadedStudy": "rigorlab.spec",
    "StudySpec": "rigorlab.spec",
    "load_study": "rigorlab.spec",
    "RunStore": "rigorlab.store",
    "open_store": "rigorlab.store",
    "seed_everything": "rigorlab.tracking",
    "track": "rigorlab.tracking",
}

__all__ = [
    "LoadedStudy",
    "RigorlabError",
    "RunStore",
    "RunSummary",
    "StudySpec",
    "__version__",
    "load_study",
    "open_store",
    "run_study",
    "seed_everything",
    "track",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
