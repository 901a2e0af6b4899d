"""Executor overhead per trial, against the same fit called in a plain Python loop.

The model fits nothing, so what is measured is rigorlab's own cost per trial: sending the task to
a worker, seeding, building the pipeline, predicting, scoring, returning the result and writing
it (row, metrics, predictions, split) to the SQLite store. Prints JSON.

    python benchmarks/bench_executor.py [--trials 400]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

NOOP_MODULE = """
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class NoOp(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])
"""

STUDY = """
study: overhead
seed: 1
replicates: {replicates}
datasets: [{{name: iris}}]
models: [{{name: noop, estimator: noop_module.NoOp}}]
protocol: {{kind: repeated_kfold, folds: 5}}
metrics: [accuracy]
"""


def plain_loop(trials: int, folder: Path) -> float:
    """The same fit and predict, called directly: the floor any runner adds to."""
    sys.path.insert(0, str(folder))
    from noop_module import NoOp  # type: ignore[import-not-found]

    features, target = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for _ in range(trials):
        test = rng.choice(len(target), size=30, replace=False)
        model = NoOp().fit(features, target)
        predicted = model.predict(features[test])
        float(np.mean(predicted == target[test]))
    return (time.perf_counter() - started) / trials


def rigorlab_run(trials: int, jobs: int, folder: Path) -> dict[str, float]:
    from rigorlab import run_study

    study = folder / f"study_{jobs}.yaml"
    study.write_text(STUDY.format(replicates=trials // 5))
    first_result: list[float] = []

    def on_result(result: object, summary: object) -> None:
        if not first_result:
            first_result.append(time.perf_counter())

    started = time.perf_counter()
    summary = run_study(study, store=folder / f"store_{jobs}", jobs=jobs, on_result=on_result)
    total = time.perf_counter() - started
    assert summary.done == trials, summary
    steady = (time.perf_counter() - first_result[0]) / max(1, trials - 1)
    return {"seconds_per_trial_total": total / trials, "seconds_per_trial_steady": steady, "total_seconds": total}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "noop_module.py").write_text(NOOP_MODULE)
        baseline = plain_loop(args.trials, folder)
        report: dict[str, object] = {
            "benchmark": "executor_overhead",
            "trials": args.trials,
            "machine": {"cpu_cores": __import__("os").cpu_count(), "python": platform.python_version()},
            "plain_loop_seconds_per_trial": baseline,
            "target_ms_per_trial": 20.0,
        }
        for jobs in (1, 2):
            measured = rigorlab_run(args.trials, jobs, folder)
            overhead_ms = (measured["seconds_per_trial_steady"] - baseline) * 1000
            report[f"jobs_{jobs}"] = {
                **measured,
                "overhead_ms_per_trial": overhead_ms,
                "ratio_to_plain_loop": measured["seconds_per_trial_steady"] / baseline,
                "met": overhead_ms < 20.0,
            }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
