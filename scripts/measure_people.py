"""Measure people tracking + face identity on the dev videos, and choose the identity threshold.

    .venv/bin/python scripts/measure_people.py                 # the people table on the dev videos
    .venv/bin/python scripts/measure_people.py --lopo          # identity threshold, leave-one-person-out
    .venv/bin/python scripts/measure_people.py --cuts          # picture change at cuts vs within shots
    .venv/bin/python scripts/measure_people.py --index         # the same table from the real index's frames

Dev videos: scripts/make_dev_videos.py --only four_people leave_return two_people (in
~/.cache/affectlens/dev; research media, never in the repository). Each face span there names its person
(`who`); side-by-side spans also say which half (`person`: left/right).

The table runs the indexer's own frame analysis (tools/index/frame_pass.FrameAnalyzer: faces, people
tracker with identity, picture change) on frames sampled at --fps, and scores every face it finds:
* people: distinct person ids found vs people in the ground truth;
* purity: share of face frames whose person id's majority identity is theirs (merging lowers it);
* right: share of face frames given the right person, with person ids matched one-to-one to true people
  (scipy linear_sum_assignment on the frame counts): splitting one person into two ids lowers it too;
* CPU s: the frame analysis (all of it), and identity: descriptors computed and their CPU seconds.

--lopo: descriptors at 1 fps from every clip of ../shared/media/faces, grouped by person (WHO in
make_dev_videos.py); for each held-out person, the threshold that best separates the other people's
same/different pairs (tools.perception.identity.choose_threshold), scored on the held-out person's pairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from contextlib import closing
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media"
VIDEOS = ("four_people", "leave_return", "two_people")

from scripts.dev_videos import DEV, dev_videos  # noqa: E402  (the dev videos and their ground truth)


def truth(gt: dict, t: float, box: tuple) -> str | None:
    """The person (`who`) of a face at time t with box (x, y, w, h fractions), from the dev JSON."""
    here = [sp for sp in gt["spans"] if sp.get("who") and sp["start"] <= t < sp["end"]]
    if any(sp.get("person") in ("left", "right") for sp in here):
        side = "left" if box[0] + box[2] / 2 < 0.5 else "right"
        here = [sp for sp in here if sp.get("person") == side]
    return here[0]["who"] if here else None


def run_video(path: Path, fps: float) -> tuple[list[tuple[float, int, tuple]], list[float], float]:
    """(t, person id, box) per face found; picture change per sampled frame; CPU seconds. Sets
    `run_video.identity` = (descriptors computed, their CPU seconds)."""
    from tools.index.decode import iter_frames
    from tools.index.frame_pass import FrameAnalyzer
    from tools.settings import get_settings
    from tools.perception.tracks import shared_identifier
    fa = FrameAnalyzer(get_settings())
    ident = shared_identifier()  # one per process: count this video's descriptors only
    calls0, secs0 = ident.calls, ident.seconds
    out, changes = [], []
    c0 = time.process_time()
    try:
        with closing(iter_frames(str(path), fps=fps, max_side=640)) as frames:
            for t, rgb in frames:
                fr = fa.analyze(t, rgb)
                changes.append((t, fr.scene.get("change", 0.0)))
                out += [(t, p.person, p.box) for p in fr.people]
    finally:
        fa.close()
    run_video.identity = (ident.calls - calls0, ident.seconds - secs0)
    merged = fa.people.merged  # late merges: the index rewrites its stored frames the same way
    out = [(t, merged.get(pid, pid), box) for t, pid, box in out]
    return out, changes, time.process_time() - c0


def score(faces: list[tuple[float, int, tuple]], gt: dict) -> dict:
    from scipy.optimize import linear_sum_assignment
    pairs = [(pid, truth(gt, t, box)) for t, pid, box in faces]
    pairs = [(p, w) for p, w in pairs if w is not None]
    ids = sorted({p for p, _ in pairs})
    whos = sorted({sp["who"] for sp in gt["spans"] if sp.get("who")})
    m = np.zeros((len(ids), len(whos)))
    for p, w in pairs:
        m[ids.index(p), whos.index(w)] += 1
    n = max(1, int(m.sum()))
    purity = float(m.max(axis=1).sum()) / n if len(ids) else 0.0
    r, c = linear_sum_assignment(-m)
    right = float(m[r, c].sum()) / n
    mapping = {ids[i]: whos[j] for i, j in zip(r, c)}
    return {"people_found": len(ids), "people_true": len(whos), "purity": purity, "right": right, "frames": n,
            "ids": {p: dict(Counter(w for q, w in pairs if q == p)) for p in ids}, "mapping": mapping}


def index_faces(path: Path) -> list[tuple[float, int, tuple]]:
    """(t, person id, box) per face stored by the real index (adaptive sampling, cached)."""
    from tools.index import build_index
    idx = build_index(str(path), progress=False)
    return [(f.t, p.person, p.box) for f in idx.frames for p in f.people]


def table(fps: float, names: list[str], from_index: bool = False) -> None:
    print(f"{'video':<14}{'people found/true':>18}{'purity':>8}{'right':>8}{'face frames':>12}{'CPU s':>8}"
          f"{'identity':>16}")
    missing = "{name:<14} missing: build it with scripts/make_dev_videos.py --only {name}"
    for name, path, gt in dev_videos(names, missing):
        if from_index:
            faces, cpu = index_faces(path), float("nan")
            run_video.identity = (0, float("nan"))
        else:
            faces, _, cpu = run_video(path, fps)
        s = score(faces, gt)
        n_id, id_s = run_video.identity
        print(f"{name:<14}{s['people_found']:>10}/{s['people_true']:<7}{s['purity']:>8.3f}{s['right']:>8.3f}"
              f"{s['frames']:>12}{cpu:>8.1f}{f'{n_id} x, {id_s:.1f} s':>16}")
        for pid, c in s["ids"].items():
            print(f"    person {pid} -> {s['mapping'].get(pid, '(unmatched)')}: {c}")


def cuts(fps: float, names: list[str]) -> None:
    """Picture change at the sampled frame right after each true cut between two people vs all others."""
    at_cut, inside = [], []
    for name in names:
        path = DEV / f"{name}.mp4"
        gt = json.loads(path.with_suffix(".json").read_text())
        bounds = sorted({sp["start"] for sp in gt["spans"]} | {sp["end"] for sp in gt["spans"]})
        _, changes, _ = run_video(path, fps)
        prev = None
        for t, ch in changes:
            crossed = prev is not None and any(prev < b <= t for b in bounds)
            (at_cut if crossed else inside).append(ch)
            prev = t
    a, b = np.array(at_cut), np.array(inside)
    print(f"change at cuts: n={a.size} min {a.min():.3f} p10 {np.percentile(a, 10):.3f} median {np.median(a):.3f}")
    print(f"within shots:   n={b.size} max {b.max():.3f} p99.9 {np.percentile(b, 99.9):.3f} "
          f"p99 {np.percentile(b, 99):.3f} median {np.median(b):.3f}")
    for thr in (0.04, 0.06, 0.08, 0.10, 0.12):
        print(f"  threshold {thr:.2f}: cuts caught {np.mean(a >= thr):.2f}, in-shot frames checked {np.mean(b >= thr):.4f}")


def media_descriptors(fps: float = 1.0) -> dict[str, list[np.ndarray]]:
    """1-fps descriptors (MediaPipe box + dlib) of every clip in ../shared/media/faces, by person."""
    from scripts.make_dev_videos import WHO
    from tools.index.decode import iter_frames
    from tools.perception.face import FaceAnalyzer
    from tools.perception.identity import FaceIdentifier
    ident = FaceIdentifier()
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    with FaceAnalyzer(max_faces=1) as fa:
        for rel, who in WHO.items():
            with closing(iter_frames(str(MEDIA / rel), fps=fps, max_side=640)) as frames:
                for _, rgb in frames:
                    faces = fa.landmarks(rgb)
                    if faces:
                        out[who].append(ident.describe(rgb, faces[0].box))
    return dict(out)


def lopo() -> None:
    from tools.perception.identity import SAME_PERSON, balanced, choose_threshold, set_distances
    descs = media_descriptors()
    print(f"people (descriptors): {', '.join(f'{k} ({len(v)})' for k, v in descs.items())}")
    print(f"{'held out':<14}{'threshold':>10}{'tune acc':>9}{'held same ok':>13}{'held diff ok':>13}")
    picked, oks = [], []
    for who in descs:
        thr, acc = choose_threshold(descs, exclude=who)
        same, diff = set_distances(descs, only=who)
        s_ok = float(np.mean(same < thr)) if same.size else float("nan")
        d_ok = float(np.mean(diff >= thr))
        picked.append(thr)
        oks.append((s_ok, d_ok))
        print(f"{who:<14}{thr:>10.2f}{acc:>9.3f}{s_ok:>13.3f}{d_ok:>13.3f}")
    print(f"thresholds picked: {sorted(Counter(picked).items())}; median {np.median(picked):.2f}; "
          f"in use: SAME_PERSON = {SAME_PERSON}")
    print(f"held-out mean: same decisions right {np.nanmean([s for s, _ in oks]):.3f}, "
          f"different decisions right {np.mean([d for _, d in oks]):.3f}")
    same, diff = set_distances(descs)
    for thr in (0.5, 0.55, 0.6):
        print(f"  all people, threshold {thr:.2f}: same right {np.mean(same < thr):.3f}, different right "
              f"{np.mean(diff >= thr):.3f}, balanced {balanced(same, diff, thr):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="*", default=list(VIDEOS), help="dev video names (in ~/.cache/affectlens/dev)")
    ap.add_argument("--fps", type=float, default=3.0, help="frames sampled per second (the index's rate)")
    ap.add_argument("--lopo", action="store_true", help="choose the identity threshold, leave-one-person-out")
    ap.add_argument("--cuts", action="store_true", help="picture change at cuts vs within shots")
    ap.add_argument("--index", action="store_true",
                    help="score the people the real index stored (adaptive sampling; builds or reuses the index)")
    a = ap.parse_args()
    if a.lopo:
        lopo()
    elif a.cuts:
        cuts(a.fps, a.videos)
    else:
        table(a.fps, a.videos, a.index)


if __name__ == "__main__":
    main()
