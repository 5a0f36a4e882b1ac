"""Intent from several readers (LLM, zero-shot embedding, lexicon, described facial actions) reconciled by a
measured rule."""

from agents.intent.reconcile import WEIGHTS, IntentReading, reconcile
from agents.intent.readers import (
    ReaderVote,
    embedding_reader,
    face_reader,
    keyword_intent,
    lexicon_reader,
    llm_reader,
)

__all__ = ["IntentReading", "ReaderVote", "embedding_reader", "face_reader", "keyword_intent", "lexicon_reader",
           "llm_reader", "reconcile", "read_intent"]


def read_intent(llm, query: str, deadline: float | None = None, llm_weight: float | None = None,
                **kw) -> IntentReading:
    """Ask every reader, then reconcile (agents.intent.reconcile). The LLM is not asked when its vote
    weight is 0 (`llm_weight`, from Settings.intent_llm_weight in the graph), or when the question names
    exactly one emotion and the zero-shot text reader's top label is that same emotion (nothing denied):
    its vote could not change the result, and the call is ~2.5 s of a question on 2 cores."""
    weights = dict(kw.pop("weights", None) or WEIGHTS)
    if llm_weight is not None:
        weights["llm"] = llm_weight
    emb, lex = embedding_reader(query), lexicon_reader(query)
    agreed = named_and_agreed(emb, lex)
    asked = llm is not None and weights["llm"] > 0 and not agreed
    if llm is not None and weights["llm"] <= 0:
        lv, llm_intent = ReaderVote(reader="llm", ok=False, note="not asked: its vote weight is 0 "
                                    "(Settings.intent_llm_weight)"), None
    elif llm is not None and agreed:
        lv, llm_intent = ReaderVote(reader="llm", ok=False, note=f"not asked: the question names {agreed} "
                                    "and the text reader agrees"), None
    else:
        lv, llm_intent = llm_reader(llm, query, deadline)
    reading = reconcile(query, [lv, emb, lex, face_reader(query)], llm_intent, weights=weights, **kw)
    if llm is None:  # (a zero weight is the configuration, not a failure: the trace says "not asked")
        reading.flags.append("intent_without_llm")
    elif asked and not lv.ok:
        reading.flags.append("llm_fallback:interpret")
    return reading


def named_and_agreed(emb: ReaderVote, lex: ReaderVote) -> str | None:
    """The one emotion the question names when the text reader's top label agrees, else None."""
    if len(lex.scores) != 1 or lex.negated or emb.negated or not emb.scores:
        return None
    (named,) = lex.scores
    top = max(emb.scores, key=emb.scores.get)
    return named if top == named else None
