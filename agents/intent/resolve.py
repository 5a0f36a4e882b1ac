"""A question's reading (agents/intent/model.py) -> the `Intent` the graph searches with, resolved against the
conversation: a follow-up takes from the previous turn's intent the parts the reader says it keeps ("and
him?" keeps the emotions, "just the second half, please" keeps everything but the time).

Presence: a question about being in the picture that names no feeling and is not about the voice or the
words ("when does he walk out?") becomes a presence question (`Intent.presence`), answered from the frames;
a feeling in a voice set where nobody is seen keeps its emotion with presence "absent" as a condition on where.
"When is X on screen at all" ("present") is a description search.
"""

from __future__ import annotations

from agents.intent.reading import Reading
from agents.schemas import During, Intent
from tools.labels import valence as label_valence

_TEMPORAL = {"start": "start", "middle": "middle", "end": "end"}  # soft preferences; halves are spans (tools/timeref.py)


def intent_from(reading: Reading, previous: Intent | None = None) -> Intent:
    """The turn's Intent from its reading and, for a follow-up, the previous turn's Intent."""
    keeps = set(reading.keeps) if previous is not None and reading.prev is not None else set()
    emotions = [e for e in reading.emotions if e not in reading.excluded]
    excluded = list(reading.excluded)
    val, arousal = reading.valence, reading.arousal
    if "emotions" in keeps and not emotions and previous is not None:
        emotions, excluded = list(previous.emotions), list(previous.excluded)
        val, arousal = previous.valence, previous.arousal
    if emotions and val == "any":
        val = {1: "positive", -1: "negative"}.get(label_valence(emotions[0]), "any")
    modalities = [] if reading.modality == "any" else [reading.modality]
    if "modality" in keeps and not modalities and previous is not None:
        modalities = list(previous.modalities)
    person = reading.person
    if "person" in keeps and person.kind == "none" and previous is not None:
        person = previous.person
    time = reading.time
    if "time" in keeps and time.kind == "none" and previous is not None:
        time = previous.time
    own_words = bool(reading.emotions or reading.topic or reading.presence or reading.condition)
    search = reading.q
    if previous is not None and keeps and ("topic" in keeps or not own_words):
        search = previous.search_text or search
    during = None
    if reading.condition is not None:
        cond = [e for e in reading.condition.emotions if e != "Neutral"][:2]  # "while she listens" is no feeling
        if cond:
            during = During(clause=reading.condition.text, emotions=cond, person=reading.condition.person)
    presence = reading.presence_kind
    heard = reading.modality in ("voice", "words")
    if presence is not None and not emotions and not heard and during is None:
        emotions, val, arousal = [], "any", "any"      # a presence question: the frames answer it
    elif presence == "absent" and emotions and heard:
        pass                                            # a voice heard where nobody is seen: a condition on where
    else:
        presence = None
    return Intent(emotions=emotions[:4], valence=val if emotions else "any", arousal=arousal if emotions else "any",
                  modalities=modalities, person=person, time=time, excluded=excluded[:13],
                  temporal_hint=_TEMPORAL.get(time.kind, "none"), n_moments=reading.n_moments,
                  search_text=search[:300], during=during, presence=presence)
