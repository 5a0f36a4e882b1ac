"""End to end in a real browser: the Gradio app on 127.0.0.1 driven by headless Chromium (Debian's
/usr/bin/chromium through Playwright; never a downloaded browser). Upload the Pexels clip, ask
"when does she cheer up?", wait for the streamed answer, select the first moment and check the evidence
panel (plot, face crops, flow image, transcript and citations), save a screenshot into tmp_path (copied to
$AFFECTLENS_UI_SCREENSHOT when set), then ask a follow-up, export, and start a new session.

LLM: llm=None (the deterministic fallback) by default, so the test takes seconds and does not depend on
the 0.5B model's wording; set AFFECTLENS_UI_TEST_LLM=1 to use the real embedded LLM (`llm` fixture)
instead (slower: each LLM role call takes seconds on 2 cores).

Set-up: scripts/install_browser.sh (apt chromium + pinned playwright)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("AFFECTLENS_CHROMIUM", "/usr/bin/chromium")
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


expect = None  # playwright.sync_api.expect, set by the browser fixture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    missing = None if Path(CHROMIUM).exists() or shutil.which(CHROMIUM) else f"chromium not found at {CHROMIUM}"
    try:
        from playwright import sync_api
    except ImportError:
        missing = missing or "playwright not installed"
    if missing:  # CI fails loudly (a missing browser must not skip the UI test unnoticed); locally it skips
        msg = f"{missing} (run scripts/install_browser.sh)"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set)", pytrace=False)
        pytest.skip(msg)
    global expect
    expect = sync_api.expect
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def served(settings, pexels_index, request):
    from ui.app import build_app, launch
    client = request.getfixturevalue("llm") if os.environ.get("AFFECTLENS_UI_TEST_LLM") == "1" else None
    app = build_app(settings, llm=client)
    url = launch(app, "127.0.0.1", _free_port(), block=False, quiet=True)
    yield url, app
    app.close()


def test_upload_ask_and_inspect_evidence(browser, served, tmp_path):
    url, app = served
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")  # Gradio keeps a stream open: never "networkidle"
    page.locator("#al-upload").wait_for(timeout=60_000)

    page.locator("#al-upload input[type=file]").set_input_files(str(SAMPLE))
    status = page.locator("#al-status")
    status.get_by_text("Ask a question").wait_for(timeout=120_000)
    assert "sample_pexels.mp4" in status.inner_text()

    page.locator("#al-question textarea").fill("when does she cheer up?")
    page.locator("#al-ask").click()
    chat = page.locator("#al-chat")
    chat.get_by_text("for “when does she cheer up?”").wait_for(timeout=240_000)
    text = chat.inner_text()
    assert "Localised candidate windows" in text and "Verified candidates" in text  # streamed steps
    assert "Joy" in text and "00:00:" in text

    moments = page.locator("#al-moments label")
    moments.first.wait_for(timeout=30_000)
    assert moments.count() >= 1
    moments.first.click()

    expect(page.locator("#al-citations")).to_contain_text("E1", timeout=120_000)
    expect(page.locator("#al-citations")).to_contain_text("expression")
    plot = page.locator("#al-plot img, #al-plot canvas, #al-plot svg")
    plot.first.wait_for(timeout=60_000)
    crops = page.locator("#al-crops img")
    crops.first.wait_for(timeout=60_000)
    assert crops.count() >= 1
    box = crops.first.bounding_box()
    assert box and box["width"] > 20 and box["height"] > 20
    page.locator("#al-flow img").first.wait_for(timeout=60_000)
    assert "mouth_corners" in page.locator("#al-flow-text").inner_text()
    assert "no speech" in page.locator("#al-transcript").inner_text()  # the Pexels clip has no speech
    page.locator("#al-clip video").first.wait_for(state="attached", timeout=60_000)

    shot = tmp_path / "ui_evidence.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    keep = os.environ.get("AFFECTLENS_UI_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)

    # follow-up in the same session, export, then a new session
    page.locator("#al-question textarea").fill("show me another one")
    page.locator("#al-ask").click()
    chat.get_by_text("for “show me another one”").wait_for(timeout=240_000)
    expect(chat).to_contain_text("Follow-up (next)")
    page.locator("#al-export").click()
    expect(page.locator("#al-downloads")).to_contain_text(".json", timeout=60_000)
    expect(page.locator("#al-downloads")).to_contain_text(".md")
    page.locator("#al-stop").click()  # nothing running: must be harmless
    page.locator("#al-new").click()
    expect(chat).not_to_contain_text("for “show me another one”", timeout=30_000)
    assert not errors, errors
    page.close()
