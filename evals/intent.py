"""`affectlens eval-intent FILE`: how well questions are understood, per reader and reconciled.

For each item of an intent dev set (evals/data/intent_dev.jsonl) every reader answers (LLM, zero-shot
embedding, lexicon, facial actions: scored only on the items that describe one) and the reconciled intent
is formed (agents.intent). A reader is right when its top
label falls in the item's label family (`family`; `none` = a descriptive question with no emotion, right
when the reader names no emotion). Accuracy is printed per reader, per part (tune / heldout), for all
items and for the paraphrases (no emotion word), and per label family.

LLM answers are cached per (model, prompt) under the cache dir, so the table reruns in seconds; the rule's
weights are chosen on the tune part only (`--grid`), never on heldout.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path

from agents import prompts
from agents.intent.readers import LLMRead, face_reader, lexicon_reader, vote_from_llm_intent
from agents.intent.reconcile import DESCRIPTIVE_P_NONE, reconcile
from agents.schemas import Intent

FAMILY = {"Anger": "anger", "Joy": "joy", "Sadness": "sadness", "Fear": "fear", "Horror": "fear",
          "Disgust": "disgust", "Surprise": "surprise", "Neutral": "neutral", "Love": "positive_other",
          "Pride": "positive_other", "Satisfaction": "positive_other", "Trust": "positive_other",
          "Anticipation": "positive_other"}
READERS = ("llm", "embedding", "lexicon", "face", "reconciled", "reconciled_no_llm")


def family_of(labels: list[str]) -> str:
    return FAMILY[labels[0]] if labels else "none"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _cache_path(model: str) -> Path:
    from tools.settings import get_settings
    h = hashlib.sha256(json.dumps(prompts.interpret("{q}")).encode()).hexdigest()[:10]
    p = get_settings().cache_dir / "intent_llm" / f"{model}-{h}.jsonl"
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def llm_intents(items: list[dict], model: str | None, log=print, cached_only: bool = False
                ) -> dict[str, Intent | None]:
    """The LLM's Intent per query (cached); None where it failed. model=None: no LLM. cached_only: ask the
    LLM nothing, use what earlier runs cached (the table then says how many items the LLM answered)."""
    if model is None:
        return {}
    from agents.errors import LLMError
    from agents.llm import client_from_settings
    from tools.settings import get_settings
    path = _cache_path(model)
    cache: dict[str, dict | None] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            cache[r["query"]] = r["intent"]
    order = sorted(items, key=lambda it: (it["split"] != "heldout", not it.get("paraphrase")))
    todo = [] if cached_only else [it["query"] for it in order if it["query"] not in cache]
    if todo:
        s = get_settings()
        client = client_from_settings(s.model_copy(update={"llm_gguf": model}) if model != s.llm_gguf else s)
        with path.open("a") as f:
            for i, q in enumerate(todo):
                t0 = time.monotonic()
                try:
                    out = client.structured(prompts.interpret(q), LLMRead, max_tokens=60,
                                            tag="interpret").to_intent(q).model_dump()
                except LLMError:
                    out = None
                cache[q] = out
                f.write(json.dumps({"query": q, "intent": out, "seconds": round(time.monotonic() - t0, 2)}) + "\n")
                f.flush()
                log(f"  llm {i + 1}/{len(todo)} ({time.monotonic() - t0:.1f}s)")
    return {q: (Intent.model_validate(v) if v else None) for q, v in cache.items() if v is not None}


def votes_for(items: list[dict], llm: dict[str, Intent | None]) -> list[dict]:
    """Each reader's vote per item, computed once (the embedding reader in one batch)."""
    from agents.intent.readers import ReaderVote
    from tools.perception.text_emotion import reader
    tes = reader().read_many([it["query"] for it in items])
    out = []
    for it, te in zip(items, tes):
        q = it["query"]
        emb = ReaderVote(reader="embedding", scores={k: round(p, 3) for k, p in te.top(4)}, negated=te.negated,
                         none=te.p_none, note="; ".join(te.reasons))
        li = llm.get(q)
        out.append({"embedding": emb, "lexicon": lexicon_reader(q), "face": face_reader(q),
                    "llm": vote_from_llm_intent(li) if li is not None else None, "llm_intent": li})
    return out


def predictions(items: list[dict], votes: list[dict], **rule) -> list[dict[str, str]]:
    """Per item, each reader's predicted family and the reconciled one under `rule`."""
    out = []
    p_none = rule.get("p_none", DESCRIPTIVE_P_NONE)
    for it, v in zip(items, votes):
        base = [v["embedding"], v["lexicon"], v["face"]]
        vs = base + ([v["llm"]] if v["llm"] is not None else [])
        rec = reconcile(it["query"], vs, v["llm_intent"], **rule)
        emb = v["embedding"]
        row = {"reconciled": family_of(rec.intent.emotions),
               "reconciled_no_llm": family_of(reconcile(it["query"], base, None, **rule).intent.emotions),
               "embedding": "none" if emb.none >= p_none else family_of(emb.ranked()[:1]),
               "lexicon": family_of(v["lexicon"].ranked()[:1])}
        if v["face"].scores:  # scored on the questions that describe a facial action
            row["face"] = family_of(v["face"].ranked()[:1])
        if v["llm"] is not None:
            row["llm"] = family_of(v["llm"].ranked()[:1])
        out.append(row)
    return out


def _acc(pairs: list, r: str) -> str:
    got = [(it, p) for it, p in pairs if r in p]
    if not got:
        return "–"
    return f"{sum(p[r] == it['family'] for it, p in got) / len(got):.0%} ({len(got)})"


def table(items: list[dict], preds: list[dict[str, str]]) -> str:
    """Markdown tables: accuracy (items answered) per reader, per part; then per label family."""
    lines = []
    readers = [r for r in READERS if any(r in p for p in preds)]
    for part in ("tune", "heldout"):
        sel = [(it, p) for it, p in zip(items, preds) if it["split"] == part]
        if not sel:
            continue
        para = [(it, p) for it, p in sel if it.get("paraphrase")]
        lines.append(f"\n{part} part: {len(sel)} items ({len(para)} paraphrases); family accuracy (items)")
        lines.append("| reader | all | paraphrases |")
        lines.append("|---|---|---|")
        for r in readers:
            lines.append(f"| {r} | {_acc(sel, r)} | {_acc(para, r)} |")
        fams = sorted({it["family"] for it, _ in sel})
        lines.append("\n| family | " + " | ".join(readers) + " |")
        lines.append("|---|" + "---|" * len(readers))
        for fam in fams:
            fs = [(it, p) for it, p in sel if it["family"] == fam]
            lines.append(f"| {fam} | " + " | ".join(_acc(fs, r) for r in readers) + " |")
    return "\n".join(lines)


def grid(items: list[dict], votes: list[dict]) -> tuple[dict, float]:
    """Choose the rule's weights and thresholds on the tune part only."""
    tv = [(it, v) for it, v in zip(items, votes) if it["split"] == "tune"]
    tune, tvotes = [it for it, _ in tv], [v for _, v in tv]
    best, best_acc = {}, -1.0
    for wl, we, wx, wf, keep, pn in itertools.product((0.0, 0.25, 0.5, 1.0, 1.5), (0.5, 1.0, 1.5, 2.0), (0.5, 1.0),
                                                      (1.0, 2.0), (0.5, 0.6, 0.8), (0.2, 0.3, 0.5)):
        rule = {"weights": {"llm": wl, "embedding": we, "lexicon": wx, "face": wf}, "keep": keep, "p_none": pn}
        preds = predictions(tune, tvotes, **rule)
        acc = sum(p["reconciled"] == it["family"] for it, p in zip(tune, preds)) / len(tune)
        if acc > best_acc:
            best, best_acc = rule, acc
    return best, best_acc


def run(path: Path, model: str | None, do_grid: bool = False, log=print, cached_only: bool = False) -> str:
    items = load(path)
    t0 = time.monotonic()
    llm = llm_intents(items, model, log=log, cached_only=cached_only)
    votes = votes_for(items, llm)
    rule: dict = {}
    head = f"intent eval on {path} ({len(items)} items), LLM: {model or 'none'}"
    if do_grid:
        rule, acc = grid(items, votes)
        head += f"\nrule chosen on the tune part: {rule} (tune accuracy {acc:.0%})"
    preds = predictions(items, votes, **rule)
    return head + table(items, preds) + f"\n\n({time.monotonic() - t0:.0f}s)"
