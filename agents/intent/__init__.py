"""Intent from several readers (LLM, zero-shot embedding, lexicon) reconciled by a measured rule."""

from agents.intent.reconcile import IntentReading, reconcile
from agents.intent.readers import ReaderVote, embedding_reader, keyword_intent, lexicon_reader, llm_reader

__all__ = ["IntentReading", "ReaderVote", "embedding_reader", "keyword_intent", "lexicon_reader", "llm_reader",
           "reconcile", "read_intent"]


def read_intent(llm, query: str, deadline: float | None = None, **kw) -> IntentReading:
    """Ask every reader, then reconcile (agents.intent.reconcile)."""
    lv, llm_intent = llm_reader(llm, query, deadline)
    votes = [lv, embedding_reader(query), lexicon_reader(query)]
    reading = reconcile(query, votes, llm_intent, **kw)
    if not lv.ok:
        reading.flags.append("intent_without_llm" if llm is None else "llm_fallback:interpret")
    return reading
