"""Measure face tracking + re-identification on a video with per-person ground truth (a dev video JSON
with `extra.persons` / spans with `person`: left/right), and the descriptor's same/different-person
similarities.

    .venv/bin/python scripts/measure_people.py ~/.cache/affectlens/dev/two_people.mp4 --fps 3
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter, defaultdict
from contextlib import closing

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--fps", type=float, default=3.0)
    a = ap.parse_args()
    from tools.index.decode import iter_frames
    from tools.perception.face import FaceAnalyzer
    from tools.perception.tracks import PeopleTracker, descriptor, similarity

    pt = PeopleTracker()
    by_side: dict[str, Counter] = defaultdict(Counter)
    descs: dict[str, list] = defaultdict(list)
    t0 = time.monotonic()
    n = 0
    cpu_face = cpu_people = 0.0  # CPU seconds (process time: less sensitive to other load than wall time)
    with FaceAnalyzer(max_faces=4) as fa, closing(iter_frames(a.video, fps=a.fps, max_side=640)) as frames:
        for t, rgb in frames:
            c0 = time.process_time()
            fr, main = fa.analyze_face(t, rgb)
            c1 = time.process_time()
            people = pt.update(t, rgb, fa.last_faces, main, fr.expression, fa._expr)
            cpu_face += c1 - c0
            cpu_people += time.process_time() - c1
            n += 1
            for f, p in zip(fa.last_faces, people):
                side = "left" if p.box[0] + p.box[2] / 2 < 0.5 else "right"
                by_side[side][p.person] += 1
                descs[side].append((t, descriptor(rgb, f)))
    secs = time.monotonic() - t0
    print(f"{n} frames in {secs:.1f} s; CPU per frame: face analysis (main face) {1000 * cpu_face / n:.1f} ms, "
          f"people tracking on top {1000 * cpu_people / n:.1f} ms (+{100 * cpu_people / cpu_face:.0f} %)")
    for side, c in sorted(by_side.items()):
        print(f"{side}: person ids {dict(c)}")
    print("re-identifications (t, person, similarity):", pt.reids)
    sides = sorted(descs)
    same, diff = [], []
    for s in sides:
        ds = descs[s][::3]
        same += [similarity(x[1], y[1]) for x, y in itertools.combinations(ds, 2) if abs(x[0] - y[0]) >= 5]
    if len(sides) == 2:
        diff = [similarity(x[1], y[1]) for x in descs[sides[0]][::3] for y in descs[sides[1]][::3]]
    if same:
        print(f"same person >= 5 s apart: min {min(same):.3f} p5 {np.percentile(same, 5):.3f} "
              f"median {np.median(same):.3f} (n={len(same)})")
    if diff:
        print(f"different persons: max {max(diff):.3f} p95 {np.percentile(diff, 95):.3f} "
              f"median {np.median(diff):.3f} (n={len(diff)})")


if __name__ == "__main__":
    main()
