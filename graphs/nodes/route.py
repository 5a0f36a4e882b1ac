"""route: a new question, "show me the next one", or "why?" about the last answer."""

from __future__ import annotations

import re
import time

from langgraph.runtime import Runtime

from agents import roles
from graphs.nodes.common import ctx
from graphs.state import RESET, Context, State

_WHY = re.compile(r"\b(why|explain|how do you know|what makes you|evidence|sure)\b", re.I)
_NEXT = re.compile(r"\b(next|another|other|else|more|again)\b", re.I)


def route(state: State, runtime: Runtime[Context]) -> dict:
    q = state["query"]
    has_prev = bool(state.get("moments"))
    mode = "new"
    if has_prev and _WHY.search(q) and not roles.keyword_intent(q).emotions:
        mode = "why"
    elif has_prev and _NEXT.search(q) and not roles.keyword_intent(q).emotions:
        mode = "next"
    out = {"mode": mode, "rounds": 0, "rejected": [RESET], "flags": [RESET], "candidates": [], "verified": [],
           "deadline": time.time() + ctx(runtime).settings.query_timeout_s,
           "events": [RESET, {"t": round(time.time(), 2), "node": "route", "mode": mode}]}
    if mode == "new":
        out["shown"] = [RESET]
        out["during"] = {}
        out["presence"] = {}
    return out
