"""Benchmark: ``rigorlab report`` for 20 arms x 10 datasets x 10 replicates (target: under 10 s).

The study is written with the store's own writing API (``save_study``, ``save_datasets``,
``save_plan``, ``start_run``, ``save_trials``): 20 arms x 10 datasets x 10 replicates x 5 folds =
10,000 trials with two metrics, and learning curves (train_loss, val_loss over 20 epochs) for
every trial, as the torch trainer stores them. Scores are simulated with arm effects and a shared
split effect (seeded), so the statistics have real work to do.

Timed: the whole report (read the store, statistics for the primary metric, tables, methods,
checklist, caveats) plus writing every format with every figure (PNG, PDF, SVG): what
``rigorlab report STUDY`` does. Side by side: what a researcher writes by hand for less (a
pandas groupby with Student-t intervals, ``DataFrame.style.to_latex`` and ``to_html``, and one
pyplot strip-and-interval figure per dataset saved as PNG and PDF), without tests, marks,
methods or checklist. Prints one JSON object.

Usage::

    python benchmarks/bench_report.py [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ARMS = 20
DATASETS = 10
REPLICATES = 10
FOLDS = 5
EPOCHS = 20
TARGET_SECONDS = 10.0
STUDY = "bench-report"


def study_text() -> str:
    lines = [
        f"study: {STUDY}",
        "question: Which of 20 models is best on 10 tabular datasets?",
        "seed: 2026",
        f"replicates: {REPLICATES}",
        "datasets:",
    ]
    lines += [
        f"  - {{name: data{d:02d}, callable: 'bench_data:load', kwargs: {{index: {d}}}, target: y}}"
        for d in range(DATASETS)
    ]
    lines.append("models:")
    estimator = "sklearn.linear_model.LogisticRegression"
    lines += [
        f"  - {{name: arm{a:02d}, estimator: {estimator}, params: {{C: {0.1 * (a + 1):.1f}}}}}" for a in range(ARMS)
    ]
    lines += [
        f"protocol: {{kind: repeated_kfold, folds: {FOLDS}}}",
        "metrics: [accuracy, roc_auc]",
        "primary_metric: accuracy",
        "baseline: arm00",
    ]
    return "\n".join(lines) + "\n"


def build_store(root: Path) -> None:
    """Write the synthetic study into a new store at ``root``."""
    import yaml

    from rigorlab.provenance import capture_environment, environment_hash
    from rigorlab.spec import StudySpec, derive_seeds, expand_arms
    from rigorlab.store import TrialResult, open_store

    text = study_text()
    spec = StudySpec.model_validate(yaml.safe_load(text))
    arms = [arm.name for arm in expand_arms(spec)]
    environment = capture_environment()
    env_hash = environment_hash(environment)
    rng = np.random.default_rng(2026)
    results = []
    plan = []
    for d in range(DATASETS):
        level = 0.75 + 0.02 * d
        for r in range(REPLICATES):
            seeds = derive_seeds(spec.seed, r).to_dict()
            for f in range(FOLDS):
                split_effect = rng.normal(0, 0.01)
                for a, arm in enumerate(arms):
                    key = f"{d:02x}{r:02x}{f:02x}{a:02x}".ljust(32, "0")
                    accuracy = float(np.clip(level + 0.002 * a + split_effect + rng.normal(0, 0.01), 0, 1))
                    loss = 1.0 / (1 + np.arange(EPOCHS)) + 0.3 - 0.002 * a + rng.normal(0, 0.005, EPOCHS)
                    curves = [("train_loss", e, float(loss[e])) for e in range(EPOCHS)]
                    curves += [("val_loss", e, float(loss[e] + 0.05)) for e in range(EPOCHS)]
                    plan.append((key, arm, f"data{d:02d}", r, f))
                    results.append(
                        TrialResult(
                            key=key,
                            arm=arm,
                            dataset=f"data{d:02d}",
                            replicate=r,
                            fold=f,
                            status="done",
                            config={"estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": 0.1}},
                            seeds=seeds,
                            dataset_fingerprint=f"{d:064x}",
                            split_fingerprint=f"{r * FOLDS + f:064x}",
                            n_train=800,
                            n_test=200,
                            metrics={"accuracy": accuracy, "roc_auc": min(1.0, accuracy + 0.1)},
                            fit_seconds=0.05,
                            predict_seconds=0.005,
                            environment_hash=env_hash,
                            started_at="2026-01-01T00:00:00.000+00:00",
                            finished_at="2026-01-01T00:00:00.100+00:00",
                            curves=curves,
                        )
                    )
    with open_store(root, create=True) as store:
        store.save_study(
            STUDY,
            question=spec.question,
            spec=spec.model_dump(mode="json", by_alias=True),
            spec_text=text,
            primary_metric="accuracy",
            baseline="arm00",
        )
        store.save_datasets(
            STUDY,
            [
                {
                    "name": f"data{d:02d}",
                    "rows": 1000,
                    "columns": 12,
                    "numeric_columns": 12,
                    "categorical_columns": 0,
                    "task": "classification",
                    "target": "y",
                    "fingerprint": f"{d:064x}",
                    "sensitive": [],
                    "group": None,
                    "missing_values": 0,
                    "class_balance": {"0": 500, "1": 500},
                    "source": {"kind": "callable", "callable": "bench_data:load", "kwargs": {"index": d}},
                }
                for d in range(DATASETS)
            ],
        )
        store.save_plan(STUDY, plan)
        store.save_environment(env_hash, environment)
        run_id = store.start_run(STUDY, command=["rigorlab", "run", "study.yaml"], git=None, environment_hash=env_hash)
        store.save_trials(STUDY, results, run_id=run_id)
        store.finish_run(run_id, "finished")


def rigorlab_report(store_path: Path, out: Path) -> float:
    from rigorlab.report import build_report, write_report
    from rigorlab.store import open_store

    started = time.perf_counter()
    with open_store(store_path, read_only=True) as store:
        data = build_report(store, STUDY)
    write_report(data, out)
    return time.perf_counter() - started


def by_hand(store_path: Path, out: Path) -> float:
    """The table and figures a researcher writes by hand with pandas, scipy and pyplot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    from rigorlab.store import open_store

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with open_store(store_path, read_only=True) as store:
        metrics = store.metrics(STUDY)
    accuracy = metrics[metrics["metric"] == "accuracy"]
    replicate = accuracy.groupby(["dataset", "arm", "replicate"])["value"].mean().reset_index()
    summary = replicate.groupby(["arm", "dataset"])["value"].agg(["mean", "std", "count"])
    half = stats.t.ppf(0.975, summary["count"] - 1) * summary["std"] / np.sqrt(summary["count"])
    cells = summary["mean"].map("{:.3f}".format) + " ± " + half.map("{:.3f}".format)
    table = cells.unstack("dataset")
    (out / "table.tex").write_text(table.style.to_latex(hrules=True))
    (out / "table.html").write_text(table.to_html())
    for dataset, rows in replicate.groupby("dataset"):
        figure, axes = plt.subplots(figsize=(6, 5))
        for position, (arm, points) in enumerate(rows.groupby("arm")):
            axes.scatter(points["value"], np.full(len(points), position), s=8, alpha=0.5)
            mean, error = summary.loc[(arm, dataset), "mean"], half.loc[(arm, dataset)]
            axes.errorbar(mean, position, xerr=error, fmt="D", color="black")
        axes.set_title(str(dataset))
        figure.savefig(out / f"{dataset}.png", dpi=150)
        figure.savefig(out / f"{dataset}.pdf")
        plt.close(figure)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        build_store(folder / "store")
        build_seconds = time.perf_counter() - started
        rigorlab_runs = [rigorlab_report(folder / "store", folder / f"report{i}") for i in range(arguments.repeats)]
        hand_runs = [by_hand(folder / "store", folder / f"hand{i}") for i in range(arguments.repeats)]
        report = folder / "report0"
        sizes = {
            "report_html_bytes": (report / "report.html").stat().st_size,
            "figures": len(list((report / "figures").glob("*.png"))),
        }
    rigorlab_seconds = statistics.median(rigorlab_runs)
    hand_seconds = statistics.median(hand_runs)
    result = {
        "benchmark": "report",
        "arms": ARMS,
        "datasets": DATASETS,
        "replicates": REPLICATES,
        "folds": FOLDS,
        "trials": ARMS * DATASETS * REPLICATES * FOLDS,
        "curve_points": ARMS * DATASETS * REPLICATES * FOLDS * EPOCHS * 2,
        "store_build_seconds": round(build_seconds, 3),
        "rigorlab_report_seconds": round(rigorlab_seconds, 3),
        "rigorlab_report_seconds_all": [round(s, 3) for s in rigorlab_runs],
        "by_hand_seconds": round(hand_seconds, 3),
        "ratio_rigorlab_to_by_hand": round(rigorlab_seconds / hand_seconds, 2),
        **sizes,
        "target_seconds": TARGET_SECONDS,
        "met": rigorlab_seconds < TARGET_SECONDS,
        "notes": (
            "rigorlab_report_seconds: build_report + write_report in all formats with every figure as PNG, PDF and "
            "SVG (median of the repeats); by_hand_seconds: pandas/scipy table to LaTeX and HTML plus one pyplot "
            "figure per dataset as PNG and PDF, with no tests, marks, methods, checklist or caveats. The CPUs may "
            "be shared: compare medians."
        ),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
