"""Build and fit a trial's model: the one path the trial runner and the audits' refit share.

A trial is fit from its resolved configuration (``Arm.config()``, stored as the trial's provenance),
its training rows and its seeds. The runner calls :func:`fit_trial_model` to train; the robustness
and explanation audits call it again with the stored provenance (and the hyperparameters the
trial's inner CV selected) and get the same model back, which ``rigorlab.audits.check_refit``
proves on every audit. Keeping one function is what stops the two from drifting apart.

- scikit-learn arms: the declared preprocessing and the estimator in a Pipeline, fit on the
  training rows in the replicate's data order (``random_state`` = the init seed unless set); with a
  grid and ``inner_folds``, a GridSearchCV on those rows (``refit=True``), unless the selected
  values are given (then the pipeline is fit with them directly: what GridSearchCV's refit does).
- mitigated arms (``mitigation:``): that pipeline inside :class:`rigorlab.models.MitigatedClassifier`,
  whose input frame carries the sensitive columns as well (:func:`model_inputs`).
- torch arms: the torch trainer on one replicate (``fit_torch_replicates``, which the runner also
  uses for its stacks; one replicate trains bit-identically alone or in a stack on CPU), returned
  as a fitted Pipeline whose final step exposes the network as ``module_``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from rigorlab.data import Dataset
from rigorlab.models import (
    SENSITIVE_PREFIX,
    MitigatedClassifier,
    ReplicateJob,
    TorchModel,
    build_estimator,
    build_pipeline,
)

__all__ = [
    "FittedModel",
    "fit_trial_model",
    "inner_cv",
    "model_dataset",
    "model_inputs",
    "replicate_job",
    "torch_model_of",
    "training_order",
]


@dataclass
class FittedModel:
    """A fitted trial model: ``model`` predicts from :func:`model_inputs` rows."""

    model: Any
    selected_params: dict[str, Any] | None = None
    fit_seconds: float = 0.0


def training_order(train: NDArray[np.int64], data_order_seed: int) -> NDArray[np.int64]:
    """The training rows in the replicate's data order: order-sensitive learners (SGD, boosting with
    subsampling) see a replicate-specific order that does not depend on the split.

    Examples
    --------
    >>> training_order(np.arange(4), 0).tolist() == training_order(np.arange(4), 0).tolist()
    True
    """
    order = np.random.default_rng(data_order_seed).permutation(len(train))
    return np.asarray(np.asarray(train)[order], dtype=np.int64)


def model_inputs(dataset: Dataset, config: Mapping[str, Any]) -> pd.DataFrame:
    """The frame a trial's model reads: the features, and for a mitigated arm its sensitive columns too
    (prefixed with ``SENSITIVE_PREFIX``)."""
    if not config.get("mitigation"):
        return dataset.features
    return pd.concat([dataset.features, dataset.sensitive.add_prefix(SENSITIVE_PREFIX)], axis=1)


def model_dataset(dataset: Dataset, config: Mapping[str, Any]) -> Dataset:
    """``dataset`` as the trial's model sees it (features = :func:`model_inputs`), for the audits that
    perturb and explain the model's input; the dataset itself for every arm but a mitigated one."""
    if not config.get("mitigation"):
        return dataset
    return dataclasses.replace(dataset, features=model_inputs(dataset, config))


def inner_cv(task: str, folds: int, seed: int) -> KFold | StratifiedKFold:
    """The inner cross-validation that selects a nested arm's hyperparameters."""
    if task == "classification":
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


def torch_model_of(name: str, config: Mapping[str, Any], training: Mapping[str, Any] | None = None) -> TorchModel:
    """The torch trainer's model of an arm, from its configuration (``training`` overrides the stored
    settings, e.g. with how to run: device, batched, max_stack)."""
    return TorchModel.from_settings(
        name,
        str(config["estimator"]),
        dict(config.get("params") or {}),
        dict(training if training is not None else config.get("training") or {}),
        dict(config.get("preprocess") or {}),
    )


def replicate_job(train: NDArray[np.int64], test: NDArray[np.int64], seeds: Mapping[str, int]) -> ReplicateJob:
    """One replicate for the torch trainer: its rows and its init and data-order seeds."""
    return ReplicateJob(
        np.asarray(train, dtype=np.int64),
        np.asarray(test, dtype=np.int64),
        int(seeds["init"]),
        int(seeds["data_order"]),
    )


def _sklearn_model(config: Mapping[str, Any], dataset: Dataset, init_seed: int, params: Mapping[str, Any]) -> Any:
    estimator = build_estimator(str(config["estimator"]), params, init_seed)
    pipeline = build_pipeline(
        estimator, dict(config.get("preprocess") or {}), dataset.numeric_columns, dataset.categorical_columns
    )
    mitigation = config.get("mitigation")
    if not mitigation:
        return pipeline
    settings = {k: v for k, v in mitigation.items() if k not in ("method", "constraints", "sensitive")}
    columns = mitigation.get("sensitive") or [str(c) for c in dataset.sensitive.columns]
    return MitigatedClassifier(
        pipeline,
        method=str(mitigation["method"]),
        constraints=str(mitigation["constraints"]),
        settings=settings,
        sensitive_columns=[f"{SENSITIVE_PREFIX}{c}" for c in columns],
        random_state=init_seed,
    )


def fit_trial_model(
    config: Mapping[str, Any],
    dataset: Dataset,
    train: NDArray[np.int64],
    seeds: Mapping[str, int],
    *,
    primary_metric: str | None = None,
    selected_params: Mapping[str, Any] | None = None,
    test: NDArray[np.int64] | None = None,
    name: str = "model",
) -> FittedModel:
    """Build a trial's model from its configuration and fit it on its training rows.

    Parameters
    ----------
    config : mapping
        The arm's resolved configuration (``Arm.config()``, as stored in the trial's provenance).
    dataset : Dataset
    train : array of int
        The trial's training rows (the split's, in any order: the data order comes from the seeds).
    seeds : mapping
        The trial's seeds (``init``, ``data_order``, ``inner_split``).
    primary_metric : str, optional
        Scores the inner CV of a nested arm (and a torch arm's validation curve).
    selected_params : mapping, optional
        The values a nested arm's inner CV selected: the pipeline is fit with them, without searching.
    test : array of int, optional
        A torch arm's test rows (the trainer predicts them while training).
    name : str
        The arm's name, for messages.

    Returns
    -------
    FittedModel
        ``model`` predicts from ``model_inputs(dataset, config)`` rows; ``selected_params`` holds what a
        nested arm selected; ``fit_seconds`` the training time.

    Examples
    --------
    >>> fitted = fit_trial_model(trial.arm.config(), dataset, split.train, trial.seeds.to_dict())  # doctest: +SKIP
    >>> fitted.model.predict(model_inputs(dataset, trial.arm.config()).iloc[split.test])  # doctest: +SKIP
    """
    from threadpoolctl import threadpool_limits

    if config.get("trainer", "sklearn") != "sklearn":
        return _fit_torch(config, dataset, train, seeds, primary_metric, test, name)
    rows = training_order(train, int(seeds["data_order"]))
    frame = model_inputs(dataset, config)
    features, target = frame.iloc[rows], dataset.target[rows]
    params = dict(config.get("params") or {})
    grid = dict(config.get("grid") or {})
    model: Any = _sklearn_model(config, dataset, int(seeds["init"]), {**params, **dict(selected_params or {})})
    searching = bool(grid) and not selected_params
    if searching:
        from rigorlab.execution._runner import selection_scorer

        model = GridSearchCV(
            model,
            {f"model__{key}": list(values) for key, values in grid.items()},
            cv=inner_cv(dataset.task, int(config["inner_folds"]), int(seeds["inner_split"])),
            scoring=selection_scorer(primary_metric or "accuracy", len(np.unique(target))),
            refit=True,
            error_score="raise",
        )
    # One BLAS thread, as in every worker process: multi-threaded reductions can change the last bits.
    with threadpool_limits(1):
        started = time.perf_counter()
        model.fit(features, target)
        fit_seconds = time.perf_counter() - started
    selected = dict(selected_params) if selected_params else None
    if searching:
        selected = {key.removeprefix("model__"): value for key, value in model.best_params_.items()}
    return FittedModel(model=model, selected_params=selected, fit_seconds=fit_seconds)


def _fit_torch(
    config: Mapping[str, Any],
    dataset: Dataset,
    train: NDArray[np.int64],
    seeds: Mapping[str, int],
    primary_metric: str | None,
    test: NDArray[np.int64] | None,
    name: str,
) -> FittedModel:
    from rigorlab.execution._torch_estimator import torch_pipeline
    from rigorlab.models import fit_torch_replicates

    model = torch_model_of(name, config)
    job = replicate_job(train, test if test is not None else np.asarray(train)[:1], seeds)
    fit = fit_torch_replicates(model, dataset, [job], primary_metric=primary_metric, threads=1, keep_weights=True)[0]
    return FittedModel(model=torch_pipeline(model, dataset, job, fit), fit_seconds=fit.fit_seconds)
