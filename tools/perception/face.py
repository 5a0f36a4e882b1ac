"""Face finding, tracking, active zoom and per-frame face analysis (MediaPipe FaceLandmarker, Tasks API).

`FaceAnalyzer.analyze(t, rgb)` → `schemas.FaceFrame` for the main face: the landmarker runs on the full
frame; when it finds nothing, a zoom path runs it on 2x2 overlapping tiles upscaled 2x (small / far
faces); after a zoom miss the zoom path rests for `tile_retry_s` (2 s) of video time. `detect(rgb)`
always merges full frame + tiles (for counting faces: 5/5 on multi_face.jpg where
the full frame alone finds 2–3). A small IoU tracker (`FaceTracker`) keeps ids across frames, so the
main face stays the same person and AU baselines are per person. `zoom(...)` cuts ActFER-style
region crops (face, brows, eyes, nose, mouth, cheeks).

Always close the analyzer (`with FaceAnalyzer() as fa:` or `fa.close()`): MediaPipe's `__del__`
errors at interpreter exit otherwise.

Over 350 lines on purpose: the landmarker, its zoom-tile search and the tracker share one face geometry
(boxes in frame fractions, tile offsets, the main-face choice); the per-person track identity lives in
tools/perception/tracks.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel

from tools.perception.aus import AUEstimator
from tools.schemas import FaceFrame

Region = Literal["face", "brows", "eyes", "nose", "mouth", "cheeks"]

# Region boxes as fractions of the landmark bounding box (forehead top .. chin, ear .. ear).
REGIONS: dict[str, tuple[float, float, float, float]] = {
    "face": (0.0, 0.0, 1.0, 1.0),   # landmark extent, squared (best fer crop on MEAD: 4/5 vs 3/5 with margin)
    "brows": (0.05, 0.08, 0.95, 0.4),
    "eyes": (0.05, 0.25, 0.95, 0.52),
    "nose": (0.28, 0.3, 0.72, 0.72),
    "mouth": (0.18, 0.62, 0.82, 0.98),
    "cheeks": (0.0, 0.4, 1.0, 0.78),
}


class FaceBox(BaseModel):
    """A face as fractions of the frame (x, y, w, h), with a confidence-like score and track id."""

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    track_id: int | None = None

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    @property
    def area(self) -> float:
        return self.w * self.h


@dataclass
class Face:
    """One landmarked face in frame pixel coordinates."""

    box: tuple[float, float, float, float]        # x0, y0, x1, y1 pixels (landmark extent)
    landmarks: np.ndarray                          # (478, 3) pixels; z in pixel-like units
    blendshapes: dict[str, float] = field(default_factory=dict)
    track_id: int | None = None

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])

    def to_box(self, width: int, height: int) -> FaceBox:
        x0, y0, x1, y1 = self.box
        return FaceBox(x=round(max(0.0, x0) / width, 4), y=round(max(0.0, y0) / height, 4),
                       w=round((min(x1, width) - max(0.0, x0)) / width, 4),
                       h=round((min(y1, height) - max(0.0, y0)) / height, 4), track_id=self.track_id)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def greedy_match(boxes: Sequence[Sequence[float]], tracks: dict[int, Sequence[float]], threshold: float,
                 accept: Callable[[int, int], bool] | None = None) -> list[int | None]:
    """For each box, the id of the track it continues (or None): pairs are taken greedily by IoU, best
    first, each box and track at most once, none below `threshold`; `accept(box_i, track_id)` may veto a
    pair (an appearance check), letting the box try its next-best track."""
    pairs = sorted(((iou(b, tb), bi, tid) for bi, b in enumerate(boxes) for tid, tb in tracks.items()),
                   reverse=True)
    ids: list[int | None] = [None] * len(boxes)
    used: set[int] = set()
    for score, bi, tid in pairs:
        if score < threshold:
            break
        if ids[bi] is None and tid not in used and (accept is None or accept(bi, tid)):
            ids[bi] = tid
            used.add(tid)
    return ids


def _overlap_small(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over the smaller box's area (catches a partial box inside a full one)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def merge_faces(faces: Sequence[Face], thr: float = 0.3) -> list[Face]:
    """Greedy NMS: the larger face wins when two overlap (IoU > thr or mostly nested)."""
    kept: list[Face] = []
    for f in sorted(faces, key=lambda f: -f.area):
        if all(iou(f.box, k.box) <= thr and _overlap_small(f.box, k.box) <= 0.6 for k in kept):
            kept.append(f)
    return kept


class FaceTracker:
    """Greedy IoU tracker: `update(boxes)` → a track id per box (new id when nothing matches).
    A track survives `max_missed` updates without a match."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 4):
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self._tracks: dict[int, tuple[tuple[float, ...], int]] = {}   # id -> (box, missed)
        self._next = 0

    def reset(self) -> None:
        self._tracks.clear()
        self._next = 0

    @property
    def active(self) -> list[int]:
        return [i for i, (_, m) in self._tracks.items() if m == 0]

    def update(self, boxes: Sequence[Sequence[float]]) -> list[int]:
        ids = greedy_match(boxes, {tid: tb for tid, (tb, _) in self._tracks.items()}, self.iou_threshold)
        for bi in range(len(boxes)):
            if ids[bi] is None:
                ids[bi] = self._next
                self._next += 1
        new: dict[int, tuple[tuple[float, ...], int]] = {}
        for tid, (tb, missed) in self._tracks.items():
            if tid not in ids and missed + 1 <= self.max_missed:
                new[tid] = (tb, missed + 1)
        for bi, tid in enumerate(ids):
            new[tid] = (tuple(float(v) for v in boxes[bi]), 0)
        self._tracks = new
        return [int(i) for i in ids]  # type: ignore[arg-type]


def zoom(rgb: np.ndarray, box: Sequence[float], region: Region = "face", size: int = 224,
         fractional: bool | None = None) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """ActFER-style active zoom: crop `region` of a face and upscale it so its long side is `size`.

    `box` is the face as (x, y, w, h) fractions of the frame (as in FaceFrame.box) or, with
    fractional=False, as (x0, y0, x1, y1) pixels. Returns (crop RGB, (x0, y0, x1, y1) pixels)."""
    h_img, w_img = rgb.shape[:2]
    if fractional is None:
        fractional = max(box) <= 1.0 + 1e-6
    if fractional:
        x, y, w, h = box
        bx0, by0, bx1, by1 = x * w_img, y * h_img, (x + w) * w_img, (y + h) * h_img
    else:
        bx0, by0, bx1, by1 = box
    fx0, fy0, fx1, fy1 = REGIONS[region]
    bw, bh = bx1 - bx0, by1 - by0
    x0, x1 = bx0 + fx0 * bw, bx0 + fx1 * bw
    y0, y1 = by0 + fy0 * bh, by0 + fy1 * bh
    if region == "face":  # square around the face centre
        cx, cy, s = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
        x0, x1, y0, y1 = cx - s / 2, cx + s / 2, cy - s / 2, cy + s / 2
    ix0, iy0 = int(np.clip(np.floor(x0), 0, w_img - 1)), int(np.clip(np.floor(y0), 0, h_img - 1))
    ix1, iy1 = int(np.clip(np.ceil(x1), ix0 + 1, w_img)), int(np.clip(np.ceil(y1), iy0 + 1, h_img))
    crop = rgb[iy0:iy1, ix0:ix1]
    scale = size / max(crop.shape[:2])
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                      interpolation=interp)
    return crop, (ix0, iy0, ix1, iy1)


class FaceAnalyzer:
    """Per-frame face analysis of the main face: box, n_faces, AU proxies, expression, occlusion.

    State (tracker, per-track AU baselines) lives in the instance: use one analyzer per video, or call
    `reset()` between videos."""

    def __init__(self, model_path: str | Path | None = None, max_faces: int = 5,
                 min_confidence: float = 0.5, zoom_fallback: bool = True, expression: bool = True,
                 drop_occluded_aus: bool = True, tile_upscale: float = 2.0, tile_retry_s: float = 2.0):
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        if model_path is None:
            from tools.provision import resolve
            model_path = resolve("face_landmarker")
        self._mp = mp
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE, num_faces=max_faces,
            min_face_detection_confidence=min_confidence, min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence, output_face_blendshapes=True)
        from tools.native import quiet_stderr
        with quiet_stderr():
            self._landmarker = vision.FaceLandmarker.create_from_options(opts)
        self.zoom_fallback = zoom_fallback
        self.tile_upscale = tile_upscale
        self.tile_retry_s = tile_retry_s
        self.tiles_due = float("-inf")  # video time before which a failed zoom search is not repeated
        self.tracker = FaceTracker()
        self.aus = AUEstimator(drop_occluded=drop_occluded_aus)
        self._expr = None
        if expression:
            from tools.perception.expression import ExpressionClassifier
            with quiet_stderr():
                self._expr = ExpressionClassifier()
        self._main: int | None = None
        self.last_face: Face | None = None
        self.last_faces: list[Face] = []

    # -------------------------------------------------------------- lifecycle
    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
        if self._expr is not None:
            self._expr.close()
            self._expr = None

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def reset(self) -> None:
        """Forget tracks and baselines (start of a new video)."""
        self.tracker.reset()
        self.aus.reset()
        self._main = None
        self.last_face = None
        self.tiles_due = float("-inf")

    # -------------------------------------------------------------- landmarking
    def landmarks(self, rgb: np.ndarray) -> list[Face]:
        """Run the landmarker once on an RGB uint8 image; faces in its pixel coordinates."""
        if self._landmarker is None:
            raise RuntimeError("FaceAnalyzer is closed")
        h, w = rgb.shape[:2]
        img = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb[..., :3]))
        res = self._landmarker.detect(img)
        faces = []
        for i, lms in enumerate(res.face_landmarks):
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
            bs = {c.category_name: float(c.score) for c in res.face_blendshapes[i]} if res.face_blendshapes else {}
            x0, y0 = pts[:, :2].min(0)
            x1, y1 = pts[:, :2].max(0)
            faces.append(Face(box=(float(x0), float(y0), float(x1), float(y1)), landmarks=pts, blendshapes=bs))
        return faces

    def _tiles(self, rgb: np.ndarray) -> list[Face]:
        """Zoom path: 2x2 overlapping tiles (55% of each side), upscaled, mapped back to the frame."""
        h, w = rgb.shape[:2]
        found: list[Face] = []
        tw, th = int(round(w * 0.55)), int(round(h * 0.55))
        for y0 in (0, h - th):
            for x0 in (0, w - tw):
                tile = rgb[y0:y0 + th, x0:x0 + tw]
                s = self.tile_upscale
                big = cv2.resize(tile, (int(tw * s), int(th * s)), interpolation=cv2.INTER_LINEAR)
                for f in self.landmarks(big):
                    pts = f.landmarks.copy()
                    pts /= s
                    pts[:, 0] += x0
                    pts[:, 1] += y0
                    x0f, y0f, x1f, y1f = f.box
                    found.append(Face(box=(x0f / s + x0, y0f / s + y0, x1f / s + x0, y1f / s + y0),
                                      landmarks=pts, blendshapes=f.blendshapes))
        return found

    def find_faces(self, rgb: np.ndarray, zoom: bool = False) -> list[Face]:
        """Full-frame faces; with zoom=True also tiled faces, merged (NMS), biggest first."""
        faces = self.landmarks(rgb)
        if zoom:
            faces = faces + self._tiles(rgb)
        return merge_faces(faces)

    def detect(self, rgb: np.ndarray, zoom: bool = True) -> list[FaceBox]:
        """Count/locate faces (full frame + zoom tiles by default). No tracking, no state change."""
        h, w = rgb.shape[:2]
        return [f.to_box(w, h) for f in self.find_faces(rgb, zoom=zoom)]

    # -------------------------------------------------------------- analysis
    def _pick_main(self, faces: list[Face]) -> Face:
        if self._main is not None:
            for f in faces:
                if f.track_id == self._main:
                    # keep the tracked person unless someone else is much bigger
                    biggest = max(faces, key=lambda g: g.area)
                    if biggest.area <= 2.0 * f.area:
                        return f
        return max(faces, key=lambda g: g.area)

    def analyze_face(self, t: float, rgb: np.ndarray) -> tuple[FaceFrame, Face | None]:
        """Like `analyze`, also returning the main `Face` (landmarks, blendshapes) for other tools."""
        h, w = rgb.shape[:2]
        faces = merge_faces(self.landmarks(rgb))
        if faces or t < self.tiles_due - self.tile_retry_s:  # a face, or time went back (new video)
            self.tiles_due = float("-inf")
        elif self.zoom_fallback and t >= self.tiles_due:
            # zoom search (4 upscaled tiles, ~4x the cost of one frame); after a miss, not again for
            # tile_retry_s of video time: long face-free stretches would otherwise pay it every sample
            faces = merge_faces(self._tiles(rgb))
            self.tiles_due = float("-inf") if faces else t + self.tile_retry_s
        ids = self.tracker.update([f.box for f in faces])
        for f, i in zip(faces, ids):
            f.track_id = i
        self.last_faces = faces  # every face of this frame (tools/perception/tracks.py tracks them all)
        if not faces:
            self.last_face = None
            return FaceFrame(t=t, n_faces=0), None
        main = self._pick_main(faces)
        self._main = main.track_id
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        reading = self.aus.estimate(main.blendshapes, main.landmarks, grey, track_id=main.track_id or 0)
        expression: dict[str, float] = {}
        if self._expr is not None:
            crop, _ = zoom(rgb, main.box, "face", size=64, fractional=False)
            expression = self._expr.predict([crop])[0]
        b = main.to_box(w, h)
        frame = FaceFrame(t=t, n_faces=len(faces), box=(b.x, b.y, b.w, b.h), aus=reading.aus,
                          expression=expression, occluded=reading.occluded)
        self.last_face = main
        return frame, main

    def analyze(self, t: float, rgb: np.ndarray) -> FaceFrame:
        """Measurements of the main (tracked, else biggest) face in one RGB uint8 frame."""
        return self.analyze_face(t, rgb)[0]

    def analyze_video(self, path, fps: float = 4.0, start: float = 0.0, end: float | None = None,
                      max_side: int = 640) -> list[FaceFrame]:
        """Convenience: `analyze` every sampled frame of a video (fresh tracks/baselines)."""
        from contextlib import closing

        from tools.index.decode import iter_frames

        self.reset()
        # closing(): a suspended iter_frames generator (e.g. after an exception) can hang later decodes
        with closing(iter_frames(path, fps=fps, max_side=max_side, start=start, end=end)) as frames:
            return [self.analyze(t, fr) for t, fr in frames]
