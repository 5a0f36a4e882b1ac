"""Indexing benchmark: realtime factor and peak memory of the indexing pass vs a naive baseline, in one run.

    .venv/bin/python scripts/bench_index.py --minutes 60 --flat

Builds a long video by concatenating the real clips in ../shared/media/faces (re-encoded with PyAV,
cached in the output folder), then
  1. indexes it with affectlens (adaptive sampling, shared decode, streaming summaries) in a child
     process, measuring wall time and peak RSS;
  2. runs the naive baseline on the first --baseline-minutes (default: one cycle of the clips): every
     decoded frame through every face tool (landmarks with the zoom search wherever no face is found,
     AUs, expression, flow), at full resolution, no sampling; and ASR + prosody over its audio;
and prints per-video-second costs and their ratio. Each measurement runs in its own process so that
peak RSS is that run's alone. Also reports a 10-minute run when --flat is given (memory flatness).
--speech replaces the soundtrack by the real speech clips of ../shared/media/speech back to back (speech
most of the time, as in an interview), which makes ASR a large share of the cost on both sides.
--before REV also indexes the same video with the code of git revision REV (a temporary worktree), right
after the current code, and prints the cost ratio now / before: how much a change costs, in one run
(e.g. `--video ~/.cache/affectlens/dev/long_dev.mp4 --before 1c84213~1 --no-naive` for face identity).
--video PATH benchmarks an existing video (a dev video) instead of the clip cycle.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MEDIA = ROOT.parent / "shared" / "media" / "faces"
SPEECH = ROOT.parent / "shared" / "media" / "speech"
CLIPS = ["WolfgangLanger_Pexels.mp4", "mead_happy.mp4", "no_face.mp4", "mead_sad.mp4", "single_face.mp4",
         "mead_surprised.mp4", "face_noface.mov", "mead_disgusted.mp4", "noface_face.mov", "mead_fear.mp4"]


def speech_soundtrack(seconds: float, sr: int = 16000) -> np.ndarray:
    """The real speech clips of ../shared/media/speech back to back (0.4 s pauses), repeated to `seconds`:
    audio that is speech most of the time, as in an interview (English talks, then German EmoDB)."""
    import numpy as np

    from tools.index.decode import load_audio
    files = sorted(SPEECH.glob("talk_*.mp3")) + sorted(SPEECH.glob("emodb_*.wav"))  # English, then German
    clips = [load_audio(p) for p in files]
    pause = np.zeros(int(0.4 * sr), np.float32)
    parts, n, i = [], 0, 0
    while n < seconds * sr:
        parts += [clips[i % len(clips)], pause]
        n += clips[i % len(clips)].size + pause.size
        i += 1
    return np.concatenate(parts)[: int(seconds * sr)]


def make_long_video(minutes: float, out: Path, speech: bool = False) -> Path:
    """Concatenate the clips until `minutes`: encode one ~cycle, then repeat it by stream copy. With
    `speech`, the cycle's soundtrack is the speech clips instead of the face clips' own audio."""
    from tools.index.decode import concat_videos, probe
    if out.exists():
        return out
    cycle = out.with_name("cycle_speech.mp4" if speech else "cycle.mp4")
    if not cycle.exists():
        concat_videos([MEDIA / c for c in CLIPS], cycle,
                      soundtrack=speech_soundtrack(sum(probe(MEDIA / c).duration for c in CLIPS) + 5) if speech else None)
    import av
    n = max(1, int(round(minutes * 60 / probe(cycle).duration)))
    with av.open(str(cycle)) as src0, av.open(str(out), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src0.streams}
        offset = {i: 0 for i in streams}
        last_dts = {i: None for i in streams}
        for _ in range(n):
            with av.open(str(cycle)) as src:
                end = dict(offset)
                for pkt in src.demux():
                    if pkt.dts is None:
                        continue
                    i = pkt.stream.index
                    if last_dts[i] is not None and pkt.dts + offset[i] <= last_dts[i]:
                        offset[i] = last_dts[i] + 1 - pkt.dts  # keep dts strictly increasing at joins
                    pkt.pts += offset[i]
                    pkt.dts += offset[i]
                    last_dts[i] = pkt.dts
                    end[i] = max(end[i], pkt.pts + (pkt.duration or 0))
                    pkt.stream = streams[i]
                    dst.mux(pkt)
                offset = end
    return out


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
mode, video, cache, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
t0 = time.monotonic()
from tools.settings import Settings
if mode == "affectlens":
    from tools.index import build_index
    idx = build_index(video, Settings(cache_dir=cache), progress=False)
    seconds_of_video = idx.meta.duration
else:
    from tools.perception.face import FaceAnalyzer
    from tools.perception.flow import FlowAnalyzer
    from tools.index.decode import iter_frames
    # every tool on every frame: zoom search on every face-free frame too (no rest after a miss)
    fa, fl, prev, seconds_of_video = FaceAnalyzer(tile_retry_s=0.0), FlowAnalyzer(), None, 0.0
    for t, rgb in iter_frames(video, fps=0, max_side=10_000, end=limit):
        frame, face = fa.analyze_face(t, rgb)
        if face is not None and prev is not None:
            fl.analyze(prev[0], rgb, prev[1], face.landmarks)
        prev = (rgb, face.landmarks) if face is not None else None
        seconds_of_video = t
    fa.close()
    # and the audio tools over the same stretch: ASR with word times, prosody per segment
    from tools.perception.prosody import voice_features
    from tools.perception.speech import Transcriber
    from tools.index.decode import load_audio
    audio = load_audio(video, end=limit)
    if audio.size:
        for seg in Transcriber(Settings()).transcribe(audio):
            voice_features(audio, start=seg.start, end=seg.end, words=seg.words)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"wall": wall, "video_s": seconds_of_video, "cpu": ru.ru_utime + ru.ru_stime,
                  "peak_rss_mb": ru.ru_maxrss / 1024}}))
"""


def measure(mode: str, video: Path, limit: float = 0.0, root: Path = ROOT) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        r = subprocess.run([sys.executable, "-c", CHILD.format(root=str(root)), mode, str(video), cache, str(limit)],
                           capture_output=True, text=True, check=True, cwd=str(root))
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure_before(rev: str, video: Path) -> dict:
    """Index `video` with the code of git revision `rev`, checked out in a temporary worktree."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            return measure("affectlens", video, root=tree)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--baseline-minutes", type=float, default=None,
                    help="naive baseline length (default: one cycle of the clips, so both runs see the same mix)")
    ap.add_argument("--flat", action="store_true", help="also index a 10-minute video to check memory is flat")
    ap.add_argument("--speech", action="store_true",
                    help="soundtrack of real speech clips (interview-like) instead of the face clips' own audio")
    ap.add_argument("--before", default=None, metavar="REV",
                    help="also index with the code of git revision REV and print the cost ratio now / before")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    ap.add_argument("--video", default=None, help="index this video instead of the clip cycle (e.g. a dev video)")
    ap.add_argument("--out", default=str(ROOT / ".cache" / "bench"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "_speech" if a.speech else ""
    rows = []
    if a.flat:
        v10 = make_long_video(10, out / f"long_10min{tag}.mp4", a.speech)
        rows.append(("affectlens 10 min", measure("affectlens", v10)))
    video = Path(a.video) if a.video else make_long_video(a.minutes, out / f"long_{int(a.minutes)}min{tag}.mp4", a.speech)
    rows.append((f"affectlens {video.stem[:12] if a.video else f'{a.minutes:g} min'}", measure("affectlens", video)))
    ours = rows[-1][1]
    before = measure_before(a.before, video) if a.before else None
    if before is not None:
        rows.append((f"affectlens at {a.before[:12]}", before))
    if not a.no_naive:
        from tools.index.decode import probe
        cycle = out / f"cycle{tag}.mp4"
        base_s = a.baseline_minutes * 60 if a.baseline_minutes else probe(cycle).duration if cycle.exists() else 150.0
        rows.append((f"naive, first {base_s / 60:.2g} min", measure("naive", video, base_s)))
    print(f"{'run':<28}{'video s':>9}{'wall s':>9}{'CPU s':>9}{'RTF':>8}{'peak RSS MB':>13}")
    for name, r in rows:
        print(f"{name:<28}{r['video_s']:>9.0f}{r['wall']:>9.1f}{r.get('cpu', float('nan')):>9.1f}"
              f"{r['wall'] / r['video_s']:>8.3f}{r['peak_rss_mb']:>13.0f}")
    if before is not None:
        print(f"cost now / before {a.before}: wall {ours['wall'] / before['wall']:.3f}, CPU "
              f"{ours['cpu'] / before['cpu']:.3f} (same video; CPU time is the figure to trust on a shared, "
              "loaded machine)")
    if not a.no_naive:
        naive = rows[-1][1]
        ratio = (naive["wall"] / naive["video_s"]) / (ours["wall"] / ours["video_s"])
        print(f"speed-up vs naive (per video second): {ratio:.1f}x")


if __name__ == "__main__":
    main()
