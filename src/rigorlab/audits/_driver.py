"""The audit driver: from a study to stored audit results, resumably.

It reloads the study and its datasets (from the study file, or from the text stored with the
study), checks that the data are the ones the trials saw, plans the audit tasks, runs those not
stored yet through an executor (the same worker pool, timeouts and crash handling as trials), and
stores each result as it arrives, in its own transaction (the driver is the single writer). Data
audits run first: with ``strict``, a severe data finding stops everything else. Cards are built
last, from the store. ``rigorlab run`` calls :func:`run_audits` for the audits its study file
declares: the data audit before training, the others after.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigorlab.audits import _messages as msg
from rigorlab.audits._cards import build_cards
from rigorlab.audits._frames import rows_of
from rigorlab.audits._records import (
    DONE,
    FAILED,
    KINDS,
    SEVERE,
    SKIPPED,
    AuditResult,
    AuditTask,
    Finding,
    audit_key,
    json_safe,
)
from rigorlab.audits._tasks import plan_audit_tasks
from rigorlab.data import Dataset
from rigorlab.errors import DataError, InputError, did_you_mean
from rigorlab.execution import AuditWork, Executor, LocalExecutor
from rigorlab.spec import LoadedStudy, Plan, load_study, load_study_text
from rigorlab.store import RunStore, open_store

__all__ = ["AuditSummary", "audit_study", "execute_audit_tasks", "parse_kinds", "run_audits"]

ResultCallback = Callable[[AuditResult], None]


@dataclass
class AuditSummary:
    """What an ``audit_study`` call did."""

    study: str
    store: Path
    kinds: tuple[str, ...]
    planned: int = 0
    already_done: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    cards: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    results: list[AuditResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[AuditResult]:
        return [r for r in self.results if r.status == FAILED]


def parse_kinds(only: str | Sequence[str] | None) -> tuple[str, ...]:
    """Audit kinds from ``--only`` (comma-separated or a list); all kinds when None.

    Examples
    --------
    >>> parse_kinds("fairness, data")
    ('data', 'fairness')
    """
    if only is None:
        return KINDS
    words = [w.strip() for w in (only.split(",") if isinstance(only, str) else only) if w.strip()]
    if not words:
        raise InputError(msg.NO_KINDS.format(kinds=", ".join(KINDS)))
    for word in words:
        if word not in KINDS:
            raise InputError(
                msg.UNKNOWN_KIND.format(kind=word, kinds=", ".join(KINDS), closest=did_you_mean(word, KINDS))
            )
    return tuple(k for k in KINDS if k in words)


def execute_audit_tasks(
    tasks: Sequence[AuditTask],
    datasets: Mapping[str, Dataset],
    *,
    jobs: int = 1,
    import_paths: Sequence[str] = (),
    executor: Executor | None = None,
    timeout: float | None = None,
) -> Iterator[AuditResult]:
    """Run audit tasks through an executor and yield their results as they finish.

    Audits are units of work of the same executor as trials (``rigorlab.execution.LocalExecutor``
    with ``jobs`` workers by default): they share its worker pool, its timeouts (``timeout`` seconds
    per audit), its crash handling (a worker that dies fails its audit, not the others) and its
    Ctrl-C behaviour (KeyboardInterrupt stops every worker; what was yielded is the caller's).
    """
    if not tasks:
        return
    owned = executor is None
    runner = executor or LocalExecutor(jobs=jobs, import_paths=list(import_paths))
    try:
        yield from runner.run([AuditWork(task, timeout) for task in tasks], datasets)
    finally:
        if owned:
            runner.close()


def _store_result(store: RunStore, study: str, result: AuditResult) -> None:
    store.save_audit_result(
        study,
        key=result.key,
        kind=result.kind,
        dataset=result.dataset,
        status=result.status,
        arm=result.arm,
        replicate=result.replicate,
        fold=result.fold,
        trial_key=result.trial_key,
        result=json_safe(result.payload()),
        arrays={name: array for name, array in result.arrays.items() if len(array)} or None,
        error=result.error,
        traceback=result.traceback,
        started_at=result.started_at,
        finished_at=result.finished_at,
    )


def _load(study: str | Path | LoadedStudy, store: RunStore) -> LoadedStudy:
    if isinstance(study, LoadedStudy):
        return study
    path = Path(study)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return load_study(path)
    info = store.study_info(str(study))
    if not info.get("spec_text"):
        raise InputError(msg.NO_SPEC_TEXT.format(study=study))
    loaded = load_study_text(info["spec_text"], name=info.get("spec_path") or str(study))
    if info.get("spec_path"):
        # Relative dataset paths resolve against the study file's folder, as when the study ran.
        loaded = dataclasses.replace(loaded, path=Path(info["spec_path"]))
    return loaded


def _check_fingerprints(store: RunStore, study: str, datasets: Mapping[str, Dataset]) -> None:
    stored = store.datasets(study)
    for record in stored.to_dict("records"):
        current = datasets.get(record["name"])
        if current is not None and current.fingerprint != record["fingerprint"]:
            raise DataError(
                msg.FINGERPRINT_CHANGED.format(
                    dataset=record["name"],
                    study=study,
                    stored=record["fingerprint"][:12],
                    current=current.fingerprint[:12],
                )
            )


def _run_tasks(
    store: RunStore,
    study: str,
    tasks: list[AuditTask],
    datasets: Mapping[str, Dataset],
    summary: AuditSummary,
    *,
    executor: Executor,
    rerun_failed: bool,
    timeout: float | None,
    on_result: ResultCallback | None,
) -> None:
    states = store.audit_states(study)
    todo = []
    for task in tasks:
        state = states.get(task.key)
        if state in (DONE, SKIPPED) or (state == FAILED and not rerun_failed):
            summary.already_done += 1
        else:
            todo.append(task)
    for result in execute_audit_tasks(todo, datasets, executor=executor, timeout=timeout):
        _store_result(store, study, result)
        summary.results.append(result)
        summary.findings.extend(result.findings)
        if result.status == DONE:
            summary.done += 1
        elif result.status == SKIPPED:
            summary.skipped += 1
        else:
            summary.failed += 1
        if on_result is not None:
            on_result(result)


def _stored_severe(store: RunStore, study: str, keys: set[str]) -> list[Finding]:
    frame = store.audit_results(study, kind="data")
    found: list[Finding] = []
    for record in rows_of(frame[frame["key"].isin(keys)]):
        found.extend(Finding.from_dict(f) for f in (record.result or {}).get("findings", []) if f["severity"] == SEVERE)
    return found


def _save_cards(store: RunStore, study: str, summary: AuditSummary) -> None:
    states = store.audit_states(study)
    for card in build_cards(store, study):
        key = audit_key(
            {"kind": "cards", "card": card.card, "arm": card.arm, "dataset": card.dataset, "content": card.to_dict()}
        )
        summary.planned += 1
        if key in states:
            summary.already_done += 1
            continue
        store.save_audit_result(
            study,
            key=key,
            kind="cards",
            dataset=card.dataset,
            arm=card.arm,
            status=DONE,
            result={"result": card.to_dict(), "findings": [], "notes": [], "warnings": [], "message": None},
        )
        summary.cards += 1


def run_audits(
    store: RunStore,
    plan: Plan,
    datasets: Mapping[str, Dataset],
    summary: AuditSummary,
    *,
    executor: Executor,
    strict: bool = False,
    rerun_failed: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float | None = None,
    stored_predictions: bool = False,
    on_result: ResultCallback | None = None,
) -> AuditSummary:
    """Plan, run and store the audits of ``summary.kinds`` for a study whose plan and datasets are loaded.

    The study must be in ``store`` already. The data audit runs first; with ``strict`` a severe data
    finding raises :class:`~rigorlab.errors.DataError` after the findings are stored and before any
    other audit runs. Cards come last.

    Parameters
    ----------
    store : RunStore
    plan : Plan
        The study's plan (``prepare``), with its splits.
    datasets : mapping of str to Dataset
    summary : AuditSummary
        Filled as results arrive (``kinds`` says which audits run).
    executor : Executor
        Runs the audit tasks (the study's executor, when ``rigorlab run`` calls this).
    strict, rerun_failed, options, timeout
        As for :func:`audit_study`.
    stored_predictions : bool
        Whether the data audit may read the baseline's stored out-of-fold predictions for its label
        issues. Off by default: the audit then fits its own seeded model, so it gives the same answer
        before training (``rigorlab run`` audits the data before any trial exists) and after, and does
        not depend on the baseline's settings (a class-weighted baseline shifts its probabilities, and
        confident learning then flags many correct labels).
    on_result : callable, optional
        Called with each AuditResult as it is stored.

    Returns
    -------
    AuditSummary
        ``summary``. A KeyboardInterrupt propagates (what finished is stored).
    """
    name = plan.spec.study
    baseline = store.study_info(name).get("baseline") or plan.arms[0].name
    run: dict[str, Any] = {
        "executor": executor,
        "rerun_failed": rerun_failed,
        "timeout": timeout,
        "on_result": on_result,
    }
    kinds = summary.kinds
    if "data" in kinds:
        tasks, _ = plan_audit_tasks(
            store,
            name,
            plan,
            datasets,
            ["data"],
            baseline=baseline,
            options=options,
            stored_predictions=stored_predictions,
        )
        summary.planned += len(tasks)
        _run_tasks(store, name, tasks, datasets, summary, **run)
        severe = _stored_severe(store, name, {t.key for t in tasks})
        if strict and severe:
            shown = "\n".join(f"  - {f.dataset}: {f.message}" for f in severe[:10])
            raise DataError(msg.STRICT_FAILED.format(count=len(severe), findings=shown, study=name))
    trial_kinds = [k for k in kinds if k in ("fairness", "robustness", "explain")]
    if trial_kinds:
        tasks, notes = plan_audit_tasks(store, name, plan, datasets, trial_kinds, baseline=baseline, options=options)
        summary.notes.extend(notes)
        summary.planned += len(tasks)
        _run_tasks(store, name, tasks, datasets, summary, **run)
    if "cards" in kinds:
        _save_cards(store, name, summary)
    return summary


def _merged_options(loaded: LoadedStudy, options: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The study file's audit settings with the caller's on top (the same settings give the same keys, so
    ``rigorlab audit`` after ``rigorlab run`` finds the audits the run stored)."""
    declared = loaded.spec.audits.options if loaded.spec.audits is not None else {}
    kinds = set(declared) | set(options or {})
    return {kind: {**declared.get(kind, {}), **dict((options or {}).get(kind, {}))} for kind in kinds}


def audit_study(
    study: str | Path | LoadedStudy,
    *,
    store: RunStore | str | Path | None = None,
    only: str | Sequence[str] | None = None,
    strict: bool = False,
    jobs: int = 1,
    rerun_failed: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float | None = None,
    executor: Executor | None = None,
    on_result: ResultCallback | None = None,
    stored_predictions: bool = False,
) -> AuditSummary:
    """Run a study's audits and store their results (audits already stored are not run again).

    Parameters
    ----------
    study : str, Path or LoadedStudy
        A study name in the store, or a study file (which may not have run yet: the data audit
        needs no trials).
    store : RunStore or path, optional
        Default: ``$RIGORLAB_STORE`` or ``./.rigorlab``.
    only : str or sequence of str, optional
        Kinds to run (``data``, ``fairness``, ``robustness``, ``explain``, ``cards``); default all.
    strict : bool
        Raise :class:`~rigorlab.errors.DataError` when the data audit finds a severe problem,
        before any other audit runs (its findings are stored first). Also on when the study file's
        ``audits:`` says ``strict: true``.
    jobs : int
        Worker processes of the default executor.
    rerun_failed : bool
        Run again the audits stored as failed.
    options : mapping, optional
        Per-kind overrides of the audit settings (see ``rigorlab.audits.DEFAULTS``), on top of the
        study file's ``audits:`` settings.
    timeout : float, optional
        Seconds per audit task (default: the study file's ``audits: {timeout: ...}``, else none).
    executor : Executor, optional
        Default: a :class:`rigorlab.execution.LocalExecutor` with ``jobs`` workers.
    stored_predictions : bool
        Label issues from the baseline's stored out-of-fold probabilities instead of the data
        audit's own seeded model (:func:`run_audits`). A different setting is a different audit,
        stored beside the other.

    Returns
    -------
    AuditSummary
        ``interrupted`` is True when Ctrl-C stopped it (what finished is stored; run it again).

    Examples
    --------
    >>> summary = audit_study("arrests", only="data,fairness")  # doctest: +SKIP
    >>> summary.done, [f.message for f in summary.findings if f.severity == "severe"]  # doctest: +SKIP
    """
    from rigorlab.execution import prepare
    from rigorlab.execution._local import refuse_in_worker_start_up

    refuse_in_worker_start_up()
    started = time.monotonic()
    kinds = parse_kinds(only)
    run_store = (
        store
        if isinstance(store, RunStore)
        else open_store(store, create=not isinstance(study, str) or Path(study).suffix in (".yaml", ".yml"))
    )
    owned = executor is None
    runner: Executor | None = executor
    try:
        loaded = _load(study, run_store)
        loaded, datasets, plan = prepare(loaded)
        spec = loaded.spec
        name = spec.study
        known = set(run_store.studies()["name"])
        if name not in known:
            run_store.save_study(
                name,
                question=spec.question,
                spec=spec.model_dump(mode="json", by_alias=True),
                spec_text=loaded.text,
                spec_path=str(loaded.path) if loaded.path else None,
                primary_metric=spec.primary,
                baseline=spec.baseline or plan.arms[0].name,
            )
            run_store.save_datasets(name, [datasets[d.name].summary() for d in spec.datasets])
        elif any(k != "data" for k in kinds):
            _check_fingerprints(run_store, name, datasets)
        summary = AuditSummary(study=name, store=run_store.root, kinds=kinds)
        declared = spec.audits
        runner = runner or LocalExecutor(jobs=jobs, import_paths=[str(loaded.base_dir)])
        try:
            run_audits(
                run_store,
                plan,
                datasets,
                summary,
                executor=runner,
                strict=strict or (declared is not None and declared.strict),
                rerun_failed=rerun_failed,
                options=_merged_options(loaded, options),
                timeout=timeout if timeout is not None else (declared.timeout if declared is not None else None),
                stored_predictions=stored_predictions,
                on_result=on_result,
            )
        except KeyboardInterrupt:
            summary.interrupted = True
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        if owned and runner is not None:
            runner.close()
        if not isinstance(store, RunStore):
            run_store.close()
