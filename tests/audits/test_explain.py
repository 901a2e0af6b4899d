"""Explanations: the right SHAP explainer per model family, values summed back to original
columns without losing additivity, permutation importance, local explanations of errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from rigorlab.audits import TrialInputs, audit_explain, original_columns, shap_family
from rigorlab.audits import _messages as msg
from rigorlab.audits._explain import import_shap
from tests.audits.conftest import make_dataset

OPTIONS = {
    "importance_rows": 200,
    "importance_repeats": 3,
    "shap_rows": 60,
    "background_rows": 30,
    "agnostic_rows": 8,
    "agnostic_background": 10,
    "agnostic_evaluations": 100,
}


def fitted(dataset, model, train):
    model.fit(dataset.features.iloc[train], dataset.target[train])
    return model


def trial_for(model, dataset, train, test) -> TrialInputs:
    predictions = {
        "test_index": test,
        "y_true": dataset.target[test],
        "y_pred": model.predict(dataset.features.iloc[test]),
        "classes": np.asarray(model.classes_),
    }
    return TrialInputs("e" * 32, "arm", 0, 0, {"estimator": "x"}, {"init": 0}, None, train, test, predictions)


@pytest.fixture(scope="module")
def noisy_cancer():
    """breast_cancer plus a column of pure noise, which no explanation should rank high."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["noise"] = np.random.default_rng(0).normal(size=len(frame))
    dataset = make_dataset(frame, "target", name="cancer")
    rows = np.random.default_rng(1).permutation(dataset.n_rows)
    return dataset, rows[:400], rows[400:]


def test_shap_family():
    assert shap_family(RandomForestClassifier()) == "tree"
    assert shap_family(HistGradientBoostingClassifier()) == "tree"
    linear = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    assert shap_family(linear) == "linear"
    assert shap_family(LogisticRegression()) == "permutation"  # not fitted: no coefficients to explain
    assert shap_family(KNeighborsClassifier()) == "permutation"


def test_original_columns_prefers_the_longest_name():
    owners = original_columns(["age", "age_group_old", "age_group_young", "sex_F"], ["age", "age_group", "sex"])
    assert owners.tolist() == [0, 1, 1, 2]
    with pytest.raises(ValueError, match="comes from"):
        original_columns(["unknown"], ["age"])


@pytest.mark.parametrize(
    ("model", "family"),
    [
        (RandomForestClassifier(n_estimators=30, random_state=0), "tree"),
        (Pipeline([("preprocess", StandardScaler()), ("model", LogisticRegression(max_iter=2000))]), "linear"),
        (GaussianNB(), "permutation"),
    ],
)
def test_each_family_explains_and_ranks_noise_low(noisy_cancer, model, family):
    dataset, train, test = noisy_cancer
    model = model if isinstance(model, Pipeline) else Pipeline([("model", model)])
    model = fitted(dataset, model, train)
    result, findings, notes = audit_explain(
        model, dataset, trial_for(model, dataset, train, test), train, options=OPTIONS, seed=0
    )
    assert result["shap"]["explainer"] == family
    shap_values = {f["feature"]: f["mean_abs"] for f in result["shap"]["features"]}
    assert list(shap_values) == list(dataset.features.columns)
    ranking = sorted(shap_values, key=shap_values.get, reverse=True)
    assert ranking.index("noise") >= 10
    permutation = {f["feature"]: f["mean"] for f in result["permutation_importance"]["features"]}
    assert sorted(permutation, key=permutation.get, reverse=True).index("noise") >= 5
    again = audit_explain(model, dataset, trial_for(model, dataset, train, test), train, options=OPTIONS, seed=0)
    assert again[0] == result


def test_one_hot_values_sum_back_with_additivity(arrests_frame: pd.DataFrame):
    """Tree SHAP on one-hot columns, summed per original column, still adds up to the model output."""
    dataset = make_dataset(arrests_frame, "released", sensitive=("colour", "sex", "citizen"))
    rows = np.arange(dataset.n_rows)
    train, test = rows[rows % 2 == 0], rows[rows % 2 == 1]
    encode = make_column_transformer(
        (OneHotEncoder(sparse_output=False), ["employed"]), remainder="passthrough", verbose_feature_names_out=False
    )
    model = fitted(
        dataset,
        Pipeline([("preprocess", encode), ("model", RandomForestClassifier(20, max_depth=5, random_state=0))]),
        train,
    )
    from rigorlab.audits._explain import _explain_preprocessed

    frame = dataset.features.iloc[test[:40]]
    values = _explain_preprocessed(
        model, "tree", dataset.features.iloc[train[:30]], frame, list(dataset.features.columns)
    )
    assert values.shape == (40, 4, 2)
    explainer = import_shap().TreeExplainer(model.steps[-1][1])
    expected = explainer.expected_value
    probabilities = model.predict_proba(frame)
    np.testing.assert_allclose(values.sum(axis=1) + expected, probabilities, atol=1e-6)


def test_local_explanations_describe_misclassified_rows(noisy_cancer):
    dataset, train, test = noisy_cancer
    model = fitted(
        dataset, Pipeline([("model", RandomForestClassifier(n_estimators=10, max_depth=2, random_state=0))]), train
    )
    trial = trial_for(model, dataset, train, test)
    wrong = set(test[trial.predictions["y_true"] != trial.predictions["y_pred"]])
    result, _, _ = audit_explain(
        model, dataset, trial, train, options={**OPTIONS, "local_rows": 2, "top_features": 3}, seed=1
    )
    assert len(result["local"]) == 2
    for row in result["local"]:
        assert row["row"] in wrong and row["y_true"] != row["y_pred"]
        assert len(row["contributions"]) == 3
        magnitudes = [abs(c["shap"]) for c in row["contributions"]]
        assert magnitudes == sorted(magnitudes, reverse=True)


def test_a_perfect_model_has_no_error_to_explain(noisy_cancer):
    dataset, train, test = noisy_cancer
    model = fitted(dataset, Pipeline([("model", RandomForestClassifier(n_estimators=10, random_state=0))]), train)
    trial = trial_for(model, dataset, train, test)
    trial.predictions["y_pred"] = trial.predictions["y_true"]
    _, _, notes = audit_explain(model, dataset, trial, train, options=OPTIONS, seed=0)
    assert notes == [msg.NO_MISCLASSIFIED]


def test_a_feature_that_carries_the_model_is_reported(breast_cancer_frame: pd.DataFrame):
    frame = breast_cancer_frame.copy()
    frame["follow_up_code"] = frame["target"] * 7 + 3
    dataset = make_dataset(frame, "target")
    rows = np.arange(dataset.n_rows)
    train, test = rows[rows % 2 == 0], rows[rows % 2 == 1]
    model = fitted(dataset, Pipeline([("model", RandomForestClassifier(n_estimators=20, random_state=0))]), train)
    _, findings, _ = audit_explain(model, dataset, trial_for(model, dataset, train, test), train, options=OPTIONS)
    assert [(f.check, f.severity, f.columns) for f in findings] == [("dominant_feature", "info", ("follow_up_code",))]
