"""Index-only predictions for the benchmark, no LLM: the oracle label for a given window and the
retrieval-only top-1 baseline.

Oracle localisation (``expression_label``): the label predicted when the GT window is given. It is the
majority vote of the per-frame top expression (the packaged 7-class classifier stored in the index's
frames.jsonl) over the sampled frames inside the window that have a usable, unoccluded face, mapped to the
13 labels with tools.labels.EXPRESSION_TO_EMOTION; ties go to the class with the larger summed
probability. Without per-frame expressions it falls back to the window records overlapping the window
(mean expression weighted by overlap), and with no face at all it answers "Neutral" (nothing observable).
It measures the perception stack's labelling on the right window, independent of localisation, and costs no
model call. Labels outside the classifier's 7 classes (Love, Pride, ...) can never be predicted by it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from evals.bench import BenchRecord
from evals.metrics import QueryResult
from tools.index import VideoIndex
from tools.labels import EXPRESSION_TO_EMOTION, lexicon_emotions
from tools.retrieval import Retriever
from tools.schemas import TimeWindow

NO_FACE_LABEL = "Neutral"


def expression_label(index: VideoIndex, window: TimeWindow) -> str:
    """Majority expression over `window` mapped to the 13 labels (see the module docstring)."""
    frames = [f for f in index.frames_in(window) if f.n_faces > 0 and f.expression and not f.occluded]
    if frames:
        votes: Counter[str] = Counter()
        mass: Counter[str] = Counter()
        for f in frames:
            top = max(f.expression, key=f.expression.get)
            votes[top] += 1
            for k, v in f.expression.items():
                mass[k] += float(v)
        best = max(votes, key=lambda k: (votes[k], mass[k]))
        return EXPRESSION_TO_EMOTION.get(best, NO_FACE_LABEL)
    score: Counter[str] = Counter()
    for r in index.records_in(window):
        overlap = max(0.0, min(r.window.end, window.end) - max(r.window.start, window.start))
        for k, v in r.expression.items():
            score[k] += overlap * float(v)
    if score:
        return EXPRESSION_TO_EMOTION.get(max(score, key=score.get), NO_FACE_LABEL)
    return NO_FACE_LABEL


def retrieval_baseline(records: Sequence[BenchRecord], indexes: Mapping[str, VideoIndex],
                       k: int = 5) -> list[QueryResult]:
    """Retrieval only: the retriever's ranked moments for the query (emotion and arousal hints from the
    query's own emotion words, tools.labels.lexicon_emotions; no LLM, no verification tools), labelled
    with the majority expression over the top-1 window; the rationale is the top window's descriptor.
    ``indexes`` maps a record's video_path (or video) to its index; records without one get no
    prediction and an error."""
    retrievers: dict[str, Retriever] = {}
    out = []
    for r in records:
        key = r.video_path or r.video
        idx = indexes.get(key)
        base = dict(id=r.id, gt_window=r.window, gt_label=r.label, gt_rationale=r.rationale)
        if idx is None:
            out.append(QueryResult(**base, error="MediaError: video not indexed"))
            continue
        if key not in retrievers:
            retrievers[key] = Retriever(idx)
        t0 = time.monotonic()
        cands = retrievers[key].search_moments(r.query, lexicon_emotions(r.query), "any", k=k)
        if not cands:
            out.append(QueryResult(**base, seconds=round(time.monotonic() - t0, 4)))
            continue
        label = expression_label(idx, cands[0].window)
        out.append(QueryResult(**base, pred_windows=[c.window for c in cands], pred_label=label,
                               pred_rationale=cands[0].descriptor, seconds=round(time.monotonic() - t0, 4)))
    return out


def lexicon_classifier(text: str) -> str | None:
    """Text-only label from emotion words (the sufficiency check's fallback when no LLM is used)."""
    emotions = lexicon_emotions(text)
    return emotions[0] if emotions else "Neutral"
