"""Every sentence the statistics layer shows a user, as constants that tests check.

Format-string constants are filled with ``str.format``; their field names say what goes in.
"""

from __future__ import annotations

# --- verdicts: the plain-word answers of a comparison against the baseline -------------
VERDICT_BETTER = "better"
VERDICT_WORSE = "worse"
VERDICT_NO_EVIDENCE = "no evidence of a difference"
VERDICT_NONE = "no verdict (the differences do not vary)"

# --- test names shown in the ``test`` column and in the legend ---------------------------------
TEST_PAIRED_T = "paired t-test"
TEST_NADEAU_BENGIO = "Nadeau-Bengio corrected resampled t-test"
TEST_SHARED_SPLIT = "corrected k-fold t-test on one shared split"
TEST_FIXED_SPLIT = "paired t-test over replicates, conditional on the split"
TEST_CORRELATED_BAYESIAN_T = "correlated Bayesian t-test"
TEST_BAYESIAN_SIGNED_RANK = "Bayesian signed-rank test"
TEST_BAYESIAN_SIGN = "Bayesian sign test"
MCNEMAR_EXACT = "exact binomial McNemar test"
MCNEMAR_CHI_SQUARE = "McNemar chi-square test with continuity correction"

# --- bad arguments to library functions (raised as InputError) --------------------------------
BAD_CONFIDENCE = "confidence must be a number strictly between 0 and 1. Got {value!r} instead."
BAD_N_RESAMPLES = "n_resamples must be an integer >= 1. Got {value!r} instead."
BAD_SEED = "seed must be an int or a numpy.random.Generator. Got {type_name} instead."
BAD_INTERVAL_METHOD = "method must be one of {allowed}. Got {value!r} instead."
BAD_SHAPE = "{name} must be an array of shape {expected}. Got an array of shape {shape} instead."
BAD_LENGTHS = "{first} and {second} must have the same shape. Got {first_shape} and {second_shape}."
NON_FINITE = "{name} contains infinite values; scores must be finite numbers (NaN marks a failed trial)."
EMPTY_SAMPLE = "{name} has no finite values: there is nothing to estimate."
TOO_FEW_PAIRS = (
    "A paired comparison needs at least 2 replicates where both arms have a score; "
    "got {n_pairs}. Run more replicates (e.g. `rigorlab run STUDY.yaml` with replicates >= 2)."
)
BAD_ROPE = "rope must be a number >= 0 (in the metric's units). Got {value!r} instead."
BAD_RHO = "rho must be in [0, 1). Got {value!r} instead."
RHO_OR_SIZES = (
    "The correlated Bayesian t-test needs the correlation between folds: pass rho, or n_train "
    "and n_test (rho = n_test / (n_train + n_test)). Use rho=0 only for independent test sets."
)
BAD_TEST_TRAIN_RATIO = "test_train_ratio must be a number >= 0. Got {value!r} instead."
BAD_SPLITS = (
    "splits must be one of {allowed}: 'resampled' when every replicate draws new splits (holdout, "
    "repeated_kfold), 'shared' when every replicate uses the same k folds (kfold, stratified_kfold), 'fixed' "
    "for one fixed split (tracked runs, group_shift){unknown}. Got {value!r} instead."
)
ZERO_VARIANCE_POSTERIOR = (
    "The paired differences have zero variance (every difference equals {difference:.6g}): the correlated "
    "Bayesian t-test's posterior would be a point mass, which says nothing about other runs. Compare on "
    "splits that vary (new splits per replicate), or report the difference without a posterior."
)
UNKNOWN_ARM = "Unknown arm {name!r}. Arms present: {available}."
DUPLICATE_ARM_NAMES = "Arm names must be unique. Got {names}."
BAD_TAU = "tau must be in (0, 1]. Got {value!r} instead."
BAD_NUM_COMPARISONS = "num_comparisons must be an integer >= 1. Got {value!r} instead."
BAD_PROBABILITY = "{name} must be strictly between 0 and 1. Got {value!r} instead."
BAD_DIFFERENCE_SD = "difference_sd must be a finite number >= 0. Got {value!r} instead."
BAD_REPLICATES = "n_replicates must be an integer >= 2. Got {value!r} instead."
BAD_FOLDS = "folds_per_replicate must be an integer >= 1. Got {value!r} instead."
TOO_FEW_DATASETS = "{what} needs at least {minimum} datasets (rows). Got {n_datasets}."
TOO_FEW_ARMS = "{what} needs at least {minimum} arms (columns). Got {n_arms}."
MISSING_SCORES_IN_RANKING = (
    "Ranking across datasets needs a score for every arm on every dataset; {name} has missing "
    "values. Drop incomplete arms or datasets first."
)
NOT_BINARY_CORRECTNESS = (
    "y_true, predictions_a and predictions_b must be 1-D arrays of the same length with at least "
    "one example. Got shapes {shapes}."
)
METRIC_NOT_FINITE = "metric returned a non-finite value ({value!r}) on the {which} predictions."
NAN_IN_MATRIX = "{name} contains NaN; aggregate metrics need a score for every run and every task."
BAD_GAMMA = "gamma must be a finite number. Got {value!r} instead."

# --- compare_study: problems that stop everything (raised as InputError / NotFoundError) -------
NOT_A_FRAME = "frame must be a pandas DataFrame of fold-level scores. Got {type_name} instead."
MISSING_COLUMNS = (
    "The results table lacks the column(s) {missing}; it needs {required}. "
    "Build it from the store (`rigorlab compare STUDY.yaml`) rather than by hand."
)
NO_RESULTS = (
    "There are no results to compare: every trial failed or none has run yet. Run `rigorlab run STUDY.yaml` first."
)
DUPLICATE_ROWS = (
    "The results table has {count} duplicated (arm, dataset, replicate, fold, metric) rows, "
    "e.g. {example}. Each trial must appear once; rebuild the table from the store."
)
UNKNOWN_METRIC = (
    "Metric {metric!r} is not in the results. Metrics present: {available}. "
    "Pick one of these, or add it to `metrics:` in the study file and run "
    "`rigorlab run STUDY.yaml`."
)
UNKNOWN_BASELINE = (
    "Baseline arm {baseline!r} has no results for {metric!r}{where}. Arms with results: "
    "{available}. Check `baseline:` in the study file; if all its trials failed, fix the "
    "failure and run `rigorlab run STUDY.yaml` again (stored trials are not rerun)."
)
NO_SELECTED_DATASETS = "None of the requested datasets {requested} has results. Datasets with results: {available}."
NOTHING_TO_COMPARE = "Nothing can be compared:\n- {problems}"

# --- compare_study: problems that leave the rest of the comparison standing -------------------
PROBLEM_NAN_VALUES = "{count} score(s) of metric {metric!r} are NaN (undefined on those folds) and were left out."
PROBLEM_DATASET_ABSENT = (
    "Dataset {dataset!r} has no results for {metric!r}: its trials failed or have not run. "
    "Run `rigorlab run STUDY.yaml` (stored trials are not rerun)."
)
PROBLEM_ONLY_BASELINE = (
    "Only the baseline {baseline!r} has results for {metric!r}: there is no arm to compare it "
    "with. Add models to the study, or fix their failures and run `rigorlab run STUDY.yaml`."
)
PROBLEM_ARM_ABSENT = (
    "Arm {arm!r} has no results for {metric!r}: all its trials failed or none has run. "
    "See the errors with `rigorlab status STUDY`; after fixing, run `rigorlab run STUDY.yaml --rerun-failed`."
)
PROBLEM_BASELINE_MISSING_ON_DATASET = (
    "Baseline {baseline!r} has no results on dataset {dataset!r}, so no arm is compared there. "
    "Run `rigorlab run STUDY.yaml` to (re)run its trials."
)
PROBLEM_ARM_MISSING_ON_DATASET = (
    "Arm {arm!r} has no results for {metric!r} on dataset(s) {datasets}, so it is not compared there. "
    "Run `rigorlab run STUDY.yaml` to (re)run its trials."
)
PROBLEM_TOO_FEW_REPLICATES = (
    "On dataset {dataset!r}, arm(s) {arms} have fewer than 2 replicates paired with the baseline for {metric!r} "
    "(found {counts}); a comparison needs >= 2. Run `rigorlab run STUDY.yaml` with replicates >= 2."
)
PROBLEM_MISSING_FOLDS = (
    "Arm {arm!r} lacks fold results for {metric!r} on {where}; its estimates use the folds present. Failed "
    "or unrun trials: run `rigorlab run STUDY.yaml --rerun-failed`; NaN scores: the metric is undefined "
    "there (e.g. one class in a test fold)."
)
MISSING_FAILED = "{count} failed or not run"
MISSING_NAN = "{count} NaN"
PROBLEM_SPLITS_ASSUMED = (
    "The table does not say whether replicates draw new splits: assumed resampled (new splits per replicate, "
    "as holdout and repeated_kfold do). Pass splits='shared' when every replicate uses the same k folds "
    "(kfold, stratified_kfold) or splits='fixed' for one fixed split: a shared split tested as resampled gives "
    "p-values that are too small."
)
PROBLEM_BAYES_ZERO_VARIANCE = (
    "No correlated Bayesian t-test for {arm!r} on {dataset!r}: every paired difference equals {difference:.6g}, "
    "so the posterior would be a point mass."
)
PROBLEM_FEW_REPLICATES_FOR_BOOTSTRAP = (
    "{method} intervals of {count} estimate(s) rest on fewer than {minimum} replicates (as few as {fewest}); "
    "bootstrap intervals of a mean then cover less than they claim (about 89% instead of 95% at 8 "
    "replicates). Use the t interval (interval_method='t' or the default), or run more replicates."
)
PROBLEM_LEFT_OUT_OF_RANKING = "Arm {arm!r} is left out of the ranking across datasets: it has no results on {datasets}."
PROBLEM_TOO_FEW_DATASETS_FOR_RANKING = (
    "Too few datasets ({n_datasets}) for the Friedman test to mean much: rigorlab tests arms across datasets "
    "(Friedman / Iman-Davenport, Nemenyi critical difference, Wilcoxon) from {minimum} datasets on, and Demšar "
    "(2006) recommends many more. The average ranks are shown as a description only; the per-dataset "
    "comparisons stand on their own."
)
PROBLEM_TOO_FEW_DATASETS_FOR_SIGNED_RANK = (
    "No Bayesian signed-rank test across datasets: {n_datasets} dataset(s) are too few (it needs at least "
    "{minimum}); with so few its prior pseudo-observation decides the posterior. The correlated Bayesian t-test "
    "per dataset stands."
)
PROBLEM_RANKING_IMPOSSIBLE = (
    "No ranking across datasets: it needs >= 2 datasets and >= 2 arms with results on all of "
    "them; found {n_datasets} dataset(s) and {n_arms} complete arm(s)."
)

# --- per-comparison warnings (shown next to the verdict) --------------------------------------
WARN_FEW_REPLICATES = (
    "only {n} replicates (< 10): the interval is rough and the test has little power; run more replicates"
)
WARN_INTERVAL_TOO_WIDE = (
    "interval too wide to say anything: its half-width {half_width:.3g} exceeds the "
    "run-to-run spread of the scores ({spread:.3g})"
)
WARN_FEW_FOR_BOOTSTRAP = (
    "a bootstrap interval from {n} values (< {minimum}) covers less than it claims (about 89% for a nominal 95% "
    "at 8); the t interval keeps its coverage with few replicates"
)
WARN_REPLICATES_DROPPED = (
    "paired on {n_common} of {n_total} replicates; the others lack a score in one of the two arms "
    "(a failed trial or an undefined, NaN, metric)"
)
WARN_ZERO_VARIANCE = (
    "every paired difference equals {difference:.3g}: with zero variance the t-test is undefined, so no verdict "
    "is drawn. Either one arm is the other shifted by a constant, or the replicates repeat one result "
    "(deterministic models on one split: in a study file, new splits per replicate, protocol kind: "
    "repeated_kfold, let the test see the variation)"
)
WARN_POWER_UNREACHABLE = (
    "no number of replicates reaches 80% power for a difference of {difference:.3g}: the overlap of training "
    "sets bounds the precision of the corrected test; a larger dataset or more folds (a smaller "
    "n_test/n_train) can help"
)
WARN_POWER_UNREACHABLE_SHARED = (
    "no number of replicates reaches 80% power for a difference of {difference:.3g}: every replicate uses the "
    "same split, so more replicates only average out seed noise and cannot reduce the split's own variance; "
    "new splits per replicate (protocol kind: repeated_kfold), more folds or more data can help"
)

# --- the legend's vocabulary -------------------------------------------------------------------
ACROSS_DATASETS = "(across datasets)"
