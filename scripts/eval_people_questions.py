"""Per-person questions on the two-person dev video (scripts/make_dev_videos.py → two_people.mp4/.json):
does the answer find the asked person's moment, and name that person?

    .venv/bin/python scripts/eval_people_questions.py [--llm]

A hit: the first moment overlaps a ground-truth span of that person ("left"/"right") with that label, and
its rationale names the person's side. Without --llm the graph runs its deterministic paths (flagged).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.schemas import TimeWindow

DEV = Path.home() / ".cache" / "affectlens" / "dev"
QUESTIONS = [  # (question, person side, label)
    ("when does the woman on the left start crying?", "left", "Sadness"),
    ("when does the man on the right smile?", "right", "Joy"),
    ("when does the woman on the left laugh?", "left", "Joy"),
    ("the part where the person on the right is happy", "right", "Joy"),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", action="store_true")
    a = ap.parse_args()
    from graphs.api import Session
    from tools.people import load_people
    video = DEV / "two_people.mp4"
    truth = json.loads((DEV / "two_people.json").read_text())["spans"]
    s = Session(video, llm=True if a.llm else False)
    print(f"people: {[(p.id, p.position, p.screen_s) for p in load_people(s.index).people]}")
    hits = 0
    for q, side, label in QUESTIONS:
        ans = s.ask(q)
        m = ans.moments[0] if ans.moments else None
        gold = [TimeWindow(start=x["start"], end=x["end"]) for x in truth
                if x.get("person") == side and x.get("label") == label]
        ok = bool(m and m.label == label and any(m.window.overlaps(g) for g in gold)
                  and f"on the {side}" in m.rationale)
        hits += ok
        print(f"{'HIT ' if ok else 'MISS'} {q!r}: " + (f"{m.window.label()} {m.label} {m.confidence:.2f} | "
              f"{m.rationale[:90]}" if m else "no moment") + f" | gold {[g.label() for g in gold]}")
    print(f"{hits}/{len(QUESTIONS)} per-person questions answered with the right person's moment")


if __name__ == "__main__":
    main()
