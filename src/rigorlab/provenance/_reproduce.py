"""Reproduce and verify: re-run stored trials from their provenance and compare the results.

A trial is rebuilt from what the store recorded when it ran: the study file's text (reloaded
with the stored file's folder as base), its resolved configuration, its seeds, its split indices
and its dataset, reloaded and checked against the stored fingerprint. It runs in a scratch store
(a temporary folder, removed afterwards), and every metric, prediction and curve point is
compared with the stored one. The only change made to the original store is the verdicts
(``verifications`` rows, and the record of the environment they ran in).

A tracked run (``rigorlab.track()`` in a hand-written script) is re-run by running its script
again as it was invoked, into a scratch store of its own (see ``_tracked_rerun``), and compared
in the same way.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigorlab.errors import InputError, StoreError, did_you_mean
from rigorlab.provenance._capture import capture_environment, capture_git, command_line, environment_hash, now_iso
from rigorlab.provenance._compare import (
    FAILED,
    NOT_REPRODUCIBLE,
    REFUSED,
    SCORES,
    Tolerance,
    Tolerances,
    compare_results,
)
from rigorlab.provenance._envdiff import Change, EnvironmentDiff, diff_environments, diff_git, explain
from rigorlab.provenance._rebuild import Rebuilt, rebuild_trials, select_trials
from rigorlab.provenance._tracked_rerun import (
    DEFAULT_SCRIPT_TIMEOUT,
    MSG_WROTE_ORIGINAL,
    Invocation,
    plan_invocations,
    reproduced_run,
    result_curves,
    run_invocation,
)
from rigorlab.provenance._verification import ReproductionReport, TrialVerification
from rigorlab.spec._load import add_import_path

if TYPE_CHECKING:
    from rigorlab.execution import Executor
    from rigorlab.store import RunStore

__all__ = ["reproduce"]

MSG_IMPORTED = (
    "not reproducible automatically: the trial was imported from another tracker (source '{source}') and has "
    "no study definition to re-run"
)
MSG_UNKNOWN_TOLERANCE_NAME = (
    "--tolerance/--rtol name '{name}', which study '{study}' does not store: its metrics are {metrics}, and "
    "'scores' (the stored prediction scores), 'curves' or a curve's name also take a tolerance.{closest} "
    "Check the spelling."
)
MSG_NO_EXPLANATION = (
    "no recorded difference of the environment explains it: the computation may not be deterministic "
    "(unseeded randomness, thread-dependent reductions) or code changed outside git"
)
_GPU_WORDS = ("cuda", "gpu", "torch", "device")


def _uses_gpu(config: Mapping[str, Any], stored: Mapping[str, Any] | None, current: Mapping[str, Any]) -> bool:
    """A GPU took part when one was present and the configuration names a device or torch."""
    had_gpu = bool((stored or {}).get("gpus")) or bool(current.get("gpus"))
    text = json.dumps(config, default=str).lower()
    return had_gpu and any(word in text for word in _GPU_WORDS)


def _stored_result(
    store: RunStore,
    study: str,
    record: Mapping[str, Any],
    metrics: Mapping[str, float | None],
    curves: Mapping[str, list[tuple[int, float]]],
) -> dict[str, Any]:
    try:
        predictions = store.predictions(study, record["key"])
    except (InputError, StoreError):  # none stored, or the object file is missing: metrics are still compared
        predictions = {}
    return {
        "metrics": metrics,
        "predictions": predictions,
        "curves": curves,
        "selected_params": record.get("selected_params"),
    }


def _curves_by_key(store: RunStore, study: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    frame = store.curves(study)
    grouped: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for key, name, step, value in frame[["key", "name", "step", "value"]].itertuples(index=False):
        grouped[str(key)][str(name)].append((int(step), float(value)))
    return grouped


def _metrics_by_key(store: RunStore, study: str) -> dict[str, dict[str, float | None]]:
    frame = store.metrics(study, all_trials=True)
    grouped: dict[str, dict[str, float | None]] = defaultdict(dict)
    for key, name, value in frame[["key", "metric", "value"]].itertuples(index=False):
        grouped[str(key)][str(name)] = None if value is None else float(value)
    return grouped


def _check_tolerance_names(
    store: RunStore, study: str, metrics: Mapping[str, Mapping[str, float | None]], tolerances: Tolerances
) -> None:
    """A tolerance for a name the study does not store is a typo that would silently do nothing."""
    metric_names = sorted({name for values in metrics.values() for name in values})
    known = {*metric_names, SCORES, "curves"}
    unknown = [name for name in tolerances.per_name if name not in known]
    if unknown:
        known |= {str(name) for name in store.curves(study)["name"]}
    for name in unknown:
        if name not in known:
            raise InputError(
                MSG_UNKNOWN_TOLERANCE_NAME.format(
                    name=name, study=study, metrics=", ".join(metric_names), closest=did_you_mean(name, sorted(known))
                )
            )


def _verification(record: Mapping[str, Any], verdict: str, **fields: Any) -> TrialVerification:
    return TrialVerification(
        key=str(record["key"]),
        arm=str(record["arm"]),
        dataset=str(record["dataset"]),
        replicate=int(record["replicate"]),
        fold=int(record["fold"]),
        verdict=verdict,
        environment_hash=record.get("environment_hash"),
        **fields,
    )


def reproduce(
    study: str,
    *,
    store: RunStore | str | Path | None = None,
    trials: Sequence[str] | None = None,
    sample: int | None = None,
    all_trials: bool = False,
    seed: int = 0,
    tolerances: Tolerances | None = None,
    jobs: int | None = None,
    data_dir: str | Path | None = None,
    record: bool = True,
    keep: bool = False,
    scratch_dir: str | Path | None = None,
    dry_run: bool = False,
    executor: Executor | None = None,
    script_timeout: float | None = None,
    base_dir: str | Path | None = None,
    data_files: Mapping[str, Path] | None = None,
    source: str | None = None,
    on_start: Callable[[ReproductionReport], None] | None = None,
    on_result: Callable[[TrialVerification], None] | None = None,
) -> ReproductionReport:
    """Re-run stored trials from their provenance and verify that the results come out the same.

    Parameters
    ----------
    study : str
        The study name in the store.
    store : RunStore or path, optional
        Default: ``$RIGORLAB_STORE`` or ``./.rigorlab``.
    trials, sample, all_trials : optional, at most one
        Trial keys (or unique prefixes); a random sample of N finished trials (drawn with
        ``seed``); or every finished trial stored, including those of earlier versions of the
        study file. Default: every finished trial of the current plan.
    tolerances : Tolerances, optional
        Default: exact on CPU in the same environment, ``ACROSS_ENVIRONMENTS`` when packages,
        Python or hardware differ, ``GPU`` when a GPU took part.
    jobs : int, optional
        Worker processes (default: the number of cores).
    data_dir : path, optional
        A folder holding the study's data files, when they moved.
    record : bool
        Store the verdicts in the store (the only change this function makes to it).
    keep : bool
        Keep the scratch store (its path is ``report.scratch``).
    dry_run : bool
        Show the environment diff, which trials would run or be refused and which scripts of
        tracked runs would run again (``report.invocations``); run nothing.
    script_timeout : float, optional
        Seconds a tracked run's script may take when it runs again (default: an hour); it is
        stopped after that and its runs are failed.
    base_dir, data_files, source : optional
        Used by :func:`reproduce_bundle`: the folder the study file's relative paths start from,
        data files by dataset name, and the name of the bundle.
    on_start, on_result : callable, optional
        Called with the report before anything runs (the environment diff is known) and with
        each verdict as it comes.

    Returns
    -------
    ReproductionReport

    Examples
    --------
    >>> report = reproduce("quickstart", sample=10)  # doctest: +SKIP
    >>> report.counts()  # doctest: +SKIP
    {'identical': 10}
    """
    from rigorlab.store import RunStore, open_store

    started = time.monotonic()
    tolerances = tolerances or Tolerances()
    reader = store if isinstance(store, RunStore) else open_store(store, read_only=True)
    try:
        info = reader.study_info(study)
        records = select_trials(reader, study, trials, sample, all_trials, seed)
        environment = capture_environment()
        env_hash = environment_hash(environment)
        report = ReproductionReport(
            study=study,
            source=source or str(reader.root),
            selected=len(records),
            selected_keys=[str(r["key"]) for r in records],
            environment_hash=env_hash,
            verified_at=now_iso(),
            dry_run=dry_run,
        )
        stored_environments: dict[str | None, dict[str, Any] | None] = {}
        counts: dict[str | None, int] = defaultdict(int)
        for item in records:
            stored_environments.setdefault(item.get("environment_hash"), item.get("environment"))
            counts[item.get("environment_hash")] += 1
        diffs = {
            stored_hash: EnvironmentDiff(
                stored_hash, env_hash, counts[stored_hash], diff_environments(stored, environment)
            )
            for stored_hash, stored in stored_environments.items()
        }
        report.environments = list(diffs.values())

        study_records = [r for r in records if r.get("source", "study") == "study"]
        tracked_records = [r for r in records if r.get("source") == "tracked"]
        for item in records:
            if item.get("source", "study") not in ("study", "tracked"):
                reason = MSG_IMPORTED.format(source=item.get("source"))
                report.verifications.append(_verification(item, NOT_REPRODUCIBLE, differences=[reason]))
        invocations = plan_invocations(reader, study, tracked_records) if tracked_records else []
        for invocation in invocations:
            if invocation.problem is not None:
                report.verifications.extend(
                    _verification(tracked, REFUSED, differences=[invocation.problem]) for tracked in invocation.records
                )
        runnable = [invocation for invocation in invocations if invocation.problem is None]
        report.invocations = [invocation.line() for invocation in runnable]
        spec_path = info.get("spec_path")
        folder = Path(base_dir) if base_dir is not None else Path(spec_path).parent if spec_path else Path.cwd()
        rebuilt = Rebuilt(folder=folder)
        metrics = _metrics_by_key(reader, study)
        _check_tolerance_names(reader, study, metrics, tolerances)
        if study_records:
            stored_git = next(((r.get("run") or {}).get("git") for r in study_records if r.get("run")), None)
            report.git_changes = diff_git(stored_git, capture_git(folder))
            rebuilt = rebuild_trials(
                reader,
                study,
                info,
                study_records,
                {key: list(values) for key, values in metrics.items()},
                folder=folder,
                data_files=dict(data_files or {}),
                data_dir=Path(data_dir) if data_dir is not None else None,
            )
            report.dataset_problems = rebuilt.dataset_problems
            for refused, reason, notes in rebuilt.refused:
                report.verifications.append(_verification(refused, REFUSED, differences=[reason], notes=notes))
        for invocation in runnable:
            report.git_changes += [change for change in invocation.git_changes if change not in report.git_changes]
        tasks = rebuilt.tasks
        report.to_run = len(tasks) + sum(len(invocation.records) for invocation in runnable)
        if on_start is not None:
            on_start(report)
        for verification in report.verifications:
            if on_result is not None:
                on_result(verification)
        if dry_run or not (tasks or runnable):
            report.seconds = time.monotonic() - started
            return report

        scratch = Path(tempfile.mkdtemp(prefix=f"rigorlab-reproduce-{study}-", dir=scratch_dir))
        try:
            if tasks:
                _run_and_verify(
                    reader,
                    scratch / ".rigorlab",
                    study,
                    info,
                    rebuilt,
                    metrics,
                    diffs,
                    report,
                    tolerances,
                    environment,
                    jobs,
                    executor,
                    on_result,
                )
            if runnable and not report.interrupted:
                timeout = DEFAULT_SCRIPT_TIMEOUT if script_timeout is None else float(script_timeout)
                context = _Context(reader, study, metrics, diffs, report, tolerances, environment, on_result)
                _rerun_tracked(context, runnable, scratch / "tracked", timeout)
        finally:
            if keep:
                # Study trials' scratch store; with tracked runs only, the folder of their stores.
                report.scratch = scratch / ".rigorlab" if tasks else scratch / "tracked"
            else:
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        if not isinstance(store, RunStore):
            reader.close()
    if record and report.verifications:
        _record(store, study, report, environment)
    report.seconds = time.monotonic() - started
    return report


def _run_and_verify(
    reader: RunStore,
    scratch_path: Path,
    study: str,
    info: Mapping[str, Any],
    rebuilt: Rebuilt,
    metrics: Mapping[str, Mapping[str, float | None]],
    diffs: Mapping[str | None, EnvironmentDiff],
    report: ReproductionReport,
    tolerances: Tolerances,
    environment: Mapping[str, Any],
    jobs: int | None,
    executor: Executor | None,
    on_result: Callable[[TrialVerification], None] | None,
) -> None:
    """Run the tasks into a scratch store (written as ``rigorlab run`` writes) and compare each result."""
    from rigorlab.execution import LocalExecutor
    from rigorlab.store import open_store

    by_key = {task.key: task for task in rebuilt.tasks}
    folder = rebuilt.folder
    curves = _curves_by_key(reader, study)
    with open_store(scratch_path, create=True) as scratch:
        scratch.save_study(
            study,
            question=str(info.get("question") or ""),
            spec=info.get("spec"),
            spec_text=info.get("spec_text"),
            spec_path=info.get("spec_path"),
        )
        scratch.save_environment(report.environment_hash, environment)
        run_id = scratch.start_run(
            study, command=command_line(), git=capture_git(folder), environment_hash=report.environment_hash
        )
        add_import_path(folder)
        runner = executor or LocalExecutor(jobs=jobs, import_paths=[str(folder)])
        status = "finished"
        try:
            for result in runner.run(rebuilt.tasks, rebuilt.datasets):
                task = by_key[result.key]
                scratch.save_trial(study, result, run_id=run_id, split={"train": task.train, "test": task.test})
                record, notes = rebuilt.records[result.key], rebuilt.notes[result.key]
                changes = diffs[record.get("environment_hash")].changes + report.git_changes
                base, reason = tolerances.base(
                    diffs[record.get("environment_hash")].same,
                    _uses_gpu(record["config"], record.get("environment"), environment),
                )
                if not result.ok:
                    first = (result.error or "unknown error").strip().splitlines()[0]
                    verification = _verification(
                        record,
                        FAILED,
                        tolerance=str(base),
                        differences=[f"the re-run failed: {first}"],
                        explanation=explain(changes, record["config"]),
                        notes=notes,
                        details={"error": result.error, "traceback": result.traceback},
                    )
                else:
                    stored = _stored_result(
                        reader, study, record, metrics.get(result.key, {}), curves.get(result.key, {})
                    )
                    points: dict[str, list[tuple[int, float]]] = defaultdict(list)
                    for name, step, value in result.curves:
                        points[name].append((int(step), float(value)))
                    reproduced = {
                        "metrics": {k: None if v is None else float(v) for k, v in result.metrics.items()},
                        "predictions": scratch.predictions(study, result.key),  # as stored: the same round trip
                        "curves": points,
                        "selected_params": json.loads(json.dumps(result.selected_params, sort_keys=True, default=str)),
                    }
                    verification = _compare(record, stored, reproduced, base, reason, tolerances, notes, changes)
                report.verifications.append(verification)
                if on_result is not None:
                    on_result(verification)
        except KeyboardInterrupt:
            status = "interrupted"
            report.interrupted = True
        finally:
            if executor is None:
                runner.close()
            scratch.finish_run(run_id, status)


@dataclass
class _Context:
    """What verifying a re-run needs from :func:`reproduce`: the original store (read-only), the
    stored metrics, the environment diffs and where the verdicts go."""

    reader: RunStore
    study: str
    metrics: Mapping[str, Mapping[str, float | None]]
    diffs: Mapping[str | None, EnvironmentDiff]
    report: ReproductionReport
    tolerances: Tolerances
    environment: Mapping[str, Any]
    on_result: Callable[[TrialVerification], None] | None


def _rerun_tracked(context: _Context, invocations: Sequence[Invocation], folder: Path, timeout: float) -> None:
    """Run each script invocation once into its own scratch store and compare the runs it logged."""
    reader, study, report = context.reader, context.study, context.report
    curves = _curves_by_key(reader, study)
    for number, invocation in enumerate(invocations):
        before = set(reader.trial_states(study))
        try:
            rerun = run_invocation(invocation, folder / f"{number:03d}", timeout)
        except KeyboardInterrupt:
            report.interrupted = True
            return
        problem = rerun.failure()
        added = sorted(set(reader.trial_states(study)) - before)
        if added:  # the script chose the store itself: say so before anything else about its runs
            problem = MSG_WROTE_ORIGINAL.format(
                command=invocation.command_text,
                cwd=invocation.cwd,
                count=len(added),
                store=reader.root,
                keys=", ".join(key[:10] for key in added),
            )
        git_changes = invocation.git_changes
        details = {
            "command": invocation.command_text,
            "cwd": invocation.cwd,
            "returncode": rerun.returncode,
            "timed_out": rerun.timed_out,
            "seconds": rerun.seconds,
            "scratch_store": str(rerun.store),
        }
        for record in invocation.records:
            diff = context.diffs[record.get("environment_hash")]
            changes = diff.changes + git_changes
            # The script is the code: a change of its work tree comes first among the likely causes.
            likely = [f"{change} (the script's work tree)" for change in git_changes] + explain(
                diff.changes, record["config"]
            )
            base, reason = context.tolerances.base(
                diff.same, _uses_gpu(record["config"], record.get("environment"), context.environment)
            )
            reproduced, missing = (None, problem) if problem is not None else reproduced_run(rerun, study, record)
            if reproduced is None:
                verification = _verification(
                    record,
                    FAILED,
                    tolerance=str(base),
                    differences=[str(missing)],
                    explanation=likely,
                    details={**details, "stderr_tail": rerun.tail()},
                )
            else:
                key = str(record["key"])
                stored = _stored_result(
                    reader, study, record, context.metrics.get(key, {}), result_curves(curves.get(key, {}))
                )
                verification = _compare(
                    record, stored, reproduced, base, reason, context.tolerances, [], changes, likely
                )
                verification.details["rerun"] = {**details, "key": reproduced["key"]}
            report.verifications.append(verification)
            if context.on_result is not None:
                context.on_result(verification)


def _compare(
    record: Mapping[str, Any],
    stored: Mapping[str, Any],
    reproduced: Mapping[str, Any],
    base: Tolerance,
    reason: str,
    tolerances: Tolerances,
    notes: list[str],
    changes: list[Change],
    likely: list[str] | None = None,
) -> TrialVerification:
    comparison = compare_results(stored, reproduced, base, tolerances)
    explanation: list[str] = []
    if comparison.differences or comparison.max_difference:
        explanation = (explain(changes, record["config"]) if likely is None else likely) or [MSG_NO_EXPLANATION]
    details = {
        **comparison.details,
        "tolerance_reason": reason,
        "environment_changes": [str(change) for change in changes],
    }
    return _verification(
        record,
        comparison.verdict,
        max_difference=comparison.max_difference,
        tolerance=str(base),
        differences=comparison.differences,
        explanation=explanation,
        notes=notes,
        details=details,
    )


def _record(
    store: RunStore | str | Path | None, study: str, report: ReproductionReport, environment: Mapping[str, Any]
) -> None:
    from rigorlab.store import RunStore, open_store

    rows = [{**v.record(), "verified_at": report.verified_at} for v in report.verifications]
    writer = store if isinstance(store, RunStore) else open_store(store)
    try:
        writer.save_verifications(study, rows, environment_hash=report.environment_hash, environment=environment)
    finally:
        if not isinstance(store, RunStore):
            writer.close()
    report.recorded = True
