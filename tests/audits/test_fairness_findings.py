"""Fairness findings are judged over an arm's trials, not one fold at a time: noise in tiny
intersectional groups is not a finding, a real gap is (severe when its whole interval is beyond the
threshold); the comparison against the baseline is Holm-corrected across attributes and metrics and
uses the study's split design. Real data (scikit-lego's arrests), real audits, a real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from rigorlab.audits import (
    DISPARITY_COLUMNS,
    EQUALIZED_ODDS_THRESHOLD,
    GROUP_COLUMNS,
    MIN_GROUP_ROWS,
    PARITY_RATIO_THRESHOLD,
    AuditResult,
    TrialInputs,
    audit_fairness,
    fairness_findings,
    fairness_tables,
    findings_table,
    group_metrics,
    sensitive_groups,
)
from rigorlab.audits import _messages as msg
from rigorlab.audits._records import json_safe
from rigorlab.stats import holm_adjust
from rigorlab.store import open_store
from tests.audits.conftest import make_dataset

REPLICATES, FOLDS = 4, 5
SENSITIVE = ("colour", "sex", "citizen")
INTERSECTION = "colour & sex & citizen"


def _predict(arm: str, y_true: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``fair``: 5% of the labels flipped at random, whoever the person. ``biased``: the same noise, and
    40% of the Black arrestees who were released predicted as held (a true positive rate gap of 0.4)."""
    flipped = np.where(y_true == "Yes", "No", "Yes")
    y_pred = np.where(rng.random(len(y_true)) < 0.05, flipped, y_true)
    if arm == "biased":
        y_pred = np.where((colour == "Black") & (y_true == "Yes") & (rng.random(len(y_true)) < 0.4), "No", y_pred)
    return y_pred


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, arrests_frame: pd.DataFrame) -> pd.DataFrame:
    """Fairness audits of two arms over 4 replicates x 5 folds (1045 test rows per fold, where the
    smallest intersectional groups have a handful of rows), stored and read back from a real store."""
    dataset = make_dataset(arrests_frame, "released", name="arrests", sensitive=SENSITIVE)
    colour = arrests_frame["colour"].to_numpy()
    empty = np.asarray([], dtype=np.int64)
    path = tmp_path_factory.mktemp("fairness_findings") / "store"
    with open_store(path, create=True) as store:
        store.save_study("fair", baseline="fair")
        for replicate in range(REPLICATES):
            splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=replicate)
            for fold, (_, test) in enumerate(splitter.split(dataset.features, dataset.target)):
                for offset, arm in enumerate(("fair", "biased")):
                    rng = np.random.default_rng([replicate, fold, offset])
                    y_true = dataset.target[test]
                    predictions = {
                        "test_index": test,
                        "y_true": y_true,
                        "y_pred": _predict(arm, y_true, colour[test], rng),
                        "classes": np.array(["No", "Yes"]),
                    }
                    key = f"{arm}-{replicate}-{fold}".ljust(32, "0")
                    trial = TrialInputs(key, arm, replicate, fold, {}, {}, None, empty, empty, predictions)
                    result, findings, notes, _ = audit_fairness(dataset, trial, options={"n_boot": 50}, seed=fold)
                    assert findings == []  # nothing is judged on one fold
                    outcome = AuditResult(
                        key, "fairness", "arrests", "done", arm, replicate, fold, key, result or {}, notes=notes
                    )
                    store.save_audit_result(
                        "fair",
                        key=key,
                        kind="fairness",
                        dataset="arrests",
                        status="done",
                        arm=arm,
                        replicate=replicate,
                        fold=fold,
                        trial_key=key,
                        result=json_safe(outcome.payload()),
                    )
        return store.audit_results("fair")


def test_noise_in_small_groups_is_not_a_finding_and_a_real_gap_is(stored, arrests_frame):
    # Without a minimum, single folds of the fair arm show intersectional gaps above the threshold (noise).
    y, colour = arrests_frame["released"].to_numpy(), arrests_frame["colour"].to_numpy()
    noisy = []
    for fold, (_, test) in enumerate(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(y, y)):
        y_pred = _predict("fair", y[test], colour[test], np.random.default_rng([0, fold, 0]))
        groups, _ = sensitive_groups(arrests_frame.iloc[test][list(SENSITIVE)].reset_index(drop=True))
        every, _ = group_metrics(y[test], y_pred, groups, n_boot=20, min_group_rows=1)
        noisy.append(every[-1]["disparities"]["equalized_odds_difference"]["value"])
    assert sum(value > EQUALIZED_ODDS_THRESHOLD for value in noisy) >= 3, noisy

    findings = findings_table(stored)
    assert list(findings.columns)[:3] == ["severity", "kind", "check"]
    # The fair arm's errors are noise only: no equalized odds finding (its selection rates do differ, as the
    # groups' base rates do, so demographic parity may well be a finding).
    assert findings[(findings["arm"] == "fair") & (findings["check"] == "equalized_odds")].empty
    biased = findings[findings["arm"] == "biased"].set_index(["check", "columns"])
    colour = biased.loc[("equalized_odds", "colour")]
    assert colour["severity"] == "severe" and colour["count"] == REPLICATES * FOLDS
    summary = fairness_tables(stored)["disparity_summary"].set_index(["arm", "attribute", "metric"])
    row = summary.loc[("biased", "colour", "equalized_odds_difference")]
    assert row["low"] > EQUALIZED_ODDS_THRESHOLD and colour["value"] == pytest.approx(row["estimate"])
    assert f"differ by {row['estimate']:.3f} [{row['low']:.3f}, {row['high']:.3f}]" in colour["message"]
    assert f"(mean over {REPLICATES * FOLDS} trials, 95% t interval over {REPLICATES} replicates)" in colour["message"]
    assert msg.WHOLE_INTERVAL_BEYOND in colour["message"]
    assert "Groups compared: 2, the smallest 'Black' with a median of" in colour["message"]
    # The intersection names the groups it left out, with their sizes.
    tables = fairness_tables(stored)
    sizes = tables["group_summary"]
    tiny = sizes[(sizes["attribute"] == INTERSECTION) & sizes["too_small"]]
    assert len(tiny) and (tiny["rows"] < MIN_GROUP_ROWS).all()
    left_out = findings_table(stored)
    text = left_out[(left_out["arm"] == "biased") & (left_out["columns"] == "colour, sex, citizen")]["message"]
    if len(text):  # the gap shows on the intersection too
        assert f"Left out (fewer than {MIN_GROUP_ROWS} test rows): " in text.iloc[0]
        assert f"{tiny['group'].iloc[0]!r} (median" in text.iloc[0]
    # Too-small groups keep their rates in the table, marked, without an interval.
    groups = tables["groups"]
    marked = groups[groups["too_small"] & (groups["metric"] == "selection_rate")]
    assert len(marked) and marked["value"].notna().any() and marked["low"].isna().all()


def _tables(rows: list[tuple[str, str, float, float, float]]) -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame(
        [
            {
                "arm": arm,
                "dataset": "d",
                "attribute": "sex",
                "metric": metric,
                "estimate": estimate,
                "low": low,
                "high": high,
                "replicates": 5,
                "trials": 25,
                "units": 5,
            }
            for arm, metric, estimate, low, high in rows
        ]
    )
    groups = pd.DataFrame(
        [
            {"arm": arm, "dataset": "d", "replicate": 0, "fold": 0, "attribute": "sex", "group": group, "rows": rows}
            | {"too_small": rows < 30, "min_group_rows": 30, "metric": "selection_rate", "n": rows, "value": 0.5}
            for arm in {r[0] for r in rows}
            for group, rows in (("F", 80), ("M", 400), ("X", 3))
        ],
        columns=list(GROUP_COLUMNS),
    )
    return {"disparity_summary": summary, "groups": groups}


def test_severity_is_judged_on_the_estimate_and_its_interval():
    odds, ratio = "equalized_odds_difference", "demographic_parity_ratio"
    tables = _tables(
        [
            ("severe", odds, 0.15, 0.12, 0.18),  # the whole interval above 0.1
            ("warning", odds, 0.12, 0.05, 0.19),  # the estimate above, the interval reaching below
            ("fine", odds, 0.08, 0.02, 0.14),  # below: no finding even though the interval reaches above
            ("severe", ratio, 0.6, 0.5, 0.7),  # the whole interval below 0.8
            ("warning", ratio, 0.75, 0.6, 0.9),
            ("fine", ratio, 0.9, 0.7, 1.0),
            ("single", odds, 0.3, np.nan, np.nan),  # one replicate: no interval, so at most a warning
        ]
    )
    found = {(f.arm, f.check): f for f in fairness_findings(tables)}
    assert {key: f.severity for key, f in found.items()} == {
        ("severe", "equalized_odds"): "severe",
        ("warning", "equalized_odds"): "warning",
        ("severe", "demographic_parity"): "severe",
        ("warning", "demographic_parity"): "warning",
        ("single", "equalized_odds"): "warning",
    }
    warning = found[("warning", "equalized_odds")]
    assert f"above the {EQUALIZED_ODDS_THRESHOLD:.2f} threshold{msg.ESTIMATE_ONLY_BEYOND}" in warning.message
    assert "Groups compared: 2, the smallest 'F' with a median of 80 test rows per trial." in warning.message
    assert "Left out (fewer than 30 test rows): 'X' (median 3)." in warning.message
    assert f"below the {PARITY_RATIO_THRESHOLD:.2f} threshold" in found[("severe", "demographic_parity")].message
    assert "no interval from a single replicate" in found[("single", "equalized_odds")].message
    assert "over 5 folds (the replicates share one split)" in fairness_findings(tables, splits="shared")[0].message


def test_the_comparison_is_holm_corrected_across_attributes_and_metrics(stored):
    comparison = fairness_tables(stored, baseline="fair")["comparison"]
    assert len(comparison) == 4 * 2  # 4 attributes x 2 disparities, one arm against the baseline
    assert (comparison["holm_family"] == 8).all()
    assert np.allclose(comparison["p_adjusted"], holm_adjust(comparison["p_value"].to_numpy()))
    # Holm over 8 comparisons: each adjusted p is at least the raw one, and verdicts follow the adjusted p.
    assert (comparison["p_adjusted"] >= comparison["p_value"] - 1e-15).all()
    verdicts = comparison.set_index(["attribute", "metric"])["verdict"]
    assert verdicts[("colour", "equalized_odds_difference")] == "worse"
    no_evidence = comparison[comparison["p_adjusted"] >= 0.05]
    assert (no_evidence["verdict"] == "no evidence of a difference").all()


def test_the_comparison_and_summaries_follow_the_split_design(stored):
    from rigorlab.stats import compare_to_baseline

    resampled = fairness_tables(stored, baseline="fair", splits="resampled")
    shared = fairness_tables(stored, baseline="fair", splits="shared")
    one = shared["disparities"]
    one = one[(one["attribute"] == "colour") & (one["metric"] == "equalized_odds_difference")]
    cells = one.pivot_table(index=["replicate", "fold"], columns="arm", values="value")[["fair", "biased"]]
    expected = compare_to_baseline(
        cells.to_numpy().reshape(REPLICATES, FOLDS, 2),
        baseline="fair",
        arm_names=["fair", "biased"],
        higher_is_better=False,
        splits="shared",
    )
    row = shared["comparison"].set_index(["attribute", "metric"]).loc[("colour", "equalized_odds_difference")]
    assert row["p_value"] == pytest.approx(expected["p_value"].iloc[0]) and row["test"] == expected["test"].iloc[0]
    assert row["test"] != resampled["comparison"]["test"].iloc[0]
    # Replicates that share a split are not independent evidence: the interval is over the folds.
    assert set(shared["disparity_summary"]["units"]) == {FOLDS}
    assert set(resampled["disparity_summary"]["units"]) == {REPLICATES}
    # An unknown design runs both tests and keeps the more conservative p-value.
    unknown = fairness_tables(stored, baseline="fair", splits="unknown")["comparison"]["p_value"].to_numpy()
    for design in (resampled, shared):
        assert (unknown >= design["comparison"]["p_value"].to_numpy() - 1e-12).all()


def test_empty_tables_have_their_columns():
    tables = fairness_tables(pd.DataFrame(columns=["kind", "status", "result"]), baseline="a")
    assert list(tables["groups"].columns) == list(GROUP_COLUMNS)
    assert list(tables["disparities"].columns) == list(DISPARITY_COLUMNS)
    assert "holm_family" in tables["comparison"].columns
    assert fairness_findings(tables) == []


def test_group_facts_survive_the_store(stored):
    """What the store returns is what the tables read: the group facts survive JSON."""
    groups = fairness_tables(stored)["groups"]
    assert set(groups["min_group_rows"]) == {MIN_GROUP_ROWS}
    assert groups["n"].le(groups["rows"]).all()
