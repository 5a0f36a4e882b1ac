"""Does each LLM role earn its time? Per role (judge, rationale): how often the embedded model is called,
how often its output is used, what it changes, and what it costs (issue 28).

    .venv/bin/python scripts/measure_llm_roles.py [--gguf qwen2.5-coder-0.5b] [--n-dev 12] [--out roles.jsonl]

Every question is answered twice on the same index: once with both roles on (llm_judge, llm_rationale =
True; the embedded llama.cpp server with the packaged model, or --url), once with both off (the default
without a served model). Judge: calls, candidates it judged, and whether the answer's top moment (window,
label, accepted or not) differs from the evidence-only path. Rationale: how often its polished text replaced
the composer's (flag rationale_polished) and how often it was rejected or failed. Questions: the README's
sample questions on assets/sample_pexels.mp4, and the dev questions (evals/data/dev_questions_video.jsonl) on
their dev video where it is built, else asked of the sample too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = Path.home() / ".cache" / "affectlens" / "dev"
SAMPLE = ROOT / "assets" / "sample_pexels.mp4"


def _top(ans) -> tuple | None:
    m = ans.moments[0] if ans.moments else None
    return (round(m.window.start, 2), round(m.window.end, 2), m.label, m.verified) if m else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default="qwen2.5-coder-0.5b")
    ap.add_argument("--url", help="a served model instead of the embedded one")
    ap.add_argument("--model", default="qwen")
    ap.add_argument("--n-dev", type=int, default=12)
    ap.add_argument("--out", default="llm_roles.jsonl")
    ap.add_argument("--sample-only", action="store_true", help="ask the dev questions of the sample too")
    a = ap.parse_args()
    from agents.llm import LLMClient
    from graphs.api import Session
    from scripts.bench_query import SAMPLE_QUERIES
    from tools.index import build_index
    from tools.settings import get_settings

    s = get_settings()
    on = s.model_copy(update={"llm_judge": True, "llm_rationale": True})
    off = s.model_copy(update={"llm_judge": False, "llm_rationale": False})
    srv = None
    url = a.url
    if url is None:
        from agents.llm_server import EmbeddedServer
        from tools.provision import resolve
        srv = EmbeddedServer(resolve(a.gguf), s.llm_threads)
        url = srv.start(timeout=600)
    items = [(SAMPLE, q) for q in SAMPLE_QUERIES]
    dev = [json.loads(x) for x in (ROOT / "evals/data/dev_questions_video.jsonl").read_text().splitlines() if x]
    items += [((DEV / d["video"]) if (DEV / d["video"]).exists() and not a.sample_only else SAMPLE, d["query"])
              for d in dev[: a.n_dev]]
    rows, indexes = [], {}
    try:
        client = LLMClient(url, a.model, timeout=300)
        for video, q in items:
            if video not in indexes:
                indexes[video] = build_index(video, s, progress=False)
            idx = indexes[video]
            mark = len(client.stats.log)
            t = time.monotonic()
            with Session(idx.meta.path, on, llm=client, index=idx) as sess:
                events: list[dict] = []
                with_llm = sess.ask(q, on_event=lambda e: events.extend(e["events"]))
            secs_on = time.monotonic() - t
            log = client.stats.log[mark:]
            t = time.monotonic()
            with Session(idx.meta.path, off, llm=None, index=idx) as sess:
                without = sess.ask(q)
            secs_off = time.monotonic() - t
            judged = [e for e in events if e.get("node") == "judge" and e.get("llm_judged")]
            row = {"video": video.name, "query": q, "seconds_on": round(secs_on, 2), "seconds_off": round(secs_off, 2),
                   "judge_calls": sum(1 for r in log if r.get("tag") == "judge"),
                   "judge_s": round(sum(r["seconds"] for r in log if r.get("tag") == "judge"), 2),
                   "judge_candidates": sum(len(e["llm_judged"]) for e in judged),
                   "judge_fallback": any(f.startswith("llm_fallback:judge") for f in with_llm.flags),
                   "rationale_calls": sum(1 for r in log if r.get("tag") == "rationale"),
                   "rationale_s": round(sum(r["seconds"] for r in log if r.get("tag") == "rationale"), 2),
                   "rationale_used": "rationale_polished" in with_llm.flags,
                   "rationale_rejected": "rationale_draft_rejected" in with_llm.flags,
                   "top_on": _top(with_llm), "top_off": _top(without),
                   "changed_top": _top(with_llm) != _top(without),
                   "rationale_on": with_llm.moments[0].rationale if with_llm.moments else "",
                   "rationale_off": without.moments[0].rationale if without.moments else ""}
            rows.append(row)
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps({k: row[k] for k in ("query", "judge_calls", "judge_s", "changed_top", "rationale_calls",
                                                  "rationale_s", "rationale_used", "top_on", "top_off")}), flush=True)
    finally:
        if srv is not None:
            srv.stop()
    print("\n".join(summary(rows)))


def summary(rows: list[dict]) -> list[str]:
    n = len(rows)
    j = [r for r in rows if r["judge_calls"]]
    rr = [r for r in rows if r["rationale_calls"]]
    med = lambda xs: statistics.median(xs) if xs else 0.0  # noqa: E731
    return [
        f"questions: {n}",
        "| role | questions with a call | output used | changed the top moment / text | median s per question called |",
        "|---|---|---|---|---|",
        f"| judge | {len(j)}/{n} | {sum(not r['judge_fallback'] for r in j)}/{len(j)} parsed | "
        f"{sum(r['changed_top'] for r in j)}/{len(j)} top moments differ from the evidence-only answer | "
        f"{med([r['judge_s'] for r in j]):.1f} |",
        f"| rationale | {len(rr)}/{n} | {sum(r['rationale_used'] for r in rr)}/{len(rr)} polished texts kept "
        f"({sum(r['rationale_rejected'] for r in rr)} rejected by the checker) | "
        f"{sum(r['rationale_used'] for r in rr)}/{len(rr)} texts | {med([r['rationale_s'] for r in rr]):.1f} |",
        f"median seconds per question: roles on {med([r['seconds_on'] for r in rows]):.2f}, "
        f"off {med([r['seconds_off'] for r in rows]):.2f}",
    ]


if __name__ == "__main__":
    main()
