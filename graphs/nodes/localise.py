"""localise: retrieve candidate windows for the intent (FAISS text + affect prototype + salience),
excluding what this turn rejected and what was already shown; a temporal hint re-ranks them."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graphs.nodes.common import ctx, event
from graphs.state import Context, State
from tools.schemas import TimeWindow


def _temporal_prior(w: TimeWindow, duration: float, hint: str) -> float:
    pos = w.center / duration
    return {"start": 1 - pos, "end": pos, "middle": 1 - 2 * abs(pos - 0.5)}.get(hint, 0.5)


def localise(state: State, runtime: Runtime[Context]) -> dict:
    deps = ctx(runtime)
    intent = state["intent"]
    exclude = list(state.get("rejected", [])) + list(state.get("shown", []))
    cands = deps.retriever.search_moments(intent.search_text or state["query"], list(intent.emotions),
                                          intent.arousal, k=deps.n_candidates * 2,
                                          modality_hints=list(intent.modalities), exclude=exclude)
    if intent.temporal_hint != "none":
        dur = deps.index.meta.duration
        cands = sorted(cands, key=lambda c: -(c.score + 0.3 * _temporal_prior(c.window, dur, intent.temporal_hint)))
    cands = cands[: max(deps.n_candidates, intent.n_moments)]
    return {"candidates": cands, "rounds": state.get("rounds", 0) + 1,
            "events": [event(node="localise", candidates=[
                {"window": c.window.label(), "score": c.score, "descriptor": c.descriptor[:160]} for c in cands])]}
