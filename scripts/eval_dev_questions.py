"""The video dev questions (evals/data/dev_questions_video.jsonl) end to end, per split (tune / heldout).

    .venv/bin/python scripts/eval_dev_questions.py [--no-llm] [--out rows.jsonl] [--only tune|heldout]

Each question is asked on its dev video (~/.cache/affectlens/dev, built by make_dev_videos.py) with the
default configuration (the embedded LLM unless --no-llm). Per item: the top moment, R1@0.5 (IoU >= 0.5
with any target) and whether its label is in the question's label family (tools.labels.family, the one
definition). Printed: aggregate figures per split only; per-item rows go to --out (read the tune part's
only: the held-out part is for checking, not for choosing). Run it with another checkout's code
(`cd CHECKOUT && python /path/to/scripts/eval_dev_questions.py`) to get a "before" in the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))
DEV = Path.home() / ".cache" / "affectlens" / "dev"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-llm", action="store_true")
    ap.add_argument("--out", default="dev_questions_rows.jsonl")
    ap.add_argument("--only", choices=["tune", "heldout"])
    a = ap.parse_args()
    try:
        from tools.labels import family
    except ImportError:  # an older checkout (the "before" run): the family lived with the emotion tool
        from tools.perception.emotion import family
    from graphs.api import Session
    from tools.index import build_index
    from tools.schemas import TimeWindow
    from tools.settings import get_settings
    s = get_settings()
    llm = None
    if not a.no_llm:
        from agents.llm import client_from_settings
        llm = client_from_settings(s)
    items = [json.loads(x) for x in (Path(__file__).resolve().parents[1] / "evals/data/dev_questions_video.jsonl")
             .read_text().splitlines() if x]
    items = [it for it in items if a.only in (None, it["split"])]
    indexes, rows = {}, []
    with open(a.out, "w") as out:
        for it in items:
            video = DEV / it["video"]
            if video not in indexes:
                indexes[video] = build_index(video, s, progress=False)
            t0 = time.monotonic()
            with Session(video, s, llm=llm, index=indexes[video]) as sess:
                ans = sess.ask(it["query"])
            top = ans.moments[0] if ans.moments else None
            targets = [TimeWindow(start=t["start"], end=t["end"]) for t in it["targets"]]
            r1 = bool(top) and max(top.window.iou(t) for t in targets) >= 0.5
            fam = bool(top) and bool(it["labels"]) and family(top.label) == family(it["labels"][0])
            row = {"id": it["id"], "split": it["split"], "paraphrase": it["paraphrase"], "query": it["query"],
                   "top": top.window.label() if top else None, "label": top.label if top else None,
                   "r1": r1, "label_ok": fam, "seconds": round(time.monotonic() - t0, 1)}
            rows.append(row)
            out.write(json.dumps(row) + "\n")
            print(f"{len(rows)}/{len(items)} asked", file=sys.stderr, flush=True)
    for split in ("tune", "heldout"):
        sel = [r for r in rows if r["split"] == split]
        para = [r for r in sel if r["paraphrase"]]
        print(f"{split}: n={len(sel)} R1@0.5 {sum(r['r1'] for r in sel)}/{len(sel)}, label {sum(r['label_ok'] for r in sel)}/{len(sel)}; "
              f"paraphrases R1 {sum(r['r1'] for r in para)}/{len(para)}, label {sum(r['label_ok'] for r in para)}/{len(para)}")


if __name__ == "__main__":
    main()
