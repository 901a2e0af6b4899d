"""Plain summaries of stored results (means and spreads; the statistics live in rigorlab.stats)."""

from __future__ import annotations

import pandas as pd

__all__ = ["replicate_scores", "summarize"]


def replicate_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """One score per (dataset, arm, metric, replicate): the mean over the replicate's folds.

    Parameters
    ----------
    metrics : DataFrame
        The long table of ``RunStore.metrics``.
    """
    return metrics.groupby(["dataset", "arm", "metric", "replicate"], sort=True)["value"].mean().reset_index()


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count over replicates per (dataset, arm, metric)."""
    if metrics.empty:
        return pd.DataFrame(columns=["dataset", "arm", "metric", "mean", "std", "replicates"])
    per_replicate = replicate_scores(metrics)
    grouped = per_replicate.groupby(["dataset", "arm", "metric"], sort=True)["value"]
    summary = grouped.agg(mean="mean", std="std", replicates="count").reset_index()
    return summary
