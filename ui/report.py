"""`affectlens report DIR --out report.html`: one self-contained HTML page for a folder of videos: each
indexed video's emotional arc (picture and summary, graphs/nodes/arc.answer_arc) and its strongest moments
with a thumbnail each. Built from the per-video indexes only (the cache folders `affectlens index DIR`
writes, locally or on a Ray cluster): nothing is re-analysed, one frame per moment is decoded for its
thumbnail. Pictures are embedded (base64), so the page can be mailed or archived as one file."""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

THUMB = 160  # thumbnail side in pixels: the people panel's face thumbnails are the same size


def _b64(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _thumbs(video: str, times: list[float]) -> dict[float, str]:
    import cv2

    from ui.evidence import decode_at
    out = {}
    try:
        frames = decode_at(video, times, max_side=THUMB * 2)
    except Exception:  # a thumbnail is decoration: an unreadable frame leaves it out
        return out
    for t, rgb in frames.items():
        h, w = rgb.shape[:2]
        scale = THUMB / max(h, w)
        small = cv2.resize(rgb, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            out[t] = _b64(buf.tobytes(), "image/jpeg")
    return out


def indexed_videos(folder: Path, settings=None) -> tuple[list, list[str]]:
    """(VideoIndex per indexed video under `folder`, videos not indexed yet)."""
    from tools.errors import MediaError
    from tools.index import IndexConfig, VideoIndex
    from tools.index.decode import probe
    from tools.index.store import index_folder
    from tools.library import find_videos
    from tools.settings import get_settings
    s = settings or get_settings()
    config = IndexConfig.from_settings(s)
    found, missing = [], []
    for v in find_videos([folder]):
        try:
            meta = probe(v)
        except MediaError:
            missing.append(str(v))
            continue
        f = index_folder(meta, config, s)
        if (f / "done.json").exists():
            found.append(VideoIndex(f, meta, config))
        else:
            missing.append(str(v))
    return found, missing


def video_section(index, assets: Path) -> str:
    from graphs.nodes.arc import answer_arc
    from tools.schemas import hms
    from ui.evidence import confidence_words
    ans, _ = answer_arc(index, "summarise the emotional arc", "summary", out_dir=assets / index.meta.content_key)
    name = html.escape(Path(index.meta.path).name)
    png = Path(ans.arc.image_path).read_bytes() if ans.arc and ans.arc.image_path else b""
    thumbs = _thumbs(index.meta.path, [m.window.center for m in ans.moments])
    rows = []
    for m in ans.moments:
        img = thumbs.get(m.window.center)
        pic = f'<img src="{img}" alt="frame">' if img else ""
        rows.append(f"<tr><td>{m.rank}</td><td>{pic}</td>"
                    f"<td>{hms(m.window.start)}–{hms(m.window.end)}</td><td>{html.escape(m.label)}</td>"
                    f"<td>{confidence_words(m.confidence)}</td><td>{html.escape(m.rationale)}</td></tr>")
    summary = "".join(f"<p>{html.escape(line)}</p>" for line in ans.arc.text().splitlines()) if ans.arc else ""
    table = ("<table><tr><th>#</th><th>frame</th><th>time</th><th>emotion</th><th>confidence</th><th>why</th></tr>"
             + "".join(rows) + "</table>") if rows else "<p><em>No emotional moment found.</em></p>"
    return (f"<section><h2>{name} <small>({hms(index.meta.duration)})</small></h2>"
            + (f"<img class=arc src=\"{_b64(png, 'image/png')}\" alt=\"emotional arc of {name}\">" if png else "")
            + summary + table + "</section>")


def write_report(folder: Path, out: Path, settings=None) -> tuple[Path, int, int]:
    """Write the report; returns (its path, videos in it, videos not indexed yet)."""
    found, missing = indexed_videos(folder, settings)
    assets = out.parent / f".{out.stem}_arcs"
    sections = [video_section(ix, assets) for ix in found]
    body = "".join(sections) or "<p>No indexed video in this folder: run <code>affectlens index DIR</code> first.</p>"
    if missing:
        body += "<p><em>Not indexed yet: " + ", ".join(html.escape(Path(m).name) for m in missing) + "</em></p>"
    page = ("<!doctype html><html><head><meta charset=utf-8><title>affectlens report</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em}"
            "img.arc{width:100%}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px;"
            "text-align:left;vertical-align:middle}</style></head><body>"
            f"<h1>affectlens report: {html.escape(folder.name or str(folder))}</h1>"
            f"<p>{len(found)} video(s), built {time.strftime('%Y-%m-%d %H:%M')}</p>{body}</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out, len(found), len(missing)
