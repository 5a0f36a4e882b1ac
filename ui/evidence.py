"""Evidence-panel rendering for one moment of an Answer, without any Gradio: the affect timeline
(matplotlib), face crops with AU bars, a facial optical-flow picture, transcript words, the citation
table (rationale sentence → evidence item), a playable clip of the moment, and JSON / Markdown export.

Everything reads the finished `VideoIndex` and decodes only the few frames it needs from the video.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np
from matplotlib.figure import Figure

from agents.schemas import Answer, Moment
from tools.index import VideoIndex
from tools.labels import AU_NAMES
from tools.schemas import FaceFrame, TimeWindow, hms

# Expression classes drawn on the timeline, with fixed colours so plots are comparable.
EXPR_COLORS = {"happy": "#e6a700", "sad": "#3b6fd1", "angry": "#d1343b", "surprise": "#a05cd6",
               "fear": "#2a9d8f", "disgust": "#6b8e23", "neutral": "#9a9a9a"}
_CITE = re.compile(r"\[([A-Za-z0-9_.:-]+)\]")
_LABEL = re.compile(r"(\d+):(\d\d):(\d\d)\s*[–-]\s*(\d+):(\d\d):(\d\d)")


def fmt_time(t: float) -> str:
    """HH:MM:SS.s (sub-second precision for frame times)."""
    return f"{hms(math.floor(t))}.{int(round((t - math.floor(t)) * 10)) % 10}"


def moment_title(m: Moment) -> str:
    flag = "" if m.verified else ", unverified"
    return f"{m.rank}. {hms(m.window.start)}–{hms(m.window.end)} · {m.label} ({m.confidence:.2f}{flag})"


def parse_window_label(label: str) -> tuple[float, float] | None:
    """'00:00:09–00:00:20' → (9.0, 20.0); None when it does not parse."""
    m = _LABEL.search(label or "")
    if not m:
        return None
    a = [int(x) for x in m.groups()]
    return a[0] * 3600 + a[1] * 60 + a[2], a[3] * 3600 + a[4] * 60 + a[5]


def candidate_windows(events: Sequence[dict]) -> list[tuple[float, float]]:
    """Candidate windows the localiser proposed in a turn (from Session.stream events)."""
    out: list[tuple[float, float]] = []
    for e in events:
        if e.get("node") == "localise":
            for c in e.get("candidates", []):
                w = parse_window_label(c.get("window", ""))
                if w and w not in out:
                    out.append(w)
    return out


# ---------------------------------------------------------------- timeline

def timeline_figure(index: VideoIndex, moment: Moment | None = None, others: Sequence[Moment] = (),
                    candidates: Sequence[tuple[float, float]] = ()) -> Figure:
    """Affect curves over the whole video: expression probabilities per window; AU12, AU4 and facial
    motion per sampled frame; voice arousal per window. Candidates shaded grey, other moments light,
    the chosen moment gold."""
    recs = index.records
    dur = index.meta.duration
    fig = Figure(figsize=(10, 5.4), dpi=96, layout="constrained")
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True, height_ratios=[1.3, 1.2, 0.8])
    tc = np.array([r.window.center for r in recs]) if recs else np.zeros(0)
    for k, col in EXPR_COLORS.items():
        ys = np.array([r.expression.get(k, np.nan) if r.expression else np.nan for r in recs], float)
        if len(ys) and np.isfinite(ys).any() and np.nanmax(ys) >= 0.05:
            ax1.plot(tc, ys, "-o", ms=3, lw=1.6, color=col, label=k)
    ax1.set_ylim(0, 1.02)
    ax1.set_ylabel("expression p")
    frames = [f for f in index.frames if f.aus and not f.occluded]
    if frames:
        ft = np.array([f.t for f in frames])
        ax2.plot(ft, [f.aus.get("AU12", 0.0) for f in frames], lw=1.3, color="#e6a700", label="AU12 smile")
        ax2.plot(ft, [f.aus.get("AU4", 0.0) for f in frames], lw=1.3, color="#3b6fd1", label="AU4 brow lowerer")
    mot = [(f.t, float(np.mean(list(f.motion.values())))) for f in index.frames if f.motion]
    if mot:
        mt, mv = zip(*mot)
        mv = np.array(mv)
        scale = max(1e-6, float(np.percentile(mv, 95)))
        ax2.plot(mt, np.clip(mv / scale, 0, 1.2), lw=1.0, color="#555555", alpha=0.8,
                 label="facial motion (norm.)")
    ax2.set_ylim(0, 1.25)
    ax2.set_ylabel("AU / motion")
    ar = [(r.window.center, r.arousal) for r in recs if r.arousal is not None]
    if ar:
        at, av = zip(*ar)
        ax3.plot(at, av, "-o", ms=3, color="#c2185b", label="voice arousal")
        ax3.set_ylim(0, 1.02)
    else:
        ax3.plot(tc, [r.motion for r in recs], "-", color="#555555", lw=1.2, label="window motion (px)")
        ax3.text(0.01, 0.85, "no speech: voice arousal unavailable", transform=ax3.transAxes, fontsize=8,
                 color="#777777")
    ax3.set_ylabel("voice / motion")
    ax3.set_xlabel("time (s)")
    for ax in (ax1, ax2, ax3):
        for i, (s, e) in enumerate(candidates):
            ax.axvspan(s, e, color="#888888", alpha=0.12, lw=0, label="candidate" if (ax is ax1 and i == 0) else None)
        for m in others:
            if moment is None or m.rank != moment.rank:
                ax.axvspan(m.window.start, m.window.end, color="#f4c542", alpha=0.15, lw=0)
        if moment is not None:
            ax.axvspan(moment.window.start, moment.window.end, color="#f4a300", alpha=0.28, lw=0,
                       label=f"moment {moment.rank}" if ax is ax1 else None)
        ax.set_xlim(0, dur)
        ax.grid(alpha=0.25)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    title = "Affect timeline"
    if moment is not None:
        title += f" — moment {moment.rank}: {moment.label} {moment.window.label()}"
    ax1.set_title(title, fontsize=10)
    return fig


# ---------------------------------------------------------------- frames

def decode_at(path: str | Path, times: Sequence[float], max_side: int = 640, fps: float = 8.0) -> dict[float, np.ndarray]:
    """Decode the frames nearest to `times` (one streaming pass over their span)."""
    from tools.index.decode import iter_frames
    want = sorted(set(float(t) for t in times))
    if not want:
        return {}
    best: dict[float, tuple[float, np.ndarray]] = {}
    with closing(iter_frames(path, fps=fps, max_side=max_side, start=max(0.0, want[0] - 0.05),
                             end=want[-1] + 0.3)) as it:
        for t, rgb in it:
            for w in want:
                d = abs(t - w)
                if w not in best or d < best[w][0]:
                    best[w] = (d, rgb)
    return {w: v[1] for w, v in best.items()}


def _face_frames(index: VideoIndex, window: TimeWindow) -> list[FaceFrame]:
    return [f for f in index.frames_in(window) if f.box is not None and f.n_faces > 0]


def _pick(frames: list[FaceFrame], n: int) -> list[FaceFrame]:
    if len(frames) <= n:
        return frames
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return [frames[i] for i in idx]


def _au_bars(crop: np.ndarray, aus: dict[str, float], k: int = 5) -> np.ndarray:
    """Crop with a panel of the k strongest AUs as horizontal bars below it."""
    size = crop.shape[1]
    top = sorted(((a, v) for a, v in aus.items() if a in AU_NAMES), key=lambda x: -x[1])[:k]
    row = 18
    panel = np.full((row * max(1, len(top)) + 6, size, 3), 250, np.uint8)
    for i, (a, v) in enumerate(top):
        y = 4 + i * row
        w = int((size - 112) * float(np.clip(v, 0, 1)))
        cv2.rectangle(panel, (66, y + 3), (66 + max(1, w), y + row - 4), (230, 150, 20), -1)
        cv2.putText(panel, a, (4, y + row - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (40, 40, 40), 1, cv2.LINE_AA)
        cv2.putText(panel, f"{v:.2f}", (size - 40, y + row - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (40, 40, 40), 1,
                    cv2.LINE_AA)
    return np.vstack([crop, panel])


def face_crops(index: VideoIndex, window: TimeWindow, n: int = 4, size: int = 192,
               video: str | Path | None = None) -> list[tuple[np.ndarray, str]]:
    """Zoomed main-face crops at up to `n` sampled frames in the window, each with its AU bars, and a
    caption (time, top expression, AU12/AU4). Empty when no face was indexed in the window."""
    from tools.perception.face import zoom
    frames = [f for f in _face_frames(index, window) if not f.occluded] or _face_frames(index, window)
    picked = _pick(frames, n)
    if not picked:
        return []
    imgs = decode_at(video or index.meta.path, [f.t for f in picked], max_side=index.config.max_side)
    out = []
    for f in picked:
        rgb = imgs.get(float(f.t))
        if rgb is None:
            continue
        crop, _ = zoom(rgb, f.box, "face", size=size)
        if crop.shape[0] != crop.shape[1]:  # face at the frame edge: pad to a square
            pad = np.full((size, size, 3), 0, np.uint8)
            pad[: crop.shape[0], : crop.shape[1]] = crop[:size, :size]
            crop = pad
        top = max(f.expression, key=f.expression.get) if f.expression else None
        cap = f"{fmt_time(f.t)}"
        if top:
            cap += f" · {top} {f.expression[top]:.2f}"
        cap += f" · AU12 {f.aus.get('AU12', 0):.2f} · AU4 {f.aus.get('AU4', 0):.2f}"
        if f.occluded:
            cap += " · occluded"
        out.append((_au_bars(np.ascontiguousarray(crop), f.aus), cap))
    return out


# ---------------------------------------------------------------- optical flow

def _match_face(faces, box_frac: Sequence[float], w: int, h: int):
    from tools.perception.face import iou
    x, y, bw, bh = box_frac
    ref = (x * w, y * h, (x + bw) * w, (y + bh) * h)
    return max(faces, key=lambda f: iou(f.box, ref)) if faces else None


def flow_panel(index: VideoIndex, window: TimeWindow, size: int = 192,
               video: str | Path | None = None) -> tuple[np.ndarray | None, list[str], str]:
    """Facial optical flow between the two consecutive sampled frames with the most facial motion in the
    window. Returns (RGB image [aligned face t0 | aligned face t1 | flow colour wheel with region boxes],
    size x 3*size; per-region lines; caption). Image None when no face pair exists."""
    from tools.perception.face import FaceAnalyzer
    from tools.perception.flow import FlowAnalyzer, flow_image, region_masks
    frames = _face_frames(index, window)
    pairs = [(a, b) for a, b in zip(frames, frames[1:]) if 0 < b.t - a.t < 1.0]
    if not pairs:
        return None, [], "no pair of face frames in this moment"
    a, b = max(pairs, key=lambda p: float(np.mean(list(p[1].motion.values()))) if p[1].motion else 0.0)
    imgs = decode_at(video or index.meta.path, [a.t, b.t], max_side=index.config.max_side)
    if a.t not in imgs or b.t not in imgs:
        return None, [], "could not decode the frames"
    rgb0, rgb1 = imgs[a.t], imgs[b.t]
    with FaceAnalyzer(max_faces=4, expression=False) as fa:
        f0 = _match_face(fa.find_faces(rgb0, zoom=True), a.box, rgb0.shape[1], rgb0.shape[0])
        f1 = _match_face(fa.find_faces(rgb1, zoom=True), b.box, rgb1.shape[1], rgb1.shape[0])
    if f0 is None or f1 is None:
        return None, [], "face not found again in the decoded frames"
    fl = FlowAnalyzer(size)
    result, res = fl.analyze(rgb0, rgb1, f0.landmarks, f1.landmarks, t0=a.t, t1=b.t, return_flow=True)
    g0, g1, q = fl.aligned_pair(rgb0, rgb1, f0.landmarks, f1.landmarks)
    vis = flow_image(res)
    for name, m in region_masks(q, size).items():
        ys, xs = np.nonzero(m)
        if not len(xs):
            continue
        rm = result.regions.get(name)
        cv2.rectangle(vis, (int(xs.min()), int(ys.min())), (int(xs.max()), int(ys.max())), (255, 255, 255), 1)
        if rm is not None:
            cx, cy = int(xs.mean()), int(ys.mean())
            tip = (int(cx + np.clip(rm.dx * 12, -size / 5, size / 5)), int(cy + np.clip(rm.dy * 12, -size / 5, size / 5)))
            cv2.arrowedLine(vis, (cx, cy), tip, (255, 255, 255), 1, cv2.LINE_AA, tipLength=0.3)
    panel = np.hstack([cv2.cvtColor(g0, cv2.COLOR_GRAY2RGB), cv2.cvtColor(g1, cv2.COLOR_GRAY2RGB), vis])
    for i, lab in enumerate((fmt_time(a.t), fmt_time(b.t), "flow")):
        cv2.putText(panel, lab, (i * size + 4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 0), 1, cv2.LINE_AA)
    cap = (f"Facial flow {fmt_time(a.t)} → {fmt_time(b.t)} (head motion removed; hue = direction, "
           f"brightness = magnitude; arrows = mean region motion)")
    return panel, result.lines, cap


# ---------------------------------------------------------------- words and citations

def transcript_rows(index: VideoIndex, window: TimeWindow) -> list[list]:
    """[start, end, word] for every ASR word whose centre lies in the window (segments without word
    times contribute their whole text)."""
    rows = []
    for s in index.speech.segments:
        if s.words:
            for w in s.words:
                if window.start <= 0.5 * (w.start + w.end) < window.end:
                    rows.append([fmt_time(w.start), fmt_time(w.end), w.text.strip()])
        elif s.text.strip() and min(s.end, window.end) > max(s.start, window.start):
            rows.append([fmt_time(s.start), fmt_time(s.end), s.text.strip()])
    return rows


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", (text or "").strip()) if s]


def citation_rows(answer: Answer, moment: Moment) -> list[list]:
    """One row per (rationale sentence, cited evidence item): [#, sentence, id, tool, modality, window, text].
    Items the moment lists but no sentence cites follow with sentence '(listed, not cited)'."""
    ev = answer.evidence_by_id()
    rows, seen = [], set()
    for i, sent in enumerate(split_sentences(moment.rationale), 1):
        ids = [x for x in _CITE.findall(sent)]
        for eid in ids:
            e = ev.get(eid)
            seen.add(eid)
            rows.append([i, re.sub(r"\s*\[[A-Za-z0-9_.:-]+\]", "", sent).strip(), eid, e.tool if e else "?", e.modality if e else "?",
                         e.window.label() if e else "", e.text if e else "(unknown evidence id)"])
    for eid in moment.evidence_ids:
        if eid not in seen and eid in ev:
            e = ev[eid]
            rows.append(["–", "(listed, not cited)", eid, e.tool, e.modality, e.window.label(), e.text])
    return rows


# ---------------------------------------------------------------- clip

def trim_clip(src: str | Path, window: TimeWindow, out: str | Path, pad: float = 1.0, max_len: float = 90.0,
              max_side: int = 640) -> Path:
    """Re-encode [start-pad, end+pad] of `src` as a browser-playable H.264/AAC MP4 at `out`."""
    import av
    out = Path(out)
    if out.exists() and out.stat().st_size > 0:
        return out
    start = max(0.0, window.start - pad)
    end = min(start + max_len, window.end + pad)
    tmp = out.with_suffix(".part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as dst:
        vin = inp.streams.video[0] if inp.streams.video else None
        ain = inp.streams.audio[0] if inp.streams.audio else None
        if vin is None:
            raise ValueError("no video stream")
        w, h = vin.codec_context.width, vin.codec_context.height
        s = min(1.0, max_side / max(w, h))
        ow, oh = max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)
        rate = vin.average_rate or 25
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = ow, oh, "yuv420p"
        vout.options = {"preset": "veryfast", "crf": "26", "movflags": "+faststart"}
        aout = resampler = None
        if ain is not None:
            aout = dst.add_stream("aac", rate=44100)
            aout.layout = "stereo"
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
        inp.seek(int(start / vin.time_base), stream=vin, backward=True)
        n = 0
        for frame in inp.decode(vin):
            if frame.pts is None:
                continue
            t = float(frame.pts * vin.time_base)
            if t < start:
                continue
            if t >= end:
                break
            img = frame.reformat(width=ow, height=oh, format="yuv420p")
            img.pts = n
            img.time_base = 1 / rate
            n += 1
            for p in vout.encode(img):
                dst.mux(p)
        for p in vout.encode(None):
            dst.mux(p)
        if ain is not None:
            inp.seek(int(start / ain.time_base), stream=ain, backward=True) if ain.time_base else inp.seek(0)
            samples = 0
            for frame in inp.decode(ain):
                if frame.pts is None:
                    continue
                t = float(frame.pts * ain.time_base)
                if t + frame.samples / frame.sample_rate < start:
                    continue
                if t >= end:
                    break
                for rf in resampler.resample(frame):
                    rf.pts = samples
                    samples += rf.samples
                    for p in aout.encode(rf):
                        dst.mux(p)
            for p in aout.encode(None):
                dst.mux(p)
    tmp.replace(out)
    return out


# ---------------------------------------------------------------- export

def moment_record(answer: Answer, moment: Moment, index: VideoIndex | None = None) -> dict:
    d = {"rank": moment.rank, "window": {"start": moment.window.start, "end": moment.window.end,
                                         "label": moment.window.label()},
         "emotion": moment.label, "confidence": moment.confidence, "verified": moment.verified,
         "rationale": moment.rationale,
         "citations": [dict(zip(["sentence_no", "sentence", "id", "tool", "modality", "window", "text"], r))
                       for r in citation_rows(answer, moment)]}
    if index is not None:
        d["transcript"] = [dict(zip(["start", "end", "word"], r)) for r in transcript_rows(index, moment.window)]
    return d


def export_json(answer: Answer, path: str | Path, index: VideoIndex | None = None,
                events: Sequence[dict] = ()) -> Path:
    """The full Answer (moments, evidence, flags, stats) plus per-moment citations and transcript."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"affectlens_export": 1, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "query": answer.query, "video": {"name": Path(answer.video.path).name, "content_key": answer.video.content_key,
                                            "duration": answer.video.duration},
           "moments": [moment_record(answer, m, index) for m in answer.moments],
           "answer": answer.model_dump(mode="json"), "trace": list(events)}
    doc["answer"]["video"]["path"] = Path(answer.video.path).name  # no server paths in downloads
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str))
    return path


def _md_cell(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def markdown_report(answer: Answer, index: VideoIndex | None = None) -> str:
    v = answer.video
    lines = [f"# affectlens report", "", f"**Question:** {answer.query}  ",
             f"**Video:** {Path(v.path).name} ({hms(v.duration)}, {v.width}×{v.height})  ",
             f"**Generated:** {time.strftime('%Y-%m-%d %H:%M')}", ""]
    if not answer.moments:
        lines += ["No moment found.", ""]
    for m in answer.moments:
        lines += [f"## {m.rank}. {hms(m.window.start)}–{hms(m.window.end)} — {m.label} "
                  f"(confidence {m.confidence:.2f}{'' if m.verified else ', unverified'})", "", m.rationale, ""]
        rows = citation_rows(answer, m)
        if rows:
            lines += ["| # | claim | evidence | tool | window | observation |", "|---|---|---|---|---|---|"]
            lines += [f"| {r[0]} | {_md_cell(r[1])} | {r[2]} | {r[3]} | {r[5]} | {_md_cell(r[6])} |" for r in rows]
            lines.append("")
        if index is not None:
            words = transcript_rows(index, m.window)
            lines += ["**Transcript:** " + (" ".join(w[2] for w in words) if words else "_(no speech)_"), ""]
    if answer.flags:
        lines += ["---", "Flags: " + ", ".join(f"`{f}`" for f in answer.flags), ""]
    if answer.stats:
        lines += ["Stats: " + ", ".join(f"{k} {v:g}" for k, v in answer.stats.items()), ""]
    return "\n".join(lines)


def export_markdown(answer: Answer, path: str | Path, index: VideoIndex | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown_report(answer, index))
    return path
