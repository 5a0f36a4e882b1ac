"""Measure what issue 15 promises on the dev videos (~/.cache/affectlens/dev, built by make_dev_videos.py),
without the LLM (deterministic; the LLM is a minute a call on the shared 2-core CPU):

  every    — recall of the "every time" questions of dev_questions_video.jsonl on long_dev.mp4 (a target
             counts as found when a returned moment overlaps it with IoU >= 0.3, or any overlap: both shown)
  nodisgust — false confident answers on no_disgust.mp4 for questions asking for an emotion it lacks

Usage: python scripts/measure_understanding.py every|nodisgust|faces
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
    found_iou = found_any = total = 0
    for it in items:
        t0 = time.monotonic()
        with _session("long_dev.mp4") as s:  # a fresh conversation per question
            ans = s.ask(it["query"])
        if True:
            tg = [TimeWindow(**t) for t in it["targets"]]
            hit_iou = sum(any(m.window.iou(t) >= 0.3 for m in ans.moments) for t in tg)
            hit_any = sum(any(m.window.overlaps(t) for m in ans.moments) for t in tg)
            found_iou += hit_iou
            found_any += hit_any
            total += len(tg)
            print(f"{it['split']:7s} {it['id']}: {len(ans.moments)} moments, targets {len(tg)}, "
                  f"found IoU>=0.3 {hit_iou}, overlapping {hit_any} ({time.monotonic() - t0:.0f}s)", flush=True)
    print(f"every-time recall on long_dev: IoU>=0.3 {found_iou}/{total} = {found_iou / total:.2f}; "
          f"any overlap {found_any}/{total} = {found_any / total:.2f}")


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


if __name__ == "__main__":
    {"every": every, "nodisgust": nodisgust}[sys.argv[1]]()
