"""Checks a tracked or imported run makes against the store before it writes anything.

- A study defined by a study file belongs to that file (its plan, status and ``reproduce``), so
  tracked and imported runs are refused there rather than mixed in.
- A tracked run given the replicate number of a finished run replaces that run in statistics (by
  design: ``RunStore`` keeps both and shows the newer); it says so with a warning, because a
  copy-pasted ``replicate=0`` would otherwise drop a replicate from the statistics unseen.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from rigorlab.errors import InputError, NotFoundError
from rigorlab.store import DONE, RUNNING, RunStore
from rigorlab.tracking._checks import Settings
from rigorlab.tracking._messages import MSG_REPLICATE_REPLACED, MSG_STUDY_FILE_STUDY

__all__ = ["ReplicateReplacedWarning", "refuse_study_file_study", "study_file_of", "warn_if_replicate_taken"]

_PACKAGE = str(Path(__file__).resolve().parent)


class ReplicateReplacedWarning(UserWarning):
    """A tracked run reuses the replicate number of a finished run, which it replaces in statistics.

    Examples
    --------
    >>> import warnings
    >>> from rigorlab.tracking import ReplicateReplacedWarning
    >>> warnings.simplefilter("error", ReplicateReplacedWarning)  # make reuse an error instead
    """


def study_file_of(store: RunStore, study: str) -> str | None:
    """The study file that defined ``study`` in ``store`` (its path as stored), None when no file did."""
    try:
        info = store.study_info(study)
    except NotFoundError:
        return None
    if not info.get("spec"):
        return None
    return str(info.get("spec_path") or "(a study file given as text)")


def refuse_study_file_study(store: RunStore, study: str) -> None:
    """Raise ``InputError`` when a study file defined ``study``: a tracked run must not join it."""
    path = study_file_of(store, study)
    if path is not None:
        raise InputError(
            MSG_STUDY_FILE_STUDY.format(study=study, store=store.root, path=path, suggestion=f"{study}-tracked")
        )


def warn_if_replicate_taken(store: RunStore, settings: Settings) -> None:
    """Warn (``ReplicateReplacedWarning``) when the run's given replicate has a finished run already."""
    if settings.replicate is None:
        return
    try:
        trials = store.trials(settings.study)
    except NotFoundError:
        return  # a new study
    if trials.empty:
        return
    same = trials[(trials["arm"] == settings.arm) & (trials["dataset"] == settings.dataset)]
    same = same[same["fold"] == settings.fold]
    done = same[(same["replicate"] == settings.replicate) & (same["status"] == DONE)]
    if done.empty:
        return
    taken = {int(r) for r in same.loc[same["status"].isin([DONE, RUNNING]), "replicate"]}
    free = next(number for number in range(len(taken) + 1) if number not in taken)
    message = MSG_REPLICATE_REPLACED.format(
        replicate=settings.replicate,
        arm=settings.arm,
        dataset=settings.dataset,
        fold=settings.fold,
        study=settings.study,
        key=str(done["key"].iloc[-1])[:10],
        free=free,
    )
    warnings.warn(message, ReplicateReplacedWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points the warning at the user's line (``with rigorlab.track(...)``),
    past the frames of this package (``start``, ``__enter__``, the decorator's wrapper)."""
    level = 1
    frame = sys._getframe(1)  # the caller of this function: where warnings.warn is called
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level
