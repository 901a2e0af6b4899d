"""The report's distribution-shift table shows the intervals compare shows: the in-distribution
column Nadeau-Bengio corrected (its rows are drawn anew in every replicate), the shifted column a
t interval over replicates on the fixed shifted rows."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rigorlab.execution import run_study
from rigorlab.report._audits import SHIFT_INTERVALS_COMPARE, SHIFT_TITLE, audit_sections
from rigorlab.stats import compare_stored
from rigorlab.store import open_store

SHIFT_STUDY = """\
study: shift
seed: 4
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
    params: {max_depth: 3}
    preprocess: [ordinal]
protocol: {kind: group_shift, train_until: 2000, test_size: 0.25}
metrics: [accuracy]
baseline: logreg
"""


@pytest.fixture(scope="module")
def shift_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shift_report")
    study = folder / "shift.yaml"
    study.write_text(textwrap.dedent(SHIFT_STUDY))
    summary = run_study(study, store=folder / ".rigorlab", jobs=1)
    assert (summary.done, summary.failed) == (6, 0)
    return folder / ".rigorlab"


@pytest.mark.slow
def test_the_shift_table_uses_compares_intervals(shift_store: Path) -> None:
    with open_store(shift_store, read_only=True) as store:
        sections = audit_sections(store, "shift")
        inside = compare_stored(store, "shift", metric="accuracy@in_distribution").estimates
        shifted = compare_stored(store, "shift", metric="accuracy").estimates
    (section,) = [s for s in sections if s.title == SHIFT_TITLE]
    table = section.tables[0].frame
    assert SHIFT_INTERVALS_COMPARE in section.tables[0].caption
    for arm in ("logreg", "tree"):
        row = table[table["arm"] == arm].iloc[0]
        for column, estimates, metric in (
            ("in distribution", inside, "accuracy@in_distribution"),
            ("shifted", shifted, "accuracy"),
        ):
            estimate = estimates[(estimates["arm"] == arm) & (estimates["metric"] == metric)].iloc[0]
            assert f"[{estimate['low']:.3f}, {estimate['high']:.3f}]" in row[column], (arm, column, row[column])
        assert (
            inside[(inside["arm"] == arm) & (inside["metric"] == "accuracy@in_distribution")].iloc[0]["method"]
            == "t_nb"
        )
