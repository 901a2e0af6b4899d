"""Paper-ready reports of a study, written from the store: results tables (HTML, Markdown,
LaTeX), figures, the methods section, the reproducibility checklist, failures and caveats.

:func:`build_report` reads the store once (read-only) into one :class:`ReportData`;
:func:`write_report` renders it with Jinja2 templates into a folder, all or nothing.
``rigorlab report STUDY`` does both.
"""

from rigorlab.report._data import build_report
from rigorlab.report._figures import FigureFiles, draw_figure
from rigorlab.report._messages import (
    MARK_NO_EVIDENCE,
    MARK_NOT_TESTED,
    MARK_VERIFIED,
    MSG_NO_FINISHED_TRIALS,
    MSG_OUT_IS_A_FILE,
    MSG_OUT_NOT_A_REPORT,
    MSG_UNKNOWN_METRIC,
)
from rigorlab.report._records import (
    AuditFigure,
    AuditSection,
    AuditTable,
    Caveat,
    Cell,
    ChecklistItem,
    FailureGroup,
    FigureSpec,
    MetricResults,
    Paragraph,
    ReportData,
    ResultsTable,
    VerificationMark,
)
from rigorlab.report._selection import default_metrics, keep_figures
from rigorlab.report._writers import FORMATS, MARKER, ReportFiles, check_report_folder, write_report

__all__ = [
    "FORMATS",
    "MARKER",
    "MARK_NOT_TESTED",
    "MARK_NO_EVIDENCE",
    "MARK_VERIFIED",
    "MSG_NO_FINISHED_TRIALS",
    "MSG_OUT_IS_A_FILE",
    "MSG_OUT_NOT_A_REPORT",
    "MSG_UNKNOWN_METRIC",
    "AuditFigure",
    "AuditSection",
    "AuditTable",
    "Caveat",
    "Cell",
    "ChecklistItem",
    "FailureGroup",
    "FigureFiles",
    "FigureSpec",
    "MetricResults",
    "Paragraph",
    "ReportData",
    "ReportFiles",
    "ResultsTable",
    "VerificationMark",
    "build_report",
    "default_metrics",
    "draw_figure",
    "keep_figures",
    "check_report_folder",
    "write_report",
]
