"""rationale (the chosen moments with an explanation that cites evidence ids), explain (follow-up "why?":
re-explain from the evidence already gathered, no new tool calls) and finish (the typed Answer)."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents import roles
from agents.schemas import Answer, Moment
from graphs.nodes.common import ctx, event, mono_deadline, out_of_time
from graphs.state import Context, State


def rationale(state: State, runtime: Runtime[Context]) -> dict:
    deps = ctx(runtime)
    intent = state["intent"]
    verified = state.get("verified", [])
    flags: list[str] = []
    ev = {e.id: e for e in state.get("evidence", [])}
    if intent.descriptive and verified:  # the description match ranks, not how strong the emotion is
        chosen = sorted(verified, key=lambda v: -v.candidate.score)[: intent.n_moments]
        chosen = [v if v.accept else v.model_copy(update={"confidence": min(v.confidence, 0.3)}) for v in chosen]
        if not any(v.accept for v in chosen):
            flags.append("unverified: the best match to the description has no verified emotion reading")
    else:
        chosen = [v for v in verified if v.accept]
        if not chosen and verified:
            flags.append("unverified: no candidate passed verification; best guess shown")
            chosen = sorted(verified, key=lambda v: -(v.support + v.candidate.score))[:1]
            chosen = [v.model_copy(update={"confidence": min(v.confidence, 0.3)}) for v in chosen]
        chosen = sorted(chosen, key=lambda v: -(v.confidence + 0.5 * v.candidate.score))[: intent.n_moments]
    moments = []
    for rank, v in enumerate(chosen, 1):
        items = [ev[i] for i in v.evidence_ids if ev[i].window.overlaps(v.window)]
        items.sort(key=lambda e: (e.modality != "face", e.tool != "expression"))
        text, cited, f = roles.write_rationale(deps.llm_for("rationale") if not out_of_time(state) else None, state["query"],
                                               v.label, v.window, items, deadline=mono_deadline(state))
        flags += f
        moments.append(Moment(rank=rank, window=v.window, label=v.label, confidence=v.confidence,
                              rationale=text, evidence_ids=cited or v.evidence_ids[:1], verified=v.accept))
    return {"moments": moments, "flags": flags,
            "events": [event(node="rationale", moments=len(moments))]}


def explain(state: State, runtime: Runtime[Context]) -> dict:
    """Follow-up "why?": re-explain the last moments from the evidence already gathered; no new tool calls."""
    ev = {e.id: e for e in state.get("evidence", [])}
    moments = []
    for m in state.get("moments", []):
        items = [e for e in ev.values() if e.window.overlaps(m.window)]
        lines = [f"{e.text} [{e.id}]" for e in items]
        text = m.rationale + (" Evidence in detail: " + " ".join(lines) if lines else "")
        moments.append(m.model_copy(update={"rationale": text, "evidence_ids": [e.id for e in items]}))
    return {"moments": moments, "events": [event(node="explain", moments=len(moments))]}


def finish(state: State, runtime: Runtime[Context]) -> dict:
    deps = ctx(runtime)
    moments = state.get("moments", [])
    cited = {i for m in moments for i in m.evidence_ids}
    evidence = [e for e in state.get("evidence", []) if e.id in cited or any(e.window.overlaps(m.window)
                                                                            for m in moments)]
    new_flags = ["budget_exhausted"] if out_of_time(state) else []
    flags = list(state.get("flags", [])) + new_flags
    llm = deps.llm.stats if deps.llm else None
    answer = Answer(query=state["query"], video=deps.index.meta, intent=state.get("intent"), moments=moments,
                    evidence=evidence, flags=flags,
                    stats={"llm_calls": float(llm.calls) if llm else 0.0,
                           "llm_seconds": round(llm.seconds, 2) if llm else 0.0,
                           "tool_calls": float(sum(1 for e in state.get("events", []) if e.get("evidence"))),
                           "rounds": float(state.get("rounds", 0))})
    return {"answer": answer, "flags": new_flags, "shown": [m.window for m in moments],
            "events": [event(node="finish", moments=len(moments))]}
