"""Evidence-panel rendering for one moment of an Answer, without any Gradio: the affect timeline
(matplotlib), face crops with AU bars, a facial-motion picture, transcript words and the citation table
(rationale sentence → evidence item).

Everything here renders what the index and the tools stored: window records, the sampled face frames
(box, AUs, expression, per-region flow magnitude and vertical flow measured at indexing time) and the
evidence items' own values and frame times. No face analyser or optical flow is run again; the only
work on the video is decoding the few frames that are shown and cropping them with the stored box.
The clip lives in `ui.clip`, export in `ui.export`. For a question about one person, draw the panels from
`person_index(index, asked_person(events))`: crops, AU bars, motion and curves then come from that
person's own track, never from another face in the picture.

Over 350 lines on purpose: the panel's five renderings read the same stored frames and windows, and their
shared helpers (the frame decode, the window's records) would otherwise be imported back and forth.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import cv2
import numpy as np
from matplotlib.figure import Figure

from agents.schemas import Answer, Moment
from tools.index import VideoIndex
from tools.confidence import band_word
from tools.labels import AU_NAMES, au_label
from tools.schemas import Evidence, FaceFrame, TimeWindow, hms

# Expression classes drawn on the timeline and the strip, with fixed colours so plots are comparable.
EXPR_COLORS = {"happy": "#e6a700", "sad": "#3b6fd1", "angry": "#d1343b", "surprise": "#a05cd6",
               "fear": "#2a9d8f", "disgust": "#6b8e23", "neutral": "#9a9a9a"}
_CITE = re.compile(r"\[([A-Za-z0-9_.:-]+)\]")
_LEAD_CITES = re.compile(r"^((?:\[[A-Za-z0-9_.:-]+\]\s*)+)")
_LABEL = re.compile(r"(\d+):(\d\d):(\d\d)\s*[–-]\s*(\d+):(\d\d):(\d\d)")


def fmt_time(t: float) -> str:
    """HH:MM:SS.s (sub-second precision for frame times)."""
    return f"{hms(math.floor(t))}.{int(round((t - math.floor(t)) * 10)) % 10}"


# A confidence a person reads: the same words as the answer's sentences (bands chosen leave-one-person-out)
confidence_words = band_word


def moment_title(m: Moment) -> str:
    flag = "" if m.verified else ", not confirmed"
    return f"{m.rank}. {hms(m.window.start)}–{hms(m.window.end)} · {m.label} ({confidence_words(m.confidence)}{flag})"


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


def asked_person(events: Sequence[dict]) -> int | None:
    """The person a turn asked about (the localise step's person, tools/who.py), or None (everyone)."""
    from tools.people import id_of_label
    for e in reversed(list(events)):
        if e.get("node") == "localise":
            return id_of_label(e.get("person"))
    return None


_VIEWS: dict[tuple[str, int], VideoIndex] = {}


def person_index(index: VideoIndex, pid: int | None) -> VideoIndex:
    """`index` as one person's view (tools.people.PersonIndex: their frames, boxes, AUs, expression and
    window records only), so every panel below shows the asked person's face; `index` itself for None.
    The last view is kept (a moment's panels are drawn one after another)."""
    if pid is None or getattr(index, "person", None) == pid:
        return index
    from tools.people import PersonIndex
    key = (str(index.folder), pid)
    if key not in _VIEWS:
        _VIEWS.clear()
        _VIEWS[key] = PersonIndex(getattr(index, "base", index), pid)
    return _VIEWS[key]


CLIP_GROW = 2.5  # a person's clip shows this many face sizes around their face (head and shoulders), cut
                 # halfway to anyone else's face; checked by eye on the two_people dev video (both people)


def clip_frame(index: VideoIndex, window: TimeWindow, pad: float = 1.0) -> tuple[float, float, float, float] | None:
    """The part of the picture a one-person clip shows (x, y, w, h fractions): CLIP_GROW face sizes around
    where the person's face is during the clip, cut halfway between their face and any other person's;
    None for the whole video's index (no person asked), when the person is not seen then, or when the
    region is nearly the whole picture."""
    pid = getattr(index, "person", None)
    if pid is None:
        return None
    span = TimeWindow(start=max(0.0, window.start - pad), end=window.end + pad)
    frames = getattr(index, "base", index).frames_in(span)
    mine = [p.box for f in frames for p in f.people if p.person == pid]
    if not mine:
        return None
    W, H = max(1, index.meta.width), max(1, index.meta.height)
    cx = float(np.median([b[0] + b[2] / 2 for b in mine]))
    cy = float(np.median([b[1] + b[3] / 2 for b in mine]))
    side = CLIP_GROW * float(np.median([max(b[2] * W, b[3] * H) for b in mine]))
    x0, x1 = max(0.0, cx - side / 2 / W), min(1.0, cx + side / 2 / W)
    y0, y1 = max(0.0, cy - side / 2 / H), min(1.0, cy + side / 2 / H)
    left = float(np.median([b[0] for b in mine]))
    right = float(np.median([b[0] + b[2] for b in mine]))
    for f in frames:
        for p in f.people:
            if p.person == pid:
                continue
            if p.box[0] >= cx:      # someone to the right: stop halfway to their face
                x1 = min(x1, max(right, (right + p.box[0]) / 2))
            elif p.box[0] + p.box[2] <= cx:
                x0 = max(x0, min(left, (left + p.box[0] + p.box[2]) / 2))
    if (x1 - x0) * (y1 - y0) >= 0.9:
        return None  # nearly the whole picture: show the whole frame
    return (x0, y0, x1 - x0, y1 - y0)


def zoom_ran(answer: Answer, window: TimeWindow) -> Evidence | None:
    """The zoom tool's evidence for this window, when the agent ran it (crops are titled by this)."""
    return next((e for e in answer.evidence if e.tool == "zoom" and e.window.overlaps(window)), None)
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
    """Crop with a panel of the k strongest AUs as horizontal bars below it, each named
    ("AU12 lip corner puller")."""
    size = crop.shape[1]
    top = sorted(((a, v) for a, v in aus.items() if a in AU_NAMES), key=lambda x: -x[1])[:k]
    row = 30
    panel = np.full((row * max(1, len(top)) + 6, size, 3), 250, np.uint8)
    for i, (a, v) in enumerate(top):
        y = 4 + i * row
        cv2.putText(panel, au_label(a)[:30], (4, y + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (40, 40, 40), 1,
                    cv2.LINE_AA)
        w = int((size - 44) * float(np.clip(v, 0, 1)))
        cv2.rectangle(panel, (4, y + 15), (4 + max(1, w), y + row - 4), (230, 150, 20), -1)
        cv2.putText(panel, f"{v:.2f}", (size - 36, y + row - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (40, 40, 40), 1,
                    cv2.LINE_AA)
    if not top:
        cv2.putText(panel, "no AU reading (face occluded)", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                    (90, 90, 90), 1, cv2.LINE_AA)
    return np.vstack([crop, panel])


def face_crop(rgb: np.ndarray, box: Sequence[float], size: int) -> np.ndarray:
    """The stored face box (fractions of the frame) cropped square from a decoded frame."""
    from tools.perception.face import zoom  # pure cropping; no model runs
    crop, _ = zoom(rgb, box, "face", size=size)
    return crop


def _square(crop: np.ndarray, size: int) -> np.ndarray:
    if crop.shape[0] == size and crop.shape[1] == size:
        return np.ascontiguousarray(crop)
    pad = np.zeros((size, size, 3), np.uint8)  # face at the frame edge: pad to a square
    pad[: min(size, crop.shape[0]), : min(size, crop.shape[1])] = crop[:size, :size]
    return pad


def face_crops(index: VideoIndex, window: TimeWindow, n: int = 4, size: int = 192,
               video: str | Path | None = None) -> list[tuple[np.ndarray, str]]:
    """Main-face crops (the box stored in the index) at up to `n` sampled frames in the window, each with
    its stored AU bars, and a caption (time, top expression, the two strongest AUs with their names).
    Empty when no face was indexed in the window."""
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
        crop = _square(face_crop(rgb, f.box, size), size)
        top = max(f.expression, key=f.expression.get) if f.expression else None
        cap = f"{fmt_time(f.t)}"
        if top:
            cap += f" · looks {top} ({f.expression[top]:.2f})"
        strong = sorted(((a, v) for a, v in f.aus.items() if a in AU_NAMES), key=lambda x: -x[1])[:2]
        if strong:
            cap += " · " + ", ".join(f"{au_label(a)} {v:.2f}" for a, v in strong)
        if f.occluded:
            cap += " · face partly hidden"
        out.append((_au_bars(crop, f.aus), cap))
    return out


# ---------------------------------------------------------------- facial motion (stored values)

# Where each flow region sits on a schematic face (fractions of the panel), for the motion picture.
_REGION_XY = {"brows": (0.5, 0.20), "eyelids": (0.5, 0.31), "nose": (0.5, 0.43), "cheeks": (0.5, 0.55),
              "mouth_corners": (0.5, 0.67), "lips": (0.5, 0.79), "chin": (0.5, 0.91)}


def _motion_frames(index: VideoIndex, window: TimeWindow, evidence: Evidence | None) -> list[FaceFrame]:
    frames = [f for f in _face_frames(index, window) if f.motion]
    if evidence is not None and evidence.times:  # the frames the motion tool itself used
        times = {round(t, 3) for t in evidence.times}
        used = [f for f in frames if round(f.t, 3) in times]
        frames = used or frames
    return frames


def _motion_lines(frames: list[FaceFrame], evidence: Evidence | None) -> list[tuple[str, float, float]]:
    """(region, mean magnitude px, mean vertical px) per region, strongest first; magnitudes from the
    motion evidence's own values when there is one."""
    names = sorted({k for f in frames for k in f.motion})
    out = []
    for n in names:
        mag = None
        if evidence is not None and isinstance(evidence.values.get(f"{n}_mean"), (int, float)):
            mag = float(evidence.values[f"{n}_mean"])
        if mag is None:
            mag = float(np.mean([f.motion.get(n, 0.0) for f in frames]))
        dys = [f.motion_dy[n] for f in frames if n in f.motion_dy]
        out.append((n, mag, float(np.mean(dys)) if dys else 0.0))
    return sorted(out, key=lambda x: -x[1])


def flow_panel(index: VideoIndex, window: TimeWindow, size: int = 192, video: str | Path | None = None,
               evidence: Evidence | None = None) -> tuple[np.ndarray | None, list[str], str]:
    """Facial motion measured at indexing time (head motion removed), around the sampled frame with the
    most motion in the window. Returns (RGB image [face at t0 | face at t1 | region map: brightness =
    mean magnitude, arrow = mean vertical motion], size x 3*size; one line per region; caption).
    Image None when the index holds no face motion in the window."""
    frames = _motion_frames(index, window, evidence)
    if not frames:
        return None, [], "no facial motion was measured in this moment (no consecutive face frames)"
    b = max(frames, key=lambda f: float(np.mean(list(f.motion.values()))))
    before = [f for f in index.frames if f.t < b.t and f.box is not None]
    a = before[-1] if before else b
    imgs = decode_at(video or index.meta.path, sorted({a.t, b.t}), max_side=index.config.max_side)
    tiles = []
    for f in (a, b):
        rgb = imgs.get(float(f.t))
        tile = np.zeros((size, size, 3), np.uint8)
        if rgb is not None and f.box is not None:
            tile = _square(face_crop(rgb, f.box, size), size)
        cv2.putText(tile, fmt_time(f.t), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 0), 1, cv2.LINE_AA)
        tiles.append(tile)
    stats = _motion_lines(frames, evidence)
    top = max((m for _, m, _ in stats), default=1.0) or 1.0
    vis = np.full((size, size, 3), 24, np.uint8)
    cv2.ellipse(vis, (size // 2, int(size * 0.55)), (int(size * 0.36), int(size * 0.44)), 0, 0, 360, (90, 90, 90), 1)
    for name, mag, dy in stats:
        if name not in _REGION_XY:
            continue
        fx, fy = _REGION_XY[name]
        cx, cy = int(fx * size), int(fy * size)
        level = int(60 + 195 * min(1.0, mag / top))
        cv2.rectangle(vis, (cx - size // 5, cy - 6), (cx + size // 5, cy + 6), (level, level // 2, 20), -1)
        cv2.putText(vis, name.replace("_", " ")[:12], (cx - size // 5 + 2, cy + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tip = int(np.clip(dy / top * size * 0.12, -size * 0.12, size * 0.12))
        if abs(tip) >= 2:
            cv2.arrowedLine(vis, (cx + size // 4, cy), (cx + size // 4, cy + tip), (255, 255, 255), 1,
                            cv2.LINE_AA, tipLength=0.35)
    cv2.putText(vis, "motion", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 0), 1, cv2.LINE_AA)
    panel = np.hstack([tiles[0], tiles[1], vis])
    lines = [f"{n}: {m:.2f} px mean{'' if abs(dy) < 0.05 else ', moving ' + ('up' if dy < 0 else 'down')}"
             for n, m, dy in stats]
    src = f"motion evidence [{evidence.id}]" if evidence is not None else "the index"
    cap = (f"Facial motion from {src}: {len(frames)} frame pair(s) in {window.label()}, strongest at "
           f"{fmt_time(a.t)} → {fmt_time(b.t)} (head motion removed; brighter = more motion, arrow = up/down)")
    return panel, lines, cap


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
        elif s.text.strip() and window.overlaps(s):
            rows.append([fmt_time(s.start), fmt_time(s.end), s.text.strip()])
    return rows


def split_sentences(text: str) -> list[str]:
    """Sentences of a rationale; a citation marker written after the full stop ("… smiled. [E1] Then …")
    stays with the sentence it follows, not the next one."""
    parts = [s for s in re.split(r"(?<=[.!?])\s+", (text or "").strip()) if s]
    out: list[str] = []
    for p in parts:
        lead = _LEAD_CITES.match(p)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            p = p[lead.end():].strip()
        if p:
            out.append(p)
    return out


def citation_rows(answer: Answer, moment: Moment) -> list[list]:
    """One row per (rationale sentence, cited evidence item): [#, sentence, id, tool, modality, window, text].
    Items the moment lists but no sentence cites follow with sentence '(listed, not cited)'."""
    ev = answer.evidence_by_id()
    rows, seen = [], set()
    if moment.sentences:  # the composer's sentences (agents/compose.py) carry their evidence ids themselves
        for i, sent in enumerate(moment.sentences, 1):
            for eid in sent.evidence_ids:
                e = ev.get(eid)
                seen.add(eid)
                rows.append([i, sent.text, eid, e.tool if e else "?", e.modality if e else "?",
                             e.window.label() if e else "", e.text if e else "(unknown evidence id)"])
    for i, sent in enumerate([] if moment.sentences else split_sentences(moment.rationale), 1):
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


