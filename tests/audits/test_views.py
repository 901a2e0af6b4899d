"""The report-facing tables on edge cases: nothing stored yet, an unknown kind."""

from __future__ import annotations

import pandas as pd
import pytest

from rigorlab.audits import FINDING_COLUMNS, KINDS, audit_figures, audit_tables, findings_table
from rigorlab.errors import InputError

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
