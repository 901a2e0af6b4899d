"""``rigorlab compare`` on real stored studies."""

from __future__ import annotations

import json

import numpy as np
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
    assert (
        "accuracy (higher is better: a known metric; the study file's primary_metric), baseline logreg (the study "
        "file's baseline)"
    ) in result.output
    assert "splits resampled (protocol repeated_kfold: new k-fold splits in every replicate)" in result.output
    assert "logreg (baseline)" in result.output
    assert any(verdict in result.output for verdict in (VERDICT_BETTER, VERDICT_WORSE, VERDICT_NO_EVIDENCE))
    assert "Across 2 datasets: average ranks" in result.output
    # Two datasets: a description, not a Friedman test with an infinite Iman-Davenport F.
    assert "a description only, no tests across datasets" in result.output
    assert "Iman-Davenport F" not in result.output.split("Estimates:")[0]
    assert "Too few datasets (2) for the Friedman test to mean much" in result.output
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


# --- split designs and metric direction from the store (the statistician's review) -------------


@pytest.fixture(scope="module")
def tracked_losses(tmp_path_factory):
    """A hand-written loop tracked for two arms x 6 seeds on one fixed split, logging only a loss."""
    from rigorlab import track

    store = tmp_path_factory.mktemp("tracked") / "store"
    rng = np.random.default_rng(0)
    base = 0.50 + rng.normal(0, 0.01, 6)
    for arm, losses in (("adam", base), ("sgd", base + 0.04 + rng.normal(0, 0.005, 6))):
        for replicate, loss in enumerate(losses):
            with track(study="loop", arm=arm, dataset="cifar", replicate=replicate, store=store) as run:
                run.log_summary(loss=float(loss))
    return store


def test_a_tracked_loss_is_lower_is_better_on_a_fixed_split_end_to_end(tracked_losses):
    result = invoke("compare", "loop", "--store", str(tracked_losses), "--format", "json", "--resamples", "200")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["metric"] == "loss" and document["baseline"] == "adam"
    assert document["higher_is_better"] is False and "contains 'loss'" in document["direction"]
    assert document["splits"] == "fixed" and "tracked runs with one fold" in document["splits_reason"]
    row = document["comparisons"][0]
    assert row["arm"] == "sgd" and row["verdict"] == VERDICT_WORSE  # a higher loss is worse
    assert row["test"] == "paired t-test over replicates, conditional on the split"
    table = invoke("compare", "loop", "--store", str(tracked_losses), "--resamples", "200")
    assert "loss (lower is better: the name contains 'loss'" in table.output
    assert "splits fixed" in table.output


def test_the_direction_and_the_splits_can_be_stated(tracked_losses):
    options = ("--store", str(tracked_losses), "--format", "json", "--resamples", "200")
    stated = invoke("compare", "loop", *options, "--higher-is-better")
    document = json.loads(stated.output)
    assert document["higher_is_better"] is True and document["direction"] == "stated by the user"
    assert document["comparisons"][0]["verdict"] == VERDICT_BETTER
    lower = invoke("compare", "loop", "--store", str(tracked_losses), "--format", "json", "--lower-is-better")
    assert json.loads(lower.output)["comparisons"][0]["verdict"] == VERDICT_WORSE
    resampled = invoke("compare", "loop", "--store", str(tracked_losses), "--format", "json", "--splits", "resampled")
    assert json.loads(resampled.output)["splits"] == "resampled"
    bad = invoke("compare", "loop", "--store", str(tracked_losses), "--splits", "kfold")
    assert bad.exit_code == 2 and "--splits must be one of resampled, shared, fixed, unknown" in bad.output
    assert "Traceback" not in bad.output


def test_a_kfold_study_is_tested_on_its_shared_split(write_study, store_path):
    shared = SMALL_STUDY.replace("kind: repeated_kfold", "kind: kfold").replace("replicates: 2", "replicates: 3")
    run_study(write_study(shared), store=store_path, jobs=2)
    result = invoke("compare", "small", "--store", str(store_path), "--format", "json", "--resamples", "200")
    document = json.loads(result.output)
    assert document["splits"] == "shared" and "protocol kfold" in document["splits_reason"]
    row = document["comparisons"][0]
    assert row["test"] == "corrected k-fold t-test on one shared split" and row["df"] == 2  # k = 3 folds
    assert {estimate["method"] for estimate in document["estimates"]} == {"t_nb"}


# --- review fixes: options named in errors, study files, names in pipes, notes, reasons ---------


def test_table_option_errors_name_table_and_json_honours_it(stored):
    base = ("compare", "small", "--store", str(stored), "--resamples", "200")
    bad = invoke(*base, "--format", "csv", "--table", "nope")
    assert bad.exit_code == 2
    assert "--table must be one of comparisons, estimates, ranks" in bad.output
    assert "--format must be" not in bad.output
    ranks = invoke(*base, "--format", "json", "--table", "ranks")
    assert ranks.exit_code == 0, ranks.output
    assert [row["arm"] for row in json.loads(ranks.stdout)][0] in {"logreg", "forest"}
    assert set(json.loads(ranks.stdout)[0]) == {"arm", "average_rank"}
    comparisons = json.loads(invoke(*base, "--format", "json", "--table", "comparisons").stdout)
    assert isinstance(comparisons[0]["warnings"], list)
    friedman = invoke(*base, "--format", "json", "--table", "friedman")  # 2 datasets: no Friedman test
    assert friedman.exit_code == 2 and "at least 5 datasets" in friedman.output
    plain = invoke(*base, "--table", "ranks")
    assert plain.exit_code == 2 and "Add --format csv or --format json" in plain.output


def test_a_study_file_stands_for_its_study(stored, tmp_path):
    study_file = tmp_path / "study.yaml"
    study_file.write_text(TWO_DATASETS)
    result = invoke("compare", str(study_file), "--store", str(stored), "--format", "json", "--resamples", "200")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metric"] == "accuracy"  # stdout stays JSON
    assert f"{study_file}: study 'small' (the study: name in the file)" in result.stderr
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("seed: 1\n")
    refused = invoke("compare", str(nameless), "--store", str(stored))
    assert refused.exit_code == 2 and "without a 'study:' name" in refused.output


def test_names_are_never_cut_in_a_pipe(tmp_path, monkeypatch):
    """Output to a pipe is PIPE_WIDTH wide, and name columns fold rather than end in an ellipsis."""
    import io

    from rigorlab import track
    from rigorlab.cli import _app

    monkeypatch.delenv("COLUMNS", raising=False)
    assert _app._width(io.StringIO()) == _app.PIPE_WIDTH
    store = tmp_path / "store"
    for arm, level in (("logreg[C=0.1]", 0.80), ("logreg[C=1.0]", 0.82), ("logreg[C=10.0]", 0.81)):
        for replicate in range(3):
            with track(study="grid", arm=arm, dataset="d", replicate=replicate, store=store) as run:
                run.log_summary(test_acc=level + 0.001 * replicate * (1 + (arm == "logreg[C=10.0]")))
    monkeypatch.setattr(_app.console, "width", _app.PIPE_WIDTH)
    result = invoke("compare", "grid", "--store", str(store), "--resamples", "200")
    assert result.exit_code == 0, result.output
    for name in ("logreg[C=0.1] (baseline)", "logreg[C=1.0]", "logreg[C=10.0]", "no evidence of a difference"):
        assert name in result.output
    assert "\N{HORIZONTAL ELLIPSIS}" not in result.output


def test_repeated_warnings_are_noted_once_and_the_mark_is_explained(stored):
    result = invoke("compare", "small", "--store", str(stored), "--resamples", "200")
    notes = [line for line in result.output.splitlines() if "only 3 replicates" in line]
    assert len(notes) == 1 and notes[0].startswith("note (every comparison)")
    assert "(!) after a verdict: a warning about that comparison" in result.output


def test_a_tracked_study_compares_its_summary_metric_and_names_the_defaults(tmp_path):
    """The README's promise: run.log_summary(test_acc=...) is what statistics compare, even when a
    loss curve sorts first; the defaulted baseline is named with the option that changes it."""
    from rigorlab import track

    store = tmp_path / "store"
    rng = np.random.default_rng(3)
    for replicate in range(5):
        for arm, accuracy in (("bad", 0.80), ("good", 0.90)):
            with track(study="toy", arm=arm, dataset="d", replicate=replicate, store=store) as run:
                for epoch in range(4):
                    run.log(step=epoch, loss=1.0 / (epoch + 1) + float(rng.normal(0, 0.01)))
                run.log_summary(test_acc=accuracy + float(rng.normal(0, 0.01)))
    document = json.loads(invoke("compare", "toy", "--store", str(store), "--format", "json").stdout)
    assert document["metric"] == "test_acc" and "recorded primary metric" in document["metric_reason"]
    assert document["baseline"] == "bad" and "first arm alphabetically" in document["baseline_reason"]
    assert document["comparisons"][0]["verdict"] == VERDICT_BETTER
    table = invoke("compare", "toy", "--store", str(store), "--resamples", "200")
    assert "baseline bad (the first arm alphabetically; choose with --baseline" in table.output
    unknown = invoke("compare", "toy", "--store", str(store), "--metric", "acc")
    assert unknown.exit_code == 2
    assert "pass primary_metric= to rigorlab.track" in unknown.output and "study file" not in unknown.output
    nobody = invoke("compare", "toy", "--store", str(store), "--baseline", "nobody")
    assert nobody.exit_code == 2
    assert "pass baseline= to rigorlab.track" in nobody.output and "study file" not in nobody.output


def test_name_columns_fold_instead_of_cutting_on_a_narrow_console():
    import io

    from rich.console import Console
    from rich.table import Table

    from rigorlab.cli._app import name_column

    table = Table()
    name_column(table, "arm")
    table.add_column("mean [CI]", justify="right")
    for arm in ("logreg[C=0.1]", "logreg[C=1.0]"):
        table.add_row(arm, "0.9775 [0.9558, 0.9992]")
    out = io.StringIO()
    Console(file=out, width=30).print(table)
    text = out.getvalue()
    assert "\N{HORIZONTAL ELLIPSIS}" not in text
    # Folded, each name continues on the next line of its cell: both stay distinguishable.
    assert "logreg[C=0." in text and "logreg[C=1." in text


def test_the_friedman_line_reads_as_a_sentence_and_an_infinite_f_is_not_a_p_value():
    from rigorlab.cli._compare import _ranking_line
    from rigorlab.stats import compare_study, simulated_study_frame

    datasets = ("iris", "wine", "digits", "breast_cancer", "diabetes")
    alike = simulated_study_frame(
        arms=["a", "b", "c"], datasets=datasets, replicates=5, effects={"b": 0.05, "c": 0.1}, seed=2
    )
    line = _ranking_line(compare_study(alike, metric="accuracy", baseline="a", splits="resampled", n_resamples=200))
    assert line is not None and line.startswith("Across 5 datasets: average ranks (1 = best) c 1.00, b 2.00, a 3.00.")
    assert "Iman-Davenport F infinite (every dataset ranks the arms alike)" in line and "p = <" not in line
    mixed = simulated_study_frame(arms=["a", "b", "c"], datasets=datasets, replicates=5, effects={"b": 0.0, "c": 0.0})
    line = _ranking_line(compare_study(mixed, metric="accuracy", baseline="a", splits="resampled", n_resamples=200))
    assert line is not None and "Iman-Davenport F = " in line and "p = <" not in line
    assert "Friedman chi2 = " in line and ("(p = " in line or "(p < 0.001)" in line)


def test_p_values_near_the_level_keep_their_digits():
    from rigorlab.cli._compare import _p_value

    assert [_p_value(p) for p in (0.0498, 0.05, 0.012345, 0.135, 0.0004, float("nan"))] == [
        "0.0498",
        "0.05",
        "0.0123",
        "0.135",
        "<0.001",
        "-",
    ]


@pytest.fixture(scope="module")
def grid_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    grid = SMALL_STUDY.replace("params: {n_estimators: 10}", "params: {n_estimators: [5, 10]}")
    (folder / "study.yaml").write_text(grid)
    run_study(folder / "study.yaml", store=folder / "store", jobs=2)
    return folder / "store"


def test_grid_arm_names_keep_their_brackets_in_tables(grid_store):
    result = invoke("compare", "small", "--store", str(grid_store), "--resamples", "1000")
    assert result.exit_code == 0, result.output
    assert "forest[n_estimators=5]" in result.output and "forest[n_estimators=10]" in result.output
    shown = invoke("show", "small", "--store", str(grid_store))
    assert "forest[n_estimators=5]" in shown.output and "forest[n_estimators=10]" in shown.output


def test_markup_like_values_in_errors_are_printed_as_they_are(grid_store):
    result = invoke("compare", "small", "--store", str(grid_store), "--baseline", "[/x]")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "[/x]" in result.output


def test_contradictory_direction_flags_exit_2(stored):
    from rigorlab.cli._app import MSG_BOTH_DIRECTIONS

    for command in ("compare", "report"):
        result = invoke(command, "small", "--store", str(stored), "--higher-is-better", "--lower-is-better")
        assert result.exit_code == 2
        assert MSG_BOTH_DIRECTIONS in " ".join(result.output.split())


def test_a_missing_study_file_is_named_as_a_file(stored, tmp_path):
    from rigorlab.cli._app import MSG_STUDY_FILE_MISSING

    missing = str(tmp_path / "nope.yaml")
    result = invoke("compare", missing, "--store", str(stored))
    assert result.exit_code == 2
    assert " ".join(result.output.split()).startswith("Error: There is no study file " + missing)
    assert MSG_STUDY_FILE_MISSING.split("{path}")[0].strip() in result.output
