"""``rigorlab import mlflow``: runs of an MLflow tracking store (file or SQLite) as rigorlab trials.

Each MLflow experiment becomes a study and each finished or failed run a trial (``source =
'mlflow'``, key = the MLflow run id, or the rigorlab key a run exported by rigorlab carries), so
rigorlab's statistics and reports work on it. The mapping:

- arm: the param or tag named by ``arm=`` (``params.NAME``, ``tags.NAME`` or ``NAME``: param
  first), else the tag ``rigorlab.arm``, else the run name.
- dataset: likewise ``dataset=``, else ``rigorlab.dataset``, else the run's first MLflow dataset
  input, else ``default``.
- replicate: likewise ``replicate=``, else ``rigorlab.replicate``, else the run's position by start
  time among the runs of its arm, dataset and fold (the same run gets the same number every time).
- fold: the tag ``rigorlab.fold``, else 0.
- config: the tag ``rigorlab.config`` (JSON), else the params (text, as MLflow stores them).
- metrics: each metric's latest value is a summary metric (the tag ``rigorlab.summary`` wins when
  present); a metric logged at more than one step also becomes a curve with its whole history.
- status: FINISHED -> done, FAILED and KILLED -> failed; runs still RUNNING or SCHEDULED are
  skipped (import again once they end). Tags are kept; artifacts are copied into the store.

Importing again skips runs already stored, so it can follow a store that keeps growing. A stored
run is never changed, so an import whose options would group already stored runs differently
(another ``arm=``, ``dataset=`` or ``replicate=``) is refused: import into another study instead.
An ``arm=``/``dataset=``/``replicate=`` name that no run has is refused too (it would fall back to
the run names), as is a study defined by a study file; all before anything is written.

The study's primary metric (what ``compare`` and ``report`` compare by default) is
``primary_metric=`` when given; otherwise, for a study that has none yet, the first metric
alphabetically that no imported run logged at more than one step: a summary such as ``test_acc``,
not a training curve such as ``loss`` (when every metric is a curve, none is recorded and
``compare`` says what it picked). ``baseline=`` records the default baseline arm.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigorlab.errors import InputError, NotFoundError
from rigorlab.provenance import capture_environment, command_line, environment_hash
from rigorlab.store import DONE, FAILED, RUNNING, RunStore, TrialResult, open_store
from rigorlab.tracking._mlflow_checks import (
    check_identity_option,
    check_study_name,
    check_study_target,
    lookup,
    run_key,
    stored_identities,
)
from rigorlab.tracking._mlflow_common import TAG, client_for, from_millis, paged, tracking_uri

__all__ = ["ImportSummary", "import_mlflow"]

MSG_UNKNOWN_EXPERIMENT = "The MLflow store {uri} has no experiment '{name}'. Experiments: {names}."
MSG_STUDY_NEEDS_ONE = (
    "--study names the study of one experiment, but {count} experiments are imported ({names}). "
    "Pick one with --experiment NAME, or leave --study out (each experiment becomes a study of its name)."
)
MSG_UNKNOWN_PRIMARY = (
    "--primary-metric {metric} is not a metric of the runs of experiment '{experiment}'. Metrics logged: "
    "{available}. Give one of these."
)
MSG_UNKNOWN_BASELINE_ARM = (
    "--baseline {baseline} is not an arm of the runs of experiment '{experiment}'. Arms: {available}. Give one of "
    "these (arms come from --arm, the tag rigorlab.arm or the run name)."
)
REASON_PRIMARY_GIVEN = "given with --primary-metric"
REASON_PRIMARY_DEFAULT = (
    "the first metric alphabetically that no run logged at more than one step; choose another with "
    "--primary-metric, or per command with `rigorlab compare --metric`"
)
REASON_PRIMARY_KEPT = "recorded earlier; --primary-metric replaces it"
REASON_PRIMARY_NONE = (
    "none recorded: every metric is a curve (logged at several steps); choose one with --primary-metric"
)
MSG_KILLED = "The run was killed in MLflow (status KILLED) before it finished."
MSG_FAILED = "The run failed in MLflow (status FAILED); MLflow keeps no error message."
STATUSES = {"FINISHED": DONE, "FAILED": FAILED, "KILLED": FAILED}
DEFAULT_DATASET = "default"


@dataclass
class ImportSummary:
    """What ``import_mlflow`` did, per study."""

    source: str
    store: Path
    imported: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    already_stored: int = 0
    still_running: int = 0
    files: int = 0
    single_run_arms: int = 0
    primary_metrics: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    """Per study: its primary metric after the import (None when none is recorded) and why."""

    @property
    def total(self) -> int:
        return sum(self.imported.values())


def _integer(value: str | None, what: str, run: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(float(value))
    except ValueError as error:
        raise InputError(
            f"The {what} of MLflow run {run.info.run_id} must be an integer; found '{value}'. "
            f"Point --{what} at a param or tag that holds the replicate number (e.g. the seed)."
        ) from error
    return number


def _identity(run: Any, arm: str | None, dataset: str | None, replicate: str | None) -> dict[str, Any]:
    tags = run.data.tags
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    dataset_name = lookup(run, dataset) or tags.get(f"{TAG}dataset")
    if dataset_name is None and inputs:
        dataset_name = inputs[0].dataset.name
    return {
        "arm": lookup(run, arm) or tags.get(f"{TAG}arm") or run.info.run_name or run.info.run_id,
        "dataset": dataset_name or DEFAULT_DATASET,
        "replicate": _integer(lookup(run, replicate) or tags.get(f"{TAG}replicate"), "replicate", run),
        "fold": _integer(tags.get(f"{TAG}fold"), "fold", run) or 0,
    }


def _number_replicates(runs: list[tuple[Any, dict[str, Any]]], stored: dict[str, tuple[str, str, int, int]]) -> None:
    """Give runs without a replicate the next free numbers, by start time, per arm/dataset/fold.

    A run already stored keeps the number it was stored with, so that a run ending later (it was
    still running at the last import) takes a new number instead of one already given.
    """
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    ordered = sorted(runs, key=lambda item: (item[0].info.start_time or 0, item[0].info.run_id))
    for run, identity in ordered:
        if identity["replicate"] is None and run_key(run) in stored:
            identity["replicate"] = stored[run_key(run)][2]
    for _, identity in ordered:
        groups[(identity["arm"], identity["dataset"], identity["fold"])].append(identity)
    for identities in groups.values():
        taken = {i["replicate"] for i in identities if i["replicate"] is not None}
        number = 0
        for identity in identities:
            if identity["replicate"] is None:
                while number in taken:
                    number += 1
                identity["replicate"] = number
                taken.add(number)


def _json_tag(tags: dict[str, str], name: str) -> Any:
    text = tags.get(f"{TAG}{name}")
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _result(client: Any, run: Any, identity: dict[str, Any]) -> TrialResult:
    info, data = run.info, run.data
    status = STATUSES[info.status]
    summary: dict[str, float] = dict(data.metrics)
    exported_summary = _json_tag(data.tags, "summary")
    names = _json_tag(data.tags, "names") or {}  # MLflow key -> rigorlab name, when export had to rename
    curves: list[tuple[str, int, float]] = []
    for key in data.metrics:
        history = client.get_metric_history(info.run_id, key)
        if len(history) > 1:
            name = names.get(key, key)
            ordered = sorted(history, key=lambda m: (m.step, m.timestamp))
            curves.extend((name, int(m.step), float(m.value)) for m in ordered)
    metrics = {names.get(k, k): v for k, v in summary.items()}
    if isinstance(exported_summary, dict):
        metrics.update(exported_summary)
    config = _json_tag(data.tags, "config")
    seeds = _json_tag(data.tags, "seeds")
    n_train = data.tags.get(f"{TAG}n_train")
    n_test = data.tags.get(f"{TAG}n_test")
    error = data.tags.get(f"{TAG}error")
    if status == FAILED and not error:
        error = MSG_KILLED if info.status == "KILLED" else MSG_FAILED
    started, ended = info.start_time, info.end_time
    return TrialResult(
        key=data.tags.get(f"{TAG}key") or info.run_id,
        arm=identity["arm"],
        dataset=identity["dataset"],
        replicate=identity["replicate"],
        fold=identity["fold"],
        status=status,
        config=config if isinstance(config, dict) else dict(data.params),
        seeds=seeds if isinstance(seeds, dict) else {},
        n_train=int(n_train) if n_train and n_train.isdigit() else None,
        n_test=int(n_test) if n_test and n_test.isdigit() else None,
        metrics={k: float(v) for k, v in metrics.items() if v is not None},
        fit_seconds=(ended - started) / 1000 if started and ended else None,
        error=error,
        started_at=from_millis(started),
        finished_at=from_millis(ended),
        curves=curves,
        tags={k: v for k, v in data.tags.items() if v is not None},
        source="mlflow",
    )


def _artifacts(client: Any, run_id: str, store: RunStore, path: str | None = None) -> list[tuple[str, str, int]]:
    stored: list[tuple[str, str, int]] = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            stored.extend(_artifacts(client, run_id, store, item.path))
            continue
        with tempfile.TemporaryDirectory() as folder:
            local = client.download_artifacts(run_id, item.path, folder)
            ref, size = store.put_file(Path(local))
        stored.append((item.path, ref, size))
    return stored


def import_mlflow(
    source: str | Path,
    *,
    store: str | Path | None = None,
    experiments: Sequence[str] | None = None,
    study: str | None = None,
    arm: str | None = None,
    dataset: str | None = None,
    replicate: str | None = None,
    artifacts: bool = True,
    primary_metric: str | None = None,
    baseline: str | None = None,
) -> ImportSummary:
    """Import the runs of an MLflow tracking store into a rigorlab store.

    Parameters
    ----------
    source : path or str
        An MLflow file store folder (``mlruns``), an MLflow SQLite file, or a tracking URI.
    store : path, optional
        The rigorlab store (default: ``$RIGORLAB_STORE`` or ``./.rigorlab``; created when missing).
    experiments : sequence of str, optional
        Only these experiments (default: every experiment with runs).
    study : str, optional
        The study to import into (one experiment only; default: the experiment's name).
    arm, dataset, replicate : str, optional
        The param or tag giving each run's arm, dataset and replicate (see the module docstring).
    artifacts : bool
        Copy the runs' artifacts into the store.
    primary_metric : str, optional
        The study's primary metric (module docstring for the default).
    baseline : str, optional
        The study's default baseline arm (none recorded when left out).

    Returns
    -------
    ImportSummary

    Examples
    --------
    >>> from rigorlab.tracking import import_mlflow
    >>> summary = import_mlflow("mlruns", arm="model", replicate="seed")  # doctest: +SKIP
    >>> summary.imported  # doctest: +SKIP
    {'cifar-baselines': 24}
    """
    uri = tracking_uri(source, must_exist=True)
    client = client_for(uri)
    found = {e.name: e for e in paged(client.search_experiments)}
    names = list(experiments) if experiments else sorted(found)
    for name in names:
        if name not in found:
            raise NotFoundError(MSG_UNKNOWN_EXPERIMENT.format(uri=uri, name=name, names=", ".join(sorted(found))))
    with_runs = {name: list(paged(client.search_runs, experiment_ids=[found[name].experiment_id])) for name in names}
    with_runs = {name: runs for name, runs in with_runs.items() if runs or experiments}
    if study is not None and len(with_runs) != 1:
        raise InputError(MSG_STUDY_NEEDS_ONE.format(count=len(with_runs), names=", ".join(with_runs)))
    # Every check runs before anything is written: a refused import leaves the store as it was.
    targets = {experiment: check_study_name(study, experiment) for experiment in with_runs}
    finished = {name: [run for run in runs if run.info.status in STATUSES] for name, runs in with_runs.items()}
    for experiment, runs in finished.items():
        for option, value in (("arm", arm), ("dataset", dataset), ("replicate", replicate)):
            check_identity_option(runs, experiment, option, value)
        identities = [_identity(run, arm, dataset, replicate) for run in runs]
        _check_choices(experiment, runs, identities, primary_metric, baseline)
    with open_store(store, create=True) as run_store:
        identified = {}
        for experiment, runs in finished.items():
            pairs = [(run, _identity(run, arm, dataset, replicate)) for run in runs]
            _number_replicates(pairs, stored_identities(run_store, targets[experiment]))
            check_study_target(run_store, targets[experiment], experiment, pairs)
            identified[experiment] = pairs
        summary = ImportSummary(source=uri, store=run_store.root)
        environment = capture_environment()
        env_hash = environment_hash(environment)
        run_store.save_environment(env_hash, environment)
        for experiment, runs in with_runs.items():
            summary.still_running += len(runs) - len(finished[experiment])
            _import_experiment(
                client, run_store, targets[experiment], identified[experiment], summary, env_hash, artifacts
            )
            _record_choices(run_store, targets[experiment], finished[experiment], summary, primary_metric, baseline)
    return summary


def _check_choices(
    experiment: str,
    finished: list[Any],
    identities: list[dict[str, Any]],
    primary_metric: str | None,
    baseline: str | None,
) -> None:
    """Refuse a ``primary_metric`` no finished run logged and a ``baseline`` that is no arm."""
    if primary_metric is not None and primary_metric not in _metric_names(finished):
        raise InputError(
            MSG_UNKNOWN_PRIMARY.format(
                metric=primary_metric, experiment=experiment, available=", ".join(_metric_names(finished))
            )
        )
    arms = sorted({identity["arm"] for identity in identities})
    if baseline is not None and baseline not in arms:
        raise InputError(
            MSG_UNKNOWN_BASELINE_ARM.format(baseline=baseline, experiment=experiment, available=", ".join(arms))
        )


def _metric_names(finished: list[Any]) -> list[str]:
    return sorted(
        {(_json_tag(run.data.tags, "names") or {}).get(name, name) for run in finished for name in run.data.metrics}
    )


def _record_choices(
    run_store: RunStore,
    study: str,
    finished: list[Any],
    summary: ImportSummary,
    primary_metric: str | None,
    baseline: str | None,
) -> None:
    """Record the study's primary metric and baseline (module docstring) and say which in ``summary``.

    ``_check_choices`` has refused unknown names before anything was imported.
    """
    if not finished:
        return
    metrics = _metric_names(finished)
    info = run_store.study_info(study)
    if info.get("spec"):
        return  # a study file states its own
    chosen, reason = primary_metric, REASON_PRIMARY_GIVEN
    if chosen is None and info.get("primary_metric"):
        summary.primary_metrics[study] = (str(info["primary_metric"]), REASON_PRIMARY_KEPT)
    elif chosen is None:
        # Imported runs store each metric logged at several steps as a curve of that name.
        curves = {str(name) for name in run_store.curves(study)["name"]}
        summaries = [name for name in metrics if name not in curves]
        chosen, reason = (summaries[0], REASON_PRIMARY_DEFAULT) if summaries else (None, REASON_PRIMARY_NONE)
        summary.primary_metrics[study] = (chosen, reason)
    else:
        summary.primary_metrics[study] = (chosen, reason)
    if chosen is not None or baseline is not None:
        run_store.save_study(study, question=str(info.get("question") or ""), primary_metric=chosen, baseline=baseline)


def _import_experiment(
    client: Any,
    run_store: RunStore,
    study: str,
    identified: list[tuple[Any, dict[str, Any]]],
    summary: ImportSummary,
    env_hash: str,
    artifacts: bool,
) -> None:
    run_store.ensure_study(study)
    states = run_store.trial_states(study)
    todo = [
        (run, identity) for run, identity in identified if run_key(run) not in states or states[run_key(run)] == RUNNING
    ]
    summary.already_stored += len(identified) - len(todo)
    summary.imported[study] = 0
    if not todo:
        return
    run_id = run_store.start_run(study, command=command_line(), git=None, environment_hash=env_hash)
    status = "crashed"
    try:
        for run, identity in todo:
            result = _result(client, run, identity)
            trial_id = run_store.save_trial(study, result, run_id=run_id)
            if artifacts:
                files = _artifacts(client, run.info.run_id, run_store)
                if files:
                    run_store.append_to_trial(trial_id, files=files)
                    summary.files += len(files)
            summary.imported[study] += 1
            summary.failed += result.status == FAILED
        status = "finished"
    finally:
        run_store.finish_run(run_id, status)
    arms: dict[str, int] = defaultdict(int)
    for _, identity in identified:
        arms[identity["arm"]] += 1
    summary.single_run_arms += sum(1 for count in arms.values() if count == 1)
