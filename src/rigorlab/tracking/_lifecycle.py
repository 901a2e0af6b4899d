"""What happens to open tracked runs when the process is told to stop, ends, or forks.

- SIGTERM (a cancelled, preempted or timed-out job) and SIGINT (Ctrl-C): while a run is open, the
  handler raises in the main thread (``SystemExit(128 + signal)`` for SIGTERM, the usual
  ``KeyboardInterrupt`` for SIGINT), so ``with`` blocks and decorators end their runs: the buffer
  is written and the run is marked crashed with the signal's name. A handler the program had
  installed before is called instead, as it would have been. A signal that arrives while a run
  is being written is held back and delivered right after.
- Normal exit: runs still open (``run.start()`` without ``finish()``) are ended by ``atexit``;
  failed when the program died of an uncaught exception, done otherwise.
- fork: a child process (a DataLoader worker) gets the parent's run objects but not their
  writer thread; its runs turn into no-ops, and the parent's run is unaffected.
- SIGKILL cannot be caught: the trial stays ``running`` until the store is next opened, which
  marks it crashed (its process is gone); everything up to the last flush is stored.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Protocol

__all__ = ["HANDLED_SIGNALS", "finalizing", "last_signal", "register", "unregister"]

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Run(Protocol):
    def _finish_at_exit(self) -> None: ...

    def _forked(self) -> None: ...


_active: list[_Run] = []
_lock = threading.RLock()
_previous: dict[int, Any] = {}
_pending: list[int] = []
_state = {"finalizing": 0, "received": 0}


def last_signal() -> int | None:
    """The last SIGTERM/SIGINT this process received while a run was open (None if none)."""
    return _state["received"] or None


def register(run: _Run) -> None:
    with _lock:
        _active.append(run)
        _install()


def unregister(run: _Run) -> None:
    with _lock:
        if run in _active:
            _active.remove(run)
        if not _active:
            _uninstall()


@contextmanager
def finalizing() -> Iterator[None]:
    """While a run writes its last points, hold signals back; deliver them afterwards."""
    with _lock:
        _state["finalizing"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["finalizing"] -= 1
            pending = _pending[:1] if _state["finalizing"] == 0 else []
            if pending:
                _pending.clear()
        for signum in pending:
            signal.raise_signal(signum)


def _install() -> None:
    if _previous or threading.current_thread() is not threading.main_thread():
        return  # installed already, or not allowed (signal handlers belong to the main thread)
    for signum in HANDLED_SIGNALS:
        _previous[signum] = signal.getsignal(signum)
        signal.signal(signum, _handle)


def _uninstall() -> None:
    if not _previous or threading.current_thread() is not threading.main_thread():
        return  # left installed; with no open run it behaves as the previous handler
    for signum, previous in _previous.items():
        if signal.getsignal(signum) is _handle:
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    _previous.clear()


def _handle(signum: int, frame: FrameType | None) -> None:
    _state["received"] = signum
    if _state["finalizing"]:
        _pending.append(signum)
        return
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # the program's own handler, or Python's KeyboardInterrupt for SIGINT
        return
    if previous == signal.SIG_IGN:
        return
    if not _active:
        # No run open any more: do what the default action would have done.
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        return
    raise SystemExit(128 + signum)


def _at_exit() -> None:
    for run in list(_active):
        run._finish_at_exit()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # another thread may have held it at the fork
    for run in _active:
        run._forked()
    _active.clear()
    _pending.clear()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
