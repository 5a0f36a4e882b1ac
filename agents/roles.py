"""LLM roles: intent interpreter, candidate judge, rationale writer — each with a deterministic fallback
and a deterministic checker, so a garbage or silent LLM degrades the answer instead of breaking it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents import prompts
from agents.errors import LLMError
from agents.llm import LLMClient
from agents.schemas import Intent
from tools.labels import ALIASES, LEXICON
from tools.perception.emotion import family
from tools.schemas import Evidence, TimeWindow

# ---------------------------------------------------------------- intent

def keyword_intent(query: str) -> Intent:
    """Deterministic intent from the lexicon (agents.intent.readers): the no-LLM fallback."""
    from agents.intent.readers import keyword_intent as kw
    return kw(query)


def read_intent(llm: LLMClient | None, query: str, deadline: float | None = None,
                llm_weight: float | None = None):
    """Every reader's view of the question and the reconciled intent (agents.intent): an IntentReading."""
    from agents.intent import read_intent as ri
    return ri(llm, query, deadline, llm_weight=llm_weight)


def interpret(llm: LLMClient | None, query: str, deadline: float | None = None) -> tuple[Intent, list[str]]:
    """The reconciled intent (LLM, zero-shot embedding and lexicon readers; agents.intent.reconcile)."""
    reading = read_intent(llm, query, deadline)
    return reading.intent, list(reading.flags)


# ---------------------------------------------------------------- judge

class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate: int = Field(ge=1, le=10)
    accept: bool
    emotion: str
    confidence: float = Field(ge=0, le=1)


def verdict_schema(n: int, options: list[str]) -> type[BaseModel]:
    """A schema that only admits the offered labels and exactly the candidate numbers shown."""
    label = Literal[tuple(options)]  # type: ignore[valid-type]
    item = create_model("CandidateVerdict", __config__=ConfigDict(extra="forbid"),
                        candidate=(int, Field(ge=1, le=n)), accept=(bool, ...), emotion=(label, ...),
                        confidence=(float, Field(ge=0, le=1)))
    return create_model("Verdicts", __config__=ConfigDict(extra="forbid"),
                        verdicts=(list[item], Field(min_length=1, max_length=n)))


def judge(llm: LLMClient | None, query: str, tools_text: str, blocks: list[str], options: list[str],
          deadline: float | None = None) -> list[Verdict] | None:
    if llm is None:
        return None
    schema = verdict_schema(len(blocks), options)
    try:
        out = llm.structured(prompts.judge(query, tools_text, blocks, options), schema,
                             max_tokens=60 * len(blocks) + 40, deadline=deadline, tag="judge")
    except LLMError:
        return None
    return [Verdict.model_validate(v.model_dump()) for v in out.verdicts]


# ---------------------------------------------------------------- rationale

RATIONALE_ITEMS = 3   # evidence items shown to the rationale writer (face first, see graphs/nodes/answer.py)
# One claim: generation is most of a rationale call on 2 cores (~29 tokens/s: a second claim cost ~1.2 s),
# and the 0.5B model's second claim was a repeat or an echo of the question, pruned, in most answers
# (README "Question latency"). The evidence panel shows every item; the template is the fallback.
RATIONALE_CLAIMS = 1
BRIEF_CHARS = 180


def brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """`text` cut to whole sentences within `limit` characters (a hard cut with "…" if the first is longer)."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(". ", 0, limit), text.rfind("; ", 0, limit))
    return text[: cut + 1] if cut > limit // 3 else text[: limit - 1].rstrip() + "…"


def claims_schema(ids: list[str]) -> type[BaseModel]:
    """Rationale as claims, each naming one evidence id from those offered (enforced by the JSON schema)."""
    claim = create_model("Claim", __config__=ConfigDict(extra="forbid"),
                         text=(str, Field(max_length=240)), evidence=(Literal[tuple(ids)], ...))  # type: ignore
    return create_model("Claims", __config__=ConfigDict(extra="forbid"),
                        claims=(list[claim], Field(min_length=1, max_length=RATIONALE_CLAIMS)))


_CITE = re.compile(r"\[([A-Za-z0-9_.:-]+)\]")


def _emotion_words(text: str) -> set[str]:
    """The emotion families the text's emotion words name ("terrified" → Fear, as Horror's family): a claim
    may say "terrified" of a face its evidence reads as fear, since the face cannot tell them apart."""
    words = re.findall(r"[a-z']+", text.lower())
    return {family(e) for w in words for e in [LEXICON.get(w) or ALIASES.get(w)] if e}


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", text))


def check_rationale(text: str, evidence: dict[str, Evidence], window: TimeWindow,
                    label: str | None = None) -> tuple[str, list[str], list[str]]:
    """Keep only sentences that cite at least one evidence item, whose every citation resolves to evidence
    overlapping the moment, and whose emotion words and numbers are backed by the label or the cited
    evidence. Returns (clean text, cited ids, problems)."""
    problems: list[str] = []
    kept, cited, seen = [], [], set()
    for sent in re.split(r"(?<=[.!?])\s+", text.strip()):
        if not sent:
            continue
        ids = _CITE.findall(sent)
        bad = [i for i in ids if i not in evidence or not evidence[i].window.overlaps(window)]
        if not ids:
            problems.append(f"uncited claim removed: {sent[:80]!r}")
            continue
        if bad:
            problems.append(f"invalid citation {bad} removed: {sent[:80]!r}")
            continue
        backing = " ".join(evidence[i].text + " " + " ".join(map(str, evidence[i].values.values())) for i in ids)
        claim = _CITE.sub("", sent)
        if len(re.findall(r"[A-Za-z]", claim)) < 3:  # "... [E6]." says nothing: a citation is not a claim
            problems.append(f"empty claim removed: {sent[:80]!r}")
            continue
        if claim.strip().lower() in seen:
            problems.append(f"repeated claim removed: {sent[:80]!r}")
            continue
        seen.add(claim.strip().lower())
        foreign = _emotion_words(claim) - _emotion_words(backing)
        if foreign:
            problems.append(f"claim names {sorted(foreign)} that its evidence does not show: {sent[:80]!r}")
            continue
        unbacked = {n for n in _numbers(claim) if n not in backing}
        if unbacked:
            problems.append(f"claim has numbers {sorted(unbacked)} not in its evidence: {sent[:80]!r}")
            continue
        kept.append(sent)
        cited += [i for i in ids if i not in cited]
    return " ".join(kept), cited, problems


def template_rationale(label: str, items: list[Evidence]) -> tuple[str, list[str]]:
    """Deterministic rationale from the strongest evidence, each sentence citing its source."""
    sents = [f"{e.text[0].upper() + e.text[1:].rstrip('.')} [{e.id}]." for e in items[:3] if e.text]
    lead = f"Read as {label}: " if sents else f"Read as {label}."
    return lead + " ".join(sents), [e.id for e in items[:3]]


def write_rationale(llm: LLMClient | None, query: str, label: str, window: TimeWindow,
                    items: list[Evidence], deadline: float | None = None) -> tuple[str, list[str], list[str]]:
    """LLM rationale checked against the evidence: claims its evidence does not support are dropped; a
    repair round only when no claim held; the evidence template as the fallback."""
    evidence = {e.id: e for e in items}
    # the model sees a brief of the first few items (shorter prefill: ~2 s less per call on 2 cores); the
    # claims are still checked against the full evidence
    lines = [f"[{e.id}] {e.tool} {e.window.label()}: {brief(e.text)}" for e in items[:RATIONALE_ITEMS]]
    flags: list[str] = []
    if llm is not None and items:
        msgs = prompts.rationale(query, label, window.label(), lines)
        best: tuple[str, list[str]] = ("", [])
        for attempt in range(2):
            try:
                out = llm.structured(msgs, claims_schema([e.id for e in items[:RATIONALE_ITEMS]]), max_tokens=200,
                                     deadline=deadline, tag="rationale")
            except LLMError:
                flags.append("llm_fallback:rationale")
                break
            joined = " ".join(c.text.strip().rstrip(".").replace("[", "(").replace("]", ")")
                              + f" [{c.evidence}]." for c in out.claims if len(c.text.strip()) >= 3)
            text, cited, problems = check_rationale(joined, evidence, window, label)
            if text and not problems:
                return text, cited, flags
            if len(cited) > len(best[1]):
                best = (text, cited)
            if best[0]:  # some claims held: ship them pruned. A repair round (~2 s on 2 cores) ended
                break    # pruned anyway in 9 of 9 bench questions (scripts/bench_query.py, 30 Nov)
            msgs = msgs + [{"role": "assistant", "content": out.model_dump_json()},
                           {"role": "user", "content": "Problems: " + "; ".join(problems[:3]) +
                            ". Rewrite the claims so each states only what its evidence item says."}]
        if best[0]:
            return best[0], best[1], flags + ["rationale_pruned"]
        flags.append("rationale_repair_failed")
    text, cited = template_rationale(label, items)
    return text, cited, flags + ["rationale_template"]
