"""The report's data object on a real stored study: every arm and dataset, the statistics module's
verdicts, the stored numbers, the methods, checklist and caveats."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rigorlab import open_store
from rigorlab.errors import InputError, NotFoundError
from rigorlab.report import (
    MARK_NO_EVIDENCE,
    MARK_NOT_TESTED,
    MSG_NO_FINISHED_TRIALS,
    MSG_UNKNOWN_METRIC,
    ReportData,
    build_report,
)
from rigorlab.spec import derive_seeds
from rigorlab.stats import VERDICT_NO_EVIDENCE, compare_stored
from rigorlab.store import TrialResult

ARMS = ("logreg", "forest", "exploding")
DATASETS = ("iris", "wine")


@pytest.fixture(scope="module")
def data(report_store) -> ReportData:
    with open_store(report_store, read_only=True) as store:
        return build_report(store, "reportable", metrics=["roc_auc"], n_resamples=1000)


def test_every_declared_arm_and_dataset_is_in_every_table(data):
    assert data.arms == ARMS and data.datasets == DATASETS
    assert [result.metric for result in data.results] == ["accuracy", "roc_auc"]
    for result in data.results:
        assert result.table.arms == ARMS and result.table.datasets == DATASETS
        assert len(result.table.cells) == len(ARMS) * len(DATASETS)
        for arm in ARMS:
            for dataset in DATASETS:
                cell = result.table.cell(arm, dataset)
                assert (cell.arm, cell.dataset) == (arm, dataset)


def test_numbers_equal_the_stored_scores(data, report_store):
    with open_store(report_store, read_only=True) as store:
        stored = store.metrics("reportable")
    for result in data.results:
        rows = stored[stored["metric"] == result.metric]
        # Fold scores averaged within a replicate, then the mean over replicates.
        per_replicate = rows.groupby(["arm", "dataset", "replicate"])["value"].mean()
        expected = per_replicate.groupby(["arm", "dataset"]).agg(["mean", "count"])
        for (arm, dataset), row in expected.iterrows():
            cell = result.table.cell(arm, dataset)
            assert cell.mean == pytest.approx(row["mean"], rel=1e-12)
            assert cell.n == row["count"] == 3
            assert cell.low < cell.mean < cell.high or cell.low == cell.mean == cell.high
        scores = data.scores[data.scores["metric"] == result.metric].set_index(["arm", "dataset", "replicate"])
        pd.testing.assert_series_equal(
            scores["value"].sort_index(), per_replicate.sort_index(), check_names=False, rtol=1e-12
        )


def test_marks_follow_the_statistics_verdicts(data, report_store):
    with open_store(report_store, read_only=True) as store:
        for result in data.results:
            expected = compare_stored(store, "reportable", metric=result.metric, n_resamples=1000)
            verdicts = {(r["arm"], r["dataset"]): r["verdict"] for r in expected.comparisons.to_dict("records")}
            assert verdicts, "the study must have comparisons to check"
            for (arm, dataset), verdict in verdicts.items():
                cell = result.table.cell(arm, dataset)
                assert cell.verdict == verdict
                assert (cell.mark == MARK_NO_EVIDENCE) == (verdict == VERDICT_NO_EVIDENCE)
            for dataset in DATASETS:
                baseline = result.table.cell("logreg", dataset)
                assert baseline.baseline and baseline.mark == "" and baseline.verdict is None
                assert MARK_NOT_TESTED not in result.table.cell("forest", dataset).mark


def test_best_per_dataset_is_bold_and_failed_arms_show_no_number(data):
    for result in data.results:
        table = result.table
        for dataset in DATASETS:
            present = [table.cell(arm, dataset) for arm in ARMS if table.cell(arm, dataset).present]
            best = max(cell.mean for cell in present) if result.higher_is_better else min(c.mean for c in present)
            bold = [cell for cell in present if cell.best]
            assert bold and all(round(cell.mean, table.digits) == round(best, table.digits) for cell in bold)
            exploding = table.cell("exploding", dataset)
            assert not exploding.present and math.isnan(exploding.mean) and not exploding.best and exploding.mark == ""
        assert "Holm" in table.legend and "Nadeau-Bengio" in table.legend and MARK_NO_EVIDENCE in table.legend


def test_failures_and_caveats_name_the_failed_trials(data):
    assert len(data.failures) == 2
    for group in data.failures:
        assert group.arm == "exploding" and group.status == "failed" and group.count == 9
        assert group.error == "RuntimeError: planted failure" and group.replicates == (0, 1, 2)
    topics = {caveat.topic for caveat in data.caveats}
    assert {"failures", "statistics"} <= topics
    failures = next(caveat for caveat in data.caveats if caveat.topic == "failures")
    assert "18 of 54 stored trials did not finish (exploding)" in failures.text
    assert any("only 3 replicates" in caveat.text for caveat in data.caveats)
    assert any("Arm 'exploding' has no results" in caveat.text for caveat in data.caveats)
    assert data.trial_counts == {"done": 36, "failed": 18, "planned": 54}


def test_methods_are_written_from_the_store(data):
    methods = {paragraph.title: paragraph.text for paragraph in data.methods}
    assert list(methods) == [
        "Data",
        "Protocol",
        "Seeds",
        "Models and hyperparameters",
        "Metrics",
        "Statistical analysis",
        "Hardware and software",
        "Compute",
        "Code",
    ]
    assert "iris (the scikit-learn built-in loaded with sklearn.datasets.load_iris" in methods["Data"]
    assert "150 rows and 4 feature columns" in methods["Data"] and "3 classes (0: 50, 33.3%" in methods["Data"]
    assert "3-fold cross-validation (stratified by class for classification) repeated 3 times" in methods["Protocol"]
    assert "54 trials in all (3 arms x 2 datasets x 3 replicates x 3 folds)" in methods["Protocol"]
    assert "SeedSequence(7, spawn_key=(r,))" in methods["Seeds"]
    assert "The stored seeds of 4 of 4 checked trials equal this derivation" in methods["Seeds"]
    models = methods["Models and hyperparameters"]
    assert "C in {0.1, 1.0} selected on each training set by 2-fold inner cross-validation" in models
    assert "maximising accuracy" in models and "selected: iris: C:" in models
    assert "Nadeau-Bengio corrected resampled t-test" in methods["Statistical analysis"]
    assert "Holm's correction" in methods["Statistical analysis"]
    statistics = methods["Statistical analysis"]
    assert "seed 0)" in statistics and "Bonferroni level alpha/m" in statistics
    assert "Python 3." in methods["Hardware and software"] and "scikit-learn" in methods["Hardware and software"]
    assert "The 36 finished trials took" in methods["Compute"] and "18 trials did not finish" in methods["Compute"]
    assert "outside a git work tree" in methods["Code"]
    fingerprints = set(data.datasets_table["fingerprint (SHA-256)"])
    assert all(len(value) == 64 for value in fingerprints) and len(fingerprints) == 2
    logreg = data.hyperparameters_table.set_index("arm").loc["logreg"]
    assert logreg["searched grid"] == "C: 0.1, 1.0" and logreg["selection"] == "2-fold inner CV"
    counts = logreg["selected values (count/trials)"]
    assert counts.startswith("iris: C: ") and "/9)" in counts
    assert len(data.environment_table) == 1 and data.environment_table["Python"].iloc[0].startswith("3.")


def test_the_stated_seed_and_confidence_are_the_ones_used(synthetic_store):
    """The review: the methods always said "seed 0" and the curves' caption always "95%"."""
    with open_store(synthetic_store, read_only=True) as store:
        data = build_report(store, "synthetic", n_resamples=200, seed=11, confidence=0.9)
    methods = {paragraph.title: paragraph.text for paragraph in data.methods}
    assert "200 bootstrap resamples where a bootstrap is used, seed 11)" in methods["Statistical analysis"]
    assert "90%" in methods["Statistical analysis"]
    curves = [figure for figure in data.figures if figure.kind == "curves"]
    assert curves and all("90% Student-t interval" in figure.caption for figure in curves)
    assert all("95%" not in figure.caption for figure in data.figures)


def test_checklist_answers_from_the_store(data):
    items = {item.topic: item for item in data.checklist}
    assert {item.item for item in data.checklist} == {4, 5, 6, 7, 8, 12}
    assert items["Random seeds"].status == "yes"
    assert items["Data availability"].status == "yes"
    assert items["Hyperparameters and their selection"].status == "yes"
    assert items["Error bars"].status == "yes" and "3 or more replicates" in items["Error bars"].answer
    assert items["Code availability"].status == "missing" and "git" in items["Code availability"].remedy
    assert items["Licenses of datasets"].status == "missing" and "iris, wine" in items["Licenses of datasets"].remedy
    assert items["Compute hardware"].status == "yes"
    for item in data.checklist:
        assert item.question and item.answer and item.evidence
        assert item.status in ("yes", "partial", "missing", "n/a")
        assert item.status in ("yes", "n/a") or item.remedy


def test_a_chosen_metric_that_is_not_stored_is_refused(report_store):
    with open_store(report_store, read_only=True) as store, pytest.raises(NotFoundError) as raised:
        build_report(store, "reportable", metrics=["f1_macro"])
    assert str(raised.value) == MSG_UNKNOWN_METRIC.format(
        metric="f1_macro", study="reportable", available="accuracy, roc_auc"
    )


def test_a_study_without_finished_trials_is_refused(tmp_path):
    with open_store(tmp_path / "store", create=True) as store:
        store.save_study("empty")
        store.save_plan("empty", [("k1", "a", "iris", 0, 0)])
        store.save_trials(
            "empty",
            [
                TrialResult(
                    key="k1",
                    arm="a",
                    dataset="iris",
                    replicate=0,
                    fold=0,
                    status="failed",
                    config={},
                    seeds=derive_seeds(1, 0).to_dict(),
                    error="ValueError: no",
                )
            ],
        )
    with open_store(tmp_path / "store", read_only=True) as store, pytest.raises(InputError) as raised:
        build_report(store, "empty")
    assert str(raised.value) == MSG_NO_FINISHED_TRIALS.format(study="empty", stored=1, states="1 failed", planned=1)


def test_an_unknown_study_is_refused_with_the_closest_name(report_store):
    with (
        open_store(report_store, read_only=True) as store,
        pytest.raises(NotFoundError, match="Did you mean 'reportable'"),
    ):
        build_report(store, "reportabel")
