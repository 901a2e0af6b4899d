"""Study bundles: what they hold, that one made here reproduces from an empty folder once the
original is gone, and clear refusals of damaged, foreign or newer bundles."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import sys
import tarfile
from pathlib import Path

import pytest
import sklearn

from rigorlab import open_store, run_study
from rigorlab.errors import InputError, NotFoundError, SchemaVersionError
from rigorlab.provenance import open_bundle, reproduce_bundle, write_bundle
from rigorlab.provenance._bundle import (
    MSG_BUNDLE_CORRUPT,
    MSG_BUNDLE_FILE_CHANGED,
    MSG_BUNDLE_MISSING,
    MSG_BUNDLE_NEWER,
    MSG_OUT_EXISTS,
    MSG_OUT_SUFFIX,
    NOT_BUNDLED_NO_DATA,
)
from rigorlab.provenance._rebuild import MSG_DATA_MOVED
from rigorlab.store import SCHEMA_VERSION, TrialResult
from tests.provenance.conftest import TRIALS


@pytest.fixture(scope="module")
def bundled(ran: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle (with data) of the shared study; never change it."""
    out = tmp_path_factory.mktemp("bundle") / "verify.tar.gz"
    write_bundle("verify", out, store=ran / ".rigorlab", with_data=True)
    return out


def test_a_bundle_holds_what_a_reader_needs(bundled, ran, tmp_path):
    with tarfile.open(bundled) as archive:
        names = set(archive.getnames())
        lock = archive.extractfile("verify-bundle/requirements.lock.txt").read().decode()  # type: ignore[union-attr]
        plan = json.load(archive.extractfile("verify-bundle/plan.json"))  # type: ignore[arg-type]
        datasets = json.load(archive.extractfile("verify-bundle/datasets.json"))  # type: ignore[arg-type]
    for member in (
        "MANIFEST.json",
        "README.md",
        "study.yaml",
        "plan.json",
        "provenance.jsonl",
        "requirements.lock.txt",
        "datasets.json",
        "data/wine_file/wine.csv",
        "results/trials.csv",
        "results/metrics.csv",
        "store/rigorlab.sqlite",
    ):
        assert f"verify-bundle/{member}" in names, member
    assert f"scikit-learn=={sklearn.__version__}" in lock.splitlines()
    assert len(plan["trials"]) == TRIALS and set(plan["arms"]) == {"logreg", "forest"}
    assert {d["name"] for d in datasets} == {"iris", "wine_file"} and all(d["fingerprint"] for d in datasets)
    assert (ran / "study.yaml").read_text() in open_bundle(bundled, tmp_path).study_file.read_text()


def test_a_bundle_made_here_reproduces_from_an_empty_folder_once_the_original_is_gone(fresh, tmp_path, monkeypatch):
    folder, store = fresh
    shipped = tmp_path / "shipped"
    with_data = write_bundle("verify", shipped / "with-data.tar.gz", store=store, with_data=True)
    without = write_bundle("verify", shipped / "without-data.tar.gz", store=store)
    assert with_data.data_files == ["wine_file"] and without.not_bundled == {"wine_file": NOT_BUNDLED_NO_DATA}
    original_wine = (folder / "data" / "wine.csv").resolve()
    shutil.rmtree(folder)  # the study file, its data and its store: as on a reader's machine
    empty = tmp_path / "reader"
    empty.mkdir()
    monkeypatch.chdir(empty)

    report = reproduce_bundle(shipped / "with-data.tar.gz", jobs=2)
    assert report.counts() == {"identical": TRIALS} and report.ok and not report.recorded
    assert report.source == str(shipped / "with-data.tar.gz")

    partial = reproduce_bundle(shipped / "without-data.tar.gz", jobs=2, sample=4, seed=3)
    refused = [v for v in partial.verifications if v.verdict == "refused"]
    assert refused and {v.dataset for v in refused} == {"wine_file"}
    assert (
        refused[0]
        .differences[0]
        .startswith(MSG_DATA_MOVED.split("{path}")[0].format(name="wine_file") + str(original_wine))
    )
    assert list(empty.iterdir()) == []  # nothing left behind


def test_a_bundle_holds_only_its_own_study(ran, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(ran / ".rigorlab", store)
    with open_store(store) as writer:
        writer.save_study("other", question="private question")
        writer.save_trial(
            "other",
            TrialResult("otherkey", "a", "d", 0, 0, "done", {}, {}, metrics={"accuracy": 0.5}),
        )
    write_bundle("verify", tmp_path / "only.tar.gz", store=store)
    opened = open_bundle(tmp_path / "only.tar.gz", tmp_path / "open")
    with open_store(opened.store_path, read_only=True) as reader:
        assert list(reader.studies().name) == ["verify"]
        assert len(reader.trials("verify")) == TRIALS
        key = str(reader.trials("verify").key.iloc[0])
        assert reader.predictions("verify", key)["y_pred"].size > 0
        assert reader.provenance("verify", key)["environment"]["packages"]["scikit-learn"] == sklearn.__version__
    db = sqlite3.connect(opened.store_path / "rigorlab.sqlite")
    assert "private question" not in str(db.execute("SELECT * FROM studies").fetchall())
    db.close()


def repack(bundle: Path, target: Path, change) -> Path:
    """Extract ``bundle``, let ``change(root)`` alter it, and pack it again as ``target``."""
    work = target.parent / f"{target.name}-work"
    with tarfile.open(bundle) as archive:
        archive.extractall(work, filter="data")
    root = work / "verify-bundle"
    change(root)
    with tarfile.open(target, "w:gz") as archive:
        archive.add(root, arcname=root.name)
    return target


def set_manifest(**values):
    def change(root: Path) -> None:
        manifest = json.loads((root / "MANIFEST.json").read_text())
        manifest.update(values)
        (root / "MANIFEST.json").write_text(json.dumps(manifest))

    return change


def test_damaged_foreign_and_newer_bundles_are_refused_clearly(bundled, tmp_path):
    into = tmp_path / "into"
    with pytest.raises(InputError) as missing:
        open_bundle(tmp_path / "nothing.tar.gz", into)
    assert str(missing.value) == MSG_BUNDLE_MISSING.format(path=tmp_path / "nothing.tar.gz")

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(bundled.read_bytes()[: bundled.stat().st_size // 2])
    with pytest.raises(InputError) as cut:
        open_bundle(truncated, into / "cut")
    assert str(cut.value).startswith(MSG_BUNDLE_CORRUPT.split("{reason}")[0].format(path=truncated))

    noise = tmp_path / "noise.tar.gz"
    noise.write_bytes(b"not a tar file at all" * 10)
    with pytest.raises(InputError, match="is not a readable rigorlab bundle"):
        open_bundle(noise, into / "noise")

    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as archive:
        info = tarfile.TarInfo("photos/cat.jpg")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"cat"))
    with pytest.raises(InputError) as no_manifest:
        open_bundle(foreign, into / "foreign")
    assert str(no_manifest.value) == MSG_BUNDLE_CORRUPT.format(path=foreign, reason="it has no MANIFEST.json")

    newer_schema = repack(bundled, tmp_path / "newer.tar.gz", set_manifest(schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(SchemaVersionError) as newer:
        open_bundle(newer_schema, into / "newer")
    assert str(newer.value) == MSG_BUNDLE_NEWER.format(
        path=newer_schema, what="store schema", found=SCHEMA_VERSION + 1, supported=SCHEMA_VERSION
    )
    newer_format = repack(bundled, tmp_path / "format.tar.gz", set_manifest(format=2))
    with pytest.raises(SchemaVersionError, match="bundle format 2"):
        open_bundle(newer_format, into / "format")

    def tamper(root: Path) -> None:
        data = root / "data" / "wine_file" / "wine.csv"
        data.write_text(data.read_text().replace("14.23", "99.99", 1))

    tampered = repack(bundled, tmp_path / "tampered.tar.gz", tamper)
    with pytest.raises(InputError) as changed:
        reproduce_bundle(tampered)
    assert str(changed.value) == MSG_BUNDLE_FILE_CHANGED.format(path=tampered, member="data/wine_file/wine.csv")


def test_writing_a_bundle_refuses_bad_output_paths_and_unknown_studies(ran, bundled, tmp_path):
    store = ran / ".rigorlab"
    with pytest.raises(InputError) as exists:
        write_bundle("verify", bundled, store=store)
    assert str(exists.value) == MSG_OUT_EXISTS.format(path=bundled)
    with pytest.raises(InputError) as suffix:
        write_bundle("verify", tmp_path / "out.zip", store=store)
    assert str(suffix.value) == MSG_OUT_SUFFIX.format(path=tmp_path / "out.zip")
    with pytest.raises(NotFoundError, match="There is no study 'nope'"):
        write_bundle("nope", tmp_path / "nope.tar.gz", store=store)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


OWN_MODEL = '''
from sklearn.neighbors import NearestCentroid


class ShrunkCentroid(NearestCentroid):
    """A user's own estimator, defined beside the study file."""

    def __init__(self, shrink_threshold=0.2):
        super().__init__(shrink_threshold=shrink_threshold)
'''

OWN_STUDY = """\
study: own-code
seed: 5
replicates: 1
datasets: [{name: iris}]
models:
  - {name: centroid, estimator: bundled_own_models.ShrunkCentroid, params: {shrink_threshold: 0.3}}
protocol: {kind: kfold, folds: 3}
metrics: [accuracy]
"""


def test_the_studys_own_modules_travel_in_the_bundle(tmp_path, monkeypatch):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "bundled_own_models.py").write_text(OWN_MODEL)
    (folder / "study.yaml").write_text(OWN_STUDY)
    run_study(folder / "study.yaml", store=folder / ".rigorlab", jobs=1)
    write_bundle("own-code", tmp_path / "own.tar.gz", store=folder / ".rigorlab")
    with tarfile.open(tmp_path / "own.tar.gz") as archive:
        assert "own-code-bundle/bundled_own_models.py" in archive.getnames()
    shutil.rmtree(folder)
    # Forget the module and its folder, as a reader's fresh interpreter would not know them.
    monkeypatch.delitem(sys.modules, "bundled_own_models", raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(folder)])
    reader = tmp_path / "reader"
    reader.mkdir()
    monkeypatch.chdir(reader)
    report = reproduce_bundle(tmp_path / "own.tar.gz", jobs=1)
    assert report.counts() == {"identical": 3}


def test_the_bundle_names_itself_and_is_readable_by_others(bundled):
    with tarfile.open(bundled) as archive:
        readme = archive.extractfile("verify-bundle/README.md").read().decode()  # type: ignore[union-attr]
    assert "rigorlab reproduce verify.tar.gz" in readme
    mask = os.umask(0)
    os.umask(mask)
    assert bundled.stat().st_mode & 0o777 == 0o666 & ~mask
