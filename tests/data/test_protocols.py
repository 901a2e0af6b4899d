"""Splits: disjoint, complete, stratified, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from rigorlab.data import make_splits
from rigorlab.errors import DataError
from rigorlab.spec import ProtocolSpec

TARGET = np.array([0] * 30 + [1] * 12 + [2] * 18)


@pytest.mark.parametrize("kind", ["kfold", "stratified_kfold", "repeated_kfold"])
def test_kfold_splits_partition_the_rows(kind):
    splits = make_splits(ProtocolSpec(kind=kind, folds=4), TARGET, "classification", seed=3)
    assert len(splits) == 4
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(len(TARGET)))
    for split in splits:
        assert np.intersect1d(split.train, split.test).size == 0
        assert len(split.train) + len(split.test) == len(TARGET)


def test_stratified_folds_keep_class_proportions():
    for split in make_splits(ProtocolSpec(kind="stratified_kfold", folds=3), TARGET, "classification", seed=1):
        counts = np.bincount(TARGET[split.test])
        assert counts.tolist() == [10, 4, 6]


def test_holdout_size_and_seed():
    protocol = ProtocolSpec(kind="holdout", test_size=0.25)
    (first,) = make_splits(protocol, TARGET, "classification", seed=5)
    (again,) = make_splits(protocol, TARGET, "classification", seed=5)
    (other,) = make_splits(protocol, TARGET, "classification", seed=6)
    assert len(first.test) == 15
    assert first.fingerprint == again.fingerprint
    assert first.fingerprint != other.fingerprint


def test_regression_targets_are_not_stratified():
    target = np.linspace(0, 1, 20)
    splits = make_splits(ProtocolSpec(kind="repeated_kfold", folds=5), target, "regression", seed=0)
    assert len(splits) == 5


def test_too_few_rows_of_a_class_for_the_folds():
    target = np.array([0] * 20 + [1] * 3)
    with pytest.raises(DataError) as caught:
        make_splits(ProtocolSpec(kind="stratified_kfold", folds=5), target, "classification", seed=0, dataset="tiny")
    assert str(caught.value) == (
        "Dataset 'tiny': class 1 has 3 row(s), fewer than the 5 folds of the protocol. Use fewer folds, "
        "kind: kfold (not stratified), or drop that class."
    )
