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

from rigorlab._version import __version__
from rigorlab.errors import RigorlabError
from rigorlab.execution import RunSummary, run_study
from rigorlab.spec import LoadedStudy, StudySpec, load_study
from rigorlab.store import RunStore, open_store

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
]
