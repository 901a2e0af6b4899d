"""Logging speed of rigorlab.track() side by side with MLflow (SQLite and file stores). Prints JSON.

Two workloads, as a training loop logs: one value per call (``run.log(step=i, loss=v)`` against
``mlflow.log_metric("loss", v, step=i)``) and a dict of 10 values per call (``run.log(d, step=i)``
against ``mlflow.log_metrics(d, step=i)``). For each:

- ``points_per_second``: points over the time from the first call to the moment every point is
  stored (rigorlab: the ``with`` block has exited, so the final flush and the run's end are in;
  MLflow: ``end_run`` returned, which waits for asynchronous logging too).
- ``blocking_us_per_call``: the time the loop spends in the logging calls, per call (the loop
  timed with and without the call; the difference divided by the calls).
- ``latency_us``: the 50th/99th percentile and the longest single call (a second pass timing
  every call; back-pressure waits would show in the maximum).

rigorlab logs 100,000 points per workload. MLflow is timed on 2,000 points (its synchronous
SQLite store takes about 10 ms a point; 100,000 would take a quarter of an hour); rates are per
point, so the ratios compare like with like. MLflow's asynchronous mode (``synchronous=False``)
is measured too, as MLflow's own answer to the cost. The floor is a plain sqlite3 executemany of
100,000 rows into a table shaped like rigorlab's curves table, in one transaction.

Everything runs in a temporary folder; MLflow telemetry is off and nothing touches the network.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

POINTS = 100_000
MLFLOW_POINTS = 2_000
KEYS = 10
TARGET_POINTS_PER_SECOND = 300_000
TARGET_RATIO_TO_MLFLOW_SQLITE = 1_000
TARGET_BLOCKING_US = 3.0

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"


def loop_overhead(calls: int, keys: int) -> float:
    """Seconds of the same loop with no logging call (subtracted to get the call's own cost)."""
    record = {f"metric_{k}": 0.5 for k in range(keys)}
    started = time.perf_counter()
    for step in range(calls):
        _ = (step, step * 0.001, record)
    return time.perf_counter() - started


def workload(log: Callable[..., Any], calls: int, keys: int) -> float:
    """Run the logging loop; returns its seconds."""
    record = {f"metric_{k}": 0.5 + k for k in range(keys)}
    started = time.perf_counter()
    if keys == 1:
        for step in range(calls):
            log(step, step * 0.001, None)
    else:
        for step in range(calls):
            log(step, 0.0, record)
    return time.perf_counter() - started


def latencies(log: Callable[..., Any], calls: int, keys: int) -> dict[str, float]:
    record = {f"metric_{k}": 0.5 + k for k in range(keys)}
    timer = time.perf_counter_ns
    samples = []
    for step in range(calls):
        started = timer()
        log(step, step * 0.001, None if keys == 1 else record)
        samples.append(timer() - started)
    samples.sort()
    return {
        "p50": samples[len(samples) // 2] / 1000,
        "p99": samples[int(len(samples) * 0.99)] / 1000,
        "max": samples[-1] / 1000,
    }


def rigorlab_case(folder: Path, keys: int) -> dict[str, Any]:
    from rigorlab.tracking import track

    calls = POINTS // keys

    def open_run(name: str) -> Any:
        return track(study="bench", arm=name, dataset="d", replicate=0, store=folder / "store")

    started = time.perf_counter()
    run = open_run(f"rigorlab-{keys}").start()
    start_seconds = time.perf_counter() - started

    def log(step: int, value: float, record: dict[str, float] | None) -> None:
        if record is None:
            run.log(step=step, loss=value)
        else:
            run.log(record, step=step)

    begun = time.perf_counter()
    loop = workload(log, calls, keys)
    run.finish()
    total = time.perf_counter() - begun
    with open_run(f"rigorlab-{keys}-latency") as timed:
        run = timed
        latency = latencies(log, calls, keys)
    return {
        "points": POINTS,
        "calls": calls,
        "start_seconds": start_seconds,
        "loop_seconds": loop,
        "total_seconds_with_final_flush": total,
        "points_per_second": POINTS / total,
        "blocking_us_per_call": max(0.0, loop - loop_overhead(calls, keys)) / calls * 1e6,
        "latency_us": latency,
    }


def mlflow_case(uri: str, keys: int, synchronous: bool) -> dict[str, Any]:
    import mlflow

    calls = MLFLOW_POINTS // keys
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(f"bench-{keys}")  # MLflow 3 file stores need the experiment set first
    started = time.perf_counter()
    mlflow.start_run()
    start_seconds = time.perf_counter() - started

    def log(step: int, value: float, record: dict[str, float] | None) -> None:
        if record is None:
            mlflow.log_metric("loss", value, step=step, synchronous=synchronous)
        else:
            mlflow.log_metrics(record, step=step, synchronous=synchronous)

    begun = time.perf_counter()
    loop = workload(log, calls, keys)
    mlflow.end_run()  # waits for queued asynchronous writes
    total = time.perf_counter() - begun
    return {
        "points": MLFLOW_POINTS,
        "calls": calls,
        "start_seconds": start_seconds,
        "loop_seconds": loop,
        "total_seconds_with_final_flush": total,
        "points_per_second": MLFLOW_POINTS / total,
        "blocking_us_per_call": max(0.0, loop - loop_overhead(calls, keys)) / calls * 1e6,
    }


def plain_sqlite(folder: Path, attempt: int) -> float:
    db = sqlite3.connect(folder / f"plain{attempt}.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE curves (trial_id INTEGER NOT NULL, name TEXT NOT NULL, step INTEGER NOT NULL, value REAL)")
    db.execute("CREATE INDEX curves_by_trial ON curves(trial_id, name, step)")
    rows = [("loss", step, step * 0.001) for step in range(POINTS)]
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO curves (trial_id, name, step, value) VALUES (1, ?, ?, ?)", rows)
    db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def main() -> None:
    report: dict[str, Any] = {
        "benchmark": "tracking",
        "points": POINTS,
        "mlflow_points": MLFLOW_POINTS,
        "note": (
            f"rigorlab logs {POINTS} points per workload; MLflow is timed on {MLFLOW_POINTS} points (its SQLite "
            "store takes about 10 ms a point); rates are per point. 'dict10' logs 10 values per call."
        ),
        "targets": {
            "points_per_second": TARGET_POINTS_PER_SECOND,
            "ratio_to_mlflow_sqlite": TARGET_RATIO_TO_MLFLOW_SQLITE,
            "blocking_us_per_call": TARGET_BLOCKING_US,
        },
    }
    with tempfile.TemporaryDirectory() as temporary, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's and SQLAlchemy's deprecation notices
        folder = Path(temporary)
        import mlflow

        report["mlflow_version"] = mlflow.__version__
        for case in ("single", "dict10"):
            keys = 1 if case == "single" else KEYS
            report.setdefault("rigorlab", {})[case] = rigorlab_case(folder, keys)
            sqlite_uri = f"sqlite:///{folder / 'mlflow.db'}"
            report.setdefault("mlflow_sqlite", {})[case] = mlflow_case(sqlite_uri, keys, synchronous=True)
            report.setdefault("mlflow_sqlite_async", {})[case] = mlflow_case(sqlite_uri, keys, synchronous=False)
            report.setdefault("mlflow_file", {})[case] = mlflow_case((folder / "mlruns").as_uri(), keys, True)
        report["plain_sqlite_100k_one_transaction_seconds"] = statistics.median(
            plain_sqlite(folder, attempt) for attempt in range(3)
        )
    ratios: dict[str, dict[str, float]] = {}
    for case in ("single", "dict10"):
        ours = report["rigorlab"][case]["points_per_second"]
        ratios[case] = {
            name: ours / report[name][case]["points_per_second"]
            for name in ("mlflow_sqlite", "mlflow_sqlite_async", "mlflow_file")
        }
    report["ratios_points_per_second"] = ratios
    report["rigorlab_to_plain_sqlite_time"] = {
        case: report["rigorlab"][case]["total_seconds_with_final_flush"]
        / report["plain_sqlite_100k_one_transaction_seconds"]
        for case in ("single", "dict10")
    }
    report["met"] = {
        case: {
            "points_per_second": report["rigorlab"][case]["points_per_second"] >= TARGET_POINTS_PER_SECOND,
            "ratio_to_mlflow_sqlite": ratios[case]["mlflow_sqlite"] >= TARGET_RATIO_TO_MLFLOW_SQLITE,
            "blocking_us_per_call": report["rigorlab"][case]["blocking_us_per_call"] < TARGET_BLOCKING_US,
        }
        for case in ("single", "dict10")
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
