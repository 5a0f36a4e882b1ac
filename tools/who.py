"""Who a question is about -> one person of `people.json` (tools/people.py), and the per-person view of the
index that a turn's retrieval, verification and answer then run on (the shared context is not changed: the
turn's state holds the person, `graphs/nodes/common.view` gives each node that person's view).

The question reader (agents/intent) says how the question refers to someone (`PersonRef`: a kind and a value);
this module resolves that reference against what the video and the conversation give, with no reading of
words of its own:

- a name the user gave (`affectlens people VIDEO --name 2="the man"`, or "Anna") matches first, for any kind;
- "person 2"; a side ("the one on the left"); the order of appearance ("the second one to show up");
- a role: the interviewer / host / presenter / moderator is the person with more attributed question turns,
  the interviewee / guest / candidate the one who speaks and asks less;
- "she" / "he" / "they" in a follow-up: the previous turn's person; "the other one": the person who is not;
- "the man" / "the woman" (no gender model ships offline): a name tag, else the previous turn's person when
  that turn named the same word, else the only person present; "a man" (`PersonRef.indefinite`) is anyone,
  so the whole video.

When a reference cannot be resolved, the answer asks back with the candidates (`WhoResult.candidates`: ids,
positions and thumbnails) instead of answering about everyone; except in a voice question, where every
person's view holds the same speech, so the answer searches every voice and says so.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tools.people import People, Person
from tools.schemas import PersonRef

ASKS = frozenset({"interviewer", "host", "presenter", "moderator", "questioner", "reporter", "journalist"})
ANSWERS = frozenset({"interviewee", "guest", "candidate", "respondent", "participant", "speaker", "witness",
                     "patient", "client", "customer"})


class WhoResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: Person | None = None
    how: str = ""          # which rule matched, or why none did
    candidates: list[Person] = Field(default_factory=list, description="who it could be, when it cannot be told")
    unresolved: bool = Field(False, description="a person was asked for and none is answered about: the answer "
                             "says `how` (cannot be told, can be anyone, no people, people unavailable)")

    @property
    def ask_back(self) -> bool:
        return self.person is None and len(self.candidates) >= 2


def _by_name(value: str, people: list[Person]) -> Person | None:
    v = value.strip().lower().removeprefix("the ")
    if not v:
        return None
    for p in people:
        name = (p.name or "").strip().lower().removeprefix("the ")
        if name and (name == v or name in v.split() or v in name.split()):
            return p
    return None


def resolve_person(ref: PersonRef | None, people: People, previous: int | None = None,
                   previous_ref: PersonRef | None = None) -> WhoResult:
    """The person `ref` points to; None person with `candidates` when it could be several."""
    ppl = people.people
    ref = ref or PersonRef()
    if ref.kind in ("none", "everyone"):
        return WhoResult(how="no person asked for" if ref.kind == "none" else "everyone")
    if ref.indefinite:  # "a man": anyone of them; no gender model ships, so it cannot narrow the people
        return WhoResult(how=f"“{ref.words()}” can be anyone, and nothing here tells men from women", unresolved=True)
    if not ppl:
        return WhoResult(how="no people in this video", unresolved=True)
    prev = people.get(previous) if previous is not None else None
    named = _by_name(ref.value, ppl) if ref.value else None
    if named is not None and ref.kind not in ("side", "order", "number"):
        return WhoResult(person=named, how=f"name '{named.name}'")
    if ref.kind == "number" and ref.value.isdigit() and people.get(int(ref.value)):
        return WhoResult(person=people.get(int(ref.value)), how=f"person {ref.value}")
    if ref.kind == "side":
        side = ref.value
        at = [p for p in ppl if p.position == side]
        if not at and side != "centre":  # nobody mostly there: the outermost on that side
            at = [min(ppl, key=lambda p: p.x) if side == "left" else max(ppl, key=lambda p: p.x)]
        if at:
            return WhoResult(person=max(at, key=lambda p: p.screen_s), how=f"position {side}")
    if ref.kind == "order":
        seen = sorted(ppl, key=lambda p: p.first_s)
        k = len(seen) - 1 if ref.value == "last" else int(ref.value) - 1 if ref.value.isdigit() else -1
        if 0 <= k < len(seen):
            return WhoResult(person=seen[k], how=f"order of appearance {ref.value}")
    if ref.kind == "role" and (ref.value in ASKS or ref.value in ANSWERS):
        ranked = sorted(ppl, key=lambda p: -p.question_turns)
        if ranked[0].question_turns > 0 and (len(ranked) == 1 or ranked[0].question_turns > ranked[1].question_turns):
            if ref.value in ASKS:
                return WhoResult(person=ranked[0], how=f"{ref.value}: most question turns ({ranked[0].question_turns})")
            others = [p for p in ranked[1:] if p.speaking_s > 0] or ranked[1:]
            if others:
                return WhoResult(person=max(others, key=lambda p: p.speaking_s), how=f"{ref.value}: speaks, asks less")
    if ref.kind == "other":
        others = [p for p in ppl if prev is None or p.id != prev.id]
        if prev is not None and len(others) == 1:
            return WhoResult(person=others[0], how="the other person (not the previous turn's)")
        if len(others) >= 2:
            return WhoResult(how=f"cannot tell which other person is meant ({ref.words()})", candidates=others, unresolved=True)
    if ref.kind == "pronoun" and prev is not None:
        return WhoResult(person=prev, how="pronoun: the previous turn's person")
    if ref.kind == "gender" and prev is not None and previous_ref is not None and \
            previous_ref.kind in ("gender", "other") and previous_ref.value == ref.value:
        return WhoResult(person=prev, how=f"'{ref.words()}': the previous turn's person")
    if len(ppl) == 1:
        return WhoResult(person=ppl[0], how="the only person in the video")
    return WhoResult(how=f"cannot tell which person '{ref.words() or ref.value}' is", candidates=list(ppl), unresolved=True)


def condition_person(ref: PersonRef, people: People, main: Person | None) -> WhoResult:
    """The person a "while ..." condition is about: resolved like any reference, else the one person who is not
    the main clause's (two people), or the only person ("she smiles while she cries" is about her)."""
    res = resolve_person(ref, people, previous=main.id if main else None)
    if res.person is not None and (main is None or res.person.id != main.id or len(people.people) == 1
                                   or ref.kind not in ("pronoun", "other", "none")):
        return res
    others = [p for p in people.people if main is None or p.id != main.id]
    if len(people.people) == 1:
        return WhoResult(person=people.people[0], how="the only person in the video")
    if main is not None and len(others) == 1:
        return WhoResult(person=others[0], how="the other person")
    return WhoResult(how="cannot tell who the 'while' clause is about", candidates=others, unresolved=True)


def pick_person(index, state, ref: PersonRef | None = None) -> WhoResult:
    """The person this turn asks about (None: the whole video): the one the user chose (`state["focus"]`),
    else `ref` (given by a node that read the question itself, as the arc does) or the intent's reference; a
    follow-up ("and the next one?") keeps the previous turn's person (`state["person"]`). Reads the state
    only: the localise node writes the result into the turn's state."""
    from tools.people import load_people
    intent = None if ref is not None else state.get("intent")  # the intent in the state is this turn's
    ref = ref or getattr(intent, "person", None) or PersonRef()
    previous = state.get("person")
    try:
        people = load_people(index)  # the video's own index: a person's view is never stored in the context
        focus = state.get("focus")
        if focus is not None:  # the user chose the person (a UI chip, `ask --person`): it wins over the words
            if people.get(focus) is None:
                return WhoResult(how=f"cannot use person {focus}: this video's people are {[p.id for p in people.people]}",
                                 unresolved=True)
            return WhoResult(person=people.get(focus), how="chosen by the user")
        res = resolve_person(ref, people, previous=previous, previous_ref=state.get("person_ref"))
    except (OSError, ValueError) as e:
        return WhoResult(how=f"people unavailable: {e}", unresolved=True)
    if res.person is None and not res.candidates and state.get("mode") not in ("new", None) \
            and previous is not None and people.get(previous):
        return WhoResult(person=people.get(previous), how="follow-up: same person")
    if res.ask_back and intent is not None and set(intent.modalities) == {"voice"} and not intent.presence_question:
        # a voice question searches the video's speech on any person's view (PersonIndex keeps it), so which
        # face is meant would not change the answer: search every voice and say so
        return WhoResult(how=f"{res.how}: every voice is searched, whoever speaks", unresolved=True)
    return res


def person_view(index, retriever, pid: int | None, memo: dict) -> tuple:
    """(index, retriever) for one person's track, or the video's own when `pid` is None. `memo` (kept by
    the caller per video) saves rebuilding a person's view for every node and turn."""
    from tools.people import PersonIndex, person_retriever
    if pid is None:
        return index, retriever
    key = (index.meta.content_key, pid)
    if key not in memo:
        view = PersonIndex(index, pid)
        memo[key] = (view, person_retriever(view))
    return memo[key]
