"""Contract tests for RunStore backends, shipped with the package.

A new backend proves itself by passing these (the pattern of Optuna's storage tests and
scikit-learn's ``parametrize_with_checks``)::

    import pytest
    from rigorlab.store.testing import CONTRACT, StoreFactory

    @pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
    def test_my_store(check, tmp_path):
        check(lambda: MyStore(tmp_path / "store", create=True))

Each check takes a factory that returns a fresh, empty, writable store (called once per check,
except where a check reopens the same store).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rigorlab.errors import NotFoundError
from rigorlab.store._base import RunStore
from rigorlab.store._records import DONE, FAILED, TRIAL_COLUMNS, TrialResult

__all__ = ["CONTRACT", "StoreFactory"]

StoreFactory = Callable[[], RunStore]


def _result(key: str, replicate: int = 0, **fields: object) -> TrialResult:
    values: dict[str, object] = {
        "arm": "a",
        "dataset": "d",
        "replicate": replicate,
        "fold": 0,
        "status": DONE,
        "config": {"estimator": "x"},
        "seeds": {"split": 1, "init": 2, "data_order": 3, "inner_split": 4},
        "n_train": 80,
        "n_test": 20,
    }
    values.update(fields)
    return TrialResult(key=key, **values)  # type: ignore[arg-type]


def check_study_records_are_created_and_updated(factory: StoreFactory) -> None:
    with factory() as store:
        first = store.save_study("s", question="q1", primary_metric="accuracy")
        second = store.save_study("s", question="q2")
        assert first == second
        info = store.study_info("s")
        assert info["question"] == "q2" and info["primary_metric"] == "accuracy"
        assert list(store.studies()["name"]) == ["s"]


def check_unknown_study_raises_not_found(factory: StoreFactory) -> None:
    with factory() as store:
        store.save_study("present")
        for read in (store.trials, store.metrics, store.study_info, store.datasets, store.runs):
            try:
                read("absent")
            except NotFoundError as error:
                assert "absent" in str(error)
            else:
                raise AssertionError(f"{read.__name__} did not raise NotFoundError")


def check_trials_metrics_and_plan_scope(factory: StoreFactory) -> None:
    with factory() as store:
        store.save_study("s")
        store.save_plan("s", [("k0", "a", "d", 0, 0), ("k1", "a", "d", 1, 0)])
        store.save_trial("s", _result("k0", metrics={"accuracy": 0.5, "log_loss": 0.7}))
        store.save_trial("s", _result("k1", replicate=1, metrics={"accuracy": 0.75, "log_loss": 0.6}))
        store.save_trial("s", _result("old", replicate=2, metrics={"accuracy": 0.1}))  # not in the plan
        assert store.trial_states("s") == {"k0": DONE, "k1": DONE, "old": DONE}
        metrics = store.metrics("s")
        assert set(metrics.columns) >= {
            "key",
            "arm",
            "dataset",
            "replicate",
            "fold",
            "metric",
            "value",
            "n_train",
            "n_test",
        }
        assert sorted(metrics[metrics.metric == "accuracy"].value) == [0.5, 0.75]
        assert len(store.metrics("s", all_trials=True)) == 5
        trials = store.trials("s")
        assert list(trials.key) == ["k0", "k1"] and list(trials.accuracy) == [0.5, 0.75]
        # every column is a trial column or a metric, so callers can tell them apart
        assert set(trials.columns) == set(TRIAL_COLUMNS) | {"accuracy", "log_loss"}


def check_done_is_immutable_and_failed_is_replaced(factory: StoreFactory) -> None:
    with factory() as store:
        store.save_study("s")
        store.save_trial("s", _result("k", metrics={"m": 1.0}))
        store.save_trial("s", _result("k", metrics={"m": 2.0}))
        assert store.metrics("s", all_trials=True).value.tolist() == [1.0]
        store.save_trial("s", _result("f", status=FAILED, error="E: x", traceback="tb"))
        failed = store.trials("s", all_trials=True, status=FAILED)
        assert failed.error.tolist() == ["E: x"]
        store.save_trial("s", _result("f", metrics={"m": 3.0}))
        assert store.trial_states("s") == {"k": DONE, "f": DONE}


def check_arrays_round_trip(factory: StoreFactory) -> None:
    with factory() as store:
        store.save_study("s")
        scores = np.array([[0.2, 0.8], [0.6, 0.4]])
        labels = np.array(["yes", "no"])
        split = {"train": np.arange(5, dtype=np.int64), "test": np.array([5, 6], dtype=np.int64)}
        store.save_trial(
            "s",
            _result("k", predictions={"y_pred": labels, "scores": scores, "test_index": split["test"]}),
            split=split,
        )
        loaded = store.predictions("s", "k")
        assert loaded["y_pred"].tolist() == ["yes", "no"]
        assert loaded["scores"].tobytes() == scores.tobytes()
        assert store.split("s", "k")["train"].tolist() == [0, 1, 2, 3, 4]


def check_curves_and_provenance(factory: StoreFactory) -> None:
    with factory() as store:
        store.save_study("s")
        environment = {"python": "3.11", "packages": {"numpy": "2.0"}}
        store.save_environment("env1", environment)
        run_id = store.start_run(
            "s", command=["rigorlab", "run", "s.yaml"], git={"commit": "abc"}, environment_hash="env1"
        )
        store.save_trial(
            "s", _result("k", curves=[("loss", 0, 1.0), ("loss", 1, 0.5)], environment_hash="env1"), run_id=run_id
        )
        store.finish_run(run_id, "finished")
        assert store.curves("s").value.tolist() == [1.0, 0.5]
        provenance = store.provenance("s", "k")
        assert provenance["seeds"]["init"] == 2
        assert provenance["environment"] == environment
        assert provenance["run"]["git"] == {"commit": "abc"} and provenance["run"]["status"] == "finished"
        assert store.runs("s").status.tolist() == ["finished"]


def check_datasets_are_replaced_per_plan(factory: StoreFactory) -> None:
    with factory() as store:
        store.save_study("s")
        store.save_datasets("s", [{"name": "d1", "fingerprint": "f1", "rows": 3}])
        store.save_datasets("s", [{"name": "d2", "fingerprint": "f2", "rows": 4}])
        datasets = store.datasets("s")
        assert datasets.name.tolist() == ["d2"] and datasets.summary.iloc[0]["rows"] == 4


CONTRACT = [
    check_study_records_are_created_and_updated,
    check_unknown_study_raises_not_found,
    check_trials_metrics_and_plan_scope,
    check_done_is_immutable_and_failed_is_replaced,
    check_arrays_round_trip,
    check_curves_and_provenance,
    check_datasets_are_replaced_per_plan,
]
