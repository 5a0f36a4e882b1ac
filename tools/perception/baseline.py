"""A person's neutral face: a robust baseline of the Action Unit proxies from the calm stretches of a
track, and per-window deltas from it.

Why: blendshape AU proxies carry each person's resting face (measured: the man in `single_face.mp4` rests
with AU1 inner-brow-raise ~0.48 and AU7 ~0.3; MEAD actors rest anywhere from AU7 0.03 to 0.7). Read raw, a
resting face with high brows looks "sad" or "afraid". Relative to the person's own neutral it does not.

How (transparent, no training):
* a frame is *calm* when the expression model reads it neutral (p ≥ CALM_NEUTRAL_P), its facial motion is
  low, it is not occluded, and no AU lies far above the population's resting range (POPULATION_NEUTRAL
  + CALM_TOLERANCE): a talking, smiling or brow-raised frame that the CNN happens to call neutral is not
  taken as the person's neutral;
* calm frames must add up to MIN_CALM_FRAMES, else the population prior is used (and said so): a clip that
  is emotional from start to end (posed MEAD clips) has no neutral of its own, and a low percentile over
  it would erase the very expression we want to read;
* the baseline is the per-AU median of the calm frames, clipped to the plausible resting range.

Keyed by track ("main" for now, the main tracked face), so per-person tracking can store one per track.
The geometric AUs (AU6, AU9, AU15, AU23, AU25) are already relative to a running per-track neutral inside
tools.perception.aus; their population prior is 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.schemas import FaceFrame

# Resting values of the blendshape AU proxies for an average face (MediaPipe blendshapes; rounded medians
# of the FER-neutral, low-motion frames we have seen). Geometric AUs are baseline-relative already: 0.
POPULATION_NEUTRAL: dict[str, float] = {
    "AU1": 0.10, "AU2": 0.10, "AU4": 0.05, "AU5": 0.03, "AU7": 0.30, "AU10": 0.03, "AU12": 0.02,
    "AU14": 0.03, "AU17": 0.03, "AU18": 0.03, "AU20": 0.02, "AU22": 0.01, "AU24": 0.02, "AU26": 0.05,
    "AU28": 0.03, "AU45": 0.10, "AU6": 0.0, "AU9": 0.0, "AU15": 0.0, "AU23": 0.0, "AU25": 0.0,
}
# The rule (use the person's calm frames or only the population face; CALM_NEUTRAL_P in 0.5/0.7/0.9 x
# CALM_TOLERANCE in 0.45/0.6/0.8/1.0) was chosen leave-one-person-out with the fusion's other constants
# (scripts/lopo_emotion.py, docs/results.md): 6 of 7 folds and all seven chose calm frames with 0.5 / 0.45;
# the fold without the single_face man chose the population face (he is one of two people with a neutral
# window). A looser tolerance (0.8) finds the fear/surprise MEAD woman's resting raised brows and reads one of
# her neutral windows Neutral, but was not chosen on the others. CALM_MOTION and MIN_CALM_FRAMES were not
# varied (a priori: a still face; a few frames).
CALM_TOLERANCE = 0.45   # an AU this far above the population's rest is an expression, not a resting face
CALM_NEUTRAL_P = 0.5    # expression model's neutral probability for a calm frame
CALM_MOTION = 1.5       # mean facial flow, px per 0.25 s in the 128 px aligned crop
MIN_CALM_FRAMES = 3
IGNORE = frozenset({"AU45"})  # blinks: not part of a resting face


class NeutralBaseline(BaseModel):
    """One person's neutral face (AU proxies), from calm frames or the population prior."""

    model_config = ConfigDict(extra="forbid")

    track: str = "main"
    source: Literal["calm", "population"] = "population"
    aus: dict[str, float] = Field(default_factory=lambda: dict(POPULATION_NEUTRAL))
    spread: dict[str, float] = Field(default_factory=dict, description="median absolute deviation over calm frames")
    n_frames: int = 0
    n_calm: int = 0
    calm_times: list[float] = Field(default_factory=list, description="times of the calm frames used (s)")

    def delta(self, aus: Mapping[str, float]) -> dict[str, float]:
        """AU values minus this neutral (positive: more than at rest)."""
        return {k: round(float(v) - self.aus.get(k, 0.0), 4) for k, v in aus.items() if k not in IGNORE}

    def text(self) -> str:
        if self.source == "population":
            return (f"no calm stretch of this person's face found ({self.n_frames} face frames): "
                    "deltas are from an average resting face")
        span = f"{min(self.calm_times):.1f}–{max(self.calm_times):.1f} s" if self.calm_times else ""
        return f"neutral baseline from {self.n_calm} calm frames ({span})"


def is_calm(f: FaceFrame) -> bool:
    if f.n_faces == 0 or not f.aus or f.occluded:
        return False
    if f.expression and f.expression.get("neutral", 0.0) < CALM_NEUTRAL_P:
        return False
    if f.motion and float(np.mean(list(f.motion.values()))) > CALM_MOTION:
        return False
    return all(v <= POPULATION_NEUTRAL.get(k, 0.0) + CALM_TOLERANCE for k, v in f.aus.items() if k not in IGNORE)


def fit_baseline(frames: Sequence[FaceFrame], track: str = "main") -> NeutralBaseline:
    """The person's neutral from the calm frames among `frames` (the whole track), else the prior."""
    faces = [f for f in frames if f.n_faces > 0 and f.aus and not f.occluded]
    calm = [f for f in faces if is_calm(f)]
    if len(calm) < MIN_CALM_FRAMES:
        return NeutralBaseline(track=track, n_frames=len(faces), n_calm=len(calm))
    aus, spread = dict(POPULATION_NEUTRAL), {}
    for k in calm[0].aus:
        vals = np.array([f.aus.get(k, 0.0) for f in calm])
        med = float(np.median(vals))
        hi = POPULATION_NEUTRAL.get(k, 0.0) + CALM_TOLERANCE
        aus[k] = round(float(np.clip(med, 0.0, hi)), 4)
        spread[k] = round(float(np.median(np.abs(vals - med))), 4)
    return NeutralBaseline(track=track, source="calm", aus=aus, spread=spread, n_frames=len(faces),
                           n_calm=len(calm), calm_times=[round(f.t, 3) for f in calm][:200])


def window_deltas(frames: Sequence[FaceFrame], baseline: NeutralBaseline | None) -> dict[str, float]:
    """Mean AU values over the usable face frames of a window, minus the person's baseline (None: minus
    the population's average resting face)."""
    faces = [f for f in frames if f.n_faces > 0 and f.aus and not f.occluded]
    if not faces:
        return {}
    mean = {k: float(np.mean([f.aus.get(k, 0.0) for f in faces])) for k in faces[0].aus}
    return (baseline or NeutralBaseline()).delta(mean)
