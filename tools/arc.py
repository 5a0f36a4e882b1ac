"""The emotional arc of a video: who feels what, when, over the whole timeline, read from the index alone.

Each sampled frame's expression probabilities and AU values are first smoothed with a running median over
`KERNEL` frames (scipy.signal.medfilt), so a one-frame flicker makes no moment while a 1.5-s grin (3+
frames) survives. Each index window of a person's view (tools.people.PersonIndex; the whole video's main
face when nobody is tracked) then gets the emotion tool's fused reading of its smoothed frames
(tools.perception.emotion.read_emotion: face, AUs against the person's own neutral, facial motion, and, for
a video with one person, voice and words), summed per label family (tools.labels.family). A window is
emotional when its strongest family is not Neutral and holds at least `EMOTIONAL`. Consecutive windows of
one family make a segment: neutral stretches merge, and an emotional segment's ends are trimmed to the
smoothed frames that show its expression (tools/episode.py's trim, the one definition of a moment's frame
extent). Windows where the person is neither seen nor heard make segments with no label (absent), so the
segments cover the video.

Pure: an index in, an `Arc` (typed) and its `Evidence` out; the words (summary, comparison) are written by
agents/arc_words.py and the pictures by `plot_arc`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.signal import medfilt

from tools.index.store import speaks
from tools.labels import BASIC, EMOTION_TO_EXPRESSION, Emotion, family
from tools.perception.emotion import EmotionReading
from tools.schemas import Evidence, FaceFrame, TimeWindow, hms

# Chosen on the dev videos two_people and no_disgust (scripts/eval_arc.py --grid: kernel 1/3/5 x threshold
# 0.3-0.7, the pair with the most true moments found in the right family within the 2x time budget); see
# docs/results.md "Emotional arc".
KERNEL = 3          # sampled frames in the running median (odd; ~1-1.5 s at the sampler's 2-3 fps)
EMOTIONAL = 0.4     # smoothed family probability from which a window counts as emotional

FAMILIES: tuple[str, ...] = BASIC  # the seven basic labels, each the head of its family
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)  # seconds between time ticks: a
# clock-friendly step giving at most 8 ticks
VOICES = "voices off camera"  # the arc row of what is heard while no face is seen (several people)
FramesIn = Callable[[TimeWindow], list[FaceFrame]]
COLORS: dict[str, str] = {"Joy": "#f2b705", "Sadness": "#3b6fd1", "Anger": "#d62828", "Fear": "#7b2cbf",
                          "Disgust": "#2a9d55", "Surprise": "#f77f00", "Neutral": "#d9d9d9"}


class ArcSegment(BaseModel):
    """One stretch of a person's arc. `label` None: the person is neither seen nor heard there."""

    model_config = ConfigDict(extra="forbid")

    start: float = Field(ge=0)
    end: float
    person: int | None = None
    label: Emotion | None = None
    confidence: float = Field(0.0, ge=0, le=1, description="mean smoothed probability of the label's family")
    evidence_ids: list[str] = Field(default_factory=list)

    @property
    def window(self) -> TimeWindow:
        return TimeWindow(start=self.start, end=self.end)

    @property
    def emotional(self) -> bool:
        return self.label is not None and family(self.label) != "Neutral"


class Claim(BaseModel):
    """One sentence of a summary or comparison and the evidence it was written from."""

    model_config = ConfigDict(extra="forbid")

    text: str
    evidence_ids: list[str] = Field(default_factory=list)


class PersonArc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: int | None = None
    name: str = Field("the video", description="how answers name the person ('person 2, on the right')")
    seen_s: float = Field(0.0, description="seconds where the person is seen or heard")
    shares: dict[str, float] = Field(default_factory=dict, description="family -> share of seen time")
    summary: list[Claim] = Field(default_factory=list)


class Side(BaseModel):
    """One side of a comparison: a stretch of time of one person (or everyone)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    start: float
    end: float
    person: int | None = None
    seen_s: float = 0.0
    shares: dict[str, float] = Field(default_factory=dict)


class Comparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: Side
    right: Side
    sentences: list[Claim] = Field(default_factory=list)


class Arc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: float
    segments: list[ArcSegment] = Field(default_factory=list)
    people: list[PersonArc] = Field(default_factory=list)
    comparison: Comparison | None = None
    image_path: str | None = Field(None, description="the arc picture (PNG); `svg_path` the same as SVG")
    svg_path: str | None = None

    def of(self, person: int | None) -> list[ArcSegment]:
        return [s for s in self.segments if s.person == person]

    def text(self) -> str:
        """The summary (and comparison) as a person reads it: no ids."""
        parts = []
        for p in self.people:
            if p.summary:
                head = f"{p.name[0].upper()}{p.name[1:]}: " if len(self.people) > 1 else ""
                parts.append(head + " ".join(c.text for c in p.summary))
        if self.comparison:
            parts.append(" ".join(c.text for c in self.comparison.sentences))
        return "\n".join(parts)

    def claims(self) -> list[Claim]:
        return [c for p in self.people for c in p.summary] + (self.comparison.sentences if self.comparison else [])


# ---------------------------------------------------------------- per-window readings
class WindowReading(BaseModel):
    """A window's family probabilities and its 13-label probabilities (from the smoothed frames)."""

    model_config = ConfigDict(extra="forbid")

    window: TimeWindow
    readable: bool
    probs: dict[str, float] = Field(default_factory=dict, description="the 13 labels (emotion tool)")
    families: dict[str, float] = Field(default_factory=dict, description="summed per family")
    face: bool = False
    reasons: list[str] = Field(default_factory=list)
    reading: EmotionReading | None = Field(None, exclude=True, description="the emotion tool's full reading")


def smooth_frames(frames: Sequence[FaceFrame], kernel: int | None = None) -> list[FaceFrame]:
    """Each face frame's expression probabilities and AU values replaced by their running median over
    `kernel` sampled frames (scipy.signal.medfilt), within each run of frames that show the face (an
    absence breaks the run: nothing is carried across it); frames without a face are kept as they are."""
    k = kernel or KERNEL
    out = list(frames)
    if k <= 1:
        return out
    usable = [bool(f.n_faces and f.expression and f.aus) for f in frames]
    i = 0
    while i < len(frames):
        if not usable[i]:
            i += 1
            continue
        j = i
        while j < len(frames) and usable[j]:
            j += 1
        run = frames[i:j]
        kk = min(k, len(run) if len(run) % 2 else len(run) - 1)
        if kk > 1:
            ekeys, akeys = sorted(run[0].expression), sorted(run[0].aus)
            mat = np.array([[f.expression.get(x, 0.0) for x in ekeys] + [f.aus.get(x, 0.0) for x in akeys] for f in run])
            pad = kk // 2  # repeat the edge frames (medfilt itself pads with zeros)
            padded = np.vstack([np.repeat(mat[:1], pad, 0), mat, np.repeat(mat[-1:], pad, 0)])
            mat = np.column_stack([medfilt(padded[:, c], kk)[pad:pad + len(run)] for c in range(mat.shape[1])])
            tot = mat[:, :len(ekeys)].sum(1, keepdims=True)
            mat[:, :len(ekeys)] /= np.where(tot > 0, tot, 1.0)
            for n, (f, row) in enumerate(zip(run, mat)):
                out[i + n] = f.model_copy(update={"expression": dict(zip(ekeys, map(float, row[:len(ekeys)]))),
                                                  "aus": dict(zip(akeys, map(float, row[len(ekeys):])))})
        i = j
    return out


def read_windows(view, voice: bool = True, kernel: int | None = None,
                 faceless: bool = False) -> tuple[list[WindowReading], FramesIn]:
    """The emotion tool's reading of every window of `view` (a VideoIndex or a person's view) from its
    smoothed frames (`smooth_frames`), and the smoothed frames' lookup. `voice` False reads the face only (a
    video with several people: the voice is not attributed to one of them); `faceless` reads only the windows
    where no face is seen, from the voice and words (the off-camera voices of a video with several people)."""
    from tools.perception.emotion import read_emotion, words_to_read
    from tools.registry import telling_voice
    frames = smooth_frames(view.frames, kernel)
    times = [f.t for f in frames]

    def frames_in(w: TimeWindow) -> list[FaceFrame]:
        return frames[bisect.bisect_left(times, w.start):bisect.bisect_left(times, w.end)]
    base = view.baseline()
    out: list[WindowReading] = []
    for r in view.records:
        inside = frames_in(r.window)
        # a face counts where a frame has an expression reading and is not hidden (a hand over the face is
        # not seen: the emotion tool has nothing to read there)
        seen = not faceless and any(f.n_faces and f.expression and not f.occluded for f in inside)
        heard = (voice or faceless) and speaks(r)
        if not (seen or heard) or (faceless and r.face_frames > 0):
            out.append(WindowReading(window=r.window, readable=False))
            continue
        use = ("voice", "words", "ser") if faceless else None if voice else ("fer", "facs", "flow")
        hear = voice or faceless
        # the voice and words as the emotion tool reads them (tools/registry.tool_emotion): the segment whose
        # arousal departs most from the speaker's, the sure ASR words, a speech-emotion model's outputs if any
        segs = [v for v in view.speech.voice if r.window.overlaps(v)] if hear else []
        told = telling_voice(segs)
        er = read_emotion(inside, r.window, base, arousal=told.arousal if told is not None else None,
                          transcript=words_to_read(view.speech, r.window) if hear else "",
                          ser=[v.emotion for v in segs if getattr(v, "emotion", None)], use=use)
        fam = {f: 0.0 for f in FAMILIES}
        for lab, p in er.probs.items():
            fam[family(lab)] += p
        out.append(WindowReading(window=r.window, readable=True, probs=er.probs,
                                 families={k: round(v, 4) for k, v in fam.items()}, face=seen, reasons=er.reasons,
                                 reading=er))
    return out, frames_in


def window_family(w: WindowReading, threshold: float | None = None) -> str | None:
    """The window's family on the arc: None (unreadable), an emotional family (the strongest, with at least
    `threshold`), else Neutral."""
    if not w.readable:
        return None
    thr = EMOTIONAL if threshold is None else threshold
    top = max(FAMILIES, key=lambda f: w.families.get(f, 0.0))
    return top if top != "Neutral" and w.families[top] >= thr else "Neutral"


# ---------------------------------------------------------------- segments
IdMaker = Callable[[], str]


def _ids(start: int = 1) -> IdMaker:
    n = [start - 1]

    def make() -> str:
        n[0] += 1
        return f"E{n[0]}"
    return make


def person_segments(view, readings: list[WindowReading], frames_in: FramesIn, person: int | None,
                    duration: float, new_id: IdMaker, threshold: float | None = None,
                    trim: bool = True) -> tuple[list[ArcSegment], list[Evidence]]:
    """Consecutive windows of one family → segments covering [0, duration]; each with its evidence: an
    `arc` item (the family's smoothed probability over the segment) and, for an emotional segment, the
    emotion tool's reading of its strongest window."""
    from tools.episode import _trim
    fams = [window_family(w, threshold) for w in readings]
    groups: list[tuple[str | None, int, int]] = []
    for i, f in enumerate(fams):
        if groups and groups[-1][0] == f:
            groups[-1] = (f, groups[-1][1], i)
        else:
            groups.append((f, i, i))
    bounds = [[readings[a].window.start, readings[b].window.end] for _, a, b in groups]
    # trim emotional face segments to the frames that show the expression; the neighbours take the rest
    records = {w.window: r for w, r in zip(readings, view.records)} if trim else {}
    for g, (f, a, b) in enumerate(groups):
        if trim and f not in (None, "Neutral") and any(readings[k].face for k in range(a, b + 1)):
            s, e = _trim(records[readings[a].window], records[readings[b].window], frames_in,
                         EMOTION_TO_EXPRESSION[f], bounds[g][0], bounds[g][1])
            if e > s:
                bounds[g] = [s, e]
    for g in range(len(groups)):  # cover the video: each boundary meets its neighbour's
        if g == 0:
            bounds[g][0] = 0.0
        else:
            prev_emotional = groups[g - 1][0] not in (None, "Neutral")
            cut = bounds[g - 1][1] if prev_emotional else bounds[g][0]
            if not prev_emotional and groups[g][0] in (None, "Neutral"):
                cut = (bounds[g - 1][1] + bounds[g][0]) / 2
            bounds[g - 1][1], bounds[g][0] = cut, cut
    if bounds:
        bounds[-1][1] = duration
    segs: list[ArcSegment] = []
    evidence: list[Evidence] = []
    from tools.perception.emotion import emotion_evidence
    for (f, a, b), (s, e) in zip(groups, bounds):
        s, e = round(max(0.0, s), 3), round(min(duration, e), 3)
        if e <= s:
            continue
        ws = readings[a:b + 1]
        if f is None:
            segs.append(ArcSegment(start=s, end=e, person=person, label=None, confidence=0.0))
            continue
        conf = float(np.mean([w.families[f] if f != "Neutral" else 1.0 - max(v for k, v in w.families.items()
                                                                          if k != "Neutral") for w in ws]))
        probs = {lab: float(np.mean([w.probs.get(lab, 0.0) for w in ws])) for lab in ws[0].probs}
        members = [lab for lab in probs if family(lab) == f]
        label = max(members, key=lambda lab: probs[lab]) if members else f
        face = any(w.face for w in ws)
        eid = new_id()
        ids = [eid]
        win = TimeWindow(start=s, end=e)
        evidence.append(Evidence(
            id=eid, tool="arc", modality="face" if face else "voice", window=win,
            values={"label": label, "family": f, "confidence": round(conf, 4), "windows": len(ws),
                    **{f"p_{k}": round(float(np.mean([w.families[k] for w in ws])), 4) for k in FAMILIES}},
            text=(f"Arc {win.label()}: {label} in {len(ws)} index window(s), its family's probability "
                  f"{conf:.2f} (frames smoothed by a running median over {KERNEL})"
                  + ("" if face else " (no face: voice and words)") + ".")))
        if f != "Neutral":
            peak = max(ws, key=lambda w: w.families[f])
            pid = new_id()
            evidence.append(emotion_evidence(peak.reading, pid))
            ids.append(pid)
        segs.append(ArcSegment(start=s, end=e, person=person, label=label, confidence=round(conf, 4),
                               evidence_ids=ids))
    return segs, evidence


def shares(segments: Sequence[ArcSegment], start: float = 0.0, end: float = float("inf")) -> tuple[float, dict[str, float]]:
    """(seconds seen, family -> share of the seen time) of `segments` inside [start, end)."""
    t: dict[str, float] = {}
    for s in segments:
        d = max(0.0, min(s.end, end) - max(s.start, start))
        if s.label is not None and d > 0:
            t[family(s.label)] = t.get(family(s.label), 0.0) + d
    seen = sum(t.values())
    return round(seen, 2), {f: round(v / seen, 4) for f, v in sorted(t.items(), key=lambda kv: -kv[1])} if seen else {}


def compute_arc(index, people: Sequence[tuple[int | None, str]] | None = None, first_id: int = 1,
                threshold: float | None = None, kernel: int | None = None,
                voices: bool = True) -> tuple[Arc, list[Evidence]]:
    """The arc of every person in `people` ((id, name) pairs; None: each tracked person of the video, or the
    video's main face when nobody is tracked). With several people, the face only is read per person and the
    voices heard while no face is seen get their own row (`VOICES`, person None) unless `voices` is False.
    Evidence ids run E<first_id>, E<first_id+1>, ..."""
    from tools.people import PersonIndex, load_people
    base = getattr(index, "base", index)
    try:
        ppl = load_people(base).people
    except (OSError, ValueError):
        ppl = []
    if people is None:
        people = [(p.id, p.label()) for p in ppl] or [(None, "the video")]
    several = len(ppl) > 1  # the video's people, not only the ones asked about: whose voice it is is unknown
    new_id = _ids(first_id)
    segs: list[ArcSegment] = []
    evidence: list[Evidence] = []
    arcs: list[PersonArc] = []
    duration = getattr(base, "seen_until", base.meta.duration)  # a damaged file: only the part that was read
    for pid, name in people:
        view = base if pid is None else PersonIndex(base, pid)
        readings, frames_in = read_windows(view, voice=not several, kernel=kernel)
        s, ev = person_segments(view, readings, frames_in, pid, duration, new_id, threshold)
        segs += s
        evidence += ev
        seen, sh = shares(s)
        arcs.append(PersonArc(person=pid, name=name, seen_s=seen, shares=sh))
    if several and voices:  # the voices heard while no face is on screen: their own row
        readings, frames_in = read_windows(base, faceless=True)
        s, ev = person_segments(base, readings, frames_in, None, duration, new_id, threshold)
        seen, sh = shares(s)
        if seen:
            segs += s
            evidence += ev
            arcs.append(PersonArc(person=None, name=VOICES, seen_s=seen, shares=sh))
    return Arc(duration=duration, segments=segs, people=arcs), evidence


# ---------------------------------------------------------------- comparisons
def people_segments(arc: Arc, person: int | None) -> list[ArcSegment]:
    """`person`'s segments; for None, every tracked person's together (their time adds up), or the video's
    own row when nobody is tracked."""
    if person is not None or not any(s.person is not None for s in arc.segments):
        return arc.of(person)
    return [s for s in arc.segments if s.person is not None]


def side(arc: Arc, name: str, start: float, end: float, person: int | None) -> Side:
    """One side of a comparison: `person` (None: everyone tracked) between `start` and `end`."""
    seen, sh = shares(people_segments(arc, person), start, end)
    return Side(name=name, start=round(start, 3), end=round(end, 3), person=person, seen_s=seen, shares=sh)


_CLOCK = re.compile(r"\b(?:(\d{1,2}):)?(\d{1,2}):(\d{2})\b|\b(\d+(?:\.\d+)?)\s*(min(?:ute)?s?|sec(?:ond)?s?|s)\b", re.I)


def parse_clock(text: str) -> float | None:
    """A time written in a question ("10:36", "1:02:03", "5 minutes", "90 s") in seconds; None without one."""
    m = _CLOCK.search(text or "")
    if not m:
        return None
    if m.group(3):
        return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    v = float(m.group(4))
    return v * 60 if m.group(5).lower().startswith("m") else v


# ---------------------------------------------------------------- picture
def plot_arc(arc: Arc, out: Path) -> tuple[Path, Path]:
    """The arc per person as a strip each (colour = family, blank = not seen), written as `out`.png and
    `out`.svg; returns both paths."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    rows = arc.people or [PersonArc()]
    fig = Figure(figsize=(10, 0.55 * len(rows) + 1.3), dpi=110, layout="constrained")
    ax = fig.subplots()
    for k, p in enumerate(rows):
        y = len(rows) - 1 - k
        for s in arc.of(p.person):
            if s.label is None:
                ax.broken_barh([(s.start, s.end - s.start)], (y - 0.35, 0.7), facecolors="white",
                               edgecolors="#bbbbbb", hatch="//", lw=0.3)
            else:
                ax.broken_barh([(s.start, s.end - s.start)], (y - 0.35, 0.7), facecolors=COLORS[family(s.label)],
                               alpha=0.35 + 0.65 * s.confidence if s.emotional else 1.0, lw=0)
    ax.set_yticks(range(len(rows)), [p.name for p in reversed(rows)], fontsize=8)
    ax.set_xlim(0, arc.duration)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    step = next((x for x in TICK_STEPS if arc.duration / x <= 8), TICK_STEPS[-1])
    ticks = np.arange(0, arc.duration + 1e-6, step)
    ax.set_xticks(ticks, [hms(t)[3:] if arc.duration < 3600 else hms(t) for t in ticks], fontsize=8)
    ax.set_xlabel("time (mm:ss)", fontsize=8)
    used = [f for f in FAMILIES if any(s.label and family(s.label) == f for s in arc.segments)]
    handles = [Patch(color=COLORS[f], label=f) for f in used] + [Patch(facecolor="white", edgecolor="#bbbbbb",
                                                                       hatch="//", label="not seen")]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False)
    ax.set_title("Emotional arc", fontsize=10)
    for sp in ("top", "right"):
        ax.spines[sp].set_visible(False)
    out.parent.mkdir(parents=True, exist_ok=True)
    png, svg = out.with_suffix(".png"), out.with_suffix(".svg")
    fig.savefig(png)
    fig.savefig(svg)
    return png, svg
