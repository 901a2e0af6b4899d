"""Batching changes nothing but speed: replicate r trained in a stack equals replicate r trained alone.

On CPU the comparison is exact (torch.equal on every weight and every predicted probability);
on a GPU (``-m gpu``) within a stated tolerance. The cases exercise what could make a stacked
replicate differ: per-replicate training rows (repeated k-fold), per-replicate preprocessing,
dropout, early stopping that removes replicates from the stack at different epochs, every optimizer
and schedule, regression targets, a CNN, and chunks of a stack (max_stack).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rigorlab.data import make_splits
from rigorlab.models import ReplicateJob, TorchModel, TrainingConfig, fit_torch_replicates
from rigorlab.spec import ProtocolSpec, derive_seeds
from tests.models.test_torch_study import builtin

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Relative tolerance of the GPU comparison: float32 kernels may pick different reduction orders
# for different stack sizes (cuBLAS batched vs single GEMM).
GPU_RTOL, GPU_ATOL = 1e-4, 1e-5


@pytest.fixture(autouse=True)
def examples_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


def jobs_of(dataset, replicates: int, kind: str = "repeated_kfold", seed: int = 3) -> list[ReplicateJob]:
    """Replicate r's first fold, with its own split under repeated k-fold."""
    jobs = []
    for replicate in range(replicates):
        seeds = derive_seeds(seed, replicate)
        split = make_splits(ProtocolSpec(kind=kind, folds=3), dataset.target, dataset.task, seeds.split)[0]
        jobs.append(ReplicateJob(split.train, split.test, seeds.init, seeds.data_order))
    return jobs


def assert_identical(stacked, alone):
    for together, single in zip(stacked, alone, strict=True):
        assert together.weights.keys() == single.weights.keys()
        for name in together.weights:
            assert torch.equal(together.weights[name], single.weights[name]), name
        if together.scores is not None:
            assert np.array_equal(together.scores, single.scores)
        assert np.array_equal(together.y_pred, single.y_pred)
        assert together.curves == single.curves
        assert (together.epochs, together.best_epoch) == (single.epochs, single.best_epoch)


def fit_both(model, dataset, jobs, **options):
    stacked = fit_torch_replicates(model, dataset, jobs, threads=1, keep_weights=True, **options)
    alone = fit_torch_replicates(model, dataset, jobs, threads=1, keep_weights=True, batched=False, **options)
    return stacked, alone


def test_mlp_with_dropout_early_stopping_and_per_replicate_splits():
    dataset = builtin("iris")
    jobs = jobs_of(dataset, 5)
    # Different training rows per replicate (repeated k-fold) and scaling fit on each replicate's rows.
    assert len({tuple(job.train) for job in jobs}) == 5
    training = TrainingConfig.from_dict(
        {
            "epochs": 12,
            "batch_size": 16,
            "lr": 0.05,
            "early_stopping": {"patience": 2, "min_delta": 0.01},
            "validation_fraction": 0.2,
        }
    )
    model = TorchModel("rigorlab_examples.nets:MLP", {"hidden": 16, "dropout": 0.3}, training, {"standard_scale": {}})
    stacked, alone = fit_both(model, dataset, jobs, primary_metric="accuracy")
    assert_identical(stacked, alone)
    assert {fit.tags["batched"] for fit in stacked} == {"stack of 5"}
    assert {fit.tags["batched"] for fit in alone} == {"alone (a stack of 1, trained beside a copy of itself)"}
    # Early stopping removed replicates from the stack at different epochs: the compacted stack
    # (with its optimizer state sliced) still matches.
    assert any(fit.stopped_early for fit in stacked)
    assert len({fit.epochs for fit in stacked}) > 1


@pytest.mark.parametrize(("optimizer", "schedule"), [("sgd", "step"), ("adamw", "cosine"), ("adam", "linear")])
def test_every_optimizer_and_schedule(optimizer, schedule):
    dataset = builtin("wine")
    training = TrainingConfig.from_dict(
        {
            "optimizer": optimizer,
            "schedule": schedule,
            "momentum": 0.9 if optimizer == "sgd" else 0.0,
            "weight_decay": 0.01,
            "lr": 0.01,
            "epochs": 4,
            "step_size": 2,
            "batch_size": 32,
        }
    )
    model = TorchModel("rigorlab_examples.nets:MLP", {"hidden": 8}, training, {"standard_scale": {}})
    assert_identical(*fit_both(model, dataset, jobs_of(dataset, 3)))


def test_regression_with_a_standardised_target():
    dataset = builtin("diabetes")
    training = TrainingConfig.from_dict({"epochs": 5, "batch_size": 64, "lr": 0.01, "validation_fraction": 0.15})
    model = TorchModel("rigorlab_examples.nets:MLP", {"hidden": 8, "dropout": 0.1}, training, {"standard_scale": {}})
    stacked, alone = fit_both(model, dataset, jobs_of(dataset, 3, kind="kfold"), primary_metric="rmse")
    assert_identical(stacked, alone)
    assert stacked[0].scores is None and stacked[0].y_pred.dtype == np.float64
    assert [name for name, step, _ in stacked[0].curves if step == 1] == ["train_loss", "val_loss", "val_rmse"]


def test_cnn_on_digit_images_in_chunks_of_a_stack():
    dataset = builtin("digits")
    jobs = jobs_of(dataset, 3, kind="stratified_kfold")
    training = TrainingConfig.from_dict(
        {"epochs": 2, "batch_size": 64, "input_shape": [1, 8, 8], "lr": 0.003, "max_stack": 2}
    )
    model = TorchModel("rigorlab_examples.nets:DigitsCNN", {"channels": 4, "dropout": 0.2}, training)
    stacked, alone = fit_both(model, dataset, jobs)
    assert_identical(stacked, alone)
    assert [fit.tags["batched"][:20] for fit in stacked] == ["stack of 2", "stack of 2", "alone (a stack of 1,"]
    assert np.mean(stacked[0].y_pred == dataset.target[jobs[0].test]) > 0.5  # it learns


def test_the_engine_trains_like_a_plain_pytorch_loop():
    """A stack of one against the loop a user writes (nn.Module, torch.optim.Adam): same initialisation,
    same data order, same updates; equal up to float32 rounding (vmap's batched matmul vs mm)."""
    from rigorlab_examples.nets import MLP

    from rigorlab.models._torch_data import child_seed

    dataset = builtin("iris")
    job = jobs_of(dataset, 1)[0]
    training = TrainingConfig(epochs=3, batch_size=20, lr=0.01)
    fit = fit_torch_replicates(
        TorchModel("rigorlab_examples.nets:MLP", {"hidden": 8}, training), dataset, [job], threads=1, keep_weights=True
    )[0]
    features = torch.tensor(dataset.features.to_numpy(np.float32))
    target = torch.tensor(np.searchsorted(np.unique(dataset.target), dataset.target))
    state = torch.random.get_rng_state()
    torch.manual_seed(job.init_seed)
    model = MLP(4, 3, hidden=8)
    torch.random.set_rng_state(state)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(child_seed(job.data_order_seed, 0))
    train = torch.tensor(np.sort(job.train))
    for _ in range(3):
        order = train[torch.randperm(len(train), generator=generator)]
        for start in range(0, len(order), 20):
            rows = order[start : start + 20]
            loss = torch.nn.functional.cross_entropy(model(features[rows]), target[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(fit.weights[name], value, rtol=1e-5, atol=1e-6)


def test_a_repeated_fit_gives_identical_weights():
    dataset = builtin("iris")
    model = TorchModel("rigorlab_examples.nets:MLP", {"hidden": 8, "dropout": 0.2}, TrainingConfig(epochs=3))
    first = fit_torch_replicates(model, dataset, jobs_of(dataset, 2), threads=1, keep_weights=True)
    second = fit_torch_replicates(model, dataset, jobs_of(dataset, 2), threads=1, keep_weights=True)
    assert_identical(first, second)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stacked_equals_alone_on_gpu_within_tolerance():
    dataset = builtin("digits")
    jobs = jobs_of(dataset, 4, kind="stratified_kfold")
    training = TrainingConfig.from_dict({"epochs": 3, "batch_size": 64, "input_shape": [1, 8, 8], "device": "cuda"})
    model = TorchModel("rigorlab_examples.nets:DigitsCNN", {"channels": 8}, training)
    stacked, alone = fit_both(model, dataset, jobs)
    for together, single in zip(stacked, alone, strict=True):
        assert together.tags["device"].startswith("cuda")
        for name in together.weights:
            torch.testing.assert_close(together.weights[name], single.weights[name], rtol=GPU_RTOL, atol=GPU_ATOL)
        np.testing.assert_allclose(together.scores, single.scores, rtol=GPU_RTOL, atol=GPU_ATOL)


def test_nothing_global_is_left_changed():
    before = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(), torch.random.get_rng_state())
    dataset = builtin("iris")
    fit_torch_replicates(
        TorchModel("rigorlab_examples.nets:MLP", {}, TrainingConfig(epochs=1)), dataset, jobs_of(dataset, 2), threads=1
    )
    after = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(), torch.random.get_rng_state())
    assert before[:2] == after[:2] and torch.equal(before[2], after[2])
    assert "rigorlab_examples" in sys.modules
