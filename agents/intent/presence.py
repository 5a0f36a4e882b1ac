"""Is the question about someone being in the picture ("when does he walk out?", "when does she come back
in?", "when is nobody on screen?")? `read_presence` says which kind (tools/presence.PresenceKind) or None.

Written from ordinary English for leaving, arriving and being away, not from any dev question. Deliberately
narrow: "left" alone is a side ("the woman on the left"), and "appear" is presence only with nothing
after it or a place ("appears on screen"), not "appears nervous"; quoted words and "like ..."/"as if ..."
comparisons are not looked at. A question that also names an emotion ("storms out in anger") or asks about
the voice or the words is left to the emotion path by the interpret node."""

from __future__ import annotations

import re

from tools.presence import PresenceKind

_PLACE = r"(?:the\s+)?(?:frame|picture|shot|scene|screen|view|sight|room|camera|stage|set|image|video)"
_NOBODY = r"(?:nobody|no\s*one|no\s+faces?|no\s+people|no\s+person|no\s+humans?)"

_ABSENT = re.compile(
    rf"\b(?:{_NOBODY}\s+(?:is\s+|are\s+|at\s+all\s+)?(?:(?:on|in)\s+{_PLACE}|visible|shown|seen|there|around|on-?screen)\b"
    rf"|(?:is|are|was|were|be|stays?|remains?)\s+(?:[\w']+[\s,]+){{0,6}}?(?:out\s+of|off|away\s+from|not\s+in|not\s+on|missing\s+from)\s+{_PLACE}"
    rf"|(?:is|are|was|were)\s+(?:[\w']+[\s,]+){{0,6}}?(?:gone|away|absent|missing|off[-\s]?screen|off[-\s]?camera)"
    rf"(?=\s*(?:$|[?.!,;]|(?:from|again|for|at|in|during)\b))"
    rf"|(?:is|are|was|were)\s+(?:[\w']+[\s,]+){{0,6}}?not\s+(?:in|on)\s+{_PLACE}"
    rf"|empty\s+(?:frame|screen|room|shot|picture|stage)"
    rf"|(?:isn't|aren't|wasn't|weren't|is\s+not|are\s+not|can't\s+see|cannot\s+see|don't\s+see)\s+"
    rf"(?:\w+\s+)?(?:in|on)\s+{_PLACE})", re.I)

_LEAVES = re.compile(
    rf"\b(?:leav(?:e|es|ing)\b(?!\s+(?:a|an|him|her|them|me|us|it)\b)"
    rf"|left\s+{_PLACE}"
    rf"|(?:walk|step|storm|run|wander|head|get|go|goes|went|gone|going|slip|move|drift)(?:s|ed|ing)?\s+"
    rf"(?:out|off|away)\b"
    rf"|exit(?:s|ed|ing)?\b|disappear(?:s|ed|ing)?\b|vanish(?:es|ed|ing)?\b"
    rf"|(?:out|off)\s+of\s+{_PLACE}"
    rf"|(?:last\s+(?:time\s+)?(?:we\s+)?see|last\s+seen))", re.I)

_ENTERS = re.compile(
    rf"\b(?:enter(?:s|ed|ing)?\b"
    rf"|(?:come|comes|came|coming|walk|walks|walked|walking|step|steps|stepped|stepping|"
    rf"pop|pops|popped|move|moves|moved|run|runs|ran)\s+(?:back\s+)?(?:in|into|onto|back)\b"
    rf"|(?:show|shows|showed|turn|turns|turned)\s+up\b|arriv(?:e|es|ed|ing)\b"
    rf"|(?:re)?appear(?:s|ed|ing)?\s*(?:$|[?.!,]|\s+(?:on|in|again|for|at|first))"
    rf"|into\s+{_PLACE}|first\s+(?:time\s+)?(?:we\s+)?(?:see|seen|shows?\s+up)|(?:is|are)\s+back\b)", re.I)


# what someone says ('he says "get out of my house"') and what something is like ('glances at the door like
# somebody is about to walk in') are not events in the picture: matched with the words taken out
_QUOTED = re.compile(r"[\"“”„](.*?)[\"“”]|(?<!\w)['‘](.*?)['’](?!\w)")
_LIKE = re.compile(r"\b(?:like|as if|as though)\b.*$", re.I)


def read_presence(question: str) -> PresenceKind | None:
    """The presence kind a question asks about, or None. Being away ("is out of the picture") before
    leaving ("walks out of the picture"), leaving before arriving."""
    q = _LIKE.sub("", _QUOTED.sub(" ", " ".join(question.split())))
    if _ABSENT.search(q):
        return "absent"
    if _LEAVES.search(q):
        return "leaves"
    if _ENTERS.search(q):
        return "enters"
    return None
