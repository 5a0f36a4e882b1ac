"""Adaptive frame sampling: full rate while the face moves or the voice is loud, half rate on a still
face, 1 fps without a face."""

from __future__ import annotations

import bisect

from tools.schemas import FaceFrame

MOVING_PX = 0.8  # facial flow (px per 0.25 s, strongest region) above which a face counts as moving


def next_gap(frame: FaceFrame, fps: float, loud: bool = False) -> float:
    """Seconds until the next analysed frame: full rate while the face moves or the voice is aroused
    (`loud`), half rate on a still face, 1 s where there is no face (the voice is measured separately,
    so no frame is needed for it)."""
    step = 1.0 / fps
    if frame.n_faces == 0:
        return max(step, 1.0)
    moving = bool(frame.motion) and max(frame.motion.values()) > MOVING_PX
    return step if moving or frame.occluded or loud else 2 * step


def in_spans(spans: list[tuple[float, float]], starts: list[float], t: float) -> bool:
    i = bisect.bisect_right(starts, t) - 1
    return i >= 0 and t < spans[i][1]
