"""The agent graph, wired like the flowchart:

    route ─┬─ new ──► interpret ─► localise ─► verify ─► judge ─┬─► rationale ─► finish
           ├─ next ─────────────────► localise                 └─► localise (rejected, budget left)
           └─ why ──► explain ─────────────────────────────────────────────────► finish
"""

from __future__ import annotations

from functools import partial

from langgraph.graph import END, START, StateGraph

from graphs import nodes
from graphs.state import AgentState, Deps


def _route_edge(state: AgentState) -> str:
    return {"new": "interpret", "next": "localise", "why": "explain"}[state["mode"]]


def _budget_edge(next_node: str):
    def edge(state: AgentState) -> str:
        return "finish" if nodes.out_of_time(state) else next_node
    return edge


def build_graph(deps: Deps, checkpointer=None):
    g = StateGraph(AgentState)
    for name in ("route", "interpret", "localise", "verify", "judge", "rationale", "explain", "finish"):
        g.add_node(name, partial(getattr(nodes, name), deps=deps))
    g.add_edge(START, "route")
    g.add_conditional_edges("route", _route_edge, ["interpret", "localise", "explain"])
    g.add_conditional_edges("interpret", _budget_edge("localise"), ["localise", "finish"])
    g.add_edge("localise", "verify")
    g.add_edge("verify", "judge")
    g.add_conditional_edges("judge", partial(nodes.after_judge, deps=deps), ["rationale", "localise"])
    g.add_edge("rationale", "finish")
    g.add_edge("explain", "finish")
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)
