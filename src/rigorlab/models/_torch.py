"""The torch trainer: rigorlab trains a ``torch.nn.Module``'s replicates, stacked into one model by default.

A model with ``trainer: torch`` names a module class (``module: pkg.mod:Class``) and its constructor
``params:``; rigorlab owns the loop (optimizer, learning rate and schedule, epochs, batch size,
weight decay, early stopping on validation rows carved from the training rows, device). The
constructor also receives ``in_features`` (values per row after preprocessing), ``input_shape``
(the shape of one row) and ``out_features`` (classes, or 1 for regression) when it names them.
Classification trains with cross-entropy on ``out_features`` logits; regression with squared error
on a (standardised) target.

Batched replicates: all pending replicates of an arm x dataset x fold train in one process as one
stacked model (``torch.func.functional_call`` + ``vmap``), each with its own initialisation (from
its init seed), data order (a generator seeded from its data-order seed) and dropout masks; one
optimizer step updates the whole stack. Replicate r trained in a stack is bit-identical on CPU to
replicate r trained alone (``batched: false``), which is what the equivalence tests check. Modules
vmap cannot batch fall back to one replicate at a time, with the reason logged and stored in each
trial's ``batched`` tag. When the device runs out of memory, the stack is halved and training goes on.

Importing this module does not import torch; the first call does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.models._torch_config import TrainingConfig

if TYPE_CHECKING:
    from rigorlab.data import Dataset

__all__ = [
    "MSG_FALLBACK",
    "MSG_FORWARD_FAILED",
    "MSG_MODULE_BUILD",
    "MSG_NO_CUDA",
    "MSG_OUT_OF_MEMORY",
    "MSG_OUTPUT_SHAPE",
    "ReplicateFit",
    "ReplicateJob",
    "TorchModel",
    "TorchSetupError",
    "check_torch_model",
    "fit_torch_replicates",
    "resolve_device",
]

# Intel MKL (torch's CPU BLAS here) sums a matrix product in an order that depends on the memory
# alignment of its operands unless its "conditional numerical reproducibility" mode is strict; a
# replicate's slice of a stacked tensor is not always aligned as its own tensor would be, so without
# this a stacked replicate could differ from the same replicate alone in the last bits. MKL reads the
# setting once, at its first call, so it is set when rigorlab is imported (a user's own setting wins).
# Measured: no slowdown for the benchmark's models. The trainer checks the mode (see _torch_fit).
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

MSG_NO_CUDA = (
    "The 'device' field of model '{model}' training asks for cuda, but torch finds no CUDA device here "
    "(torch {version}, {build}). Use device: auto (cuda when there is one, else cpu) or device: cpu."
)
MSG_MODULE_BUILD = (
    "Model '{model}': constructing {module}(**{arguments}) raised {error}. Check params: (rigorlab adds "
    "in_features, input_shape and out_features when the constructor names them)."
)
MSG_FORWARD_FAILED = (
    "Model '{model}': the module {module} cannot take a batch of rows of shape {shape} from dataset '{dataset}': "
    "{error}. Its input is (batch, *row shape); set training.input_shape to reshape rows (e.g. [1, 8, 8])."
)
MSG_OUTPUT_SHAPE = (
    "Model '{model}': the module {module} returns shape {shape} for a batch of {rows} rows, but dataset '{dataset}' "
    "is a {task} task that needs {expected}. Make it return that shape (rigorlab passes out_features={outputs} "
    "when the constructor names it)."
)
MSG_FALLBACK = "Model '{model}': training replicates one at a time, not stacked, because {reason}."
MSG_OUT_OF_MEMORY = (
    "Model '{model}': {device} ran out of memory with a stack of {size} replicates; trained as stacks of "
    "{first} and {second} instead."
)


class TorchSetupError(ValueError):
    """A torch model that cannot train on a dataset; ``field`` names the study-file field to fix: a field
    of ``training:`` (``batch_size``), or of the model (``module``, ``preprocess``, ``params.text_column``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TorchModel:
    """What to train: a module class by import path, its constructor params and the training settings."""

    module: str
    params: Mapping[str, Any] = field(default_factory=dict)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    preprocess: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    name: str = "model"

    @classmethod
    def from_settings(
        cls,
        name: str,
        module: str,
        params: Mapping[str, Any],
        training: Mapping[str, Any] | None,
        preprocess: Mapping[str, Mapping[str, Any]],
    ) -> TorchModel:
        """From a study's arm (its ``training`` settings are a dict)."""
        return cls(module, dict(params), TrainingConfig.from_dict(training), dict(preprocess), name)


@dataclass(frozen=True)
class ReplicateJob:
    """One replicate to train: its training and test rows (dataset row indices) and its seeds."""

    train: NDArray[np.int64]
    test: NDArray[np.int64]
    init_seed: int
    data_order_seed: int


@dataclass
class ReplicateFit:
    """One trained replicate's test predictions, curves and how it was trained.

    ``y_pred`` has shape (n_test,); ``scores`` (n_test, n_classes) softmax probabilities for
    classification (None for regression); ``classes`` (n_classes,). ``weights`` (a state dict on the
    CPU) only when asked for.
    """

    test_index: NDArray[np.int64]
    y_pred: NDArray[Any]
    scores: NDArray[np.float64] | None
    classes: NDArray[Any]
    curves: list[tuple[str, int, float]]
    epochs: int
    best_epoch: int | None
    stopped_early: bool
    fit_seconds: float
    predict_seconds: float
    tags: dict[str, str] = field(default_factory=dict)
    weights: dict[str, Any] | None = None


def resolve_device(requested: str, model: str = "model") -> str:
    """``auto`` -> ``cuda`` when torch sees a CUDA device, else ``cpu``; ``cuda`` without one raises.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    if requested == "cpu":
        return "cpu"
    available = torch.cuda.is_available()
    if requested == "auto":
        return "cuda" if available else "cpu"
    if not available:
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise TorchSetupError(MSG_NO_CUDA.format(model=model, version=torch.__version__, build=build), "device")
    return requested


def fit_torch_replicates(
    model: TorchModel,
    dataset: Dataset,
    jobs: Sequence[ReplicateJob],
    *,
    primary_metric: str | None = None,
    threads: int | None = None,
    device: str | None = None,
    batched: bool | None = None,
    keep_weights: bool = False,
) -> list[ReplicateFit]:
    """Train ``jobs`` (replicates of one model on one dataset) and predict their test rows.

    Parameters
    ----------
    model : TorchModel
    dataset : rigorlab.data.Dataset
    jobs : sequence of ReplicateJob
    primary_metric : str, optional
        Adds a ``val_<metric>`` curve when there are validation rows.
    threads : int, optional
        torch's intra-op threads while training (restored afterwards); the study's workers use 1.
    device, batched : optional
        Override ``model.training.device`` / ``.batched``.
    keep_weights : bool
        Return each replicate's final state dict (CPU tensors) in ``weights``.

    Returns
    -------
    list of ReplicateFit
        One per job, in order.

    Raises
    ------
    TorchSetupError
        The module cannot be built, cannot take the rows, returns the wrong shape, CUDA is missing.
    ValueError
        The batch size exceeds the training rows, missing values, a wrong input_shape.

    Examples
    --------
    >>> fits = fit_torch_replicates(TorchModel("mypkg:MLP"), dataset, jobs)  # doctest: +SKIP
    >>> fits[0].scores.shape  # doctest: +SKIP
    (38, 3)
    """
    from rigorlab.models._torch_fit import fit_replicates

    return fit_replicates(
        model,
        dataset,
        jobs,
        primary_metric=primary_metric,
        threads=threads,
        device=device,
        batched=batched,
        keep_weights=keep_weights,
    )


def check_torch_model(model: TorchModel, dataset: Dataset, jobs: Sequence[ReplicateJob]) -> None:
    """Check, before anything runs, that ``model`` can train on ``dataset`` with every job's rows.

    Builds one replicate and runs a forward pass on two rows: the device exists, the module
    constructs, takes the rows and returns the task's shape; the batch size fits every split.

    Raises
    ------
    TorchSetupError or ValueError
        With a message naming the field to fix (``field`` on TorchSetupError).
    """
    from rigorlab.models._torch_fit import check_model

    check_model(model, dataset, jobs)
