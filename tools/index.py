"""One indexing pass per video, cached on disk by content hash and config, resumable.

Pass: probe → speech in 5-minute audio chunks (VAD + ASR with word times, prosody per segment,
arousal against the speaker's own baseline), in a background thread → meanwhile, streamed frames
(face, AUs, expression, facial flow per frame) sampled adaptively: `sample_fps` while the face moves
or the voice is loud, half that on a still face, 1 fps without a face; decode in its own thread, B-frames skipped, frames
converted only when analysed → windows of about `window_s` snapped to speech and shot cuts,
summarised as `WindowRecord`s → text descriptors embedded into FAISS (see tools/retrieval.py).
Memory stays flat: frames are summarised window by window and appended to disk as they finish; a
killed run resumes from the last analyzer checkpoint (every STATE_EVERY windows) with identical results.

Cache layout: <cache_dir>/index/<content hash>/<config key>/
    meta.json config.json speech.json shots.json loud.json frames.jsonl records.jsonl state.pkl (analyzer checkpoint every STATE_EVERY
    windows) descriptors.json text.faiss affect.faiss done.json
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from tqdm import tqdm

from tools.errors import MediaError
from tools.schemas import FaceFrame, SpeechSegment, TimeWindow, VideoMeta, WindowRecord
from tools.settings import Settings, get_settings
from tools.video import iter_frames, load_audio, probe

INDEX_VERSION = 4
AUDIO_CHUNK_S = 300.0
MOVING_PX = 0.8  # facial flow (px per 0.25 s, strongest region) above which a face counts as moving
STATE_EVERY = 4  # windows between analyzer-state checkpoints (what a killed run resumes from)
MAX_PENDING_FRAMES = 20_000  # analysed frames held while the speech pass (window cuts) is still running


class IndexConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = INDEX_VERSION
    sample_fps: float = 3.0
    window_s: float = 3.0
    max_side: int = 640
    whisper: str = "tiny.en"

    @classmethod
    def from_settings(cls, s: Settings) -> IndexConfig:
        return cls(sample_fps=s.sample_fps, window_s=s.window_s, max_side=s.frame_max_side, whisper=s.whisper)

    def key(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


class VoiceSegment(BaseModel):
    """A speech segment with its prosody-derived arousal (relative to the speaker in this video)."""

    model_config = ConfigDict(extra="forbid")

    start: float
    end: float
    arousal: float | None = None
    pitch_st: float | None = None
    loudness_db: float | None = None
    features: dict[str, float] = Field(default_factory=dict)


class SpeechTrack(BaseModel):
    segments: list[SpeechSegment] = Field(default_factory=list)
    voice: list[VoiceSegment] = Field(default_factory=list)
    speech_s: float = 0.0
    _mids: list[float] | None = PrivateAttr(default=None)
    _texts: list[str] = PrivateAttr(default_factory=list)

    def text_in(self, w: TimeWindow) -> str:
        """Words (or, for segments without word times, segment texts) whose middle lies in `w`; found by
        bisection over a time-sorted list built once, since every window of the video asks."""
        if self._mids is None:
            items = sorted((0.5 * (x.start + x.end), x.text) for s in self.segments for x in (s.words or [s]))
            self._mids, self._texts = [m for m, _ in items], [t for _, t in items]
        lo, hi = bisect.bisect_left(self._mids, w.start), bisect.bisect_left(self._mids, w.end)
        return " ".join(t.strip() for t in self._texts[lo:hi] if t.strip())


class IndexSummary(BaseModel):
    windows: int
    face_frames: int
    frames: int
    speech_s: float
    seconds: float
    realtime_factor: float
    cached: bool


class VideoIndex:
    """Read access to a finished index (records, frames, speech, vectors)."""

    def __init__(self, folder: Path, meta: VideoMeta, config: IndexConfig):
        self.folder, self.meta, self.config = folder, meta, config
        self.records = [WindowRecord.model_validate_json(x) for x in _lines(folder / "records.jsonl")]
        self.speech = SpeechTrack.model_validate_json((folder / "speech.json").read_text())
        self._frames: list[FaceFrame] | None = None
        self._times: list[float] | None = None
        done = folder / "done.json"
        self.summary = IndexSummary.model_validate_json(done.read_text()) if done.exists() else None

    @property
    def frames(self) -> list[FaceFrame]:
        if self._frames is None:
            self._frames = [FaceFrame.model_validate_json(x) for x in _lines(self.folder / "frames.jsonl")]
        return self._frames

    def frames_in(self, w: TimeWindow) -> list[FaceFrame]:
        frames = self.frames  # sorted by time (written in decode order)
        if self._times is None:
            self._times = [f.t for f in frames]
        return frames[bisect.bisect_left(self._times, w.start):bisect.bisect_left(self._times, w.end)]

    def records_in(self, w: TimeWindow) -> list[WindowRecord]:
        return [r for r in self.records if r.window.overlaps(w)]


def _lines(path: Path) -> Iterator[str]:
    if not path.exists():
        return iter(())
    with open(path) as f:
        return iter([ln for ln in f.read().splitlines() if ln.strip()])


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def index_folder(meta: VideoMeta, config: IndexConfig, settings: Settings) -> Path:
    return settings.cache_dir / "index" / meta.sha256 / config.key()


# ---------------------------------------------------------------- speech

class IndexStopped(Exception):
    """The speech pass was told to stop (the frame pass failed or was interrupted)."""


def audio_chunks(path: str, duration: float) -> Iterator[tuple[float, np.ndarray]]:
    """(start second, 16 kHz mono audio) for consecutive AUDIO_CHUNK_S stretches of the soundtrack:
    how every audio pass over a long video reads it (memory bounded by one chunk)."""
    for i in range(max(1, int(np.ceil(duration / AUDIO_CHUNK_S)))):
        start = i * AUDIO_CHUNK_S
        yield start, load_audio(path, start=start, end=min(duration, start + AUDIO_CHUNK_S))


def analyse_speech(path: str, meta: VideoMeta, config: IndexConfig, settings: Settings,
                   progress: bool = True, stop: threading.Event | None = None) -> SpeechTrack:
    """ASR with word times and per-segment arousal, decoding audio in 5-minute chunks. `stop` is
    checked between chunks (raises IndexStopped)."""
    if not meta.has_audio:
        return SpeechTrack()
    from tools.prosody import ArousalModel, voice_features
    from tools.speech import Transcriber

    transcriber = Transcriber(settings, model=config.whisper)
    segments: list[SpeechSegment] = []
    feats = []
    n_chunks = max(1, int(np.ceil(meta.duration / AUDIO_CHUNK_S)))
    with tqdm(total=n_chunks, desc="speech", unit="chunk", disable=not progress, leave=False, position=1) as bar:
        for start, audio in audio_chunks(path, meta.duration):
            if stop is not None and stop.is_set():
                raise IndexStopped("speech pass stopped")
            if audio.size and float(np.abs(audio).max()) > 1e-4:
                segs = transcriber.transcribe(audio, offset=start)
                segments.extend(segs)
                for s in segs:
                    feats.append(voice_features(audio, start=s.start - start, end=s.end - start,
                                                words=s.words, offset=start))
            bar.update(1)
    model = ArousalModel().fit(feats) if feats else None
    voice = []
    for f in feats:
        a = model.score(f) if model else None
        voice.append(VoiceSegment(
            start=f.start, end=f.end, arousal=a.score if a else None, pitch_st=a.pitch_st if a else None,
            loudness_db=a.loudness_db if a else None,
            features={k: float(v) for k, v in f.model_dump(exclude={"start", "end"}).items()
                      if isinstance(v, (int, float)) and v is not None}))
    return SpeechTrack(segments=segments, voice=voice, speech_s=round(sum(s.end - s.start for s in segments), 2))


# ---------------------------------------------------------------- windows

def summarise_window(index: int, window: TimeWindow, frames: list[FaceFrame], speech: SpeechTrack) -> WindowRecord:
    faces = [f for f in frames if f.n_faces > 0 and f.aus and not f.occluded]
    au_mean: dict[str, float] = {}
    au_max: dict[str, float] = {}
    expr: dict[str, float] = {}
    if faces:
        for k in faces[0].aus:
            vals = [f.aus.get(k, 0.0) for f in faces]
            au_mean[k] = round(float(np.mean(vals)), 4)
            au_max[k] = round(float(np.max(vals)), 4)
        with_expr = [f for f in faces if f.expression]
        for k in (with_expr[0].expression if with_expr else {}):
            expr[k] = round(float(np.mean([f.expression.get(k, 0.0) for f in with_expr])), 4)
    motion_vals = [float(np.mean(list(f.motion.values()))) for f in frames if f.motion]
    ar = [v.arousal for v in speech.voice if v.arousal is not None and min(v.end, window.end) > max(v.start, window.start)]
    return WindowRecord(
        index=index, window=window, n_frames=len(frames), face_frames=sum(1 for f in frames if f.n_faces > 0),
        au_mean=au_mean, au_max=au_max, expression=expr,
        motion=round(float(np.mean(motion_vals)), 4) if motion_vals else 0.0,
        occluded_frames=sum(1 for f in frames if f.occluded),
        transcript=speech.text_in(window),
        arousal=round(float(max(ar)), 4) if ar else None)


def windows_for(duration: float, window_s: float, cuts: list[float] | None = None) -> list[TimeWindow]:
    """Windows of about `window_s` seconds covering [0, duration]. Where cuts (speech segment
    boundaries, shot changes) fall within half a window of a boundary, the boundary snaps to the
    nearest cut, so that a sentence or a shot is not split across windows."""
    cuts = sorted(c for c in (cuts or []) if 0 < c < duration)
    bounds = [0.0]
    while duration - bounds[-1] > 1e-6:
        start = bounds[-1]
        target = start + window_s
        near = [c for c in cuts if start + 0.5 * window_s <= c <= start + 1.5 * window_s]
        end = min(near, key=lambda c: abs(c - target)) if near else target
        end = min(end, duration)
        if duration - end < 0.5 * window_s:  # fold a short tail into this window
            end = duration
        bounds.append(end)
    return [TimeWindow(start=round(a, 3), end=round(b, 3)) for a, b in zip(bounds, bounds[1:]) if b - a > 1e-3]


def speech_cuts(speech: SpeechTrack) -> list[float]:
    return [t for seg in speech.segments for t in (seg.start, seg.end)]


def _loud(folder: Path, path, meta: VideoMeta) -> list[tuple[float, float]]:
    """Loud stretches of the soundtrack (tools.prosody.loud_spans, over the whole recording), computed
    once per index folder before the frame pass: there the voice counts as aroused and frames are
    sampled at the full rate. Audio decoded in AUDIO_CHUNK_S chunks; a 0.5 s envelope is all it keeps."""
    f = folder / "loud.json"
    if f.exists():
        return [tuple(x) for x in json.loads(f.read_text())]
    from tools.prosody import loud_spans, loudness_db
    levels = [loudness_db(a) for _, a in audio_chunks(str(path), meta.duration)] if meta.has_audio else []
    spans = loud_spans(np.concatenate(levels)) if levels else []
    _atomic_write(f, json.dumps(spans))
    return spans


def _shots(folder: Path, path, meta: VideoMeta) -> list[float]:
    """Shot-change times (keyframe histogram cuts), computed once per index folder."""
    f = folder / "shots.json"
    if f.exists():
        return json.loads(f.read_text())
    from tools.video import shot_changes
    shots = shot_changes(path) if meta.has_video else []
    _atomic_write(f, json.dumps(shots))
    return shots


ProgressFn = Callable[[str, float], None]


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
        _atomic_write(folder / "meta.json", meta.model_dump_json(indent=1))
        _atomic_write(folder / "config.json", config.model_dump_json(indent=1))
        _reuse_speech(folder, config)
        shots = _shots(folder, path, meta)
        plan = _Plan(folder, lambda stop: analyse_speech(str(path), meta, config, s, progress, stop=stop),
                     lambda speech: windows_for(meta.duration, config.window_s, speech_cuts(speech) + shots),
                     parallel=meta.has_video and s.parallel_speech)
        try:
            done = _resume_point(folder)
            if not plan.ready() or done < len(plan.get()[0]):
                finished = _index_frames(str(path), meta, config, s, plan, done, folder, progress, stop_after,
                                         face_factory, report)
                if not finished:
                    return VideoIndex(folder, meta, config)
            speech = plan.get()[1]
        finally:
            plan.close()
        report("building the search index", 0.99)
        from tools.retrieval import build_vectors
        idx = VideoIndex(folder, meta, config)
        build_vectors(idx)
        secs = time.monotonic() - t0
        summary = IndexSummary(windows=len(idx.records), face_frames=sum(r.face_frames for r in idx.records),
                               frames=sum(r.n_frames for r in idx.records), speech_s=speech.speech_s,
                               seconds=round(secs, 2), realtime_factor=round(secs / meta.duration, 4),
                               cached=False)
        _atomic_write(folder / "done.json", summary.model_dump_json())
        idx.summary = summary
        return idx


class _Plan:
    """The speech track and the windows cut along it. On a fresh run of a video with frames, the speech
    pass runs in a background thread while the frame pass runs (different models, both mostly in native
    code that releases the GIL; alone, the frame pass keeps about one core busy): windows need the
    speech cuts, so the frame pass writes its finished windows once speech is done. A cached
    speech.json makes the plan ready at once. Measured on 10 minutes of faces under speech: 50 s one
    after the other, 38 s side by side."""

    def __init__(self, folder: Path, analyse: Callable[[threading.Event], SpeechTrack],
                 cut: Callable[[SpeechTrack], list[TimeWindow]], parallel: bool):
        self._folder, self._analyse, self._cut = folder, analyse, cut
        self._stop = threading.Event()
        self._done = threading.Event()
        self._value: tuple[list[TimeWindow], SpeechTrack] | None = None
        self._error: BaseException | None = None
        if (folder / "speech.json").exists():
            self._finish(SpeechTrack.model_validate_json((folder / "speech.json").read_text()))
        elif parallel:
            threading.Thread(target=self._run, name="affectlens-speech", daemon=True).start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            speech = self._analyse(self._stop)
            _atomic_write(self._folder / "speech.json", speech.model_dump_json())
            self._finish(speech)
        except BaseException as e:  # noqa: BLE001 - re-raised by get() in the indexing thread
            self._error = e
            self._done.set()

    def _finish(self, speech: SpeechTrack) -> None:
        self._value = (self._cut(speech), speech)
        self._done.set()

    def ready(self) -> bool:
        return self._done.is_set()

    def get(self) -> tuple[list[TimeWindow], SpeechTrack]:
        """(windows, speech), waiting for the speech pass if it is still running."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    def close(self) -> None:
        """Tell a still-running speech pass to stop at its next chunk."""
        self._stop.set()


def _reuse_speech(folder: Path, config: IndexConfig) -> None:
    """A changed config rebuilds only what changed: speech depends on the ASR model alone, so take it
    from another cached config of the same video that used the same model."""
    if (folder / "speech.json").exists():
        return
    for other in folder.parent.iterdir():
        try:
            cfg = IndexConfig.model_validate_json((other / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if other != folder and cfg.whisper == config.whisper and cfg.version == config.version \
                and (other / "speech.json").exists():
            _atomic_write(folder / "speech.json", (other / "speech.json").read_text())
            return


def _load_state(folder: Path) -> tuple[int, dict | None]:
    """(windows done at the checkpoint, {"analyzer": state, "due": next sample time}) or (0, None)."""
    try:
        with open(folder / "state.pkl", "rb") as f:
            st = pickle.load(f)
        return int(st["windows"]), st
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, AttributeError):
        return 0, None


def _save_state(folder: Path, windows: int, analyzer, due: float) -> None:
    if analyzer is None or not hasattr(analyzer, "get_state"):
        return
    tmp = folder / "state.pkl.tmp"
    with open(tmp, "wb") as f:
        pickle.dump({"windows": windows, "analyzer": analyzer.get_state(), "due": due}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, folder / "state.pkl")


def _resume_point(folder: Path) -> int:
    """Number of finished windows to keep: those up to the last analyzer-state checkpoint (so resumed
    frames see the same tracks and baselines as an uninterrupted run); drops any half-written tail."""
    rec_path, fr_path = folder / "records.jsonl", folder / "frames.jsonl"
    checkpoint, _ = _load_state(folder)
    records = []
    for ln in _lines(rec_path):
        if len(records) >= checkpoint:
            break
        try:
            records.append(WindowRecord.model_validate_json(ln))
        except ValueError:
            break
    if not records:
        for p in (rec_path, fr_path):
            p.unlink(missing_ok=True)
        return 0
    cut = records[-1].window.end
    frames = []
    for ln in _lines(fr_path):
        try:
            f = FaceFrame.model_validate_json(ln)
        except ValueError:
            break
        if f.t < cut:
            frames.append(ln)
    _atomic_write(rec_path, "".join(r.model_dump_json() + "\n" for r in records))
    _atomic_write(fr_path, "".join(x + "\n" for x in frames))
    return len(records)


def next_gap(frame: FaceFrame, fps: float, loud: bool = False) -> float:
    """Seconds until the next analysed frame: full rate while the face moves or the voice is aroused
    (`loud`), half rate on a still face, 1 s where there is no face (the voice is measured separately,
    so no frame is needed for it)."""
    step = 1.0 / fps
    if frame.n_faces == 0:
        return max(step, 1.0)
    moving = bool(frame.motion) and max(frame.motion.values()) > MOVING_PX
    return step if moving or frame.occluded or loud else 2 * step


def _inside(spans: list[tuple[float, float]], starts: list[float], t: float) -> bool:
    i = bisect.bisect_right(starts, t) - 1
    return i >= 0 and t < spans[i][1]


class FrameAnalyzer:
    """Face + AUs + expression per frame, and facial flow against the previous sampled frame (only the
    previous frame is kept, so memory is flat)."""

    def __init__(self, s: Settings):
        from tools.face import FaceAnalyzer
        from tools.flow import FlowAnalyzer
        self.face = FaceAnalyzer(max_faces=s.max_faces)
        self.flow = FlowAnalyzer(128)
        self._prev = None

    def analyze(self, t: float, rgb: np.ndarray) -> FaceFrame:
        frame, face = self.face.analyze_face(t, rgb)
        if face is None:
            self._prev = None
            return frame
        motion: dict[str, float] = {}
        if self._prev is not None and t - self._prev[0] < 1.0:
            r = self.flow.analyze(self._prev[1], rgb, self._prev[2], face.landmarks, t0=self._prev[0], t1=t)
            per_quarter_s = 0.25 / max(t - self._prev[0], 1e-3)  # px per 0.25 s, comparable across gaps
            motion = {k: round(v.magnitude * per_quarter_s, 4) for k, v in r.regions.items()}
        self._prev = (t, rgb, face.landmarks)
        return frame.model_copy(update={"motion": motion}) if motion else frame

    def get_state(self) -> dict:
        """Everything that carries over between frames (tracks, per-track AU baselines, last frame)."""
        f = self.face
        return {"tracker": f.tracker, "aus": f.aus, "main": f._main, "last_face": f.last_face, "prev": self._prev,
                "tiles_due": f.tiles_due}

    def set_state(self, st: dict) -> None:
        f = self.face
        f.tracker, f.aus, f._main, f.last_face, self._prev = (st["tracker"], st["aus"], st["main"],
                                                              st["last_face"], st["prev"])
        f.tiles_due = st["tiles_due"]

    def close(self) -> None:
        self.face.close()


def _default_face_factory(s: Settings):
    return FrameAnalyzer(s)


def _index_frames(path: str, meta: VideoMeta, config: IndexConfig, s: Settings, plan: _Plan,
                  done: int, folder: Path, progress: bool, stop_after: int | None, face_factory,
                  report: ProgressFn) -> bool:
    start_t = plan.get()[0][done].start if done else 0.0  # windows done > 0 only with speech cached
    total = max(meta.duration - start_t, 1e-3)
    bar = tqdm(total=round(total, 1), initial=0, desc="frames", unit="s", disable=not progress, leave=False,
               position=0, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}s [{elapsed}<{remaining}]")
    analyzer = (face_factory or _default_face_factory)(s) if meta.has_video else None
    loud = _loud(folder, path, meta) if analyzer is not None else []
    loud_starts = [a for a, _ in loud]
    due = start_t
    if done and analyzer is not None and hasattr(analyzer, "set_state"):
        saved = _load_state(folder)[1]
        analyzer.set_state(saved["analyzer"])
        due = max(start_t, saved["due"])
    todo: list[TimeWindow] | None = None
    speech: SpeechTrack | None = None
    wi, buf, written, seen = 0, deque(), 0, start_t
    try:
        with open(folder / "records.jsonl", "a") as rec_f, open(folder / "frames.jsonl", "a") as fr_f:
            def flush_until(t: float) -> bool:
                """Write every window that ends by `t`. Until the speech pass is done (windows unknown),
                frames wait in memory: at most MAX_PENDING_FRAMES of them, then the frame pass waits."""
                nonlocal wi, written, todo, speech
                if todo is None:
                    if not plan.ready() and t != float("inf") and len(buf) < MAX_PENDING_FRAMES:
                        return True
                    windows, speech = plan.get()
                    todo = windows[done:]
                while wi < len(todo) and t >= todo[wi].end:
                    w = todo[wi]
                    inside = []
                    while buf and buf[0].t < w.end:  # buf is in time order
                        f = buf.popleft()
                        if f.t >= w.start:
                            inside.append(f)
                    rec = summarise_window(done + wi, w, inside, speech)
                    fr_f.write("".join(f.model_dump_json() + "\n" for f in inside))
                    fr_f.flush()
                    rec_f.write(rec.model_dump_json() + "\n")
                    rec_f.flush()
                    wi += 1
                    written += 1
                    # checkpoint only when no analysed frame lies past this window (not so while
                    # catching up after the speech pass): a resumed run then sees what this one saw
                    if (done + wi) % STATE_EVERY == 0 and not buf:
                        _save_state(folder, done + wi, analyzer, due)
                    if stop_after is not None and written >= stop_after:
                        return False
                return True

            if analyzer is not None:
                # adaptive sampling: frames before `due` (the last reading said they are dull) are
                # neither analysed nor even converted from YUV
                frames = iter_frames(path, fps=config.sample_fps, max_side=config.max_side, start=start_t,
                                     want=lambda t: t + 1e-6 >= due)
                with closing(frames):
                    for t, rgb in frames:
                        if not flush_until(t):
                            return False
                        frame = analyzer.analyze(t, rgb)
                        buf.append(frame)
                        due = t + next_gap(frame, config.sample_fps, _inside(loud, loud_starts, t))
                        bar.update(t - seen)
                        seen = t
                        report("analysing frames" + ("" if plan.ready() else " (speech in parallel)"),
                               min(0.98, (t - start_t) / total))
            if not plan.ready():
                report("finishing the speech pass", 0.98)
            return flush_until(float("inf"))
    finally:
        bar.close()
        if analyzer is not None and hasattr(analyzer, "close"):
            analyzer.close()


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
    n = sum(1 for _ in _lines(folder / "records.jsonl")) if folder.exists() else 0
    done = (folder / "done.json").exists()
    other = sorted(p.name for p in folder.parent.iterdir() if p.is_dir() and p != folder) \
        if folder.parent.exists() else []
    return {"video": meta.path, "hash": meta.sha256, "config": config.key(), "folder": str(folder),
            "windows_done": n, "windows_total": len(windows), "complete": done,
            "summary": json.loads((folder / "done.json").read_text()) if done else None,
            "other_configs_cached": other}
