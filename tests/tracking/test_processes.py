"""Tracked runs in real processes: signals, SIGKILL, and eight processes writing one store at once."""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rigorlab.provenance import capture_environment
from rigorlab.store import open_store
from rigorlab.store._sqlite_base import MSG_PROCESS_GONE
from rigorlab.tracking import track
from rigorlab.tracking._messages import MSG_EXIT_WHILE_OPEN, MSG_INTERRUPTED, MSG_STOPPED_BY_SIGNAL
from tests.conftest import default_sigint
from tests.tracking.worker import value

pytestmark = pytest.mark.slow  # each test starts Python processes that import rigorlab (seconds each)

WORKER = Path(__file__).with_name("worker.py")
DEADLINE_SECONDS = 120
POINTS_EACH = 20_000  # in writes of about 250 points: 160 transactions per process, 1280 in all


class Worker:
    """A worker process (see worker.py) whose printed lines the test can wait for."""

    def __init__(self, mode: str, store: Path, index: int = 0, points: int = 5000) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), mode, str(store), str(index), str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        # A thread reads the lines: select() on a buffered pipe misses lines already read ahead.
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, line: str) -> None:
        """Wait (bounded) until the worker prints ``line``."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                printed = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if printed == line:
                return
            if printed is None:
                break
        self.process.kill()
        raise AssertionError(f"the worker never printed {line!r}: {self.finish()[1]}")

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self) -> tuple[int, str]:
        """Wait for the worker, close its pipes; returns (exit code, stderr)."""
        returncode = self.process.wait(timeout=DEADLINE_SECONDS)
        self.reader.join(timeout=DEADLINE_SECONDS)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.process.stdout.close()
        stderr = self.process.stderr.read()
        self.process.stderr.close()
        return returncode, stderr


def stored_count(store: Path) -> int:
    db = sqlite3.connect(store / "rigorlab.sqlite")
    try:
        return int(db.execute("SELECT COUNT(*) FROM curves WHERE name = 'loss'").fetchone()[0])
    finally:
        db.close()


def assert_points(store: Path, index: int, count: int) -> None:
    with open_store(store) as reader:
        curves = reader.curves("procs")
    losses = curves[(curves.arm == f"arm{index}") & (curves.name == "loss")]
    assert losses.step.tolist() == list(range(count))
    assert losses.value.tolist() == [value(index, step) for step in range(count)]


@pytest.mark.parametrize(
    ("signum", "returncode", "error"),
    [
        (signal.SIGTERM, 128 + signal.SIGTERM, MSG_STOPPED_BY_SIGNAL.format(signal="SIGTERM")),
        (signal.SIGINT, -signal.SIGINT, MSG_INTERRUPTED),
    ],
)
def test_a_signal_writes_every_buffered_point_and_marks_the_run_crashed(tmp_path, signum, returncode, error):
    store = tmp_path / "store"
    worker = Worker("hold", store)  # nothing is written before the signal: the interval is an hour
    worker.expect("logged")
    assert stored_count(store) == 0
    worker.send_signal(signum)
    assert worker.finish()[0] == returncode
    assert_points(store, 0, 5000)
    with open_store(store) as reader:
        trial = reader.trials("procs").iloc[0]
        runs = reader.runs("procs")
    assert (trial.status, trial.error) == ("crashed", error)
    assert runs.status.tolist() == ["interrupted"]


@pytest.mark.parametrize(
    ("mode", "returncode", "status", "error"),
    [
        ("unclosed", 0, "done", None),
        (
            "unclosed-raise",
            1,
            "failed",
            MSG_EXIT_WHILE_OPEN.format(error="RuntimeError: the script crashed after training"),
        ),
    ],
)
def test_a_run_left_open_is_ended_when_the_program_exits(tmp_path, mode, returncode, status, error):
    store = tmp_path / "store"
    worker = Worker(mode, store)
    assert worker.finish()[0] == returncode
    assert_points(store, 0, 5000)
    with open_store(store) as reader:
        trial = reader.trials("procs").iloc[0]
    assert (trial.status, trial.error) == (status, error)


def _log_in_child(run: Any, artifact: Path) -> None:
    # A DataLoader worker touching the parent's run: every call is a silent no-op.
    run.log(step=99, loss=-1.0)
    run.log_summary(accuracy=0.0)
    assert run.log_artifact(artifact) == []
    assert run.flush()


def test_a_forked_child_cannot_write_to_the_parents_run(store_path, tmp_path):
    artifact = tmp_path / "model.pt"
    artifact.write_bytes(b"weights")
    with track(study="procs", arm="arm0", dataset="d", replicate=0, store=store_path) as run:
        run.log(step=0, loss=value(0, 0))
        child = multiprocessing.get_context("fork").Process(target=_log_in_child, args=(run, artifact))
        child.start()
        child.join(DEADLINE_SECONDS)
        assert child.exitcode == 0
        run.log(step=1, loss=value(0, 1))
    assert_points(store_path, 0, 2)
    with open_store(store_path) as reader:
        assert reader.metrics("procs").metric.tolist() == ["loss"]
        assert reader.trial_files("procs", run.key).empty
    assert not list(store_path.rglob("*.bin"))


def test_sigkill_keeps_everything_up_to_the_last_flush_and_the_run_is_marked_crashed(tmp_path):
    store = tmp_path / "store"
    worker = Worker("kill-after-flush", store)
    worker.expect("flushed")
    worker.expect("buffered")  # 5000 more points wait in the buffer
    worker.send_signal(signal.SIGKILL)
    worker.finish()
    assert stored_count(store) == 5000
    with open_store(store, read_only=True) as reader:  # even a read-only open marks the dead run
        trial = reader.trials("procs").iloc[0]
        runs = reader.runs("procs")
    assert (trial.status, trial.error) == ("crashed", MSG_PROCESS_GONE)
    assert runs.status.tolist() == ["crashed"]
    assert_points(store, 0, 5000)


def test_sigkill_loses_at_most_one_flush_interval(tmp_path):
    store = tmp_path / "store"
    worker = Worker("timed", store)  # flush_interval=0.1 s, no explicit flush
    worker.expect("logged")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while stored_count(store) < 5000 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.finish()
    assert_points(store, 0, 5000)
    with open_store(store) as reader:
        assert reader.trials("procs").status.tolist() == ["crashed"]


def _write(store: Path, index: int, go: Any) -> None:
    """One of the concurrent training jobs (a forked process with its own store connection)."""
    go.wait(DEADLINE_SECONDS)
    with track(
        study="procs", arm=f"arm{index}", dataset="d", replicate=0, store=store, flush_interval=0.02, flush_points=250
    ) as run:
        for step in range(POINTS_EACH):
            run.log(step=step, loss=value(index, step), acc=step / POINTS_EACH)


def test_eight_processes_write_one_store_at_once_without_locks_or_lost_points(tmp_path):
    store = tmp_path / "store"
    open_store(store, create=True).close()
    capture_environment()  # captured once here; the forked jobs inherit it instead of taking a second each
    context = multiprocessing.get_context("fork")
    go = context.Event()
    jobs = [context.Process(target=_write, args=(store, index, go)) for index in range(8)]
    for job in jobs:
        job.start()
    go.set()  # all eight start logging together
    for job in jobs:
        job.join(DEADLINE_SECONDS)
    assert [job.exitcode for job in jobs] == [0] * 8  # a "database is locked" error would exit 1
    with open_store(store) as reader:
        trials = reader.trials("procs")
        curves = reader.curves("procs")
    assert sorted(trials.arm) == [f"arm{index}" for index in range(8)]
    assert set(trials.status) == {"done"}
    assert len(curves) == 8 * POINTS_EACH * 2
    for index in range(8):
        losses = curves[(curves.arm == f"arm{index}") & (curves.name == "loss")]
        assert losses.step.tolist() == list(range(POINTS_EACH))
        assert losses.value.tolist() == [value(index, step) for step in range(POINTS_EACH)]
