"""``rigorlab.track()``: a tracked run of a hand-written training loop, stored as a study trial.

A tracked run is a trial row with ``source = 'tracked'``: its arm, dataset, replicate and fold
come from the arguments, its config from ``params``, its seeds from ``seed_everything``, its
environment, git state and command line from the same capture study trials use, so
``status``, ``show``, statistics, reports and ``provenance`` treat it like any other trial.
Points go to the ``curves`` table through a background writer (see ``_writer``); summaries to
``metrics``; tags to ``tags``; files to the content-addressed objects and ``trial_files``.

When a run finishes, the study's primary metric and baseline are recorded if the run states them
(``track(primary_metric=..., baseline=...)``); a study without a primary metric gets the first
name the run passed to ``log_summary`` (what the README promises statistics compare), so
``compare`` and ``report`` never fall back to the alphabetically first curve.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import signal
import sys
import time
import traceback as traceback_module
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from rigorlab.errors import InputError, StoreError
from rigorlab.provenance import capture_environment, capture_git, command_line, environment_hash, now_iso
from rigorlab.provenance._tracked_rerun import SCRIPT_HASH_TAG, SCRIPT_TAG, script_sha256
from rigorlab.store import CRASHED, DONE, FAILED, RUNNING, SQLiteStore, TrialResult, open_store
from rigorlab.tracking import _lifecycle
from rigorlab.tracking._checks import Settings, as_name, as_step, as_value, check_index
from rigorlab.tracking._messages import (
    MSG_BAD_TAG,
    MSG_EXIT_WHILE_OPEN,
    MSG_FINISHED,
    MSG_INTERRUPTED,
    MSG_NO_ARTIFACT,
    MSG_NOT_STARTED,
    MSG_REUSED,
    MSG_STOPPED_BY_SIGNAL,
    MSG_WRITE_FAILED,
)
from rigorlab.tracking._seed import last_seeding, seed_everything
from rigorlab.tracking._study_checks import refuse_study_file_study, warn_if_replicate_taken
from rigorlab.tracking._system import SystemSampler
from rigorlab.tracking._writer import BatchWriter

__all__ = ["TrackedRun", "current_run"]

SOURCE = "tracked"
F = TypeVar("F", bound=Callable[..., Any])

# Appends to a deque of length 0 vanish: a run that must not write (another DDP rank, a forked
# child) keeps the same fast path and stores nothing.
_DISCARD: deque[tuple[str, int, float]] = deque(maxlen=0)
_current: ContextVar[TrackedRun | None] = ContextVar("rigorlab_current_run", default=None)


def current_run() -> TrackedRun | None:
    """The innermost open tracked run in this thread (None outside any).

    Examples
    --------
    >>> from rigorlab.tracking import current_run
    >>> current_run() is None
    True
    """
    return _current.get()


def _rank() -> int:
    """This process's rank under torch.distributed (0 when not distributed)."""
    distributed = getattr(sys.modules.get("torch"), "distributed", None)
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        return int(distributed.get_rank())
    for variable in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def _script_folder() -> Path:
    """Where the training script lies (its git work tree is the code that produced the run)."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c", "-m") else None
    if script is not None and script.is_file():
        return script.resolve().parent
    return Path.cwd()


@functools.cache
def _git(folder: Path) -> dict[str, Any] | None:
    # Once per process: code edited after the process started did not produce its results.
    return capture_git(folder)


class TrackedRun:
    """One tracked run: a context manager, a decorator, and the handle the loop logs to.

    Create it with :func:`track`. All methods are meant for the thread that opened the run;
    ``log`` may also be called from other threads (a deque append is thread-safe), but the
    automatic step counter is then shared, so pass ``step=`` explicitly there.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._state = "new"
        self._active = False
        self._append: Callable[[tuple[str, int, float]], None] = self._refuse
        self._points: deque[tuple[str, int, float]] = _DISCARD
        self._kick_at = sys.maxsize
        self._step = 0
        self._store: SQLiteStore | None = None
        self._writer: BatchWriter | None = None
        self._sampler: SystemSampler | None = None
        self._run_id: int | None = None
        self._trial_id: int | None = None
        self._started = 0.0
        self._owner_pid = os.getpid()
        self._token: Any = None
        self._first_summary: str | None = None
        self.key = ""
        self.replicate = settings.replicate
        self.status = "new"

    # -- identity --------------------------------------------------------------------------
    @property
    def study(self) -> str:
        return self._settings.study

    @property
    def arm(self) -> str:
        return self._settings.arm

    @property
    def dataset(self) -> str:
        return self._settings.dataset

    @property
    def fold(self) -> int:
        return self._settings.fold

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._settings.params)

    @property
    def active(self) -> bool:
        """False on a DDP rank other than 0 (unless ``all_ranks``) and in forked children: logs vanish."""
        return self._active

    @property
    def store_path(self) -> Path | None:
        return None if self._store is None else self._store.root

    # -- opening and closing ---------------------------------------------------------------
    def start(self) -> TrackedRun:
        """Open the run: store it as ``running`` with its provenance and start the writer.

        Returns the run itself, so ``run = rigorlab.track(...).start()`` works outside ``with``
        (end it with :meth:`finish`; a run left open is ended when the program exits).
        """
        if self._state != "new":
            raise InputError(MSG_REUSED)
        self._state = "open"
        self.status = RUNNING
        settings = self._settings
        if settings.seed is not None:
            seed_everything(settings.seed)  # every rank seeds, even those that do not record
        self._token = _current.set(self)
        if _rank() != 0 and not settings.all_ranks:
            self._append = _DISCARD.append  # another rank of a distributed job: a no-op run
            return self
        store: SQLiteStore | None = None
        try:
            store = open_store(settings.store, create=True)
            self._begin(store)
        except BaseException:
            if store is not None:
                if self._run_id is not None:
                    store.finish_run(self._run_id, "crashed")
                store.close()
            self._state = "finished"
            self._append = self._refuse
            self.status = FAILED
            _current.reset(self._token)
            raise
        self._store = store
        assert self._trial_id is not None
        writer = BatchWriter(
            store,
            self._trial_id,
            flush_interval=settings.flush_interval,
            flush_points=settings.flush_points,
            max_points=settings.max_buffered_points,
        )
        self._writer = writer
        self._points = writer.points
        self._append = writer.points.append
        self._kick_at = settings.flush_points
        self._active = True
        self._started = time.monotonic()
        writer.start()
        _lifecycle.register(self)
        if settings.system_metrics is not None:
            self._sampler = SystemSampler(writer.points.append, settings.system_metrics)
            self._sampler.start()
        return self

    def _begin(self, store: SQLiteStore) -> None:
        settings = self._settings
        environment = capture_environment()
        env_hash = environment_hash(environment)
        refuse_study_file_study(store, settings.study)  # before anything is written
        warn_if_replicate_taken(store, settings)
        store.save_environment(env_hash, environment)
        store.ensure_study(settings.study)
        self._run_id = store.start_run(
            settings.study, command=command_line(), git=_git(_script_folder()), environment_hash=env_hash
        )
        seeding = last_seeding()
        tags = {"rigorlab.cwd": str(Path.cwd()), **settings.tags}
        if sys.argv and Path(sys.argv[0]).is_file():
            tags[SCRIPT_TAG] = str(Path(sys.argv[0]).resolve())
            tags[SCRIPT_HASH_TAG] = script_sha256(Path(sys.argv[0]))
        if settings.all_ranks:
            tags["rigorlab.rank"] = str(_rank())
        if seeding is not None:
            tags["rigorlab.seeding"] = json.dumps(seeding, sort_keys=True)
        result = TrialResult(
            key=uuid.uuid4().hex,
            arm=settings.arm,
            dataset=settings.dataset,
            replicate=settings.replicate or 0,
            fold=settings.fold,
            status=RUNNING,
            config=settings.params,
            seeds=dict(seeding["seeds"]) if seeding else {},
            n_train=settings.n_train,
            n_test=settings.n_test,
            environment_hash=env_hash,
            started_at=now_iso(),
            tags=tags,
            source=SOURCE,
        )
        self._trial_id, self.replicate = store.begin_trial(
            settings.study, result, run_id=self._run_id, next_replicate=settings.replicate is None
        )
        self.key = result.key

    def finish(self, status: str = DONE, *, error: str | None = None, traceback: str | None = None) -> None:
        """Write what is buffered and end the run as ``done`` (or ``failed``/``crashed``). Idempotent."""
        if self._state != "open":
            return
        self._state = "finishing"
        try:
            if self._token is not None:
                _current.reset(self._token)
        except ValueError:
            _current.set(None)  # finished from another context (atexit): nothing to restore there
        if not self._active:
            self._state = "finished"
            self._append = self._refuse
            self.status = status
            return
        assert self._store is not None and self._writer is not None and self._run_id is not None
        with _lifecycle.finalizing():
            try:
                if self._sampler is not None:
                    self._sampler.stop()
                self._writer.close()
                if self._writer.error is not None:
                    status = FAILED
                    error = self._write_error()
                seeding = last_seeding()
                self._store.finish_trial(
                    self._trial_id or 0,
                    status=status,
                    error=error,
                    traceback=traceback,
                    seeds=seeding["seeds"] if seeding else None,
                    fit_seconds=time.monotonic() - self._started,
                )
                self._store.finish_run(self._run_id, "finished" if status != CRASHED else "interrupted")
                if status == DONE:
                    self._record_study_choices(self._store)
            finally:
                self._store.close()
                _lifecycle.unregister(self)
                self._active = False
                self._append = self._refuse
                self._kick_at = sys.maxsize
                self._state = "finished"
                self.status = status

    def _record_study_choices(self, store: SQLiteStore) -> None:
        """Record the study's primary metric and baseline (module docstring); a study file's win."""
        settings = self._settings
        metric, baseline = settings.primary_metric, settings.baseline
        if metric is None and baseline is None and self._first_summary is None:
            return
        info = store.study_info(settings.study)
        if info.get("spec"):
            return  # the study file states them
        if metric is None and not info.get("primary_metric"):
            metric = self._first_summary
        if metric is None and baseline is None:
            return
        # save_study keeps what is not given (None) and the question as passed.
        store.save_study(
            settings.study, question=str(info.get("question") or ""), primary_metric=metric, baseline=baseline
        )

    def _write_error(self) -> str:
        assert self._writer is not None and self._store is not None
        return MSG_WRITE_FAILED.format(
            key=self.key, path=self._store.root, error=self._writer.error, lost=self._writer.lost
        )

    def __enter__(self) -> TrackedRun:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish(DONE)
            return
        trace = "".join(traceback_module.format_exception(exc_type, exc, tb))
        received = _lifecycle.last_signal()
        if isinstance(exc, KeyboardInterrupt):
            self.finish(CRASHED, error=MSG_INTERRUPTED, traceback=trace)
        elif isinstance(exc, SystemExit) and received is not None and exc.code == 128 + received:
            name = signal.Signals(received).name
            self.finish(CRASHED, error=MSG_STOPPED_BY_SIGNAL.format(signal=name), traceback=trace)
        elif isinstance(exc, SystemExit) and exc.code in (0, None):
            self.finish(DONE)  # sys.exit(0) inside the loop: a normal end
        else:
            self.finish(FAILED, error=f"{type(exc).__name__}: {exc}", traceback=trace)

    def __call__(self, function: F) -> F:
        """Use as a decorator: every call of ``function`` is a new tracked run.

        When ``replicate`` was not given to :func:`track` and ``function`` has a parameter named
        ``replicate``, the call's value is the run's replicate. When ``function`` has a parameter
        named ``run`` that the caller leaves out, it receives the run.
        """
        if self._state != "new":
            raise InputError(MSG_REUSED)
        signature = inspect.signature(function)
        settings = self._settings

        @functools.wraps(function)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs).arguments
            call_settings = settings
            if settings.replicate is None and "replicate" in bound:
                call_settings = replace(settings, replicate=check_index("replicate", bound["replicate"]))
            with TrackedRun(call_settings) as run:
                if "run" in signature.parameters and "run" not in bound:
                    kwargs["run"] = run
                return function(*args, **kwargs)

        return tracked  # type: ignore[return-value]

    # -- process events (see _lifecycle) -------------------------------------------------------
    def _finish_at_exit(self) -> None:
        if os.getpid() != self._owner_pid:
            return
        received = _lifecycle.last_signal()
        uncaught = getattr(sys, "last_value", None)
        if received is not None:
            name = signal.Signals(received).name
            self.finish(CRASHED, error=MSG_STOPPED_BY_SIGNAL.format(signal=name))
        elif uncaught is not None:
            trace = "".join(traceback_module.format_exception(uncaught))
            self.finish(
                FAILED,
                error=MSG_EXIT_WHILE_OPEN.format(error=f"{type(uncaught).__name__}: {uncaught}"),
                traceback=trace,
            )
        else:
            self.finish(DONE)

    def _forked(self) -> None:
        # The child has no writer thread and must not use the parent's SQLite connection.
        self._active = False
        self._append = _DISCARD.append
        self._points = _DISCARD
        self._kick_at = sys.maxsize
        self._state = "forked"

    # -- logging -----------------------------------------------------------------------------
    def log(self, metrics: Mapping[str, Any] | None = None, /, *, step: int | None = None, **values: Any) -> None:
        """Log values at a step: ``run.log(step=epoch, loss=0.3, acc=0.9)`` or ``run.log({"loss": 0.3})``.

        Returns at once: the values go to an in-memory buffer that a background thread writes
        (``flush_points`` points or every ``flush_interval`` seconds). Without ``step`` the step
        is the previous call's step plus one (0 first).

        Examples
        --------
        >>> import rigorlab
        >>> with rigorlab.track(study="demo", arm="mlp", dataset="iris", replicate=0) as run:  # doctest: +SKIP
        ...     for epoch in range(3):
        ...         run.log(step=epoch, loss=1.0 / (epoch + 1))
        """
        if step is None:
            step = self._step
        elif type(step) is not int:
            step = as_step(step)
        self._step = step + 1
        append = self._append
        if metrics is not None:
            for name, value in metrics.items():
                if type(name) is not str or not name:
                    name = as_name(name)
                append((name, step, value if type(value) is float else as_value(name, value)))
        for name, value in values.items():
            append((name, step, value if type(value) is float else as_value(name, value)))
        if len(self._points) >= self._kick_at:
            self._full()

    def _full(self) -> None:
        """The buffer reached ``flush_points``: wake the writer; wait when it is at its bound."""
        writer = self._writer
        if writer is None:
            return
        if writer.error is not None:
            raise StoreError(self._write_error())
        writer.wake()
        if len(self._points) >= writer.max_points:
            writer.wait_for_room()

    def _refuse(self, point: tuple[str, int, float]) -> None:
        """``log`` before ``start`` or after ``finish``: say so rather than drop the point."""
        self._check_open()

    def _check_open(self) -> bool:
        if self._state == "new":
            raise InputError(MSG_NOT_STARTED)
        if self._state in ("finishing", "finished"):
            raise InputError(MSG_FINISHED.format(key=self.key, study=self.study))
        return self._active

    def log_summary(self, metrics: Mapping[str, Any] | None = None, /, **values: Any) -> None:
        """Set summary metrics (one value per name, what statistics compare): ``run.log_summary(test_acc=0.91)``.

        A name logged with :meth:`log` but never summarised gets its last logged value as summary
        when the run ends. The first name passed here becomes the study's primary metric when the
        run finishes, unless the study has one already or ``track(primary_metric=...)`` names another.
        """
        merged = {**(metrics or {}), **values}
        summary: dict[str, float | None] = {}
        for name, value in merged.items():
            checked = as_name(name, "log_summary")
            number = value if type(value) is float else as_value(checked, value, "log_summary")
            summary[checked] = None if math.isnan(number) else number
        if self._check_open() and summary:
            assert self._writer is not None
            if self._first_summary is None:
                self._first_summary = next(iter(summary))
            self._writer.update(metrics=summary)

    def set_tag(self, key: str, value: Any) -> None:
        """Attach a free-form tag (stored as text): ``run.set_tag("gpu", "A100")``."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Attach several tags at once."""
        checked: dict[str, str] = {}
        for key, value in tags.items():
            if not isinstance(key, str) or not key:
                raise InputError(MSG_BAD_TAG.format(key=key))
            checked[key] = str(value)
        if self._check_open() and checked:
            assert self._writer is not None
            self._writer.update(tags=checked)

    def log_artifact(self, path: str | Path, name: str | None = None) -> list[str]:
        """Store a file (or every file under a folder) with the run; returns the stored refs.

        The bytes are copied now into the store's content-addressed objects (the same bytes are
        stored once), under ``name`` (default: the file or folder name; files under a folder keep
        their relative path).
        """
        source = Path(path)
        if not source.exists():
            raise InputError(MSG_NO_ARTIFACT.format(path=source))
        if not self._check_open():
            return []
        assert self._store is not None and self._writer is not None
        base = name or source.name
        if source.is_dir():
            files = [
                (f"{base}/{p.relative_to(source).as_posix()}", p) for p in sorted(source.rglob("*")) if p.is_file()
            ]
        else:
            files = [(base, source)]
        stored = []
        for file_name, file_path in files:
            ref, size = self._store.put_file(file_path)  # files only: the writer thread owns the database
            stored.append((file_name, ref, size))
        self._writer.update(files=stored)
        return [ref for _, ref, _ in stored]

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything logged so far is stored; True unless ``timeout`` ran out."""
        if not self._check_open():
            return True
        assert self._writer is not None
        done = self._writer.flush(timeout)
        if self._writer.error is not None:
            raise StoreError(self._write_error())
        return done

    def __repr__(self) -> str:
        return (
            f"TrackedRun(study={self.study!r}, arm={self.arm!r}, dataset={self.dataset!r}, "
            f"replicate={self.replicate!r}, fold={self.fold}, key={self.key[:10]!r}, status={self.status!r})"
        )
