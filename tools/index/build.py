"""One indexing pass per video, cached on disk by content hash and config, resumable.

Pass: probe → speech in 5-minute audio chunks (VAD + ASR with word times, prosody per segment,
arousal against the speaker's own baseline), in a background thread → meanwhile, streamed frames
(face, AUs, expression, facial flow per frame) sampled adaptively: `sample_fps` while the face moves
or the voice is loud, half that on a still face, 1 fps without a face; decode in its own thread, B-frames skipped, frames
converted only when analysed → windows of about `window_s` snapped to speech and shot cuts,
summarised as `WindowRecord`s → text descriptors embedded into FAISS (see tools/retrieval.py).
Memory stays flat: frames are summarised window by window and appended to disk as they finish; a
killed run resumes from the last analyzer checkpoint (every STATE_EVERY windows) with identical results.

Modules: decode (PyAV frames/audio), sampler, speech_pass, frame_pass, windows, store (cache, records,
checkpoints); this one runs them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from filelock import FileLock

from tools.errors import MediaError
from tools.index import speech_pass
from tools.index.decode import probe
from tools.index.frame_pass import ProgressFn, index_frames
from tools.index.speech_pass import SpeechPlan, reuse_speech
from tools.index.store import (
    IndexConfig,
    IndexSummary,
    SpeechTrack,
    VideoIndex,
    atomic_write,
    index_folder,
    read_lines,
    resume_point,
)
from tools.index.windows import shot_cuts, speech_cuts, windows_for, write_baseline
from tools.settings import Settings, get_settings


def build_index(path: str | os.PathLike, settings: Settings | None = None, progress: bool = True,
                stop_after: int | None = None,
                face_factory: Callable[[Settings], object] | None = None,
                on_progress: ProgressFn | None = None) -> VideoIndex:
    """Index `path` (or reuse the cache). `stop_after` windows simulates a killed run (for tests).
    `on_progress(note, fraction)` is called as the work advances (for UIs; `progress` draws tqdm bars)."""
    s = settings or get_settings()
    t0 = time.monotonic()
    meta = probe(path)
    if not meta.has_video and not meta.has_audio:
        raise MediaError(f"nothing to index in {path}")
    config = IndexConfig.from_settings(s)
    folder = index_folder(meta, config, s)
    folder.mkdir(parents=True, exist_ok=True)
    report = on_progress or (lambda note, fraction: None)
    with FileLock(str(folder / ".lock")):
        if (folder / "done.json").exists():
            idx = VideoIndex(folder, meta, config)
            idx.summary = idx.summary.model_copy(update={"cached": True})
            return idx
        atomic_write(folder / "meta.json", meta.model_dump_json(indent=1))
        atomic_write(folder / "config.json", config.model_dump_json(indent=1))
        reuse_speech(folder, config)
        shots = shot_cuts(folder, path, meta)
        plan = SpeechPlan(folder, lambda stop: speech_pass.analyse_speech(str(path), meta, config, s, progress, stop=stop),
                     lambda speech: windows_for(meta.duration, config.window_s, speech_cuts(speech) + shots),
                     parallel=meta.has_video and s.parallel_speech)
        try:
            done = resume_point(folder)
            if not plan.ready() or done < len(plan.get()[0]):
                finished = index_frames(str(path), meta, config, s, plan, done, folder, progress, stop_after,
                                         face_factory, report)
                if not finished:
                    return VideoIndex(folder, meta, config)
            speech = plan.get()[1]
        finally:
            plan.close()
        report("building the search index", 0.99)
        from tools.retrieval import build_vectors
        idx = VideoIndex(folder, meta, config)
        write_baseline(idx)
        build_vectors(idx)
        from tools.people import load_people
        report("listing the people in the video", 0.995)
        load_people(idx, rebuild=True)  # people.json: tracks, screen/speaking time, thumbnails
        secs = time.monotonic() - t0
        summary = IndexSummary(windows=len(idx.records), face_frames=sum(r.face_frames for r in idx.records),
                               frames=sum(r.n_frames for r in idx.records), speech_s=speech.speech_s,
                               seconds=round(secs, 2), realtime_factor=round(secs / meta.duration, 4),
                               cached=False)
        atomic_write(folder / "done.json", summary.model_dump_json())
        idx.summary = summary
        return idx


def index_status(path: str | os.PathLike, settings: Settings | None = None) -> dict:
    s = settings or get_settings()
    meta = probe(path)
    config = IndexConfig.from_settings(s)
    folder = index_folder(meta, config, s)
    speech_path = folder / "speech.json"
    cuts = speech_cuts(SpeechTrack.model_validate_json(speech_path.read_text())) if speech_path.exists() else []
    if (folder / "shots.json").exists():
        cuts += json.loads((folder / "shots.json").read_text())
    windows = windows_for(meta.duration, config.window_s, cuts)
    n = sum(1 for _ in read_lines(folder / "records.jsonl")) if folder.exists() else 0
    done = (folder / "done.json").exists()
    other = sorted(p.name for p in folder.parent.iterdir() if p.is_dir() and p != folder) \
        if folder.parent.exists() else []
    return {"video": meta.path, "content_key": meta.content_key, "config": config.key(), "folder": str(folder),
            "windows_done": n, "windows_total": len(windows), "complete": done,
            "summary": json.loads((folder / "done.json").read_text()) if done else None,
            "other_configs_cached": other}
