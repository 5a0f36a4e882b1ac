"""Regenerate the screenshots in docs/ui.md: start the web UI on 127.0.0.1, drive it with headless
Chromium (Debian's /usr/bin/chromium via Playwright; scripts/install_browser.sh), save PNGs to docs/img/.

    .venv/bin/python scripts/ui_screenshots.py                 # deterministic path, no LLM (fast)
    .venv/bin/python scripts/ui_screenshots.py --llm           # with the embedded LLM
    .venv/bin/python scripts/ui_screenshots.py --long ~/.cache/affectlens/dev/long_dev.mp4

States: empty page, a question in progress, the answer with the whole-video player and strip, the
evidence panel, Stop, a failed upload after a good one, and the strip of a long video (when --long
names one), the person chips of a two-person video (when --people names one). Media: assets/sample_pexels.mp4 (licence-clean)."""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
SAMPLE = ROOT / "assets" / "sample_pexels.mp4"
ANSWERED = "Click a time to play it"  # the last line of every answer in the chat (ui/web/render.answer_markdown)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def ui_page(app, chromium: str, height: int):
    """The web UI of `app` (ui.app.build_app) on a free local port, opened in headless Chromium at `chromium`
    in a 1500 x `height` window: yields the page; closes the browser and the app after."""
    from playwright.sync_api import sync_playwright

    from ui.app import launch
    url = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=chromium, headless=True,
                                   args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
            page = b.new_page(viewport={"width": 1500, "height": height})
            page.goto(url, wait_until="domcontentloaded")
            yield page
            b.close()
    finally:
        app.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--llm", action="store_true", help="use the embedded LLM (default: none, deterministic)")
    ap.add_argument("--long", help="a long video for the strip screenshot (e.g. the 10-minute dev video)")
    ap.add_argument("--people", help="a video with two people for the person-chips screenshot "
                                     "(e.g. ~/.cache/affectlens/dev/two_people.mp4)")
    ap.add_argument("--cache", help="settings cache dir (default: the user's)")
    ap.add_argument("--chromium", default=os.environ.get("AFFECTLENS_CHROMIUM", "/usr/bin/chromium"))
    a = ap.parse_args()
    from playwright.sync_api import expect

    from tools.settings import Settings, get_settings
    from ui.app import build_app
    settings = Settings(cache_dir=Path(a.cache)) if a.cache else get_settings()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="al_shots_"))
    app = build_app(settings, video_dir=folder, llm=True if a.llm else None)
    shots = []

    def shot(page, name, full=True):
        p = out / f"ui_{name}.png"
        page.screenshot(path=str(p), full_page=full)
        shots.append(p)
        print("wrote", p.relative_to(ROOT) if p.is_relative_to(ROOT) else p, flush=True)

    with ui_page(app, a.chromium, 1000) as page:
        page.locator("#al-upload").wait_for(timeout=60_000)
        shot(page, "empty", full=False)
        page.locator("#al-upload input[type=file]").set_input_files(str(SAMPLE))
        page.locator("#al-status").get_by_text("Ask a question").wait_for(timeout=300_000)
        page.locator("#al-question textarea").fill("when is she in a good mood?")
        page.locator("#al-ask").click()
        page.locator('#al-progress [data-state="running"]').wait_for(timeout=30_000)
        shot(page, "progress", full=False)
        page.locator("#al-chat").get_by_text(ANSWERED).first.wait_for(timeout=600_000)
        expect(page.locator("#al-citations")).to_contain_text("E", timeout=120_000)
        page.locator("#al-crops img").first.wait_for(timeout=60_000)
        page.locator("#al-strip .al-chosen").first.click()
        shot(page, "answer", full=False)
        page.locator("#al-moments").scroll_into_view_if_needed()
        shot(page, "evidence", full=True)
        page.locator("#al-question textarea").fill("when is she sad?")
        page.locator("#al-ask").click()
        page.locator("#al-stop").click()  # at once: a warm question may take only seconds
        page.locator('#al-progress [data-state="stopped"]').wait_for(timeout=30_000)
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "stopped", full=False)
        bad = folder / "broken.mp4"
        bad.write_bytes(b"this is not a video" * 50)
        page.locator("#al-upload button[aria-label='Clear'], #al-upload .label-clear-button").first.click() \
            if page.locator("#al-upload button[aria-label='Clear']").count() else None
        page.locator("#al-upload input[type=file]").set_input_files(str(bad))
        page.locator("#al-status").get_by_text("No video is loaded now").wait_for(timeout=60_000)
        shot(page, "bad_upload", full=False)
        if a.long:
            page.reload(wait_until="domcontentloaded")  # a fresh browser session, no stale notices
            page.locator("#al-upload").wait_for(timeout=60_000)
            page.locator("#al-upload input[type=file]").set_input_files(str(a.long))
            expect(page.locator("#al-status")).to_contain_text("Ask a question", timeout=1_800_000)
            page.locator("#al-strip .al-strip[data-duration]").wait_for(timeout=60_000)
            page.locator("#al-player").scroll_into_view_if_needed()
            shot(page, "long_strip", full=False)
        if a.people:
            page.reload(wait_until="domcontentloaded")
            page.locator("#al-upload").wait_for(timeout=60_000)
            page.locator("#al-upload input[type=file]").set_input_files(str(a.people))
            expect(page.locator("#al-status")).to_contain_text("Ask a question", timeout=1_800_000)
            expect(page.locator("#al-people-thumbs img").first).to_be_visible(timeout=60_000)
            page.locator("#al-people").get_by_text("person 1, on the left").click()
            page.locator("#al-question textarea").fill("when does she look happy?")
            page.locator("#al-ask").click()
            page.locator("#al-chat").get_by_text(ANSWERED).first.wait_for(timeout=600_000)
            page.evaluate("window.scrollTo(0, 0)")
            shot(page, "people", full=False)
    print(f"{len(shots)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
