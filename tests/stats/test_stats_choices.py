"""stored_choices: the metric and baseline a stored study is compared on by default, and why."""

from __future__ import annotations

import pytest

from rigorlab import run_study
from rigorlab.errors import InputError
from rigorlab.stats import compare_stored, stored_choices
from rigorlab.stats._from_store import (
    MSG_TRACKED_NO_RESULTS,
    REASON_BASELINE_FIRST_TRACKED,
    REASON_BASELINE_STUDY_FILE,
    REASON_METRIC_FIRST_SUMMARY,
    REASON_METRIC_STUDY_FILE,
)
from rigorlab.store import TrialResult, open_store
from tests.conftest import SMALL_STUDY


def _tracked(arm: str, replicate: int, accuracy: float) -> TrialResult:
    return TrialResult(
        key=f"{arm}{replicate}",
        arm=arm,
        dataset="d",
        replicate=replicate,
        fold=0,
        status="done",
        config={},
        seeds={},
        metrics={"loss": 0.2, "test_acc": accuracy},
        curves=[("loss", step, 1.0 / (step + 1)) for step in range(3)],
        source="tracked",
    )


def test_a_store_written_before_primary_metrics_were_recorded_compares_the_summary(tmp_path):
    """No recorded primary metric (a store from an older rigorlab): the summary test_acc, not the
    loss curve that sorts first, with the reason and the option that chooses another."""
    with open_store(tmp_path / "store", create=True) as store:
        store.save_study("legacy")
        store.save_trials(
            "legacy",
            [_tracked(arm, r, 0.8 + 0.1 * (arm == "good") + 0.001 * r) for arm in ("good", "bad") for r in range(4)],
        )
    with open_store(tmp_path / "store", read_only=True) as store:
        choices = stored_choices(store, "legacy")
        comparison = compare_stored(store, "legacy", n_resamples=200)
        given = compare_stored(store, "legacy", metric="loss", baseline="good", n_resamples=200)
    assert (choices.metric, choices.metric_reason) == ("test_acc", REASON_METRIC_FIRST_SUMMARY)
    assert (choices.baseline, choices.baseline_reason) == ("bad", REASON_BASELINE_FIRST_TRACKED)
    assert choices.tracked
    assert comparison.metric == "test_acc" and comparison.metric_reason == REASON_METRIC_FIRST_SUMMARY
    assert f"baseline 'bad' ({REASON_BASELINE_FIRST_TRACKED})" in comparison.legend
    assert given.metric_reason == "" and given.baseline_reason == ""  # the user's choice needs no reason


def test_a_study_file_states_its_own(write_study, store_path):
    run_study(write_study(SMALL_STUDY), store=store_path, jobs=2)
    with open_store(store_path, read_only=True) as store:
        choices = stored_choices(store, "small")
    assert (choices.metric, choices.metric_reason) == ("accuracy", REASON_METRIC_STUDY_FILE)
    assert (choices.baseline, choices.baseline_reason) == ("logreg", REASON_BASELINE_STUDY_FILE)
    assert not choices.tracked


def test_a_tracked_study_without_finished_runs_says_where_runs_come_from(tmp_path):
    with open_store(tmp_path / "store", create=True) as store:
        store.save_study("empty")
        failed = TrialResult(
            key="k", arm="a", dataset="d", replicate=0, fold=0, status="failed", config={}, seeds={}, source="tracked"
        )
        store.save_trials("empty", [failed])
    with open_store(tmp_path / "store", read_only=True) as store, pytest.raises(InputError) as caught:
        stored_choices(store, "empty")
    assert str(caught.value) == MSG_TRACKED_NO_RESULTS.format(study="empty", failed=1)
    assert "STUDY.yaml" not in str(caught.value)
