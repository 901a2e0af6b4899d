"""Benchmark: a full ``compare_study`` against the same bootstrap intervals from scipy, one by one.

Setting: 20 arms x 10 datasets x 10 replicates x 5 folds (simulated repeated k-fold, seeded),
10,000 bootstrap resamples per interval. rigorlab computes every interval of the study in one
vectorised pass (one numpy generator); the alternative a user would write calls
``scipy.stats.bootstrap`` once per interval, because it resamples one statistic of one sample
per call. The scipy side times only those intervals (BCa for each arm's mean on each dataset),
while the rigorlab side is the whole comparison (tests, Holm, Wilson intervals of P(better),
ranking, Wilcoxon, power), so the ratio understates the speed-up of the bootstrap. The default
comparison (Nadeau-Bengio corrected t intervals, no bootstrap) is timed too.

Prints one JSON object on stdout. Usage::

    PYTHONPATH=src python benchmarks/bench_compare.py [--scipy-subset N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import scipy
from scipy import stats

from rigorlab.stats import bootstrap_mean_intervals, compare_study, simulated_study_frame

ARMS = 20
DATASETS = 10
REPLICATES = 10
FOLDS = 5
N_RESAMPLES = 10_000
TARGET_SECONDS = 2.0


def _frame():
    arms = [f"arm{index:02d}" for index in range(ARMS)]
    return simulated_study_frame(
        arms=arms,
        datasets=[f"dataset{index:02d}" for index in range(DATASETS)],
        replicates=REPLICATES,
        folds=FOLDS,
        effects={arm: 0.002 * position for position, arm in enumerate(arms)},
        seed=2026,
    )


def _run_rigorlab(frame, interval_method: str) -> float:
    start = time.perf_counter()
    compare_study(
        frame,
        metric="accuracy",
        baseline="arm00",
        splits="resampled",
        n_resamples=N_RESAMPLES,
        interval_method=interval_method,
        seed=0,
    )
    return time.perf_counter() - start


def _scipy_jobs(frame) -> list[tuple[np.ndarray, str]]:
    """The bootstrap intervals compare_study computes with interval_method="bca", as (sample, scipy
    method) pairs. (P(better) has Wilson's closed-form interval: nothing to bootstrap.)"""
    replicate_means = frame.groupby(["dataset", "arm", "replicate"])["value"].mean()
    return [(group.to_numpy(), "BCa") for _, group in replicate_means.groupby(level=[0, 1])]


def _run_scipy(jobs: list[tuple[np.ndarray, str]]) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A degenerate sample makes scipy warn; keep the benchmark's output clean.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        for sample, method in jobs:
            stats.bootstrap((sample,), np.mean, n_resamples=N_RESAMPLES, method=method, rng=rng)
    return time.perf_counter() - start


def _run_rigorlab_intervals_only(jobs: list[tuple[np.ndarray, str]]) -> float:
    """The same intervals through rigorlab's vectorised bootstrap (one call)."""
    start = time.perf_counter()
    bootstrap_mean_intervals([sample for sample, _ in jobs], method="bca", n_resamples=N_RESAMPLES, seed=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scipy-subset",
        type=int,
        default=0,
        help="time only this many scipy calls (spread over both kinds) and extrapolate",
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each side; the median counts")
    arguments = parser.parse_args()

    frame = _frame()
    # One warm-up call: imports, scipy's first special-function calls, allocator.
    compare_study(frame, metric="accuracy", baseline="arm00", splits="resampled", n_resamples=100, seed=0)
    rigorlab_runs = [_run_rigorlab(frame, "bca") for _ in range(arguments.repeats)]
    rigorlab_seconds = statistics.median(rigorlab_runs)
    rigorlab_t_seconds = statistics.median(_run_rigorlab(frame, "t") for _ in range(arguments.repeats))
    rigorlab_auto_seconds = statistics.median(_run_rigorlab(frame, "auto") for _ in range(arguments.repeats))

    jobs = _scipy_jobs(frame)
    timed = jobs
    if 0 < arguments.scipy_subset < len(jobs):
        step = len(jobs) / arguments.scipy_subset
        timed = [jobs[int(index * step)] for index in range(arguments.scipy_subset)]
    scipy_repeats = max(1, arguments.repeats // 2)
    scipy_seconds = statistics.median(_run_scipy(timed) * len(jobs) / len(timed) for _ in range(scipy_repeats))
    intervals_only = statistics.median(_run_rigorlab_intervals_only(jobs) for _ in range(arguments.repeats))

    result = {
        "benchmark": "compare",
        "arms": ARMS,
        "datasets": DATASETS,
        "replicates": REPLICATES,
        "folds": FOLDS,
        "metrics": 1,
        "n_resamples": N_RESAMPLES,
        "intervals": {"bca_per_arm_estimates": len(jobs)},
        "rigorlab_seconds": round(rigorlab_seconds, 4),
        "rigorlab_seconds_min": round(min(rigorlab_runs), 4),
        "rigorlab_seconds_with_t_estimates": round(rigorlab_t_seconds, 4),
        "rigorlab_seconds_default_nb_estimates": round(rigorlab_auto_seconds, 4),
        "scipy_one_by_one_seconds": round(scipy_seconds, 4),
        "scipy_calls_timed": len(timed),
        "scipy_calls_total": len(jobs),
        "scipy_extrapolated": len(timed) < len(jobs),
        "ratio": round(scipy_seconds / rigorlab_seconds, 2),
        "rigorlab_intervals_only_seconds": round(intervals_only, 4),
        "intervals_only_ratio": round(scipy_seconds / intervals_only, 2),
        "target_seconds": TARGET_SECONDS,
        "met": max(rigorlab_seconds, rigorlab_auto_seconds) < TARGET_SECONDS,
        "notes": (
            "rigorlab_seconds: whole compare_study with BCa per-arm intervals (median of "
            f"{arguments.repeats} runs after a warm-up); rigorlab_seconds_default_nb_estimates: the default "
            "(Nadeau-Bengio corrected t intervals); scipy_one_by_one_seconds (median of "
            f"{scipy_repeats} runs): only the same BCa intervals via scipy.stats.bootstrap, one call each; "
            "ratio = scipy / rigorlab; "
            "intervals_only_ratio compares the bootstrap alone (rigorlab.stats.bootstrap_mean_intervals on the "
            "same samples); the CPUs may be shared, so compare medians"
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
    }
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
