"""interpret: the vague question → a typed Intent (agents.roles.interpret). "A while B", where B is a person
showing an emotion ("how does the guy on the right look while she's falling apart?"): A is read as the
question and B's emotions (read without the LLM) become `intent.during`; a B that reads no emotion, or only
Neutral ("while she listens"), leaves the question whole.

A question about being in the picture ("when does he walk out?", "when is nobody on screen?":
agents/intent/presence.py) that names no emotion becomes a description with `intent.presence` set: its
moments come from the face's presence (graphs/nodes/localise.py), and the tools only read the emotion there.
A question about the voice or the words set where nobody is seen ("… sound nervous while no one is on
screen", an off-camera voice) keeps its emotion, with `intent.presence` = "absent" as a condition on where."""

from __future__ import annotations

import time

from langgraph.runtime import Runtime

from agents import roles
from agents.intent.presence import read_presence
from agents.intent.reconcile import names_feeling
from agents.schemas import During
from graphs.nodes.common import ctx, event, mono_deadline
from graphs.state import Context, State
from tools.who import split_while


def interpret(state: State, runtime: Runtime[Context]) -> dict:
    t0 = time.monotonic()
    deps = ctx(runtime)
    main, clause = split_while(state["query"])
    # a condition at rest ("while she listens" reads Neutral) is not an emotion to wait for
    during = [e for e in roles.read_intent(None, clause).intent.emotions if e != "Neutral"][:2] if clause else []
    reading = roles.read_intent(deps.llm_for("interpret"), main if during else state["query"],
                                deadline=mono_deadline(state),
                                llm_weight=getattr(deps.settings, "intent_llm_weight", None))
    intent = reading.intent
    if during:
        intent = intent.model_copy(update={"during": During(clause=clause, emotions=during)})
    presence = read_presence(state["query"])
    named = names_feeling(reading.votes)
    heard = bool(set(intent.modalities) & {"voice", "words"})  # "... voice sound panicky while nobody is on screen"
    flags = list(reading.flags)
    if presence and not named and not heard and not during:
        intent = intent.model_copy(update={"presence": presence, "emotions": [], "valence": "any", "arousal": "any"})
        flags = [f for f in flags if f != "descriptive_query"] + ["presence_query"]
    elif presence == "absent" and heard and not during:  # a voice over an empty picture: the setting is a condition
        intent = intent.model_copy(update={"presence": presence})
    return {"intent": intent, "flags": flags,
            "events": [event(node="interpret", intent=intent.model_dump(), seconds=round(time.monotonic() - t0, 2),
                             readers={v.reader: {"ok": v.ok, "scores": v.scores, "negated": v.negated,
                                                 "none": v.none, "note": v.note} for v in reading.votes},
                             scores=reading.scores, rule=reading.rule)]}
