"""arc: a summary or comparison question ("how does her mood change over the interview?", "is he less tense later
on?") answered from the index alone, with no tool call: the emotional arc (tools/arc.py), its
words (agents/arc_words.py), its picture (PNG + SVG in the index folder), and the strongest emotional
segments as the answer's moments.

`answer_arc` is the plain function (the export command and the report call it too); the node `arc` reads
the turn's state: `state["reading"]` (the question reader's Reading as a dict: mode, person, time) where
present, else a summary of everyone; `state["person"]` where a person was already resolved."""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from agents.arc_words import clock, compare, describe, feeling, split_sides, where
from agents.schemas import Answer, Intent, Moment
from graphs.nodes.common import ctx, event
from graphs.state import Context, State
from tools.arc import Arc, compute_arc, plot_arc
from tools.labels import family
from tools.schemas import Evidence

MOMENTS = 3  # strongest emotional segments listed as moments: as many as a summary sentence names (arc_words)


def _sureness(c: float) -> str:
    from agents.compose import sureness
    return sureness(c)


def strongest(arc: Arc, n: int = MOMENTS) -> list:
    """The arc's strongest emotional segments (confidence x length, length counted up to 10 s), one per
    person and feeling first (a summary shows the range of feelings, not one feeling three times), then the
    next strongest."""
    emo = sorted((s for s in arc.segments if s.emotional), key=lambda s: -(s.confidence * min(s.end - s.start, 10.0)))
    kinds: set = set()
    first = [s for s in emo if (s.person, family(s.label)) not in kinds and not kinds.add((s.person, family(s.label)))]
    return (first + [s for s in emo if s not in first])[:n]


def answer_arc(index, query: str, mode: str = "summary", person: int | None = None, time_kind: str = "none",
               time_value: str = "", first_id: int = 1, out_dir: Path | None = None,
               intent: Intent | None = None, picture: bool = True,
               person_kind: str = "none") -> tuple[Answer, list[Evidence]]:
    """The Answer to a summary ("summary") or comparison ("compare") question about `index`'s video, for
    `person` (a tracked person's id) or everyone (None); `time_kind`/`time_value` as the question reader's
    TimeRef (first_half, before "10:36", ...); `person_kind` the reading's person reference kind (a comparison
    with no time and a reference to people but no one person compares two people). Returns the Answer and the evidence it made (ids from
    E<first_id>). The picture goes to `out_dir` (default: the index folder's arc/)."""
    from tools.people import load_people
    base = getattr(index, "base", index)
    try:
        ppl = load_people(base)
    except (OSError, ValueError):
        ppl = None
    everyone = [(p.id, p.label()) for p in ppl.people] if ppl and ppl.people else [(None, "the video")]
    chosen = [x for x in everyone if x[0] == person] if person is not None else everyone
    # the off-camera voices get their own row only in an arc of everyone (not in one person's)
    arc, evidence = compute_arc(base, chosen or everyone, first_id=first_id, voices=person is None)
    describe(arc)
    flags: list[str] = []
    if mode == "compare":
        left, right, notes = split_sides(arc, time_kind, time_value, person, arc.people, person_kind)
        arc.comparison = compare(arc, left, right)
        flags += [f"arc: {n}" for n in notes]
    if picture:
        folder = out_dir or (Path(base.folder) / "arc")
        stem = f"arc_{mode}_{'all' if person is None else f'person{person}'}"
        png, svg = plot_arc(arc, folder / stem)
        arc.image_path, arc.svg_path = str(png), str(svg)
    moments = []
    for rank, s in enumerate(sorted(strongest(arc), key=lambda s: s.start), 1):  # in time order: an arc
        who = next((p.name for p in arc.people if p.person == s.person), "")
        who = "" if who == "the video" or len(arc.people) == 1 else f"{who[0].upper()}{who[1:]}: "
        text = (f"{feeling(s.label)} {where(s, arc.duration)} ({clock(s.start)}–{clock(s.end)}), "
                f"{_sureness(s.confidence)}, on the emotional arc.")
        moments.append(Moment(rank=rank, window=s.window, label=s.label, confidence=s.confidence,
                              rationale=who + (text[0].upper() + text[1:] if not who else text),
                              evidence_ids=s.evidence_ids))
    ans = Answer(query=query, video=base.meta, intent=intent, moments=moments, evidence=evidence, flags=flags,
                 stats={"tool_calls": 0.0, "llm_calls": 0.0}, arc=arc)
    return ans, evidence


def _person(index, state: State, reading: dict) -> tuple[int | None, list[str]]:
    """Whom the arc is about (None: everyone) and the notes on it: the user's chosen person (a UI chip, ask
    --person) or the reading's reference, resolved by tools/who.py; a reference that fits several people
    asks back which one (the arc then covers everyone)."""
    from tools.schemas import PersonRef
    from tools.who import pick_person
    ref = PersonRef.model_validate(reading.get("person") or {})
    if state.get("focus") is None and ref.kind in ("none", "everyone"):
        return None, []
    who = pick_person(index, state, ref=ref)  # this question's reference, not an earlier turn's intent
    if who.person is not None:
        return who.person.id, []
    if who.ask_back and reading.get("mode") == "compare" and (reading.get("time") or {}).get("kind", "none") == "none":
        # "compare the woman and the man": no time to compare, so the people are compared
        return None, []
    if who.ask_back:
        return None, ["ask_person: " + " | ".join(p.label() for p in who.candidates)]
    return None, [f"person: {who.how}"] if who.unresolved else []


def follow_up_intent(ans: Answer) -> Intent:
    """What "show me another" or "the one before that" continues after an arc turn: a search, one moment at a
    time, for the feelings of the arc's moments (Neutral aside; none: a description of the video). Without it a
    follow-up continued the question asked before the arc, or, when the arc came first, had no search at all."""
    labels = list(dict.fromkeys(m.label for m in ans.moments if m.label != "Neutral"))[:4]
    return Intent(emotions=labels, n_moments=1, search_text=", ".join(feeling(x) for x in labels))


def arc(state: State, runtime: Runtime[Context]) -> dict:
    deps = ctx(runtime)
    reading = state.get("reading") or {}  # type: ignore[typeddict-item]
    mode = reading.get("mode") or state.get("mode")
    mode = mode if mode in ("summary", "compare") else "summary"
    t = reading.get("time") or {}
    person, flags = _person(deps.index, state, reading)
    ans, evidence = answer_arc(deps.index, state["query"], mode, person, t.get("kind", "none"), t.get("value", ""),
                               first_id=len(state.get("evidence", [])) + 1,  # no Intent: an arc is read, not searched
                               person_kind=(reading.get("person") or {}).get("kind", "none"))
    if flags:
        ans = ans.model_copy(update={"flags": flags + ans.flags})
    return {"answer": ans, "evidence": evidence, "moments": ans.moments, "flags": ans.flags, "person": person,
            "intent": follow_up_intent(ans),
            "shown": [m.window for m in ans.moments],
            "events": [event(node="arc", mode=mode, person=person, segments=len(ans.arc.segments) if ans.arc else 0)]}
