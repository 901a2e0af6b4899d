"""What the report says about provenance, verification and learning curves, on stores written with
the store's own API: two environments and git states, verified trials, curves, a tracked study."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rigorlab import open_store
from rigorlab.report import MARK_VERIFIED, build_report, write_report
from rigorlab.report._figures import summarise_curves
from rigorlab.store import TrialResult
from tests.report.conftest import store_bytes


@pytest.fixture(scope="module")
def data(synthetic_store):
    with open_store(synthetic_store, read_only=True) as store:
        return build_report(store, "synthetic", n_resamples=500)


def test_learning_curves_are_summarised_over_replicates(data, synthetic_store):
    assert set(data.curves["name"]) == {"train_loss"}  # system/ samples are not learning curves
    with open_store(synthetic_store, read_only=True) as store:
        points = store.curves("synthetic")
    first = points[(points["name"] == "train_loss") & (points["arm"] == "wide") & (points["step"] == 2)]["value"]
    row = data.curves.set_index(["arm", "step"]).loc[("wide", 2)]
    half_width = stats.t.ppf(0.975, len(first) - 1) * first.std(ddof=1) / np.sqrt(len(first))
    assert row["n"] == 4 and row["mean"] == pytest.approx(first.mean())
    assert (row["low"], row["high"]) == pytest.approx((first.mean() - half_width, first.mean() + half_width))
    assert [spec.kind for spec in data.figures] == ["scores", "comparison", "curves"]


def test_a_single_replicate_curve_has_no_band():
    import pandas as pd

    points = pd.DataFrame(
        {
            "key": "k",
            "arm": "a",
            "dataset": "d",
            "replicate": 0,
            "fold": [0, 1],
            "name": "loss",
            "step": 0,
            "value": [1.0, 3.0],
        }
    )
    summary = summarise_curves(points)
    assert summary[["mean", "low", "high", "n"]].iloc[0].tolist() == [2.0, 2.0, 2.0, 1]


def test_verification_marks_count_the_latest_verdicts(data):
    marks = {mark.arm: mark for mark in data.verification}
    assert marks["small"].complete and marks["small"].text == "verified on 2026-02-03: 4 of 4 trials identical"
    assert not marks["wide"].complete
    assert marks["wide"].text == "verified on 2026-02-03: 0 of 4 trials identical, 1 not reproduced, 3 not re-run"
    table = data.primary.table
    assert table.cell("small", "digits").verification is marks["small"]
    assert MARK_VERIFIED in table.legend
    assert any(c.topic == "verification" and "wide on digits" in c.text for c in data.caveats)


def test_differences_in_provenance_are_caveats(data):
    texts = [caveat.text for caveat in data.caveats if caveat.topic == "provenance"]
    assert any(
        t.startswith("The results were produced with different numpy: 2.0.0") and "2.1.0 (" in t and "1 run)" in t
        for t in texts
    )
    assert any("different GPU: NVIDIA H100 80GB HBM3" in t and "NVIDIA A100-SXM4-80GB" in t for t in texts)
    assert "The results come from 2 git commits: aaaaaaaaaaaa, bbbbbbbbbbbb." in texts
    assert any(t.startswith("1 run had uncommitted changes") for t in texts)
    hardware = next(p.text for p in data.methods if p.title == "Hardware and software")
    assert "The trials ran in 2 environments" in hardware and "numpy 2.0.0 / 2.1.0" in hardware
    items = {item.topic: item for item in data.checklist}
    assert items["Code availability"].status == "partial"
    assert items["Compute hardware"].status == "yes" and "H100" in items["Compute hardware"].answer


def test_the_curves_figure_is_written(data, tmp_path):
    files = write_report(data, tmp_path / "report", formats=["md"])
    assert "curves_train_loss" in files.figures
    text = files.path("report.md").read_text()
    assert "## Learning curves" in text and "(figures/curves_train_loss.png)" in text
    assert "| small | digits | ✓ verified on 2026-02-03: 4 of 4 trials identical |" in text


def test_a_tracked_study_without_a_study_file_is_reported(tmp_path):
    with open_store(tmp_path / "store", create=True) as store:
        store.save_study("tracked")
        store.save_trials(
            "tracked",
            [
                TrialResult(
                    key=f"{arm}{replicate}",
                    arm=arm,
                    dataset="mnist",
                    replicate=replicate,
                    fold=0,
                    status="done",
                    config={"params": {"lr": 0.01 if arm == "sgd" else 0.001}},
                    seeds={"seed": replicate},
                    metrics={"val_accuracy": 0.9 + 0.01 * replicate + (0.02 if arm == "adam" else 0.0)},
                    fit_seconds=10.0,
                    source="tracked",
                    curves=[("val_loss", step, 1.0 / (step + 1)) for step in range(3)],
                )
                for arm in ("sgd", "adam")
                for replicate in range(3)
            ],
        )
    before = store_bytes(tmp_path / "store")
    with open_store(tmp_path / "store", read_only=True) as store:
        data = build_report(store, "tracked", n_resamples=500)
    assert store_bytes(tmp_path / "store") == before
    # Without a study file, arms come in the order the statistics use; the first is the baseline.
    assert data.arms == ("adam", "sgd") and data.datasets == ("mnist",) and data.baseline == "adam"
    assert data.primary_metric == "val_accuracy" and data.replicates == 3 and data.study_text == ""
    methods = {paragraph.title: paragraph.text for paragraph in data.methods}
    assert "recorded with rigorlab.track" in methods["Protocol"]
    assert "sgd was recorded by rigorlab.track with lr = 0.01" in methods["Models and hyperparameters"]
    assert (
        "val_accuracy (logged by the training code; higher is better: rigorlab's default for an unknown name"
        in methods["Metrics"]
    )
    items = {item.topic: item for item in data.checklist}
    assert items["Study definition"].status == "missing" and items["Data splits"].status == "missing"
    files = write_report(data, tmp_path / "report")
    assert "it has no study file" in files.path("report.md").read_text()
