"""The data audit's model-based checks: single-column target leakage suspects and label issues
found by confident learning (cleanlab) from out-of-fold probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigorlab.data import Dataset

__all__ = ["label_issue_rows", "out_of_fold_probabilities", "target_leakage_scores"]


def _target_encoder(target_type: str, classification: bool, seed: int) -> Any:
    """A seeded TargetEncoder: scikit-learn >= 1.9 takes a CV splitter, older versions a random_state."""
    import inspect

    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    if inspect.signature(TargetEncoder).parameters["random_state"].default == "deprecated":
        splitter = (StratifiedKFold if classification else KFold)(n_splits=5, shuffle=True, random_state=seed)
        return TargetEncoder(target_type=target_type, cv=splitter)
    return TargetEncoder(target_type=target_type, shuffle=True, random_state=seed)


def target_leakage_scores(dataset: Dataset, *, rows: int, seed: int) -> dict[str, float]:
    """Cross-validated score of a small tree on each single column (balanced accuracy or R²).

    A column that alone predicts the target almost perfectly is a leakage suspect. Categorical
    columns are target-encoded with cross fitting (scikit-learn ``TargetEncoder``), so an
    identifier column scores at chance level rather than memorising its training rows.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(dataset.n_rows, size=min(rows, dataset.n_rows), replace=False))
    target = dataset.target[sample]
    classification = dataset.task == "classification"
    if classification:
        _, counts = np.unique(target, return_counts=True)
        if counts.min() < 3:
            return {}
        cv: Any = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
        scoring = "balanced_accuracy"
    else:
        cv = KFold(n_splits=3, shuffle=True, random_state=seed)
        scoring = "r2"
    scores: dict[str, float] = {}
    categorical = set(dataset.categorical_columns)
    for column in dataset.features.columns:
        values = dataset.features[column].iloc[sample]
        tree = (DecisionTreeClassifier if classification else DecisionTreeRegressor)(
            max_leaf_nodes=32, min_samples_leaf=5, random_state=seed
        )
        if column in categorical:
            encoded = values.astype("string").fillna("<missing>").to_numpy(dtype=object).reshape(-1, 1)
            target_type = "binary" if classification and len(np.unique(target)) == 2 else "auto"
            model: Any = make_pipeline(_target_encoder(target_type, classification, seed), tree)
            features: Any = encoded
        else:
            numbers = values.to_numpy(dtype=float)
            fill = np.nanmin(numbers) - 1 if np.isfinite(numbers).any() else 0.0
            features = np.where(np.isnan(numbers), fill, numbers).reshape(-1, 1)
            model = tree
        scores[str(column)] = float(np.mean(cross_val_score(model, features, target, cv=cv, scoring=scoring)))
    return scores


def out_of_fold_probabilities(dataset: Dataset, labels: NDArray[np.int64], folds: int, seed: int) -> NDArray[Any]:
    """Out-of-fold class probabilities from a seeded, regularised linear model (used when the
    study has no stored predictions covering every row, e.g. before training)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from rigorlab.models import build_pipeline

    pipeline = build_pipeline(
        LogisticRegression(max_iter=2000),
        {"impute": {}, "one_hot": {}, "standard_scale": {}},
        dataset.numeric_columns,
        dataset.categorical_columns,
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return np.asarray(cross_val_predict(pipeline, dataset.features, labels, cv=cv, method="predict_proba"))


def label_issue_rows(labels: NDArray[np.int64], probabilities: NDArray[Any]) -> NDArray[np.int64]:
    """Rows that confident learning (cleanlab) finds mislabelled, the most suspicious first.

    Parameters
    ----------
    labels : array of shape (n_rows,)
        Class indices 0..K-1.
    probabilities : array of shape (n_rows, K)
        Out-of-fold predicted probabilities.
    """
    from cleanlab.filter import find_label_issues

    # n_jobs=1: audits run in the executor's worker processes, which may not start processes of their own
    # (and parallelism comes from the workers, as for trials).
    ranked = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1)
    return np.asarray(ranked, dtype=np.int64)
