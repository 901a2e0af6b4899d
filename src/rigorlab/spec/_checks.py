"""Checks of a validated study that need its file positions: declared features, preprocessing options.

They run when a study file is loaded (``rigorlab check`` and ``rigorlab run``), not as pydantic
validators, so that a spec stored by an earlier version still validates when ``show`` or ``report``
read it back; a study file with one of these mistakes is refused before anything is written.
"""

from __future__ import annotations

from typing import Any

from rigorlab.errors import SpecError, did_you_mean
from rigorlab.spec._model import StudySpec
from rigorlab.spec._yaml import Located

__all__ = ["MSG_FEATURES_EMPTY", "MSG_FEATURES_TARGET", "check_datasets", "check_preprocess"]

MSG_FEATURES_TARGET = (
    "The 'features' field of {owner} lists the target column '{column}' ({where}): the model would be trained on "
    "the label it predicts. Remove '{column}' from features:."
)
MSG_FEATURES_EMPTY = (
    "The 'features' field of {owner} is an empty list ({where}). Expected a non-empty list of columns, or leave "
    "features: out to use every column but the target (and the sensitive and group columns)."
)
MSG_PREPROCESS_OPTION = (
    "The '{step}' preprocessing step of {owner} does not take the option '{option}' ({where}).{closest} "
    "Options of {step}: {valid}."
)
MSG_PREPROCESS_VALUE = "The '{step}' preprocessing step of {owner} has a value it cannot use: {error} ({where})."


def check_datasets(spec: StudySpec, located: Located) -> None:
    """A dataset's ``features:`` must not be empty and must not list its target column."""
    for index, dataset in enumerate(spec.datasets):
        if dataset.features is None:
            continue
        owner = f"datasets[{index}] ({dataset.name})"
        if not dataset.features:
            raise SpecError(
                MSG_FEATURES_EMPTY.format(owner=owner, where=located.where(("datasets", index, "features")))
            )
        if dataset.target is not None and dataset.target in dataset.features:
            position = dataset.features.index(dataset.target)
            raise SpecError(
                MSG_FEATURES_TARGET.format(
                    owner=owner,
                    column=dataset.target,
                    where=located.where(("datasets", index, "features", position)),
                )
            )


def check_preprocess(spec: StudySpec, located: Located) -> None:
    """Every option of a preprocessing step is one its transformer takes, with a value it accepts."""
    from rigorlab.models._sklearn import check_preprocess_options, preprocess_option_names

    for index, model in enumerate(spec.models):
        owner = f"models[{index}] ({model.name})"
        for position, step in enumerate(model.preprocess):
            if isinstance(step, str):
                continue
            for name, options in step.items():
                given: dict[str, Any] = dict(options or {})
                valid = preprocess_option_names(name)
                for option in given:
                    if option not in valid:
                        raise SpecError(
                            MSG_PREPROCESS_OPTION.format(
                                step=name,
                                owner=owner,
                                option=option,
                                where=located.where(("models", index, "preprocess", position, name, option)),
                                closest=did_you_mean(option, valid),
                                valid=", ".join(valid),
                            )
                        )
                try:
                    check_preprocess_options(name, given)
                except (ValueError, TypeError) as error:
                    text = str(error)
                    named = [o for o in given if f"'{o}' parameter" in text]
                    path: tuple[str | int, ...] = ("models", index, "preprocess", position, name, *named[:1])
                    raise SpecError(
                        MSG_PREPROCESS_VALUE.format(
                            step=name, owner=owner, error=text.rstrip("."), where=located.where(path)
                        )
                    ) from error
