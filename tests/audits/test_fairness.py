"""Fairness metrics agree with fairlearn on real data; the bootstrap is seeded and matches
fairlearn's in distribution; bad input gets one clear message per audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from rigorlab.audits import TrialInputs, audit_fairness, group_metrics, sensitive_groups
from rigorlab.audits import _messages as msg
from tests.audits.conftest import make_dataset


@pytest.fixture(scope="module")
def arrests_predictions():
    """Real predictions: a logistic regression on arrests' non-sensitive columns, on a test half."""
    from sklego.datasets import load_arrests

    frame = load_arrests(as_frame=True)
    features = frame[["year", "age", "employed", "checks"]]
    train, test = train_test_split(np.arange(len(frame)), test_size=0.5, random_state=0, stratify=frame["released"])
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=1000))
    model.fit(features.iloc[train], frame["released"].iloc[train])
    y_true = frame["released"].to_numpy()[test]
    y_pred = model.predict(features.iloc[test])
    return y_true, y_pred, frame.iloc[test].reset_index(drop=True)


def test_point_estimates_equal_fairlearn(arrests_predictions):
    y_true, y_pred, rows = arrests_predictions
    groups, _ = sensitive_groups(rows[["colour", "sex"]])
    attributes, _ = group_metrics(y_true, y_pred, groups, positive_label="Yes", n_boot=50, min_group_rows=1)
    positive = {"pos_label": "Yes"}
    metrics = {
        "selection_rate": lambda t, p: selection_rate(t, p, **positive),
        "accuracy": accuracy_score,
        "true_positive_rate": lambda t, p: true_positive_rate(t, p, **positive),
        "false_positive_rate": lambda t, p: false_positive_rate(t, p, **positive),
        "false_negative_rate": lambda t, p: false_negative_rate(t, p, **positive),
    }
    y_true01, y_pred01 = (y_true == "Yes").astype(int), (y_pred == "Yes").astype(int)
    for record in attributes:
        labels = groups[record["attribute"]]
        frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=labels)
        for entry in record["groups"]:
            for name in metrics:
                assert entry[name]["value"] == pytest.approx(frame.by_group.loc[entry["group"], name], abs=1e-12)
        disparities = record["disparities"]
        expected = {
            "demographic_parity_difference": demographic_parity_difference(
                y_true01, y_pred01, sensitive_features=labels
            ),
            "demographic_parity_ratio": demographic_parity_ratio(y_true01, y_pred01, sensitive_features=labels),
            "equalized_odds_difference": equalized_odds_difference(y_true01, y_pred01, sensitive_features=labels),
            "equalized_odds_ratio": equalized_odds_ratio(y_true01, y_pred01, sensitive_features=labels),
        }
        for name, value in expected.items():
            assert disparities[name]["value"] == pytest.approx(value, abs=1e-12), (record["attribute"], name)
    assert [a["attribute"] for a in attributes] == ["colour", "sex", "colour & sex"]


@pytest.mark.slow
def test_bootstrap_intervals_agree_with_fairlearns(arrests_predictions):
    """Multinomial cell counts and fairlearn's row resampling are the same bootstrap: intervals
    from 200 resamples each agree within Monte Carlo error (fairlearn's takes ~10 s here)."""
    y_true, y_pred, rows = arrests_predictions
    labels = rows["colour"].to_numpy()
    attributes, _ = group_metrics(y_true, y_pred, {"colour": labels}, positive_label="Yes", n_boot=200, seed=1)
    frame = MetricFrame(
        metrics={"selection_rate": lambda t, p: selection_rate(t, p, pos_label="Yes"), "accuracy": accuracy_score},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=labels,
        n_boot=200,
        ci_quantiles=[0.025, 0.975],
        random_state=1,
    )
    low, high = frame.by_group_ci
    for entry in attributes[0]["groups"]:
        for name in ("selection_rate", "accuracy"):
            width = high.loc[entry["group"], name] - low.loc[entry["group"], name]
            assert entry[name]["low"] == pytest.approx(low.loc[entry["group"], name], abs=0.3 * width)
            assert entry[name]["high"] == pytest.approx(high.loc[entry["group"], name], abs=0.3 * width)


def test_bootstrap_is_seeded(arrests_predictions):
    y_true, y_pred, rows = arrests_predictions
    groups = {"sex": rows["sex"].to_numpy()}
    first, _ = group_metrics(y_true, y_pred, groups, n_boot=100, seed=3)
    again, _ = group_metrics(y_true, y_pred, groups, n_boot=100, seed=3)
    other, _ = group_metrics(y_true, y_pred, groups, n_boot=100, seed=4)
    assert first == again and first != other


def trial_of(y_true, y_pred, classes, test_index) -> TrialInputs:
    predictions = {"test_index": np.asarray(test_index), "y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred)}
    predictions["classes"] = np.asarray(classes)
    empty = np.asarray([], dtype=np.int64)
    return TrialInputs("k" * 32, "arm", 0, 0, {"estimator": "x"}, {"init": 0}, None, empty, empty, predictions)


def test_numeric_sensitive_column_is_binned_and_intersected(hearts_frame: pd.DataFrame):
    dataset = make_dataset(hearts_frame, "target", name="hearts", sensitive=("sex", "age"))
    rows = np.arange(dataset.n_rows)
    y_pred = np.where(dataset.features["thalach"].to_numpy() > 150, 0, 1)
    result, findings, notes, skipped = audit_fairness(dataset, trial_of(dataset.target, y_pred, [0, 1], rows), seed=0)
    assert skipped is None
    unique = hearts_frame["age"].nunique()
    assert msg.NUMERIC_SENSITIVE_BINNED.format(column="age", unique=unique, bins=4) in notes
    attributes = {a["attribute"]: a for a in result["attributes"]}
    assert set(attributes) == {"sex", "age", "sex & age"}
    assert len(attributes["age"]["groups"]) == 4
    assert sum(g["rows"] for g in attributes["sex & age"]["groups"]) == dataset.n_rows
    # Intersectional groups are small: those under 30 rows carry a note and no interval.
    small = [g for g in attributes["sex & age"]["groups"] if g["rows"] < 30]
    assert small and all(g["accuracy"]["low"] is None for g in small)
    assert any(n.startswith("Group ") and "fewer than 30" in n for n in notes)


def test_bad_input_gets_one_clear_message(arrests_frame: pd.DataFrame, breast_cancer_frame: pd.DataFrame):
    rows = np.arange(200)
    plain = make_dataset(breast_cancer_frame, "target", name="plain")
    trial = trial_of(plain.target[rows], plain.target[rows], [0, 1], rows)
    assert audit_fairness(plain, trial)[3] == msg.NO_SENSITIVE.format(dataset="plain")

    one_group = arrests_frame[arrests_frame["citizen"] == "Yes"].reset_index(drop=True)
    dataset = make_dataset(one_group, "released", name="arrests", sensitive=("citizen", "sex"))
    rows = np.arange(dataset.n_rows)
    result, _, notes, skipped = audit_fairness(dataset, trial_of(dataset.target, dataset.target, ["No", "Yes"], rows))
    assert skipped is None and notes[0] == msg.ONE_GROUP.format(column="citizen", dataset="arrests", group="Yes")
    assert [a["attribute"] for a in result["attributes"]] == ["sex"]

    only_citizen = make_dataset(one_group, "released", name="arrests", sensitive=("citizen",))
    skipped = audit_fairness(only_citizen, trial_of(only_citizen.target, only_citizen.target, ["No", "Yes"], rows))[3]
    assert skipped == msg.NO_GROUPS_LEFT.format(dataset="arrests")


def test_multiclass_reports_accuracy_per_group():
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["region"] = np.where(frame["alcohol"] > 13, "north", "south")
    dataset = make_dataset(frame, "target", name="wine", sensitive=("region",))
    rows = np.arange(dataset.n_rows)
    y_pred = np.where(rows % 7 == 0, (dataset.target + 1) % 3, dataset.target)
    result, findings, notes, _ = audit_fairness(dataset, trial_of(dataset.target, y_pred, [0, 1, 2], rows))
    assert msg.MULTICLASS_PARITY.format(dataset="wine", classes=3) in notes
    group = result["attributes"][0]["groups"][0]
    assert set(group) == {"group", "rows", "too_small", "accuracy", "error_rate"}
    assert result["attributes"][0]["disparities"] == {}
    assert findings == []


def test_small_groups_and_rates_over_few_rows_stay_out_of_the_disparities():
    """Two large groups predicted perfectly and a group of two rows predicted wrongly: with the
    minimum the two rows are reported (marked, without an interval) but do not make a disparity of 1;
    a large group with few negatives keeps its false positive rate out of the comparison too."""
    y_true = np.array([1, 0] * 50 + [1, 0] * 50 + [1, 0])
    group = np.array(["A"] * 100 + ["B"] * 100 + ["C"] * 2)
    y_pred = np.where(group == "C", 1 - y_true, y_true)
    every, _ = group_metrics(y_true, y_pred, {"g": group}, n_boot=50, min_group_rows=1)
    assert every[0]["disparities"]["equalized_odds_difference"]["value"] == 1.0  # fairlearn's definition
    attributes, notes = group_metrics(y_true, y_pred, {"g": group}, n_boot=50, min_group_rows=30)
    record = attributes[0]
    assert record["disparities"]["equalized_odds_difference"]["value"] == 0.0
    assert record["groups_compared"] == 2
    small = {g["group"]: g for g in record["groups"]}["C"]
    assert (
        small["too_small"]
        and small["rows"] == 2
        and small["true_positive_rate"]
        == {
            "value": 0.0,
            "low": None,
            "high": None,
            "n": 1,
        }
    )
    assert msg.SMALL_GROUP.format(group="C", attribute="g", rows=2, minimum=30) in notes

    # Group D: 100 rows but 4 negatives, all predicted positive (FPR 1 over 4 rows): not compared.
    y_true = np.array([1, 0] * 100 + [1] * 96 + [0] * 4)
    group = np.array(["A"] * 100 + ["B"] * 100 + ["D"] * 100)
    y_pred = np.where(group == "D", 1, y_true)
    attributes, _ = group_metrics(y_true, y_pred, {"g": group}, n_boot=50, min_group_rows=30)
    entry = {g["group"]: g for g in attributes[0]["groups"]}["D"]
    assert not entry["too_small"] and entry["false_positive_rate"]["n"] == 4
    assert entry["false_positive_rate"]["low"] is None and entry["true_positive_rate"]["low"] is not None
    assert attributes[0]["disparities"]["equalized_odds_difference"]["value"] == 0.0

    # With one group left there is nothing to compare.
    one, notes = group_metrics(y_true[:202], y_pred[:202], {"g": np.array(["A"] * 200 + ["C"] * 2)}, n_boot=20)
    assert one[0]["disparities"]["equalized_odds_difference"]["value"] is None
    assert msg.TOO_FEW_GROUPS.format(attribute="g", compared=1, minimum=30) in notes


def test_one_trial_makes_no_finding():
    """A single fold's disparity is noisy: findings are judged over an arm's trials (test_fairness_findings)."""
    y_true = np.array([1, 0] * 100)
    sex = np.array(["F"] * 100 + ["M"] * 100)
    y_pred = np.where(sex == "F", y_true, 1)  # M is always selected: parity ratio 0.5 / 1.0
    dataset = make_dataset(pd.DataFrame({"x": np.arange(200), "y": y_true, "sex": sex}), "y", sensitive=("sex",))
    result, findings, _, _ = audit_fairness(dataset, trial_of(y_true, y_pred, [0, 1], np.arange(200)), seed=0)
    assert findings == [] and result is not None
    assert result["attributes"][0]["disparities"]["demographic_parity_ratio"]["value"] == 0.5
    assert result["min_group_rows"] == 30
