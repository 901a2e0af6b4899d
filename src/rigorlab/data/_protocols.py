"""Train/test splits per replicate: holdout, k-fold, stratified k-fold, repeated k-fold.

Every replicate's splits come from its split seed alone, so every arm of a study sees exactly the
same training and test rows (a paired design).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from rigorlab.errors import DataError
from rigorlab.spec._model import ProtocolSpec

__all__ = ["Split", "make_splits"]

MSG_TOO_FEW_PER_CLASS = (
    "Dataset '{dataset}': class {label!r} has {count} row(s), fewer than the {folds} folds of the protocol. "
    "Use fewer folds, kind: kfold (not stratified), or drop that class."
)
MSG_TOO_FEW_ROWS = "Dataset '{dataset}' has {rows} rows, fewer than the {folds} folds of the protocol."


@dataclass(frozen=True, eq=False)
class Split:
    """Row indices of one train/test split (into the dataset's rows)."""

    train: NDArray[np.int64]
    test: NDArray[np.int64]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.train, dtype=np.int64).tobytes())
        digest.update(b"|")
        digest.update(np.ascontiguousarray(self.test, dtype=np.int64).tobytes())
        return digest.hexdigest()


def _stratify(protocol: ProtocolSpec, task: str) -> bool:
    return task == "classification" and protocol.kind != "kfold"


def _check_class_counts(target: NDArray[Any], folds: int, dataset: str) -> None:
    labels, counts = np.unique(target, return_counts=True)
    for label, count in zip(labels, counts, strict=True):
        if count < folds:
            value = label.item() if isinstance(label, np.generic) else label
            raise DataError(MSG_TOO_FEW_PER_CLASS.format(dataset=dataset, label=value, count=int(count), folds=folds))


def make_splits(protocol: ProtocolSpec, target: NDArray[Any], task: str, seed: int, dataset: str = "") -> list[Split]:
    """The splits of one replicate.

    Parameters
    ----------
    protocol : ProtocolSpec
    target : array of shape (n_rows,)
    task : {"classification", "regression"}
    seed : int
        The replicate's split seed.

    Returns
    -------
    list of Split
        One split for holdout, ``protocol.folds`` splits otherwise; indices sorted ascending.
    """
    rows = len(target)
    indices = np.arange(rows)
    stratify = _stratify(protocol, task)
    if protocol.kind == "holdout":
        if stratify:
            _check_class_counts(target, 2, dataset)
        train, test = train_test_split(
            indices, test_size=protocol.test_size, random_state=seed, stratify=target if stratify else None
        )
        return [Split(np.sort(train).astype(np.int64), np.sort(test).astype(np.int64))]
    if rows < protocol.folds:
        raise DataError(MSG_TOO_FEW_ROWS.format(dataset=dataset, rows=rows, folds=protocol.folds))
    if stratify:
        _check_class_counts(target, protocol.folds, dataset)
        splitter: Any = StratifiedKFold(n_splits=protocol.folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=protocol.folds, shuffle=True, random_state=seed)
    return [
        Split(np.sort(train).astype(np.int64), np.sort(test).astype(np.int64))
        for train, test in splitter.split(indices, target if stratify else None)
    ]
