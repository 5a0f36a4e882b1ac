"""Two other ways of letting an LLM read the question, measured on the intent dev set (both parts) against
the shipped readers (`affectlens eval-intent`). Neither is used by the product: see README, "Understanding".

  gist    — the LLM first writes how the person feels in 1-3 plain words (`feeling`), then the labels;
            the words are read by the zero-shot text reader and added to its probabilities with weight
            `wg` (chosen on the tune part among 0.2 ... 1.5; heldout reported with that weight)
  rerank  — the LLM picks one of the zero-shot reader's top 4 labels, or "none"

Answers are appended to a JSONL file per (variant, model) under /tmp, so a rerun only scores.

Usage: python scripts/intent_llm_variants.py gist|rerank [MODEL]   (MODEL: qwen2.5-coder-0.5b, -1.5b)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents import prompts  # noqa: E402
from agents.prompts import LABEL_GLOSSES  # noqa: E402
from evals.intent import family_of, load  # noqa: E402
from tools.labels import Emotion  # noqa: E402

DEV_SET = Path(__file__).resolve().parents[1] / "evals/data/intent_dev.jsonl"
NO_FEELING = {"", "nothing", "none", "no feeling", "n/a"}
GLOSS = dict(x.split(": ", 1) for x in LABEL_GLOSSES.split("; "))


class GistRead(BaseModel):
    """agents.intent.readers.LLMRead with `feeling` first (not a subclass: the model writes the fields in
    the schema's order, and the words should come before the labels)."""

    model_config = ConfigDict(extra="ignore")

    feeling: str = Field(default="", max_length=40)
    emotions: list[Emotion] = Field(default_factory=list, max_length=3)
    arousal: Literal["high", "low", "any"] = "any"
    every: bool = False


def gist_messages(q: str) -> list[dict]:
    """The shipped `interpret` prompt with one line added before the labels: the feeling in plain words."""
    msgs = prompts.interpret(q)
    ask = msgs[-1]["content"].replace("emotions:", (
        "feeling: first, in 1-3 plain everyday words, how the person in that moment feels "
        "(\"nothing\" if the user describes no feeling).\nemotions:"), 1)
    return msgs[:-1] + [{**msgs[-1], "content": ask}]


def rerank_call(client, q: str, options: list[str]) -> dict:
    pick = create_model("Pick", feeling=(Literal[tuple(options + ["none"])], ...))
    lines = "\n".join(f"- {lab}: {GLOSS[lab]}" for lab in options)
    msgs = prompts.prefix() + [{"role": "user", "content": (
        "Task: which feeling is the user looking for in the video? Read idioms and situations by what "
        "the person in that moment feels. Pick one option.\n" + lines
        + "\n- none: no feeling, a plain description of what happens"
        + f"\nUser query: <data>{q}</data>")}]
    return client.structured(msgs, pick, max_tokens=20, tag="rerank").model_dump()


def answers(variant: str, model: str, items: list[dict], tes) -> list[dict]:
    from agents.errors import LLMError
    from agents.llm import client_from_settings
    from tools.settings import get_settings
    path = Path(f"/tmp/affectlens_intent_{variant}_{model}.jsonl")
    done = {}
    if path.exists():
        done = {r["query"]: r for r in map(json.loads, path.read_text().splitlines())}
    todo = [(it, te) for it, te in zip(items, tes) if it["query"] not in done]
    if todo:
        s = get_settings()
        client = client_from_settings(s.model_copy(update={"llm_gguf": model}) if model != s.llm_gguf else s)
        with path.open("a") as f:
            for i, (it, te) in enumerate(todo):
                t0 = time.monotonic()
                try:
                    if variant == "gist":
                        r = client.structured(gist_messages(it["query"]), GistRead, max_tokens=70,
                                              tag="gist").model_dump()
                    else:
                        r = rerank_call(client, it["query"], [lab for lab, _ in te.top(4)])
                except LLMError as e:
                    r = {"error": str(e)[:200]}
                rec = {"query": it["query"], "read": r, "s": round(time.monotonic() - t0, 2)}
                done[it["query"]] = rec
                f.write(json.dumps(rec) + "\n")
                f.flush()
                print(f"  {variant} {i + 1}/{len(todo)} ({rec['s']}s)", file=sys.stderr)
    return [done[it["query"]] for it in items]


def family(label: str | None) -> str:
    return family_of([label] if label and label != "none" else [])


def score(items: list[dict], preds: list[str], part: str) -> str:
    sel = [(it, p) for it, p in zip(items, preds) if it["split"] == part]
    para = [(it, p) for it, p in sel if it.get("paraphrase")]
    ok = sum(p == it["family"] for it, p in sel)
    okp = sum(p == it["family"] for it, p in para)
    return f"{part}: {ok}/{len(sel)} = {ok / len(sel):.0%}, paraphrases {okp}/{len(para)} = {okp / len(para):.0%}"


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else "gist"
    model = sys.argv[2] if len(sys.argv) > 2 else "qwen2.5-coder-1.5b"
    from tools.perception.text_emotion import reader
    items = load(DEV_SET)
    tes = reader().read_many([it["query"] for it in items])
    recs = answers(variant, model, items, tes)
    ok = [r for r in recs if "error" not in r["read"]]
    print(f"{variant} with {model}: {len(ok)}/{len(recs)} answered, median "
          f"{sorted(r['s'] for r in ok)[len(ok) // 2]} s a call")
    if variant == "rerank":
        preds = [family(r["read"].get("feeling")) for r in recs]
        for part in ("tune", "heldout"):
            print("  " + score(items, preds, part))
        return
    gists = reader().read_many([r["read"].get("feeling") or "nothing" for r in recs])

    def predict(wg: float) -> list[str]:
        out = []
        for r, g, te in zip(recs, gists, tes):
            said = (r["read"].get("feeling") or "").strip().lower()
            probs = dict(te.probs)
            if said not in NO_FEELING:
                probs[g.top(1)[0][0]] += wg
            none = te.p_none >= 0.5 and said in NO_FEELING
            out.append("none" if none else family(max(probs, key=probs.get)))
        return out

    tune = [it for it in items if it["split"] == "tune"]

    def tune_acc(wg: float) -> float:
        return sum(p == it["family"] for it, p in zip(items, predict(wg)) if it in tune) / len(tune)

    best = max((0.2, 0.4, 0.6, 0.8, 1.0, 1.5), key=tune_acc)
    preds = predict(best)
    print(f"  gist words alone, then added with weight {best} (chosen on tune):")
    alone = ["none" if (r["read"].get("feeling") or "").strip().lower() in NO_FEELING else family(g.top(1)[0][0])
             for r, g in zip(recs, gists)]
    for part in ("tune", "heldout"):
        print("  alone    " + score(items, alone, part))
        print("  combined " + score(items, preds, part))


if __name__ == "__main__":
    main()
