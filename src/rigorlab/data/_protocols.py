"""Train/test splits per replicate: holdout, k-fold, stratified k-fold, repeated k-fold, group shift.

Every replicate's splits come from its split seed alone, so every arm of a study sees exactly the
same training and test rows (a paired design).

``group_shift`` tests on groups the model never trained on (values of the dataset's ``group:``
column, or a later time range). Each replicate draws a stratified ``test_size`` share of the
training groups' rows as an in-distribution test set; the split's ``test`` holds both the shifted
rows and the in-distribution rows, which :func:`in_distribution_mask` tells apart (a row is in
distribution when its group is a training group). The trial trains once and is scored on both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from rigorlab.errors import DataError
from rigorlab.spec._model import ProtocolSpec

__all__ = ["Split", "group_text", "in_distribution_mask", "make_splits", "training_groups"]

MSG_TOO_FEW_PER_CLASS = (
    "Dataset '{dataset}': class {label!r} has {count} row(s), fewer than the {folds} folds of the protocol. "
    "Use fewer folds, kind: kfold (not stratified), or drop that class."
)
MSG_TOO_FEW_ROWS = "Dataset '{dataset}' has {rows} rows, fewer than the {folds} folds of the protocol."
MSG_GROUP_MISSING_VALUES = (
    "Dataset '{dataset}': the group column '{column}' has {count} missing value(s), first at row {row}; protocol "
    "kind: group_shift puts every row in a group. Fill or drop those rows."
)
MSG_UNKNOWN_GROUPS = (
    "Dataset '{dataset}': train_groups names {missing}, which the group column '{column}' does not hold. Its "
    "groups: {groups}."
)
MSG_NO_SHIFTED_ROWS = (
    "Dataset '{dataset}': every group of '{column}' is a training group ({groups}), so no group is left to test "
    "on. Train on fewer groups (or an earlier train_until)."
)
MSG_NO_TRAINING_ROWS = (
    "Dataset '{dataset}': no group of '{column}' is at or before train_until {value!r}, so there is nothing to "
    "train on. Its groups run from {low} to {high}."
)
MSG_TRAIN_UNTIL_TYPE = (
    "Dataset '{dataset}': train_until {value!r} cannot be compared with the group column '{column}', which holds "
    "{kind} (such as {example!r}). Give a number for a numeric column or a date for dates, or name the training "
    "groups with train_groups: [...]."
)
MSG_NO_GROUP_COLUMN = (
    "Dataset '{dataset}' has no group: column, which protocol kind: group_shift splits on. Add group: to the dataset."
)


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


def group_text(groups: pd.Series) -> NDArray[np.str_]:
    """The group of every row as text (how training groups are named and matched)."""
    return np.asarray(groups.astype("string").fillna("missing").to_numpy(dtype=str))


def _training_mask(protocol: ProtocolSpec, groups: pd.Series, dataset: str) -> NDArray[np.bool_]:
    column = str(groups.name)
    numeric = pd.api.types.is_numeric_dtype(groups) and not pd.api.types.is_bool_dtype(groups)
    if protocol.train_groups is not None:
        wanted = [str(value) for value in protocol.train_groups]
        if numeric:
            numbers = pd.to_numeric(pd.Series(wanted), errors="coerce")
            mask = groups.isin(numbers.dropna().to_numpy()).to_numpy()
            found = {value for value, number in zip(wanted, numbers, strict=True) if groups.eq(number).any()}
        else:
            text = pd.Series(group_text(groups))
            mask = text.isin(wanted).to_numpy()
            found = set(text[mask])
        missing = [value for value in wanted if value not in found]
        if missing:
            shown = ", ".join(sorted(set(group_text(groups)))[:20])
            raise DataError(
                MSG_UNKNOWN_GROUPS.format(dataset=dataset, missing=", ".join(missing), column=column, groups=shown)
            )
        return np.asarray(mask, dtype=bool)
    value = protocol.train_until
    keys: pd.Series
    if numeric:
        bound: Any = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        keys, kind = groups, "numbers"
    else:
        kind = "dates" if pd.api.types.is_datetime64_any_dtype(groups) else "text"
        try:
            keys = pd.Series(pd.to_datetime(groups, format="mixed"))
            bound = pd.Timestamp(str(value))
        except (ValueError, TypeError):
            bound = None
    if bound is None or pd.isna(bound):
        example = groups.iloc[0]
        raise DataError(
            MSG_TRAIN_UNTIL_TYPE.format(
                dataset=dataset,
                value=value,
                column=column,
                kind=kind,
                example=example.item() if isinstance(example, np.generic) else example,
            )
        )
    mask = (keys <= bound).to_numpy()
    if not mask.any():
        low, high = groups.min(), groups.max()
        raise DataError(MSG_NO_TRAINING_ROWS.format(dataset=dataset, value=value, column=column, low=low, high=high))
    return np.asarray(mask, dtype=bool)


def training_groups(protocol: ProtocolSpec, groups: pd.Series | None, dataset: str = "") -> tuple[str, ...]:
    """The training groups of a ``group_shift`` protocol, as text (see :func:`group_text`), sorted.

    Raises
    ------
    DataError
        No group column, missing groups, unknown ``train_groups``, a ``train_until`` that cannot be
        compared with the column, or no group left on one side.

    Examples
    --------
    >>> from rigorlab.spec import ProtocolSpec
    >>> protocol = ProtocolSpec(kind="group_shift", train_until=1999)
    >>> training_groups(protocol, pd.Series([1998, 1999, 2000, 2001], name="year"))
    ('1998', '1999')
    """
    if groups is None:
        raise DataError(MSG_NO_GROUP_COLUMN.format(dataset=dataset))
    missing = groups.isna().to_numpy()
    if missing.any():
        raise DataError(
            MSG_GROUP_MISSING_VALUES.format(
                dataset=dataset, column=groups.name, count=int(missing.sum()), row=int(np.flatnonzero(missing)[0])
            )
        )
    mask = _training_mask(protocol, groups, dataset)
    text = group_text(groups)
    chosen = tuple(sorted({str(value) for value in text[mask]}))
    if mask.all():
        raise DataError(MSG_NO_SHIFTED_ROWS.format(dataset=dataset, column=groups.name, groups=", ".join(chosen[:20])))
    return chosen


def in_distribution_mask(
    rows: NDArray[np.int64], groups: pd.Series | None, train_groups: Sequence[str]
) -> NDArray[np.bool_]:
    """For each of ``rows``, whether its group is a training group (a group-shift test row "in distribution").

    Examples
    --------
    >>> in_distribution_mask(np.array([0, 2]), pd.Series(["a", "b", "c"]), ["a", "b"]).tolist()
    [True, False]
    """
    if groups is None:
        return np.zeros(len(rows), dtype=bool)
    return np.isin(group_text(groups)[rows], np.asarray(list(train_groups), dtype=str))


def _group_shift(
    protocol: ProtocolSpec, target: NDArray[Any], task: str, seed: int, dataset: str, groups: pd.Series | None
) -> list[Split]:
    train_groups = training_groups(protocol, groups, dataset)
    candidates = np.flatnonzero(in_distribution_mask(np.arange(len(target)), groups, train_groups))
    shifted = np.setdiff1d(np.arange(len(target)), candidates)
    stratify = task == "classification"
    if stratify:
        _check_class_counts(target[candidates], 2, dataset)
    fit, held_out = train_test_split(
        candidates, test_size=protocol.test_size, random_state=seed, stratify=target[candidates] if stratify else None
    )
    test = np.sort(np.concatenate([held_out, shifted]))
    return [Split(np.sort(fit).astype(np.int64), test.astype(np.int64))]


def make_splits(
    protocol: ProtocolSpec,
    target: NDArray[Any],
    task: str,
    seed: int,
    dataset: str = "",
    groups: pd.Series | None = None,
) -> list[Split]:
    """The splits of one replicate.

    Parameters
    ----------
    protocol : ProtocolSpec
    target : array of shape (n_rows,)
    task : {"classification", "regression"}
    seed : int
        The replicate's split seed.
    dataset : str
        The dataset's name, for messages.
    groups : Series of shape (n_rows,), optional
        The dataset's group column (needed by ``group_shift``).

    Returns
    -------
    list of Split
        One split for holdout and group_shift, ``protocol.folds`` splits otherwise; indices sorted
        ascending. A group-shift split's ``test`` holds the shifted rows and the in-distribution rows.
    """
    rows = len(target)
    indices = np.arange(rows)
    if protocol.kind == "group_shift":
        return _group_shift(protocol, target, task, seed, dataset, groups)
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
