"""End to end through the real command: the quickstart, bit-identical reruns, SIGKILL and resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rigorlab import open_store
from tests.conftest import SMALL_STUDY

ROOT = Path(__file__).resolve().parents[2]


def rigorlab(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rigorlab", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path):
    store = tmp_path / "store"
    ran = rigorlab("run", "examples/quickstart.yaml", "--store", str(store), "--jobs", "2")
    assert "150 trial(s) done, 0 failed" in ran.stdout
    assert f"Results are in {store}/" in ran.stdout
    shown = rigorlab("show", "quickstart", "--store", str(store)).stdout
    for arm in ("logreg", "random_forest", "hist_gb"):
        assert arm in shown
    assert "breast_cancer" in shown and "wine" in shown
    records = json.loads(rigorlab("trials", "quickstart", "--store", str(store), "--format", "json").stdout)
    assert len(records) == 150
    assert {r["status"] for r in records} == {"done"}
    assert all(0.8 < r["accuracy"] <= 1.0 for r in records)
    again = rigorlab("run", "examples/quickstart.yaml", "--store", str(store))
    assert "Resuming: 150 of 150 trials already stored" in again.stderr


def metrics_and_predictions(store_path: Path, study: str) -> tuple[pd.DataFrame, dict[str, dict]]:
    with open_store(store_path) as store:
        metrics = store.metrics(study).sort_values(["key", "metric"]).reset_index(drop=True)
        predictions = {key: store.predictions(study, key) for key in metrics.key.unique()}
    return metrics, predictions


def test_two_fresh_stores_give_identical_results_to_the_bit(write_study, tmp_path):
    path = write_study(SMALL_STUDY.replace("[accuracy, roc_auc]", "[accuracy, roc_auc, log_loss]"))
    from rigorlab import run_study

    run_study(path, store=tmp_path / "one", jobs=1)
    run_study(path, store=tmp_path / "two", jobs=2)
    first_metrics, first_predictions = metrics_and_predictions(tmp_path / "one", "small")
    second_metrics, second_predictions = metrics_and_predictions(tmp_path / "two", "small")
    pd.testing.assert_frame_equal(first_metrics, second_metrics, check_exact=True)
    for key, arrays in first_predictions.items():
        for name, array in arrays.items():
            assert array.tobytes() == second_predictions[key][name].tobytes(), (key, name)


SLOW_STUDY = """\
study: slow
seed: 3
replicates: 8
datasets: [{name: iris}]
models:
  - {name: sleepy, estimator: helper_estimators.Sleepy, params: {seconds: 0.15}}
  - {name: tree, estimator: sklearn.tree.DecisionTreeClassifier}
protocol: {kind: repeated_kfold, folds: 3}
metrics: [accuracy]
"""


def stored_count(store: Path) -> int:
    db_path = store / "rigorlab.sqlite"
    if not db_path.exists():
        return 0
    try:
        db = sqlite3.connect(db_path, timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_study_leaves_a_readable_store_and_resume_finishes_only_the_rest(write_study, tmp_path):
    path = write_study(SLOW_STUDY)
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "rigorlab", "run", str(path), "--store", str(store), "--jobs", "2", "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while stored_count(store) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stored = stored_count(store)
    assert 8 <= stored < 48, "the study must be killed midway for this test to mean anything"
    with open_store(store) as reader:  # readable, every stored trial complete
        trials = reader.trials("slow")
        assert len(trials) == stored
        assert trials.accuracy.notna().all()
    resumed = rigorlab("run", str(path), "--store", str(store), "--jobs", "2", "--quiet", cwd=tmp_path)
    assert f"{48 - stored} trial(s) done, 0 failed, {stored} already stored" in resumed.stdout
    with open_store(store) as reader:
        assert len(reader.trials("slow")) == 48
        runs = reader.runs("slow")
    assert runs.status.tolist() == ["crashed", "finished"]  # the killed run is marked, not left running
