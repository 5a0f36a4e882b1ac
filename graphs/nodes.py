"""Graph nodes: small functions `(state, deps) -> partial state update`. See graphs/graph.py for wiring."""

from __future__ import annotations

import re
import time

import numpy as np

from agents import roles
from agents.schemas import EMOTIONS, EXPRESSION_TO_EMOTION, Answer, Moment
from graphs.state import AgentState, Deps, Verified
from tools.registry import plan_tools, run_tool, support, tools_text
from tools.schemas import Evidence, TimeWindow

_WHY = re.compile(r"\b(why|explain|how do you know|what makes you|evidence|sure)\b", re.I)
_NEXT = re.compile(r"\b(next|another|other|else|more|again)\b", re.I)


def _event(state: AgentState, **kw) -> list[dict]:
    return list(state.get("events", [])) + [{"t": round(time.time(), 2), **kw}]


def _next_id(evidence: list[Evidence]) -> str:
    return f"E{len(evidence) + 1}"


def out_of_time(state: AgentState) -> bool:
    return time.time() > state.get("deadline", float("inf"))


# ---------------------------------------------------------------- route

def route(state: AgentState, deps: Deps) -> dict:
    q = state["query"]
    has_prev = bool(state.get("moments"))
    mode = "new"
    if has_prev and _WHY.search(q) and not roles.keyword_intent(q).emotions:
        mode = "why"
    elif has_prev and _NEXT.search(q) and not roles.keyword_intent(q).emotions:
        mode = "next"
    shown = list(state.get("shown", [])) if mode != "new" else []
    return {"mode": mode, "rounds": 0, "rejected": [], "flags": [], "shown": shown, "candidates": [], "verified": [],
            "deadline": time.time() + deps.settings.query_timeout_s,
            "events": [{"t": round(time.time(), 2), "node": "route", "mode": mode}]}


# ---------------------------------------------------------------- interpret

def interpret(state: AgentState, deps: Deps) -> dict:
    t0 = time.monotonic()
    intent, flags = roles.interpret(deps.llm_for("interpret"), state["query"], deadline=_mono_deadline(state))
    return {"intent": intent, "flags": state.get("flags", []) + flags,
            "events": _event(state, node="interpret", intent=intent.model_dump(),
                             seconds=round(time.monotonic() - t0, 2))}


def _mono_deadline(state: AgentState) -> float:
    return time.monotonic() + max(0.0, state.get("deadline", time.time() + 600) - time.time())


# ---------------------------------------------------------------- localise

def _temporal_prior(w: TimeWindow, duration: float, hint: str) -> float:
    pos = w.center / duration
    return {"start": 1 - pos, "end": pos, "middle": 1 - 2 * abs(pos - 0.5)}.get(hint, 0.5)


def localise(state: AgentState, deps: Deps) -> dict:
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
            "events": _event(state, node="localise", candidates=[
                {"window": c.window.label(), "score": c.score, "descriptor": c.descriptor[:160]} for c in cands])}


# ---------------------------------------------------------------- verify

def _target_label(intent, evidence: list[Evidence]) -> list[str]:
    opts = list(intent.emotions)
    for e in evidence:
        if e.tool in ("expression",) and isinstance(e.values.get("top"), str):
            lab = EXPRESSION_TO_EMOTION.get(e.values["top"])
            if lab and lab not in opts:
                opts.append(lab)
    if "Neutral" not in opts:
        opts.append("Neutral")
    return opts


def _refine(deps: Deps, cand_window: TimeWindow, labels: list[str]) -> TimeWindow:
    """Extend/shrink the candidate to the run of windows where the target expression holds."""
    inverse = {v: k for k, v in EXPRESSION_TO_EMOTION.items()}
    cls = next((inverse[lab] for lab in labels if lab in inverse and lab != "Neutral"), None)
    recs = deps.index.records
    if cls is None or not recs:
        return cand_window
    p = np.array([r.expression.get(cls, 0.0) for r in recs])
    inside = [i for i, r in enumerate(recs) if r.window.overlaps(cand_window)]
    if not inside:
        return cand_window
    peak_i = max(inside, key=lambda i: p[i])
    if p[peak_i] < 0.25:
        return cand_window
    thr = 0.6 * p[peak_i]
    lo = hi = peak_i
    while lo - 1 >= 0 and p[lo - 1] >= thr and hi - lo < 7:
        lo -= 1
    while hi + 1 < len(recs) and p[hi + 1] >= thr and hi - lo < 7:
        hi += 1
    return TimeWindow(start=recs[lo].window.start, end=recs[hi].window.end)


def verify(state: AgentState, deps: Deps) -> dict:
    intent = state["intent"]
    evidence = list(state.get("evidence", []))
    events = list(state.get("events", []))
    if not state.get("candidates"):  # nothing new to verify: keep what earlier rounds judged
        return {"events": _event(state, node="verify", note="no new candidates")}
    verified: list[Verified] = list(state.get("verified", []))  # earlier rounds of this turn stay
    budget = deps.tool_budget
    for c in state.get("candidates", []):
        if time.time() > state.get("deadline", float("inf")):
            events.append({"node": "verify", "skip": c.window.label(), "reason": "time budget"})
            break
        recs = deps.index.records_in(c.window)
        face_ratio = float(np.mean([r.face_ratio for r in recs])) if recs else 0.0
        has_speech = any(r.transcript or r.arousal is not None for r in recs)
        pre = [r.top_expression() for r in recs if r.top_expression()]
        ambiguous = bool(pre) and max(p for _, p in pre) < 0.45
        decisions = plan_tools(c.window, face_ratio, has_speech, list(intent.modalities), budget,
                               ambiguous=ambiguous)
        ids = []
        for d in decisions:
            events.append({"node": "verify", "tool": d.tool, "window": d.window.label(), "run": d.run,
                           "reason": d.reason})
            if not d.run:
                continue
            ev, err, secs = run_tool(deps, d.tool, c.window, _next_id(evidence))
            if ev is None:
                events.append({"node": "verify", "tool": d.tool, "error": err})
                continue
            evidence.append(ev)
            ids.append(ev.id)
            events.append({"node": "verify", "tool": d.tool, "evidence": ev.id, "text": ev.text,
                           "seconds": round(secs, 2)})
        mine = [e for e in evidence if e.id in ids]
        labels = _target_label(intent, mine)
        # boundaries follow the asked-for emotion; a description (no emotion asked) keeps the matched window
        window = c.window if intent.descriptive else _refine(deps, c.window, labels)
        best = max(labels, key=lambda lab: support(mine, lab))
        wanted = [lab for lab in intent.emotions if support(mine, lab) >= 0.75 * support(mine, best) > 0]
        best = wanted[0] if wanted else best
        verified.append(Verified(candidate=c, window=window, evidence_ids=ids, label=best,
                                 support=round(support(mine, best), 3)))
    return {"evidence": evidence, "verified": verified, "events": events}


# ---------------------------------------------------------------- judge

def judge(state: AgentState, deps: Deps) -> dict:
    intent = state["intent"]
    if not state.get("candidates"):
        return {"events": _event(state, node="judge", note="nothing new to judge")}
    verified = [v.model_copy() for v in state.get("verified", [])]
    new = [i for i, v in enumerate(verified) if not v.judged]
    ev = {e.id: e for e in state.get("evidence", [])}
    flags = list(state.get("flags", []))
    options = sorted({*intent.emotions, *(verified[j].label for j in new), "Neutral"}, key=EMOTIONS.index)
    blocks = []
    for i, j in enumerate(new, 1):
        v = verified[j]
        lines = [f"  [{eid}] {ev[eid].text}" for eid in v.evidence_ids]
        blocks.append(f"Candidate {i} ({v.window.label()}):\n<data>\n" + "\n".join(lines) + "\n</data>")
    verdicts = roles.judge(deps.llm_for("judge"), state["query"], tools_text(), blocks, options,
                           deadline=_mono_deadline(state)) if new else None
    if new and verdicts is None:
        flags.append("llm_fallback:judge")
    by_cand = {v.candidate: v for v in verdicts or []}
    for i, j in enumerate(new, 1):
        v = verified[j]
        mine = [ev[eid] for eid in v.evidence_ids]
        vd = by_cand.get(i)
        target_ok = not intent.emotions or v.label in intent.emotions
        if vd is not None:
            llm_sup = support(mine, vd.emotion)
            label = vd.emotion if llm_sup >= v.support - 0.35 else v.label
            if label != vd.emotion:
                flags.append(f"label_overridden_by_evidence:{i}")
            conf = 0.5 * vd.confidence + 0.5 * support(mine, label)
            accept = vd.accept or (label in intent.emotions and support(mine, label) >= 0.35)
            accept = accept and (not intent.emotions or label in intent.emotions or support(mine, label) < 0.3)
        else:
            label, conf = v.label, v.support
            accept = target_ok and v.support >= 0.3
        verified[j] = v.model_copy(update={"label": label, "confidence": round(float(np.clip(conf, 0, 1)), 3),
                                           "accept": bool(accept), "judged": True})
    accepted = [v for v in verified if v.accept]
    rejected = list(state.get("rejected", [])) + [verified[j].candidate.window for j in new if not verified[j].accept]
    return {"verified": verified, "rejected": rejected, "flags": flags,
            "events": _event(state, node="judge", verdicts=[
                {"window": v.window.label(), "label": v.label, "confidence": v.confidence, "accept": v.accept}
                for v in (verified[j] for j in new)], accepted=len(accepted))}


def after_judge(state: AgentState, deps: Deps) -> str:
    accepted = [v for v in state.get("verified", []) if v.accept]
    # a description was ranked by retrieval already: more rounds would only go lower
    if accepted or state["intent"].descriptive or out_of_time(state) or state.get("rounds", 0) >= deps.max_rounds:
        return "rationale"
    return "localise"


# ---------------------------------------------------------------- rationale

def rationale(state: AgentState, deps: Deps) -> dict:
    intent = state["intent"]
    verified = state.get("verified", [])
    flags = list(state.get("flags", []))
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
                                               v.label, v.window, items, deadline=_mono_deadline(state))
        flags += f
        moments.append(Moment(rank=rank, window=v.window, label=v.label, confidence=v.confidence,
                              rationale=text, evidence_ids=cited or v.evidence_ids[:1], verified=v.accept))
    return {"moments": moments, "flags": flags,
            "events": _event(state, node="rationale", moments=len(moments))}


def explain(state: AgentState, deps: Deps) -> dict:
    """Follow-up "why?": re-explain the last moments from the evidence already gathered; no new tool calls."""
    ev = {e.id: e for e in state.get("evidence", [])}
    flags = list(state.get("flags", []))
    moments = []
    for m in state.get("moments", []):
        items = [e for e in ev.values() if e.window.overlaps(m.window)]
        lines = [f"{e.text} [{e.id}]" for e in items]
        text = m.rationale + (" Evidence in detail: " + " ".join(lines) if lines else "")
        moments.append(m.model_copy(update={"rationale": text, "evidence_ids": [e.id for e in items]}))
    return {"moments": moments, "flags": flags, "events": _event(state, node="explain", moments=len(moments))}


# ---------------------------------------------------------------- finish

def finish(state: AgentState, deps: Deps) -> dict:
    moments = state.get("moments", [])
    cited = {i for m in moments for i in m.evidence_ids}
    evidence = [e for e in state.get("evidence", []) if e.id in cited or any(e.window.overlaps(m.window)
                                                                            for m in moments)]
    flags = list(state.get("flags", []))
    if out_of_time(state):
        flags.append("budget_exhausted")
    llm = deps.llm.stats if deps.llm else None
    answer = Answer(query=state["query"], video=deps.index.meta, intent=state.get("intent"), moments=moments,
                    evidence=evidence, flags=flags,
                    stats={"llm_calls": float(llm.calls) if llm else 0.0,
                           "llm_seconds": round(llm.seconds, 2) if llm else 0.0,
                           "tool_calls": float(sum(1 for e in state.get("events", []) if e.get("evidence"))),
                           "rounds": float(state.get("rounds", 0))})
    return {"answer": answer, "flags": flags, "shown": list(state.get("shown", [])) + [m.window for m in moments],
            "events": _event(state, node="finish", moments=len(moments))}
