"""The driver: resume, rerun-failed, a changed study, metrics and predictions stored."""

from __future__ import annotations

import numpy as np

from rigorlab import open_store, run_study
from rigorlab.errors import InputError
from tests.conftest import SMALL_STUDY
from tests.execution.test_executor import MISBEHAVING


def test_running_again_resumes_and_runs_nothing(write_study, store_path):
    path = write_study()
    first = run_study(path, store=store_path, jobs=2)
    assert first.done == 12 and first.failed == 0
    second = run_study(path, store=store_path, jobs=2)
    assert second.already_done == 12 and second.done == 0 and second.to_run == 0


def test_failed_trials_are_kept_unless_rerun_is_asked(write_study, store_path):
    path = write_study(MISBEHAVING)
    run_study(path, store=store_path, jobs=2)
    again = run_study(path, store=store_path, jobs=2)
    assert again.skipped_failed == 6 and again.done == 0
    retried = run_study(path, store=store_path, jobs=2, rerun_failed=True)
    assert retried.failed == 6 and retried.done == 0
    with open_store(store_path) as store:
        assert len(store.trials("small")) == 18  # a retry replaces the failed record


def test_a_changed_study_runs_only_what_changed(write_study, store_path):
    run_study(write_study(), store=store_path, jobs=2)
    changed = run_study(
        write_study(SMALL_STUDY.replace("n_estimators: 10", "n_estimators: 12")), store=store_path, jobs=2
    )
    assert changed.already_done == 6 and changed.done == 6
    with open_store(store_path) as store:
        assert len(store.trials("small")) == 12  # the current plan
        assert len(store.trials("small", all_trials=True)) == 18  # nothing stored is lost


def test_predictions_splits_and_provenance_are_stored(write_study, store_path):
    run_study(write_study(), store=store_path, jobs=1)
    with open_store(store_path) as store:
        trials = store.trials("small")
        key = trials.key.iloc[0]
        predictions = store.predictions("small", key)
        split = store.split("small", key)
        provenance = store.provenance("small", key)
        metrics = store.metrics("small")
    assert set(predictions) == {"test_index", "y_true", "y_pred", "classes", "scores"}
    assert predictions["scores"].shape == (len(split["test"]), 3)
    assert np.array_equal(predictions["test_index"], split["test"])
    assert np.intersect1d(split["train"], split["test"]).size == 0
    accuracy = metrics[(metrics.key == key) & (metrics.metric == "accuracy")].value.item()
    assert accuracy == np.mean(predictions["y_true"] == predictions["y_pred"])
    assert provenance["seeds"].keys() == {"split", "init", "data_order", "inner_split"}
    assert provenance["environment"]["packages"]["scikit-learn"]
    assert provenance["environment"]["cpu_cores"] >= 1
    assert provenance["run"]["status"] == "finished"
    assert provenance["config"]["estimator"] == "sklearn.linear_model.LogisticRegression" or provenance["config"][
        "estimator"
    ].startswith("sklearn.")
    assert len(provenance["dataset_fingerprint"]) == 64


def test_nested_selection_stores_the_selected_values(write_study, store_path):
    text = (
        SMALL_STUDY.replace("{max_iter: 500}", "{max_iter: 500, C: [0.01, 10.0]}")
        .replace("folds: 3}", "folds: 3, inner_folds: 2}")
        .replace("replicates: 2", "replicates: 1")
    )
    run_study(write_study(text), store=store_path, jobs=2)
    with open_store(store_path) as store:
        trials = store.trials("small")
    selected = trials[trials.arm == "logreg"].selected_params
    assert all(value in ('{"C": 0.01}', '{"C": 10.0}') for value in selected)


def test_regression_study(write_study, store_path):
    text = """\
    study: reg
    seed: 1
    replicates: 2
    datasets: [{name: diabetes}]
    models:
      - {name: ridge, estimator: sklearn.linear_model.Ridge}
      - {name: tree, estimator: sklearn.tree.DecisionTreeRegressor, params: {max_depth: 3}}
    protocol: {kind: holdout, test_size: 0.3}
    metrics: [rmse, r2, mae]
    """
    summary = run_study(write_study(text), store=store_path, jobs=2)
    assert summary.done == 4
    with open_store(store_path) as store:
        metrics = store.metrics("reg")
    assert set(metrics.metric) == {"rmse", "r2", "mae"}
    assert (metrics[metrics.metric == "rmse"].value > 0).all()


def test_a_classifier_on_a_regression_task_is_refused_before_running(write_study, store_path):
    text = """\
    study: wrong
    datasets: [{name: diabetes}]
    models: [{name: forest, estimator: sklearn.ensemble.RandomForestClassifier}]
    metrics: [rmse]
    """
    try:
        run_study(write_study(text), store=store_path)
    except InputError as error:
        message = str(error)
    assert "is a classifier, but dataset 'diabetes' is a regression task" in message
    assert not store_path.exists()  # nothing written


def test_a_metric_for_the_wrong_task_is_refused(write_study, store_path):
    text = SMALL_STUDY.replace("[accuracy, roc_auc]", "[accuracy, rmse]")
    try:
        run_study(write_study(text), store=store_path)
    except InputError as error:
        message = str(error)
    assert message.startswith(
        "The metric 'rmse' applies to regression tasks, but dataset 'iris' is a classification task"
    )
    assert not store_path.exists()
