"""Benchmark report: report.md (our system vs baselines), metrics.json and PNG plots, plus simple
baselines that produce QueryResults to score with evals.metrics.summarize.

Plots use matplotlib's Agg canvas directly (no pyplot, no global backend switch).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evals.bench import BenchRecord
from evals.metrics import INVALID, IOU_THRESHOLDS, LENGTH_BUCKETS, QueryResult, jsonable
from tools.labels import EMOTIONS
from tools.schemas import TimeWindow

OURS = "affectlens"

TEMPORAL_COLS = [f"R{k}@{t}" for k in (1, 5) for t in IOU_THRESHOLDS] + ["mIoU", "mIoP", "mAP"]
EMOTION_COLS = ["WAR", "UAR", "macro_F1", "weighted_F1", "invalid_rate"]
JOINT_COLS = [f"Joint@{m}" for m in IOU_THRESHOLDS] + ["Joint_mean"]
RATIONALE_COLS = ["ROUGE_L", "BLEU_4", "BLEU_4_sentence", "empty_rate"]
SYSTEM_COLS = ["seconds_mean", "seconds_p90", "llm_calls_mean", "tool_calls_mean", "failure_rate"]


# ------------------------------------------------------------------------------------------ tables


def _get(m: Mapping[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if not isinstance(m, Mapping):
            return None
        m = m.get(k)
    return m


def _fmt(v: Any, pct: bool = True) -> str:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return "–"
    return f"{100 * v:.1f}" if pct else (f"{v:.2f}" if isinstance(v, float) else str(v))


def _table(systems: Mapping[str, Mapping], section: str, cols: list[str], pct: bool = True,
           pct_cols: set[str] | None = None) -> list[str]:
    lines = ["| system | n | " + " | ".join(cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for name, m in systems.items():
        sec = _get(m, section)
        cells = [_fmt(_get(sec, c), pct if pct_cols is None else c in pct_cols) for c in cols]
        lines.append(f"| {name} | {_fmt(_get(sec, 'n'), False)} | " + " | ".join(cells) + " |")
    return lines


def render_markdown(metrics: Mapping[str, Any], baselines: Mapping[str, Mapping] | None = None,
                    plots: Sequence[str] = ()) -> str:
    systems = {OURS: metrics, **dict(baselines or {})}
    md = ["# VQAU-Bench evaluation", "",
          f"{metrics.get('n', 0)} queries. Rates and IoUs are percentages; \"–\" means undefined "
          "(no items). Joint@m is our definition: top-1 IoU >= m and the correct label "
          "(AffectSeek's is unpublished).", ""]
    md += ["## Temporal grounding", "", *_table(systems, "temporal", TEMPORAL_COLS), ""]
    md += ["### By GT window length (ours)", "",
           "| bucket | n | R1@0.5 | R1@0.7 | mIoU | mAP |", "|---|---:|---:|---:|---:|---:|"]
    for b in LENGTH_BUCKETS:
        s = _get(metrics, "temporal", "by_length", b) or {}
        md.append(f"| {b} | {_fmt(s.get('n'), False)} | {_fmt(s.get('R1@0.5'))} | "
                  f"{_fmt(s.get('R1@0.7'))} | {_fmt(s.get('mIoU'))} | {_fmt(s.get('mAP'))} |")
    md += ["", "short < 10 s, medium 10–30 s, long > 30 s.", ""]
    md += ["## Emotion", "", *_table(systems, "emotion", EMOTION_COLS), ""]
    oracle = {k: v for k, v in systems.items() if _get(v, "oracle_emotion")}
    if oracle:
        md += ["### Label given the GT window (oracle)", "", *_table(oracle, "oracle_emotion", ["WAR", "UAR"]), ""]
    md += ["### Per-label recall", "", "| label | support | " + " | ".join(systems) + " |",
           "|---|---:|" + "---:|" * len(systems)]
    support = _get(metrics, "emotion", "support") or {}
    for lab in EMOTIONS:
        if lab in support:
            md.append(f"| {lab} | {support[lab]} | "
                      + " | ".join(_fmt(_get(m, "emotion", "per_class_recall", lab)) for m in systems.values())
                      + " |")
    md += ["", "## Joint", "", *_table(systems, "joint", JOINT_COLS), ""]
    md += ["## Rationale", "", *_table(systems, "rationale", RATIONALE_COLS), "",
           "ROUGE-L: LCS F1 on lower-cased words. BLEU_4: corpus BLEU-4, no smoothing; "
           "BLEU_4_sentence: mean sentence BLEU-4 with add-one smoothing on orders 2–4.", ""]
    md += ["## Evidence grounding", "", "| system | cited | grounding | per query |", "|---|---:|---:|---:|"]
    for name, m in systems.items():
        g = _get(m, "grounding") or {}
        md.append(f"| {name} | {_fmt(g.get('n_cited'), False)} | {_fmt(g.get('grounding'))} | "
                  f"{_fmt(g.get('grounding_per_query'))} |")
    if any(_get(m, "sufficiency") for m in systems.values()):
        md += ["", "## Sufficiency (label from the rationale alone)", "",
               *_table({k: v for k, v in systems.items() if _get(v, "sufficiency")}, "sufficiency",
                       ["accuracy", "agreement", "invalid_rate"])]
    md += ["", "## System", "",
           *_table(systems, "system", SYSTEM_COLS, pct_cols={"failure_rate"}), ""]
    fails = _get(metrics, "system", "failures_by_type") or {}
    if fails:
        md += ["Failures by type (ours): " + ", ".join(f"{k} × {v}" for k, v in fails.items()), ""]
    if plots:
        md += ["## Plots", "", *[f"![{Path(p).stem}]({Path(p).name})" for p in plots], ""]
    return "\n".join(md)


# ------------------------------------------------------------------------------------------- plots


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_label_recall(systems: Mapping[str, Mapping], path: Path) -> Path:
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    x = np.arange(len(EMOTIONS))
    w = 0.8 / max(1, len(systems))
    for i, (name, m) in enumerate(systems.items()):
        rec = _get(m, "emotion", "per_class_recall") or {}
        ax.bar(x + i * w - 0.4 + w / 2, [rec.get(c) or 0.0 for c in EMOTIONS], w, label=name)
    ax.set_xticks(x, EMOTIONS, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("recall")
    ax.set_title("Per-label recall (labels absent from GT show 0)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_iou_hist(metrics: Mapping[str, Any], path: Path) -> Path:
    ious = [q["iou"] for q in metrics.get("per_query") or [] if q.get("iou") is not None]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.hist(ious, bins=np.linspace(0, 1, 21), color="tab:blue", edgecolor="white")
    for t in IOU_THRESHOLDS:
        ax.axvline(t, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("top-1 IoU")
    ax.set_ylabel("queries")
    ax.set_title(f"Top-1 IoU (n = {len(ious)})")
    return _save(fig, path)


def plot_confusion(metrics: Mapping[str, Any], path: Path) -> Path:
    conf = _get(metrics, "emotion", "confusion") or {}
    m = np.array(conf.get("matrix") or np.zeros((len(EMOTIONS), len(EMOTIONS) + 1)), dtype=float)
    rows = conf.get("rows") or list(EMOTIONS)
    cols = conf.get("columns") or [*EMOTIONS, INVALID]
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(8, 7))
    ax = fig.add_subplot()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title("Confusion (row-normalised colour, counts)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def write_report(metrics: Mapping[str, Any], out_dir: str | Path,
                 baselines: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Path]:
    """Write report.md, metrics.json ({"system": ..., "baselines": {...}}) and three PNGs
    (label_recall.png, iou_hist.png, confusion.png) into out_dir; returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    baselines = dict(baselines or {})
    systems = {OURS: metrics, **baselines}
    paths = {
        "label_recall": plot_label_recall(systems, out / "label_recall.png"),
        "iou_hist": plot_iou_hist(metrics, out / "iou_hist.png"),
        "confusion": plot_confusion(metrics, out / "confusion.png"),
    }
    paths["metrics"] = out / "metrics.json"
    paths["metrics"].write_text(json.dumps(jsonable({"system": metrics, "baselines": baselines}), indent=2,
                                           ensure_ascii=False, allow_nan=False))
    paths["report"] = out / "report.md"
    paths["report"].write_text(render_markdown(metrics, baselines, [str(p) for p in paths.values()
                                                                    if p.suffix == ".png"]))
    return paths


# --------------------------------------------------------------------------------------- baselines


def _duration(r: BenchRecord, durations: Mapping[str, float]) -> float:
    for key in (r.video, r.video_path, r.id):
        if key is not None and key in durations:
            return float(durations[key])
    raise ValueError(f"no duration for record {r.id} (video {r.video!r})")


def random_window_baseline(records: Sequence[BenchRecord], durations: Mapping[str, float],
                           seed: int = 0) -> list[QueryResult]:
    """One random window per query, as long as the GT window (capped at the video), placed uniformly
    inside [0, duration], with a uniformly random label. ``durations`` maps video (as in the bench
    file, or its resolved path, or the record id) to seconds."""
    rng = np.random.default_rng(seed)
    out = []
    for r in records:
        dur = max(_duration(r, durations), r.window.end)
        length = min(r.window.duration, dur)
        start = float(rng.uniform(0.0, dur - length)) if dur > length else 0.0
        out.append(QueryResult(id=r.id, gt_window=r.window, gt_label=r.label, gt_rationale=r.rationale,
                               pred_windows=[TimeWindow(start=start, end=start + length)],
                               pred_label=str(rng.choice(EMOTIONS))))
    return out


def majority_baseline(records: Sequence[BenchRecord], durations: Mapping[str, float],
                      train: Sequence[BenchRecord] | None = None) -> list[QueryResult]:
    """The most common label (of ``train``, else of ``records``) and the video's middle window of
    the mean GT length: a prior-only baseline."""
    pool = list(train) if train else list(records)
    label = Counter(r.label for r in pool).most_common(1)[0][0] if pool else "Neutral"
    mean_len = float(np.mean([r.window.duration for r in pool])) if pool else 10.0
    out = []
    for r in records:
        dur = max(_duration(r, durations), r.window.end)
        length = min(mean_len, dur)
        start = (dur - length) / 2
        out.append(QueryResult(id=r.id, gt_window=r.window, gt_label=r.label, gt_rationale=r.rationale,
                               pred_windows=[TimeWindow(start=start, end=start + length)], pred_label=label))
    return out
