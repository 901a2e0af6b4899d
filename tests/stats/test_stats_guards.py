"""Guards on what the statistics show: bounded intervals, undefined effect sizes, the CD axis."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from rigorlab.models import metric_bounds
from rigorlab.stats import compare_study, critical_difference_diagram


def _frame(arms: dict[str, list[list[float]]], metric: str = "accuracy") -> pd.DataFrame:
    """Fold scores per arm: arms[name][replicate][fold], one dataset, 5-fold sizes."""
    rows = [
        (arm, "d", replicate, fold, metric, value, 80, 20)
        for arm, grid in arms.items()
        for replicate, folds in enumerate(grid)
        for fold, value in enumerate(folds)
    ]
    return pd.DataFrame(rows, columns=["arm", "dataset", "replicate", "fold", "metric", "value", "n_train", "n_test"])


def test_metric_bounds_of_the_registry() -> None:
    assert metric_bounds("accuracy") == (0.0, 1.0)
    assert metric_bounds("roc_auc") == (0.0, 1.0)
    assert metric_bounds("f1_macro") == (0.0, 1.0)
    assert metric_bounds("r2") == (None, 1.0)
    assert metric_bounds("rmse") == (0.0, None) and metric_bounds("log_loss") == (0.0, None)
    assert metric_bounds("neg_log_loss") == (None, 0.0)  # a scikit-learn scorer: a negated loss
    assert metric_bounds("test_acc") == (None, None)  # a tracked name: rigorlab cannot know its range


def test_accuracy_intervals_stay_inside_zero_one_and_the_legend_says_so() -> None:
    # Near-perfect accuracy on small folds (0.977 on average): the symmetric t interval reaches past 1.
    high = [[1.0, 0.95, 1.0, 0.9, 1.0], [1.0, 1.0, 0.95, 1.0, 0.95], [0.95, 1.0, 1.0, 1.0, 0.9]] * 2
    low = [[0.9, 0.85, 0.95, 0.9, 0.9], [0.95, 0.9, 0.85, 0.9, 0.9], [0.9, 0.9, 0.95, 0.85, 0.9]] * 2
    result = compare_study(_frame({"a": low, "b": high}), metric="accuracy", baseline="a", splits="resampled")
    estimates = result.estimates.set_index("arm")
    assert estimates.loc["b", "high"] == 1.0 and estimates.loc["b", "mean"] < 1.0
    assert (result.estimates["low"] >= 0).all() and (result.estimates["high"] <= 1).all()
    assert result.clipped == ("accuracy",)
    assert "beyond the metric's range [0, 1] are cut at its edge" in result.legend
    assert "[0, 1]" in result.estimate_description()
    assert "auto" not in result.estimate_description()
    assert json.loads(json.dumps(result.to_dict()))["clipped"] == ["accuracy"]


def test_unbounded_metrics_are_not_clipped() -> None:
    rng = np.random.default_rng(1)
    grid = [[float(v) for v in rng.normal(0.0, 1.0, 5)] for _ in range(5)]
    other = [[value + 0.1 for value in folds] for folds in grid]
    result = compare_study(
        _frame({"a": grid, "b": other}, metric="score"), metric="score", baseline="a", splits="fixed"
    )
    assert result.clipped == ()
    assert "cut at its edge" not in result.legend


def test_zero_variance_effect_size_is_undefined_not_infinite() -> None:
    """Deterministic copies: every difference equals 0.02. No p-value, no verdict, and no
    'infinite' effect size either."""
    base = [[0.80, 0.82, 0.81, 0.79, 0.80]] * 5
    arm = [[value + 0.02 for value in folds] for folds in base]
    result = compare_study(_frame({"a": base, "b": arm}), metric="accuracy", baseline="a", splits="shared")
    row = result.comparisons.iloc[0]
    assert math.isnan(row["effect_size"]) and not math.isinf(row["effect_size"])
    assert result.to_dict()["comparisons"][0]["effect_size"] is None
    assert "none when the differences all equal one nonzero value" in result.legend


def test_critical_difference_axis_spans_one_to_the_number_of_arms() -> None:
    figure = critical_difference_diagram({"a": 1.0, "b": 2.0, "c": 3.0}, 2.3)
    ticks = {text.get_text() for text in figure.axes[0].texts if text.get_text().isdigit()}
    assert ticks == {"1", "2", "3"}
