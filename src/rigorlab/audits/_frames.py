"""Helpers shared by the audit views: rows of a frame, the done results of a kind, and summaries over
trials with their 95% t intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rigorlab.audits._records import DONE

__all__ = ["SUMMARY_COLUMNS", "done_of", "rows_of", "summarise", "where_of"]

SUMMARY_COLUMNS = ("estimate", "low", "high", "replicates", "trials", "units")
"""Columns of every ``*_summary`` table after its keys: the mean over trials, its 95% t interval, the
replicates and trials it covers, and ``units``, the number of values the interval is over (replicate
means; fold means over replicates when the replicates share one split)."""


def rows_of(frame: pd.DataFrame) -> list[Any]:
    """The rows of ``frame`` as named tuples (typed ``Any``: their columns are known at run time)."""
    return list(frame.itertuples(index=False))


def done_of(results: pd.DataFrame, kind: str) -> pd.DataFrame:
    if results.empty:
        return results
    return results[(results["kind"] == kind) & (results["status"] == DONE)]


def where_of(row: Any) -> dict[str, Any]:
    return {"arm": row.arm, "dataset": row.dataset, "replicate": row.replicate, "fold": row.fold}


def _key(values: Sequence[Any]) -> tuple[Any, ...]:
    """A dictionary key for group keys that may hold NaN (NaN != NaN)."""
    return tuple(None if isinstance(v, float) and np.isnan(v) else v for v in values)


def summarise(frame: pd.DataFrame, by: Sequence[str], value: str = "value", over: str = "replicate") -> pd.DataFrame:
    """Mean over trials with a 95% t interval, per group ``by`` (columns ``by`` + :data:`SUMMARY_COLUMNS`).

    ``over="replicate"``: each replicate's folds are averaged first and the interval is over the
    replicate means. ``over="fold"`` (replicates that share one split): each fold's replicates are
    averaged first and the interval is over the fold means.
    """
    from rigorlab.stats import mean_interval

    columns = [*by, *SUMMARY_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    present = frame.dropna(subset=[value])
    unit_means = present.groupby([*by, over], dropna=False, sort=False)[value].mean()
    counts = {
        _key(keys): (replicates, trials)
        for *keys, replicates, trials in present.groupby(list(by), dropna=False, sort=False)
        .agg(replicates=("replicate", "nunique"), trials=(value, "size"))
        .reset_index()
        .itertuples(index=False)
    }
    rows = []
    for group, values in unit_means.groupby(level=list(range(len(by))), dropna=False, sort=False):
        interval = mean_interval(values.to_numpy(dtype=float))
        keys = group if isinstance(group, tuple) else (group,)
        replicates, trials = counts[_key(keys)]
        rows.append(
            {
                **dict(zip(by, keys, strict=True)),
                "estimate": interval.estimate,
                "low": interval.low,
                "high": interval.high,
                "replicates": int(replicates),
                "trials": int(trials),
                "units": len(values),
            }
        )
    return pd.DataFrame(rows, columns=columns)
