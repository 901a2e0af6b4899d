"""Critical-difference diagram (Demšar 2006) as a matplotlib Figure, and a PNG + SVG saver.

Built on ``matplotlib.figure.Figure`` directly, not pyplot: no global figure registry and no
display backend, so it is safe on a server, in a worker and in tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from rigorlab.errors import InputError

from . import _messages as msg

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_ROW_HEIGHT = 0.32
_CLIQUE_GAP = 0.11


def _cliques(ranks: list[float], critical_difference: float) -> list[tuple[int, int]]:
    """Maximal runs of arms (sorted by rank) whose ranks lie within the critical difference."""
    runs: list[tuple[int, int]] = []
    for start in range(len(ranks)):
        end = start
        while end + 1 < len(ranks) and ranks[end + 1] - ranks[start] < critical_difference:
            end += 1
        if end > start and not any(first <= start and end <= last for first, last in runs):
            runs.append((start, end))
    return runs


def critical_difference_diagram(
    average_ranks: pd.Series | Mapping[str, float],
    critical_difference: float,
    *,
    title: str | None = None,
) -> Figure:
    """Draw arms on the average-rank axis and join those not significantly different.

    Parameters
    ----------
    average_ranks : pandas.Series or mapping of str to float
        Average rank per arm (1 = best), e.g. ``RankingResult.average_ranks``.
    critical_difference : float
        Nemenyi critical difference; arms closer than this are joined by a thick bar.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure = critical_difference_diagram({"a": 1.2, "b": 2.1, "c": 2.7}, 1.35)
    >>> len(figure.axes)
    1
    """
    # Imported on use: matplotlib adds ~0.3 s to importing rigorlab.stats, which the CLI does.
    from matplotlib.figure import Figure

    ordered = sorted(
        ((str(arm), float(rank)) for arm, rank in dict(average_ranks).items()),
        key=lambda item: item[1],
    )
    if len(ordered) < 2:
        raise InputError(msg.TOO_FEW_ARMS.format(what="A critical-difference diagram", minimum=2, n_arms=len(ordered)))
    names = [name for name, _ in ordered]
    ranks = [rank for _, rank in ordered]
    n_arms = len(names)
    # Average ranks of k arms lie in [1, k]: the axis spans exactly that (a rank beyond k, from a
    # caller's own table, widens it to the next whole number).
    lowest, highest = 1, max(n_arms, math.ceil(max(ranks) - 1e-9))
    span = highest - lowest
    label_room = 0.45 * span + 0.4
    left_count = (n_arms + 1) // 2
    rows = max(left_count, n_arms - left_count)
    longest = max(len(name) for name in names)
    figure = Figure(figsize=(max(6.0, 4.5 + 0.16 * longest), 1.6 + _ROW_HEIGHT * rows * 1.6))
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_xlim(lowest - label_room, highest + label_room)
    bottom = -(_ROW_HEIGHT * (rows + 1) + _CLIQUE_GAP * 3)
    axes.set_ylim(bottom, 0.75)

    axes.plot([lowest, highest], [0, 0], color="black", linewidth=1)
    for tick in range(lowest, highest + 1):
        axes.plot([tick, tick], [0, 0.08], color="black", linewidth=1)
        axes.text(tick, 0.12, str(tick), ha="center", va="bottom", fontsize=9)
    axes.text(
        (lowest + highest) / 2,
        0.42,
        "average rank (1 = best)",
        ha="center",
        va="bottom",
        fontsize=9,
    )
    cd_end = min(highest, lowest + critical_difference)
    axes.plot([lowest, cd_end], [0.62, 0.62], color="black", linewidth=1.5)
    for end in (lowest, cd_end):
        axes.plot([end, end], [0.58, 0.66], color="black", linewidth=1.5)
    axes.text(cd_end + 0.05, 0.62, f"CD = {critical_difference:.2f}", va="center", fontsize=9)

    cliques = _cliques(ranks, critical_difference)
    first_row = -(_CLIQUE_GAP * (len(cliques) + 1) + _ROW_HEIGHT * 0.6)
    for position, (name, rank) in enumerate(zip(names, ranks, strict=True)):
        on_left = position < left_count
        row = position if on_left else n_arms - 1 - position
        level = first_row - row * _ROW_HEIGHT
        end = lowest - label_room * 0.35 if on_left else highest + label_room * 0.35
        axes.plot([rank, rank, end], [0, level, level], color="0.25", linewidth=0.9)
        axes.text(
            end - 0.05 if on_left else end + 0.05,
            level,
            f"{name} ({rank:.2f})",
            ha="right" if on_left else "left",
            va="center",
            fontsize=9,
        )
    for index, (first, last) in enumerate(cliques):
        level = -_CLIQUE_GAP * (index + 1)
        axes.plot(
            [ranks[first] - 0.03, ranks[last] + 0.03],
            [level, level],
            color="black",
            linewidth=3.5,
            solid_capstyle="round",
        )
    if title:
        axes.set_title(title, fontsize=10)
    return figure


def save_figure(figure: Figure, path: str | Path, *, dpi: int = 200) -> tuple[Path, Path]:
    """Save ``figure`` as PNG and SVG next to each other.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or pathlib.Path
        Target without (or with any) suffix, e.g. ``report/cd_roc_auc``; folders are created.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    (png_path, svg_path)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> figure = critical_difference_diagram({"a": 1.0, "b": 2.0}, 1.0)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.suffix for p in save_figure(figure, folder / "cd")]
    ['.png', '.svg']
    """
    import matplotlib

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    png_path = target.with_suffix(".png")
    svg_path = target.with_suffix(".svg")
    # No date, no creator and a fixed salt for SVG element ids keep the files byte-stable
    # across runs, so reports diff cleanly.
    with matplotlib.rc_context({"svg.hashsalt": "rigorlab"}):
        figure.savefig(png_path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        figure.savefig(svg_path, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return png_path, svg_path
