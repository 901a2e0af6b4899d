"""Fixtures for reproduce-and-verify: a small real study with a built-in and a CSV dataset, run once
per module, and helpers that read every row and object of a store (to prove nothing else changed)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sklearn.datasets import load_wine

from rigorlab import run_study

# 2 arms x 2 datasets x 1 replicate x 3 folds = 12 trials; logreg's C is chosen by an inner CV, so
# the selected hyperparameters are compared too.
VERIFY_STUDY = """\
study: verify
question: Does a forest beat a tuned logistic regression?
seed: 11
replicates: 1
datasets:
  - name: iris
  - name: wine_file
    path: data/wine.csv
    target: target
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {C: [0.1, 1.0], max_iter: 500}
    preprocess: [standard_scale]
  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 10}
protocol: {kind: repeated_kfold, folds: 3, inner_folds: 2}
metrics: [accuracy, roc_auc, log_loss]
baseline: logreg
"""
TRIALS = 12


def make_study(folder: Path, text: str = VERIFY_STUDY) -> Path:
    """Write the study file and its CSV dataset into ``folder``; returns the study file."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    load_wine(as_frame=True).frame.to_csv(folder / "data" / "wine.csv", index=False)
    path = folder / "study.yaml"
    path.write_text(text)
    return path


def run_fresh(folder: Path, text: str = VERIFY_STUDY) -> Path:
    """Write and run the study in ``folder``; returns the store."""
    store = folder / ".rigorlab"
    run_study(make_study(folder, text), store=store, jobs=2)
    return store


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the study ran once (shared by the module: never change it)."""
    folder = tmp_path_factory.mktemp("ran")
    run_fresh(folder)
    return folder


@pytest.fixture
def store_copy(ran: Path, tmp_path: Path) -> Path:
    """A copy of the shared store that a test may change (its study file and data stay shared)."""
    target = tmp_path / "store"
    shutil.copytree(ran / ".rigorlab", target)
    return target


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, Path]:
    """A study run in this test's own folder: (folder, store). For tests that change the data."""
    folder = tmp_path / "study"
    folder.mkdir()
    return folder, run_fresh(folder)


def table_rows(store: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted, read through plain sqlite3."""
    db = sqlite3.connect(store / "rigorlab.sqlite")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        db.close()


def object_digests(store: Path) -> dict[str, str]:
    return {
        p.relative_to(store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((store / "objects").rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def snapshot() -> Callable[[Path], tuple[dict[str, list[tuple[object, ...]]], dict[str, str]]]:
    return lambda store: (table_rows(store), object_digests(store))
