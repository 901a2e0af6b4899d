"""The ``rigorlab.track()`` entry point: checks its arguments and returns a TrackedRun."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rigorlab.errors import InputError
from rigorlab.tracking._checks import Settings, check_index, check_name, check_positive, check_study_name
from rigorlab.tracking._messages import MSG_BAD_SETTING
from rigorlab.tracking._run import TrackedRun
from rigorlab.tracking._seed import MAX_SEED

__all__ = ["track"]

DEFAULT_FLUSH_INTERVAL = 1.0
DEFAULT_FLUSH_POINTS = 50_000
DEFAULT_MAX_BUFFERED_POINTS = 500_000


def track(
    *,
    study: str,
    arm: str,
    dataset: str,
    replicate: int | None = None,
    fold: int = 0,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    seed: int | None = None,
    store: str | Path | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    system_metrics: float | None = None,
    all_ranks: bool = False,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    flush_points: int = DEFAULT_FLUSH_POINTS,
    max_buffered_points: int = DEFAULT_MAX_BUFFERED_POINTS,
    primary_metric: str | None = None,
    baseline: str | None = None,
) -> TrackedRun:
    """Track a hand-written training loop as one trial of a study.

    Use the result as a context manager (``with rigorlab.track(...) as run:``), as a decorator
    (every call is a new run), or call ``.start()`` and ``.finish()``. The run is stored with the
    same provenance as study trials (environment, packages, hardware, git commit and diff, command
    line, seeds) and appears in ``rigorlab status``, ``show``, ``compare`` and reports. Runs of
    the same study, arm and dataset with different replicates are that arm's replicates.

    Parameters
    ----------
    study, arm, dataset : str
        Where the run belongs: the study (created when missing; a name of letters, digits, ``_``,
        ``.`` or ``-`` as in study files; a study defined by a study file is refused when the run
        starts), the arm (the model configuration under comparison) and the dataset.
    replicate : int, optional
        The replicate number. Give it (e.g. the seed index) so that arms pair up replicate by
        replicate; left out, it is the smallest number with no finished or running run of this arm,
        dataset and fold (a crashed replicate's number is used again). A new finished run of the
        same arm, dataset, replicate and fold hides the older one from statistics (both are kept);
        starting such a run warns with :class:`~rigorlab.tracking.ReplicateReplacedWarning`.
    fold : int
        The fold, for cross-validated loops (default 0).
    params : mapping, optional
        Hyperparameters and settings: the run's config (stored as JSON; other values as text).
    tags : mapping, optional
        Free-form tags stored as text.
    seed : int, optional
        Call :func:`rigorlab.seed_everything` with it before the run starts.
    store : path, optional
        The store (default: ``$RIGORLAB_STORE`` or ``./.rigorlab``; created when missing). While
        ``rigorlab reproduce`` re-runs the script, its scratch store (``$RIGORLAB_STORE``) is used
        instead, so that a re-run never writes into the store it verifies.
    n_train, n_test : int, optional
        Training and test set sizes, stored with the run and shown in reports. Tracked runs of one
        fold are compared as one fixed split: a paired t-test over replicates, conditional on that
        split, so the sizes do not enter that test (seeds cannot estimate the variance another split
        would bring). With several folds per replicate (cross-validation) the corrected tests use
        ``n_test / n_train`` for the overlap of training sets; rigorlab cannot see whether each
        replicate drew a new partition, so it runs the resampled and the shared-split test and keeps
        the more conservative unless ``rigorlab compare --splits`` says which.
    system_metrics : float, optional
        Sample CPU, memory and GPU use every this many seconds (curves named ``system/...``).
    all_ranks : bool
        Under torch.distributed only rank 0 records (other ranks get a run whose calls do
        nothing). With ``all_ranks`` every rank records its own run, tagged ``rigorlab.rank``.
    flush_interval : float
        Seconds between background writes: the most a crash (SIGKILL, power loss) can lose.
    flush_points : int
        Buffered points that start a write before the interval ends.
    max_buffered_points : int
        At this many buffered points ``log`` waits for the writer (bounded memory: about 120 bytes
        a point).
    primary_metric : str, optional
        The metric ``rigorlab compare`` and ``rigorlab report`` compare by default, recorded for the
        study when the run finishes. Left out, a study without a primary metric gets the first name
        this run passed to :meth:`~TrackedRun.log_summary` (a study's primary metric, once recorded,
        changes only when a run states another one).
    baseline : str, optional
        The arm every other arm is compared with by default, recorded for the study when the run
        finishes (left out: none is recorded, and ``compare`` takes the first arm alphabetically and
        says so).

    Returns
    -------
    TrackedRun

    Raises
    ------
    rigorlab.errors.InputError
        An argument has the wrong type or value (the message names it); when the run starts, the
        study was defined by a study file.

    Examples
    --------
    >>> import rigorlab
    >>> with rigorlab.track(study="mnist", arm="mlp", dataset="mnist", replicate=0,
    ...                     params={"lr": 1e-3}, baseline="logreg") as run:  # doctest: +SKIP
    ...     for epoch in range(10):
    ...         run.log(step=epoch, loss=0.5 / (epoch + 1), acc=0.9)
    ...     run.log_summary(test_acc=0.91)  # the study's primary metric, unless one is recorded
    """
    positive_int = "an integer > 0"
    settings = Settings(
        study=check_study_name(study),
        arm=check_name("arm", arm, "resnet18"),
        dataset=check_name("dataset", dataset, "cifar10"),
        replicate=check_index("replicate", replicate, optional=True),
        fold=check_index("fold", fold) or 0,
        params=_snapshot("params", params),
        tags={str(key): str(value) for key, value in _mapping("tags", tags).items()},
        seed=_seed(seed),
        store=_store_path(store),
        n_train=check_index("n_train", n_train, optional=True),
        n_test=check_index("n_test", n_test, optional=True),
        system_metrics=None
        if system_metrics is None
        else check_positive("system_metrics", system_metrics, "a number of seconds > 0, or None"),
        all_ranks=bool(all_ranks),
        flush_interval=check_positive("flush_interval", flush_interval, "a number of seconds > 0"),
        flush_points=check_positive("flush_points", flush_points, positive_int, int),
        max_buffered_points=check_positive("max_buffered_points", max_buffered_points, positive_int, int),
        primary_metric=_optional_name(
            "primary_metric", primary_metric, "a metric name, as passed to run.log_summary (e.g. 'test_acc'), or None"
        ),
        baseline=_optional_name("baseline", baseline, "an arm name of the study (e.g. 'resnet18'), or None"),
    )
    if settings.max_buffered_points < settings.flush_points:
        raise InputError(
            MSG_BAD_SETTING.format(
                field="max_buffered_points",
                expected=f"at least flush_points ({flush_points})",
                value=max_buffered_points,
            )
        )
    return TrackedRun(settings)


def _optional_name(field: str, value: Any, expected: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(MSG_BAD_SETTING.format(field=field, expected=expected, value=value))
    return value


def _mapping(field: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(MSG_BAD_SETTING.format(field=field, expected="a mapping (dict) or None", value=value))
    return value


def _snapshot(field: str, value: Any) -> dict[str, Any]:
    """The params as stored (JSON; other values as text), taken now: later changes are not the run's."""
    try:
        return dict(json.loads(json.dumps(dict(_mapping(field, value)), default=str, sort_keys=True)))
    except TypeError as error:  # keys that are neither strings nor numbers (tuples, objects)
        raise InputError(
            MSG_BAD_SETTING.format(field=field, expected="a mapping with string keys", value=value)
        ) from error


def _seed(seed: Any) -> int | None:
    if seed is None:
        return None
    value = check_index("seed", seed)
    if value is None or value > MAX_SEED:
        raise InputError(
            MSG_BAD_SETTING.format(field="seed", expected="an integer between 0 and 2**32 - 1", value=seed)
        )
    return value


def _store_path(store: str | Path | None) -> Path | None:
    """The store a run writes to: ``store``, except in a re-run by ``rigorlab reproduce``, which
    sets ``RIGORLAB_REPRODUCING`` and its scratch store in ``RIGORLAB_STORE``."""
    from rigorlab.provenance._tracked_rerun import RERUN_VARIABLE

    if os.environ.get(RERUN_VARIABLE) and os.environ.get("RIGORLAB_STORE"):
        return None
    return Path(store) if store is not None else None
