"""Torch models in a study: run through the driver and workers, stored like any trial, resumable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rigorlab import open_store, run_study
from rigorlab.data import load_dataset
from rigorlab.execution import BatchTask, LocalExecutor, TrialTask, group_tasks, prepare
from rigorlab.execution._local import MSG_BATCH_TIMEOUT
from rigorlab.models import compute_metric
from rigorlab.spec import DatasetSpec

# torch modules written beside the study files that use them, as a user's own module would be.
NETS = """
import time

import torch
from torch import nn


class TinyMLP(nn.Module):
    def __init__(self, in_features, out_features, hidden=8, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_features)
        )

    def forward(self, rows):
        return self.net(rows)


class WithBatchNorm(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, out_features))

    def forward(self, rows):
        return self.net(rows)


class OneOutput(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, rows):
        return self.linear(rows)


class Slow(TinyMLP):
    def forward(self, rows):
        time.sleep(0.2)
        return super().forward(rows)


class NotAModule:
    pass
"""

TORCH_STUDY = """\
study: torchy
seed: 11
replicates: 3
datasets:
  - name: iris
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 500}
  - name: mlp
    trainer: torch
    module: torch_nets:TinyMLP
    params: {hidden: 8, dropout: 0.1}
    preprocess: [standard_scale]
    training:
      lr: 0.02
      epochs: 6
      batch_size: 16
      early_stopping: {patience: 3}
protocol: {kind: repeated_kfold, folds: 3}
metrics: [accuracy, roc_auc, log_loss]
baseline: logreg
"""


def builtin(name: str):
    from pathlib import Path

    return load_dataset(DatasetSpec(name=name), Path("."))


@pytest.fixture
def torch_study(write_study, tmp_path):
    """Write the nets module and a study file; returns write(text) -> path."""

    def write(text: str = TORCH_STUDY, name: str = "study.yaml"):
        (tmp_path / "torch_nets.py").write_text(NETS)
        return write_study(text, name)

    return write


@pytest.mark.slow
def test_a_torch_model_runs_batched_and_is_stored_like_any_trial(torch_study, store_path):
    summary = run_study(torch_study(), store=store_path, jobs=2)
    assert summary.done == 2 * 3 * 3 and summary.failed == 0
    with open_store(store_path) as store:
        trials = store.trials("torchy")
        mlp = trials[trials.arm == "mlp"]
        key = mlp.key.iloc[0]
        predictions = store.predictions("torchy", key)
        curves = store.curves("torchy", key)
        provenance = store.provenance("torchy", key)
    assert len(mlp) == 9 and (mlp.fit_seconds > 0).all()
    assert set(predictions) == {"test_index", "y_true", "y_pred", "classes", "scores"}
    assert predictions["scores"].shape == (len(predictions["y_true"]), 3)
    np.testing.assert_allclose(predictions["scores"].sum(axis=1), 1.0)
    recomputed = compute_metric(
        "log_loss", predictions["y_true"], predictions["y_pred"], predictions["scores"], predictions["classes"]
    )
    assert mlp[mlp.key == key].log_loss.item() == pytest.approx(recomputed)
    names = set(curves.name)
    assert names == {"train_loss", "val_loss", "val_accuracy"}
    assert curves[curves.name == "train_loss"].step.tolist() == list(range(1, len(curves) // 3 + 1))
    assert provenance["config"]["trainer"] == "torch"
    assert provenance["config"]["training"]["early_stopping"] == {"patience": 3, "min_delta": 0.0, "restore_best": True}
    assert "batched" not in provenance["config"]["training"]  # how it ran is not part of the key
    assert provenance["environment"]["packages"]["torch"]
    with open_store(store_path) as store:
        tags = store.trial_tags("torchy", key)
    assert tags["batched"] == "stack of 3" and tags["device"] == "cpu"
    assert isinstance(provenance["environment"]["gpus"], list)


@pytest.mark.slow
def test_batched_and_one_at_a_time_studies_store_the_same_numbers(torch_study, tmp_path):
    batched_store, single_store = tmp_path / "batched", tmp_path / "single"
    run_study(torch_study(), store=batched_store, jobs=2)
    unbatched = TORCH_STUDY.replace("      batch_size: 16\n", "      batch_size: 16\n      batched: false\n")
    run_study(torch_study(unbatched, "single.yaml"), store=single_store, jobs=1)
    with open_store(batched_store) as first, open_store(single_store) as second:
        metrics_a = first.metrics("torchy").sort_values(["key", "metric"]).reset_index(drop=True)
        metrics_b = second.metrics("torchy").sort_values(["key", "metric"]).reset_index(drop=True)
        keys = first.trials("torchy").key.tolist()
        for key in keys:
            a, b = first.predictions("torchy", key), second.predictions("torchy", key)
            for name in a:
                assert np.array_equal(a[name], b[name])
            curves_a = first.curves("torchy", key)[["name", "step", "value"]].reset_index(drop=True)
            pd.testing.assert_frame_equal(curves_a, second.curves("torchy", key)[["name", "step", "value"]])
    # Same keys (batched is not part of them) and bit-identical numbers.
    pd.testing.assert_frame_equal(metrics_a[["key", "metric", "value"]], metrics_b[["key", "metric", "value"]])


@pytest.mark.slow
def test_resume_batches_only_the_pending_replicates(torch_study, store_path, tmp_path):
    fewer = TORCH_STUDY.replace("replicates: 3", "replicates: 2")
    run_study(torch_study(fewer), store=store_path, jobs=2)
    more = run_study(torch_study(), store=store_path, jobs=2)
    assert more.already_done == 12 and more.done == 6
    full_store = tmp_path / "full"
    run_study(torch_study(), store=full_store, jobs=2)
    with open_store(store_path) as resumed, open_store(full_store) as full:
        a = resumed.metrics("torchy").sort_values(["key", "metric"]).reset_index(drop=True)
        b = full.metrics("torchy").sort_values(["key", "metric"]).reset_index(drop=True)
        tags = resumed.trials("torchy")
    pd.testing.assert_frame_equal(a[["key", "metric", "value"]], b[["key", "metric", "value"]])
    assert len(tags) == 18


def test_pending_replicates_of_an_arm_fold_become_one_batch(torch_study):
    _, _, plan = prepare(torch_study())
    tasks = [
        TrialTask(t, plan.splits[t.split_fingerprint].train, plan.splits[t.split_fingerprint].test, None)
        for t in plan.trials
    ]
    work = group_tasks(tasks)
    batches = [w for w in work if isinstance(w, BatchTask)]
    assert len(batches) == 3  # one per fold
    assert all(len(b.tasks) == 3 and len({t.trial.fold for t in b.tasks}) == 1 for b in batches)
    assert sum(len(w.tasks) for w in work) == len(plan.trials)
    single = [w for w in work if isinstance(w, TrialTask)]
    assert {w.trial.arm.name for w in single} == {"logreg"}
    limited = TORCH_STUDY.replace("batch_size: 16\n", "batch_size: 16\n      max_stack: 2\n")
    _, _, plan = prepare(torch_study(limited, "limited.yaml"))
    tasks = [
        TrialTask(t, plan.splits[t.split_fingerprint].train, plan.splits[t.split_fingerprint].test, None)
        for t in plan.trials
    ]
    sizes = sorted(len(w.tasks) for w in group_tasks(tasks) if w.tasks[0].trial.arm.is_torch)
    assert sizes == [1, 1, 1, 2, 2, 2]


def test_a_batch_past_its_timeout_fails_each_of_its_trials(torch_study, store_path):
    text = (
        TORCH_STUDY.replace("torch_nets:TinyMLP", "torch_nets:Slow")
        .replace("replicates: 3", "replicates: 2")
        .replace("    preprocess: [standard_scale]\n", "    preprocess: [standard_scale]\n    timeout: 1\n")
    )
    loaded, datasets, plan = prepare(torch_study(text))
    mlp = [t for t in plan.trials if t.arm.name == "mlp" and t.fold == 0]
    batch = BatchTask(
        tuple(
            TrialTask(t, plan.splits[t.split_fingerprint].train, plan.splits[t.split_fingerprint].test, t.arm.timeout)
            for t in mlp
        )
    )
    with LocalExecutor(jobs=1, import_paths=[str(loaded.base_dir)]) as executor:
        results = list(executor.run([batch], datasets))
    assert sorted(r.key for r in results) == sorted(t.key for t in mlp)
    assert {r.error for r in results} == {MSG_BATCH_TIMEOUT.format(size=2, seconds=1)}


def test_a_module_vmap_cannot_batch_trains_one_at_a_time(torch_study, store_path):
    text = (
        TORCH_STUDY.replace("torch_nets:TinyMLP", "torch_nets:WithBatchNorm")
        .replace("params: {hidden: 8, dropout: 0.1}", "params: {}")
        .replace("replicates: 3", "replicates: 2")
        .replace("folds: 3}", "folds: 2}")
    )
    summary = run_study(torch_study(text), store=store_path, jobs=1)
    assert summary.failed == 0
    with open_store(store_path) as store:
        trials = store.trials("torchy")
        tags = store.trial_tags("torchy", trials[trials.arm == "mlp"].key.iloc[0])
    assert tags["batched"].startswith("one at a time: BatchNorm1d layer 'net.1' updates its running statistics")
    assert tags["device"] == "cpu" and int(tags["epochs"]) >= 1


def load_error(write, text: str) -> str:
    from rigorlab.errors import SpecError
    from rigorlab.spec import load_study

    path = write(text)
    with pytest.raises(SpecError) as caught:
        load_study(path)
    return str(caught.value).replace(str(path), "study.yaml")


def prepare_error(write, text: str) -> str:
    from rigorlab.errors import InputError

    path = write(text)
    with pytest.raises(InputError) as caught:
        prepare(path)
    return str(caught.value).replace(str(path), "study.yaml")


def test_a_module_that_does_not_import_names_the_field_and_line(torch_study):
    message = load_error(torch_study, TORCH_STUDY.replace("torch_nets:TinyMLP", "torch_nets:TinyMPL"))
    assert message.startswith(
        "The 'module' field of models[1] (mlp) names 'torch_nets:TinyMPL', which cannot be imported: AttributeError"
    )
    assert "(study.yaml:12)" in message
    message = load_error(torch_study, TORCH_STUDY.replace("torch_nets:TinyMLP", "torch_nets:NotAModule"))
    assert message == (
        "The 'module' field of models[1] (mlp) names 'torch_nets:NotAModule', which is not a torch.nn.Module subclass "
        "(study.yaml:12). Give a class that derives from torch.nn.Module; rigorlab constructs it with params: and "
        "trains it."
    )
    message = load_error(torch_study, TORCH_STUDY.replace("{hidden: 8, dropout: 0.1}", "{hiden: 8}"))
    assert "sets 'hiden', which TinyMLP does not take (study.yaml:13). Did you mean 'hidden'?" in message


def test_fields_that_do_not_fit_the_trainer(torch_study):
    message = load_error(torch_study, TORCH_STUDY.replace("    module: torch_nets:TinyMLP\n", ""))
    assert message == (
        "The 'module' field of models[1] (mlp): model 'mlp' has trainer: torch and needs module: (the import path of "
        "a torch.nn.Module class, e.g. mypackage.models:MLP) (study.yaml:10)."
    )
    message = load_error(torch_study, TORCH_STUDY.replace("    trainer: torch\n", ""))
    assert message.startswith(
        "The 'module' field of models[1] (mlp): model 'mlp' is a scikit-learn model; module: "
        "and training: apply only to trainer: torch"
    )
    message = load_error(torch_study, TORCH_STUDY.replace("lr: 0.02", "lr: [0.01, 0.02]"))
    assert message.startswith("The 'lr' field of training must be a number. Got [0.01, 0.02] instead")
    message = load_error(torch_study, TORCH_STUDY.replace("optimizer", "x").replace("lr: 0.02", "optimiser: adam"))
    assert "Unknown field 'optimiser' in training (study.yaml:16). Did you mean 'optimizer'?" in message
    nested = TORCH_STUDY.replace("{hidden: 8, dropout: 0.1}", "{hidden: [4, 8]}").replace(
        "folds: 3}", "folds: 3, inner_folds: 2}"
    )
    assert "nested selection (protocol.inner_folds) is available for scikit-learn models only" in load_error(
        torch_study, nested
    )


def test_a_torch_grid_without_inner_folds_becomes_arms(torch_study):
    from rigorlab.spec import expand_arms, load_study

    spec = load_study(torch_study(TORCH_STUDY.replace("{hidden: 8, dropout: 0.1}", "{hidden: [4, 8]}"))).spec
    arms = expand_arms(spec)
    assert [a.name for a in arms] == ["logreg", "mlp[hidden=4]", "mlp[hidden=8]"]
    assert arms[1].config()["training"]["epochs"] == 6 and arms[1].trainer == "torch"
    assert "trainer" not in arms[0].config()  # scikit-learn keys are unchanged by the torch trainer


def test_problems_found_on_the_data_name_the_field_and_line(torch_study):
    message = prepare_error(
        torch_study,
        TORCH_STUDY.replace("torch_nets:TinyMLP", "torch_nets:OneOutput").replace(
            "params: {hidden: 8, dropout: 0.1}", "params: {}"
        ),
    )
    assert message.startswith("Model 'mlp': the module torch_nets:OneOutput returns shape (2, 1) for a batch of 2 rows")
    assert message.endswith("(study.yaml:12)")
    message = prepare_error(torch_study, TORCH_STUDY.replace("batch_size: 16", "batch_size: 500"))
    assert message.startswith("The 'batch_size' field of model 'mlp' training is 500, larger than the 90 rows")
    assert message.endswith("(study.yaml:18)")
    message = prepare_error(
        torch_study, TORCH_STUDY.replace("[accuracy, roc_auc, log_loss]", "[accuracy, top_k_accuracy]")
    )
    assert message.startswith("The metric 'top_k_accuracy' is a scikit-learn scorer, which needs a fitted scikit-learn")
    if not __import__("torch").cuda.is_available():
        message = prepare_error(torch_study, TORCH_STUDY.replace("epochs: 6", "epochs: 6\n      device: cuda"))
        assert message.startswith("The 'device' field of model 'mlp' training asks for cuda, but torch finds no CUDA")
        assert message.endswith("(study.yaml:18)")


def test_bad_input_exits_2_from_the_command_line(torch_study):
    from typer.testing import CliRunner

    from rigorlab.cli import app

    path = torch_study(TORCH_STUDY.replace("batch_size: 16", "batch_size: 500"))
    result = CliRunner().invoke(app, ["check", str(path)], env={"COLUMNS": "200", "RIGORLAB_STORE": ""})
    assert result.exit_code == 2
    assert "The 'batch_size' field of model 'mlp' training is 500" in result.output
    assert "Traceback" not in result.output
