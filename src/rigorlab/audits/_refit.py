"""Refit a stored trial's model exactly as the runner fit it.

Robustness and explanation audits need a fitted model, and the store keeps predictions, not
models. Training is deterministic given the trial's stored provenance (configuration, seeds,
selected hyperparameters, split), so refitting gives back the same model; :func:`check_refit`
proves it on every audit by comparing the refit model's test predictions with the stored ones.

The refit does not re-implement the runner: both call ``rigorlab.execution.fit_trial_model`` (the
data order, the estimator and its pipeline, a fairlearn mitigation, nested selection, one BLAS
thread; for torch arms the torch trainer on the one replicate, returned as a pipeline whose
network is ``module_``), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.audits import _messages as msg
from rigorlab.audits._records import TrialInputs
from rigorlab.data import Dataset
from rigorlab.execution._fit import fit_trial_model, model_inputs, training_order

__all__ = ["RefitMismatchError", "check_refit", "refit_trial_model", "training_rows"]


class RefitMismatchError(RuntimeError):
    """The refit model does not reproduce the trial's stored predictions."""


def training_rows(trial: TrialInputs) -> NDArray[np.int64]:
    """The trial's training rows in the order the runner fed them (its data-order permutation)."""
    return training_order(trial.train, trial.seeds["data_order"])


def refit_trial_model(dataset: Dataset, trial: TrialInputs) -> Any:
    """Fit the trial's model again on its training rows, as the runner did.

    With nested selection the stored ``selected_params`` are used directly: the runner's
    ``GridSearchCV(refit=True)`` fit the same pipeline with those values on the same rows.

    Parameters
    ----------
    dataset : Dataset
        The dataset the trial ran on (same fingerprint).
    trial : TrialInputs
        Stored provenance (config, seeds, selected params) and split of the trial.

    Returns
    -------
    A fitted model that predicts from ``rigorlab.execution.model_inputs(dataset, trial.config)`` rows:
    a scikit-learn pipeline (``preprocess`` step when declared, then ``model``), a
    ``MitigatedClassifier`` for a mitigated arm, or for a torch arm a pipeline (``encode``, ``model``)
    whose final step exposes the network as ``module_``.

    Examples
    --------
    >>> model = refit_trial_model(dataset, trial)  # doctest: +SKIP
    >>> check_refit(model, dataset, trial)  # doctest: +SKIP
    """
    config = trial.config
    selected = trial.selected_params or None
    if config.get("grid") and not selected:
        raise RefitMismatchError(msg.REFIT_NO_SELECTION.format(key=trial.key[:10], arm=trial.arm))
    fitted = fit_trial_model(
        config, dataset, trial.train, trial.seeds, selected_params=selected, test=trial.test, name=trial.arm
    )
    return fitted.model


def check_refit(model: Any, dataset: Dataset, trial: TrialInputs, dataset_name: str | None = None) -> None:
    """Raise :class:`RefitMismatchError` unless ``model`` predicts the stored test labels exactly."""
    from threadpoolctl import threadpool_limits

    test_index = np.asarray(trial.predictions["test_index"], dtype=np.int64)
    with threadpool_limits(1):
        predicted = np.asarray(model.predict(model_inputs(dataset, trial.config).iloc[test_index]))
    stored = np.asarray(trial.predictions["y_pred"])
    if dataset.task == "classification":
        same = predicted.astype(str) == stored.astype(str)
    else:
        same = np.isclose(predicted.astype(float), stored.astype(float), rtol=1e-9, atol=1e-12)
    mismatches = int((~same).sum())
    if mismatches:
        raise RefitMismatchError(
            msg.REFIT_MISMATCH.format(
                key=trial.key[:10],
                arm=trial.arm,
                dataset=dataset_name or dataset.name,
                replicate=trial.replicate,
                fold=trial.fold,
                mismatches=mismatches,
                rows=len(stored),
            )
        )
