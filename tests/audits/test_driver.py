"""audit_study on a real stored study: refit proves the same model, every audit kind runs and is
stored, a second call resumes, failures are recorded while the rest runs, --strict stops early."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from rigorlab.audits import (
    AUTHOR_PLACEHOLDER,
    RefitMismatchError,
    audit_figures,
    audit_overview,
    audit_study,
    audit_tables,
    check_refit,
    current_audit_results,
    findings_table,
    parse_kinds,
    refit_trial_model,
)
from rigorlab.audits import _messages as msg
from rigorlab.audits._tasks import _trial_inputs
from rigorlab.errors import DataError, InputError, NotFoundError
from rigorlab.execution import load_datasets, run_study
from rigorlab.spec import load_study
from rigorlab.stats import COMPARISON_COLUMNS
from rigorlab.store import open_store
from tests.audits.conftest import FAST_OPTIONS

STUDY = "arrests-audit"


def study_splits_of(path):
    from rigorlab.audits import study_splits

    with open_store(path, read_only=True) as store:
        return study_splits(store, STUDY)


PLANTED_STUDY = """\
study: planted
seed: 1
replicates: 1
datasets:
  - name: cancer
    callable: "planted_data:load"
    target: target
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 2000}
    preprocess: [standard_scale]
protocol: {kind: kfold, folds: 3}
metrics: [accuracy]
"""
PLANTED_DATA = """\
import pandas as pd
from sklearn.datasets import load_breast_cancer


def load():
    frame = load_breast_cancer(as_frame=True).frame
    return pd.concat([frame, frame.iloc[:40]], ignore_index=True)  # 40 copied rows
"""
BRITTLE = """\
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class Brittle(ClassifierMixin, BaseEstimator):
    \"\"\"Fits and predicts whole numbers only: noise makes it raise (as some user models do).\"\"\"

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=1000).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def _check(self, X):
        values = np.asarray(X, dtype=float)
        if not np.array_equal(values, np.round(values)):
            raise ValueError("Brittle takes whole numbers only")

    def predict(self, X):
        self._check(X)
        return self.model_.predict(X)

    def predict_proba(self, X):
        self._check(X)
        return self.model_.predict_proba(X)
"""


def test_refit_reproduces_every_stored_trial_exactly(arrests_study_template):
    study_file, store_path = arrests_study_template
    datasets = load_datasets(load_study(study_file))
    with open_store(store_path, read_only=True) as store:
        keys = store.trials(STUDY, status="done")["key"].tolist()
        assert len(keys) == 12
        for key in keys:
            trial = _trial_inputs(store, STUDY, key, with_split=True)
            dataset = datasets["arrests"]
            model = refit_trial_model(dataset, trial)
            test = trial.predictions["test_index"]
            assert np.array_equal(np.asarray(model.predict(dataset.features.iloc[test])), trial.predictions["y_pred"])
            assert np.array_equal(model.predict_proba(dataset.features.iloc[test]), trial.predictions["scores"])
            check_refit(model, dataset, trial)
        # A model trained on other rows is caught: the refit check is not a formality.
        other = _trial_inputs(store, STUDY, keys[1], with_split=True)
        wrong = refit_trial_model(dataset, other)
        first = _trial_inputs(store, STUDY, keys[0], with_split=True)
        if not np.array_equal(
            wrong.predict(dataset.features.iloc[first.predictions["test_index"]]), first.predictions["y_pred"]
        ):
            with pytest.raises(RefitMismatchError, match="does not reproduce its stored predictions"):
                check_refit(wrong, dataset, first)


@pytest.mark.slow
def test_every_audit_runs_is_stored_and_resumes(arrests_study):
    _, store_path = arrests_study
    summary = audit_study(STUDY, store=store_path, options=FAST_OPTIONS)
    assert (summary.failed, summary.skipped) == (0, 0), [r.error for r in summary.failures]
    assert summary.done == 1 + 12 + 4 + 4  # data, fairness per trial, robustness and explain on fold 0
    assert summary.cards == 3  # one datasheet, one model card per arm
    again = audit_study(STUDY, store=store_path, options=FAST_OPTIONS)
    assert (again.done, again.cards, again.already_done) == (0, 0, summary.planned)

    with open_store(store_path, read_only=True) as store:
        results = current_audit_results(store, STUDY)
        stored = store.audit_results(STUDY)
    assert len(results) == len(stored) == 24
    assert set(results["kind"]) == {"data", "fairness", "robustness", "explain", "cards"}

    fairness = audit_tables(results, "fairness", baseline="logreg")
    comparison = fairness["comparison"]
    assert set(comparison["attribute"]) == {"colour", "sex", "citizen", "colour & sex & citizen"}
    assert list(comparison.columns) == ["dataset", "attribute", "metric", *COMPARISON_COLUMNS, "holm_family"]
    assert set(comparison["arm"]) == {"forest"} and (comparison["n_replicates"] == 2).all()
    assert (comparison["holm_family"] == len(comparison)).all()  # one family: every attribute and metric
    summary_rows = fairness["group_summary"]
    assert (summary_rows["replicates"] == 2).all() and set(summary_rows["arm"]) == {"logreg", "forest"}

    robustness = audit_tables(results, "robustness")
    assert set(robustness["perturbation_summary"]["perturbation"]) == {"gaussian_noise", "category_swap"}
    explain = audit_tables(results, "explain")
    assert set(explain["stability"]["method"]) == {"permutation", "shap_tree", "shap_linear"}
    assert (explain["stability"]["replicates"] == 2).all()
    data = audit_tables(results, "data")
    assert data["summary"]["rows"].tolist() == [5226]

    cards = audit_tables(results, "cards")["cards"]
    assert sorted(cards["card"]) == ["datasheet", "model_card", "model_card"]
    forest_card = cards[cards["arm"] == "forest"]["markdown"].iloc[0]
    assert AUTHOR_PLACEHOLDER in forest_card and "| accuracy |" in forest_card and "Compared with logreg" in forest_card

    for kind, expected in (("fairness", 2), ("robustness", 1), ("explain", 2)):
        figures = audit_figures(
            audit_tables(results, kind, **({"baseline": "logreg"} if kind == "fairness" else {})), kind
        )
        assert len(figures) == expected
        for figure in figures.values():
            figure.savefig(store_path.parent / f"{kind}.png")
    findings = findings_table(results)
    assert list(findings["severity"]) == sorted(findings["severity"], key=["severe", "warning", "info"].index)

    overview = audit_overview(results, baseline="logreg", splits=study_splits_of(store_path))
    assert set(overview) == {"data", "fairness", "robustness", "explain", "cards"}
    fairness_rows = overview["fairness"]
    assert len(fairness_rows) == 2 * 2 and set(fairness_rows["vs_baseline"]) >= {"(baseline)"}
    assert (fairness_rows["low"] <= fairness_rows["estimate"]).all()
    drops = overview["robustness"]
    # The largest strength of each perturbation in FAST_OPTIONS.
    assert dict(zip(drops["perturbation"], drops["strength"], strict=True)) == {
        "gaussian_noise": 0.5,
        "category_swap": 0.25,
    }
    assert (drops["drop"] - (drops["clean"] - drops["score"])).abs().max() < 1e-12
    assert overview["explain"]["top_features"].str.count(",").max() == 2  # three features


@pytest.mark.slow
def test_results_are_identical_whatever_the_order_and_process(arrests_study, arrests_study_template, tmp_path):
    """Seeds derive from the study seed and the audit key: two runs give byte-identical results."""
    _, store_path = arrests_study
    second = tmp_path / "second"
    shutil.copytree(arrests_study_template[1], second)
    audit_study(STUDY, store=store_path, only="fairness", options=FAST_OPTIONS)
    audit_study(STUDY, store=second, only="fairness", options=FAST_OPTIONS, jobs=2)

    def payloads(path):
        with open_store(path, read_only=True) as store:
            frame = store.audit_results(STUDY).sort_values("key")
        return [(r.key, json.dumps({**r.result, "seconds": None}, sort_keys=True)) for r in frame.itertuples()]

    assert payloads(store_path) == payloads(second)


@pytest.mark.slow
def test_a_failing_audit_is_stored_with_its_traceback_and_the_others_run(write_file):
    study_file = write_file(
        "study.yaml",
        """\
        study: brittle
        seed: 5
        replicates: 1
        datasets:
          - name: arrests
            package: sklego
            path: data/arrests.zip
            target: released
            sensitive: [sex]
            features: [year, age, checks]
        models:
          - {name: brittle, estimator: brittle_model.Brittle}
        protocol: {kind: kfold, folds: 2}
        metrics: [accuracy]
        """,
    )
    write_file("brittle_model.py", BRITTLE)
    store_path = study_file.parent / ".rigorlab"
    assert run_study(study_file, store=store_path, jobs=1).done == 2
    summary = audit_study("brittle", store=store_path, only="fairness,robustness,explain", options=FAST_OPTIONS)
    assert [r.kind for r in summary.failures] == ["robustness"]
    assert "Brittle takes whole numbers only" in summary.failures[0].error
    assert summary.done == 2 + 1  # fairness on both folds, explanations on the first
    with open_store(store_path, read_only=True) as store:
        failed = store.audit_results("brittle", kind="robustness").iloc[0]
    assert failed["status"] == "failed" and "Traceback" in failed["traceback"]
    # Failed audits are kept, not retried, unless asked: then they fail again (the model is still brittle).
    assert audit_study("brittle", store=store_path, only="robustness", options=FAST_OPTIONS).failed == 0
    assert (
        audit_study("brittle", store=store_path, only="robustness", options=FAST_OPTIONS, rerun_failed=True).failed == 1
    )


def test_strict_stops_on_a_severe_data_finding_before_training(write_file):
    study_file = write_file("study.yaml", PLANTED_STUDY)
    write_file("planted_data.py", PLANTED_DATA)
    store_path = study_file.parent / ".rigorlab"
    with pytest.raises(DataError) as caught:
        audit_study(study_file, store=store_path, only="data,fairness", strict=True, options=FAST_OPTIONS)
    assert str(caught.value).startswith(msg.STRICT_FAILED.split("{")[0] + "3 severe finding(s)")
    assert "also appear among the training rows" in str(caught.value)
    with open_store(store_path, read_only=True) as store:
        results = store.audit_results("planted")
        assert list(results["kind"]) == ["data"]  # stored first; nothing else ran
        assert store.trials("planted").empty
    # Without --strict the same findings are recorded and the audit goes on.
    summary = audit_study(study_file, store=store_path, only="data,fairness", options=FAST_OPTIONS)
    assert summary.already_done == 1
    assert summary.notes == [msg.NO_TRIALS_FOR_KIND.format(study="planted", dataset="cancer", kind="fairness")]


def test_bad_input_messages(arrests_study):
    study_file, store_path = arrests_study
    with pytest.raises(InputError, match="Unknown audit 'fairnes' in --only.*Did you mean 'fairness'"):
        parse_kinds("data,fairnes")
    with pytest.raises(InputError) as empty:
        parse_kinds(" , ")
    assert str(empty.value) == msg.NO_KINDS.format(kinds="data, fairness, robustness, explain, cards")
    with pytest.raises(NotFoundError, match="no study 'arests-audit'.*Did you mean 'arrests-audit'"):
        audit_study("arests-audit", store=store_path)
    with open_store(store_path) as store:
        summary = store.datasets(STUDY)["summary"].iloc[0]
        store.save_datasets(STUDY, [{**summary, "fingerprint": "0" * 64}])
    with pytest.raises(DataError) as caught:
        audit_study(STUDY, store=store_path, only="fairness")
    current = load_datasets(load_study(study_file))["arrests"].fingerprint[:12]
    assert str(caught.value) == msg.FINGERPRINT_CHANGED.format(
        dataset="arrests", study=STUDY, stored="0" * 12, current=current
    )


def test_store_keeps_finished_audit_results_and_replaces_failed_ones(arrests_study):
    _, store_path = arrests_study
    with open_store(store_path) as store:
        common = {"key": "a" * 32, "kind": "data", "dataset": "arrests"}
        store.save_audit_result(STUDY, status="failed", error="boom", **common)
        store.save_audit_result(
            STUDY, status="done", result={"result": {"x": 1}}, arrays={"rows": np.arange(5)}, **common
        )
        store.save_audit_result(STUDY, status="done", result={"result": {"x": 2}}, **common)
        frame = store.audit_results(STUDY)
        assert len(frame) == 1 and frame["result"].iloc[0] == {"result": {"x": 1}} and frame["error"].isna().all()
        assert store.audit_states(STUDY) == {"a" * 32: "done"}
        assert store.audit_arrays(STUDY, "a" * 32)["rows"].tolist() == [0, 1, 2, 3, 4]
        with pytest.raises(NotFoundError, match="no audit result with key 'b"):
            store.audit_arrays(STUDY, "b" * 32)
        assert isinstance(store.audit_results(STUDY, kind="fairness"), pd.DataFrame)


def test_an_audit_given_another_dataset_fails_with_a_message(breast_cancer_frame):
    from rigorlab.audits import AuditTask, TrialInputs, run_audit_task
    from tests.audits.conftest import make_dataset

    dataset = make_dataset(breast_cancer_frame, "target", name="cancer")
    rows = np.arange(dataset.n_rows)
    predictions = {"test_index": rows, "y_true": dataset.target, "y_pred": dataset.target, "classes": np.array([0, 1])}
    config = {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}}
    trial = TrialInputs("c" * 32, "logreg", 0, 0, config, {"init": 1, "data_order": 2}, None, rows, rows, predictions)
    wrong = run_audit_task(AuditTask("e" * 32, "explain", "s", "cancer", "0" * 64, 0, trial=trial), dataset)
    assert wrong.status == "failed" and "sent the wrong dataset" in wrong.error


def test_label_issues_come_from_the_audits_own_model_unless_asked_for_stored_predictions(arrests_study):
    _, store_path = arrests_study
    options = {**FAST_OPTIONS}
    own = audit_study(STUDY, store=store_path, only="data", options=options)
    stored = audit_study(STUDY, store=store_path, only="data", options=options, stored_predictions=True)
    assert (own.done, stored.done) == (1, 1)  # two different audits, both kept
    with open_store(store_path, read_only=True) as store:
        results = store.audit_results(STUDY)
    data_results = results[results["kind"] == "data"]["result"]
    sources = sorted(r["result"]["label_issues"]["source"] for r in data_results)
    assert sources[0].startswith("a 5-fold logistic regression fit for this audit")
    assert sources[1].startswith("the stored test predictions of arm 'logreg'")
    again = audit_study(STUDY, store=store_path, only="data", options=options)
    assert (again.done, again.already_done) == (0, 1)
