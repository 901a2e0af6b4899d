"""The command line, through Typer's runner: output, exit codes, and no tracebacks for bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rigorlab.cli import app
from tests.conftest import SMALL_STUDY
from tests.execution.test_executor import MISBEHAVING

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def test_init_writes_a_template_that_checks(tmp_path):
    target = tmp_path / "mine.yaml"
    result = invoke("init", str(target))
    assert result.exit_code == 0
    assert "study: mine" in target.read_text()
    checked = invoke("check", str(target))
    assert checked.exit_code == 0, checked.output
    assert "= 50 trials. Nothing was run." in checked.output
    again = invoke("init", str(target))
    assert again.exit_code == 2
    assert "already exists; pass --force" in again.output


def test_check_prints_the_plan_size_and_writes_nothing(write_study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("check", str(write_study()))
    assert result.exit_code == 0
    assert "2 arms x 1 datasets x 2 replicates x 3 folds = 12 trials" in result.output
    assert not (tmp_path / ".rigorlab").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("replicates: 2", "replicates: two"),
            "The 'replicates' field of the study must be an integer. Got 'two' instead",
        ),
        (("metrics:", "metricz:"), "Unknown field 'metricz' in the study"),
        (("name: iris", "name: data\n    path: missing.csv\n    target: y"), "the file"),
        (("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.Nope"), "cannot be imported"),
    ],
)
def test_bad_input_exits_2_with_one_paragraph_and_writes_nothing(write_study, tmp_path, change, expected):
    path = write_study(SMALL_STUDY.replace(*change))
    store = tmp_path / "store"
    result = invoke("run", str(path), "--store", str(store))
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not store.exists()


def test_malformed_yaml_via_the_cli(write_study, tmp_path):
    path = write_study("study: x\ndatasets: [\n")
    result = invoke("check", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: the study file is not valid YAML" in result.output


def test_run_status_show_trials(write_study, tmp_path):
    store = tmp_path / "store"
    ran = invoke("run", str(write_study(MISBEHAVING)), "--store", str(store), "--jobs", "2", "--quiet")
    assert ran.exit_code == 1  # some trials failed; the study still finished
    assert "12 trial(s) done, 6 failed" in ran.output
    assert "failed exploding on iris (replicate 0, fold 0): RuntimeError: planted failure" in ran.output

    status = invoke("status", "small", "--store", str(store))
    assert status.exit_code == 0
    assert "Study small: 12 done, 6 failed, 0 pending of 18 planned." in status.output
    assert "RuntimeError: planted failure" in status.output
    overview = invoke("status", "--store", str(store))
    assert "small" in overview.output

    shown = invoke("show", "small", "--store", str(store))
    assert shown.exit_code == 0
    assert "accuracy *" in shown.output and "forest" in shown.output and "logreg" in shown.output

    as_csv = invoke("trials", "small", "--store", str(store), "--format", "csv")
    assert as_csv.output.splitlines()[0].startswith("key,arm,dataset,replicate,fold,status")
    assert len(as_csv.output.splitlines()) == 19
    as_json = json.loads(
        invoke("trials", "small", "--store", str(store), "--format", "json", "--status", "failed").output
    )
    assert len(as_json) == 6 and {r["arm"] for r in as_json} == {"exploding"}


def test_unknown_study_and_bad_format(write_study, tmp_path):
    store = tmp_path / "store"
    invoke("run", str(write_study()), "--store", str(store), "--quiet")
    unknown = invoke("show", "smal", "--store", str(store))
    assert unknown.exit_code == 2
    assert "There is no study 'smal'" in unknown.output and "Did you mean 'small'?" in unknown.output
    bad = invoke("trials", "small", "--store", str(store), "--format", "xml")
    assert bad.exit_code == 2
    assert "--format must be one of csv, json. Got 'xml' instead." in bad.output
    unknown_metric = invoke("show", "small", "--store", str(store), "--metric", "f1")
    assert unknown_metric.exit_code == 2 and "has no metric f1" in unknown_metric.output


def test_no_store_message(tmp_path):
    result = invoke("status", "--store", str(tmp_path / "nothing"))
    assert result.exit_code == 2
    assert "There is no rigorlab store at" in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.startswith("rigorlab ")
