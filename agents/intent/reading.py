"""The structured reading of one question: what the trained question reader (agents/intent/model.py) returns,
and the format of its training corpus (agents/intent/data/corpus/*.jsonl) and blind set
(evals/data/reader_blind.jsonl). One line of either file is one `Reading`.

Fields (the corpus writers' brief, docs/reader.md, says the same in words):

- `mode`: new (a search), next (another moment like the last answer), previous (the one before the shown one),
  why (the reasons of the last answer), summary (how feelings go over the video, or for one person), compare (two
  parts or two people).
- `emotions`: the labels the question itself asks for, most important first (empty: a description, a
  presence question, a bare "and him?"); `excluded`: the labels it rules out ("not angry, just ...").
- `person`: who it is about, as a reference (`PersonRef`), resolved against the video's people by
  tools/who.py; `condition`: "A while B" (B's person, B's emotions, B's clause).
- `time`: a time constraint (`TimeRef`); `count`: how many moments (1-10 or "all").
- `keeps`: for a follow-up, the parts of the previous question that still apply ("and him?" keeps the
  emotions).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.schemas import TimeKind, TimeRef  # noqa: F401 (part of the reading's vocabulary)
from tools.labels import Emotion
from tools.presence import PresenceKind
from tools.schemas import PersonKind, PersonRef  # noqa: F401 (part of the reading's vocabulary)

Mode = Literal["new", "next", "previous", "why", "summary", "compare"]
MODES: tuple[str, ...] = ("new", "next", "previous", "why", "summary", "compare")
PERSON_KINDS: tuple[str, ...] = ("none", "everyone", "pronoun", "gender", "side", "order", "number", "role",
                                 "name", "other")
TIME_KINDS: tuple[str, ...] = ("none", "start", "middle", "end", "first_half", "second_half", "at", "range",
                               "before", "after", "earlier", "later")
#: time kinds whose value is words of the question (a clock time, a range, an event)
TIME_SPANS = frozenset({"at", "range", "before", "after"})
#: person kinds whose value is one of a closed set (the rest are words of the question)
PERSON_VALUES: dict[str, tuple[str, ...]] = {"side": ("left", "right", "centre"),
                                             "gender": ("man", "woman", "girl", "boy"),
                                             "other": ("", "man", "woman", "girl", "boy")}
Presence = Literal["leaves", "enters", "absent", "present"]
Modality = Literal["face", "voice", "words", "any"]
Keep = Literal["emotions", "person", "modality", "time", "topic"]
KEEPS: tuple[str, ...] = ("emotions", "person", "modality", "time", "topic")
from agents.schemas import MAX_MOMENTS  # noqa: E402,F401 ("every time" asks for at most this many moments)


class ConditionRef(BaseModel):
    """"... while she is crying": the times B (`person`) shows `emotions`; `text` is B's clause as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person: PersonRef = PersonRef()
    emotions: list[Emotion] = Field(default_factory=list, max_length=4)
    text: str = Field(max_length=300)


class Reading(BaseModel):
    """One question's structured reading. On corpus lines `q`/`prev` are the inputs and the rest the gold
    reading; from the reader, `probs` also holds the emotion probabilities and `seconds` what reading took."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str = Field(min_length=1, max_length=1000)
    prev: str | None = None
    mode: Mode = "new"
    emotions: list[Emotion] = Field(default_factory=list, max_length=4)
    excluded: list[Emotion] = Field(default_factory=list, alias="not")
    valence: Literal["positive", "negative", "any"] = "any"
    arousal: Literal["high", "low", "any"] = "any"
    modality: Modality = "any"
    count: int | Literal["all"] = 1
    person: PersonRef = PersonRef()
    time: TimeRef = TimeRef()
    condition: ConditionRef | None = None
    presence: Presence | None = None
    topic: str = ""
    keeps: list[Keep] = Field(default_factory=list)
    probs: dict[str, float] = Field(default_factory=dict, description="emotion label -> probability (reader)")
    seconds: float = 0.0

    @property
    def n_moments(self) -> int:
        return MAX_MOMENTS if self.count == "all" else max(1, min(MAX_MOMENTS, int(self.count)))

    @property
    def presence_kind(self) -> PresenceKind | None:
        """The presence kinds the index answers (tools/presence.py); "present" is not one of them."""
        return self.presence if self.presence in ("leaves", "enters", "absent") else None


def load_readings(paths: list[Path] | Path) -> list[Reading]:
    """Corpus lines from one file, several files, or every *.jsonl of a folder, in a stable order."""
    if isinstance(paths, (str, Path)):
        p = Path(paths)
        paths = sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    out: list[Reading] = []
    for path in paths:
        for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    out.append(Reading.model_validate(json.loads(line)))
                except ValueError as e:
                    raise ValueError(f"{path}:{i}: not a reading: {e}") from e
    return out
