"""Reconcile the intent readers into one Intent by a weighted vote (the rule measured in evals/intent.py).

score(label) = sum over readers that answered of weight(reader) * reader's score(label); a label any reader
hears denied ("not angry, just ...") scores 0. The top label and any label within `KEEP` of it are the
asked emotions. The lexicon is one voice like the others, never a veto.

Descriptive (no emotion asked): only when no emotion word and no facial action was written, the LLM names
no emotion (or only Neutral without the user saying calm/neutral), and the embedding reader's "no feeling"
probability beats DESCRIPTIVE_P_NONE or (with an LLM that answered) its top label is below EMB_SURE. A
question that names an emotion is never descriptive.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from agents.intent.readers import ReaderVote, every_time, keyword_intent
from agents.schemas import Intent
from tools.labels import lexicon_emotions, valence
from tools.perception.text_emotion import split_negation

# Chosen on the tune part of evals/data/intent_dev.jsonl (`affectlens eval-intent --grid`; equal weights
# won among those tried, with the LLM answers the tune part had cached then: none, see README; the face
# reader's 2 among 0.5, 1, 2, 3, where 2 and 3 tied).
WEIGHTS: dict[str, float] = {"llm": 1.0, "embedding": 1.0, "lexicon": 1.0, "face": 2.0}
KEEP = 0.5
DESCRIPTIVE_P_NONE = 0.5
EMB_SURE = 0.5   # an embedding reading below this does not outvote an LLM and a lexicon that hear no feeling
EVERY_LIMIT = 10


class IntentReading(BaseModel):
    """The reconciled intent and what each reader said (kept in the interpret step's trace)."""

    model_config = ConfigDict(extra="forbid")

    intent: Intent
    votes: list[ReaderVote]
    scores: dict[str, float] = Field(default_factory=dict)
    rule: str = ""
    flags: list[str] = Field(default_factory=list)


def names_feeling(votes: list[ReaderVote]) -> bool:
    """Whether the question's own words name a feeling: an emotion word (the lexicon) or a facial action (the
    face reader), which are a feeling's signs. Readers that failed do not count."""
    return any(v.ok and v.scores for v in votes if v.reader in ("lexicon", "face"))


def reconcile(query: str, votes: list[ReaderVote], llm_intent: Intent | None = None,
              weights: dict[str, float] | None = None, keep: float = KEEP,
              p_none: float = DESCRIPTIVE_P_NONE, every_limit: int = EVERY_LIMIT) -> IntentReading:
    w = weights or WEIGHTS
    by = {v.reader: v for v in votes if v.ok and w.get(v.reader, 0.0) > 0}  # weight 0: not consulted at all
    negated = sorted({lab for v in votes for lab in v.negated})
    scores: dict[str, float] = {}
    for v in by.values():
        for lab, s in v.scores.items():
            scores[lab] = scores.get(lab, 0.0) + w.get(v.reader, 0.0) * s
    for lab in negated:
        scores.pop(lab, None)
    flags: list[str] = []
    named = names_feeling(list(by.values()))  # weight 0: not consulted
    said_neutral = "Neutral" in lexicon_emotions(split_negation(query)[0], neutral=True)  # calm, calmest, neutral
    llm = by.get("llm")
    llm_none = llm is None or not llm.scores or (list(llm.scores) == ["Neutral"] and not said_neutral)
    emb = by.get("embedding")
    emb_none = emb is None or emb.none >= p_none
    if llm is not None and llm_none and emb is not None and max(emb.scores.values(), default=0.0) < EMB_SURE:
        emb_none = True  # the LLM and the lexicon hear no feeling, and the embedding reader is unsure
    if not said_neutral and "Neutral" in scores and len(scores) > 1:
        scores["Neutral"] *= 0.5  # a stray Neutral vote should not outrank an emotion another reader heard
    if not named and llm_none and emb_none and not said_neutral:
        emotions: list[str] = []
        flags.append("descriptive_query")
    else:
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        top = ranked[0][1] if ranked else 0.0
        emotions = [lab for lab, s in ranked if s >= keep * top and s > 0][:4]
    base = keyword_intent(query)
    v = {1: "positive", -1: "negative"}.get(valence(emotions[0]), "any") if emotions else "any"
    arousal = llm_intent.arousal if llm_intent is not None else base.arousal
    modalities = sorted(set(base.modalities) | set(llm_intent.modalities if llm_intent else []))
    # how many moments: from the question's words only. The LLM's "every" is not used: on the intent dev
    # set the words find all 17 "every time" questions (5 false of 135), while the 0.5B model marked
    # singular questions ("when does she start crying?") as "every", tripling the rationale calls.
    n = every_limit if every_time(query) else 1
    search = (llm_intent.search_text if llm_intent and llm_intent.search_text else query)[:300]
    intent = Intent(emotions=emotions, valence=v, arousal=arousal if emotions else "any",
                    modalities=modalities, who=llm_intent.who if llm_intent else None,
                    temporal_hint=base.temporal_hint, n_moments=n, search_text=search)
    rule = (f"weighted vote {w}, keep >= {keep:g} x top"
            + (f", negated {negated}" if negated else "") + f", readers {sorted(by)}")
    return IntentReading(intent=intent, votes=votes, scores={k: round(s, 3) for k, s in scores.items()},
                         rule=rule, flags=flags)
