"""k arms over m datasets: Friedman, Iman-Davenport, Nemenyi, Wilcoxon-Holm, CD diagram."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.stats.multitest import multipletests

from rigorlab.errors import InputError
from rigorlab.stats import _messages as msg
from rigorlab.stats import (
    average_ranks,
    critical_difference,
    critical_difference_diagram,
    friedman_test,
    nemenyi_test,
    pairwise_wilcoxon,
    rank_arms,
    save_figure,
)


@pytest.mark.parametrize("seed", range(4))
def test_friedman_equals_scipy_without_ties(seed: int) -> None:
    scores = np.random.default_rng(seed).normal(size=(8, 5))
    result = friedman_test(scores)
    reference = stats.friedmanchisquare(*scores.T)
    assert result.chi2 == pytest.approx(reference.statistic, rel=1e-12)
    assert result.chi2_p_value == pytest.approx(reference.pvalue, rel=1e-10)


def test_friedman_tie_correction_equals_scipy_with_ties() -> None:
    scores = np.array([[1, 1, 2, 3], [2, 2, 2, 1], [3, 1, 1, 2], [1, 2, 3, 3], [2, 1, 3, 3]])
    reference = stats.friedmanchisquare(*scores.T.astype(float))
    assert friedman_test(scores).chi2 == pytest.approx(reference.statistic, rel=1e-12)


def test_iman_davenport_formula() -> None:
    scores = np.random.default_rng(3).normal(size=(10, 4))
    result = friedman_test(scores)
    n, k = scores.shape
    f_value = (n - 1) * result.chi2 / (n * (k - 1) - result.chi2)
    assert result.iman_davenport == pytest.approx(f_value)
    assert result.iman_davenport_p_value == pytest.approx(stats.f.sf(f_value, k - 1, (k - 1) * (n - 1)))
    assert (result.df_numerator, result.df_denominator) == (3, 27)


def test_perfect_agreement_gives_infinite_f_and_json_none() -> None:
    scores = np.tile([0.9, 0.8, 0.7], (5, 1))
    result = friedman_test(scores)
    assert math.isinf(result.iman_davenport) and result.iman_davenport_p_value == 0.0
    assert result.to_dict()["iman_davenport"] is None


def test_all_ties_everywhere() -> None:
    result = friedman_test(np.ones((4, 3)))
    assert result.chi2 == 0.0 and result.chi2_p_value == 1.0


def test_ranks_are_direction_aware() -> None:
    scores = pd.DataFrame({"a": [0.9, 0.8], "b": [0.7, 0.85], "c": [0.6, 0.5]})
    assert average_ranks(scores).tolist() == [1.5, 1.5, 3.0]
    assert average_ranks(scores, higher_is_better=False).tolist() == [2.5, 2.5, 1.0]


def test_nemenyi_critical_difference_formula() -> None:
    q_alpha = stats.studentized_range.ppf(0.95, 5, np.inf)
    assert critical_difference(5, 12) == pytest.approx(q_alpha / math.sqrt(2) * math.sqrt(5 * 6 / (6 * 12)))
    # Demsar (2006), Table 5: q_0.05 for k = 5 is 2.728 (already divided by sqrt 2).
    assert q_alpha / math.sqrt(2) == pytest.approx(2.728, abs=1e-3)


def test_nemenyi_pairs_table() -> None:
    scores = np.random.default_rng(1).normal(size=(12, 4)) + np.array([0, 0.5, 1.0, 1.5])
    result = nemenyi_test(scores, arm_names=["a", "b", "c", "d"])
    pairs = result.pairs()
    assert len(pairs) == 6
    assert list(pairs.columns) == ["arm_a", "arm_b", "rank_diff", "p_value", "significant"]
    strongest = pairs.loc[pairs["rank_diff"].abs().idxmax()]
    assert strongest["p_value"] == pairs["p_value"].min()
    for row in pairs.itertuples():
        assert row.significant == (abs(row.rank_diff) > result.critical_difference)


@pytest.mark.parametrize("seed", range(3))
def test_pairwise_wilcoxon_equals_scipy_with_holm(seed: int) -> None:
    scores = np.random.default_rng(seed).normal(size=(9, 4))
    table = pairwise_wilcoxon(scores)
    p_values = []
    for row, (first, second) in zip(table.itertuples(), combinations(range(4), 2), strict=True):
        reference = stats.wilcoxon(scores[:, first], scores[:, second])
        assert row.statistic == reference.statistic
        assert row.p_value == pytest.approx(reference.pvalue, rel=1e-12)
        p_values.append(reference.pvalue)
    assert table["p_adjusted"].to_numpy() == pytest.approx(multipletests(p_values, method="holm")[1])


@pytest.mark.parametrize("n_datasets", [6, 20, 60])
def test_pairwise_wilcoxon_with_ties_and_zeros_equals_per_pair_scipy(n_datasets: int) -> None:
    rng = np.random.default_rng(n_datasets)
    continuous = rng.normal(size=(n_datasets, 2))
    rounded = np.round(rng.normal(size=(n_datasets, 2)), 1)  # ties and zero differences
    scores = np.column_stack([continuous, rounded, rounded[:, :1]])
    table = pairwise_wilcoxon(scores)
    for row, (first, second) in zip(table.itertuples(), combinations(range(5), 2), strict=True):
        if np.all(scores[:, first] == scores[:, second]):
            assert row.p_value == 1.0
            continue
        reference = stats.wilcoxon(scores[:, first], scores[:, second])
        assert row.statistic == reference.statistic
        assert row.p_value == pytest.approx(reference.pvalue, rel=1e-12)


def test_wilcoxon_identical_arms_get_p_one() -> None:
    scores = np.array([[1.0, 1.0, 2.0], [2.0, 2.0, 3.0], [3.0, 3.0, 1.0]])
    table = pairwise_wilcoxon(scores)
    assert table.loc[0, "p_value"] == 1.0


def test_rank_arms_bundles_everything() -> None:
    frame = pd.DataFrame(
        np.random.default_rng(0).normal(size=(6, 3)) + [0.0, 0.3, 1.0],
        index=[f"d{i}" for i in range(6)],
        columns=["x", "y", "z"],
    )
    result = rank_arms(frame)
    assert result.arms == ("x", "y", "z")
    assert result.datasets == tuple(f"d{i}" for i in range(6))
    assert result.average_ranks.index.tolist() == ["x", "y", "z"]
    assert result.friedman.n_datasets == 6
    assert len(result.wilcoxon) == 3
    assert set(result.to_dict()) == {
        "arms",
        "datasets",
        "higher_is_better",
        "friedman",
        "nemenyi",
        "wilcoxon",
    }


def test_cd_diagram_and_save(tmp_path) -> None:
    figure = critical_difference_diagram(
        pd.Series({"logreg": 3.1, "hgb": 1.4, "forest": 1.9, "knn": 3.6}), 1.2, title="roc_auc"
    )
    assert isinstance(figure, Figure)
    labels = {text.get_text() for text in figure.axes[0].texts}
    assert "hgb (1.40)" in labels and "CD = 1.20" in labels
    png, svg = save_figure(figure, tmp_path / "figures" / "cd_roc_auc")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:500]
    # No dates in the metadata and a fixed hash salt make the SVG byte-stable.
    _, again = save_figure(figure, tmp_path / "again")
    assert again.read_bytes() == svg.read_bytes()


def test_cd_cliques_join_close_arms() -> None:
    from rigorlab.stats._cd_diagram import _cliques

    assert _cliques([1.0, 1.5, 3.0, 3.2], 1.0) == [(0, 1), (2, 3)]
    assert _cliques([1.0, 1.5, 1.9, 2.8], 1.0) == [(0, 2), (2, 3)]
    assert _cliques([1.0, 2.5], 1.0) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: friedman_test(np.ones((1, 3))),
            msg.TOO_FEW_DATASETS.format(what="The Friedman test", minimum=2, n_datasets=1),
        ),
        (
            lambda: friedman_test(np.ones((3, 1))),
            msg.TOO_FEW_ARMS.format(what="The Friedman test", minimum=2, n_arms=1),
        ),
        (lambda: nemenyi_test([[1.0, np.nan], [1.0, 2.0]]), msg.MISSING_SCORES_IN_RANKING.format(name="scores")),
        (
            lambda: critical_difference_diagram({"a": 1.0}, 1.0),
            msg.TOO_FEW_ARMS.format(what="A critical-difference diagram", minimum=2, n_arms=1),
        ),
    ],
)
def test_bad_input_messages(call, message: str) -> None:
    with pytest.raises(InputError) as error:
        call()
    assert str(error.value) == message
