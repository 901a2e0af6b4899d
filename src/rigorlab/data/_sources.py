"""Dataset sources: scikit-learn built-ins, CSV/Parquet files, files inside packages, callables.

Every source ends as a :class:`Dataset`: the feature table, the target, the optional sensitive and
group columns, and a content fingerprint that changes when any value, column name or dtype does.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rigorlab.errors import DataError, did_you_mean
from rigorlab.spec._checks import MSG_FEATURES_EMPTY, MSG_FEATURES_TARGET
from rigorlab.spec._imports import ModuleBroken, import_attribute
from rigorlab.spec._model import BUILTIN_DATASETS, DatasetSpec

__all__ = ["Dataset", "file_sha256", "fingerprint_frame", "load_dataset"]

MSG_FILE_MISSING = (
    "Dataset '{name}': the file {path} does not exist ({where}). The path is relative to the study file's "
    "folder; check its spelling or give an absolute path."
)
MSG_PATH_IS_FOLDER = (
    "Dataset '{name}': path: {path} is a folder, not a file ({where}). Give the CSV or Parquet file inside it{files}."
)
MSG_FILE_FORMAT = (
    "Dataset '{name}': cannot read {path} as {fmt}: {reason} ({where}). Give a CSV (.csv, .csv.gz, .zip) "
    "or Parquet (.parquet) file."
)
MSG_PACKAGE_MISSING = (
    "Dataset '{name}': the package '{package}' is not installed ({where}). Install it (for example "
    "`pip install {package}`) or point path: at a copy of the file."
)
MSG_PACKAGE_FILE_MISSING = "Dataset '{name}': the package '{package}' has no file '{path}' ({where}).{closest}"
MSG_CALLABLE_IMPORT = (
    "Dataset '{name}': cannot import the callable '{path}': {reason} ({where}). Give module:function, where "
    "the module is importable from the study file's folder or the installed packages."
)
MSG_CALLABLE_BROKEN = (
    "Dataset '{name}': the module '{module}' of the callable '{path}' failed while being imported: {reason} "
    "({where}). Fix that error in the module (importing it runs its top-level code), then run `rigorlab check` "
    "again."
)
MSG_CALLABLE_RESULT = "Dataset '{name}': the callable '{path}' returned {got}, not a pandas DataFrame ({where})."
MSG_CALLABLE_FAILED = "Dataset '{name}': the callable '{path}' raised {reason} ({where})."
MSG_COLUMN_MISSING = (
    "Dataset '{name}': the {role} column '{column}' is not in the data ({where}).{closest} Columns: {columns}."
)
MSG_TARGET_MISSING_VALUES = (
    "Dataset '{name}': the target column '{column}' has {count} missing label(s), first at row {row} "
    "({where}). Drop or fill those rows before the study runs."
)
MSG_REGRESSION_TEXT_TARGET = (
    "Dataset '{name}': task: regression needs a numeric target, but the target column '{column}' holds {count} "
    "non-numeric value(s) of {rows}, such as {example!r} ({where}). Use task: classification or a numeric target."
)
MSG_CLASSIFICATION_CONTINUOUS = (
    "Dataset '{name}': task: classification needs class labels, but the target column '{column}' holds numbers "
    "that are not whole, such as {example!r} ({distinct} distinct values in {rows} rows) ({where}). Use task: "
    "regression, or a target column of classes."
)
MSG_EMPTY = "Dataset '{name}' has no rows ({where})."
MSG_ONE_CLASS = (
    "Dataset '{name}': the target column '{column}' holds a single class ({value!r}) ({where}); "
    "a classification task needs at least two."
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset.

    Attributes
    ----------
    features : DataFrame of shape (n_rows, n_features)
    target : array of shape (n_rows,)
    sensitive : DataFrame of shape (n_rows, n_sensitive), possibly with no columns
    group : Series of shape (n_rows,) or None
    fingerprint : str
        sha256 of the content (values, column names and dtypes of features, target, sensitive, group).
    """

    name: str
    features: pd.DataFrame
    target: NDArray[Any]
    task: str
    target_name: str
    sensitive: pd.DataFrame
    group: pd.Series | None
    fingerprint: str
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.target)

    @property
    def classes(self) -> list[Any]:
        if self.task != "classification":
            return []
        return [_plain(value) for value in np.unique(self.target)]

    @property
    def categorical_columns(self) -> list[str]:
        return [str(c) for c in self.features.columns if not pd.api.types.is_numeric_dtype(self.features[c])]

    @property
    def numeric_columns(self) -> list[str]:
        return [str(c) for c in self.features.columns if pd.api.types.is_numeric_dtype(self.features[c])]

    def summary(self) -> dict[str, Any]:
        """What the methods section and the store record about the dataset."""
        info: dict[str, Any] = {
            "name": self.name,
            "rows": self.n_rows,
            "columns": int(self.features.shape[1]),
            "numeric_columns": len(self.numeric_columns),
            "categorical_columns": len(self.categorical_columns),
            "task": self.task,
            "target": self.target_name,
            "fingerprint": self.fingerprint,
            "sensitive": [str(c) for c in self.sensitive.columns],
            "group": None if self.group is None else str(self.group.name),
            "missing_values": int(self.features.isna().sum().sum()),
            "source": self.source,
        }
        if self.task == "classification":
            values, counts = np.unique(self.target, return_counts=True)
            info["class_balance"] = {str(v): int(c) for v, c in zip(values, counts, strict=True)}
        return info


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """sha256 of a DataFrame's values, column names and dtypes (row order matters, index does not)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_table(path: Path, name: str, where: str) -> pd.DataFrame:
    suffixes = "".join(path.suffixes).lower()
    fmt = "Parquet" if suffixes.endswith((".parquet", ".pq")) else "CSV"
    try:
        if fmt == "Parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise DataError(
            MSG_FILE_FORMAT.format(
                name=name, path=path, fmt=fmt, reason=f"{type(error).__name__}: {error}", where=where
            )
        ) from error


def _load_builtin(spec: DatasetSpec) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    import sklearn
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{spec.name}")(as_frame=True)
    frame = bunch.frame.copy()
    target = "target"
    source = {"kind": "builtin", "loader": f"sklearn.datasets.load_{spec.name}", "sklearn": sklearn.__version__}
    return frame, target, source


def _looks_like_data(path: Path) -> bool:
    suffixes = "".join(path.suffixes).lower()
    return suffixes.endswith((".csv", ".csv.gz", ".zip", ".parquet", ".pq"))


def _load_file(spec: DatasetSpec, base_dir: Path, where: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    assert spec.path is not None
    path = Path(spec.path)
    path = path if path.is_absolute() else base_dir / path
    if path.is_dir():
        data_files = sorted(p.name for p in path.iterdir() if p.is_file() and _looks_like_data(p))
        files = f", for example {path / data_files[0]} ({len(data_files)} data file(s) there)" if data_files else ""
        raise DataError(MSG_PATH_IS_FOLDER.format(name=spec.name, path=path, where=where, files=files))
    if not path.is_file():
        raise DataError(MSG_FILE_MISSING.format(name=spec.name, path=path, where=where))
    frame = _read_table(path, spec.name, where)
    return frame, {
        "kind": "file",
        "path": str(spec.path),
        "resolved": str(path.resolve()),
        "sha256": file_sha256(path),
    }


def _load_package_file(spec: DatasetSpec, where: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    assert spec.package is not None and spec.path is not None
    try:
        root = importlib.resources.files(spec.package)
    except ModuleNotFoundError as error:
        raise DataError(MSG_PACKAGE_MISSING.format(name=spec.name, package=spec.package, where=where)) from error
    resource = root.joinpath(spec.path)
    if not resource.is_file():
        parent = resource.parent if hasattr(resource, "parent") else root
        try:
            names = [
                f"{spec.path.rsplit('/', 1)[0]}/{p.name}" if "/" in spec.path else p.name for p in parent.iterdir()
            ]
        except (OSError, FileNotFoundError, NotADirectoryError):
            names = []
        closest = did_you_mean(spec.path, names, cutoff=0.4)
        raise DataError(
            MSG_PACKAGE_FILE_MISSING.format(
                name=spec.name, package=spec.package, path=spec.path, where=where, closest=closest
            )
        )
    with importlib.resources.as_file(resource) as real_path:
        frame = _read_table(Path(real_path), spec.name, where)
        sha = file_sha256(Path(real_path))
    # The import name (sklego) and the distribution name (scikit-lego) can differ.
    top_level = spec.package.split(".")[0]
    distributions = importlib.metadata.packages_distributions().get(top_level, [top_level])
    try:
        version: str | None = importlib.metadata.version(distributions[0])
    except importlib.metadata.PackageNotFoundError:
        version = None
    return frame, {
        "kind": "package",
        "package": spec.package,
        "distribution": distributions[0],
        "path": spec.path,
        "version": version,
        "sha256": sha,
    }


def _load_callable(spec: DatasetSpec, where: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    assert spec.callable_ is not None
    try:
        function = import_attribute(spec.callable_)
    except ModuleBroken as error:
        raise DataError(
            MSG_CALLABLE_BROKEN.format(
                name=spec.name, module=error.module, path=spec.callable_, reason=error.reason, where=where
            )
        ) from error
    except (ImportError, AttributeError, ValueError) as error:
        raise DataError(
            MSG_CALLABLE_IMPORT.format(
                name=spec.name, path=spec.callable_, reason=f"{type(error).__name__}: {error}", where=where
            )
        ) from error
    try:
        frame = function(**spec.kwargs)
    except Exception as error:  # user code: any exception is reported, never swallowed
        raise DataError(
            MSG_CALLABLE_FAILED.format(
                name=spec.name, path=spec.callable_, reason=f"{type(error).__name__}: {error}", where=where
            )
        ) from error
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            MSG_CALLABLE_RESULT.format(name=spec.name, path=spec.callable_, got=type(frame).__name__, where=where)
        )
    return frame, {"kind": "callable", "callable": spec.callable_, "kwargs": spec.kwargs}


def _require_columns(frame: pd.DataFrame, columns: list[str], role: str, name: str, where: str) -> None:
    present = [str(c) for c in frame.columns]
    for column in columns:
        if column not in present:
            raise DataError(
                MSG_COLUMN_MISSING.format(
                    name=name,
                    role=role,
                    column=column,
                    where=where,
                    closest=did_you_mean(column, present),
                    columns=", ".join(present[:30]) + (" ..." if len(present) > 30 else ""),
                )
            )


def _infer_task(target: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    values = target.dropna()
    is_integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    if is_integral and values.nunique() <= max(20, int(0.05 * len(values)) if len(values) < 400 else 20):
        return "classification"
    return "regression"


def _check_feature_list(spec: DatasetSpec, target_name: str, where: str) -> None:
    """The study file's loader refuses these with the features: line; this guards a DatasetSpec built in Python."""
    owner = f"dataset '{spec.name}'"
    if spec.features is not None and not spec.features:
        raise DataError(MSG_FEATURES_EMPTY.format(owner=owner, where=where))
    if spec.features is not None and target_name in spec.features:
        raise DataError(MSG_FEATURES_TARGET.format(owner=owner, column=target_name, where=where))


def _numeric_target(target: pd.Series, name: str, where: str) -> NDArray[np.float64]:
    """A regression target as floats; text that is not a number is refused with an example."""
    if pd.api.types.is_numeric_dtype(target):
        return target.to_numpy(dtype=float)
    numbers = pd.to_numeric(target, errors="coerce")
    bad = numbers.isna().to_numpy() & target.notna().to_numpy()
    if bad.any():
        raise DataError(
            MSG_REGRESSION_TEXT_TARGET.format(
                name=name,
                column=target.name,
                count=int(bad.sum()),
                rows=len(target),
                example=_plain(target.to_numpy()[np.flatnonzero(bad)[0]]),
                where=where,
            )
        )
    return numbers.to_numpy(dtype=float)


def _require_labels(target: pd.Series, name: str, where: str) -> None:
    """A float target with fractional values is continuous: scikit-learn's classifiers refuse it in every trial."""
    if not pd.api.types.is_float_dtype(target):
        return
    values = target.to_numpy(dtype=float)
    fractional = np.mod(values, 1) != 0
    if fractional.any():
        raise DataError(
            MSG_CLASSIFICATION_CONTINUOUS.format(
                name=name,
                column=target.name,
                example=float(values[np.flatnonzero(fractional)[0]]),
                distinct=int(target.nunique()),
                rows=len(target),
                where=where,
            )
        )


def load_dataset(spec: DatasetSpec, base_dir: Path, where: str = "") -> Dataset:
    """Load one dataset as declared in a study file.

    Parameters
    ----------
    spec : DatasetSpec
    base_dir : Path
        Folder that relative paths (and callable modules) are resolved against.
    where : str
        ``file:line`` of the dataset's declaration, for messages.
    """
    kind = spec.source_kind
    if kind == "builtin":
        frame, target_name, source = _load_builtin(spec)
        task = BUILTIN_DATASETS[spec.name]
    else:
        if kind == "file":
            frame, source = _load_file(spec, base_dir, where)
        elif kind == "package":
            frame, source = _load_package_file(spec, where)
        else:
            frame, source = _load_callable(spec, where)
        assert spec.target is not None
        target_name = spec.target
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(MSG_EMPTY.format(name=spec.name, where=where))
    _require_columns(frame, [target_name], "target", spec.name, where)
    _require_columns(frame, list(spec.sensitive), "sensitive", spec.name, where)
    if spec.group is not None:
        _require_columns(frame, [spec.group], "group", spec.name, where)
    if spec.features is not None:
        _check_feature_list(spec, target_name, where)
        _require_columns(frame, list(spec.features), "feature", spec.name, where)

    target_series = frame[target_name]
    missing = target_series.isna().to_numpy()
    if missing.any():
        raise DataError(
            MSG_TARGET_MISSING_VALUES.format(
                name=spec.name,
                column=target_name,
                count=int(missing.sum()),
                row=int(np.flatnonzero(missing)[0]),
                where=where,
            )
        )
    task = spec.task or (BUILTIN_DATASETS.get(spec.name) if kind == "builtin" else None) or _infer_task(target_series)
    if spec.features is not None:
        feature_columns = list(spec.features)
    else:
        # Sensitive and group columns describe the rows; they are features only when listed in features:.
        excluded = {target_name, *spec.sensitive, *([spec.group] if spec.group else [])}
        feature_columns = [c for c in frame.columns if c not in excluded]
    features = frame[feature_columns].reset_index(drop=True)
    if task == "classification":
        target = target_series.to_numpy()
        if not pd.api.types.is_numeric_dtype(target_series):
            target = target_series.astype(str).to_numpy(dtype=str)
        if len(np.unique(target)) < 2:
            raise DataError(
                MSG_ONE_CLASS.format(name=spec.name, column=target_name, value=_plain(target[0]), where=where)
            )
        _require_labels(target_series, spec.name, where)
    else:
        target = _numeric_target(target_series, spec.name, where)
    sensitive = frame[list(spec.sensitive)].reset_index(drop=True)
    group = frame[spec.group].reset_index(drop=True) if spec.group else None

    whole = pd.concat(
        [features, pd.Series(target, name=f"__target__{target_name}"), sensitive.add_prefix("__sensitive__")]
        + ([group.rename(f"__group__{spec.group}")] if group is not None else []),
        axis=1,
    )
    return Dataset(
        name=spec.name,
        features=features,
        target=target,
        task=task,
        target_name=target_name,
        sensitive=sensitive,
        group=group,
        fingerprint=fingerprint_frame(whole),
        source=source,
    )
