"""Mistakes caught before running, and what `run`, `show` and `status` say about earlier results."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from rigorlab.cli import app
from rigorlab.cli._study import MSG_FAILED_KEPT, MSG_INIT_FOLDER
from tests.conftest import SMALL_STUDY
from tests.execution.test_executor import MISBEHAVING

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def test_init_creates_missing_folders_and_refuses_a_folder(tmp_path):
    target = tmp_path / "new" / "deeper" / "s.yaml"
    assert invoke("init", str(target)).exit_code == 0
    assert target.exists()
    refused = invoke("init", str(tmp_path), "--force")
    assert refused.exit_code == 2
    assert MSG_INIT_FOLDER.format(path=tmp_path) in refused.output.replace("\n", "")
    assert "Traceback" not in refused.output


def test_an_invalid_parameter_value_is_refused_by_check(write_study):
    path = write_study(SMALL_STUDY.replace("{max_iter: 500}", "{max_iter: 500, C: -1}"))
    result = invoke("check", str(path))
    assert result.exit_code == 2
    assert "The 'C' parameter of LogisticRegression must be a float in the range (0.0, inf]. Got -1 instead" in (
        result.output.replace("\n", "")
    )
    assert f"{path}:10" in result.output.replace("\n", "")


def test_an_invalid_grid_value_is_refused(write_study):
    text = SMALL_STUDY.replace("{max_iter: 500}", "{max_iter: 500, C: [1.0, -2.0]}").replace(
        "folds: 3}", "folds: 3, inner_folds: 2}"
    )
    result = invoke("check", str(write_study(text)))
    assert result.exit_code == 2 and "Got -2.0 instead" in result.output


def test_a_metric_needing_probabilities_from_a_model_without_them(write_study):
    text = SMALL_STUDY.replace("sklearn.ensemble.RandomForestClassifier", "sklearn.svm.LinearSVC").replace(
        "{n_estimators: 10}", "{}"
    )
    result = invoke("check", str(write_study(text)))
    assert result.exit_code == 2
    output = result.output.replace("\n", "")
    assert "The metric 'roc_auc' needs predicted probabilities on dataset 'iris' (3 classes)" in output
    assert "LinearSVC has none" in output


def test_failed_trials_kept_from_an_earlier_run_still_fail_the_command(write_study, tmp_path):
    path = write_study(MISBEHAVING)
    store = tmp_path / "store"
    assert invoke("run", str(path), "--store", str(store), "-q").exit_code == 1
    again = invoke("run", str(path), "--store", str(store), "-q")
    assert again.exit_code == 1
    assert MSG_FAILED_KEPT.format(count=6, study="small", file=path) in again.output.replace("\n", "")
    shown = invoke("show", "small", "--store", str(store))
    assert "exploding on iris: 6 failed trial(s) not in the table" in shown.output


def test_a_second_file_with_the_same_study_name_is_refused_unless_replace(write_study, tmp_path):
    store = tmp_path / "store"
    first = write_study(SMALL_STUDY)
    assert invoke("run", str(first), "--store", str(store), "-q").exit_code == 0
    second = write_study(SMALL_STUDY.replace("n_estimators: 10", "n_estimators: 12"), name="other.yaml")
    refused = invoke("run", str(second), "--store", str(store), "-q")
    assert refused.exit_code == 2
    output = refused.output.replace("\n", "")
    assert f"already holds a study 'small' run from {first}" in output and "--replace" in output
    assert invoke("run", str(second), "--store", str(store), "-q", "--replace").exit_code == 0


def test_a_changed_data_file_is_announced(write_study, tmp_path):
    frame = pd.DataFrame({"x": [float(i % 7) for i in range(60)], "y": [i % 2 for i in range(60)]})
    frame.to_csv(tmp_path / "data.csv", index=False)
    text = SMALL_STUDY.replace("  - name: iris\n", "  - {name: toy, path: data.csv, target: y}\n")
    path = write_study(text.replace("[accuracy, roc_auc]", "[accuracy]"))
    store = tmp_path / "store"
    assert invoke("run", str(path), "--store", str(store), "-q").exit_code == 0
    frame.loc[0, "x"] = 99.0
    frame.to_csv(tmp_path / "data.csv", index=False)
    again = invoke("run", str(path), "--store", str(store), "-q")
    assert again.exit_code == 0
    assert "Dataset 'toy' changed since the study last ran" in again.output.replace("\n", "")


def test_status_of_a_tracked_study_speaks_of_runs(tmp_path):
    import rigorlab

    store = tmp_path / "store"
    for replicate in range(2):
        with rigorlab.track(study="tracked", arm="a", dataset="d", replicate=replicate, store=store) as run:
            run.log_summary(test_acc=0.5 + replicate / 10)
    result = invoke("status", "tracked", "--store", str(store))
    assert result.exit_code == 0
    assert "Study tracked (tracked runs): 2 done, 0 failed." in result.output
