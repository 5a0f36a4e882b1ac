"""What every answer carries from its run, whichever node writes it (finish, or arc for summaries).

A question's LLM cost, measured by the graph run itself: `marks` wraps the first node (route) and notes
where each LLM client's call log stands; `costs` wraps the nodes that write the answer and puts the calls
made since then into `answer.stats` (llm_calls, llm_seconds, prompt/cached/prefill/generated tokens). So
`graph.invoke`, `langgraph dev` and `graphs.api.Session` report the same per-question cost; the clients'
own counters run over their whole life. `costs` also puts a damaged file's flag
(tools.index.store.damage_flag) on every answer about it."""

from __future__ import annotations

import functools
from collections.abc import Callable

from langgraph.runtime import Runtime

from graphs.nodes.common import ctx
from graphs.state import Context, State


def damage_flag(index) -> str | None:
    """The index's damaged-file flag (tools.index.store.VideoIndex.damage_flag), None for an intact file
    or an index without the check."""
    fn = getattr(index, "damage_flag", None)
    return fn() if callable(fn) else None


def llm_clients(deps: Context) -> list:
    """The run's distinct LLM clients: the main one and each role's."""
    return list({id(c): c for c in [deps.llm, *deps.role_llms.values()] if c is not None}.values())


def _key(client) -> str:
    return f"{client.base_url}|{client.model}|{id(client)}"


def marks(node: Callable) -> Callable:
    """`node` (the turn's first) plus State.llm_marks: each client's call-log length now."""
    @functools.wraps(node)
    def wrapped(state: State, runtime: Runtime[Context]) -> dict:
        out = node(state, runtime)
        return {**out, "llm_marks": {_key(c): len(c.stats.log) for c in llm_clients(ctx(runtime))}}
    return wrapped


def costs(node: Callable) -> Callable:
    """`node` (one that writes the answer), with the answer's LLM stats replaced by this turn's (the calls
    logged after State.llm_marks; a client without a mark counts from its first call) and the damaged-file
    flag added when the video is damaged."""
    @functools.wraps(node)
    def wrapped(state: State, runtime: Runtime[Context]) -> dict:
        out = node(state, runtime)
        answer = out.get("answer")
        if answer is None:
            return out
        seen = state.get("llm_marks") or {}
        turn: dict[str, float] = {}
        for c in llm_clients(ctx(runtime)):
            for k, v in c.stats.since(seen.get(_key(c), 0)).items():
                turn[k] = round(turn.get(k, 0.0) + v, 2)
        if not turn:  # no LLM: nothing was called
            turn = {"llm_calls": 0.0, "llm_seconds": 0.0}
        flag = damage_flag(ctx(runtime).index)
        flags = answer.flags if flag is None or flag in answer.flags else [flag, *answer.flags]
        return {**out, "answer": answer.model_copy(update={"stats": {**answer.stats, **turn}, "flags": flags})}
    return wrapped
