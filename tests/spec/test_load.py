"""Study files: valid ones load; each kind of mistake gets one clear message with file:line."""

from __future__ import annotations

import pytest

from rigorlab.errors import SpecError
from rigorlab.spec import load_study
from tests.conftest import SMALL_STUDY


def error_of(write_study, text: str) -> str:
    path = write_study(text)
    with pytest.raises(SpecError) as caught:
        load_study(path)
    return str(caught.value).replace(str(path), "study.yaml")


def test_a_valid_study_loads_with_defaults(write_study):
    study = load_study(write_study()).spec
    assert study.study == "small"
    assert study.replicates == 2
    assert study.primary == "accuracy"
    assert study.protocol.kind == "repeated_kfold"
    assert [m.name for m in study.models] == ["logreg", "forest"]


def test_malformed_yaml_names_the_line(write_study):
    message = error_of(write_study, "study: x\nmodels: [a, b\nseed: 1\n")
    assert message.startswith("study.yaml:3: the study file is not valid YAML")


def test_empty_file_is_explained(write_study):
    assert "must be a YAML mapping" in error_of(write_study, "")


def test_unknown_key_suggests_the_closest_field(write_study):
    text = SMALL_STUDY.replace(
        "protocol: {kind: repeated_kfold, folds: 3}", "protocol:\n  kind: repeated_kfold\n  foldz: 3"
    )
    message = error_of(write_study, text)
    assert message.startswith("Unknown field 'foldz' in protocol (study.yaml:17). Did you mean 'folds'?")
    assert "Valid fields: kind, folds, test_size, inner_folds, train_groups, train_until." in message


def test_unknown_top_level_key(write_study):
    message = error_of(write_study, SMALL_STUDY + "replicate: 3\n")
    assert "Unknown field 'replicate' in the study (study.yaml:18). Did you mean 'replicates'?" in message


def test_value_out_of_range_reads_like_a_sentence(write_study):
    text = SMALL_STUDY.replace(
        "protocol: {kind: repeated_kfold, folds: 3}", "protocol:\n  kind: repeated_kfold\n  folds: 1"
    )
    assert error_of(write_study, text) == "The 'folds' field of protocol must be >= 2. Got 1 instead (study.yaml:17)."


def test_wrong_type(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("replicates: 2", "replicates: many"))
    assert message == "The 'replicates' field of the study must be an integer. Got 'many' instead (study.yaml:4)."


def test_wrong_literal_lists_the_choices(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("kind: repeated_kfold", "kind: loo"))
    assert (
        "The 'kind' field of protocol must be one of 'holdout', 'kfold', 'stratified_kfold', 'repeated_kfold' or "
        "'group_shift'" in message
    )
    assert "(study.yaml:15)" in message


def test_missing_required_field(write_study):
    text = SMALL_STUDY.replace("metrics: [accuracy, roc_auc]\n", "")
    message = error_of(write_study, text)
    assert message.startswith("The 'metrics' field of the study is required but missing")


def test_missing_field_of_a_model_names_the_model(write_study):
    text = SMALL_STUDY.replace("    estimator: sklearn.ensemble.RandomForestClassifier\n", "")
    message = error_of(write_study, text)
    assert message == "The 'estimator' field of models[1] (forest) is required but missing (study.yaml:12)."


def test_estimator_that_cannot_be_imported(write_study):
    text = SMALL_STUDY.replace("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForrest")
    message = error_of(write_study, text)
    assert message.startswith(
        "The 'estimator' field of models[1] (forest) names 'sklearn.ensemble.RandomForrest', which cannot be imported"
    )
    assert "(study.yaml:13)" in message


def test_estimator_module_missing(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("sklearn.ensemble.RandomForestClassifier", "nosuchpkg.Model"))
    assert "ModuleNotFoundError" in message and "check that its package is installed" in message


def test_unknown_estimator_parameter_suggests_the_closest(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("{n_estimators: 10}", "{n_estimator: 10}"))
    assert (
        "sets 'n_estimator', which RandomForestClassifier does not take (study.yaml:14). Did you mean 'n_estimators'?"
        in message
    )


def test_unknown_metric(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("[accuracy, roc_auc]", "[accuracy, rocauc]"))
    assert message.startswith(
        "The 'metrics' field of the study names 'rocauc', which is not a metric rigorlab knows (study.yaml:16)."
    )
    assert "Did you mean 'roc_auc'?" in message


def test_primary_metric_must_be_a_metric(write_study):
    message = error_of(write_study, SMALL_STUDY + "primary_metric: f1_macro\n")
    assert "primary_metric 'f1_macro' is not one of metrics (accuracy, roc_auc)" in message
    assert "(study.yaml:18)" in message


def test_unknown_baseline(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("baseline: logreg", "baseline: logref"))
    assert message.startswith(
        "The 'baseline' field of the study names 'logref', which is not one of the arms (study.yaml:17)."
    )
    assert "Did you mean 'logreg'?" in message


def test_baseline_with_a_grid_and_no_inner_cv(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("{max_iter: 500}", "{max_iter: 500, C: [0.1, 1.0]}"))
    assert "expands to 2 arms" in message
    assert "logreg[C=0.1], logreg[C=1.0]" in message


def test_duplicate_key(write_study):
    message = error_of(write_study, SMALL_STUDY + "seed: 8\n")
    assert (
        message
        == "study.yaml:18: the field 'seed' appears twice in the same mapping (first at line 3). Keep one of them."
    )


def test_duplicate_model_names(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("name: forest", "name: logreg"))
    assert "model names must be unique; 'logreg' appears more than once" in message
    assert "(study.yaml:12)" in message


def test_holdout_takes_test_size_not_folds(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("kind: repeated_kfold", "kind: holdout"))
    assert "folds does not apply to a holdout protocol" in message


def test_unknown_builtin_dataset_suggests_a_source(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("name: iris", "name: irs"))
    assert "dataset 'irs' is not a scikit-learn built-in" in message
    assert "Did you mean 'iris'?" in message
    assert "(study.yaml:6)" in message


def test_file_dataset_needs_a_target(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("  - name: iris", "  - name: mine\n    path: data.csv"))
    assert "dataset 'mine' is loaded from a file and needs target:" in message


def test_unknown_preprocessing_step(write_study):
    message = error_of(write_study, SMALL_STUDY.replace("[standard_scale]", "[standard_scaler]"))
    assert "unknown preprocessing step 'standard_scaler'" in message and "Did you mean 'standard_scale'?" in message


def test_several_problems_are_all_reported(write_study):
    text = SMALL_STUDY.replace("replicates: 2", "replicates: 0").replace("seed: 7", "seed: -1")
    message = error_of(write_study, text)
    assert "'seed' field of the study must be >= 0" in message
    assert "'replicates' field of the study must be >= 1" in message


def test_missing_study_file():
    with pytest.raises(SpecError, match="Cannot read the study file nowhere.yaml: no such file"):
        load_study("nowhere.yaml")
