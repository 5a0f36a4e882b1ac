"""Who is in the picture: when a face leaves it, when one comes into it, and the stretches without one.

Questions about presence ("when does he walk out?", "when does she come back in?", "when is nobody on
screen?") are answered from the index's sampled frames, not from an emotion reading. On a person's view
(tools/people.person_frames) a frame "has the face" when that person's face is in it; on the whole video,
when any face is.

Sampled frames are noisy both ways: the detector misses a turned face for a frame or two, and finds a face
in a poster for one frame. So the presence timeline is cleaned before changes are read from it:

* a gap shorter than `MIN_ABSENT_S` (or of one sampled frame) between two stretches with the face is a
  missed detection, not an exit;
* a stretch with the face shorter than `MIN_PRESENT_S` (or of one sampled frame) between two gaps is a
  false detection, not a visit.

Each boundary lies halfway between the last frame of one state and the first of the other. A change is
shown as `LEAD_S` either side of its boundary (the clip shows the person going or coming); a stretch
without the face is shown whole. Pure: frames in, `PresenceChange`s and `Evidence` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tools.schemas import Evidence, FaceFrame, TimeWindow, hms

PresenceKind = Literal["leaves", "enters", "absent"]
MIN_ABSENT_S = 1.0
MIN_PRESENT_S = 0.5
LEAD_S = 1.5


class PresenceChange(BaseModel):
    """One presence event: the face `leaves` or `enters` the picture at `t`, or is `absent` over `gone`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PresenceKind
    t: float
    gone: TimeWindow            # the stretch without the face this change starts or ends
    moment: TimeWindow          # what an answer shows
    frames_seen: int            # sampled frames with the face on the other side of the change
    frames_gone: int            # sampled frames without it in `gone`


@dataclass
class _Run:
    present: bool
    first: int
    last: int


def _runs(flags: list[bool]) -> list[_Run]:
    runs: list[_Run] = []
    for i, p in enumerate(flags):
        if runs and runs[-1].present == p:
            runs[-1].last = i
        else:
            runs.append(_Run(present=p, first=i, last=i))
    return runs


def _bounds(times: list[float], run: _Run, duration: float) -> tuple[float, float]:
    a = 0.0 if run.first == 0 else (times[run.first - 1] + times[run.first]) / 2
    b = duration if run.last == len(times) - 1 else (times[run.last] + times[run.last + 1]) / 2
    return a, b


def _clean(times: list[float], flags: list[bool], duration: float) -> list[bool]:
    """Flip the short inner runs (missed and false detections), gaps first."""
    flags = list(flags)
    for state, min_s in ((False, MIN_ABSENT_S), (True, MIN_PRESENT_S)):
        runs = _runs(flags)
        for k, r in enumerate(runs):
            if r.present != state or k == 0 or k == len(runs) - 1:
                continue  # only a run with the other state on both sides is noise
            a, b = _bounds(times, r, duration)
            if r.last == r.first or b - a < min_s:
                flags[r.first: r.last + 1] = [not state] * (r.last - r.first + 1)
    return flags


def presence_changes(frames: Sequence[FaceFrame], duration: float) -> list[PresenceChange]:
    """Every exit, entrance and stretch without the face, in time order (an exit and the stretch after it
    share `gone`). A video that starts without the face has no exit before it; one that ends without it
    has no entrance after it."""
    frames = sorted(frames, key=lambda f: f.t)
    if not frames:
        return []
    times = [f.t for f in frames]
    runs = _runs(_clean(times, [f.n_faces > 0 for f in frames], duration))
    out: list[PresenceChange] = []
    for k, r in enumerate(runs):
        if r.present:
            continue
        a, b = _bounds(times, r, duration)
        if b - a < MIN_ABSENT_S and 0 < k < len(runs) - 1:
            continue
        gone = TimeWindow(start=round(a, 3), end=round(b, 3))
        n_gone = r.last - r.first + 1
        if k > 0:  # the face was there before: it leaves at a
            before = runs[k - 1]
            out.append(PresenceChange(kind="leaves", t=gone.start, gone=gone, moment=_around(gone.start, duration),
                                      frames_seen=before.last - before.first + 1, frames_gone=n_gone))
        out.append(PresenceChange(kind="absent", t=gone.start, gone=gone, moment=gone, frames_seen=0,
                                  frames_gone=n_gone))
        if k < len(runs) - 1:  # and it comes back at b
            after = runs[k + 1]
            out.append(PresenceChange(kind="enters", t=gone.end, gone=gone, moment=_around(gone.end, duration),
                                      frames_seen=after.last - after.first + 1, frames_gone=n_gone))
    return out


def _around(t: float, duration: float) -> TimeWindow:
    return TimeWindow(start=round(max(0.0, t - LEAD_S), 3), end=round(min(duration, t + LEAD_S), 3))


def presence_evidence(change: PresenceChange, eid: str, who: str = "a face") -> Evidence:
    """The change as evidence a rationale can cite: what was seen on either side, with frame counts."""
    gone = f"{hms(change.gone.start)}–{hms(change.gone.end)}"
    who = who[:1].upper() + who[1:]  # "The face of Anna", not str.capitalize's "The face of anna"
    if change.kind == "leaves":
        text = (f"{who} is seen in the {change.frames_seen} sampled frames before {hms(change.t)}, then in "
                f"none of the {change.frames_gone} sampled frames in {gone}: out of the picture from about "
                f"{hms(change.t)}.")
    elif change.kind == "enters":
        text = (f"{who} is in none of the {change.frames_gone} sampled frames in {gone}, then is seen in the "
                f"{change.frames_seen} sampled frames from {hms(change.t)}: in the picture from about {hms(change.t)}.")
    else:
        text = f"{who} is in none of the {change.frames_gone} sampled frames in {gone}."
    return Evidence(id=eid, tool="presence", modality="face", window=change.moment, text=text,
                    values={"kind": change.kind, "change_s": round(change.t, 3), "gone_start": change.gone.start,
                            "gone_end": change.gone.end, "frames_seen": change.frames_seen,
                            "frames_gone": change.frames_gone},
                    times=[change.t])


def presence_confidence(change: Evidence | None) -> float:
    """How sure a change read by `presence_evidence` is: the fewer sampled frames on its thinner side, the
    less (1 frame: 0.6; 4 or more: 0.9); 0.3 without the evidence."""
    if change is None:
        return 0.3
    seen, gone = int(change.values.get("frames_seen", 0)), int(change.values.get("frames_gone", 0))
    thin = gone if change.values.get("kind") == "absent" else min(seen, gone)
    return round(min(0.9, 0.5 + 0.1 * thin), 2)
