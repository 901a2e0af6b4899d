"""The arms of a study as the methods describe them: models, parameters, grids, the values the
inner cross-validation selected, training settings, and a check of the stored seeds."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rigorlab.spec import Arm, derive_seeds, expand_arms

from ._facts import StoredStudy

__all__ = [
    "ArmView",
    "arm_views",
    "params_text",
    "seed_check",
    "selected_text",
    "selected_values",
    "training_text",
    "value_text",
]


def value_text(value: Any) -> str:
    """A parameter value as a reader writes it: strings bare, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {value_text(value)}" for name, value in params.items())


@dataclass(frozen=True)
class ArmView:
    """An arm as the methods describe it."""

    name: str
    model: str
    estimator: str
    trainer: str
    params: dict[str, Any]
    grid: dict[str, list[Any]]
    preprocess: tuple[str, ...]
    inner_folds: int | None
    training: dict[str, Any] | None
    from_spec: bool


def arm_views(facts: StoredStudy) -> list[ArmView]:
    """The arms: from the study file when there is one, else from the stored trial configs."""
    if facts.spec is not None:
        arms: list[Arm] = expand_arms(facts.spec)
        return [
            ArmView(
                name=arm.name,
                model=arm.model,
                estimator=arm.estimator,
                trainer=arm.trainer,
                params=dict(arm.params),
                grid={k: list(v) for k, v in arm.grid.items()},
                preprocess=tuple(arm.preprocess),
                inner_folds=arm.inner_folds,
                training=dict(arm.training) if arm.training else None,
                from_spec=True,
            )
            for arm in arms
        ]
    views = []
    seen: set[str] = set()
    for record in facts.samples:
        arm = str(record["arm"])
        if arm in seen:
            continue
        seen.add(arm)
        config = record.get("config") or {}
        params = config.get("params", config) if isinstance(config, dict) else {}
        views.append(
            ArmView(
                name=arm,
                model=arm,
                estimator=str(config.get("estimator", "")) if isinstance(config, dict) else "",
                trainer="tracked",
                params=dict(params) if isinstance(params, dict) else {},
                grid={},
                preprocess=(),
                inner_folds=None,
                training=None,
                from_spec=False,
            )
        )
    return views


def selected_values(facts: StoredStudy, arm: str) -> dict[str, dict[str, Counter[str]]]:
    """Per dataset and parameter, how often each value was selected by the inner CV."""
    finished = facts.finished
    rows = finished[(finished["arm"] == arm) & finished["selected_params"].notna()]
    chosen: dict[str, dict[str, Counter[str]]] = {}
    for dataset, params in zip(rows["dataset"], rows["selected_params"], strict=True):
        for name, value in (params or {}).items():
            chosen.setdefault(str(dataset), {}).setdefault(str(name), Counter())[value_text(value)] += 1
    return chosen


def selected_text(chosen: dict[str, dict[str, Counter[str]]]) -> str:
    parts = []
    for dataset, params in chosen.items():
        described = []
        for name, counts in params.items():
            total = sum(counts.values())
            values = ", ".join(f"{value} ({count}/{total})" for value, count in counts.most_common())
            described.append(f"{name}: {values}")
        parts.append(f"{dataset}: {'; '.join(described)}")
    return " | ".join(parts)


def seed_check(facts: StoredStudy) -> tuple[int, int]:
    """(matching, checked): sampled trials whose stored seeds equal the SeedSequence derivation."""
    if facts.spec is None:
        return 0, 0
    matching = checked = 0
    for record in facts.samples:
        stored = record.get("seeds") or {}
        if not stored or record.get("source", "study") != "study":
            continue
        expected = derive_seeds(facts.spec.seed, int(record["replicate"])).to_dict()
        checked += 1
        matching += all(stored.get(name) == value for name, value in expected.items())
    return matching, checked


def training_text(training: Mapping[str, Any]) -> str:
    text = (
        f"trained with {training.get('optimizer')} (learning rate {training.get('lr')}, weight decay "
        f"{training.get('weight_decay')}) for up to {training.get('epochs')} epochs in batches of "
        f"{training.get('batch_size')}, {training.get('schedule')} learning-rate schedule"
    )
    stopping = training.get("early_stopping")
    if stopping:
        text += (
            f", early stopping after {stopping.get('patience')} epochs without improvement of the validation loss "
            f"on {training.get('validation_fraction')} of the training rows"
        )
    return text
