"""A training process for the tests: logs known points to a tracked run, then does what it is told.

Usage: python worker.py MODE STORE INDEX POINTS

Point ``i`` of process ``INDEX`` is ``(step=i, loss=value(INDEX, i), acc=...)``, so the tests can
check every stored value. Modes:

- ``normal``: log, leave the ``with`` block, exit 0.
- ``hold``: log (nothing is written: huge flush interval), print "logged", wait for a signal.
- ``kill-after-flush``: log, ``run.flush()``, print "flushed", log as many again (kept in the
  buffer), print "buffered", wait to be killed.
- ``timed``: log with a 0.1 s flush interval, print "logged", wait to be killed.
- ``concurrent``: log with small batches and a short interval (many transactions), exit 0.
- ``unclosed`` / ``unclosed-raise``: ``run.start()`` without ``finish()``, log, then end the program
  normally or with an uncaught exception (the run is ended at exit).
"""

from __future__ import annotations

import sys
import time

from rigorlab.tracking import track


def value(index: int, step: int) -> float:
    return index * 1_000_000 + step * 0.25


def main() -> None:
    mode, store, index, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    settings = {"flush_interval": 3600.0, "flush_points": 10_000_000, "max_buffered_points": 10_000_000}
    if mode == "timed":
        settings["flush_interval"] = 0.1
    if mode == "concurrent":
        settings.update(flush_interval=0.02, flush_points=250)
    if mode.startswith("unclosed"):
        run = track(study="procs", arm=f"arm{index}", dataset="d", replicate=0, store=store, **settings).start()
        for step in range(points):
            run.log(step=step, loss=value(index, step))
        if mode == "unclosed-raise":
            raise RuntimeError("the script crashed after training")
        return
    with track(
        study="procs", arm=f"arm{index}", dataset="d", replicate=0, store=store, params={"index": index}, **settings
    ) as run:
        print(run.key, flush=True)
        for step in range(points):
            run.log(step=step, loss=value(index, step), acc=step / points)
        if mode == "kill-after-flush":
            run.flush()
            print("flushed", flush=True)
            for step in range(points, 2 * points):
                run.log(step=step, loss=value(index, step), acc=step / points)
            print("buffered", flush=True)
        elif mode in ("hold", "timed"):
            print("logged", flush=True)
        if mode in ("hold", "timed", "kill-after-flush"):
            while True:
                time.sleep(0.01)


if __name__ == "__main__":
    main()
