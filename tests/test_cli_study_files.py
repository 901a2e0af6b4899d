"""A study file where a study name is expected, and errors that read as one paragraph."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rigorlab import run_study, track
from rigorlab.cli import app
from rigorlab.errors import StoreError
from rigorlab.store import open_store
from tests.conftest import SMALL_STUDY

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    (folder / "study.yaml").write_text(SMALL_STUDY)
    run_study(folder / "study.yaml", store=folder / "store", jobs=2)
    return folder


def test_reproduce_bundle_and_verifications_take_the_study_file(small, tmp_path):
    study_file, store = str(small / "study.yaml"), str(small / "store")
    note = f"{study_file}: study 'small' (the study: name in the file)"
    dry = invoke("reproduce", study_file, "--store", store, "--dry-run", "--quiet")
    assert dry.exit_code == 0, dry.output
    assert note in dry.stderr and "Reproducing study small" in dry.stdout
    assert "ReadError" not in dry.output and "bundle" not in dry.output
    shown = invoke("verifications", study_file, "--store", store)
    assert shown.exit_code == 0 and "Study small" in shown.stdout
    bundled = invoke("bundle", study_file, str(tmp_path / "paper.tar.gz"), "--store", store)
    assert bundled.exit_code == 0, bundled.output
    assert "study small" in bundled.stdout and (tmp_path / "paper.tar.gz").exists()


def test_an_error_starts_with_error_not_a_blank_line(small):
    result = invoke("reproduce", "nope", "--store", str(small / "store"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: There is no study 'nope'")


def test_a_store_that_cannot_be_created_is_one_paragraph_with_exit_2(small, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as caught:
        open_store(blocker / "store", create=True)
    assert str(caught.value).startswith(f"Cannot create or open the store at {blocker / 'store'}: not a directory.")
    assert "--store PATH" in str(caught.value)
    # The same through a command that creates its store and through rigorlab.track.
    result = invoke("run", str(small / "study.yaml"), "--store", str(blocker / "store"), "--quiet")
    assert result.exit_code == 2
    assert "Error: Cannot create or open the store" in result.stderr and "Traceback" not in result.output
    with pytest.raises(StoreError), track(study="s", arm="a", dataset="d", store=blocker / "store"):
        pass


def test_a_store_path_that_is_a_file_says_so(tmp_path):
    from rigorlab.store._sqlite import MSG_STORE_UNUSABLE, REASON_A_FILE

    blocker = tmp_path / "afile"
    blocker.write_text("not a store")
    with pytest.raises(StoreError) as caught:
        open_store(blocker, create=True)
    assert str(caught.value) == MSG_STORE_UNUSABLE.format(path=blocker, reason=REASON_A_FILE)
    assert blocker.read_text() == "not a store"
