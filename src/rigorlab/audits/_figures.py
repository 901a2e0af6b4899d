"""Figures of the audit tables: group metric bars with intervals, score-vs-strength and
accuracy-vs-epsilon curves, importance bars.

Figures are built with ``matplotlib.figure.Figure`` directly (not pyplot), so they hold no global
state, need no display and are safe in worker processes; save them with ``figure.savefig``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rigorlab.errors import InputError

__all__ = ["audit_figures", "explain_figure", "fairness_figure", "robustness_figures"]


def _grid(count: int, width: float = 5.0, height: float = 3.2) -> tuple[Figure, list[Any]]:
    columns = min(count, 3)
    rows = int(np.ceil(count / columns))
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    for extra in axes[count:]:
        extra.set_visible(False)
    return figure, axes[:count]


def _errors(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    low = (frame["estimate"] - frame["low"]).clip(lower=0).fillna(0).to_numpy()
    high = (frame["high"] - frame["estimate"]).clip(lower=0).fillna(0).to_numpy()
    return np.vstack([low, high])


def fairness_figure(tables: dict[str, pd.DataFrame], metric: str = "selection_rate") -> Figure | None:
    """Bars of ``metric`` per group (one panel per dataset and sensitive attribute, one bar colour
    per arm) with 95% intervals over replicates; None when there is nothing to draw."""
    summary = tables["group_summary"]
    summary = summary[summary["metric"] == metric] if not summary.empty else summary
    if summary.empty:
        return None
    panels = list(summary.groupby(["dataset", "attribute"], sort=True))
    figure, axes = _grid(len(panels))
    for axis, ((dataset, attribute), panel) in zip(axes, panels, strict=True):
        arms = sorted(panel["arm"].unique())
        groups = list(dict.fromkeys(panel["group"]))
        width = 0.8 / len(arms)
        for index, arm in enumerate(arms):
            rows = panel[panel["arm"] == arm].set_index("group").reindex(groups)
            positions = np.arange(len(groups)) + index * width - 0.4 + width / 2
            axis.bar(positions, rows["estimate"], width=width, yerr=_errors(rows.reset_index()), capsize=3, label=arm)
        axis.set_xticks(np.arange(len(groups)), groups, rotation=30, ha="right", fontsize=8)
        axis.set_title(f"{dataset}: {attribute}", fontsize=9)
        axis.set_ylabel(metric.replace("_", " "))
        axis.legend(fontsize=7)
    return figure


def robustness_figures(tables: dict[str, pd.DataFrame]) -> dict[str, Figure]:
    """``perturbation`` (score vs strength) and ``adversarial`` (accuracy vs epsilon) curves, one
    panel per dataset and perturbation or attack, one line per arm, with 95% bands over replicates."""
    figures: dict[str, Figure] = {}
    for name, kind, strength in (("perturbation", "perturbation", "strength"), ("adversarial", "attack", "epsilon")):
        summary = tables[f"{name}_summary"]
        if summary.empty:
            continue
        panels = list(summary.groupby(["dataset", kind], sort=True))
        figure, axes = _grid(len(panels))
        for axis, ((dataset, label), panel) in zip(axes, panels, strict=True):
            for arm, line in panel.groupby("arm", sort=True):
                line = line.sort_values(strength)
                axis.plot(line[strength], line["estimate"], marker="o", label=arm)
                axis.fill_between(
                    line[strength],
                    line["low"].fillna(line["estimate"]),
                    line["high"].fillna(line["estimate"]),
                    alpha=0.2,
                )
            axis.set_title(f"{dataset}: {str(label).replace('_', ' ')}", fontsize=9)
            axis.set_xlabel("strength (training s.d.)" if name == "perturbation" else "epsilon (training s.d., L-inf)")
            axis.set_ylabel("score" if name == "perturbation" else "accuracy")
            axis.legend(fontsize=7)
        figures[name] = figure
    return figures


def explain_figure(tables: dict[str, pd.DataFrame], method: str = "permutation", top: int = 10) -> Figure | None:
    """Horizontal bars of the ``top`` features by ``method`` (``permutation`` or ``shap_*``; a
    ``shap`` prefix matches any explainer), one panel per arm and dataset, 95% intervals."""
    summary = tables["importance_summary"]
    if summary.empty:
        return None
    chosen = summary[summary["method"].str.startswith(method)]
    if chosen.empty:
        return None
    panels = list(chosen.groupby(["arm", "dataset"], sort=True))
    figure, axes = _grid(len(panels), height=0.3 * top + 1.2)
    for axis, ((arm, dataset), panel) in zip(axes, panels, strict=True):
        panel = panel.sort_values("estimate", ascending=False).head(top).iloc[::-1]
        axis.barh(panel["feature"], panel["estimate"], xerr=_errors(panel), capsize=2)
        axis.set_title(f"{arm} on {dataset}", fontsize=9)
        axis.set_xlabel("permutation importance" if method == "permutation" else "mean |SHAP|")
        axis.tick_params(axis="y", labelsize=7)
    return figure


def audit_figures(tables: dict[str, pd.DataFrame], kind: str) -> dict[str, Figure]:
    """The figures of one audit kind from its tables (empty when there is nothing to draw)."""
    figures: dict[str, Figure | None]
    if kind == "fairness":
        figures = {
            "selection_rate": fairness_figure(tables),
            "true_positive_rate": fairness_figure(tables, "true_positive_rate"),
        }
        if figures["selection_rate"] is None:
            figures["accuracy"] = fairness_figure(tables, "accuracy")
    elif kind == "robustness":
        figures = dict(robustness_figures(tables))
    elif kind == "explain":
        figures = {"permutation": explain_figure(tables), "shap": explain_figure(tables, "shap")}
    elif kind in ("data", "cards"):
        figures = {}
    else:
        raise InputError(f"Unknown audit kind '{kind}'. Audits: data, fairness, robustness, explain, cards.")
    return {name: figure for name, figure in figures.items() if figure is not None}
