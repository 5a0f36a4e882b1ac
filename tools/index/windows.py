"""Windows: cut the video into windows of about `window_s` snapped to speech ends and shot changes,
and summarise each window's frames and speech into a `WindowRecord`. Also the per-video inputs the cuts
and the sampler need (shot changes, loud stretches), computed once per index folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tools.index.speech_pass import audio_chunks
from tools.index.store import SpeechTrack, atomic_write
from tools.perception.scene import mean_scene
from tools.perception.speech import ASR_MIN_WORD_PROB
from tools.schemas import FaceFrame, TimeWindow, VideoMeta, WindowRecord


def summarise_window(index: int, window: TimeWindow, frames: list[FaceFrame], speech: SpeechTrack) -> WindowRecord:
    faces = [f for f in frames if f.n_faces > 0 and f.aus and not f.occluded]
    au_mean: dict[str, float] = {}
    au_max: dict[str, float] = {}
    expr: dict[str, float] = {}
    if faces:
        for k in faces[0].aus:
            vals = [f.aus.get(k, 0.0) for f in faces]
            au_mean[k] = round(float(np.mean(vals)), 4)
            au_max[k] = round(float(np.max(vals)), 4)
        with_expr = [f for f in faces if f.expression]
        for k in (with_expr[0].expression if with_expr else {}):
            expr[k] = round(float(np.mean([f.expression.get(k, 0.0) for f in with_expr])), 4)
    motion_vals = [float(np.mean(list(f.motion.values()))) for f in frames if f.motion]
    ar = [v.arousal for v in speech.voice if v.arousal is not None and window.overlaps(v)]
    return WindowRecord(
        index=index, window=window, n_frames=len(frames), face_frames=sum(1 for f in frames if f.n_faces > 0),
        au_mean=au_mean, au_max=au_max, expression=expr,
        motion=round(float(np.mean(motion_vals)), 4) if motion_vals else 0.0,
        occluded_frames=sum(1 for f in frames if f.occluded),
        transcript=speech.text_in(window, min_prob=ASR_MIN_WORD_PROB),  # not English nonsense made of German
        arousal=round(float(max(ar)), 4) if ar else None,
        scene=mean_scene([f.scene for f in frames if f.scene]))


def windows_for(duration: float, window_s: float, cuts: list[float] | None = None) -> list[TimeWindow]:
    """Windows of about `window_s` seconds covering [0, duration]. Where cuts (speech segment
    boundaries, shot changes) fall within half a window of a boundary, the boundary snaps to the
    nearest cut, so that a sentence or a shot is not split across windows."""
    cuts = sorted(c for c in (cuts or []) if 0 < c < duration)
    bounds = [0.0]
    while duration - bounds[-1] > 1e-6:
        start = bounds[-1]
        target = start + window_s
        near = [c for c in cuts if start + 0.5 * window_s <= c <= start + 1.5 * window_s]
        end = min(near, key=lambda c: abs(c - target)) if near else target
        end = min(end, duration)
        if duration - end < 0.5 * window_s:  # fold a short tail into this window
            end = duration
        bounds.append(end)
    return [TimeWindow(start=round(a, 3), end=round(b, 3)) for a, b in zip(bounds, bounds[1:]) if b - a > 1e-3]


def speech_cuts(speech: SpeechTrack) -> list[float]:
    return [t for seg in speech.segments for t in (seg.start, seg.end)]


def loud_stretches(folder: Path, path, meta: VideoMeta) -> list[tuple[float, float]]:
    """Loud stretches of the soundtrack (tools.perception.prosody.loud_spans, over the whole recording), computed
    once per index folder before the frame pass: there the voice counts as aroused and frames are
    sampled at the full rate. Audio decoded in AUDIO_CHUNK_S chunks; a 0.5 s envelope is all it keeps."""
    f = folder / "loud.json"
    if f.exists():
        return [tuple(x) for x in json.loads(f.read_text())]
    from tools.perception.prosody import loud_spans, loudness_db
    levels = [loudness_db(a) for _, a in audio_chunks(str(path), meta.duration)] if meta.has_audio else []
    spans = loud_spans(np.concatenate(levels)) if levels else []
    atomic_write(f, json.dumps(spans))
    return spans


def shot_cuts(folder: Path, path, meta: VideoMeta) -> list[float]:
    """Shot-change times (keyframe histogram cuts), computed once per index folder."""
    f = folder / "shots.json"
    if f.exists():
        return json.loads(f.read_text())
    from tools.index.decode import shot_changes
    shots = shot_changes(path) if meta.has_video else []
    atomic_write(f, json.dumps(shots))
    return shots



def write_baseline(idx) -> None:
    """Store the main face's neutral baseline (baseline.json, keyed by track) and each window's AU deltas
    from it (deltas.jsonl: {"index", "au_delta"}) with the index."""
    from tools.perception.baseline import fit_baseline, window_deltas
    base = fit_baseline(idx.frames)
    atomic_write(idx.folder / "baseline.json", json.dumps({"main": base.model_dump()}))
    lines = [json.dumps({"index": r.index, "au_delta": window_deltas(idx.frames_in(r.window), base)})
             for r in idx.records]
    atomic_write(idx.folder / "deltas.jsonl", "".join(x + "\n" for x in lines))
