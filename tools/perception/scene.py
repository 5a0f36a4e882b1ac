"""Picture descriptor: what a frame looks like apart from faces (dark or bright, colourful or grey, moving
or still), so that a question about a stretch with no face ("when does the screen go black?", "the
colourful animated bit") has something to match in the index. Three numbers per sampled frame, on a 64x36
thumbnail (about 0.1 ms): no model ships offline that names scenes (see ../shared/MODELS.md).

The words `describe()` uses are fixed a priori (checked for sanity on ../shared/media: black frames have a
brightness near 0; the music animation no_face.mp4 has colour 0.55, the face clips 0.21-0.36)."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

THUMB = (64, 36)
DARK = 0.12       # mean HSV value below this: a dark screen
COLOURFUL = 0.4   # mean HSV saturation above this: a colourful picture
MOVING = 0.03     # mean absolute change from the previous sample above this: a moving picture


SHOT_THRESHOLD = 27.0  # PySceneDetect ContentDetector's default; on the keyframe thumbnails of assets/ and
# ../shared/media (face clips, the .mov face/no-face cuts, MEAD + Pexels concatenated) it finds exactly the cuts
# the hand-written HSV-histogram detector found (tests/test_index.py; scripts in docs/results.md)


def shot_cuts(frames: Iterable[tuple[float, np.ndarray]], threshold: float = SHOT_THRESHOLD) -> list[float]:
    """Times (s) of shot changes among ``(time, rgb thumbnail)`` frames (normally the keyframes,
    tools.index.decode.shot_changes), by PySceneDetect's ContentDetector (mean HSV change between
    consecutive frames). The frames are seconds apart already, so no minimum shot length is imposed."""
    from scenedetect import ContentDetector, FrameTimecode

    det = ContentDetector(threshold=threshold, min_scene_len=0)
    cuts: list[float] = []
    for t, rgb in frames:
        for tc in det.process_frame(FrameTimecode(t, fps=1000.0), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            cuts.append(round(tc.seconds, 3))
    return cuts


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, THUMB, interpolation=cv2.INTER_AREA)


def scene_stats(thumb: np.ndarray, prev: np.ndarray | None) -> dict[str, float]:
    """{"brightness", "colour"} in [0, 1] (HSV value and saturation means), and "change" in [0, 1] (mean
    absolute difference from the previous sampled thumbnail) when there is one."""
    hsv = cv2.cvtColor(thumb, cv2.COLOR_RGB2HSV)
    out = {"brightness": round(float(hsv[..., 2].mean()) / 255, 3), "colour": round(float(hsv[..., 1].mean()) / 255, 3)}
    if prev is not None and prev.shape == thumb.shape:
        out["change"] = round(float(np.abs(thumb.astype(np.int16) - prev.astype(np.int16)).mean()) / 255, 4)
    return out


def mean_scene(frames_scene: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for s in frames_scene for k in s}
    return {k: round(float(np.mean([s[k] for s in frames_scene if k in s])), 4) for k in sorted(keys)}


def describe(scene: dict[str, float]) -> str:
    """Plain words for a window's mean picture numbers ("" when there are none)."""
    if not scene:
        return ""
    if scene.get("brightness", 1.0) < DARK:
        return "dark screen, black picture"
    words = []
    if scene.get("colour", 0.0) > COLOURFUL:
        words.append("colourful")
    if scene.get("change", 0.0) > MOVING:
        words.append("moving")
    elif "change" in scene:
        words.append("still")
    return (" ".join(words) + " picture" + (" (graphics, animation or scenery)" if "colourful" in words else "")
            if words else "")
