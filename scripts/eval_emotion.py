"""Evaluate the emotion tool (tools/perception/emotion.py) on every labelled clip in ../shared/media.

    .venv/bin/python scripts/eval_emotion.py            # tables in markdown
    .venv/bin/python scripts/eval_emotion.py --fit      # also re-choose the cue weights (leave-one-clip-out)

Faces: the MEAD clips (one actor per clip, 256x256, emotion = file name), cut into 1 s windows; the neutral
start of single_face.mp4 (0–0.5 s, a helper verified FER neutral 0.91–0.96); the Pexels clip's crying
(0–6 s) and laughing (10.5–19.5 s) stretches, labelled by eye, in a separate table. Frames are analysed once
at 6 fps with the index's own frame analyzer and cached in <cache>/emotion_eval/.
Voice: the 46 EmoDB files of speaker 03, arousal relative to that speaker (unsupervised, no labels used).

Honesty: the dev media hold ONE clip per emotion and no angry face at all. mead_fear and mead_surprised are
the SAME actress (dlib descriptor distance 0.22), so "leave-one-clip-out" here is NOT leave-one-person-out:
the constants are chosen leave-one-person-out by scripts/lopo_emotion.py (issue 27), which this script's
frames cache and windows serve. Anger on faces is not measured here.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from contextlib import closing
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.labels import BASIC  # noqa: E402
from tools.perception import emotion as em  # noqa: E402
from tools.perception.baseline import fit_baseline  # noqa: E402
from tools.schemas import FaceFrame, TimeWindow  # noqa: E402
from tools.settings import get_settings  # noqa: E402

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
MEAD = {"mead_disgusted": "Disgust", "mead_fear": "Fear", "mead_happy": "Joy", "mead_sad": "Sadness",
        "mead_surprised": "Surprise"}
SIX = ("Anger", "Disgust", "Fear", "Joy", "Sadness", "Surprise")
EMODB = {"W": "Anger", "L": "Neutral", "E": "Disgust", "A": "Fear", "F": "Joy", "T": "Sadness", "N": "Neutral"}
CUES = ("fer", "facs", "flow")
GRID = {"fer": (0.5, 1.0, 1.5, 2.0), "facs": (0.25, 0.5, 1.0, 1.5), "flow": (0.0, 0.25, 0.5)}


def frames_of(name: str, fps: float = 6.0) -> list[FaceFrame]:
    cache = get_settings().cache_dir / "emotion_eval"
    cache.mkdir(parents=True, exist_ok=True)
    f = cache / f"{name}.jsonl"
    if not f.exists():
        from tools.index.decode import iter_frames
        from tools.index.frame_pass import FrameAnalyzer
        # the video, not a still of the same name (single_face.jpg sorts before single_face.mp4)
        path = next(p for p in sorted((MEDIA / "faces").glob(name + ".*")) if p.suffix in (".mp4", ".mov", ".mkv"))
        a = FrameAnalyzer(get_settings())
        try:
            with closing(iter_frames(str(path), fps=fps, max_side=640)) as it:
                frames = [a.analyze(t, rgb) for t, rgb in it]
        finally:
            a.close()
        f.write_text("".join(x.model_dump_json() + "\n" for x in frames))
    return [FaceFrame.model_validate_json(x) for x in f.read_text().splitlines() if x.strip()]


def windows(frames: list[FaceFrame], start: float, end: float, step: float = 1.0) -> list[TimeWindow]:
    last = min(end, max(f.t for f in frames) + 1e-3)
    out, t = [], start
    while t + 0.5 * step <= last:
        out.append(TimeWindow(start=round(t, 3), end=round(min(t + step, last + 0.2), 3)))
        t += step
    return out


def face_items(by_eye: bool = False) -> list[dict]:
    """[{clip, label, window, frames, baseline}] for the labelled face windows."""
    items = []
    spec = {**{k: [(v, 0.0, 99.0)] for k, v in MEAD.items()}, "mead_contempt": [("Contempt", 0.0, 99.0)],
            "single_face": [("Neutral", 0.0, 0.5)]}
    if by_eye:
        spec = {"WolfgangLanger_Pexels": [("Sadness", 0.0, 6.0), ("Joy", 10.5, 19.5)]}
    for clip, parts in spec.items():
        frames = frames_of(clip)
        base = fit_baseline(frames)
        for label, a, b in parts:
            step = 0.5 if label == "Neutral" else 1.0
            for w in windows(frames, a, b, step):
                inside = [f for f in frames if w.start <= f.t < w.end]
                if any(f.n_faces for f in inside):
                    items.append({"clip": clip, "label": label, "window": w, "frames": inside, "baseline": base})
    return items


def predict(items, use, weights=None, baseline=True) -> list[str]:
    return [em.read_emotion(it["frames"], it["window"], it["baseline"] if baseline else None, use=use,
                            weights=weights).label for it in items]


def table(items, preds: dict[str, list[str]]) -> str:
    classes = [c for c in (*SIX, "Neutral") if any(it["label"] == c for it in items)]
    head = "| cue | " + " | ".join(f"{c} recall" for c in classes) + " | six-basic acc | neutral kept |"
    rows = [head, "|" + "---|" * (len(classes) + 3)]
    for name, p in preds.items():
        rec = []
        for c in classes:
            idx = [i for i, it in enumerate(items) if it["label"] == c]
            rec.append(f"{sum(p[i] == c for i in idx)}/{len(idx)}")
        emo = [i for i, it in enumerate(items) if it["label"] in SIX]
        neu = [i for i, it in enumerate(items) if it["label"] == "Neutral"]
        acc = np.mean([p[i] == items[i]["label"] for i in emo]) if emo else float("nan")
        kept = f"{sum(p[i] == 'Neutral' for i in neu)}/{len(neu)}" if neu else "–"
        rows.append(f"| {name} | " + " | ".join(rec) + f" | {acc:.2f} | {kept} |")
    return "\n".join(rows)


def confusion(items, p: list[str]) -> str:
    true = [c for c in (*SIX, "Neutral", "Contempt") if any(it["label"] == c for it in items)]
    rows = ["| true \\ predicted | " + " | ".join(BASIC) + " |", "|" + "---|" * (len(BASIC) + 1)]
    for c in true:
        idx = [i for i, it in enumerate(items) if it["label"] == c]
        rows.append(f"| {c} | " + " | ".join(str(sum(p[i] == q for i in idx)) for q in BASIC) + " |")
    return "\n".join(rows)


def score(items, weights) -> float:
    """Window accuracy, ties broken by the mean log-probability of the true label."""
    rs = [em.read_emotion(it["frames"], it["window"], it["baseline"], weights=weights) for it in items]
    acc = np.mean([r.label == it["label"] for r, it in zip(rs, items)])
    return float(acc + 0.01 * np.mean([np.log(r.probs[it["label"]] + 1e-4) for r, it in zip(rs, items)]))


def fit_loco(items) -> tuple[list[str], dict[str, dict]]:
    """Leave one clip (= one person) out: choose the cue weights on the other clips, predict the held-out."""
    combos = [dict(zip(GRID, v)) for v in itertools.product(*GRID.values())]
    preds = [""] * len(items)
    chosen = {}
    for clip in sorted({it["clip"] for it in items}):
        train = [it for it in items if it["clip"] != clip]
        best = max(combos, key=lambda w: score(train, w))
        chosen[clip] = best
        for i, it in enumerate(items):
            if it["clip"] == clip:
                preds[i] = em.read_emotion(it["frames"], it["window"], it["baseline"], weights=best).label
    return preds, chosen


def calibration(items) -> str:
    """Expected calibration error of the fused confidence, and the temperature that minimises the
    log-loss of the true label (chosen leave-one-clip-out, like the weights)."""
    def run(t, its):
        old, em.TEMPERATURE = em.TEMPERATURE, t
        try:
            return [em.read_emotion(it["frames"], it["window"], it["baseline"]) for it in its]
        finally:
            em.TEMPERATURE = old

    def nll(rs, its):
        return -float(np.mean([np.log(max(r.probs[it["label"]], 1e-4)) for r, it in zip(rs, its)]))

    def ece(rs, its, bins=5):
        conf = np.array([r.confidence for r in rs])
        ok = np.array([r.label == it["label"] for r, it in zip(rs, its)])
        edges = np.linspace(0, 1, bins + 1)
        return float(sum(abs(conf[m].mean() - ok[m].mean()) * m.mean()
                         for a, b in zip(edges, edges[1:]) if (m := (conf > a) & (conf <= b)).any()))

    temps = (0.5, 0.75, 1.0, 1.5, 2.0)
    rows = []
    for t in temps:
        rs = run(t, items)
        rows.append(f"| {t} | {nll(rs, items):.3f} | {ece(rs, items):.3f} | {np.mean([r.confidence for r in rs]):.2f} |")
    loco = {}
    for clip in sorted({it["clip"] for it in items}):
        train = [it for it in items if it["clip"] != clip]
        loco[clip] = min(temps, key=lambda t: nll(run(t, train), train))
    return ("| temperature | log-loss | ECE | mean confidence |\n|---|---|---|---|\n" + "\n".join(rows)
            + f"\n\nTemperature chosen with each clip held out: {loco}; shipped: {em.TEMPERATURE}")


def emodb() -> str:
    from tools.index.decode import load_audio
    from tools.perception.prosody import ArousalModel, voice_features
    files = sorted((MEDIA / "speech").glob("emodb_*.wav"))
    if not files:
        return "EmoDB not found: skipped."
    feats = [voice_features(load_audio(f)) for f in files]
    model = ArousalModel().fit(feats)  # the speaker's own baseline (all files, no labels)
    labels = [EMODB[f.name[11]] for f in files]
    ar = [(s.score if (s := model.score(x)) else None) for x in feats]
    pred = [em.read_emotion([], TimeWindow(start=0, end=1), arousal=a, use=("voice",)).label for a in ar]
    rows = ["| EmoDB (speaker 03) | n | mean arousal | voice-only top label |", "|---|---|---|---|"]
    for lab in sorted(set(labels)):
        idx = [i for i, x in enumerate(labels) if x == lab]
        vals = [ar[i] for i in idx if ar[i] is not None]
        tops = {p: sum(pred[i] == p for i in idx) for p in set(pred[i] for i in idx)}
        rows.append(f"| {lab} | {len(idx)} | {np.mean(vals):+.2f} | "
                    + ", ".join(f"{k} {v}" for k, v in sorted(tops.items(), key=lambda kv: -kv[1])) + " |")
    w = [ar[i] for i, x in enumerate(labels) if x == "Anger"]
    t = [ar[i] for i, x in enumerate(labels) if x == "Sadness"]
    pairs = sum(a > b for a in w for b in t)
    rows.append(f"\nAnger vs Sadness by voice arousal alone: {pairs}/{len(w) * len(t)} pairs ordered correctly "
                f"(anger {min(w):+.2f}..{max(w):+.2f}, sadness {min(t):+.2f}..{max(t):+.2f}). Voice arousal "
                "cannot tell anger from joy or fear (all aroused): valence must come from the face or the words.")
    return "\n".join(rows)


def pauses() -> str:
    """The pauses inside one speaker's utterances (silero VAD, speech.vad_segments defaults) over the EmoDB
    sentences and the talk clips: what chose speech.TURN_GAP_S (issue 27)."""
    from tools.index.decode import load_audio
    from tools.perception.speech import TURN_GAP_S, vad_segments
    files = sorted((MEDIA / "speech").glob("emodb_*.wav")) + sorted((MEDIA / "speech").glob("talk_*.mp3"))
    gaps = []
    for f in files:
        v = vad_segments(load_audio(f), 16000)
        gaps += [(round(b[0] - a[1], 2), f.name) for a, b in zip(v, v[1:])]
    gaps.sort()
    return (f"{len(files)} files, {len(gaps)} pauses inside an utterance; longest: "
            + ", ".join(f"{g:.2f} s ({n})" for g, n in gaps[-4:]) + f". TURN_GAP_S = {TURN_GAP_S} s: the smallest "
            "half-second step above every one.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fit", action="store_true", help="re-choose cue weights by leave-one-clip-out")
    ap.add_argument("--pauses", action="store_true", help="only the within-utterance pauses (speech.TURN_GAP_S)")
    args = ap.parse_args()
    if args.pauses:
        print(pauses())
        return
    if not (MEDIA / "faces" / "mead_fear.mp4").exists():
        sys.exit(f"needs the research media under {MEDIA}")
    items = face_items()
    basic = [it for it in items if it["label"] != "Contempt"]
    preds = {c + " alone": predict(basic, (c,)) for c in CUES}
    preds["fused, shipped weights"] = predict(basic, None)
    preds["fused, no personal baseline"] = predict(basic, None, baseline=False)
    if args.fit:
        loco, chosen = fit_loco(basic)
        preds["fused, weights fitted leave-one-clip-out"] = loco
        combos = [dict(zip(GRID, v)) for v in itertools.product(*GRID.values())]
        print("weights fitted on all clips (copy into emotion.WEIGHTS):", max(combos, key=lambda w: score(basic, w)))
    clips = sorted({it["clip"] for it in items})
    print(f"## Faces: {len(basic)} windows from {len(clips) - 1} clips, one person each (1 s windows; neutral 0.5 s)\n")
    print(table(basic, preds))
    print("\nConfusion (fused, shipped weights; Contempt has no label of its own and is shown for information):\n")
    print(confusion(items, predict(items, None)))
    if args.fit:
        print("\nWeights chosen with each clip held out:")
        for clip, w in chosen.items():
            print(f"- {clip}: {w}")
    print("\n## Calibration of the fused confidence (six basic + neutral windows)\n")
    print(calibration(basic))
    eye = face_items(by_eye=True)
    print("\n## Pexels clip (one woman, labelled by eye: crying 0–6 s, laughing 10.5–19.5 s)\n")
    print(table(eye, {c + " alone": predict(eye, (c,)) for c in CUES} | {"fused": predict(eye, None)}))
    print("\n## Voice (EmoDB)\n")
    print(emodb())


if __name__ == "__main__":
    main()
