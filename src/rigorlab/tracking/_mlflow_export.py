"""``rigorlab export mlflow``: a study's trials as runs of an MLflow experiment.

Every stored trial of the study (study trials of the current plan, tracked and imported runs;
not those still running) becomes one MLflow run in the experiment named after the study:

- metrics: each curve's points at their steps, and each summary metric without a curve at step 0;
  every summary metric is also in the tag ``rigorlab.summary`` (JSON), which wins on import.
- params: the config, flattened (``params.C``); the whole config in the tag ``rigorlab.config``.
- tags: the trial's own tags, its identity (``rigorlab.key``, ``.arm``, ``.dataset``, ``.replicate``,
  ``.fold``, ``.source``), seeds, error, and the git commit as ``mlflow.source.git.commit``.
- artifacts: ``rigorlab/provenance.json`` (what ``store.provenance`` returns, with the error and
  traceback) and the files logged with the trial.
- status: done -> FINISHED, failed and crashed -> FAILED; start and end times are the trial's.

A run already exported (the experiment has a run with the same ``rigorlab.key``) is skipped, so
exporting again adds only new trials. ``rigorlab import mlflow`` reads all of this back.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rigorlab.errors import InputError
from rigorlab.store import DONE, RUNNING, TRIAL_COLUMNS, RunStore, open_store
from rigorlab.tracking._mlflow_common import TAG, client_for, mlflow_name, paged, to_millis, tracking_uri

__all__ = ["ExportSummary", "export_mlflow"]

MSG_EXPORT_FAILED = "MLflow refused trial {key} of study '{study}' at {uri}: {error}"
MAX_PARAMS_TAGS = 100  # MLflow's limits per log_batch call
MAX_METRICS = 1000
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000


@dataclass
class ExportSummary:
    """What ``export_mlflow`` did."""

    study: str
    destination: str
    experiment: str
    exported: int = 0
    already_there: int = 0
    still_running: int = 0


def _flatten(config: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            yield mlflow_name(name), text[:MAX_PARAM_LENGTH]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _artifact_location(uri: str) -> str | None:
    """Next to an MLflow SQLite file, not in the working directory (MLflow's default for SQLite)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
    return None


def export_mlflow(
    study: str,
    destination: str | Path,
    *,
    store: str | Path | None = None,
    experiment: str | None = None,
    artifacts: bool = True,
) -> ExportSummary:
    """Write a study's trials to an MLflow tracking store as runs of one experiment.

    Parameters
    ----------
    study : str
        The study in the rigorlab store.
    destination : path or str
        An MLflow SQLite file (``mlflow.db``, created when missing), a file store folder, or a
        tracking URI.
    store : path, optional
        The rigorlab store (default: ``$RIGORLAB_STORE`` or ``./.rigorlab``); read only.
    experiment : str, optional
        The MLflow experiment (default: the study's name; created when missing).
    artifacts : bool
        Also write each trial's provenance and files as run artifacts.

    Returns
    -------
    ExportSummary

    Examples
    --------
    >>> from rigorlab.tracking import export_mlflow
    >>> export_mlflow("quickstart", "mlflow.db").exported  # doctest: +SKIP
    150
    """
    uri = tracking_uri(destination, must_exist=False)
    name = experiment or study
    with open_store(store, read_only=True) as run_store:
        trials = run_store.trials(study)
        curves = run_store.curves(study)
        summary = ExportSummary(study=study, destination=uri, experiment=name)
        running = trials["status"] == RUNNING if not trials.empty else pd.Series(dtype=bool)
        summary.still_running = int(running.sum()) if not trials.empty else 0
        trials = trials[~running] if not trials.empty else trials
        if trials.empty:
            return summary
        client = client_for(uri)
        found = client.get_experiment_by_name(name)
        experiment_id = (
            found.experiment_id
            if found is not None
            else client.create_experiment(name, artifact_location=_artifact_location(uri))
        )
        done_keys = {
            run.data.tags.get(f"{TAG}key") for run in paged(client.search_runs, experiment_ids=[experiment_id])
        }
        points = {str(key): group for key, group in curves.groupby("key")} if not curves.empty else {}
        metric_names = [c for c in trials.columns if c not in TRIAL_COLUMNS]
        for record in (dict(zip(trials.columns, row, strict=True)) for row in trials.itertuples(index=False)):
            key = str(record["key"])
            if key in done_keys:
                summary.already_there += 1
                continue
            summaries = {m: record[m] for m in metric_names if not _missing(record[m])}
            try:
                _export_trial(client, experiment_id, run_store, study, record, summaries, points.get(key), artifacts)
            except InputError:
                raise
            except Exception as error:  # MlflowException and the storage errors under it
                raise InputError(MSG_EXPORT_FAILED.format(key=key, study=study, uri=uri, error=error)) from error
            summary.exported += 1
    return summary


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _export_trial(
    client: Any,
    experiment_id: str,
    run_store: RunStore,
    study: str,
    record: dict[str, Any],
    summaries: dict[str, float],
    points: pd.DataFrame | None,
    artifacts: bool,
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    key = str(record["key"])
    provenance = run_store.provenance(study, key)
    started = to_millis(provenance["started_at"]) or int(time.time() * 1000)
    ended = to_millis(provenance["finished_at"]) or started
    renamed: dict[str, str] = {}

    def metric_key(metric: str) -> str:
        cleaned = mlflow_name(metric)
        if cleaned != metric:
            renamed[cleaned] = metric
        return cleaned

    metrics: list[Any] = []
    with_curve: set[str] = set()
    if points is not None:
        for name, step, value in zip(points["name"], points["step"], points["value"], strict=True):
            with_curve.add(str(name))
            number = float("nan") if _missing(value) else float(value)
            metrics.append(Metric(metric_key(str(name)), number, started, int(step)))
    for name, value in summaries.items():
        if name not in with_curve:
            metrics.append(Metric(metric_key(name), float(value), ended, 0))
    git = (provenance.get("run") or {}).get("git") or {}
    tags = {mlflow_name(k): str(v)[:MAX_TAG_LENGTH] for k, v in run_store.trial_tags(study, key).items()}
    identity = {
        "key": key,
        "study": study,
        "arm": record["arm"],
        "dataset": record["dataset"],
        "replicate": record["replicate"],
        "fold": record["fold"],
        "source": record["source"],
        "status": record["status"],
        "config": json.dumps(provenance["config"], sort_keys=True, default=str),
        "seeds": json.dumps(provenance["seeds"], sort_keys=True),
        "summary": json.dumps(summaries, sort_keys=True),
    }
    for size in ("n_train", "n_test"):
        if not _missing(record.get(size)):
            identity[size] = int(record[size])
    if record.get("error"):
        identity["error"] = record["error"]
    if renamed:
        identity["names"] = json.dumps(renamed, sort_keys=True)
    tags.update({f"{TAG}{k}": str(v)[:MAX_TAG_LENGTH] for k, v in identity.items()})
    if git.get("commit"):
        tags["mlflow.source.git.commit"] = git["commit"]
    run_name = f"{record['arm']} | {record['dataset']} | r{record['replicate']} f{record['fold']}"
    run = client.create_run(experiment_id, start_time=started, run_name=run_name)
    run_id = run.info.run_id
    params = [Param(k, v) for k, v in dict(_flatten(provenance["config"])).items()]
    tag_list = [RunTag(k, v) for k, v in tags.items()]
    for chunk in _chunks(params, MAX_PARAMS_TAGS):
        client.log_batch(run_id, params=chunk)
    for chunk in _chunks(tag_list, MAX_PARAMS_TAGS):
        client.log_batch(run_id, tags=chunk)
    for chunk in _chunks(metrics, MAX_METRICS):
        client.log_batch(run_id, metrics=chunk)
    if artifacts:
        _export_files(client, run_id, run_store, study, key, {**provenance, "error": record.get("error")})
    client.set_terminated(run_id, "FINISHED" if record["status"] == DONE else "FAILED", end_time=ended)


def _export_files(client: Any, run_id: str, run_store: RunStore, study: str, key: str, record: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "provenance.json"
        target.write_text(json.dumps(record, indent=2, sort_keys=True, default=str), encoding="utf-8")
        client.log_artifact(run_id, str(target), "rigorlab")
        for name, path in zip(*_files(run_store, study, key), strict=True):
            local = Path(folder) / "files" / name
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, local)
            parent = str(Path(name).parent)
            client.log_artifact(run_id, str(local), None if parent == "." else parent)


def _files(run_store: RunStore, study: str, key: str) -> tuple[list[str], list[str]]:
    files = run_store.trial_files(study, key)
    return list(files["name"]), list(files["path"])
