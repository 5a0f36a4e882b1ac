"""Intent from several readers (LLM, zero-shot embedding, lexicon) reconciled by a measured rule."""

from agents.intent.reconcile import IntentReading, reconcile
from agents.intent.readers import ReaderVote, embedding_reader, keyword_intent, lexicon_reader, llm_reader

__all__ = ["IntentReading", "ReaderVote", "embedding_reader", "keyword_intent", "lexicon_reader", "llm_reader",
           "reconcile", "read_intent"]


def read_intent(llm, query: str, deadline: float | None = None, **kw) -> IntentReading:
    """Ask every reader, then reconcile (agents.intent.reconcile). The LLM is not asked when the question
    names exactly one emotion and the zero-shot text reader's top label is that same emotion (nothing
    denied): its vote could not change the result, and the call is ~2.5 s of a question on 2 cores."""
    emb, lex = embedding_reader(query), lexicon_reader(query)
    agreed = named_and_agreed(emb, lex)
    if llm is not None and agreed:
        lv, llm_intent = ReaderVote(reader="llm", ok=False, note=f"not asked: the question names {agreed} "
                                    "and the text reader agrees"), None
    else:
        lv, llm_intent = llm_reader(llm, query, deadline)
    reading = reconcile(query, [lv, emb, lex], llm_intent, **kw)
    if llm is None:
        reading.flags.append("intent_without_llm")
    elif not lv.ok and not agreed:
        reading.flags.append("llm_fallback:interpret")
    return reading


def named_and_agreed(emb: ReaderVote, lex: ReaderVote) -> str | None:
    """The one emotion the question names when the text reader's top label agrees, else None."""
    if len(lex.scores) != 1 or lex.negated or emb.negated or not emb.scores:
        return None
    (named,) = lex.scores
    top = max(emb.scores, key=emb.scores.get)
    return named if top == named else None
