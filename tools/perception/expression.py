"""7-class facial expression from face crops: fer's FER2013 CNN (`emotion_model_quantized.tflite`)
run with `ai_edge_litert`.

Input: 64x64 grey, `(x/255 - 0.5) * 2`; output: softmax over `schemas.EXPRESSIONS`
(angry, disgust, fear, happy, sad, surprise, neutral). The label order was checked on real clips:
`mead_happy` → happy, `mead_surprised` → surprise, `mead_sad` → sad, Pexels laughing half → happy.

Measured ability (see tests/test_expression.py): FER2013-grade. On the MEAD clips the clip-averaged
top class (4 fps, crop = squared landmark extent) is right for happy (0.87), sad (0.66), fear (0.75)
and surprise (0.34, fear 0.26 second: the weakest); disgusted → angry (0.82; the model hardly ever
outputs disgust). Contempt has no class (→ angry). A 10–20 % margin around the face lost surprise
(→ neutral), so the crop is tight. Single frames are noisy: average over >= 0.5-1 s (`expression_evidence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tools.labels import EXPRESSIONS
from tools.schemas import Evidence, FaceFrame, TimeWindow

INPUT_SIZE = 64


def preprocess(crops: Sequence[np.ndarray]) -> np.ndarray:
    """RGB (or grey) uint8 crops of any size → float32 batch (N, 64, 64, 1) in [-1, 1]."""
    out = np.empty((len(crops), INPUT_SIZE, INPUT_SIZE, 1), dtype=np.float32)
    for i, c in enumerate(crops):
        g = cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) if c.ndim == 3 else c
        g = cv2.resize(g, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        out[i, :, :, 0] = (g.astype(np.float32) / 255.0 - 0.5) * 2.0
    return out


class ExpressionClassifier:
    """Wraps the tflite interpreter. Not thread-safe: one instance per thread. Batches are run in one
    invoke (the input tensor is resized to the batch size when it changes)."""

    labels: tuple[str, ...] = EXPRESSIONS

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        if model_path is None:
            from tools.provision import resolve
            model_path = resolve("expression")
        self._it = Interpreter(model_path=str(model_path), num_threads=num_threads)
        self._in = self._it.get_input_details()[0]["index"]
        self._out = self._it.get_output_details()[0]["index"]
        self._batch = 0

    def _ensure_batch(self, n: int) -> None:
        if n != self._batch:
            self._it.resize_tensor_input(self._in, [n, INPUT_SIZE, INPUT_SIZE, 1])
            self._it.allocate_tensors()
            self._batch = n

    def predict_array(self, batch: np.ndarray) -> np.ndarray:
        """(N, 64, 64, 1) preprocessed batch → (N, 7) probabilities."""
        n = int(batch.shape[0])
        if n == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        self._ensure_batch(n)
        self._it.set_tensor(self._in, np.ascontiguousarray(batch, dtype=np.float32))
        self._it.invoke()
        p = np.array(self._it.get_tensor(self._out), dtype=np.float32)
        p = np.clip(p, 0.0, None)
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-9)

    def predict(self, crops: Sequence[np.ndarray]) -> list[dict[str, float]]:
        """Face crops (RGB uint8, roughly square, the face filling the crop) → one {label: prob} each."""
        if len(crops) == 0:
            return []
        probs = self.predict_array(preprocess(crops))
        return [{k: round(float(v), 4) for k, v in zip(self.labels, row)} for row in probs]

    def close(self) -> None:
        self._it = None  # type: ignore[assignment]

    def __enter__(self) -> ExpressionClassifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def mean_expression(frames: Sequence[FaceFrame], skip_occluded: bool = True) -> dict[str, float]:
    """Mean probability per class over frames that have an expression (occluded frames skipped)."""
    rows = [f.expression for f in frames if f.expression and not (skip_occluded and f.occluded)]
    if not rows:
        return {}
    return {k: round(float(np.mean([r.get(k, 0.0) for r in rows])), 4) for k in EXPRESSIONS}


def expression_evidence(frames: Sequence[FaceFrame], window: TimeWindow, id: str) -> Evidence:
    """Clip-averaged expression over the frames inside `window` as citable evidence."""
    inside = [f for f in frames if window.start <= f.t < window.end]
    mean = mean_expression(inside)
    used = [f.t for f in inside if f.expression and not f.occluded]
    if not mean:
        n_occ = sum(f.occluded for f in inside)
        text = (f"No usable face for expression in {window.label()}"
                + (f" ({n_occ} occluded frames)." if n_occ else "."))
        return Evidence(id=id, tool="expression", modality="face", window=window,
                        values={"n_frames": 0}, text=text, times=[f.t for f in inside])
    ranked = sorted(mean.items(), key=lambda kv: -kv[1])
    (top, p1), (second, p2) = ranked[0], ranked[1]
    values: dict = {k: v for k, v in mean.items()}
    values.update(top=top, top_prob=p1, n_frames=len(used))
    text = (f"Facial expression model (FER2013 CNN) averaged over {len(used)} frames in {window.label()}: "
            f"mostly {top} ({p1:.2f}), then {second} ({p2:.2f}).")
    return Evidence(id=id, tool="expression", modality="face", window=window, values=values, text=text,
                    times=used)
