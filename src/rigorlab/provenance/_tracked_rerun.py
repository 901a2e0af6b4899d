"""Re-run tracked runs: the scripts that logged them with ``rigorlab.track()``, as they were invoked.

A tracked run records the script (tag ``rigorlab.script``, its resolved path), the command line
(the script's name, then its arguments) and the folder it ran in (tag ``rigorlab.cwd``). The
chosen runs are grouped by that invocation; each invocation runs once, as
``python SCRIPT ARGS...`` in the recorded folder, with ``RIGORLAB_STORE`` pointing to a fresh
scratch store, so its runs land there and not in the original store. Each stored run is then
matched to the run of the scratch store with the same study, arm, dataset, replicate and fold.

What cannot be re-run faithfully is refused with the reason, never run approximately: no script
(``python -c``, a notebook), a script that is gone, or a run started by an installed program (a
test runner, a notebook kernel, a console command) whose re-run would not be the training code.

Written by hand with :mod:`subprocess`: no library re-runs a recorded Python invocation into
another store.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rigorlab.errors import InputError, StoreError
from rigorlab.provenance._capture import capture_git
from rigorlab.provenance._envdiff import Change, diff_git

if TYPE_CHECKING:
    from rigorlab.store import RunStore

__all__ = [
    "DEFAULT_SCRIPT_TIMEOUT",
    "Invocation",
    "SCRIPT_HASH_TAG",
    "SCRIPT_TAG",
    "Rerun",
    "plan_invocations",
    "reproduced_run",
    "result_curves",
    "run_invocation",
    "script_sha256",
]

# A training script may run for long; a re-run that goes on past an hour is stopped (--script-timeout).
DEFAULT_SCRIPT_TIMEOUT = 3600.0
STDERR_TAIL_LINES = 15
TAIL_BYTES = 64 * 1024
SCRIPT_TAG = "rigorlab.script"
CWD_TAG = "rigorlab.cwd"
SCRIPT_HASH_TAG = "rigorlab.script_sha256"
STORE_VARIABLE = "RIGORLAB_STORE"
# Set in every re-run's environment: a re-run that itself calls reproduce must not re-run scripts
# again (a test suite that tracks runs and reproduces them would otherwise start itself over and over).
RERUN_VARIABLE = "RIGORLAB_REPRODUCING"
# Files that start a Python process for a tool, not for a training script.
_LAUNCHERS = ("ipykernel_launcher.py",)

MSG_NO_SCRIPT = (
    "cannot be re-run: the tracked run was not started from a script file (its command: {command}), e.g. from "
    "`python -c`, a notebook or an interactive session. Track the training code from a script (python SCRIPT "
    "ARGS) to have it re-run, or re-run it by hand with RIGORLAB_STORE set to an empty folder and compare."
)
MSG_NOT_A_SCRIPT = (
    "cannot be re-run: the tracked run was started by {script}, an installed program (a test runner, a notebook "
    "kernel or a console command), not by a training script (its command: {command}). rigorlab re-runs scripts "
    "started as `python SCRIPT ARGS`; run the command by hand with RIGORLAB_STORE set to an empty folder and compare."
)
MSG_SCRIPT_GONE = (
    "cannot be re-run: the script {script} that logged the run is not there any more (its command: {command}). "
    "Put the script back at that path (a bundle does not carry the scripts of tracked runs) and run "
    "rigorlab reproduce again."
)
MSG_CWD_GONE = (
    "cannot be re-run: the folder {cwd} the script ran in is not there any more (its command: {command}). Create "
    "it again with the files the script reads, then run rigorlab reproduce again."
)
MSG_NESTED = (
    "not re-run: this reproduction runs inside the re-run of a tracked script (RIGORLAB_REPRODUCING is set), and "
    "re-running scripts from there could start the same scripts over and over."
)
MSG_SCRIPT_FAILED = "the re-run `{command}` (in {cwd}) exited with code {code}; the last lines of its stderr:\n{tail}"
MSG_SCRIPT_TIMEOUT = (
    "the re-run `{command}` (in {cwd}) did not finish within {timeout:g} s and was stopped; give it more time with "
    "--script-timeout SECONDS. The last lines of its stderr:\n{tail}"
)
MSG_NO_MATCH = (
    "the re-run `{command}` (in {cwd}) finished but logged no run of study '{study}', arm '{arm}', dataset "
    "'{dataset}', replicate {replicate}, fold {fold} (it logged: {found}). If the script lets rigorlab.track() "
    "pick the replicate number, pass replicate= explicitly (e.g. the seed's index) so that a re-run is matched to "
    "the run it repeats."
)
MSG_RUN_NOT_DONE = "the re-run `{command}` (in {cwd}) logged the run, but it ended as {status}: {error}"
MSG_WROTE_ORIGINAL = (
    "the re-run `{command}` (in {cwd}) wrote {count} run(s) into the original store {store} instead of the scratch "
    "store: the script chooses its store itself (rigorlab.track(store=...) gives way to the scratch store only "
    "while RIGORLAB_REPRODUCING is set; this script clears it, or opens the store directly). Those runs (keys "
    "{keys}) now hide older runs of the same replicate; delete them if they should not count. Leave store= out "
    "(set RIGORLAB_STORE instead) so that re-runs cannot write there."
)


@dataclass
class Invocation:
    """One recorded way a script was run, and the chosen stored runs it logged.

    ``problem`` is the reason it cannot be re-run (None when it can); ``git_changes`` what changed
    in the script's git work tree since its runs were logged.
    """

    script: str | None
    arguments: tuple[str, ...]
    cwd: str | None
    command: list[str]
    records: list[Mapping[str, Any]] = field(default_factory=list)
    problem: str | None = None
    git_changes: list[Change] = field(default_factory=list)
    script_sha256: str | None = None

    @property
    def command_text(self) -> str:
        """The command as a shell would run it: ``python /path/train.py --lr 0.1``."""
        return shlex.join(["python", self.script or "?", *self.arguments])

    def line(self) -> str:
        """``in FOLDER: python SCRIPT ARGS (N run(s))``, for a dry run's list."""
        where = self.cwd or "?"
        return f"in {where}: {self.command_text} ({len(self.records)} run(s))"


@dataclass
class Rerun:
    """What one re-run of an invocation left: its exit code (None when stopped at the timeout),
    the scratch store it wrote, its captured output and the time it took."""

    invocation: Invocation
    store: Path
    returncode: int | None
    timed_out: bool
    stdout: Path
    stderr: Path
    seconds: float
    timeout: float

    def tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines of its stderr (stdout when stderr is empty), indented."""
        text = ""
        for path in (self.stderr, self.stdout):
            text = _end_of(path).strip()
            if text:
                break
        kept = text.splitlines()[-lines:] if text else ["(nothing was printed)"]
        return "\n".join(f"    {line}" for line in kept)

    def failure(self) -> str | None:
        """The message when the re-run did not end normally (None when it exited with 0)."""
        invocation = self.invocation
        if self.timed_out:
            return MSG_SCRIPT_TIMEOUT.format(
                command=invocation.command_text, cwd=invocation.cwd, timeout=self.timeout, tail=self.tail()
            )
        if self.returncode != 0:
            return MSG_SCRIPT_FAILED.format(
                command=invocation.command_text, cwd=invocation.cwd, code=self.returncode, tail=self.tail()
            )
        return None


def _end_of(path: Path, size: int = TAIL_BYTES) -> str:
    """The last ``size`` bytes of a file as text: a training log may be gigabytes of progress bars."""
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode("utf-8", errors="replace")


def _installed_folders(recorded_executable: str | None) -> list[Path]:
    """Folders of installed programs: this interpreter's library and scripts folders, and the scripts
    folder of the interpreter that ran the script."""
    names = ("stdlib", "platstdlib", "purelib", "platlib", "scripts")
    paths = sysconfig.get_paths()
    folders = [Path(paths[name]) for name in names if name in paths]
    if recorded_executable:
        folders.append(Path(recorded_executable).parent)
    return [folder.resolve() for folder in folders]


def _installed(script: Path, recorded_executable: str | None) -> bool:
    if script.name in _LAUNCHERS:
        return True
    resolved = script.resolve()
    return any(resolved.is_relative_to(folder) for folder in _installed_folders(recorded_executable))


def plan_invocations(store: RunStore, study: str, records: Sequence[Mapping[str, Any]]) -> list[Invocation]:
    """Group the tracked runs of ``records`` by their recorded invocation and say which can re-run.

    Invocations, and the runs of each, come in the order they first ran (scripts that read what
    an earlier one wrote then run in the same order).
    """
    nested = bool(os.environ.get(RERUN_VARIABLE))
    groups: dict[tuple[str | None, tuple[str, ...], str | None], Invocation] = {}
    for record in sorted(records, key=lambda r: (str(r.get("started_at") or ""), str(r["key"]))):
        tags = store.trial_tags(study, str(record["key"]))
        command = [str(part) for part in ((record.get("run") or {}).get("command") or [])]
        script = tags.get(SCRIPT_TAG)
        cwd = tags.get(CWD_TAG)
        identity = (script, tuple(command[1:]), cwd)
        if identity not in groups:
            groups[identity] = Invocation(
                script=script, arguments=identity[1], cwd=cwd, command=command, script_sha256=tags.get(SCRIPT_HASH_TAG)
            )
        groups[identity].records.append(record)
    for invocation in groups.values():
        executable = (invocation.records[0].get("environment") or {}).get("executable")
        invocation.problem = _problem(invocation, executable, nested)
        if invocation.problem is None:
            # The script is the code: what changed in its work tree since its runs were logged.
            stored = next(((r.get("run") or {}).get("git") for r in invocation.records if r.get("run")), None)
            invocation.git_changes = diff_git(stored, capture_git(Path(str(invocation.script)).parent))
            # A script outside git, or edited without a commit: its content says whether it changed.
            now = script_sha256(Path(str(invocation.script)))
            if invocation.script_sha256 and now != invocation.script_sha256:
                name = f"script {Path(str(invocation.script)).name} (content sha256)"
                invocation.git_changes.append(Change("script", name, invocation.script_sha256[:12], now[:12]))
    return list(groups.values())


def script_sha256(path: Path) -> str:
    """The sha256 of a script's bytes (recorded with each tracked run, compared on reproduce)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _problem(invocation: Invocation, executable: str | None, nested: bool) -> str | None:
    command = shlex.join(invocation.command) if invocation.command else "not recorded"
    if not invocation.script or not invocation.command:
        return MSG_NO_SCRIPT.format(command=command)
    script = Path(invocation.script)
    if _installed(script, executable):
        return MSG_NOT_A_SCRIPT.format(script=script, command=command)
    if not script.is_file():
        return MSG_SCRIPT_GONE.format(script=script, command=command)
    if not invocation.cwd or not Path(invocation.cwd).is_dir():
        return MSG_CWD_GONE.format(cwd=invocation.cwd or "(not recorded)", command=command)
    if nested:
        return MSG_NESTED
    return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the re-run and whatever it started (data loader workers): it runs in its own session."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):  # gone already; or no process groups
        process.kill()
    process.wait()


def run_invocation(invocation: Invocation, folder: Path, timeout: float) -> Rerun:
    """Run ``python SCRIPT ARGS`` in the recorded folder with its runs going to ``folder/.rigorlab``.

    Its stdout and stderr go to ``folder/stdout.log`` and ``folder/stderr.log``. The environment
    is this process's, with ``RIGORLAB_STORE`` set to the scratch store.
    """
    assert invocation.script is not None and invocation.cwd is not None
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / ".rigorlab"
    environment = {**os.environ, STORE_VARIABLE: str(store), RERUN_VARIABLE: "1"}
    stdout, stderr = folder / "stdout.log", folder / "stderr.log"
    started = time.monotonic()
    timed_out = False
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, invocation.script, *invocation.arguments],
            cwd=invocation.cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group, so a timeout stops its children too
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            returncode, timed_out = None, True
        except BaseException:  # Ctrl-C: the re-run must not outlive the reproduction
            _stop(process)
            raise
    return Rerun(invocation, store, returncode, timed_out, stdout, stderr, time.monotonic() - started, timeout)


def result_curves(curves: Mapping[str, list[tuple[int, float]]]) -> dict[str, list[tuple[int, float]]]:
    """``curves`` without the ``system/`` ones: CPU and memory use are not results to reproduce."""
    return {name: list(points) for name, points in curves.items() if not name.startswith("system/")}


def _curves(store: RunStore, study: str, key: str) -> dict[str, list[tuple[int, float]]]:
    points: dict[str, list[tuple[int, float]]] = {}
    for name, step, value in store.curves(study, key)[["name", "step", "value"]].itertuples(index=False):
        points.setdefault(str(name), []).append((int(step), float(value)))
    return result_curves(points)


def reproduced_run(rerun: Rerun, study: str, record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The result the re-run logged for ``record`` (metrics, predictions, curves), or why there is none."""
    from rigorlab.store import open_store

    invocation = rerun.invocation
    identity = {k: record[k] for k in ("arm", "dataset", "replicate", "fold")}
    found = "nothing"
    try:
        with open_store(rerun.store, read_only=True) as scratch:
            trials = scratch.trials(study, all_trials=True)
            if not trials.empty:
                found = ", ".join(
                    f"{row.arm}/{row.dataset} replicate {row.replicate} fold {row.fold} ({row.status})"
                    for row in trials.itertuples()
                )
            matches = (
                (trials.arm == identity["arm"])
                & (trials.dataset == identity["dataset"])
                & (trials.replicate == identity["replicate"])
                & (trials.fold == identity["fold"])
            )
            same = trials[matches]
            # The current view keeps the newest finished run of an identity, as statistics do.
            current = scratch.trials(study)
            done = current[current.key.isin(same.key) & (current.status == "done")]
            if done.empty:
                if same.empty:
                    return None, MSG_NO_MATCH.format(
                        command=invocation.command_text, cwd=invocation.cwd, study=study, found=found, **identity
                    )
                last = same.iloc[-1]
                error = str(last["error"] or "no error recorded").strip().splitlines()[0]
                return None, MSG_RUN_NOT_DONE.format(
                    command=invocation.command_text, cwd=invocation.cwd, status=last["status"], error=error
                )
            key = str(done["key"].iloc[-1])
            metrics = scratch.metrics(study, all_trials=True)
            values = metrics[metrics.key == key]
            try:
                predictions = scratch.predictions(study, key)
            except (InputError, StoreError):  # tracked runs log no predictions
                predictions = {}
            return {
                "key": key,
                "metrics": {
                    str(name): None if value is None else float(value)
                    for name, value in values[["metric", "value"]].itertuples(index=False)
                },
                "predictions": predictions,
                "curves": _curves(scratch, study, key),
                "selected_params": None,
            }, None
    except (InputError, StoreError):  # no store, or no such study: the script logged nothing there
        return None, MSG_NO_MATCH.format(
            command=invocation.command_text, cwd=invocation.cwd, study=study, found=found, **identity
        )
