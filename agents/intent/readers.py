"""The intent readers: each reads the question on its own and says which labels it hears.

- `llm`: the LLM's structured Intent (agents.prompts.interpret); its emotions are ranked.
- `embedding`: zero-shot MiniLM similarity to hand-written label descriptions and examples
  (tools.perception.text_emotion).
- `lexicon`: the emotion words the question contains (tools.labels), negated words left out.
- `face`: the facial actions the question describes ("her brows knit and the corners of her mouth turn
  down"), as FACS Action Units (tools.labels.face_actions), scored against the EMFACS-style prototypes the
  emotion tool uses (tools.perception.emotion.PROTOTYPES) by cosine.

Every reader returns a `ReaderVote`: scores in [0, 1] per label, and the labels the question denies.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents import prompts
from agents.errors import LLMError
from agents.llm import LLMClient
from agents.schemas import Intent
from tools.labels import Emotion, face_actions, lexicon_emotions, valence
from tools.perception.text_emotion import split_negation

_TEMPORAL = {"start": ("beginning", "start", "first", "early", "opening"),
             "end": ("end", "ending", "last", "final", "finally", "late"),
             "middle": ("middle", "halfway", "midway")}
_MODAL = {"voice": ("voice", "sound", "sounds", "tone", "shout", "shouts", "yell", "yells", "yelling", "scream",
                    "screams", "sigh", "sighs", "hear", "voiced", "audio"),
          "words": ("say", "said", "says", "saying", "talk", "talks", "mention", "mentions", "word", "words",
                    "tell", "tells", "speak", "speaks", "speech"),
          "face": ("face", "look", "looks", "looked", "looking", "smile", "frown", "expression", "eyes", "brow",
                   "brows", "mouth", "jaw", "lips", "glare", "glares", "stare"),
          "motion": ("move", "moves", "motion", "twitch", "gesture")}
_EVERY = ("moments", "times", "all", "every", "each", "whenever", "parts", "scenes")


class LLMRead(BaseModel):
    """What the LLM is asked for: a compact answer (about 20 tokens). Extra keys a model adds are ignored."""

    model_config = ConfigDict(extra="ignore")

    emotions: list[Emotion] = Field(default_factory=list, max_length=3)
    arousal: Literal["high", "low", "any"] = "any"
    every: bool = False

    def to_intent(self, query: str) -> Intent:
        return Intent(emotions=list(dict.fromkeys(self.emotions)), arousal=self.arousal,
                      n_moments=3 if self.every else 1, search_text=query[:300])


class ReaderVote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reader: Literal["llm", "embedding", "lexicon", "face"]
    scores: dict[str, float] = Field(default_factory=dict, description="label -> [0, 1], strongest first")
    negated: list[str] = Field(default_factory=list)
    none: float = Field(default=0.0, ge=0, le=1, description="how strongly this reader hears no emotion")
    ok: bool = True
    note: str = ""

    def ranked(self) -> list[str]:
        return [k for k, _ in sorted(self.scores.items(), key=lambda kv: -kv[1]) if _ > 0]


def words(query: str) -> list[str]:
    return re.findall(r"[a-z']+", query.lower())


def keyword_intent(query: str) -> Intent:
    """Deterministic intent (temporal hint, modalities, count, lexicon emotions): the no-LLM fallback
    and the source of the fields the readers agree on."""
    ws = words(query)
    clean, _neg = split_negation(query)
    emotions = lexicon_emotions(clean)
    temporal = next((k for k, opts in _TEMPORAL.items() if any(w in opts for w in ws)), "none")
    modalities = [m for m, opts in _MODAL.items() if any(w in opts for w in ws)]
    v = {1: "positive", -1: "negative"}.get(valence(emotions[0]), "any") if emotions else "any"
    n = 3 if any(w in _EVERY for w in ws) else 1
    return Intent(emotions=emotions[:4], valence=v, modalities=modalities, temporal_hint=temporal,
                  n_moments=n, search_text=query[:300])


def every_time(query: str) -> bool:
    ws = words(query)
    return any(w in _EVERY for w in ws) or "each time" in query.lower()


def lexicon_reader(query: str) -> ReaderVote:
    clean, negated = split_negation(query)
    labs = lexicon_emotions(clean, neutral=True)  # "the calmest part" names Neutral
    scores = {lab: round(1.0 - 0.2 * i, 2) for i, lab in enumerate(labs[:4])}
    if not labs and len(negated) >= 2:  # "neither X nor Y": none of the named feelings
        scores = {"Neutral": 1.0}
    return ReaderVote(reader="lexicon", scores=scores, negated=negated,
                      note=("words: " + ", ".join(labs)) if labs else "no emotion word")


def face_reader(query: str) -> ReaderVote:
    """Which emotions the facial actions a question describes fit: the cosine between the described Action
    Units and each emotion's prototype, normalised to sum 1. No scores when no facial action is described.
    (Not tools.perception.emotion.facs_scores: that one reads measured AU intensities over a neutral face and
    gates each emotion on a key AU, so a described "her eyes go wide" alone would score nothing.)"""
    import numpy as np

    from tools.perception.emotion import PROTOTYPES
    clean, negated = split_negation(query)
    aus = face_actions(clean)
    if not aus:
        return ReaderVote(reader="face", negated=negated, note="no facial action described")
    units = sorted({*aus, *(a for p in PROTOTYPES.values() for a in p)})
    m = np.array([1.0 if a in aus else 0.0 for a in units])
    cos = {}
    for e, proto in PROTOTYPES.items():
        p = np.array([proto.get(a, 0.0) for a in units])
        c = float(m @ p / (np.linalg.norm(m) * np.linalg.norm(p)))
        if c > 0:
            cos[e] = c
    total = sum(cos.values()) or 1.0
    scores = {e: round(c / total, 3) for e, c in sorted(cos.items(), key=lambda kv: -kv[1])}
    return ReaderVote(reader="face", scores=scores, negated=negated,
                      note=f"facial actions {', '.join(aus)}" + (f": fits {next(iter(scores))}" if scores else ""))


def embedding_reader(query: str) -> ReaderVote:
    from tools.perception.text_emotion import read
    te = read(query)
    top = te.top(4)
    return ReaderVote(reader="embedding", scores={k: round(p, 3) for k, p in top}, negated=te.negated,
                      none=te.p_none, note="; ".join(te.reasons))


def llm_reader(llm: LLMClient | None, query: str, deadline: float | None = None) -> tuple[ReaderVote, Intent | None]:
    if llm is None:
        return ReaderVote(reader="llm", ok=False, note="no LLM"), None
    try:
        read = llm.structured(prompts.interpret(query), LLMRead, max_tokens=60, deadline=deadline, tag="interpret")
    except LLMError as e:
        return ReaderVote(reader="llm", ok=False, note=f"LLM failed: {str(e)[:120]}"), None
    intent = read.to_intent(query)
    return vote_from_llm_intent(intent), intent


def vote_from_llm_intent(intent: Intent) -> ReaderVote:
    labs = list(dict.fromkeys(intent.emotions))
    only_neutral = labs == ["Neutral"]
    scores = {lab: round(1.0 / (1 + 0.6 * i), 2) for i, lab in enumerate(labs)}
    return ReaderVote(reader="llm", scores=scores, none=1.0 if not labs else 0.0,
                      note=f"emotions {labs}, valence {intent.valence}, arousal {intent.arousal}"
                      + (" (only Neutral)" if only_neutral else ""))
