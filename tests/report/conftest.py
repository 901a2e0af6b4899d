"""Fixtures for the report tests: one small real study (run once per session), and stores written
with the store's own writing API for what a quick real run does not produce (learning curves,
verifications, several environments and git states, a study without a study file).

Every fixture store is only read by the tests (reports open it read-only), so sharing them across
tests keeps the suite fast without making tests depend on each other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from rigorlab import run_study
from rigorlab.provenance import capture_environment, environment_hash
from rigorlab.spec import StudySpec, derive_seeds
from rigorlab.store import TrialResult, open_store
from tests.conftest import HELPERS

# 3 arms x 2 datasets x 3 replicates x 3 folds = 54 trials: logreg's C is selected by an inner CV,
# and "exploding" fails every trial (a user's estimator that raises).
REPORT_STUDY = """\
study: reportable
question: Does a forest beat a tuned logistic regression on iris and wine?
seed: 7
replicates: 3
datasets:
  - name: iris
  - name: wine
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {C: [0.1, 1.0], max_iter: 500}
    preprocess: [standard_scale]
  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 10}
  - name: exploding
    estimator: helper_estimators.Exploding
    params: {message: planted failure}
protocol: {kind: repeated_kfold, folds: 3, inner_folds: 2}
metrics: [accuracy, roc_auc]
baseline: logreg
"""

SYNTHETIC = "synthetic"
SYNTHETIC_TEXT = """\
study: synthetic
question: Does a wider network train better?
seed: 3
replicates: 4
datasets:
  - {name: digits}
models:
  - {name: small, estimator: sklearn.linear_model.LogisticRegression, params: {C: 0.5}}
  - {name: wide, estimator: sklearn.linear_model.LogisticRegression, params: {C: 2.0}}
protocol: {kind: holdout, test_size: 0.25}
metrics: [accuracy]
primary_metric: accuracy
baseline: small
"""


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of REPORT_STUDY (outside any git work tree)."""
    folder = tmp_path_factory.mktemp("report-study")
    (folder / "helper_estimators.py").write_text(HELPERS)
    (folder / "study.yaml").write_text(REPORT_STUDY)
    summary = run_study(folder / "study.yaml", store=folder / "store", jobs=2)
    assert summary.done == 36 and summary.failed == 18
    return folder / "store"


def _environment(numpy_version: str, gpu: str | None) -> tuple[str, dict[str, object]]:
    environment = dict(capture_environment())
    environment["packages"] = {**environment["packages"], "numpy": numpy_version}  # type: ignore[dict-item]
    environment["gpus"] = [{"name": gpu, "driver": "550.54", "memory_mib": 81559}] if gpu else []
    return environment_hash(environment), environment


def write_synthetic_store(root: Path) -> Path:
    """2 arms x 1 dataset x 4 replicates (hold-out) with learning curves, run by two invocations
    in two environments (numpy versions and GPUs differ) from two git states (one dirty), and
    verified: every trial of "small" identical, one trial of "wide" different."""
    spec = StudySpec.model_validate(yaml.safe_load(SYNTHETIC_TEXT))
    rng = np.random.default_rng(5)
    environments = [_environment("2.0.0", "NVIDIA H100 80GB HBM3"), _environment("2.1.0", "NVIDIA A100-SXM4-80GB")]
    gits = [
        {
            "commit": "a" * 40,
            "branch": "main",
            "dirty": False,
            "diff": "",
            "diff_sha256": hashlib.sha256(b"").hexdigest(),
        },
        {
            "commit": "b" * 40,
            "branch": "main",
            "dirty": True,
            "diff": "+x",
            "diff_sha256": hashlib.sha256(b"+x").hexdigest(),
        },
    ]
    with open_store(root, create=True) as store:
        store.save_study(
            SYNTHETIC,
            question=spec.question,
            spec=spec.model_dump(mode="json", by_alias=True),
            spec_text=SYNTHETIC_TEXT,
            primary_metric="accuracy",
            baseline="small",
        )
        store.save_datasets(
            SYNTHETIC,
            [
                {
                    "name": "digits",
                    "rows": 1797,
                    "columns": 64,
                    "numeric_columns": 64,
                    "categorical_columns": 0,
                    "task": "classification",
                    "target": "target",
                    "fingerprint": "f" * 64,
                    "sensitive": [],
                    "group": None,
                    "missing_values": 0,
                    "class_balance": {str(c): 180 for c in range(10)},
                    "source": {"kind": "builtin", "loader": "sklearn.datasets.load_digits", "sklearn": "1.9.1"},
                }
            ],
        )
        plan = [(f"{arm}-{r}".ljust(32, "0"), arm, "digits", r, 0) for arm in ("small", "wide") for r in range(4)]
        store.save_plan(SYNTHETIC, plan)
        for half, ((env_hash, environment), git) in enumerate(zip(environments, gits, strict=True)):
            store.save_environment(env_hash, environment)
            run_id = store.start_run(
                SYNTHETIC, command=["rigorlab", "run", "study.yaml"], git=git, environment_hash=env_hash
            )
            results = []
            for key, arm, dataset, replicate, fold in plan:
                if replicate % 2 != half:
                    continue
                losses = 1.0 / (1 + np.arange(6)) + (0.2 if arm == "small" else 0.1) + rng.normal(0, 0.01, 6)
                results.append(
                    TrialResult(
                        key=key,
                        arm=arm,
                        dataset=dataset,
                        replicate=replicate,
                        fold=fold,
                        status="done",
                        config={"estimator": "sklearn.linear_model.LogisticRegression", "params": {}},
                        seeds=derive_seeds(spec.seed, replicate).to_dict(),
                        n_train=1347,
                        n_test=450,
                        metrics={"accuracy": 0.90 + (0.04 if arm == "wide" else 0.0) + rng.normal(0, 0.005)},
                        fit_seconds=1.5,
                        predict_seconds=0.1,
                        environment_hash=env_hash,
                        started_at="2026-01-01T00:00:00.000+00:00",
                        finished_at="2026-01-01T00:00:01.600+00:00",
                        curves=[("train_loss", step, float(value)) for step, value in enumerate(losses)]
                        + [("system/cpu_percent", step, 50.0) for step in range(6)],
                    )
                )
            store.save_trials(SYNTHETIC, results, run_id=run_id)
            store.finish_run(run_id, "finished")
        verdicts = [
            {"key": key, "verdict": "identical", "max_difference": 0.0, "verified_at": "2026-02-03T10:00:00+00:00"}
            for key, arm, *_ in plan
            if arm == "small"
        ]
        verdicts += [
            {
                "key": plan[4][0],
                "verdict": "different",
                "max_difference": 0.01,
                "verified_at": "2026-02-03T10:00:00+00:00",
            }
        ]
        store.save_verifications(SYNTHETIC, verdicts)
    return root


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_store(tmp_path_factory.mktemp("synthetic") / "store")


def store_bytes(root: Path) -> dict[str, str]:
    """sha256 of the database and every stored object (SQLite's -wal/-shm side files excluded:
    they come and go with connections and hold nothing once a writer has closed)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(("-wal", "-shm")):
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests
