"""Every message the audits show a user, as constants that tests check.

A message says which audit, which dataset/arm/column, what was found or expected, and what to do.
"""

from __future__ import annotations

__all__: list[str] = []  # constants are imported by name

# -- planning and the driver --------------------------------------------------------------------
UNKNOWN_KIND = "Unknown audit '{kind}' in --only. Audits: {kinds}.{closest}"
NO_SPEC_TEXT = (
    "Study '{study}' was stored without its study file, so its datasets cannot be reloaded for audits. "
    "Run `rigorlab audit` on the study file instead (rigorlab audit path/to/study.yaml)."
)
FINGERPRINT_CHANGED = (
    "Dataset '{dataset}' of study '{study}' has changed since its trials ran (fingerprint {stored} in the store, "
    "{current} now): audits would read other rows than the trials used. Restore the data, or run the study "
    "again (rigorlab run) so that trials and audits see the same data."
)
STRICT_FAILED = (
    "The data audit found {count} severe finding(s) and --strict turns them into an error before anything "
    "else runs:\n{findings}\nFix the data (or drop --strict to record them and go on). All findings are stored: "
    "rigorlab audit {study} --only data shows them again."
)
NO_TRIALS_FOR_KIND = (
    "No finished trials of study '{study}' on dataset '{dataset}' yet: the {kind} audit reads their stored "
    "predictions. Run the study first (rigorlab run)."
)

# -- skipped audits (the audit does not apply; the others still run) -------------------------------
NO_SENSITIVE = (
    "Dataset '{dataset}' declares no sensitive columns, so there is nothing to audit for fairness. Add "
    "sensitive: [column, ...] to the dataset in the study file."
)
ONE_GROUP = (
    "Sensitive column '{column}' of dataset '{dataset}' holds one group only ({group!r}) in the test rows: "
    "there is no other group to compare it with. It was left out of the fairness audit."
)
NO_GROUPS_LEFT = (
    "No sensitive column of dataset '{dataset}' has two or more groups in the test rows; the fairness audit "
    "has nothing to compare."
)
FAIRNESS_REGRESSION = (
    "Dataset '{dataset}' is a regression task; the fairness audit computes classification rates (selection, "
    "true and false positive rates). It was skipped."
)
SMALL_GROUP = (
    "Group {group!r} of '{attribute}' has {rows} test row(s) (fewer than {minimum}, the min_group_rows setting): "
    "its rates are shown without an interval and left out of the disparities and their findings. Pool more "
    "data (fewer folds, or a coarser attribute) to compare it."
)
TOO_FEW_GROUPS = (
    "'{attribute}': {compared} group(s) have at least {minimum} test rows in this trial, so no disparity was "
    "computed (it needs two)."
)
MULTICLASS_PARITY = (
    "Dataset '{dataset}' has {classes} classes: demographic parity and equalized odds are defined for binary "
    "outcomes, so only per-group accuracy and error rate are reported."
)
NUMERIC_SENSITIVE_BINNED = (
    "Sensitive column '{column}' is numeric with {unique} distinct values; it was cut into {bins} quantile "
    "groups for the fairness audit."
)
ATTACK_NEEDS_GRADIENTS = (
    "FGSM and PGD need a differentiable model (a torch module exposed as `module_` on the estimator); "
    "{estimator} has none, so only the black-box attack was tried."
)
ATTACK_NUMERIC_ONLY = (
    "The black-box attack (HopSkipJump) perturbs numeric features only, and dataset '{dataset}' has "
    "categorical columns ({columns}); it was skipped. The perturbation audit still covers category swaps."
)
ATTACK_CLASSIFICATION_ONLY = (
    "Adversarial attacks change a classifier's decision; dataset '{dataset}' is a regression task, so they "
    "were skipped."
)
NO_NUMERIC_FOR_NOISE = "Dataset '{dataset}' has no numeric feature: Gaussian noise was not applied."
NO_CATEGORICAL_FOR_SWAP = "Dataset '{dataset}' has no categorical feature: category swaps were not applied."
LABEL_ISSUES_REGRESSION = (
    "Label issues (confident learning) apply to classification; dataset '{dataset}' is regression."
)
LABEL_ISSUES_SMALL_CLASS = (
    "Label issues were not searched on dataset '{dataset}': class {label!r} has {count} row(s), fewer than the "
    "{folds} needed for out-of-fold probabilities."
)
NO_MISCLASSIFIED = "No test row was misclassified, so there is no local explanation of an error to show."
REFIT_MISMATCH = (
    "The refit model of trial {key} ({arm} on {dataset}, replicate {replicate}, fold {fold}) does not reproduce "
    "its stored predictions ({mismatches} of {rows} test rows differ); the audit would describe another model. "
    "The estimator may not honour its random_state, or the environment changed (rigorlab reproduce shows which)."
)
REFIT_NO_SELECTION = (
    "Trial {key} ({arm}) selects hyperparameters by inner cross-validation but was stored without the values "
    "it selected, so its model cannot be refit for this audit. Run the study again into a new store "
    "(rigorlab run STUDY.yaml --store NEW) to audit it."
)

# -- findings (data audit) ------------------------------------------------------------------------
FINDING_DUPLICATES = "{count} row(s) ({share:.1%}) repeat an earlier row exactly (features and target)."
FINDING_NEAR_DUPLICATES = (
    "{count} row(s) ({share:.1%}) match an earlier row once numbers are rounded to {tolerance:g} standard "
    "deviations and text is trimmed and lower-cased (near-duplicates that are not exact)."
)
FINDING_CONFLICTS = (
    "{groups} feature vector(s) appear with different labels ({count} rows, {share:.1%}): no model can get all "
    "of them right."
)
LEAKAGE_OVERSTATES = " The test score overstates performance on new data."
FINDING_LEAKAGE = (
    "Replicate {replicate}, fold {fold}: {count} of {rows} test row(s) ({share:.1%}) also appear among the "
    "training rows (same features)." + LEAKAGE_OVERSTATES
)
EXPECTED_REPEATS = (
    "The features allow at most {combinations} distinct combinations for {rows} rows, so repeated feature "
    "vectors are expected rather than a sign of copying; reported as information only."
)
FINDING_IMBALANCE = (
    "Class {label!r} has {count} row(s), {ratio:.1%} of the largest class {largest!r}: accuracy alone hides "
    "errors on it; report balanced_accuracy or f1_macro too."
)
FINDING_MISSING = "Column '{column}' is missing in {count} row(s) ({share:.1%})."
FINDING_CONSTANT = "Column '{column}' holds a single value ({value!r}); it carries no information."
FINDING_HIGH_CARDINALITY = (
    "Categorical column '{column}' has {unique} distinct values for {rows} rows ({share:.0%}): an identifier "
    "or free text, which models memorise rather than learn from."
)
FINDING_TARGET_LEAKAGE = (
    "Column '{column}' alone predicts the target with cross-validated {metric} {score:.3f}: it may be derived "
    "from the target (leakage). Check how it was recorded."
)
FINDING_LABEL_ISSUES = (
    "{count} row(s) ({share:.1%}) look mislabelled (confident learning on out-of-fold probabilities from "
    "{source}); the most suspicious first: {rows}."
)

# -- findings (fairness, robustness, explanations) ------------------------------------------------
FINDING_PARITY = (
    "'{attribute}': the demographic parity ratio is {estimate:.3f} {interval} (selection rates {low_rate:.3f} to "
    "{high_rate:.3f} across groups), below the {threshold:.2f} threshold{judgement}. {sizes}"
)
FINDING_EQUALIZED_ODDS = (
    "'{attribute}': true or false positive rates differ by {estimate:.3f} {interval} between groups (equalized "
    "odds difference), above the {threshold:.2f} threshold{judgement}. {sizes}"
)
INTERVAL_OVER = "[{low:.3f}, {high:.3f}] (mean over {trials} trials, 95% t interval over {units})"
NO_INTERVAL = "(mean over {trials} trials; no interval from a single {unit})"
WHOLE_INTERVAL_BEYOND = " with its whole interval"
ESTIMATE_ONLY_BEYOND = ", though its interval reaches the threshold"
GROUP_SIZES = "Groups compared: {compared}, the smallest {smallest!r} with a median of {rows} test rows per trial."
GROUPS_LEFT_OUT = " Left out (fewer than {minimum} test rows): {groups}."
GROUP_LEFT_OUT = "{group!r} (median {rows})"
FINDING_FRAGILE = (
    "{perturbation} of strength {strength:g} lowers {metric} from {clean:.3f} to {score:.3f} (a drop of "
    "{drop:.3f}, above {threshold:.2f})."
)
FINDING_DOMINANT_FEATURE = (
    "Feature '{column}' carries {share:.0%} of the total permutation importance: the model leans on one "
    "feature; check that it is a legitimate signal and not a shortcut."
)

# -- cards as files and the command's summary ------------------------------------------------------
CARDS_FOLDER_NOT_OURS = (
    "The folder {path} holds files that rigorlab did not write (it has no {marker} file), so no cards are "
    "written there (nothing of yours is overwritten). Choose another folder with --out, or empty this one. Cards "
    "already stored stay in the store (rigorlab.audits.cards_table reads them)."
)
CARDS_FOLDER_IS_A_FILE = "{path} is a file; the cards need a folder. Choose another path with --out."
NO_KINDS = "--only names no audit; give one or more of {kinds}, separated by commas (or leave --only out for all)."
CARDS_FOLDER_UNWRITABLE = (
    "The cards cannot be written to {path} ({error}). Choose a folder you can write to with --out (it is created "
    "when missing)."
)
NOT_APPLICABLE = "{count} {kind} audit(s) not applicable: {reason}"
