"""Orchestration of the torch trainer: determinism, stacks, fallback, out-of-memory halving, predictions."""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor, nn

from rigorlab.models._metrics import METRICS, compute_metric
from rigorlab.models._sklearn import import_object
from rigorlab.models._torch import (
    MSG_FALLBACK,
    MSG_FORWARD_FAILED,
    MSG_MODULE_BUILD,
    MSG_OUT_OF_MEMORY,
    MSG_OUTPUT_SHAPE,
    ReplicateFit,
    ReplicateJob,
    TorchModel,
    TorchSetupError,
    resolve_device,
)
from rigorlab.models._torch_data import (
    MSG_BATCH_SIZE,
    PreparedData,
    constructor_arguments,
    encoder_of,
    prepare_data,
)
from rigorlab.models._torch_stack import LossFunction, Replicas, SingleReplica, StackedReplicas, unbatchable_reason
from rigorlab.models._torch_train import Rows, evaluate, softmax, train_replicas

__all__ = ["MSG_MKL_NOT_STRICT", "check_model", "deterministic", "fit_replicates", "is_out_of_memory", "mkl_strict"]

logger = logging.getLogger("rigorlab.models.torch")

MSG_MKL_NOT_STRICT = (
    "Intel MKL was initialised in this process before rigorlab set its strict reproducibility mode (MKL_CBWR), "
    "so on this CPU a stacked replicate may differ from the same replicate alone in the last bits. Import rigorlab "
    "before running torch code, or set MKL_CBWR=AUTO,STRICT in the environment."
)
_MKL_CBWR_AUTO, _MKL_CBWR_STRICT = 2, 0x10000


@functools.cache
def mkl_strict() -> bool:
    """Put MKL in strict CNR mode (results independent of memory alignment); False when it is too late.

    torch links MKL statically and exports its service functions; a build without MKL (ARM,
    OpenBLAS) has none, and then there is nothing to set.
    """
    try:
        library = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        set_mode = library.mkl_serv_cbwr_set
    except (OSError, AttributeError):
        return True
    strict = int(set_mode(_MKL_CBWR_AUTO | _MKL_CBWR_STRICT)) == 0
    if not strict:
        logger.warning(MSG_MKL_NOT_STRICT)
    return strict


@contextmanager
def deterministic(device: torch.device, threads: int | None = None) -> Iterator[None]:
    """Deterministic torch for the duration of a fit; every global setting is restored afterwards.

    - ``torch.use_deterministic_algorithms(True)`` (and cuDNN's deterministic, non-benchmark mode);
      on CUDA, ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` as cuBLAS requires for that.
    - On CPU, MKL runs in its strict reproducibility mode (see :func:`mkl_strict`). Together with
      never stacking fewer than two replicates (see ``_fit_group``), this makes a replicate's
      numbers independent of the stack it trains in.
    - The global RNG is forked, so seeding replicates leaves the caller's random state untouched.
    """
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.get_num_threads(),
    )
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    if device.type == "cpu":
        mkl_strict()
    if threads:
        torch.set_num_threads(threads)
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda_devices):
            yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2], saved[3]
        torch.set_num_threads(saved[4])


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (a RuntimeError)."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("can't allocate memory" in text or "not enough memory" in text)


def _loss(task: str) -> LossFunction:
    if task == "classification":
        return F.cross_entropy

    def squared_error(outputs: Tensor, targets: Tensor) -> Tensor:
        return F.mse_loss(outputs.reshape(targets.shape), targets)

    return squared_error


@dataclass
class _Context:
    """Everything the groups of one fit share."""

    model: TorchModel
    dataset: Any
    jobs: Sequence[ReplicateJob]
    data: PreparedData
    module_class: Any
    arguments: dict[str, Any]
    device: torch.device
    primary_metric: str | None
    keep_weights: bool


def _build(context: _Context, seed: int) -> nn.Module:
    """One replicate's module, initialised from its seed on the CPU (the same weights on any device; the
    stack, not each module, goes to the device)."""
    torch.manual_seed(seed)
    try:
        module = context.module_class(**context.arguments)
    except Exception as error:  # a user's constructor may raise anything
        raise TorchSetupError(
            MSG_MODULE_BUILD.format(
                model=context.model.name,
                module=context.model.module,
                arguments=context.arguments,
                error=f"{type(error).__name__}: {error}",
            ),
            "module",
        ) from error
    built: nn.Module = module
    return built


def _check_output(context: _Context, module: nn.Module, sample: Tensor) -> None:
    data = context.data
    model = context.model
    module.eval()
    try:
        with torch.no_grad():
            output = module(sample)
    except Exception as error:  # user code; reported with the input shape it was given
        raise TorchSetupError(
            MSG_FORWARD_FAILED.format(
                model=model.name,
                module=model.module,
                shape=tuple(sample.shape),
                dataset=context.dataset.name,
                error=f"{type(error).__name__}: {error}",
            ),
            "module",
        ) from error
    rows = sample.shape[0]
    allowed: list[tuple[int, ...]]
    if data.task == "classification":
        allowed = [(rows, data.n_outputs)]
        expected = f"({rows}, {data.n_outputs}): one logit per class"
    else:
        allowed = [(rows,), (rows, 1)]
        expected = f"({rows},) or ({rows}, 1): one value per row"
    shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
    if shape not in allowed:
        raise TorchSetupError(
            MSG_OUTPUT_SHAPE.format(
                model=model.name,
                module=model.module,
                shape=shape,
                rows=rows,
                dataset=context.dataset.name,
                task=data.task,
                expected=expected,
                outputs=data.n_outputs,
            ),
            "module",
        )


def _probe(stack: StackedReplicas, rows: Rows) -> str | None:
    """Why vmap cannot train this stack (one step on two rows, nothing updated), or None."""
    try:
        x, y = rows.batch(rows.fit[:, :2])
        torch.autograd.backward(stack.losses(x, y, salt=0).sum())
        stack.uses_dropout = stack.dropout_calls > 0
        stack.outputs(x)
        return None
    except Exception as error:  # any failure under vmap means: train these replicates one at a time
        if is_out_of_memory(error):
            raise
        return f"torch.func.vmap cannot batch it ({type(error).__name__}: {str(error).strip().splitlines()[0]})"
    finally:
        for parameter in stack.parameters():
            parameter.grad = None


def _validation_scorer(
    context: _Context, positions: Sequence[int]
) -> Callable[[int, NDArray[np.float32]], float | None] | None:
    metric = context.primary_metric
    data = context.data
    if metric is None or metric not in METRICS or METRICS[metric].task != data.task:
        return None
    target = np.asarray(context.dataset.target)

    def score(member: int, outputs: NDArray[np.float32]) -> float | None:
        replicate = data.replicates[positions[member]]
        y_pred, scores = _predictions(data, replicate.target_shift, replicate.target_scale, outputs)
        with warnings.catch_warnings():
            # A small validation set can miss a class; that epoch's point is left out, not an error.
            warnings.simplefilter("ignore")
            try:
                return compute_metric(metric, target[replicate.validation], y_pred, scores, data.classes)
            except ValueError:
                return None

    return score


def _predictions(
    data: PreparedData, shift: float, scale: float, outputs: NDArray[np.float32]
) -> tuple[NDArray[Any], NDArray[np.float64] | None]:
    if data.task == "classification":
        scores = softmax(outputs)
        return data.classes[np.argmax(scores, axis=1)], scores
    return outputs.reshape(-1).astype(np.float64) * scale + shift, None


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _fit_group(context: _Context, positions: Sequence[int]) -> dict[int, ReplicateFit]:
    """Train replicates of equal shapes together (stacked if vmap allows it) and predict their test rows."""
    data = context.data
    members = [data.replicates[p] for p in positions]
    # torch treats a batch of one as a special case (bmm becomes mm, and gemv when a layer has one output;
    # oneDNN's grouped convolution becomes a plain one), whose sums run in another order. On the CPU, where
    # rigorlab promises bit-identical results, a lone replicate therefore trains beside a copy of itself
    # (twice the arithmetic, the same numbers it gets in any stack); the copy's results are dropped.
    twin = len(positions) == 1 and context.device.type == "cpu"
    stacked_positions = [positions[0], positions[0]] if twin else list(positions)
    stacked_members = [data.replicates[p] for p in stacked_positions]
    modules = [_build(context, context.jobs[p].init_seed) for p in stacked_positions]
    first = members[0]
    sample = torch.tensor(data.features[first.features][first.fit[:2]])
    _check_output(context, modules[0], sample)
    rows = Rows(data, stacked_positions, context.device)
    keys = torch.as_tensor([m.dropout_seed for m in stacked_members], dtype=torch.int64, device=context.device)
    loss = _loss(data.task)
    generators = [torch.Generator().manual_seed(m.order_seed) for m in stacked_members]
    scorer = _validation_scorer(context, stacked_positions)
    metric = context.primary_metric or ""
    config = context.model.training
    reason = unbatchable_reason(modules[0])
    stack: StackedReplicas | None = None
    if reason is None:
        stack = StackedReplicas(modules, keys, loss)
        reason = _probe(stack, rows)
    started = time.perf_counter()
    if stack is not None and reason is None:
        outcomes = train_replicas(stack, rows, config, generators, scorer, metric)
        _synchronize(context.device)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        final: Replicas = StackedReplicas.from_states(modules[0], [o.state for o in outcomes], keys, loss)
        outputs = list(evaluate(final, rows, rows.test)[0])[: len(positions)]
        outcomes = outcomes[: len(positions)]
        mode = f"stack of {len(positions)}"
        if len(positions) == 1:
            mode = "alone (a stack of 1, trained beside a copy of itself)" if twin else "alone (a stack of 1)"
    else:
        logger.warning(MSG_FALLBACK.format(model=context.model.name, reason=reason))
        outcomes, outputs = [], []
        for index, member in enumerate(members):
            # Random draws other than dropout come from the global generator, seeded per replicate.
            torch.manual_seed(member.dropout_seed)
            single = SingleReplica(modules[index].to(context.device), keys[index], loss)

            def scorer_one(_: int, out: NDArray[np.float32], index: int = index) -> float | None:
                return scorer(index, out) if scorer is not None else None

            own_rows = rows.select([index])
            outcome = train_replicas(single, own_rows, config, [generators[index]], scorer_one, metric)[0]
            single.load(outcome.state)
            outcomes.append(outcome)
            outputs.append(evaluate(single, own_rows, own_rows.test)[0][0])
        _synchronize(context.device)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        mode = f"one at a time: {reason}"
    _synchronize(context.device)
    predict_seconds = time.perf_counter() - started
    results: dict[int, ReplicateFit] = {}
    device_name = _device_name(context.device)
    for index, position in enumerate(positions):
        member, outcome = members[index], outcomes[index]
        y_pred, scores = _predictions(data, member.target_shift, member.target_scale, outputs[index])
        results[position] = ReplicateFit(
            test_index=member.test,
            y_pred=y_pred,
            scores=scores,
            classes=data.classes,
            curves=outcome.curves,
            epochs=outcome.epochs,
            best_epoch=outcome.best_epoch,
            stopped_early=outcome.stopped_early,
            # The stack's time shared out: what each replicate cost, for fit_seconds comparisons.
            fit_seconds=fit_seconds / len(positions),
            predict_seconds=predict_seconds / len(positions),
            tags={
                "device": device_name,
                "batched": mode,
                "epochs": str(outcome.epochs),
                "stopped_early": "yes" if outcome.stopped_early else "no",
                **({"best_epoch": str(outcome.best_epoch)} if outcome.best_epoch is not None else {}),
            },
            weights={k: v.detach().cpu().clone() for k, v in outcome.state.items()} if context.keep_weights else None,
        )
    return results


def _fit_fitting_memory(context: _Context, positions: Sequence[int]) -> dict[int, ReplicateFit]:
    """Train a group; on out-of-memory, halve it and train the halves (the results are the same)."""
    try:
        return _fit_group(context, positions)
    except Exception as error:
        if not is_out_of_memory(error) or len(positions) == 1:
            raise
    if context.device.type == "cuda":
        torch.cuda.empty_cache()
    half = len(positions) // 2
    message = MSG_OUT_OF_MEMORY.format(
        model=context.model.name,
        device=context.device,
        size=len(positions),
        first=half,
        second=len(positions) - half,
    )
    logger.warning(message)
    results = _fit_fitting_memory(context, positions[:half])
    results.update(_fit_fitting_memory(context, positions[half:]))
    for fit in results.values():
        fit.tags["memory"] = "; ".join(filter(None, [message, fit.tags.get("memory")]))
    return results


def _groups(data: PreparedData, batched: bool, max_stack: int | None) -> list[list[int]]:
    """Positions that can share a stack: equal row counts and encodings, at most ``max_stack`` each."""
    if not batched:
        return [[position] for position in range(len(data.replicates))]
    by_shape: dict[tuple[Any, ...], list[int]] = {}
    for position in range(len(data.replicates)):
        by_shape.setdefault(data.shape_key(position), []).append(position)
    size = max_stack or len(data.replicates)
    return [group[i : i + size] for group in by_shape.values() for i in range(0, len(group), size)]


def _context(
    model: TorchModel,
    dataset: Any,
    jobs: Sequence[ReplicateJob],
    device: torch.device,
    primary_metric: str | None,
    keep_weights: bool,
) -> _Context:
    module_class = import_object(model.module)
    data = prepare_data(model, dataset, jobs, model.training, encoder_of(module_class))
    row_shape = data.row_shape
    arguments = constructor_arguments(module_class, model.params, int(math.prod(row_shape)), row_shape, data.n_outputs)
    return _Context(model, dataset, jobs, data, module_class, arguments, device, primary_metric, keep_weights)


def fit_replicates(
    model: TorchModel,
    dataset: Any,
    jobs: Sequence[ReplicateJob],
    *,
    primary_metric: str | None = None,
    threads: int | None = None,
    device: str | None = None,
    batched: bool | None = None,
    keep_weights: bool = False,
) -> list[ReplicateFit]:
    """See :func:`rigorlab.models.fit_torch_replicates`."""
    config = model.training
    target_device = torch.device(resolve_device(device or config.device, model.name))
    use_stack = config.batched if batched is None else batched
    with deterministic(target_device, threads):
        context = _context(model, dataset, jobs, target_device, primary_metric, keep_weights)
        results: dict[int, ReplicateFit] = {}
        for positions in _groups(context.data, use_stack, config.max_stack):
            results.update(_fit_fitting_memory(context, positions))
    return [results[position] for position in range(len(jobs))]


def check_model(model: TorchModel, dataset: Any, jobs: Sequence[ReplicateJob]) -> None:
    """See :func:`rigorlab.models.check_torch_model`."""
    config = model.training
    resolve_device(config.device, model.name)  # raises when cuda is asked for and there is none
    fraction = config.validation_fraction or 0.0
    for job in jobs:
        # train_test_split holds out ceil(fraction * n) rows.
        rows = len(job.train) - (math.ceil(fraction * len(job.train)) if fraction else 0)
        if config.batch_size > rows:
            held_out = f" after holding out validation_fraction {fraction}" if fraction else ""
            raise TorchSetupError(
                MSG_BATCH_SIZE.format(
                    model=model.name, batch_size=config.batch_size, rows=rows, dataset=dataset.name, held_out=held_out
                ),
                "batch_size",
            )
    with deterministic(torch.device("cpu")):
        context = _context(model, dataset, jobs[:1], torch.device("cpu"), None, False)
        module = _build(context, 0)
        first = context.data.replicates[0]
        sample = torch.tensor(context.data.features[first.features][first.fit[:2]])
        _check_output(context, module, sample)
