"""Measure what issue 15 promises on the dev videos (~/.cache/affectlens/dev, built by make_dev_videos.py),
without the LLM (deterministic; the LLM is a minute a call on the shared 2-core CPU):

  every    — recall of the "every time" questions of dev_questions_video.jsonl on long_dev.mp4 (a target
             counts as found when a returned moment overlaps it with IoU >= 0.3, or any overlap: both shown)
  nodisgust — false confident answers on no_disgust.mp4 for questions asking for an emotion it lacks
  zoom     — the active zoom's effect on small_faces.mp4 (135-px faces in a 1080p frame): per labelled
             span, the expression read at index time vs the zoom tool's dense zoomed re-read, each mapped
             to a label (top FER class through tools.labels.EXPRESSION_TO_EMOTION)

Usage: python scripts/measure_understanding.py every|nodisgust|zoom
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

DEV = Path.home() / ".cache/affectlens/dev"
ABSENT_QUESTIONS = ["when does someone look disgusted?", "the part where she looks nauseated",
                    "when does he scream in terror?", "when is somebody furious?", "when does she look proud of herself?"]


def _session(video: str):
    from graphs.api import Session
    from tools.settings import get_settings
    return Session(DEV / video, get_settings(), llm=None)


def every() -> None:
    from tools.schemas import TimeWindow
    items = [json.loads(x) for x in Path("evals/data/dev_questions_video.jsonl").read_text().splitlines() if x.strip()]
    items = [it for it in items if it["count"] == "every" and it["video"] == "long_dev.mp4"]
    tot: dict[str, list[int]] = {}  # split -> [found IoU>=0.3, found any overlap, targets, moments on a target, moments]
    for it in items:
        t0 = time.monotonic()
        with _session("long_dev.mp4") as s:  # a fresh conversation per question
            ans = s.ask(it["query"])
        tg = [TimeWindow(**t) for t in it["targets"]]
        hit_iou = sum(any(m.window.iou(t) >= 0.3 for m in ans.moments) for t in tg)
        hit_any = sum(any(m.window.overlaps(t) for m in ans.moments) for t in tg)
        on_target = sum(any(m.window.overlaps(t) for t in tg) for m in ans.moments)
        for key in (it["split"], "all"):
            row = tot.setdefault(key, [0, 0, 0, 0, 0])
            for i, v in enumerate((hit_iou, hit_any, len(tg), on_target, len(ans.moments))):
                row[i] += v
        print(f"{it['split']:7s} {it['id']}: {len(ans.moments)} moments ({on_target} on a target; "
              f"{sum(m.verified for m in ans.moments)} verified), targets {len(tg)}, found IoU>=0.3 {hit_iou}, "
              f"overlapping {hit_any} ({time.monotonic() - t0:.0f}s)", flush=True)
    for key, (iou, anyo, n, on, m) in tot.items():
        print(f"every-time recall on long_dev, {key}: IoU>=0.3 {iou}/{n} = {iou / n:.2f}; any overlap "
              f"{anyo}/{n} = {anyo / n:.2f}; precision (moments on a target) {on}/{m} = {on / max(m, 1):.2f}")


def nodisgust() -> None:
    confident = 0
    for q in ABSENT_QUESTIONS:
        with _session("no_disgust.mp4") as s:
            ans = s.ask(q)
        if True:
            conf = [m for m in ans.moments if m.verified and m.confidence >= 0.5]
            confident += bool(conf)
            print(f"{q!r}: {[(m.window.label(), m.label, m.confidence, m.verified) for m in ans.moments]} "
                  f"flags {[f[:60] for f in ans.flags]}", flush=True)
    print(f"false confident answers on no_disgust: {confident}/{len(ABSENT_QUESTIONS)}")


def zoom() -> None:
    from types import SimpleNamespace

    from tools.index import build_index
    from tools.labels import EXPRESSION_TO_EMOTION
    from tools.registry import run_tool
    from tools.schemas import TimeWindow
    from tools.settings import get_settings
    s = get_settings()
    truth = json.loads((DEV / "small_faces.json").read_text())
    idx = build_index(DEV / "small_faces.mp4", s, progress=False)
    ctx = SimpleNamespace(index=idx, settings=s)
    right = {"index": 0, "zoom": 0}
    spans = [sp for sp in truth["spans"] if sp.get("label")]
    for k, sp in enumerate(spans):
        w = TimeWindow(start=sp["start"], end=sp["end"])
        t0 = time.monotonic()
        base, _, _ = run_tool(ctx, "expression", w, f"E{k}a")
        zoomed, err, _ = run_tool(ctx, "zoom", w, f"E{k}b")
        tops = {"index": base.values.get("top") if base else None,
                "zoom": (max((c for c in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
                              if f"p_{c}" in zoomed.values), key=lambda c: zoomed.values[f"p_{c}"], default=None)
                         if zoomed else None)}
        for kind, top in tops.items():
            right[kind] += EXPRESSION_TO_EMOTION.get(top or "", "") == sp["label"]
        print(f"{sp['label']:9s} {w.label()} index: {tops['index']!s:9s} zoom: {tops['zoom']!s:9s} "
              f"({zoomed.values.get('n_zoomed') if zoomed else err} crops, {time.monotonic() - t0:.0f}s)", flush=True)
    n = len(spans)
    print(f"label from the top expression on small faces: index {right['index']}/{n}, zoom {right['zoom']}/{n}")


if __name__ == "__main__":
    {"every": every, "nodisgust": nodisgust, "zoom": zoom}[sys.argv[1]]()
