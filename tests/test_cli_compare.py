"""``rigorlab compare`` on real stored studies."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rigorlab import open_store, run_study
from rigorlab.cli import app
from rigorlab.stats import VERDICT_BETTER, VERDICT_NO_EVIDENCE, VERDICT_WORSE, compare_stored
from tests.conftest import SMALL_STUDY
from tests.execution.test_executor import MISBEHAVING

runner = CliRunner()
TWO_DATASETS = SMALL_STUDY.replace("  - name: iris\n", "  - name: iris\n  - name: wine\n").replace(
    "replicates: 2", "replicates: 3"
)


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    (folder / "study.yaml").write_text(TWO_DATASETS)
    run_study(folder / "study.yaml", store=folder / "store", jobs=2)
    return folder / "store"


def test_the_table_names_verdicts_ranks_and_the_legend(stored):
    result = invoke("compare", "small", "--store", str(stored), "--resamples", "1000")
    assert result.exit_code == 0, result.output
    assert "accuracy (higher is better), baseline logreg" in result.output
    assert "logreg (baseline)" in result.output
    assert any(verdict in result.output for verdict in (VERDICT_BETTER, VERDICT_WORSE, VERDICT_NO_EVIDENCE))
    assert "Across 2 datasets: average ranks" in result.output
    assert "Nadeau-Bengio corrected resampled t-test" in result.output
    assert "Holm correction" in result.output


def test_json_equals_the_library_result(stored):
    result = invoke("compare", "small", "--store", str(stored), "--format", "json", "--resamples", "1000")
    assert result.exit_code == 0
    document = json.loads(result.output)
    with open_store(stored, read_only=True) as store:
        expected = compare_stored(store, "small", n_resamples=1000).to_dict()
    assert document == json.loads(json.dumps(expected))
    assert {row["arm"] for row in document["comparisons"]} == {"forest"}
    assert document["metric"] == "accuracy" and document["baseline"] == "logreg"


def test_csv_tables_and_options(stored):
    comparisons = invoke("compare", "small", "--store", str(stored), "--format", "csv", "--resamples", "500")
    header = comparisons.output.splitlines()[0].split(",")
    assert header[:4] == ["arm", "dataset", "n_replicates", "mean_diff"]
    ranks = invoke(
        "compare", "small", "--store", str(stored), "--format", "csv", "--table", "ranks", "--resamples", "500"
    )
    assert ranks.output.splitlines()[0] == "arm,average_rank"
    other = invoke(
        "compare",
        "small",
        "--store",
        str(stored),
        "--metric",
        "roc_auc",
        "--baseline",
        "forest",
        "--datasets",
        "iris",
        "--format",
        "json",
        "--resamples",
        "500",
    )
    document = json.loads(other.output)
    assert document["metric"] == "roc_auc" and document["baseline"] == "forest" and document["datasets"] == ["iris"]
    bayes = invoke("compare", "small", "--store", str(stored), "--bayesian", "--resamples", "500")
    assert "P(arm better)" in bayes.output


def test_bad_input_messages(stored):
    unknown_metric = invoke("compare", "small", "--store", str(stored), "--metric", "f1_macro")
    assert unknown_metric.exit_code == 2 and "f1_macro" in unknown_metric.output
    unknown_baseline = invoke("compare", "small", "--store", str(stored), "--baseline", "nobody")
    assert unknown_baseline.exit_code == 2 and "nobody" in unknown_baseline.output
    bad_format = invoke("compare", "small", "--store", str(stored), "--format", "xml")
    assert bad_format.exit_code == 2 and "--format must be one of table, json, csv" in bad_format.output
    assert "Traceback" not in unknown_metric.output + unknown_baseline.output


def test_an_arm_whose_trials_all_failed_is_named_and_the_rest_is_compared(write_study, store_path):
    run_study(write_study(MISBEHAVING), store=store_path, jobs=2)
    result = invoke("compare", "small", "--store", str(store_path), "--resamples", "500")
    assert result.exit_code == 0, result.output
    assert "exploding" in result.output  # named as a problem
    assert "forest" in result.output


def test_one_replicate_is_not_enough_and_says_what_to_run(write_study, store_path):
    run_study(write_study(SMALL_STUDY.replace("replicates: 2", "replicates: 1")), store=store_path, jobs=2)
    result = invoke("compare", "small", "--store", str(store_path), "--resamples", "500")
    assert "replicates" in result.output and "rigorlab run" in result.output
