"""Write a report: figures, then HTML / Markdown / LaTeX from Jinja2 templates, all or nothing.

Everything is written into a temporary folder beside the target and moved into place at the end,
so an error leaves no partial report behind, and an older report in the target is replaced only
once the new one is complete.
"""

from __future__ import annotations

import base64
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from rigorlab._folders import replace_folder, unwritable_reason
from rigorlab.errors import InputError

from . import _messages as msg
from ._escape import html_prose, latex, latex_cell, latex_prose, latex_verbatim, markdown, markdown_cell, markdown_prose
from ._figures import FigureFiles, draw_figure, save_figure_files, slug
from ._records import AuditFigure, AuditSection, Cell, ReportData
from ._tables import MISSING, format_interval, format_number

__all__ = ["FORMATS", "MARKER", "ReportFiles", "check_report_folder", "write_report"]

FORMATS = ("html", "md", "latex")
MARKER = ".rigorlab-report"
FIGURES = "figures"


@dataclass(frozen=True)
class ReportFiles:
    """What ``write_report`` wrote: the folder and the files in it (relative paths)."""

    folder: Path
    files: tuple[str, ...]
    figures: dict[str, FigureFiles] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.folder / name


@cache
def _environment(kind: str) -> jinja2.Environment:
    loader = jinja2.PackageLoader("rigorlab.report", "templates")
    if kind == "latex":
        # LaTeX is full of braces and percent signs: other delimiters keep templates readable.
        environment = jinja2.Environment(
            loader=loader,
            block_start_string="<%",
            block_end_string="%>",
            variable_start_string="<<",
            variable_end_string=">>",
            comment_start_string="<#",
            comment_end_string="#>",
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        environment.filters.update(e=latex, cell=latex_cell, prose=latex_prose, verbatim=latex_verbatim)
    elif kind == "html":
        environment = jinja2.Environment(
            loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
        )
        environment.filters.update(prose=html_prose)
    else:
        environment = jinja2.Environment(
            loader=loader,
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        environment.filters.update(e=markdown, cell=markdown_cell, prose=markdown_prose)
    environment.filters.update(num=format_number, count_text=_count_text)
    environment.globals.update(
        interval=_cell_interval,
        frame_rows=_frame_rows,
        missing=MISSING,
        column_spec=_column_spec,
        frame_spec=_frame_spec,
        audit_name=audit_figure_name,
    )
    return environment


def audit_figure_name(section: AuditSection, item: AuditFigure) -> str:
    """The file stem of an audit figure under ``figures/``."""
    return f"audit_{slug(section.title)}_{slug(item.name)}"


def _count_text(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _cell_interval(cell: Cell, digits: int) -> str:
    return format_interval(cell.low, cell.high, digits)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _frame_rows(frame: pd.DataFrame) -> list[list[str]]:
    """A DataFrame's rows as text, for templates."""
    return [[_text(value) for value in row] for row in frame.itertuples(index=False, name=None)]


def _column_spec(weights: Sequence[float]) -> str:
    """LaTeX column types: wrapped, ragged-right columns sharing the line width in proportion to
    ``weights``."""
    total = float(sum(weights)) or 1.0
    return "".join(
        rf">{{\raggedright\arraybackslash}}p{{\dimexpr {0.99 * weight / total:.3f}\linewidth - 2\tabcolsep\relax}}"
        for weight in weights
    )


def _frame_spec(frame: pd.DataFrame) -> str:
    """Column types for a DataFrame: each column's share grows with its longest text (within
    bounds, so that one long column does not squeeze the others to nothing)."""
    rows = _frame_rows(frame)
    weights = []
    for index, column in enumerate(frame.columns):
        texts = [str(column), *(row[index] for row in rows)]
        longest = max(len(text) for text in texts)
        # A word without a break point (``classification``) must fit on its line.
        word = max((len(w) for text in texts for w in text.split() if not any(c in w for c in "_/.")), default=0)
        weights.append(max(min(max(longest, 10), 24), 1.2 * word))
    return _column_spec(weights)


def check_report_folder(out: str | Path) -> None:
    """Raise an InputError unless a report can be written to ``out`` (called before any work).

    The folder must be absent, empty or an older report, and its parent creatable and writable.
    Creates the parent folders, nothing else.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(msg.MSG_OUT_IS_A_FILE.format(path=out))
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(msg.MSG_OUT_NOT_A_REPORT.format(path=out, marker=MARKER))
    reason = unwritable_reason(out)
    if reason is not None:
        raise InputError(msg.MSG_OUT_UNWRITABLE.format(path=out, error=reason))


def _figure_data_uris(folder: Path, figures: dict[str, FigureFiles]) -> dict[str, str]:
    return {
        name: "data:image/png;base64," + base64.b64encode((folder / files.png).read_bytes()).decode("ascii")
        for name, files in figures.items()
    }


def _render(kind: str, template: str, target: Path, **context: Any) -> None:
    text = _environment(kind).get_template(template).render(**context)
    target.write_text(text, encoding="utf-8")


def _draw_all(data: ReportData, folder: Path) -> tuple[dict[str, FigureFiles], dict[str, FigureFiles]]:
    figures: dict[str, FigureFiles] = {}
    for spec in data.figures:
        figure = draw_figure(spec, data)
        figures[spec.name] = save_figure_files(
            figure, folder / FIGURES, spec.name, tight=spec.kind == "critical_difference"
        )
        _release(figure)
    audit_figures: dict[str, FigureFiles] = {}
    for section in data.audits:
        for item in section.figures:
            name = audit_figure_name(section, item)
            audit_figures[name] = save_figure_files(item.figure, folder / FIGURES, name, tight=True)
    return figures, audit_figures


def _release(figure: Any) -> None:
    # A Figure made without pyplot is freed by the garbage collector; clearing it first drops
    # its artists at once, which keeps memory flat over many figures.
    figure.clear()


def write_report(data: ReportData, out: str | Path, *, formats: Sequence[str] = FORMATS) -> ReportFiles:
    """Write the report of ``data`` into the folder ``out``.

    Parameters
    ----------
    data : ReportData
        From :func:`build_report`.
    out : path
        The report folder: created, or replaced when it holds an older report (a folder with other
        content is refused).
    formats : sequence of {"html", "md", "latex"}
        ``html``: ``report.html``, one self-contained file (figures embedded). ``md``:
        ``report.md`` with ``figures/*.png``. ``latex``: ``results_table.tex`` (the table alone,
        for ``\\input``; one more per extra metric), ``results_table_document.tex`` (compiles on
        its own), ``methods.tex`` and ``report.tex`` (the whole report). Figures are always saved
        as PNG, PDF and SVG under ``figures/``.

    Returns
    -------
    ReportFiles

    Raises
    ------
    rigorlab.errors.InputError
        ``out`` is a file or a folder that does not hold a report, or a format is unknown.

    Examples
    --------
    >>> files = write_report(data, "reports/quickstart", formats=["html"])  # doctest: +SKIP
    >>> files.path("report.html").exists()  # doctest: +SKIP
    True
    """
    chosen = list(dict.fromkeys(formats))
    for name in chosen:
        if name not in FORMATS:
            raise InputError(msg.MSG_BAD_FORMAT.format(choices=", ".join((*FORMATS, "all")), value=name))
    target = Path(out)
    check_report_folder(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        figures, audit_figures = _draw_all(data, staging)
        context: dict[str, Any] = {
            "data": data,
            "figures": figures,
            "audit_figures": audit_figures,
            "results": data.results,
        }
        written: list[str] = []
        if "html" in chosen:
            uris = _figure_data_uris(staging, {**figures, **audit_figures})
            _render("html", "report.html.j2", staging / "report.html", uris=uris, **context)
            written.append("report.html")
        if "md" in chosen:
            _render("md", "report.md.j2", staging / "report.md", **context)
            written.append("report.md")
        if "latex" in chosen:
            table_files = []
            for index, result in enumerate(data.results):
                name = "results_table.tex" if index == 0 else f"results_table_{slug(result.metric)}.tex"
                _render("latex", "results_table.tex.j2", staging / name, result=result, **context)
                table_files.append(name)
            _render(
                "latex",
                "results_table_document.tex.j2",
                staging / "results_table_document.tex",
                table_files=table_files,
                **context,
            )
            _render("latex", "methods.tex.j2", staging / "methods.tex", **context)
            _render("latex", "report.tex.j2", staging / "report.tex", table_files=table_files, **context)
            written += [*table_files, "results_table_document.tex", "methods.tex", "report.tex"]
        (staging / MARKER).write_text(f"rigorlab report of study {data.study}\n", encoding="utf-8")
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    figure_files = [
        path for files in (*figures.values(), *audit_figures.values()) for path in (files.png, files.pdf, files.svg)
    ]
    return ReportFiles(folder=target, files=tuple(written + figure_files), figures={**figures, **audit_figures})
