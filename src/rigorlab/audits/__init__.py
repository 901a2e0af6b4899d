"""Audits of a study's data and models: data quality and leakage, fairness, robustness,
explanations, model cards and datasheets.

An audit is planned as small picklable :class:`AuditTask` objects with content keys (resume), run
by :func:`run_audit_task` (never raises: failures are stored with their traceback), and stored per
task with the study's trials. :func:`audit_study` does all of it for a study;
``rigorlab audit STUDY`` is the same from the command line. The ``*_tables`` and figure functions
turn stored results into DataFrames and matplotlib figures for reports; :func:`audit_overview` is the
short summary the command prints; :func:`write_cards` writes the stored cards as Markdown files.

Severity of findings: ``info`` (worth knowing), ``warning`` (may weaken the conclusions),
``severe`` (the results cannot be trusted as they are; ``--strict`` stops on data findings). The
thresholds are stated in each audit's module documentation and as constants.
"""

from rigorlab.audits._card_files import (
    CARDS_MARKER,
    card_filename,
    check_cards_folder,
    default_cards_folder,
    write_cards,
)
from rigorlab.audits._cards import AUTHOR_PLACEHOLDER, Card, build_cards
from rigorlab.audits._data import (
    DATA_DEFAULTS,
    audit_data,
    conflicting_label_rows,
    duplicate_rows,
    feature_combinations,
    row_hashes,
    split_leakage,
)
from rigorlab.audits._data_models import label_issue_rows, out_of_fold_probabilities, target_leakage_scores
from rigorlab.audits._driver import AuditSummary, audit_study, execute_audit_tasks, parse_kinds, run_audits
from rigorlab.audits._explain import EXPLAIN_DEFAULTS, audit_explain, original_columns, shap_family
from rigorlab.audits._fairness import (
    BINARY_METRICS,
    DISPARITIES,
    EQUALIZED_ODDS_THRESHOLD,
    FAIRNESS_DEFAULTS,
    MIN_GROUP_ROWS,
    MULTICLASS_METRICS,
    PARITY_RATIO_THRESHOLD,
    audit_fairness,
    group_metrics,
    sensitive_groups,
)
from rigorlab.audits._fairness_findings import fairness_findings, interval_units
from rigorlab.audits._fairness_tables import DISPARITY_COLUMNS, GROUP_COLUMNS
from rigorlab.audits._figures import audit_figures, explain_figure, fairness_figure, robustness_figures
from rigorlab.audits._overview import OVERVIEW_COLUMNS, audit_overview
from rigorlab.audits._records import (
    DONE,
    FAILED,
    INFO,
    KIND_FORMATS,
    KINDS,
    SEVERE,
    SEVERITIES,
    SKIPPED,
    WARNING,
    AuditResult,
    AuditTask,
    Finding,
    SplitInputs,
    TrialInputs,
    audit_key,
    audit_seed,
)
from rigorlab.audits._refit import RefitMismatchError, check_refit, refit_trial_model, training_rows
from rigorlab.audits._robustness import (
    ROBUSTNESS_DEFAULTS,
    audit_robustness,
    blackbox_attack,
    gradient_attacks,
    perturbation_curves,
    torch_module,
)
from rigorlab.audits._tasks import DEFAULTS, TRIAL_KINDS, plan_audit_tasks, resolve_options, run_audit_task
from rigorlab.audits._views import (
    FINDING_COLUMNS,
    SUMMARY_COLUMNS,
    audit_tables,
    cards_table,
    current_audit_results,
    data_tables,
    explain_tables,
    fairness_tables,
    findings_table,
    robustness_tables,
    study_splits,
)

__all__ = [
    "AUTHOR_PLACEHOLDER",
    "BINARY_METRICS",
    "CARDS_MARKER",
    "DATA_DEFAULTS",
    "DEFAULTS",
    "DISPARITY_COLUMNS",
    "DISPARITIES",
    "DONE",
    "EQUALIZED_ODDS_THRESHOLD",
    "EXPLAIN_DEFAULTS",
    "FAILED",
    "FAIRNESS_DEFAULTS",
    "FINDING_COLUMNS",
    "GROUP_COLUMNS",
    "INFO",
    "KINDS",
    "KIND_FORMATS",
    "MIN_GROUP_ROWS",
    "MULTICLASS_METRICS",
    "OVERVIEW_COLUMNS",
    "PARITY_RATIO_THRESHOLD",
    "ROBUSTNESS_DEFAULTS",
    "SEVERE",
    "SEVERITIES",
    "SKIPPED",
    "SUMMARY_COLUMNS",
    "TRIAL_KINDS",
    "WARNING",
    "AuditResult",
    "AuditSummary",
    "AuditTask",
    "Card",
    "Finding",
    "RefitMismatchError",
    "SplitInputs",
    "TrialInputs",
    "audit_data",
    "audit_explain",
    "audit_fairness",
    "audit_figures",
    "audit_key",
    "audit_overview",
    "audit_robustness",
    "audit_seed",
    "audit_study",
    "audit_tables",
    "blackbox_attack",
    "build_cards",
    "card_filename",
    "cards_table",
    "check_refit",
    "conflicting_label_rows",
    "current_audit_results",
    "data_tables",
    "check_cards_folder",
    "default_cards_folder",
    "duplicate_rows",
    "execute_audit_tasks",
    "explain_figure",
    "explain_tables",
    "fairness_figure",
    "fairness_findings",
    "fairness_tables",
    "feature_combinations",
    "findings_table",
    "gradient_attacks",
    "group_metrics",
    "interval_units",
    "label_issue_rows",
    "original_columns",
    "out_of_fold_probabilities",
    "parse_kinds",
    "perturbation_curves",
    "plan_audit_tasks",
    "refit_trial_model",
    "resolve_options",
    "robustness_figures",
    "robustness_tables",
    "row_hashes",
    "run_audit_task",
    "run_audits",
    "sensitive_groups",
    "shap_family",
    "split_leakage",
    "study_splits",
    "target_leakage_scores",
    "torch_module",
    "training_rows",
    "write_cards",
]
