"""Per-tool cost per video second on this machine (a benchmark script, not a test).

    .venv/bin/python scripts/bench_tools.py [VIDEO] [--fps 4]

Decodes the video once at --fps, then times each perception stage on the same frames (shared decode,
as the indexer does): face landmarks+blendshapes, AU estimation, expression, facial flow; and on the
audio: VAD, ASR (faster-whisper), prosody. Prints milliseconds per video second for each stage and the
total, i.e. the realtime factor each stage contributes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?", default=str(ROOT / "assets" / "sample_pexels.mp4"))
    ap.add_argument("--audio", default=str(ROOT.parent / "shared" / "media" / "speech" / "talk_sample1.mp3"))
    ap.add_argument("--fps", type=float, default=4.0)
    a = ap.parse_args()

    import cv2
    from tools.perception.aus import AUEstimator
    from tools.perception.expression import ExpressionClassifier
    from tools.perception.face import FaceAnalyzer, zoom
    from tools.perception.flow import FlowAnalyzer
    from tools.index.decode import iter_frames, load_audio, probe

    meta = probe(a.video)
    t0 = time.perf_counter()
    frames = list(iter_frames(a.video, fps=a.fps))
    cost = {"decode": time.perf_counter() - t0}
    fa = FaceAnalyzer(expression=False)
    t0 = time.perf_counter()
    faces = [fa.find_faces(img) for _, img in frames]
    cost["face landmarks"] = time.perf_counter() - t0
    est, ex, fl = AUEstimator(), ExpressionClassifier(), FlowAnalyzer()
    main_faces = [(img, max(f, key=lambda x: x.area)) for (_, img), f in zip(frames, faces) if f]
    t0 = time.perf_counter()
    for img, f in main_faces:
        est.estimate(f.blendshapes, f.landmarks, cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), track_id=0)
    cost["action units"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex.predict([zoom(img, f.box, "face", size=64, fractional=False)[0] for img, f in main_faces])
    cost["expression (batched)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for (i0, f0), (i1, f1) in zip(main_faces, main_faces[1:]):
        fl.analyze(i0, i1, f0.landmarks, f1.landmarks)
    cost["facial flow"] = time.perf_counter() - t0
    fa.close()
    ex.close()
    rows = [(k, v, meta.duration) for k, v in cost.items()]

    from tools.perception.prosody import voice_features
    from tools.perception.speech import Transcriber, vad_segments
    audio = load_audio(a.audio)
    dur = audio.size / 16000
    t0 = time.perf_counter()
    vad_segments(audio)
    rows.append(("VAD", time.perf_counter() - t0, dur))
    tr = Transcriber()
    tr.transcribe(audio[:16000])  # warm-up
    t0 = time.perf_counter()
    segs = tr.transcribe(audio)
    rows.append(("ASR tiny.en", time.perf_counter() - t0, dur))
    t0 = time.perf_counter()
    for s in segs:
        voice_features(audio, start=s.start, end=s.end)
    rows.append(("prosody", time.perf_counter() - t0, dur))

    print(f"{'stage':<24}{'ms per video s':>16}   (video {meta.duration:.1f} s at {a.fps:g} fps; audio {dur:.1f} s)")
    for name, secs, d in rows:
        print(f"{name:<24}{1000 * secs / d:>16.1f}")
    print(f"{'total (RTF)':<24}{sum(s / d for _, s, d in rows):>16.3f}")


if __name__ == "__main__":
    main()
