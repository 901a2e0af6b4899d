"""Model cards (one per arm and dataset) and datasheets (one per dataset), filled from the store.

Everything measurable comes from stored records: the configuration and environment (provenance),
metrics with the 95% intervals ``rigorlab compare`` and the report show (the interval that matches the
study's split design, :func:`rigorlab.stats.stored_estimates`), and the audits that ran. Interval
bounds of bounded scores (accuracy, disparities) are cut at their range, as ``compare`` cuts them.
What only the author knows (intended use, how the data were collected) is left as a marked placeholder, never invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rigorlab.audits._records import json_safe
from rigorlab.audits._views import (
    current_audit_results,
    explain_tables,
    fairness_tables,
    findings_table,
    robustness_tables,
    rows_of,
    study_splits,
)
from rigorlab.models import metric_bounds
from rigorlab.store import RunStore

__all__ = ["AUTHOR_PLACEHOLDER", "Card", "bounded_interval", "build_cards"]

AUTHOR_PLACEHOLDER = "_To be written by the author._"
KEY_PACKAGES = ("numpy", "pandas", "scikit-learn", "torch", "fairlearn", "shap")


@dataclass(frozen=True)
class Card:
    """A model card or datasheet: ``fields`` (JSON-safe) and the same as Markdown."""

    card: str
    title: str
    dataset: str
    arm: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    markdown: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "card": self.card,
            "title": self.title,
            "dataset": self.dataset,
            "arm": self.arm,
            "fields": self.fields,
            "markdown": self.markdown,
        }


def _interval(estimate: float, low: float, high: float) -> str:
    if not np.isfinite(low) or not np.isfinite(high):
        return f"{estimate:.4f}"
    return f"{estimate:.4f} [{low:.4f}, {high:.4f}]"


INTERVAL_WORDS = {
    "t_nb": "Nadeau-Bengio corrected t interval over the fold scores",
    "t": "Student t interval over replicates",
}
"""How each ``method`` of :func:`rigorlab.stats.stored_estimates` is named in a card."""
METRICS_TITLE = "Metrics (mean over {replicates} replicates and the 95% interval of rigorlab compare)"
METRICS_NOTE = (
    "Intervals as `rigorlab compare` and the report compute them for {whose} split design: {designs}.{clipped}"
)
CLIPPED_NOTE = " Bounds beyond a metric's range are cut at its edge (a t interval is symmetric and can reach past it)."
DISPARITY_BOUNDS = (0.0, 1.0)
"""fairlearn's disparities are max - min of group rates (never negative) and min / max (ratios): all in [0, 1]."""


def _metric_lines(estimates: pd.DataFrame) -> list[dict[str, Any]]:
    """One line per metric of an arm on a dataset, from :func:`rigorlab.stats.stored_estimates`."""
    lines = []
    for row in rows_of(estimates.sort_values("metric", kind="stable")):
        if not np.isfinite(row.mean):
            continue
        lines.append(
            {
                "metric": row.metric,
                "estimate": float(row.mean),
                "low": float(row.low),
                "high": float(row.high),
                "replicates": int(row.n),
                "interval": INTERVAL_WORDS.get(str(row.method), str(row.method)),
                "splits": str(row.splits),
                "clipped": bool(row.clipped),
            }
        )
    return lines


def _metrics_note(lines: list[dict[str, Any]]) -> str:
    """Which interval each metric has (a group-shift study has two designs: shifted and in-distribution)."""
    if not lines:
        return ""
    groups: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        groups.setdefault((line["splits"], line["interval"]), []).append(line["metric"])
    if len(groups) == 1:
        ((splits, interval),) = groups
        whose, designs = "this study's", f"{splits} splits, {interval}"
    else:
        whose = "each metric's"
        designs = "; ".join(
            f"{splits} splits, {interval} ({', '.join(names)})" for (splits, interval), names in groups.items()
        )
    clipped = CLIPPED_NOTE if any(line["clipped"] for line in lines) else ""
    return METRICS_NOTE.format(whose=whose, designs=designs, clipped=clipped)


def bounded_interval(low: float, high: float, bounds: tuple[float | None, float | None]) -> tuple[float, float, bool]:
    """``(low, high)`` cut at ``bounds`` (None: no bound), and whether a bound moved.

    Examples
    --------
    >>> bounded_interval(0.377, 1.123, (0.0, 1.0))
    (0.377, 1.0, True)
    """
    new_low = max(low, bounds[0]) if bounds[0] is not None and np.isfinite(low) else low
    new_high = min(high, bounds[1]) if bounds[1] is not None and np.isfinite(high) else high
    return new_low, new_high, bool(new_low != low or new_high != high)


def _section(title: str, lines: list[str]) -> str:
    return f"## {title}\n\n" + ("\n".join(lines) if lines else "_No stored results._") + "\n"


def _findings_lines(findings: pd.DataFrame) -> list[str]:
    return [
        f"- **{r.severity}** ({r.kind}, {r.check}): {r.message}"
        # Fairness findings already say how many trials they summarise.
        + (f" (in {r.count} trials)" if r.count and r.count > 1 and r.kind not in ("data", "fairness") else "")
        for r in rows_of(findings)
    ]


def _model_card(
    study: dict[str, Any],
    arm: str,
    dataset: dict[str, Any],
    trials: pd.DataFrame,
    metrics: pd.DataFrame,
    provenance: dict[str, Any],
    audits: dict[str, Any],
) -> Card:
    """``metrics``: the arm's rows of :func:`rigorlab.stats.stored_estimates` on this dataset."""
    config = provenance["config"]
    spec = study.get("spec") or {}
    protocol = spec.get("protocol", {})
    packages = (provenance.get("environment") or {}).get("packages", {})
    selected = [json.loads(s) for s in trials["selected_params"].dropna()] if "selected_params" in trials else []
    metric_lines = _metric_lines(metrics)
    fields: dict[str, Any] = {
        "study": study["name"],
        "question": study.get("question", ""),
        "arm": arm,
        "estimator": config.get("estimator"),
        "params": config.get("params", {}),
        "grid": config.get("grid", {}),
        "selected_params": selected,
        "preprocess": config.get("preprocess", {}),
        "dataset": dataset["name"],
        "dataset_fingerprint": dataset["fingerprint"],
        "protocol": protocol,
        "replicates": int(trials["replicate"].nunique()),
        "trials": len(trials),
        "n_train_mean": float(trials["n_train"].mean()),
        "n_test_mean": float(trials["n_test"].mean()),
        "fit_seconds_mean": float(trials["fit_seconds"].mean()),
        "metrics": metric_lines,
        "environment": {
            "python": (provenance.get("environment") or {}).get("python"),
            **{p: packages[p] for p in KEY_PACKAGES if p in packages},
        },
        "intended_use": None,
        **audits,
    }
    summary = dataset["summary"]
    markdown = [
        f"# Model card: {arm} on {dataset['name']}\n",
        f"Study **{study['name']}**" + (f": {study['question']}" if study.get("question") else "") + "\n",
    ]
    markdown.append(
        _section(
            "Model details",
            [
                f"- Estimator: `{config.get('estimator')}`",
                f"- Parameters: `{json.dumps(config.get('params', {}), default=str)}`",
                f"- Preprocessing (fit on training rows only): {', '.join(config.get('preprocess', {})) or 'none'}",
                *(
                    [
                        f"- Hyperparameters selected by {config.get('inner_folds')}-fold inner CV from "
                        f"`{json.dumps(config['grid'], default=str)}`; chosen per trial: "
                        f"`{json.dumps(selected[:5], default=str)}`" + (" ..." if len(selected) > 5 else "")
                    ]
                    if config.get("grid")
                    else []
                ),
                f"- Environment: Python {fields['environment'].get('python')}, "
                + ", ".join(f"{p} {packages[p]}" for p in KEY_PACKAGES if p in packages),
            ],
        )
    )
    markdown.append(
        _section(
            "Intended use",
            [AUTHOR_PLACEHOLDER + " Who should use this model, for what, and which uses are out of scope."],
        )
    )
    markdown.append(
        _section(
            "Training and evaluation data",
            [
                f"- Dataset `{dataset['name']}` ({summary.get('rows')} rows, {summary.get('columns')} features, "
                f"{summary.get('task')}; target `{summary.get('target')}`), "
                f"fingerprint `{dataset['fingerprint'][:16]}`",
                f"- Protocol: {protocol.get('kind', '?')}, {fields['replicates']} replicate(s), {len(trials)} "
                f"trial(s); on average {fields['n_train_mean']:.0f} training and {fields['n_test_mean']:.0f} test rows",
            ],
        )
    )
    note = _metrics_note(metric_lines)
    fields["metrics_note"] = note
    markdown.append(
        _section(
            METRICS_TITLE.format(replicates=fields["replicates"]),
            [
                "| metric | estimate [95% interval] |",
                "|---|---|",
                *(f"| {m['metric']} | {_interval(m['estimate'], m['low'], m['high'])} |" for m in metric_lines),
                *(["", note] if note else []),
            ],
        )
    )
    for title, lines in audits.pop("_sections"):
        markdown.append(_section(title, lines))
    fields.pop("_sections", None)
    return Card(
        "model_card",
        f"Model card: {arm} on {dataset['name']}",
        dataset["name"],
        arm,
        json_safe(fields),
        "\n".join(markdown),
    )


def _audit_sections(results: pd.DataFrame, arm: str, dataset: str, baseline: str | None, splits: str) -> dict[str, Any]:
    mine = (
        results[(results["dataset"] == dataset) & ((results["arm"] == arm) | results["arm"].isna())]
        if not results.empty
        else results
    )
    sections: list[tuple[str, list[str]]] = []
    fields: dict[str, Any] = {}
    fairness = fairness_tables(
        results[results["dataset"] == dataset] if not results.empty else results, baseline=baseline, splits=splits
    )
    disparity = fairness["disparity_summary"]
    disparity = disparity[disparity["arm"] == arm] if not disparity.empty else disparity
    if not disparity.empty:
        fields["fairness"] = disparity.drop(columns=["arm", "dataset"]).to_dict("records")
        lines = []
        cut = False
        for r in rows_of(disparity):
            low, high, moved = bounded_interval(r.low, r.high, DISPARITY_BOUNDS)
            cut = cut or moved
            lines.append(f"- {r.attribute}: {r.metric.replace('_', ' ')} {_interval(r.estimate, low, high)}")
        comparison = fairness["comparison"]
        comparison = comparison[comparison["arm"] == arm] if not comparison.empty else comparison
        lines += [
            f"- Compared with {r.baseline} on {r.attribute} ({r.metric.replace('_', ' ')}): {r.verdict} "
            f"(Holm across {r.holm_family} comparisons)"
            for r in rows_of(comparison)
        ]
        if cut:
            lines.append(f"- Disparities lie in [0, 1].{CLIPPED_NOTE}")
        sections.append(("Fairness (mean over trials and its 95% t interval)", lines))
    robustness_frames = robustness_tables(mine)
    robustness = robustness_frames["perturbation_summary"]
    if not robustness.empty:
        fields["robustness"] = robustness.drop(columns=["arm", "dataset"]).to_dict("records")
        scored = robustness_frames["perturbation"]
        # The score each perturbation is measured with (the summary is per perturbation and strength).
        measured = dict(zip(scored["perturbation"], scored["metric"], strict=True)) if not scored.empty else {}
        lines, cut = [], False
        for r in rows_of(robustness):
            metric = str(measured.get(r.perturbation, ""))
            low, high, moved = bounded_interval(r.low, r.high, metric_bounds(metric) if metric else (None, None))
            cut = cut or moved
            lines.append(
                f"- {r.perturbation.replace('_', ' ')} at strength {r.strength:g}: "
                f"{metric + ' ' if metric else ''}{_interval(r.estimate, low, high)}"
            )
        if cut:
            lines.append(f"- 95% t intervals over replicates.{CLIPPED_NOTE}")
        sections.append(("Robustness", lines))
    explain = explain_tables(mine)
    importance = explain["importance_summary"]
    if not importance.empty:
        top = importance[importance["method"] == "permutation"].sort_values("rank").head(5)
        fields["top_features"] = top["feature"].tolist()
        stability = explain["stability"]
        lines = [f"- {r.feature}: permutation importance {_interval(r.estimate, r.low, r.high)}" for r in rows_of(top)]
        lines += [
            f"- Ranking stability across replicates ({r.method}): mean Spearman {r.mean_spearman:.2f}"
            for r in rows_of(stability)
            if np.isfinite(r.mean_spearman)
        ]
        sections.append(("Explanations (most important features)", lines))
    findings = findings_table(mine, splits=splits)
    findings = findings[findings["severity"] != "info"]
    fields["findings"] = findings.to_dict("records")
    sections.append(
        (
            "Caveats and audit findings",
            _findings_lines(findings) or ["- No warning or severe finding in the audits that ran."],
        )
    )
    fields["_sections"] = sections
    return fields


def _datasheet(study: dict[str, Any], dataset: dict[str, Any], results: pd.DataFrame) -> Card:
    summary = dataset["summary"]
    data = (
        results[(results["kind"] == "data") & (results["dataset"] == dataset["name"])] if not results.empty else results
    )
    findings = findings_table(data, per_trial=True)
    fields = {
        "dataset": dataset["name"],
        "fingerprint": dataset["fingerprint"],
        **summary,
        "findings": findings.to_dict("records"),
        "motivation": None,
        "collection_process": None,
    }
    source = summary.get("source") or {}
    markdown = [f"# Datasheet: {dataset['name']}\n", f"Used by study **{study['name']}**.\n"]
    markdown.append(
        _section("Motivation", [AUTHOR_PLACEHOLDER + " Why the data were collected, by whom, and who funded it."])
    )
    markdown.append(
        _section(
            "Composition",
            [
                f"- {summary.get('rows')} rows, {summary.get('columns')} feature columns "
                f"({summary.get('numeric_columns')} numeric, {summary.get('categorical_columns')} categorical); "
                f"task: {summary.get('task')}, target `{summary.get('target')}`",
                f"- Class balance: {json.dumps(summary.get('class_balance'))}"
                if summary.get("class_balance")
                else "- Regression target",
                f"- Missing values: {summary.get('missing_values')}",
                f"- Sensitive columns: {', '.join(summary.get('sensitive') or []) or 'none declared'}",
                f"- Content fingerprint (sha256): `{dataset['fingerprint']}`",
            ],
        )
    )
    markdown.append(
        _section(
            "Collection process",
            [AUTHOR_PLACEHOLDER + " How, when and from whom the rows were collected; consent and licence."],
        )
    )
    markdown.append(_section("Source", [f"- {k}: `{v}`" for k, v in source.items()]))
    markdown.append(
        _section(
            "Data audit findings",
            _findings_lines(findings)
            or (
                ["- The data audit found nothing."]
                if not data.empty
                else ["_The data audit has not run: rigorlab audit STUDY --only data._"]
            ),
        )
    )
    return Card(
        "datasheet", f"Datasheet: {dataset['name']}", dataset["name"], None, json_safe(fields), "\n".join(markdown)
    )


def build_cards(store: RunStore, study: str) -> list[Card]:
    """Every model card (arm x dataset with finished trials) and datasheet of a study.

    Examples
    --------
    >>> cards = build_cards(open_store(), "arrests")  # doctest: +SKIP
    >>> print(cards[0].markdown)  # doctest: +SKIP
    """
    from rigorlab.stats import stored_estimates

    info = store.study_info(study)
    results = current_audit_results(store, study)
    splits = study_splits(store, study)
    metrics = store.metrics(study)
    # compare's intervals for every metric, so a card agrees with `rigorlab compare` and the report.
    estimates = stored_estimates(store, study, frame=metrics) if not metrics.empty else pd.DataFrame()
    trials = store.trials(study, status="done")
    cards: list[Card] = []
    datasets = store.datasets(study)
    for dataset in [{str(k): v for k, v in record.items()} for record in datasets.to_dict("records")]:
        cards.append(_datasheet(info, dataset, results))
        on_dataset = trials[trials["dataset"] == dataset["name"]] if not trials.empty else trials
        for arm in sorted(on_dataset["arm"].unique()) if not on_dataset.empty else []:
            arm_trials = on_dataset[on_dataset["arm"] == arm]
            provenance = store.provenance(study, str(arm_trials["key"].iloc[0]))
            arm_metrics = (
                estimates[(estimates["arm"] == arm) & (estimates["dataset"] == dataset["name"])]
                if not estimates.empty
                else estimates
            )
            audits = _audit_sections(results, arm, dataset["name"], info.get("baseline"), splits)
            cards.append(_model_card(info, arm, dataset, arm_trials, arm_metrics, provenance, audits))
    return cards
