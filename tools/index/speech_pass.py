"""The speech pass: the soundtrack in AUDIO_CHUNK_S chunks → VAD + ASR with word times → prosody per
segment → arousal against the speaker's own baseline. `SpeechPlan` runs it in a background thread beside
the frame pass and cuts the windows along it once it is done."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tools.index.decode import load_audio
from tools.index.store import IndexConfig, SpeechTrack, VoiceSegment, atomic_write
from tools.schemas import SpeechSegment, TimeWindow, VideoMeta
from tools.settings import Settings

AUDIO_CHUNK_S = 300.0


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
    from tools.backends import choose_skill
    from tools.perception.prosody import ArousalModel, make_ser, voice_features
    from tools.perception.speech import make_transcriber

    asr, ser_choice = choose_skill("asr", settings), choose_skill("ser", settings)
    for c in (asr, ser_choice):
        if config.backends and config.backends.get(c.skill) != c.key():
            raise RuntimeError(f"index config names {c.skill}={config.backends.get(c.skill)} but the settings "
                               f"choose {c.key()}: build the config from these settings")
    transcriber = make_transcriber(settings, asr, model=config.whisper)
    ser = make_ser(settings, ser_choice)
    emotions: list[dict[str, float]] = []
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
                    if ser is not None:
                        clip = audio[max(0, int((s.start - start) * 16000)):int((s.end - start) * 16000)]
                        emotions.append({k: round(v, 4) for k, v in ser.predict(clip).items()} if clip.size >= 1600
                                        else {})
            bar.update(1)
    model = ArousalModel().fit(feats) if feats else None
    voice = []
    for i, f in enumerate(feats):
        a = model.score(f) if model else None
        voice.append(VoiceSegment(
            start=f.start, end=f.end, arousal=a.score if a else None, pitch_st=a.pitch_st if a else None,
            loudness_db=a.loudness_db if a else None, emotion=emotions[i] if i < len(emotions) else {},
            features={k: float(v) for k, v in f.model_dump(exclude={"start", "end"}).items()
                      if isinstance(v, (int, float)) and v is not None}))
    return SpeechTrack(segments=segments, voice=voice, speech_s=round(sum(s.end - s.start for s in segments), 2))




class SpeechPlan:
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
            atomic_write(self._folder / "speech.json", speech.model_dump_json())
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


def reuse_speech(folder: Path, config: IndexConfig) -> None:
    """A changed config rebuilds only what changed: speech depends on the ASR and speech-emotion models
    alone, so take it from another cached config of the same video that used the same models."""
    if (folder / "speech.json").exists():
        return
    for other in folder.parent.iterdir():
        try:
            cfg = IndexConfig.model_validate_json((other / "config.json").read_text())
        except (OSError, ValueError):
            continue
        same_models = all(cfg.backends.get(k) == config.backends.get(k) for k in ("asr", "ser"))
        if other != folder and cfg.whisper == config.whisper and cfg.version == config.version and same_models \
                and (other / "speech.json").exists():
            atomic_write(folder / "speech.json", (other / "speech.json").read_text())
            return
