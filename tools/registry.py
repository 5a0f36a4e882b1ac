"""The typed tool registry (Maestro's idea, done once): every verification tool is declared here with its
name, purpose, modality, cost and input/output models. Prompts, the policy and the dispatcher all read
this table; no tool name appears in hand-written prompt text.

Tools read the video's index (computed once) and, for active perception (`zoom`), the video itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.backends import tool_models
from tools.labels import EMOTION_TO_EXPRESSION, HIGH_AROUSAL
from tools.schemas import Evidence, FaceFrame, TimeWindow


class ToolCall(BaseModel):
    """Input every verification tool takes."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    window: TimeWindow
    evidence_id: str


class ToolDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    window: TimeWindow
    run: bool
    value: float
    cost: float
    reason: str


@dataclass
class ToolContext:
    """What a tool reads: the video's index and the settings (graphs.state.Context carries the same two)."""

    index: object
    settings: object


@dataclass(frozen=True)
class ToolSpec:
    name: str
    purpose: str
    modality: str
    cost: float
    needs: str  # "face" | "speech" | "video" | "any" (face or speech)
    fn: Callable[..., Evidence]
    input_model: type[BaseModel] = ToolCall
    output_model: type[BaseModel] = Evidence

    def describe(self) -> str:
        return f"- {self.name} ({self.modality}, cost {self.cost:g}): {self.purpose}"


# ---------------------------------------------------------------- tool functions (ctx: a ToolContext or graphs.state.Context)

def _frames(ctx, w: TimeWindow) -> list[FaceFrame]:
    return ctx.index.frames_in(w)


def tool_expression(ctx, w: TimeWindow, eid: str) -> Evidence:
    from tools.perception.expression import expression_evidence
    return expression_evidence(_frames(ctx, w), w, eid)


def tool_aus(ctx, w: TimeWindow, eid: str) -> Evidence:
    from tools.perception.aus import aus_evidence
    return aus_evidence(_frames(ctx, w), w, eid)


def tool_motion(ctx, w: TimeWindow, eid: str) -> Evidence:
    """Per-region facial flow (head motion removed) measured at indexing time between sampled frames."""
    frames = [f for f in _frames(ctx, w) if f.motion]
    if not frames:
        return Evidence(id=eid, tool="motion", modality="motion", window=w, values={"n_pairs": 0},
                        text=f"No facial motion measured in {w.label()} (no consecutive face frames).")
    names = sorted({k for f in frames for k in f.motion})
    means = {n: float(np.mean([f.motion.get(n, 0.0) for f in frames])) for n in names}
    values: dict = {f"{n}_mean": round(v, 4) for n, v in means.items()}
    values.update({f"{n}_max": round(max(f.motion.get(n, 0.0) for f in frames), 4) for n in names})
    values["n_pairs"] = len(frames)
    top = sorted(means.items(), key=lambda kv: -kv[1])[:2]
    text = (f"Facial micro-motion over {len(frames)} frame pairs in {w.label()} (head motion removed): strongest in "
            + " and ".join(f"{n} ({v:.2f} px)" for n, v in top) + ".")
    return Evidence(id=eid, tool="motion", modality="motion", window=w, values=values, text=text,
                    times=[f.t for f in frames])


def voice_segments(ctx, w: TimeWindow) -> list:
    """The index's voiced segments that overlap the window."""
    return [v for v in ctx.index.speech.voice if w.overlaps(v)]


def telling_voice(segs: list):
    """The segment whose arousal departs most from the speaker's baseline, either way (a flat, low voice
    tells as much as a raised one); segments without a score last. The voice and emotion tools read the
    same one, so the voice evidence shows the segment the fused reading used. (The index's window record
    keeps the highest arousal instead: there it ranks excited moments for retrieval.)"""
    return max(segs, key=lambda v: abs(v.arousal) if v.arousal is not None else -1.0, default=None)


def tool_voice(ctx, w: TimeWindow, eid: str) -> Evidence:
    from tools.perception.prosody import ArousalScore, VoiceFeatures, voice_evidence
    segs = voice_segments(ctx, w)
    if not segs:
        return Evidence(id=eid, tool="prosody.voice", modality="voice", window=w, values={"speech_s": 0.0},
                        text=f"No speech in {w.label()}.")
    best = telling_voice(segs)
    fields = set(VoiceFeatures.model_fields)
    feats = VoiceFeatures(start=best.start, end=best.end, **{k: v for k, v in best.features.items() if k in fields})
    score = None if best.arousal is None else ArousalScore(score=best.arousal, pitch_st=best.pitch_st,
                                                           loudness_db=best.loudness_db)
    ev = voice_evidence(feats, score, w, eid)
    if best.emotion:  # a speech-emotion model ran at indexing time (tools/backends.py, skill "ser")
        top = sorted(best.emotion.items(), key=lambda kv: -kv[1])[:3]
        model = ctx.index.config.backends.get("ser", "speech-emotion model").split(":")[0]
        ev = ev.model_copy(update={
            "values": {**ev.values, **{f"ser_{k}": v for k, v in best.emotion.items()}},
            "text": ev.text + f"; {model}: " + ", ".join(f"{k} {v:.2f}" for k, v in top)})
    return ev


def tool_transcript(ctx, w: TimeWindow, eid: str) -> Evidence:
    from tools.perception.speech import transcript_evidence
    return transcript_evidence(ctx.index.speech.segments, w, eid, turns=ctx.index.speech.turns)


def tool_emotion(ctx, w: TimeWindow, eid: str) -> Evidence:
    """Fused emotion (tools/perception/emotion.py): expression model + FACS rules on AU deltas from the
    person's neutral + facial motion direction + voice arousal + words → probabilities over the 13 labels."""
    from tools.perception.emotion import emotion_evidence, read_emotion, words_to_read
    idx = ctx.index
    segs = voice_segments(ctx, w)
    told = telling_voice(segs)
    base = idx.baseline("main") if hasattr(idx, "baseline") else None
    r = read_emotion(_frames(ctx, w), w, base, arousal=told.arousal if told is not None else None,
                     transcript=words_to_read(idx.speech, w),
                     ser=[v.emotion for v in segs if getattr(v, "emotion", None)])
    return emotion_evidence(r, eid)


def person_box(faces, track: list[tuple[float, tuple]], t: float, width: int, height: int,
               max_dt: float = 1.0, min_iou: float = 0.1) -> tuple[float, float, float, float] | None:
    """Among this frame's faces (pixel boxes), the one that is the tracked person: the best overlap with
    the person's box stored at the nearest indexed time (within `max_dt`). (x, y, w, h) fractions, or None."""
    from tools.perception.face import iou
    near = min(track, key=lambda tb: abs(tb[0] - t), default=None)
    if near is None or abs(near[0] - t) > max_dt:
        return None
    x, y, bw, bh = near[1]
    ref = (x * width, y * height, (x + bw) * width, (y + bh) * height)
    best = max(faces, key=lambda f: iou(f.box, ref), default=None)
    if best is None or iou(best.box, ref) < min_iou:
        return None
    b = best.to_box(width, height)
    return (b.x, b.y, b.w, b.h)


def tool_zoom(ctx, w: TimeWindow, eid: str) -> Evidence:
    """Active perception: re-decode the window densely, zoom on the face and re-read AUs/expression. The
    face is the main one, or, on one person's view of the index (a question about one person,
    e.g. the one on the left), that person's: in each frame, the face overlapping most the box the index stored for them."""
    from tools.index.decode import iter_frames
    from tools.perception.aus import summarize_aus
    from tools.perception.expression import mean_expression
    from tools.perception.face import FaceAnalyzer, zoom

    person = getattr(ctx.index, "person", None)
    track = [(f.t, f.box) for f in ctx.index.frames_in(w) if f.box is not None] if person is not None else []
    frames: list[FaceFrame] = []
    crops_seen = 0
    # the crops get their own analyzer: fed through the full frames' tracker, their boxes (crop coordinates)
    # mixed track ids, and with them the per-track neutral baselines, with the full frames'
    with FaceAnalyzer(max_faces=ctx.settings.max_faces) as fa, FaceAnalyzer(max_faces=1) as fz:
        for t, rgb in iter_frames(ctx.index.meta.path, fps=8.0, max_side=1280, start=w.start, end=w.end):
            base = fa.analyze(t, rgb)
            h, wd = rgb.shape[:2]
            if person is not None:  # the main face's readings are not this person's: keep only the box
                box = person_box(fa.last_faces, track, t, wd, h)
                base = FaceFrame(t=t, n_faces=base.n_faces, box=box)
            if base.box is None:
                frames.append(base)
                continue
            crop, _ = zoom(rgb, base.box, "face", size=256, fractional=True)
            crops_seen += 1
            z = fz.analyze(t, crop)
            frames.append(z if z.n_faces else base)
    s = summarize_aus(frames, w)
    expr = mean_expression(frames)
    top = max(expr, key=expr.get) if expr else None
    strong = [(a, v) for a, v in s.top(3, by="max") if v >= 0.3]
    values: dict = {f"{a}_max": v for a, v in s.max.items()}
    values.update(n_frames=len(frames), n_zoomed=crops_seen, n_occluded=s.n_occluded)
    if expr:
        values.update({f"p_{k}": v for k, v in expr.items()})
    if not crops_seen:
        text = f"Zoomed re-read of {w.label()} found no face."
    else:
        au_txt = ", ".join(f"{a} peak {v:.2f}" for a, v in strong) or "no strong Action Units"
        text = (f"Zoomed face re-read at 8 fps over {crops_seen} frames in {w.label()}: {au_txt}"
                + (f"; expression mostly {top} ({expr[top]:.2f})" if top else "") + ".")
    return Evidence(id=eid, tool="zoom", modality="face", window=w, values=values, text=text,
                    times=[f.t for f in frames])


REGISTRY: dict[str, ToolSpec] = {t.name: t for t in [
    ToolSpec("emotion", "fused emotion over the 13 labels: expression, Action Units vs the person's neutral face, "
             "facial motion, voice arousal and words, with the cues that fired", "face", 1.0, "any", tool_emotion),
    ToolSpec("expression", "7-class facial expression probabilities averaged over the face frames",
             "face", 1.0, "face", tool_expression),
    ToolSpec("aus", "facial Action Unit intensities, peaks and onset/apex/offset events",
             "face", 1.0, "face", tool_aus),
    ToolSpec("motion", "optical-flow micro-motion per facial region (brows, eyes, mouth...)",
             "motion", 1.0, "face", tool_motion),
    ToolSpec("voice", "prosody: pitch, loudness, rate vs the speaker's baseline -> vocal arousal",
             "voice", 1.0, "speech", tool_voice),
    ToolSpec("transcript", "the words spoken in the window, with times",
             "words", 0.5, "speech", tool_transcript),
    ToolSpec("zoom", "active zoom: re-decode densely, crop the face, re-read AUs and expression",
             "face", 4.0, "face", tool_zoom),
]}


def tools_text(models: Mapping[str, str] | None = None) -> str:
    """One line per registry tool, for the LLM prompts. With `models` (an index config's backends,
    tools/backends.index_backends) each line names the models behind the tool: "[face: mediapipe-...]"."""
    lines = []
    for spec in REGISTRY.values():
        used = tool_models(dict(models or {}), spec.name)
        lines.append(spec.describe() + (f" [models: {', '.join(f'{k} {v}' for k, v in used.items())}]" if used else ""))
    return "\n".join(lines)


SMALL_FACE = 0.15  # face height as a share of the frame height below which the zoom re-read is worth its cost
AMBIGUOUS = 0.45   # top expression probability below which the reading is ambiguous


def plan_tools(window: TimeWindow, face_ratio: float, has_speech: bool, modalities: list[str],
               budget: float, already: set[str] = frozenset(), ambiguous: bool = False,
               face_height: float | None = None, zoom_off: str = "") -> list[ToolDecision]:
    """Choose tools by expected value per cost against the remaining budget; every decision is logged.

    The active zoom is decided first: it runs when the face is small (< SMALL_FACE of the frame height) or
    the expression reading is ambiguous, and then it is paid for before the cheap face tools (it re-reads
    expression and AUs itself); otherwise it is skipped with the reason. The trace says which. It is also
    skipped for a question about the voice or the words alone, and when the caller says why (`zoom_off`)."""
    out = []
    small = face_height is not None and face_height < SMALL_FACE
    if bool(modalities) and "face" not in modalities:  # "when does his voice sound furious?"
        zoom_off = "the question is about the voice or the words"
    zoom_why = (f"small face ({face_height:.0%} of frame height)" if small else "") + \
        (" and " if small and ambiguous else "") + ("ambiguous expression reading" if ambiguous else "")
    for spec in REGISTRY.values():
        if spec.name in already:
            out.append(ToolDecision(tool=spec.name, window=window, run=False, value=0, cost=spec.cost,
                                    reason="evidence already gathered"))
            continue
        avail = (face_ratio if spec.needs == "face" else 1.0 if spec.needs == "any" and face_ratio > 0
                 else 1.0 if has_speech else 0.0)
        value = avail * (1.5 if spec.modality in modalities else 1.0)
        if spec.name == "emotion":  # the fused reading the label rests on (tools/perception/emotion.py): first
            value *= 1.2
        if spec.name == "zoom":
            # a small face is often missed at index time: the dense zoomed re-read is how it is seen at all;
            # a question about the voice or the words alone does not pay for it (1-3 s a round on 2 cores)
            value = max(value, 0.5) * 10.0 if (small or ambiguous) and not zoom_off else 0.0
        if spec.name == "transcript" and not has_speech:
            value = 0.0
        out.append(ToolDecision(tool=spec.name, window=window, run=False, value=round(value, 3),
                                cost=spec.cost, reason=""))
    spent = 0.0
    for d in sorted((d for d in out if d.reason == ""), key=lambda d: -d.value / d.cost):
        if d.tool == "zoom" and d.value == 0.0 and zoom_off:
            d.reason = f"not needed: {zoom_off}"
        elif d.tool == "zoom" and d.value == 0.0:
            d.reason = ("not needed: face large enough" + (f" ({face_height:.0%} of frame height)"
                                                            if face_height is not None else " (no face size known)")
                        + " and expression reading clear")
        elif d.value < 0.15:
            d.reason = "no signal for this modality in the window"
        elif spent + d.cost > budget:
            d.reason = "over budget"
        else:
            d.run, d.reason = True, f"value/cost {d.value / d.cost:.2f}" + (f"; {zoom_why}" if d.tool == "zoom" else "")
            spent += d.cost
    return out


def run_tool(ctx, name: str, window: TimeWindow, eid: str) -> tuple[Evidence | None, str | None, float]:
    """Dispatch one call. Returns (evidence, error, seconds); a failing tool never raises."""
    spec = REGISTRY[name]
    call = ToolCall(tool=name, window=window, evidence_id=eid)
    t0 = time.monotonic()
    try:
        ev = spec.fn(ctx, call.window, call.evidence_id)
        return spec.output_model.model_validate(ev), None, time.monotonic() - t0
    except Exception as e:  # a broken tool becomes a logged, typed failure, not a crash
        return None, f"{name}: {e.__class__.__name__}: {str(e)[:160]}", time.monotonic() - t0


def support(ev: list[Evidence], label: str) -> float:
    """How strongly the gathered evidence supports `label`, in [0, 1]. The `emotion` tool's fused
    probability decides when it ran (for a non-basic label, with its parent basic label: the face cannot
    tell Pride from Joy). Without it: the expression probability or zoomed re-read; the AU12 smile proxy
    only without an expression reading, since crying stretches the mouth too; else the voice's arousal."""
    from tools.perception.emotion import family, kin
    fused = [e for e in ev if e.tool == "emotion" and isinstance(e.values.get(f"p_{label}"), (int, float))]
    if fused:
        return float(np.clip(max(sum(float(e.values.get(f"p_{lab}", 0.0)) for lab in kin(label)) for e in fused), 0, 1))
    cls = EMOTION_TO_EXPRESSION.get(label)
    face, smile, voice = [], [], []
    for e in ev:
        if e.tool == "expression" and cls and isinstance(e.values.get(cls), (int, float)):
            face.append(float(e.values[cls]))
        if e.tool == "zoom" and cls and isinstance(e.values.get(f"p_{cls}"), (int, float)):
            face.append(float(e.values[f"p_{cls}"]))
        if e.tool == "aus" and family(label) == "Joy":
            v = e.values.get("AU12_mean")
            if isinstance(v, (int, float)):
                smile.append(min(1.0, float(v)))
        if e.tool == "prosody.voice" and isinstance(e.values.get("arousal"), (int, float)):
            a = float(e.values["arousal"])
            hi = label in HIGH_AROUSAL
            voice.append(float(np.clip(0.5 + (a if hi else -a) / 2, 0, 1)) * 0.7)
    best = max(face) if face else max(smile) * 0.8 if smile else max(voice) if voice else 0.0
    return float(np.clip(best, 0, 1))
