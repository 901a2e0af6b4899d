"""Dataset sources, fingerprints and the messages for bad data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rigorlab.data import fingerprint_frame, load_dataset
from rigorlab.errors import DataError
from rigorlab.spec import DatasetSpec


def spec(**fields) -> DatasetSpec:
    return DatasetSpec.model_validate(fields)


@pytest.mark.parametrize(
    ("name", "task", "rows"),
    [
        ("iris", "classification", 150),
        ("wine", "classification", 178),
        ("breast_cancer", "classification", 569),
        ("digits", "classification", 1797),
        ("diabetes", "regression", 442),
    ],
)
def test_builtins_load_with_their_task(name, task, rows):
    dataset = load_dataset(spec(name=name), Path("."))
    assert dataset.task == task
    assert dataset.n_rows == rows
    assert "target" not in dataset.features.columns
    assert len(dataset.fingerprint) == 64


def test_the_fingerprint_is_stable_and_sensitive_to_any_value():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    assert fingerprint_frame(frame) == fingerprint_frame(frame.copy())
    changed = frame.copy()
    changed.loc[1, "a"] = 2.0000001
    assert fingerprint_frame(changed) != fingerprint_frame(frame)
    assert fingerprint_frame(frame.rename(columns={"a": "c"})) != fingerprint_frame(frame)
    assert fingerprint_frame(frame.astype({"a": "float32"})) != fingerprint_frame(frame)


def write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def credit_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "income": rng.normal(size=40),
            "city": rng.choice(["a", "b", "c"], size=40),
            "sex": rng.choice(["f", "m"], size=40),
            "region": rng.choice(["north", "south"], size=40),
            "default": rng.integers(0, 2, size=40),
        }
    )


def test_csv_with_sensitive_and_group_columns(tmp_path):
    write_csv(tmp_path, credit_frame())
    dataset = load_dataset(
        spec(name="credit", path="data.csv", target="default", sensitive=["sex"], group="region"), tmp_path
    )
    assert list(dataset.features.columns) == ["income", "city"]  # sensitive and group are not features
    assert list(dataset.sensitive.columns) == ["sex"]
    assert dataset.group is not None and dataset.group.name == "region"
    assert dataset.task == "classification"
    assert dataset.categorical_columns == ["city"]
    assert dataset.source["kind"] == "file" and len(dataset.source["sha256"]) == 64


def test_parquet_and_explicit_features(tmp_path):
    credit_frame().to_parquet(tmp_path / "data.parquet")
    dataset = load_dataset(
        spec(name="credit", path="data.parquet", target="default", features=["income", "sex"]), tmp_path
    )
    assert list(dataset.features.columns) == ["income", "sex"]


def test_csv_and_parquet_of_the_same_table_have_the_same_fingerprint(tmp_path):
    frame = credit_frame()
    write_csv(tmp_path, frame)
    frame.to_parquet(tmp_path / "data.parquet")
    from_csv = load_dataset(spec(name="c", path="data.csv", target="default"), tmp_path)
    from_parquet = load_dataset(spec(name="c", path="data.parquet", target="default"), tmp_path)
    assert from_csv.fingerprint == from_parquet.fingerprint


def test_a_file_inside_an_installed_package():
    dataset = load_dataset(
        spec(name="arrests", package="sklego", path="data/arrests.zip", target="released", sensitive=["colour", "sex"]),
        Path("."),
    )
    assert dataset.n_rows == 5226
    assert dataset.task == "classification"
    assert set(dataset.classes) == {"No", "Yes"}
    assert dataset.source["kind"] == "package" and dataset.source["version"]


def test_a_callable_returning_a_dataframe(tmp_path, monkeypatch):
    (tmp_path / "my_data.py").write_text(
        "import pandas as pd\n"
        "def load(rows=30):\n"
        "    return pd.DataFrame({'x': range(rows), 'y': [i % 2 for i in range(rows)]})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    dataset = load_dataset(spec(name="mine", callable="my_data:load", kwargs={"rows": 20}, target="y"), tmp_path)
    assert dataset.n_rows == 20


def test_regression_is_inferred_for_a_continuous_target(tmp_path):
    frame = pd.DataFrame({"x": np.arange(50.0), "y": np.linspace(0, 1, 50) ** 2})
    write_csv(tmp_path, frame)
    assert load_dataset(spec(name="r", path="data.csv", target="y"), tmp_path).task == "regression"


def test_missing_file_message(tmp_path):
    with pytest.raises(DataError) as caught:
        load_dataset(spec(name="credit", path="nope.csv", target="default"), tmp_path, "study.yaml:7")
    assert str(caught.value) == (
        f"Dataset 'credit': the file {tmp_path / 'nope.csv'} does not exist (study.yaml:7). The path is relative to "
        "the study file's folder; check its spelling or give an absolute path."
    )


def test_absent_target_column_suggests_the_closest(tmp_path):
    write_csv(tmp_path, credit_frame())
    with pytest.raises(DataError) as caught:
        load_dataset(spec(name="credit", path="data.csv", target="defualt"), tmp_path, "study.yaml:7")
    message = str(caught.value)
    assert message.startswith(
        "Dataset 'credit': the target column 'defualt' is not in the data (study.yaml:7). Did you mean 'default'?"
    )
    assert "Columns: income, city, sex, region, default." in message


def test_missing_labels_are_refused(tmp_path):
    frame = credit_frame().astype({"default": "float"})
    frame.loc[[3, 9], "default"] = np.nan
    write_csv(tmp_path, frame)
    with pytest.raises(DataError, match=r"the target column 'default' has 2 missing label\(s\), first at row 3"):
        load_dataset(spec(name="credit", path="data.csv", target="default"), tmp_path)


def test_unknown_package_and_package_file(tmp_path):
    with pytest.raises(DataError, match="the package 'nosuchpackage' is not installed"):
        load_dataset(spec(name="a", package="nosuchpackage", path="x.csv", target="y"), tmp_path)
    with pytest.raises(DataError, match=r"has no file 'data/arrest.zip'.*Did you mean 'data/arrests.zip'\?"):
        load_dataset(spec(name="a", package="sklego", path="data/arrest.zip", target="y"), tmp_path)


def test_callable_that_does_not_return_a_dataframe(tmp_path, monkeypatch):
    (tmp_path / "bad_data.py").write_text("def load():\n    return [1, 2, 3]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DataError, match="returned list, not a pandas DataFrame"):
        load_dataset(spec(name="b", callable="bad_data:load", target="y"), tmp_path)


def test_unreadable_file(tmp_path):
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read .*broken.parquet as Parquet"):
        load_dataset(spec(name="b", path="broken.parquet", target="y"), tmp_path)
