"""Load a study file into a validated :class:`StudySpec`, with ``file:line`` in every error."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from rigorlab.errors import SpecError, did_you_mean
from rigorlab.models import is_known_metric, known_metric_names
from rigorlab.spec._audit_spec import AUDIT_SETTING_RULES
from rigorlab.spec._checks import check_datasets, check_preprocess
from rigorlab.spec._imports import ModuleBroken, import_attribute
from rigorlab.spec._model import FieldProblem, MissingField, ModelSpec, StudySpec
from rigorlab.spec._yaml import Located, load_yaml_with_positions, parse_yaml_text

__all__ = ["LoadedStudy", "load_study", "load_study_text"]

MSG_FIELD = "The '{field}' field of {owner} {expected}. Got {got} instead ({where})."
MSG_FIELD_CLOSEST = MSG_FIELD + "{closest}"
MSG_MISSING = "The '{field}' field of {owner} is required but missing ({where}).{hint}"
MSG_UNKNOWN_KEY = "Unknown field '{field}' in {owner} ({where}).{closest} Valid fields: {valid}."
MSG_PROBLEM = "{owner}: {problem} ({where})."
MSG_ESTIMATOR_IMPORT = (
    "The 'estimator' field of {owner} names '{path}', which cannot be imported: {reason} ({where}). "
    "Give the full import path of a scikit-learn compatible class, e.g. sklearn.linear_model.LogisticRegression, "
    "and check that its package is installed in this environment."
)
MSG_ESTIMATOR_NOT_ESTIMATOR = (
    "The 'estimator' field of {owner} names '{path}', which is not a scikit-learn compatible estimator "
    "(a class with fit and get_params) ({where})."
)
MSG_UNKNOWN_PARAM = (
    "The 'params' field of {owner} sets '{param}', which {estimator} does not take ({where}).{closest} "
    "Valid parameters: {valid}."
)
MSG_MODULE_IMPORT = (
    "The 'module' field of {owner} names '{path}', which cannot be imported: {reason} ({where}). Give the import "
    "path of a torch.nn.Module class, e.g. mypackage.models:MLP, importable from the study file's folder or the "
    "installed packages."
)
MSG_IMPORT_BROKEN = (
    "The '{field}' field of {owner} names '{path}', but its module '{module}' failed while being imported: "
    "{reason} ({where}). Fix that error in the module (importing it runs its top-level code), then run "
    "`rigorlab check` again."
)
MSG_MODULE_NOT_MODULE = (
    "The 'module' field of {owner} names '{path}', which is not a torch.nn.Module subclass ({where}). Give a class "
    "that derives from torch.nn.Module; rigorlab constructs it with params: and trains it."
)
MSG_TORCH_MISSING = (
    "{owner} has trainer: {trainer}, which needs PyTorch, but torch cannot be imported: {reason} ({where}). "
    "Install it (pip install 'rigorlab[torch]')."
)
MSG_UNKNOWN_METRIC = (
    "The 'metrics' field of the study names '{metric}', which is not a metric rigorlab knows ({where}).{closest} "
    "Use one of: {friendly}, or any scikit-learn scorer name."
)
MSG_BASELINE = (
    "The 'baseline' field of the study names '{baseline}', which is not one of the arms ({where}).{closest} "
    "Arms: {arms}."
)
MSG_AUDIT_OPTION = (
    "The audits field of the study sets '{option}' for audit '{kind}', which it does not take ({where}).{closest} "
    "Settings of {kind}: {valid}."
)
MSG_AUDIT_OPTION_TYPE = (
    "The '{option}' setting of audit '{kind}' must be {expected} (its default is {default}). Got {got} instead "
    "({where})."
)
MSG_FAIRLEARN_MISSING = (
    "{owner} has mitigation: {method}, which needs fairlearn, but it cannot be imported: {reason} ({where}). "
    "Install it (pip install 'rigorlab[audit]')."
)
MSG_BASELINE_GRID = (
    "The 'baseline' field of the study names model '{baseline}', which expands to {count} arms because its "
    "params hold a grid and the protocol has no inner_folds ({where}). Name one arm ({arms}), or add "
    "inner_folds to the protocol so that an inner CV selects {baseline}'s parameters."
)

# Words for pydantic's error types; the context supplies numbers (ge, gt, expected...).
_EXPECTED = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be a text string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list (a YAML sequence: - item)",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "too_short": "must hold at least {min_length} item(s)",
    "too_long": "must hold at most {max_length} item(s)",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "must match {pattern}",
}
_PATTERN_WORDS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$": "a name of letters, digits, '_', '.' or '-' (no spaces)",
    r"^[A-Za-z_][\w.]*([.:][A-Za-z_]\w*)$": (
        "an import path such as package.module.ClassName or package.module:function"
    ),
}


@dataclass(frozen=True)
class LoadedStudy:
    """A validated study with where it came from."""

    spec: StudySpec
    path: Path | None
    text: str
    located: Located

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


def _owner(path: Sequence[str | int], data: Any) -> str:
    """Human name of the mapping that holds the last element of ``path``."""
    if not path:
        return "the study"
    words: list[str] = []
    node = data
    for part in path:
        if isinstance(part, int):
            name = (
                node[part].get("name")
                if isinstance(node, list) and part < len(node) and isinstance(node[part], dict)
                else None
            )
            words[-1] = f"{words[-1]}[{part}]" + (f" ({name})" if name else "")
        else:
            words.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return " ".join(words[-1:]) if words else "the study"


def _valid_fields(path: Sequence[str | int]) -> list[str]:
    from rigorlab.spec._audit_spec import MitigationSpec
    from rigorlab.spec._model import DatasetSpec, EarlyStoppingSpec, ProtocolSpec, TrainingSpec

    model: type[Any] = StudySpec
    for part in path:
        if isinstance(part, int):
            continue
        model = {
            "datasets": DatasetSpec,
            "models": ModelSpec,
            "protocol": ProtocolSpec,
            "training": TrainingSpec,
            "early_stopping": EarlyStoppingSpec,
            "mitigation": MitigationSpec,
        }.get(str(part), model)
    return [field.alias or name for name, field in model.model_fields.items()]


def _describe(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "..."


def _translate(error: ErrorDetails, located: Located) -> str:
    loc = [part for part in error["loc"] if part != "function-after"]
    kind = error["type"]
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldProblem):
        loc = [*loc, *cause.path]
    if isinstance(cause, MissingField):
        kind = "missing"
    where = located.where(tuple(loc))
    if kind == "extra_forbidden":
        field = str(loc[-1])
        parent = loc[:-1]
        valid = _valid_fields(parent)
        closest = did_you_mean(field, valid)
        return MSG_UNKNOWN_KEY.format(
            field=field, owner=_owner(parent, located.data), where=where, closest=closest, valid=", ".join(valid)
        )
    if kind == "missing":
        hint = " Run `rigorlab init` to see a complete study file." if len(loc) == 1 else ""
        return MSG_MISSING.format(
            field=loc[-1], owner=_owner(loc[:-1], located.data), where=located.where(tuple(loc[:-1])), hint=hint
        )
    if kind == "value_error":
        message = str(cause) if cause is not None else error["msg"]
        owner = _owner(loc[:-1], located.data) if loc else "the study"
        if loc and isinstance(loc[-1], str):
            owner = f"The '{loc[-1]}' field of {_owner(loc[:-1], located.data)}"
        elif loc:
            owner = _owner(loc, located.data)
        return MSG_PROBLEM.format(owner=owner, problem=message, where=where)
    template = _EXPECTED.get(kind)
    closest = ""
    if kind == "literal_error" and isinstance(error.get("input"), str):
        # pydantic gives the choices as text ("'a', 'b' or 'c'"); a typo gets the closest one, as metrics do.
        closest = did_you_mean(str(error.get("input")), re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    if template is None:
        expected = f"is invalid: {error['msg']}"
    else:
        context = dict(ctx)
        if "pattern" in context:
            context["pattern"] = _PATTERN_WORDS.get(str(context["pattern"]), context["pattern"])
            template = "must be {pattern}"
        expected = template.format(**context)
    field_name = loc[-1] if loc and isinstance(loc[-1], str) else None
    if field_name is None:
        owner = _owner(loc, located.data)
        return f"{owner[0].upper()}{owner[1:]} {expected}. Got {_describe(error.get('input'))} instead ({where})."
    return MSG_FIELD_CLOSEST.format(
        field=field_name,
        owner=_owner(loc[:-1], located.data),
        expected=expected,
        got=_describe(error.get("input")),
        where=where,
        closest=closest,
    )


def _validate(located: Located) -> StudySpec:
    try:
        return StudySpec.model_validate(located.data)
    except ValidationError as error:
        problems = [_translate(detail, located) for detail in error.errors()]
        # One paragraph per problem, the first one first; a user fixes them top to bottom.
        raise SpecError("\n".join(dict.fromkeys(problems))) from None


def _check_params(model: ModelSpec, index: int, target: Any, located: Located) -> None:
    """Every key of params: must be a parameter of the constructor (unless it takes **kwargs)."""
    parameters = inspect.signature(target.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()) and model.is_torch:
        return
    valid = sorted(parameters.keys() - {"self", "args", "kwargs"})
    for param in model.params:
        if param not in valid:
            raise SpecError(
                MSG_UNKNOWN_PARAM.format(
                    owner=f"models[{index}] ({model.name})",
                    param=param,
                    estimator=target.__name__,
                    where=located.where(("models", index, "params", param)),
                    closest=did_you_mean(param, valid),
                    valid=", ".join(valid),
                )
            )


def check_torch_module(model: ModelSpec, index: int, located: Located) -> None:
    """Import a torch model's module class and check its parameters against its constructor."""
    owner = f"models[{index}] ({model.name})"
    where = located.where(("models", index, "module" if model.module else "trainer"))
    try:
        import torch
    except ImportError as error:  # torch is an optional extra
        reason = f"{type(error).__name__}: {error}"
        raise SpecError(
            MSG_TORCH_MISSING.format(owner=owner, trainer=model.trainer, reason=reason, where=where)
        ) from error
    path = model.import_path
    try:
        module_class = import_attribute(path)
    except ModuleBroken as error:
        raise SpecError(
            MSG_IMPORT_BROKEN.format(
                field="module", owner=owner, path=path, module=error.module, reason=error.reason, where=where
            )
        ) from error
    except (ImportError, AttributeError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
        raise SpecError(MSG_MODULE_IMPORT.format(owner=owner, path=path, reason=reason, where=where)) from error
    if not (inspect.isclass(module_class) and issubclass(module_class, torch.nn.Module)):
        raise SpecError(MSG_MODULE_NOT_MODULE.format(owner=owner, path=path, where=where))
    _check_params(model, index, module_class, located)


def check_estimators(spec: StudySpec, located: Located) -> None:
    """Import every estimator (or torch module) and check its parameters against its constructor."""
    for index, model in enumerate(spec.models):
        if model.mitigation is not None:
            _check_fairlearn(model, index, located)
        if model.is_torch:
            check_torch_module(model, index, located)
            continue
        assert model.estimator is not None
        where = located.where(("models", index, "estimator"))
        owner = f"models[{index}] ({model.name})"
        try:
            estimator_class = import_attribute(model.estimator)
        except ModuleBroken as error:
            raise SpecError(
                MSG_IMPORT_BROKEN.format(
                    field="estimator",
                    owner=owner,
                    path=model.estimator,
                    module=error.module,
                    reason=error.reason,
                    where=where,
                )
            ) from error
        except (ImportError, AttributeError, ValueError) as error:
            reason = f"{type(error).__name__}: {error}"
            raise SpecError(
                MSG_ESTIMATOR_IMPORT.format(owner=owner, path=model.estimator, reason=reason, where=where)
            ) from error
        if not (
            inspect.isclass(estimator_class)
            and hasattr(estimator_class, "fit")
            and hasattr(estimator_class, "get_params")
        ):
            raise SpecError(MSG_ESTIMATOR_NOT_ESTIMATOR.format(owner=owner, path=model.estimator, where=where))
        _check_params(model, index, estimator_class, located)


def _check_fairlearn(model: ModelSpec, index: int, located: Located) -> None:
    assert model.mitigation is not None
    try:
        import fairlearn  # noqa: F401 - an optional extra, imported to check that it is there
    except ImportError as error:
        raise SpecError(
            MSG_FAIRLEARN_MISSING.format(
                owner=f"models[{index}] ({model.name})",
                method=model.mitigation.method,
                reason=f"{type(error).__name__}: {error}",
                where=located.where(("models", index, "mitigation")),
            )
        ) from error


def _expected_type(default: Any) -> tuple[str, Callable[[Any], bool]] | None:
    """What a setting must be, judged from its default (None: anything)."""
    if isinstance(default, bool):
        return "true or false", lambda value: isinstance(value, bool)
    if isinstance(default, int | float):
        return "a number", lambda value: isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list):
        return "a list", lambda value: isinstance(value, list)
    if isinstance(default, str):
        return "a text string", lambda value: isinstance(value, str)
    return None


def check_audits(spec: StudySpec, located: Located) -> None:
    """Every setting given for an audit is one it takes, of the type of its default."""
    if spec.audits is None or not spec.audits.options:
        return
    from rigorlab.audits import DEFAULTS  # the audits own their settings; imported only when some are given

    for kind, options in spec.audits.options.items():
        defaults = DEFAULTS.get(kind, {})
        valid = sorted(defaults)
        for option, value in options.items():
            where = located.where(("audits", kind, option))
            if option not in defaults:
                raise SpecError(
                    MSG_AUDIT_OPTION.format(
                        option=option,
                        kind=kind,
                        where=where,
                        closest=did_you_mean(option, valid),
                        valid=", ".join(valid) or "none",
                    )
                )
            rule = AUDIT_SETTING_RULES.get(kind, {}).get(option)
            expected = (rule.expected, rule.accepts) if rule is not None else _expected_type(defaults[option])
            # A setting with a rule must satisfy it (null included: the audits would fail on it);
            # one without (a default of another type) is only type-checked.
            if expected is not None and (value is not None or rule is not None) and not expected[1](value):
                raise SpecError(
                    MSG_AUDIT_OPTION_TYPE.format(
                        option=option,
                        kind=kind,
                        expected=expected[0],
                        default=_describe(defaults[option]),
                        got=_describe(value),
                        where=where,
                    )
                )


def check_metrics(spec: StudySpec, located: Located) -> None:
    from rigorlab.models import METRICS

    for index, metric in enumerate(spec.metrics):
        if not is_known_metric(metric):
            raise SpecError(
                MSG_UNKNOWN_METRIC.format(
                    metric=metric,
                    where=located.where(("metrics", index)),
                    closest=did_you_mean(metric, known_metric_names()),
                    friendly=", ".join(METRICS),
                )
            )


def check_baseline(spec: StudySpec, located: Located) -> None:
    from rigorlab.spec._plan import expand_arms

    if spec.baseline is None:
        return
    arms = expand_arms(spec)
    names = [arm.name for arm in arms]
    if spec.baseline in names:
        return
    where = located.where(("baseline",))
    from_model = [arm.name for arm in arms if arm.model == spec.baseline]
    if from_model:
        raise SpecError(
            MSG_BASELINE_GRID.format(
                baseline=spec.baseline, count=len(from_model), where=where, arms=", ".join(from_model)
            )
        )
    raise SpecError(
        MSG_BASELINE.format(
            baseline=spec.baseline,
            where=where,
            closest=did_you_mean(spec.baseline, names),
            arms=", ".join(names),
        )
    )


def add_import_path(folder: Path) -> None:
    """Make modules beside the study file importable (custom estimators, dataset callables)."""
    text = str(folder)
    if text not in sys.path:
        sys.path.insert(0, text)


def _finish(located: Located, path: Path | None, text: str) -> LoadedStudy:
    add_import_path(path.parent if path is not None else Path.cwd())
    spec = _validate(located)
    check_datasets(spec, located)
    check_metrics(spec, located)
    check_preprocess(spec, located)
    check_estimators(spec, located)
    check_baseline(spec, located)
    check_audits(spec, located)
    return LoadedStudy(spec=spec, path=path, text=text, located=located)


def load_study(path: str | Path) -> LoadedStudy:
    """Load and validate a study file.

    Parameters
    ----------
    path : str or Path
        The YAML study file.

    Returns
    -------
    LoadedStudy
        The validated :class:`StudySpec` (``.spec``) with its file, text and value positions.

    Raises
    ------
    SpecError
        With ``file:line``, the field, what was expected and what was found.

    Examples
    --------
    >>> study = load_study("examples/quickstart.yaml")  # doctest: +SKIP
    >>> study.spec.replicates  # doctest: +SKIP
    5
    """
    file = Path(path)
    located = load_yaml_with_positions(file)
    return _finish(located, file.resolve(), file.read_text(encoding="utf-8"))


def load_study_text(text: str, name: str = "<study>") -> LoadedStudy:
    """Validate a study given as YAML text (for notebooks and tests)."""
    return _finish(parse_yaml_text(text, name), None, text)
