"""The study file's ``audits:`` block and a model's ``mitigation:``.

``audits:`` is a list of kinds, or a mapping of kinds to their settings plus ``strict`` and
``timeout``::

    audits: [data, fairness, robustness, explain, cards]

    audits:
      strict: true                  # a severe data finding stops `rigorlab run` before any training
      timeout: 600                  # seconds per audit task
      data: {}                      # a kind with its default settings (or: data: true)
      fairness: {n_boot: 500}       # ... or with some settings changed (rigorlab.audits.DEFAULTS)

Both forms validate into :class:`AuditsSpec`, which is stored in the mapping form (so a stored
study validates again into the same spec). The settings' names are checked against the audits'
defaults when the study is loaded (``rigorlab.spec._load``), with the file's line.

``mitigation:`` names a fairlearn mitigation that wraps a scikit-learn model::

    mitigation: threshold_optimizer
    mitigation: {method: exponentiated_gradient, constraints: equalized_odds, eps: 0.02}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_serializer, model_validator

from rigorlab.errors import did_you_mean
from rigorlab.spec._fields import FieldProblem, Strict

__all__ = [
    "AUDIT_KINDS",
    "AUDIT_SETTING_RULES",
    "MITIGATIONS",
    "MITIGATION_CONSTRAINTS",
    "AuditsSpec",
    "MitigationSpec",
    "SettingRule",
]

AUDIT_KINDS = ("data", "fairness", "robustness", "explain", "cards")
"""Audit kinds, in the order they run (``rigorlab.audits.KINDS``; a test checks they agree)."""
AUDIT_SETTINGS = ("strict", "timeout")

MSG_AUDIT_UNKNOWN_KIND = "unknown audit '{kind}'; audits are {kinds}.{closest}"
MSG_AUDIT_NOT_TEXT = "each audit must be named by a word ({kinds}); got {got}"
MSG_AUDIT_OPTIONS = (
    "the settings of audit '{kind}' must be a mapping (e.g. {{n_boot: 500}}), true (the defaults) or false (off); "
    "got {got}"
)
MSG_AUDITS_SHAPE = (
    "audits must be a list of kinds ([data, fairness]) or a mapping of kinds to their settings "
    "({{fairness: {{n_boot: 500}}, strict: true}}); got {got}"
)
MSG_CARDS_OPTIONS = "audit 'cards' takes no settings (its cards are filled from the store); write cards: {}"

MITIGATIONS = ("threshold_optimizer", "exponentiated_gradient")
MITIGATION_CONSTRAINTS: dict[str, tuple[str, ...]] = {
    "threshold_optimizer": (
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "true_negative_rate_parity",
        "false_negative_rate_parity",
    ),
    "exponentiated_gradient": (
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "error_rate_parity",
    ),
}
MITIGATION_DEFAULTS: dict[str, dict[str, Any]] = {
    "threshold_optimizer": {"objective": "accuracy_score", "grid_size": 1000},
    "exponentiated_gradient": {"eps": 0.01, "max_iter": 50},
}
METHOD_FIELDS = {"threshold_optimizer": ("objective", "grid_size"), "exponentiated_gradient": ("eps", "max_iter")}
MSG_MITIGATION_UNKNOWN = "unknown mitigation '{method}'; expected one of {methods}.{closest}"
MSG_MITIGATION_CONSTRAINT = "{method} does not support constraints '{constraints}'; it supports {supported}"
MSG_MITIGATION_FIELD = "{field} applies to {owner} only; remove it (or use method: {owner})"
MSG_MITIGATION_SHAPE = (
    "mitigation must name a method ({methods}) or be a mapping with method: and its settings; got {got}"
)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(word: Any, where: str | int) -> str:
    if not isinstance(word, str):
        raise FieldProblem(MSG_AUDIT_NOT_TEXT.format(kinds=", ".join(AUDIT_KINDS), got=_describe(word)), where)
    if word not in AUDIT_KINDS:
        raise FieldProblem(
            MSG_AUDIT_UNKNOWN_KIND.format(
                kind=word, kinds=", ".join(AUDIT_KINDS), closest=did_you_mean(word, [*AUDIT_KINDS, *AUDIT_SETTINGS])
            ),
            where,
        )
    return word


class AuditsSpec(Strict):
    """Which audits a study runs, with their settings.

    Attributes
    ----------
    kinds : tuple of str
        Kinds in :data:`AUDIT_KINDS` order. ``data`` runs before training; the others after it.
    strict : bool
        A severe finding of the data audit stops the run (exit 2) before any trial runs.
    timeout : float or None
        Seconds an audit task may take before it is stopped and stored as failed.
    options : dict
        Per kind, the settings that differ from ``rigorlab.audits.DEFAULTS``.
    """

    kinds: tuple[str, ...] = ()
    strict: bool = False
    timeout: float | None = Field(None, gt=0, description="seconds per audit task")
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            kinds = [_kind(word, index) for index, word in enumerate(data)]
            return {"kinds": tuple(k for k in AUDIT_KINDS if k in kinds)}
        if not isinstance(data, Mapping):
            raise ValueError(MSG_AUDITS_SHAPE.format(got=_describe(data)))
        values: dict[str, Any] = {}
        chosen: list[str] = []
        options: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            if key in AUDIT_SETTINGS:
                values[key] = value
                continue
            kind = _kind(key, key)
            if value is False:
                continue
            if value is None or value is True:
                value = {}
            if not isinstance(value, Mapping):
                raise FieldProblem(MSG_AUDIT_OPTIONS.format(kind=kind, got=_describe(value)), kind)
            if kind == "cards" and value:
                raise FieldProblem(MSG_CARDS_OPTIONS, kind)
            chosen.append(kind)
            if value:
                options[kind] = {str(name): setting for name, setting in value.items()}
        values["kinds"] = tuple(k for k in AUDIT_KINDS if k in chosen)
        values["options"] = options
        return values

    @model_serializer(mode="plain")
    def _to_file(self) -> dict[str, Any]:
        """The mapping form of the study file (what ``_from_file`` reads back)."""
        stored: dict[str, Any] = {"strict": self.strict, "timeout": self.timeout}
        stored.update({kind: dict(self.options.get(kind, {})) for kind in self.kinds})
        return stored

    def settings(self, kind: str) -> dict[str, Any]:
        """The settings given for ``kind`` (empty: the defaults)."""
        return dict(self.options.get(kind, {}))

    @property
    def after_training(self) -> tuple[str, ...]:
        """The kinds that read the trials' results (all but ``data``)."""
        return tuple(kind for kind in self.kinds if kind != "data")


@dataclass(frozen=True)
class SettingRule:
    """What an audit setting must be: words for the message ("must be ...") and the test."""

    expected: str
    accepts: Callable[[Any], bool]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(minimum: int) -> SettingRule:
    words = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    return SettingRule(words, lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= minimum)


def _numbers(expected: str, accepts: Callable[[float], bool]) -> SettingRule:
    return SettingRule(
        f"a non-empty list of {expected}",
        lambda value: isinstance(value, list) and bool(value) and all(_is_number(v) and accepts(v) for v in value),
    )


_POSITIVE = _count(1)
_FLAG = SettingRule("true or false", lambda value: isinstance(value, bool))
_FOLDS = SettingRule("'first' or 'all'", lambda value: value in ("first", "all"))
_LEVELS = _numbers("numbers >= 0", lambda value: value >= 0)

# The audits own their settings (rigorlab.audits.DEFAULTS); the ranges live here, beside the rest of the
# study file's schema, so that `rigorlab check` refuses a value that would make every audit task fail.
# A test checks that every setting of DEFAULTS has a rule (positive_label, any label, excepted) and that
# every default passes its own rule.
AUDIT_SETTING_RULES: dict[str, dict[str, SettingRule]] = {
    "data": {
        "near_duplicate_tolerance": SettingRule("a number >= 0", lambda value: _is_number(value) and value >= 0),
        "target_leakage_rows": _POSITIVE,
        "label_issues": _FLAG,
        "label_issue_folds": _count(2),  # cross-validation needs two folds
    },
    "fairness": {
        "n_boot": _POSITIVE,
        "confidence": SettingRule(
            "a number between 0 and 1 (exclusive)", lambda value: _is_number(value) and 0 < value < 1
        ),
        "min_group_rows": _POSITIVE,
        "max_groups": _POSITIVE,
        "bins": _count(2),  # one quantile bin would put every row in one group
    },
    "robustness": {
        "noise_levels": _LEVELS,
        "swap_rates": _numbers("shares between 0 and 1", lambda value: 0 <= value <= 1),
        "repeats": _POSITIVE,
        "max_rows": _POSITIVE,
        "epsilons": _LEVELS,
        "attack_rows": _POSITIVE,
        "pgd_steps": _POSITIVE,
        "blackbox_rows": _count(0),  # 0 turns the black-box attack off
        "blackbox_iterations": _POSITIVE,
        "blackbox_evaluations": _POSITIVE,
        "folds": _FOLDS,
    },
    "explain": {
        "importance_rows": _POSITIVE,
        "importance_repeats": _POSITIVE,
        "shap_rows": _POSITIVE,
        "background_rows": _POSITIVE,
        "agnostic_rows": _POSITIVE,
        "agnostic_background": _POSITIVE,
        "agnostic_evaluations": _POSITIVE,
        "local_rows": _count(0),  # 0: no per-row explanations
        "top_features": _POSITIVE,
        "folds": _FOLDS,
    },
}
"""Per audit kind, what each setting must be (checked by ``rigorlab check`` with the file's line)."""


Objective = Literal[
    "accuracy_score", "balanced_accuracy_score", "selection_rate", "true_positive_rate", "true_negative_rate"
]


class MitigationSpec(Strict):
    """A fairlearn mitigation wrapping a scikit-learn classifier (``mitigation:`` of a model).

    ``threshold_optimizer`` (post-processing: group-specific thresholds on the fitted model's scores,
    randomized between two thresholds) takes ``objective`` and ``grid_size``;
    ``exponentiated_gradient`` (a reduction: a randomized mixture of models refit with sample
    weights) takes ``eps`` and ``max_iter``. Both need the dataset's ``sensitive:`` columns (or the
    ones ``sensitive`` names; several form intersectional groups), at fit and (threshold optimizer) at
    prediction time.
    """

    method: Literal["threshold_optimizer", "exponentiated_gradient"]
    constraints: Literal[
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "true_negative_rate_parity",
        "false_negative_rate_parity",
        "error_rate_parity",
    ] = "demographic_parity"
    objective: Objective | None = Field(
        None, description="threshold_optimizer: what the thresholds maximise (default accuracy_score)"
    )
    grid_size: int | None = Field(None, ge=2, le=100_000, description="threshold_optimizer: thresholds searched")
    eps: float | None = Field(None, gt=0, le=1, description="exponentiated_gradient: allowed constraint violation")
    max_iter: int | None = Field(None, ge=1, le=10_000, description="exponentiated_gradient: iterations")
    sensitive: list[str] | None = Field(
        None, min_length=1, description="the dataset's sensitive columns to mitigate for (default: all of them)"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"method": data}
        if not isinstance(data, Mapping):
            raise ValueError(MSG_MITIGATION_SHAPE.format(methods=", ".join(MITIGATIONS), got=_describe(data)))
        method = data.get("method")
        if isinstance(method, str) and method not in MITIGATIONS:
            raise FieldProblem(
                MSG_MITIGATION_UNKNOWN.format(
                    method=method, methods=", ".join(MITIGATIONS), closest=did_you_mean(method, list(MITIGATIONS))
                ),
                "method",
            )
        return data

    @model_validator(mode="after")
    def _fits_method(self) -> MitigationSpec:
        supported = MITIGATION_CONSTRAINTS[self.method]
        if self.constraints not in supported:
            raise FieldProblem(
                MSG_MITIGATION_CONSTRAINT.format(
                    method=self.method, constraints=self.constraints, supported=", ".join(supported)
                ),
                "constraints",
            )
        for method, fields in METHOD_FIELDS.items():
            if method == self.method:
                continue
            for name in fields:
                if getattr(self, name) is not None:
                    raise FieldProblem(MSG_MITIGATION_FIELD.format(field=name, owner=method), name)
        return self

    def resolved(self) -> dict[str, Any]:
        """Method, constraints and the method's settings with defaults filled (part of the trial key)."""
        settings = {"method": self.method, "constraints": self.constraints, **MITIGATION_DEFAULTS[self.method]}
        settings.update({k: v for k in MITIGATION_DEFAULTS[self.method] if (v := getattr(self, k)) is not None})
        if self.sensitive is not None:
            # Only when given, so that the keys of arms mitigating for every sensitive column stay as they are.
            settings["sensitive"] = list(self.sensitive)
        return settings
