"""Robustness: perturbation curves, FGSM/PGD on a small torch model (sklearn's digits), the
black-box attack on any model, and clear messages where an attack does not apply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from rigorlab.audits import (
    TrialInputs,
    audit_robustness,
    blackbox_attack,
    gradient_attacks,
    perturbation_curves,
    torch_module,
)
from rigorlab.audits import _messages as msg
from tests.audits.conftest import make_dataset
from tests.audits.torch_models import TinyTorchClassifier

EPSILONS = [0.0, 0.1, 0.3, 1.0]


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    dataset = make_dataset(frame, "target", name="digits")
    order = np.random.default_rng(0).permutation(dataset.n_rows)
    return dataset, order[:1200], order[1200:]


@pytest.fixture(scope="module")
def torch_digits(digits):
    import torch

    # One torch thread: on a shared 2-core machine, spinning worker threads make a tiny model 5x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    dataset, train, test = digits
    model = Pipeline(
        [
            ("preprocess", StandardScaler()),
            ("model", TinyTorchClassifier(epochs=80, learning_rate=0.02, random_state=0)),
        ]
    )
    model.fit(dataset.features.iloc[train], dataset.target[train])
    yield model
    torch.set_num_threads(threads)


def trial_for(model, dataset, train, test) -> TrialInputs:
    predictions = {
        "test_index": test,
        "y_true": dataset.target[test],
        "y_pred": model.predict(dataset.features.iloc[test]),
        "classes": np.asarray(model.classes_),
    }
    estimator = type(model.steps[-1][1]).__module__ + "." + type(model.steps[-1][1]).__name__
    return TrialInputs("t" * 32, "arm", 0, 0, {"estimator": estimator}, {"init": 0}, None, train, test, predictions)


def test_gradient_attacks_lower_accuracy_as_epsilon_grows(digits, torch_digits):
    dataset, train, test = digits
    assert torch_module(torch_digits) is torch_digits.steps[-1][1].module_
    points = gradient_attacks(torch_digits, dataset, train, test[:150], epsilons=EPSILONS, steps=10, seed=0)
    by_attack = {a: [p["accuracy"] for p in points if p["attack"] == a] for a in ("fgsm", "pgd")}
    clean = float(np.mean(torch_digits.predict(dataset.features.iloc[test[:150]]) == dataset.target[test[:150]]))
    assert by_attack["fgsm"][0] == by_attack["pgd"][0] == pytest.approx(clean)
    for accuracies in by_attack.values():
        assert all(later <= earlier + 1e-9 for earlier, later in zip(accuracies, accuracies[1:], strict=False))
        assert accuracies[-1] < clean - 0.3  # one training s.d. per pixel breaks a small MLP
    # PGD iterates FGSM's step inside the same budget: at least as strong (up to a row or two).
    assert all(p <= f + 2 / 150 for f, p in zip(by_attack["fgsm"], by_attack["pgd"], strict=True))
    again = gradient_attacks(torch_digits, dataset, train, test[:150], epsilons=EPSILONS, steps=10, seed=0)
    assert again == points


def test_blackbox_attack_on_any_model_is_seeded(breast_cancer_frame: pd.DataFrame):
    dataset = make_dataset(breast_cancer_frame, "target")
    rows = np.arange(dataset.n_rows)
    train, test = rows[::2], rows[1::2]
    model = Pipeline([("preprocess", StandardScaler()), ("model", LogisticRegression(max_iter=2000))])
    model.fit(dataset.features.iloc[train], dataset.target[train])
    first = blackbox_attack(model, dataset, train, test[:8], epsilons=EPSILONS, iterations=3, evaluations=50, seed=1)
    again = blackbox_attack(model, dataset, train, test[:8], epsilons=EPSILONS, iterations=3, evaluations=50, seed=1)
    assert first == again
    accuracies = [p["accuracy"] for p in first["points"]]
    assert all(later <= earlier for earlier, later in zip(accuracies, accuracies[1:], strict=False))
    found = [d for d in first["distances"] if d is not None]
    assert found and all(d >= 0 for d in found)
    # The adversarial rows really change the decision: check one against the model itself.
    assert accuracies[0] == pytest.approx(
        np.mean(model.predict(dataset.features.iloc[test[:8]]) == dataset.target[test[:8]])
    )


def test_perturbation_curves_start_at_the_clean_score(arrests_frame: pd.DataFrame):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import OrdinalEncoder

    dataset = make_dataset(arrests_frame, "released", sensitive=("colour", "sex", "citizen"))
    rows = np.arange(dataset.n_rows)
    train, test = rows[rows % 3 != 0], rows[rows % 3 == 0]
    encode = make_column_transformer((OrdinalEncoder(), dataset.categorical_columns), remainder="passthrough")
    model = Pipeline([("preprocess", encode), ("model", RandomForestClassifier(30, max_depth=6, random_state=0))])
    model.fit(dataset.features.iloc[train], dataset.target[train])
    kwargs = {"noise_levels": [0.0, 0.5, 2.0], "swap_rates": [0.0, 0.5, 1.0], "repeats": 2, "seed": 4}
    points, notes = perturbation_curves(model, dataset, train, test, **kwargs)
    clean = float(np.mean(model.predict(dataset.features.iloc[test]) == dataset.target[test]))
    assert notes == []
    for name in ("gaussian_noise", "category_swap"):
        curve = [p for p in points if p["perturbation"] == name]
        assert [p["strength"] for p in curve] == kwargs["noise_levels" if name == "gaussian_noise" else "swap_rates"]
        assert curve[0]["score"] == pytest.approx(clean) and len(curve[1]["scores"]) == 2
    assert perturbation_curves(model, dataset, train, test, **kwargs)[0] == points


def test_attacks_that_do_not_apply_get_a_note_and_the_rest_runs(arrests_frame: pd.DataFrame):
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    dataset = make_dataset(arrests_frame, "released", sensitive=("colour", "sex", "citizen"))
    rows = np.arange(dataset.n_rows)
    train, test = rows[rows % 2 == 0], rows[rows % 2 == 1]
    encode = make_column_transformer((OneHotEncoder(), dataset.categorical_columns), remainder="passthrough")
    model = Pipeline([("preprocess", encode), ("model", LogisticRegression(max_iter=2000))])
    model.fit(dataset.features.iloc[train], dataset.target[train])
    options = {"noise_levels": [0.0, 0.5], "swap_rates": [0.0, 0.5], "repeats": 1, "max_rows": 300}
    result, findings, notes = audit_robustness(
        model, dataset, trial_for(model, dataset, train, test), train, options=options
    )
    assert notes == [
        msg.ATTACK_NEEDS_GRADIENTS.format(estimator="sklearn.linear_model._logistic.LogisticRegression"),
        msg.ATTACK_NUMERIC_ONLY.format(dataset="data", columns="employed"),
    ]
    assert result["adversarial"] == [] and len(result["perturbation"]) == 4 and result["rows"] == 300


def test_robustness_audit_of_a_torch_model_runs_every_attack(digits, torch_digits):
    dataset, train, test = digits
    options = {
        "noise_levels": [0.0, 0.5],
        "swap_rates": [0.0],
        "repeats": 1,
        "epsilons": [0.0, 0.5],
        "attack_rows": 60,
        "blackbox_rows": 4,
        "blackbox_iterations": 2,
        "blackbox_evaluations": 40,
    }
    trial = trial_for(torch_digits, dataset, train, test)
    result, findings, notes = audit_robustness(torch_digits, dataset, trial, train, options=options, seed=3)
    assert notes == [msg.NO_CATEGORICAL_FOR_SWAP.format(dataset="digits")]
    assert {p["attack"] for p in result["adversarial"]} == {"fgsm", "pgd", "hop_skip_jump"}
    assert all(f.check == "gaussian_noise" for f in findings)
