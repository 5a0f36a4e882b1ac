"""The on-disk index: its config (part of the cache key), the speech track, the window records and
frames, read back by `VideoIndex`; atomic writes and analyzer checkpoints (what a killed run resumes from).

Cache layout: <cache_dir>/index/<content key>/<config key>/
    meta.json config.json decode.json (how much of the file could be read) speech.json shots.json loud.json frames.jsonl records.jsonl state.pkl (analyzer
    checkpoint every STATE_EVERY windows) baseline.json (neutral face per track) deltas.jsonl (per-window AU
    deltas from it) descriptors.json text.faiss shows.faiss affect.faiss done.json
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import pickle
from collections.abc import Collection, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from tools.schemas import FaceFrame, SpeechSegment, TimeWindow, VideoMeta, WindowRecord
from tools.settings import Settings

INDEX_VERSION = 13  # 13: a person begun as new whose first descriptors match an earlier person is merged into them (frames rewritten once the frame pass ends); 12: person ids from face identity (tools/perception/identity.py), per-person facial flow (PersonFace.motion), the main face's AUs against its own person's neutral; 11: decode.json (tools.index.decode.check_decode): windows past a damaged file's last readable time are left out; 10: a window's transcript also leaves out words of a turn the ASR was unsure of (speech.turn_confidence); 9: shows.faiss (descriptors with the picture, for descriptions); 8: picture numbers per frame and window (FaceFrame.scene, WindowRecord.scene); 7: a window's transcript leaves out words the ASR was unsure of (mean prob < 0.6); 6: FaceFrame.motion_dy, baseline.json + deltas.jsonl (neutral face per track); 5: content_key
STATE_EVERY = 4  # windows between analyzer-state checkpoints (what a killed run resumes from)


class IndexConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = INDEX_VERSION
    # the defaults are the settings' own (tools/settings.py), defined there once
    sample_fps: float = Settings.model_fields["sample_fps"].default
    window_s: float = Settings.model_fields["window_s"].default
    max_side: int = Settings.model_fields["frame_max_side"].default
    whisper: str = Settings.model_fields["whisper"].default
    # The model behind each skill that shapes the index (tools/backends.py: {skill: model[@device][:path]}),
    # so indexes built with different models never share a cache folder.
    backends: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_settings(cls, s: Settings) -> IndexConfig:
        from tools.backends import index_backends
        return cls(sample_fps=s.sample_fps, window_s=s.window_s, max_side=s.frame_max_side, whisper=s.whisper,
                   backends=index_backends(s))

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
    emotion: dict[str, float] = Field(default_factory=dict, description="speech-emotion model output, if one ran")


class SpeechTrack(BaseModel):
    segments: list[SpeechSegment] = Field(default_factory=list)
    voice: list[VoiceSegment] = Field(default_factory=list)
    speech_s: float = 0.0
    _mids: list[float] | None = PrivateAttr(default=None)
    _texts: list[str] = PrivateAttr(default_factory=list)
    _probs: list[float] = PrivateAttr(default_factory=list)
    _turns: list[float] = PrivateAttr(default_factory=list)
    _langs: list[str] = PrivateAttr(default_factory=list)
    _seg_turns: list[float | None] | None = PrivateAttr(default=None)

    @property
    def turns(self) -> list[float | None]:
        """tools.perception.speech.turn_confidence of the segments, computed once."""
        if self._seg_turns is None:
            from tools.perception.speech import turn_confidence
            self._seg_turns = turn_confidence(self.segments)
        return self._seg_turns

    def text_in(self, w: TimeWindow, min_prob: float = 0.0, languages: Collection[str] | None = None) -> str:
        """Words (or, for segments without word times, segment texts) whose middle lies in `w`; found by
        bisection over a time-sorted list built once, since every window of the video asks. "" when their
        mean recognition probability, or that of the turn one of them belongs to, is below `min_prob`
        (speech the ASR could not really read: see tools.perception.speech.ASR_MIN_WORD_PROB).
        `languages`: only the words of segments in one of these languages (a segment without a language,
        from an English-only model, counts as English)."""
        if self._mids is None:
            items = sorted((0.5 * (x.start + x.end), x.text, float(getattr(x, "prob", 1.0)),
                            1.0 if turn is None else turn, s.language or "en")
                           for s, turn in zip(self.segments, self.turns, strict=True)
                           for x in (s.words or [s]))
            self._mids, self._texts = [it[0] for it in items], [it[1] for it in items]
            self._probs, self._turns = [it[2] for it in items], [it[3] for it in items]
            self._langs = [it[4] for it in items]
        lo, hi = bisect.bisect_left(self._mids, w.start), bisect.bisect_left(self._mids, w.end)
        if min_prob and hi > lo and (sum(self._probs[lo:hi]) / (hi - lo) < min_prob
                                     or min(self._turns[lo:hi]) < min_prob):  # speech.turn_confidence
            return ""
        return " ".join(t.strip() for t, lang in zip(self._texts[lo:hi], self._langs[lo:hi], strict=True)
                        if t.strip() and (languages is None or lang in languages))


class IndexSummary(BaseModel):
    windows: int
    face_frames: int
    frames: int
    speech_s: float
    seconds: float
    realtime_factor: float
    cached: bool


class VideoIndex:
    """Read access to a finished index (records, frames, speech, vectors).

    A damaged file (`decode`: tools.index.decode.check_decode, stored in decode.json the first time the
    index is opened, i.e. when it is built) keeps only the windows that were read: a window that ends
    past the last readable time, or that lies in an unreadable stretch with no frame read, is unknown,
    not "no face" or "silence", and nothing (retrieval, presence, the tools) answers from it."""

    def __init__(self, folder: Path, meta: VideoMeta, config: IndexConfig):
        self.folder, self.meta, self.config = folder, meta, config
        self._decode = _decode_check(folder, meta)
        self.records = [r for r in (WindowRecord.model_validate_json(x) for x in read_lines(folder / "records.jsonl"))
                        if not self.unknown(r.window, r.n_frames)]
        self.speech = SpeechTrack.model_validate_json((folder / "speech.json").read_text())
        self._frames: list[FaceFrame] | None = None
        self._times: list[float] | None = None
        self._baselines: dict | None = None
        done = folder / "done.json"
        self.summary = IndexSummary.model_validate_json(done.read_text()) if done.exists() else None

    @property
    def frames(self) -> list[FaceFrame]:
        if self._frames is None:
            self._frames = [FaceFrame.model_validate_json(x) for x in read_lines(self.folder / "frames.jsonl")]
        return self._frames

    def frames_in(self, w: TimeWindow) -> list[FaceFrame]:
        frames = self.frames  # sorted by time (written in decode order)
        if self._times is None:
            self._times = [f.t for f in frames]
        return frames[bisect.bisect_left(self._times, w.start):bisect.bisect_left(self._times, w.end)]

    def baseline(self, track: str = "main"):
        """The track's neutral face (tools.perception.baseline.NeutralBaseline): stored in baseline.json
        when the index was built, else fitted from the frames now."""
        from tools.perception.baseline import NeutralBaseline, fit_baseline
        if self._baselines is None:
            f = self.folder / "baseline.json"
            self._baselines = ({k: NeutralBaseline.model_validate(v) for k, v in json.loads(f.read_text()).items()}
                               if f.exists() else {"main": fit_baseline(self.frames)})
        return self._baselines.get(track)

    def records_in(self, w: TimeWindow) -> list[WindowRecord]:
        return [r for r in self.records if r.window.overlaps(w)]

    _decode = None

    @property
    def decode(self):
        """The file's tools.index.decode.DecodeCheck (None: not checked); a view of the index (a person's,
        tools.people.PersonIndex) reads its base index's."""
        base = getattr(self, "base", None)
        return self._decode if self._decode is not None or base is None else base.decode

    @property
    def seen_until(self) -> float:
        """The time up to which the file could be read: its duration, or where a damaged file stops."""
        d = self.decode.damaged_after if self.decode is not None else None
        return self.meta.duration if d is None else d

    def unknown(self, w: TimeWindow, n_frames: int = 0) -> bool:
        """Whether nothing can be said about `w`: it ends past the last readable time (by more than
        decode.SHORT_S, the tolerance the damage itself is found with), or it lies in an unreadable stretch
        and no frame of it was read."""
        from tools.index.decode import SHORT_S
        if self.decode is None:
            return False
        if w.end > self.seen_until + SHORT_S:
            return True
        bad = self.decode.unreadable
        return bool(bad) and n_frames == 0 and self.meta.has_video and w.start < bad[1] and w.end > bad[0]

    def damage_flag(self) -> str | None:
        """The answer flag for a damaged file (ui.notes words it for people), or None."""
        return damage_flag(self.decode)


def damage_flag(check) -> str | None:
    """"damaged_video: after 12.0" (nothing read after 12.0 s) or "damaged_video: unreadable 9.7-12.0"."""
    if check is None or not check.damaged:
        return None
    if check.damaged_after is not None:
        return f"damaged_video: after {check.damaged_after:.1f}"
    return f"damaged_video: unreadable {check.unreadable[0]:.1f}-{check.unreadable[1]:.1f}"


def _decode_check(folder: Path, meta: VideoMeta):
    """decode.json, written on first use (the build); None when it is missing and the file is gone."""
    from tools.index.decode import DecodeCheck, check_decode
    f = folder / "decode.json"
    if f.exists():
        return DecodeCheck.model_validate_json(f.read_text())
    try:
        check = check_decode(meta.path, meta)
    except Exception:  # noqa: BLE001 - a moved or unreadable file: the index stays usable, unchecked
        return None
    atomic_write(f, check.model_dump_json(indent=1))
    return check


def drop_index(folder: Path) -> None:
    """Delete one index folder (`affectlens index VIDEO --force` re-indexes from scratch)."""
    import shutil
    shutil.rmtree(folder, ignore_errors=True)



def speaks(r: WindowRecord) -> bool:
    """Whether anyone is heard speaking in a window: words were read there, or a voiced segment with an
    arousal score overlaps it (the one definition: localise, verify and the arc read it)."""
    return bool(r.transcript.strip()) or r.arousal is not None


def read_lines(path: Path) -> Iterator[str]:
    if not path.exists():
        return iter(())
    with open(path) as f:
        return iter([ln for ln in f.read().splitlines() if ln.strip()])


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def index_folder(meta: VideoMeta, config: IndexConfig, settings: Settings) -> Path:
    return settings.cache_dir / "index" / meta.content_key / config.key()




def load_state(folder: Path) -> tuple[int, dict | None]:
    """(windows done at the checkpoint, {"analyzer": state, "due": next sample time}) or (0, None)."""
    try:
        with open(folder / "state.pkl", "rb") as f:
            st = pickle.load(f)
        return int(st["windows"]), st
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, AttributeError):
        return 0, None


def save_state(folder: Path, windows: int, analyzer, due: float) -> None:
    if analyzer is None or not hasattr(analyzer, "get_state"):
        return
    tmp = folder / "state.pkl.tmp"
    with open(tmp, "wb") as f:
        pickle.dump({"windows": windows, "analyzer": analyzer.get_state(), "due": due}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, folder / "state.pkl")


def resume_point(folder: Path) -> int:
    """Number of finished windows to keep: those up to the last analyzer-state checkpoint (so resumed
    frames see the same tracks and baselines as an uninterrupted run); drops any half-written tail."""
    rec_path, fr_path = folder / "records.jsonl", folder / "frames.jsonl"
    checkpoint, _ = load_state(folder)
    records = []
    for ln in read_lines(rec_path):
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
    for ln in read_lines(fr_path):
        try:
            f = FaceFrame.model_validate_json(ln)
        except ValueError:
            break
        if f.t < cut:
            frames.append(ln)
    atomic_write(rec_path, "".join(r.model_dump_json() + "\n" for r in records))
    atomic_write(fr_path, "".join(x + "\n" for x in frames))
    return len(records)
