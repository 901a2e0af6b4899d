"""The local executor: every task yields one result; failures, timeouts and crashes are stored."""

from __future__ import annotations

import pytest

from rigorlab import open_store, run_study
from rigorlab.execution import LocalExecutor, TrialTask, prepare
from rigorlab.execution._local import MSG_TIMEOUT
from tests.conftest import SMALL_STUDY

MISBEHAVING = SMALL_STUDY.replace(
    """  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 10}""",
    """  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 10}
  - name: exploding
    estimator: helper_estimators.Exploding
    params: {message: planted failure}""",
)


def tasks_of(plan):
    return [
        TrialTask(t, plan.splits[t.split_fingerprint].train, plan.splits[t.split_fingerprint].test, t.arm.timeout)
        for t in plan.trials
    ]


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_task_yields_exactly_one_result(write_study, jobs):
    loaded, datasets, plan = prepare(write_study())
    with LocalExecutor(jobs=jobs, import_paths=[str(loaded.base_dir)]) as executor:
        results = list(executor.run(tasks_of(plan), datasets))
    assert sorted(r.key for r in results) == sorted(t.key for t in plan.trials)
    assert all(r.ok for r in results)


def test_a_failing_model_is_stored_as_failed_and_the_others_go_on(write_study, store_path):
    summary = run_study(write_study(MISBEHAVING), store=store_path, jobs=2)
    assert summary.failed == 6 and summary.done == 12
    failure = summary.failures[0]
    assert failure.arm == "exploding"
    assert failure.error == "RuntimeError: planted failure"
    assert "Traceback" in failure.traceback and "helper_estimators.py" in failure.traceback
    with open_store(store_path) as store:
        trials = store.trials("small")
    failed = trials[trials.status == "failed"]
    assert set(failed.arm) == {"exploding"}
    assert failed.error.str.startswith("RuntimeError: planted failure").all()


def test_a_trial_past_its_timeout_is_stopped(write_study, store_path):
    text = SMALL_STUDY.replace("replicates: 2", "replicates: 1").replace(
        """  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 10}""",
        """  - name: sleepy
    estimator: helper_estimators.Sleepy
    params: {seconds: 30}
    timeout: 0.5""",
    )
    summary = run_study(write_study(text), store=store_path, jobs=2)
    assert summary.done == 3 and summary.failed == 3
    assert {f.error for f in summary.failures} == {MSG_TIMEOUT.format(seconds=0.5)}


def test_a_worker_that_dies_is_replaced(write_study, store_path):
    text = SMALL_STUDY.replace("replicates: 2", "replicates: 1").replace(
        "estimator: sklearn.ensemble.RandomForestClassifier\n    params: {n_estimators: 10}",
        "estimator: helper_estimators.Crashing",
    )
    summary = run_study(write_study(text), store=store_path, jobs=1)
    assert summary.done == 3 and summary.failed == 3
    assert all(
        f.error.startswith("WorkerDied: the worker process running this trial ended unexpectedly (exit code 3)")
        for f in summary.failures
    )


def test_a_script_without_a_main_guard_fails_once_with_the_fix_and_stores_no_failed_trial(write_study, tmp_path):
    import subprocess
    import sys

    from rigorlab.execution._local import MSG_IMPORTED_BY_WORKER, MSG_WORKER_START

    study = write_study()
    script = tmp_path / "unguarded.py"
    # What a user writes from the README's Python block, without `if __name__ == "__main__":`.
    script.write_text(f"import rigorlab\nrigorlab.run_study({str(study)!r}, jobs=2, store={str(tmp_path / 's')!r})\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert MSG_IMPORTED_BY_WORKER in done.stderr
    assert MSG_WORKER_START.format(code=1) in done.stderr
    with open_store(tmp_path / "s", read_only=True) as store:
        assert store.trials("small").empty  # nothing stored as failed: the fixed script runs everything
    guarded = script.read_text().replace("import rigorlab\n", "import rigorlab\n\nif __name__ == '__main__':\n    ")
    script.write_text(guarded)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    with open_store(tmp_path / "s", read_only=True) as store:
        assert (store.trials("small").status == "done").all() and len(store.trials("small")) == 12
