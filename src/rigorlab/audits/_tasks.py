"""Audit planning (from a study, its datasets and its stored trials) and the audit runner.

:func:`run_audit_task` is to audits what ``rigorlab.execution.run_trial`` is to trials: it never
raises; an error in an audit (or in user code it calls) becomes a failed :class:`AuditResult`
with its traceback, so one failing audit cannot stop the others.
"""

from __future__ import annotations

import time
import traceback as traceback_module
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.audits import _messages as msg
from rigorlab.audits._data import DATA_DEFAULTS, audit_data
from rigorlab.audits._explain import EXPLAIN_DEFAULTS, audit_explain
from rigorlab.audits._fairness import FAIRNESS_DEFAULTS, audit_fairness
from rigorlab.audits._records import (
    DONE,
    FAILED,
    SKIPPED,
    AuditResult,
    AuditTask,
    SplitInputs,
    TrialInputs,
    audit_key,
    audit_seed,
)
from rigorlab.audits._refit import check_refit, refit_trial_model, training_rows
from rigorlab.audits._robustness import ROBUSTNESS_DEFAULTS, audit_robustness
from rigorlab.data import Dataset
from rigorlab.errors import NotFoundError
from rigorlab.execution._fit import model_dataset
from rigorlab.provenance import now_iso
from rigorlab.spec import Plan
from rigorlab.store import RunStore

__all__ = ["DEFAULTS", "TRIAL_KINDS", "plan_audit_tasks", "resolve_options", "run_audit_task"]

MSG_WRONG_DATASET = (
    "The audit of dataset '{dataset}' was given data with fingerprint {given}, but it was planned for {expected}; "
    "the executor sent the wrong dataset."
)
WARNINGS_KEPT = 5

TRIAL_KINDS = ("fairness", "robustness", "explain")
"""Audits of one stored trial each; ``data`` audits a dataset and its splits."""

DEFAULTS: dict[str, dict[str, Any]] = {
    "data": DATA_DEFAULTS,
    "fairness": FAIRNESS_DEFAULTS,
    "robustness": {**ROBUSTNESS_DEFAULTS, "folds": "first"},
    "explain": {**EXPLAIN_DEFAULTS, "folds": "first"},
}
"""Settings of each audit. ``folds: first`` (robustness, explanations) refits and audits the first
fold of every replicate, which is enough for curves and for the stability of rankings across
replicates; ``all`` audits every trial."""


def resolve_options(kind: str, overrides: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """The defaults of ``kind`` with the caller's overrides on top."""
    return {**DEFAULTS[kind], **dict((overrides or {}).get(kind, {}))}


def _trial_inputs(store: RunStore, study: str, key: str, *, with_split: bool) -> TrialInputs:
    provenance = store.provenance(study, key)
    split = (
        store.split(study, key)
        if with_split
        else {"train": np.asarray([], dtype=np.int64), "test": np.asarray([], dtype=np.int64)}
    )
    return TrialInputs(
        key=key,
        arm=str(provenance["arm"]),
        replicate=int(provenance["replicate"]),
        fold=int(provenance["fold"]),
        config=dict(provenance["config"]),
        seeds={name: int(value) for name, value in provenance["seeds"].items()},
        selected_params=provenance["selected_params"],
        train=np.asarray(split["train"], dtype=np.int64),
        test=np.asarray(split["test"], dtype=np.int64),
        predictions=store.predictions(study, key),
    )


def _out_of_fold(
    store: RunStore, study: str, dataset: Dataset, trials: pd.DataFrame, arm: str
) -> dict[str, Any] | None:
    """Out-of-fold probabilities of one arm's first replicate, when its folds cover every row once
    and its scores are probabilities (otherwise the data audit fits its own model)."""
    if dataset.task != "classification" or trials.empty:
        return None
    chosen = trials[(trials["arm"] == arm) & (trials["dataset"] == dataset.name) & (trials["status"] == "done")]
    if chosen.empty:
        return None
    first = chosen[chosen["replicate"] == chosen["replicate"].min()]
    classes = np.unique(dataset.target).astype(str)
    probabilities = np.full((dataset.n_rows, len(classes)), np.nan)
    for key in first["key"]:
        predictions = store.predictions(study, str(key))
        scores = predictions.get("scores")
        stored_classes = np.asarray(predictions["classes"]).astype(str)
        if scores is None or scores.ndim != 2 or not np.array_equal(stored_classes, classes):
            return None
        if scores.min() < 0 or not np.allclose(scores.sum(axis=1), 1.0, atol=1e-6):
            return None  # decision_function scores, not probabilities
        probabilities[np.asarray(predictions["test_index"], dtype=np.int64)] = scores
    if np.isnan(probabilities).any():
        return None
    replicate = int(first["replicate"].iloc[0])
    return {
        "probabilities": probabilities,
        "source": f"the stored test predictions of arm '{arm}', replicate {replicate}",
        "trials": sorted(str(k) for k in first["key"]),
    }


def _dataset_splits(plan: Plan, dataset: str) -> tuple[SplitInputs, ...]:
    seen: dict[tuple[int, int], SplitInputs] = {}
    for trial in plan.trials:
        if trial.dataset == dataset and (trial.replicate, trial.fold) not in seen:
            split = plan.splits[trial.split_fingerprint]
            seen[(trial.replicate, trial.fold)] = SplitInputs(
                trial.replicate, trial.fold, split.train, split.test, trial.split_fingerprint
            )
    return tuple(seen.values())


def plan_audit_tasks(
    store: RunStore,
    study: str,
    plan: Plan,
    datasets: Mapping[str, Dataset],
    kinds: Iterable[str],
    *,
    baseline: str,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    stored_predictions: bool = False,
) -> tuple[list[AuditTask], list[str]]:
    """The audit tasks of a study for ``kinds`` (cards excepted), and notes on what cannot run.

    Data audits need only the datasets and the plan's splits (they run before training too); with
    ``stored_predictions`` they read the baseline's stored out-of-fold probabilities when its folds
    cover every row (otherwise, and by default, the audit fits its own model: the same answer before
    and after training). Per-trial audits read
    the stored finished trials of the current plan; their keys hash the trial key and the audit
    settings, so a finished audit is found again on resume.
    """
    spec = plan.spec
    kinds = list(kinds)
    planned = {trial.key for trial in plan.trials}
    trials = store.trials(study, status="done")
    trials = trials[trials["key"].isin(planned)] if not trials.empty else trials
    tasks: list[AuditTask] = []
    notes: list[str] = []
    for name, dataset in datasets.items():
        if "data" in kinds:
            settings = resolve_options("data", options)
            splits = _dataset_splits(plan, name)
            oof = (
                _out_of_fold(store, study, dataset, trials, baseline)
                if settings["label_issues"] and stored_predictions
                else None
            )
            key = audit_key(
                {
                    "kind": "data",
                    "dataset": dataset.fingerprint,
                    "splits": [s.fingerprint for s in splits],
                    "oof": oof["trials"] if oof else None,
                    "options": settings,
                }
            )
            oof_inputs = {"probabilities": oof["probabilities"], "source": oof["source"]} if oof else None
            tasks.append(
                AuditTask(
                    key,
                    "data",
                    study,
                    name,
                    dataset.fingerprint,
                    audit_seed(spec.seed, key),
                    splits=splits,
                    oof=oof_inputs,
                    options=settings,
                )
            )
        on_dataset = trials[trials["dataset"] == name] if not trials.empty else trials
        for kind in (k for k in TRIAL_KINDS if k in kinds):
            if on_dataset.empty:
                notes.append(msg.NO_TRIALS_FOR_KIND.format(study=study, dataset=name, kind=kind))
                continue
            settings = resolve_options(kind, options)
            chosen = (
                on_dataset
                if settings.get("folds", "all") == "all"
                else on_dataset[on_dataset["fold"] == on_dataset["fold"].min()]
            )
            for trial_key in chosen["key"]:
                key = audit_key({"kind": kind, "trial": str(trial_key), "options": settings})
                try:
                    inputs = _trial_inputs(store, study, str(trial_key), with_split=kind != "fairness")
                except NotFoundError as error:  # a trial stored without predictions or split
                    notes.append(f"{kind} audit of trial {str(trial_key)[:10]} skipped: {error}")
                    continue
                tasks.append(
                    AuditTask(
                        key,
                        kind,
                        study,
                        name,
                        dataset.fingerprint,
                        audit_seed(spec.seed, key),
                        trial=inputs,
                        options=settings,
                    )
                )
    return tasks, notes


def _run(task: AuditTask, dataset: Dataset, result: AuditResult) -> None:
    if task.kind == "data":
        result.result, result.findings, result.notes, result.arrays = audit_data(
            dataset, task.splits, oof=task.oof, options=task.options, seed=task.seed
        )
        result.status = DONE
        return
    trial = task.trial
    assert trial is not None, f"a {task.kind} audit needs a trial"
    if task.kind == "fairness":
        outcome, result.findings, result.notes, skipped = audit_fairness(
            dataset, trial, options=task.options, seed=task.seed
        )
        result.status, result.message, result.result = (
            (SKIPPED, skipped, {}) if skipped else (DONE, None, outcome or {})
        )
        return
    model = refit_trial_model(dataset, trial)
    check_refit(model, dataset, trial)
    rows: NDArray[np.int64] = training_rows(trial)
    # What the model reads: for a mitigated arm the sensitive columns are part of its input, so they are
    # perturbed and explained like the features (the model does use them).
    seen = model_dataset(dataset, trial.config)
    if task.kind == "robustness":
        result.result, result.findings, result.notes = audit_robustness(
            model, seen, trial, rows, options=task.options, seed=task.seed
        )
    elif task.kind == "explain":
        result.result, result.findings, result.notes = audit_explain(
            model, seen, trial, rows, options=task.options, seed=task.seed
        )
    else:
        raise ValueError(f"unknown audit kind '{task.kind}'")
    result.status = DONE


def run_audit_task(task: AuditTask, dataset: Dataset) -> AuditResult:
    """Run one audit and return its result (never raises for errors in the audit or user code).

    Parameters
    ----------
    task : AuditTask
    dataset : Dataset
        The dataset the task was planned for (same fingerprint).

    Returns
    -------
    AuditResult
        ``done``, ``skipped`` (with ``message``) or ``failed`` (with ``error`` and ``traceback``).
        Warnings raised while it ran are kept (the first few) in ``warnings``.

    Examples
    --------
    >>> result = run_audit_task(task, datasets[task.dataset])  # doctest: +SKIP
    >>> result.status, [f.severity for f in result.findings]  # doctest: +SKIP
    """
    result = AuditResult(
        key=task.key,
        kind=task.kind,
        dataset=task.dataset,
        status=FAILED,
        arm=task.arm,
        replicate=task.replicate,
        fold=task.fold,
        trial_key=task.trial_key,
        started_at=now_iso(),
    )
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if dataset.fingerprint != task.dataset_fingerprint:
                raise ValueError(
                    MSG_WRONG_DATASET.format(
                        dataset=task.dataset, given=dataset.fingerprint[:12], expected=task.dataset_fingerprint[:12]
                    )
                )
            _run(task, dataset, result)
        except Exception as error:  # audits call user estimators and libraries: anything may raise
            result.status = FAILED
            result.error = f"{type(error).__name__}: {error}"
            result.traceback = traceback_module.format_exc()
    result.warnings = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))[:WARNINGS_KEPT]
    result.seconds = time.perf_counter() - started
    result.finished_at = now_iso()
    return result


def failed_audit(task: AuditTask, error: str) -> AuditResult:
    """A failed result for a task whose worker died before answering."""
    now = now_iso()
    return AuditResult(
        key=task.key,
        kind=task.kind,
        dataset=task.dataset,
        status=FAILED,
        arm=task.arm,
        replicate=task.replicate,
        fold=task.fold,
        trial_key=task.trial_key,
        error=error,
        started_at=now,
        finished_at=now,
    )
