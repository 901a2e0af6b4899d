"""The local executor: a pool of worker processes with per-unit timeouts.

concurrent.futures cannot stop one running task, so a trial past its timeout (or one that
crashes its process) would hold a worker forever. This pool owns its processes: it kills the
worker of an overdue unit of work, records it as failed, and starts a fresh worker. A batch of
torch replicates is one unit of work: its timeout and a crash apply to all of its trials. Audits
run in the same pool, with the same timeouts and crash handling (one failed AuditResult each).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from rigorlab.data import Dataset
from rigorlab.errors import ExecutionError
from rigorlab.execution._base import Executor
from rigorlab.execution._task import AuditWork, BatchTask, TrialTask, Work, as_work
from rigorlab.execution._worker import READY, worker_main
from rigorlab.provenance import now_iso
from rigorlab.store import FAILED, TrialResult

__all__ = [
    "LocalExecutor",
    "MSG_AUDIT_TIMEOUT",
    "MSG_AUDIT_WORKER_DIED",
    "MSG_BATCH_TIMEOUT",
    "MSG_TIMEOUT",
    "MSG_WORKER_DIED",
    "MSG_WORKER_START",
    "failed_results",
    "refuse_in_worker_start_up",
]

MSG_TIMEOUT = (
    "TrialTimeout: the trial ran longer than its timeout of {seconds:g} s and was stopped. Raise timeout: "
    "on the model or the study, or make the model cheaper."
)
MSG_BATCH_TIMEOUT = (
    "TrialTimeout: the batch of {size} replicates trained together with this trial ran longer than its timeout of "
    "{seconds:g} s and was stopped; a timeout applies to a batch as a whole. Raise timeout: on the model, or set "
    "training.max_stack (smaller batches) or training.batched: false (one replicate per timeout)."
)
MSG_WORKER_DIED = (
    "WorkerDied: the worker process running this trial ended unexpectedly (exit code {code}); it may have "
    "run out of memory or crashed in native code."
)
MSG_WORKER_START = (
    "A worker process ended before it could take any work (exit code {code}), so no trial ran. "
    "Its error is printed above. The usual cause: rigorlab.run_study (or rigorlab.audit_study) was called at "
    "the top level of a script, and each worker process imports that script again (Python's multiprocessing "
    'does this). Put the call under `if __name__ == "__main__":` and run the script again.'
)
MSG_IMPORTED_BY_WORKER = (
    "rigorlab was asked to run a study while a worker process was starting: this script calls it at the top "
    'level, and every worker imports the script again. Put the call under `if __name__ == "__main__":`.'
)
MSG_AUDIT_TIMEOUT = (
    "AuditTimeout: the {kind} audit ran longer than its timeout of {seconds:g} s and was stopped. Raise timeout: "
    "under audits: in the study file (or rigorlab audit --timeout), or lower the audit's sample sizes."
)
MSG_AUDIT_WORKER_DIED = (
    "WorkerDied: the worker process running this {kind} audit ended unexpectedly (exit code {code}); it may have "
    "run out of memory or crashed in native code."
)


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    datasets: set[str] = field(default_factory=set)
    task: Work | None = None
    deadline: float | None = None


def _context() -> Any:
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has already imported the runner (sklearn, pandas), so a
        # replacement worker starts in milliseconds. torch too when the driver has imported it (a
        # study with torch models): otherwise each worker would spend seconds importing it.
        preload = ["rigorlab.execution._runner"] + (["torch"] if "torch" in sys.modules else [])
        context.set_forkserver_preload(preload)
        return context
    return multiprocessing.get_context("spawn")


def refuse_in_worker_start_up() -> None:
    """Raise when called while a worker process is importing the user's script (no __main__ guard).

    Without this, each worker would open the store and start a study of its own before dying on
    multiprocessing's own bootstrapping error. ``_inheriting`` is the flag multiprocessing itself
    checks for that error.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ExecutionError(MSG_IMPORTED_BY_WORKER)


def failed_result(task: TrialTask, error: str) -> TrialResult:
    trial = task.trial
    now = now_iso()
    return TrialResult(
        key=trial.key,
        arm=trial.arm.name,
        dataset=trial.dataset,
        replicate=trial.replicate,
        fold=trial.fold,
        status=FAILED,
        config=trial.arm.config(),
        seeds=trial.seeds.to_dict(),
        dataset_fingerprint=trial.dataset_fingerprint,
        split_fingerprint=trial.split_fingerprint,
        n_train=len(task.train),
        n_test=len(task.test),
        error=error,
        started_at=now,
        finished_at=now,
    )


def failed_results(work: Work, error: str) -> list[Any]:
    """One failed result per trial of ``work`` (or one failed AuditResult for an audit), all with ``error``."""
    if isinstance(work, AuditWork):
        from rigorlab.audits._tasks import failed_audit

        return [failed_audit(work.audit, error)]
    return [failed_result(task, error) for task in work.tasks]


def _died_message(work: Work, code: int | None) -> str:
    if isinstance(work, AuditWork):
        return MSG_AUDIT_WORKER_DIED.format(kind=work.audit.kind, code=code)
    return MSG_WORKER_DIED.format(code=code)


def _timeout_message(work: Work) -> str:
    assert work.timeout is not None
    if isinstance(work, AuditWork):
        return MSG_AUDIT_TIMEOUT.format(kind=work.audit.kind, seconds=work.timeout)
    if isinstance(work, BatchTask):
        return MSG_BATCH_TIMEOUT.format(size=len(work.tasks), seconds=work.timeout)
    return MSG_TIMEOUT.format(seconds=work.timeout)


class LocalExecutor(Executor):
    """Runs trials and audits in ``jobs`` worker processes on this machine.

    Parameters
    ----------
    jobs : int, optional
        Worker processes; default: the number of CPU cores.
    import_paths : list of str
        Folders added to each worker's ``sys.path`` (the study file's folder, for custom
        estimators and dataset callables).
    """

    name = "local"

    def __init__(self, jobs: int | None = None, import_paths: Sequence[str] = ()) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.import_paths = list(import_paths)
        self._workers: list[_Worker] = []
        self._context = _context()

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=worker_main, args=(child, self.import_paths), daemon=True)
        process.start()
        child.close()
        # Wait for the worker to say it is ready: a worker that dies while starting (typically a
        # script without a __main__ guard, which each worker imports again) would otherwise fail
        # every trial in turn and store them all as failed. Nothing is stored in that case.
        wait([parent, process.sentinel])
        ready = False
        if parent.poll():
            try:
                ready = parent.recv() == READY
            except (EOFError, OSError):
                ready = False
        if not ready:
            process.join(timeout=5)
            code = process.exitcode
            if process.is_alive():
                process.kill()
                process.join()
            parent.close()
            self.close()
            raise ExecutionError(MSG_WORKER_START.format(code=code))
        worker = _Worker(process=process, connection=parent)
        self._workers.append(worker)
        return worker

    def _stop_worker(self, worker: _Worker, *, kill: bool) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        try:
            if kill:
                worker.process.kill()
            else:
                worker.connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        worker.process.join(timeout=None if kill else 5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.connection.close()

    def _assign(self, worker: _Worker, task: Work, datasets: Mapping[str, Dataset]) -> None:
        fingerprint = task.dataset_fingerprint
        payload = None
        if fingerprint not in worker.datasets:
            payload = datasets[task.dataset]
            worker.datasets.add(fingerprint)
        worker.task = task
        worker.deadline = time.monotonic() + task.timeout if task.timeout else None
        worker.connection.send((task, payload))

    def run(self, tasks: Sequence[Work], datasets: Mapping[str, Dataset]) -> Iterator[Any]:
        queue = deque(as_work(task) for task in tasks)
        try:
            for _ in range(min(self.jobs, len(queue))):
                self._start_worker()
            for worker in list(self._workers):
                if queue:
                    self._assign(worker, queue.popleft(), datasets)
            while any(w.task is not None for w in self._workers):
                yield from self._collect(queue, datasets)
        finally:
            self.close()

    def _collect(self, queue: deque[Work], datasets: Mapping[str, Dataset]) -> Iterator[Any]:
        busy = [w for w in self._workers if w.task is not None]
        deadlines = [w.deadline for w in busy if w.deadline is not None]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        waitables: list[Any] = [w.connection for w in busy] + [w.process.sentinel for w in busy]
        ready = set(wait(waitables, timeout=timeout))
        now = time.monotonic()
        for worker in busy:
            task = worker.task
            assert task is not None
            results: list[Any] | None = None
            replace = False
            if worker.connection in ready:
                try:
                    results = worker.connection.recv()
                except (EOFError, OSError):
                    results, replace = None, True
            elif worker.process.sentinel in ready:
                replace = True
            elif worker.deadline is not None and now >= worker.deadline:
                results = failed_results(task, _timeout_message(task))
                self._stop_worker(worker, kill=True)
                worker = self._start_worker()
            else:
                continue
            if replace:
                worker.process.join(timeout=5)
                code = worker.process.exitcode
                self._stop_worker(worker, kill=True)
                results = failed_results(task, _died_message(task, code))
                worker = self._start_worker()
            worker.task, worker.deadline = None, None
            assert results is not None
            if queue:
                self._assign(worker, queue.popleft(), datasets)
            yield from results

    def close(self) -> None:
        for worker in list(self._workers):
            self._stop_worker(worker, kill=worker.task is not None)
        self._workers.clear()
