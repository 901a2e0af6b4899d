"""The HTML report in a real browser: headless Chromium loads the file with no console error and
no request but the file itself (figures are data: URIs), and every figure decodes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rigorlab import open_store
from rigorlab.report import build_report, write_report

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # starting Chromium takes seconds
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason="Chromium is not installed (`make browser` installs Debian's chromium)",
    ),
]


def _load(path: Path) -> tuple[list[str], list[tuple[str, str]], list[list[int]]]:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    messages: list[tuple[str, str]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: messages.append((message.type, message.text)))
            page.on("pageerror", lambda error: messages.append(("pageerror", str(error))))
            page.goto(path.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(image => [image.complete ? 1 : 0, image.naturalWidth])"
            )
        finally:
            browser.close()
    return requests, messages, images


@pytest.mark.parametrize("store_fixture, study", [("report_store", "reportable"), ("synthetic_store", "synthetic")])
def test_the_html_report_loads_offline_without_errors(request, tmp_path, store_fixture, study):
    with open_store(request.getfixturevalue(store_fixture), read_only=True) as store:
        data = build_report(store, study, n_resamples=1000)
    files = write_report(data, tmp_path / "report", formats=["html"])
    page = files.path("report.html")
    requests, messages, images = _load(page)
    outside = [url for url in requests if url != page.as_uri() and not url.startswith("data:")]
    assert outside == [], f"requests other than the file itself: {outside}"
    assert [m for m in messages if m[0] in ("error", "pageerror", "warning")] == []
    assert len(images) == len(data.figures) > 0
    assert all(complete and width > 0 for complete, width in images)
