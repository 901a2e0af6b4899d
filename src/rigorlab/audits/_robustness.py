"""The robustness audit: accuracy under perturbations and adversarial attacks.

Perturbations: Gaussian noise on numeric features (strength in training standard deviations) and
random category swaps (strength = probability that a cell takes another category seen in
training), several draws per strength. Attacks (adversarial-robustness-toolbox): FGSM and PGD
(L-infinity) for differentiable models -- an estimator that exposes a torch module as
``module_``, mapping the preprocessed float32 features to one logit per class in ``classes_``
order -- and HopSkipJump, a black-box decision attack, for any classifier on numeric features.
Epsilons are in training standard deviations of each input feature, so one scale fits every
dataset.

HopSkipJump finds *an* adversarial example near each row, not the closest one; the accuracy it
gives at each epsilon is therefore an upper bound on the true robust accuracy.

ART draws from numpy's global generator and offers no seed argument; :func:`_global_seed` seeds it
for the duration of the attack and restores the previous state, so nothing outside changes.

Severity: a drop of the metric above 0.05 at the smallest non-zero perturbation strength is a
warning, above 0.2 severe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.audits import _messages as msg
from rigorlab.audits._records import SEVERE, WARNING, Finding, TrialInputs
from rigorlab.data import Dataset

__all__ = [
    "ROBUSTNESS_DEFAULTS",
    "audit_robustness",
    "blackbox_attack",
    "gradient_attacks",
    "perturbation_curves",
    "torch_module",
]

FRAGILE_WARNING_DROP = 0.05
FRAGILE_SEVERE_DROP = 0.2
INIT_DRAWS = 50

ROBUSTNESS_DEFAULTS: dict[str, Any] = {
    "noise_levels": [0.0, 0.1, 0.25, 0.5, 1.0],
    "swap_rates": [0.0, 0.05, 0.1, 0.25, 0.5],
    "repeats": 3,
    "max_rows": 2000,
    "epsilons": [0.0, 0.05, 0.1, 0.25, 0.5],
    "attack_rows": 200,
    "pgd_steps": 10,
    "blackbox_rows": 20,
    "blackbox_iterations": 10,
    "blackbox_evaluations": 100,
}


@contextlib.contextmanager
def _global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's (and torch's) global generators for a library that reads them, then restore them."""
    state = np.random.get_state()  # noqa: NPY002  (ART reads the global generator; restored below)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    try:
        try:
            import torch
        except ImportError:  # torch is an optional extra
            yield
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _score(task: str, target: NDArray[Any], predicted: NDArray[Any]) -> float:
    if task == "classification":
        return float(np.mean(np.asarray(predicted).astype(str) == np.asarray(target).astype(str)))
    from sklearn.metrics import r2_score

    return float(r2_score(np.asarray(target, dtype=float), np.asarray(predicted, dtype=float)))


def _noisy(
    features: pd.DataFrame,
    columns: Sequence[str],
    scale: Mapping[str, float],
    strength: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    perturbed = features.copy()
    for column in columns:
        values = features[column].to_numpy(dtype=float)
        perturbed[column] = values + rng.normal(0.0, strength * scale[column], size=len(values))
    return perturbed


def _swapped(
    features: pd.DataFrame,
    columns: Sequence[str],
    categories: Mapping[str, NDArray[Any]],
    rate: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    perturbed = features.copy()
    for column in columns:
        choices = categories[column]
        if len(choices) < 2:
            continue
        values = features[column].to_numpy(dtype=object)
        current = pd.Index(choices).get_indexer(values)
        other = (current + 1 + rng.integers(0, len(choices) - 1, size=len(values))) % len(choices)
        other = np.where(current < 0, rng.integers(0, len(choices), size=len(values)), other)
        swap = rng.random(len(values)) < rate
        perturbed[column] = np.where(swap, choices[other], values)
    return perturbed


def perturbation_curves(
    model: Any,
    dataset: Dataset,
    train_rows: NDArray[np.int64],
    test_rows: NDArray[np.int64],
    *,
    noise_levels: Sequence[float],
    swap_rates: Sequence[float],
    repeats: int,
    seed: int,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The model's score on perturbed test rows, per perturbation and strength.

    Returns (points, notes); each point has ``perturbation``, ``strength``, ``score`` (mean over
    ``repeats`` draws) and ``scores``.
    """
    rng = np.random.default_rng(seed)
    features, target = dataset.features.iloc[test_rows], dataset.target[test_rows]
    training = dataset.features.iloc[train_rows]
    numeric, categorical = dataset.numeric_columns, dataset.categorical_columns
    scale = {c: float(np.nanstd(training[c].to_numpy(dtype=float))) for c in numeric}
    categories = {c: np.asarray(pd.unique(training[c].dropna()), dtype=object) for c in categorical}
    notes: list[str] = []
    if not numeric:
        notes.append(msg.NO_NUMERIC_FOR_NOISE.format(dataset=dataset.name))
    if not categorical:
        notes.append(msg.NO_CATEGORICAL_FOR_SWAP.format(dataset=dataset.name))
    points: list[dict[str, Any]] = []
    plans = [("gaussian_noise", noise_levels, numeric), ("category_swap", swap_rates, categorical)]
    for name, strengths, columns in plans:
        if not columns:
            continue
        for strength in strengths:
            draws = 1 if strength == 0 else repeats
            scores = []
            for _ in range(draws):
                if name == "gaussian_noise":
                    perturbed = _noisy(features, columns, scale, float(strength), rng)
                else:
                    perturbed = _swapped(features, columns, categories, float(strength), rng)
                scores.append(_score(dataset.task, target, model.predict(perturbed)))
            points.append(
                {"perturbation": name, "strength": float(strength), "score": float(np.mean(scores)), "scores": scores}
            )
    return points, notes


def torch_module(model: Any) -> Any | None:
    """The torch module behind a fitted pipeline's final estimator (``module_``), or None."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    module = getattr(final, "module_", None)
    if module is None:
        return None
    import torch

    return module if isinstance(module, torch.nn.Module) else None


def _input_space(model: Any, features: pd.DataFrame) -> NDArray[np.float32]:
    if hasattr(model, "steps") and len(model.steps) > 1:
        transformed = model[:-1].transform(features)
        transformed = transformed.toarray() if hasattr(transformed, "toarray") else transformed
        return np.asarray(transformed, dtype=np.float32)
    return np.asarray(features.to_numpy(dtype=float), dtype=np.float32)


def _clip_range(*blocks: NDArray[Any]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per-feature (min, max) over the blocks, widened where a feature is constant (ART refuses min == max)."""
    stacked = np.vstack(blocks)
    low, high = np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
    high = np.where(high > low, high, low + 1e-6 * np.maximum(1.0, np.abs(low)))
    return low.astype(np.float32), high.astype(np.float32)


def _class_indices(model: Any, target: NDArray[Any]) -> NDArray[np.int64]:
    classes = np.asarray(model.classes_).astype(str)
    return np.asarray(pd.Index(classes).get_indexer(np.asarray(target).astype(str)), dtype=np.int64)


def gradient_attacks(
    model: Any,
    dataset: Dataset,
    train_rows: NDArray[np.int64],
    test_rows: NDArray[np.int64],
    *,
    epsilons: Sequence[float],
    steps: int,
    seed: int,
) -> list[dict[str, Any]]:
    """FGSM and PGD (L-infinity) accuracy per epsilon for a model with a torch ``module_``."""
    import torch
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    module = torch_module(model)
    assert module is not None
    x_train = _input_space(model, dataset.features.iloc[train_rows])
    x_test = _input_space(model, dataset.features.iloc[test_rows])
    labels = _class_indices(model, dataset.target[test_rows])
    spread = x_train.std(axis=0)
    spread = np.where(spread > 0, spread, 1e-12).astype(np.float32)
    low, high = _clip_range(x_train, x_test)
    classifier = PyTorchClassifier(
        model=module,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(x_train.shape[1],),
        nb_classes=len(model.classes_),
        clip_values=(low, high),
        device_type="cpu",
    )
    points: list[dict[str, Any]] = []
    with _global_seed(seed):
        clean = float(np.mean(classifier.predict(x_test).argmax(axis=1) == labels))
        for epsilon in epsilons:
            if epsilon == 0:
                points.extend(
                    {"attack": attack, "epsilon": 0.0, "accuracy": clean, "rows": len(labels)}
                    for attack in ("fgsm", "pgd")
                )
                continue
            budget = (float(epsilon) * spread).astype(np.float32)
            attacks = {
                "fgsm": FastGradientMethod(classifier, norm=np.inf, eps=budget, eps_step=budget),
                "pgd": ProjectedGradientDescent(
                    classifier,
                    norm=np.inf,
                    eps=budget,
                    eps_step=budget / 4,
                    max_iter=steps,
                    num_random_init=0,
                    verbose=False,
                ),
            }
            for name, attack in attacks.items():
                adversarial = attack.generate(x_test, y=np.eye(len(model.classes_), dtype=np.float32)[labels])
                accuracy = float(np.mean(classifier.predict(adversarial).argmax(axis=1) == labels))
                points.append({"attack": name, "epsilon": float(epsilon), "accuracy": accuracy, "rows": len(labels)})
    return points


def blackbox_attack(
    model: Any,
    dataset: Dataset,
    train_rows: NDArray[np.int64],
    test_rows: NDArray[np.int64],
    *,
    epsilons: Sequence[float],
    iterations: int,
    evaluations: int,
    seed: int,
) -> dict[str, Any]:
    """HopSkipJump on standardised numeric features; accuracy per epsilon (an upper bound).

    Each row's distance is the L-infinity size of the adversarial change in training standard
    deviations (infinite when the attack found none); the row counts as robust at epsilon when
    it was classified right and its distance exceeds epsilon.
    """
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    columns = list(dataset.features.columns)
    training = dataset.features.iloc[train_rows].to_numpy(dtype=float)
    center, spread = np.nanmean(training, axis=0), np.nanstd(training, axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    rows = test_rows[~np.isnan(dataset.features.iloc[test_rows].to_numpy(dtype=float)).any(axis=1)]
    classes = np.asarray(model.classes_).astype(str)
    identity = np.eye(len(classes), dtype=np.float32)

    def predict(standardised: NDArray[Any]) -> NDArray[np.float32]:
        frame = pd.DataFrame(center + np.asarray(standardised, dtype=float) * spread, columns=columns)
        indices = pd.Index(classes).get_indexer(np.asarray(model.predict(frame)).astype(str))
        return np.asarray(identity[indices], dtype=np.float32)

    z = ((dataset.features.iloc[rows].to_numpy(dtype=float) - center) / spread).astype(np.float32)
    z_train = (training - center) / spread
    low, high = _clip_range(z_train, z)
    labels = _class_indices(model, dataset.target[rows])
    correct = predict(z).argmax(axis=1) == labels
    distances = np.full(len(rows), np.inf)
    distances[~correct] = 0.0
    # ART draws HopSkipJump's starting points from an unseeded RandomState; drawing them here with
    # the audit's seed (uniform in the clip box, the same scheme) makes the attack reproducible.
    # A row with no adversarial start among INIT_DRAWS draws stays unbroken (distance infinite).
    rng = np.random.default_rng(seed)
    attacked = np.flatnonzero(correct)
    draws = rng.uniform(low, high, size=(len(attacked), INIT_DRAWS, len(columns))).astype(np.float32)
    flipped = predict(draws.reshape(-1, len(columns))).argmax(axis=1).reshape(len(attacked), INIT_DRAWS)
    flipped = flipped != labels[attacked][:, None]
    broken = flipped.any(axis=1)
    attacked, starts = attacked[broken], draws[broken, flipped.argmax(axis=1)[broken]]
    if len(attacked):
        classifier = BlackBoxClassifier(
            predict, input_shape=(len(columns),), nb_classes=len(classes), clip_values=(low, high)
        )
        attack = HopSkipJump(
            classifier,
            targeted=False,
            norm=np.inf,
            max_iter=iterations,
            max_eval=evaluations,
            init_eval=max(10, evaluations // 5),
            init_size=INIT_DRAWS,
            verbose=False,
        )
        with _global_seed(seed):
            adversarial = attack.generate(z[attacked], x_adv_init=starts)
        fooled = predict(adversarial).argmax(axis=1) != labels[attacked]
        found = np.abs(adversarial - z[attacked]).max(axis=1)
        distances[attacked] = np.where(fooled, found, np.inf)
    points = [
        {
            "attack": "hop_skip_jump",
            "epsilon": float(e),
            "accuracy": float(np.mean(distances > e)) if len(rows) else None,
            "rows": len(rows),
        }
        for e in epsilons
    ]
    return {
        "points": points,
        "distances": [None if not np.isfinite(d) else float(d) for d in distances],
        "rows": [int(r) for r in rows],
    }


def _fragility_findings(dataset: str, trial: TrialInputs, metric: str, points: list[dict[str, Any]]) -> list[Finding]:
    findings: list[Finding] = []
    for name in ("gaussian_noise", "category_swap"):
        curve = [p for p in points if p["perturbation"] == name]
        clean = next((p["score"] for p in curve if p["strength"] == 0), None)
        nonzero = sorted((p for p in curve if p["strength"] > 0), key=lambda p: p["strength"])
        if clean is None or not nonzero:
            continue
        first = nonzero[0]
        drop = clean - first["score"]
        if drop > FRAGILE_WARNING_DROP:
            severity = SEVERE if drop > FRAGILE_SEVERE_DROP else WARNING
            text = msg.FINDING_FRAGILE.format(
                perturbation=name.replace("_", " ").capitalize(),
                strength=first["strength"],
                metric=metric,
                clean=clean,
                score=first["score"],
                drop=drop,
                threshold=FRAGILE_WARNING_DROP,
            )
            findings.append(
                Finding(
                    "robustness",
                    name,
                    severity,
                    text,
                    dataset=dataset,
                    value=drop,
                    arm=trial.arm,
                    replicate=trial.replicate,
                    fold=trial.fold,
                )
            )
    return findings


def audit_robustness(
    model: Any,
    dataset: Dataset,
    trial: TrialInputs,
    train_rows: NDArray[np.int64],
    *,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], list[Finding], list[str]]:
    """Perturbation curves and adversarial accuracy of one refit trial model on its test rows."""
    settings = {**ROBUSTNESS_DEFAULTS, **(options or {})}
    rng = np.random.default_rng(seed)
    test = np.asarray(trial.predictions["test_index"], dtype=np.int64)
    if len(test) > int(settings["max_rows"]):
        test = np.sort(rng.choice(test, size=int(settings["max_rows"]), replace=False))
    metric = "accuracy" if dataset.task == "classification" else "r2"
    seeds = rng.integers(0, 2**31 - 1, size=3)
    points, notes = perturbation_curves(
        model,
        dataset,
        train_rows,
        test,
        noise_levels=settings["noise_levels"],
        swap_rates=settings["swap_rates"],
        repeats=int(settings["repeats"]),
        seed=int(seeds[0]),
    )
    result: dict[str, Any] = {
        "metric": metric,
        "rows": len(test),
        "perturbation": points,
        "adversarial": [],
        "blackbox": None,
    }
    if dataset.task != "classification":
        notes.append(msg.ATTACK_CLASSIFICATION_ONLY.format(dataset=dataset.name))
        return result, _fragility_findings(dataset.name, trial, metric, points), notes
    epsilons = [float(e) for e in settings["epsilons"]]
    if torch_module(model) is not None:
        attack_rows = test[: int(settings["attack_rows"])]
        result["adversarial"] = gradient_attacks(
            model,
            dataset,
            train_rows,
            attack_rows,
            epsilons=epsilons,
            steps=int(settings["pgd_steps"]),
            seed=int(seeds[1]),
        )
    else:
        notes.append(msg.ATTACK_NEEDS_GRADIENTS.format(estimator=trial.config.get("estimator")))
    if dataset.categorical_columns:
        shown = ", ".join(dataset.categorical_columns[:5]) + (" ..." if len(dataset.categorical_columns) > 5 else "")
        notes.append(msg.ATTACK_NUMERIC_ONLY.format(dataset=dataset.name, columns=shown))
    elif int(settings["blackbox_rows"]) > 0:
        sample = np.sort(rng.choice(test, size=min(len(test), int(settings["blackbox_rows"])), replace=False))
        blackbox = blackbox_attack(
            model,
            dataset,
            train_rows,
            sample,
            epsilons=epsilons,
            iterations=int(settings["blackbox_iterations"]),
            evaluations=int(settings["blackbox_evaluations"]),
            seed=int(seeds[2]),
        )
        result["blackbox"] = blackbox
        result["adversarial"].extend(blackbox["points"])
    return result, _fragility_findings(dataset.name, trial, metric, points), notes
