"""The worker process of the local executor: receives units of work over a pipe, sends results back."""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["READY", "worker_main"]

READY = "rigorlab-worker-ready"


def worker_main(connection: Connection, import_paths: list[str]) -> None:
    """Serve units of work until the driver sends ``None`` or closes the pipe.

    Messages in: ``(work, dataset_or_None)`` where work is a TrialTask, a BatchTask or an AuditWork; a
    dataset is sent once per worker and cached by fingerprint. Messages out: the list of results, one
    TrialResult per trial of the work (one AuditResult for an audit). Each distinct environment goes
    back once (with its first trial result); later results refer to it by hash.
    """
    # Ctrl-C is the driver's to handle: it stops workers itself, after saving what finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for path in reversed(import_paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    from threadpoolctl import threadpool_limits

    from rigorlab.execution._runner import run_work

    # One BLAS thread per worker: parallelism comes from processes, and results do not depend
    # on --jobs (multi-threaded reductions can change the last bits).
    threadpool_limits(1)
    connection.send(READY)
    datasets: dict[str, Any] = {}
    sent: set[str] = set()
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        work, dataset = message
        if dataset is not None:
            datasets[dataset.fingerprint] = dataset
        results = run_work(work, datasets[work.dataset_fingerprint])
        for result in results:
            if not hasattr(result, "environment_hash"):
                continue  # an audit's result carries no environment
            # The environment can change within a worker (importing torch adds its CUDA version).
            if result.environment_hash in sent:
                result.environment = None
            elif result.environment is not None and result.environment_hash is not None:
                sent.add(result.environment_hash)
        try:
            connection.send(results)
        except (BrokenPipeError, OSError):
            return
