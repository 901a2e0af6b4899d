"""Study bundles: what a reader of the paper needs to re-run and verify a study, in one .tar.gz.

A bundle holds the study file, the resolved trial plan, every trial's provenance, an environment
lock (exact package versions), the datasets' fingerprints (and, with ``with_data``, the data
files), the stored results as CSV, and a store holding only this study, so that
``rigorlab reproduce BUNDLE.tar.gz`` re-runs and verifies it on another machine. A manifest lists
every file with its sha256: a damaged bundle is refused, never half-read.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigorlab.data import file_sha256
from rigorlab.errors import DataError, InputError, SchemaVersionError
from rigorlab.provenance._capture import now_iso
from rigorlab.provenance._verification import ReproductionReport, TrialVerification
from rigorlab.spec._load import add_import_path

if TYPE_CHECKING:
    from rigorlab.provenance._compare import Tolerances
    from rigorlab.store import RunStore

__all__ = ["BundleInfo", "OpenedBundle", "open_bundle", "reproduce_bundle", "write_bundle"]

BUNDLE_KIND = "rigorlab-bundle"
BUNDLE_FORMAT = 1
MANIFEST = "MANIFEST.json"
BUNDLE_SUFFIXES = (".tar.gz", ".tgz")

MSG_OUT_EXISTS = "{path} already exists; pass --force to overwrite it, or give another path."
MSG_OUT_SUFFIX = "A bundle is a gzipped tar file: give it a name ending in .tar.gz (got {path})."
MSG_BUNDLE_MISSING = "There is no bundle at {path}. Give the path of a .tar.gz made by `rigorlab bundle`."
MSG_BUNDLE_CORRUPT = (
    "{path} is not a readable rigorlab bundle: {reason}. If it was damaged in transfer, copy it again; "
    "otherwise make it again with `rigorlab bundle STUDY OUT.tar.gz`."
)
MSG_BUNDLE_NEWER = (
    "{path} was made by a newer rigorlab ({what} {found}; this rigorlab reads up to {supported}). Upgrade "
    "rigorlab (pip install -U rigorlab) to reproduce it; nothing was changed."
)
MSG_BUNDLE_FILE_CHANGED = (
    "{path} is damaged: {member} does not match the sha256 in its manifest. Copy the bundle again."
)
MSG_DATA_FILE_GONE = (
    "Dataset '{name}': the file {path} is not there any more, so --with-data cannot include it. Put it back "
    "(sha256 {sha}), or make the bundle without --with-data."
)
MSG_DATA_FILE_CHANGED = (
    "Dataset '{name}': the file {path} changed since the study ran (sha256 {found}, recorded {recorded}); a "
    "bundle with it would not verify. Restore the file the study used, or run the study again."
)
NOT_BUNDLED_CALLABLE = "a callable: the reader needs the module {callable} (not bundled)"
NOT_BUNDLED_BUILTIN = "a scikit-learn built-in: it ships with scikit-learn"
NOT_BUNDLED_PACKAGE = "a file of the package {package}, which is not installed here (not bundled)"
NOT_BUNDLED_NO_DATA = "not bundled (made without --with-data)"

README = """\
# Bundle of the rigorlab study `{study}`

Made on {created_at} with rigorlab {version}. To re-run every trial and verify that its results come
out the same (bit-identical on CPU in the same environment; within stated tolerances otherwise):

    pip install rigorlab          # then, ideally, the exact versions: pip install -r requirements.lock.txt
    rigorlab reproduce {name}

- `study.yaml`: the study file as it ran.
- `plan.json`: the resolved trial plan (arms' configurations; each trial's seeds and fingerprints).
- `provenance.jsonl`: one line per stored trial (configuration, seeds, fingerprints, git, times).
- `requirements.lock.txt`, `environments/`: the exact Python, packages and hardware of each environment.
- `datasets.json`: dataset fingerprints and summaries; `data/`: the data files (when bundled).
- `results/`: the stored trials and metrics as CSV; `store/`: a rigorlab store holding only this study.
- Python modules beside `study.yaml` (if any): the study's own estimators, networks or data loaders.
"""


@dataclass
class BundleInfo:
    """What :func:`write_bundle` wrote."""

    path: Path
    study: str
    trials: int
    files: int
    size_bytes: int
    data_files: list[str] = field(default_factory=list)
    not_bundled: dict[str, str] = field(default_factory=dict)


@dataclass
class OpenedBundle:
    """An extracted, checked bundle: its folder, manifest, store and data files by dataset name."""

    root: Path
    manifest: dict[str, Any]
    study: str
    store_path: Path
    study_file: Path | None
    data_files: dict[str, Path]


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _lock(environment: Mapping[str, Any], note: str) -> str:
    lines = [
        f"# {note}",
        f"# Python {environment.get('python')} ({environment.get('python_implementation')}) on "
        f"{environment.get('platform')}; CPU {environment.get('cpu')}",
    ]
    lines += [f"{name}=={version}" for name, version in sorted((environment.get("packages") or {}).items())]
    return "\n".join(lines) + "\n"


def _data_file(name: str, summary: Mapping[str, Any]) -> tuple[Path | None, str | None]:
    """The file a dataset was read from, or why none is bundled."""
    source = dict(summary.get("source") or {})
    kind = source.get("kind")
    if kind == "file":
        path = Path(str(source.get("resolved") or source.get("path")))
        if not path.is_file():
            raise DataError(MSG_DATA_FILE_GONE.format(name=name, path=path, sha=str(source.get("sha256"))[:16]))
        return path, None
    if kind == "package":
        try:
            resource = importlib.resources.files(str(source["package"])).joinpath(str(source["path"]))
        except ModuleNotFoundError:
            return None, NOT_BUNDLED_PACKAGE.format(package=source["package"])
        with importlib.resources.as_file(resource) as real:
            return Path(real), None
    if kind == "callable":
        return None, NOT_BUNDLED_CALLABLE.format(callable=source.get("callable"))
    return None, NOT_BUNDLED_BUILTIN


def _local_code(import_paths: set[str], folder: Path) -> dict[str, Path]:
    """The user's own modules (estimators, torch modules, dataset callables) that live in the study
    file's folder rather than in an installed package: top-level name -> module file or package folder."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    add_import_path(folder)
    for path in sorted(import_paths):
        top = path.replace(":", ".").split(".")[0]
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin).resolve()
        located = origin.parent if origin.name == "__init__.py" else origin
        if located.is_relative_to(folder.resolve()):
            found[top] = located
    return found


def _copy_code(code: Mapping[str, Path], root: Path) -> None:
    # Beside study.yaml, as they were beside the study file: importable from the bundle's folder.
    for located in code.values():
        files = [located] if located.is_file() else sorted(located.rglob("*.py"))
        for file in files:
            relative = file.name if located.is_file() else Path(located.name) / file.relative_to(located)
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, root / relative)


def _stage(
    store: RunStore, study: str, root: Path, with_data: bool, bundle_name: str
) -> tuple[int, list[str], dict[str, str]]:
    from rigorlab._version import __version__
    from rigorlab.store import SCHEMA_VERSION

    info = store.study_info(study)
    store.export_study(study, root / "store")
    if info.get("spec_text"):
        (root / "study.yaml").write_text(str(info["spec_text"]), encoding="utf-8")
    every = store.trials(study, all_trials=True)
    current = store.trials(study)
    results = root / "results"
    results.mkdir(parents=True)
    current.to_csv(results / "trials.csv", index=False)
    store.metrics(study).to_csv(results / "metrics.csv", index=False)
    records = [store.provenance(study, key) for key in every["key"]]
    environments = {r["environment_hash"]: r.pop("environment") for r in records if r.get("environment_hash")}
    with (root / "provenance.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    planned = set(current["key"])
    _write_json(
        root / "plan.json",
        {
            "arms": {r["arm"]: r["config"] for r in records if r["key"] in planned},
            "trials": [
                {
                    k: r[k]
                    for k in (
                        "key",
                        "arm",
                        "dataset",
                        "replicate",
                        "fold",
                        "status",
                        "seeds",
                        "dataset_fingerprint",
                        "split_fingerprint",
                    )
                }
                for r in records
                if r["key"] in planned
            ],
        },
    )
    usage = Counter(r.get("environment_hash") for r in records if r.get("environment_hash"))
    for env_hash, environment in environments.items():
        _write_json(root / "environments" / f"{env_hash}.json", environment)
        note = f"environment {env_hash}: {usage[env_hash]} trial(s) of study {study}"
        (root / "environments" / f"{env_hash}.requirements.txt").write_text(_lock(environment, note), encoding="utf-8")
    if usage:
        main_hash = usage.most_common(1)[0][0]
        note = f"the environment most trials of study {study} ran in ({main_hash})"
        (root / "requirements.lock.txt").write_text(_lock(environments[main_hash], note), encoding="utf-8")
    datasets = store.datasets(study).to_dict("records")
    imports = {str(r["config"].get("estimator")) for r in records if (r.get("config") or {}).get("estimator")}
    imports |= {
        str(d["summary"]["source"]["callable"]) for d in datasets if d["summary"].get("source", {}).get("callable")
    }
    spec_path = info.get("spec_path")
    code = _local_code(imports, Path(str(spec_path)).parent) if spec_path else {}
    _copy_code(code, root)
    _write_json(
        root / "datasets.json", [{"name": d["name"], "fingerprint": d["fingerprint"], **d["summary"]} for d in datasets]
    )
    data_files: dict[str, str] = {}
    not_bundled: dict[str, str] = {}
    for dataset in datasets:
        name, summary = str(dataset["name"]), dict(dataset["summary"])
        if not with_data:
            kind = (summary.get("source") or {}).get("kind")
            if kind in ("file", "package"):
                not_bundled[name] = NOT_BUNDLED_NO_DATA
            continue
        path, reason = _data_file(name, summary)
        if path is None:
            not_bundled[name] = str(reason)
            continue
        recorded = (summary.get("source") or {}).get("sha256")
        found = file_sha256(path)
        if recorded and found != recorded:
            raise DataError(
                MSG_DATA_FILE_CHANGED.format(name=name, path=path, found=found[:16], recorded=str(recorded)[:16])
            )
        target = root / "data" / name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        data_files[name] = target.relative_to(root).as_posix()
    created_at = now_iso()
    (root / "README.md").write_text(
        README.format(study=study, created_at=created_at, version=__version__, name=bundle_name),
        encoding="utf-8",
    )
    files = {p.relative_to(root).as_posix(): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    _write_json(
        root / MANIFEST,
        {
            "kind": BUNDLE_KIND,
            "format": BUNDLE_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "rigorlab_version": __version__,
            "study": study,
            "created_at": created_at,
            "original_study_path": info.get("spec_path"),
            "trials": len(every),
            "code": sorted(code),
            "datasets": {
                str(d["name"]): {
                    "fingerprint": d["fingerprint"],
                    "file": data_files.get(str(d["name"])),
                    "not_bundled": not_bundled.get(str(d["name"])),
                }
                for d in datasets
            },
            "files": files,
        },
    )
    return len(every), sorted(data_files), not_bundled


def write_bundle(
    study: str,
    out: str | Path,
    *,
    store: RunStore | str | Path | None = None,
    with_data: bool = False,
    force: bool = False,
) -> BundleInfo:
    """Write a study bundle: everything a reader needs to re-run and verify the study.

    Parameters
    ----------
    study : str
        The study name.
    out : path
        The .tar.gz to write (written to a temporary name and renamed: never half-written).
    store : RunStore or path, optional
        Default: ``$RIGORLAB_STORE`` or ``./.rigorlab`` (opened read-only: nothing in it changes).
    with_data : bool
        Include the data files (CSV/Parquet files and files inside packages); built-in datasets
        ship with scikit-learn.
    force : bool
        Overwrite ``out`` when it exists.

    Examples
    --------
    >>> info = write_bundle("quickstart", "quickstart.tar.gz")  # doctest: +SKIP
    >>> info.trials  # doctest: +SKIP
    150
    """
    from rigorlab.store import RunStore, open_store

    out = Path(out)
    if not out.name.endswith(BUNDLE_SUFFIXES):
        raise InputError(MSG_OUT_SUFFIX.format(path=out))
    if out.exists() and not force:
        raise InputError(MSG_OUT_EXISTS.format(path=out))
    reader = store if isinstance(store, RunStore) else open_store(store, read_only=True)
    try:
        reader.study_info(study)  # an unknown study fails here, before anything is written
        with tempfile.TemporaryDirectory(prefix="rigorlab-bundle-") as staging:
            root = Path(staging) / f"{study}-bundle"
            root.mkdir()
            trials, data_files, not_bundled = _stage(reader, study, root, with_data, out.name)
            out.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=out.parent, suffix=".tar.gz.tmp")
            os.close(descriptor)
            try:
                with tarfile.open(temporary, "w:gz") as archive:
                    archive.add(root, arcname=root.name)
                # mkstemp creates the file private (0600); a bundle is meant to be shared.
                os.chmod(temporary, 0o666 & ~_umask())
                os.replace(temporary, out)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            count = sum(1 for p in root.rglob("*") if p.is_file())
    finally:
        if not isinstance(store, RunStore):
            reader.close()
    return BundleInfo(out, study, trials, count, out.stat().st_size, data_files, not_bundled)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _corrupt(path: Path, reason: str) -> InputError:
    return InputError(MSG_BUNDLE_CORRUPT.format(path=path, reason=reason))


def open_bundle(path: str | Path, into: str | Path) -> OpenedBundle:
    """Extract a bundle into the folder ``into`` and check it against its manifest.

    Raises
    ------
    InputError
        The file is missing, not a bundle, truncated, or a file in it does not match its sha256.
    SchemaVersionError
        The bundle was made by a newer rigorlab.
    """
    from rigorlab.store import SCHEMA_VERSION

    path = Path(path)
    if not path.is_file():
        raise InputError(MSG_BUNDLE_MISSING.format(path=path))
    try:
        with tarfile.open(path, "r:*") as archive:
            names = archive.getnames()
            tops = {name.split("/", 1)[0] for name in names}
            if len(tops) != 1:
                raise _corrupt(path, f"it should hold one folder, it holds {len(tops)} top-level entries")
            top = tops.pop()
            if f"{top}/{MANIFEST}" not in names:
                raise _corrupt(path, f"it has no {MANIFEST}")
            # The 'data' filter refuses absolute paths, links out of the folder and device files.
            archive.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _corrupt(path, f"{type(error).__name__}: {error}") from error
    root = Path(into) / top
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise _corrupt(path, f"its {MANIFEST} cannot be read ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("kind") != BUNDLE_KIND:
        raise _corrupt(path, f"its {MANIFEST} is not a rigorlab bundle manifest")
    for what, found, supported in (
        ("bundle format", manifest.get("format"), BUNDLE_FORMAT),
        ("store schema", manifest.get("schema_version"), SCHEMA_VERSION),
    ):
        if not isinstance(found, int) or found > supported:
            raise SchemaVersionError(MSG_BUNDLE_NEWER.format(path=path, what=what, found=found, supported=supported))
    for member, checksum in dict(manifest.get("files") or {}).items():
        file = root / member
        if not file.is_file():
            raise _corrupt(path, f"{member} is listed in its manifest but missing")
        if file_sha256(file) != checksum:
            raise InputError(MSG_BUNDLE_FILE_CHANGED.format(path=path, member=member))
    data_files = {
        name: root / entry["file"]
        for name, entry in dict(manifest.get("datasets") or {}).items()
        if isinstance(entry, dict) and entry.get("file")
    }
    study_file = root / "study.yaml"
    return OpenedBundle(
        root=root,
        manifest=manifest,
        study=str(manifest["study"]),
        store_path=root / "store",
        study_file=study_file if study_file.is_file() else None,
        data_files=data_files,
    )


def reproduce_bundle(
    path: str | Path,
    *,
    tolerances: Tolerances | None = None,
    jobs: int | None = None,
    data_dir: str | Path | None = None,
    keep: bool = False,
    scratch_dir: str | Path | None = None,
    dry_run: bool = False,
    on_start: Callable[[ReproductionReport], None] | None = None,
    on_result: Callable[[TrialVerification], None] | None = None,
    **selection: Any,
) -> ReproductionReport:
    """Reproduce and verify the study in a bundle, on this machine (see :func:`reproduce`).

    The bundle is extracted into a temporary folder (kept with ``keep``); the verdicts are
    returned, not recorded (the bundle's store is a copy). ``selection`` takes ``trials``,
    ``sample``, ``all_trials`` and ``seed`` as :func:`reproduce` does.

    Examples
    --------
    >>> report = reproduce_bundle("quickstart.tar.gz", jobs=2)  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
    """
    from rigorlab.provenance._reproduce import reproduce

    folder = Path(tempfile.mkdtemp(prefix="rigorlab-bundle-", dir=scratch_dir))
    try:
        opened = open_bundle(path, folder)
        original = opened.manifest.get("original_study_path")
        # On the machine that made it, files not bundled are still where the study read them.
        base = Path(original).parent if original and Path(original).parent.is_dir() else opened.root
        return reproduce(
            opened.study,
            store=opened.store_path,
            tolerances=tolerances,
            jobs=jobs,
            data_dir=data_dir,
            record=False,
            keep=keep,
            scratch_dir=scratch_dir,
            dry_run=dry_run,
            base_dir=base,
            data_files=opened.data_files,
            source=str(path),
            on_start=on_start,
            on_result=on_result,
            **selection,
        )
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
