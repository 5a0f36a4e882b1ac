"""Typed data that crosses tool boundaries: video metadata, time windows, evidence, per-window records.

Every perception tool returns pydantic models from this module, so results can be cached as JSON,
cited by the agent and shown in the UI without ad-hoc dicts.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Modality = Literal["face", "voice", "words", "motion", "retrieval", "scene"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VideoMeta(Frozen):
    """What we know about a media file before any model runs."""

    path: str
    content_key: str = Field(description="cache key of the file content (tools.index.decode.content_key: "
                             "SHA-256 of the whole file up to 512 MiB, sampled blocks above)")
    size_bytes: int = Field(ge=0)
    duration: float = Field(gt=0, description="seconds")
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str | None = None
    audio_codec: str | None = None
    rotation: int = 0


def spans_overlap(a, b) -> bool:
    """Whether two spans (anything with `start` and `end` in seconds) share some time."""
    return min(a.end, b.end) > max(a.start, b.start)


class TimeWindow(Frozen):
    """A half-open interval [start, end) in seconds; always start < end and start >= 0."""

    start: float = Field(ge=0)
    end: float

    @field_validator("start", "end")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("time must be finite")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if not self.end > self.start:
            raise ValueError(f"window end ({self.end}) must be after start ({self.start})")
        return self

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def center(self) -> float:
        return 0.5 * (self.start + self.end)

    def inside(self, duration: float, tol: float = 1e-3) -> bool:
        return self.start >= -tol and self.end <= duration + tol

    @classmethod
    def clamped(cls, start: float, end: float, duration: float, min_len: float = 0.1) -> TimeWindow:
        """Build a valid window inside [0, duration] from possibly wild numbers."""
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError("time must be finite")
        if end < start:
            start, end = end, start
        start = min(max(0.0, start), duration)
        end = min(max(0.0, end), duration)
        if end - start < min_len:
            end = min(duration, start + min_len)
            start = max(0.0, end - min_len)
        start, end = round(start, 3), min(round(end, 3), duration)
        if end <= start:  # rounding collapsed a tiny window
            start = max(0.0, end - min_len)
        return cls(start=start, end=end)

    def iou(self, other: TimeWindow) -> float:
        inter = max(0.0, min(self.end, other.end) - max(self.start, other.start))
        union = max(self.end, other.end) - min(self.start, other.start)
        return inter / union if union > 0 else 0.0

    def overlaps(self, other) -> bool:
        """Whether the two spans share some time; `other` is anything with `start` and `end` (a window, a
        speech or voice segment)."""
        return spans_overlap(self, other)

    def contains(self, other: TimeWindow, tol: float = 1e-3) -> bool:
        return other.start >= self.start - tol and other.end <= self.end + tol

    def label(self) -> str:
        return f"{hms(self.start)}–{hms(self.end)}"


def hms(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def clock(seconds: float, floor: bool = False) -> str:
    """The time a person reads in a sentence: "0:09", "12:05", "1:02:03" (the one clock of every answer,
    arc and note). Rounded to the second as the moment list, the strip and the evidence panel round it
    (`hms`), so the sentence and the list say the same times; `floor` for a limit that must not be promised
    past ("damaged after 0:12" for 12.9 s)."""
    s = max(0, int(seconds) if floor else int(round(seconds)))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


Value = float | int | str | bool | list[float] | list[str] | None


class Evidence(Frozen):
    """One observation a tool made, which a rationale may cite by id."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    tool: str
    modality: Modality
    window: TimeWindow
    values: dict[str, Value] = Field(default_factory=dict)
    text: str = Field(description="one human-readable sentence summarising the numbers")
    times: list[float] = Field(default_factory=list, description="frame/segment times used")


PersonKind = Literal["none", "everyone", "pronoun", "gender", "side", "order", "number", "role", "name", "other"]


class PersonRef(Frozen):
    """Who a question is about, as the question reader (agents/intent) read it: a kind of reference and its
    value ("side"/"left", "gender"/"woman", "role"/"interviewer", "pronoun"/"she", "order"/"2", "number"/"3",
    "name"/"Anna", "other"/"man"); tools/who.py resolves it against the video's people."""

    kind: PersonKind = "none"
    value: str = ""
    indefinite: bool = Field(False, description='"a man", "some woman": anyone of that kind, not one person')

    def words(self) -> str:
        """How an answer names the reference ("the woman", "the one on the left", "a man")."""
        if self.indefinite and self.kind == "gender" and self.value:
            return f"{'an' if self.value[:1] in 'aeiou' else 'a'} {self.value}"
        if self.kind == "side":
            return f"the one on the {self.value}" if self.value != "centre" else "the one in the middle"
        if self.kind in ("gender", "other") and self.value:
            return ("the other " if self.kind == "other" else "the ") + self.value
        if self.kind == "order":
            return "the last one to appear" if self.value == "last" else f"person number {self.value} to appear"
        if self.kind == "number":
            return f"person {self.value}"
        if self.kind == "role":
            return f"the {self.value}"
        if self.kind in ("name", "pronoun"):
            return self.value
        return {"everyone": "everyone", "other": "the other one"}.get(self.kind, "")


class Word(Frozen):
    text: str
    start: float
    end: float
    prob: float = 1.0


class SpeechSegment(Frozen):
    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)
    language: str | None = None


class PersonFace(Frozen):
    """One tracked person's face at one sampled frame (tools/perception/tracks.py): person ids are stable
    through the video (re-identified after absences and cuts); AUs use the person's own neutral."""

    person: int = Field(ge=1)
    box: tuple[float, float, float, float] = Field(description="x, y, w, h as fractions of the frame")
    aus: dict[str, float] = Field(default_factory=dict)
    expression: dict[str, float] = Field(default_factory=dict)
    occluded: bool = False
    main: bool = Field(default=False, description="the face FaceFrame's own fields describe")
    motion: dict[str, float] = Field(default_factory=dict, description="this face's per-region flow magnitude "
                                     "since the same person's previous sample (as FaceFrame.motion)")
    motion_dy: dict[str, float] = Field(default_factory=dict, description="as FaceFrame.motion_dy, this face")


class FaceFrame(Frozen):
    """Face measurements at one sampled frame (the main face, if any)."""

    t: float
    n_faces: int = Field(ge=0)
    box: tuple[float, float, float, float] | None = Field(
        default=None, description="main face x, y, w, h as fractions of the frame")
    aus: dict[str, float] = Field(default_factory=dict)
    expression: dict[str, float] = Field(default_factory=dict)
    occluded: bool = False
    motion: dict[str, float] = Field(default_factory=dict,
                                     description="per-region facial flow magnitude since the previous sample")
    motion_dy: dict[str, float] = Field(default_factory=dict,
                                        description="per-region mean vertical flow since the previous sample, "
                                        "px per 0.25 s in the aligned crop (negative = towards the forehead)")
    people: list[PersonFace] = Field(default_factory=list, description="every tracked face in the frame")
    scene: dict[str, float] = Field(default_factory=dict, description="picture numbers: brightness, colour, "
                                    "change since the previous sample (tools.perception.scene)")


class WindowRecord(BaseModel):
    """Compact affect summary of one window of the video: what the index stores and retrieval reads."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    window: TimeWindow
    n_frames: int = 0
    face_frames: int = 0
    au_mean: dict[str, float] = Field(default_factory=dict)
    au_max: dict[str, float] = Field(default_factory=dict)
    expression: dict[str, float] = Field(default_factory=dict, description="mean probabilities")
    motion: float = 0.0
    occluded_frames: int = 0
    transcript: str = ""
    arousal: float | None = None
    voice: dict[str, float] = Field(default_factory=dict)
    scene: dict[str, float] = Field(default_factory=dict, description="mean picture numbers of the window's "
                                    "frames (tools.perception.scene)")

    @property
    def face_ratio(self) -> float:
        return self.face_frames / self.n_frames if self.n_frames else 0.0

    def top_expression(self) -> tuple[str, float] | None:
        if not self.expression:
            return None
        k = max(self.expression, key=self.expression.get)
        return k, self.expression[k]
