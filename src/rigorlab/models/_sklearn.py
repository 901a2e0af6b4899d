"""scikit-learn estimators by import path, with declared preprocessing fit on training rows only."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from rigorlab.errors import InputError

__all__ = [
    "MSG_NO_ENCODER",
    "build_estimator",
    "build_pipeline",
    "build_preprocessor",
    "check_preprocess_options",
    "import_object",
    "preprocess_option_names",
]

MSG_NO_ENCODER = (
    "Model '{model}' on dataset '{dataset}': the columns {columns} are not numeric, and the model's preprocess "
    "has no encoder. Add one_hot or ordinal to preprocess: of model '{model}'."
)


def import_object(path: str) -> Any:
    """Import ``pkg.mod.Name`` or ``pkg.mod:Name``."""
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def build_estimator(estimator_path: str, params: Mapping[str, Any], init_seed: int) -> BaseEstimator:
    """Construct the estimator; ``random_state`` gets the replicate's init seed unless set."""
    estimator_class = import_object(estimator_path)
    arguments = dict(params)
    accepts = inspect.signature(estimator_class.__init__).parameters
    if "random_state" in accepts and arguments.get("random_state") is None:
        arguments["random_state"] = init_seed
    estimator: BaseEstimator = estimator_class(**arguments)
    return estimator


# The transformer each declared step builds, and the options rigorlab sets unless the step gives them.
_STEP_TRANSFORMERS: dict[str, type[Any]] = {
    "impute": SimpleImputer,
    "standard_scale": StandardScaler,
    "one_hot": OneHotEncoder,
    "ordinal": OrdinalEncoder,
}
_STEP_DEFAULTS: dict[str, dict[str, Any]] = {
    "one_hot": {"handle_unknown": "ignore", "sparse_output": False},
    "ordinal": {"handle_unknown": "use_encoded_value", "unknown_value": -1},
}
# impute passes only strategy (to the numeric columns' imputer; text columns take their most frequent value).
_IMPUTE_OPTIONS = ("strategy",)


def preprocess_option_names(step: str) -> list[str]:
    """The options a preprocessing step takes (the parameters of the scikit-learn transformer it builds).

    Examples
    --------
    >>> preprocess_option_names("impute")
    ['strategy']
    >>> preprocess_option_names("standard_scale")
    ['copy', 'with_mean', 'with_std']
    """
    if step == "impute":
        return list(_IMPUTE_OPTIONS)
    return sorted(_STEP_TRANSFORMERS[step]().get_params())


def check_preprocess_options(step: str, options: Mapping[str, Any]) -> None:
    """Check the values of a step's options with scikit-learn's own validator, before any trial runs.

    Raises
    ------
    ValueError or TypeError
        scikit-learn's message ("The 'strategy' parameter of SimpleImputer must be ...").

    Examples
    --------
    >>> check_preprocess_options("impute", {"strategy": "mean"})
    """
    transformer = _STEP_TRANSFORMERS[step](**{**_STEP_DEFAULTS.get(step, {}), **options})
    # scikit-learn checks parameter values only in fit; its validator (private, but the one fit calls) checks now.
    validate = getattr(transformer, "_validate_params", None)
    if callable(validate):
        validate()


def _preprocessor(
    preprocess: Mapping[str, Mapping[str, Any]], numeric: list[str], categorical: list[str]
) -> ColumnTransformer | None:
    if not preprocess:
        return None
    numeric_steps: list[tuple[str, Any]] = []
    categorical_steps: list[tuple[str, Any]] = []
    if "impute" in preprocess:
        options = dict(preprocess["impute"])
        numeric_steps.append(("impute", SimpleImputer(strategy=options.get("strategy", "median"))))
        categorical_steps.append(("impute", SimpleImputer(strategy="most_frequent")))
    if "standard_scale" in preprocess:
        numeric_steps.append(("scale", StandardScaler(**preprocess["standard_scale"])))
    if "one_hot" in preprocess:
        options = {**_STEP_DEFAULTS["one_hot"], **preprocess["one_hot"]}
        categorical_steps.append(("encode", OneHotEncoder(**options)))
    elif "ordinal" in preprocess:
        options = {**_STEP_DEFAULTS["ordinal"], **preprocess["ordinal"]}
        categorical_steps.append(("encode", OrdinalEncoder(**options)))
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps) if numeric_steps else "passthrough", numeric))
    if categorical:
        transformers.append(
            ("categorical", Pipeline(categorical_steps) if categorical_steps else "passthrough", categorical)
        )
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def build_preprocessor(
    preprocess: Mapping[str, Mapping[str, Any]], numeric: list[str], categorical: list[str]
) -> ColumnTransformer | None:
    """The declared preprocessing as an unfitted ColumnTransformer (None when nothing is declared): what
    :func:`build_pipeline` puts before a scikit-learn model and what the torch trainer encodes rows with."""
    return _preprocessor(preprocess, numeric, categorical)


def check_encoding(
    preprocess: Mapping[str, Mapping[str, Any]], categorical: list[str], model: str, dataset: str
) -> None:
    """Raise when non-numeric columns would reach a model without an encoder."""
    if categorical and "one_hot" not in preprocess and "ordinal" not in preprocess:
        shown = ", ".join(categorical[:5]) + (" ..." if len(categorical) > 5 else "")
        raise InputError(MSG_NO_ENCODER.format(model=model, dataset=dataset, columns=shown))


def build_pipeline(
    estimator: BaseEstimator,
    preprocess: Mapping[str, Mapping[str, Any]],
    numeric: list[str],
    categorical: list[str],
) -> Pipeline:
    """A Pipeline of the declared preprocessing and the estimator; fitting it fits both on the
    training rows only, so nothing of the test rows leaks into imputation or scaling."""
    preprocessor = _preprocessor(preprocess, numeric, categorical)
    steps: list[tuple[str, Any]] = []
    if preprocessor is not None:
        steps.append(("preprocess", preprocessor))
    steps.append(("model", estimator))
    return Pipeline(steps)
