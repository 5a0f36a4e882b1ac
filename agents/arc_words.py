"""The emotional arc in words (tools/arc.py computes it): a few sentences per person ("calm for the first 6
minutes, angry around 10:36, happy near the end") and, for a comparison, the share of time per feeling on
each side with the difference said plainly. Every sentence is a `Claim` citing the arc evidence it was
written from. Feelings are named with tools.labels.FEELING, the one everyday-words table."""

from __future__ import annotations

from collections.abc import Sequence

from tools.labels import FEELING
from tools.arc import Arc, ArcSegment, Claim, Comparison, PersonArc, Side, parse_clock, people_segments, side
from tools.labels import family, lexicon_emotions
from tools.schemas import clock

EDGE = 0.15          # the first / last 15 % of a video is its "start" / "end" in words (a plain-language
                     # convention, not fitted)
OPENING = 0.2        # a first calm stretch is said ("calm for the first 6 minutes") from 20 % of the video
MOMENTS_PER_PERSON = 3  # emotional moments said per person: "a few sentences per person" (issue 30)
DIFFERENCE = 0.1     # a family's share must differ by 10 points between sides to be called a difference


def span_words(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:.0f} minutes"
    return "1 second" if round(seconds) == 1 else f"{seconds:.0f} seconds"


def where(seg: ArcSegment, duration: float) -> str:
    """'near the start', 'near the end' or 'around 10:36'."""
    mid = (seg.start + seg.end) / 2
    if mid <= EDGE * duration:
        return "near the start"
    if mid >= (1 - EDGE) * duration:
        return "near the end"
    return f"around {clock((seg.start + seg.end) / 2)}"


def feeling(label: str | None) -> str:
    return FEELING.get(label or "", "not seen")


def person_summary(arc: Arc, p: PersonArc, max_moments: int = MOMENTS_PER_PERSON) -> list[Claim]:
    segs = arc.of(p.person)
    seen = [s for s in segs if s.label is not None]
    if not seen:
        return [Claim(text="Never clearly seen or heard, so there is no arc to read.")]
    claims: list[Claim] = []
    first = seen[0]
    emo = [s for s in seen if s.emotional]
    if emo and first.label == "Neutral" and first.end - first.start >= OPENING * arc.duration:
        lead = "for the first" if first.start <= 1.0 else f"from {clock(first.start)} for"
        claims.append(Claim(text=f"Calm {lead} {span_words(first.end - first.start)}.",
                            evidence_ids=first.evidence_ids[:1]))
    top = sorted(sorted(emo, key=lambda s: -(s.confidence * min(s.end - s.start, 10.0)))[:max_moments],
                 key=lambda s: s.start)
    if top:
        parts = [Claim(text=f"{feeling(s.label)} {where(s, arc.duration)} ({clock(s.start)}–{clock(s.end)})",
                       evidence_ids=s.evidence_ids) for s in top]
        text = ", ".join(c.text for c in parts)
        claims.append(Claim(text=text[0].upper() + text[1:] + ".",
                            evidence_ids=[i for c in parts for i in c.evidence_ids]))
        if len(emo) > len(top):
            claims.append(Claim(text=f"{len(emo) - len(top)} shorter or weaker emotional moment(s) besides.",
                                evidence_ids=[i for s in emo if s not in top for i in s.evidence_ids[:1]]))
    else:
        claims.append(Claim(text="No clear emotion anywhere: calm whenever seen or heard.",
                            evidence_ids=[i for s in seen for i in s.evidence_ids[:1]]))
    if p.shares:
        fam, share = next(iter(p.shares.items()))
        ids = [s.evidence_ids[0] for s in seen if s.evidence_ids and family(s.label) == fam][:3]
        claims.append(Claim(text=f"Mostly {feeling(fam)}: {share:.0%} of the {span_words(p.seen_s)} "
                                 f"{'they are' if p.person is not None else 'anyone is'} seen or heard.",
                            evidence_ids=ids))
    return claims


def describe(arc: Arc) -> Arc:
    """The arc with each person's summary written."""
    for p in arc.people:
        p.summary = person_summary(arc, p)
    return arc


# ---------------------------------------------------------------- comparisons
def split_sides(arc: Arc, time_kind: str = "none", time_value: str = "", person: int | None = None,
                people: Sequence[PersonArc] = (), person_kind: str = "none") -> tuple[Side, Side, list[str]]:
    """The two sides a comparison question asks for, and notes on how they were chosen: two people (no time
    given, the question refers to people but to no one person, two people in the video), before/after a time ("10:36", or an event named by a
    feeling: the first segment of that feeling, else the strongest emotional moment), or the first vs the
    second half (the default)."""
    d = arc.duration
    notes: list[str] = []
    tracked = [p for p in people if p.person is not None]  # not the off-camera voices row
    if time_kind in ("none", "") and person is None and person_kind != "none" and len(tracked) >= 2:
        a, b = sorted(tracked, key=lambda p: -p.seen_s)[:2]
        return side(arc, a.name, 0, d, a.person), side(arc, b.name, 0, d, b.person), notes
    pid = person if person is not None else (tracked[0].person if len(tracked) == 1 else None)  # None: everyone
    if time_kind in ("before", "after", "at"):
        t = parse_clock(time_value)
        if t is None:
            segs = [s for s in people_segments(arc, pid) if s.emotional]
            named = lexicon_emotions(time_value) or (["Anger"] if any(w in time_value.lower() for w in
                                                                     ("argument", "fight", "row", "quarrel")) else [])
            hit = [s for s in segs if named and family(s.label) in {family(x) for x in named}]
            pick = hit[0] if hit else (max(segs, key=lambda s: s.confidence * (s.end - s.start)) if segs else None)
            if pick is not None:
                t = pick.start if pick.start > 0 else pick.end
                notes.append(f"'{time_value}' taken as the {feeling(pick.label)} moment at {clock(t)}"
                             + ("" if hit else " (the strongest emotional moment: the words name no time)"))
        if t is None or not 0 < t < d:
            t = d / 2
            notes.append("no usable time in the question: the video is split in the middle")
        return (side(arc, f"before {clock(t)}", 0, t, pid), side(arc, f"after {clock(t)}", t, d, pid), notes)
    if time_kind in ("start", "end", "earlier", "later"):
        third = d / 3
        return (side(arc, "the first third", 0, third, pid), side(arc, "the last third", d - third, d, pid), notes)
    if time_kind not in ("none", "", "first_half", "second_half"):
        notes.append(f"a '{time_kind}' time is compared as the first half against the second")
    h = d / 2
    return side(arc, "the first half", 0, h, pid), side(arc, "the second half", h, d, pid), notes


def _in(name: str) -> str:
    """A side's name after 'more of the time ...': 'in the first half', 'before 10:36', 'for person 2, ...'."""
    if name.startswith(("before ", "after ")):
        return name
    return f"in {name}" if name.startswith("the ") else f"for {name}"


def compare(arc: Arc, left: Side, right: Side) -> Comparison:
    """The share of time per feeling on each side and the difference in words."""
    def ids(sd: Side, fam: str) -> list[str]:
        return [s.evidence_ids[0] for s in people_segments(arc, sd.person) if s.evidence_ids and s.label and family(s.label) == fam
                and min(s.end, sd.end) > max(s.start, sd.start)][:2]

    def pcts(sd: Side) -> str:
        return ", ".join(f"{feeling(f)} {v:.0%}" for f, v in sd.shares.items()) or "not seen"
    sentences = [Claim(text=f"{left.name[0].upper()}{left.name[1:]}: {pcts(left)}.",
                       evidence_ids=[i for f in left.shares for i in ids(left, f)][:4]),
                 Claim(text=f"{right.name[0].upper()}{right.name[1:]}: {pcts(right)}.",
                       evidence_ids=[i for f in right.shares for i in ids(right, f)][:4])]
    fams = sorted(set(left.shares) | set(right.shares),
                  key=lambda f: -abs(right.shares.get(f, 0) - left.shares.get(f, 0)))
    diffs = [f for f in fams if abs(right.shares.get(f, 0) - left.shares.get(f, 0)) >= DIFFERENCE]
    if not left.seen_s or not right.seen_s:
        sentences.append(Claim(text=f"{(left if not left.seen_s else right).name[0].upper()}"
                                    f"{(left if not left.seen_s else right).name[1:]} shows nobody to compare."))
    elif not diffs:
        sentences.append(Claim(text=f"Little difference: no feeling's share changes by {DIFFERENCE:.0%} or more.",
                               evidence_ids=[]))
    else:
        words = []
        for f in diffs[:2]:
            a, b = left.shares.get(f, 0.0), right.shares.get(f, 0.0)
            words.append(f"{feeling(f)} {'more' if b > a else 'less'} of the time {_in(right.name)} than "
                         f"{_in(left.name)} ({b:.0%} vs {a:.0%})")
        sentences.append(Claim(text=words[0][0].upper() + "; ".join(words)[1:] + ".",
                               evidence_ids=[i for f in diffs[:2] for sd in (left, right) for i in ids(sd, f)][:6]))
    return Comparison(left=left, right=right, sentences=sentences)
