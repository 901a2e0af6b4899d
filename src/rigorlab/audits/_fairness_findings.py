"""Fairness findings judged over a study's trials, not one fold at a time.

One fold's disparity is noisy: with a few hundred test rows the largest gap between groups is
often above 0.1 by chance, and an intersectional group of two rows swings it alone. So the
per-trial audit stores disparities only, computed over the groups with at least ``min_group_rows``
test rows, and findings come from their mean over an arm's trials with a 95% t interval: over
replicates (fold means first), or over folds when the replicates share one split (``kfold``,
``stratified_kfold``: the replicates then differ in seeds only, which says nothing about the data).

Severity (thresholds in ``_fairness``): the estimate beyond the threshold is a warning, the whole
interval beyond it is severe. Each finding says how many trials it summarises and how large the
compared groups were, and which groups were left out as too small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from rigorlab.audits import _messages as msg
from rigorlab.audits._fairness import EQUALIZED_ODDS_THRESHOLD, INTERSECTION, PARITY_RATIO_THRESHOLD
from rigorlab.audits._records import SEVERE, WARNING, Finding

__all__ = ["LEFT_OUT_SHOWN", "fairness_findings", "interval_units"]

LEFT_OUT_SHOWN = 4
"""Too-small groups named in a finding; the rest are counted."""

SHARED_DESIGNS = ("shared", "unknown")
"""Split designs under which the interval is over folds: replicates that share the splits repeat the
same test rows, so their spread is seed noise only."""


def interval_units(splits: str) -> str:
    """The unit a summary's interval is over for a split design: ``"replicate"`` or ``"fold"``.

    Examples
    --------
    >>> interval_units("resampled"), interval_units("shared")
    ('replicate', 'fold')
    """
    return "fold" if splits in SHARED_DESIGNS else "replicate"


def _interval_text(row: Any, unit: str) -> str:
    if math.isfinite(row.low) and math.isfinite(row.high):
        units = f"{int(row.units)} {unit}s" + (" (the replicates share one split)" if unit == "fold" else "")
        return msg.INTERVAL_OVER.format(low=row.low, high=row.high, trials=int(row.trials), units=units)
    return msg.NO_INTERVAL.format(trials=int(row.trials), unit=unit)


def _group_sizes(groups: pd.DataFrame) -> pd.DataFrame:
    """Per arm, dataset, attribute and group: median test rows per trial and whether it was left out."""
    columns = ["arm", "dataset", "attribute", "group", "rows", "left_out"]
    if groups.empty:
        return pd.DataFrame(columns=columns)
    per_trial = groups.drop_duplicates(["arm", "dataset", "replicate", "fold", "attribute", "group"])
    sizes = per_trial.groupby(["arm", "dataset", "attribute", "group"], sort=False).agg(
        rows=("rows", "median"), small=("too_small", "mean")
    )
    # A group too small in most trials is named as left out; one that crossed the limit now and then is
    # counted as compared (it entered the disparities of most trials).
    sizes["left_out"] = sizes.pop("small") > 0.5
    return sizes.reset_index()[columns]


def _sizes_text(sizes: pd.DataFrame, minimum: int | None) -> str:
    compared = sizes[~sizes["left_out"]].sort_values("rows", kind="stable")
    left_out = sizes[sizes["left_out"]].sort_values("rows", kind="stable")
    text = ""
    if not compared.empty:
        smallest = compared.iloc[0]
        text = msg.GROUP_SIZES.format(
            compared=len(compared), smallest=str(smallest["group"]), rows=f"{smallest['rows']:g}"
        )
    if not left_out.empty:
        named = [
            msg.GROUP_LEFT_OUT.format(group=str(r.group), rows=f"{r.rows:g}")
            for r in left_out.head(LEFT_OUT_SHOWN).itertuples()
        ]
        if len(left_out) > LEFT_OUT_SHOWN:
            named.append(f"and {len(left_out) - LEFT_OUT_SHOWN} more")
        text += msg.GROUPS_LEFT_OUT.format(minimum=minimum if minimum is not None else "?", groups=", ".join(named))
    return text.strip()


def _of(frame: pd.DataFrame, row: Any) -> pd.DataFrame:
    """The rows of ``frame`` about the arm, dataset and attribute of ``row``."""
    chosen = (frame["arm"] == row.arm) & (frame["dataset"] == row.dataset) & (frame["attribute"] == row.attribute)
    return pd.DataFrame(frame[chosen])


def _selection_range(groups: pd.DataFrame, compared: set[str]) -> tuple[float, float]:
    rates = groups[(groups["metric"] == "selection_rate") & groups["group"].isin(compared)]
    means = rates.groupby("group")["value"].mean().dropna()
    return (float(means.min()), float(means.max())) if len(means) else (math.nan, math.nan)


def fairness_findings(
    tables: Mapping[str, pd.DataFrame], *, splits: str = "resampled", min_group_rows: int | None = None
) -> list[Finding]:
    """Disparity findings of every arm and dataset, judged on the mean over its trials with its interval.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        :func:`rigorlab.audits.fairness_tables` of the stored results (``groups`` and
        ``disparity_summary``), computed with the same ``splits``.
    splits : str
        The study's split design (``rigorlab.stats.stored_splits``): under ``shared`` the interval is
        over folds, otherwise over replicates.
    min_group_rows : int, optional
        The limit the trials were audited with, named in the findings (default: read from the stored
        results when ``tables`` carries it, else not named).

    Returns
    -------
    list of Finding
        One per arm, dataset, attribute and check (``equalized_odds``, ``demographic_parity``) beyond
        its threshold; ``value`` is the mean, ``count`` the number of trials.

    Examples
    --------
    >>> tables = fairness_tables(current_audit_results(store, "arrests"))  # doctest: +SKIP
    >>> [f.severity for f in fairness_findings(tables)]  # doctest: +SKIP
    ['warning']
    """
    summary, groups = tables["disparity_summary"], tables["groups"]
    if summary.empty:
        return []
    unit = interval_units(splits)
    sizes = _group_sizes(groups)
    minimum = min_group_rows
    if minimum is None and "min_group_rows" in groups and groups["min_group_rows"].notna().any():
        minimum = int(groups["min_group_rows"].dropna().iloc[0])
    findings: list[Finding] = []
    checked = summary[summary["metric"].isin(["equalized_odds_difference", "demographic_parity_ratio"])]
    rows: list[Any] = list(checked.itertuples(index=False))
    for row in rows:
        estimate, low, high = float(row.estimate), float(row.low), float(row.high)
        if row.metric == "equalized_odds_difference":
            beyond, whole = estimate > EQUALIZED_ODDS_THRESHOLD, low > EQUALIZED_ODDS_THRESHOLD
            check, threshold = "equalized_odds", EQUALIZED_ODDS_THRESHOLD
        else:
            beyond, whole = estimate < PARITY_RATIO_THRESHOLD, high < PARITY_RATIO_THRESHOLD
            check, threshold = "demographic_parity", PARITY_RATIO_THRESHOLD
        if not beyond:
            continue
        mine = _of(sizes, row)
        common = {
            "attribute": row.attribute,
            "estimate": estimate,
            "interval": _interval_text(row, unit),
            "threshold": threshold,
            "judgement": msg.WHOLE_INTERVAL_BEYOND if whole else msg.ESTIMATE_ONLY_BEYOND,
            "sizes": _sizes_text(mine, minimum),
        }
        if check == "equalized_odds":
            text = msg.FINDING_EQUALIZED_ODDS.format(**common)
        else:
            low_rate, high_rate = _selection_range(_of(groups, row), set(mine[~mine["left_out"]]["group"]))
            text = msg.FINDING_PARITY.format(low_rate=low_rate, high_rate=high_rate, **common)
        findings.append(
            Finding(
                "fairness",
                check,
                SEVERE if whole else WARNING,
                text.strip(),
                dataset=str(row.dataset),
                columns=tuple(str(row.attribute).split(INTERSECTION)),
                count=int(row.trials),
                value=estimate,
                arm=str(row.arm),
            )
        )
    return findings
