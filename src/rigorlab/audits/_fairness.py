"""The fairness audit: per-group rates with bootstrap intervals, parity and equalized odds.

Metric definitions follow fairlearn (``MetricFrame``, ``demographic_parity_difference``,
``equalized_odds_difference`` and their ratios, ``between_groups``/``worst_case``), and a test
checks the point estimates against fairlearn on real data. The bootstrap is written here because
fairlearn's resamples rows one DataFrame at a time: every rate below is a function of the counts
of (group, true label, predicted label) cells, and resampling n rows with replacement gives those
counts a multinomial distribution. Drawing the counts directly is the same bootstrap in
distribution and costs O(resamples x cells) instead of O(resamples x rows) -- see
``benchmarks/bench_audits.py`` for the ratio to fairlearn's own bootstrap.

Small groups: a rate over fewer than :data:`MIN_GROUP_ROWS` rows in a trial (the ``min_group_rows``
setting; the rows of a rate are the group's rows for the selection rate, its positives for the true
positive rate, its negatives for the false positive rate) is still reported, without an interval,
but does not enter the trial's disparities: a group of two rows has a true positive rate of 0, 0.5
or 1, and the largest gap between groups would then measure noise. A group with fewer rows in all
is marked ``too_small``. The largest gap between noisy rates still overstates the true gap a little
(the maximum of noisy values is biased upwards), more so with many small groups: read
intersectional disparities with that in mind.

Findings are not judged per trial (one fold's disparity is noisy) but over the study:
:func:`rigorlab.audits.fairness_findings` averages each arm's disparity over its trials and gives it
a 95% t interval over replicates (over folds when the replicates share one split). Thresholds:
:data:`PARITY_RATIO_THRESHOLD` (0.8, the "four-fifths rule") for the demographic parity ratio and
:data:`EQUALIZED_ODDS_THRESHOLD` (0.1) for the equalized odds difference. The estimate beyond the
threshold is a warning; the whole interval beyond it is severe.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.audits import _messages as msg
from rigorlab.audits._records import Finding, TrialInputs
from rigorlab.data import Dataset

__all__ = [
    "BINARY_METRICS",
    "DISPARITIES",
    "EQUALIZED_ODDS_THRESHOLD",
    "FAIRNESS_DEFAULTS",
    "MIN_GROUP_ROWS",
    "MULTICLASS_METRICS",
    "PARITY_RATIO_THRESHOLD",
    "audit_fairness",
    "group_metrics",
    "sensitive_groups",
]

PARITY_RATIO_THRESHOLD = 0.8
"""Demographic parity ratio below which a finding is raised (the "four-fifths rule")."""
EQUALIZED_ODDS_THRESHOLD = 0.1
"""Equalized odds difference above which a finding is raised."""
MIN_GROUP_ROWS = 30
"""Default ``min_group_rows``: a group with fewer test rows in a trial gets no interval and does not
enter the trial's disparities (it is still reported, marked ``too_small``)."""

FAIRNESS_DEFAULTS: dict[str, Any] = {
    "n_boot": 1000,
    "confidence": 0.95,
    "min_group_rows": MIN_GROUP_ROWS,  # fewer test rows in a group: no interval, left out of the disparities
    "max_groups": 10,  # a numeric sensitive column with more distinct values is binned
    "bins": 4,
    "positive_label": None,  # default: the largest label (1 of 0/1, "Yes" of No/Yes)
}

BINARY_METRICS = ("selection_rate", "accuracy", "true_positive_rate", "false_positive_rate", "false_negative_rate")
MULTICLASS_METRICS = ("accuracy", "error_rate")
DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)
INTERSECTION = " & "


def sensitive_groups(
    sensitive: pd.DataFrame, *, dataset: str = "", max_groups: int = 10, bins: int = 4
) -> tuple[dict[str, NDArray[np.str_]], list[str]]:
    """Group labels per sensitive column, and per intersection of all of them.

    Numeric columns with more than ``max_groups`` distinct values are cut into ``bins`` quantile
    groups; missing values form a group of their own. Returns (labels by attribute, notes).

    Examples
    --------
    >>> frame = pd.DataFrame({"sex": ["F", "M", "F"], "citizen": ["Yes", "Yes", "No"]})
    >>> groups, notes = sensitive_groups(frame)
    >>> list(groups), groups["sex & citizen"].tolist()
    (['sex', 'citizen', 'sex & citizen'], ['F & Yes', 'M & Yes', 'F & No'])
    """
    labels: dict[str, NDArray[np.str_]] = {}
    notes: list[str] = []
    for column in sensitive.columns:
        values = sensitive[column]
        unique = int(values.nunique(dropna=True))
        is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if is_number and unique > max_groups:
            binned = pd.qcut(values, q=bins, duplicates="drop")
            notes.append(
                msg.NUMERIC_SENSITIVE_BINNED.format(column=column, unique=unique, bins=binned.cat.categories.size)
            )
            text = binned.astype("string")
        else:
            text = values.astype("string")
        labels[str(column)] = text.fillna("missing").to_numpy(dtype=str)
    if len(labels) > 1:
        combined = pd.DataFrame(labels).agg(INTERSECTION.join, axis=1)
        labels[INTERSECTION.join(labels)] = combined.to_numpy(dtype=str)
    return labels, notes


def _divide(numerator: NDArray[Any], denominator: NDArray[Any]) -> NDArray[np.float64]:
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _rates(counts: NDArray[Any], binary: bool) -> dict[str, NDArray[np.float64]]:
    """Rates from cell counts of shape (..., 4) (binary: TN, FP, FN, TP) or (..., 2) (wrong, right)."""
    counts = counts.astype(np.float64)
    rows = counts.sum(axis=-1)
    if not binary:
        return {"accuracy": _divide(counts[..., 1], rows), "error_rate": _divide(counts[..., 0], rows)}
    tn, fp, fn, tp = (counts[..., i] for i in range(4))
    return {
        "selection_rate": _divide(fp + tp, rows),
        "accuracy": _divide(tn + tp, rows),
        "true_positive_rate": _divide(tp, tp + fn),
        "false_positive_rate": _divide(fp, fp + tn),
        "false_negative_rate": _divide(fn, tp + fn),
    }


def _denominators(counts: NDArray[Any], binary: bool) -> dict[str, NDArray[np.float64]]:
    """The rows each rate is over: all of a group's rows, its positives (true positive and false
    negative rates) or its negatives (false positive rate)."""
    counts = counts.astype(np.float64)
    rows = counts.sum(axis=-1)
    if not binary:
        return {"accuracy": rows, "error_rate": rows}
    tn, fp, fn, tp = (counts[..., i] for i in range(4))
    return {
        "selection_rate": rows,
        "accuracy": rows,
        "true_positive_rate": tp + fn,
        "false_positive_rate": fp + tn,
        "false_negative_rate": tp + fn,
    }


def _nan_reduce(values: NDArray[np.float64], function: Any) -> NDArray[np.float64]:
    # A bootstrap resample can miss a small group entirely; like fairlearn, the disparity is then
    # taken over the groups present. All-NaN rows give NaN, which numpy reports with a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(function(values, axis=-1), dtype=np.float64)


def _disparities(rates: Mapping[str, NDArray[np.float64]]) -> dict[str, NDArray[np.float64]]:
    """fairlearn's between-groups differences and ratios over the last axis (groups)."""
    spreads: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    for name in ("selection_rate", "true_positive_rate", "false_positive_rate"):
        low, high = _nan_reduce(rates[name], np.nanmin), _nan_reduce(rates[name], np.nanmax)
        # A spread needs two groups: with one left (the others too small or absent) there is no gap.
        single = np.sum(~np.isnan(rates[name]), axis=-1) < 2
        low, high = np.where(single, np.nan, low), np.where(single, np.nan, high)
        spreads[name] = (high - low, _divide(low, high))
    return {
        "demographic_parity_difference": spreads["selection_rate"][0],
        "demographic_parity_ratio": spreads["selection_rate"][1],
        "equalized_odds_difference": np.fmax(spreads["true_positive_rate"][0], spreads["false_positive_rate"][0]),
        "equalized_odds_ratio": np.fmin(spreads["true_positive_rate"][1], spreads["false_positive_rate"][1]),
    }


def _quantiles(samples: NDArray[np.float64], confidence: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    alpha = 1 - confidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (an empty rate) stay NaN
        low, high = np.nanquantile(samples, [alpha / 2, 1 - alpha / 2], axis=0)
    return low, high


def _number(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def group_metrics(
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    groups: Mapping[str, NDArray[Any]],
    *,
    positive_label: Any = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    min_group_rows: int = 30,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-group rates and between-group disparities with percentile bootstrap intervals.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (n_rows,)
    groups : mapping of attribute name to labels of shape (n_rows,)
        All attributes are resampled together (one bootstrap over rows), so their intervals
        come from the same resamples.
    positive_label : optional
        For binary outcomes; default the largest label. With more than two labels only accuracy
        and error rate are computed.
    n_boot, confidence : int, float
        Bootstrap resamples (whole-sample, as fairlearn's ``MetricFrame(n_boot=...)``) and coverage.
    min_group_rows : int
        A rate over fewer rows than this gets no interval and stays out of the disparities; the rows
        of a rate are the group's rows (selection rate, accuracy), its positives (true positive and
        false negative rates) or its negatives (false positive rate). A group with fewer rows in all
        is marked ``too_small`` (with a note); with fewer than two groups left an attribute has no
        disparity, and a rate compared in one group only does not count in it.
    seed : int

    Returns
    -------
    (attributes, notes)
        One dict per attribute: ``attribute``, ``groups`` (``group``, ``rows``, ``too_small`` and
        per metric ``{value, low, high, n}``, ``n`` the rows the rate is over), ``groups_compared``
        (groups with at least ``min_group_rows`` rows) and
        ``disparities`` (binary only; values None when fewer than two groups were compared).

    Examples
    --------
    >>> y_true = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    >>> y_pred = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    >>> sex = np.array(["F", "F", "F", "F", "M", "M", "M", "M"])
    >>> attributes, _ = group_metrics(y_true, y_pred, {"sex": sex}, n_boot=200, min_group_rows=1)
    >>> attributes[0]["disparities"]["demographic_parity_difference"]["value"]
    0.0
    """
    y_true_text, y_pred_text = np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)
    labels = np.union1d(np.unique(y_true_text), np.unique(y_pred_text))
    binary = len(labels) <= 2
    positive = str(positive_label) if positive_label is not None else str(labels[-1])
    frame = pd.DataFrame(dict(groups))
    fine = frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()
    first_row = pd.Series(np.arange(len(fine))).groupby(fine).first().to_numpy()
    n_fine = int(fine.max()) + 1
    if binary:
        cells = fine * 4 + 2 * (y_true_text == positive) + (y_pred_text == positive)
        width = 4
    else:
        cells = fine * 2 + (y_true_text == y_pred_text)
        width = 2
    counts = np.bincount(cells, minlength=n_fine * width).astype(np.int64)
    rng = np.random.default_rng(seed)
    boot = rng.multinomial(len(cells), counts / counts.sum(), size=n_boot).reshape(n_boot, n_fine, width)
    observed = counts.reshape(n_fine, width)
    attributes: list[dict[str, Any]] = []
    notes: list[str] = []
    for attribute, values in groups.items():
        codes, names = pd.factorize(np.asarray(values)[first_row], sort=True)
        mapping = np.zeros((n_fine, len(names)))
        mapping[np.arange(n_fine), codes] = 1.0
        group_counts = np.einsum("gc,gh->hc", observed, mapping)
        boot_counts = np.einsum("bgc,gh->bhc", boot, mapping)
        rates, boot_rates = _rates(group_counts, binary), _rates(boot_counts, binary)
        denominators = _denominators(group_counts, binary)
        enough = {name: denominators[name] >= min_group_rows for name in rates}
        rows = group_counts.sum(axis=1).astype(int)
        entries: list[dict[str, Any]] = []
        bounds = {name: _quantiles(boot_rates[name], confidence) for name in rates}
        for index, group in enumerate(names):
            small = bool(rows[index] < min_group_rows)
            if small:
                notes.append(
                    msg.SMALL_GROUP.format(
                        group=str(group), attribute=attribute, rows=int(rows[index]), minimum=min_group_rows
                    )
                )
            entry: dict[str, Any] = {"group": str(group), "rows": int(rows[index]), "too_small": small}
            for name, value in rates.items():
                low, high = bounds[name]
                shown = bool(enough[name][index])
                entry[name] = {
                    "value": _number(value[index]),
                    "low": _number(low[index]) if shown else None,
                    "high": _number(high[index]) if shown else None,
                    "n": int(denominators[name][index]),
                }
            entries.append(entry)
        compared = rows >= min_group_rows
        record: dict[str, Any] = {
            "attribute": attribute,
            "groups": entries,
            "groups_compared": int(compared.sum()),
            "disparities": {},
        }
        if binary:
            if compared.sum() < 2:
                notes.append(
                    msg.TOO_FEW_GROUPS.format(attribute=attribute, compared=int(compared.sum()), minimum=min_group_rows)
                )
                record["disparities"] = {name: {"value": None, "low": None, "high": None} for name in DISPARITIES}
            else:
                # Rates over too few rows become NaN columns, which the NaN-aware reductions skip.
                point = _disparities({name: np.where(enough[name], value, np.nan) for name, value in rates.items()})
                samples = _disparities(
                    {name: np.where(enough[name], value, np.nan) for name, value in boot_rates.items()}
                )
                for name in DISPARITIES:
                    low, high = _quantiles(samples[name][:, None], confidence)
                    record["disparities"][name] = {
                        "value": _number(point[name]),
                        "low": _number(low[0]),
                        "high": _number(high[0]),
                    }
        attributes.append(record)
    return attributes, notes


def audit_fairness(
    dataset: Dataset, trial: TrialInputs, *, options: Mapping[str, Any] | None = None, seed: int = 0
) -> tuple[dict[str, Any] | None, list[Finding], list[str], str | None]:
    """Audit one trial's stored test predictions for fairness across the sensitive groups.

    Returns
    -------
    (result, findings, notes, skipped)
        ``skipped`` is the message saying why the audit does not apply (then ``result`` is None).
        ``findings`` is empty: disparities are judged over all of an arm's trials, not one
        (:func:`rigorlab.audits.fairness_findings`, from the stored results).

    Examples
    --------
    >>> result, findings, notes, skipped = audit_fairness(dataset, trial, seed=0)  # doctest: +SKIP
    >>> [a["attribute"] for a in result["attributes"]]  # doctest: +SKIP
    ['colour', 'sex', 'colour & sex']
    """
    settings = {**FAIRNESS_DEFAULTS, **(options or {})}
    if dataset.task != "classification":
        return None, [], [], msg.FAIRNESS_REGRESSION.format(dataset=dataset.name)
    if dataset.sensitive.shape[1] == 0:
        return None, [], [], msg.NO_SENSITIVE.format(dataset=dataset.name)
    predictions = trial.predictions
    test_index = np.asarray(predictions["test_index"], dtype=np.int64)
    sensitive = dataset.sensitive.iloc[test_index].reset_index(drop=True)
    notes: list[str] = []
    usable = []
    for column in sensitive.columns:
        present = sensitive[column].astype("string").fillna("missing").unique()
        if len(present) < 2:
            notes.append(msg.ONE_GROUP.format(column=column, dataset=dataset.name, group=str(present[0])))
        else:
            usable.append(column)
    if not usable:
        return None, [], notes, msg.NO_GROUPS_LEFT.format(dataset=dataset.name)
    groups, bin_notes = sensitive_groups(
        sensitive[usable], dataset=dataset.name, max_groups=int(settings["max_groups"]), bins=int(settings["bins"])
    )
    notes.extend(bin_notes)
    classes = np.asarray(predictions["classes"]).astype(str)
    positive = (
        settings["positive_label"]
        if settings["positive_label"] is not None
        else (classes[-1] if len(classes) else None)
    )
    if len(classes) > 2:
        notes.append(msg.MULTICLASS_PARITY.format(dataset=dataset.name, classes=len(classes)))
    attributes, group_notes = group_metrics(
        predictions["y_true"],
        predictions["y_pred"],
        groups,
        positive_label=positive,
        n_boot=int(settings["n_boot"]),
        confidence=float(settings["confidence"]),
        min_group_rows=int(settings["min_group_rows"]),
        seed=seed,
    )
    notes.extend(group_notes)
    result = {
        "positive_label": None if positive is None else str(positive),
        "rows": len(test_index),
        "n_boot": int(settings["n_boot"]),
        "confidence": float(settings["confidence"]),
        "min_group_rows": int(settings["min_group_rows"]),
        "attributes": attributes,
    }
    return result, [], notes, None
