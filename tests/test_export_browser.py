"""The VTT export opens in a real video player: Chromium (Debian's /usr/bin/chromium through Playwright, as
tests/test_ui_browser.py) loads the exported track on a <video> of the shipped sample, parses it with its own
WebVTT parser, and its cues are the arc's captions. Set-up: scripts/install_browser.sh."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("AFFECTLENS_CHROMIUM", "/usr/bin/chromium")
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def test_vtt_track_loads_in_chromiums_video_player(settings, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: run scripts/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    import webvtt

    from ui.export import export_video
    vtt = export_video(SAMPLE, "vtt", tmp_path / "arc.vtt", settings)
    shutil.copyfile(SAMPLE, tmp_path / "sample.mp4")
    (tmp_path / "index.html").write_text(
        '<!doctype html><video id=v controls src="sample.mp4">'
        '<track id=t kind=captions srclang=en label="affectlens arc" src="arc.vtt" default></video>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("document.getElementById('t').readyState === 2", timeout=20000)  # LOADED
            cues = page.evaluate("Array.from(document.getElementById('v').textTracks[0].cues)"
                                 ".map(c => [c.startTime, c.endTime, c.text])")
            browser.close()
    finally:
        server.shutdown()
    def secs(ts: str) -> float:
        h, m, s = ts.split(":")
        return round(int(h) * 3600 + int(m) * 60 + float(s), 2)
    want = sorted((secs(c.start), secs(c.end), c.text) for c in webvtt.read(str(vtt)).captions)
    assert len(want) >= 3
    assert sorted((round(a, 2), round(b, 2), t) for a, b, t in cues) == want  # the player's order may differ
    assert any(text.startswith("sad") for _, _, text in cues) and any(text.startswith("happy") for _, _, text in cues)


def test_ui_answers_a_summary_question_with_the_arc_and_exports_it(settings, tmp_path):
    """The web UI: a summary question shows the arc picture above the strip and its sentences in the chat;
    'Export arc & moments' offers the VTT file for download."""
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: run scripts/install_browser.sh")
    from agents.intent.model import WEIGHTS_DIR
    if not (WEIGHTS_DIR / "reader.json").exists():
        pytest.skip("no trained question reader (affectlens train-reader): summary questions are routed by it")
    sync_api = pytest.importorskip("playwright.sync_api")
    import socket

    from ui.app import build_app, launch
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app(settings, video_dir=tmp_path, llm=None)
    url = launch(app, "127.0.0.1", port, block=False, quiet=True)
    try:
        with sync_api.sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            page.locator("#al-upload input[type=file]").set_input_files(SAMPLE)
            sync_api.expect(page.locator("#al-status")).to_contain_text("Ask a question", timeout=600_000)
            page.locator("#al-question textarea").fill("how does her mood change over the video?")
            page.locator("#al-ask").click()
            page.locator("#al-arc img").wait_for(timeout=300_000)
            sync_api.expect(page.locator("#al-chat")).to_contain_text("Mostly happy", timeout=60_000)
            page.locator("#al-export-arc").click()
            sync_api.expect(page.locator("#al-downloads")).to_contain_text(".vtt", timeout=120_000)
            b.close()
    finally:
        app.close()
