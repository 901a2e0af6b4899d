"""The torch trainer's behaviour: curves, fallback, out-of-memory halving, dropout masks, settings, bad input."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from rigorlab.data import Dataset
from rigorlab.models import (
    ReplicateJob,
    TorchModel,
    TorchSetupError,
    TrainingConfig,
    fit_torch_replicates,
    resolve_device,
)
from rigorlab.models._torch import MSG_NO_CUDA
from rigorlab.models._torch_stack import CounterDropout
from rigorlab.spec import TrainingSpec
from tests.models.test_torch_equivalence import examples_importable, jobs_of  # noqa: F401 - fixture
from tests.models.test_torch_study import builtin

HERE = "tests.models.test_torch_trainer"


class OutOfMemoryAbove(nn.Module):
    """Raises torch's out-of-memory error when trained in a stack of more than ``limit`` replicates, as
    a GPU with room for ``limit`` would."""

    def __init__(self, in_features: int, out_features: int, limit: int = 2) -> None:
        super().__init__()
        self.limit = limit
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        functorch = torch._C._functorch
        if functorch.is_batchedtensor(rows) and functorch.get_unwrapped(rows).shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (raised by the test module)")
        return self.linear(rows)


class OneOutput(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.linear(rows)


class RandomNoise(nn.Module):
    """Draws random numbers outside dropout: vmap cannot batch it with per-replicate randomness."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        if self.training:
            rows = rows + 0.01 * torch.randn_like(rows)
        return self.linear(rows)


def iris_model(module: str = "rigorlab_examples.nets:MLP", params=None, **training) -> TorchModel:
    settings = {"epochs": 3, "batch_size": 16, **training}
    return TorchModel(module, {"hidden": 8} if params is None else params, TrainingConfig.from_dict(settings), {}, "m")


def test_curves_per_epoch_and_tags():
    dataset = builtin("iris")
    fits = fit_torch_replicates(
        iris_model(validation_fraction=0.2), dataset, jobs_of(dataset, 2), primary_metric="accuracy", threads=1
    )
    fit = fits[0]
    assert [(name, step) for name, step, _ in fit.curves[:3]] == [
        ("train_loss", 1),
        ("val_loss", 1),
        ("val_accuracy", 1),
    ]
    assert [step for name, step, _ in fit.curves if name == "train_loss"] == [1, 2, 3]
    assert all(np.isfinite(value) for _, _, value in fit.curves)
    assert fit.tags == {"device": "cpu", "batched": "stack of 2", "epochs": "3", "stopped_early": "no"}
    assert fit.scores.shape == (len(fit.test_index), 3) and np.allclose(fit.scores.sum(axis=1), 1)
    assert set(fit.y_pred) <= set(dataset.target)
    assert fit.fit_seconds > 0 and fit.predict_seconds > 0


def test_a_module_vmap_cannot_batch_falls_back_with_the_reason_in_the_log(caplog):
    dataset = builtin("iris")
    with caplog.at_level(logging.WARNING, logger="rigorlab.models.torch"):
        fits = fit_torch_replicates(iris_model(f"{HERE}:RandomNoise", {}), dataset, jobs_of(dataset, 2), threads=1)
    reason = fits[0].tags["batched"]
    assert reason.startswith("one at a time: torch.func.vmap cannot batch it (RuntimeError: vmap: called random")
    assert "Model 'm': training replicates one at a time, not stacked, because torch.func.vmap" in caplog.text
    again = fit_torch_replicates(
        iris_model(f"{HERE}:RandomNoise", {}), dataset, jobs_of(dataset, 2), threads=1, keep_weights=True
    )
    first = fit_torch_replicates(
        iris_model(f"{HERE}:RandomNoise", {}), dataset, jobs_of(dataset, 2), threads=1, keep_weights=True
    )
    # Seeded per replicate: the fallback is deterministic too.
    assert all(torch.equal(a.weights[k], b.weights[k]) for a, b in zip(again, first, strict=True) for k in a.weights)


def test_out_of_memory_halves_the_stack_and_changes_no_number(caplog):
    dataset = builtin("iris")
    jobs = jobs_of(dataset, 5, kind="stratified_kfold")
    model = iris_model(f"{HERE}:OutOfMemoryAbove", {"limit": 2})
    with caplog.at_level(logging.WARNING, logger="rigorlab.models.torch"):
        halved = fit_torch_replicates(model, dataset, jobs, threads=1, keep_weights=True)
    assert "Model 'm': cpu ran out of memory with a stack of 5 replicates; trained as stacks of 2 and 3" in caplog.text
    assert "a stack of 3 replicates; trained as stacks of 1 and 2" in caplog.text
    assert [fit.tags["batched"][:10] for fit in halved] == [
        "stack of 2",
        "stack of 2",
        "alone (a s",
        "stack of 2",
        "stack of 2",
    ]
    assert halved[0].tags["memory"].startswith("Model 'm': cpu ran out of memory with a stack of 5")
    roomy = iris_model(f"{HERE}:OutOfMemoryAbove", {"limit": 100})
    reference = fit_torch_replicates(roomy, dataset, jobs, threads=1, keep_weights=True)
    for a, b in zip(halved, reference, strict=True):
        assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)


def test_dropout_masks_are_random_per_replicate_step_and_call_yet_reproducible():
    ones = torch.ones(20_000)

    def mask(key: int, salt: int, calls: int = 1) -> torch.Tensor:
        mode = CounterDropout(torch.tensor(key), salt)
        with mode:
            for _ in range(calls):
                out = torch.nn.functional.dropout(ones, p=0.3)
        return out

    first = mask(7, 0)
    assert torch.equal(first, mask(7, 0))
    assert abs(float((first == 0).float().mean()) - 0.3) < 0.02
    assert torch.allclose(first[first != 0], torch.full_like(first[first != 0], 1 / 0.7))
    others = [mask(8, 0), mask(7, 1), mask(7, 0, calls=2)]
    for other in others:
        agreement = float(((first == 0) == (other == 0)).float().mean())
        assert abs(agreement - (0.3**2 + 0.7**2)) < 0.02  # independent masks agree by chance only
    # Channel dropout (Dropout2d) drops whole channels.
    images = torch.ones(8, 16, 4, 4)
    with CounterDropout(torch.tensor(3), 0):
        dropped = torch.nn.functional.dropout2d(images, p=0.5)
    per_channel = dropped.flatten(2)
    assert torch.all((per_channel == 0).all(-1) | (per_channel != 0).all(-1))
    with CounterDropout(torch.tensor(3), 0):
        assert torch.equal(torch.nn.functional.dropout(ones, p=0.3, training=False), ones)


def test_training_defaults_match_the_study_schema():
    assert TrainingConfig().to_dict() == TrainingSpec().model_dump(mode="json")
    spec = TrainingSpec(early_stopping={"patience": 3}, input_shape=[1, 8, 8])
    config = TrainingConfig.from_dict(spec.resolved())
    assert config.validation_fraction == 0.1 and config.early_stopping.patience == 3
    assert config.input_shape == (1, 8, 8)


def test_learning_rate_schedules():
    assert [TrainingConfig(lr=1.0, epochs=4, schedule="cosine").lr_at(e) for e in (0, 2)] == [1.0, pytest.approx(0.5)]
    assert TrainingConfig(lr=1.0, epochs=4, schedule="linear").lr_at(3) == 0.25
    assert TrainingConfig(lr=1.0, schedule="step", step_size=2, gamma=0.5).lr_at(5) == 0.25
    assert TrainingConfig(lr=0.3).lr_at(9) == 0.3


def error_of(model: TorchModel, dataset=None, jobs=None) -> TorchSetupError:
    dataset = dataset if dataset is not None else builtin("iris")
    with pytest.raises(TorchSetupError) as caught:
        fit_torch_replicates(model, dataset, jobs or jobs_of(dataset, 1), threads=1)
    return caught.value


def test_an_output_that_does_not_fit_the_task_names_the_module():
    error = error_of(iris_model(f"{HERE}:OneOutput", {}))
    assert error.field == "module"
    assert str(error) == (
        f"Model 'm': the module {HERE}:OneOutput returns shape (2, 1) for a batch of 2 rows, but dataset 'iris' is a "
        "classification task that needs (2, 3): one logit per class. Make it return that shape (rigorlab passes "
        "out_features=3 when the constructor names it)."
    )


def test_a_batch_larger_than_the_training_rows():
    error = error_of(iris_model(batch_size=200, validation_fraction=0.1))
    assert error.field == "batch_size"
    assert str(error) == (
        "The 'batch_size' field of model 'm' training is 200, larger than the 90 rows a replicate trains on in "
        "dataset 'iris' after holding out validation_fraction 0.1. Use a batch_size of at most 90."
    )


def test_rows_that_do_not_fit_the_input_shape_or_the_module():
    error = error_of(iris_model(input_shape=[2, 3]))
    assert error.field == "input_shape" and "is [2, 3] (6 values per row), but dataset 'iris' has 4" in str(error)
    error = error_of(iris_model("rigorlab_examples.nets:DigitsCNN", {}), builtin("digits"))
    assert error.field == "module"
    assert str(error).startswith(
        "Model 'm': the module rigorlab_examples.nets:DigitsCNN cannot take a batch of rows "
        "of shape (2, 64) from dataset 'digits'"
    )
    assert "set training.input_shape to reshape rows (e.g. [1, 8, 8])" in str(error)
    error = error_of(iris_model(params={"hidden": 8, "widht": 3}))
    assert error.field == "module" and "TypeError" in str(error) and "widht" in str(error)


def test_missing_values_need_an_imputer():
    frame = pd.DataFrame({"a": [0.0, 1.0, np.nan, 3.0] * 10, "b": np.arange(40.0)})
    dataset = Dataset(
        "holes", frame, np.array([0, 1] * 20), "classification", "y", pd.DataFrame(index=frame.index), None, "fp"
    )
    error = error_of(iris_model(batch_size=4), dataset, [ReplicateJob(np.arange(30), np.arange(30, 40), 1, 2)])
    assert error.field == "preprocess" and "hold 10 missing value(s)" in str(error) and "Add impute" in str(error)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cuda_where_there_is_none():
    with pytest.raises(TorchSetupError) as caught:
        resolve_device("cuda", "mlp")
    assert caught.value.field == "device"
    assert str(caught.value) == MSG_NO_CUDA.format(model="mlp", version=torch.__version__, build="a CPU-only build")
    assert resolve_device("auto") == "cpu"
