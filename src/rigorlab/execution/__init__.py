"""Execution: the Executor interface, the local executor, the trial runner, the shared model fit and the driver."""

from rigorlab.execution._base import Executor
from rigorlab.execution._driver import RunSummary, load_datasets, prepare, run_study
from rigorlab.execution._fit import FittedModel, fit_trial_model, model_dataset, model_inputs
from rigorlab.execution._local import LocalExecutor
from rigorlab.execution._runner import IN_DISTRIBUTION, in_distribution_name, run_trial, run_work
from rigorlab.execution._task import AuditWork, BatchTask, TrialTask, group_tasks

__all__ = [
    "IN_DISTRIBUTION",
    "AuditWork",
    "BatchTask",
    "Executor",
    "FittedModel",
    "LocalExecutor",
    "RunSummary",
    "TrialTask",
    "fit_trial_model",
    "group_tasks",
    "in_distribution_name",
    "load_datasets",
    "model_dataset",
    "model_inputs",
    "prepare",
    "run_study",
    "run_trial",
    "run_work",
]
