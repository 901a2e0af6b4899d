"""Fixtures for the audit tests: real datasets shipped with installed packages, and one small
real study (scikit-lego's arrests data) run once and copied for every test that writes to it."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rigorlab.data import Dataset, fingerprint_frame

ARRESTS_STUDY = """\
study: arrests-audit
question: Does a random forest predict release better than logistic regression?
seed: 3
replicates: 2
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    sensitive: [colour, sex, citizen]
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {C: [0.1, 1.0], max_iter: 1000}
    preprocess: [impute, one_hot, standard_scale]
  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 20, max_depth: 6}
    preprocess: [ordinal]
protocol: {kind: repeated_kfold, folds: 3, inner_folds: 2}
metrics: [accuracy, roc_auc]
baseline: logreg
"""

# Small settings so that every audit of the study runs in a few seconds.
FAST_OPTIONS: dict[str, dict[str, Any]] = {
    "data": {"target_leakage_rows": 1500},
    "fairness": {"n_boot": 200},
    "robustness": {"noise_levels": [0.0, 0.5], "swap_rates": [0.0, 0.25], "repeats": 1, "max_rows": 400},
    "explain": {
        "importance_rows": 300,
        "importance_repeats": 2,
        "shap_rows": 60,
        "background_rows": 30,
        "agnostic_rows": 10,
        "agnostic_evaluations": 100,
    },
}


def make_dataset(
    frame: pd.DataFrame, target: str, *, name: str = "data", sensitive: tuple[str, ...] = (), task: str | None = None
) -> Dataset:
    """A Dataset from a DataFrame, as ``rigorlab.data.load_dataset`` builds it."""
    features = frame.drop(columns=[target, *sensitive]).reset_index(drop=True)
    values = frame[target].to_numpy()
    kind = task or ("classification" if frame[target].nunique() <= 20 else "regression")
    sensitive_frame = frame[list(sensitive)].reset_index(drop=True)
    whole = pd.concat([features, pd.Series(values, name="__target__"), sensitive_frame.add_prefix("__s__")], axis=1)
    return Dataset(
        name=name,
        features=features,
        target=values,
        task=kind,
        target_name=target,
        sensitive=sensitive_frame,
        group=None,
        fingerprint=fingerprint_frame(whole),
    )


@pytest.fixture(scope="session")
def breast_cancer_frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="session")
def arrests_frame() -> pd.DataFrame:
    from sklego.datasets import load_arrests

    return load_arrests(as_frame=True)


@pytest.fixture(scope="session")
def hearts_frame() -> pd.DataFrame:
    from sklego.datasets import load_hearts

    return load_hearts(as_frame=True)


@pytest.fixture(scope="session")
def arrests_study_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The arrests study run once (12 trials); returns (study file, store). Do not write to it:
    use ``arrests_study`` for a private copy."""
    from rigorlab.execution import run_study

    folder = tmp_path_factory.mktemp("arrests_template")
    study = folder / "study.yaml"
    study.write_text(textwrap.dedent(ARRESTS_STUDY))
    store = folder / ".rigorlab"
    summary = run_study(study, store=store, jobs=2)
    assert summary.failed == 0 and summary.done == 12
    return study, store


@pytest.fixture
def arrests_study(arrests_study_template: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the run arrests study: (study file, store)."""
    study, store = arrests_study_template
    copy = tmp_path / "study"
    shutil.copytree(study.parent, copy)
    return copy / "study.yaml", copy / ".rigorlab"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20260)


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
