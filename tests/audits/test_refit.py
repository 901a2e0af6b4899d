"""One refit path: the runner and the audits fit a trial's model with the same function, so a refit torch
arm (trained in a stack, refit alone) predicts exactly what was stored and exposes its network for
gradient attacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rigorlab.audits import audit_study, audit_tables, check_refit, current_audit_results, refit_trial_model
from rigorlab.audits._tasks import _trial_inputs
from rigorlab.execution import load_datasets, model_inputs, run_study
from rigorlab.spec import load_study
from rigorlab.store import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TORCH_STUDY = """\
study: torch-refit
seed: 5
replicates: 2
datasets:
  - name: breast_cancer
models:
  - name: mlp
    trainer: torch
    module: rigorlab_examples.nets:MLP
    params: {hidden: 16, layers: 1, dropout: 0.1}
    preprocess: [standard_scale]
    training: {epochs: 4, batch_size: 32, validation_fraction: 0.1}
  - name: batchnorm
    trainer: torch
    module: rigorlab_examples.nets:BatchNormMLP
    params: {hidden: 8}
    preprocess: [standard_scale]
    training: {epochs: 3, batch_size: 32}
protocol: {kind: stratified_kfold, folds: 2}
metrics: [accuracy]
"""


@pytest.fixture(scope="module")
def torch_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("torch_refit")
    shutil.copytree(EXAMPLES / "rigorlab_examples", folder / "rigorlab_examples")
    study = folder / "study.yaml"
    study.write_text(TORCH_STUDY)
    summary = run_study(study, store=folder / ".rigorlab", jobs=2)
    assert (summary.done, summary.failed) == (8, 0)
    return study, folder / ".rigorlab"


@pytest.mark.slow
def test_torch_arms_refit_to_their_stored_predictions(torch_study):
    import torch

    study_file, store_path = torch_study
    dataset = load_datasets(load_study(study_file))["breast_cancer"]
    with open_store(store_path, read_only=True) as store:
        trials = store.trials("torch-refit", status="done")
        for key, arm in zip(trials["key"], trials["arm"], strict=True):
            trial = _trial_inputs(store, "torch-refit", str(key), with_split=True)
            model = refit_trial_model(dataset, trial)
            rows = model_inputs(dataset, trial.config).iloc[trial.predictions["test_index"]]
            assert np.array_equal(model.predict(rows), trial.predictions["y_pred"]), arm
            assert np.array_equal(model.predict_proba(rows), trial.predictions["scores"]), arm
            check_refit(model, dataset, trial)
            network = model[-1].module_
            assert isinstance(network, torch.nn.Module)
            logits = network(torch.tensor(model[:-1].transform(rows)))
            assert np.array_equal(model.classes_[logits.argmax(1).numpy()], trial.predictions["y_pred"])


@pytest.mark.slow
def test_gradient_attacks_run_on_refit_torch_arms(torch_study, tmp_path):
    study_file, template = torch_study
    store_path = tmp_path / "store"
    shutil.copytree(template, store_path)
    options = {
        "robustness": {
            "noise_levels": [0.0, 0.5],
            "swap_rates": [0.0],
            "repeats": 1,
            "max_rows": 100,
            "epsilons": [0.0, 0.5],
            "attack_rows": 40,
            "blackbox_rows": 0,
        }
    }
    summary = audit_study(study_file, store=store_path, only="robustness", options=options)
    assert (summary.done, summary.failed, summary.skipped) == (4, 0, 0), [r.error for r in summary.failures]
    with open_store(store_path, read_only=True) as store:
        tables = audit_tables(current_audit_results(store, "torch-refit"), "robustness")
    attacks = tables["adversarial_summary"]
    assert set(attacks["attack"]) == {"fgsm", "pgd"} and set(attacks["arm"]) == {"mlp", "batchnorm"}
    strong = attacks[attacks["epsilon"] == 0.5].set_index(["arm", "attack"])["estimate"]
    clean = attacks[attacks["epsilon"] == 0.0].set_index(["arm", "attack"])["estimate"]
    assert (strong <= clean).all() and (strong < clean).any()  # a large perturbation fools the networks
