"""localise: retrieve candidate windows for the intent (FAISS text + affect prototype + salience),
excluding what this turn rejected and what was already shown; a temporal hint re-ranks them.

Face questions get faces: a question about how someone looks never gets a window where no usable face was
seen (records carry `face_frames`); an emotion question with no modality named keeps a face-less window only
when someone speaks in it (the voice or the words can carry the emotion). Descriptions keep everything."""

from __future__ import annotations

from langgraph.runtime import Runtime

from graphs.nodes.common import ctx, event, view
from graphs.state import Context, State
from tools.schemas import TimeWindow
from tools.who import pick_person

MIN_FACE = 0.25  # share of a window's sampled frames with a usable face, for a face question


def _temporal_prior(w: TimeWindow, duration: float, hint: str) -> float:
    pos = w.center / duration
    return {"start": 1 - pos, "end": pos, "middle": 1 - 2 * abs(pos - 0.5)}.get(hint, 0.5)


def face_question(intent) -> bool:
    """How someone looks: the face is named and neither the voice nor the words are ("every scared
    moment, face or voice" is not a face question: its voice-only windows count)."""
    mods = set(intent.modalities)
    return "face" in mods and not mods & {"voice", "words"}


def window_channels(index, w: TimeWindow) -> tuple[float, bool]:
    """(share of sampled frames with a usable face, whether anyone speaks) over the records in `w`."""
    recs = index.records_in(w)
    frames = sum(r.n_frames for r in recs)
    face = sum(r.face_frames for r in recs) / frames if frames else 0.0
    speech = any(r.transcript or r.arousal is not None for r in recs)
    return face, speech


def usable(intent, index, w: TimeWindow) -> tuple[bool, str]:
    """Whether a window can answer this question, and why not."""
    if intent.descriptive:
        return True, ""
    face, speech = window_channels(index, w)
    if face_question(intent):
        return (face >= MIN_FACE, f"face question, face in {face:.0%} of frames")
    mods = set(intent.modalities)
    if not mods & {"voice", "words"} or "face" in mods:
        return (face >= MIN_FACE or speech, "no usable face and no speech")
    return True, ""


def localise(state: State, runtime: Runtime[Context]) -> dict:
    intent = state["intent"]
    who = pick_person(ctx(runtime).index, state)  # "the woman on the left" → her track (tools/who.py)
    pid = who.person.id if who.person else None
    deps = view(runtime, {**state, "person": pid})  # retrieval and the usable-face check on that view
    exclude = (list(state.get("rejected", [])) + list(state.get("shown", []))
               + [v.candidate.window for v in state.get("verified", [])])  # this turn's earlier rounds
    want = max(deps.n_candidates, intent.n_moments, int(deps.extra.get("ranked_moments", 0)))
    cands = deps.retriever.search_moments(intent.search_text or state["query"], list(intent.emotions),
                                          intent.arousal, k=want * 3,
                                          modality_hints=list(intent.modalities), exclude=exclude)
    dropped = []
    kept = []
    for c in cands:
        ok, why = usable(intent, deps.index, c.window)
        (kept if ok else dropped).append((c, why))
    cands = [c for c, _ in kept]
    if intent.temporal_hint != "none":
        dur = deps.index.meta.duration
        cands = sorted(cands, key=lambda c: -(c.score + 0.3 * _temporal_prior(c.window, dur, intent.temporal_hint)))
    cands = cands[:want]
    return {"candidates": cands, "rounds": state.get("rounds", 0) + 1,
            "person": pid, "person_label": who.person.label() if who.person else None,
            **({"flags": [f"person: {who.how}"]} if who.how.startswith("cannot") else {}),
            "events": [event(node="localise", person=who.person.label() if who.person else None, who=who.how,
                             face_question=face_question(intent), candidates=[
                {"window": c.window.label(), "score": c.score, "descriptor": c.descriptor[:160]} for c in cands],
                dropped=[{"window": c.window.label(), "reason": why} for c, why in dropped])]}
