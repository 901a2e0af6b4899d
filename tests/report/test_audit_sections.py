"""The report's audit sections, built from the stored audits of a real audited study: one section per
audit kind with its findings as a table of severity and its figures, written in every format (the
HTML self-contained, the LaTeX compiling)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from rigorlab import open_store, run_study
from rigorlab.report import build_report, write_report

AUDITED = """\
study: audited-report
question: Does a forest beat logistic regression on arrests, and are both fair?
seed: 8
replicates: 2
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    sensitive: [colour, sex]
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    params: {max_iter: 1000, class_weight: balanced}
    preprocess: [one_hot, standard_scale]
  - name: forest
    estimator: sklearn.ensemble.RandomForestClassifier
    params: {n_estimators: 15, max_depth: 5}
    preprocess: [ordinal]
protocol: {kind: repeated_kfold, folds: 2}
metrics: [accuracy, roc_auc]
baseline: logreg
audits:
  data: {target_leakage_rows: 1000}
  fairness: {n_boot: 200}
  robustness: {noise_levels: [0.0, 0.5], swap_rates: [0.0, 0.25], repeats: 1, max_rows: 300}
  explain: {importance_rows: 200, importance_repeats: 2, shap_rows: 40, background_rows: 20}
  cards: {}
"""
TITLES = ["Data quality", "Fairness", "Robustness", "Explanations", "Model cards and datasheets"]


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("audited_report")
    (folder / "study.yaml").write_text(AUDITED)
    summary = run_study(folder / "study.yaml", store=folder / "store", jobs=2)
    assert (summary.done, summary.audit_failures) == (8, 0)
    with open_store(folder / "store", read_only=True) as store:
        data = build_report(store, "audited-report", n_resamples=500)
    files = write_report(data, folder / "report")
    return data, files


@pytest.mark.slow
def test_one_section_per_audit_kind_with_findings_and_figures(audited):
    data, _ = audited
    assert [section.title for section in data.audits] == TITLES
    by_title = {section.title: section for section in data.audits}
    for section in data.audits:
        assert "rigorlab audit audited-report --only" in section.summary
    fairness = by_title["Fairness"]
    findings = fairness.tables[0]
    assert findings.title == "Findings by severity"
    assert list(findings.frame.columns) == ["severity", "check", "dataset", "arm", "trials", "finding"]
    order = ["severe", "warning", "info"]
    assert list(findings.frame["severity"]) == sorted(findings.frame["severity"], key=order.index)
    assert fairness.findings and fairness.findings[0].split(":")[0] in order
    assert {t.title for t in fairness.tables} >= {"Disparities between groups", "Disparity against the baseline"}
    assert {f.name for f in fairness.figures} == {"selection_rate", "true_positive_rate"}
    assert {f.name for f in by_title["Robustness"].figures} == {"perturbation"}
    assert {f.name for f in by_title["Explanations"].figures} == {"permutation", "shap"}
    cards = by_title["Model cards and datasheets"].tables[0].frame
    assert cards["card"].tolist().count("model_card") == 2
    assert cards["file"].str.match(r"^(model_card|datasheet)-[\w.=+-]+\.md$").all()
    disparities = next(t for t in fairness.tables if t.title == "Disparities between groups").frame
    assert disparities["mean [95% CI]"].str.match(r"^\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]$").all()


@pytest.mark.slow
def test_audit_sections_in_every_format(audited, tmp_path):
    data, files = audited
    figures = sum(len(section.figures) for section in data.audits)
    html = files.path("report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(data.figures) + figures  # every figure embedded
    assert not re.search(r'src="(?!data:)', html)
    assert all(f"<h3>{title}</h3>" in html for title in TITLES) and "<h4>Findings by severity</h4>" in html
    markdown = files.path("report.md").read_text()
    assert "## Audits" in markdown and all(f"### {title}" in markdown for title in TITLES)
    assert markdown.count("](figures/audit_") == figures
    latex = files.path("report.tex").read_text()
    assert all(f"\\subsection{{{title}}}" in latex for title in TITLES)
    if shutil.which("pdflatex"):
        folder = tmp_path / "latex"
        shutil.copytree(files.folder, folder)
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]


def test_a_report_without_audits_has_no_audit_section(report_store):
    with open_store(report_store, read_only=True) as store:
        data = build_report(store, "reportable", n_resamples=200)
    assert data.audits == ()


def test_explicit_sections_replace_the_stored_ones(audited, tmp_path):
    from rigorlab.report import AuditSection

    data, files = audited
    store = files.folder.parent / "store"
    with open_store(store, read_only=True) as reader:
        none = build_report(reader, "audited-report", n_resamples=200, audits=())
        mine = build_report(reader, "audited-report", n_resamples=200, audits=[AuditSection("Mine")])
    assert none.audits == () and [section.title for section in mine.audits] == ["Mine"]
