"""The question reader: one trained model (agents/intent/model.py) reads a question, with the previous one in
a conversation, into a structured `Reading` (agents/intent/reading.py: mode, emotions, person, time, count,
condition, presence, what a follow-up keeps); `intent_from` (agents/intent/resolve.py) turns it into the
graph's `Intent`. Trained on a written corpus (agents/intent/data/corpus), judged on a frozen blind set
(evals/data/reader_blind.jsonl); docs/reader.md."""

from __future__ import annotations

from agents.intent.model import QuestionReader, default_reader
from agents.intent.reading import Reading
from agents.intent.resolve import intent_from

__all__ = ["QuestionReader", "Reading", "default_reader", "intent_from", "read_question"]


def read_question(query: str, prev: str | None = None) -> Reading:
    """The shipped reader's reading of `query` (`prev`: the previous question of the conversation)."""
    return default_reader().predict(query, prev)
