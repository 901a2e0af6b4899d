"""Shared fixtures: small real studies written to temporary folders."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

SMALL_STUDY = """\
study: small
question: Does a forest beat logistic regression on iris?
seed: 7
replicates: 2
datasets:
  - name: iris
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 500}
    preprocess: [standard_scale]
  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 10}
protocol: {kind: repeated_kfold, folds: 3}
metrics: [accuracy, roc_auc]
baseline: logreg
"""

# Estimators that misbehave on purpose, written beside the study files that use them (as a
# user's own estimator module would be).
HELPERS = '''
import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier


class Exploding(ClassifierMixin, BaseEstimator):
    def __init__(self, message="boom"):
        self.message = message

    def fit(self, X, y):
        raise RuntimeError(self.message)

    def predict_proba(self, X):  # never reached: fit fails first
        raise RuntimeError(self.message)


class Sleepy(ClassifierMixin, BaseEstimator):
    def __init__(self, seconds=0.05):
        self.seconds = seconds

    def fit(self, X, y):
        time.sleep(self.seconds)
        self.model_ = DummyClassifier(strategy="prior").fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


class Crashing(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        os._exit(3)

    def predict_proba(self, X):  # never reached: fit ends the process
        raise RuntimeError("unreachable")


class NoOp(ClassifierMixin, BaseEstimator):
    """Fits nothing: used to measure the executor's own overhead."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])
'''


def default_sigint() -> None:
    """``preexec_fn`` for a child the test interrupts with SIGINT: a test run started in the
    background (``make test &``) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def write_study(tmp_path: Path) -> Callable[..., Path]:
    """Write a study file (and the helper estimators module) into tmp_path; returns its path."""

    def write(text: str = SMALL_STUDY, name: str = "study.yaml") -> Path:
        (tmp_path / "helper_estimators.py").write_text(HELPERS)
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / ".rigorlab"
