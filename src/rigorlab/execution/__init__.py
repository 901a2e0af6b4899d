"""Execution: the Executor interface, the local executor, the trial runner and the driver."""

from rigorlab.execution._base import Executor
from rigorlab.execution._driver import RunSummary, load_datasets, prepare, run_study
from rigorlab.execution._local import LocalExecutor
from rigorlab.execution._runner import run_trial, run_work
from rigorlab.execution._task import BatchTask, TrialTask, group_tasks

__all__ = [
    "BatchTask",
    "Executor",
    "LocalExecutor",
    "RunSummary",
    "TrialTask",
    "group_tasks",
    "load_datasets",
    "prepare",
    "run_study",
    "run_trial",
    "run_work",
]
