"""Typed answer data: emotion labels, structured intent, moments and the final answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.arc import Arc
from tools.labels import Emotion
from tools.presence import PresenceKind
from tools.schemas import Evidence, PersonRef, TimeWindow, VideoMeta

MAX_MOMENTS = 10  # "every time" asks for at most this many moments (the question reader and Intent read it)


class During(BaseModel):
    """A time condition on another person ("... while she's falling apart"): the moments asked for are the
    times that person (`person`, resolved by tools/who.py) shows `emotions` (graphs/nodes/localise)."""

    model_config = ConfigDict(extra="forbid")

    clause: str = Field(max_length=300)
    emotions: list[Emotion] = Field(min_length=1, max_length=2)
    person: PersonRef = PersonRef()


TimeKind = Literal["none", "start", "middle", "end", "first_half", "second_half", "at", "range", "before",
                   "after", "earlier", "later"]


class TimeRef(BaseModel):
    """A time constraint as the question reader read it: a kind and, for at/range/before/after, the words
    that carry it ("10:30", "between 5 and 10 minutes", "the argument", "she laughs"). earlier/later are
    relative to the moment shown last; graphs/nodes/localise applies it (tools/timeref.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: TimeKind = "none"
    value: str = Field(default="", max_length=300)


class Intent(BaseModel):
    """What the user is looking for, decoded from a vague query."""

    model_config = ConfigDict(extra="forbid")

    emotions: list[Emotion] = Field(default_factory=list, max_length=4)
    valence: Literal["positive", "negative", "any"] = "any"
    arousal: Literal["high", "low", "any"] = "any"
    modalities: list[Literal["face", "voice", "words", "motion"]] = Field(default_factory=list)
    person: PersonRef = Field(default_factory=PersonRef, description="who it is about (tools/who.py resolves it)")
    time: TimeRef = Field(default_factory=TimeRef)
    excluded: list[Emotion] = Field(default_factory=list, max_length=13, description="labels ruled out")
    temporal_hint: Literal["start", "middle", "end", "none"] = "none"
    n_moments: int = Field(default=1, ge=1, le=MAX_MOMENTS)
    search_text: str = Field(default="", max_length=300, description="words to search the index with")
    during: During | None = None
    presence: PresenceKind | None = Field(
        default=None, description="being in the picture (tools/presence.py): what a presence question asks for, "
                                  "or, on an emotion question about a voice, where it is heard ('absent')")

    @property
    def descriptive(self) -> bool:
        """No emotion asked for ("where her hands hide her face"): retrieval matches the description,
        verification only reads the emotion there (graphs/nodes.py ranks, refines and loops on this)."""
        return not self.emotions

    @property
    def presence_question(self) -> bool:
        """About being in the picture, not a feeling ("when does she walk out?"): answered from the frames."""
        return self.presence is not None and self.descriptive

    @property
    def off_camera(self) -> bool:
        """A feeling in a voice heard where nobody is seen ("… sound nervous while no one is on screen")."""
        return self.presence == "absent" and not self.descriptive


class Sentence(BaseModel):
    """One sentence of a moment's explanation and the evidence it was written from (agents/compose.py):
    the sentence a person reads has no ids; this keeps the link for the evidence panel, --json and exports."""

    model_config = ConfigDict(extra="forbid")

    text: str
    evidence_ids: list[str] = Field(default_factory=list)


class Moment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int = Field(ge=1)
    window: TimeWindow
    label: Emotion
    confidence: float = Field(ge=0, le=1)
    alternative: Emotion | None = Field(default=None, description="a second family the reading is too close to "
                                        "tell from `label` ('fear or surprise'; tools/perception/emotion.moment_alternative)")
    rationale: str
    evidence_ids: list[str] = Field(default_factory=list)
    verified: bool = True
    sentences: list[Sentence] = Field(default_factory=list, description="the rationale's sentences, each with "
                                      "the evidence ids it was written from (a subset of evidence_ids)")


class Answer(BaseModel):
    """Ranked moments plus the evidence chain they cite. Validates that every citation resolves
    and every window lies inside the video."""

    model_config = ConfigDict(extra="forbid")

    query: str
    video: VideoMeta
    intent: Intent | None = None
    moments: list[Moment] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="e.g. llm_fallback, budget_exhausted")
    stats: dict[str, float] = Field(default_factory=dict)
    arc: Arc | None = Field(default=None, description="summary / compare questions: the emotional arc (tools/arc.py), its summary and picture")

    @model_validator(mode="after")
    def _evidence_chain(self) -> Answer:
        ids = {e.id for e in self.evidence}
        for m in self.moments:
            missing = [i for i in [*m.evidence_ids, *(j for x in m.sentences for j in x.evidence_ids)] if i not in ids]
            if missing:
                raise ValueError(f"moment {m.rank} cites unknown evidence {missing}")
            if not m.window.inside(self.video.duration):
                raise ValueError(f"moment {m.rank} window {m.window} lies outside the video")
        for e in self.evidence:
            if not e.window.inside(self.video.duration):
                raise ValueError(f"evidence {e.id} window lies outside the video")
        return self

    def evidence_by_id(self) -> dict[str, Evidence]:
        return {e.id: e for e in self.evidence}
