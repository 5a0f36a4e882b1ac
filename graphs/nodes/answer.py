"""rationale (the chosen moments with an explanation that cites evidence ids), explain (follow-up "why?":
re-explain from the evidence already gathered, no new tool calls) and finish (the typed Answer)."""

from __future__ import annotations

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents import roles
from agents.schemas import Answer, Moment
from graphs.nodes.common import event, view, mono_deadline, out_of_time
from graphs.nodes.localise import face_question, usable, voice_question
from graphs.state import Context, State
from tools.presence import presence_confidence

NOT_FOUND_SHOWN = 3    # closest candidates shown when nothing supports the asked emotion
NOT_FOUND_CONF = 0.2   # their confidence is capped here (and they are marked unverified)
# moments that get an LLM-written rationale; the others ("every time" answers list up to 10) get the
# evidence template by design, not as a fallback (no flag). Each LLM rationale is ~4-6 s on 2 cores.
LLM_RATIONALES = 1


def _writer():
    """LangGraph's custom-stream writer; a no-op when the node runs outside a graph."""
    try:
        return get_stream_writer()
    except RuntimeError:
        return lambda _chunk: None


def _missing(intent) -> str:
    """Why no window may be left after the usable filter (localise.usable), or "" where it does not apply."""
    if intent.off_camera:
        return "a question about a voice where nobody is seen, and every matching window shows a face or is silent"
    if face_question(intent):
        return "a question about how someone looks, and no matching window shows a usable face"
    if voice_question(intent):
        return "a question about how someone sounds or what they say, and nobody speaks in any matching window"
    return ""


def rationale(state: State, runtime: Runtime[Context]) -> dict:
    deps = view(runtime, state)
    intent = state["intent"]
    verified = state.get("verified", [])
    flags: list[str] = []
    ev = {e.id: e for e in state.get("evidence", [])}
    presence = state.get("presence", {}) if intent.presence_question else {}
    if presence and verified:  # the face's exit/entrance/absence is the finding; the frames verified it
        chosen = sorted(verified, key=lambda v: -v.candidate.score)[: intent.n_moments]
        chosen = [v.model_copy(update={"accept": True, "confidence": presence_confidence(ev.get(presence.get(
            v.window.label(), "")))}) for v in chosen]
    elif intent.descriptive and verified:  # the description match ranks, not how strong the emotion is
        chosen = sorted(verified, key=lambda v: -v.candidate.score)[: intent.n_moments]
        chosen = [v if v.accept else v.model_copy(update={"confidence": min(v.confidence, 0.3)}) for v in chosen]
        if not any(v.accept for v in chosen):
            flags.append("unverified: the best match to the description has no verified emotion reading")
    else:
        # after refinement too: a face question never gets a face-less window, a voice question a silent one
        missing = _missing(intent)
        if missing:
            n = len(verified)
            verified = [v for v in verified if usable(intent, deps.index, v.window)[0]]
            if n and not verified:
                flags.append(f"not_found: {missing}; nothing is shown")
        chosen = [v for v in verified if v.accept]
        if not verified and not any(f.startswith("not_found") for f in [*flags, *state.get("flags", [])]):
            flags.append("not_found: no window of this video can answer this question"
                         + (f" ({missing})" if missing else "") + "; nothing is shown")
        if not chosen and verified:
            # honest "not found": say so, and show the closest candidates as unverified, low confidence
            flags.append(f"unverified: no candidate passed verification (not found: no moment in this video "
                         f"clearly shows {' or '.join(intent.emotions)}); the closest candidates are shown, "
                         "unverified, with low confidence")
            chosen = sorted(verified, key=lambda v: -(v.support + v.candidate.score))[:NOT_FOUND_SHOWN]
            chosen = [v.model_copy(update={"confidence": min(v.confidence, NOT_FOUND_CONF)}) for v in chosen]
        chosen = sorted(chosen, key=lambda v: -(v.confidence + 0.5 * v.candidate.score))[: intent.n_moments]
        ranked = int(deps.extra.get("ranked_moments", 0))  # evaluation: always rank this many (evals/runner.py)
        if len(chosen) < ranked:
            rest = sorted((v for v in verified if all(v.window != c.window for c in chosen)),
                          key=lambda v: -(v.support + v.candidate.score))
            chosen += [v.model_copy(update={"confidence": min(v.confidence, NOT_FOUND_CONF), "accept": False})
                       for v in rest[: ranked - len(chosen)]]
    # the ranked moments are known now: stream them (Session.stream: "ranked") before the rationales are written
    _writer()({"ranked": [Moment(rank=r, window=v.window, label=v.label, confidence=v.confidence,
                                           rationale="", evidence_ids=v.evidence_ids[:1], verified=v.accept)
                                    for r, v in enumerate(chosen, 1)]})
    moments = []
    for rank, v in enumerate(chosen, 1):
        items = [ev[i] for i in v.evidence_ids if ev[i].window.overlaps(v.window)]
        items.sort(key=lambda e: (e.modality != "face", e.tool != "expression"))
        seen = presence.get(v.window.label())
        if seen in ev:  # a presence answer leads with the change itself
            items.insert(0, ev[seen])
        # beyond the first few moments ("every time" questions) the template rationale keeps latency bounded
        use_llm = not out_of_time(state) and rank <= LLM_RATIONALES
        text, cited, f = roles.write_rationale(deps.llm_for("rationale") if use_llm else None, state["query"],
                                               v.label, v.window, items, deadline=mono_deadline(state))
        flags += f if use_llm or rank == 1 else [x for x in f if x != "rationale_template"]
        if v.note:  # verify's caveat (a voice-only window that fits several emotions): said, not hidden
            text = f"{text} (Caveat: {v.note}.)"
        if state.get("person_label"):  # a question about one person: the answer names them (tools/who.py)
            text = f"{state['person_label']}: {text}"
        if seen in ev and seen not in (cited or []):  # the finding is always cited, whatever the writer chose
            text = f"{ev[seen].text.rstrip('.')} [{seen}]. {text}"
            cited = [seen, *(cited or v.evidence_ids[:1])]
        cond = state.get("during", {}).get(v.window.label()) if intent.during else None
        if cond and cond[0] in ev:  # "A while B": B's own reading there, cited
            text = f"{text} (Meanwhile {cond[1]}: {ev[cond[0]].text.rstrip('.')} [{cond[0]}].)"
            cited = [*(cited or v.evidence_ids[:1]), cond[0]]
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
    deps = view(runtime, state)
    moments = state.get("moments", [])
    cited = {i for m in moments for i in m.evidence_ids}
    evidence = [e for e in state.get("evidence", []) if e.id in cited or any(e.window.overlaps(m.window)
                                                                            for m in moments)]
    new_flags = ["budget_exhausted"] if out_of_time(state) else []
    flags = list(dict.fromkeys(list(state.get("flags", [])) + new_flags))  # a second round repeats its notes
    llm = deps.llm.stats if deps.llm else None
    answer = Answer(query=state["query"], video=deps.index.meta, intent=state.get("intent"), moments=moments,
                    evidence=evidence, flags=flags,
                    stats={"llm_calls": float(llm.calls) if llm else 0.0,
                           "llm_seconds": round(llm.seconds, 2) if llm else 0.0,
                           "tool_calls": float(sum(1 for e in state.get("events", []) if e.get("evidence"))),
                           "tool_seconds": round(sum(e.get("seconds", 0.0) for e in state.get("events", [])
                                                     if e.get("tool") and e.get("evidence")), 2),
                           "rounds": float(state.get("rounds", 0))})
    return {"answer": answer, "flags": new_flags, "shown": [m.window for m in moments],
            "events": [event(node="finish", moments=len(moments))]}
