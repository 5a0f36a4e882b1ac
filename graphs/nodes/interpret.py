"""interpret: the question's reading (agents/intent, read by the route node) -> the typed Intent the graph
searches with (agents/intent/resolve.intent_from), resolved against the previous turn for a follow-up ("and
him?" keeps the emotions asked before). "The one before that" (mode previous) keeps the previous intent and
asks for a moment earlier than the one shown last. No LLM call: the trained reader is what reads questions
(docs/reader.md); the reader's whole reading is in the step trace."""

from __future__ import annotations

import time

from langgraph.runtime import Runtime

from agents.intent import intent_from, read_question
from agents.intent.reading import Reading
from agents.schemas import TimeRef
from graphs.nodes.common import event
from graphs.state import Context, State


def interpret(state: State, runtime: Runtime[Context]) -> dict:
    t0 = time.monotonic()
    reading = (Reading.model_validate(state["reading"]) if state.get("reading")
               else read_question(state["query"], state.get("last_query")))
    previous = state.get("intent")
    if state.get("mode") == "previous" and previous is not None:
        intent = previous.model_copy(update={"time": TimeRef(kind="earlier"), "temporal_hint": "none"})
    else:
        intent = intent_from(reading, previous if reading.prev is not None else None)
    flags = []
    if intent.presence_question:
        flags.append("presence_query")
    elif intent.descriptive:
        flags.append("descriptive_query")
    return {"intent": intent, "flags": flags,
            "events": [event(node="interpret", intent=intent.model_dump(), seconds=round(time.monotonic() - t0, 3),
                             reader={"mode": reading.mode, "emotions": reading.probs, "keeps": reading.keeps,
                                     "seconds": reading.seconds})]}
