"""Roles: the intent (the trained question reader), and the LLM's candidate judge and rationale polisher — each with a deterministic fallback
and a deterministic checker, so a garbage or silent LLM degrades the answer instead of breaking it. Which
roles run by default: tools/settings.Settings.llm_role_on (docs/results.md "LLM roles")."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents import prompts
from agents.errors import LLMError
from agents.compose import MAX_CHARS, Composed
from agents.llm import LLMClient
from agents.schemas import Intent
from tools.labels import ALIASES, LEXICON
from tools.perception.emotion import family
from tools.schemas import Evidence, TimeWindow

# ---------------------------------------------------------------- intent

def interpret(query: str, previous: Intent | None = None) -> Intent:
    """A question's Intent from the trained question reader (agents/intent; docs/reader.md). No LLM reads
    questions: the reader was chosen by measurement on the blind set."""
    from agents.intent import intent_from, read_question
    return intent_from(read_question(query), previous)


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

BRIEF_CHARS = 180


def brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """`text` cut to whole sentences within `limit` characters (a hard cut with "…" if the first is longer)."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(". ", 0, limit), text.rfind("; ", 0, limit))
    return text[: cut + 1] if cut > limit // 3 else text[: limit - 1].rstrip() + "…"


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


class Polished(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_CHARS)


_CODES = re.compile(r"\bAU\s?\d+|\[[A-Za-z]?\d+\]|\bE\d+\b|%|\bprobab|\bmodel\b|\bpx\b|\bpixel", re.I)


def polish_problems(text: str, composed: Composed, label: str) -> list[str]:
    """Why a polished explanation may not replace the composer's: too long, a code, id, number, model or
    probability in it, an emotion word the facts do not name, or a repeat of the facts' time missing."""
    facts = composed.text
    problems = []
    if not text.strip() or len(text) > MAX_CHARS:
        problems.append(f"length {len(text)} (1-{MAX_CHARS})")
    if _CODES.search(text):
        problems.append(f"a code, id or model term: {_CODES.search(text).group(0)!r}")
    extra = _numbers(text) - _numbers(facts)
    if extra:
        problems.append(f"numbers not in the facts: {sorted(extra)}")
    foreign = _emotion_words(text) - _emotion_words(facts) - {family(label)}
    if foreign:
        problems.append(f"emotions the facts do not name: {sorted(foreign)}")
    # what the first sentence says must survive: its times ("from 0:00 to 0:06" in that order) and how sure.
    # The 0.5B model's drafts passed the checks above and still wrote "Person 1 is very likely to look sad when
    # she cheers up" (the time gone, the question echoed) and "occurred at 0:06" for 0:00-0:06
    # (scripts/measure_llm_roles.py, docs/results.md "LLM roles")
    head = composed.sentences[0].text if composed.sentences else facts
    times = re.findall(r"\d+:\d\d(?::\d\d)?", head)
    said = re.findall(r"\d+:\d\d(?::\d\d)?", text)
    if times and said[: len(times)] != times:
        problems.append(f"the moment's time {times} is not said as in the facts ({said})")
    from tools.confidence import BELOW, TARGETS
    sure = next((w for w in [*(w for _, w in TARGETS), BELOW] if w in head), None)
    if sure and sure not in text:
        problems.append(f"how sure ({sure!r}) is not said")
    return problems


def polish_rationale(llm: LLMClient | None, query: str, label: str, composed: Composed,
                     deadline: float | None = None) -> tuple[str, list[str]]:
    """A served model rewrites the composer's sentences (agents/compose.py) as one plain explanation; the
    draft replaces them only when `polish_problems` finds nothing. Returns (text, flags)."""
    if llm is None:
        return composed.text, []
    try:
        out = llm.structured(prompts.polish(query, label, [x.text for x in composed.sentences]), Polished,
                             max_tokens=120, deadline=deadline, tag="rationale")
    except LLMError:
        return composed.text, ["llm_fallback:rationale"]
    text = re.sub(r"\s+", " ", out.text).strip()
    if polish_problems(text, composed, label):
        return composed.text, ["rationale_draft_rejected"]
    return text, ["rationale_polished"]
