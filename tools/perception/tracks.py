"""People in the video: every face the landmarker finds, tracked into persons through the whole video.

`PeopleTracker.update(t, rgb, faces)` takes the faces `FaceAnalyzer` found in one sampled frame (all of
them, up to `max_faces`) and returns one `PersonFace` per face: a person id that stays the same

* within a shot, by box continuity (IoU >= `iou_threshold` with the person's last box, seen within
  `keep_s`), unless the appearance there changed completely (a cut to someone else at the same place);
* across absences and shot changes, by re-identification: a face that continues no visible person is
  compared with every person not on screen, by a descriptor measured here (`descriptor`):
  - appearance: hue/saturation histograms of the face square and of the region below the chin (hair,
    skin, collar, clothes), compared by histogram intersection;
  - geometry: rigid landmark layout (eye corners, nose, face outline) in eye-aligned, inter-ocular units.
  The best match above `reid_threshold` gets the old id back; otherwise a new person begins.

Per person it also keeps its own AU neutral baseline (its own `AUEstimator` state, keyed by person id) and
the expression of its face crop (the main face's expression is reused, the others' are computed), so a
reading of one person never mixes with another's. No model beyond MediaPipe and the FER CNN already used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tools.perception.aus import AUEstimator, align_matrix, transform_points
from tools.perception.face import Face, greedy_match, zoom
from tools.schemas import PersonFace

# rigid landmarks: outer/inner eye corners, nose bridge/tip/wings, face outline, chin, forehead
RIGID = (33, 263, 133, 362, 168, 6, 1, 98, 327, 234, 454, 172, 397, 152, 10, 58, 288)
HIST_BINS = (12, 4)   # hue x saturation


def _hist(rgb: np.ndarray) -> np.ndarray:
    if rgb.size == 0:
        return np.zeros(HIST_BINS[0] * HIST_BINS[1], np.float32)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1], None, list(HIST_BINS), [0, 180, 0, 256]).ravel()
    return (h / max(float(h.sum()), 1.0)).astype(np.float32)


@dataclass
class Descriptor:
    face: np.ndarray       # hue x sat histogram of the face square (L1 = 1)
    body: np.ndarray       # the same for the region below the chin (L1 = 1; zeros when off-frame)
    geometry: np.ndarray   # rigid landmarks, eye-aligned, IOD units

    def blend(self, other: Descriptor, a: float) -> Descriptor:
        """Running mean: (1-a) * self + a * other. A body histogram is only mixed with another body
        histogram (a frame where the region below the chin is off-frame keeps the old one)."""
        if other.body.sum() == 0:
            body = self.body
        elif self.body.sum() == 0:
            body = other.body
        else:
            body = (1 - a) * self.body + a * other.body
        return Descriptor((1 - a) * self.face + a * other.face, body, (1 - a) * self.geometry + a * other.geometry)


def descriptor(rgb: np.ndarray, face: Face) -> Descriptor:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = face.box
    crop, _ = zoom(rgb, face.box, "face", size=48, fractional=False)
    fw, fh = x1 - x0, y1 - y0
    bx0, bx1 = int(max(0, x0 - 0.3 * fw)), int(min(w, x1 + 0.3 * fw))
    by0, by1 = int(min(h, y1 + 0.1 * fh)), int(min(h, y1 + 0.9 * fh))
    body = rgb[by0:by1, bx0:bx1] if by1 - by0 >= 4 and bx1 - bx0 >= 4 else rgb[:0, :0]
    if body.size:
        body = cv2.resize(body, (32, 32), interpolation=cv2.INTER_AREA)
    q = transform_points(align_matrix(face.landmarks, size=1, iod_frac=1.0, eye_y=0.0), face.landmarks)
    return Descriptor(_hist(crop), _hist(body), q[list(RIGID)].ravel().astype(np.float32))


def similarity(a: Descriptor, b: Descriptor) -> float:
    """0..1: 0.6 face colour + 0.3 body colour (when both have one) + 0.1 geometry. Geometry is weak
    (crying/laughing/pose move the same woman's rigid points 0.12-0.84 IOD; different people 0.39-0.86),
    face colour carries most (same person >= 0.84, different people in one group photo 0.59-0.86)."""
    face = float(np.minimum(a.face, b.face).sum())
    geo = float(np.exp(-np.linalg.norm(a.geometry - b.geometry) / 0.25))
    if a.body.sum() > 0 and b.body.sum() > 0:
        body = float(np.minimum(a.body, b.body).sum())
        return 0.6 * face + 0.3 * body + 0.1 * geo
    return (0.6 * face + 0.1 * geo) / 0.7


@dataclass
class Person:
    id: int
    box: tuple[float, float, float, float]
    last_t: float
    desc: Descriptor
    frames: int = 0
    desc_t: float = float("-inf")


@dataclass
class PeopleTracker:
    """Faces per frame → persistent person ids (1, 2, ...) and per-person readings. Picklable (the
    index checkpoints it); holds no model: the expression classifier is passed in."""

    iou_threshold: float = 0.3
    keep_s: float = 1.5               # box continuity only within this gap
    reid_threshold: float = 0.71      # measured (README "People in the video"): same >= 0.74, others <= 0.68
    cut_threshold: float = 0.5        # below this, a box-continuous face is someone else (a cut)
    desc_every_s: float = 1.0         # descriptor refresh for tracked persons
    persons: dict[int, Person] = field(default_factory=dict)
    aus: AUEstimator = field(default_factory=AUEstimator)
    reids: list[tuple[float, int, float]] = field(default_factory=list)  # (t, person, similarity)
    _next: int = 1

    def reset(self) -> None:
        self.persons.clear()
        self.aus.reset()
        self.reids.clear()
        self._next = 1

    def assign(self, t: float, rgb: np.ndarray, faces: list[Face]) -> list[int]:
        """Person id for each face (in order), updating the persons' boxes and descriptors."""
        live = {pid: p for pid, p in self.persons.items() if 0 <= t - p.last_t <= self.keep_s}
        descs: list[Descriptor | None] = [None] * len(faces)

        def same_look(fi: int, pid: int) -> bool:  # periodic appearance check (also catches a cut)
            p = self.persons[pid]
            if t - p.desc_t < self.desc_every_s:
                return True
            d = descs[fi] = descriptor(rgb, faces[fi])
            return similarity(d, p.desc) >= self.cut_threshold

        ids = greedy_match([f.box for f in faces], {pid: p.box for pid, p in live.items()}, self.iou_threshold,
                           accept=same_look)
        used = {i for i in ids if i is not None}
        for fi, f in enumerate(faces):
            if ids[fi] is not None:
                continue
            d = descs[fi] = descs[fi] or descriptor(rgb, f)
            away = [(similarity(d, p.desc), pid) for pid, p in self.persons.items()
                    if pid not in used and pid not in live]
            best = max(away, default=(0.0, 0))
            if best[0] >= self.reid_threshold:
                ids[fi] = best[1]
                self.reids.append((round(t, 3), best[1], round(best[0], 3)))
            else:
                ids[fi] = self._next
                self.persons[self._next] = Person(self._next, f.box, t, d, desc_t=t)
                self._next += 1
            used.add(ids[fi])
        for fi, f in enumerate(faces):
            p = self.persons[ids[fi]]
            p.box, p.last_t, p.frames = f.box, t, p.frames + 1
            if descs[fi] is not None:
                p.desc = p.desc.blend(descs[fi], 0.2 if p.frames > 1 else 1.0)
                p.desc_t = t
        return [int(i) for i in ids]  # type: ignore[arg-type]

    def update(self, t: float, rgb: np.ndarray, faces: list[Face], main: Face | None = None,
               main_expression: dict[str, float] | None = None, expression=None) -> list[PersonFace]:
        """Track `faces` and read each one: AUs against the person's own baseline, expression (the main
        face's is reused; the others' come from `expression.predict`, when given)."""
        if not faces:
            return []
        ids = self.assign(t, rgb, faces)
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
