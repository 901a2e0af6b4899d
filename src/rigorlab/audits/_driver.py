"""The audit driver: from a study to stored audit results, resumably.

It reloads the study and its datasets (from the study file, or from the text stored with the
study), checks that the data are the ones the trials saw, plans the audit tasks, runs those not
stored yet, and stores each result as it arrives, in its own transaction (the driver is the
single writer). Data audits run first: with ``strict``, a severe data finding stops everything
else. Cards are built last, from the store.
"""

from __future__ import annotations

import dataclasses
import difflib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigorlab.audits import _messages as msg
from rigorlab.audits._cards import build_cards
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
from rigorlab.audits._tasks import failed_audit, plan_audit_tasks, run_audit_task
from rigorlab.audits._views import rows_of
from rigorlab.data import Dataset
from rigorlab.errors import DataError, InputError
from rigorlab.spec import LoadedStudy, load_study, load_study_text
from rigorlab.store import RunStore, open_store

__all__ = ["AuditSummary", "audit_study", "execute_audit_tasks", "parse_kinds"]

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
    for word in words:
        if word not in KINDS:
            match = difflib.get_close_matches(word, KINDS, n=1, cutoff=0.5)
            raise InputError(
                msg.UNKNOWN_KIND.format(
                    kind=word, kinds=", ".join(KINDS), closest=f" Did you mean '{match[0]}'?" if match else ""
                )
            )
    return tuple(k for k in KINDS if k in words)


_WORKER_DATASETS: dict[str, Dataset] = {}


def _init_worker(datasets: Mapping[str, Dataset], import_paths: Sequence[str]) -> None:
    import sys

    from threadpoolctl import threadpool_limits

    for path in reversed(import_paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    # One BLAS thread per worker: parallelism comes from processes, and results do not depend on --jobs.
    threadpool_limits(1)
    _WORKER_DATASETS.update(datasets)


def _run_in_worker(task: AuditTask) -> AuditResult:
    return run_audit_task(task, _WORKER_DATASETS[task.dataset])


def execute_audit_tasks(
    tasks: Sequence[AuditTask], datasets: Mapping[str, Dataset], *, jobs: int = 1, import_paths: Sequence[str] = ()
) -> Iterator[AuditResult]:
    """Run audit tasks and yield their results as they finish (the one place an executor plugs in).

    ``jobs == 1`` runs them in this process, one by one; more uses a pool of worker processes
    that receive the datasets once. A worker that dies fails its task, not the others' results.
    """
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield run_audit_task(task, datasets[task.dataset])
        return
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    needed = {task.dataset: datasets[task.dataset] for task in tasks}
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(needed, list(import_paths))
    )
    try:
        futures = {pool.submit(_run_in_worker, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool as error:
                yield failed_audit(futures[future], msg.WORKER_DIED.format(reason=error))
    finally:
        # On Ctrl-C (or a caller that stops early) do not wait for the queued audits: what was
        # stored stays stored, and running the audit again finishes the rest.
        pool.shutdown(wait=False, cancel_futures=True)


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
    jobs: int,
    rerun_failed: bool,
    import_paths: Sequence[str],
    on_result: ResultCallback | None,
) -> list[AuditResult]:
    states = store.audit_states(study)
    todo = []
    for task in tasks:
        state = states.get(task.key)
        if state in (DONE, SKIPPED) or (state == FAILED and not rerun_failed):
            summary.already_done += 1
        else:
            todo.append(task)
    finished: list[AuditResult] = []
    for result in execute_audit_tasks(todo, datasets, jobs=jobs, import_paths=import_paths):
        _store_result(store, study, result)
        finished.append(result)
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
    return finished


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


def audit_study(
    study: str | Path | LoadedStudy,
    *,
    store: RunStore | str | Path | None = None,
    only: str | Sequence[str] | None = None,
    strict: bool = False,
    jobs: int = 1,
    rerun_failed: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    on_result: ResultCallback | None = None,
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
        before any other audit runs (its findings are stored first).
    jobs : int
        Worker processes (1: in this process).
    rerun_failed : bool
        Run again the audits stored as failed.
    options : mapping, optional
        Per-kind overrides of the audit settings (see ``rigorlab.audits.DEFAULTS``).

    Returns
    -------
    AuditSummary

    Examples
    --------
    >>> summary = audit_study("arrests", only="data,fairness")  # doctest: +SKIP
    >>> summary.done, [f.message for f in summary.findings if f.severity == "severe"]  # doctest: +SKIP
    """
    from rigorlab.execution import prepare

    started = time.monotonic()
    kinds = parse_kinds(only)
    run_store = (
        store
        if isinstance(store, RunStore)
        else open_store(store, create=not isinstance(study, str) or Path(study).suffix in (".yaml", ".yml"))
    )
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
        baseline = run_store.study_info(name).get("baseline") or plan.arms[0].name
        summary = AuditSummary(study=name, store=run_store.root, kinds=kinds)
        import_paths = [str(loaded.base_dir)]
        run_kwargs: dict[str, Any] = {
            "jobs": jobs,
            "rerun_failed": rerun_failed,
            "import_paths": import_paths,
            "on_result": on_result,
        }
        if "data" in kinds:
            tasks, notes = plan_audit_tasks(
                run_store, name, plan, datasets, ["data"], baseline=baseline, options=options
            )
            summary.planned += len(tasks)
            _run_tasks(run_store, name, tasks, datasets, summary, **run_kwargs)
            severe = _stored_severe(run_store, name, {t.key for t in tasks})
            if strict and severe:
                shown = "\n".join(f"  - {f.dataset}: {f.message}" for f in severe[:10])
                raise DataError(msg.STRICT_FAILED.format(count=len(severe), findings=shown, study=name))
        trial_kinds = [k for k in kinds if k in ("fairness", "robustness", "explain")]
        if trial_kinds:
            tasks, notes = plan_audit_tasks(
                run_store, name, plan, datasets, trial_kinds, baseline=baseline, options=options
            )
            summary.notes.extend(notes)
            summary.planned += len(tasks)
            _run_tasks(run_store, name, tasks, datasets, summary, **run_kwargs)
        if "cards" in kinds:
            _save_cards(run_store, name, summary)
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        if not isinstance(store, RunStore):
            run_store.close()
