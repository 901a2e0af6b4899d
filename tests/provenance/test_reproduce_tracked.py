"""Reproduce and verify tracked runs: the hand-written script that logged them runs again, for real, in
a subprocess writing to a scratch store, and each stored run is compared with its re-run; every way it
can go wrong (script gone, no script, a crash, a timeout, a replicate picked automatically, a script
that chooses its store) ends in a clear verdict, and the original store only gains the verdicts."""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rigorlab import open_store
from rigorlab.cli import app
from rigorlab.provenance import reproduce, reproduce_bundle, write_bundle
from rigorlab.provenance._reproduce import MSG_NO_EXPLANATION
from rigorlab.provenance._tracked_rerun import (
    MSG_NO_MATCH,
    MSG_NO_SCRIPT,
    MSG_NOT_A_SCRIPT,
    MSG_SCRIPT_GONE,
)

# python train.py ARM REPLICATES|auto [STORE]: seeded from the replicate (7 when rigorlab picks it).
# Files beside it change what a re-run does: broken.txt makes it raise, slow.txt makes it hang,
# shift.txt is added to its accuracy.
TRAIN = """\
import sys
import time
from pathlib import Path

import numpy as np

import rigorlab

arm, which = sys.argv[1], sys.argv[2]
store = sys.argv[3] if len(sys.argv) > 3 else None
if Path("broken.txt").exists():
    raise RuntimeError("the data loader broke: " + Path("broken.txt").read_text())
if Path("slow.txt").exists():
    time.sleep(60)
shift = float(Path("shift.txt").read_text()) if Path("shift.txt").exists() else 0.0
for replicate in [None] if which == "auto" else [int(r) for r in which.split(",")]:
    rng = np.random.default_rng(7 if replicate is None else replicate)
    weights = rng.normal(size=4)
    params = {"lr": 0.1, "arm": arm}
    with rigorlab.track(study="hand", arm=arm, dataset="toy", replicate=replicate, params=params, store=store) as run:
        for epoch in range(5):
            weights = weights - 0.1 * rng.normal(size=4)
            run.log(step=epoch, loss=float(np.square(weights).sum()))
        run.log_summary(accuracy=1.0 / (1.0 + float(np.square(weights).sum())) + shift)
"""

runner = CliRunner()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A project folder holding the training script (outside any git work tree)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    return folder


def train(work: Path, store: Path, *args: str, code: str | None = None) -> None:
    """Run the script (or ``python -c code``) as a user would, with RIGORLAB_STORE set."""
    command = [sys.executable, "-c", code] if code else [sys.executable, "train.py", *args]
    environment = {**os.environ, "RIGORLAB_STORE": str(store)}
    done = subprocess.run(command, cwd=work, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def rows_but_verdicts(snapshot, store: Path) -> tuple[object, ...]:
    rows, objects = snapshot(store)
    rows.pop("verifications")
    return rows, objects


@pytest.mark.slow
def test_tracked_runs_run_again_once_per_invocation_and_come_out_identical(work, tmp_path, snapshot):
    store = tmp_path / "store"
    train(work, store, "mlp", "0,1")
    train(work, store, "linear", "0")
    before = rows_but_verdicts(snapshot, store)

    planned = reproduce("hand", store=store, dry_run=True)
    script = work / "train.py"
    assert planned.to_run == 3 and planned.verifications == []
    assert planned.invocations == [
        f"in {work}: {shlex.join(['python', str(script), 'mlp', '0,1'])} (2 run(s))",
        f"in {work}: {shlex.join(['python', str(script), 'linear', '0'])} (1 run(s))",
    ]

    report = reproduce("hand", store=store)
    assert report.counts() == {"identical": 3} and report.ok and report.recorded
    assert {(v.arm, v.replicate) for v in report.verifications} == {("mlp", 0), ("mlp", 1), ("linear", 0)}
    mlp = next(v for v in report.verifications if v.arm == "mlp" and v.replicate == 1)
    assert mlp.tolerance == "exact"
    assert mlp.details["metrics"]["accuracy"]["difference"] == 0.0
    assert mlp.details["curves"]["loss"] == {"equal": True, "max_difference": 0.0, "n": 5}
    assert mlp.details["rerun"]["returncode"] == 0 and mlp.details["rerun"]["cwd"] == str(work)
    assert rows_but_verdicts(snapshot, store) == before  # the re-runs wrote to their scratch stores only
    with open_store(store, read_only=True) as reader:
        assert set(reader.verifications("hand").verdict) == {"identical"}


def test_a_changed_input_gives_different_naming_the_metric(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "0")
    (work / "shift.txt").write_text("0.25")
    report = reproduce("hand", store=store, record=False)
    (verdict,) = report.verifications
    assert verdict.verdict == "different" and not report.ok
    assert len(verdict.differences) == 1 and verdict.differences[0].startswith("accuracy: stored ")
    assert verdict.max_difference == pytest.approx(0.25)
    assert verdict.details["curves"]["loss"]["equal"]  # the loss does not read the file
    assert verdict.explanation == [MSG_NO_EXPLANATION]


def test_a_script_edited_outside_git_is_named_as_the_likely_cause(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "0")
    script = work / "train.py"
    before = hashlib.sha256(script.read_bytes()).hexdigest()
    script.write_text(script.read_text().replace("+ shift)", "+ shift + 0.125)"))
    after = hashlib.sha256(script.read_bytes()).hexdigest()
    report = reproduce("hand", store=store, record=False)
    (verdict,) = report.verifications
    assert verdict.verdict == "different" and verdict.max_difference == pytest.approx(0.125)
    change = f"script train.py (content sha256) {before[:12]} -> {after[:12]}"
    assert verdict.explanation == [f"{change} (the script's work tree)"]


def test_an_edited_script_in_git_is_named_as_the_likely_cause(work, tmp_path):
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=work, check=True, capture_output=True
        )

    git("init", "-q")
    git("add", "train.py")
    git("commit", "-q", "-m", "train")
    store = tmp_path / "store"
    train(work, store, "mlp", "0")
    (work / "train.py").write_text(TRAIN.replace("params = {", "shift += 0.5\n    params = {"))
    report = reproduce("hand", store=store, record=False, dry_run=True)
    changes = [str(change) for change in report.git_changes]
    assert changes[0] == f"uncommitted changes none -> {report.git_changes[0].after}"
    assert changes[1].startswith("script train.py (content sha256) ") and len(changes) == 2
    (verdict,) = reproduce("hand", store=store, record=False).verifications
    assert verdict.verdict == "different" and verdict.differences[0].startswith("accuracy: stored ")
    assert verdict.explanation == [f"{change} (the script's work tree)" for change in changes]


def test_a_script_that_is_gone_is_refused_also_from_a_bundle(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "0")
    bundle = tmp_path / "hand.tar.gz"
    write_bundle("hand", bundle, store=store)
    (work / "train.py").unlink()  # as on a reader's machine: the bundle does not carry the script
    expected = MSG_SCRIPT_GONE.format(script=work / "train.py", command="train.py mlp 0")
    for report in (reproduce("hand", store=store, record=False), reproduce_bundle(bundle)):
        (verdict,) = report.verifications
        assert verdict.verdict == "refused" and verdict.differences == [expected]
        assert report.to_run == 0 and report.invocations == [] and not report.ok


@pytest.mark.slow
def test_a_script_that_raises_or_hangs_fails_with_its_stderr(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "0")
    (work / "broken.txt").write_text("shard 3 is missing")
    (verdict,) = reproduce("hand", store=store, record=False).verifications
    assert verdict.verdict == "failed"
    message = verdict.differences[0]
    command = shlex.join(["python", str(work / "train.py"), "mlp", "0"])
    assert message.startswith(f"the re-run `{command}` (in {work}) exited with code 1;")
    assert message.splitlines()[-1] == "    RuntimeError: the data loader broke: shard 3 is missing"
    assert verdict.details["returncode"] == 1

    (work / "broken.txt").unlink()
    (work / "slow.txt").write_text("")
    report = reproduce("hand", store=store, record=False, script_timeout=1.0)
    (verdict,) = report.verifications
    assert verdict.verdict == "failed" and verdict.details["timed_out"]
    assert verdict.differences[0].startswith(
        f"the re-run `{command}` (in {work}) did not finish within 1 s and was stopped"
    )
    assert "--script-timeout SECONDS" in verdict.differences[0]


def test_a_replicate_picked_automatically_is_matched_only_when_numbers_agree(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "auto")
    train(work, store, "mlp", "auto")  # the same invocation again: replicate 1
    report = reproduce("hand", store=store, record=False)
    command = shlex.join(["python", str(work / "train.py"), "mlp", "auto"])
    assert report.invocations == [f"in {work}: {command} (2 run(s))"]
    verdicts = {v.replicate: v for v in report.verifications}
    assert verdicts[0].verdict == "identical"  # the one re-run is replicate 0 again, seeded the same
    assert verdicts[1].verdict == "failed"
    assert verdicts[1].differences == [
        MSG_NO_MATCH.format(
            command=command,
            cwd=work,
            study="hand",
            arm="mlp",
            dataset="toy",
            replicate=1,
            fold=0,
            found="mlp/toy replicate 0 fold 0 (done)",
        )
    ]
    assert "pass replicate= explicitly" in verdicts[1].differences[0]


def test_runs_without_a_script_or_from_an_installed_program_are_refused(work, tmp_path):
    store = tmp_path / "store"
    code = "import rigorlab\nwith rigorlab.track(study='hand', arm='repl', dataset='toy', replicate=0) as run:\n"
    train(work, store, code=code + "    run.log_summary(accuracy=0.5)\n")
    (verdict,) = reproduce("hand", store=store, record=False).verifications
    assert verdict.verdict == "refused" and verdict.differences == [MSG_NO_SCRIPT.format(command="-c")]

    # In this process, pytest started the run: re-running it would run the test suite, not training code.
    from rigorlab.tracking import track

    with track(study="hand", arm="in_pytest", dataset="toy", replicate=0, store=store) as run:
        run.log_summary(accuracy=0.9)
    (verdict,) = reproduce("hand", store=store, trials=[run.key], record=False).verifications
    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])
    expected = (
        MSG_NOT_A_SCRIPT.format(script=Path(sys.argv[0]).resolve(), command=command)
        if Path(sys.argv[0]).is_file()
        else MSG_NO_SCRIPT.format(command=command)  # a pytest-xdist worker runs as `python -c`
    )
    assert verdict.verdict == "refused" and verdict.differences == [expected]


def test_a_script_that_chooses_the_store_itself_re_runs_into_the_scratch_store(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "0", str(store))
    with open_store(store, read_only=True) as reader:
        before = reader.trials("hand")["key"].tolist()
    (verdict,) = reproduce("hand", store=store, record=False).verifications
    assert verdict.verdict == "identical", verdict.differences
    with open_store(store, read_only=True) as reader:
        assert reader.trials("hand")["key"].tolist() == before  # track(store=...) gave way to the scratch store


def test_a_re_run_that_still_writes_into_the_original_store_is_reported(work, tmp_path):
    store = tmp_path / "store"
    script = work / "train.py"
    # A script that clears the re-run's marker, so that its store= wins again.
    script.write_text(
        script.read_text().replace(
            "import sys\n", "import os\nimport sys\n\nos.environ.pop('RIGORLAB_REPRODUCING', None)\n", 1
        )
    )
    train(work, store, "mlp", "0", str(store))
    (verdict,) = reproduce("hand", store=store, record=False).verifications
    assert verdict.verdict == "failed"
    assert "wrote 1 run(s) into the original store" in verdict.differences[0]
    assert "Leave store= out (set RIGORLAB_STORE instead)" in verdict.differences[0]


@pytest.mark.slow
def test_the_cli_lists_re_runs_and_exits_by_verdict(work, tmp_path):
    store = tmp_path / "store"
    train(work, store, "mlp", "0,1")

    def invoke(*args: str):
        arguments = ["reproduce", "hand", "--store", str(store), "--quiet", *args]
        return runner.invoke(app, arguments, env={"COLUMNS": "250"})

    dry = invoke("--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "2 trial(s) selected, 2 to re-run." in dry.output
    assert "Tracked runs: 1 script invocation(s) to re-run:" in dry.output
    assert f"in {work}: python {work / 'train.py'} mlp 0,1 (2 run(s))" in dry.output

    done = invoke("--script-timeout", "120")
    assert done.exit_code == 0, done.output
    assert "2 identical." in done.output and "Recorded 2 verdict(s)" in done.output

    (work / "train.py").unlink()
    gone = invoke("--no-record")
    assert gone.exit_code == 2, gone.output  # every trial refused
    flat = " ".join(gone.output.split())  # the console wraps long lines
    assert "2 refused." in flat and flat.count("that logged the run is not there any more") == 2
    assert "Traceback" not in flat
