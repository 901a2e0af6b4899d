"""What the new-user review found in reports, fixed: the metric and baseline a tracked study is
compared on (and why), intervals inside the metric's range with a legend that names the interval
used, learning curves after early stopping, caveats without placeholders, hyperparameter wording
that claims only what the store shows, and a table for every metric by default."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from typer.testing import CliRunner

from rigorlab import open_store, track
from rigorlab.cli import app
from rigorlab.report import build_report, default_metrics, keep_figures
from rigorlab.report._caveats import _with_ranges
from rigorlab.report._checklist import _error_bars
from rigorlab.report._facts import read_study
from rigorlab.spec import StudySpec
from tests.report.conftest import REPORT_STUDY, SYNTHETIC_TEXT

runner = CliRunner()
# Near-perfect accuracy of "good" (0.97 on average): a t interval over 5 replicates reaches past 1.
GOOD = (1.0, 0.95, 1.0, 0.9, 1.0)
BAD = (0.80, 0.82, 0.79, 0.81, 0.80)


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "240", "RIGORLAB_STORE": ""})


@pytest.fixture(scope="module")
def tracked_store(tmp_path_factory: pytest.TempPathFactory):
    """A hand-written loop: a loss curve and a val_accuracy curve per epoch, early stopping after 4
    epochs in 3 of 5 replicates, and an accuracy summary."""
    store = tmp_path_factory.mktemp("tracked") / "store"
    for arm, accuracies in (("bad", BAD), ("good", GOOD)):
        for replicate, accuracy in enumerate(accuracies):
            epochs = 10 if replicate < 2 else 4
            with track(study="loop", arm=arm, dataset="d", replicate=replicate, store=store) as run:
                for epoch in range(epochs):
                    # Near 1 with spread: the t band over replicates would reach past 1.
                    value = 1.0 if (epoch + replicate) % 3 else 0.9
                    run.log(step=epoch, loss=1.0 / (epoch + 1), val_accuracy=value)
                run.log_summary(accuracy=accuracy)
    return store


@pytest.fixture(scope="module")
def tracked_data(tracked_store):
    with open_store(tracked_store, read_only=True) as store:
        return build_report(store, "loop", n_resamples=200)


def test_a_tracked_report_names_the_metric_and_baseline_it_chose(tracked_data, tracked_store, tmp_path):
    assert tracked_data.primary_metric == "accuracy" and tracked_data.baseline == "bad"
    legend = tracked_data.primary.table.legend
    assert "accuracy (the study's recorded primary metric (set by rigorlab.track" in legend
    # A paper's legend gives the reason without the command-line hint ...
    assert "baseline bad (the first arm alphabetically) (" in legend and "--baseline" not in legend
    # ... and the command says how to record a choice.
    result = invoke(
        "report", "loop", "--store", str(tracked_store), "--out", str(tmp_path / "r"), "--format", "md",
        "--resamples", "200",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "note baseline bad: the first arm alphabetically. Record the study's baseline with" in result.stdout
    assert "rigorlab.track(baseline=...)" in result.stdout


def test_intervals_stay_inside_the_metrics_range_and_the_legend_says_so(tracked_data):
    good = tracked_data.primary.table.cell("good", "d")
    assert good.high == 1.0 and good.mean < 1.0
    legend = tracked_data.primary.table.legend
    assert "beyond the metric's range [0, 1] are cut at its edge" in legend
    assert "auto" not in legend


def test_learning_curves_stop_where_most_runs_stopped_and_bands_stay_in_range(tracked_data):
    curves = tracked_data.curves
    accuracy = curves[curves["name"] == "val_accuracy"]
    # Two of five replicates trained past step 3: fewer than half, so those steps are not drawn.
    assert accuracy["step"].max() == 3 and (accuracy["n"] == 5).all()
    assert (accuracy["high"] <= 1.0).all() and (accuracy["low"] >= 0.0).all()
    assert accuracy["high"].max() == 1.0  # the band was cut at 1
    captions = {spec.subject: spec.caption for spec in tracked_data.figures if spec.kind == "curves"}
    assert "at least half of the arm's replicates" in captions["val_accuracy"]
    assert "cut at the range of val_accuracy, [0, 1]" in captions["val_accuracy"]
    assert "cut at the range" not in captions["loss"]  # a tracked loss has no known range


def test_the_checklist_and_methods_name_the_interval_used(report_store):
    with open_store(report_store, read_only=True) as store:
        data = build_report(store, "reportable", n_resamples=200)
    items = {item.topic: item for item in data.checklist}
    error_bars = items["Error bars"].answer
    assert "auto" not in error_bars and "Nadeau-Bengio corrected" in error_bars
    assert "fold scores averaged within a replicate" not in error_bars
    assert "auto interval" not in data.primary.table.legend
    statistics = {paragraph.title: paragraph.text for paragraph in data.methods}["Statistical analysis"]
    assert "auto interval" not in statistics
    # Two datasets: no Friedman test and no critical-difference diagram, and the methods say why.
    assert "as a description only" in statistics
    assert all(spec.kind != "critical_difference" for spec in data.figures)


def test_a_group_shift_study_does_not_claim_resampled_test_rows(synthetic_store):
    shifted_text = SYNTHETIC_TEXT.replace(
        "protocol: {kind: holdout, test_size: 0.25}", "protocol: {kind: group_shift, train_until: 2000}"
    ).replace(
        "- {name: digits}",
        "- {name: arrests, package: sklego, path: data/arrests.zip, target: released, group: year}",
    )
    shifted = StudySpec.model_validate(yaml.safe_load(shifted_text))
    with open_store(synthetic_store, read_only=True) as store:
        data = build_report(store, "synthetic", n_resamples=200)
        facts = dataclasses.replace(read_study(store, "synthetic"), spec=shifted)
    answer = _error_bars(facts, data.results).answer
    assert "the shifted test rows are the same in every replicate" in answer
    assert "data splits, model initialisation" not in answer


def test_caveats_show_the_range_of_a_number_not_a_placeholder():
    heads = [
        "no number of replicates reaches 80% power for a difference of 0.0021",
        "no number of replicates reaches 80% power for a difference of 0.0158",
        "no number of replicates reaches 80% power for a difference of 0.0034",
    ]
    template = "no number of replicates reaches 80% power for a difference of #"
    assert _with_ranges(template, heads) == (
        "no number of replicates reaches 80% power for a difference of 0.0021 to 0.0158"
    )


def test_methods_and_checklist_claim_only_that_rigorlab_selected_nothing(synthetic_store):
    with open_store(synthetic_store, read_only=True) as store:
        data = build_report(store, "synthetic", n_resamples=200)
    models = {paragraph.title: paragraph.text for paragraph in data.methods}["Models and hyperparameters"]
    assert "rigorlab selected no hyperparameters: each arm's values were given in the study file." in models
    assert "fixed in advance" not in models and "none was tuned" not in models
    item = {item.topic: item for item in data.checklist}["Hyperparameters and their selection"]
    assert item.status == "partial" and "rigorlab selected no hyperparameters" in item.answer
    assert "State how these values were chosen" in item.remedy


def test_every_stored_metric_gets_a_table_and_the_primary_its_figures(report_store, tmp_path):
    with open_store(report_store, read_only=True) as store:
        assert default_metrics(store, "reportable") == ["accuracy", "roc_auc"]
    study_file = tmp_path / "study.yaml"
    study_file.write_text(REPORT_STUDY)
    out = tmp_path / "paper"
    result = invoke(
        "report", str(study_file), "--store", str(report_store), "--out", str(out), "--format", "md",
        "--resamples", "200",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "metrics accuracy, roc_auc (primary accuracy, baseline logreg)" in result.stdout
    assert f"{study_file}: study 'reportable'" in result.stderr
    text = (out / "report.md").read_text()
    assert "roc_auc" in text and "scores_accuracy" in text and "scores_roc_auc" not in text
    assert sorted(path.stem for path in (out / "figures").glob("*.png")) == ["comparison_accuracy", "scores_accuracy"]


def test_keep_figures_keeps_the_primary_and_the_curves(tracked_data):
    kept = keep_figures(tracked_data, [])
    assert {spec.subject for spec in kept.figures if spec.kind != "curves"} == {"accuracy"}
    assert [spec for spec in kept.figures if spec.kind == "curves"] == [
        spec for spec in tracked_data.figures if spec.kind == "curves"
    ]


def test_the_report_takes_the_primary_metrics_direction_from_the_command(tracked_store, tmp_path):
    with open_store(tracked_store, read_only=True) as store:
        flipped = build_report(store, "loop", n_resamples=200, higher_is_better=False)
    assert flipped.primary.higher_is_better is False
    assert flipped.primary.comparison.higher_is_better is False
    # the "good" arm (higher accuracy) is now the worse one, so it is not in bold
    assert not flipped.primary.table.cell("good", "d").best
    assert flipped.primary.table.cell("bad", "d").best
    result = invoke(
        "report", "loop", "--store", str(tracked_store), "--out", str(tmp_path / "r"), "--format", "md",
        "--resamples", "200", "--lower-is-better",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
