"""Reproduce and verify on real studies: identical re-runs, and each kind of change detected and
reported (a package version record, a seed, a data file changed or moved, a metric), with the
original store unchanged except for the verdicts."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
import sklearn

from rigorlab import open_store, run_study
from rigorlab.errors import InputError, NotFoundError
from rigorlab.provenance import ACROSS_ENVIRONMENTS, reproduce, verification_summary
from rigorlab.provenance._rebuild import (
    MSG_BAD_SAMPLE,
    MSG_CHOOSE_ONE,
    MSG_DATA_CHANGED,
    MSG_DATA_MOVED,
    MSG_NOT_FINISHED,
    NOTE_NOT_PLANNED,
    NOTE_SEEDS,
    NOTE_SPLIT,
)
from rigorlab.provenance._reproduce import MSG_IMPORTED, MSG_NO_EXPLANATION
from rigorlab.store import TrialResult
from rigorlab.store._sqlite_base import MSG_UNKNOWN_TRIAL
from tests.provenance.conftest import TRIALS, VERIFY_STUDY

ROOT = Path(__file__).resolve().parents[2]


def key_of(store: Path, arm: str, dataset: str, fold: int) -> str:
    with open_store(store, read_only=True) as reader:
        trials = reader.trials("verify")
    row = trials[(trials.arm == arm) & (trials.dataset == dataset) & (trials.fold == fold)]
    return str(row.key.iloc[0])


def execute(store: Path, sql: str, *parameters: object) -> None:
    db = sqlite3.connect(store / "rigorlab.sqlite")
    with db:
        db.execute(sql, parameters)
    db.close()


def test_a_reproduction_on_the_same_machine_is_identical_and_only_adds_verdicts(store_copy, snapshot):
    rows_before, objects_before = snapshot(store_copy)
    report = reproduce("verify", store=store_copy, jobs=2)
    assert report.counts() == {"identical": TRIALS} and report.ok and report.recorded
    assert [diff.same for diff in report.environments] == [True]
    assert {v.tolerance for v in report.verifications} == {"exact"}
    logreg = next(v for v in report.verifications if v.arm == "logreg")
    assert set(logreg.details["metrics"]) == {"accuracy", "roc_auc", "log_loss"}
    assert logreg.details["predictions"]["y_pred"]["equal"] and logreg.details["predictions"]["scores"]["equal"]

    rows_after, objects_after = snapshot(store_copy)
    assert objects_after == objects_before
    assert rows_before.pop("verifications") == []
    verdicts = rows_after.pop("verifications")
    assert rows_after == rows_before  # the verdicts are the only change
    assert len(verdicts) == TRIALS
    with open_store(store_copy, read_only=True) as reader:
        stored = reader.verifications("verify")
    assert set(stored.verdict) == {"identical"} and set(stored.max_difference) == {0.0}
    assert set(stored.environment) == {report.environment_hash}
    assert stored.details.iloc[0]["tolerance"] == "exact"
    summary = verification_summary("verify", store_copy)
    assert summary.verified == summary.finished == TRIALS and summary.unverified == 0
    assert summary.line() == (
        f"Study verify: {TRIALS} of {TRIALS} finished trial(s) verified ({TRIALS} identical), "
        f"last on {report.verified_at[:10]}."
    )


def test_without_recording_the_store_is_not_changed_at_all(store_copy):
    def digests() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in store_copy.rglob("*") if p.is_file()}

    before = digests()
    report = reproduce("verify", store=store_copy, sample=3, record=False, jobs=2)
    assert report.counts() == {"identical": 3} and not report.recorded
    assert digests() == before


def test_a_changed_package_record_is_shown_loosens_the_tolerance_and_explains_a_mismatch(store_copy):
    execute(store_copy, """UPDATE environments SET json = json_set(json, '$.packages."scikit-learn"', '1.8.0')""")
    slightly = key_of(store_copy, "forest", "iris", 0)
    clearly = key_of(store_copy, "logreg", "wine_file", 1)
    for key, change in ((slightly, 1e-9), (clearly, 0.01)):
        execute(
            store_copy,
            "UPDATE metrics SET value = value - ? WHERE name = 'accuracy' AND trial_id = "
            "(SELECT id FROM trials WHERE key = ?)",
            change,
            key,
        )
    report = reproduce("verify", store=store_copy, jobs=2)
    (diff,) = report.environments
    assert f"scikit-learn 1.8.0 -> {sklearn.__version__}" in [str(c) for c in diff.changes] and not diff.same
    assert {v.tolerance for v in report.verifications} == {str(ACROSS_ENVIRONMENTS)}
    assert report.counts() == {"identical": TRIALS - 2, "within_tolerance": 1, "different": 1}
    by_key = {v.key: v for v in report.verifications}
    within, different = by_key[slightly], by_key[clearly]
    assert within.verdict == "within_tolerance" and within.max_difference == pytest.approx(1e-9, rel=1e-3)
    assert within.summary().startswith("within tolerance (abs 1e-06, rel 1e-06; largest difference 1e-09)")
    assert different.verdict == "different" and different.differences[0].startswith("accuracy: stored ")
    expected = f"scikit-learn 1.8.0 -> {sklearn.__version__} (provides the estimator)"
    assert within.explanation[0] == different.explanation[0] == expected
    assert not report.ok


def test_in_the_same_environment_the_smallest_difference_counts(store_copy):
    key = key_of(store_copy, "logreg", "iris", 2)
    execute(
        store_copy,
        "UPDATE metrics SET value = value + 1e-12 WHERE name = 'roc_auc' AND trial_id = "
        "(SELECT id FROM trials WHERE key = ?)",
        key,
    )
    (verdict,) = reproduce("verify", store=store_copy, trials=[key[:8]], jobs=1).verifications
    assert verdict.verdict == "different" and verdict.tolerance == "exact"
    assert verdict.differences[0].startswith("roc_auc: stored ")
    assert verdict.explanation == [MSG_NO_EXPLANATION]


def test_a_changed_seed_is_detected_and_named(store_copy):
    key = key_of(store_copy, "forest", "wine_file", 0)
    with open_store(store_copy, read_only=True) as reader:
        seeds = reader.provenance("verify", key)["seeds"]
    execute(store_copy, "UPDATE trials SET seeds_json = json_set(seeds_json, '$.init', 12345) WHERE key = ?", key)
    (verdict,) = reproduce("verify", store=store_copy, trials=[key], jobs=1).verifications
    assert verdict.verdict == "different"
    assert any(line.startswith("scores: ") for line in verdict.differences)
    changes = f"init 12345 -> {seeds['init']}"
    assert verdict.notes == [NOTE_SEEDS.format(replicate=0, changes=changes)]


def test_a_changed_data_file_refuses_its_trials_and_names_the_file(fresh, snapshot):
    folder, store = fresh
    data = folder / "data" / "wine.csv"
    with open_store(store, read_only=True) as reader:
        recorded = reader.datasets("verify").set_index("name").summary["wine_file"]["source"]["sha256"]
    data.write_text(data.read_text().replace("14.23", "14.24", 1))
    rows_before, _ = snapshot(store)
    report = reproduce("verify", store=store, jobs=2)
    assert report.counts() == {"identical": TRIALS // 2, "refused": TRIALS // 2}
    found = hashlib.sha256(data.read_bytes()).hexdigest()
    what = f"the file {data.resolve()} now has sha256 {found[:16]} (was sha256 {recorded[:16]})"
    expected = MSG_DATA_CHANGED.format(name="wine_file", what=what)
    assert report.dataset_problems == {"wine_file": expected}
    refused = [v for v in report.verifications if v.verdict == "refused"]
    assert {v.dataset for v in refused} == {"wine_file"} and {v.differences[0] for v in refused} == {expected}
    rows_after, _ = snapshot(store)
    assert len(rows_after.pop("verifications")) == TRIALS
    rows_before.pop("verifications")
    assert rows_after == rows_before


def test_a_moved_data_file_is_refused_with_a_clear_message_then_found_with_data_dir(fresh, tmp_path):
    folder, store = fresh
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    sha = hashlib.sha256((folder / "data" / "wine.csv").read_bytes()).hexdigest()
    shutil.move(folder / "data" / "wine.csv", moved / "wine.csv")
    report = reproduce("verify", store=store, jobs=2, record=False)
    expected = MSG_DATA_MOVED.format(
        name="wine_file", path=(folder / "data" / "wine.csv").resolve(), sha=sha[:16], file="wine.csv"
    )
    assert report.dataset_problems == {"wine_file": expected}
    assert report.counts() == {"identical": TRIALS // 2, "refused": TRIALS // 2}
    again = reproduce("verify", store=store, jobs=2, record=False, data_dir=moved)
    assert again.counts() == {"identical": TRIALS}


def test_trials_of_an_earlier_study_file_are_rebuilt_from_their_provenance(fresh):
    folder, store = fresh
    with open_store(store, read_only=True) as reader:
        old_keys = sorted(reader.trials("verify").key)
    (folder / "study.yaml").write_text(VERIFY_STUDY.replace("seed: 11", "seed: 12"))
    run_study(folder / "study.yaml", store=store, jobs=2)
    old_forest = key_of_any(store, old_keys, "forest")
    report = reproduce("verify", store=store, trials=[old_forest], jobs=1)
    (verdict,) = report.verifications
    assert verdict.verdict == "identical"
    assert verdict.notes[0] == NOTE_NOT_PLANNED
    assert verdict.notes[1].startswith(NOTE_SEEDS.split("{")[0])
    assert verdict.notes[2] == NOTE_SPLIT.format(replicate=0, fold=verdict.fold)
    everything = reproduce("verify", store=store, all_trials=True, dry_run=True)
    assert everything.selected == 2 * TRIALS and everything.to_run == 2 * TRIALS


def key_of_any(store: Path, keys: list[str], arm: str) -> str:
    with open_store(store, read_only=True) as reader:
        return next(k for k in keys if reader.provenance("verify", k)["arm"] == arm)


def test_bad_input_gives_clear_messages_and_changes_nothing(store_copy, snapshot):
    before = snapshot(store_copy)
    with pytest.raises(NotFoundError, match="There is no study 'verfy'.*Did you mean 'verify'"):
        reproduce("verfy", store=store_copy)
    with pytest.raises(NotFoundError) as unknown:
        reproduce("verify", store=store_copy, trials=["feedbeef"])
    assert str(unknown.value) == MSG_UNKNOWN_TRIAL.format(study="verify", key="feedbeef")
    with pytest.raises(InputError) as both:
        reproduce("verify", store=store_copy, sample=2, all_trials=True)
    assert str(both.value) == MSG_CHOOSE_ONE.format(given="--sample, --all")
    with pytest.raises(InputError) as zero:
        reproduce("verify", store=store_copy, sample=0)
    assert str(zero.value) == MSG_BAD_SAMPLE.format(value=0)
    assert snapshot(store_copy) == before
    with open_store(store_copy) as writer:
        failed = TrialResult("failedkey", "forest", "iris", 0, 0, "failed", {}, {}, error="boom")
        writer.save_trial("verify", failed)
    with pytest.raises(InputError) as not_done:
        reproduce("verify", store=store_copy, trials=["failedkey"])
    assert str(not_done.value) == MSG_NOT_FINISHED.format(key="failedkey", study="verify", status="failed")


def test_a_sample_is_drawn_with_its_seed_and_a_dry_run_runs_nothing(store_copy, snapshot):
    before = snapshot(store_copy)
    first = reproduce("verify", store=store_copy, sample=4, seed=1, dry_run=True)
    second = reproduce("verify", store=store_copy, sample=4, seed=1, dry_run=True)
    others = {
        tuple(reproduce("verify", store=store_copy, sample=4, seed=s, dry_run=True).selected_keys) for s in range(5)
    }
    assert first.selected == first.to_run == 4 and first.verifications == [] and not first.recorded
    assert first.selected_keys == second.selected_keys and len(set(first.selected_keys)) == 4
    assert len(others) > 1  # another seed, another sample
    assert first.environments[0].same and first.environments[0].trials == 4
    assert snapshot(store_copy) == before


def test_tracked_runs_started_by_pytest_are_refused_and_imported_runs_not_reproducible(store_copy):
    from rigorlab.tracking import track

    # Started in this process, the run's "script" is pytest (or `python -c` in a pytest-xdist worker):
    # re-running it would run tests, not training code.
    with track(study="verify-tracked", arm="mlp", dataset="digits", replicate=0, store=store_copy) as run:
        run.log(step=0, loss=1.0)
        run.log_summary(accuracy=0.9)
    report = reproduce("verify-tracked", store=store_copy, trials=[run.key])
    (verdict,) = report.verifications
    assert verdict.verdict == "refused" and report.to_run == 0 and not report.ok
    assert verdict.differences[0].startswith("cannot be re-run: the tracked run was ")
    assert "its command: " in verdict.differences[0]

    with open_store(store_copy) as writer:
        imported = TrialResult("mlflowrun", "mlp", "digits", 1, 0, "done", {}, {}, metrics={"accuracy": 0.8})
        writer.save_trial("verify", dataclasses.replace(imported, source="mlflow"))
    report = reproduce("verify", store=store_copy, trials=["mlflowrun"])
    (verdict,) = report.verifications
    assert verdict.verdict == "not_reproducible" and report.ok  # reported, not counted as a failure
    assert verdict.differences == [MSG_IMPORTED.format(source="mlflow")]


def test_the_summary_takes_each_trials_latest_verdict(store_copy):
    with open_store(store_copy) as writer:
        keys = list(writer.trials("verify").key)
        writer.save_verifications(
            "verify",
            [
                {
                    "key": keys[0],
                    "verdict": "different",
                    "max_difference": 0.1,
                    "details": {},
                    "verified_at": "2026-01-01",
                },
                {
                    "key": keys[0],
                    "verdict": "identical",
                    "max_difference": 0.0,
                    "details": {},
                    "verified_at": "2026-02-01",
                },
                {
                    "key": keys[1],
                    "verdict": "identical",
                    "max_difference": 0.0,
                    "details": {},
                    "verified_at": "2026-01-15",
                },
                {
                    "key": keys[2],
                    "verdict": "refused",
                    "max_difference": None,
                    "details": {},
                    "verified_at": "2026-03-01",
                },
            ],
        )
        assert len(writer.verifications("verify", key=keys[0][:10])) == 2
    summary = verification_summary("verify", store_copy)
    assert summary.verified == 2 and summary.counts == {"identical": 2, "refused": 1}
    assert summary.first_verified_at == "2026-01-15" and summary.last_verified_at == "2026-03-01"
    assert summary.line() == (
        f"Study verify: 2 of {TRIALS} finished trial(s) verified (2 identical), last on 2026-03-01; 1 refused; "
        f"{TRIALS - 3} never verified (rigorlab reproduce verify)."
    )
    latest = summary.latest.set_index("key")
    assert latest.loc[keys[0], "verdict"] == "identical" and bool(latest.loc[keys[0], "verified"])
    assert latest.loc[keys[3], "verdict"] is None and not bool(latest.loc[keys[3], "verified"])


@pytest.mark.slow
def test_the_quickstart_reproduces_identically(tmp_path):
    store = tmp_path / "store"
    run_study(ROOT / "examples" / "quickstart.yaml", store=store, jobs=2)
    report = reproduce("quickstart", store=store, jobs=2)
    assert report.counts() == {"identical": 150}
    assert verification_summary("quickstart", store).verified == 150


def test_a_tolerance_for_a_name_the_study_does_not_store_is_refused(store_copy):
    from rigorlab.provenance import Tolerances
    from rigorlab.provenance._reproduce import MSG_UNKNOWN_TOLERANCE_NAME

    with pytest.raises(InputError) as caught:
        reproduce("verify", store=store_copy, tolerances=Tolerances.parse(["roc_aux=1e-3"]), dry_run=True)
    expected = MSG_UNKNOWN_TOLERANCE_NAME.format(
        name="roc_aux", study="verify", metrics="accuracy, log_loss, roc_auc", closest=" Did you mean 'roc_auc'?"
    )
    assert str(caught.value) == expected
    report = reproduce(
        "verify", store=store_copy, tolerances=Tolerances.parse(["roc_auc=1e-3", "scores=0"]), dry_run=True
    )
    assert report.to_run > 0
