"""A group-shift study's in-distribution metrics (``<metric>@in_distribution``) are scored on rows
drawn anew in every replicate: compare treats them as resampled (Nadeau-Bengio corrected, with
n_test the in-distribution rows each trial recorded), its shifted metrics as one fixed split."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from rigorlab.execution import IN_DISTRIBUTION, run_study
from rigorlab.spec import load_study
from rigorlab.stats import IN_DISTRIBUTION_SUFFIX, compare_stored, stored_estimates, stored_splits
from rigorlab.stats._from_store import REASON_IN_DISTRIBUTION
from rigorlab.store import open_store

SHIFT_STUDY = """\
study: shift
seed: 9
replicates: 3
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    group: year
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000}
    preprocess: [one_hot, standard_scale]
  - name: tree
    estimator: sklearn.tree.DecisionTreeClassifier
    params: {max_depth: 4}
    preprocess: [ordinal]
protocol: {kind: group_shift, train_until: 2000, test_size: 0.25}
metrics: [accuracy]
baseline: logreg
"""


@pytest.fixture(scope="module")
def shift_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("shift")
    study = folder / "shift.yaml"
    study.write_text(textwrap.dedent(SHIFT_STUDY))
    summary = run_study(study, store=folder / ".rigorlab", jobs=1)
    assert (summary.done, summary.failed) == (6, 0)
    return study, folder / ".rigorlab"


def test_the_suffix_is_the_one_trials_store() -> None:
    assert IN_DISTRIBUTION_SUFFIX == IN_DISTRIBUTION


def test_stored_splits_per_metric_of_a_group_shift_study(shift_store) -> None:
    spec = load_study(shift_store[0]).spec
    empty = pd.DataFrame({"fold": []})
    assert stored_splits(spec, empty)[0] == "fixed"  # the study's own design: its shifted rows
    assert stored_splits(spec, empty, "accuracy")[0] == "fixed"
    assert stored_splits(spec, empty, "accuracy@in_distribution") == ("resampled", REASON_IN_DISTRIBUTION)


@pytest.mark.slow
def test_compare_uses_the_corrected_interval_with_the_in_distribution_sizes(shift_store) -> None:
    with open_store(shift_store[1], read_only=True) as store:
        comparison = compare_stored(store, "shift", metric="accuracy@in_distribution")
        shifted = compare_stored(store, "shift", metric="accuracy")
        estimates = stored_estimates(store, "shift")
        frame = store.metrics("shift")
        inside_rows = {key: int(store.trial_tags("shift", key)["in_distribution_rows"]) for key in set(frame["key"])}
    assert comparison.splits == "resampled" and comparison.splits_reason == REASON_IN_DISTRIBUTION
    assert comparison.comparisons["test"].iloc[0] != shifted.comparisons["test"].iloc[0]
    # Nadeau-Bengio by hand: one fold per replicate, J = 3 scores, ratio = in-distribution rows / training rows.
    rows = frame[(frame["arm"] == "logreg") & (frame["metric"] == "accuracy@in_distribution")]
    values = rows["value"].to_numpy(float)
    ratio = np.mean([inside_rows[key] / n_train for key, n_train in zip(rows["key"], rows["n_train"], strict=True)])
    assert ratio != pytest.approx(float(np.mean(rows["n_test"] / rows["n_train"])))  # not the shifted rows' ratio
    half = scipy_stats.t.ppf(0.975, 2) * values.std(ddof=1) * np.sqrt(1 / 3 + ratio)
    expected = (values.mean() - half, values.mean() + half)
    for table in (comparison.estimates, shifted.estimates, estimates):
        row = table[(table["arm"] == "logreg") & (table["metric"] == "accuracy@in_distribution")].iloc[0]
        assert row["method"] == "t_nb"
        assert (row["low"], row["high"]) == pytest.approx(expected)
    # The shifted metric stays a fixed split: the plain t interval over replicates, in both comparisons.
    shifted_rows = frame[(frame["arm"] == "tree") & (frame["metric"] == "accuracy")]["value"].to_numpy(float)
    plain = scipy_stats.t.ppf(0.975, 2) * shifted_rows.std(ddof=1) / np.sqrt(3)
    for table in (comparison.estimates, shifted.estimates, estimates):
        row = table[(table["arm"] == "tree") & (table["metric"] == "accuracy")].iloc[0]
        assert row["method"] == "t"
        assert row["low"] == pytest.approx(max(shifted_rows.mean() - plain, 0.0))
    assert "Nadeau-Bengio" in comparison.legend
