"""``rigorlab report`` through the command's runner: the files, the summary, and bad input that
exits 2 with one clear message and leaves no files behind."""

from __future__ import annotations

from typer.testing import CliRunner

from rigorlab import open_store
from rigorlab.cli import app
from rigorlab.report import MSG_NO_FINISHED_TRIALS, MSG_UNKNOWN_METRIC
from tests.report.conftest import store_bytes

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "240", "RIGORLAB_STORE": ""})


def test_report_writes_the_chosen_format(report_store, tmp_path):
    before = store_bytes(report_store)
    out = tmp_path / "paper"
    result = invoke(
        "report",
        "reportable",
        "--store",
        str(report_store),
        "--out",
        str(out),
        "--format",
        "md",
        "--metric",
        "roc_auc",
        "--resamples",
        "500",
    )
    assert result.exit_code == 0, result.output
    assert (
        "Report of study reportable: 3 arms x 2 datasets, 36 of 54 planned trials finished; metrics accuracy, roc_auc "
        "(primary accuracy, baseline logreg)." in result.output
    )
    # Scores and differences for both metrics asked for; no critical-difference diagram from 2 datasets.
    assert f"Wrote {out}/: report.md and 4 figures" in result.output
    assert "18 of 54 stored trials did not finish" in result.output
    assert sorted(p.name for p in out.iterdir()) == [".rigorlab-report", "figures", "report.md"]
    assert store_bytes(report_store) == before


def test_the_default_folder_is_reports_slash_study(report_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("report", "reportable", "--store", str(report_store), "--format", "html", "--resamples", "500")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports" / "reportable" / "report.html").exists()


def test_an_unstored_metric_exits_2_and_writes_nothing(report_store, tmp_path):
    out = tmp_path / "paper"
    result = invoke("report", "reportable", "--store", str(report_store), "--out", str(out), "--metric", "f1_macro")
    assert result.exit_code == 2
    expected = MSG_UNKNOWN_METRIC.format(metric="f1_macro", study="reportable", available="accuracy, roc_auc")
    assert " ".join(expected.split()) in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_study_without_finished_trials_exits_2_and_writes_nothing(tmp_path):
    with open_store(tmp_path / "store", create=True) as store:
        store.save_study("empty")
        store.save_plan("empty", [("k1", "a", "iris", 0, 0)])
    out = tmp_path / "paper"
    result = invoke("report", "empty", "--store", str(tmp_path / "store"), "--out", str(out))
    assert result.exit_code == 2
    expected = MSG_NO_FINISHED_TRIALS.format(study="empty", stored=0, states="none", planned=1)
    assert " ".join(expected.split()) in " ".join(result.output.split())
    assert not out.exists()


def test_a_bad_format_and_an_unknown_study_exit_2(report_store, tmp_path):
    result = invoke(
        "report", "reportable", "--store", str(report_store), "--format", "pdf", "--out", str(tmp_path / "x")
    )
    assert result.exit_code == 2 and "--format must be one of all, html, md, latex. Got 'pdf' instead." in result.output
    result = invoke("report", "nope", "--store", str(report_store), "--out", str(tmp_path / "x"))
    assert result.exit_code == 2 and "There is no study 'nope'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_out_folder_that_cannot_be_written_exits_2_before_any_work(report_store, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    before = store_bytes(report_store)
    result = invoke("report", "reportable", "--store", str(report_store), "--out", str(blocker / "sub"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"--out {blocker / 'sub'}: the report cannot be written there" in " ".join(result.output.split())
    assert store_bytes(report_store) == before and blocker.read_text() == "not a folder"
