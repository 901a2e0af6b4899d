"""Replicates of one torch module: stacked into one model (torch.func), or one plain module at a time.

:class:`StackedReplicas` keeps every parameter as one tensor of shape (n_replicates, *shape) and runs
the module once per step with ``torch.func.functional_call`` under ``torch.func.vmap``: one forward,
one backward and one optimizer step train every replicate, and replicate r's numbers depend only on
its own slice (the equivalence tests check this bit for bit on CPU). :class:`SingleReplica` trains
the module as it is, for modules vmap cannot batch (batch norm in training mode, data-dependent
control flow, random draws other than dropout).

Dropout: ``vmap(randomness="different")`` draws all replicates' masks from one generator, so a
replicate's masks would depend on the stack it trains in. :class:`CounterDropout` instead derives
each mask from a hash of (replicate's dropout seed, step, call, element) -- a counter-based RNG in the
manner of JAX's, which torch does not offer under vmap -- so masks are the same stacked or alone.
It intercepts ``torch.nn.functional.dropout`` (which ``nn.Dropout`` calls) and ``dropout1d/2d/3d``
with a TorchFunctionMode, so user modules need no change.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.overrides import TorchFunctionMode

__all__ = ["CounterDropout", "LossFunction", "Replicas", "SingleReplica", "StackedReplicas", "unbatchable_reason"]

MASK32 = 0xFFFFFFFF
_CHANNEL_DIMS: dict[Callable[..., Any], int] = {F.dropout: 0, F.dropout1d: 1, F.dropout2d: 2, F.dropout3d: 3}
LossFunction = Callable[[Tensor, Tensor], Tensor]
State = dict[str, Tensor]

MSG_BATCH_NORM = (
    "{kind} layer '{name}' updates its running statistics in place during training, which torch.func.vmap cannot batch"
)


def _mix(x: Tensor) -> Tensor:
    """A 32-bit integer hash (in int64 arithmetic; products stay below 2**59, so nothing overflows)."""
    x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK32
    x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK32
    return (x >> 16) ^ x


def _mix_int(x: int) -> int:
    x &= MASK32
    x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK32
    x = (((x >> 16) ^ x) * 0x45D9F3B) & MASK32
    return (x >> 16) ^ x


class CounterDropout(TorchFunctionMode):
    """Dropout masks from a hash of (key, salt, call number, element index) instead of a generator.

    Parameters
    ----------
    key : Tensor
        A 0-d int64 tensor in [0, 2**32): the replicate's dropout seed (under vmap, one per replicate).
    salt : int
        The training step, so every step draws new masks.
    """

    def __init__(self, key: Tensor, salt: int) -> None:
        super().__init__()
        self.key = key
        self.salt = salt
        self.calls = 0

    def __torch_function__(
        self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        channel_dims = _CHANNEL_DIMS.get(func)
        if channel_dims is None:
            return func(*args, **kwargs)
        # dropout, dropout1d/2d/3d(input, p=0.5, training=True, inplace=False)
        x = args[0] if args else kwargs["input"]
        p = float(args[1] if len(args) > 1 else kwargs.get("p", 0.5))
        training = bool(args[2] if len(args) > 2 else kwargs.get("training", True))
        if not training or p == 0.0:
            return x
        self.calls += 1
        if p >= 1.0:
            return x * 0.0
        shape = tuple(x.shape[: x.dim() - channel_dims]) + (1,) * channel_dims
        counter = torch.arange(int(torch.Size(shape).numel()), device=x.device, dtype=torch.int64).view(shape)
        stream = _mix((self.key ^ _mix_int(self.salt * 0x9E3779B1 + self.calls * 0x85EBCA77)) & MASK32)
        # An odd multiplier scatters consecutive elements over the 32-bit range before the hash (counters stay
        # below 2**31, so the product fits in int64).
        bits = _mix((counter * 0x9E3779B1 + stream) & MASK32)
        keep = (bits >= int(p * 2**32)).to(x.dtype)
        return x * keep * (1.0 / (1.0 - p))


def unbatchable_reason(module: nn.Module) -> str | None:
    """Why vmap cannot train ``module`` as a stack, when that is known without trying (batch norm)."""
    for name, layer in module.named_modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.track_running_stats:
            return MSG_BATCH_NORM.format(kind=type(layer).__name__, name=name)
    return None


class Replicas(ABC):
    """The interface the training loop drives; ``size`` replicates, tensors stacked on dimension 0."""

    size: int

    @abstractmethod
    def parameters(self) -> list[Tensor]:
        """The tensors the optimizer updates."""

    @abstractmethod
    def losses(self, x: Tensor, y: Tensor, salt: int) -> Tensor:
        """Training-mode loss of every replicate on its own batch: x (S, b, ...), y (S, b) -> (S,)."""

    @abstractmethod
    def outputs(self, x: Tensor) -> Tensor:
        """Evaluation-mode outputs, without gradients: x (S, b, ...) -> (S, b, ...)."""

    @abstractmethod
    def snapshot(self) -> State:
        """A copy of every replicate's parameters and buffers, stacked: name -> (S, ...)."""

    @abstractmethod
    def keep(self, positions: Sequence[int]) -> None:
        """Drop every replicate but ``positions`` (new parameter tensors: the optimizer must follow)."""


class StackedReplicas(Replicas):
    """Replicates of one module trained as one stacked model with torch.func.

    Parameters
    ----------
    modules : list of nn.Module
        The replicates, each initialised from its own seed, all of one architecture (on any device).
    keys : Tensor of shape (S,)
        Dropout seeds (int64 in [0, 2**32)), on the device the stack trains on.
    loss : callable
        ``loss(outputs, targets)`` of one replicate's batch, a scalar.
    """

    def __init__(self, modules: Sequence[nn.Module], keys: Tensor, loss: LossFunction) -> None:
        self.base = copy.deepcopy(modules[0]).to("meta")
        self.loss = loss
        self.keys = keys
        # functional_call re-ties shared parameters on every call (a walk over all modules); skip it when
        # no parameter is registered under two names.
        first = modules[0]
        self.tied = len(list(first.named_parameters(remove_duplicate=False))) != len(list(first.named_parameters()))
        # Whether the forward pass calls dropout at all; the probe finds out (see ``losses``).
        self.uses_dropout = True
        self.dropout_calls = 0
        named = [dict(m.named_parameters()) for m in modules]
        buffers = [dict(m.named_buffers()) for m in modules]
        device = keys.device
        self.params: State = {
            name: torch.stack([n[name].detach() for n in named]).to(device).requires_grad_() for name in named[0]
        }
        self.buffers: State = {name: torch.stack([b[name] for b in buffers]).to(device) for name in buffers[0]}
        self.size = len(modules)

    @classmethod
    def from_states(
        cls, module: nn.Module, states: Sequence[State], keys: Tensor, loss: LossFunction
    ) -> StackedReplicas:
        """A stack whose replicate i holds ``states[i]`` (for predicting with final weights)."""
        stack = cls([module], keys[:1], loss)
        stack.uses_dropout = False  # evaluation only: dropout is off
        stack.params = {n: torch.stack([s[n] for s in states]) for n in stack.params}
        stack.buffers = {n: torch.stack([s[n] for s in states]) for n in stack.buffers}
        stack.keys, stack.size = keys, len(states)
        return stack

    def parameters(self) -> list[Tensor]:
        return list(self.params.values())

    def losses(self, x: Tensor, y: Tensor, salt: int) -> Tensor:
        self.base.train()

        def one(params: State, buffers: State, key: Tensor, rows: Tensor, targets: Tensor) -> Tensor:
            if self.uses_dropout:
                mode = CounterDropout(key, salt)
                with mode:
                    output = functional_call(self.base, (params, buffers), (rows,), tie_weights=self.tied)
                self.dropout_calls = mode.calls
            else:
                # No dropout was called in the probe step: leave the mode out (it costs a Python call per
                # torch function). Any random draw would still raise under randomness="error".
                output = functional_call(self.base, (params, buffers), (rows,), tie_weights=self.tied)
            return self.loss(output, targets)

        result: Tensor = vmap(one, randomness="error")(self.params, self.buffers, self.keys, x, y)
        return result

    def outputs(self, x: Tensor) -> Tensor:
        self.base.eval()

        def one(params: State, buffers: State, rows: Tensor) -> Tensor:
            output: Tensor = functional_call(self.base, (params, buffers), (rows,), tie_weights=self.tied)
            return output

        with torch.no_grad():
            result: Tensor = vmap(one, randomness="error")(self.params, self.buffers, x)
        return result

    def snapshot(self) -> State:
        return {name: t.detach().clone() for name, t in {**self.params, **self.buffers}.items()}

    def keep(self, positions: Sequence[int]) -> None:
        index = torch.as_tensor(list(positions), device=self.keys.device)
        self.params = {n: t.detach()[index].clone().requires_grad_() for n, t in self.params.items()}
        self.buffers = {n: t[index] for n, t in self.buffers.items()}
        self.keys = self.keys[index]
        self.size = len(positions)


class SingleReplica(Replicas):
    """One replicate as a plain module (the fallback for modules vmap cannot batch)."""

    def __init__(self, module: nn.Module, key: Tensor, loss: LossFunction) -> None:
        self.module = module
        self.key = key
        self.loss = loss
        self.size = 1

    def parameters(self) -> list[Tensor]:
        return list(self.module.parameters())

    def losses(self, x: Tensor, y: Tensor, salt: int) -> Tensor:
        self.module.train()
        with CounterDropout(self.key, salt):
            output = self.module(x[0])
        return self.loss(output, y[0]).reshape(1)

    def outputs(self, x: Tensor) -> Tensor:
        self.module.eval()
        with torch.no_grad():
            result: Tensor = self.module(x[0]).unsqueeze(0)
        return result

    def snapshot(self) -> State:
        return {name: t.detach().clone().unsqueeze(0) for name, t in self.module.state_dict().items()}

    def load(self, state: State) -> None:
        self.module.load_state_dict(state)

    def keep(self, positions: Sequence[int]) -> None:
        pass  # a single replicate is never compacted: when it stops, training ends
