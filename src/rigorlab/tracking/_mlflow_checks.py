"""What ``import mlflow`` checks before it writes anything, and the messages it refuses with.

- ``--arm``/``--dataset``/``--replicate`` must name a param or tag that at least one run has: a
  typo would otherwise fall back to the run names silently, and the runs, once stored, are never
  regrouped.
- The study name follows the study-file rule, and a study defined by a study file is not joined.
- Runs already in the study must get the same arm, dataset, replicate and fold as when they were
  imported: a stored run is never changed, so other options cannot regroup them; mixing both
  groupings in one study would be worse than refusing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rigorlab.errors import InputError, NotFoundError, did_you_mean
from rigorlab.store import RUNNING, RunStore
from rigorlab.tracking._checks import STUDY_NAME_RULE, is_study_name, study_name_suggestion
from rigorlab.tracking._mlflow_common import TAG
from rigorlab.tracking._study_checks import study_file_of

__all__ = [
    "MSG_BAD_EXPERIMENT_STUDY",
    "MSG_BAD_STUDY_OPTION",
    "MSG_IDENTITY_CHANGED",
    "MSG_IMPORT_STUDY_FILE",
    "MSG_UNKNOWN_IDENTITY",
    "check_identity_option",
    "check_study_name",
    "check_study_target",
    "lookup",
    "run_key",
]

MSG_UNKNOWN_IDENTITY = (
    "--{option} {value} is neither a param nor a tag of any run of experiment '{experiment}'.{closest} "
    "Params: {params}. Tags: {tags}. Give one of these (params.NAME or tags.NAME picks one kind), or leave "
    "--{option} out; nothing was imported."
)
MSG_BAD_STUDY_OPTION = (
    "--study {value!r} must be {rule}, as in study files. Give e.g. --study {suggestion}; nothing was imported."
)
MSG_BAD_EXPERIMENT_STUDY = (
    "The MLflow experiment '{experiment}' cannot be a study of the same name: a study name must be {rule}, as "
    "in study files. Import it under another name: --experiment '{experiment}' --study {suggestion}; nothing was "
    "imported."
)
MSG_IMPORT_STUDY_FILE = (
    "The study '{study}' in the store {store} was defined by the study file {path}; runs of experiment "
    "'{experiment}' cannot join it (its plan, `rigorlab status` and `rigorlab reproduce` belong to that file). "
    "Import them into a study of their own with --study {suggestion}; nothing was imported."
)
MSG_IDENTITY_CHANGED = (
    "{count} run(s) of experiment '{experiment}' are already in study '{study}' under another grouping: MLflow "
    "run {run} is stored as {stored}, but these options make it {new}. Stored runs are kept as they are, so "
    "importing again with other --arm, --dataset or --replicate cannot regroup them, and a study mixing both "
    "groupings would compare the wrong runs. Give the options used before, or import into a new study "
    "(--study {suggestion}) or another store (--store PATH); nothing was imported."
)


def lookup(run: Any, name: str | None) -> str | None:
    """The value of the param or tag ``name`` (``params.NAME``, ``tags.NAME``, or NAME: param first)."""
    if not name:
        return None
    params: dict[str, str] = run.data.params
    tags: dict[str, str] = run.data.tags
    if name.startswith("params."):
        return params.get(name[7:])
    if name.startswith("tags."):
        return tags.get(name[5:])
    return params.get(name, tags.get(name))


def run_key(run: Any) -> str:
    """The trial key of an MLflow run: the rigorlab key it carries (exported by rigorlab), else its id."""
    return str(run.data.tags.get(f"{TAG}key") or run.info.run_id)


def check_identity_option(runs: Sequence[Any], experiment: str, option: str, value: str | None) -> None:
    """Refuse ``--option value`` when no run of the experiment has that param or tag."""
    if value is None or not runs or any(lookup(run, value) is not None for run in runs):
        return
    params = sorted({name for run in runs for name in run.data.params})
    # MLflow's own tags (mlflow.runName, mlflow.user...) are on every run and rarely what is meant.
    tags = sorted({name for run in runs for name in run.data.tags if not name.startswith("mlflow.")})
    if value.startswith(("params.", "tags.")):
        candidates = [f"params.{name}" for name in params] + [f"tags.{name}" for name in tags]
    else:
        candidates = params + [name for name in tags if name not in params]
    raise InputError(
        MSG_UNKNOWN_IDENTITY.format(
            option=option,
            value=value,
            experiment=experiment,
            closest=did_you_mean(value, candidates),
            params=_names(params),
            tags=_names(tags),
        )
    )


def check_study_name(study: str | None, experiment: str) -> str:
    """The study the experiment goes to (``--study`` or the experiment's name), if study files allow it."""
    if study is not None:
        if not is_study_name(study):
            raise InputError(
                MSG_BAD_STUDY_OPTION.format(value=study, rule=STUDY_NAME_RULE, suggestion=study_name_suggestion(study))
            )
        return study
    if not is_study_name(experiment):
        raise InputError(
            MSG_BAD_EXPERIMENT_STUDY.format(
                experiment=experiment, rule=STUDY_NAME_RULE, suggestion=study_name_suggestion(experiment)
            )
        )
    return experiment


def check_study_target(
    store: RunStore, study: str, experiment: str, identified: Iterable[tuple[Any, dict[str, Any]]]
) -> None:
    """Refuse a study defined by a study file, and runs already stored under another grouping."""
    path = study_file_of(store, study)
    if path is not None:
        raise InputError(
            MSG_IMPORT_STUDY_FILE.format(
                study=study, store=store.root, path=path, experiment=experiment, suggestion=f"{study}-mlflow"
            )
        )
    stored = stored_identities(store, study)
    changed = []
    for run, identity in identified:
        before = stored.get(run_key(run))
        if before is not None and before != _identity_tuple(identity):
            changed.append((run, before, _identity_tuple(identity)))
    if changed:
        run, before, after = changed[0]
        raise InputError(
            MSG_IDENTITY_CHANGED.format(
                count=len(changed),
                experiment=experiment,
                study=study,
                run=run.info.run_name or run.info.run_id,
                stored=_describe(before),
                new=_describe(after),
                suggestion=f"{study}-2",
            )
        )


def stored_identities(store: RunStore, study: str) -> dict[str, tuple[str, str, int, int]]:
    """Key -> (arm, dataset, replicate, fold) of the study's stored trials, except those still running
    (an import replaces those)."""
    try:
        trials = store.trials(study, all_trials=True)
    except NotFoundError:
        return {}
    if trials.empty:
        return {}
    trials = trials[trials["status"] != RUNNING]
    return {
        str(key): (str(arm), str(dataset), int(replicate), int(fold))
        for key, arm, dataset, replicate, fold in zip(
            trials["key"], trials["arm"], trials["dataset"], trials["replicate"], trials["fold"], strict=True
        )
    }


def _identity_tuple(identity: dict[str, Any]) -> tuple[str, str, int, int]:
    return (identity["arm"], identity["dataset"], int(identity["replicate"]), int(identity["fold"]))


def _describe(identity: tuple[str, str, int, int]) -> str:
    arm, dataset, replicate, fold = identity
    return f"arm '{arm}', dataset '{dataset}', replicate {replicate}, fold {fold}"


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none"
