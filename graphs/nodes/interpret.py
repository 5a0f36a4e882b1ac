"""interpret: the vague question → a typed Intent (agents.roles.interpret)."""

from __future__ import annotations

import time

from langgraph.runtime import Runtime

from agents import roles
from graphs.nodes.common import ctx, event, mono_deadline
from graphs.state import Context, State


def interpret(state: State, runtime: Runtime[Context]) -> dict:
    t0 = time.monotonic()
    deps = ctx(runtime)
    reading = roles.read_intent(deps.llm_for("interpret"), state["query"], deadline=mono_deadline(state),
                                llm_weight=getattr(deps.settings, "intent_llm_weight", None))
    intent = reading.intent
    return {"intent": intent, "flags": list(reading.flags),
            "events": [event(node="interpret", intent=intent.model_dump(), seconds=round(time.monotonic() - t0, 2),
                             readers={v.reader: {"ok": v.ok, "scores": v.scores, "negated": v.negated,
                                                 "none": v.none, "note": v.note} for v in reading.votes},
                             scores=reading.scores, rule=reading.rule)]}
