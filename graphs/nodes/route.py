"""route: what kind of turn this is, from the trained question reader (agents/intent): a new question, "show
me another one" (next), "the one before that" (previous), "why?" / "are you sure?" (why), or the emotional
arc (summary, compare). The reader reads the question with the previous one of the conversation;
a follow-up with nothing to follow (no moments shown yet) is a new question. The reading is kept in the
state (`reading`) for interpret and in the step trace."""

from __future__ import annotations

import time

from langgraph.runtime import Runtime

from agents.intent import read_question
from agents.intent.reading import Reading
from agents.schemas import TimeRef
from graphs.nodes.common import ctx
from graphs.state import RESET, Context, State


def _answers_ask_back(state: State, reading: Reading) -> Reading:
    """Rule 7 (docs/reader.md): after an arc question that asked which person was meant ("how does the man feel
    over the video?"), a reply that names only a person ("the right one", "Anna") is that arc question about
    that person. (A moment question needs no rule: its reply keeps the emotions asked.)"""
    prev, last = state.get("reading") or {}, state.get("answer")
    asked = last is not None and any(f.startswith("ask_person") for f in last.flags)
    if (asked and prev.get("mode") in ("summary", "compare") and reading.mode == "new" and not reading.emotions
            and reading.person.kind not in ("none", "everyone") and reading.presence is None):
        time = TimeRef.model_validate(prev["time"]) if prev.get("time") else reading.time  # the arc's own time
        return reading.model_copy(update={"mode": prev["mode"], "time": time})
    return reading


def route(state: State, runtime: Runtime[Context]) -> dict:
    q = state["query"]
    reading = read_question(q, state.get("last_query"))
    reading = _answers_ask_back(state, reading)
    has_prev = bool(state.get("moments"))
    mode = reading.mode
    if mode in ("next", "previous", "why") and not has_prev:
        mode = "new"
    out = {"mode": mode, "rounds": 0, "rejected": [RESET], "flags": [RESET], "candidates": [], "verified": [],
           "reading": reading.model_dump(by_alias=True), "last_query": q,
           "deadline": time.time() + ctx(runtime).settings.query_timeout_s,
           "events": [RESET, {"t": round(time.time(), 2), "node": "route", "mode": mode,
                              "reading": reading.model_dump(by_alias=True, exclude={"probs"})}]}
    if mode not in ("next", "previous", "why"):
        out["shown"] = [RESET]
        out["during"] = {}
        out["presence"] = {}
    return out
