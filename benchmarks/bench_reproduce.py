"""Reproduce-and-verify the quickstart (150 trials, 2 jobs) against what a user does without it.

Without rigorlab reproduce, a user re-runs the study into a fresh store and compares the metrics
with pandas (exact equality on a merge by trial key); predictions are usually not compared at all.
``rigorlab reproduce`` re-runs the same trials from their provenance and compares every metric,
every prediction array and the selected hyperparameters, and records the verdicts. The ratio says
what the verification costs over a plain re-run. A bundle is then written and reproduced from an
empty folder. Prints JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from rigorlab import open_store, run_study
from rigorlab.provenance import reproduce, reproduce_bundle, write_bundle

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "examples" / "quickstart.yaml"
JOBS = 2


def manual_rerun_and_compare(original: Path, scratch: Path) -> tuple[float, bool]:
    started = time.perf_counter()
    run_study(STUDY, store=scratch, jobs=JOBS)
    with open_store(original, read_only=True) as first, open_store(scratch, read_only=True) as second:
        merged = pd.merge(first.metrics("quickstart"), second.metrics("quickstart"), on=["key", "metric"])
    same = bool((merged["value_x"] == merged["value_y"]).all())
    return time.perf_counter() - started, same


def main() -> None:
    report: dict[str, object] = {"benchmark": "reproduce", "study": "examples/quickstart.yaml", "jobs": JOBS}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        store = folder / "store"
        started = time.perf_counter()
        summary = run_study(STUDY, store=store, jobs=JOBS)
        report["trials"] = summary.done
        report["original_run_seconds"] = time.perf_counter() - started

        manual_seconds, manual_same = manual_rerun_and_compare(store, folder / "manual")
        report["manual_rerun_and_pandas_compare_seconds"] = manual_seconds
        report["manual_metrics_identical"] = manual_same

        started = time.perf_counter()
        verified = reproduce("quickstart", store=store, jobs=JOBS)
        report["reproduce_seconds"] = time.perf_counter() - started
        report["reproduce_verdicts"] = verified.counts()
        report["ratio_reproduce_to_manual"] = report["reproduce_seconds"] / manual_seconds  # type: ignore[operator]

        started = time.perf_counter()
        bundle = write_bundle("quickstart", folder / "quickstart.tar.gz", store=store)
        report["bundle_write_seconds"] = time.perf_counter() - started
        report["bundle_bytes"] = bundle.size_bytes

        empty = folder / "reader"
        empty.mkdir()
        here = Path.cwd()
        os.chdir(empty)
        try:
            started = time.perf_counter()
            from_bundle = reproduce_bundle(folder / "quickstart.tar.gz", jobs=JOBS)
            report["reproduce_bundle_seconds"] = time.perf_counter() - started
            report["reproduce_bundle_verdicts"] = from_bundle.counts()
        finally:
            os.chdir(here)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
