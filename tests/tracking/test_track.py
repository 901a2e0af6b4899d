"""rigorlab.track() in one process: what is logged is what is stored, and tracked runs are study results."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import rigorlab
from rigorlab.cli import app
from rigorlab.errors import InputError, StoreError
from rigorlab.store import open_store
from rigorlab.tracking import ReplicateReplacedWarning, current_run, track
from rigorlab.tracking._checks import STUDY_NAME_PATTERN, STUDY_NAME_RULE
from rigorlab.tracking._messages import (
    MSG_BAD_INDEX,
    MSG_BAD_METRIC_NAME,
    MSG_BAD_NAME,
    MSG_BAD_SETTING,
    MSG_BAD_STEP,
    MSG_BAD_STUDY_NAME,
    MSG_BAD_VALUE,
    MSG_FINISHED,
    MSG_NO_ARTIFACT,
    MSG_NOT_STARTED,
    MSG_REPLICATE_REPLACED,
    MSG_REUSED,
    MSG_STUDY_FILE_STUDY,
)

runner = CliRunner()


def tracked(store_path, **overrides):
    arguments = {"study": "loop", "arm": "mlp", "dataset": "iris", "replicate": 0, "store": store_path}
    arguments.update(overrides)
    return track(**arguments)


def stored_points(store_path, key: str) -> dict[str, list[tuple[int, float]]]:
    with open_store(store_path) as store:
        curves = store.curves("loop", key)
    return {
        name: list(zip(group["step"].tolist(), group["value"].tolist(), strict=True))
        for name, group in curves.groupby("name")
    }


def test_every_logged_point_is_stored_with_its_value_and_summaries_follow_the_rule(store_path):
    rng = np.random.default_rng(0)
    losses = rng.normal(size=3000)
    with tracked(store_path, params={"lr": 0.01, "layers": [64, 32]}) as run:
        for step, loss in enumerate(losses):
            run.log(step=step, loss=float(loss))  # keyword form
            run.log({"acc": step / 3000, "lr": np.float32(0.5)}, step=step)  # mapping form, numpy scalar
        run.log_summary(acc=0.99)  # a summary wins over the last logged value
    points = stored_points(store_path, run.key)
    assert points["loss"] == list(enumerate(losses.tolist()))
    assert points["acc"] == [(step, step / 3000) for step in range(3000)]
    assert points["lr"] == [(step, 0.5) for step in range(3000)]
    with open_store(store_path) as store:
        trials = store.trials("loop")
        provenance = store.provenance("loop", run.key)
    assert trials.status.tolist() == ["done"] and trials.source.tolist() == ["tracked"]
    assert trials.acc.tolist() == [0.99]
    assert trials.loss.tolist() == [float(losses[-1])]  # no summary given: the last logged value
    assert provenance["config"] == {"layers": [64, 32], "lr": 0.01}
    assert run.status == "done"


def test_steps_default_to_counting_calls(store_path):
    with tracked(store_path) as run:
        for _ in range(3):
            run.log(loss=1.0)
        run.log(step=10, loss=2.0)
        run.log(loss=3.0)
    assert stored_points(store_path, run.key)["loss"] == [(0, 1.0), (1, 1.0), (2, 1.0), (10, 2.0), (11, 3.0)]


def test_an_exception_marks_the_run_failed_with_its_traceback_and_keeps_every_point(store_path):
    with pytest.raises(FloatingPointError, match="loss diverged"), tracked(store_path) as run:
        for step in range(2500):
            run.log(step=step, loss=step * 0.5)
        raise FloatingPointError("loss diverged")
    assert len(stored_points(store_path, run.key)["loss"]) == 2500
    with open_store(store_path) as store:
        trial = store.trials("loop").iloc[0]
        runs = store.runs("loop")
    assert trial.status == "failed"
    assert trial.error == "FloatingPointError: loss diverged"
    traceback = sqlite3.connect(store_path / "rigorlab.sqlite").execute("SELECT traceback FROM trials").fetchone()[0]
    assert 'raise FloatingPointError("loss diverged")' in traceback
    assert runs.status.tolist() == ["finished"]


def test_the_decorator_form_tracks_each_call_with_the_replicate_it_is_given(store_path):
    @track(study="loop", arm="mlp", dataset="iris", store=store_path, params={"lr": 0.1})
    def train(replicate, epochs=4, run=None):
        assert run is current_run()
        for epoch in range(epochs):
            run.log(step=epoch, loss=(replicate + 1) / (epoch + 1))
        return run.key

    keys = [train(replicate) for replicate in range(3)]
    with open_store(store_path) as store:
        trials = store.trials("loop")
        metrics = store.metrics("loop")
    assert len(set(keys)) == 3
    assert sorted(trials.replicate.tolist()) == [0, 1, 2]
    assert sorted(metrics[metrics.metric == "loss"].value.tolist()) == [0.25, 0.5, 0.75]
    assert current_run() is None


def test_tracked_runs_are_study_results(store_path):
    for arm, shift in (("baseline", 0.0), ("mine", 0.05)):
        for replicate in range(4):
            with tracked(store_path, arm=arm, replicate=replicate, n_train=800, n_test=200) as run:
                for epoch in range(3):
                    run.log(step=epoch, loss=1.0 / (epoch + 1))
                run.log_summary(accuracy=0.8 + shift + 0.01 * replicate)
    with open_store(store_path) as store:
        metrics = store.metrics("loop")
        trials = store.trials("loop")
    accuracy = metrics[metrics.metric == "accuracy"]
    assert set(accuracy.columns) >= {"key", "arm", "dataset", "replicate", "fold", "metric", "value", "n_train"}
    assert len(accuracy) == 8 and set(accuracy.arm) == {"baseline", "mine"} and set(accuracy.fold) == {0}
    assert sorted(accuracy[accuracy.arm == "mine"].value.round(4).tolist()) == [0.85, 0.86, 0.87, 0.88]
    assert trials.n_train.tolist() == [800] * 8
    shown = runner.invoke(app, ["show", "loop", "--store", str(store_path)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "mine" in shown.output and "0.8650 ± 0.0129" in shown.output
    status = runner.invoke(app, ["status", "loop", "--store", str(store_path)], env={"COLUMNS": "200"})
    assert "8 done, 0 failed" in status.output

    stats = pytest.importorskip("rigorlab.stats")
    comparison = stats.compare_study(metrics, metric="accuracy", baseline="baseline")
    assert "mine" in comparison.comparisons.to_string()


def test_a_replicate_left_out_is_the_next_free_number_and_a_crashed_number_is_used_again(store_path):
    keys = []
    for _ in range(2):
        with tracked(store_path, replicate=None) as run:
            run.log(loss=1.0)
        keys.append(run.replicate)
    assert keys == [0, 1]
    failed = tracked(store_path, replicate=None)
    with pytest.raises(RuntimeError), failed:
        raise RuntimeError("out of memory")
    assert failed.replicate == 2
    with tracked(store_path, replicate=None) as again:
        again.log(loss=1.0)
    assert again.replicate == 2  # the failed replicate's number, so arms stay paired


def test_a_newer_finished_run_hides_the_older_one_of_the_same_replicate_and_says_so(store_path):
    with tracked(store_path) as first:
        first.log_summary(accuracy=0.5)
    with tracked(store_path, replicate=1) as other:
        other.log_summary(accuracy=0.6)
    with pytest.warns(ReplicateReplacedWarning) as caught, tracked(store_path) as run:
        run.log_summary(accuracy=0.7)
    assert [str(w.message) for w in caught] == [
        MSG_REPLICATE_REPLACED.format(
            replicate=0, arm="mlp", dataset="iris", fold=0, study="loop", key=first.key[:10], free=2
        )
    ]
    assert caught[0].filename == __file__  # points at the user's `with` line, not at rigorlab
    with open_store(store_path) as store:
        trials = store.trials("loop").sort_values("replicate")
        assert trials.accuracy.tolist() == [0.7, 0.6]
        assert sorted(store.trials("loop", all_trials=True).accuracy.tolist()) == [0.5, 0.6, 0.7]
    # Left out, the replicate is the next free number: no warning, both runs kept.
    with tracked(store_path, replicate=None) as kept:
        kept.log_summary(accuracy=0.8)
    assert kept.replicate == 2
    # Another fold, or a run that did not finish, is not replaced.
    with tracked(store_path, replicate=3, fold=1) as run:
        run.log_summary(accuracy=0.1)
    with pytest.raises(RuntimeError), tracked(store_path, replicate=4):
        raise RuntimeError("diverged")
    with tracked(store_path, replicate=4) as run:
        run.log_summary(accuracy=0.9)


def test_a_newer_finished_run_of_the_same_replicate_hides_the_older_one(store_path):
    with tracked(store_path) as run:
        run.log_summary(accuracy=0.5)
    with pytest.warns(ReplicateReplacedWarning), tracked(store_path) as run:
        run.log_summary(accuracy=0.7)
    with open_store(store_path) as store:
        assert store.metrics("loop").value.tolist() == [0.7]
        assert store.trials("loop").accuracy.tolist() == [0.7]
        assert sorted(store.trials("loop", all_trials=True).accuracy.tolist()) == [0.5, 0.7]


def test_tags_and_artifacts_are_stored_once_by_content(store_path, tmp_path):
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights" * 1000)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "loss.svg").write_text("<svg/>")
    (folder / "sub" / "copy.pt").write_bytes(b"weights" * 1000)
    with tracked(store_path, tags={"team": "vision"}) as run:
        run.set_tag("gpu", "A100")
        run.set_tags({"epochs": 3})
        refs = run.log_artifact(checkpoint)
        run.log_artifact(folder)
    with open_store(store_path) as store:
        tags = store.trial_tags("loop", run.key)
        files = store.trial_files("loop", run.key)
    assert {k: tags[k] for k in ("team", "gpu", "epochs")} == {"team": "vision", "gpu": "A100", "epochs": "3"}
    assert files.name.tolist() == ["model.pt", "plots/loss.svg", "plots/sub/copy.pt"]
    assert files.ref.tolist()[0] == refs[0] == files.ref.tolist()[2]  # same bytes, one object
    assert Path(files.path[0]).read_bytes() == b"weights" * 1000
    with pytest.raises(InputError, match="does not exist"), tracked(store_path, replicate=1) as run:
        run.log_artifact(tmp_path / "missing.pt")
    assert str(tmp_path / "missing.pt") in MSG_NO_ARTIFACT.format(path=tmp_path / "missing.pt")


def test_flush_makes_points_visible_to_other_processes_before_the_run_ends(store_path):
    with tracked(store_path, flush_interval=3600) as run:
        for step in range(100):
            run.log(step=step, loss=float(step))
        assert run.flush(timeout=30)
        reader = sqlite3.connect(store_path / "rigorlab.sqlite")
        assert reader.execute("SELECT COUNT(*) FROM curves").fetchone()[0] == 100
        assert reader.execute("SELECT status FROM trials").fetchone()[0] == "running"
        reader.close()


def test_back_pressure_bounds_the_buffer_and_loses_nothing(store_path):
    with tracked(store_path, flush_points=100, max_buffered_points=1000) as run:
        largest = 0
        for step in range(20_000):
            run.log(step=step, loss=float(step))
            largest = max(largest, len(run._points))
    assert largest <= 1000
    assert stored_points(store_path, run.key)["loss"] == [(step, float(step)) for step in range(20_000)]


def test_only_rank_zero_records_under_torch_distributed(store_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with tracked(store_path) as run:
        run.log(step=0, loss=1.0)
        run.log_summary(accuracy=1.0)
    assert not run.active
    assert not store_path.exists()  # the other ranks do not even open the store
    with tracked(store_path, all_ranks=True) as run:
        run.log(step=0, loss=1.0)
    with open_store(store_path) as store:
        assert store.trial_tags("loop", run.key)["rigorlab.rank"] == "1"


def test_a_store_failure_is_reported_and_the_run_marked_failed(store_path):
    run = tracked(store_path).start()
    run.log(step=0, loss=1.0)
    assert run.flush(timeout=30)
    # Another process deletes the trial under the running loop: the next write breaks a foreign key.
    db = sqlite3.connect(store_path / "rigorlab.sqlite")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("DELETE FROM trials")
    db.commit()
    db.close()
    run.log(step=1, loss=2.0)
    with pytest.raises(StoreError, match="1 point\\(s\\) were not stored"):
        run.flush(timeout=30)
    run.finish()
    assert run.status == "failed"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"study": ""}, MSG_BAD_NAME.format(field="study", value="", example="mnist-baselines")),
        ({"arm": 3}, MSG_BAD_NAME.format(field="arm", value=3, example="resnet18")),
        (
            {"study": "my study"},
            "The 'study' argument of rigorlab.track() must be a name of letters, digits, '_', '.' or '-' "
            "(no spaces), as in study files. Got 'my study' instead; e.g. study='my-study'.",
        ),
        (
            {"study": "-runs/v1 (new)"},
            MSG_BAD_STUDY_NAME.format(rule=STUDY_NAME_RULE, value="-runs/v1 (new)", suggestion="runs-v1-new"),
        ),
        ({"replicate": -1}, MSG_BAD_INDEX.format(field="replicate", value=-1)),
        ({"fold": 1.5}, MSG_BAD_INDEX.format(field="fold", value=1.5)),
        ({"params": [1, 2]}, MSG_BAD_SETTING.format(field="params", expected="a mapping (dict) or None", value=[1, 2])),
        (
            {"flush_interval": 0},
            MSG_BAD_SETTING.format(field="flush_interval", expected="a number of seconds > 0", value=0),
        ),
        (
            {"flush_points": 10, "max_buffered_points": 5},
            MSG_BAD_SETTING.format(field="max_buffered_points", expected="at least flush_points (10)", value=5),
        ),
        (
            {"primary_metric": ""},
            MSG_BAD_SETTING.format(
                field="primary_metric",
                expected="a metric name, as passed to run.log_summary (e.g. 'test_acc'), or None",
                value="",
            ),
        ),
        (
            {"baseline": 1},
            MSG_BAD_SETTING.format(
                field="baseline", expected="an arm name of the study (e.g. 'resnet18'), or None", value=1
            ),
        ),
    ],
)
def test_bad_arguments_get_one_clear_message(store_path, arguments, message):
    with pytest.raises(InputError) as caught:
        tracked(store_path, **arguments)
    assert str(caught.value) == message
    assert not store_path.exists()


def test_bad_values_get_one_clear_message(store_path):
    with tracked(store_path) as run:
        with pytest.raises(InputError) as caught:
            run.log(step=0, loss="high")
        assert str(caught.value) == MSG_BAD_VALUE.format(method="log", value="'high'", type="str", name="loss")
        with pytest.raises(InputError) as caught:
            run.log_summary(acc="0.9")
        assert str(caught.value) == (
            "run.log_summary() got '0.9' (str) for 'acc'. A logged value must be a real number: an int, a float, "
            "a numpy scalar or a one-element tensor (call .item() on a tensor with several elements, or log them "
            "under separate names)."
        )
        with pytest.raises(InputError) as caught:
            run.log_summary({"": 0.5})
        assert str(caught.value) == MSG_BAD_METRIC_NAME.format(method="log_summary", name="")
        with pytest.raises(InputError) as caught:
            run.log(step=0, loss=np.array([1.0, 2.0]))
        assert "a one-element tensor" in str(caught.value) and "'loss'" in str(caught.value)
        with pytest.raises(InputError) as caught:
            run.log(step=1.5, loss=1.0)
        assert str(caught.value) == MSG_BAD_STEP.format(value=1.5, type="float")
        with pytest.raises(InputError) as caught:
            run.log({3: 1.0}, step=0)
        assert str(caught.value) == MSG_BAD_METRIC_NAME.format(method="log", name=3)
        run.log(step=np.int64(7), loss=np.float64(1.5))  # numpy integers and floats are fine
    assert stored_points(store_path, run.key)["loss"] == [(7, 1.5)]


def test_logging_outside_an_open_run_is_refused(store_path):
    run = tracked(store_path)
    with pytest.raises(InputError) as caught:
        run.log(step=0, loss=1.0)
    assert str(caught.value) == MSG_NOT_STARTED
    with run:
        run.log(step=0, loss=1.0)
    with pytest.raises(InputError) as caught:
        run.log(step=1, loss=1.0)
    assert str(caught.value) == MSG_FINISHED.format(key=run.key, study="loop")
    with pytest.raises(InputError) as caught, run:
        pass
    assert str(caught.value) == MSG_REUSED
    assert stored_points(store_path, run.key)["loss"] == [(0, 1.0)]


def test_top_level_api(store_path):
    with rigorlab.track(study="loop", arm="a", dataset="d", replicate=0, store=store_path) as run:
        run.log(step=0, loss=1.0)
    with open_store(store_path) as store:
        provenance = store.provenance("loop", run.key)
    assert provenance["source"] == "tracked"
    assert provenance["environment"]["packages"]["numpy"] == np.__version__
    assert provenance["run"]["command"] and provenance["run"]["status"] == "finished"
    assert json.loads(json.dumps(provenance, default=str))["key"] == run.key


def test_a_store_that_cannot_open_leaves_no_run_behind(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "rigorlab.sqlite").write_bytes(b"not a database" * 100)
    run = track(study="loop", arm="a", dataset="d", replicate=0, store=folder)
    with pytest.raises(StoreError, match="is not a rigorlab store"), run:
        pass
    assert current_run() is None and run.status == "failed"
    with pytest.raises(InputError):
        run.log(step=0, loss=1.0)


def test_a_store_locked_past_the_busy_timeout_delays_points_but_loses_none(store_path):
    with tracked(store_path, flush_interval=3600) as run:
        run._store._db.execute("PRAGMA busy_timeout = 20")  # instead of 60 s, so the test is quick
        blocker = sqlite3.connect(store_path / "rigorlab.sqlite", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        for step in range(1000):
            run.log(step=step, loss=float(step))
        assert not run.flush(timeout=0.5)  # the writer keeps retrying
        blocker.execute("COMMIT")
        blocker.close()
        assert run.flush(timeout=30)
        assert run._writer.error is None
    assert stored_points(store_path, run.key)["loss"] == [(step, float(step)) for step in range(1000)]


def test_the_study_records_its_primary_metric_and_baseline(store_path):
    """The first name passed to log_summary becomes the study's primary metric (not the loss curve
    that sorts first); later defaults do not replace it; a stated primary_metric or baseline does."""

    def info():
        with open_store(store_path) as store:
            return store.study_info("loop")

    with pytest.raises(RuntimeError), tracked(store_path, replicate=0) as run:
        run.log_summary(broken=1.0)
        raise RuntimeError("a failed run records nothing")
    assert info()["primary_metric"] is None
    with tracked(store_path, replicate=0) as run:
        run.log(step=0, loss=0.9)
        run.log_summary(test_acc=0.91, test_f1=0.88)
    assert info()["primary_metric"] == "test_acc" and info()["baseline"] is None
    with tracked(store_path, replicate=1) as run:
        run.log_summary(zzz=0.5)  # a default never replaces a recorded primary metric
    assert info()["primary_metric"] == "test_acc"
    with tracked(store_path, arm="cnn", replicate=0, primary_metric="test_f1", baseline="mlp") as run:
        run.log_summary(test_acc=0.93, test_f1=0.9)
    assert info()["primary_metric"] == "test_f1" and info()["baseline"] == "mlp"
    assert info()["question"] == ""


def test_the_study_name_rule_is_the_one_study_files_use():
    from rigorlab.spec._load import _PATTERN_WORDS
    from rigorlab.spec._model import NAME_PATTERN

    assert STUDY_NAME_PATTERN == NAME_PATTERN
    assert _PATTERN_WORDS[NAME_PATTERN] == STUDY_NAME_RULE


def test_a_study_defined_by_a_study_file_is_refused_before_anything_is_written(write_study, store_path):
    from rigorlab.execution import run_study
    from rigorlab.spec import load_study

    study_file = write_study()
    name = load_study(study_file).spec.study
    run_study(study_file, store=store_path, jobs=1)
    with open_store(store_path) as store:
        before = (store.trials(name, all_trials=True), store.runs(name), store.studies())
        spec_path, root = store.study_info(name)["spec_path"], store.root
    assert Path(spec_path).name == study_file.name
    run = tracked(store_path, study=name)
    with pytest.raises(InputError) as caught, run:
        run.log(step=0, loss=1.0)
    assert str(caught.value) == MSG_STUDY_FILE_STUDY.format(
        study=name, store=root, path=spec_path, suggestion=f"{name}-tracked"
    )
    assert run.status == "failed"
    with open_store(store_path) as store:
        after = (store.trials(name, all_trials=True), store.runs(name), store.studies())
    for old, new in zip(before, after, strict=True):
        assert old.equals(new)
