"""Rebuild stored trials from their provenance: select them, reload the study and its data,
check every fingerprint, and give each trial exactly the configuration, seeds and split it ran with.

Whatever cannot be rebuilt faithfully (a dataset that changed or moved, a configuration the study
file can no longer express, damaged split indices) is refused with the reason, never run
approximately.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rigorlab.data import Dataset, Split, load_dataset
from rigorlab.errors import DataError, InputError, SpecError, StoreError
from rigorlab.spec import Arm, LoadedStudy, Plan, Seeds, Trial, build_plan, load_study_text
from rigorlab.spec._load import add_import_path

if TYPE_CHECKING:
    from rigorlab.execution import TrialTask
    from rigorlab.store import RunStore

__all__ = ["Rebuilt", "load_stored_study", "rebuild_trials", "select_trials"]

MSG_NO_STUDY_FILE = (
    "Study '{study}' has no stored study file (its trials were logged with rigorlab.track(), not run from a "
    "study file), so its trials cannot be re-run automatically."
)
MSG_NOT_FINISHED = (
    "Trial '{key}' of study '{study}' is stored as {status}; only finished trials can be verified. "
    "List them with `rigorlab trials {study} --status done`."
)
MSG_NOTHING = "Study '{study}' has no finished trials to verify{scope}. Run `rigorlab run` on its study file first."
MSG_BAD_SAMPLE = "--sample must be a whole number >= 1. Got {value} instead."
MSG_CHOOSE_ONE = "Give at most one of --trials, --sample and --all. Got {given}."
MSG_STUDY_DOES_NOT_LOAD = (
    "The study file stored with study '{study}' no longer loads in this environment, so its trials cannot be "
    "rebuilt:\n{error}"
)
MSG_DATA_MOVED = (
    "Dataset '{name}': the file {path} that the study read (sha256 {sha}) is not there any more. Put it back, or "
    "pass --data-dir FOLDER holding a copy of {file} (any folder: the content is checked, not the place)."
)
MSG_DATA_UNLOADABLE = "Dataset '{name}' cannot be loaded any more: {error}"
MSG_DATA_CHANGED = (
    "Dataset '{name}' changed since the trial ran: {what}. The trial was not run; restore the data it used to "
    "verify it."
)
MSG_DATASET_GONE = "Dataset '{name}' is no longer declared in the stored study file, so the trial cannot be rebuilt."
MSG_CONFIG_UNBUILDABLE = "The trial's stored configuration cannot be rebuilt from the study file ({reason})."
MSG_SPLIT_DAMAGED = (
    "The stored split indices of the trial do not match its split fingerprint ({stored} recorded, {found} "
    "found): the store's objects were changed. The trial was not run."
)
MSG_SPLIT_MISSING = (
    "The trial's split indices are not in the store and the study no longer derives its split ({fingerprint})."
)
NOTE_SEEDS = (
    "the stored seeds differ from those the study file derives for replicate {replicate} ({changes}): the "
    "trial's record was changed after it ran, or the study's seed changed"
)
NOTE_CONFIG = "the stored configuration differs from the study file's arm '{arm}' ({changes})"
NOTE_SPLIT = "the study file now derives another split for replicate {replicate}, fold {fold}"
NOTE_NOT_PLANNED = "not in the study file's current plan: rebuilt from its stored provenance"


def select_trials(
    store: RunStore, study: str, trials: Sequence[str] | None, sample: int | None, all_trials: bool, seed: int
) -> list[dict[str, Any]]:
    """The provenance records of the chosen finished trials (see :func:`reproduce`)."""
    given = [name for name, value in (("--trials", trials), ("--sample", sample), ("--all", all_trials)) if value]
    if len(given) > 1:
        raise InputError(MSG_CHOOSE_ONE.format(given=", ".join(given)))
    if trials:
        resolved: dict[str, dict[str, Any]] = {}
        for key in trials:
            found = store.provenance(study, key)  # a unique prefix is enough; unknown keys raise NotFoundError
            resolved.setdefault(found["key"], found)
        records = list(resolved.values())
        for record in records:
            if record["status"] != "done":
                raise InputError(MSG_NOT_FINISHED.format(key=record["key"], study=study, status=record["status"]))
        return records
    if sample is not None and (isinstance(sample, bool) or int(sample) != sample or sample < 1):
        raise InputError(MSG_BAD_SAMPLE.format(value=sample))
    keys = sorted(store.trials(study, status="done", all_trials=all_trials)["key"])
    if not keys:
        raise InputError(MSG_NOTHING.format(study=study, scope="" if all_trials else " in its current plan"))
    if sample is not None and sample < len(keys):
        chosen = np.random.default_rng(seed).choice(len(keys), size=int(sample), replace=False)
        keys = [keys[index] for index in sorted(chosen)]
    return [store.provenance(study, key) for key in keys]


def load_stored_study(info: Mapping[str, Any], study: str, base_dir: Path) -> LoadedStudy:
    """The study as stored (its text), with ``base_dir`` as the folder its relative paths start from."""
    if not info.get("spec_text"):
        raise InputError(MSG_NO_STUDY_FILE.format(study=study))
    # Custom estimators and dataset callables live beside the study file; make them importable
    # before the text is validated (validation imports every estimator).
    add_import_path(base_dir)
    name = info.get("spec_path") or f"<study file stored with {study}>"
    try:
        loaded = load_study_text(str(info["spec_text"]), name=str(name))
    except SpecError as error:
        raise SpecError(MSG_STUDY_DOES_NOT_LOAD.format(study=study, error=error)) from error
    # The stored text is the study; its folder (where relative data paths point) is the stored one.
    return dataclasses.replace(loaded, path=base_dir / Path(str(name)).name)


def _override(name: str, declared: str | None, data_files: Mapping[str, Path], data_dir: Path | None) -> Path | None:
    """Where to read a dataset's file instead of its declared path: a bundled copy, or the same
    relative path (or file name) under ``data_dir``."""
    if name in data_files:
        return data_files[name]
    if data_dir is None or declared is None:
        return None
    for candidate in (data_dir / declared, data_dir / Path(declared).name):
        if candidate.is_file():
            return candidate
    return None


def _load_datasets(
    loaded: LoadedStudy,
    needed: set[str],
    stored: Mapping[str, Mapping[str, Any]],
    data_files: Mapping[str, Path],
    data_dir: Path | None,
) -> tuple[dict[str, Dataset], dict[str, str]]:
    """Load each needed dataset on its own, so one that moved refuses only its own trials."""
    datasets: dict[str, Dataset] = {}
    problems: dict[str, str] = {}
    for index, spec in enumerate(loaded.spec.datasets):
        if spec.name not in needed:
            continue
        where = loaded.located.where(("datasets", index))
        source = dict(stored.get(spec.name, {}).get("source") or {})
        override = _override(spec.name, spec.path, data_files, data_dir) if spec.path else None
        if override is not None:
            spec = spec.model_copy(update={"path": str(override.resolve()), "package": None})
        elif spec.source_kind == "file" and spec.path is not None:
            path = Path(spec.path) if Path(spec.path).is_absolute() else loaded.base_dir / spec.path
            if not path.is_file():
                problems[spec.name] = MSG_DATA_MOVED.format(
                    name=spec.name,
                    path=source.get("resolved") or path,
                    sha=str(source.get("sha256", "not recorded"))[:16],
                    file=Path(spec.path).name,
                )
                continue
        try:
            datasets[spec.name] = load_dataset(spec, loaded.base_dir, where)
        except DataError as error:
            problems[spec.name] = MSG_DATA_UNLOADABLE.format(name=spec.name, error=error)
    return datasets, problems


def _what_changed(dataset: Dataset, stored_fingerprint: str | None, summary: Mapping[str, Any] | None) -> str:
    source = dict((summary or {}).get("source") or {})
    old_sha = source.get("sha256") if summary and summary.get("fingerprint") == stored_fingerprint else None
    new_sha = dataset.source.get("sha256")
    where = dataset.source.get("resolved") or dataset.source.get("path")
    if new_sha and where:
        before = f"sha256 {str(old_sha)[:16]}" if old_sha else "a content not recorded"
        return f"the file {where} now has sha256 {str(new_sha)[:16]} (was {before})"
    if dataset.source.get("kind") == "builtin":
        old_version, new_version = source.get("sklearn"), dataset.source.get("sklearn")
        versions = f" (scikit-learn {old_version} -> {new_version})" if old_version != new_version else ""
        return f"{dataset.source.get('loader')} returns other data{versions}"
    return f"its content fingerprint is {dataset.fingerprint[:16]} (was {str(stored_fingerprint)[:16]})"


def _dict_changes(stored: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> str:
    names = sorted(set(stored) | set(rebuilt))
    return ", ".join(f"{n} {stored.get(n)!r} -> {rebuilt.get(n)!r}" for n in names if stored.get(n) != rebuilt.get(n))


def _arm_from_config(base: Arm, config: Mapping[str, Any]) -> Arm:
    """``base`` with the stored configuration's values (the base itself when they agree).

    Settings an arm holds but leaves out of its configuration (how a torch model runs: device,
    batching) say how to run, not what to compute; they are kept from the study file.
    """
    if base.config() == dict(config):
        return base
    fields = {f.name for f in dataclasses.fields(base)}
    values = {k: v for k, v in config.items() if k in fields}
    for name, value in list(values.items()):
        current = getattr(base, name)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            described = base.config().get(name) or {}
            run_options = {k: v for k, v in current.items() if k not in described}
            values[name] = {**run_options, **value}
    return dataclasses.replace(base, **values)


def _rebuild(
    record: Mapping[str, Any],
    plan: Plan,
    by_key: Mapping[str, Trial],
    by_identity: Mapping[tuple[Any, ...], Trial],
    metric_names: Sequence[str],
) -> tuple[Trial | None, str | None, list[str]]:
    """The trial exactly as stored (config, seeds, split, metrics), checked against the study file."""
    key = record["key"]
    identity = (record["arm"], record["dataset"], record["replicate"], record["fold"])
    planned = by_key.get(key)
    derived = planned or by_identity.get(identity)
    notes: list[str] = [] if planned is not None else [NOTE_NOT_PLANNED]
    template = derived or next((t for t in plan.trials if t.dataset == record["dataset"]), None)
    if template is None:
        return None, MSG_CONFIG_UNBUILDABLE.format(reason="no arm of the study file runs on its dataset"), notes
    config = dict(record["config"])
    try:
        arm = _arm_from_config(derived.arm if derived is not None else template.arm, config)
        seeds = Seeds(**record["seeds"])
    except (TypeError, ValueError) as error:
        return None, MSG_CONFIG_UNBUILDABLE.format(reason=f"{type(error).__name__}: {error}"), notes
    if arm.config() != config:
        return None, MSG_CONFIG_UNBUILDABLE.format(reason=_dict_changes(config, arm.config())), notes
    if derived is not None:
        if derived.arm.config() != config:
            notes.append(NOTE_CONFIG.format(arm=derived.arm.name, changes=_dict_changes(config, derived.arm.config())))
        if derived.seeds != seeds:
            changes = _dict_changes(seeds.to_dict(), derived.seeds.to_dict())
            notes.append(NOTE_SEEDS.format(replicate=record["replicate"], changes=changes))
        if derived.split_fingerprint != record["split_fingerprint"]:
            notes.append(NOTE_SPLIT.format(replicate=record["replicate"], fold=record["fold"]))
    ordered = [m for m in template.metrics if m in metric_names] + [
        m for m in metric_names if m not in template.metrics
    ]
    trial = dataclasses.replace(
        template,
        key=key,
        arm=arm,
        replicate=int(record["replicate"]),
        fold=int(record["fold"]),
        seeds=seeds,
        split_fingerprint=str(record["split_fingerprint"]),
        dataset_fingerprint=str(record["dataset_fingerprint"]),
        metrics=tuple(ordered) if set(ordered) != set(template.metrics) else template.metrics,
    )
    return trial, None, notes


def _split(store: RunStore, study: str, record: Mapping[str, Any], plan: Plan) -> tuple[Split | None, str | None]:
    fingerprint = record["split_fingerprint"]
    try:
        arrays = store.split(study, record["key"])
    except (InputError, StoreError):  # no split stored, or its object file is missing
        arrays = None
    if arrays is not None:
        split = Split(train=np.asarray(arrays["train"]), test=np.asarray(arrays["test"]))
        if split.fingerprint != fingerprint:
            return None, MSG_SPLIT_DAMAGED.format(stored=str(fingerprint)[:16], found=split.fingerprint[:16])
        return split, None
    if fingerprint in plan.splits:
        return plan.splits[fingerprint], None
    return None, MSG_SPLIT_MISSING.format(fingerprint=str(fingerprint)[:16])


@dataclass
class Rebuilt:
    """What can run (``tasks`` on ``datasets``; per key its stored record and notes on its
    definition) and what cannot (``refused``: record and reason)."""

    folder: Path
    tasks: list[TrialTask] = field(default_factory=list)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    records: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    refused: list[tuple[Mapping[str, Any], str, list[str]]] = field(default_factory=list)
    dataset_problems: dict[str, str] = field(default_factory=dict)


def _dataset_refusals(
    records: Sequence[Mapping[str, Any]],
    datasets: Mapping[str, Dataset],
    declared: set[str],
    summaries: Mapping[str, Mapping[str, Any]],
    problems: dict[str, str],
) -> tuple[dict[str, Dataset], dict[str, str]]:
    """The datasets every trial on them can use (same fingerprint), and the refused trials' reasons."""
    usable: dict[str, Dataset] = {}
    refusals: dict[str, str] = {}
    for item in records:
        name = str(item["dataset"])
        if name not in declared:
            refusals[item["key"]] = MSG_DATASET_GONE.format(name=name)
        elif name in problems:
            refusals[item["key"]] = problems[name]
        elif datasets[name].fingerprint != item["dataset_fingerprint"]:
            what = _what_changed(datasets[name], item["dataset_fingerprint"], summaries.get(name))
            refusals[item["key"]] = MSG_DATA_CHANGED.format(name=name, what=what)
            problems.setdefault(name, refusals[item["key"]])
        else:
            usable[name] = datasets[name]
    return usable, refusals


def rebuild_trials(
    store: RunStore,
    study: str,
    info: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    metric_names: Mapping[str, Sequence[str]],
    *,
    folder: Path,
    data_files: Mapping[str, Path],
    data_dir: Path | None,
) -> Rebuilt:
    """Rebuild the study trials of ``records`` (their provenance) as tasks to run, or refuse them."""
    from rigorlab.execution import TrialTask

    loaded = load_stored_study(info, study, folder)
    rebuilt = Rebuilt(folder=folder)
    declared = {d.name for d in loaded.spec.datasets}
    needed = {str(r["dataset"]) for r in records} & declared
    summaries = {str(row["name"]): dict(row["summary"]) for row in store.datasets(study).to_dict("records")}
    datasets, rebuilt.dataset_problems = _load_datasets(loaded, needed, summaries, data_files, data_dir)
    usable, refusals = _dataset_refusals(records, datasets, declared, summaries, rebuilt.dataset_problems)
    plan: Plan | None = None
    if usable:
        # Only the usable datasets: a trial's key and splits do not depend on the other datasets.
        spec = loaded.spec.model_copy(update={"datasets": [d for d in loaded.spec.datasets if d.name in usable]})
        try:
            plan = build_plan(spec, usable)
        except DataError as error:
            refusals.update({r["key"]: str(error) for r in records if r["dataset"] in usable})
    by_key = {t.key: t for t in plan.trials} if plan else {}
    by_identity = {(t.arm.name, t.dataset, t.replicate, t.fold): t for t in plan.trials} if plan else {}
    for item in records:
        key = str(item["key"])
        notes: list[str] = []
        refusal = refusals.get(key)
        split: Split | None = None
        trial: Trial | None = None
        if refusal is None and plan is not None:
            trial, refusal, notes = _rebuild(item, plan, by_key, by_identity, metric_names.get(key, ()))
            if refusal is None:
                split, refusal = _split(store, study, item, plan)
        if refusal is not None or trial is None or split is None:
            rebuilt.refused.append((item, refusal or MSG_CONFIG_UNBUILDABLE.format(reason="unknown"), notes))
            continue
        rebuilt.records[key] = item
        rebuilt.notes[key] = notes
        rebuilt.tasks.append(TrialTask(trial=trial, train=split.train, test=split.test, timeout=trial.arm.timeout))
    rebuilt.datasets = usable
    return rebuilt
