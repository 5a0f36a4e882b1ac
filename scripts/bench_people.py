"""Indexing cost of people tracking: the same videos indexed with every face tracked (the default) and
with the main face only (people tracking switched off), alternately, each into a fresh cache.

    .venv/bin/python scripts/bench_people.py assets/sample_pexels.mp4 ~/.cache/affectlens/dev/two_people.mp4

Prints the realtime factor (index seconds / video seconds) of each run and the ratio people/main-only
per video, measured in this one run (the machine is shared: compare ratios, not absolute numbers).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


class _NoPeople:
    def update(self, *a, **kw) -> list:
        return []


def _main_only(s):
    from tools.index.frame_pass import FrameAnalyzer
    fa = FrameAnalyzer(s)
    fa.people = _NoPeople()
    return fa


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--people-first", action="store_true", help="run the people mode first in each pair")
    a = ap.parse_args()
    from tools.index import build_index
    from tools.settings import Settings
    for video in a.videos:
        rtf: dict[str, list[float]] = {"main only": [], "people": []}
        for _ in range(a.repeats):
            modes = [("main only", _main_only), ("people", None)]
            for mode, factory in (modes[::-1] if a.people_first else modes):
                with tempfile.TemporaryDirectory() as d:
                    s = Settings(cache_dir=Path(d))
                    idx = build_index(video, s, progress=False, face_factory=factory)
                    rtf[mode].append(idx.summary.realtime_factor)
                    n = len({p.person for f in idx.frames for p in f.people})
                    print(f"{Path(video).name:24} {mode:10} RTF {idx.summary.realtime_factor:.3f} "
                          f"({idx.summary.frames} frames, {n} people)", flush=True)
        m, p = min(rtf["main only"]), min(rtf["people"])
        print(f"{Path(video).name:24} best RTF main only {m:.3f}, people {p:.3f}: ratio {p / m:.2f}", flush=True)


if __name__ == "__main__":
    main()
