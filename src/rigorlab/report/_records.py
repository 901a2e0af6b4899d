"""The report's data: one frozen :class:`ReportData` that the writers render and tests inspect.

Everything a report shows is here, already computed; the Jinja2 templates only lay it out. Numbers
are plain floats (``nan`` where there is none), text is plain Unicode (the writers escape it for
HTML, Markdown or LaTeX).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rigorlab.stats import StudyComparison

__all__ = [
    "AuditFigure",
    "AuditSection",
    "AuditTable",
    "Caveat",
    "Cell",
    "ChecklistItem",
    "FailureGroup",
    "FigureSpec",
    "MetricResults",
    "Paragraph",
    "ReportData",
    "ResultsTable",
    "VerificationMark",
]


@dataclass(frozen=True)
class VerificationMark:
    """Re-run verification of one arm on one dataset (``rigorlab reproduce``).

    ``finished``: the cell's finished trials; ``checked``: how many of them have a verdict;
    ``verified``: how many of them were re-run with an
    identical (``identical``) or within-tolerance result, by their latest verdict; ``problems``:
    latest verdicts that are different, failed or refused; ``last_verified_at``: ISO date-time.
    """

    arm: str
    dataset: str
    finished: int
    checked: int
    verified: int
    identical: int
    problems: int
    last_verified_at: str | None

    @property
    def complete(self) -> bool:
        """Every finished trial verified and none contradicted."""
        return self.finished > 0 and self.verified == self.finished and self.problems == 0

    @property
    def text(self) -> str:
        """E.g. ``verified on 2026-11-27: 5 of 5 trials identical``."""
        date = (self.last_verified_at or "")[:10]
        within = self.verified - self.identical
        text = f"verified on {date}: {self.identical} of {self.finished} trials identical"
        if within:
            text += f", {within} within tolerance"
        if self.problems:
            text += f", {self.problems} not reproduced"
        if self.checked < self.finished:
            text += f", {self.finished - self.checked} not re-run"
        return text


@dataclass(frozen=True)
class Cell:
    """One arm on one dataset in a results table.

    ``mean``/``low``/``high`` are the estimate and its interval over replicates (NaN when the arm
    has no result there, or a single replicate for the bounds); ``n`` the replicates. ``verdict``
    is the statistics module's verdict against the baseline (``None`` for the baseline itself and
    where no test ran); ``mark`` is what the table prints after the number.
    """

    arm: str
    dataset: str
    mean: float
    low: float
    high: float
    n: int
    best: bool
    baseline: bool
    verdict: str | None
    mark: str
    verification: VerificationMark | None = None

    @property
    def present(self) -> bool:
        return self.n > 0


@dataclass(frozen=True)
class ResultsTable:
    """Arms (rows) x datasets (columns) on one metric; ``cells`` row by row."""

    metric: str
    higher_is_better: bool
    arms: tuple[str, ...]
    datasets: tuple[str, ...]
    baseline: str
    cells: tuple[Cell, ...]
    digits: int
    legend: str

    def cell(self, arm: str, dataset: str) -> Cell:
        """The cell of ``arm`` on ``dataset`` (KeyError when either is not in the table)."""
        return self.cells[self.arms.index(arm) * len(self.datasets) + self.datasets.index(dataset)]

    def rows(self) -> list[tuple[str, list[Cell]]]:
        """``(arm, cells in dataset order)`` per arm, for templates."""
        width = len(self.datasets)
        return [(arm, list(self.cells[row * width : (row + 1) * width])) for row, arm in enumerate(self.arms)]


@dataclass(frozen=True, eq=False)
class MetricResults:
    """Everything reported about one metric: the statistics and the table built from them."""

    metric: str
    description: str
    higher_is_better: bool
    comparison: StudyComparison
    table: ResultsTable


@dataclass(frozen=True)
class FigureSpec:
    """A figure the writers draw: ``kind`` is scores, comparison, critical_difference or curves.

    ``name`` is the file stem under ``figures/``; ``subject`` is the metric (or the curve's name).
    """

    name: str
    kind: str
    subject: str
    title: str
    caption: str


@dataclass(frozen=True)
class Paragraph:
    """A titled paragraph of prose (methods, notes)."""

    title: str
    text: str


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the NeurIPS paper checklist that concerns experiments, answered from the store.

    ``status`` is ``yes``, ``partial``, ``missing`` or ``n/a``; ``evidence`` says what in the
    store supports the answer; ``remedy`` (for partial and missing) what would supply it.
    """

    item: int
    topic: str
    question: str
    status: str
    answer: str
    evidence: str
    remedy: str = ""


@dataclass(frozen=True)
class FailureGroup:
    """Trials of one arm on one dataset that did not finish, grouped by their first error line."""

    arm: str
    dataset: str
    status: str
    count: int
    error: str
    replicates: tuple[int, ...]


@dataclass(frozen=True)
class Caveat:
    """Something a reader should know: ``topic`` is failures, statistics, provenance, protocol or
    verification; ``severity`` info or warning."""

    topic: str
    severity: str
    text: str


@dataclass(frozen=True, eq=False)
class AuditTable:
    """A table of an audit section: a DataFrame with a caption."""

    title: str
    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True, eq=False)
class AuditFigure:
    """A figure of an audit section; the writers save it next to the report's own figures."""

    name: str
    title: str
    figure: Figure
    caption: str = ""


@dataclass(frozen=True, eq=False)
class AuditSection:
    """One audit's section of the report (fairness, robustness, explanations, data quality...).

    The place the audits (issue 5) fill: pass sections to ``build_report(..., audits=...)``; every
    writer renders each section after the results, in order: its ``summary``, its ``findings``
    (one line each), its ``tables`` and its ``figures``. A report without audits shows no audit
    section at all.
    """

    title: str
    summary: str = ""
    findings: tuple[str, ...] = ()
    tables: tuple[AuditTable, ...] = ()
    figures: tuple[AuditFigure, ...] = ()


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything the report of one study shows, built once by :func:`build_report`.

    Attributes
    ----------
    study, question : str
    generated_at : str
        ISO date-time the report was built (UTC).
    rigorlab_version : str
    primary_metric : str
    baseline : str
    arms, datasets : tuple of str
        Every declared arm and dataset (with or without results), in the study file's order.
    replicates : int
        Replicates the study declares (for tracked studies: the most stored per arm and dataset).
    trial_counts : dict of str to int
        Stored trials of the current plan by status, plus ``planned``.
    results : tuple of MetricResults
        The primary metric first, then the metrics chosen with ``metrics=``.
    scores : pandas.DataFrame
        Replicate scores behind every table: columns ``metric, dataset, arm, replicate, value``
        (fold scores averaged within a replicate).
    curves : pandas.DataFrame
        Learning curves summarised over replicates: ``name, dataset, arm, step, mean, low, high,
        n`` (empty when no curves were stored).
    figures : tuple of FigureSpec
    methods : tuple of Paragraph
        The methods section, paragraph by paragraph.
    datasets_table, hyperparameters_table, environment_table : pandas.DataFrame
        The tables that go with the methods (datasets; arms with their grids and selected values;
        hardware and software).
    checklist : tuple of ChecklistItem
    failures : tuple of FailureGroup
    caveats : tuple of Caveat
    verification : tuple of VerificationMark or None
        ``None`` when the store cannot record verifications; empty when nothing was verified.
    audits : tuple of AuditSection
        Audit sections (issue 5); empty until audits provide them.
    study_text : str
        The study file as it was run (empty for tracked studies).
    """

    study: str
    question: str
    generated_at: str
    rigorlab_version: str
    primary_metric: str
    baseline: str
    arms: tuple[str, ...]
    datasets: tuple[str, ...]
    replicates: int
    trial_counts: dict[str, int]
    results: tuple[MetricResults, ...]
    scores: pd.DataFrame
    curves: pd.DataFrame
    figures: tuple[FigureSpec, ...]
    methods: tuple[Paragraph, ...]
    datasets_table: pd.DataFrame
    hyperparameters_table: pd.DataFrame
    environment_table: pd.DataFrame
    checklist: tuple[ChecklistItem, ...]
    failures: tuple[FailureGroup, ...]
    caveats: tuple[Caveat, ...]
    verification: tuple[VerificationMark, ...] | None
    audits: tuple[AuditSection, ...] = ()
    study_text: str = ""

    @property
    def primary(self) -> MetricResults:
        """The results on the primary metric."""
        return self.results[0]

    def metric(self, name: str) -> MetricResults:
        """The results on ``name`` (KeyError when it is not reported)."""
        for results in self.results:
            if results.metric == name:
                return results
        raise KeyError(name)
