"""The report-facing tables: edge cases (nothing stored yet, an unknown kind) and how repeated findings
are grouped (one row per severity, its worst instance)."""

from __future__ import annotations

import pandas as pd
import pytest

from rigorlab.audits import FINDING_COLUMNS, KINDS, Finding, audit_figures, audit_tables, findings_table
from rigorlab.errors import InputError
from rigorlab.store import open_store

EMPTY = pd.DataFrame(
    columns=["id", "key", "kind", "arm", "dataset", "replicate", "fold", "trial_key", "status", "result"]
)


@pytest.mark.parametrize("kind", KINDS)
def test_no_results_give_empty_tables_and_no_figures(kind):
    tables = audit_tables(EMPTY, kind)
    assert tables and all(isinstance(t, pd.DataFrame) and t.empty for t in tables.values())
    assert audit_figures(tables, kind) == {}


def test_findings_table_of_nothing_has_the_stated_columns():
    assert list(findings_table(EMPTY).columns) == list(FINDING_COLUMNS)


def test_unknown_kind():
    with pytest.raises(InputError, match="Unknown audit kind 'bias'"):
        audit_tables(EMPTY, "bias")
    with pytest.raises(InputError, match="Unknown audit kind 'bias'"):
        audit_figures({}, "bias")


def _store_findings(store, kind: str, trial: int, findings: list[Finding]) -> None:
    from rigorlab.audits._records import json_safe

    key = f"{kind}{trial}".ljust(32, "0")
    payload = {"result": {}, "findings": [f.to_dict() for f in findings], "notes": [], "warnings": [], "message": None}
    store.save_audit_result(
        "s",
        key=key,
        kind=kind,
        dataset="d",
        status="done",
        arm=findings[0].arm,
        replicate=findings[0].replicate,
        fold=findings[0].fold,
        trial_key=key if kind != "data" else None,
        result=json_safe(payload),
    )


def test_each_severity_row_counts_its_own_trials_and_shows_its_worst_instance(tmp_path):
    """The review's case: 2 severe trials (drops 0.333 and 0.5) and 3 warnings of one check give a severe
    row of 2 trials showing 0.5 (not 0.333, nor all 5 trials) and a warning row of 3 showing the largest."""
    drops = [("severe", 0.333), ("warning", 0.105), ("severe", 0.5), ("warning", 0.25), ("warning", 0.2)]
    with open_store(tmp_path / "store", create=True) as store:
        store.save_study("s")
        for trial, (severity, drop) in enumerate(drops):
            finding = Finding(
                "robustness",
                "gaussian_noise",
                severity,
                f"drop {drop}",
                "d",
                value=drop,
                arm="hgb",
                replicate=trial,
                fold=0,
            )
            _store_findings(store, "robustness", trial, [finding])
        # Ratios are worse when lower: the worst class imbalance is the smallest ratio.
        imbalance = [Finding("data", "class_imbalance", "warning", f"ratio {r}", "d", value=r) for r in (0.08, 0.02)]
        _store_findings(store, "data", 9, imbalance)
        results = store.audit_results("s")
    table = findings_table(results).set_index(["check", "severity"])
    severe, warning = table.loc[("gaussian_noise", "severe")], table.loc[("gaussian_noise", "warning")]
    assert (severe["count"], severe["value"], severe["message"], severe["replicate"]) == (2, 0.5, "drop 0.5", 2)
    assert (warning["count"], warning["value"], warning["message"]) == (3, 0.25, "drop 0.25")
    ratio = table.loc[("class_imbalance", "warning")]
    assert (ratio["count"], ratio["value"], ratio["message"]) == (2, 0.02, "ratio 0.02")
    assert list(findings_table(results)["severity"]) == ["severe", "warning", "warning"]
    assert len(findings_table(results, per_trial=True)) == 7
