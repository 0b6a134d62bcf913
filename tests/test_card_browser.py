"""The C1 card for ``c1a-pat`` as an EHR shows it, in real headless Chromium: its orders are above the fold.

The page renders ``detail`` with markdown-it (the npm package pinned in tests/fhir_server/package-lock.json,
loaded from node_modules: nothing comes from a CDN), raw HTML and linkify on, in a card laid out with the
CDS Hooks sandbox's metrics (width, fonts, spacing), and lays out the suggestions as buttons under the detail.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from service.fixtures_catalog import list_cases
from tests.support.engine import run_case
from tests.support.fhir_server import ensure_node_modules
from tests.support.live_server import REPO_ROOT

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "artifacts"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
FOLD_PX = 600
CASE = "C1--in--leg-weakness-with-breast-cancer"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Card</title><style>
  /* The CDS Hooks sandbox's card metrics (measured in it at a 1440 px window): content box 598 px with
     16/16/24 px padding, body 16/24 px, summary 18/27 px bold, buttons 14 px and 36 px high. */
  body { font: 16px/24px -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial,
         sans-serif; margin: 16px; color: #1d232a; background: #f4f5f7; }
  .card { width: 604px; background: #fff; border-left: 6px solid #c62828; padding: 16px 16px 24px; }
  .summary { font-size: 18px; line-height: 27px; font-weight: 700; color: #c62828; margin: 0 0 4px; }
  .source-line { font-size: 14px; font-style: italic; }
  .detail p, .detail ul { margin: 16px 0; } .detail ul { padding-left: 40px; }
  .suggestion { display: block; margin: 2px 0; height: 36px; padding: 0 12px; font: inherit; font-size: 14px;
                text-align: left; color: #fff; background: #3a4e7a; border: 0; border-radius: 4px; }
  .links, .source { font-size: 14px; color: #445; margin-top: 8px; }
</style></head><body>
<article class="card" id="card"><div class="summary" id="summary"></div>
<div class="source-line" id="source-line"></div><div class="detail" id="detail"></div>
<div id="suggestions"></div><div class="links" id="links"></div><div class="source" id="source"></div></article>
</body></html>"""

RENDER = """(card) => {
  const md = window.markdownit({ html: true, linkify: true });
  document.getElementById('summary').textContent = card.summary;
  document.getElementById('source-line').textContent = 'Source: ' + card.source.label;
  document.getElementById('detail').innerHTML = md.render(card.detail || '');
  for (const s of card.suggestions || []) {
    const b = document.createElement('button'); b.className = 'suggestion'; b.textContent = s.label;
    document.getElementById('suggestions').appendChild(b);
  }
  document.getElementById('links').textContent = (card.links || []).map((l) => l.label).join(' · ');
  document.getElementById('source').textContent = 'Source: ' + card.source.label;
}"""


def _card() -> dict[str, Any]:
    case = next(c for c in list_cases() if c.name == CASE)
    assert case.patient_id == "c1a-pat"
    _, response = run_case(case)
    [card] = response["cards"]
    assert card["indicator"] == "critical"
    return dict(card)


def test_c1_card_rendered_with_markdown_it_has_its_first_order_within_600px(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    script = ensure_node_modules() / "markdown-it" / "dist" / "markdown-it.min.js"
    card = _card()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.set_content(PAGE)
            page.add_script_tag(path=str(script))
            page.evaluate(RENDER, card)
            detail = page.locator("#detail")
            assert detail.locator("ul li").count() >= 4  # the Markdown was rendered, not shown raw
            assert "**" not in detail.inner_text()
            assert detail.locator("a, img, script, iframe").count() == 0
            box = page.locator("#card").bounding_box()
            first = page.locator("button.suggestion").first.bounding_box()
            assert box and first
            offset = first["y"] - box["y"]
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator("#card").screenshot(path=str(ARTIFACTS / "c1a-card.png"))
            (ARTIFACTS / "c1a-card.json").write_text(
                json.dumps({"card_height_px": box["height"], "first_suggestion_offset_px": offset,
                            "detail_characters": len(card["detail"])}),
                encoding="utf-8",
            )
        finally:
            browser.close()
    assert card["suggestions"][0]["label"].startswith("Order MRI")
    assert offset <= FOLD_PX, f"first suggestion {offset:.0f} px below the card top: {html.escape(card['detail'])}"
    assert requests == [], requests  # nothing fetched: markdown-it came from node_modules
