"""Model cards give the intervals compare gives; audit intervals of bounded scores stay in their
range; progress lines keep bracketed text and print a skip reason once."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from rigorlab.audits import AuditResult, build_cards
from rigorlab.audits._cards import bounded_interval
from rigorlab.audits._overview import CLIPPED_NOTE, _adversarial, _clipped
from rigorlab.cli._audit import SKIPPED_AGAIN, _print_overview, print_audit_result
from rigorlab.stats import compare_stored
from rigorlab.store import open_store


@pytest.mark.slow
def test_model_cards_show_compares_interval(arrests_study_template) -> None:
    _, store_path = arrests_study_template
    with open_store(store_path, read_only=True) as store:
        cards = build_cards(store, "arrests-audit")
        estimates = compare_stored(store, "arrests-audit").estimates
    card = next(c for c in cards if c.card == "model_card" and c.arm == "forest")
    row = estimates[(estimates["arm"] == "forest") & (estimates["metric"] == "accuracy")].iloc[0]
    assert row["method"] == "t_nb"  # repeated k-fold: the corrected interval, wider than t over replicates
    assert f"| accuracy | {row['mean']:.4f} [{row['low']:.4f}, {row['high']:.4f}] |" in card.markdown
    assert "Nadeau-Bengio corrected t interval" in card.markdown
    assert "rigorlab compare" in card.markdown
    (line,) = [m for m in card.fields["metrics"] if m["metric"] == "accuracy"]
    assert (line["low"], line["high"]) == pytest.approx((row["low"], row["high"]))


def test_bounded_interval_cuts_only_beyond_the_range() -> None:
    assert bounded_interval(0.377, 1.123, (0.0, 1.0)) == (0.377, 1.0, True)
    assert bounded_interval(-0.004, 0.037, (0.0, 1.0)) == (0.0, 0.037, True)
    assert bounded_interval(-0.2, 0.3, (None, None)) == (-0.2, 0.3, False)
    assert bounded_interval(0.1, 0.3, (0.0, 1.0)) == (0.1, 0.3, False)


def test_overview_cuts_accuracy_under_attack_and_disparities_at_their_range() -> None:
    summary = pd.DataFrame(
        {
            "dataset": ["d", "d"],
            "arm": ["a", "a"],
            "attack": ["hop_skip_jump", "hop_skip_jump"],
            "epsilon": [0.1, 0.5],
            "estimate": [0.9, 0.75],
            "low": [0.85, 0.377],
            "high": [0.95, 1.123],
        }
    )
    table = _adversarial(summary)
    assert table[["epsilon", "low", "high"]].to_numpy().tolist() == [[0.5, 0.377, 1.0]]
    assert table.attrs["clipped"] == "[0, 1]"
    untouched = _clipped(pd.DataFrame({"low": [0.1], "high": [0.2]}), (0.0, 1.0))
    assert "clipped" not in untouched.attrs
    disparity = _clipped(pd.DataFrame({"estimate": [0.017], "low": [-0.004], "high": [0.037]}), (0.0, 1.0))
    assert disparity["low"].iloc[0] == 0.0


def test_the_overview_prints_the_clipping_note(capsys) -> None:
    table = _adversarial(
        pd.DataFrame(
            {
                "dataset": ["d"],
                "arm": ["a"],
                "attack": ["fgsm"],
                "epsilon": [0.5],
                "estimate": [0.75],
                "low": [0.377],
                "high": [1.123],
            }
        )
    )
    _print_overview({"adversarial": table})
    out = " ".join(capsys.readouterr().out.split())
    assert "0.750 [0.377, 1.000]" in out
    assert " ".join(CLIPPED_NOTE.format(range="[0, 1]").split()) in out


def test_progress_lines_keep_brackets_and_print_a_skip_reason_once(capsys) -> None:
    message = "No sensitive columns. Add sensitive: [column, ...] to the dataset in the study file."
    seen: set[tuple[str, str]] = set()
    for replicate in range(3):
        result = AuditResult(
            key=f"k{replicate}",
            kind="fairness",
            dataset="iris",
            status="skipped",
            arm="logreg",
            replicate=replicate,
            fold=0,
            message=message,
        )
        print_audit_result(result, seen)
    failed = AuditResult(key="f", kind="explain", dataset="iris", status="failed", arm="[x]", error="KeyError: ['a']")
    print_audit_result(failed, seen)
    err = capsys.readouterr().err
    flat = re.sub(r"\s+", " ", err)
    assert flat.count("Add sensitive: [column, ...] to the dataset") == 1
    assert SKIPPED_AGAIN.strip() in flat
    assert "KeyError: ['a']" in flat and "[x]" in flat
