"""The explanation audit: global feature importance and local explanations of errors.

Two global measures per trial, on the trial's own test rows:

- permutation importance (scikit-learn) of the whole pipeline, for any model, on the original
  columns;
- mean absolute SHAP value with the explainer that fits the model family: ``TreeExplainer``
  (tree path dependent, exact and deterministic) for tree ensembles, ``LinearExplainer`` for
  linear models, and otherwise the model-agnostic ``PermutationExplainer`` with its ``seed``. Tree
  and linear explainers work on the preprocessed columns; their values are summed back to the
  original columns (SHAP values are additive, so a one-hot encoded column's contribution is the
  sum over its indicator columns).

Local explanations: the largest SHAP contributions toward the predicted class for a few
misclassified test rows. Stability of the ranking across replicates is computed from the stored
results (:func:`rigorlab.audits.explain_tables`).

Severity: one feature carrying more than 80% of the total permutation importance (and clearly above
zero) is reported as ``info`` (a possible shortcut worth a look).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.audits import _messages as msg
from rigorlab.audits._records import INFO, Finding, TrialInputs
from rigorlab.data import Dataset

__all__ = ["EXPLAIN_DEFAULTS", "audit_explain", "import_shap", "original_columns", "shap_family"]

DOMINANT_SHARE = 0.8
DOMINANT_MINIMUM = 0.01
"""A dominant feature must also matter: its permutation importance above 0.01 (one point of
accuracy or R²) and above twice its standard deviation over repeats, not noise around zero."""

EXPLAIN_DEFAULTS: dict[str, Any] = {
    "importance_rows": 1000,
    "importance_repeats": 5,
    "shap_rows": 200,
    "background_rows": 100,
    "agnostic_rows": 50,  # rows explained by the (slower) permutation explainer
    "agnostic_background": 20,
    "agnostic_evaluations": 500,  # model calls per explained row (at least 2 x columns + 1)
    "local_rows": 3,
    "top_features": 5,
}

TREE_ESTIMATORS = {
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
}
TREE_PACKAGES = ("xgboost", "lightgbm", "catboost")


def import_shap() -> Any:
    """Import shap; its plotting module calls a matplotlib function deprecated in matplotlib 3.11
    at import time (``Colormap.set_bad`` and friends), which we cannot fix and which is harmless here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The set_(bad|over|under) function")
        import shap
    return shap


def shap_family(estimator: Any) -> str:
    """``"tree"``, ``"linear"`` or ``"permutation"``: the SHAP explainer that fits the estimator."""
    name = type(estimator).__name__
    module = type(estimator).__module__
    if name in TREE_ESTIMATORS or module.startswith(TREE_PACKAGES):
        return "tree"
    if (
        module.startswith(("sklearn.linear_model", "sklearn.svm"))
        and hasattr(estimator, "coef_")
        and hasattr(estimator, "intercept_")
    ):
        return "linear"
    return "permutation"


def original_columns(output_names: Sequence[str], input_columns: Sequence[str]) -> NDArray[np.int64]:
    """For each preprocessed column, the position of the original column it comes from.

    A one-hot column is named ``{column}_{category}``; the longest original name that matches
    wins, so ``age_group_young`` goes to ``age_group`` rather than ``age``.

    Examples
    --------
    >>> original_columns(["age", "sex_F", "sex_M"], ["sex", "age"]).tolist()
    [1, 0, 0]
    """
    by_length = sorted(range(len(input_columns)), key=lambda i: -len(input_columns[i]))
    owners = []
    for name in output_names:
        owner = next((i for i in by_length if name == input_columns[i] or name.startswith(f"{input_columns[i]}_")), -1)
        if owner < 0:
            raise ValueError(f"cannot tell which column the preprocessed column '{name}' comes from")
        owners.append(owner)
    return np.asarray(owners, dtype=np.int64)


def _to_original(values: NDArray[Any], owners: NDArray[np.int64], n_columns: int) -> NDArray[np.float64]:
    mapping = np.zeros((len(owners), n_columns))
    mapping[np.arange(len(owners)), owners] = 1.0
    if values.ndim == 3:
        return np.asarray(np.einsum("ntk,tm->nmk", values, mapping), dtype=np.float64)
    return np.asarray(values @ mapping, dtype=np.float64)


def _dense(matrix: Any) -> NDArray[np.float64]:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=np.float64)


def _explain_preprocessed(
    model: Any, family: str, background: pd.DataFrame, rows: pd.DataFrame, columns: list[str]
) -> NDArray[np.float64]:
    shap = import_shap()
    final = model.steps[-1][1]
    has_preprocess = len(model.steps) > 1
    transform = model[:-1].transform if has_preprocess else (lambda frame: frame.to_numpy(dtype=float))
    x_rows = _dense(transform(rows))
    if family == "tree":
        values = shap.TreeExplainer(final)(x_rows, check_additivity=False).values
    else:
        masker = shap.maskers.Independent(_dense(transform(background)), max_samples=len(background))
        values = shap.LinearExplainer(final, masker)(x_rows).values
    names = list(model[:-1].get_feature_names_out()) if has_preprocess else columns
    return _to_original(
        np.asarray(values, dtype=np.float64), original_columns([str(n) for n in names], columns), len(columns)
    )


def _explain_agnostic(
    model: Any, dataset: Dataset, background: pd.DataFrame, rows: pd.DataFrame, seed: int, evaluations: int
) -> NDArray[np.float64]:
    """Permutation SHAP on the original columns; categories travel as integer codes because the
    masker mixes rows numerically."""
    shap = import_shap()
    columns = list(dataset.features.columns)
    categories = {c: pd.Index(pd.unique(background[c].dropna())) for c in dataset.categorical_columns}
    categories = {
        c: index.append(pd.Index(pd.unique(rows[c].dropna())).difference(index)) for c, index in categories.items()
    }

    def encode(frame: pd.DataFrame) -> NDArray[np.float64]:
        encoded = frame.copy()
        for column, index in categories.items():
            codes = index.get_indexer(pd.Index(frame[column].to_numpy(dtype=object))).astype(float)
            encoded[column] = np.where(codes < 0, np.nan, codes)
        return encoded.to_numpy(dtype=float)

    def predict(encoded: NDArray[Any]) -> NDArray[Any]:
        frame = pd.DataFrame(np.asarray(encoded, dtype=float), columns=columns)
        for column, index in categories.items():
            codes = frame[column].to_numpy()
            known = ~np.isnan(codes)
            decoded = np.full(len(codes), None, dtype=object)
            decoded[known] = np.asarray(index, dtype=object)[codes[known].astype(int)]
            frame[column] = decoded
        return np.asarray(model.predict_proba(frame) if dataset.task == "classification" else model.predict(frame))

    masker = shap.maskers.Independent(encode(background), max_samples=len(background))
    explainer = shap.explainers.Permutation(predict, masker, seed=seed)
    values = explainer(encode(rows), max_evals=max(evaluations, 2 * len(columns) + 1), silent=True).values
    return np.asarray(values, dtype=np.float64)


def _permutation_importance(
    model: Any, features: pd.DataFrame, target: NDArray[Any], repeats: int, seed: int, task: str
) -> list[dict[str, Any]]:
    from sklearn.inspection import permutation_importance

    scoring = "accuracy" if task == "classification" else "r2"
    found = permutation_importance(model, features, target, scoring=scoring, n_repeats=repeats, random_state=seed)
    return [
        {"feature": str(column), "mean": float(found.importances_mean[i]), "std": float(found.importances_std[i])}
        for i, column in enumerate(features.columns)
    ]


def _local(
    values: NDArray[np.float64], rows: NDArray[np.int64], model: Any, dataset: Dataset, top: int
) -> list[dict[str, Any]]:
    """Top contributions toward the predicted class for each row."""
    classes = np.asarray(model.classes_).astype(str)
    features = dataset.features.iloc[rows]
    predicted = np.asarray(model.predict(features)).astype(str)
    explained = []
    for position, row in enumerate(rows):
        class_index = int(np.flatnonzero(classes == predicted[position])[0])
        row_values = values[position]
        if row_values.ndim == 2:
            contribution = row_values[:, class_index]
        else:  # binary models explained by one output: the log-odds (or margin) of classes_[1]
            contribution = row_values if class_index == 1 else -row_values
        order = np.argsort(-np.abs(contribution))[:top]
        explained.append(
            {
                "row": int(row),
                "y_true": str(dataset.target[row]),
                "y_pred": str(predicted[position]),
                "contributions": [
                    {
                        "feature": str(features.columns[i]),
                        "value": str(features.iloc[position, i]),
                        "shap": float(contribution[i]),
                    }
                    for i in order
                ],
            }
        )
    return explained


def audit_explain(
    model: Any,
    dataset: Dataset,
    trial: TrialInputs,
    train_rows: NDArray[np.int64],
    *,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], list[Finding], list[str]]:
    """Permutation importance, SHAP importance and local explanations for one refit trial model."""
    settings = {**EXPLAIN_DEFAULTS, **(options or {})}
    rng = np.random.default_rng(seed)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=2)]
    test = np.asarray(trial.predictions["test_index"], dtype=np.int64)
    columns = [str(c) for c in dataset.features.columns]
    notes: list[str] = []

    sample = np.sort(rng.choice(test, size=min(len(test), int(settings["importance_rows"])), replace=False))
    importance = _permutation_importance(
        model,
        dataset.features.iloc[sample],
        dataset.target[sample],
        int(settings["importance_repeats"]),
        seeds[0],
        dataset.task,
    )

    final = model.steps[-1][1] if hasattr(model, "steps") else model
    family = shap_family(final)
    agnostic = family == "permutation"
    explain_count = int(settings["agnostic_rows" if agnostic else "shap_rows"])
    explained = np.sort(rng.choice(test, size=min(len(test), explain_count), replace=False))
    background_count = int(settings["agnostic_background" if agnostic else "background_rows"])
    background_rows = np.sort(rng.choice(train_rows, size=min(len(train_rows), background_count), replace=False))
    wrong: NDArray[np.int64] = np.asarray([], dtype=np.int64)
    if dataset.task == "classification":
        predictions = trial.predictions
        mistaken = np.asarray(predictions["y_true"]).astype(str) != np.asarray(predictions["y_pred"]).astype(str)
        candidates = test[mistaken]
        if len(candidates):
            wrong = np.sort(
                rng.choice(candidates, size=min(len(candidates), int(settings["local_rows"])), replace=False)
            )
        else:
            notes.append(msg.NO_MISCLASSIFIED)
    batch = np.concatenate([explained, wrong])
    background, rows = dataset.features.iloc[background_rows], dataset.features.iloc[batch]
    if agnostic:
        values = _explain_agnostic(model, dataset, background, rows, seeds[1], int(settings["agnostic_evaluations"]))
    else:
        values = _explain_preprocessed(model, family, background, rows, columns)
    global_values = values[: len(explained)]
    magnitude = np.abs(global_values).mean(axis=0)
    magnitude = magnitude.mean(axis=-1) if magnitude.ndim == 2 else magnitude
    result = {
        "permutation_importance": {
            "metric": "accuracy" if dataset.task == "classification" else "r2",
            "rows": len(sample),
            "repeats": int(settings["importance_repeats"]),
            "features": importance,
        },
        "shap": {
            "explainer": family,
            "rows": len(explained),
            "background_rows": len(background_rows),
            "features": [{"feature": c, "mean_abs": float(magnitude[i])} for i, c in enumerate(columns)],
        },
        "local": _local(values[len(explained) :], wrong, model, dataset, int(settings["top_features"]))
        if len(wrong)
        else [],
    }
    findings: list[Finding] = []
    positive = np.clip([f["mean"] for f in importance], 0, None)
    top = int(np.argmax(positive))
    clear = positive[top] > DOMINANT_MINIMUM and positive[top] > 2 * importance[top]["std"]
    if clear and positive[top] / positive.sum() > DOMINANT_SHARE:
        share = float(positive[top] / positive.sum())
        text = msg.FINDING_DOMINANT_FEATURE.format(column=columns[top], share=share)
        findings.append(
            Finding(
                "explain",
                "dominant_feature",
                INFO,
                text,
                dataset=dataset.name,
                columns=(columns[top],),
                value=share,
                arm=trial.arm,
                replicate=trial.replicate,
                fold=trial.fold,
            )
        )
    return result, findings, notes
