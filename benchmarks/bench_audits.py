"""Audit speed, side by side with what a user would write otherwise. Prints JSON.

1. Duplicate and train/test leakage detection on 1,000,000 rows x 20 columns (15 numeric, 5
   categorical; 1% planted copies), with a 5-fold split (target: under 5 s). Reference: pandas
   ``DataFrame.duplicated`` for exact duplicates and, per fold, an inner ``merge`` of the test rows
   with the distinct training rows.
2. Fairness metrics (selection rate, accuracy, TPR, FPR, FNR per group) with 1,000 bootstrap
   resamples on 100,000 rows: rigorlab's multinomial bootstrap against fairlearn's
   ``MetricFrame(n_boot=1000, ci_quantiles=[0.025, 0.975])`` on the same data and groups.
   fairlearn takes about two seconds per resample here (it recomputes every metric on a resampled
   copy of the rows), so by default it runs 50 resamples and its time is scaled linearly to 1,000
   (its cost is one full pass over the rows per resample); ``BENCH_FAIRLEARN_BOOT=1000`` times the
   full run (about 40 minutes).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold

from rigorlab.audits import (
    SplitInputs,
    conflicting_label_rows,
    duplicate_rows,
    group_metrics,
    row_hashes,
    split_leakage,
)

ROWS = 1_000_000
FAIRNESS_ROWS = 100_000
N_BOOT = 1000


def table(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    numeric = {f"x{i}": rng.normal(size=rows) for i in range(15)}
    categorical = {f"c{i}": rng.choice(["alpha", "beta", "gamma", "delta"], size=rows) for i in range(5)}
    frame = pd.DataFrame(numeric | categorical)
    copies = rng.choice(rows, size=rows // 100, replace=False)
    frame.iloc[copies[: len(copies) // 2]] = frame.iloc[copies[len(copies) // 2 :]].to_numpy()
    target = (frame["x0"] + rng.normal(size=rows) > 0).astype(int).to_numpy()
    return frame, target


def duplicates_and_leakage() -> dict[str, object]:
    frame, target = table(ROWS, 0)
    folds = KFold(n_splits=5, shuffle=True, random_state=0).split(np.arange(ROWS))
    splits = [SplitInputs(0, i, np.asarray(tr), np.asarray(te), str(i)) for i, (tr, te) in enumerate(folds)]

    started = time.perf_counter()
    hashes = row_hashes(frame)
    exact = pd.Series(row_hashes(frame.assign(__target__=target))).duplicated().to_numpy()
    conflicts, _ = conflicting_label_rows(hashes, target)
    leaked = split_leakage(hashes, splits)
    rigorlab_seconds = time.perf_counter() - started

    started = time.perf_counter()
    found = duplicate_rows(frame, target)
    near_seconds = time.perf_counter() - started

    started = time.perf_counter()
    pandas_exact = frame.assign(__target__=target).duplicated().to_numpy()
    pandas_leaked = []
    for split in splits:
        train = frame.iloc[split.train].drop_duplicates()
        test = frame.iloc[split.test].reset_index().rename(columns={"index": "__row__"})
        pandas_leaked.append(np.sort(test.merge(train, on=list(frame.columns), how="inner")["__row__"].to_numpy()))
    pandas_seconds = time.perf_counter() - started

    assert np.array_equal(exact, pandas_exact)
    assert all(np.array_equal(np.sort(a), b) for a, b in zip(leaked, pandas_leaked, strict=True))
    return {
        "rows": ROWS,
        "columns": frame.shape[1],
        "folds": len(splits),
        "exact_duplicates": int(exact.sum()),
        "conflicting_rows": len(conflicts),
        "leaked_test_rows": int(sum(len(rows) for rows in leaked)),
        "rigorlab_exact_conflicts_and_leakage_seconds": rigorlab_seconds,
        "rigorlab_exact_and_near_duplicates_seconds": near_seconds,
        "near_duplicates": len(found["near"]),
        "pandas_duplicated_and_merge_seconds": pandas_seconds,
        "ratio_pandas_to_rigorlab": pandas_seconds / rigorlab_seconds,
        "target_seconds": 5.0,
        "met": rigorlab_seconds < 5.0,
    }


def fairness() -> dict[str, object]:
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    rng = np.random.default_rng(1)
    group = rng.choice(["a", "b", "c", "d"], size=FAIRNESS_ROWS, p=[0.4, 0.3, 0.2, 0.1])
    y_true = rng.integers(0, 2, size=FAIRNESS_ROWS)
    flip = rng.random(FAIRNESS_ROWS) < np.where(group == "d", 0.3, 0.15)
    y_pred = np.where(flip, 1 - y_true, y_true)

    started = time.perf_counter()
    attributes, _ = group_metrics(y_true, y_pred, {"group": group}, positive_label=1, n_boot=N_BOOT, seed=0)
    rigorlab_seconds = time.perf_counter() - started

    fairlearn_boot = int(os.environ.get("BENCH_FAIRLEARN_BOOT", 50))
    metrics = {
        "selection_rate": selection_rate,
        "accuracy": accuracy_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
    }
    started = time.perf_counter()
    frame = MetricFrame(
        metrics=metrics,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=group,
        n_boot=fairlearn_boot,
        ci_quantiles=[0.025, 0.975],
        random_state=0,
    )
    fairlearn_seconds = (time.perf_counter() - started) * N_BOOT / fairlearn_boot
    low, high = frame.by_group_ci
    ours = {g["group"]: g for g in attributes[0]["groups"]}
    largest_gap = max(
        abs(ours[str(name)][metric][bound] - value)
        for bound, limits in (("low", low), ("high", high))
        for name, row in limits.iterrows()
        for metric, value in row.items()
    )
    return {
        "rows": FAIRNESS_ROWS,
        "groups": 4,
        "metrics": len(metrics),
        "n_boot": N_BOOT,
        "rigorlab_seconds": rigorlab_seconds,
        "fairlearn_metricframe_seconds": fairlearn_seconds,
        "fairlearn_resamples_timed": fairlearn_boot,
        "ratio_fairlearn_to_rigorlab": fairlearn_seconds / rigorlab_seconds,
        # Both are bootstraps with different random draws: bounds agree up to Monte Carlo error,
        # which is larger when fairlearn ran fewer resamples.
        "largest_interval_bound_difference": largest_gap,
    }


def main() -> None:
    report = {"benchmark": "audits", "duplicates_and_leakage": duplicates_and_leakage(), "fairness": fairness()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
