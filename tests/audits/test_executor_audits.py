"""Audits are units of work of the executor: the same results with one worker or two, a crashing or
overdue audit stored as failed while the others finish, and Ctrl-C keeping what finished."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rigorlab.audits import audit_study
from rigorlab.execution import LocalExecutor, run_study
from rigorlab.execution._local import MSG_AUDIT_TIMEOUT, MSG_AUDIT_WORKER_DIED
from rigorlab.store import open_store
from rigorlab.store._sqlite_base import DB_NAME
from tests.audits.conftest import FAST_OPTIONS
from tests.conftest import default_sigint

STUDY = "arrests-audit"

MISBEHAVING_STUDY = """\
study: misbehaving
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
  - {name: crashy, estimator: misbehaving_models.Crashy}
  - {name: sleepy, estimator: misbehaving_models.Sleepy}
protocol: {kind: kfold, folds: 2}
metrics: [accuracy]
"""
MISBEHAVING_MODELS = """\
import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class _WholeNumbers(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=1000).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        values = np.asarray(X, dtype=float)
        if not np.array_equal(values, np.round(values)):
            self.misbehave()
        return self.model_.predict(X)


class Crashy(_WholeNumbers):
    \"\"\"Kills its process on rows with fractions (the robustness audit's noise): a crash in native code.\"\"\"

    def misbehave(self):
        os._exit(3)


class Sleepy(_WholeNumbers):
    \"\"\"Takes far too long on rows with fractions.\"\"\"

    def misbehave(self):
        time.sleep(60)
"""


@pytest.fixture
def misbehaving(write_file) -> Path:
    study = write_file("study.yaml", MISBEHAVING_STUDY)
    write_file("misbehaving_models.py", MISBEHAVING_MODELS)
    store = study.parent / ".rigorlab"
    assert run_study(study, store=store, jobs=2).done == 4
    return store


def payloads(path: Path) -> list[tuple[str, str]]:
    with open_store(path, read_only=True) as store:
        frame = store.audit_results(STUDY).sort_values("key")
    return [(r.key, json.dumps({**r.result, "seconds": None}, sort_keys=True)) for r in frame.itertuples()]


@pytest.mark.slow
def test_one_worker_or_two_store_identical_audits(arrests_study, arrests_study_template, tmp_path):
    _, store_path = arrests_study
    second = tmp_path / "second"
    shutil.copytree(arrests_study_template[1], second)
    options = {**FAST_OPTIONS, "robustness": {**FAST_OPTIONS["robustness"], "folds": "first"}}
    one = audit_study(STUDY, store=store_path, only="fairness,robustness", options=options, jobs=1)
    two = audit_study(STUDY, store=second, only="fairness,robustness", options=options, jobs=2)
    assert (one.done, one.failed) == (two.done, two.failed) == (12 + 4, 0)
    assert payloads(store_path) == payloads(second)


@pytest.mark.slow
def test_a_crashing_or_overdue_audit_is_stored_as_failed_and_the_others_finish(misbehaving):
    summary = audit_study(
        "misbehaving", store=misbehaving, only="fairness,robustness", options=FAST_OPTIONS, jobs=2, timeout=5
    )
    failures = {result.arm: result.error for result in summary.failures}
    assert failures == {
        "crashy": MSG_AUDIT_WORKER_DIED.format(kind="robustness", code=3),
        "sleepy": MSG_AUDIT_TIMEOUT.format(kind="robustness", seconds=5),
    }
    assert summary.done == 4  # fairness on every trial, from the stored predictions
    with open_store(misbehaving, read_only=True) as store:
        stored = store.audit_results("misbehaving")
    assert sorted(stored["status"]) == ["done"] * 4 + ["failed"] * 2
    assert set(stored[stored["status"] == "failed"]["kind"]) == {"robustness"}


class InterruptingExecutor(LocalExecutor):
    """A real local executor whose user presses Ctrl-C once ``after`` results have arrived."""

    def __init__(self, after: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.after = after

    def run(self, tasks, datasets):
        for count, result in enumerate(super().run(tasks, datasets), start=1):
            yield result
            if count >= self.after:
                raise KeyboardInterrupt


def test_ctrl_c_keeps_what_finished_and_running_again_finishes(arrests_study):
    _, store_path = arrests_study
    executor = InterruptingExecutor(3, jobs=1)
    summary = audit_study(STUDY, store=store_path, only="fairness", options=FAST_OPTIONS, executor=executor)
    assert summary.interrupted and summary.done == 3
    with open_store(store_path, read_only=True) as store:
        assert len(store.audit_results(STUDY)) == 3
    rest = audit_study(STUDY, store=store_path, only="fairness", options=FAST_OPTIONS)
    assert not rest.interrupted and (rest.already_done, rest.done) == (3, 9)


def test_a_bare_audit_task_runs_in_the_local_executor(arrests_study):
    from rigorlab.audits import plan_audit_tasks
    from rigorlab.execution import prepare

    study_file, store_path = arrests_study
    loaded, datasets, plan = prepare(study_file)
    with open_store(store_path, read_only=True) as store:
        tasks, _ = plan_audit_tasks(store, STUDY, plan, datasets, ["fairness"], baseline="logreg", options=FAST_OPTIONS)
    with LocalExecutor(jobs=1) as executor:
        results = list(executor.run(tasks[:2], datasets))
    assert sorted(r.key for r in results) == sorted(t.key for t in tasks[:2]) and all(r.ok for r in results)


def audit_count(store: Path) -> int:
    database = store / DB_NAME
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT count(*) FROM audit_results").fetchone()[0])
    except sqlite3.OperationalError:  # the table is being created
        return 0


@pytest.mark.slow
def test_ctrl_c_on_the_command_exits_130_with_what_finished_stored(misbehaving):
    process = subprocess.Popen(
        [sys.executable, "-m", "rigorlab", "audit", "misbehaving", "--store", str(misbehaving), "--only"]
        + ["fairness,robustness", "--jobs", "1", "--quiet"],
        cwd=misbehaving.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 60
    while audit_count(misbehaving) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Interrupted study misbehaving" in out and "Run the same command again" in out
    assert "Traceback" not in err
    stored = audit_count(misbehaving)
    assert 1 <= stored < 6
