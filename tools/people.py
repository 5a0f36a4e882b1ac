"""People in one indexed video: `people.json` (who is on screen, where, for how long, who speaks), names
the user gives, one person's frames/windows as an index view, and "who" in a question → a person.

Everything here reads what the frame pass stored per frame (`FaceFrame.people`, from
tools/perception/tracks.py); nothing re-runs a face model except the thumbnail cut (one decoded frame per
person). Active speaker: a speech segment goes to the visible person whose mouth (AU25 lips apart + AU26
jaw open) moves most during it, when that motion is clearly above everyone else's; else it stays
unattributed.
"""

from __future__ import annotations

import json
import re
from contextlib import closing
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.index.store import SpeechTrack, VideoIndex, atomic_write
from tools.index.windows import summarise_window
from tools.schemas import FaceFrame, SpeechSegment, WindowRecord

MOUTH_MIN = 0.04       # mouth activity (AU25+AU26 std + mean |step|) needed to call someone the speaker
MOUTH_MARGIN = 1.5     # ... and this many times the next person's
MAX_GAP_S = 1.0        # a frame counts for screen time up to this long
THUMB_GROW = 1.8       # a thumbnail shows this many face-box sides around the face centre (hair, chin, neck):
                       # the stored box is the landmark extent (brows to chin), so 1.0 cut the head off;
                       # 1.8 showed the whole head of each of the 9 people of the dev videos two_people and
                       # four_people (by eye), no neighbour's face beside it in two_people
QUESTION_START = re.compile(r"^\s*(who|what|when|where|why|how|which|do|does|did|are|is|was|were|can|could|"
                            r"would|will|have|has|should|tell me)\b", re.I)


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1)
    name: str | None = Field(default=None, description="given by the user (`affectlens people --name`)")
    screen_s: float = 0.0
    first_s: float = 0.0
    last_s: float = 0.0
    position: Literal["left", "centre", "right"] = "centre"
    x: float = Field(0.5, description="mean face centre, fraction of the frame width")
    size: float = Field(0.0, description="mean face height, fraction of the frame height")
    thumbnail: str | None = None
    speaking_s: float = 0.0
    question_turns: int = 0
    frames: int = 0

    def label(self) -> str:
        """How an answer names the person: 'Anna (person 2, on the right)' or 'person 2, on the right'."""
        where = "in the centre" if self.position == "centre" else f"on the {self.position}"
        base = f"person {self.id}, {where}"
        return f"{self.name} ({base})" if self.name else base


def id_of_label(label: str | None) -> int | None:
    """The person id in a `Person.label()` text ('Anna (person 2, on the right)' → 2); None without one."""
    m = re.search(r"\bperson (\d+), (?:on the|in the)", label or "")
    return int(m.group(1)) if m else None


class SpeechTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: float
    end: float
    person: int | None = None
    activity: dict[int, float] = Field(default_factory=dict, description="mouth activity per visible person")
    question: bool = False


class People(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video: str
    people: list[Person] = Field(default_factory=list)
    turns: list[SpeechTurn] = Field(default_factory=list)
    unattributed_s: float = 0.0

    def get(self, pid: int) -> Person | None:
        return next((p for p in self.people if p.id == pid), None)


# ---------------------------------------------------------------- building
def mouth(aus: dict[str, float]) -> float:
    return aus.get("AU25", 0.0) + aus.get("AU26", 0.0)


def is_question(text: str) -> bool:
    t = text.strip()
    return t.endswith("?") or bool(QUESTION_START.match(t))


def attribute_speech(frames: list[FaceFrame], segments: list[SpeechSegment]) -> list[SpeechTurn]:
    """Each speech segment → the person whose mouth moves with it (see module doc), or None."""
    times = np.array([f.t for f in frames])
    turns = []
    for seg in segments:
        lo, hi = np.searchsorted(times, seg.start), np.searchsorted(times, seg.end)
        inside = frames[lo:hi]
        series: dict[int, list[float]] = {}
        for f in inside:
            for p in f.people:
                if p.aus:
                    series.setdefault(p.person, []).append(mouth(p.aus))
        act = {pid: round(float(np.std(v) + np.mean(np.abs(np.diff(v)))), 4)
               for pid, v in series.items() if len(v) >= 2 and len(v) >= 0.5 * len(inside)}
        ranked = sorted(act.items(), key=lambda kv: -kv[1])
        who = None
        if ranked and ranked[0][1] >= MOUTH_MIN and (len(ranked) == 1 or ranked[0][1] >= MOUTH_MARGIN * ranked[1][1]):
            who = ranked[0][0]
        turns.append(SpeechTurn(start=seg.start, end=seg.end, person=who, activity=act, question=is_question(seg.text)))
    return turns


def build_people(idx: VideoIndex, thumbnails: bool = True) -> People:
    frames = idx.frames
    stats: dict[int, dict] = {}
    for i, f in enumerate(frames):
        dt = min(MAX_GAP_S, (frames[i + 1].t if i + 1 < len(frames) else idx.meta.duration) - f.t)
        for p in f.people:
            s = stats.setdefault(p.person, {"screen": 0.0, "first": f.t, "last": f.t, "x": [], "h": [], "best": (0.0, f.t, p.box)})
            s["screen"] += dt
            s["last"] = f.t
            s["x"].append(p.box[0] + p.box[2] / 2)
            s["h"].append(p.box[3])
            # the thumbnail frame: the largest face that is not hidden and not cut by the frame's edge
            whole = p.box[0] > 0.005 and p.box[1] > 0.005 and p.box[0] + p.box[2] < 0.995 and p.box[1] + p.box[3] < 0.995
            score = p.box[2] * p.box[3] * (1.0 if whole else 0.3) * (0.3 if p.occluded else 1.0)
            if score > s["best"][0]:
                s["best"] = (score, f.t, p.box)
    turns = attribute_speech(frames, idx.speech.segments)
    people = []
    for pid, s in sorted(stats.items()):
        x = float(np.mean(s["x"]))
        mine = [u for u in turns if u.person == pid]
        people.append(Person(id=pid, screen_s=round(s["screen"], 2), first_s=round(s["first"], 2), last_s=round(s["last"], 2),
                             position="left" if x < 0.4 else "right" if x > 0.6 else "centre", x=round(x, 3),
                             size=round(float(np.mean(s["h"])), 3), frames=len(s["x"]),
                             speaking_s=round(sum(u.end - u.start for u in mine), 2),
                             question_turns=sum(u.question for u in mine)))
    if thumbnails and people:
        _thumbnails(idx, people, {pid: s["best"] for pid, s in stats.items()})
    return People(video=idx.meta.path, people=people, turns=turns,
                  unattributed_s=round(sum(u.end - u.start for u in turns if u.person is None), 2))


def _thumbnails(idx: VideoIndex, people: list[Person], best: dict[int, tuple]) -> None:
    import cv2

    from tools.index.decode import iter_frames
    out = idx.folder / "people"
    out.mkdir(exist_ok=True)
    for p in people:
        _, t, box = best[p.id]
        with closing(iter_frames(idx.meta.path, fps=8.0, max_side=idx.config.max_side, start=t, end=t + 0.5)) as fr:
            rgb = next((im for _, im in fr), None)
        if rgb is None:
            continue
        crop = face_thumbnail(rgb, box, 160)
        path = out / f"person_{p.id}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        p.thumbnail = str(path)


def face_thumbnail(rgb: np.ndarray, box: tuple[float, float, float, float], size: int = 160,
                   grow: float = THUMB_GROW) -> np.ndarray:
    """A size x size picture of the whole face: a square of `grow` x the box's longer side around the box
    centre (moved down a little: the landmark box starts at the brows), padded black where it leaves the
    frame, so the face stays centred."""
    import cv2
    h, w = rgb.shape[:2]
    x, y, bw, bh = box
    side = grow * max(bw * w, bh * h)
    cx, cy = (x + bw / 2) * w, (y + bh / 2) * h + 0.05 * side
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = x0 + int(round(side)), y0 + int(round(side))
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    img = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)) if pad else rgb
    crop = img[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_CUBIC)


def load_people(idx: VideoIndex, rebuild: bool = False) -> People:
    """people.json of the index (built and written on first use), with the names the user gave."""
    f = idx.folder / "people.json"
    if f.exists() and not rebuild:
        ppl = People.model_validate_json(f.read_text())
    else:
        ppl = build_people(idx)
        atomic_write(f, ppl.model_dump_json(indent=1))
    names = _names(idx)
    for p in ppl.people:
        p.name = names.get(str(p.id), p.name)
    return ppl


def _names(idx: VideoIndex) -> dict[str, str]:
    f = idx.folder / "names.json"
    return json.loads(f.read_text()) if f.exists() else {}


def set_name(idx: VideoIndex, pid: int, name: str) -> None:
    ppl = load_people(idx)
    if ppl.get(pid) is None:
        raise ValueError(f"no person {pid} in this video (people: {[p.id for p in ppl.people]})")
    names = _names(idx)
    if name.strip():
        names[str(pid)] = name.strip()
    else:
        names.pop(str(pid), None)
    atomic_write(idx.folder / "names.json", json.dumps(names, indent=1))


# ---------------------------------------------------------------- one person's view of the index
def person_frames(frames: list[FaceFrame], pid: int) -> list[FaceFrame]:
    """Every frame, seen as if `pid` were the only face (no face where they are absent)."""
    out = []
    for f in frames:
        p = next((x for x in f.people if x.person == pid), None)
        if p is None:
            out.append(FaceFrame(t=f.t, n_faces=0))
        else:
            out.append(FaceFrame(t=f.t, n_faces=1, box=p.box, aus=p.aus, expression=p.expression,
                                 occluded=p.occluded, motion=p.motion or (f.motion if p.main else {}),
                                 motion_dy=p.motion_dy or (f.motion_dy if p.main else {}),
                                 people=[p]))
    return out


def person_records(idx: VideoIndex, pid: int, frames: list[FaceFrame] | None = None) -> list[WindowRecord]:
    frames = frames if frames is not None else person_frames(idx.frames, pid)
    times = [f.t for f in frames]
    out = []
    for r in idx.records:
        lo, hi = np.searchsorted(times, r.window.start), np.searchsorted(times, r.window.end)
        out.append(summarise_window(r.index, r.window, frames[lo:hi], SpeechTrack()).model_copy(
            update={"transcript": r.transcript, "arousal": r.arousal, "voice": r.voice}))
    return out


class PersonIndex(VideoIndex):
    """`idx` as seen for one person: frames and window records hold only that person's face readings
    (speech, meta and folder are the video's). Tools and retrieval run on it unchanged."""

    def __init__(self, idx: VideoIndex, pid: int):  # no super().__init__: it would re-read the files
        self.folder, self.meta, self.config, self.summary = idx.folder, idx.meta, idx.config, idx.summary
        self.speech = idx.speech
        self.person = pid
        self.base = idx
        self._frames = person_frames(idx.frames, pid)
        self._times = None
        self.records = person_records(idx, pid, self._frames)
        self._neutral = None

    def baseline(self, track: str = "main"):
        """This person's own neutral face (fitted from their frames; the stored one is the main face's)."""
        if self._neutral is None:
            from tools.perception.baseline import fit_baseline
            self._neutral = fit_baseline(self.frames)
        return self._neutral


def person_retriever(view: PersonIndex):
    """A Retriever over one person's window records (vectors built in memory)."""
    from tools.retrieval import Retriever
    return Retriever.in_memory(view)


# ---------------------------------------------------------------- `affectlens people VIDEO`
def people_text(ppl: People) -> str:
    """The table `affectlens people` prints."""
    if not ppl.people:
        return "no people found in this video"
    rows = [f"{'id':>3}  {'name':<14} {'position':<8} {'on screen':>9} {'speaking':>8} {'questions':>9}  thumbnail"]
    for p in ppl.people:
        rows.append(f"{p.id:>3}  {(p.name or '-'):<14.14} {p.position:<8} {p.screen_s:>8.1f}s {p.speaking_s:>7.1f}s "
                    f"{p.question_turns:>9}  {p.thumbnail or '-'}")
    rows.append(f"speech not attributed to anyone: {ppl.unattributed_s:.1f} s")
    return "\n".join(rows)


def people_command(video: str, names: list[str] | None = None, as_json: bool = False, settings=None) -> str:
    """Index `video` (cached), apply `ID=NAME` names, return the people table (or JSON)."""
    from tools.index import build_index
    idx = build_index(video, settings, progress=False)
    if idx.frames and any(f.n_faces for f in idx.frames) and not any(f.people for f in idx.frames):
        raise ValueError("this index was built before people tracking: delete its folder and index again "
                         f"({idx.folder})")
    for item in names or []:
        pid, sep, name = item.partition("=")
        if not sep or not pid.strip().isdigit():
            raise ValueError(f"--name wants ID=NAME (e.g. 2=Anna), got {item!r}")
        set_name(idx, int(pid), name)
    ppl = load_people(idx)
    return ppl.model_dump_json(indent=1) if as_json else people_text(ppl)
