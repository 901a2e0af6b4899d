"""The study file's schema: pydantic v2 models with declared constraints.

The models validate shape and types; checks that need the whole study (the baseline names a
model, the primary metric is one of the metrics) are model validators here too, so every error
comes back through the same path and gets a ``file:line``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from rigorlab.errors import did_you_mean
from rigorlab.spec._audit_spec import AuditsSpec, MitigationSpec
from rigorlab.spec._fields import FieldProblem, MissingField
from rigorlab.spec._fields import Strict as _Strict

__all__ = [
    "BUILTIN_DATASETS",
    "FieldProblem",
    "PREPROCESS_STEPS",
    "DatasetSpec",
    "EarlyStoppingSpec",
    "MissingField",
    "ModelSpec",
    "PROTOCOLS",
    "ProtocolSpec",
    "StudySpec",
    "TRAINERS",
    "TrainingSpec",
]

# scikit-learn's bundled datasets, loaded with ``sklearn.datasets.load_<name>(as_frame=True)``.
BUILTIN_DATASETS = {
    "iris": "classification",
    "wine": "classification",
    "breast_cancer": "classification",
    "digits": "classification",
    "diabetes": "regression",
}
PREPROCESS_STEPS = ("impute", "one_hot", "ordinal", "standard_scale")
PROTOCOLS = ("holdout", "kfold", "stratified_kfold", "repeated_kfold", "group_shift")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
IMPORT_PATH_PATTERN = r"^[A-Za-z_][\w.]*([.:][A-Za-z_]\w*)$"

MSG_DATASET_SOURCE = (
    "dataset '{name}' is not a scikit-learn built-in ({builtins}); give its source as path: (a CSV or "
    "Parquet file), package: with path: (a file inside an installed package) or callable: "
    "(module:function returning a DataFrame)"
)
MSG_DATASET_TWO_SOURCES = "dataset '{name}' gives more than one source ({given}); keep exactly one"
MSG_DATASET_TARGET = "dataset '{name}' is loaded from a {kind} and needs target: (the label column)"
MSG_BUILTIN_FIELDS = "dataset '{name}' is a scikit-learn built-in; {fields} do not apply to it"
MSG_PACKAGE_NEEDS_PATH = "dataset '{name}' gives package: without path: (the file inside the package)"
MSG_DUPLICATE_NAME = "{what} names must be unique; '{name}' appears more than once"
MSG_PREPROCESS_STEP = "unknown preprocessing step '{step}'; expected one of {steps}"
MSG_PREPROCESS_BOTH_ENCODERS = "preprocess has both one_hot and ordinal; categorical columns take one encoding"
MSG_HOLDOUT_FOLDS = "folds does not apply to a holdout protocol; use test_size (a fraction such as 0.25)"
MSG_KFOLD_TEST_SIZE = (
    "test_size applies only to kind: holdout (and group_shift); {kind} tests on each of its folds in turn"
)
MSG_PRIMARY_METRIC = (
    "primary_metric '{metric}' is not one of metrics ({metrics}); add it to metrics or pick one of them"
)
MSG_GRID_EMPTY = "the grid for parameter '{param}' is an empty list; give at least one value"
MSG_NEEDS_MODULE = (
    "model '{name}' has trainer: {trainer} and needs module: (the import path of a torch.nn.Module class, "
    "e.g. mypackage.models:MLP)"
)
MSG_TORCH_ESTIMATOR = (
    "model '{name}' has trainer: {trainer}, which trains module:, not estimator:; remove estimator: or drop trainer:"
)
MSG_SKLEARN_ONLY_FIELDS = (
    "model '{name}' is a scikit-learn model; {fields} apply only to trainer: torch (or transformers). "
    "Add trainer: torch to train a torch.nn.Module, or remove {fields}"
)
MSG_TEXT_PREPROCESS = (
    "model '{name}' has trainer: transformers, whose tokenizer turns the text column into tokens; preprocess "
    "does not apply to it. Remove preprocess:"
)
MSG_TORCH_NESTED = (
    "model '{name}' has trainer: {trainer} and a grid in params, but nested selection (protocol.inner_folds) is "
    "available for scikit-learn models only. Remove inner_folds (each grid point then becomes an arm of its own) "
    "or remove the grid"
)
MSG_MAX_STACK_UNBATCHED = "max_stack applies to batched training; remove it or set batched: true"
MSG_MITIGATION_TORCH = (
    "model '{name}' has trainer: {trainer}, but mitigation: wraps a scikit-learn classifier (fairlearn refits it "
    "or post-processes its scores). Remove mitigation:, or use a scikit-learn estimator"
)
MSG_MITIGATION_NESTED = (
    "model '{name}' has mitigation: and a grid in params with protocol.inner_folds, but nested selection of a "
    "mitigated model is not supported (the inner CV would need the sensitive columns). Remove inner_folds (each "
    "grid point then becomes a mitigated arm of its own) or remove the grid"
)
MSG_GROUP_SHIFT_FOLDS = (
    "folds does not apply to kind: group_shift, which trains once per replicate; use test_size (the share of the "
    "training groups' rows held out as the in-distribution test)"
)
MSG_GROUP_SHIFT_CHOICE = (
    "kind: group_shift needs which groups to train on: train_groups: [a, b] (values of the datasets' group: "
    "column) or train_until: value (groups up to that number or date train; later ones are tested); give one"
)
MSG_GROUP_SHIFT_BOTH = "give train_groups or train_until, not both"
MSG_GROUP_SHIFT_ONLY = "{field} applies to kind: group_shift only; remove it or set kind: group_shift"
MSG_GROUP_SHIFT_NEEDS_GROUP = (
    "dataset '{name}' has no group: column, which protocol kind: group_shift splits on. Add group: (the column "
    "whose values are the groups or the time) to the dataset"
)

# Who trains a model: scikit-learn's fit, or rigorlab's torch trainer (transformers is the torch trainer with a
# text-classification module preset).
TRAINERS = ("sklearn", "torch", "transformers")
TEXT_CLASSIFIER = "rigorlab.models:TextClassifier"


class DatasetSpec(_Strict):
    """One dataset: a scikit-learn built-in, a file, a file inside a package, or a callable."""

    name: str = Field(pattern=NAME_PATTERN, description="name used in results and reports")
    path: str | None = Field(None, description="CSV or Parquet file, relative to the study file")
    package: str | None = Field(None, description="installed package holding path:")
    callable_: str | None = Field(
        None, alias="callable", pattern=IMPORT_PATH_PATTERN, description="module:function returning a DataFrame"
    )
    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for callable:")
    target: str | None = None
    features: list[str] | None = None
    sensitive: list[str] = Field(default_factory=list)
    group: str | None = None
    task: Literal["classification", "regression"] | None = None

    @property
    def source_kind(self) -> str:
        if self.callable_ is not None:
            return "callable"
        if self.package is not None:
            return "package"
        if self.path is not None:
            return "file"
        return "builtin"

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        given = [key for key, value in (("callable", self.callable_), ("package", self.package)) if value is not None]
        if self.callable_ is not None and self.path is not None:
            given.append("path")
        if len(given) > 1:
            raise ValueError(MSG_DATASET_TWO_SOURCES.format(name=self.name, given=", ".join(given)))
        if self.package is not None and self.path is None:
            raise FieldProblem(MSG_PACKAGE_NEEDS_PATH.format(name=self.name), "package")
        kind = self.source_kind
        if kind == "builtin":
            if self.name not in BUILTIN_DATASETS:
                raise ValueError(
                    MSG_DATASET_SOURCE.format(name=self.name, builtins=", ".join(BUILTIN_DATASETS))
                    + "."
                    + did_you_mean(self.name, list(BUILTIN_DATASETS))
                )
            extra = [f for f in ("target", "features", "group") if getattr(self, f) is not None]
            if extra:
                raise FieldProblem(MSG_BUILTIN_FIELDS.format(name=self.name, fields=", ".join(extra)), extra[0])
        elif self.target is None:
            kind_text = {"file": "file", "package": "package file", "callable": "callable"}[kind]
            raise ValueError(MSG_DATASET_TARGET.format(name=self.name, kind=kind_text))
        return self


PreprocessStep = str | dict[str, dict[str, Any]]


class EarlyStoppingSpec(_Strict):
    """Stop a replicate when its validation loss has not improved for ``patience`` epochs."""

    patience: int = Field(5, ge=1, le=10_000, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0, description="smallest decrease of the validation loss that counts")
    restore_best: bool = Field(True, description="keep the weights of the best epoch, not of the last")


class TrainingSpec(_Strict):
    """How the torch trainer trains a module (``training:`` of a model with ``trainer: torch``).

    ``device``, ``batched`` and ``max_stack`` say how to run, not what to compute: they are not part of
    a trial's key, so a study run batched on a GPU and one at a time on a CPU resumes into one store.
    """

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0, description="learning rate")
    momentum: float = Field(0.0, ge=0, lt=1, description="momentum of sgd")
    weight_decay: float = Field(0.0, ge=0)
    epochs: int = Field(20, ge=1, le=100_000)
    batch_size: int = Field(64, ge=1)
    schedule: Literal["constant", "cosine", "linear", "step"] = Field(
        "constant", description="learning-rate schedule over epochs"
    )
    step_size: int = Field(10, ge=1, description="epochs between decays of schedule: step")
    gamma: float = Field(0.1, gt=0, le=1, description="decay factor of schedule: step")
    validation_fraction: float | None = Field(
        None,
        gt=0,
        lt=0.9,
        description="training rows held out per replicate for validation curves (0.1 with early_stopping)",
    )
    early_stopping: EarlyStoppingSpec | None = None
    input_shape: list[int] | None = Field(None, min_length=1, description="shape of one row, e.g. [1, 8, 8] for images")
    scale_target: bool = Field(True, description="standardise a regression target with the training rows' mean and sd")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batched: bool = Field(True, description="train the replicates of an arm together as one stacked model")
    max_stack: int | None = Field(None, ge=1, description="most replicates in one stack (default: all)")

    @field_validator("input_shape")
    @classmethod
    def _positive_shape(cls, shape: list[int] | None) -> list[int] | None:
        if shape is not None and any(size < 1 for size in shape):
            raise ValueError(f"every size of input_shape must be >= 1; got {shape}")
        return shape

    @model_validator(mode="after")
    def _stack_needs_batching(self) -> TrainingSpec:
        if self.max_stack is not None and not self.batched:
            raise FieldProblem(MSG_MAX_STACK_UNBATCHED, "max_stack")
        return self

    def resolved(self) -> dict[str, Any]:
        """All settings as a JSON-safe dict, with the validation fraction early stopping implies."""
        settings = self.model_dump(mode="json")
        if self.early_stopping is not None and self.validation_fraction is None:
            settings["validation_fraction"] = 0.1
        return settings


class ModelSpec(_Strict):
    """One model: an estimator (or a torch module) by import path, its parameters (lists are grids) and
    preprocessing."""

    name: str = Field(pattern=NAME_PATTERN)
    trainer: Literal["sklearn", "torch", "transformers"] = Field(
        "sklearn", description="sklearn (estimator.fit), torch (rigorlab trains module:), transformers (text)"
    )
    estimator: str | None = Field(
        None, pattern=IMPORT_PATH_PATTERN, description="import path of a scikit-learn compatible class"
    )
    module: str | None = Field(
        None, pattern=IMPORT_PATH_PATTERN, description="import path of a torch.nn.Module class (trainer: torch)"
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="constructor parameters; a list is a grid of values (wrap a literal list: [[64, 64]])",
    )
    preprocess: list[PreprocessStep] = Field(default_factory=list)
    training: TrainingSpec | None = Field(None, description="optimizer, epochs, batch size... (trainer: torch)")
    timeout: float | None = Field(None, gt=0, description="seconds before a trial is stopped and stored as failed")
    mitigation: MitigationSpec | None = Field(
        None, description="a fairlearn mitigation of the classifier (threshold_optimizer, exponentiated_gradient)"
    )

    @model_validator(mode="after")
    def _fields_fit_trainer(self) -> ModelSpec:
        if self.mitigation is not None and self.trainer != "sklearn":
            raise FieldProblem(MSG_MITIGATION_TORCH.format(name=self.name, trainer=self.trainer), "mitigation")
        if self.trainer == "sklearn":
            extra = [f for f in ("module", "training") if getattr(self, f) is not None]
            if extra:
                fields = " and ".join(f"{f}:" for f in extra)
                raise FieldProblem(MSG_SKLEARN_ONLY_FIELDS.format(name=self.name, fields=fields), extra[0])
            if self.estimator is None:
                raise MissingField("estimator")
            return self
        if self.estimator is not None:
            raise FieldProblem(MSG_TORCH_ESTIMATOR.format(name=self.name, trainer=self.trainer), "estimator")
        if self.trainer == "torch" and self.module is None:
            raise FieldProblem(MSG_NEEDS_MODULE.format(name=self.name, trainer=self.trainer), "module")
        if self.trainer == "transformers" and self.preprocess:
            raise FieldProblem(MSG_TEXT_PREPROCESS.format(name=self.name), "preprocess")
        return self

    @property
    def is_torch(self) -> bool:
        return self.trainer != "sklearn"

    @property
    def import_path(self) -> str:
        """What is built for each trial: the estimator, or the torch module."""
        if self.trainer == "sklearn":
            assert self.estimator is not None
            return self.estimator
        return self.module or TEXT_CLASSIFIER

    def training_settings(self) -> dict[str, Any]:
        """The torch training settings with every default filled in."""
        return (self.training or TrainingSpec()).resolved()

    @field_validator("params")
    @classmethod
    def _grids_not_empty(cls, params: dict[str, Any]) -> dict[str, Any]:
        for key, value in params.items():
            if isinstance(value, list) and not value:
                raise ValueError(MSG_GRID_EMPTY.format(param=key))
        return params

    @field_validator("preprocess")
    @classmethod
    def _known_steps(cls, steps: list[PreprocessStep]) -> list[PreprocessStep]:
        names = []
        for step in steps:
            step_names = [step] if isinstance(step, str) else list(step)
            for name in step_names:
                if name not in PREPROCESS_STEPS:
                    raise ValueError(
                        MSG_PREPROCESS_STEP.format(step=name, steps=", ".join(PREPROCESS_STEPS))
                        + "."
                        + did_you_mean(name, list(PREPROCESS_STEPS))
                    )
                names.append(name)
        if "one_hot" in names and "ordinal" in names:
            raise ValueError(MSG_PREPROCESS_BOTH_ENCODERS)
        return steps

    def preprocess_options(self) -> dict[str, dict[str, Any]]:
        """Steps as ``{name: options}`` in declaration order."""
        options: dict[str, dict[str, Any]] = {}
        for step in self.preprocess:
            if isinstance(step, str):
                options[step] = {}
            else:
                options.update({name: dict(value or {}) for name, value in step.items()})
        return options

    @property
    def grid(self) -> dict[str, list[Any]]:
        return {key: value for key, value in self.params.items() if isinstance(value, list)}

    @property
    def fixed_params(self) -> dict[str, Any]:
        return {key: value for key, value in self.params.items() if not isinstance(value, list)}


class ProtocolSpec(_Strict):
    """How data are split into training and test rows, per replicate."""

    kind: Literal["holdout", "kfold", "stratified_kfold", "repeated_kfold", "group_shift"] = "repeated_kfold"
    folds: int = Field(5, ge=2, le=100)
    test_size: float = Field(0.25, gt=0, lt=1)
    inner_folds: int | None = Field(
        None, ge=2, le=20, description="inner CV folds that select each model's hyperparameters (nested)"
    )
    train_groups: list[int | float | str] | None = Field(
        None, min_length=1, description="group_shift: the values of the group column trained on"
    )
    train_until: int | float | str | None = Field(
        None, description="group_shift: groups up to this number or date train; later groups are tested"
    )

    @field_validator("train_until", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        # YAML reads 2001-06-30 as a date; kept as ISO text so that a stored spec validates back to the same value.
        return value.isoformat() if isinstance(value, datetime.date) else value

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> ProtocolSpec:
        # A value equal to the default is accepted: a stored spec (dumped with its defaults)
        # must validate again when it is read back.
        defaults = type(self).model_fields
        one_split = self.kind in ("holdout", "group_shift")
        if one_split and "folds" in self.model_fields_set and self.folds != defaults["folds"].default:
            raise FieldProblem(MSG_HOLDOUT_FOLDS if self.kind == "holdout" else MSG_GROUP_SHIFT_FOLDS, "folds")
        changed_test_size = self.test_size != defaults["test_size"].default
        if not one_split and "test_size" in self.model_fields_set and changed_test_size:
            raise FieldProblem(MSG_KFOLD_TEST_SIZE.format(kind=self.kind), "test_size")
        if self.kind == "group_shift":
            if self.train_groups is None and self.train_until is None:
                raise FieldProblem(MSG_GROUP_SHIFT_CHOICE, "kind")
            if self.train_groups is not None and self.train_until is not None:
                raise FieldProblem(MSG_GROUP_SHIFT_BOTH, "train_until")
        else:
            for name in ("train_groups", "train_until"):
                if getattr(self, name) is not None:
                    raise FieldProblem(MSG_GROUP_SHIFT_ONLY.format(field=name), name)
        return self

    @property
    def folds_per_replicate(self) -> int:
        return 1 if self.kind in ("holdout", "group_shift") else self.folds

    @property
    def resplits_per_replicate(self) -> bool:
        """Whether each replicate draws new splits (True) or all replicates share one split."""
        return self.kind in ("holdout", "repeated_kfold", "group_shift")


class StudySpec(_Strict):
    """A whole study: the question, the data, the models, the protocol and the metrics."""

    study: str = Field(pattern=NAME_PATTERN, description="the study's name in the store")
    question: str = ""
    seed: int = Field(0, ge=0, lt=2**63)
    replicates: int = Field(5, ge=1, le=10_000)
    datasets: list[DatasetSpec] = Field(min_length=1)
    models: list[ModelSpec] = Field(min_length=1)
    protocol: ProtocolSpec = Field(default_factory=ProtocolSpec)
    metrics: list[str] = Field(min_length=1)
    primary_metric: str | None = None
    baseline: str | None = None
    timeout: float | None = Field(None, gt=0, description="default seconds per trial")
    audits: AuditsSpec | None = Field(None, description="audits run by `rigorlab run` (data before training)")

    @model_validator(mode="after")
    def _cross_checks(self) -> StudySpec:
        for what, names in (("dataset", [d.name for d in self.datasets]), ("model", [m.name for m in self.models])):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    index = names.index(name, names.index(name) + 1)
                    raise FieldProblem(MSG_DUPLICATE_NAME.format(what=what, name=name), f"{what}s", index, "name")
                seen.add(name)
        if self.protocol.inner_folds is not None:
            for index, model in enumerate(self.models):
                if model.is_torch and model.grid:
                    raise FieldProblem(
                        MSG_TORCH_NESTED.format(name=model.name, trainer=model.trainer), "models", index, "params"
                    )
                if model.mitigation is not None and model.grid:
                    raise FieldProblem(MSG_MITIGATION_NESTED.format(name=model.name), "models", index, "mitigation")
        if self.protocol.kind == "group_shift":
            for index, dataset in enumerate(self.datasets):
                if dataset.group is None:
                    raise FieldProblem(MSG_GROUP_SHIFT_NEEDS_GROUP.format(name=dataset.name), "datasets", index)
        if self.primary_metric is not None and self.primary_metric not in self.metrics:
            raise FieldProblem(
                MSG_PRIMARY_METRIC.format(metric=self.primary_metric, metrics=", ".join(self.metrics)),
                "primary_metric",
            )
        return self

    @property
    def primary(self) -> str:
        return self.primary_metric or self.metrics[0]

    def model(self, name: str) -> ModelSpec:
        return next(m for m in self.models if m.name == name)


def import_path_parts(path: str) -> tuple[str, str]:
    """Split ``pkg.mod:Name`` or ``pkg.mod.Name`` into module and attribute."""
    if ":" in path:
        module, _, attribute = path.partition(":")
    else:
        module, _, attribute = path.rpartition(".")
    return module, attribute


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text)
