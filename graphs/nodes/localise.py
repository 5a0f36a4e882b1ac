"""localise: retrieve candidate windows for the intent (FAISS text + affect prototype + salience),
excluding what this turn rejected and what was already shown; a temporal hint re-ranks them.

Face questions get faces: a question about how someone looks never gets a window where no usable face was
seen (records carry `face_frames`); voice questions get voices: a question about how someone sounds or what
they say never gets a window where nobody speaks; an emotion question with no modality named keeps a
face-less window only when someone speaks in it (the voice or the words can carry the emotion).
Descriptions keep everything.

"A while B" (`intent.during`: "how does he look while she sobs?"): the
candidates are the times person B shows the condition's emotion (B's view of the index, each grown to its
episode, B's face seen), read on A's face; B's reading there is evidence the answer cites.

Presence (`intent.presence`: "when does she step out of view?", "when is nobody on screen?"): the
candidates are the face's exits, entrances or stretches away (tools/presence.py) on the asked person's view
(or any face's), the longest absence first; each change is evidence the answer cites."""

from __future__ import annotations

import dataclasses

from langgraph.runtime import Runtime

from graphs.nodes.common import ctx, event, next_id, view
from graphs.state import Context, State
from tools.episode import episode
from tools.index.store import speaks
from tools.labels import EMOTION_TO_EXPRESSION, EXPRESSION_TO_EMOTION
from tools.presence import presence_changes, presence_evidence
from tools.registry import run_tool
from tools.retrieval import Candidate
from tools.schemas import TimeWindow
from tools.timeref import span_of
from tools.who import condition_person, person_view, pick_person

MIN_FACE = 0.25  # share of a window's sampled frames with a usable face, for a face question


def _temporal_prior(w: TimeWindow, duration: float, hint: str) -> float:
    pos = w.center / duration
    return {"start": 1 - pos, "end": pos, "middle": 1 - 2 * abs(pos - 0.5)}.get(hint, 0.5)


def face_question(intent) -> bool:
    """How someone looks: the face is named and neither the voice nor the words are (a question
    naming both the face and the voice is not a face question: its voice-only windows count)."""
    mods = set(intent.modalities)
    return "face" in mods and not mods & {"voice", "words"}


def voice_question(intent) -> bool:
    """How someone sounds or what they say, and not how they look ("when does her voice crack?", "when
    does he talk about his job?"): a window where nobody speaks cannot answer it."""
    mods = set(intent.modalities)
    return bool(mods & {"voice", "words"}) and "face" not in mods


def window_channels(index, w: TimeWindow) -> tuple[float, bool]:
    """(share of sampled frames with a usable face, whether anyone speaks) over the records in `w`."""
    recs = index.records_in(w)
    frames = sum(r.n_frames for r in recs)
    face = sum(r.face_frames for r in recs) / frames if frames else 0.0
    speech = any(speaks(r) for r in recs)
    return face, speech


def usable(intent, index, w: TimeWindow) -> tuple[bool, str]:
    """Whether a window can answer this question, and why not."""
    if intent.descriptive:
        return True, ""
    face, speech = window_channels(index, w)
    if intent.off_camera:  # a voice over an empty picture ("… while no one is on screen")
        return (face < MIN_FACE and speech, f"a voice where nobody is seen, face in {face:.0%} of frames"
                + ("" if speech else ", nobody speaks"))
    if face_question(intent):
        return (face >= MIN_FACE, f"face question, face in {face:.0%} of frames")
    if voice_question(intent):
        return (speech, "voice question, nobody speaks here")
    return (face >= MIN_FACE or speech, "no usable face and no speech")


def _split_usable(intent, index, cands, span: tuple[float, float] | None = None) -> tuple[list, list]:
    """(kept, dropped) as (candidate, why-not) pairs, by `usable` and, with a `span`, the asked time."""
    kept, dropped = [], []
    for c in cands:
        ok, why = usable(intent, index, c.window)
        if ok and span is not None and not span[0] <= c.window.center <= span[1]:
            ok, why = False, "outside the asked time"
        (kept if ok else dropped).append((c, why))
    return kept, dropped


def _search(deps: Context, intent, query: str, want: int, exclude: list[TimeWindow],
            span: tuple[float, float] | None = None) -> tuple[list, list]:
    """Retrieval's best usable candidates; when the top `3 x want` hold too few usable ones (a voice question
    whose best matches are silent faces), it looks 4x further down the ranking, up to every window."""
    k = want * 3
    while True:
        cands = deps.retriever.search_moments(intent.search_text or query, list(intent.emotions), intent.arousal,
                                              k=k, modality_hints=list(intent.modalities), exclude=exclude)
        kept, dropped = _split_usable(intent, deps.index, cands, span)
        if len(kept) >= want or len(cands) < k or k >= len(deps.index.records):
            return kept, dropped
        k *= 4


def _during(root: Context, state: State, intent, main_person, want: int, exclude: list[TimeWindow]) -> dict:
    """The condition person's moments as candidates, with that person's expression reading in each as
    evidence; {"how": why not} when the person cannot be told or never shows the emotion."""
    from tools.people import load_people
    try:
        people = load_people(root.index)
    except (OSError, ValueError) as e:  # as pick_person: a question never crashes on people.json
        return {"how": f"people unavailable: {e}"}
    other = condition_person(intent.during.person, people, main_person)
    if other.person is None:
        return {"how": other.how}
    b_index, b_retr = person_view(root.index, root.retriever, other.person.id,
                                  root.extra.setdefault("person_views", {}))
    b_deps = dataclasses.replace(root, index=b_index, retriever=b_retr)
    basic = [EMOTION_TO_EXPRESSION[e] for e in intent.during.emotions
             if e in EXPRESSION_TO_EMOTION.values() and e != "Neutral"]
    cands, evidence, cited = [], [], {}
    known = list(state.get("evidence", []))
    for c in b_retr.search_moments(intent.during.clause, list(intent.during.emotions), "any", k=want * 3,
                                   modality_hints=["face"], exclude=exclude):
        if window_channels(b_index, c.window)[0] < MIN_FACE:  # the condition is about how B looks: B is seen
            continue
        w = episode(b_index.records, b_index.frames_in, basic[0], c.window) if basic else c.window
        if w is None or any(w.overlaps(x.window) for x in cands):  # B's face does not show it here, or seen
            continue
        ev, _err, _secs = run_tool(b_deps, "expression", w, next_id(known, len(evidence)))
        if ev is not None:
            evidence.append(ev)
            cited[w.label()] = ev.id
        cands.append(c.model_copy(update={"window": w}))
        if len(cands) >= want:
            break
    how = f"{other.person.label()} ({other.how})"
    return {"cands": cands, "evidence": evidence, "cited": cited, "how": how, "label": other.person.label()}


def _face_of(person) -> str:
    label = person.label()
    return f"the face of {label}," if "," in label else f"the face of {label}"  # "…, on the left, is seen"


def _whose_changes(index, person, kind: str) -> list[tuple]:
    """(change, whose face) pairs of `kind`: the asked person's; with nobody asked, each tracked person's exits
    and entrances when the video has several ("when does someone walk out?" while another stays), else any
    face's (and "nobody on screen" is always any face's absence)."""
    from tools.people import load_people, person_frames
    dur = getattr(index, "seen_until", index.meta.duration)  # a damaged file: nothing is known after its last readable time
    if person is not None:  # `index` is already that person's view
        tracks = [(index.frames, _face_of(person))]
    else:
        try:
            people = [p for p in load_people(index).people if p.frames >= 3] if kind != "absent" else []
        except (OSError, ValueError):  # as pick_person: a question never crashes on people.json
            people = []
        tracks = ([(person_frames(index.frames, p.id), _face_of(p)) for p in people] if len(people) >= 2
                  else [(index.frames, "a face")])
    return [(c, who) for frames, who in tracks for c in presence_changes(frames, dur) if c.kind == kind]


def _presence(deps: Context, state: State, intent, person, want: int, exclude: list[TimeWindow]) -> dict:
    """The asked person's (or anyone's) presence changes of the asked kind as candidates, each with its
    change as evidence; {"how": why not} when there is none. Nobody on screen is any face's absence."""
    if not deps.index.frames:  # a sound file: nobody can be seen or not seen
        return {"how": "this file has no picture, so who is in it cannot be seen"}
    changes = [(c, who) for c, who in _whose_changes(deps.index, person, intent.presence)
               if not any(c.moment.overlaps(x) for x in exclude)]
    if not changes:
        what = ({"leaves": "never leaves the picture", "enters": "never comes into the picture",
                 "absent": "is never out of the picture"} if person else
                {"leaves": "nobody leaves the picture", "enters": "nobody comes into the picture",
                 "absent": "the picture always shows a face"})[intent.presence]
        return {"how": f"{_face_of(person) + ' ' if person else ''}{what} in the sampled frames"}
    longest = max(c.gone.duration for c, _ in changes)
    # "when does she first walk out?" / "... for the last time?": the first or last change; else the longest absence
    order = {"start": lambda cw: cw[0].t, "end": lambda cw: -cw[0].t}.get(intent.temporal_hint,
                                                                         lambda cw: -cw[0].gone.duration)
    known = list(state.get("evidence", []))
    cands, evidence, cited = [], [], {}
    for rank, (c, who) in enumerate(sorted(changes, key=order)[:want]):
        if c.moment.label() in cited:  # two people leaving together: one moment
            continue
        ev = presence_evidence(c, next_id(known, len(evidence)), who)
        evidence.append(ev)
        cited[c.moment.label()] = ev.id
        score = 1.0 - rank / len(changes) if intent.temporal_hint in ("start", "end") else c.gone.duration / longest
        cands.append(Candidate(window=c.moment, score=round(score, 3), descriptor=ev.text))
    return {"cands": cands, "evidence": evidence, "cited": cited, "how": f"{len(changes)} change(s)"}


def _time_span(deps: Context, state: State, intent) -> tuple[tuple[float, float] | None, str]:
    """The span of the video the question's time constraint allows (tools/timeref.py), and how it was found:
    "after the argument" finds the argument first (retrieval on the event's words, read by the question
    reader for its feeling); "earlier"/"later" are relative to the moment shown last."""
    t = intent.time
    dur = deps.index.meta.duration
    shown = next((m.window for m in state.get("moments", []) if m.rank == 1), None)
    event = None
    if t.kind in ("before", "after") and t.value:
        from agents.intent import read_question
        ev = read_question(t.value)
        hits = deps.retriever.search_moments(t.value, list(ev.emotions), "any", k=1)
        event = hits[0].window if hits else None
    span = span_of(t.kind, t.value, dur, shown=shown, event=event)
    how = "" if t.kind == "none" else (f"{t.kind} {t.value}".strip() + (f": {span[0]:.0f}-{span[1]:.0f} s" if span
                                                                         else ": no span found, not applied"))
    if event is not None:
        how += f" (the event found at {event.label()})"
    return span, how


def localise(state: State, runtime: Runtime[Context]) -> dict:
    intent = state["intent"]
    who = pick_person(ctx(runtime).index, state)  # "the one on the left" → that person's track (tools/who.py)
    if who.ask_back:  # "the man" in a video of several people, with no name given: ask which one
        return {"candidates": [], "rounds": state.get("rounds", 0) + 1, "person": None, "person_label": None,
                "flags": ["ask_person: " + " | ".join(p.label() for p in who.candidates)],
                "events": [event(node="localise", who=who.how, ask_person=[p.id for p in who.candidates])]}
    pid = who.person.id if who.person else None
    deps = view(runtime, {**state, "person": pid})  # retrieval and the usable-face check on that view
    exclude = (list(state.get("rejected", [])) + list(state.get("shown", []))
               + [v.candidate.window for v in state.get("verified", [])])  # this turn's earlier rounds
    want = max(deps.n_candidates, intent.n_moments, int(deps.extra.get("ranked_moments", 0)))
    during = _during(ctx(runtime), state, intent, who.person, want, exclude) if intent.during else {}
    presence = _presence(deps, state, intent, who.person, want, exclude) if intent.presence_question else {}
    span, time_how = _time_span(deps, state, intent) if intent.time.kind != "none" else (None, "")
    if "cands" in during:  # "A while B": B's moments, read on A's face
        kept, dropped = _split_usable(intent, deps.index, during["cands"], span)
    elif presence:  # exits, entrances, absences: from the frames, not from retrieval
        kept, dropped = [(c, "") for c in presence.get("cands", [])
                         if span is None or span[0] <= c.window.center <= span[1]], []
    else:
        kept, dropped = _search(deps, intent, state["query"], want, exclude, span)
    cands = [c for c, _ in kept]
    if intent.temporal_hint != "none":
        dur = deps.index.meta.duration
        cands = sorted(cands, key=lambda c: -(c.score + 0.3 * _temporal_prior(c.window, dur, intent.temporal_hint)))
    cands = cands[:want]
    flags = [f"person: {who.how}"] if who.unresolved else []
    if span is not None and not cands:
        flags.append(f"not_found: nothing in the asked time ({time_how}); nothing is shown")
    if intent.during and "cands" not in during:
        flags.append(f"while: {during['how']}; the condition '{intent.during.clause}' was left out")
    if presence and not cands:
        flags.append(f"not_found: {presence['how']}; nothing is shown")
    return {"candidates": cands, "rounds": state.get("rounds", 0) + 1,
            "person": pid, "person_label": who.person.label() if who.person else None, "person_ref": intent.person,
            "evidence": during.get("evidence", []) + presence.get("evidence", []),
            "during": {**state.get("during", {}),
                       **{w: (ev, during["label"]) for w, ev in during.get("cited", {}).items()}},
            "presence": {**state.get("presence", {}), **presence.get("cited", {})},
            **({"flags": flags} if flags else {}),
            "events": [event(node="localise", person=who.person.label() if who.person else None, who=who.how,
                             during=during.get("how"), presence=presence.get("how"), time=time_how or None,
                             face_question=face_question(intent), candidates=[
                {"window": c.window.label(), "score": c.score, "descriptor": c.descriptor[:160]} for c in cands],
                dropped=[{"window": c.window.label(), "reason": why} for c, why in dropped])]}
