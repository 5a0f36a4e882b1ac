"""FaceAnalyzer / FaceTracker / zoom on real media (../shared/media/faces)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tools.perception.face import FaceAnalyzer, FaceTracker, iou, zoom
from tools.labels import EXPRESSIONS
from tools.schemas import FaceFrame
from tools.index.decode import iter_frames


def _jpg(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)



def test_single_face_jpg(fa, faces):
    img = _jpg(faces / "single_face.jpg")
    boxes = fa.detect(img)
    assert len(boxes) == 1
    fa.reset()
    fr = fa.analyze(0.0, img)
    assert isinstance(fr, FaceFrame)
    assert fr.n_faces == 1 and fr.box is not None
    x, y, w, h = fr.box
    assert 0 <= x < 1 and 0 <= y < 1 and 0.1 < w <= 1 and 0.1 < h <= 1
    assert "AU12" in fr.aus and set(fr.expression) == set(EXPRESSIONS)
    assert abs(sum(fr.expression.values()) - 1) < 0.01


def test_multi_face_jpg_zoom_finds_small_faces(fa, faces):
    img = _jpg(faces / "multi_face.jpg")
    full = fa.detect(img, zoom=False)
    zoomed = fa.detect(img, zoom=True)
    assert len(zoomed) >= 4            # 5 people; measured 5/5 with tiles
    assert len(zoomed) >= len(full)
    for b in zoomed:                   # no duplicates of one face
        for c in zoomed:
            if b is not c:
                assert iou((b.x, b.y, b.x + b.w, b.y + b.h), (c.x, c.y, c.x + c.w, c.y + c.h)) < 0.3


def test_no_face_video(fa, faces):
    fa.reset()
    frames = [fa.analyze(t, f) for t, f in iter_frames(faces / "no_face.mp4", fps=2)]
    assert frames and all(f.n_faces == 0 and f.box is None and not f.aus for f in frames)


@pytest.mark.parametrize("name,first,last", [("face_noface.mov", True, False), ("noface_face.mov", False, True)])
def test_face_enters_or_leaves(fa, faces, name, first, last):
    frames = fa.analyze_video(faces / name, fps=2)
    present = [f.n_faces > 0 for f in frames]
    assert len(present) >= 8
    assert all(p == first for p in present[:3]), present
    assert all(p == last for p in present[-3:]), present


def test_tracker_keeps_ids():
    tr = FaceTracker(iou_threshold=0.3, max_missed=2)
    a, b = (0, 0, 10, 10), (50, 50, 70, 70)
    ids1 = tr.update([a, b])
    ids2 = tr.update([(51, 51, 71, 71), (1, 0, 11, 10)])        # order swapped, small moves
    assert ids2 == [ids1[1], ids1[0]]
    ids3 = tr.update([(200, 200, 220, 220)])                    # a new person
    assert ids3[0] not in ids1
    tr.update([])
    tr.update([])
    assert tr.update([(1, 0, 11, 10)])[0] != ids1[0]            # expired after max_missed


def test_tracker_single_person_video(fa, faces):
    fa.reset()
    ids = []
    for t, f in iter_frames(faces / "WolfgangLanger_Pexels.mp4", fps=2, end=8):
        fa.analyze(t, f)
        ids.append(fa.last_face.track_id if fa.last_face else None)
    assert len(set(ids)) == 1 and ids[0] is not None


def test_zoom_regions(faces):
    img = _jpg(faces / "single_face.jpg")
    with FaceAnalyzer(expression=False) as fa:
        face = fa.find_faces(img)[0]
    h, w = img.shape[:2]
    box = face.to_box(w, h).xywh
    crops = {r: zoom(img, box, r, size=160) for r in ("face", "brows", "eyes", "nose", "mouth", "cheeks")}
    for r, (crop, (x0, y0, x1, y1)) in crops.items():
        assert max(crop.shape[:2]) == 160 and crop.dtype == np.uint8, r
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    mouth_y = face.landmarks[13, 1]                  # inner upper lip
    _, (_, my0, _, my1) = crops["mouth"]
    assert my0 < mouth_y < my1
    _, (_, by0, _, by1) = crops["brows"]
    assert by1 < mouth_y                              # brows above the mouth
    assert crops["face"][0].shape[0] == crops["face"][0].shape[1]


def test_zoom_search_rests_after_a_miss(faces):
    """Face-free stretches pay the 4-tile zoom search once per `tile_retry_s` of video, not every frame."""
    clip = [f for _, f in iter_frames(faces / "no_face.mp4", fps=4)]
    frames = [(i * 0.25, clip[i % len(clip)]) for i in range(3 * len(clip))]  # ~12 s without a face
    counts = {}
    for retry in (0.0, 2.0):
        with FaceAnalyzer(expression=False, tile_retry_s=retry) as fa:
            calls = []
            real = fa._tiles
            fa._tiles = lambda rgb: calls.append(1) or real(rgb)  # spy: count, then run the real search
            for t, f in frames:
                fa.analyze(t, f)
            counts[retry] = len(calls)
    duration = frames[-1][0] - frames[0][0]
    assert counts[0.0] >= 0.9 * len(frames)
    assert counts[2.0] <= duration / 2 + 2 < len(frames) / 3


def test_closed_analyzer_raises(faces):
    fa = FaceAnalyzer(expression=False)
    fa.close()
    fa.close()  # idempotent
    with pytest.raises(RuntimeError):
        fa.analyze(0.0, np.zeros((64, 64, 3), np.uint8))
