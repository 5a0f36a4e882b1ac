"""People in the video: every face the landmarker finds, tracked into persons through the whole video.

`PeopleTracker.update(t, rgb, faces)` takes the faces `FaceAnalyzer` found in one sampled frame (all of
them, up to `max_faces`) and returns one `PersonFace` per face, with a person id that stays the same

* within a shot, by box continuity: faces are matched to the persons seen within `keep_s` by IoU (at
  least `iou_threshold`), as an assignment (scipy's `linear_sum_assignment`, best total overlap);
* across cuts, exits and re-entries, by face identity (tools/perception/identity.py, dlib's ResNet face
  descriptor): a face that continues nobody, or a box-continuous face whose look jumped since the
  previous sample (a possible cut: see `look_same`, `cut_change`), gets a descriptor and is given to the
  nearest person within `identity.SAME_PERSON` who is not already someone else in this frame (two faces
  in one frame are never one person); a box-continuous face whose descriptor is nearer someone else (or
  nobody known) is someone else at the same place. Otherwise a new person begins. A person begun as new
  whose next descriptors match an earlier person (never seen with them) is merged into that person.

Descriptors cost 75-200 ms each (2 shared cores), so a person gets a few, not one per frame: one at each
track's start and at each look jump, and while the person's template holds fewer than `template_min`
descriptors, more at doubling gaps (`desc_first_s`, 2x, 4x ...). The kept descriptors (`Identities`)
are the person's template.

Per person it also keeps its own AU neutral baseline (its own `AUEstimator` state, keyed by person id) and
the expression of its face crop (the main face's expression is reused, the others' are computed), so a
reading of one person never mixes with another's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from tools.perception.aus import AUEstimator
from tools.perception.face import Face, iou, zoom
from tools.perception.identity import FaceIdentifier, Identities
from tools.schemas import PersonFace

HIST_BINS = (12, 4)   # hue x saturation of the face crop: the cheap per-frame look

_SHARED: dict[str, FaceIdentifier] = {}


def shared_identifier() -> FaceIdentifier:
    """One FaceIdentifier per process (the dlib models load once, ~0.3 s, 30 MB)."""
    if "id" not in _SHARED:
        _SHARED["id"] = FaceIdentifier()
    return _SHARED["id"]


def match_boxes(boxes: list, tracks: dict[int, tuple], threshold: float) -> list[int | None]:
    """For each box, the id of the track it continues (or None): the assignment with the largest total
    IoU (scipy linear_sum_assignment), pairs below `threshold` dropped."""
    ids: list[int | None] = [None] * len(boxes)
    if not boxes or not tracks:
        return ids
    tids = list(tracks)
    m = np.array([[iou(b, tracks[t]) for t in tids] for b in boxes])
    rows, cols = linear_sum_assignment(-m)
    for r, c in zip(rows, cols):
        if m[r, c] >= threshold:
            ids[r] = tids[c]
    return ids


def look(rgb: np.ndarray, face: Face) -> np.ndarray:
    """Hue x saturation histogram (L1 = 1) of the 48-px face square: a per-frame look costing ~0.1 ms."""
    crop, _ = zoom(rgb, face.box, "face", size=48, fractional=False)
    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1], None, list(HIST_BINS), [0, 180, 0, 256]).ravel()
    return (h / max(float(h.sum()), 1.0)).astype(np.float32)


@dataclass
class Person:
    id: int
    box: tuple[float, float, float, float]
    last_t: float
    frames: int = 0
    next_desc_t: float = float("-inf")
    n_desc: int = 0
    look: np.ndarray | None = None
    new: bool = True       # began as a new person: its first descriptors may still find it an old one


@dataclass
class PeopleTracker:
    """Faces per frame → persistent person ids (1, 2, ...) and per-person readings. Picklable (the
    index checkpoints it; the dlib models are not pickled but shared per process); the expression
    classifier is passed in.

    A box-continuous face is re-identified (one descriptor) when its look jumped: the histogram
    intersection of its face crop with the previous sample's is below `look_same` (0.92), or the whole
    picture changed by at least `cut_change` (0.10, tools.perception.scene "change"). Chosen on the dev
    videos four_people + leave_return at 3 fps (scripts/measure_people.py --cuts): at the 11 cuts between
    two people the look similarity was 0.37-0.88 (every one below 0.92), within shots below 0.92 on ~3 %
    of sampled face pairs; the picture change alone missed half the cuts (MEAD clips share one green
    background) and is kept for cuts between different scenes (>= 0.10 on 0.5 % of in-shot frames).
    `template_min` (3) and `desc_first_s` (4 s): a person's first descriptors come at 4, 8, 16 s ... into
    their track until 3 are kept; then only track starts and look jumps cost one. Chosen for cost: with a
    descriptor every doubling gap for every track, indexing the clip cycle of scripts/bench_index.py
    (a cut every ~15 s) cost +74 % (docs/results.md); the dev videos' people table was the same either way."""

    iou_threshold: float = 0.3
    keep_s: float = 1.5               # box continuity only within this gap
    look_same: float = 0.92
    cut_change: float = 0.10
    desc_first_s: float = 4.0
    template_min: int = 3
    persons: dict[int, Person] = field(default_factory=dict)
    ids: Identities = field(default_factory=Identities)
    aus: AUEstimator = field(default_factory=AUEstimator)
    reids: list[tuple[float, int, float]] = field(default_factory=list)  # (t, person, descriptor distance)
    cuts: list[tuple[float, int, int]] = field(default_factory=list)     # (t, old person, new person)
    merged: dict[int, int] = field(default_factory=dict)  # a new person found to be an old one: new -> old
    together: set[tuple[int, int]] = field(default_factory=set)  # pairs seen in one frame (never one person)
    identifier: FaceIdentifier | None = field(default=None, repr=False, compare=False)
    _next: int = 1

    def __getstate__(self) -> dict:
        st = dict(self.__dict__)
        st["identifier"] = None
        return st

    def _describe(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        if self.identifier is None:
            self.identifier = shared_identifier()
        return self.identifier.describe(rgb, face.box)

    def reset(self) -> None:
        self.persons.clear()
        self.ids = Identities()
        self.aus.reset()
        self.reids.clear()
        self.cuts.clear()
        self.merged.clear()
        self.together.clear()
        self._next = 1

    def assign(self, t: float, rgb: np.ndarray, faces: list[Face], change: float | None = None) -> list[int]:
        """Person id for each face (in order), updating the persons' boxes and identity descriptors.
        `change`: the picture change since the previous sample (None: unknown, no cut check)."""
        live = {pid: p.box for pid, p in self.persons.items() if 0 <= t - p.last_t <= self.keep_s}
        ids = match_boxes([f.box for f in faces], live, self.iou_threshold)
        scene_cut = change is not None and change >= self.cut_change
        descs: list[np.ndarray | None] = [None] * len(faces)
        looks = [look(rgb, f) for f in faces]
        jumped = [False] * len(faces)
        for fi, f in enumerate(faces):
            pid = ids[fi]
            if pid is not None:
                prev = self.persons[pid].look
                jumped[fi] = scene_cut or (prev is not None and float(np.minimum(prev, looks[fi]).sum()) < self.look_same)
            if pid is None or jumped[fi] or (t >= self.persons[pid].next_desc_t
                                             and len(self.ids.people.get(pid, ())) < self.template_min):
                descs[fi] = self._describe(rgb, f)
            if pid is not None and jumped[fi]:
                others = {ids[j] for j in range(len(faces)) if j != fi and ids[j] is not None}
                if self.ids.match(descs[fi], exclude=others)[0] != pid:
                    ids[fi] = None  # a cut to someone else at the same place (someone nearer, or nobody known)
        used = {i for i in ids if i is not None}
        for fi, f in enumerate(faces):
            if ids[fi] is not None:
                continue
            pid, dist = self.ids.match(descs[fi], exclude=used)
            if pid is not None:
                self.reids.append((round(t, 3), pid, round(dist, 3)))
                self.persons[pid].n_desc = 0  # a new track of a known person: descriptors come soon again
                self.persons[pid].new = False
            else:
                pid = self._next
                self._next += 1
                self.persons[pid] = Person(pid, f.box, t)
            old = next((q for q, b in live.items() if iou(b, f.box) >= self.iou_threshold and q != pid), None)
            if old is not None and any(jumped):
                self.cuts.append((round(t, 3), old, pid))
            ids[fi] = pid
            used.add(pid)
        for fi, f in enumerate(faces):
            p = self.persons[ids[fi]]
            p.box, p.last_t, p.frames, p.look = f.box, t, p.frames + 1, looks[fi]
            d = descs[fi]
            if d is not None:
                if p.id not in self.ids.people or self.ids.same(p.id, d):
                    self.ids.add(p.id, d)  # an outlier (hand over the face, profile) is not kept
                p.next_desc_t = t + self.desc_first_s * 2 ** p.n_desc
                p.n_desc += 1
        for a in ids:
            for b in ids:
                if a is not None and b is not None and a < b:
                    self.together.add((a, b))
        for fi in range(len(faces)):
            if descs[fi] is not None and self.persons[ids[fi]].new and len(self.ids.people.get(ids[fi], ())) >= 2:
                ids[fi] = self._late_match(ids[fi], t, set(ids))
        return [int(i) for i in ids]  # type: ignore[arg-type]

    def _late_match(self, pid: int, t: float, here: set) -> int:
        """A person begun as new whose first descriptors (2 or more: one re-entry frame can be a poor view,
        e.g. a laugh with a hand at the face) lie within SAME_PERSON of an earlier person never seen with
        them (median over their descriptors of the distance to that person's set) is that earlier person: the ids
        merge (new -> old, `merged`; frames already written are rewritten by the frame pass at its end)."""
        mine = self.ids.people[pid]
        best, best_d = None, self.ids.threshold
        for q in self.ids.people:
            if q == pid or q in here or (min(q, pid), max(q, pid)) in self.together:
                continue
            dq = float(np.median([self.ids.distance(q, d) for d in mine]))
            if dq < best_d:
                best, best_d = q, dq
        if len(mine) >= self.template_min or best is not None:
            self.persons[pid].new = False  # decided: no more late checks for this person
        if best is None:
            return pid
        p = self.persons.pop(pid)
        for d in self.ids.people.pop(pid):
            self.ids.add(best, d)
        self.ids.seen.pop(pid, None)
        p.id = best
        self.persons[best] = p
        self.merged[pid] = best
        for old, new in list(self.merged.items()):
            if new == pid:
                self.merged[old] = best
        self.together = {(min(self.merged.get(a, a), self.merged.get(b, b)), max(self.merged.get(a, a), self.merged.get(b, b)))
                         for a, b in self.together}
        self.reids.append((round(t, 3), best, round(best_d, 3)))
        return best

    def update(self, t: float, rgb: np.ndarray, faces: list[Face], main: Face | None = None,
               main_expression: dict[str, float] | None = None, expression=None,
               change: float | None = None) -> list[PersonFace]:
        """Track `faces` and read each one: AUs against the person's own baseline, expression (the main
        face's is reused; the others' come from `expression.predict`, when given)."""
        if not faces:
            return []
        ids = self.assign(t, rgb, faces, change)
        h, w = rgb.shape[:2]
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        others = [i for i, f in enumerate(faces) if f is not main]
        exprs: dict[int, dict[str, float]] = {}
        if expression is not None and others:
            crops = [zoom(rgb, faces[i].box, "face", size=64, fractional=False)[0] for i in others]
            exprs = dict(zip(others, expression.predict(crops)))
        out = []
        for i, (f, pid) in enumerate(zip(faces, ids)):
            r = self.aus.estimate(f.blendshapes, f.landmarks, grey, track_id=pid)
            b = f.to_box(w, h)
            ex = (main_expression or {}) if f is main else exprs.get(i, {})
            out.append(PersonFace(person=pid, box=(b.x, b.y, b.w, b.h), aus=r.aus, occluded=r.occluded,
                                  expression={k: round(v, 4) for k, v in ex.items()}, main=f is main))
        return out
