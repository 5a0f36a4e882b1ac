"""The agent graph, wired like the flowchart:

    route ─┬─ new, previous ─► interpret ─► localise ─► verify ─► judge ─┬─► rationale ─► finish
           ├─ next ─────────────────► localise                 └─► localise (rejected, budget left)
           ├─ why ──► explain ─────────────────────────────────────────────────► finish
           └─ summary / compare ──► arc (the emotional arc from the index, no tool call) ──► end

`graph` is the compiled graph (what `langgraph.json` names for `langgraph dev` / LangGraph Studio);
run it with `context=graphs.state.Context(...)` or, from Studio, the JSON context {"video": PATH}.
`graphs.api.Session` compiles the same builder with a SQLite checkpointer for follow-ups.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from graphs.nodes import after_judge, explain, finish, interpret, judge, localise, out_of_time, rationale, route, verify
from graphs.nodes.arc import arc
from graphs.nodes.cost import costs, marks
from graphs.state import Context, State


def by_mode(state: State) -> Literal["interpret", "localise", "explain", "arc"]:
    if state.get("mode") in ("summary", "compare"):  # the question reader's arc modes (graphs/nodes/arc.py)
        return "arc"
    # "the one before that" (previous) is interpreted again: the previous intent, earlier than the moment shown
    return {"new": "interpret", "next": "localise", "previous": "interpret", "why": "explain"}[state["mode"]]


def unless_out_of_time(state: State) -> Literal["localise", "finish"]:
    return "finish" if out_of_time(state) else "localise"


builder = StateGraph(State, context_schema=Context)
builder.add_node("route", marks(route))  # the LLM cost of a turn is measured from here ...
builder.add_node("interpret", interpret)
builder.add_node("localise", localise)
builder.add_node("verify", verify)
builder.add_node("judge", judge)
builder.add_node("rationale", rationale)
builder.add_node("explain", explain)
builder.add_node("finish", costs(finish))  # ... to here (graphs/nodes/cost.py)
builder.add_node("arc", costs(arc))  # a summary answer carries the same run facts

builder.add_edge(START, "route")
builder.add_conditional_edges("route", by_mode)
builder.add_conditional_edges("interpret", unless_out_of_time)
builder.add_edge("localise", "verify")
builder.add_edge("verify", "judge")
builder.add_conditional_edges("judge", after_judge)
builder.add_edge("rationale", "finish")
builder.add_edge("explain", "finish")
builder.add_edge("finish", END)
builder.add_edge("arc", END)

graph = builder.compile(name="affectlens")


def compile_with(checkpointer) -> object:
    """The same graph with a checkpointer (graphs.api.Session: SQLite, so follow-ups see earlier turns)."""
    return builder.compile(checkpointer=checkpointer, name="affectlens")
