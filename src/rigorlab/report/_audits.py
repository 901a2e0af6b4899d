"""The report's audit sections, built from the stored audit results through the audits' own views.

One section per audit kind present (``rigorlab.audits.audit_tables``, ``audit_figures``,
``findings_table``) with its figures and its findings as a table of severity, and for a group-shift
study a distribution-shift section: each arm's in-distribution score beside its shifted score. The
fairness tables and findings use the study's split design (``rigorlab.stats.stored_splits``): the
paired comparison's test, and the interval of the summaries (over folds when the replicates share
one split).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rigorlab.store import RunStore

from ._facts import StoredStudy, read_study
from ._records import AuditFigure, AuditSection, AuditTable

__all__ = ["AUDIT_TITLES", "audit_sections", "shift_section"]

AUDIT_TITLES = {
    "data": "Data quality",
    "fairness": "Fairness",
    "robustness": "Robustness",
    "explain": "Explanations",
    "cards": "Model cards and datasheets",
}
SHIFT_TITLE = "Distribution shift"
SHIFT_INTERVALS_COMPARE = (
    "as rigorlab compare: in distribution, a Nadeau-Bengio corrected t interval, as its test rows are drawn anew in "
    "every replicate; shifted, a Student t interval over replicates, conditional on the shifted rows, the same in "
    "every replicate; both cut at the metric's range; the difference, a Student t interval over replicates of the "
    "paired differences"
)
SHIFT_INTERVALS_T = "Student t over replicates"
FINDINGS_LISTED = 8  # findings written out as sentences; the table holds up to FINDINGS_TABLED
FINDINGS_TABLED = 30
TOP_FEATURES = 5
FAIRNESS_FINDINGS_CAPTION = (
    "Most severe first. Each fairness finding is judged on an arm's disparity averaged over its trials, over the "
    "groups with enough test rows: a warning when the estimate is beyond the threshold (equalized odds difference "
    "{odds:g}, demographic parity ratio {parity:g}), severe when its whole 95% interval is; trials: how many it "
    "summarises."
)
FIGURE_CAPTIONS = {
    "selection_rate": "Selection rate per group (one bar per arm): mean over trials with its 95% t interval.",
    "true_positive_rate": "True positive rate per group (one bar per arm): mean over trials with its 95% t interval.",
    "accuracy": "Accuracy per group (one bar per arm): mean over trials with its 95% t interval.",
    "perturbation": "Score under Gaussian noise (training standard deviations) and category swaps (share of cells "
    "swapped); band: 95% t interval over replicates.",
    "adversarial": "Accuracy under attack per epsilon (training standard deviations, L-infinity); HopSkipJump gives "
    "an upper bound; band: 95% t interval over replicates.",
    "permutation": "Permutation importance of the top features on the test rows (drop of the score when the feature "
    "is shuffled), 95% t interval over replicates.",
    "shap": "Mean absolute SHAP value of the top features on the test rows, 95% t interval over replicates.",
}


def _interval(estimate: Any, low: Any, high: Any) -> str:
    """``0.812 [0.790, 0.834]`` (the estimate alone when there is no interval)."""
    if estimate is None or pd.isna(estimate):
        return ""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return f"{estimate:.3f}"
    return f"{estimate:.3f} [{low:.3f}, {high:.3f}]"


def _with_intervals(frame: pd.DataFrame, keys: Sequence[str], name: str = "mean [95% CI]") -> pd.DataFrame:
    """``keys`` columns plus one text column of estimate and interval (from ``estimate, low, high``)."""
    shown = frame[list(keys)].copy()
    shown[name] = [_interval(*values) for values in frame[["estimate", "low", "high"]].itertuples(index=False)]
    return shown.reset_index(drop=True)


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as empty cells (a column may be all missing, hence float)."""
    return frame.astype(object).where(frame.notna(), "").reset_index(drop=True)


def _findings(results: pd.DataFrame, kind: str, splits: str) -> tuple[tuple[str, ...], tuple[AuditTable, ...]]:
    """The most severe findings as sentences, and every finding (up to a limit) as a table of severity."""
    from rigorlab.audits import findings_table

    table = findings_table(results, splits=splits)
    if table.empty:
        return (), ()
    lines = []
    for row in table.head(FINDINGS_LISTED).to_dict("records"):
        where = str(row["dataset"]) + (f" / {row['arm']}" if isinstance(row["arm"], str) and row["arm"] else "")
        # Fairness findings are judged on the mean over trials, and their sentence says over how many.
        repeated = f" (in {row['count']} trials)" if kind not in ("data", "fairness") and row["count"] > 1 else ""
        lines.append(f"{row['severity']}: {where}: {row['message']}{repeated}")
    shown = table.head(FINDINGS_TABLED).rename(columns={"count": "trials", "message": "finding"})
    shown = _blank(shown[["severity", "check", "dataset", "arm", "trials", "finding"]])
    caption = (
        "Most severe first; a finding repeated over trials is one row per severity: its worst instance, and in how "
        "many trials it had that severity."
    )
    if kind == "fairness":
        from rigorlab.audits import EQUALIZED_ODDS_THRESHOLD, PARITY_RATIO_THRESHOLD

        caption = FAIRNESS_FINDINGS_CAPTION.format(odds=EQUALIZED_ODDS_THRESHOLD, parity=PARITY_RATIO_THRESHOLD)
    if len(table) > FINDINGS_TABLED:
        caption += f" {len(table) - FINDINGS_TABLED} more in rigorlab.audits.findings_table."
    return tuple(lines), (AuditTable("Findings by severity", shown, caption),)


def _fairness_tables(tables: dict[str, pd.DataFrame], splits: str) -> list[AuditTable]:
    from rigorlab.audits import interval_units

    found = []
    over = "folds (the replicates share one split)" if interval_units(splits) == "fold" else "replicates"
    groups = tables["group_summary"]
    minimum = tables["groups"]["min_group_rows"].dropna()
    limit = f"{int(minimum.iloc[0])}" if len(minimum) else "min_group_rows"
    disparities = tables["disparity_summary"]
    chosen = disparities[disparities["metric"].isin(["demographic_parity_difference", "equalized_odds_difference"])]
    if len(chosen):
        found.append(
            AuditTable(
                "Disparities between groups",
                _with_intervals(chosen, ["arm", "dataset", "attribute", "metric"]),
                f"Largest difference between the groups with at least {limit} test rows in a trial (0 is parity); "
                f"mean over trials, 95% t interval over {over}.",
            )
        )
    small = groups[groups["too_small"].astype(bool)] if len(groups) else groups
    if len(small):
        left_out = (
            small.groupby(["dataset", "attribute", "group"], sort=True)["rows"].median().reset_index(name="test rows")
        )
        found.append(
            AuditTable(
                "Groups too small to compare",
                _blank(left_out),
                f"Groups with fewer than {limit} test rows in most trials (median rows per trial): their rates are "
                "reported but stay out of the disparities and their findings.",
            )
        )
    comparison = tables["comparison"]
    if len(comparison):
        shown = comparison[
            ["dataset", "attribute", "metric", "arm", "baseline", "mean_diff", "p_adjusted", "holm_family", "verdict"]
        ]
        tests = ", ".join(dict.fromkeys(str(t) for t in comparison["test"]))
        found.append(
            AuditTable(
                "Disparity against the baseline",
                shown.rename(columns={"holm_family": "Holm family"}).reset_index(drop=True),
                f"Paired over replicates and folds ({tests}); p-values Holm-adjusted across all arms, attributes and "
                "metrics of a dataset (Holm family: the number of comparisons corrected together); lower disparity "
                "is better.",
            )
        )
    notes = tables["notes"]
    if len(notes):
        found.append(AuditTable("Notes", _blank(notes), "Where the fairness audit did not apply."))
    return found


def _kind_tables(kind: str, tables: dict[str, pd.DataFrame], splits: str) -> list[AuditTable]:
    """The tables of one audit kind worth printing in a paper (the full tables stay in the store)."""
    if kind == "data":
        summary = tables["summary"].drop(columns=["label_issue_share"], errors="ignore")
        return [AuditTable("Data checks per dataset", summary, "Rows concerned by each check.")] if len(summary) else []
    if kind == "fairness":
        return _fairness_tables(tables, splits)
    if kind == "robustness":
        found = []
        for name, keys, title in (
            ("perturbation_summary", ["arm", "dataset", "perturbation", "strength"], "Score under perturbations"),
            ("adversarial_summary", ["arm", "dataset", "attack", "epsilon"], "Accuracy under adversarial attacks"),
        ):
            if len(tables[name]):
                found.append(
                    AuditTable(title, _with_intervals(tables[name], keys), "Mean over replicates, 95% t interval.")
                )
        return found
    if kind == "explain":
        found = []
        importance = tables["importance_summary"]
        if len(importance):
            top = importance[importance["rank"] <= TOP_FEATURES].sort_values(["arm", "dataset", "method", "rank"])
            found.append(
                AuditTable(
                    "Most important features",
                    _with_intervals(top, ["arm", "dataset", "method", "rank", "feature"]),
                    f"The top {TOP_FEATURES} features per arm and method; mean over replicates, 95% t interval.",
                )
            )
        if len(tables["stability"]):
            found.append(
                AuditTable(
                    "Stability of the ranking across replicates",
                    tables["stability"],
                    "Spearman correlation of the feature ranking between pairs of replicates (1: the same order).",
                )
            )
        return found
    from rigorlab.audits import card_filename

    cards = tables["cards"]
    files = [
        card_filename(str(row["card"]), str(row["dataset"]), None if pd.isna(row["arm"]) else str(row["arm"]))
        for row in cards.to_dict("records")
    ]
    caption = (
        "Full text: these Markdown files, which rigorlab run and rigorlab audit write to reports/STUDY-cards/ "
        "(or --out); the author fills in the intended use."
    )
    return [AuditTable("Cards", _blank(cards[["card", "arm", "dataset", "title"]].assign(file=files)), caption)]


def _kind_section(results: pd.DataFrame, kind: str, study: str, baseline: str, seed: int, splits: str) -> AuditSection:
    from rigorlab.audits import audit_figures, audit_tables

    chosen = results[results["kind"] == kind]
    counts = chosen["status"].value_counts()
    options = {"baseline": baseline, "seed": seed, "splits": splits} if kind == "fairness" else {}
    tables = audit_tables(chosen, kind, **options)
    lines, finding_tables = _findings(chosen, kind, splits)
    summary = (
        f"{len(chosen)} stored {kind} audit result(s): {int(counts.get('done', 0))} done, "
        f"{int(counts.get('skipped', 0))} not applicable, {int(counts.get('failed', 0))} failed."
        + (" No findings." if not lines and kind != "cards" else "")
        + f" Details: rigorlab audit {study} --only {kind}."
    )
    figures = tuple(
        AuditFigure(name, f"{AUDIT_TITLES[kind]}: {name.replace('_', ' ')}", figure, FIGURE_CAPTIONS.get(name, ""))
        for name, figure in audit_figures(tables, kind).items()
    )
    return AuditSection(
        title=AUDIT_TITLES[kind],
        summary=summary,
        findings=lines,
        tables=(*finding_tables, *_kind_tables(kind, tables, splits)),
        figures=figures,
    )


def _shift_figure(frame: pd.DataFrame) -> Figure:
    datasets = list(dict.fromkeys(frame["dataset"]))
    figure = Figure(figsize=(5.0 * len(datasets), 3.2), layout="constrained")
    axes = figure.subplots(1, len(datasets), squeeze=False).ravel()
    for axis, dataset in zip(axes, datasets, strict=True):
        panel = frame[frame["dataset"] == dataset]
        arms = list(dict.fromkeys(panel["arm"]))
        positions = np.arange(len(arms))
        for offset, (label, column) in enumerate((("in distribution", "in"), ("shifted", "shifted"))):
            rows = panel.set_index("arm").reindex(arms)
            errors = np.vstack(
                [
                    (rows[f"{column}_estimate"] - rows[f"{column}_low"]).clip(lower=0).fillna(0),
                    (rows[f"{column}_high"] - rows[f"{column}_estimate"]).clip(lower=0).fillna(0),
                ]
            )
            axis.bar(
                positions + (offset - 0.5) * 0.38, rows[f"{column}_estimate"], 0.38, yerr=errors, capsize=3, label=label
            )
        axis.set_xticks(positions, arms, rotation=30, ha="right", fontsize=8)
        axis.set_title(f"{dataset}: {panel['metric'].iloc[0]}", fontsize=9)
        axis.legend(fontsize=7)
    return figure


def shift_section(metrics: pd.DataFrame, primary: str, estimates: pd.DataFrame | None = None) -> AuditSection | None:
    """In-distribution and shifted scores of a group-shift study, per arm and dataset (None for other studies).

    Each replicate's score on its shifted test rows is paired with its score on its in-distribution
    rows (same model), so the shift effect is a paired difference with a 95% t interval over replicates.
    The two scores' own intervals are those of ``rigorlab compare`` when ``estimates``
    (:func:`rigorlab.stats.stored_estimates`) is given: the in-distribution rows are drawn anew in
    every replicate (Nadeau-Bengio corrected t), the shifted rows are the same in every replicate
    (t over replicates, conditional on them); both cut at the metric's range. Without ``estimates``
    both are t intervals over replicates.
    """
    from rigorlab.execution import IN_DISTRIBUTION
    from rigorlab.stats import mean_interval

    suffixed = [str(m) for m in dict.fromkeys(metrics["metric"]) if str(m).endswith(IN_DISTRIBUTION)]
    if not suffixed:
        return None
    bases = [m.removesuffix(IN_DISTRIBUTION) for m in suffixed]
    bases.sort(key=lambda m: m != primary)
    # (arm, dataset, metric) -> (low, high) of compare's interval for that score.
    compared: dict[tuple[str, str, str], tuple[float, float]] = (
        {
            (str(r.arm), str(r.dataset), str(r.metric)): (float(r.low), float(r.high))
            for r in list[Any](estimates.itertuples(index=False))
        }
        if estimates is not None and not estimates.empty
        else {}
    )
    rows = []
    for metric in bases:
        chosen = metrics[metrics["metric"].isin([metric, metric + IN_DISTRIBUTION])]
        wide = chosen.pivot_table(
            index=["arm", "dataset", "replicate"], columns="metric", values="value", aggfunc="mean"
        )
        if metric not in wide or metric + IN_DISTRIBUTION not in wide:
            continue
        for (arm, dataset), group in wide.groupby(level=["arm", "dataset"], sort=False):
            group = group.dropna()
            inside, shifted = group[metric + IN_DISTRIBUTION].to_numpy(float), group[metric].to_numpy(float)
            if not len(group):
                continue
            row: dict[str, Any] = {"arm": arm, "dataset": dataset, "metric": metric, "replicates": len(group)}
            for name, values, stored in (
                ("in", inside, metric + IN_DISTRIBUTION),
                ("shifted", shifted, metric),
                ("effect", shifted - inside, None),
            ):
                interval = mean_interval(values) if len(values) > 1 else None
                low, high = (interval.low, interval.high) if interval is not None else (np.nan, np.nan)
                if stored is not None and (str(arm), str(dataset), stored) in compared:
                    low, high = compared[(str(arm), str(dataset), stored)]
                row[f"{name}_estimate"] = float(np.mean(values))
                row[f"{name}_low"] = low
                row[f"{name}_high"] = high
            rows.append(row)
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    shown = frame[["arm", "dataset", "metric", "replicates"]].copy()
    for name, label in (("in", "in distribution"), ("shifted", "shifted"), ("effect", "shifted - in distribution")):
        shown[label] = [
            _interval(*values)
            for values in frame[[f"{name}_estimate", f"{name}_low", f"{name}_high"]].itertuples(index=False)
        ]
    figure_rows = frame[frame["metric"] == bases[0]]
    caption = SHIFT_INTERVALS_COMPARE if compared else SHIFT_INTERVALS_T
    return AuditSection(
        title=SHIFT_TITLE,
        summary=(
            "Each trial trained on the training groups and was scored on held-out rows of those groups (in "
            "distribution) and on the other groups (shifted); the difference is paired within each replicate. "
            f"Means over replicates with 95% intervals ({caption}); the in-distribution scores are stored as "
            f"<metric>{IN_DISTRIBUTION}."
        ),
        tables=(AuditTable("In-distribution and shifted scores", shown, f"Intervals: {caption}."),),
        figures=(
            AuditFigure(
                "shift",
                f"In-distribution and shifted {bases[0]}",
                _shift_figure(figure_rows),
                f"Mean over replicates with its 95% interval ({caption}).",
            ),
        ),
    )


def audit_sections(
    store: RunStore, study: str, facts: StoredStudy | None = None, *, baseline: str | None = None, seed: int = 0
) -> tuple[AuditSection, ...]:
    """The report's audit sections from the store: distribution shift (group-shift studies), then one
    section per stored audit kind (data quality, fairness, robustness, explanations, cards).

    Parameters
    ----------
    store : RunStore
    study : str
    facts : StoredStudy, optional
        The study as ``read_study`` read it (read again when not given).
    baseline : str, optional
        The arm fairness disparities are compared with (default: the study's baseline).
    seed : int
        Seed of the fairness comparison's bootstrap.

    The fairness comparison and summaries use the study's split design (``rigorlab.stats.stored_splits``)
    and Holm across all arms, attributes and metrics of a dataset.

    Returns
    -------
    tuple of AuditSection
        Empty when the study has neither audits nor in-distribution scores.

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> with open_store(read_only=True) as store:  # doctest: +SKIP
    ...     [section.title for section in audit_sections(store, "arrests")]
    ['Data quality', 'Fairness', 'Robustness', 'Explanations', 'Model cards and datasheets']
    """
    from rigorlab.audits import KINDS, current_audit_results
    from rigorlab.stats import IN_DISTRIBUTION_SUFFIX, stored_estimates, stored_splits

    facts = facts if facts is not None else read_study(store, study)
    splits = str(stored_splits(facts.spec, facts.metrics)[0])
    primary = str(facts.info.get("primary_metric") or "")
    chosen_baseline = baseline or str(facts.info.get("baseline") or "")
    sections: list[AuditSection] = []
    shift = None
    if not facts.metrics.empty and facts.metrics["metric"].astype(str).str.endswith(IN_DISTRIBUTION_SUFFIX).any():
        # compare's intervals, so the section and `rigorlab compare --metric X@in_distribution` agree.
        shift = shift_section(facts.metrics, primary, stored_estimates(store, study, frame=facts.metrics))
    if shift is not None:
        sections.append(shift)
    results = current_audit_results(store, study)
    if results.empty:
        return tuple(sections)
    present = set(results["kind"])
    sections.extend(
        _kind_section(results, kind, study, chosen_baseline, seed, splits) for kind in KINDS if kind in present
    )
    return tuple(sections)
