"""Mistakes in a study file that used to pass `check` (and then failed every trial) or end in a traceback:
each gets one paragraph with the file:line, exit 2 through the CLI, and nothing written to the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rigorlab.audits import DEFAULTS
from rigorlab.cli import app
from rigorlab.data import _sources as data_messages
from rigorlab.errors import DataError, SpecError
from rigorlab.spec import _checks as check_messages
from rigorlab.spec import _load as load_messages
from rigorlab.spec import load_study
from rigorlab.spec._audit_spec import AUDIT_SETTING_RULES
from rigorlab.store import open_store

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "400", "RIGORLAB_STORE": ""})


def one_line(text: str) -> str:
    return text.replace("\n", "")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A CSV with a numeric, a text and a continuous column, and two broken modules beside it."""
    rng = np.random.default_rng(0)
    rows = 60
    pd.DataFrame(
        {
            "x1": rng.normal(size=rows).round(3),
            "x2": rng.normal(size=rows).round(3),
            "sex": np.where(np.arange(rows) % 2 == 0, "m", "f"),
            "y": np.arange(rows) % 2,
            "yreg": rng.normal(size=rows).round(3) + 0.0005,
        }
    ).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "syntaxerr.py").write_text("x = 1\ndef f(:\n")
    (tmp_path / "raising.py").write_text('import os\n\nraise RuntimeError("config not found")\n')
    return tmp_path


STUDY = """\
study: bad
replicates: 1
protocol: {{kind: holdout}}
metrics: [{metric}]
datasets:
  - {dataset}
models:
  - name: a
    {model}
    preprocess: {preprocess}
{extra}"""
FILE_DATASET = "{name: mine, path: d.csv, target: y}"
TREE = "estimator: sklearn.tree.DecisionTreeClassifier"


def write(folder: Path, **parts: str) -> Path:
    fields = {
        "metric": "accuracy",
        "dataset": FILE_DATASET,
        "model": TREE,
        "preprocess": "[ordinal]",
        "extra": "",
        **parts,
    }
    path = folder / "study.yaml"
    path.write_text(STUDY.format(**fields))
    return path


def refused(path: Path, expected: str, store: Path) -> None:
    """`check` and `run` both exit 2 with the message; `run` leaves the store as it was."""
    checked = invoke("check", str(path))
    assert checked.exit_code == 2, checked.output
    assert "Traceback" not in checked.output
    assert expected in one_line(checked.output)
    before = open_store(store).studies().to_dict("records") if store.exists() else []
    ran = invoke("run", str(path), "--store", str(store), "-q")
    assert ran.exit_code == 2 and expected in one_line(ran.output)
    after = open_store(store).studies().to_dict("records") if store.exists() else []
    assert after == before


def spec_error(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_study(path)
    return str(caught.value)


def test_features_listing_the_target_or_nothing_are_refused(folder, store_path):
    path = write(folder, dataset="name: mine\n    path: d.csv\n    target: y\n    features:\n      - x1\n      - y")
    expected = check_messages.MSG_FEATURES_TARGET.format(owner="datasets[0] (mine)", column="y", where=f"{path}:11")
    assert spec_error(path) == expected
    refused(path, expected, store_path)
    path = write(folder, dataset="{name: mine, path: d.csv, target: y, features: []}")
    expected = check_messages.MSG_FEATURES_EMPTY.format(owner="datasets[0] (mine)", where=f"{path}:6")
    assert spec_error(path) == expected
    refused(path, expected, store_path)


def test_nothing_already_stored_changes_when_a_bad_study_is_refused(folder, store_path):
    good = write(folder)
    assert invoke("run", str(good), "--store", str(store_path), "-q").exit_code == 0
    trials = open_store(store_path).trials("bad")
    bad = write(folder, dataset="{name: mine, path: d.csv, target: y, features: [x1, y]}")
    refused(bad, "lists the target column 'y'", store_path)
    pd.testing.assert_frame_equal(open_store(store_path).trials("bad"), trials)


def test_a_dataset_spec_built_in_python_is_guarded_too(folder):
    from rigorlab.data import load_dataset
    from rigorlab.spec import DatasetSpec

    spec = DatasetSpec(name="mine", path="d.csv", target="y", features=["x1", "y"])
    with pytest.raises(DataError) as caught:
        load_dataset(spec, folder, "here")
    assert str(caught.value) == check_messages.MSG_FEATURES_TARGET.format(
        owner="dataset 'mine'", column="y", where="here"
    )


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("syntaxerr", "SyntaxError in {file}:2: invalid syntax"),
        ("raising", "RuntimeError: config not found (raised at {file}:3)"),
    ],
)
def test_a_module_that_fails_to_import_is_one_paragraph(folder, store_path, module, reason):
    reason = reason.format(file=folder / f"{module}.py")
    path = write(folder, model=f"estimator: {module}:Est")
    expected = load_messages.MSG_IMPORT_BROKEN.format(
        field="estimator", owner="models[0] (a)", path=f"{module}:Est", module=module, reason=reason, where=f"{path}:9"
    )
    assert spec_error(path) == expected
    refused(path, expected, store_path)
    path = write(folder, model=f"trainer: torch\n    module: {module}:Net", preprocess="[]")
    expected = load_messages.MSG_IMPORT_BROKEN.format(
        field="module", owner="models[0] (a)", path=f"{module}:Net", module=module, reason=reason, where=f"{path}:10"
    )
    assert spec_error(path) == expected
    path = write(folder, dataset=f"{{name: mine, callable: '{module}:load', target: y}}")
    expected = data_messages.MSG_CALLABLE_BROKEN.format(
        name="mine", module=module, path=f"{module}:load", reason=reason, where=f"{path}:6"
    )
    refused(path, expected, store_path)


def test_a_missing_module_keeps_its_own_message(folder):
    path = write(folder, model="estimator: not_a_module_anywhere:Est")
    assert "which cannot be imported: ModuleNotFoundError" in spec_error(path)


def test_regression_on_a_text_target(folder, store_path):
    path = write(folder, dataset="{name: mine, path: d.csv, target: sex, task: regression}", metric="r2")
    expected = data_messages.MSG_REGRESSION_TEXT_TARGET.format(
        name="mine", column="sex", count=60, rows=60, example="m", where=f"{path}:6"
    )
    assert expected.endswith("Use task: classification or a numeric target.")
    refused(path, expected, store_path)


def test_classification_on_a_continuous_target(folder, store_path):
    path = write(folder, dataset="{name: mine, path: d.csv, target: yreg, task: classification}")
    frame = pd.read_csv(folder / "d.csv")
    expected = data_messages.MSG_CLASSIFICATION_CONTINUOUS.format(
        name="mine",
        column="yreg",
        example=float(frame["yreg"].iloc[0]),
        distinct=frame["yreg"].nunique(),
        rows=60,
        where=f"{path}:6",
    )
    assert "Use task: regression" in expected
    refused(path, expected, store_path)


def test_whole_numbers_stored_as_floats_are_still_classes(folder):
    frame = pd.read_csv(folder / "d.csv").assign(y=lambda f: f["y"].astype(float))
    frame.to_csv(folder / "d.csv", index=False)
    assert invoke("check", str(write(folder))).exit_code == 0


@pytest.mark.parametrize(
    ("preprocess", "option", "closest", "step", "line"),
    [
        ("[{one_hot: {bogus: 1}}]", "bogus", "", "one_hot", 10),
        (
            "\n      - ordinal: {handle_unknwn: error}",
            "handle_unknwn",
            " Did you mean 'handle_unknown'?",
            "ordinal",
            11,
        ),
        ("[{impute: {fill_value: 0}}, ordinal]", "fill_value", "", "impute", 10),
    ],
)
def test_unknown_preprocessing_options_are_refused(folder, store_path, preprocess, option, closest, step, line):
    from rigorlab.models._sklearn import preprocess_option_names

    path = write(folder, preprocess=preprocess)
    expected = check_messages.MSG_PREPROCESS_OPTION.format(
        step=step,
        owner="models[0] (a)",
        option=option,
        where=f"{path}:{line}",
        closest=closest,
        valid=", ".join(preprocess_option_names(step)),
    )
    assert spec_error(path) == expected
    refused(path, expected, store_path)


def test_impute_takes_only_a_strategy_and_checks_its_value(folder):
    path = write(folder, preprocess="[{impute: {fill_value: 0}}, ordinal]")
    assert "Options of impute: strategy." in spec_error(path)
    path = write(folder, preprocess="[{impute: {strategy: meen}}, ordinal]")
    message = spec_error(path)
    prefix = check_messages.MSG_PREPROCESS_VALUE.split("{error}")[0].format(step="impute", owner="models[0] (a)")
    assert message.startswith(prefix + "The 'strategy' parameter of SimpleImputer must be")
    assert message.endswith(f"Got 'meen' instead ({path}:10).")
    path = write(folder, preprocess="[{impute: {strategy: mean}}, ordinal]")
    assert load_study(path).spec.models[0].preprocess_options()["impute"] == {"strategy": "mean"}


@pytest.mark.parametrize(
    ("audits", "option", "kind", "expected", "default", "got"),
    [
        ("{fairness: {n_boot: -5}}", "n_boot", "fairness", "a positive integer", "1000", "-5"),
        ("{fairness: {n_boot: 2.5}}", "n_boot", "fairness", "a positive integer", "1000", "2.5"),
        ("{fairness: {n_boot: null}}", "n_boot", "fairness", "a positive integer", "1000", "None"),
        (
            "{fairness: {confidence: 1.5}}",
            "confidence",
            "fairness",
            "a number between 0 and 1 (exclusive)",
            "0.95",
            "1.5",
        ),
        ("{fairness: {bins: 1}}", "bins", "fairness", "an integer >= 2", "4", "1"),
        ("{data: {label_issue_folds: 1}}", "label_issue_folds", "data", "an integer >= 2", "5", "1"),
        (
            "{data: {near_duplicate_tolerance: -0.1}}",
            "near_duplicate_tolerance",
            "data",
            "a number >= 0",
            "0.01",
            "-0.1",
        ),
        (
            "{robustness: {swap_rates: [0.1, 2]}}",
            "swap_rates",
            "robustness",
            "a non-empty list of shares between 0 and 1",
            "[0.0, 0.05, 0.1, 0.25, 0.5]",
            "[0.1, 2]",
        ),
        (
            "{robustness: {epsilons: []}}",
            "epsilons",
            "robustness",
            "a non-empty list of numbers >= 0",
            "[0.0, 0.05, 0.1, 0.25, 0.5]",
            "[]",
        ),
        ("{explain: {folds: some}}", "folds", "explain", "'first' or 'all'", "'first'", "'some'"),
        ("{explain: {top_features: 0}}", "top_features", "explain", "a positive integer", "5", "0"),
    ],
)
def test_audit_settings_out_of_range_are_refused(folder, store_path, audits, option, kind, expected, default, got):
    path = write(folder, dataset="{name: mine, path: d.csv, target: y, sensitive: [sex]}", extra=f"audits: {audits}\n")
    message = load_messages.MSG_AUDIT_OPTION_TYPE.format(
        option=option, kind=kind, expected=expected, default=default, got=got, where=f"{path}:11"
    )
    assert spec_error(path) == message
    if option == "n_boot" and got == "-5":
        refused(path, message, store_path)


def test_zero_turns_some_audit_parts_off():
    assert AUDIT_SETTING_RULES["robustness"]["blackbox_rows"].accepts(0)
    assert AUDIT_SETTING_RULES["explain"]["local_rows"].accepts(0)
    assert not AUDIT_SETTING_RULES["robustness"]["repeats"].accepts(0)


def test_every_audit_setting_has_a_rule_its_default_passes():
    for kind, defaults in DEFAULTS.items():
        rules = AUDIT_SETTING_RULES[kind]
        assert set(defaults) - {"positive_label"} == set(rules), kind
        for option, rule in rules.items():
            assert rule.accepts(defaults[option]), (kind, option)


def test_a_misspelt_choice_gets_the_closest_one(folder):
    path = write(folder)
    path.write_text(path.read_text().replace("kind: holdout", "kind: kfld"))
    message = spec_error(path)
    assert message.endswith(f"Got 'kfld' instead ({path}:3). Did you mean 'kfold'?")
    assert message.startswith("The 'kind' field of protocol must be one of 'holdout', 'kfold'")
    path = write(
        folder, model="trainer: torch\n    module: torch.nn:Linear\n    training: {optimizer: adma}", preprocess="[]"
    )
    assert spec_error(path).endswith("Did you mean 'adam'?")


def test_a_folder_given_as_path_is_called_a_folder(folder, store_path):
    (folder / "inside").mkdir()
    (folder / "inside" / "notes.txt").write_text("x")
    path = write(folder, dataset="{name: mine, path: inside, target: y}")
    expected = data_messages.MSG_PATH_IS_FOLDER.format(name="mine", path=folder / "inside", where=f"{path}:6", files="")
    refused(path, expected, store_path)
    pd.read_csv(folder / "d.csv").to_csv(folder / "inside" / "rows.csv", index=False)
    data = folder / "inside"
    files = f", for example {data / 'rows.csv'} (1 data file(s) there)"
    expected = data_messages.MSG_PATH_IS_FOLDER.format(name="mine", path=data, where=f"{path}:6", files=files)
    assert expected in one_line(invoke("check", str(path)).output)
