"""The screenshot of docs/ui.md's "Emotional arc" section: the web UI on 127.0.0.1, driven by headless
Chromium (Debian's /usr/bin/chromium via Playwright; scripts/install_browser.sh), asks a summary question
about a video and saves the page with the arc above the strip, then clicks "Export arc & moments".

    .venv/bin/python scripts/ui_arc_screenshot.py [--video PATH] [--question Q] [--out docs/img]

Default media: assets/sample_pexels.mp4 (licence-clean). Needs the trained question reader (summary and
compare questions are routed to the arc by it: `affectlens train-reader`). Kept apart from
scripts/ui_screenshots.py (the other screenshots) so each can be rerun alone."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
SAMPLE = ROOT / "assets" / "sample_pexels.mp4"

from scripts.ui_screenshots import ui_page  # noqa: E402  (the UI on a free local port, in headless Chromium)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(SAMPLE))
    ap.add_argument("--question", default="how does her mood change over the video?")
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--chromium", default=os.environ.get("AFFECTLENS_CHROMIUM", "/usr/bin/chromium"))
    a = ap.parse_args()
    from playwright.sync_api import expect

    from tools.settings import get_settings
    from ui.app import build_app
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    app = build_app(get_settings(), video_dir=Path(tempfile.mkdtemp(prefix="al_arc_")), llm=None)
    with ui_page(app, a.chromium, 1100) as page:
        page.locator("#al-upload input[type=file]").set_input_files(a.video)
        expect(page.locator("#al-status")).to_contain_text("Ask a question", timeout=1_800_000)
        page.locator("#al-question textarea").fill(a.question)
        page.locator("#al-ask").click()
        page.locator("#al-arc img").wait_for(timeout=300_000)
        page.locator("#al-export-arc").click()
        page.locator("#al-downloads").get_by_text(".vtt").first.wait_for(timeout=120_000)
        page.evaluate("window.scrollTo(0, 0)")
        p = out / "ui_arc.png"
        page.screenshot(path=str(p), full_page=False)
        print("wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
