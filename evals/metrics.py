"""Benchmark metrics: temporal grounding, emotion labels, joint success, rationale text, grounding
of cited evidence and system cost. Pure functions over plain data; ``summarize`` builds them all.

Conventions
-----------
* Rates are fractions in [0, 1]; a metric over zero items is ``nan`` (``summarize`` output goes
  through :func:`jsonable`, which turns nan into None).
* IoU thresholds are inclusive, with 1e-9 slack against float rounding (IoU 0.5 counts at 0.5).
* A query with no predicted window counts as a miss (IoU 0); failed queries are kept, not dropped.
* Predicted labels go through :func:`agents.schemas.normalize_label` (so "happy" counts as Joy);
  anything that does not map onto the 13 labels, or None, is *invalid* and counts as wrong.

Libraries: emotion-label metrics come from scikit-learn, ROUGE-L from rouge-score and BLEU from sacrebleu
(tests/test_metrics.py checks them against the hand-written versions they replaced). The temporal metrics
(R@k at IoU, mIoU, mIoP, moment-retrieval mAP), Joint@m, grounding and sufficiency stay hand-written: no
maintained package on PyPI implements them (QVHighlights' mAP is a script in its repository, not a package),
and each is a few lines over TimeWindow.iou.

Over 350 lines on purpose: every metric the report prints, each a small pure function, kept side by
side so their definitions can be read and checked against each other.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.metrics import confusion_matrix as _sk_confusion
from pydantic import BaseModel, ConfigDict, Field

from tools.labels import EMOTIONS, Emotion, normalize_label
from tools.schemas import TimeWindow

EPS = 1e-9
IOU_THRESHOLDS = (0.3, 0.5, 0.7)
MAP_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.50, 0.55, ..., 0.95
LENGTH_BUCKETS = ("short", "medium", "long")  # < 10 s, 10-30 s, > 30 s
INVALID = "invalid"
NAN = float("nan")


class QueryResult(BaseModel):
    """What one system did on one benchmark query, next to the ground truth."""

    model_config = ConfigDict(extra="forbid")

    id: str
    gt_window: TimeWindow
    gt_label: Emotion
    gt_rationale: str = ""
    pred_windows: list[TimeWindow] = Field(default_factory=list, description="ranked, best first")
    pred_label: str | None = Field(default=None, description="raw; may be invalid")
    pred_rationale: str = ""
    evidence_windows: list[TimeWindow] = Field(default_factory=list, description="windows of cited evidence")
    oracle_label: str | None = Field(default=None, description="label predicted when given the GT window")
    seconds: float = 0.0
    llm_calls: int = 0
    tool_calls: int = 0
    error: str | None = Field(default=None, description='"Type: message"; the part before ":" is the type')


# ---------------------------------------------------------------------------------------- temporal


def iou(a: TimeWindow, b: TimeWindow) -> float:
    return a.iou(b)


def iop(pred: TimeWindow, gt: TimeWindow) -> float:
    """Intersection over the prediction's length: how much of what we showed is inside the GT."""
    inter = max(0.0, min(pred.end, gt.end) - max(pred.start, gt.start))
    return inter / pred.duration if pred.duration > 0 else 0.0


def _check(preds: Sequence, gts: Sequence) -> None:
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} ground truths")


def _mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return float(np.mean(xs)) if xs else NAN


def top1_ious(preds: Sequence[Sequence[TimeWindow]], gts: Sequence[TimeWindow]) -> list[float]:
    _check(preds, gts)
    return [p[0].iou(g) if p else 0.0 for p, g in zip(preds, gts)]


def recall_at(preds: Sequence[Sequence[TimeWindow]], gts: Sequence[TimeWindow], k: int,
              iou_thr: float) -> float:
    """R{k}@{iou_thr}: share of queries where any of the top-k predictions has IoU >= iou_thr."""
    _check(preds, gts)
    if k < 1:
        raise ValueError("k must be >= 1")
    return _mean(float(any(w.iou(g) >= iou_thr - EPS for w in p[:k])) for p, g in zip(preds, gts))


def mean_iou(preds: Sequence[Sequence[TimeWindow]], gts: Sequence[TimeWindow]) -> float:
    """mIoU of the top-1 prediction (0 for a query without predictions)."""
    return _mean(top1_ious(preds, gts))


def mean_iop(preds: Sequence[Sequence[TimeWindow]], gts: Sequence[TimeWindow]) -> float:
    """mIoP: top-1 intersection over prediction length (0 for a query without predictions)."""
    _check(preds, gts)
    return _mean(iop(p[0], g) if p else 0.0 for p, g in zip(preds, gts))


def average_precision(ranked: Sequence[TimeWindow], gt: TimeWindow, iou_thr: float,
                      max_preds: int | None = None) -> float:
    """AP of a ranked list against one GT window (moment-retrieval style, as in QVHighlights).

    The first prediction with IoU >= iou_thr is the true positive; later matches are duplicates
    (false positives). With one GT, interpolated AP is the precision at that rank: 1 / rank, and 0
    when nothing matches. ``max_preds`` truncates the list first (QVHighlights uses 10)."""
    ranked = list(ranked)[:max_preds] if max_preds else list(ranked)
    for r, w in enumerate(ranked, start=1):
        if w.iou(gt) >= iou_thr - EPS:
            return 1.0 / r
    return 0.0


def mean_average_precision(preds: Sequence[Sequence[TimeWindow]], gts: Sequence[TimeWindow],
                           thresholds: Sequence[float] = MAP_THRESHOLDS,
                           max_preds: int | None = None) -> float:
    """mAP: per-query AP (see average_precision) averaged over queries, then over IoU thresholds
    (default 0.5:0.05:0.95)."""
    _check(preds, gts)
    if not gts:
        return NAN
    return float(np.mean([np.mean([average_precision(p, g, t, max_preds) for p, g in zip(preds, gts)])
                          for t in thresholds]))


def length_bucket(w: TimeWindow) -> str:
    """short: < 10 s, medium: 10-30 s (inclusive), long: > 30 s."""
    d = w.duration
    return "short" if d < 10 else "long" if d > 30 else "medium"


def temporal_metrics(preds: Sequence[Sequence[TimeWindow]], gts: Sequence[TimeWindow],
                     breakdown: bool = True) -> dict[str, Any]:
    """R1/R5@{0.3,0.5,0.7}, mIoU, mIoP, mAP; with breakdown, the same per GT length bucket."""
    _check(preds, gts)
    out: dict[str, Any] = {"n": len(gts)}
    for k in (1, 5):
        for t in IOU_THRESHOLDS:
            out[f"R{k}@{t}"] = recall_at(preds, gts, k, t)
    out["mIoU"] = mean_iou(preds, gts)
    out["mIoP"] = mean_iop(preds, gts)
    out["mAP"] = mean_average_precision(preds, gts)
    if breakdown:
        out["by_length"] = {}
        for b in LENGTH_BUCKETS:
            idx = [i for i, g in enumerate(gts) if length_bucket(g) == b]
            out["by_length"][b] = temporal_metrics([preds[i] for i in idx], [gts[i] for i in idx], False)
    return out


# ----------------------------------------------------------------------------------------- emotion


def canon(label: str | None) -> str | None:
    """A predicted label on the 13-label space, or None when invalid."""
    return normalize_label(label) if isinstance(label, str) else None


def invalid_rate(pred: Sequence[str | None]) -> float:
    return _mean(float(canon(p) is None) for p in pred)


def _valid(pred: Sequence[str | None]) -> list[str]:
    """Predictions on the 13-label space, with every invalid one as the pseudo-class 'invalid'
    (which is in no metric's label list, so it is a false negative and never a class's false positive)."""
    return [canon(p) or INVALID for p in pred]


def _present(gt: Sequence[str], pred: Sequence[str] = ()) -> list[str]:
    """Labels present in the GT (or among the valid predictions), in EMOTIONS order."""
    seen = set(gt) | set(pred)
    return [c for c in EMOTIONS if c in seen]


def accuracy(gt: Sequence[str], pred: Sequence[str | None]) -> float:
    """WAR (weighted average recall = plain accuracy, scikit-learn); invalid predictions are wrong."""
    _check(pred, gt)
    return float(accuracy_score(gt, _valid(pred))) if gt else NAN


def per_class_recall(gt: Sequence[str], pred: Sequence[str | None]) -> dict[str, float]:
    """Recall of each label present in the GT (label order as in EMOTIONS; scikit-learn)."""
    _check(pred, gt)
    labels = _present(gt)
    if not labels:
        return {}
    rec = recall_score(gt, _valid(pred), labels=labels, average=None, zero_division=0)
    return {c: float(r) for c, r in zip(labels, rec)}


def uar(gt: Sequence[str], pred: Sequence[str | None]) -> float:
    """UAR: unweighted mean of per-class recall over the classes present in the GT."""
    return _mean(per_class_recall(gt, pred).values())


def per_class_f1(gt: Sequence[str], pred: Sequence[str | None]) -> dict[str, float]:
    """F1 of each label present in the GT or among the valid predictions (0 when P = R = 0;
    scikit-learn's f1_score). Invalid predictions are false negatives for their GT class and no
    class's false positive."""
    _check(pred, gt)
    p = _valid(pred)
    labels = _present(gt, p)
    if not labels:
        return {}
    f1 = f1_score(gt, p, labels=labels, average=None, zero_division=0)
    return {c: float(f) for c, f in zip(labels, f1)}


def macro_f1(gt: Sequence[str], pred: Sequence[str | None]) -> float:
    """Unweighted mean F1 over labels present in the GT or predicted (as scikit-learn's default)."""
    return _mean(per_class_f1(gt, pred).values())


def weighted_f1(gt: Sequence[str], pred: Sequence[str | None]) -> float:
    """Per-class F1 weighted by GT support (scikit-learn's average='weighted')."""
    _check(pred, gt)
    p = _valid(pred)
    labels = _present(gt, p)
    if not gt:
        return NAN
    return float(f1_score(gt, p, labels=labels, average="weighted", zero_division=0))


def confusion_matrix(gt: Sequence[str], pred: Sequence[str | None]) -> np.ndarray:
    """13 x 14 counts: rows are GT labels (EMOTIONS order), columns the 13 labels then 'invalid'
    (scikit-learn's confusion_matrix over the 14 columns, its 'invalid' row dropped)."""
    _check(pred, gt)
    bad = [g for g in gt if g not in EMOTIONS]
    if bad:
        raise ValueError(f"GT label {bad[0]!r} is not one of the 13 labels")
    cols = [*EMOTIONS, INVALID]
    if not gt:
        return np.zeros((len(EMOTIONS), len(cols)), dtype=int)
    return _sk_confusion(gt, _valid(pred), labels=cols)[: len(EMOTIONS)].astype(int)


def emotion_metrics(gt: Sequence[str], pred: Sequence[str | None]) -> dict[str, Any]:
    return {
        "n": len(gt),
        "WAR": accuracy(gt, pred),
        "UAR": uar(gt, pred),
        "macro_F1": macro_f1(gt, pred),
        "weighted_F1": weighted_f1(gt, pred),
        "invalid_rate": invalid_rate(pred),
        "per_class_recall": per_class_recall(gt, pred),
        "support": {c: n for c, n in sorted(Counter(gt).items(), key=lambda kv: EMOTIONS.index(kv[0]))},
        "confusion": {"rows": list(EMOTIONS), "columns": [*EMOTIONS, INVALID],
                      "matrix": confusion_matrix(gt, pred).tolist()},
    }


# ------------------------------------------------------------------------------------------- joint


def joint_at(results: Sequence[QueryResult], m: float) -> float:
    """Joint@m — OUR definition (AffectSeek's is unpublished): share of queries whose top-1 window
    has IoU >= m with the GT window AND whose predicted label equals the GT label."""
    return _mean(float(bool(r.pred_windows) and r.pred_windows[0].iou(r.gt_window) >= m - EPS
                       and canon(r.pred_label) == r.gt_label) for r in results)


def joint_metrics(results: Sequence[QueryResult]) -> dict[str, float]:
    """Joint@{0.3,0.5,0.7} and their mean (see joint_at for the definition)."""
    out = {f"Joint@{m}": joint_at(results, m) for m in IOU_THRESHOLDS}
    out["Joint_mean"] = _mean(out.values()) if results else NAN
    return out


# --------------------------------------------------------------------------------------- rationale

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (unicode \\w+ runs; punctuation dropped). Given to rouge-score and to
    sacrebleu (tokenize='none' over the joined tokens) so both score the same words, and so non-ASCII
    words count (rouge-score's own tokenizer keeps only [a-z0-9])."""
    return _WORD.findall(text.lower())


class _Tokens:
    """rouge-score's tokenizer interface over :func:`tokenize`."""

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return tokenize(text)


_ROUGE = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokens())


def rouge_l(candidate: str, reference: str, beta: float = 1.0) -> float:
    """ROUGE-L F-measure on lower-cased word tokens (rouge-score's LCS precision P and recall R):
    F = (1 + b^2) P R / (R + b^2 P). beta=1 (F1, rouge-score's fmeasure) by default; coco-caption
    uses 1.2. 0 if either is empty."""
    sc = _ROUGE.score(reference, candidate)["rougeL"]
    p, rec = sc.precision, sc.recall
    if p == 0 or rec == 0:
        return 0.0
    return (1 + beta ** 2) * p * rec / (rec + beta ** 2 * p)


def _joined(texts: Iterable[str]) -> list[str]:
    return [" ".join(tokenize(t)) for t in texts]


def corpus_bleu(candidates: Sequence[str], references: Sequence[str], n: int = 4) -> float:
    """Corpus BLEU-n (Papineni et al. 2002) from sacrebleu, one reference per candidate, no
    smoothing, on :func:`tokenize` words: clipped n-gram matches and candidate n-gram counts summed
    over the corpus, geometric mean of the n precisions times the brevity penalty exp(1 - R/C) when
    C < R. 0 when some order has no match. Returned in [0, 1] (sacrebleu reports 0-100)."""
    _check(candidates, references)
    if not candidates:
        return NAN
    bleu = BLEU(tokenize="none", smooth_method="none", max_ngram_order=n, force=True)
    return bleu.corpus_score(_joined(candidates), [_joined(references)]).score / 100.0


def sentence_bleu(candidate: str, reference: str, n: int = 4) -> float:
    """Sentence BLEU-n with add-one smoothing on orders 2..n ("BLEU+1", Lin & Och 2004; sacrebleu's
    smooth_method='add-k', k=1): p_1 = m_1 / t_1 and p_k = (m_k + 1) / (t_k + 1) for k >= 2; times
    the brevity penalty. 0 for an empty candidate or no unigram match."""
    c = " ".join(tokenize(candidate))
    if not c:
        return 0.0
    bleu = BLEU(tokenize="none", smooth_method="add-k", smooth_value=1, max_ngram_order=n,
                effective_order=True, force=True)
    return bleu.sentence_score(c, [" ".join(tokenize(reference))]).score / 100.0


def rationale_metrics(results: Sequence[QueryResult]) -> dict[str, float]:
    """ROUGE-L (mean), corpus BLEU-4 and mean sentence BLEU-4 (+1 smoothing) over queries that have
    a GT rationale; an empty predicted rationale scores 0."""
    rs = [r for r in results if r.gt_rationale.strip()]
    cand = [r.pred_rationale for r in rs]
    ref = [r.gt_rationale for r in rs]
    return {
        "n": len(rs),
        "ROUGE_L": _mean(rouge_l(c, g) for c, g in zip(cand, ref)),
        "BLEU_4": corpus_bleu(cand, ref) if rs else NAN,
        "BLEU_4_sentence": _mean(sentence_bleu(c, g) for c, g in zip(cand, ref)),
        "empty_rate": _mean(float(not c.strip()) for c in cand),
    }


def evidence_grounding(results: Sequence[QueryResult]) -> dict[str, float]:
    """Share of cited evidence windows whose centre lies inside the GT window (start <= c <= end),
    pooled over all citations ("grounding"), plus the per-query mean over queries citing any
    ("grounding_per_query"). nan when nothing was cited."""
    hits, per_q, n = 0, [], 0
    for r in results:
        if not r.evidence_windows:
            continue
        h = sum(r.gt_window.start - EPS <= w.center <= r.gt_window.end + EPS for w in r.evidence_windows)
        hits += h
        n += len(r.evidence_windows)
        per_q.append(h / len(r.evidence_windows))
    return {"n_cited": n, "n_queries": len(per_q), "grounding": hits / n if n else NAN,
            "grounding_per_query": _mean(per_q)}


def sufficiency(results: Sequence[QueryResult], classify: Callable[[str], str | None]) -> dict[str, Any]:
    """Is our rationale enough to recover the emotion? ``classify`` (normally a text-only LLM call)
    maps a rationale to a label; over queries with a non-empty predicted rationale we report its
    accuracy against the GT label and its agreement with our own predicted label. A classifier
    exception counts as an invalid answer and is counted in ``classifier_errors``."""
    gts, ours, got, errors = [], [], [], 0
    for r in results:
        if not r.pred_rationale.strip():
            continue
        try:
            lab = classify(r.pred_rationale)
        except Exception:  # noqa: BLE001 - an LLM failure is a data point here, not a crash
            lab, errors = None, errors + 1
        gts.append(r.gt_label)
        ours.append(canon(r.pred_label))
        got.append(canon(lab))
    return {
        "n": len(got),
        "accuracy": _mean(float(g == p) for g, p in zip(gts, got)),
        "agreement": _mean(float(o is not None and o == p) for o, p in zip(ours, got)),
        "invalid_rate": _mean(float(p is None) for p in got),
        "classifier_errors": errors,
    }


# ------------------------------------------------------------------------------------------ system


def error_type(error: str) -> str:
    """'LLMError: timed out' -> 'LLMError'; a message without a type prefix -> its first 40 chars."""
    head = error.split(":", 1)[0].strip()
    return head if head and re.fullmatch(r"[A-Za-z_][\w.]*", head) else error.strip()[:40] or "unknown"


def system_metrics(results: Sequence[QueryResult]) -> dict[str, Any]:
    secs = [r.seconds for r in results]
    errs = Counter(error_type(r.error) for r in results if r.error)
    return {
        "n": len(results),
        "seconds_mean": _mean(secs),
        "seconds_median": float(np.median(secs)) if secs else NAN,
        "seconds_p90": float(np.percentile(secs, 90)) if secs else NAN,
        "seconds_total": float(sum(secs)),
        "llm_calls_mean": _mean(r.llm_calls for r in results),
        "tool_calls_mean": _mean(r.tool_calls for r in results),
        "failures": sum(errs.values()),
        "failure_rate": _mean(float(bool(r.error)) for r in results),
        "failures_by_type": dict(errs.most_common()),
        "no_prediction_rate": _mean(float(not r.pred_windows) for r in results),
    }


# --------------------------------------------------------------------------------------- summarize


def jsonable(x: Any) -> Any:
    """Recursively turn numpy scalars/arrays into Python and nan/inf into None."""
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def summarize(results: Sequence[QueryResult]) -> dict[str, Any]:
    """All metrics for one system's results, JSON-ready (nan -> None). Keys: n, temporal, emotion,
    oracle_emotion (queries with an oracle_label), joint, rationale, grounding, system, per_query."""
    results = list(results)
    ids = [r.id for r in results]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"duplicate query ids in results: {dup}")
    preds = [r.pred_windows for r in results]
    gts = [r.gt_window for r in results]
    labels = [r.gt_label for r in results]
    oracle = [r for r in results if r.oracle_label is not None]
    ious = top1_ious(preds, gts)
    out = {
        "n": len(results),
        "temporal": temporal_metrics(preds, gts),
        "emotion": emotion_metrics(labels, [r.pred_label for r in results]),
        "oracle_emotion": ({"n": len(oracle),
                            "WAR": accuracy([r.gt_label for r in oracle], [r.oracle_label for r in oracle]),
                            "UAR": uar([r.gt_label for r in oracle], [r.oracle_label for r in oracle])}
                           if oracle else None),
        "joint": joint_metrics(results),
        "rationale": rationale_metrics(results),
        "grounding": evidence_grounding(results),
        "system": system_metrics(results),
        "per_query": [{"id": r.id, "iou": i, "gt_label": r.gt_label, "pred_label": canon(r.pred_label),
                       "length": length_bucket(r.gt_window), "error": r.error}
                      for r, i in zip(results, ious)],
    }
    return jsonable(out)
