"""Expansion of a study into arms and trials (arm x dataset x replicate x fold).

A trial's key is a hash of everything that defines it, so a stored trial with the same key is
not run again (resume), and a change to any input (a parameter, a data value, a seed) makes a new
key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rigorlab.spec._model import StudySpec

if TYPE_CHECKING:
    from rigorlab.data import Dataset, Split

__all__ = ["Arm", "Plan", "Seeds", "Trial", "build_plan", "derive_seeds", "expand_arms"]

# Bump when the meaning of a trial's inputs changes, so old results are not taken for new ones.
TRIAL_FORMAT = 1
# Training settings that say how to run, not what to compute; they are not part of a trial's key.
RUN_OPTIONS = ("device", "batched", "max_stack")


@dataclass(frozen=True)
class Seeds:
    """Independent seeds of one replicate, derived from (study seed, replicate)."""

    split: int
    init: int
    data_order: int
    inner_split: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def derive_seeds(study_seed: int, replicate: int) -> Seeds:
    """Derive a replicate's seeds with numpy's SeedSequence.

    ``SeedSequence(study_seed, spawn_key=(replicate,))`` gives a stream that is independent of
    every other replicate's; its four children seed splitting, model initialisation, the order of
    training rows and the inner (hyperparameter selection) splits.

    Examples
    --------
    >>> derive_seeds(2026, 0) == derive_seeds(2026, 0)
    True
    >>> derive_seeds(2026, 0).split != derive_seeds(2026, 1).split
    True
    """
    root = np.random.SeedSequence(study_seed, spawn_key=(replicate,))
    split, init, data_order, inner = (int(child.generate_state(1, dtype=np.uint32)[0]) for child in root.spawn(4))
    return Seeds(split=split, init=init, data_order=data_order, inner_split=inner)


def _format_value(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


@dataclass(frozen=True)
class Arm:
    """One model configuration under comparison.

    ``params`` are fixed constructor parameters; ``grid`` (non-empty only with nested selection)
    maps parameters to the values an inner cross-validation chooses from. For torch models
    (``trainer`` is ``torch`` or ``transformers``), ``estimator`` is the module's import path and
    ``training`` holds every training setting. ``mitigation`` (a fairlearn method and its settings)
    wraps a scikit-learn classifier.
    """

    name: str
    model: str
    estimator: str
    params: Mapping[str, Any]
    grid: Mapping[str, list[Any]]
    preprocess: Mapping[str, Mapping[str, Any]]
    timeout: float | None
    inner_folds: int | None
    trainer: str = "sklearn"
    training: Mapping[str, Any] | None = None
    mitigation: Mapping[str, Any] | None = None

    @property
    def is_torch(self) -> bool:
        return self.trainer != "sklearn"

    def config(self) -> dict[str, Any]:
        """The resolved configuration (JSON-safe), part of every trial key.

        How a torch model is run (device, batched, max_stack) is left out: it changes the speed,
        not the numbers (see the equivalence tests), so it must not change the keys.
        """
        config = {
            "name": self.name,
            "model": self.model,
            "estimator": self.estimator,
            "params": dict(self.params),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "preprocess": {k: dict(v) for k, v in self.preprocess.items()},
            "inner_folds": self.inner_folds if self.grid else None,
        }
        if self.is_torch:
            # Only torch arms carry these keys, so the keys of scikit-learn trials stay as they were.
            config["trainer"] = self.trainer
            config["training"] = {k: v for k, v in (self.training or {}).items() if k not in RUN_OPTIONS}
        if self.mitigation is not None:
            config["mitigation"] = dict(self.mitigation)
        return config


def expand_arms(spec: StudySpec) -> list[Arm]:
    """The arms of a study.

    With ``protocol.inner_folds`` a model's grid stays one arm and an inner CV selects its
    parameters on each training set. Without it, every grid point is an arm of its own, named
    ``model[param=value,...]``.
    """
    arms: list[Arm] = []
    nested = spec.protocol.inner_folds is not None
    for model in spec.models:
        timeout = model.timeout or spec.timeout
        preprocess = model.preprocess_options()
        grid = model.grid
        torch_fields: dict[str, Any] = (
            {"trainer": model.trainer, "training": model.training_settings()} if model.is_torch else {}
        )
        if model.mitigation is not None:
            torch_fields["mitigation"] = model.mitigation.resolved()
        if nested or not grid:
            arms.append(
                Arm(
                    model.name,
                    model.name,
                    model.import_path,
                    model.fixed_params,
                    grid if nested else {},
                    preprocess,
                    timeout,
                    spec.protocol.inner_folds if grid else None,
                    **torch_fields,
                )
            )
            continue
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            label = ",".join(f"{k}={_format_value(v)}" for k, v in point.items())
            arms.append(
                Arm(
                    f"{model.name}[{label}]",
                    model.name,
                    model.import_path,
                    {**model.fixed_params, **point},
                    {},
                    preprocess,
                    timeout,
                    None,
                    **torch_fields,
                )
            )
    return arms


@dataclass(frozen=True)
class Trial:
    """One fit and evaluation: arm x dataset x replicate x fold.

    ``train_groups`` (protocol ``group_shift``): the training groups, as text; the trial's test rows in
    them are its in-distribution test, the others its shifted test.
    """

    key: str
    arm: Arm
    dataset: str
    dataset_fingerprint: str
    replicate: int
    fold: int
    seeds: Seeds
    split_fingerprint: str
    task: str
    metrics: tuple[str, ...]
    primary_metric: str
    train_groups: tuple[str, ...] | None = None

    @property
    def is_shift(self) -> bool:
        """Whether the trial tests on held-out groups (protocol ``group_shift``): its test rows then hold the
        shifted rows and, in the training groups, the in-distribution rows."""
        return self.train_groups is not None

    def identity(self) -> dict[str, Any]:
        return {"arm": self.arm.name, "dataset": self.dataset, "replicate": self.replicate, "fold": self.fold}


def trial_key(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Plan:
    """A study's trials, with the splits they use (by split fingerprint)."""

    spec: StudySpec
    arms: list[Arm]
    trials: list[Trial]
    splits: dict[str, Split] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.trials)


def build_plan(spec: StudySpec, datasets: Mapping[str, Dataset]) -> Plan:
    """Expand a study into its trials, computing every replicate's splits.

    Trials come out ordered dataset, replicate, fold, arm, so that the results of a replicate
    complete together and a partly run study already has paired results.
    """
    from rigorlab.data import make_splits, training_groups

    arms = expand_arms(spec)
    trials: list[Trial] = []
    splits: dict[str, Split] = {}
    metrics = tuple(spec.metrics)
    for dataset_spec in spec.datasets:
        dataset = datasets[dataset_spec.name]
        shared_splits = None
        shift = spec.protocol.kind == "group_shift"
        train_groups = training_groups(spec.protocol, dataset.group, dataset.name) if shift else None
        for replicate in range(spec.replicates):
            seeds = derive_seeds(spec.seed, replicate)
            if spec.protocol.resplits_per_replicate or shared_splits is None:
                split_seed = seeds.split if spec.protocol.resplits_per_replicate else derive_seeds(spec.seed, 0).split
                replicate_splits = make_splits(
                    spec.protocol, dataset.target, dataset.task, split_seed, dataset.name, dataset.group
                )
                if not spec.protocol.resplits_per_replicate:
                    shared_splits = replicate_splits
            else:
                replicate_splits = shared_splits
            for fold, split in enumerate(replicate_splits):
                split_fp = split.fingerprint
                splits[split_fp] = split
                for arm in arms:
                    payload: dict[str, Any] = {
                        "format": TRIAL_FORMAT,
                        "arm": arm.config(),
                        "dataset": dataset.fingerprint,
                        "split": split_fp,
                        "seeds": seeds.to_dict(),
                        "task": dataset.task,
                        "metrics": metrics,
                        "primary_metric": spec.primary,
                    }
                    if train_groups is not None:
                        # Only group-shift trials carry it, so every other trial keeps its key.
                        payload["train_groups"] = list(train_groups)
                    key = trial_key(payload)
                    trials.append(
                        Trial(
                            key,
                            arm,
                            dataset.name,
                            dataset.fingerprint,
                            replicate,
                            fold,
                            seeds,
                            split_fp,
                            dataset.task,
                            metrics,
                            spec.primary,
                            train_groups,
                        )
                    )
    return Plan(spec=spec, arms=arms, trials=trials, splits=splits)
