""""Who" in a question → one person of `people.json` (tools/people.py), and the per-person view of the
index that a turn's retrieval, verification and answer then run on (the shared context is not changed:
the turn's state holds the person, `graphs/nodes/common.view` gives each node that person's view).

Resolved, in this order: a name the user gave ("Anna", or a tag such as "the man" given with
`affectlens people VIDEO --name 2="the man"`); "person 2"; a side ("on the left", "the right one",
"in the middle"); "the interviewer" / "the one asking (questions)" (the person with more attributed
question turns); "she"/"he"/"they" in a follow-up (the previous turn's person). "The man"/"the woman" with
no name given cannot be told apart (no gender model ships offline): then it resolves only when one
person is in the video, else it stays unresolved and the answer says so (flag).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from tools.people import People, Person

SIDES = {"left": "left", "right": "right", "middle": "centre", "centre": "centre", "center": "centre"}
INTERVIEWER = re.compile(r"\b(interviewer|host|presenter|moderator|(one|person|guy|woman|man) (who is |who's )?"
                         r"ask(s|ing)?( the)?( questions?)?)\b", re.I)
ANSWERER = re.compile(r"\b(interviewee|guest|(one|person) answering)\b", re.I)
PRONOUN = re.compile(r"^\s*(she|he|they|her|him|them)\b|\b(does|did|is|was) (she|he|they)\b|\b(her|his) (face|voice)\b", re.I)
PERSONISH = re.compile(r"\b(man|woman|guy|lady|girl|boy|person|interviewer|host|guest|he|she|him|her)\b", re.I)


# "A while B": the question asks about A at the times B happens ("how does the guy on the right look while
# she's falling apart?"). Only a clause whose subject is a person is a condition ("... while nobody is on
# screen" is not: it stays part of the question).
WHILE = re.compile(r"^(?P<main>.*?\S)\s*,?\s+(?:while|whilst|at the same time as)\s+(?P<cond>.+?)[\s?.!]*$", re.I)
COND_SUBJECT = re.compile(r"^(she|he|they|her|his|the (other|man|woman|guy|lady|girl|boy|person|interviewer|"
                          r"host|guest)\b|person\s*#?\d|the one (on|in) the)", re.I)


def split_while(query: str) -> tuple[str, str]:
    """(main clause, condition) of "A while B" when B's subject is a person; (query, "") otherwise."""
    m = WHILE.match(query.strip())
    if not m or not COND_SUBJECT.match(m.group("cond")):
        return query, ""
    return m.group("main"), m.group("cond")


class WhoResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: Person | None = None
    how: str = ""          # which rule matched, or why none did


def resolve_person(who: str | None, people: People, previous: int | None = None) -> WhoResult:
    """`who`: the intent's `who`, or the question itself. None person when nothing (or nothing unique) fits."""
    text = (who or "").strip()
    ppl = people.people
    if not text or not ppl:
        return WhoResult(how="no person asked for" if not text else "no people in this video")
    low = text.lower()
    for p in ppl:  # names first: a user-given "the man" wins over the side/role rules
        if p.name and re.search(r"\b" + re.escape(p.name.lower().removeprefix("the ")) + r"\b", low):
            return WhoResult(person=p, how=f"name '{p.name}'")
    m = re.search(r"\bperson\s*#?\s*(\d+)\b", low)
    if m and people.get(int(m.group(1))):
        return WhoResult(person=people.get(int(m.group(1))), how=f"person {m.group(1)}")
    sides = {SIDES[w] for w in re.findall(r"\b(left|right|middle|centre|center)\b", low)}
    if len(sides) == 1:
        side = sides.pop()
        at = [p for p in ppl if p.position == side]
        if not at and side != "centre":  # nobody mostly there: the outermost on that side
            at = [min(ppl, key=lambda p: p.x) if side == "left" else max(ppl, key=lambda p: p.x)]
        if at:
            return WhoResult(person=max(at, key=lambda p: p.screen_s), how=f"position {side}")
    if INTERVIEWER.search(low) or ANSWERER.search(low):
        ranked = sorted(ppl, key=lambda p: -p.question_turns)
        if ranked[0].question_turns == 0 or (len(ranked) > 1 and ranked[0].question_turns == ranked[1].question_turns):
            return WhoResult(how="interviewer asked, but no one has more question turns than the others")
        if INTERVIEWER.search(low):
            return WhoResult(person=ranked[0], how=f"interviewer: most question turns ({ranked[0].question_turns})")
        others = [p for p in ranked[1:] if p.speaking_s > 0] or ranked[1:]
        if others:
            return WhoResult(person=max(others, key=lambda p: p.speaking_s), how="interviewee: speaks, asks less")
    if PRONOUN.search(low) and previous is not None and people.get(previous):
        return WhoResult(person=people.get(previous), how="pronoun: the previous turn's person")
    if PERSONISH.search(low):
        if len(ppl) == 1:
            return WhoResult(person=ppl[0], how="the only person in the video")
        return WhoResult(how="cannot tell which person is meant (name them: affectlens people VIDEO --name ID=NAME)")
    return WhoResult(how="no person asked for")


def other_person(condition: str, people: People, main: Person | None) -> WhoResult:
    """The person a "while ..." condition is about: named or placed in the condition itself, else, for a
    pronoun or "the other one", the one person who is not the main clause's (two people in the video), or
    the only person (one person: "she smiles while she cries" is about her)."""
    res = resolve_person(condition, people)
    if res.person is not None and (main is None or res.person.id != main.id or len(people.people) == 1):
        return res
    others = [p for p in people.people if main is None or p.id != main.id]
    if len(people.people) == 1:
        return WhoResult(person=people.people[0], how="the only person in the video")
    if main is not None and len(others) == 1:
        return WhoResult(person=others[0], how="the other person")
    return WhoResult(how="cannot tell who the 'while' clause is about")


def pick_person(index, state) -> WhoResult:
    """The person this turn asks about (None: the whole video): the one the user chose (`state["focus"]`),
    else from the intent's `who` or the question;
    a follow-up ("and the next one?", "she") keeps the previous turn's person (`state["person"]`).
    Reads the state only: the localise node writes the result into the turn's state."""
    from tools.people import load_people
    intent = state.get("intent")
    asked = " ".join(x for x in (getattr(intent, "who", None), split_while(state.get("query", ""))[0]) if x)
    previous = state.get("person")
    try:
        people = load_people(index)  # the video's own index: a person's view is never stored in the context
        focus = state.get("focus")
        if focus is not None:  # the user chose the person (a UI chip, `ask --person`): it wins over the words
            if people.get(focus) is None:
                return WhoResult(how=f"cannot use person {focus}: this video's people are {[p.id for p in people.people]}")
            return WhoResult(person=people.get(focus), how="chosen by the user")
        res = resolve_person(asked, people, previous=previous)
    except (OSError, ValueError) as e:
        return WhoResult(how=f"people unavailable: {e}")
    if res.person is None and state.get("mode") != "new" and previous is not None and people.get(previous):
        return WhoResult(person=people.get(previous), how="follow-up: same person")
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
