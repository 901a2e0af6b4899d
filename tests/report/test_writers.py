"""Writing reports: every format, figures that open as images, LaTeX that compiles, Markdown that
parses into tables, all-or-nothing output, and a store that is never changed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest
from markdown_it import MarkdownIt
from PIL import Image

from rigorlab import open_store
from rigorlab.errors import InputError
from rigorlab.report import MARKER, MSG_OUT_IS_A_FILE, MSG_OUT_NOT_A_REPORT, _writers, build_report, write_report
from tests.report.conftest import store_bytes

MAIN_FILES = (
    "report.html",
    "report.md",
    "results_table.tex",
    "results_table_roc_auc.tex",
    "results_table_document.tex",
    "methods.tex",
    "report.tex",
)


@pytest.fixture(scope="module")
def written(report_store, tmp_path_factory):
    """The report of the real study, written once; with the store's bytes before and after."""
    before = store_bytes(report_store)
    folder = tmp_path_factory.mktemp("written") / "report"
    with open_store(report_store, read_only=True) as store:
        data = build_report(store, "reportable", metrics=["roc_auc"], n_resamples=1000)
    files = write_report(data, folder)
    return data, files, before, store_bytes(report_store)


def test_report_generation_never_changes_the_store(written):
    _, _, before, after = written
    assert before and before == after


def test_the_report_folder_is_readable_by_others(written):
    _, files, _, _ = written
    mask = os.umask(0)
    os.umask(mask)
    assert files.folder.stat().st_mode & 0o777 == 0o777 & ~mask


def test_every_format_and_figure_is_written(written):
    data, files, _, _ = written
    assert files.files[: len(MAIN_FILES)] == MAIN_FILES
    for name in files.files:
        assert (files.folder / name).stat().st_size > 0
    assert (files.folder / MARKER).exists()
    kinds = [spec.kind for spec in data.figures]
    # No curves in a scikit-learn study, and no critical-difference diagram from 2 datasets.
    assert kinds == ["scores", "comparison"] * 2
    assert not list(files.folder.parent.glob("*.partial")) and not list(files.folder.parent.glob("*.old"))


def test_figures_open_as_images(written):
    _, files, _, _ = written
    for name, paths in files.figures.items():
        with Image.open(files.folder / paths.png) as image:
            image.verify()
        with Image.open(files.folder / paths.png) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 150, name
        root = ElementTree.parse(files.folder / paths.svg).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        pdf = (files.folder / paths.pdf).read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_figures_are_byte_stable(written, tmp_path):
    data, files, _, _ = written
    again = write_report(data, tmp_path / "again", formats=["md"])
    for name, paths in files.figures.items():
        for path in (paths.png, paths.svg, paths.pdf):
            assert (files.folder / path).read_bytes() == (again.folder / path).read_bytes(), f"{name}: {path}"


def test_markdown_tables_parse_with_every_arm_and_dataset(written):
    data, files, _, _ = written
    text = (files.folder / "report.md").read_text()
    # GitHub-flavoured tables, as markdown-it (CommonMark + the GFM table rule) reads them.
    html = MarkdownIt("commonmark").enable("table").render(text)
    tables = re.findall(r"<table>.*?</table>", html, flags=re.S)
    results = tables[0]
    assert re.findall(r"<th[^>]*>(.*?)</th>", results) == ["arm", "iris", "wine"]
    rows = re.findall(r"<tr>\s*<td[^>]*>(.*?)</td>", results)
    assert rows == ["logreg (baseline)", "forest", "exploding"]
    bold = re.findall(r"<strong>(\d\.\d+)</strong>", results)
    table = data.primary.table
    assert sorted(bold) == sorted(f"{c.mean:.{table.digits}f}" for c in table.cells if c.best)
    for spec in data.figures:
        assert f"![{spec.title}](figures/{spec.name}.png)" in text.replace("\\_", "_")


def test_html_holds_every_number_and_embeds_every_figure(written):
    data, files, _, _ = written
    html = (files.folder / "report.html").read_text()
    for cell in data.primary.table.cells:
        if cell.present:
            assert f"{cell.mean:.{data.primary.table.digits}f}" in html
    assert html.count('src="data:image/png;base64,') == len(data.figures)
    assert not re.search(r'(src|href)="(?!data:|#)', html), "the HTML must not load anything from outside itself"


def test_latex_table_is_booktabs_and_names_every_arm(written):
    data, files, _, _ = written
    table = (files.folder / "results_table.tex").read_text()
    for command in (r"\toprule", r"\midrule", r"\bottomrule", r"\caption", r"\label{tab:reportable-accuracy}"):
        assert command in table
    for arm in ("logreg (baseline)", "forest", "exploding"):
        assert f"\n{arm} &" in table
    assert table.count(r"\textbf{") == sum(cell.best for cell in data.primary.table.cells)
    assert (
        table.count(r"\textsuperscript{\dag}")
        == sum(cell.mark == "\N{DAGGER}" for cell in data.primary.table.cells) + 1
    )  # and once in the legend


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (TeX Live): LaTeX not compiled")
@pytest.mark.parametrize("document", ["results_table_document.tex", "report.tex"])
def test_latex_compiles(written, tmp_path, document):
    _, files, _, _ = written
    folder = tmp_path / "latex"
    shutil.copytree(files.folder, folder)
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (folder / document.replace(".tex", ".pdf")).stat().st_size > 1000


def test_an_older_report_is_replaced_and_other_folders_are_left_alone(written, tmp_path):
    data = written[0]
    target = tmp_path / "report"
    write_report(data, target, formats=["md"])
    write_report(data, target, formats=["html"])
    assert (target / "report.html").exists() and not (target / "report.md").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(InputError) as raised:
        write_report(data, mine)
    assert str(raised.value) == MSG_OUT_NOT_A_REPORT.format(path=mine, marker=MARKER)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError) as raised:
        write_report(data, tmp_path / "file")
    assert str(raised.value) == MSG_OUT_IS_A_FILE.format(path=tmp_path / "file")


def test_an_error_while_writing_leaves_no_partial_files_and_keeps_the_older_report(written, tmp_path, monkeypatch):
    data = written[0]
    target = tmp_path / "report"
    write_report(data, target, formats=["md"])
    original = (target / "report.md").read_bytes()

    def broken(kind, template, target_path, **context):
        if kind == "latex":
            raise OSError("disk full")
        return real_render(kind, template, target_path, **context)

    real_render = _writers._render
    monkeypatch.setattr(_writers, "_render", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(data, target)
    with pytest.raises(OSError, match="disk full"):
        write_report(data, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert (target / "report.md").read_bytes() == original and not (target / "report.html").exists()


def test_audit_sections_render_in_every_format(written, tmp_path):
    import dataclasses

    import pandas as pd
    from matplotlib.figure import Figure

    from rigorlab.report import AuditFigure, AuditSection, AuditTable

    figure = Figure(figsize=(3, 2))
    figure.add_subplot().bar(["a", "b"], [0.1, 0.2])
    section = AuditSection(
        title="Fairness & robustness",
        summary="Disparities per group; see `rigorlab audit reportable`.",
        findings=("warning: demographic parity difference 0.12 on wine_1 > 0.1",),
        tables=(
            AuditTable("Per-group accuracy", pd.DataFrame({"group": ["a_1", "b"], "accuracy": [0.9, 0.8]}), "95% CI"),
        ),
        figures=(AuditFigure("parity", "Parity by group", figure, "Bars: difference."),),
    )
    data = dataclasses.replace(written[0], audits=(section,))
    files = write_report(data, tmp_path / "report")
    assert "audit_Fairness_robustness_parity" in files.figures
    html = files.path("report.html").read_text()
    assert '<section id="audits">' in html and "Fairness &amp; robustness" in html and "<td>a_1</td>" in html
    assert html.count('src="data:image/png;base64,') == len(data.figures) + 1
    markdown = files.path("report.md").read_text()
    assert "## Audits" in markdown and "| a\\_1 | 0.9 |" in markdown
    assert "(figures/audit_Fairness_robustness_parity.png)" in markdown
    latex = files.path("report.tex").read_text()
    assert r"\subsection{Fairness \& robustness}" in latex
    if shutil.which("pdflatex"):
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
            cwd=files.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]
    without = write_report(written[0], tmp_path / "plain", formats=["html", "md"])
    assert "Audits" not in without.path("report.md").read_text()
    assert 'id="audits"' not in without.path("report.html").read_text()
