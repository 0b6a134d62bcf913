"""End to end in real headless Chromium (Debian package): the preview page as a reviewer sees it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.fixtures_catalog import list_cases
from tests.support.live_server import REPO_ROOT, live_service

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "artifacts"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _case(tier: str | None, prefix: str) -> str:
    for case in list_cases():
        if case.name.startswith(prefix) and (case.meta.get("tier") == tier):
            return case.name
    raise AssertionError(f"no fixture case {prefix}* with tier {tier}")


def test_preview_in_chromium_shows_critical_card_and_negative_case(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    critical_case = _case("C1", "C1--in")
    negative_case = _case(None, "C1--out")
    dialogs: list[str] = []
    with live_service(tmp_path) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base + "/preview")
            critical = page.locator(f'section[data-case="{critical_case}"] article.card')
            assert critical.count() == 1
            assert critical.get_attribute("data-indicator") == "critical"
            assert critical.locator(".summary").inner_text().strip()
            assert critical.locator(".suggestion").count() >= 1
            negative = page.locator(f'section[data-case="{negative_case}"]')
            assert negative.locator("article.card").count() == 0
            assert "No card" in negative.inner_text()
            ARTIFACTS.mkdir(exist_ok=True)
            critical.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "preview.png"), full_page=False)
        finally:
            browser.close()
    assert dialogs == []
    assert (ARTIFACTS / "preview.png").stat().st_size > 10_000
