"""judge: the LLM accepts/labels/scores each verified candidate over a schema that only admits the offered
labels; the evidence can overrule its label. `after_judge` routes: answer, or localise again."""

from __future__ import annotations

from typing import Literal

import numpy as np
from langgraph.runtime import Runtime

from agents import roles
from graphs.nodes.common import ctx, event, further_round, view, mono_deadline, out_of_time
from graphs.state import Context, State
from tools.labels import EMOTIONS
from tools.perception.emotion import answers
from tools.registry import support, tools_text


def judge(state: State, runtime: Runtime[Context]) -> dict:
    deps = view(runtime, state)
    intent = state["intent"]
    if not state.get("candidates"):
        return {"events": [event(node="judge", note="nothing new to judge")]}
    verified = [v.model_copy() for v in state.get("verified", [])]
    new = [i for i, v in enumerate(verified) if not v.judged]
    ev = {e.id: e for e in state.get("evidence", [])}
    flags: list[str] = []
    # the LLM sees only the candidates the evidence leaves open, the best-retrieved JUDGE_MAX of them (an
    # "every time" question's 10 candidates made a 3,300-token prompt and 370-640 generated tokens: 36-135 s)
    undecided = [j for j in new if not settled(intent, verified[j], ev)]
    undecided = sorted(undecided, key=lambda j: -verified[j].candidate.score)[:JUDGE_MAX]
    # a further round of a several-moment search ("every time ...", after_judge) is judged from the
    # evidence alone: a second LLM call there cost 3-6 s per question on 2 cores (bench_query, 30 Nov)
    further = further_round(intent, verified)
    undecided = [] if further or intent.presence_question else undecided  # a presence change: the frames settle it
    # off by default with the embedded model (settings.llm_role_on; docs/results.md "LLM roles"): the
    # evidence path below decides, by design, not as a fallback (no flag)
    off = deps.settings is not None and not deps.settings.llm_role_on("judge")
    undecided = [] if off else undecided
    options = sorted({*intent.emotions, *(verified[j].label for j in undecided), "Neutral"}, key=EMOTIONS.index)
    blocks = []
    for i, j in enumerate(undecided, 1):
        v = verified[j]
        described = intent.descriptive and bool(v.candidate.descriptor)  # what the window looks and sounds like
        lines = [f"  (index) {roles.brief(v.candidate.descriptor, 160)}"] if described else []
        lines += [f"  [{eid}] {roles.brief(ev[eid].text)}" for eid in
                  sorted(v.evidence_ids, key=lambda eid: JUDGE_ORDER.index(ev[eid].tool)
                         if ev[eid].tool in JUDGE_ORDER else len(JUDGE_ORDER))[:JUDGE_LINES - described]]
        blocks.append(f"Candidate {i} ({v.window.label()}):\n<data>\n" + "\n".join(lines) + "\n</data>")
    skip = not undecided
    verdicts = roles.judge(deps.llm_for("judge"), state["query"], tools_text(deps.backends()), blocks, options,
                           deadline=mono_deadline(state)) if undecided else None
    if undecided and verdicts is None:
        flags.append("llm_fallback:judge")
    by_cand = {undecided[v.candidate - 1]: v for v in verdicts or [] if v.candidate <= len(undecided)}
    for i, j in enumerate(new, 1):
        v = verified[j]
        mine = [ev[eid] for eid in v.evidence_ids]
        vd = by_cand.get(j)
        if vd is not None and intent.emotions and vd.accept and not answers(vd.emotion, intent.emotions):
            # "accepted, and it is Neutral" for a furious question contradicts itself: the evidence decides
            flags.append(f"llm_verdict_inconsistent:{i}")
            vd = None
        target_ok = not intent.emotions or answers(v.label, intent.emotions)
        if vd is not None:
            llm_sup = support(mine, vd.emotion)
            label = vd.emotion if llm_sup >= v.support - 0.35 else v.label
            if label != vd.emotion:
                flags.append(f"label_overridden_by_evidence:{i}")
            conf = 0.5 * vd.confidence + 0.5 * support(mine, label)
            accept = vd.accept or (answers(label, intent.emotions) and support(mine, label) >= 0.35)
            # an accepted moment answers the asked emotion (a label the evidence put in its place has support
            # >= 0.35 by the override rule above, so it is rejected here, not kept as a "weak" other label)
            accept = accept and (not intent.emotions or answers(label, intent.emotions))
        else:
            label, conf = v.label, v.support
            # a voice-only window that fits the asked label as well as any other (verify's note): a weak
            # guess, listed with its low confidence, not a confident answer
            accept = target_ok and (v.support >= 0.3 or (bool(v.note) and v.support >= VOICE_ONLY_MIN))
        note = v.note if label == v.label else ""  # verify's caveat is about its own label
        if note:  # only a voice that fits several emotions: the LLM read the same evidence, a guess stays one
            conf = min(conf, VOICE_ONLY_CAP)
        verified[j] = v.model_copy(update={"label": label, "confidence": round(float(np.clip(conf, 0, 1)), 3),
                                           "accept": bool(accept), "judged": True, "note": note})
    accepted = [v for v in verified if v.accept]
    rejected = [verified[j].candidate.window for j in new if not verified[j].accept]
    return {"verified": verified, "rejected": rejected, "flags": flags,
            "events": [event(node="judge", skipped=("further round: evidence only" if further else
                                                     "LLM judge off" if off else "evidence decisive") if skip else None,
                             llm_judged=[verified[j].window.label() for j in undecided], verdicts=[
                {"window": v.window.label(), "label": v.label, "confidence": v.confidence, "accept": v.accept}
                for v in (verified[j] for j in new)], accepted=len(accepted))]}


DECISIVE = 0.6   # the face's expression probability for an asked-for label that needs no LLM second opinion
ABSENT = 0.15    # below this for every asked-for label, a candidate is a clear reject
VOICE_ONLY_MIN = 0.15  # a voice-only window's support for the asked label to be kept as a weak guess
VOICE_ONLY_CAP = 0.3   # ... and its confidence at most ("perhaps": below every band of tools/confidence.py)
JUDGE_MAX = 3    # open candidates the LLM judges in one call (the best-retrieved); the rest: the evidence path
# Evidence lines per candidate, most telling first: the fused emotion reading already names the expression,
# AU and motion cues that fired, so those tools' own lines mostly repeat it (a 3-candidate prompt had
# ~1,000 tokens to prefill: ~5 s on 2 cores). A description's candidates show the index's descriptor of the
# window first (what was on screen and said), then the fused reading.
JUDGE_LINES = 2
JUDGE_ORDER = ("emotion", "transcript", "voice", "zoom", "expression", "aus", "motion")


def settled(intent, v, ev: dict) -> bool:
    """True when the evidence settles a candidate, so an LLM second opinion would only cost time: an
    emotion was asked for, and the candidate either shows an asked-for label strongly (support >= DECISIVE)
    or shows none of them (support < ABSENT for all). Descriptions always go to the judge."""
    if not intent.emotions:
        return False
    mine = [ev[eid] for eid in v.evidence_ids]
    strong = answers(v.label, intent.emotions) and v.support >= DECISIVE
    absent = not answers(v.label, intent.emotions) and all(support(mine, lab) < ABSENT for lab in intent.emotions)
    return strong or absent


def after_judge(state: State, runtime: Runtime[Context]) -> Literal["rationale", "localise"]:
    """Answer when enough was accepted (or a description was matched, or time or rounds ran out);
    otherwise localise again, excluding what was rejected and what was accepted. Enough: one moment for
    a question that wants one; for one that wants several ("every time ..."), search on while the last
    round still found some (the retrieval's next candidates may hold more: a voice-only moment ranked
    below ten face windows was never verified)."""
    deps = ctx(runtime)
    intent = state["intent"]
    accepted = [v for v in state.get("verified", []) if v.accept]
    this_round = {c.window for c in state.get("candidates", [])}
    found_now = any(v.candidate.window in this_round for v in accepted)
    more = intent.n_moments > 1 and len(accepted) < intent.n_moments and found_now
    # a description was ranked by retrieval already: more rounds would only go lower
    if (accepted and not more) or intent.descriptive or out_of_time(state) or state.get("rounds", 0) >= deps.max_rounds:
        return "rationale"
    return "localise"
