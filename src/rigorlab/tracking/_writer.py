"""The background writer behind ``run.log``: a bounded in-memory buffer written in batches.

``run.log`` appends ``(name, step, value)`` tuples to a deque and returns: a deque's ``append`` and
``popleft`` are thread-safe without a lock, so the training loop pays for one append per value.
A daemon thread wakes when the buffer holds ``flush_points`` points or every ``flush_interval``
seconds, whichever comes first, takes what is there and writes it through its own store
connection in short transactions (at most ``CHUNK_POINTS`` points each, so other processes writing
to the same store wait milliseconds, not seconds). When the buffer holds ``max_points`` points,
``run.log`` waits for the writer (back-pressure) instead of growing memory without bound.

Summary metrics, tags, files and flush requests travel through a second deque to the same thread,
so the connection is only ever used by one thread at a time.

Hand-written rather than a library: a queue.Queue costs a lock per put (several times the cost
of the append), and no logging library writes to rigorlab's store.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from rigorlab.store import RunStore

__all__ = ["CHUNK_POINTS", "BatchWriter"]

CHUNK_POINTS = 50_000
BUSY_RETRY_SECONDS = 0.1
Point = tuple[str, int, float]


@dataclass
class _Update:
    metrics: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, int]] = field(default_factory=list)
    flushed: threading.Event | None = None


class BatchWriter:
    """Writes one tracked trial's points, metrics, tags and files from a background thread.

    Parameters
    ----------
    store : RunStore
        A store used by this writer only while it runs.
    trial_id : int
        The running trial to append to.
    flush_interval : float
        Seconds between writes when the buffer fills slowly (the most a crash can lose).
    flush_points : int
        Points in the buffer that wake the writer early.
    max_points : int
        Points in the buffer at which ``log`` waits for the writer.
    """

    def __init__(
        self, store: RunStore, trial_id: int, *, flush_interval: float, flush_points: int, max_points: int
    ) -> None:
        self.store = store
        self.trial_id = trial_id
        self.flush_interval = flush_interval
        self.flush_points = flush_points
        self.max_points = max_points
        self.points: deque[Point] = deque()
        self._updates: deque[_Update] = deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._closing = False
        self.error: BaseException | None = None
        self.written = 0
        self.lost = 0
        self.waited_seconds = 0.0
        self._thread = threading.Thread(target=self._loop, name=f"rigorlab-writer-{trial_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        """Ask for a write now (the buffer reached ``flush_points``)."""
        if not self._wake.is_set():
            self._wake.set()

    def wait_for_room(self) -> None:
        """Block until the buffer is below ``max_points`` (called by ``log`` when it is full)."""
        started = time.perf_counter()
        with self._room:
            while len(self.points) >= self.max_points and self._thread.is_alive():
                self._wake.set()
                self._room.wait(0.5)
        self.waited_seconds += time.perf_counter() - started

    def update(
        self,
        *,
        metrics: dict[str, float | None] | None = None,
        tags: dict[str, str] | None = None,
        files: list[tuple[str, str, int]] | None = None,
    ) -> None:
        """Queue summary metrics, tags or files for the next write."""
        self._updates.append(_Update(metrics=metrics or {}, tags=tags or {}, files=files or []))
        self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything logged so far; True when it is stored (False on timeout)."""
        if not self._thread.is_alive():
            return not self.points and not self._updates
        done = threading.Event()
        self._updates.append(_Update(flushed=done))
        self._wake.set()
        return done.wait(timeout)

    def close(self) -> None:
        """Write what is left and stop the thread."""
        self._closing = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        elif self.points or self._updates:
            self._write_pending()  # never started, or died: write from this thread

    # -- the thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            if not self._closing:
                self._wake.wait(self.flush_interval)
            self._wake.clear()
            closing = self._closing  # read before taking the batch: a later close gets another round
            self._write_pending()
            if closing and not self.points and not self._updates:
                return

    def _write_pending(self) -> None:
        # Updates first, then the points: a flush request covers every point logged before it.
        updates = [self._updates.popleft() for _ in range(len(self._updates))]
        count = len(self.points)
        popleft = self.points.popleft
        batch = [popleft() for _ in range(count)]
        metrics: dict[str, float | None] = {}
        tags: dict[str, str] = {}
        files: list[tuple[str, str, int]] = []
        for update in updates:
            metrics.update(update.metrics)
            tags.update(update.tags)
            files.extend(update.files)
        written = 0
        try:
            if batch or metrics or tags or files:
                for start in range(0, max(count, 1), CHUNK_POINTS):
                    first = start == 0
                    chunk = batch[start : start + CHUNK_POINTS]
                    self.store.append_to_trial(
                        self.trial_id,
                        points=chunk,
                        metrics=metrics if first else None,
                        tags=tags if first else None,
                        files=files if first else (),
                    )
                    written += len(chunk)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                self._fail(error, count - written)
            else:
                # Another process held the store past the busy timeout (60 s): keep everything not
                # written, in order, and try again, rather than lose points.
                self.points.extendleft(reversed(batch[written:]))
                self._updates.extendleft(reversed(updates if written == 0 else _waiters(updates)))
                updates = []
                time.sleep(BUSY_RETRY_SECONDS)
        except Exception as error:  # the store failed (disk full, unwritable): report it to the run
            self._fail(error, count - written)
        finally:
            self.written += written
            for update in updates:
                if update.flushed is not None:
                    update.flushed.set()
            with self._room:
                self._room.notify_all()

    def _fail(self, error: BaseException, lost: int) -> None:
        if self.error is None:
            self.error = error
        self.lost += lost


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _waiters(updates: list[_Update]) -> list[_Update]:
    """The flush requests of updates whose data is written (they still wait for the points)."""
    return [_Update(flushed=u.flushed) for u in updates if u.flushed is not None]
