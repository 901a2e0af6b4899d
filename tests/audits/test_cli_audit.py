"""``rigorlab audit`` through Typer's runner: output (findings, an overview, why audits did not apply, where
the cards were written), card files, exit codes, no tracebacks for bad input."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from rigorlab.audits import CARDS_MARKER, cards_table, current_audit_results, study_splits
from rigorlab.audits import _messages as msg
from rigorlab.cli import app
from rigorlab.execution import run_study
from rigorlab.store import open_store
from tests.audits.test_driver import PLANTED_DATA, PLANTED_STUDY

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def test_audit_fairness_and_cards(arrests_study, tmp_path):
    _, store = arrests_study
    out = tmp_path / "cards"
    result = invoke(
        "audit", "arrests-audit", "--store", str(store), "--only", "fairness,cards", "-q", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Audited study arrests-audit (fairness, cards)" in text
    assert "12 done, 0 not applicable, 0 failed, 0 already stored, 3 new card(s) stored." in text
    # A short overview of the result, not only the findings: each arm's largest disparity with its interval.
    assert "Largest disparity per arm" in text and "Holm across arms x attributes x metrics" in text
    assert re.search(r"forest │ equalized_odds_difference │ [a-z &]+ │ \d\.\d{3} \[-?\d\.\d{3}, \d\.\d{3}\]", text)
    # The cards are Markdown files, and the output says where.
    assert f"Cards: 3 Markdown file(s) in {out}/" in text
    with open_store(store, read_only=True) as run_store:
        assert set(run_store.audit_results("arrests-audit")["kind"]) == {"fairness", "cards"}
        stored = cards_table(current_audit_results(run_store, "arrests-audit"))
    files = sorted(p.name for p in out.glob("*.md"))
    assert files == ["datasheet-arrests.md", "model_card-forest-arrests.md", "model_card-logreg-arrests.md"]
    forest = stored[stored["arm"] == "forest"]["markdown"].iloc[0]
    assert (out / "model_card-forest-arrests.md").read_text() == forest
    again = invoke("audit", "arrests-audit", "--store", str(store), "--only", "fairness,cards", "--out", str(out))
    assert again.exit_code == 0 and "0 done" in again.output and "15 already stored" in again.output
    assert sorted(p.name for p in out.glob("*.md")) == files  # written again, from the store


def test_cards_go_to_reports_by_default_and_never_over_other_files(arrests_study, tmp_path, monkeypatch):
    _, store = arrests_study
    monkeypatch.chdir(tmp_path)
    result = invoke("audit", "arrests-audit", "--store", str(store), "--only", "cards", "-q")
    assert result.exit_code == 0, result.output
    assert "Cards: 3 Markdown file(s) in reports/arrests-audit-cards/" in flat(result.output)
    assert len(list((tmp_path / "reports" / "arrests-audit-cards").glob("*.md"))) == 3
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    refused = invoke("audit", "arrests-audit", "--store", str(store), "--only", "cards", "-q", "--out", str(mine))
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert flat(msg.CARDS_FOLDER_NOT_OURS.format(path=mine, marker=CARDS_MARKER)) in flat(refused.output)
    assert "Audited study" not in refused.output  # refused before any audit ran
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_not_applicable_audits_say_why_once(write_file):
    study = write_file("study.yaml", PLANTED_STUDY)
    write_file("planted_data.py", PLANTED_DATA)
    store = study.parent / ".rigorlab"
    assert run_study(study, store=store, jobs=1).done == 3
    result = invoke("audit", "planted", "--store", str(store), "--only", "fairness", "-q")
    assert result.exit_code == 0, result.output
    reason = msg.NOT_APPLICABLE.format(count=3, kind="fairness", reason=msg.NO_SENSITIVE.format(dataset="cancer"))
    assert "3 not applicable" in result.output and flat(result.output).count(flat(reason)) == 1
    with open_store(store, read_only=True) as run_store:
        assert study_splits(run_store, "planted") == "shared"  # kfold: every replicate uses the same folds


def test_bad_input_exits_2_without_traceback(arrests_study):
    _, store = arrests_study
    result = invoke("audit", "arrests-audit", "--store", str(store), "--only", "fairnes")
    assert result.exit_code == 2
    assert (
        msg.UNKNOWN_KIND.format(kind="fairnes", kinds="data, fairness, robustness, explain, cards", closest="")[:40]
        in result.output
    )
    assert "Traceback" not in result.output
    missing = invoke("audit", "no-such-study", "--store", str(store))
    assert missing.exit_code == 2 and "There is no study 'no-such-study'" in missing.output


def test_strict_data_audit_of_a_study_file_before_it_runs(write_file):
    study = write_file("study.yaml", PLANTED_STUDY)
    write_file("planted_data.py", PLANTED_DATA)
    store = study.parent / ".rigorlab"
    result = invoke("audit", str(study), "--store", str(store), "--only", "data", "--strict", "-q")
    assert result.exit_code == 2, result.output
    assert "severe finding(s) and --strict turns them into an error" in result.output
    assert "Traceback" not in result.output
    relaxed = invoke("audit", str(study), "--store", str(store), "--only", "data")
    assert relaxed.exit_code == 0 and "data/train_test_leakage" in relaxed.output and "severe" in relaxed.output


def test_an_unwritable_cards_folder_exits_2_before_any_audit_runs(arrests_study, tmp_path):
    _, store = arrests_study
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    with open_store(store, read_only=True) as reader:
        before = len(reader.audit_results("arrests-audit"))
    result = invoke("audit", "arrests-audit", "--store", str(store), "--only", "cards", "--out", str(blocker / "sub"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"The cards cannot be written to {blocker / 'sub'}" in flat(result.output)
    with open_store(store, read_only=True) as reader:
        assert len(reader.audit_results("arrests-audit")) == before  # nothing ran, nothing stored
