"""rationale (the chosen moments with an explanation that cites evidence ids), explain (follow-up "why?":
re-explain from the evidence already gathered, no new tool calls) and finish (the typed Answer)."""

from __future__ import annotations

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents import roles
from agents.compose import compose, pronoun, reasons
from agents.schemas import Answer, Moment, Sentence
from graphs.nodes.common import event, view, mono_deadline, out_of_time
from graphs.nodes.localise import face_question, usable, voice_question
from graphs.state import Context, State
from tools.presence import presence_confidence
from tools.perception.emotion import moment_alternative

NOT_FOUND_SHOWN = 3    # closest candidates shown when nothing supports the asked emotion
NOT_FOUND_CONF = 0.2   # their confidence is capped here (and they are marked unverified)
# moments whose composed explanation a configured model polishes (settings.llm_role_on("rationale")); the
# others ("every time" answers list up to 10) keep the composer's text. Each LLM call is ~4-6 s on 2 cores.
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


def pronoun_words(state: State) -> tuple[str, tuple[str, int | None] | None]:
    """(the words the answer takes its pronoun from, the state's new `pronoun_from`): this question's when
    it says she or he; in a follow-up that says neither ("why?", "show me another"), the last question that
    did, when it was about the same person ("when does she cheer up?" ... "why?" says "her smile")."""
    q, who = state.get("query", ""), state.get("person")
    if pronoun(q) != "they":
        return q, (q, who)
    saved = state.get("pronoun_from")
    reading = state.get("reading") or {}  # the reader's mode: route makes a "why?" with nothing shown a new turn
    follow_up = reading.get("mode", state.get("mode", "new")) != "new" or "person" in reading.get("keeps", [])
    if follow_up and saved and saved[1] == who:
        return saved[0], None
    return q, None


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
        if not verified and not any(f.startswith(("not_found", "ask_person")) for f in [*flags, *state.get("flags", [])]):
            flags.append("not_found: no window of this video can answer this question"
                         + (f" ({missing})" if missing else "") + "; nothing is shown")
        if not chosen and verified and state.get("mode") in ("next", "previous") and intent.emotions:
            # "show me another one" when no other moment shows it: say so, no weak guess of another feeling
            flags.append(f"not_found: no {'earlier' if state.get('mode') == 'previous' else 'other'} moment in "
                         f"this video clearly shows {' or '.join(intent.emotions).lower()}; nothing is shown")
            verified = []
        elif not chosen and verified:
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
    chosen = distinct(chosen)
    # the ranked moments are known now: stream them (Session.stream: "ranked") before the rationales are written
    _writer()({"ranked": [Moment(rank=r, window=v.window, label=v.label, confidence=v.confidence,
                                           rationale="", evidence_ids=v.evidence_ids[:1], verified=v.accept)
                                    for r, v in enumerate(chosen, 1)]})
    moments = []
    words, said = pronoun_words(state)
    polish = deps.settings is not None and deps.settings.llm_role_on("rationale")
    for rank, v in enumerate(chosen, 1):
        items = [ev[i] for i in v.evidence_ids if ev[i].window.overlaps(v.window)]
        items.sort(key=lambda e: (e.modality != "face", e.tool != "expression"))
        seen = presence.get(v.window.label())
        cond = _during_at(state.get("during", {}), v.window, ev) if intent.during else None
        alt = moment_alternative(items, v.label)
        composed = compose(v.label, v.confidence, v.window, items, query=words,
                           who=state.get("person_label"), verified=v.accept, note=v.note,
                           lead=ev.get(seen) if seen else None,
                           during=(cond[1], ev[cond[0]]) if cond and cond[0] in ev else None,
                           alternative=alt)
        text, sentences = composed.text, composed.sentences
        # a configured model (AFFECTLENS_LLM_URL; off by default, docs/results.md "LLM roles") may polish the
        # composer's sentences; its draft is checked against them, and the composer's text stays otherwise
        if polish and rank <= LLM_RATIONALES and not out_of_time(state):
            text, f = roles.polish_rationale(deps.llm_for("rationale"), state["query"], v.label, composed,
                                             deadline=mono_deadline(state))
            flags += f
            if text != composed.text:
                sentences = [Sentence(text=text, evidence_ids=list(dict.fromkeys(
                    i for x in composed.sentences for i in x.evidence_ids)))]
        cited = list(dict.fromkeys([i for x in sentences for i in x.evidence_ids] + [e.id for e in items[:3]]))
        moments.append(Moment(rank=rank, window=v.window, label=v.label, confidence=v.confidence,
                              rationale=text, evidence_ids=cited or v.evidence_ids[:1], verified=v.accept,
                              sentences=sentences, alternative=alt))
    return {"moments": moments, "flags": flags, **({"pronoun_from": said} if said else {}),
            "events": [event(node="rationale", moments=len(moments))]}


def distinct(chosen: list) -> list:
    """One moment per stretch of time, best-ranked first: a moment whose window overlaps a better-ranked
    one by more than half of the shorter window is the same moment said twice (a further round found it
    again, grown by tools/episode.py), and is dropped. The CLI, the UI and the export never list the
    same window twice."""
    kept: list = []
    for v in chosen:
        if all(_overlap(k.window, v.window) <= 0.5 for k in kept):
            kept.append(v)
    return kept


def _overlap(a, b) -> float:
    inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    shorter = max(1e-6, min(a.end - a.start, b.end - b.start))
    return inter / shorter


def _during_at(during: dict, window, ev: dict):
    """The other person's reading ("A while B") cited for this moment: localise keys it by the candidate's
    window, and verify may have grown the moment (tools/episode.py: her laugh 10-14 s becomes 9.65-14 s),
    so the cited reading is the one whose evidence window overlaps the moment most; None when none does."""
    if window.label() in during:
        return during[window.label()]
    best = max(((_overlap(ev[c[0]].window, window), c) for c in during.values() if c[0] in ev),
               key=lambda x: x[0], default=(0.0, None))
    return best[1] if best[0] > 0 else None


def _about(state: State, moments: list[Moment]) -> list[Moment]:
    """The moments a "why?" follow-up is about: the ranks the router named (`state["about"]`, 1-based,
    where it sets one), else the first moment (the answer's best)."""
    ranks = [r for r in (state.get("about") or []) if isinstance(r, int)]  # type: ignore[call-overload]
    chosen = [m for m in moments if m.rank in ranks]
    return chosen or moments[:1]


def explain(state: State, runtime: Runtime[Context]) -> dict:
    """Follow-up "why?": the reasons of the moment it is about, from the evidence already gathered (the
    composer's cues for that moment, each once); no new tool calls, no header, nothing repeated."""
    ev = {e.id: e for e in state.get("evidence", [])}
    query, said = pronoun_words(state)  # "why?" says no pronoun: the conversation's last one, same person
    moments = []
    for m in _about(state, state.get("moments", [])):
        items = [e for e in ev.values() if e.window.overlaps(m.window)]
        items.sort(key=lambda e: (e.modality != "face", e.tool != "expression"))
        c = reasons(m.label, m.window, items, query=query, verified=m.verified, confidence=m.confidence)
        ids = list(dict.fromkeys([i for x in c.sentences for i in x.evidence_ids] + [e.id for e in items]))
        moments.append(m.model_copy(update={"rank": len(moments) + 1, "rationale": c.text, "sentences": c.sentences,
                                            "evidence_ids": ids}))
    return {"moments": moments, **({"pronoun_from": said} if said else {}),
            "events": [event(node="explain", moments=len(moments))]}


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
