"""The trial runner: fit one arm on one split, predict, score, and capture everything.

It never raises: any exception in user code (an estimator, a metric) becomes a failed
TrialResult with its traceback, so one bad trial cannot stop a study. Torch arms go through
:func:`run_torch_tasks`, which trains a batch of replicates together and returns one result per
trial, with the same fields as a scikit-learn trial's plus per-epoch curves. Both build their
models with :mod:`rigorlab.execution._fit`, as the audits' refit does.

A group-shift trial (``Trial.train_groups``) is scored twice: on its shifted test rows (the stored
metrics and predictions) and on its in-distribution rows (every metric again, stored under
``<metric>@in_distribution``). An audit unit of work runs ``rigorlab.audits.run_audit_task``.
"""

from __future__ import annotations

import time
import traceback as traceback_module
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import get_scorer

from rigorlab.data import Dataset, in_distribution_mask
from rigorlab.execution._fit import fit_trial_model, model_inputs, replicate_job, torch_model_of
from rigorlab.execution._task import AuditWork, BatchTask, TrialTask, Work
from rigorlab.models import METRICS, build_estimator, check_encoding, compute_metric
from rigorlab.provenance import capture_environment, environment_hash, now_iso
from rigorlab.spec import Arm
from rigorlab.store import DONE, FAILED, TrialResult

__all__ = [
    "IN_DISTRIBUTION",
    "MSG_NEEDS_SCORES",
    "MSG_TORCH_SCORER",
    "MSG_WRONG_TASK",
    "check_arm_fits_task",
    "in_distribution_name",
    "run_torch_tasks",
    "run_trial",
    "run_work",
    "selection_scorer",
]

MSG_WRONG_TASK = (
    "Model '{model}' ({estimator}) is a {kind}, but dataset '{dataset}' is a {task} task. Use a {wanted} "
    "for this dataset, or set task: on the dataset if it was inferred wrongly."
)
MSG_NEEDS_SCORES = (
    "The metric '{metric}' needs predicted probabilities or scores, but {estimator} has neither predict_proba "
    "nor decision_function. Remove the metric or use a model that gives scores (e.g. probability=True for SVC)."
)
MSG_TORCH_SCORER = (
    "The metric '{metric}' is a scikit-learn scorer, which needs a fitted scikit-learn estimator; model '{model}' is "
    "a torch model. Use one of rigorlab's metrics ({friendly}), which are computed from the stored predictions."
)
MSG_WARNINGS_KEPT = 5
IN_DISTRIBUTION = "@in_distribution"
"""Suffix of the metrics a group-shift trial stores for its in-distribution test rows."""

# Friendly metric names as scikit-learn scorers, for inner-CV hyperparameter selection.
_SELECTION_SCORERS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "f1_weighted": "f1_weighted",
    "precision_macro": "precision_macro",
    "recall_macro": "recall_macro",
    "roc_auc": "roc_auc_ovr",
    "log_loss": "neg_log_loss",
    "brier": "neg_brier_score",
    "r2": "r2",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
    "rmse": "neg_root_mean_squared_error",
}


def selection_scorer(metric: str, n_classes: int) -> str:
    """The scikit-learn scorer that selects hyperparameters for ``metric``."""
    if metric == "roc_auc" and n_classes == 2:
        return "roc_auc"
    return _SELECTION_SCORERS.get(metric, metric)


def check_arm_fits_task(arm: Arm, task: str, dataset: str, init_seed: int = 0) -> None:
    """Raise ValueError when a classifier meets a regression task or the reverse (scikit-learn arms; a
    torch arm's fit is checked by :func:`rigorlab.models.check_torch_model`)."""
    if arm.is_torch:
        return
    estimator = build_estimator(arm.estimator, arm.params, init_seed)
    if task == "classification" and not is_classifier(estimator) and is_regressor(estimator):
        kind, wanted = "regressor", "classifier"
    elif task == "regression" and not is_regressor(estimator) and is_classifier(estimator):
        kind, wanted = "classifier", "regressor"
    else:
        return
    raise ValueError(
        MSG_WRONG_TASK.format(
            model=arm.name, estimator=arm.estimator, kind=kind, dataset=dataset, task=task, wanted=wanted
        )
    )


def _scores(model: Any, features: Any) -> NDArray[np.float64] | None:
    if hasattr(model, "predict_proba"):
        try:
            return np.asarray(model.predict_proba(features), dtype=float)
        except (AttributeError, NotImplementedError):
            pass  # e.g. SVC(probability=False) exposes the method but refuses to use it
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(features), dtype=float)
    return None


def _environment() -> tuple[str, dict[str, Any]]:
    environment = capture_environment()
    return environment_hash(environment), environment


def _new_result(task: TrialTask, env_hash: str, environment: dict[str, Any] | None) -> TrialResult:
    trial = task.trial
    arm = trial.arm
    return TrialResult(
        key=trial.key,
        arm=arm.name,
        dataset=trial.dataset,
        replicate=trial.replicate,
        fold=trial.fold,
        status=FAILED,
        config=arm.config(),
        seeds=trial.seeds.to_dict(),
        dataset_fingerprint=trial.dataset_fingerprint,
        split_fingerprint=trial.split_fingerprint,
        n_train=len(task.train),
        n_test=len(task.test),
        environment_hash=env_hash,
        environment=environment,
        started_at=now_iso(),
    )


def _warning_tags(caught: list[warnings.WarningMessage]) -> dict[str, str]:
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return {"warnings": "\n".join(messages[:MSG_WARNINGS_KEPT])} if messages else {}


def run_work(work: Work, dataset: Dataset) -> list[Any]:
    """Run a unit of work: one TrialResult per trial it holds, or one AuditResult for an audit (never raises
    for errors in user code)."""
    if isinstance(work, AuditWork):
        from rigorlab.audits._tasks import run_audit_task

        return [run_audit_task(work.audit, dataset)]
    if isinstance(work, BatchTask) or work.trial.arm.is_torch:
        return run_torch_tasks(work.tasks, dataset)
    return [run_trial(work, dataset)]


def run_trial(task: TrialTask, dataset: Dataset, *, include_environment: bool = True) -> TrialResult:
    """Run one trial and return its result (never raises for errors in user code)."""
    if task.trial.arm.is_torch:
        result = run_torch_tasks((task,), dataset)[0]
        if not include_environment:
            result.environment = None
        return result
    env_hash, environment = _environment()
    result = _new_result(task, env_hash, environment if include_environment else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _fit_and_score(task, dataset, result)
            result.status = DONE
        except Exception as error:  # user code may raise anything; the trial is stored as failed
            result.error = f"{type(error).__name__}: {error}"
            result.traceback = traceback_module.format_exc()
    result.tags.update(_warning_tags(caught))
    result.finished_at = now_iso()
    return result


def _torch_environment() -> tuple[str, dict[str, Any]]:
    """The environment with torch imported, so that a GPU's record carries torch's CUDA version."""
    import torch  # noqa: F401 - imported for capture_environment to see it

    environment = capture_environment()
    if any("cuda" not in gpu for gpu in environment["gpus"]):
        # Captured (and cached) before this process imported torch: capture again.
        capture_environment.cache_clear()
        environment = capture_environment()
    return environment_hash(environment), environment


def run_torch_tasks(tasks: tuple[TrialTask, ...], dataset: Dataset) -> list[TrialResult]:
    """Train the replicates of one torch arm on one dataset together; one result per task.

    The tasks train as one stacked model when the arm's ``training.batched`` allows it (see
    :mod:`rigorlab.models._torch`); each result is what the trial would have given alone. An error
    that stops the whole batch (a module that does not build) fails every trial with it; an error in
    one replicate's scoring fails only that trial. torch runs on one thread here, in every worker and
    executor alike, so the numbers do not depend on ``--jobs``.
    """
    from rigorlab.models import fit_torch_replicates

    try:
        env_hash, environment = _torch_environment()
    except ImportError:  # no torch: the trials fail with the import error below
        env_hash, environment = _environment()
    results = [_new_result(task, env_hash, environment) for task in tasks]
    arm = tasks[0].trial.arm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # The model and jobs are built as the audits' refit builds them (rigorlab.execution._fit).
            model = torch_model_of(arm.name, arm.config(), training=arm.training)
            jobs = [replicate_job(t.train, t.test, t.trial.seeds.to_dict()) for t in tasks]
            fits = fit_torch_replicates(model, dataset, jobs, primary_metric=tasks[0].trial.primary_metric, threads=1)
        except Exception as error:  # user code may raise anything; every trial of the batch is stored as failed
            for result in results:
                result.error = f"{type(error).__name__}: {error}"
                result.traceback = traceback_module.format_exc()
            fits = []
        for result, task, fit in zip(results, tasks, fits, strict=False):
            try:
                _score_torch(task, dataset, fit, result)
                result.status = DONE
            except Exception as error:  # a metric on one replicate's predictions; the others are kept
                result.error = f"{type(error).__name__}: {error}"
                result.traceback = traceback_module.format_exc()
    finished = now_iso()
    for result in results:
        result.tags.update(_warning_tags(caught))
        result.finished_at = finished
    return results


def in_distribution_name(metric: str) -> str:
    """The name a group-shift trial stores ``metric`` under for its in-distribution rows.

    Examples
    --------
    >>> in_distribution_name("accuracy")
    'accuracy@in_distribution'
    """
    return f"{metric}{IN_DISTRIBUTION}"


def _evaluation_rows(task: TrialTask, dataset: Dataset) -> tuple[NDArray[np.int64], NDArray[np.int64] | None]:
    """The test rows whose predictions and metrics are stored, and (group shift) the in-distribution rows."""
    trial = task.trial
    if trial.train_groups is None:
        return task.test, None
    inside = in_distribution_mask(task.test, dataset.group, trial.train_groups)
    return task.test[~inside], task.test[inside]


def _metric_values(
    task: TrialTask,
    target: NDArray[Any],
    predicted: NDArray[Any],
    scores: NDArray[np.float64] | None,
    classes: NDArray[Any],
    scorer: Callable[[str], float] | None,
) -> dict[str, float]:
    """Every metric of the trial on one set of rows (``scorer`` computes scikit-learn scorers; None: torch)."""
    trial = task.trial
    values: dict[str, float] = {}
    # A reproduced group-shift trial lists its stored in-distribution metrics too; they are computed apart.
    for name in (m for m in trial.metrics if IN_DISTRIBUTION not in m):
        if name in METRICS:
            if METRICS[name].needs_scores and scores is None:
                raise ValueError(MSG_NEEDS_SCORES.format(metric=name, estimator=trial.arm.estimator))
            values[name] = compute_metric(name, target, predicted, scores, classes)
        elif name in ("fit_seconds", "predict_seconds"):
            continue
        elif scorer is not None:
            values[name] = scorer(name)
        else:
            raise ValueError(MSG_TORCH_SCORER.format(metric=name, model=trial.arm.name, friendly=", ".join(METRICS)))
    return values


def _store_evaluation(
    task: TrialTask,
    result: TrialResult,
    rows: NDArray[np.int64],
    target: NDArray[Any],
    predicted: NDArray[Any],
    scores: NDArray[np.float64] | None,
    classes: NDArray[Any],
) -> None:
    result.predictions = {"test_index": rows, "y_true": target, "y_pred": predicted, "classes": classes}
    if scores is not None:
        result.predictions["scores"] = scores
    if task.trial.train_groups is not None:
        result.n_test = len(rows)


def _score_torch(task: TrialTask, dataset: Dataset, fit: Any, result: TrialResult) -> None:
    result.fit_seconds = fit.fit_seconds
    result.predict_seconds = fit.predict_seconds
    result.curves = list(fit.curves)
    result.tags.update(fit.tags)
    shifted, inside = _evaluation_rows(task, dataset)
    # The trainer predicted every test row (task.test, in order); a group-shift trial's are split in two.
    position = {int(row): index for index, row in enumerate(np.asarray(fit.test_index))}
    for rows, suffix in ((shifted, ""), (inside, IN_DISTRIBUTION)):
        if rows is None:
            continue
        at = np.asarray([position[int(row)] for row in rows], dtype=np.int64)
        predicted = np.asarray(fit.y_pred)[at]
        scores = None if fit.scores is None else np.asarray(fit.scores)[at]
        target = dataset.target[rows]
        values = _metric_values(task, target, predicted, scores, fit.classes, None)
        result.metrics.update({f"{name}{suffix}": value for name, value in values.items()})
        if not suffix:
            _store_evaluation(task, result, rows, target, predicted, scores, fit.classes)
    if inside is not None:
        result.tags["in_distribution_rows"] = str(len(inside))


def _fit_and_score(task: TrialTask, dataset: Dataset, result: TrialResult) -> None:
    trial = task.trial
    arm = trial.arm
    config = arm.config()
    check_encoding(arm.preprocess, dataset.categorical_columns, arm.name, dataset.name)
    check_arm_fits_task(arm, dataset.task, dataset.name, trial.seeds.init)
    fitted = fit_trial_model(
        config, dataset, task.train, trial.seeds.to_dict(), primary_metric=trial.primary_metric, name=arm.name
    )
    model = fitted.model
    result.fit_seconds = fitted.fit_seconds
    if arm.grid:
        result.selected_params = fitted.selected_params
    frame = model_inputs(dataset, config)
    classes = np.asarray(model.classes_) if dataset.task == "classification" else np.asarray([])
    shifted, inside = _evaluation_rows(task, dataset)
    for rows, suffix in ((shifted, ""), (inside, IN_DISTRIBUTION)):
        if rows is None:
            continue
        features, target = frame.iloc[rows], dataset.target[rows]
        started = time.perf_counter()
        predicted = np.asarray(model.predict(features))
        scores = _scores(model, features) if dataset.task == "classification" else None
        if not suffix:
            result.predict_seconds = time.perf_counter() - started

        def scorer(name: str, features: Any = features, target: Any = target) -> float:
            return float(get_scorer(name)(model, features, target))

        values = _metric_values(task, target, predicted, scores, classes, scorer)
        result.metrics.update({f"{name}{suffix}": value for name, value in values.items()})
        if not suffix:
            _store_evaluation(task, result, rows, target, predicted, scores, classes)
    if inside is not None:
        result.tags["in_distribution_rows"] = str(len(inside))
