"""``rigorlab audit`` through Typer's runner: output, exit codes, no tracebacks for bad input."""

from __future__ import annotations

from typer.testing import CliRunner

from rigorlab.audits import _messages as msg
from rigorlab.cli import app
from rigorlab.store import open_store
from tests.audits.test_driver import PLANTED_DATA, PLANTED_STUDY

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def test_audit_fairness_and_cards(arrests_study):
    _, store = arrests_study
    result = invoke("audit", "arrests-audit", "--store", str(store), "--only", "fairness,cards", "-q")
    assert result.exit_code == 0, result.output
    assert "Audited study arrests-audit (fairness, cards)" in result.output
    assert "12 done, 0 not applicable, 0 failed, 0 already stored, 3 card(s) written." in result.output
    assert "fairness/equalized_odds" in result.output  # the findings table
    with open_store(store, read_only=True) as run_store:
        assert set(run_store.audit_results("arrests-audit")["kind"]) == {"fairness", "cards"}
    again = invoke("audit", "arrests-audit", "--store", str(store), "--only", "fairness,cards")
    assert again.exit_code == 0 and "0 done" in again.output and "15 already stored" in again.output


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
