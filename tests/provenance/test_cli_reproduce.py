"""The reproduce, bundle and verifications commands through Typer's runner: output, exit codes,
and no tracebacks for bad input."""

from __future__ import annotations

import json
import sqlite3

from typer.testing import CliRunner

from rigorlab.cli import app
from rigorlab.provenance._compare import MSG_BAD_TOLERANCE
from tests.provenance.conftest import TRIALS

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "RIGORLAB_STORE": ""})


def test_reproduce_then_verifications(store_copy, tmp_path):
    report_path = tmp_path / "report.json"
    result = invoke("reproduce", "verify", "--store", str(store_copy), "-j", "2", "--quiet", "--json", str(report_path))
    assert result.exit_code == 0, result.output
    assert (
        f"Reproducing study verify from {store_copy}: {TRIALS} trial(s) selected, {TRIALS} to re-run." in result.output
    )
    assert f"Environment: the same as when {TRIALS} trial(s) ran" in result.output
    assert f"s): {TRIALS} identical." in result.output
    assert f"Recorded {TRIALS} verdict(s) (rigorlab verifications verify)." in result.output
    written = json.loads(report_path.read_text())
    assert written["counts"] == {"identical": TRIALS} and written["ok"] is True

    shown = invoke("verifications", "verify", "--store", str(store_copy))
    assert shown.exit_code == 0
    assert f"Study verify: {TRIALS} of {TRIALS} finished trial(s) verified ({TRIALS} identical)" in shown.output
    as_json = json.loads(invoke("verifications", "verify", "--store", str(store_copy), "--format", "json").output)
    assert as_json["verified"] == TRIALS and len(as_json["trials"]) == TRIALS


def test_a_mismatch_exits_1_and_says_what_differs_and_why(store_copy):
    db = sqlite3.connect(store_copy / "rigorlab.sqlite")
    with db:
        db.execute("""UPDATE environments SET json = json_set(json, '$.packages."numpy"', '1.26.4')""")
        key = db.execute("SELECT key FROM trials WHERE arm = 'forest' ORDER BY key LIMIT 1").fetchone()[0]
        db.execute(
            "UPDATE metrics SET value = 0.5 WHERE name = 'accuracy' AND trial_id = "
            "(SELECT id FROM trials WHERE key = ?)",
            (key,),
        )
    db.close()
    result = invoke("reproduce", "verify", "--store", str(store_copy), "--trials", key[:12], "--quiet", "--no-record")
    assert result.exit_code == 1, result.output
    assert "Environment differences from environment" in result.output
    assert "numpy 1.26.4 -> " in result.output
    assert f"different {key[:10]} forest on " in result.output and "accuracy: stored 0.5, reproduced" in result.output
    assert "likely: numpy 1.26.4 -> " in result.output
    assert "Recorded" not in result.output


def test_bundle_and_reproduce_it(ran, tmp_path, monkeypatch):
    out = tmp_path / "verify.tar.gz"
    made = invoke("bundle", "verify", str(out), "--store", str(ran / ".rigorlab"), "--with-data")
    assert made.exit_code == 0, made.output
    assert f"Wrote {out}" in made.output and "data of wine_file" in made.output
    again = invoke("bundle", "verify", str(out), "--store", str(ran / ".rigorlab"))
    assert again.exit_code == 2 and "already exists; pass --force" in again.output
    reader = tmp_path / "reader"
    reader.mkdir()
    monkeypatch.chdir(reader)
    result = invoke("reproduce", str(out), "--sample", "3", "-j", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert "3 identical." in result.output and "Recorded" not in result.output


def test_bad_input_exits_2_without_a_traceback(store_copy, tmp_path):
    for args, expected in (
        (("reproduce", "verfy"), "There is no study 'verfy'"),
        (
            ("reproduce", "verify", "--tolerance", "roc_auc=much"),
            MSG_BAD_TOLERANCE.format(option="tolerance", value="roc_auc=much"),
        ),
        (("reproduce", "verify", "--sample", "2", "--all"), "Give at most one of --trials, --sample and --all."),
        (("reproduce", str(tmp_path / "missing.tar.gz")), "There is no bundle at"),
        (("verifications", "verify", "--format", "xml"), "--format must be one of table, csv, json."),
    ):
        result = invoke(*args, "--store", str(store_copy))
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_a_dry_run_shows_the_plan_and_changes_nothing(store_copy):
    before = (store_copy / "rigorlab.sqlite").read_bytes()
    result = invoke("reproduce", "verify", "--store", str(store_copy), "--dry-run")
    assert result.exit_code == 0
    assert f"{TRIALS} to re-run" in result.output and "Dry run: nothing was run or recorded." in result.output
    assert (store_copy / "rigorlab.sqlite").read_bytes() == before


def test_when_every_chosen_trial_is_refused_the_exit_code_is_2(fresh, tmp_path):
    folder, store = fresh
    (folder / "data" / "wine.csv").rename(tmp_path / "wine.csv")
    db = sqlite3.connect(store / "rigorlab.sqlite")
    key = db.execute("SELECT key FROM trials WHERE dataset = 'wine_file' LIMIT 1").fetchone()[0]
    db.close()
    result = invoke("reproduce", "verify", "--store", str(store), "--trials", key, "--quiet")
    assert result.exit_code == 2, result.output
    assert "Dataset 'wine_file': the file" in result.output and "is not there any more" in result.output
    found = invoke("reproduce", "verify", "--store", str(store), "--trials", key, "--data-dir", str(tmp_path), "-q")
    assert found.exit_code == 0 and "1 identical." in found.output
