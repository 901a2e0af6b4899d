"""A simulated results table in the shape ``compare_study`` reads, for examples and benchmarks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ._common import SeedLike, as_generator

FRAME_COLUMNS: tuple[str, ...] = (
    "arm",
    "dataset",
    "replicate",
    "fold",
    "metric",
    "value",
    "n_train",
    "n_test",
)


def simulated_study_frame(
    *,
    arms: Sequence[str] = ("logreg", "hgb", "forest"),
    datasets: Sequence[str] = ("breast_cancer", "wine", "digits"),
    replicates: int = 5,
    folds: int = 5,
    metrics: Sequence[str] = ("accuracy",),
    effects: Mapping[str, float] | None = None,
    n_samples: int = 600,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Fold-level scores of a repeated k-fold study, with a shared split effect (pairing).

    Score = dataset level + arm effect + split effect (shared by all arms on a replicate's
    fold) + arm noise. The split effect is what pairing removes.

    Parameters
    ----------
    arms, datasets, metrics : sequences of str
    replicates, folds : int
    effects : mapping of arm to float, optional
        True difference to the first arm; default ``0.01 * position``.
    n_samples : int
        Dataset size; ``n_test = n_samples // folds`` and ``n_train`` the rest.
    seed : int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        Columns ``arm, dataset, replicate, fold, metric, value, n_train, n_test``.

    Examples
    --------
    >>> frame = simulated_study_frame(replicates=2, folds=3)
    >>> len(frame), list(frame.columns)[:4]
    (54, ['arm', 'dataset', 'replicate', 'fold'])
    """
    rng = as_generator(seed)
    arm_effects = {arm: (effects or {}).get(arm, 0.01 * position) for position, arm in enumerate(arms)}
    n_test = n_samples // folds if folds > 1 else n_samples // 4
    n_train = n_samples - n_test
    rows = []
    for metric in metrics:
        for dataset in datasets:
            level = rng.uniform(0.7, 0.9)
            split_effects = rng.normal(0.0, 0.02, size=(replicates, folds))
            for arm in arms:
                noise = rng.normal(0.0, 0.01, size=(replicates, folds))
                values = level + arm_effects[arm] + split_effects + noise
                for replicate in range(replicates):
                    for fold in range(folds):
                        rows.append(
                            (
                                arm,
                                dataset,
                                replicate,
                                fold,
                                metric,
                                float(values[replicate, fold]),
                                n_train,
                                n_test,
                            )
                        )
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


def example_frame() -> pd.DataFrame:
    """A small fixed frame used in docstring examples."""
    return simulated_study_frame(metrics=("accuracy", "log_loss"), seed=7)
