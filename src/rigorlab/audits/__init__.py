"""Audits of a study's data and models: data quality and leakage, fairness, robustness,
explanations, model cards and datasheets.

An audit is planned as small picklable :class:`AuditTask` objects with content keys (resume), run
by :func:`run_audit_task` (never raises: failures are stored with their traceback), and stored per
task with the study's trials. :func:`audit_study` does all of it for a study;
``rigorlab audit STUDY`` is the same from the command line. The ``*_tables`` and figure functions
turn stored results into DataFrames and matplotlib figures for reports.

Severity of findings: ``info`` (worth knowing), ``warning`` (may weaken the conclusions),
``severe`` (the results cannot be trusted as they are; ``--strict`` stops on data findings). The
thresholds are stated in each audit's module documentation and as constants.
"""

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
from rigorlab.audits._driver import AuditSummary, audit_study, execute_audit_tasks, parse_kinds
from rigorlab.audits._explain import EXPLAIN_DEFAULTS, audit_explain, original_columns, shap_family
from rigorlab.audits._fairness import (
    BINARY_METRICS,
    DISPARITIES,
    FAIRNESS_DEFAULTS,
    MULTICLASS_METRICS,
    audit_fairness,
    group_metrics,
    sensitive_groups,
)
from rigorlab.audits._figures import audit_figures, explain_figure, fairness_figure, robustness_figures
from rigorlab.audits._records import (
    DONE,
    FAILED,
    INFO,
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
    audit_tables,
    cards_table,
    current_audit_results,
    data_tables,
    explain_tables,
    fairness_tables,
    findings_table,
    robustness_tables,
)

__all__ = [
    "AUTHOR_PLACEHOLDER",
    "BINARY_METRICS",
    "DATA_DEFAULTS",
    "DEFAULTS",
    "DISPARITIES",
    "DONE",
    "EXPLAIN_DEFAULTS",
    "FAILED",
    "FAIRNESS_DEFAULTS",
    "FINDING_COLUMNS",
    "INFO",
    "KINDS",
    "MULTICLASS_METRICS",
    "ROBUSTNESS_DEFAULTS",
    "SEVERE",
    "SEVERITIES",
    "SKIPPED",
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
    "audit_robustness",
    "audit_seed",
    "audit_study",
    "audit_tables",
    "blackbox_attack",
    "build_cards",
    "cards_table",
    "check_refit",
    "conflicting_label_rows",
    "current_audit_results",
    "data_tables",
    "duplicate_rows",
    "execute_audit_tasks",
    "explain_figure",
    "explain_tables",
    "feature_combinations",
    "fairness_figure",
    "fairness_tables",
    "findings_table",
    "gradient_attacks",
    "group_metrics",
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
    "sensitive_groups",
    "shap_family",
    "split_leakage",
    "target_leakage_scores",
    "torch_module",
    "training_rows",
]
