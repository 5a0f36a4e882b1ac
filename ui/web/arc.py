"""The web UI's emotional-arc parts (issue 30), kept in their own module so the layout only places them:
the arc picture of the latest summary / compare answer (shown above the strip) and the "Export" of the
loaded video's arc and moments in one of ui/export.FORMATS (a VTT track for the player, SRT, an EDL or
OpenTimelineIO file for editors, CSV, JSON). Files are copied or written into the browser session's own
folder: the server serves nothing else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ui.export import FORMATS, export_video
from ui.web.storage import UISession, UploadRejected

EXPORT_LABEL = "Export arc & moments"


def arc_picture(state: UISession | None) -> str | None:
    """The latest answer's arc picture, copied into the session folder (None: that answer has no arc)."""
    ans = state.answer if state is not None else None
    src = Path(ans.arc.image_path) if ans is not None and ans.arc is not None and ans.arc.image_path else None
    if src is None or not src.exists():
        return None
    dst = state.path_in("arc", f"{src.stem}_{len(state.turns)}.png")
    shutil.copyfile(src, dst)
    return str(dst)


def export_arc(state: UISession | None, fmt: str) -> list[str]:
    """The loaded video's arc and moments as `fmt`, in the session folder (with the arc picture beside it)."""
    if state is None or state.video is None or state.index is None:
        raise UploadRejected("load a video first")
    if fmt not in FORMATS:
        raise UploadRejected(f"unknown export format {fmt!r}")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(state.video_name).stem)[:60] or "video"
    out = state.path_in("exports", f"{stem}_arc.{fmt}")
    export_video(state.video, fmt, out, state.settings)
    pics = sorted(out.parent.glob("arc_summary_*.png"))
    return [str(out), *(str(p) for p in pics[:1])]
