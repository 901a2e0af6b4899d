"""A group-shift study end to end: scikit-lego's arrests, trained on 1997-2000 and tested on 2001-2002,
with the in-distribution score (held-out rows of the training years) stored beside the shifted one,
for a scikit-learn and a torch arm; refit audits, the check command and the report read it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rigorlab.cli import app
from rigorlab.errors import DataError
from rigorlab.execution import IN_DISTRIBUTION, load_datasets, prepare, run_study
from rigorlab.spec import load_study
from rigorlab.store import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHIFT_STUDY = """\
study: shift
seed: 9
replicates: 2
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    sensitive: [colour, sex]
    group: year
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000}
    preprocess: [one_hot, standard_scale]
  - name: mlp
    trainer: torch
    module: rigorlab_examples.nets:MLP
    params: {hidden: 8, layers: 1}
    preprocess: [one_hot, standard_scale]
    training: {epochs: 2, batch_size: 128}
protocol: {kind: group_shift, train_until: 2000, test_size: 0.3}
metrics: [accuracy, roc_auc]
baseline: logreg
"""


@pytest.fixture(scope="module")
def shift_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("shift")
    shutil.copytree(EXAMPLES / "rigorlab_examples", folder / "rigorlab_examples")
    study = folder / "study.yaml"
    study.write_text(SHIFT_STUDY)
    summary = run_study(study, store=folder / ".rigorlab", jobs=2)
    assert (summary.done, summary.failed) == (4, 0), [f.error for f in summary.failures]
    return study, folder / ".rigorlab"


@pytest.mark.slow
def test_trials_store_the_shifted_and_the_in_distribution_scores(shift_study):
    study_file, store_path = shift_study
    dataset = load_datasets(load_study(study_file))["arrests"]
    years = dataset.group.to_numpy()
    with open_store(store_path, read_only=True) as store:
        trials = store.trials("shift", status="done")
        metrics = set(store.metrics("shift")["metric"])
        assert metrics == {"accuracy", "roc_auc", f"accuracy{IN_DISTRIBUTION}", f"roc_auc{IN_DISTRIBUTION}"}
        for key in trials["key"]:
            predictions, split = store.predictions("shift", key), store.split("shift", key)
            shifted = predictions["test_index"]
            assert set(years[shifted]) == {2001, 2002} and len(shifted) == int((years > 2000).sum())
            assert set(years[split["train"]]) == {1997, 1998, 1999, 2000}
            held_out = np.setdiff1d(split["test"], shifted)
            assert set(years[held_out]) <= {1997, 1998, 1999, 2000}
            assert not np.intersect1d(held_out, split["train"]).size
            assert int(store.trial_tags("shift", key)["in_distribution_rows"]) == len(held_out)
    assert (trials["n_test"] == int((years > 2000).sum())).all()
    assert trials[f"accuracy{IN_DISTRIBUTION}"].notna().all() and trials["accuracy"].notna().all()
    assert set(trials["arm"]) == {"logreg", "mlp"}


@pytest.mark.slow
def test_refit_audits_and_the_report_read_a_shift_study(shift_study, tmp_path):
    from rigorlab.audits import audit_study
    from rigorlab.report import build_report, write_report

    study_file, template = shift_study
    store_path = tmp_path / "store"
    shutil.copytree(template, store_path)
    options = {
        "robustness": {"noise_levels": [0.0, 0.5], "swap_rates": [0.0, 0.25], "repeats": 1, "max_rows": 300},
        "fairness": {"n_boot": 100},
    }
    summary = audit_study(study_file, store=store_path, only="fairness,robustness", options=options, jobs=2)
    assert (summary.done, summary.failed) == (8, 0), [r.error for r in summary.failures]  # refit matched
    with open_store(store_path, read_only=True) as store:
        data = build_report(store, "shift", n_resamples=500)
    shift = data.audits[0]
    assert shift.title == "Distribution shift" and [s.title for s in data.audits[1:]] == ["Fairness", "Robustness"]
    table = shift.tables[0].frame
    assert list(table.columns) == [
        "arm",
        "dataset",
        "metric",
        "replicates",
        "in distribution",
        "shifted",
        "shifted - in distribution",
    ]
    assert table["metric"].tolist() == ["accuracy", "accuracy", "roc_auc", "roc_auc"]  # the primary metric first
    assert len(shift.figures) == 1
    files = write_report(data, tmp_path / "report", formats=["md"])
    markdown = files.path("report.md").read_text()
    assert "### Distribution shift" in markdown and "in distribution" in markdown


def test_check_shows_the_training_groups(write_study):
    path = write_study(SHIFT_STUDY.replace("  - name: mlp\n", "  - name: mlp2\n"))
    shutil.copytree(EXAMPLES / "rigorlab_examples", path.parent / "rigorlab_examples")
    result = CliRunner().invoke(app, ["check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "arrests: trains on year in (1997, 1998, 1999, 2000) and tests on the other groups" in result.output
    assert "0.3 of the training groups' rows are the in-distribution test" in result.output


def test_unknown_training_groups_name_the_protocol_line(write_study):
    text = SHIFT_STUDY.replace("train_until: 2000", "train_groups: [1996, 1997]").split("  - name: mlp")[0]
    text += "protocol: {kind: group_shift, train_groups: [1996, 1997]}\nmetrics: [accuracy]\n"
    text = text.replace("protocol: {kind: group_shift, train_groups: [1996, 1997], test_size: 0.3}\n", "")
    path = write_study(text)
    with pytest.raises(DataError) as caught:
        prepare(path)
    message = str(caught.value).replace(str(path), "study.yaml")
    assert message.startswith("Dataset 'arrests': train_groups names 1996, which the group column 'year' does not")
    assert message.endswith("(study.yaml:16).")
