"""Writing and then reading back 10,000 trials with 10 metrics each (target: under 2 s each).

Writes go through the same ``save_trial`` the driver uses (one transaction per trial, as a study
stores results while it runs) and through ``save_trials`` (one transaction for all, as imports
do). Reads are the long metrics table and the wide trials table that statistics and reports use.
The side-by-side reference is a plain sqlite3 executemany of the same rows. Prints JSON.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

from rigorlab.store import TrialResult, open_store

TRIALS = 10_000
METRICS = [f"metric_{i}" for i in range(10)]


def results() -> list[TrialResult]:
    return [
        TrialResult(
            key=f"{i:032x}",
            arm=f"arm{i % 20}",
            dataset=f"data{(i // 20) % 10}",
            replicate=(i // 200) % 10,
            fold=i // 2000,
            status="done",
            config={"estimator": "x", "params": {"C": 1.0}},
            seeds={"split": 1, "init": 2, "data_order": 3, "inner_split": 4},
            n_train=400,
            n_test=100,
            metrics={name: (i * 7 + j) % 1000 / 1000 for j, name in enumerate(METRICS)},
            fit_seconds=0.01,
            predict_seconds=0.001,
        )
        for i in range(TRIALS)
    ]


def plain_sqlite(folder: Path, rows: list[TrialResult]) -> float:
    db = sqlite3.connect(folder / "plain.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(
        "CREATE TABLE trials (id INTEGER PRIMARY KEY, key TEXT, arm TEXT, dataset TEXT, replicate INT, fold INT)"
    )
    db.execute("CREATE TABLE metrics (trial_id INT, name TEXT, value REAL)")
    started = time.perf_counter()
    db.execute("BEGIN")
    for index, row in enumerate(rows):
        db.execute(
            "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)",
            (index, row.key, row.arm, row.dataset, row.replicate, row.fold),
        )
        db.executemany("INSERT INTO metrics VALUES (?, ?, ?)", [(index, k, v) for k, v in row.metrics.items()])
    db.execute("COMMIT")
    return time.perf_counter() - started


def main() -> None:
    rows = results()
    report: dict[str, object] = {
        "benchmark": "store",
        "trials": TRIALS,
        "metrics_per_trial": len(METRICS),
        "target_seconds": 2.0,
    }
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        with open_store(folder / "one_by_one", create=True) as store:
            store.save_study("bench")
            started = time.perf_counter()
            for row in rows:
                store.save_trial("bench", row)
            report["write_one_transaction_per_trial_seconds"] = time.perf_counter() - started
        with open_store(folder / "bulk", create=True) as store:
            store.save_study("bench")
            started = time.perf_counter()
            store.save_trials("bench", rows)
            report["write_bulk_seconds"] = time.perf_counter() - started
            started = time.perf_counter()
            metrics = store.metrics("bench", all_trials=True)
            report["read_metrics_long_seconds"] = time.perf_counter() - started
            assert len(metrics) == TRIALS * len(METRICS)
            started = time.perf_counter()
            trials = store.trials("bench", all_trials=True)
            report["read_trials_wide_seconds"] = time.perf_counter() - started
            assert len(trials) == TRIALS
        plain = plain_sqlite(folder, rows)
        report["plain_sqlite_bulk_write_seconds"] = plain
        report["bulk_write_ratio_to_plain_sqlite"] = report["write_bulk_seconds"] / plain  # type: ignore[operator]
    report["met"] = all(
        report[k] < 2.0  # type: ignore[operator]
        for k in ("write_one_transaction_per_trial_seconds", "read_metrics_long_seconds", "read_trials_wide_seconds")
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
