"""Everything the report reads from the store, read once through the RunStore interface.

The rest of the report package works on :class:`StoredStudy` and never touches the store, so one
read-only pass serves the tables, the figures, the methods, the checklist and the caveats.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rigorlab.errors import InputError
from rigorlab.spec import StudySpec
from rigorlab.store import DONE, RunStore

from . import _messages as msg

__all__ = ["StoredStudy", "read_study"]


@dataclass(frozen=True, eq=False)
class StoredStudy:
    """One study as stored.

    Attributes
    ----------
    info : dict
        ``RunStore.study_info``.
    spec : StudySpec or None
        The validated study file (None for studies written only by ``rigorlab.track``).
    trials : pandas.DataFrame
        ``RunStore.trials`` (current plan) with ``selected_params`` parsed into dicts.
    metrics : pandas.DataFrame
        ``RunStore.metrics`` (finished trials, fold level).
    curves : pandas.DataFrame
        ``RunStore.curves`` (may be empty).
    datasets : pandas.DataFrame
        ``RunStore.datasets``: name, fingerprint, summary (dict).
    runs : pandas.DataFrame
        ``RunStore.runs``: the invocations that wrote trials.
    samples : list of dict
        ``RunStore.provenance`` of sampled trials (see :func:`read_study`).
    environments : dict of str to dict
        Environment records by hash, as found in the sampled provenance.
    environment_trials : Counter
        Trials per environment hash: every trial when the store lists the hash per trial, else
        the sampled trials.
    environment_runs : Counter
        Invocations (``rigorlab run``, tracked processes) per environment hash.
    environments_complete : bool
        Whether ``environment_trials`` covers every trial (not just a sample).
    verifications : pandas.DataFrame or None
        ``RunStore.verifications`` (None when the store does not record verifications).
    """

    name: str
    info: dict[str, Any]
    spec: StudySpec | None
    trials: pd.DataFrame
    metrics: pd.DataFrame
    curves: pd.DataFrame
    datasets: pd.DataFrame
    runs: pd.DataFrame
    samples: list[dict[str, Any]]
    environments: dict[str, dict[str, Any]]
    environment_trials: Counter[str]
    environment_runs: Counter[str]
    environments_complete: bool
    verifications: pd.DataFrame | None

    @property
    def finished(self) -> pd.DataFrame:
        return self.trials[self.trials["status"] == DONE]


def _parse(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value)
    return value


def _sample_keys(trials: pd.DataFrame) -> list[str]:
    """One trial of every arm and one of every dataset (the first replicate and fold, finished
    ones first), and one of every environment when the store lists them per trial.

    Provenance is read per trial, which costs milliseconds each; a study of 10,000 trials would
    spend seconds reading identical environment records. Every arm's configuration and every
    dataset is read this way; the caveats say when environments come from this sample.
    """
    ordered = trials.assign(_unfinished=trials["status"] != DONE).sort_values(
        ["_unfinished", "replicate", "fold"], kind="stable"
    )
    keys = [str(key) for key in ordered.drop_duplicates(["arm"])["key"]]
    keys += [str(key) for key in ordered.drop_duplicates(["dataset"])["key"]]
    if "environment" in trials.columns:
        keys += [str(key) for key in ordered.dropna(subset=["environment"]).drop_duplicates(["environment"])["key"]]
    return list(dict.fromkeys(keys))


def read_study(store: RunStore, study: str) -> StoredStudy:
    """Read a study for its report; raise when it has no finished trial.

    Raises
    ------
    rigorlab.errors.NotFoundError
        Unknown study (the store's message, with the closest names).
    rigorlab.errors.InputError
        The study has no finished trial.
    """
    info = store.study_info(study)
    trials = store.trials(study)
    if trials.empty or not (trials["status"] == DONE).any():
        states = Counter(str(status) for status in trials["status"]) if not trials.empty else Counter()
        raise InputError(
            msg.MSG_NO_FINISHED_TRIALS.format(
                study=study,
                stored=len(trials),
                states=", ".join(f"{count} {status}" for status, count in sorted(states.items())) or "none",
                planned=info.get("planned", 0),
            )
        )
    trials = trials.assign(selected_params=[_parse(value) for value in trials["selected_params"]])
    spec = StudySpec.model_validate(info["spec"]) if info.get("spec") else None
    samples = [store.provenance(study, key) for key in _sample_keys(trials)]
    environments: dict[str, dict[str, Any]] = {}
    for record in samples:
        if record.get("environment_hash") and record.get("environment"):
            environments[str(record["environment_hash"])] = record["environment"]
    if "environment" in trials.columns:
        # Stores that list each trial's environment hash: count every trial, not a sample.
        environment_trials = Counter(str(value) for value in trials["environment"].dropna())
        complete = True
    else:
        environment_trials = Counter(str(r["environment_hash"]) for r in samples if r.get("environment_hash"))
        complete = False
    runs = store.runs(study)
    environment_runs = Counter(str(value) for value in runs["environment"].dropna())
    # The environment of each invocation too: trials are sampled, so an environment used only by
    # trials outside the sample is still found through its run. ``environment`` is a method of
    # SQLiteStore, not of the RunStore interface; other stores rely on the sample.
    lookup = getattr(store, "environment", None)
    if callable(lookup):
        for env_hash in environment_runs:
            if env_hash not in environments and (record := lookup(env_hash)):
                environments[env_hash] = record
    verifications_method = getattr(store, "verifications", None)
    verifications = verifications_method(study) if callable(verifications_method) else None
    return StoredStudy(
        name=study,
        info=info,
        spec=spec,
        trials=trials,
        metrics=store.metrics(study),
        curves=store.curves(study),
        datasets=store.datasets(study),
        runs=runs,
        samples=samples,
        environments=environments,
        environment_trials=environment_trials,
        environment_runs=environment_runs,
        environments_complete=complete,
        verifications=verifications,
    )
