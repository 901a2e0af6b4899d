"""Compare a stored study: the bridge from the RunStore to :func:`compare_study`.

The command line (``rigorlab compare``), the report and the dashboard all call this one function,
so they show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from rigorlab.errors import InputError
from rigorlab.models import higher_is_better
from rigorlab.spec import StudySpec, expand_arms
from rigorlab.store import RunStore

from ._common import SeedLike
from ._compare import compare_study
from ._study import StudyComparison

__all__ = ["MSG_NO_RESULTS", "compare_stored", "declared_arms"]

MSG_NO_RESULTS = (
    "Study '{study}' has no finished trials to compare yet ({failed} failed). Run `rigorlab run STUDY.yaml` "
    "(or `rigorlab status {study}` to see why trials failed)."
)


def declared_arms(store: RunStore, study: str) -> list[str] | None:
    """The arms the study file declares (None for studies written only by ``rigorlab.track``).

    Returns
    -------
    list of str or None
        Arm names in the study file's order.

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> declared_arms(open_store(), "quickstart")  # doctest: +SKIP
    ['logreg', 'random_forest', 'hist_gb']
    """
    spec = store.study_info(study).get("spec")
    if not spec:
        return None
    return [arm.name for arm in expand_arms(StudySpec.model_validate(spec))]


def compare_stored(
    store: RunStore,
    study: str,
    *,
    metric: str | None = None,
    baseline: str | None = None,
    datasets: Sequence[str] | None = None,
    confidence: float = 0.95,
    bayesian: bool = False,
    rope: float = 0.01,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
) -> StudyComparison:
    """Run the statistics of a stored study.

    Parameters
    ----------
    store : RunStore
    study : str
    metric : str, optional
        Default: the study's primary metric (for tracked studies: the first stored metric).
    baseline : str, optional
        Default: the study's baseline arm (for tracked studies: the first arm).
    datasets, confidence, bayesian, rope, n_resamples, seed
        As for :func:`compare_study`.

    Returns
    -------
    StudyComparison

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> comparison = compare_stored(open_store(), "quickstart")  # doctest: +SKIP
    >>> comparison.comparisons[["arm", "dataset", "verdict"]]  # doctest: +SKIP
    """
    info = store.study_info(study)
    frame = store.metrics(study)
    if frame.empty:
        trials = store.trials(study)
        raise InputError(MSG_NO_RESULTS.format(study=study, failed=int((trials["status"] != "done").sum())))
    chosen_metric = metric or info.get("primary_metric") or str(frame["metric"].iloc[0])
    arms = declared_arms(store, study)
    chosen_baseline = baseline or info.get("baseline") or (arms[0] if arms else str(frame["arm"].iloc[0]))
    if arms is None:
        arms = list(dict.fromkeys(frame["arm"]))
    return compare_study(
        frame,
        metric=chosen_metric,
        baseline=chosen_baseline,
        higher_is_better=higher_is_better(chosen_metric),
        datasets=datasets,
        confidence=confidence,
        bayesian=bayesian,
        rope=rope,
        n_resamples=n_resamples,
        seed=seed,
        arms=arms,
    )
