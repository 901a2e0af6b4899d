"""rigorlab import/export mlflow, checked both ways with the real mlflow package and its own client."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rigorlab.cli import app
from rigorlab.cli._tracking import MSG_SINGLE_RUN_ARMS
from rigorlab.errors import InputError, NotFoundError
from rigorlab.execution import run_study
from rigorlab.store import open_store
from rigorlab.tracking import export_mlflow, import_mlflow, track
from rigorlab.tracking._checks import STUDY_NAME_RULE
from rigorlab.tracking._mlflow_checks import (
    MSG_BAD_EXPERIMENT_STUDY,
    MSG_IDENTITY_CHANGED,
    MSG_IMPORT_STUDY_FILE,
    MSG_UNKNOWN_IDENTITY,
)
from rigorlab.tracking._mlflow_common import (
    MSG_DESTINATION_NOT_A_STORE,
    MSG_DESTINATION_UNDER_FILE,
    MSG_NOT_AN_MLFLOW_STORE,
)
from rigorlab.tracking._mlflow_import import MSG_FAILED, MSG_STUDY_NEEDS_ONE

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Param  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # MLflow's SQLite store runs its migrations (seconds) and every call is slow
    # A SQLAlchemy deprecation notice raised inside MLflow's own store code; nothing we can act on.
    pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning"),
]
runner = CliRunner()


@pytest.fixture(autouse=True)
def mlflow_offline(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 refuses file stores otherwise
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@pytest.fixture(scope="module")
def empty_mlflow_db(tmp_path_factory) -> Path:
    """An MLflow SQLite store, created once (its migrations take seconds) and copied per test."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_db(empty_mlflow_db, tmp_path) -> Path:
    path = tmp_path / "mlflow.db"
    shutil.copyfile(empty_mlflow_db, path)
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def write_runs(uri: str, folder: Path) -> None:
    """What a team's MLflow store holds: two models x three seeds, one failed run, one still running."""
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("cifar")
    for model, shift in (("resnet", 0.0), ("vit", 0.04)):
        for seed in range(3):
            run_id = client.create_run(experiment, run_name=f"{model}-{seed}").info.run_id
            client.log_batch(run_id, params=[Param("model", model), Param("seed", str(seed)), Param("lr", "0.01")])
            for epoch in range(4):
                client.log_metric(run_id, "loss", 1 / (epoch + 1) + seed / 10, step=epoch)
            client.log_metric(run_id, "accuracy", 0.8 + shift + 0.01 * seed)
            note = folder / f"{model}{seed}.txt"
            note.write_text(f"{model} seed {seed}")
            client.log_artifact(run_id, str(note))
            client.set_terminated(run_id, "FINISHED")
    failed = client.create_run(experiment, run_name="resnet-3").info.run_id
    client.log_batch(failed, params=[Param("model", "resnet"), Param("seed", "3")])
    client.set_terminated(failed, "FAILED")
    client.create_run(experiment, run_name="still-going")


def test_import_reads_runs_metrics_curves_and_artifacts_from_a_file_store(tmp_path):
    mlruns = tmp_path / "mlruns"
    write_runs(mlruns.as_uri(), tmp_path)
    store = tmp_path / "store"
    result = invoke("import", "mlflow", str(mlruns), "--arm", "model", "--replicate", "seed", "--store", str(store))
    assert result.exit_code == 0, result.output
    assert "Imported 7 run(s)" in result.output and "cifar (7)" in result.output
    assert "1 run(s) still running in MLflow were skipped" in result.output
    with open_store(store) as reader:
        trials = reader.trials("cifar")
        metrics = reader.metrics("cifar")
        curves = reader.curves("cifar")
        vit0 = trials[(trials.arm == "vit") & (trials.replicate == 0)].key.iloc[0]
        files = reader.trial_files("cifar", vit0)
        provenance = reader.provenance("cifar", vit0)
    assert sorted(trials.status) == ["done"] * 6 + ["failed"]
    assert trials[trials.status == "failed"].error.tolist() == [MSG_FAILED]
    accuracy = metrics[metrics.metric == "accuracy"].sort_values(["arm", "replicate"])
    assert accuracy.arm.tolist() == ["resnet"] * 3 + ["vit"] * 3
    assert accuracy.replicate.tolist() == [0, 1, 2] * 2
    assert accuracy.value.round(6).tolist() == [0.8, 0.81, 0.82, 0.84, 0.85, 0.86]
    loss = curves[(curves.key == vit0) & (curves.name == "loss")]
    assert loss.step.tolist() == [0, 1, 2, 3] and loss.value.tolist() == [1.0, 0.5, 1 / 3, 0.25]
    assert files.name.tolist() == ["vit0.txt"] and Path(files.path[0]).read_text() == "vit seed 0"
    assert provenance["config"] == {"lr": "0.01", "model": "vit", "seed": "0"}
    assert provenance["source"] == "mlflow" and provenance["run"]["status"] == "finished"

    again = invoke("import", "mlflow", str(mlruns), "--arm", "model", "--replicate", "seed", "--store", str(store))
    assert "Imported 0 run(s)" in again.output and "7 run(s) were already in the store" in again.output

    stats = pytest.importorskip("rigorlab.stats")
    comparison = stats.compare_study(metrics, metric="accuracy", baseline="resnet")
    assert "vit" in comparison.comparisons.to_string()


def test_import_from_sqlite_with_the_default_mapping_says_how_to_name_arms(mlflow_db, tmp_path):
    write_runs(f"sqlite:///{mlflow_db}", tmp_path)
    summary = import_mlflow(mlflow_db, store=tmp_path / "store", artifacts=False)
    assert summary.imported == {"cifar": 7} and summary.files == 0
    assert summary.single_run_arms == 7  # every run name is its own arm
    with open_store(tmp_path / "store") as reader:
        assert sorted(reader.trials("cifar").arm)[:2] == ["resnet-0", "resnet-1"]


def test_export_writes_runs_that_mlflow_reads_back_and_import_brings_them_home(mlflow_db, tmp_path):
    store = tmp_path / "store"
    checkpoint = tmp_path / "best.ckpt"
    checkpoint.write_bytes(b"\x00weights")
    expected_curves = {}
    for arm, shift in (("baseline", 0.0), ("mine", 0.03)):
        for replicate in range(2):
            with track(
                study="vision",
                arm=arm,
                dataset="cifar10",
                replicate=replicate,
                store=store,
                params={"lr": 0.1, "net": {"depth": 18}},
                n_train=900,
                n_test=100,
            ) as run:
                for epoch in range(5):
                    run.log(step=epoch, loss=1 / (epoch + 1) + shift, acc=0.5 + epoch / 10)
                run.log_summary(test_acc=0.9 + shift + replicate / 100)
                run.set_tag("gpu", "A100")
                run.log_artifact(checkpoint)
            expected_curves[run.key] = [1 / (epoch + 1) + shift for epoch in range(5)]
    with pytest.raises(RuntimeError), track(study="vision", arm="mine", dataset="cifar10", replicate=2, store=store):
        raise RuntimeError("nan loss")

    result = invoke("export", "mlflow", "vision", str(mlflow_db), "--store", str(store))
    assert result.exit_code == 0, result.output
    assert "Exported 5 trial(s) of study vision" in result.output

    client = MlflowClient(tracking_uri=f"sqlite:///{mlflow_db}")
    experiment = client.get_experiment_by_name("vision")
    runs = {r.data.tags["rigorlab.key"]: r for r in client.search_runs([experiment.experiment_id])}
    assert len(runs) == 5
    for key, values in expected_curves.items():
        run = runs[key]
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.value for m in sorted(history, key=lambda m: m.step)] == values
        assert run.info.status == "FINISHED"
        assert run.data.params == {"lr": "0.1", "net.depth": "18"}
        assert run.data.tags["gpu"] == "A100" and run.data.tags["rigorlab.n_train"] == "900"
        assert run.data.metrics["test_acc"] == json.loads(run.data.tags["rigorlab.summary"])["test_acc"]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"best.ckpt", "rigorlab"} <= artifacts
        provenance = json.loads(
            Path(client.download_artifacts(run.info.run_id, "rigorlab/provenance.json", str(tmp_path))).read_text()
        )
        assert provenance["key"] == key and provenance["environment"]["packages"]["mlflow"] == mlflow.__version__
    failed = [r for r in runs.values() if r.info.status == "FAILED"]
    assert len(failed) == 1 and failed[0].data.tags["rigorlab.error"] == "RuntimeError: nan loss"

    again = invoke("export", "mlflow", "vision", str(mlflow_db), "--store", str(store))
    assert "Exported 0 trial(s)" in again.output and "5 were there already" in again.output

    home = tmp_path / "home"
    summary = import_mlflow(mlflow_db, store=home)
    assert summary.imported == {"vision": 5}
    with open_store(store) as original, open_store(home) as back:
        columns = ["key", "arm", "dataset", "replicate", "fold", "metric", "value", "n_train", "n_test"]
        assert back.metrics("vision")[columns].equals(original.metrics("vision")[columns])
        assert back.curves("vision").equals(original.curves("vision"))
        assert back.provenance("vision", next(iter(expected_curves)))["config"] == {"lr": 0.1, "net": {"depth": 18}}


def test_a_study_exports_to_a_file_store(write_study, tmp_path):
    store = tmp_path / "store"
    run_study(write_study(), store=store, jobs=1)
    summary = export_mlflow("small", tmp_path / "mlruns", store=store, artifacts=False)
    assert summary.exported == 12
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    runs = client.search_runs([client.get_experiment_by_name("small").experiment_id], max_results=100)
    with open_store(store) as reader:
        metrics = reader.metrics("small")
    exported = {(r.data.tags["rigorlab.key"], name): value for r in runs for name, value in r.data.metrics.items()}
    assert exported == {(k, m): v for k, m, v in zip(metrics.key, metrics.metric, metrics.value, strict=True)}
    assert {r.data.params["estimator"] for r in runs} == {
        "sklearn.linear_model.LogisticRegression",
        "sklearn.ensemble.RandomForestClassifier",
    }


def test_what_is_not_an_mlflow_store_is_refused_untouched(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    result = invoke("import", "mlflow", str(folder), "--store", str(tmp_path / "store"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert MSG_NOT_AN_MLFLOW_STORE.format(path=folder, reason="no experiment folder with a meta.yaml") in (
        " ".join(result.output.split())
    )
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    before = other.read_bytes()
    with pytest.raises(InputError, match="without MLflow's experiments/runs tables"):
        import_mlflow(other, store=tmp_path / "store")
    assert other.read_bytes() == before
    missing = invoke("import", "mlflow", str(tmp_path / "nope"), "--store", str(tmp_path / "store"))
    assert missing.exit_code == 2 and "There is no MLflow tracking store at" in missing.output


def test_experiment_choices_get_clear_messages(tmp_path):
    mlruns = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=mlruns.as_uri())
    for name in ("a", "b"):
        client.create_run(client.create_experiment(name))
    with pytest.raises(NotFoundError, match="has no experiment 'c'. Experiments: Default, a, b"):
        import_mlflow(mlruns, store=tmp_path / "store", experiments=["c"])
    with pytest.raises(InputError) as caught:
        import_mlflow(mlruns, store=tmp_path / "store", study="mine")
    assert str(caught.value) == MSG_STUDY_NEEDS_ONE.format(count=2, names="a, b")


def test_import_records_a_summary_metric_as_primary_not_the_curve_that_sorts_first(tmp_path):
    """Runs logging a ``loss`` curve and a ``test_acc`` summary: compare uses test_acc by default
    and says why; --primary-metric and --baseline choose others; a name not logged is refused."""
    mlruns = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=mlruns.as_uri())
    experiment = client.create_experiment("cifar-mini")
    for model, shift in (("resnet", 0.0), ("vit", 0.05)):
        for seed in range(3):
            run_id = client.create_run(experiment).info.run_id
            client.log_batch(run_id, params=[Param("model", model), Param("seed", str(seed))])
            for epoch in range(3):
                client.log_metric(run_id, "loss", 1 / (epoch + 1), step=epoch)
            client.log_metric(run_id, "test_acc", 0.8 + shift + 0.001 * seed)
            client.set_terminated(run_id, "FINISHED")
    store = tmp_path / "store"
    options = ("--arm", "model", "--replicate", "seed", "--store", str(store), "--no-artifacts")
    result = invoke("import", "mlflow", str(mlruns), *options)
    assert result.exit_code == 0, result.output
    assert "Primary metric of cifar-mini: test_acc (the first metric alphabetically that no run logged" in result.output
    document = json.loads(invoke("compare", "cifar-mini", "--store", str(store), "--format", "json").stdout)
    assert document["metric"] == "test_acc" and "recorded primary metric" in document["metric_reason"]
    assert document["comparisons"][0]["mean_diff"] == pytest.approx(0.05)

    bad = invoke("import", "mlflow", str(mlruns), *options, "--primary-metric", "acc")
    assert bad.exit_code == 2 and "Metrics logged: loss, test_acc" in bad.output
    bad_arm = invoke("import", "mlflow", str(mlruns), *options, "--baseline", "bert")
    assert bad_arm.exit_code == 2 and "Arms: resnet, vit" in bad_arm.output
    chosen = invoke("import", "mlflow", str(mlruns), *options, "--primary-metric", "loss", "--baseline", "vit")
    assert chosen.exit_code == 0, chosen.output
    with open_store(store) as reader:
        info = reader.study_info("cifar-mini")
    assert info["primary_metric"] == "loss" and info["baseline"] == "vit"


def store_snapshot(store: Path) -> tuple[list[str], list[str]]:
    """Everything a store holds: its database, dumped, and its files."""
    db = sqlite3.connect(f"{(store / 'rigorlab.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        rows = list(db.iterdump())
    finally:
        db.close()
    return rows, sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file() and "-wal" not in p.name)


def model_seed_runs(mlruns: Path, experiment_name: str = "cifar") -> MlflowClient:
    """Two models x two seeds (params model and seed), finished, in a file store."""
    client = MlflowClient(tracking_uri=mlruns.as_uri())
    experiment = client.create_experiment(experiment_name)
    for model in ("resnet", "vit"):
        for seed in range(2):
            run_id = client.create_run(experiment, run_name=f"{model}-{seed}", tags={"team": "vision"}).info.run_id
            client.log_batch(run_id, params=[Param("model", model), Param("seed", str(seed))])
            client.log_metric(run_id, "accuracy", 0.8 + seed / 100)
            client.set_terminated(run_id, "FINISHED")
    return client


def test_an_arm_dataset_or_replicate_name_no_run_has_is_refused_before_anything_is_written(tmp_path):
    mlruns = tmp_path / "mlruns"
    model_seed_runs(mlruns)
    store = tmp_path / "store"
    result = invoke("import", "mlflow", str(mlruns), "--arm", "modle", "--replicate", "seed", "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert " ".join(result.output.split()) == (
        "Error: --arm modle is neither a param nor a tag of any run of experiment 'cifar'. Did you mean 'model'? "
        "Params: model, seed. Tags: team. Give one of these (params.NAME or tags.NAME picks one kind), or leave "
        "--arm out; nothing was imported."
    )
    assert not store.exists()
    with pytest.raises(InputError) as caught:
        import_mlflow(mlruns, store=store, arm="model", replicate="params.sede")
    assert str(caught.value) == MSG_UNKNOWN_IDENTITY.format(
        option="replicate",
        value="params.sede",
        experiment="cifar",
        closest=" Did you mean 'params.seed'?",
        params="model, seed",
        tags="team",
    )
    with pytest.raises(InputError, match=r"^--dataset tags.model is neither .* Did you mean 'params.model'\?"):
        import_mlflow(mlruns, store=store, dataset="tags.model")
    assert not store.exists()
    summary = import_mlflow(mlruns, store=store, arm="model", replicate="seed", dataset="tags.team")
    assert summary.imported == {"cifar": 4} and summary.single_run_arms == 0
    with open_store(store) as reader:
        assert set(reader.trials("cifar").dataset) == {"vision"}


def test_importing_again_with_another_grouping_is_refused_and_says_how_to_start_over(tmp_path):
    mlruns = tmp_path / "mlruns"
    model_seed_runs(mlruns)
    store = tmp_path / "store"
    first = invoke("import", "mlflow", str(mlruns), "--store", str(store))  # run names as arms: a mistake
    assert first.exit_code == 0
    assert MSG_SINGLE_RUN_ARMS.format(count=4, study="cifar") in " ".join(first.output.split())
    before = store_snapshot(store)
    again = invoke("import", "mlflow", str(mlruns), "--arm", "model", "--replicate", "seed", "--store", str(store))
    assert again.exit_code == 2 and "Traceback" not in again.output
    assert " ".join(again.output.split()) == "Error: " + MSG_IDENTITY_CHANGED.format(
        count=4,
        experiment="cifar",
        study="cifar",
        run="vit-1",  # MLflow lists the newest run first
        stored="arm 'vit-1', dataset 'default', replicate 0, fold 0",
        new="arm 'vit', dataset 'default', replicate 1, fold 0",
        suggestion="cifar-2",
    )
    assert store_snapshot(store) == before
    moved = import_mlflow(mlruns, store=store, arm="model", replicate="seed", study="cifar-2")
    assert moved.imported == {"cifar-2": 4}
    same = import_mlflow(mlruns, store=store)  # the grouping of the first import: nothing to do, no error
    assert same.imported == {"cifar": 0} and same.already_stored == 4


def test_a_run_that_ends_after_an_import_takes_a_new_replicate_number(tmp_path):
    mlruns = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=mlruns.as_uri())
    experiment = client.create_experiment("cifar")
    slow = client.create_run(experiment, start_time=1_000).info.run_id  # started first, still running
    for start in (2_000, 3_000):
        run_id = client.create_run(experiment, start_time=start).info.run_id
        client.log_batch(run_id, params=[Param("model", "resnet")])
        client.log_metric(run_id, "accuracy", start / 10_000)
        client.set_terminated(run_id, "FINISHED", end_time=start + 500)
    client.log_batch(slow, params=[Param("model", "resnet")])
    store = tmp_path / "store"
    assert import_mlflow(mlruns, store=store, arm="model").still_running == 1
    client.log_metric(slow, "accuracy", 0.9)
    client.set_terminated(slow, "FINISHED", end_time=5_000)
    assert import_mlflow(mlruns, store=store, arm="model").imported == {"cifar": 1}
    with open_store(store) as reader:
        trials = reader.trials("cifar").sort_values("replicate")
    assert trials.replicate.tolist() == [0, 1, 2] and trials.accuracy.tolist() == [0.2, 0.3, 0.9]


def test_study_names_and_study_file_studies_are_checked_before_anything_is_written(write_study, tmp_path):
    mlruns = tmp_path / "mlruns"
    model_seed_runs(mlruns, "my experiment")
    store = tmp_path / "store"
    bad = invoke("import", "mlflow", str(mlruns), "--study", "bad name", "--store", str(store))
    assert bad.exit_code == 2 and " ".join(bad.output.split()) == (
        "Error: --study 'bad name' must be a name of letters, digits, '_', '.' or '-' (no spaces), as in study "
        "files. Give e.g. --study bad-name; nothing was imported."
    )
    with pytest.raises(InputError) as caught:
        import_mlflow(mlruns, store=store)
    assert str(caught.value) == MSG_BAD_EXPERIMENT_STUDY.format(
        experiment="my experiment", rule=STUDY_NAME_RULE, suggestion="my-experiment"
    )
    assert not store.exists()

    run_study(write_study(), store=store, jobs=1)
    with open_store(store) as reader:
        spec_path, root = reader.study_info("small")["spec_path"], reader.root
    before = store_snapshot(store)
    with pytest.raises(InputError) as caught:
        import_mlflow(mlruns, store=store, study="small", arm="model", replicate="seed")
    assert str(caught.value) == MSG_IMPORT_STUDY_FILE.format(
        study="small", store=root, path=spec_path, experiment="my experiment", suggestion="small-mlflow"
    )
    with pytest.raises(InputError, match="--primary-metric acc is not a metric"):
        import_mlflow(mlruns, store=store, study="vision", primary_metric="acc")
    assert store_snapshot(store) == before


def test_exporting_to_a_file_that_is_no_mlflow_store_is_refused_untouched(tmp_path):
    store = tmp_path / "store"
    with track(study="vision", arm="mlp", dataset="cifar10", replicate=0, store=store) as run:
        run.log_summary(test_acc=0.9)
    notes = tmp_path / "afile"
    notes.write_text("my notes")
    result = invoke("export", "mlflow", "vision", str(notes), "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert " ".join(result.output.split()) == "Error: " + MSG_DESTINATION_NOT_A_STORE.format(
        path=notes, reason="file is not a database"
    )
    under = invoke("export", "mlflow", "vision", str(notes / "mlruns"), "--store", str(store))
    assert under.exit_code == 2
    assert " ".join(under.output.split()) == "Error: " + MSG_DESTINATION_UNDER_FILE.format(
        path=notes / "mlruns", parent=notes
    )
    other = tmp_path / "results.db"
    sqlite3.connect(other).execute("CREATE TABLE scores (x)").connection.commit()
    before = other.read_bytes()
    with pytest.raises(InputError) as caught:
        export_mlflow("vision", other, store=store)
    assert str(caught.value) == MSG_DESTINATION_NOT_A_STORE.format(
        path=other, reason="a SQLite file without MLflow's experiments/runs tables"
    )
    assert notes.read_text() == "my notes" and other.read_bytes() == before
