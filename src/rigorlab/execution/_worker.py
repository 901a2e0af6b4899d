"""The worker process of the local executor: receives trials over a pipe, sends results back."""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["worker_main"]


def worker_main(connection: Connection, import_paths: list[str]) -> None:
    """Serve trials until the driver sends ``None`` or closes the pipe.

    Messages in: ``(task, dataset_or_None)``; a dataset is sent once per worker and cached by
    fingerprint. Messages out: the TrialResult.
    """
    # Ctrl-C is the driver's to handle: it stops workers itself, after saving what finished.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for path in reversed(import_paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    from threadpoolctl import threadpool_limits

    from rigorlab.execution._runner import run_trial

    # One BLAS thread per worker: parallelism comes from processes, and results do not depend
    # on --jobs (multi-threaded reductions can change the last bits).
    threadpool_limits(1)
    datasets: dict[str, Any] = {}
    first = True
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task, dataset = message
        if dataset is not None:
            datasets[dataset.fingerprint] = dataset
        result = run_trial(task, datasets[task.trial.dataset_fingerprint], include_environment=first)
        first = False
        try:
            connection.send(result)
        except (BrokenPipeError, OSError):
            return
