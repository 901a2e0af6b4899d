"""The results table: arms x datasets on one metric, built from the statistics module's result.

Numbers, intervals and verdicts come from :class:`rigorlab.stats.StudyComparison` unchanged; this
module only decides what each cell shows (bold for the best, a mark where the difference from the
baseline has no statistical support) and writes the legend that says how the numbers were made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rigorlab.stats import VERDICT_NO_EVIDENCE, VERDICT_NONE, StudyComparison

from . import _messages as msg
from ._records import Cell, ResultsTable, VerificationMark

__all__ = ["build_results_table", "choose_digits", "format_interval", "format_number"]

MISSING = "\N{EM DASH}"
# The name rigorlab.stats gives the paired t-test on one fixed split (its ``test`` column).
TEST_FIXED_SPLIT = "paired t-test over replicates, conditional on the split"


def choose_digits(values: Sequence[float] | np.ndarray) -> int:
    """Decimals that show about three significant digits of the largest value.

    Examples
    --------
    >>> choose_digits([0.91, 0.87]), choose_digits([53.2, 61.0]), choose_digits([1523.0])
    (3, 2, 0)
    """
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    largest = float(finite.max()) if finite.size else 0.0
    if largest < 10:
        return 3
    return max(0, 3 - int(math.floor(math.log10(largest))))


def format_number(value: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals; an em dash for a missing value.

    Examples
    --------
    >>> format_number(0.91234, 3), format_number(float("nan"), 3)
    ('0.912', '—')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.{digits}f}"


def format_interval(low: float, high: float, digits: int) -> str:
    """``[low, high]``, or an empty string when the interval is undefined (one replicate).

    Examples
    --------
    >>> format_interval(0.9, 0.95, 2)
    '[0.90, 0.95]'
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def _why(reason: str) -> str:
    """A choice's reason for a paper: without the command-line hint ("; choose with --baseline")."""
    return reason.split("; choose")[0]


def _table_legend(
    comparison: StudyComparison,
    *,
    marks_used: set[str],
    missing_cells: bool,
    replicate_counts: list[int],
) -> str:
    alpha = round(1 - comparison.confidence, 12)
    counts = sorted(set(replicate_counts))
    if not counts:
        replicates = "no replicates"
    elif len(counts) == 1:
        replicates = f"{counts[0]} replicate{'s' if counts[0] != 1 else ''} per cell"
    else:
        replicates = f"{counts[0]} to {counts[-1]} replicates per cell (some trials did not finish)"
    tests = sorted(set(comparison.comparisons["test"])) if not comparison.comparisons.empty else []
    direction = "higher" if comparison.higher_is_better else "lower"
    # The statistics module says which interval each cell carries and what variation it covers.
    described = comparison.estimate_description()
    metric_reason = f" ({_why(comparison.metric_reason)})" if comparison.metric_reason else ""
    baseline_reason = f" ({_why(comparison.baseline_reason)})" if comparison.baseline_reason else ""
    sentences = [
        f"Each cell: {comparison.metric}{metric_reason}, {replicates}: the {described}",
        f"Bold: the best mean on each dataset ({direction} is better: {comparison.direction}).",
    ]
    if tests:
        sentences.append(
            f"{msg.MARK_NO_EVIDENCE} no statistical support for a difference from the baseline "
            f"{comparison.baseline}{baseline_reason} ({' / '.join(tests)} against the baseline, Holm-corrected "
            "within each "
            f"dataset; adjusted p >= {alpha:.2g}, or no p-value when every paired difference was equal). Unmarked "
            f"arms differ from the baseline with adjusted p < {alpha:.2g}."
        )
    if TEST_FIXED_SPLIT in tests:
        sentences.append(
            "The tests are conditional on the one split every replicate used: a difference is supported on that "
            "split; the replicates cannot show how another split or sample of the data would change it."
        )
    if msg.MARK_NOT_TESTED in marks_used:
        sentences.append(
            f"{msg.MARK_NOT_TESTED} not tested: fewer than 2 replicates paired with the baseline, or differences "
            "that do not vary (no test is defined)."
        )
    if missing_cells:
        sentences.append(f"{MISSING} no finished trial.")
    if msg.MARK_VERIFIED in marks_used:
        sentences.append(f"{msg.MARK_VERIFIED} every trial re-run and reproduced (see Verification).")
    return " ".join(sentences)


def build_results_table(
    comparison: StudyComparison,
    *,
    arms: Sequence[str],
    datasets: Sequence[str],
    verification: Mapping[tuple[str, str], VerificationMark] | None = None,
) -> ResultsTable:
    """Arms x datasets on the comparison's metric, with best-in-bold and support marks.

    Parameters
    ----------
    comparison : StudyComparison
        From :func:`rigorlab.stats.compare_stored`; its estimates, verdicts and legend are used
        as they are.
    arms, datasets : sequences of str
        Rows and columns in display order: declared arms and datasets, including those without
        results (their cells show a dash).
    verification : mapping of (arm, dataset) to VerificationMark, optional

    Returns
    -------
    ResultsTable

    Examples
    --------
    >>> from rigorlab.stats import compare_study, simulated_study_frame
    >>> frame = simulated_study_frame(arms=["a", "b"], datasets=["d"], replicates=5, seed=1)
    >>> comparison = compare_study(frame, metric="accuracy", baseline="a", n_resamples=200)
    >>> table = build_results_table(comparison, arms=["a", "b"], datasets=["d"])
    >>> table.cell("a", "d").baseline, table.cell("a", "d").n
    (True, 5)
    """
    metric = comparison.metric
    rows = comparison.estimates[comparison.estimates["metric"] == metric]
    estimates: dict[tuple[str, str], tuple[float, float, float, int]] = {
        (str(record["arm"]), str(record["dataset"])): (
            float(record["mean"]),
            float(record["low"]),
            float(record["high"]),
            int(record["n"]),
        )
        for record in rows.to_dict("records")
    }
    verdicts = {
        (str(row["arm"]), str(row["dataset"])): str(row["verdict"])
        for row in comparison.comparisons[["arm", "dataset", "verdict"]].to_dict("records")
    }
    digits = choose_digits([mean for mean, *_ in estimates.values()]) if estimates else 3
    sign = 1.0 if comparison.higher_is_better else -1.0
    best: dict[str, float] = {}
    for (_, dataset), (mean, *_) in estimates.items():
        if math.isfinite(mean):
            shown = round(sign * mean, digits)  # ties as displayed are all bold
            best[dataset] = max(best.get(dataset, -math.inf), shown)
    cells: list[Cell] = []
    marks_used: set[str] = set()
    replicate_counts: list[int] = []
    missing_cells = False
    for arm in arms:
        for dataset in datasets:
            if (arm, dataset) in estimates:
                mean, low, high, n = estimates[(arm, dataset)]
                replicate_counts.append(n)
            else:
                mean = low = high = math.nan
                n = 0
                missing_cells = True
            is_baseline = arm == comparison.baseline
            verdict = verdicts.get((arm, dataset))
            mark = ""
            if n and not is_baseline:
                if verdict is None or verdict == VERDICT_NONE:
                    mark = msg.MARK_NOT_TESTED
                elif verdict == VERDICT_NO_EVIDENCE:
                    mark = msg.MARK_NO_EVIDENCE
            verified = (verification or {}).get((arm, dataset))
            if verified is not None and verified.complete:
                marks_used.add(msg.MARK_VERIFIED)
            if mark:
                marks_used.add(mark)
            cells.append(
                Cell(
                    arm=arm,
                    dataset=dataset,
                    mean=mean,
                    low=low,
                    high=high,
                    n=n,
                    best=bool(n) and math.isfinite(mean) and round(sign * mean, digits) == best.get(dataset),
                    baseline=is_baseline,
                    verdict=verdict,
                    mark=mark,
                    verification=verified,
                )
            )
    legend = _table_legend(
        comparison, marks_used=marks_used, missing_cells=missing_cells, replicate_counts=replicate_counts
    )
    return ResultsTable(
        metric=metric,
        higher_is_better=comparison.higher_is_better,
        arms=tuple(arms),
        datasets=tuple(datasets),
        baseline=comparison.baseline,
        cells=tuple(cells),
        digits=digits,
        legend=legend,
    )


def replicate_scores(metrics: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One score per (metric, dataset, arm, replicate): the mean of the replicate's folds.

    The same averaging the statistics use for their estimates, so the figures show the points
    whose mean the table reports.
    """
    chosen = metrics[metrics["metric"].isin(list(names))].dropna(subset=["value"])
    grouped = chosen.groupby(["metric", "dataset", "arm", "replicate"], sort=False)["value"].mean()
    return grouped.reset_index()
