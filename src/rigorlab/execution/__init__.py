"""Execution: the Executor interface, the local executor, the trial runner and the driver."""

from rigorlab.execution._base import Executor
from rigorlab.execution._driver import RunSummary, load_datasets, prepare, run_study
from rigorlab.execution._local import LocalExecutor
from rigorlab.execution._runner import run_trial
from rigorlab.execution._task import TrialTask

__all__ = [
    "Executor",
    "LocalExecutor",
    "RunSummary",
    "TrialTask",
    "load_datasets",
    "prepare",
    "run_study",
    "run_trial",
]
