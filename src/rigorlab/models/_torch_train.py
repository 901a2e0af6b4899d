"""The training loop over a stack of replicates: optimizer, schedule, per-replicate early stopping, curves.

One loop trains a :class:`~rigorlab.models._torch_stack.Replicas` of any size: a stack of many, a
stack of one (``batched: false``), or a plain module (the fallback). Every replicate shares the
arm's settings, so all members of a stack take the same number of steps with the same learning
rate; a replicate whose early stopping fires is finished (its best or last weights kept) and removed
from the stack, so it no longer updates and no longer costs anything.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor

from rigorlab.models._torch_config import TrainingConfig
from rigorlab.models._torch_data import PreparedData
from rigorlab.models._torch_stack import Replicas, State

__all__ = ["Outcome", "Rows", "compact_optimizer", "evaluate", "make_optimizer", "row_losses", "train_replicas"]

# Rows per forward pass when evaluating (validation each epoch, test at the end), per replicate.
EVAL_ROWS = 512


@dataclass
class Outcome:
    """What training left of one replicate."""

    state: State
    curves: list[tuple[str, int, float]] = field(default_factory=list)
    epochs: int = 0
    best_epoch: int | None = None
    stopped_early: bool = False


class Rows:
    """One group's data on the device: features, target, and each member's fit/validation/test rows.

    ``features`` has shape (U, n_rows, *row_shape), one matrix per distinct encoding; member i reads
    matrix ``slot[i]``. Row tensors have shape (S, n) and hold dataset row indices.
    """

    def __init__(self, data: PreparedData, positions: Sequence[int], device: torch.device) -> None:
        members = [data.replicates[p] for p in positions]
        slots = sorted({m.features for m in members})
        self.device = device
        self.task = data.task
        # torch.tensor copies: the arrays may be read-only views (a shared dataset), which torch warns about.
        self.features = torch.stack([torch.tensor(data.features[k]) for k in slots]).to(device)
        self.slot = torch.as_tensor([slots.index(m.features) for m in members], device=device)
        self.target = torch.tensor(data.target).to(device)
        self.fit = torch.tensor(np.stack([m.fit for m in members])).to(device)
        self.validation = torch.tensor(np.stack([m.validation for m in members])).to(device)
        self.test = torch.tensor(np.stack([m.test for m in members])).to(device)
        self.shift = torch.as_tensor([[m.target_shift] for m in members], dtype=torch.float32, device=device)
        self.scale = torch.as_tensor([[m.target_scale] for m in members], dtype=torch.float32, device=device)

    def batch(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """Features (S, b, *row_shape) and targets (S, b) of the rows (S, b)."""
        # One shared encoding (no preprocessing, or a shared split): plain indexing, about twice as fast.
        x = self.features[0][rows] if len(self.features) == 1 else self.features[self.slot[:, None], rows]
        y = self.target[rows]
        if self.task == "regression":
            y = (y - self.shift) / self.scale
        return x, y

    def select(self, members: Sequence[int]) -> Rows:
        """The same data for a subset of the members (a compacted stack)."""
        index = torch.as_tensor(list(members), device=self.device)
        kept = copy.copy(self)
        for name in ("slot", "fit", "validation", "test", "shift", "scale"):
            setattr(kept, name, getattr(self, name)[index])
        return kept


def make_optimizer(config: TrainingConfig, parameters: list[Tensor]) -> torch.optim.Optimizer:
    """torch's Adam, AdamW or SGD. Their arithmetic is elementwise, so a stacked tensor's slice r is
    updated exactly as replicate r's own tensor would be."""
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)


def compact_optimizer(
    config: TrainingConfig,
    optimizer: torch.optim.Optimizer,
    old: Sequence[Tensor],
    new: Sequence[Tensor],
    keep: Sequence[int],
) -> torch.optim.Optimizer:
    """An optimizer over the kept replicates' new tensors, with their slices of the old state (moments, step)."""
    before = old[0].shape[0]
    index = torch.as_tensor(list(keep), device=old[0].device)
    kept = make_optimizer(config, list(new))
    for group in kept.param_groups:
        group["lr"] = optimizer.param_groups[0]["lr"]
    for old_tensor, new_tensor in zip(old, new, strict=True):
        state = optimizer.state.get(old_tensor)
        if state:
            kept.state[new_tensor] = {
                name: value[index].clone()
                if isinstance(value, Tensor) and value.dim() > 0 and value.shape[0] == before
                else value
                for name, value in state.items()
            }
    return kept


def row_losses(outputs: Tensor, targets: Tensor, task: str) -> Tensor:
    """Per-row loss of stacked outputs (S, b, ...) against targets (S, b): shape (S, b)."""
    stack, rows = targets.shape
    if task == "classification":
        return F.cross_entropy(outputs.flatten(0, 1), targets.flatten(), reduction="none").view(stack, rows)
    return (outputs.reshape(stack, rows) - targets) ** 2


def evaluate(replicas: Replicas, rows: Rows, which: Tensor) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Outputs (S, n, ...) and per-row losses (S, n) of every member on its rows ``which`` (S, n)."""
    outputs: list[Tensor] = []
    losses: list[Tensor] = []
    for start in range(0, which.shape[1], EVAL_ROWS):
        x, y = rows.batch(which[:, start : start + EVAL_ROWS])
        out = replicas.outputs(x)
        outputs.append(out.float().cpu())
        losses.append(row_losses(out, y, rows.task).cpu())
    return torch.cat(outputs, dim=1).numpy(), torch.cat(losses, dim=1).double().numpy()


def train_replicas(
    replicas: Replicas,
    rows: Rows,
    config: TrainingConfig,
    generators: Sequence[torch.Generator],
    validation_metric: Callable[[int, NDArray[np.float32]], float | None] | None = None,
    metric_name: str = "",
) -> list[Outcome]:
    """Train every member of ``replicas``; return each one's final state and curves.

    Parameters
    ----------
    replicas : Replicas
        S members, already initialised.
    rows : Rows
        Their data (S members).
    config : TrainingConfig
    generators : sequence of torch.Generator
        Member i's data-order generator (CPU), one permutation of its fit rows per epoch.
    validation_metric : callable, optional
        ``(member, outputs of shape (n_validation, ...)) -> value`` for the ``val_<metric>`` curve.

    Returns
    -------
    list of Outcome
        In member order; curves hold ``train_loss``, ``val_loss`` and ``val_<metric>`` per epoch (1-based).
    """
    size = replicas.size
    members = list(range(size))
    optimizer = make_optimizer(config, replicas.parameters())
    stopping = config.early_stopping
    validating = rows.validation.shape[1] > 0
    best = replicas.snapshot() if stopping is not None and stopping.restore_best else None
    best_loss = [math.inf] * size
    best_epoch = [0] * size
    waited = [0] * size
    curves: list[list[tuple[str, int, float]]] = [[] for _ in range(size)]
    outcomes: dict[int, Outcome] = {}
    n_fit = rows.fit.shape[1]
    step = 0
    for epoch in range(config.epochs):
        for group in optimizer.param_groups:
            group["lr"] = config.lr_at(epoch)
        permutations = torch.stack([torch.randperm(n_fit, generator=generators[m]) for m in members])
        order = rows.fit.gather(1, permutations.to(rows.device))
        total = torch.zeros(len(members), device=rows.device)
        for start in range(0, n_fit, config.batch_size):
            batch = order[:, start : start + config.batch_size]
            x, y = rows.batch(batch)
            losses = replicas.losses(x, y, salt=step)
            optimizer.zero_grad(set_to_none=True)
            torch.autograd.backward(losses.sum())
            optimizer.step()
            total += losses.detach() * batch.shape[1]
            step += 1
        train_losses = (total / n_fit).tolist()
        validation_losses = [math.nan] * len(members)
        if validating:
            outputs, per_row = evaluate(replicas, rows, rows.validation)
            validation_losses = [float(np.mean(per_row[i])) for i in range(len(members))]
        for i, member in enumerate(members):
            curves[member].append(("train_loss", epoch + 1, train_losses[i]))
            if validating:
                curves[member].append(("val_loss", epoch + 1, validation_losses[i]))
                value = validation_metric(member, outputs[i]) if validation_metric is not None else None
                if value is not None and math.isfinite(value):
                    curves[member].append((f"val_{metric_name}", epoch + 1, value))
        stopped: list[int] = []
        if stopping is not None:
            improved = []
            for i, member in enumerate(members):
                if validation_losses[i] < best_loss[member] - stopping.min_delta:
                    best_loss[member], best_epoch[member], waited[member] = validation_losses[i], epoch + 1, 0
                    improved.append(i)
                else:
                    waited[member] += 1
                    if waited[member] >= stopping.patience:
                        stopped.append(i)
            if best is not None and improved:
                current = replicas.snapshot()
                index = torch.as_tensor(improved, device=rows.device)
                for name, tensor in best.items():
                    tensor[index] = current[name][index]
        last = epoch == config.epochs - 1
        finishing = list(range(len(members))) if last else stopped
        if finishing:
            final = best if best is not None else replicas.snapshot()
            for i in finishing:
                member = members[i]
                outcomes[member] = Outcome(
                    state={name: tensor[i].clone() for name, tensor in final.items()},
                    curves=curves[member],
                    epochs=epoch + 1,
                    best_epoch=best_epoch[member] if stopping is not None else None,
                    stopped_early=not last,
                )
        if last:
            break
        if stopped:
            keep = [i for i in range(len(members)) if i not in stopped]
            if not keep:
                break
            old = replicas.parameters()
            replicas.keep(keep)
            optimizer = compact_optimizer(config, optimizer, old, replicas.parameters(), keep)
            rows = rows.select(keep)
            members = [members[i] for i in keep]
            if best is not None:
                index = torch.as_tensor(keep, device=rows.device)
                best = {name: tensor[index] for name, tensor in best.items()}
    return [outcomes[member] for member in range(size)]


def softmax(logits: NDArray[Any]) -> NDArray[np.float64]:
    """Row-wise softmax in float64 (probabilities as scikit-learn's predict_proba gives them)."""
    values = np.asarray(logits, dtype=np.float64)
    values = values - values.max(axis=-1, keepdims=True)
    exponentials = np.exp(values)
    result: NDArray[np.float64] = exponentials / exponentials.sum(axis=-1, keepdims=True)
    return result
