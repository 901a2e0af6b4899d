"""Which metrics a report covers by default, and which of them get figures.

A researcher expects a results table for every metric the study measured (tables are cheap); the
figures (scores per replicate, differences from the baseline, critical-difference diagram) are
drawn for the primary metric and for the metrics asked for by name, so a study with ten metrics
does not produce thirty figures nobody asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from rigorlab.store import RunStore

from ._records import ReportData

__all__ = ["default_metrics", "keep_figures"]

# Metrics whose name holds this character are companions of another metric (a group-shift study
# stores each score on its in-distribution rows as "<metric>@in_distribution"); the report's
# distribution-shift section shows them, not a results table of their own.
COMPANION_MARK = "@"


def default_metrics(store: RunStore, study: str) -> list[str]:
    """Every metric of a study that has a finite stored value, in the study file's order.

    Study-file studies list their ``metrics:`` in order; tracked and imported studies every stored
    summary metric, alphabetically. Metrics without one finite value (undefined on every trial)
    and companion scores (``accuracy@in_distribution``) are left out.

    Parameters
    ----------
    store : RunStore
    study : str

    Returns
    -------
    list of str

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> default_metrics(open_store(read_only=True), "quickstart")  # doctest: +SKIP
    ['accuracy', 'roc_auc', 'f1_macro']
    """
    frame = store.metrics(study)
    if frame.empty:
        return []  # build_report says why there is nothing to report
    finite = frame.loc[np.isfinite(frame["value"].to_numpy(dtype=np.float64)), "metric"]
    stored = {str(name) for name in finite if COMPANION_MARK not in str(name)}
    spec = store.study_info(study).get("spec") or {}
    declared = [str(name) for name in spec.get("metrics", [])]
    ordered = [name for name in declared if name in stored]
    return ordered + sorted(stored - set(ordered))


def keep_figures(data: ReportData, metrics: Sequence[str]) -> ReportData:
    """``data`` with the per-metric figures of ``metrics`` only (learning curves all kept).

    The primary metric always keeps its figures.

    Examples
    --------
    >>> data = keep_figures(data, ["roc_auc"])  # doctest: +SKIP
    """
    wanted = {data.primary_metric, *metrics}
    figures = tuple(spec for spec in data.figures if spec.kind == "curves" or spec.subject in wanted)
    return dataclasses.replace(data, figures=figures)
