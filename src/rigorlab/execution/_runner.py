"""The trial runner: fit one arm on one split, predict, score, and capture everything.

It never raises: any exception in user code (an estimator, a metric) becomes a failed
TrialResult with its traceback, so one bad trial cannot stop a study. Torch arms go through
:func:`run_torch_tasks`, which trains a batch of replicates together and returns one result per
trial, with the same fields as a scikit-learn trial's plus per-epoch curves.
"""

from __future__ import annotations

import time
import traceback as traceback_module
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from rigorlab.data import Dataset
from rigorlab.execution._task import BatchTask, TrialTask
from rigorlab.models import METRICS, build_estimator, build_pipeline, check_encoding, compute_metric
from rigorlab.provenance import capture_environment, environment_hash, now_iso
from rigorlab.spec import Arm
from rigorlab.store import DONE, FAILED, TrialResult

__all__ = [
    "MSG_NEEDS_SCORES",
    "MSG_TORCH_SCORER",
    "MSG_WRONG_TASK",
    "check_arm_fits_task",
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


def _inner_cv(task: str, folds: int, seed: int) -> KFold | StratifiedKFold:
    if task == "classification":
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


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


def run_work(work: TrialTask | BatchTask, dataset: Dataset) -> list[TrialResult]:
    """Run a unit of work: one result per trial it holds (never raises for errors in user code)."""
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
    from rigorlab.models import ReplicateJob, TorchModel, fit_torch_replicates

    try:
        env_hash, environment = _torch_environment()
    except ImportError:  # no torch: the trials fail with the import error below
        env_hash, environment = _environment()
    results = [_new_result(task, env_hash, environment) for task in tasks]
    arm = tasks[0].trial.arm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = TorchModel.from_settings(arm.name, arm.estimator, arm.params, arm.training, arm.preprocess)
            jobs = [ReplicateJob(t.train, t.test, t.trial.seeds.init, t.trial.seeds.data_order) for t in tasks]
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


def _score_torch(task: TrialTask, dataset: Dataset, fit: Any, result: TrialResult) -> None:
    trial = task.trial
    target_test = dataset.target[task.test]
    result.fit_seconds = fit.fit_seconds
    result.predict_seconds = fit.predict_seconds
    result.curves = list(fit.curves)
    result.tags.update(fit.tags)
    for name in trial.metrics:
        if name in METRICS:
            result.metrics[name] = compute_metric(name, target_test, fit.y_pred, fit.scores, fit.classes)
        elif name not in ("fit_seconds", "predict_seconds"):
            raise ValueError(MSG_TORCH_SCORER.format(metric=name, model=trial.arm.name, friendly=", ".join(METRICS)))
    result.predictions = {
        "test_index": task.test,
        "y_true": target_test,
        "y_pred": fit.y_pred,
        "classes": fit.classes,
    }
    if fit.scores is not None:
        result.predictions["scores"] = fit.scores


def _fit_and_score(task: TrialTask, dataset: Dataset, result: TrialResult) -> None:
    trial = task.trial
    arm = trial.arm
    # The data-order seed shuffles the training rows, so order-sensitive learners (SGD, boosting
    # with subsampling) see a replicate-specific order that does not depend on the split.
    order = np.random.default_rng(trial.seeds.data_order).permutation(len(task.train))
    train_rows = task.train[order]
    features_train = dataset.features.iloc[train_rows]
    target_train = dataset.target[train_rows]
    features_test = dataset.features.iloc[task.test]
    target_test = dataset.target[task.test]

    check_encoding(arm.preprocess, dataset.categorical_columns, arm.name, dataset.name)
    check_arm_fits_task(arm, dataset.task, dataset.name, trial.seeds.init)
    estimator = build_estimator(arm.estimator, arm.params, trial.seeds.init)
    pipeline = build_pipeline(estimator, arm.preprocess, dataset.numeric_columns, dataset.categorical_columns)
    model: Any = pipeline
    if arm.grid:
        assert arm.inner_folds is not None
        model = GridSearchCV(
            pipeline,
            {f"model__{name}": list(values) for name, values in arm.grid.items()},
            cv=_inner_cv(dataset.task, arm.inner_folds, trial.seeds.inner_split),
            scoring=selection_scorer(trial.primary_metric, len(np.unique(target_train))),
            refit=True,
            error_score="raise",
        )
    started = time.perf_counter()
    model.fit(features_train, target_train)
    result.fit_seconds = time.perf_counter() - started
    if arm.grid:
        result.selected_params = {k.removeprefix("model__"): v for k, v in model.best_params_.items()}

    started = time.perf_counter()
    predicted = np.asarray(model.predict(features_test))
    scores = _scores(model, features_test) if dataset.task == "classification" else None
    result.predict_seconds = time.perf_counter() - started

    classes = np.asarray(model.classes_) if dataset.task == "classification" else np.asarray([])
    for name in trial.metrics:
        if name in METRICS:
            if METRICS[name].needs_scores and scores is None:
                raise ValueError(MSG_NEEDS_SCORES.format(metric=name, estimator=arm.estimator))
            result.metrics[name] = compute_metric(name, target_test, predicted, scores, classes)
        elif name in ("fit_seconds", "predict_seconds"):
            continue
        else:
            result.metrics[name] = float(get_scorer(name)(model, features_test, target_test))
    result.predictions = {
        "test_index": task.test,
        "y_true": target_test,
        "y_pred": predicted,
        "classes": classes,
    }
    if scores is not None:
        result.predictions["scores"] = scores
