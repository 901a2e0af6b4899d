"""Rows and features for the torch trainer: per-replicate training, validation and test rows, encoded features.

Everything here is numpy and scikit-learn; tensors are made by the trainer. Features are encoded
once per distinct set of training rows (replicates that share a split share the matrix):

- a module class with an ``encode_rows(frame, params)`` classmethod (the text classifier's tokenizer)
  encodes every row itself; it must not learn from the rows, so it runs once per dataset;
- otherwise the study's ``preprocess:`` steps (the same ColumnTransformer as for scikit-learn models)
  are fit on the replicate's training rows and transform every row;
- ``training.input_shape`` reshapes each row (``[1, 8, 8]`` turns 64 pixel columns into an image).

As for scikit-learn's own early stopping (``MLPClassifier(early_stopping=True)`` in a Pipeline),
preprocessing is fit on all training rows and the validation rows are carved out afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

from rigorlab.models._sklearn import _preprocessor, check_encoding
from rigorlab.models._torch import TorchSetupError
from rigorlab.models._torch_config import TrainingConfig

if TYPE_CHECKING:
    from rigorlab.models._torch import ReplicateJob, TorchModel

__all__ = [
    "MSG_BATCH_SIZE",
    "MSG_INPUT_SHAPE",
    "MSG_MISSING_VALUES",
    "MSG_TOO_FEW_ROWS",
    "PreparedData",
    "ReplicateRows",
    "child_seed",
    "prepare_data",
]

MSG_INPUT_SHAPE = (
    "The 'input_shape' field of model '{model}' training is {shape} ({size} values per row), but dataset "
    "'{dataset}' has {width} feature values per row after preprocessing. Give a shape whose sizes multiply to {width}."
)
MSG_MISSING_VALUES = (
    "Model '{model}' on dataset '{dataset}': the features hold {count} missing value(s) after preprocessing; a torch "
    "module would turn them into NaN losses. Add impute to preprocess: of model '{model}'."
)
MSG_BATCH_SIZE = (
    "The 'batch_size' field of model '{model}' training is {batch_size}, larger than the {rows} rows a replicate "
    "trains on in dataset '{dataset}'{held_out}. Use a batch_size of at most {rows}."
)
MSG_TOO_FEW_ROWS = (
    "Model '{model}' on dataset '{dataset}': validation_fraction {fraction} leaves {rows} training row(s) of {total}; "
    "lower validation_fraction."
)
MSG_ENCODE_PREPROCESS = (
    "Model '{model}': the module {module} encodes its own input rows (encode_rows), so preprocess: does not apply; "
    "remove it."
)


def child_seed(seed: int, index: int) -> int:
    """An independent 32-bit seed derived from ``seed`` (numpy SeedSequence, as for every rigorlab seed).

    Examples
    --------
    >>> child_seed(7, 0) == child_seed(7, 0) != child_seed(7, 1)
    True
    """
    return int(np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class ReplicateRows:
    """One replicate's rows (indices into the dataset) and its encodings."""

    fit: NDArray[np.int64]
    validation: NDArray[np.int64]
    test: NDArray[np.int64]
    features: int  # index into PreparedData.features
    target_shift: float = 0.0
    target_scale: float = 1.0
    order_seed: int = 0
    dropout_seed: int = 0

    def row_counts(self) -> tuple[int, int, int]:
        return (len(self.fit), len(self.validation), len(self.test))


@dataclass
class PreparedData:
    """The encoded features, the target and every replicate's rows."""

    features: list[NDArray[Any]]
    target: NDArray[Any]  # int64 class codes, or float32 values for regression
    classes: NDArray[Any]
    task: str
    replicates: list[ReplicateRows] = field(default_factory=list)

    @property
    def row_shape(self) -> tuple[int, ...]:
        return tuple(self.features[0].shape[1:])

    def shape_key(self, position: int) -> tuple[Any, ...]:
        """Replicates with equal keys take equal batch shapes (row counts, row shape, dtype): they can share
        a stack. Distinct splits of one k-fold position have equal row counts, so they stack together."""
        replicate = self.replicates[position]
        matrix = self.features[replicate.features]
        return (*replicate.row_counts(), tuple(matrix.shape[1:]), str(matrix.dtype))

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "classification" else 1


def _rows_key(rows: NDArray[np.int64]) -> str:
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest()


def _encode(model: TorchModel, frame: Any, rows: NDArray[np.int64], categorical: list[str]) -> NDArray[Any]:
    """Fit the preprocessing on ``rows`` and transform every row."""
    numeric = [c for c in frame.columns if c not in categorical]
    preprocessor = _preprocessor(model.preprocess, numeric, categorical)
    if preprocessor is None:
        return np.asarray(frame.to_numpy(dtype=np.float32))
    preprocessor.fit(frame.iloc[rows])
    return np.asarray(preprocessor.transform(frame), dtype=np.float32)


def _shaped(model: TorchModel, config: TrainingConfig, matrix: NDArray[Any], dataset: str) -> NDArray[Any]:
    if matrix.dtype.kind == "f":
        missing = int(np.isnan(matrix).sum())
        if missing:
            raise TorchSetupError(
                MSG_MISSING_VALUES.format(model=model.name, dataset=dataset, count=missing), "preprocess"
            )
    if config.input_shape is None:
        return matrix
    width = int(np.prod(matrix.shape[1:]))
    size = int(np.prod(config.input_shape))
    if size != width:
        raise TorchSetupError(
            MSG_INPUT_SHAPE.format(
                model=model.name, shape=list(config.input_shape), size=size, dataset=dataset, width=width
            ),
            "input_shape",
        )
    return matrix.reshape(len(matrix), *config.input_shape)


def _validation_rows(
    train: NDArray[np.int64], target: NDArray[Any], task: str, fraction: float | None, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    if not fraction:
        return np.sort(train), np.empty(0, dtype=np.int64)
    stratify = None
    if task == "classification":
        _, counts = np.unique(target[train], return_counts=True)
        # Stratify when every class can give a row to both sides; otherwise a plain random carve.
        n_validation = int(np.ceil(fraction * len(train)))
        if counts.min() >= 2 and n_validation >= len(counts) and len(train) - n_validation >= len(counts):
            stratify = target[train]
    fit, validation = train_test_split(train, test_size=fraction, random_state=seed, stratify=stratify)
    return np.sort(fit).astype(np.int64), np.sort(validation).astype(np.int64)


def prepare_data(
    model: TorchModel, dataset: Any, jobs: Sequence[ReplicateJob], config: TrainingConfig, encoder: Any = None
) -> PreparedData:
    """Encode the features and carve every replicate's validation rows.

    Parameters
    ----------
    model : TorchModel
    dataset : rigorlab.data.Dataset
    jobs : sequence of ReplicateJob
        Each replicate's training and test rows and seeds.
    config : TrainingConfig
    encoder : callable, optional
        The module class's ``encode_rows(frame, params)``, when it has one.

    Returns
    -------
    PreparedData
        ``features[k]`` has shape (n_rows, *row_shape); ``replicates[i]`` belongs to ``jobs[i]``.
    """
    task = dataset.task
    target_values = np.asarray(dataset.target)
    if task == "classification":
        classes = np.unique(target_values)
        target: NDArray[Any] = np.searchsorted(classes, target_values).astype(np.int64)
    else:
        classes = np.asarray([])
        target = target_values.astype(np.float32)
    features: list[NDArray[Any]] = []
    slots: dict[str, int] = {}
    if encoder is not None:
        if model.preprocess:
            raise TorchSetupError(MSG_ENCODE_PREPROCESS.format(model=model.name, module=model.module), "preprocess")
        features.append(np.asarray(encoder(dataset.features, dict(model.params))))
    else:
        check_encoding(model.preprocess, dataset.categorical_columns, model.name, dataset.name)
    prepared = PreparedData(features=features, target=target, classes=classes, task=task)
    for job in jobs:
        train = np.asarray(job.train, dtype=np.int64)
        if encoder is not None:
            slot = 0
        else:
            # Without preprocessing every split sees the same matrix; with it, one per set of training rows.
            key = _rows_key(train) if model.preprocess else "all"
            if key not in slots:
                slots[key] = len(features)
                matrix = _encode(model, dataset.features, train, dataset.categorical_columns)
                features.append(_shaped(model, config, matrix, dataset.name))
            slot = slots[key]
        fit, validation = _validation_rows(
            train, target, task, config.validation_fraction, child_seed(job.data_order_seed, 1)
        )
        if config.validation_fraction and len(fit) < 1:
            raise TorchSetupError(
                MSG_TOO_FEW_ROWS.format(
                    model=model.name,
                    dataset=dataset.name,
                    fraction=config.validation_fraction,
                    rows=0,
                    total=len(train),
                ),
                "validation_fraction",
            )
        if config.batch_size > len(fit):
            held_out = f" after holding out validation_fraction {config.validation_fraction}" if len(validation) else ""
            raise TorchSetupError(
                MSG_BATCH_SIZE.format(
                    model=model.name,
                    batch_size=config.batch_size,
                    rows=len(fit),
                    dataset=dataset.name,
                    held_out=held_out,
                ),
                "batch_size",
            )
        shift, scale = 0.0, 1.0
        if task == "regression" and config.scale_target:
            shift = float(np.mean(target[train]))
            scale = float(np.std(target[train])) or 1.0
        prepared.replicates.append(
            ReplicateRows(
                fit=fit,
                validation=validation,
                test=np.asarray(job.test, dtype=np.int64),
                features=slot,
                target_shift=shift,
                target_scale=scale,
                order_seed=child_seed(job.data_order_seed, 0),
                dropout_seed=child_seed(job.init_seed, 1),
            )
        )
    if encoder is not None:
        features[0] = _shaped(model, config, features[0], dataset.name)
    return prepared


def encoder_of(module_class: Any) -> Any:
    """The module class's ``encode_rows`` (or None): a hook for modules that encode their own input."""
    return getattr(module_class, "encode_rows", None)


def constructor_arguments(
    module_class: Any, params: Mapping[str, Any], in_features: int, row_shape: tuple[int, ...], n_outputs: int
) -> dict[str, Any]:
    """``params`` plus ``in_features``, ``input_shape`` and ``out_features`` where the constructor names them
    (and ``params`` does not set them already)."""
    import inspect

    arguments = dict(params)
    signature = inspect.signature(module_class.__init__).parameters
    for name, value in (("in_features", in_features), ("input_shape", row_shape), ("out_features", n_outputs)):
        if name not in arguments and name in signature:
            arguments[name] = value
    return arguments
