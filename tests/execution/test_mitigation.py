"""Fairness mitigation arms (fairlearn) end to end on scikit-lego's arrests data: they are trials like any
other (metrics, statistics, audits), they narrow the gap in selection rates between the groups they
mitigate for, they refit to their stored predictions, and every misuse gets one clear message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rigorlab.audits import audit_tables, check_refit, current_audit_results, refit_trial_model
from rigorlab.audits._tasks import _trial_inputs
from rigorlab.errors import DataError
from rigorlab.execution import _driver as msg
from rigorlab.execution import load_datasets, prepare, run_study
from rigorlab.models import SENSITIVE_PREFIX, MitigatedClassifier
from rigorlab.models._fairness import MSG_MITIGATION_BINARY, MSG_MITIGATION_DEGENERATE
from rigorlab.spec import load_study
from rigorlab.stats import compare_stored
from rigorlab.store import open_store

STUDY = "mitigated"
MITIGATED_STUDY = """\
study: mitigated
seed: 17
replicates: 2
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    sensitive: [colour, sex, citizen]
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000, class_weight: balanced}
    preprocess: [one_hot, standard_scale]
  - name: threshold
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000, class_weight: balanced}
    preprocess: [one_hot, standard_scale]
    mitigation: {method: threshold_optimizer, objective: balanced_accuracy_score, sensitive: [colour]}
  - name: reduction
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000, class_weight: balanced}
    preprocess: [one_hot, standard_scale]
    mitigation: {method: exponentiated_gradient, max_iter: 15, sensitive: [colour]}
protocol: {kind: repeated_kfold, folds: 3}
metrics: [accuracy, balanced_accuracy, roc_auc]
baseline: logreg
audits:
  fairness: {n_boot: 200}
"""


@pytest.fixture(scope="module")
def arrests_frame() -> pd.DataFrame:
    from sklego.datasets import load_arrests

    return load_arrests(as_frame=True)


@pytest.fixture(scope="module")
def mitigated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("mitigated")
    study = folder / "study.yaml"
    study.write_text(MITIGATED_STUDY)
    summary = run_study(study, store=folder / ".rigorlab", jobs=2)
    assert (summary.done, summary.failed, summary.audit_failures) == (18, 0, 0), [f.error for f in summary.failures]
    assert summary.audits is not None and summary.audits.done == 18
    return study, folder / ".rigorlab"


@pytest.mark.slow
def test_mitigated_arms_are_compared_like_any_other_arm(mitigated):
    _, store_path = mitigated
    with open_store(store_path, read_only=True) as store:
        trials = store.trials(STUDY, status="done")
        comparison = compare_stored(store, STUDY, metric="balanced_accuracy", n_resamples=1000)
        provenance = store.provenance(STUDY, str(trials[trials["arm"] == "threshold"]["key"].iloc[0]))
    assert trials.groupby("arm").size().to_dict() == {"logreg": 6, "reduction": 6, "threshold": 6}
    assert trials[["accuracy", "balanced_accuracy", "roc_auc"]].notna().all().all()
    assert set(comparison.comparisons["arm"]) == {"threshold", "reduction"}
    assert provenance["config"]["mitigation"] == {
        "method": "threshold_optimizer",
        "constraints": "demographic_parity",
        "objective": "balanced_accuracy_score",
        "grid_size": 1000,
        "sensitive": ["colour"],
    }


@pytest.mark.slow
def test_mitigation_narrows_the_gap_it_targets(mitigated):
    """On this data the class-balanced logistic regression releases White arrestees more often than Black
    ones (demographic parity difference about 0.18 on colour); both mitigations, for colour, bring it
    near 0 in every trial, and the paired comparison of the fairness audit calls them better."""
    _, store_path = mitigated
    with open_store(store_path, read_only=True) as store:
        tables = audit_tables(current_audit_results(store, STUDY), "fairness", baseline="logreg")
    disparities = tables["disparities"]
    colour = disparities[
        (disparities["attribute"] == "colour") & (disparities["metric"] == "demographic_parity_difference")
    ].pivot_table(index=["replicate", "fold"], columns="arm", values="value")
    assert (colour["logreg"] > 0.1).all()
    assert (colour["threshold"] < colour["logreg"]).all() and (colour["reduction"] < colour["logreg"]).all()
    assert colour["threshold"].mean() < 0.05 and colour["reduction"].mean() < 0.08
    verdicts = tables["comparison"].set_index(["attribute", "metric", "arm"])["verdict"]
    assert verdicts[("colour", "demographic_parity_difference", "threshold")] == "better"
    assert verdicts[("colour", "demographic_parity_difference", "reduction")] == "better"


@pytest.mark.slow
def test_mitigated_trials_refit_to_their_stored_predictions(mitigated):
    study_file, store_path = mitigated
    dataset = load_datasets(load_study(study_file))["arrests"]
    with open_store(store_path, read_only=True) as store:
        trials = store.trials(STUDY, status="done")
        for key in trials[trials["arm"] != "logreg"]["key"].head(4):
            trial = _trial_inputs(store, STUDY, str(key), with_split=True)
            model = refit_trial_model(dataset, trial)
            assert isinstance(model, MitigatedClassifier)
            check_refit(model, dataset, trial)


def test_the_mitigated_model_reads_the_sensitive_columns_from_its_input(arrests_frame):
    from sklearn.linear_model import LogisticRegression

    features = arrests_frame[["age", "checks"]].assign(**{f"{SENSITIVE_PREFIX}colour": arrests_frame["colour"]})
    labels = arrests_frame["released"].to_numpy()
    model = MitigatedClassifier(
        LogisticRegression(), "threshold_optimizer", sensitive_columns=[f"{SENSITIVE_PREFIX}colour"], random_state=3
    ).fit(features, labels)
    predicted = model.predict(features)
    assert set(predicted) <= {"Yes", "No"} and np.array_equal(predicted, model.predict(features))
    assert np.allclose(model.predict_proba(features).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="needs the sensitive columns colour"):
        model.predict(features.drop(columns=[f"{SENSITIVE_PREFIX}colour"]))
    three = pd.Series(np.resize(["a", "b", "c"], len(labels)))
    with pytest.raises(ValueError) as caught:
        MitigatedClassifier(LogisticRegression(), sensitive_columns=[f"{SENSITIVE_PREFIX}colour"]).fit(features, three)
    assert str(caught.value) == MSG_MITIGATION_BINARY.format(method="threshold_optimizer", count=3, classes="a, b, c")
    tiny = features.iloc[:40].copy()
    tiny[f"{SENSITIVE_PREFIX}colour"] = ["Black"] + ["White"] * 39
    with pytest.raises(ValueError) as caught:
        MitigatedClassifier(LogisticRegression(), sensitive_columns=[f"{SENSITIVE_PREFIX}colour"]).fit(
            tiny, labels[:40]
        )
    assert str(caught.value) == MSG_MITIGATION_DEGENERATE.format(
        method="threshold_optimizer", detail="group Black has one label only"
    )


BAD = """\
study: bad
datasets:
  - {dataset}
models:
  - name: fair
    estimator: {estimator}
    preprocess: [one_hot]
    mitigation: {mitigation}
protocol: {{kind: kfold, folds: 2}}
metrics: [{metric}]
"""
ARRESTS = "{name: arrests, package: sklego, path: data/arrests.zip, target: released, sensitive: [colour]}"


def bad_study(write_study, tmp_path: Path, **parts: str) -> str:
    values = {
        "dataset": ARRESTS,
        "estimator": "sklearn.linear_model.LogisticRegression",
        "mitigation": "threshold_optimizer",
        "metric": "accuracy",
        **parts,
    }
    path = write_study(textwrap.dedent(BAD).format(**values))
    with pytest.raises(DataError) as caught:
        prepare(path)
    return str(caught.value).replace(str(path), "study.yaml")


def test_misused_mitigations_are_refused_before_anything_runs(write_study, tmp_path, arrests_frame):
    frame = arrests_frame.assign(site=np.resize(["north", "south"], len(arrests_frame)))
    frame.to_csv(tmp_path / "arrests.csv", index=False)
    where = "study.yaml:8"
    common = {"model": "fair", "method": "threshold_optimizer", "where": where}
    no_sensitive = "{name: arrests, package: sklego, path: data/arrests.zip, target: released}"
    assert bad_study(write_study, tmp_path, dataset=no_sensitive) == msg.MSG_MITIGATION_NO_SENSITIVE.format(
        dataset="arrests", **common
    )
    regression = "{name: ages, path: arrests.csv, target: age, sensitive: [colour], task: regression}"
    assert bad_study(
        write_study, tmp_path, dataset=regression, estimator="sklearn.linear_model.Ridge", metric="r2"
    ) == msg.MSG_MITIGATION_REGRESSION.format(dataset="ages", **common)
    three_classes = "{name: years, path: arrests.csv, target: year, sensitive: [colour], task: classification}"
    assert bad_study(write_study, tmp_path, dataset=three_classes) == msg.MSG_MITIGATION_CLASSES.format(
        dataset="years", count=6, **common
    )
    assert bad_study(
        write_study, tmp_path, mitigation="{method: threshold_optimizer, sensitive: [color]}"
    ) == msg.MSG_MITIGATION_COLUMN.format(
        model="fair",
        column="color",
        dataset="arrests",
        where=where,
        closest=" Did you mean 'colour'?",
        columns="colour",
    )
    assert bad_study(
        write_study,
        tmp_path,
        estimator="sklearn.neighbors.KNeighborsClassifier",
        mitigation="exponentiated_gradient",
    ) == msg.MSG_MITIGATION_WEIGHTS.format(
        model="fair", estimator="sklearn.neighbors.KNeighborsClassifier", where=where
    )
