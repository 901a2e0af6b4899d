"""The report's figures, drawn with matplotlib on ``Figure`` objects (no pyplot, no display).

Four kinds, each one figure with a panel per dataset (small multiples keep a 20-arm x 10-dataset
study to a handful of files and a few seconds):

- ``scores``: every replicate's score as a point, with the mean and its interval over replicates;
- ``comparison``: each arm's difference from the baseline with its interval, coloured by verdict;
- ``critical_difference``: average ranks across datasets (the statistics module draws it);
- ``curves``: learning curves, the mean over replicates with its interval as a band, drawn up to
  the step where fewer than half of an arm's replicates still report (after early stopping the
  mean of the few runs that trained longest is not the arm's curve), the band cut at the range of
  the metric the curve measures (``val_accuracy`` in [0, 1]).

Each is saved as PNG (for HTML and Markdown) and as PDF and SVG (vector, for papers).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rigorlab.models import metric_bounds
from rigorlab.stats import VERDICT_BETTER, VERDICT_NO_EVIDENCE, VERDICT_NONE, VERDICT_WORSE

from ._records import FigureSpec, MetricResults

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._records import ReportData

__all__ = ["FigureFiles", "draw_figure", "plan_figures", "save_figure_files"]

PNG_DPI = 120
PANEL_WIDTH = 3.3
ROW_HEIGHT = 0.2
VERDICT_COLOURS = {
    VERDICT_BETTER: "#1a7f37",
    VERDICT_WORSE: "#cf222e",
    VERDICT_NO_EVIDENCE: "#6e7781",
    VERDICT_NONE: "#9a6700",
}
POINT_COLOUR = "#4c72b0"
CURVE_PREFIXES = ("val_", "valid_", "validation_", "train_", "test_", "eval_")
"""Prefixes of curve names that measure a known metric on some rows (the torch trainer's
``val_<primary metric>``): the curve has that metric's range."""


@dataclass(frozen=True)
class FigureFiles:
    """Where one figure was saved, relative to the report folder."""

    png: str
    pdf: str
    svg: str


def slug(text: str) -> str:
    """A file-name-safe form of a metric or curve name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "figure"


def plan_figures(results: tuple[MetricResults, ...], curve_names: list[str]) -> tuple[FigureSpec, ...]:
    """The figures of a report, in the order they appear."""
    specs: list[FigureSpec] = []
    for result in results:
        metric = result.metric
        direction = "higher" if result.comparison.higher_is_better else "lower"
        confidence = f"{result.comparison.confidence:.0%}"
        specs.append(
            FigureSpec(
                name=f"scores_{slug(metric)}",
                kind="scores",
                subject=metric,
                title=f"{metric} per replicate",
                caption=(
                    f"{metric} of every replicate (points; fold scores averaged within a replicate) with the mean "
                    f"and its {confidence} interval (black; {_interval_words(result)}), one panel per dataset "
                    f"({direction} is better)."
                ),
            )
        )
        if not result.comparison.comparisons.empty:
            specs.append(
                FigureSpec(
                    name=f"comparison_{slug(metric)}",
                    kind="comparison",
                    subject=metric,
                    title=f"{metric}: difference from the baseline {result.comparison.baseline}",
                    caption=(
                        f"Mean difference arm - {result.comparison.baseline} in {metric} with its {confidence} "
                        "interval (the paired test's interval, not adjusted for multiple comparisons), coloured by "
                        "the Holm-corrected verdict: green better, red worse, grey no evidence of a difference."
                    ),
                )
            )
        if result.comparison.ranking is not None:
            specs.append(
                FigureSpec(
                    name=f"critical_difference_{slug(metric)}",
                    kind="critical_difference",
                    subject=metric,
                    title=f"{metric}: average ranks across datasets",
                    caption=(
                        f"Average rank of each arm across {len(result.comparison.ranking.datasets)} datasets "
                        f"(1 = best on {metric}); arms joined by a bar are not significantly different "
                        "(Nemenyi critical difference CD)."
                    ),
                )
            )
    # The curves' bands use the report's confidence (build_report passes the same value to both).
    curve_confidence = f"{results[0].comparison.confidence:.0%}" if results else "95%"
    for name in curve_names:
        low, high = curve_bounds(name)
        cut = (
            f" The band is cut at the range of {name}, [{_bound(low, '-inf')}, {_bound(high, 'inf')}]."
            if low is not None or high is not None
            else ""
        )
        specs.append(
            FigureSpec(
                name=f"curves_{slug(name)}",
                kind="curves",
                subject=name,
                title=f"Learning curves: {name}",
                caption=(
                    f"{name} by step: mean over replicates (line) with its {curve_confidence} Student-t interval over "
                    "replicates (band; folds averaged within a replicate first), one panel per dataset. Each line "
                    "ends at the last step that at least half of the arm's replicates reached: runs that stopped "
                    "early (early stopping) leave later steps to the few that trained longest, whose mean is not the "
                    f"arm's curve.{cut}"
                ),
            )
        )
    return tuple(specs)


def _bound(value: float | None, infinite: str) -> str:
    return infinite if value is None else f"{value:g}"


def curve_bounds(name: str) -> tuple[float | None, float | None]:
    """The range of a learning curve's values: the metric's, for ``accuracy`` or ``val_accuracy``.

    Examples
    --------
    >>> curve_bounds("val_accuracy"), curve_bounds("train_loss")
    ((0.0, 1.0), (None, None))
    """
    bounds = metric_bounds(name)
    if bounds != (None, None):
        return bounds
    for prefix in CURVE_PREFIXES:
        if name.startswith(prefix):
            return metric_bounds(name.removeprefix(prefix))
    return None, None


def _interval_words(result: MetricResults) -> str:
    """Which interval the scores figure draws, as the table's legend says it (short form)."""
    methods = set(result.comparison.estimates["method"])
    if "t_nb" in methods:
        return "Student-t, Nadeau-Bengio corrected over fold scores"
    return {"bca": "BCa bootstrap over replicates", "percentile": "percentile bootstrap over replicates"}.get(
        result.comparison.interval_method, "Student-t over replicates"
    )


def _panels(
    n_panels: int, height: float, *, label_width: float = 0.0, legend_height: float = 0.0
) -> tuple[Figure, list[Axes], int]:
    """A grid of panels, one per dataset.

    Tick objects dominate matplotlib's drawing time: only the first column gets y ticks (the
    arms, set by the caller) and every panel at most four x ticks. ``label_width`` (inches)
    leaves room on the left for the arm names, ``legend_height`` (inches) at the bottom for a legend.
    Returns the figure, its panels and the number of columns.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, NullLocator

    columns = min(n_panels, 4 if n_panels > 6 else 3)
    rows = math.ceil(n_panels / columns)
    # Room on the left: the arm names, or the y tick labels and a figure-wide y label.
    left = label_width + 0.15 if label_width else 0.85
    width = left + 0.15 + PANEL_WIDTH * columns
    total_height = 0.9 + legend_height + height * rows
    figure = Figure(figsize=(width, total_height))
    figure.subplots_adjust(
        left=left / width,
        right=1 - 0.2 / width,
        bottom=(0.6 + legend_height) / total_height,
        top=1 - 0.35 / total_height,
        wspace=0.08 if label_width else 0.25,
        hspace=0.45 * 2.4 / max(height, 0.5),
    )
    grid = figure.subplots(rows, columns, squeeze=False)
    axes = list(grid.ravel())
    for unused in axes[n_panels:]:
        unused.remove()
    for index, ax in enumerate(axes[:n_panels]):
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        if label_width and index % columns:
            ax.yaxis.set_major_locator(NullLocator())
        ax.tick_params(labelsize=7)
    return figure, axes[:n_panels], columns


def _label_width(labels: list[str]) -> float:
    """Inches for the longest arm name at font size 7."""
    return 0.2 + 0.055 * max((len(label) for label in labels), default=4)


def _arm_labels(arms: tuple[str, ...], baseline: str) -> list[str]:
    return [f"{arm} (baseline)" if arm == baseline else arm for arm in arms]


def _arm_ticks(axes: list[Axes], labels: list[str], columns: int) -> None:
    """Arm names on the first column of panels (the others have no y ticks)."""
    for ax in axes[::columns]:
        ax.set_yticks(range(len(labels)), labels)


def _verdict_legend(figure: Figure, verdicts: list[str]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=VERDICT_COLOURS[v], marker="o", linewidth=1.8, markersize=4) for v in verdicts]
    figure.legend(handles, verdicts, loc="lower right", ncols=len(verdicts), fontsize=7, frameon=False)


def _scores(data: ReportData, metric: str) -> Figure:
    result = data.metric(metric)
    table = result.table
    arms = table.arms
    datasets = [d for d in table.datasets if any(table.cell(a, d).present for a in arms)]
    scores = data.scores[data.scores["metric"] == metric]
    labels = _arm_labels(arms, table.baseline)
    figure, axes, columns = _panels(len(datasets), 0.5 + ROW_HEIGHT * len(arms), label_width=_label_width(labels))
    rng = np.random.default_rng(0)  # jitter only; fixed so the files are stable
    position = {arm: index for index, arm in enumerate(arms)}
    by_dataset = dict(tuple(scores.groupby("dataset", sort=False)))
    for ax, dataset in zip(axes, datasets, strict=True):
        points = by_dataset.get(dataset)
        if points is not None and not points.empty:
            rows = points["arm"].map(position).to_numpy(dtype=float)
            jitter = rng.uniform(-0.18, 0.18, size=len(rows))
            ax.scatter(points["value"], rows + jitter, s=9, color=POINT_COLOUR, alpha=0.45, linewidths=0)
        cells = [table.cell(arm, dataset) for arm in arms]
        shown = [(index, cell) for index, cell in enumerate(cells) if cell.present]
        ys = np.array([index for index, _ in shown], dtype=float)
        means = np.array([cell.mean for _, cell in shown])
        lows = np.array([cell.low for _, cell in shown])
        highs = np.array([cell.high for _, cell in shown])
        bounded = np.isfinite(lows) & np.isfinite(highs)
        ax.hlines(ys[bounded], lows[bounded], highs[bounded], color="black", linewidth=1.6)
        ax.scatter(means, ys, marker="D", s=14, color="black", zorder=3)
        ax.set_title(dataset, fontsize=9)
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
        ax.set_ylim(len(arms) - 0.5, -0.5)
    _arm_ticks(axes, labels, columns)
    direction = "higher" if result.comparison.higher_is_better else "lower"
    figure.supxlabel(f"{metric} ({direction} is better)", fontsize=9)
    return figure


def _comparison(data: ReportData, metric: str) -> Figure:
    comparison = data.metric(metric).comparison
    rows = comparison.comparisons
    arms = tuple(arm for arm in data.metric(metric).table.arms if arm != comparison.baseline)
    datasets = [d for d in data.metric(metric).table.datasets if (rows["dataset"] == d).any()]
    figure, axes, columns = _panels(len(datasets), 0.5 + ROW_HEIGHT * len(arms), label_width=_label_width(list(arms)))
    position = {arm: index for index, arm in enumerate(arms)}
    by_dataset = dict(tuple(rows.groupby("dataset", sort=False)))
    for ax, dataset in zip(axes, datasets, strict=True):
        here = by_dataset[dataset]
        ys = here["arm"].map(position).to_numpy(dtype=float)
        colours = [VERDICT_COLOURS.get(str(verdict), "#6e7781") for verdict in here["verdict"]]
        low = here["low"].to_numpy(dtype=float)
        high = here["high"].to_numpy(dtype=float)
        ax.hlines(ys, low, high, colors=colours, linewidth=1.8)
        ax.scatter(here["mean_diff"].to_numpy(dtype=float), ys, s=16, c=colours, zorder=3)
        ax.axvline(0.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_title(dataset, fontsize=9)
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
        ax.set_ylim(len(arms) - 0.5, -0.5)
    _arm_ticks(axes, list(arms), columns)
    present = [v for v in VERDICT_COLOURS if (rows["verdict"] == v).any()]
    _verdict_legend(figure, present)
    figure.supxlabel(f"{metric}: arm - {comparison.baseline}", fontsize=9)
    return figure


def _curves(data: ReportData, name: str) -> Figure:
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D

    curves = data.curves[data.curves["name"] == name]
    datasets = [d for d in data.datasets if (curves["dataset"] == d).any()]
    arms = [arm for arm in data.arms if (curves["arm"] == arm).any()]
    legend_rows = math.ceil(len(arms) / 5)
    figure, axes, _ = _panels(len(datasets), 2.4, legend_height=0.2 + 0.17 * legend_rows)
    palette = colormaps["tab20" if len(arms) > 10 else "tab10"]
    colour = {arm: palette(index % palette.N) for index, arm in enumerate(arms)}
    by_dataset = dict(tuple(curves.groupby("dataset", sort=False)))
    for ax, dataset in zip(axes, datasets, strict=True):
        # One collection of lines and one of bands per panel: far fewer artists to draw than a
        # plot() and fill_between() per arm.
        lines, bands, colours = [], [], []
        for arm, line in by_dataset[dataset].groupby("arm", sort=False):
            line = line.sort_values("step")
            steps = line["step"].to_numpy(dtype=float)
            lines.append(np.column_stack([steps, line["mean"].to_numpy(dtype=float)]))
            low, high = line["low"].to_numpy(dtype=float), line["high"].to_numpy(dtype=float)
            bands.append(np.column_stack([np.concatenate([steps, steps[::-1]]), np.concatenate([high, low[::-1]])]))
            colours.append(colour[str(arm)])
        ax.add_collection(PolyCollection(bands, facecolors=colours, alpha=0.2, linewidths=0))
        ax.add_collection(LineCollection(lines, colors=colours, linewidths=1.2))
        ax.autoscale_view()
        ax.set_title(dataset, fontsize=9)
        ax.grid(linewidth=0.4, alpha=0.5)
    figure.supxlabel("step", fontsize=9, y=(0.25 + 0.17 * legend_rows) / figure.get_figheight())
    figure.supylabel(name, fontsize=9)
    handles = [Line2D([], [], color=colour[arm], linewidth=1.2) for arm in arms]
    figure.legend(handles, arms, loc="lower center", ncols=min(len(arms), 5), fontsize=7, frameon=False)
    return figure


def draw_figure(spec: FigureSpec, data: ReportData) -> Figure:
    """Draw one planned figure of ``data``.

    Examples
    --------
    >>> figure = draw_figure(data.figures[0], data)  # doctest: +SKIP
    """
    if spec.kind == "scores":
        return _scores(data, spec.subject)
    if spec.kind == "comparison":
        return _comparison(data, spec.subject)
    if spec.kind == "critical_difference":
        figure = data.metric(spec.subject).comparison.critical_difference_figure(title=spec.title)
        assert figure is not None  # planned only when a ranking exists
        return figure
    if spec.kind == "curves":
        return _curves(data, spec.subject)
    raise ValueError(f"unknown figure kind {spec.kind!r}")


def save_figure_files(figure: Figure, folder: Path, name: str, *, tight: bool = False) -> FigureFiles:
    """Save ``figure`` as ``folder/name.png``, ``.pdf`` and ``.svg`` without dates or creator tags,
    so that the same report gives the same files."""
    import matplotlib

    folder.mkdir(parents=True, exist_ok=True)
    bbox = "tight" if tight else None
    with matplotlib.rc_context({"svg.hashsalt": "rigorlab"}):
        figure.savefig(folder / f"{name}.png", dpi=PNG_DPI, metadata={"Software": None}, bbox_inches=bbox)
        figure.savefig(folder / f"{name}.pdf", metadata={"CreationDate": None, "Producer": None}, bbox_inches=bbox)
        figure.savefig(folder / f"{name}.svg", metadata={"Date": None, "Creator": None}, bbox_inches=bbox)
    prefix = folder.name
    return FigureFiles(png=f"{prefix}/{name}.png", pdf=f"{prefix}/{name}.pdf", svg=f"{prefix}/{name}.svg")


def summarise_curves(curves: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean and Student-t interval over replicates per (name, dataset, arm, step).

    Folds are averaged within a replicate first (as for scores). ``system/`` curves (CPU, memory
    samples of tracked runs) are not learning curves and are left out. Vectorised over every
    step at once: a per-group call of :func:`rigorlab.stats.mean_interval` would take seconds on
    a study with thousands of curve points.

    Steps from the first one where fewer than half of the arm's replicates (the most that
    reported any step) still report are dropped: after early stopping, the mean of the few runs
    that trained longest is not the arm's curve. ``low``/``high`` are cut at the curve's range
    (:func:`curve_bounds`).
    """
    columns = ["name", "dataset", "arm", "step", "mean", "low", "high", "n"]
    learning = curves[~curves["name"].astype(str).str.startswith("system/")] if not curves.empty else curves
    if learning.empty:
        return pd.DataFrame(columns=columns)
    from scipy import special

    per_replicate = learning.groupby(["name", "dataset", "arm", "step", "replicate"], sort=False)["value"].mean()
    grouped = per_replicate.groupby(level=["name", "dataset", "arm", "step"], sort=False)
    summary = grouped.agg(["mean", "std", "count"]).reset_index()
    counts = summary["count"].to_numpy(dtype=float)
    usable = counts >= 2
    quantile = np.full(len(summary), np.nan)
    quantile[usable] = special.stdtrit(counts[usable] - 1, 0.5 + confidence / 2)
    half_width = quantile * summary["std"].to_numpy(dtype=float) / np.sqrt(np.maximum(counts, 1))
    means = summary["mean"].to_numpy(dtype=float)
    # One replicate: no band, the line alone.
    low = np.where(usable, means - half_width, means)
    high = np.where(usable, means + half_width, means)
    names = summary["name"].astype(str)
    for name in names.unique():
        low_bound, high_bound = curve_bounds(name)
        rows = (names == name).to_numpy()
        if low_bound is not None:
            low[rows] = np.maximum(low[rows], low_bound)
        if high_bound is not None:
            high[rows] = np.minimum(high[rows], high_bound)
    table = pd.DataFrame(
        {
            "name": summary["name"].astype(str),
            "dataset": summary["dataset"].astype(str),
            "arm": summary["arm"].astype(str),
            "step": summary["step"].astype(int),
            "mean": means,
            "low": low,
            "high": high,
            "n": summary["count"].astype(int),
        },
        columns=columns,
    )
    return _while_most_report(table)


def _while_most_report(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of each (name, dataset, arm) before the first step that fewer than half of its
    replicates reached."""
    table = table.sort_values(["name", "dataset", "arm", "step"], kind="stable")
    group = table.groupby(["name", "dataset", "arm"], sort=False)["n"]
    few = (2 * table["n"] < group.transform("max")).astype(int)
    # cummax: once a step is short of half, every later step of the curve is dropped too.
    dropped = few.groupby([table["name"], table["dataset"], table["arm"]], sort=False).cummax().astype(bool)
    return table.loc[~dropped].reset_index(drop=True)
