"""The question reader's own effect on the dev-video figures, before/after in one run (issue 26).

Comparing this checkout with an old one (scripts/eval_dev_questions.py run in each) mixes the reader with
everything else that changed since (speech in any language re-segments the German voices, people, episodes).
This holds the rest fixed: today's pipeline answers every dev question twice, once with the trained reader's
intent and once with the intent an old checkout's readers produced for the same words.

  # 1. the old readers' intents, with the old checkout's code (d402084: three readers and the who regexes)
  git worktree add /tmp/before d402084
  cd /tmp/before && PYTHONPATH=/tmp/before /work/main/.venv/bin/python /work/main/scripts/reader_before_after.py \\
      dump --out /tmp/old_intents.json
  # 2. today's pipeline, the trained reader then the old intents, in one run (~5 min, no LLM)
  cd /work/main && .venv/bin/python scripts/reader_before_after.py run --intents /tmp/old_intents.json

`run` prints, per reader: R1@0.5 and label family of the top moment per split (tune / heldout) of
evals/data/dev_questions_video.jsonl, and every-time recall on long_dev (a target found when a moment
overlaps it with IoU >= 0.3). Aggregates only; per-item rows of the tune split go to --out. The old
checkout resolved a person itself (tools/who.py regexes): a side it resolved ("position left") becomes that
side here; a person it could not tell was answered about everyone, so no person is asked here either.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

DEV = Path.home() / ".cache" / "affectlens" / "dev"
QUESTIONS = Path(__file__).resolve().parents[1] / "evals/data/dev_questions_video.jsonl"


def _items() -> list[dict]:
    return [json.loads(x) for x in QUESTIONS.read_text().splitlines() if x.strip()]


def dump(out: Path) -> None:
    """Each dev question's intent and person as the checkout on PYTHONPATH reads them (no LLM)."""
    from graphs.api import Session
    from tools.settings import get_settings
    from tools.who import pick_person  # the old checkout's: pick_person(index, state) -> WhoResult
    rows = {}
    for it in _items():
        with Session(DEV / it["video"], get_settings(), llm=None) as s:
            ans = s.ask(it["query"])
            who = pick_person(s.index, {"intent": ans.intent, "query": it["query"], "mode": "new"})
        rows[it["query"]] = {"intent": ans.intent.model_dump(mode="json"), "how": who.how}
        print(f"{len(rows)} read", file=sys.stderr, flush=True)
    out.write_text(json.dumps(rows, indent=1))


def old_intent(row: dict):
    """An old checkout's intent as today's Intent: its `who` dropped, a side it resolved kept as a side."""
    from agents.schemas import Intent
    from tools.schemas import PersonRef
    fields = {k: v for k, v in row["intent"].items() if k in Intent.model_fields and k != "person"}
    if row["how"].startswith("position "):
        fields["person"] = PersonRef(kind="side", value=row["how"].split()[1])
    return Intent.model_validate(fields)


@contextlib.contextmanager
def intent_given(intent):
    """Today's graph with `intent` in place of the reader's (the interpret node's intent_from)."""
    import graphs.nodes.interpret  # noqa: F401  (the package re-exports the node under the module's name)
    mod = sys.modules["graphs.nodes.interpret"]
    keep = mod.intent_from
    mod.intent_from = lambda reading, previous=None: intent
    try:
        yield
    finally:
        mod.intent_from = keep


def run(intents: Path, out: Path) -> None:
    from graphs.api import Session
    from tools.index import build_index
    from tools.labels import family
    from tools.schemas import TimeWindow
    from tools.settings import get_settings
    s = get_settings()
    old = json.loads(intents.read_text())
    items = _items()
    missing = [it["id"] for it in items if it["query"] not in old]
    if missing:
        raise SystemExit(f"{intents} has no intent for {len(missing)} dev questions (dumped from another question file?)")
    indexes: dict[Path, object] = {}
    # reader -> split -> [R1, label, n]; reader -> split -> [targets found, targets, moments on a target, moments]
    top1: dict[str, dict[str, list[int]]] = {}
    every: dict[str, dict[str, list[int]]] = {}
    with open(out, "w") as rows:
        for it in items:
            video = DEV / it["video"]
            if video not in indexes:
                indexes[video] = build_index(video, s, progress=False)
            targets = [TimeWindow(start=t["start"], end=t["end"]) for t in it["targets"]]
            for reader in ("trained reader", "old readers"):
                ctx = intent_given(old_intent(old[it["query"]])) if reader == "old readers" else contextlib.nullcontext()
                with ctx, Session(video, s, llm=None, index=indexes[video]) as sess:
                    ans = sess.ask(it["query"])
                top = ans.moments[0] if ans.moments else None
                r1 = bool(top) and max(top.window.iou(t) for t in targets) >= 0.5
                fam = bool(top) and bool(it["labels"]) and family(top.label) == family(it["labels"][0])
                for i, v in enumerate((r1, fam, 1)):
                    top1.setdefault(reader, {}).setdefault(it["split"], [0, 0, 0])[i] += v
                if it["count"] == "every" and it["video"] == "long_dev.mp4":
                    found = sum(any(m.window.iou(t) >= 0.3 for m in ans.moments) for t in targets)
                    on = sum(any(m.window.overlaps(t) for t in targets) for m in ans.moments)
                    for i, v in enumerate((found, len(targets), on, len(ans.moments))):
                        every.setdefault(reader, {}).setdefault(it["split"], [0, 0, 0, 0])[i] += v
                if it["split"] == "tune":
                    rows.write(json.dumps({"id": it["id"], "reader": reader, "query": it["query"], "r1": r1,
                                           "label_ok": fam, "top": top.window.label() if top else None,
                                           "label": top.label if top else None}) + "\n")
            print(f"{it['id']} asked with both readers", file=sys.stderr, flush=True)
    for reader in top1:
        for split in ("tune", "heldout"):
            r1, fam, n = top1[reader].get(split, [0, 0, 0])
            f, t, on, m = every.get(reader, {}).get(split, [0, 0, 0, 0])
            print(f"{reader:15s} {split:8s} R1@0.5 {r1}/{n}, label {fam}/{n}; every-time recall on long_dev "
                  f"{f}/{t}, moments on a target {on}/{m}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump", help="the intents of the checkout on PYTHONPATH (run it with the old code)")
    d.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run", help="today's pipeline with the trained reader, then with the dumped intents")
    r.add_argument("--intents", type=Path, required=True)
    r.add_argument("--out", type=Path, default=Path("reader_before_after_rows.jsonl"), help="tune rows only")
    a = ap.parse_args()
    dump(a.out) if a.cmd == "dump" else run(a.intents, a.out)


if __name__ == "__main__":
    main()
