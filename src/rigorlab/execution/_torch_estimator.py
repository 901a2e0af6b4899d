"""A trained torch replicate as a fitted scikit-learn pipeline, for the audits that need a model.

The torch trainer returns predictions, not a model object. :func:`torch_pipeline` wraps one
replicate's final weights (``fit_torch_replicates(..., keep_weights=True)``) as a Pipeline of
``encode`` (the declared preprocessing, fit on the trial's training rows exactly as the trainer
fit it) and ``model``, whose network is ``module_``: it maps the encoded float32 rows (flattened)
to one logit per class in ``classes_`` order, which is what the gradient attacks (FGSM, PGD) read.

Predictions are computed the way the trainer computed the stored ones -- the weights as a stack
of two identical replicates evaluated with ``torch.func.vmap`` in chunks of the trainer's
``EVAL_ROWS`` rows, on the device it trained on, deterministically, with one thread (or, for
modules vmap cannot stack, the plain module) -- so that the refit check can demand the same labels
as stored. ``module_`` stays on the CPU, where the attacks (adversarial-robustness-toolbox) run.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.pipeline import Pipeline

from rigorlab.data import Dataset
from rigorlab.models import ReplicateFit, ReplicateJob, TorchModel, build_preprocessor, import_object

__all__ = ["TorchRowEncoder", "TorchTrialClassifier", "TorchTrialRegressor", "torch_pipeline"]


class TorchRowEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no type information
    """Rows of a feature frame as the torch trainer encodes them: a float32 matrix (n_rows, n_values).

    ``preprocessor`` is the fitted ColumnTransformer of the declared preprocessing (None: the
    columns as numbers); ``encode_rows`` a module's own encoder (a text classifier's tokenizer).
    """

    def __init__(self, preprocessor: Any = None, encode_rows: Callable[..., Any] | None = None, params: Any = None):
        self.preprocessor = preprocessor
        self.encode_rows = encode_rows
        self.params = params

    def fit(self, X: pd.DataFrame, y: Any = None) -> TorchRowEncoder:
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> NDArray[Any]:
        if self.encode_rows is not None:
            encoded = np.asarray(self.encode_rows(X, dict(self.params or {})))
            return encoded.reshape(len(encoded), -1)
        if self.preprocessor is None:
            return np.asarray(X.to_numpy(dtype=np.float32))
        return np.asarray(self.preprocessor.transform(X), dtype=np.float32)


class _TorchTrial(BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no type information
    """One trained replicate; ``predict`` takes the encoded rows (the pipeline's ``encode`` step output)."""

    def __init__(
        self,
        module: Any = None,
        state: Mapping[str, Any] | None = None,
        row_shape: tuple[int, ...] = (),
        target_shift: float = 0.0,
        target_scale: float = 1.0,
        expose_module: bool = True,
        device: str = "cpu",
    ) -> None:
        self.module = module
        self.state = state
        self.row_shape = row_shape
        self.target_shift = target_shift
        self.target_scale = target_scale
        self.expose_module = expose_module
        self.device = device

    def fit(self, X: Any = None, y: Any = None) -> _TorchTrial:
        """Load the trained weights (no training: the trainer trained them)."""
        import torch
        from torch import nn

        from rigorlab.models._torch_stack import StackedReplicas, unbatchable_reason

        assert self.module is not None and self.state is not None
        device = torch.device(self.device)
        self.module.load_state_dict({name: tensor.cpu() for name, tensor in self.state.items()})
        self.module.eval()
        if self.expose_module:
            flat: nn.Module = copy.deepcopy(self.module)
            if len(self.row_shape) > 1:
                flat = nn.Sequential(nn.Unflatten(1, tuple(self.row_shape)), flat)
            self.module_ = flat.eval()
        self.network_ = self.module.to(device)
        self.stack_ = None
        if unbatchable_reason(self.module) is None:
            weights = {name: tensor.to(device) for name, tensor in self.state.items()}
            keys = torch.zeros(2, dtype=torch.int64, device=device)
            loss = torch.nn.functional.cross_entropy
            self.stack_ = StackedReplicas.from_states(self.network_, [weights, dict(weights)], keys, loss)
        return self

    def _outputs(self, encoded: NDArray[Any]) -> NDArray[np.float32]:
        import torch

        from rigorlab.models._torch_fit import deterministic
        from rigorlab.models._torch_train import EVAL_ROWS

        device = torch.device(self.device)
        rows = torch.tensor(np.asarray(encoded).reshape(len(encoded), *self.row_shape))
        chunks: list[Any] = []
        with deterministic(device, threads=1), torch.no_grad():
            for start in range(0, len(rows), EVAL_ROWS):
                batch = rows[start : start + EVAL_ROWS].to(device)
                if self.stack_ is not None:
                    try:
                        # The stored predictions came from a stack; a twin stack gives the same numbers.
                        chunks.append(self.stack_.outputs(torch.stack([batch, batch]))[0].float())
                        continue
                    except Exception:  # noqa: BLE001 - vmap refused this module: the trainer fell back to it alone
                        self.stack_ = None
                chunks.append(self.network_(batch).float())
        if not chunks:
            return np.zeros((0, *self._output_shape()), dtype=np.float32)
        return np.asarray(torch.cat(chunks).cpu().numpy(), dtype=np.float32)

    def _output_shape(self) -> tuple[int, ...]:
        return ()


class TorchTrialClassifier(ClassifierMixin, _TorchTrial):  # type: ignore[misc]  # scikit-learn ships no type information
    """A trained torch classifier replicate (``classes_``, ``predict``, ``predict_proba``, ``module_``)."""

    def _output_shape(self) -> tuple[int, ...]:
        return (len(self.classes_),)

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        from rigorlab.models._torch_train import softmax

        return softmax(self._outputs(X))

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class TorchTrialRegressor(RegressorMixin, _TorchTrial):  # type: ignore[misc]  # scikit-learn ships no type information
    """A trained torch regression replicate (``predict`` in the target's units)."""

    def predict(self, X: Any) -> NDArray[np.float64]:
        outputs = self._outputs(X)
        return np.asarray(outputs.reshape(-1).astype(np.float64) * self.target_scale + self.target_shift)


def torch_pipeline(model: TorchModel, dataset: Dataset, job: ReplicateJob, fit: ReplicateFit) -> Pipeline:
    """The trained replicate ``fit`` (with ``weights``) of ``model`` on ``job``'s rows, as a fitted Pipeline.

    Parameters
    ----------
    model : TorchModel
    dataset : Dataset
    job : ReplicateJob
        The replicate's training and test rows and seeds (as trained).
    fit : ReplicateFit
        Its result, trained with ``keep_weights=True``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``encode`` (TorchRowEncoder) then ``model`` (TorchTrialClassifier or TorchTrialRegressor).

    Examples
    --------
    >>> fit = fit_torch_replicates(model, dataset, [job], keep_weights=True)[0]  # doctest: +SKIP
    >>> pipeline = torch_pipeline(model, dataset, job, fit)  # doctest: +SKIP
    >>> pipeline[-1].module_  # doctest: +SKIP
    """
    import torch

    from rigorlab.models import resolve_device
    from rigorlab.models._torch_data import constructor_arguments, encoder_of, prepare_data

    if fit.weights is None:
        raise ValueError("torch_pipeline needs the replicate's weights: train it with keep_weights=True")
    module_class = import_object(model.module)
    encoder = encoder_of(module_class)
    # The trainer's own preparation: the same row shape, classes and target scaling as when it trained.
    data = prepare_data(model, dataset, [job], model.training, encoder)
    member = data.replicates[0]
    row_shape = data.row_shape
    arguments = constructor_arguments(module_class, model.params, int(math.prod(row_shape)), row_shape, data.n_outputs)
    with torch.random.fork_rng(devices=[]):
        module = module_class(**arguments)
    preprocessor = None
    if encoder is None:
        numeric = [c for c in dataset.features.columns if c not in dataset.categorical_columns]
        preprocessor = build_preprocessor(model.preprocess, numeric, dataset.categorical_columns)
        if preprocessor is not None:
            preprocessor.fit(dataset.features.iloc[np.asarray(job.train, dtype=np.int64)])
    rows = TorchRowEncoder(preprocessor, encoder, dict(model.params)).fit(dataset.features)
    estimator_class = TorchTrialClassifier if dataset.task == "classification" else TorchTrialRegressor
    estimator = estimator_class(
        module=module,
        state=fit.weights,
        row_shape=tuple(row_shape),
        target_shift=member.target_shift,
        target_scale=member.target_scale,
        expose_module=encoder is None,
        device=resolve_device(model.training.device, model.name),
    )
    if dataset.task == "classification":
        estimator.classes_ = np.asarray(data.classes)
    estimator.fit()
    return Pipeline([("encode", rows), ("model", estimator)])
