"""The SQLite store: schema versions, migrations, atomic artifacts, read-only use, messages."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from rigorlab.errors import NotFoundError, SchemaVersionError, StoreError
from rigorlab.store import SCHEMA_VERSION, ArtifactStore, TrialResult, open_store
from rigorlab.store._schema import MSG_NEWER_SCHEMA
from tests.conftest import SMALL_STUDY


def result(key: str, **fields) -> TrialResult:
    values = {"arm": "a", "dataset": "d", "replicate": 0, "fold": 0, "status": "done", "config": {}, "seeds": {}}
    values.update(fields)
    return TrialResult(key=key, **values)


def test_a_new_store_is_wal_at_the_newest_schema(store_path):
    with open_store(store_path, create=True) as store:
        store.save_study("s")
    db = sqlite3.connect(store_path / "rigorlab.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_written_by_the_first_schema_opens_and_upgrades(tmp_path):
    old = tmp_path / "old"
    shutil.copytree("tests/store/fixtures/store_v1", old)
    with open_store(old) as store:
        metrics = store.metrics("legacy")
        assert metrics.value.tolist() == [0.96]
        assert store.study_info("legacy")["question"] == "old question"
        # the schema-2 tables work on the upgraded store
        store.save_trial("legacy", result("k2", curves=[("loss", 0, 1.5), ("loss", 1, 0.5)]))
        assert store.curves("legacy").value.tolist() == [1.5, 0.5]
    assert sqlite3.connect(old / "rigorlab.sqlite").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_rigorlab_is_refused_untouched(store_path):
    open_store(store_path, create=True).close()
    db = sqlite3.connect(store_path / "rigorlab.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.close()
    before = (store_path / "rigorlab.sqlite").read_bytes()
    with pytest.raises(SchemaVersionError) as caught:
        open_store(store_path)
    assert str(caught.value) == MSG_NEWER_SCHEMA.format(
        path=store_path / "rigorlab.sqlite", found=SCHEMA_VERSION + 5, supported=SCHEMA_VERSION
    )
    assert (store_path / "rigorlab.sqlite").read_bytes() == before


def test_missing_store_and_unknown_study_messages(store_path):
    with pytest.raises(
        NotFoundError, match="There is no rigorlab store at .* Run `rigorlab run STUDY.yaml` here first"
    ):
        open_store(store_path)
    with open_store(store_path, create=True) as store:
        with pytest.raises(NotFoundError, match="it holds no studies yet"):
            store.trials("quickstart")
        store.save_study("quickstart")
        with pytest.raises(NotFoundError) as caught:
            store.trials("quickstrat")
        assert "There is no study 'quickstrat'" in str(caught.value)
        assert "Did you mean 'quickstart'? Studies: quickstart." in str(caught.value)
        with pytest.raises(NotFoundError, match="Study 'quickstart' has no trial with key 'nope'"):
            store.predictions("quickstart", "nope")


def test_not_a_store(tmp_path):
    (tmp_path / "rigorlab.sqlite").write_bytes(b"this is no database" * 100)
    with pytest.raises(StoreError, match="is not a rigorlab store"):
        open_store(tmp_path)


def test_read_only_store_refuses_writes(store_path):
    open_store(store_path, create=True).close()
    with open_store(store_path, read_only=True) as store, pytest.raises(StoreError, match="opened read-only"):
        store.save_study("x")


def test_finished_trials_are_immutable_and_failed_ones_are_replaced(store_path):
    with open_store(store_path, create=True) as store:
        store.save_study("s")
        store.save_trial("s", result("k", metrics={"accuracy": 0.5}))
        store.save_trial("s", result("k", metrics={"accuracy": 0.9}))
        assert store.metrics("s", all_trials=True).value.tolist() == [0.5]
        store.save_trial("s", result("f", status="failed", error="boom"))
        store.save_trial("s", result("f", metrics={"accuracy": 0.7}))
        assert store.trial_states("s") == {"k": "done", "f": "done"}


def test_key_prefixes_find_a_trial(store_path):
    with open_store(store_path, create=True) as store:
        store.save_study("s")
        store.save_trial("s", result("abcdef", predictions={"y_pred": np.array([1, 2])}))
        assert store.predictions("s", "abc")["y_pred"].tolist() == [1, 2]


def test_artifacts_are_content_addressed_and_round_trip(tmp_path):
    artifacts = ArtifactStore(tmp_path / "objects")
    labels = np.array(["yes", "no", "yes"], dtype=object)
    ref = artifacts.put({"y": labels, "scores": np.array([[0.1, 0.9]])})
    assert artifacts.put({"scores": np.array([[0.1, 0.9]]), "y": labels}) == ref
    loaded = artifacts.get(ref)
    assert loaded["y"].tolist() == ["yes", "no", "yes"]
    assert not list((tmp_path / "objects").rglob("*.tmp"))
    artifacts.path_of(ref).unlink()
    with pytest.raises(StoreError, match="is missing from"):
        artifacts.get(ref)


def test_concurrent_readers_while_the_driver_writes(write_study, store_path):
    from rigorlab import run_study

    run_study(write_study(SMALL_STUDY), store=store_path, jobs=1)
    readers = [open_store(store_path, read_only=True) for _ in range(3)]
    try:
        assert all(len(r.trials("small")) == 12 for r in readers)
    finally:
        for reader in readers:
            reader.close()
