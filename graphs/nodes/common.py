"""What every node shares: the resolved context, the step-trace event, evidence ids, the turn's deadline."""

from __future__ import annotations

import dataclasses
import time

from langgraph.runtime import Runtime

from graphs.state import Context, State, resolve
from tools.schemas import Evidence


def ctx(runtime: Runtime[Context]) -> Context:
    return resolve(runtime.context)


def view(runtime: Runtime[Context], state: State) -> Context:
    """The context as this turn sees it: when the turn asks about one person (`state["person"]`), a copy
    whose index and retriever are that person's view; the shared context itself is never changed."""
    from tools.who import person_view
    deps = ctx(runtime)
    if state.get("person") is None:
        return deps
    index, retriever = person_view(deps.index, deps.retriever, state["person"],
                                   deps.extra.setdefault("person_views", {}))
    return dataclasses.replace(deps, index=index, retriever=retriever)


def event(**kw) -> dict:
    return {"t": round(time.time(), 2), **kw}


def next_id(evidence: list[Evidence], offset: int = 0) -> str:
    return f"E{len(evidence) + offset + 1}"


def out_of_time(state: State) -> bool:
    return time.time() > state.get("deadline", float("inf"))


def mono_deadline(state: State) -> float:
    """The turn's deadline on the monotonic clock (what the LLM client's timeouts use)."""
    return time.monotonic() + max(0.0, state.get("deadline", time.time() + 600) - time.time())


def further_round(intent, verified) -> bool:
    """This round continues a several-moment search ("every time ...": after_judge searched on because an
    earlier round accepted some). verify then skips the zoom on large faces and judge the LLM (latency)."""
    return intent.n_moments > 1 and any(v.accept and v.judged for v in verified)
