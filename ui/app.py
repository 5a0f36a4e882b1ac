"""Gradio web UI: load a video (upload or pick from a folder), ask vague questions in a chat that streams
the agent's steps, play the whole video with an affect strip under it, inspect the evidence behind each
moment, ask follow-ups, export the session.

    from ui.app import main; main(host="127.0.0.1", port=7860, video_dir="/data/videos")

The code lives in `ui/web/`: storage.py (uploads, per-browser session folders, artefact names),
handlers.py (load, ask, stop, "what happens here?", evidence, export), render.py (chat messages,
progress, citations), strip.py (the affect strip), assets.py (CSS and page script), layout.py (the
Gradio Blocks, launch, main). Rendering of evidence is in `ui/evidence.py`, clips in `ui/clip.py`, the
session export in `ui/export.py`. This module re-exports the public names.

Isolation: every browser session gets a `UISession` (its own `graphs.api.Session` and data folder
`<cache_dir>/ui/<random id>/`). Uploads are validated (extension, size, probe) and copied there; every
generated file is named by the video's content key + window + kind, and that folder tree is the only
one the server may serve files from. Closing the tab deletes the session folder (indexes stay cached).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from ui.web.handlers import TRANSCRIPT_COLS, AppCore  # noqa: E402
from ui.web.layout import EXAMPLE_QUESTIONS, build_app, launch, main, player_html  # noqa: E402
from ui.web.render import answer_markdown, moment_choices, step_messages  # noqa: E402
from ui.web.storage import (ALLOWED_EXTENSIONS, MAX_UPLOAD_BYTES, Turn, UISession, UploadRejected,  # noqa: E402
                            artefact_name, list_videos, resolve_pick, safe_filename, validate_upload)

__all__ = ["ALLOWED_EXTENSIONS", "AppCore", "EXAMPLE_QUESTIONS", "MAX_UPLOAD_BYTES", "TRANSCRIPT_COLS", "Turn",
           "UISession", "UploadRejected", "answer_markdown", "artefact_name", "build_app", "launch",
           "list_videos", "main", "moment_choices", "player_html", "resolve_pick", "safe_filename",
           "step_messages", "validate_upload"]

if __name__ == "__main__":
    import sys
    sys.exit(main(*sys.argv[1:2]))
