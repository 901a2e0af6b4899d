"""Metric direction: known metrics keep theirs, unknown names are read for lower-is-better words,
the user can state it, and every result says where the direction came from (review item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rigorlab.models import METRICS, higher_is_better, metric_direction
from rigorlab.stats import VERDICT_BETTER, VERDICT_WORSE, compare_study


@pytest.mark.parametrize("name", ["loss", "val_loss", "train/loss", "valLoss", "error", "test_error_rate", "wer"])
def test_unknown_loss_like_names_are_lower_is_better(name: str) -> None:
    direction = metric_direction(name)
    assert direction.higher_is_better is False and direction.source == "name"
    assert higher_is_better(name) is False


@pytest.mark.parametrize("name", ["perplexity", "eval_ppl", "top1_err", "nll", "fid", "epoch_time"])
def test_more_lower_is_better_words(name: str) -> None:
    assert metric_direction(name).higher_is_better is False


@pytest.mark.parametrize("name", ["acc", "val_accuracy", "bleu", "reward", "auc", "terror"])
def test_other_unknown_names_default_to_higher_and_say_it_is_a_default(name: str) -> None:
    direction = metric_direction(name)
    assert direction.higher_is_better is True and direction.source == "default"
    assert "default" in direction.reason


def test_known_metrics_are_unchanged() -> None:
    for name, info in METRICS.items():
        assert higher_is_better(name) is info.higher_is_better
        assert metric_direction(name).source == "known"
    # scikit-learn scorers are oriented so that larger is better, losses included (neg_*).
    assert higher_is_better("neg_log_loss") is True and higher_is_better("neg_mean_squared_error") is True
    assert higher_is_better("fit_seconds") is False
    assert metric_direction("neg_loss").higher_is_better is True  # a negated loss, by its first word


def test_a_stated_direction_wins() -> None:
    assert metric_direction("accuracy", given=False).higher_is_better is False
    assert metric_direction("val_loss", given=True).source == "given"


def _loss_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = 0.5 + rng.normal(0, 0.01, 10)
    rows = [("base", "d", r, 0, "val_loss", base[r], np.nan, np.nan) for r in range(10)]
    rows += [("new", "d", r, 0, "val_loss", base[r] - 0.05 + rng.normal(0, 0.005), np.nan, np.nan) for r in range(10)]
    return pd.DataFrame(rows, columns=["arm", "dataset", "replicate", "fold", "metric", "value", "n_train", "n_test"])


def test_compare_study_reads_the_direction_from_the_name_and_says_so() -> None:
    result = compare_study(_loss_frame(), metric="val_loss", baseline="base", splits="fixed")
    assert result.higher_is_better is False
    assert result.comparisons["verdict"].item() == VERDICT_BETTER  # a lower loss is better
    assert result.direction == metric_direction("val_loss").reason
    assert "lower is better: the name contains 'loss'" in result.legend
    stated = compare_study(_loss_frame(), metric="val_loss", baseline="base", splits="fixed", higher_is_better=True)
    assert stated.comparisons["verdict"].item() == VERDICT_WORSE
    assert stated.direction == "stated by the user" and "higher is better: stated by the user" in stated.legend
