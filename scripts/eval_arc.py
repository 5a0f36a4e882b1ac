"""How well the emotional arc (tools/arc.py) finds the true emotional moments of the dev videos.

    .venv/bin/python scripts/eval_arc.py [--dev DIR] [--videos NAME ...] [--grid]

For each dev video (scripts/make_dev_videos.py writes them with their ground truth, NAME.json) that is
already indexed or can be indexed: a true emotional moment is a span whose label is not Neutral; it is
found when an emotional arc segment overlaps it with the same label family (tools.labels.family); `face`
and `voice` split the count by the span's modality (voice: voice-only moments over black frames). The
time ratio is the arc's emotional time over the true emotional time (the issue asks for at most 2x); false
segments are emotional segments that overlap no true moment of their family; IoU is the mean, over the
found moments, of the matching segments' span against the true span (how true to its extent). `--grid` prints the same for
each running-median kernel and threshold tried (how tools/arc.py's KERNEL and EMOTIONAL were chosen).
Done when found >= 80 % and time ratio <= 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.arc import EMOTIONAL, KERNEL, compute_arc  # noqa: E402
from tools.labels import family  # noqa: E402

DEV = Path("~/.cache/affectlens/dev").expanduser()
VIDEOS = ("two_people", "no_disgust", "long_dev")


def truth(gt: dict) -> list[dict]:
    return [s for s in gt["spans"] if s.get("label") and family(s["label"]) != "Neutral"]


def score(arc, moments: list[dict]) -> dict:
    emo = [s for s in arc.segments if s.emotional]
    found = [m for m in moments if any(min(s.end, m["end"]) > max(s.start, m["start"])
                                       and family(s.label) == family(m["label"]) for s in emo)]
    false = [s for s in emo if not any(min(s.end, m["end"]) > max(s.start, m["start"])
                                       and family(s.label) == family(m["label"]) for m in moments)]
    ious = []  # extent: the matching segments' span against the true span, per found moment
    for m in found:
        hit = [s for s in emo if min(s.end, m["end"]) > max(s.start, m["start"]) and family(s.label) == family(m["label"])]
        a, b = min(s.start for s in hit), max(s.end for s in hit)
        ious.append(max(0.0, min(b, m["end"]) - max(a, m["start"])) / (max(b, m["end"]) - min(a, m["start"])))
    true_t = sum(m["end"] - m["start"] for m in moments)
    arc_t = sum(s.end - s.start for s in emo)
    face = [m for m in moments if "face" in (m.get("modality") or "")]
    return {"moments": len(moments), "found": len(found), "face_found": f"{sum(m in found for m in face)}/{len(face)}",
            "voice_found": f"{sum(m in found for m in moments if m not in face)}/{len(moments) - len(face)}", "true_s": round(true_t, 1), "arc_s": round(arc_t, 1),
            "ratio": round(arc_t / true_t, 2) if true_t else 0.0, "false": len(false),
            "iou": round(sum(ious) / len(ious), 2) if ious else 0.0,
            "missed": [f"{m['label']}@{m['start']:.0f}s" for m in moments if m not in found]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--videos", nargs="*", default=list(VIDEOS))
    ap.add_argument("--grid", action="store_true")
    a = ap.parse_args()
    from tools.index import build_index
    settings = [(KERNEL, EMOTIONAL)]
    if a.grid:
        settings = [(k, t) for k in (1, 3, 5) for t in (0.3, 0.4, 0.5, 0.6, 0.7)]
    print(f"{'video':<12} {'kernel':>6} {'thr':>4} {'found':>8} {'face':>6} {'voice':>6} {'arc s':>7} {'true s':>7} "
          f"{'ratio':>5} {'false':>5} {'IoU':>5}  missed")
    totals: dict = {}
    for name in a.videos:
        mp4, gj = a.dev / f"{name}.mp4", a.dev / f"{name}.json"
        if not (mp4.exists() and gj.exists()):
            print(f"{name:<12} (not built: scripts/make_dev_videos.py --only {name})")
            continue
        idx = build_index(str(mp4), progress=False)
        moments = truth(json.loads(gj.read_text()))
        for k, t in settings:
            arc, _ = compute_arc(idx, threshold=t, kernel=k)
            r = score(arc, moments)
            tot = totals.setdefault((k, t), {"moments": 0, "found": 0, "true_s": 0.0, "arc_s": 0.0, "false": 0})
            for key in tot:
                tot[key] += r[key]
            print(f"{name:<12} {k:>6} {t:>4} {r['found']:>3}/{r['moments']:<4} {r['face_found']:>6} {r['voice_found']:>6} {r['arc_s']:>7} {r['true_s']:>7} "
                  f"{r['ratio']:>5} {r['false']:>5} {r['iou']:>5}  {', '.join(r['missed'])}")
    for (k, t), tot in totals.items():
        ratio = tot["arc_s"] / tot["true_s"] if tot["true_s"] else 0.0
        print(f"{'all':<12} {k:>6} {t:>4} {tot['found']:>3}/{tot['moments']:<4} {'':>6} {'':>6} {tot['arc_s']:>7.1f} "
              f"{tot['true_s']:>7.1f} {ratio:>5.2f} {tot['false']:>5}  found {tot['found'] / max(1, tot['moments']):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
