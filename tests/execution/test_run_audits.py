"""``audits:`` in the study file: ``rigorlab check`` plans them, ``rigorlab run`` runs the data audit before
training and the others after it, stores them with the trials, resumes them, and with ``strict: true``
stops on a severe data finding before any trial runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rigorlab.audits import _messages as audit_messages
from rigorlab.cli import app
from rigorlab.store import open_store

runner = CliRunner()

AUDITED_STUDY = """\
study: audited
seed: 4
replicates: 1
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    sensitive: [colour, sex]
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000}
    preprocess: [one_hot, standard_scale]
  - name: tree
    estimator: sklearn.tree.DecisionTreeClassifier
    params: {max_depth: 4}
    preprocess: [ordinal]
protocol: {kind: kfold, folds: 2}
metrics: [accuracy]
audits:
  data: {target_leakage_rows: 1000}
  fairness: {n_boot: 100}
  cards: {}
"""
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
audits: {strict: true, data: {}}
"""
PLANTED_DATA = """\
import pandas as pd
from sklearn.datasets import load_breast_cancer


def load():
    frame = load_breast_cancer(as_frame=True).frame
    return pd.concat([frame, frame.iloc[:40]], ignore_index=True)  # 40 copied rows
"""


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def test_check_plans_the_audits(write_study):
    text = AUDITED_STUDY.replace("  cards: {}\n", "  strict: true\n  robustness: {}\n  explain: {folds: all}\n")
    result = invoke("check", str(write_study(text)))
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert (
        "Audits: data, fairness, robustness, explain (strict: a severe data finding stops the run before training)"
        in lines
    )
    assert "data: 1 task(s), before training" in lines
    assert "fairness: 4 task(s), after training" in lines
    assert "robustness: 2 task(s), after training" in lines  # the first fold of each replicate (its default)
    assert "explain: 4 task(s), after training" in lines  # every trial (folds: all)
    assert lines[-1] == "Nothing was run."


@pytest.mark.slow
def test_run_audits_the_data_before_training_and_the_results_after(write_study, store_path, monkeypatch):
    monkeypatch.chdir(store_path.parent)  # the cards are written to reports/audited-cards/ here
    path = write_study(AUDITED_STUDY)
    result = invoke("run", str(path), "--store", str(store_path), "--jobs", "2")
    assert result.exit_code == 0, result.output
    cards = sorted(p.name for p in (store_path.parent / "reports" / "audited-cards").glob("*.md"))
    assert len(cards) == 3, cards
    assert "Audited study audited (data, fairness, cards)" in result.output
    assert "5 done, 0 not applicable, 0 failed, 0 already stored, 3 new card(s) stored." in result.output
    assert (
        "done data: arrests" in result.output and "done fairness: logreg arrests (replicate 0, fold 0)" in result.output
    )
    with open_store(store_path, read_only=True) as store:
        stored = store.audit_results("audited")
        assert len(store.trials("audited", status="done")) == 4
    assert stored.groupby("kind").size().to_dict() == {"cards": 3, "data": 1, "fairness": 4}
    # The data audit ran before the first trial: it is the first result stored.
    assert stored.sort_values("id")["kind"].iloc[0] == "data"
    again = invoke("run", str(path), "--store", str(store_path), "--jobs", "2")
    assert again.exit_code == 0, again.output
    assert "0 trial(s) done, 0 failed, 4 already stored" in again.output
    assert "0 done, 0 not applicable, 0 failed, 8 already stored, 0 new card(s) stored." in again.output
    with open_store(store_path, read_only=True) as store:
        assert len(store.audit_results("audited")) == 8
    # `rigorlab audit` afterwards reads the study file's settings too, so it finds what the run stored.
    audit = invoke(
        "audit",
        "audited",
        "--store",
        str(store_path),
        "--only",
        "fairness,cards",
        "-q",
        "--out",
        str(store_path.parent / "cards"),
    )
    assert audit.exit_code == 0, audit.output
    assert "0 done, 0 not applicable, 0 failed, 7 already stored, 0 new card(s) stored." in audit.output


def test_strict_stops_the_run_before_any_trial(write_study, store_path):
    path = write_study(PLANTED_STUDY)
    (path.parent / "planted_data.py").write_text(PLANTED_DATA)
    result = invoke("run", str(path), "--store", str(store_path), "--quiet")
    assert result.exit_code == 2, result.output
    expected = audit_messages.STRICT_FAILED.split("{")[0] + "3 severe finding(s) and --strict"
    assert expected in result.output and "Traceback" not in result.output
    with open_store(store_path, read_only=True) as store:
        assert list(store.audit_results("planted")["kind"]) == ["data"]  # the findings are stored
        assert store.trials("planted").empty  # and nothing was trained
    relaxed_study = write_study(PLANTED_STUDY.replace("strict: true", "strict: false"), "relaxed.yaml")
    relaxed = invoke("run", str(relaxed_study), "--store", str(store_path), "--quiet", "--replace")
    assert relaxed.exit_code == 0, relaxed.output
    assert "severe" in relaxed.output  # recorded and shown, not an error
    with open_store(store_path, read_only=True) as store:
        assert len(store.trials("planted", status="done")) == 3


def test_ctrl_c_during_the_audits_of_a_run_keeps_what_finished(write_study, store_path):
    from rigorlab.execution import run_study
    from tests.audits.test_executor_audits import InterruptingExecutor

    path = write_study(AUDITED_STUDY)
    # The user presses Ctrl-C during the third call of the executor (after the data audit and the trials).
    calls = {"count": 0}

    class SecondCall(InterruptingExecutor):
        def run(self, tasks, datasets):
            calls["count"] += 1
            if calls["count"] < 3:
                yield from super(InterruptingExecutor, self).run(tasks, datasets)
            else:
                yield from super().run(tasks, datasets)

    summary = run_study(path, store=store_path, executor=SecondCall(2, jobs=1))
    assert summary.interrupted and summary.done == 4 and summary.audits is not None
    assert (summary.audits.done, summary.audits.cards) == (1 + 2, 0)  # data, then 2 of the 4 fairness audits
    with open_store(store_path, read_only=True) as store:
        assert len(store.audit_results("audited")) == 3
    resumed = run_study(path, store=store_path, jobs=1)
    assert not resumed.interrupted and resumed.audits is not None
    assert (resumed.audits.already_done, resumed.audits.done, resumed.audits.cards) == (3, 2, 3)
