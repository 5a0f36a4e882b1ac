"""The graph's nodes, one module per step; each node is `(state, runtime) -> partial state update` and
returns only what it adds (graphs/state.py's reducers accumulate evidence, events, flags)."""

from graphs.nodes.answer import explain, finish, rationale
from graphs.nodes.common import out_of_time
from graphs.nodes.interpret import interpret
from graphs.nodes.judge import after_judge, judge
from graphs.nodes.localise import localise
from graphs.nodes.route import route
from graphs.nodes.verify import verify

__all__ = ["after_judge", "explain", "finish", "interpret", "judge", "localise", "out_of_time", "rationale",
           "route", "verify"]
