"""Speech: voice activity (silero VAD inside faster-whisper) and ASR with word times.

CPU default: faster-whisper (CTranslate2, int8) with the packaged model from `tools.provision`.
GPU upgrade: whisperx (batched ASR + wav2vec2 forced alignment), used only when it is installed,
with models from local paths (`AFFECTLENS_MODEL_PATHS` keys "whisperx" and "whisperx-align").
Both return `list[SpeechSegment]` with times in absolute video seconds. Nothing is downloaded.

Licences: faster-whisper, ctranslate2, silero VAD: MIT.
"""

from __future__ import annotations

import importlib.util
import os
import time
from typing import Protocol

import numpy as np

from tools.errors import ModelMissing
from tools.provision import resolve, whisper_name
from tools.schemas import Evidence, SpeechSegment, TimeWindow, Word
from tools.settings import Settings, get_settings

ASR_SR = 16000
MAX_COMPRESSION = 2.4  # whisper's threshold for a failed (looping) decode


def _to_16k(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz. Another rate is resampled by soxr (anti-aliased: what lies above 8 kHz is
    filtered out, not folded into the speech band as linear interpolation did)."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim > 1:
        a = a.mean(axis=-1 if a.shape[-1] <= 8 else 0).astype(np.float32)
    if sr == ASR_SR or a.size == 0:
        return np.ascontiguousarray(a)
    import soxr

    return soxr.resample(a, sr, ASR_SR, quality="HQ").astype(np.float32)


def vad_segments(audio: np.ndarray, sr: int = 16000, threshold: float = 0.5,
                 min_speech_ms: int = 250, min_silence_ms: int = 500,
                 pad_ms: int = 100) -> list[tuple[float, float]]:
    """Speech regions as (start_s, end_s), relative to the start of `audio`.

    Uses silero VAD (ONNX, bundled in faster-whisper). Silence, noise and empty input give []."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    a = _to_16k(audio, sr)
    if a.size < ASR_SR // 10 or not np.isfinite(a).all() or float(np.abs(a).max()) < 1e-6:
        return []
    opts = VadOptions(threshold=threshold, min_speech_duration_ms=min_speech_ms,
                      min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms)
    stamps = get_speech_timestamps(a, vad_options=opts, sampling_rate=ASR_SR)
    dur = a.size / ASR_SR
    return [(round(max(0.0, s["start"] / ASR_SR), 3), round(min(dur, s["end"] / ASR_SR), 3))
            for s in stamps if s["end"] > s["start"]]


class SpeechTranscriber(Protocol):
    def transcribe(self, audio: np.ndarray, sr: int = 16000, offset: float = 0.0,
                   language: str | None = None) -> list[SpeechSegment]: ...


def _clean_words(words: list[Word]) -> list[Word]:
    """Make word times monotonic and non-degenerate (ASR can emit overlaps / zero-length words)."""
    out: list[Word] = []
    last = -1.0
    for w in words:
        s = max(w.start, last if last >= 0 else w.start)
        e = max(w.end, s)
        out.append(Word(text=w.text, start=round(s, 3), end=round(e, 3), prob=w.prob))
        last = e
    return out


def split_models(spec: str) -> tuple[str, str]:
    """"tiny.en+base" -> ("tiny.en", "base"): the model for English speech and the one for any other
    language ("" when one model reads everything)."""
    english, _, other = spec.partition("+")
    return english, other


class Transcriber:
    """faster-whisper on CPU (int8). Loads its models once; `transcribe` may be called many times.

    The `whisper` setting names one model ("base") or two ("tiny.en+base", the default): then the spoken
    language of each audio chunk is detected first (faster-whisper's detect_language on the multilingual
    model, over the first 30 s of speech the VAD finds), English speech is read by the small English model
    and any other language by the multilingual one, told the language it heard."""

    def __init__(self, settings: Settings | None = None, model: str | None = None,
                 cpu_threads: int | None = None, device: str = "cpu") -> None:
        s = settings or get_settings()
        english, other = split_models(model or s.whisper)
        self.device = device
        self._threads = int(cpu_threads or getattr(s, "cpu_threads", None) or 2)
        self._model, self.model_path = self._load(english)
        self.english_only = english.endswith(".en") or not self._model.model.is_multilingual
        self._other = None
        if other:
            self._other, self.other_path = self._load(other)
            if not self._other.model.is_multilingual:
                raise ModelMissing(f"whisper model '{other}' is English-only: the model for other languages "
                                   "must be multilingual (e.g. base)")
        self.language_seconds = 0.0  # time spent detecting languages (for cost reports)

    def _load(self, name: str):
        from faster_whisper import WhisperModel

        path = name if os.path.isdir(name) else str(resolve(whisper_name(name)))
        return WhisperModel(path, device=self.device, compute_type="int8" if self.device == "cpu" else "float16",
                            cpu_threads=self._threads), path

    def detect_language(self, audio: np.ndarray, sr: int = 16000) -> tuple[str, float] | None:
        """(language code, probability) of the speech in `audio`, or None without a multilingual model or
        without speech."""
        det = self._other if self._other is not None else (None if self.english_only else self._model)
        if det is None:
            return None
        a = _to_16k(audio, sr)
        if not vad_segments(a):
            return None
        t0 = time.perf_counter()
        lang, prob, _ = det.detect_language(a, vad_filter=True)
        self.language_seconds += time.perf_counter() - t0
        return lang, float(prob)

    def transcribe(self, audio: np.ndarray, sr: int = 16000, offset: float = 0.0,
                   language: str | None = None) -> list[SpeechSegment]:
        """Segments with words; times are `offset` + seconds into `audio`. [] for silence/empty."""
        a = _to_16k(audio, sr)
        if a.size < ASR_SR // 10 or float(np.abs(a).max(initial=0.0)) < 1e-6:
            return []
        model = self._model
        if self._other is not None:
            if language is None:
                found = self.detect_language(a, ASR_SR)
                language = found[0] if found else "en"
            if language != "en":
                model = self._other
        if model is self._model and self.english_only:
            language = "en"
        # Greedy decoding at temperature 0 only: deterministic (the same video gives the same index)
        # and bounded. Whisper's temperature fallback re-decodes a 30 s window up to 5 more times with
        # sampling; on speech the model cannot read (another language for an .en model) that made ASR
        # 7x slower (RTF 0.34 vs 0.05) and random. A decode that fails whisper's own test (compression
        # ratio > 2.4: the decoder looped) keeps its segment times (speech was there: prosody still
        # measures it) but no text.
        segs, info = model.transcribe(
            a, language=language, beam_size=1, word_timestamps=True, vad_filter=True,
            condition_on_previous_text=False, temperature=0.0)
        dur = a.size / ASR_SR
        out: list[SpeechSegment] = []
        for seg in segs:
            text = seg.text.strip()
            if not text:
                continue
            words = [Word(text=w.word.strip(), start=offset + min(max(w.start, 0.0), dur),
                          end=offset + min(max(w.end, 0.0), dur), prob=round(float(w.probability), 4))
                     for w in (seg.words or []) if w.word.strip()]
            words = _clean_words(words)
            if seg.compression_ratio > MAX_COMPRESSION:
                text = ""
            start = offset + min(max(seg.start, 0.0), dur)
            end = offset + min(max(seg.end, 0.0), dur)
            if words:
                start, end = min(start, words[0].start), max(end, words[-1].end)
            out.append(SpeechSegment(start=round(start, 3), end=round(max(end, start), 3), text=text,
                                     words=words if text else [], language=info.language))
        return out


class WhisperXTranscriber:
    """GPU upgrade: whisperx batched ASR + wav2vec2 alignment, from local model dirs only.

    model_paths["whisperx"]: CTranslate2 whisper dir (default: the packaged faster-whisper model);
    model_paths["whisperx-align"]: a local wav2vec2 CTC dir for word alignment (optional: without it
    whisperx's own word times are skipped and segment-level times are spread over the words)."""

    def __init__(self, settings: Settings | None = None, device: str = "cuda",
                 compute_type: str = "float16", batch_size: int = 16) -> None:
        try:
            import whisperx
        except ImportError as e:  # pragma: no cover - GPU extra
            raise ModelMissing("whisperx is not installed (GPU extra): pip install 'affectlens[gpu]'") from e
        s = settings or get_settings()
        asr = s.model_paths.get("whisperx") or str(resolve(whisper_name(split_models(s.whisper)[-1] or s.whisper)))
        self._wx = whisperx
        self.device, self.batch_size = device, batch_size
        self._model = whisperx.load_model(asr, device, compute_type=compute_type if device == "cuda" else "int8",
                                          vad_method="silero")
        self._align_path = s.model_paths.get("whisperx-align")
        self._align: dict[str, tuple] = {}

    def _aligner(self, lang: str):  # pragma: no cover - GPU extra
        if not self._align_path:
            return None
        if lang not in self._align:
            self._align[lang] = self._wx.load_align_model(
                language_code=lang, device=self.device, model_name=self._align_path)
        return self._align[lang]

    def transcribe(self, audio: np.ndarray, sr: int = 16000, offset: float = 0.0,
                   language: str | None = None) -> list[SpeechSegment]:  # pragma: no cover - GPU extra
        a = _to_16k(audio, sr)
        if a.size < ASR_SR // 10 or float(np.abs(a).max(initial=0.0)) < 1e-6:
            return []
        res = self._model.transcribe(a, batch_size=self.batch_size, language=language)
        lang = res.get("language") or language or "en"
        segs = res["segments"]
        al = self._aligner(lang)
        if al is not None and segs:
            segs = self._wx.align(segs, al[0], al[1], a, self.device, return_char_alignments=False)["segments"]
        out: list[SpeechSegment] = []
        for seg in segs:
            text = str(seg.get("text", "")).strip()
            if not text:
                continue
            s0, s1 = float(seg["start"]), float(seg["end"])
            raw = seg.get("words") or []
            if not raw:  # spread segment time over the words
                toks = text.split()
                step = (s1 - s0) / max(1, len(toks))
                raw = [{"word": t, "start": s0 + i * step, "end": s0 + (i + 1) * step} for i, t in enumerate(toks)]
            words, prev = [], s0
            for w in raw:
                ws = float(w.get("start", prev))
                we = float(w.get("end", ws))
                prev = we
                words.append(Word(text=str(w["word"]).strip(), start=offset + ws, end=offset + we,
                                  prob=float(w.get("score", 1.0))))
            out.append(SpeechSegment(start=round(offset + s0, 3), end=round(offset + s1, 3), text=text,
                                     words=_clean_words(words), language=lang))
        return out


def whisperx_available() -> bool:
    return importlib.util.find_spec("whisperx") is not None


def make_transcriber(settings: Settings | None = None, choice=None, model: str | None = None) -> SpeechTranscriber:
    """The ASR model `tools.backends` chose for skill "asr" (or `choice`, a `tools.backends.Choice`):
    WhisperXTranscriber when whisperx is installed and opted in (AFFECTLENS_BACKENDS asr=whisperx or
    model_paths.whisperx), else faster-whisper, on CUDA when ctranslate2 sees a GPU. No silent fallback
    here: a chosen backend that fails to load raises, so the index config never names a model it did not use."""
    from tools.backends import choose_skill

    s = settings or get_settings()
    c = choice or choose_skill("asr", s)
    if c.model == "whisperx":
        return WhisperXTranscriber(s, device=c.device)
    return Transcriber(s, model=model, device=c.device)


def words_in(segments: list[SpeechSegment], window: TimeWindow) -> list[Word]:
    """Words whose midpoint lies in the window (segment text split evenly when words are missing)."""
    out: list[Word] = []
    for seg in segments:
        words = seg.words
        if not words and seg.text.strip() and seg.end > seg.start:
            toks = seg.text.split()
            step = (seg.end - seg.start) / len(toks)
            words = [Word(text=t, start=seg.start + i * step, end=seg.start + (i + 1) * step)
                     for i, t in enumerate(toks)]
        out.extend(w for w in words if window.start <= 0.5 * (w.start + w.end) < window.end)
    return out


# Whisper's mean word probability over a window below which its words are not read for emotion and not
# kept in the index's window transcripts (what retrieval embeds; tools/index/windows.py): speech the
# model cannot read (another language for the .en model, mumbling, music) comes out as fluent-looking
# English nonsense ("The Swatsine Black Papilla will visit ..." for German), and the words reader found
# Horror, Pride or Anticipation in it. On the dev videos' speech, English segments had mean word
# probability 0.82-0.98 and German ones 0.28-0.52 (one German segment 0.97: not caught).
ASR_MIN_WORD_PROB = 0.6
# A turn (segments less than this apart) is read or not as a whole, by the median of its segments' mean
# word probabilities: within one 30-s decode window whisper copies a phrase it already wrote, so the second
# time the same German sentence is said its nonsense comes out confident (0.77-0.87 on an AMD CPU's int8
# kernels, where the first time was 0.44-0.49). The median of the turn keeps one such segment from passing.
# TURN_GAP_S (issue 27: it had been set to make one test pass; re-derived on the speech media, no test read):
# the smallest half-second step above every pause inside one speaker's utterance. The longest such pause is
# 1.24 s (silero VAD, vad_segments defaults, over the 49 EmoDB speaker-03 sentences and the 3 talk clips,
# scripts/eval_emotion.py --pauses:
# slow sad sentences 03b02Tb 1.18 s, 03b03Tc 1.24 s; whisper's word gaps on the talk clips reach 0.84 s).
TURN_GAP_S = 1.5


def turn_confidence(segments: list[SpeechSegment]) -> list[float | None]:
    """Per segment: the median of the mean word probabilities of the segments of its turn (None: no words)."""
    out: list[float | None] = [None] * len(segments)
    turn: list[int] = []
    end = float("-inf")

    def close() -> None:
        means = [float(np.mean([w.prob for w in segments[i].words])) for i in turn if segments[i].words]
        for i in turn:
            out[i] = float(np.median(means)) if means else None
    for i in sorted(range(len(segments)), key=lambda i: segments[i].start):
        if turn and segments[i].start - end > TURN_GAP_S:
            close()
            turn = []
        turn.append(i)
        end = max(end, segments[i].end) if len(turn) > 1 else segments[i].end
    close()
    return out


def transcript_evidence(segments: list[SpeechSegment], window: TimeWindow, id: str,
                        max_chars: int = 300, turns: list[float | None] | None = None) -> Evidence:
    """Evidence quoting what was said inside `window`. The quote is user content (the speech in the
    video), wrapped in quotes after `said:` so downstream prompts never treat it as instructions.
    `turns`: turn_confidence(segments), when the caller keeps it (SpeechTrack.turns)."""
    words = words_in(segments, window)
    quote = " ".join(w.text for w in words).replace('"', "'").strip()
    turns = [c for s, c in zip(segments, turn_confidence(segments) if turns is None else turns, strict=True)
             if c is not None and window.overlaps(s) and any(w in s.words for w in words)]
    if len(quote) > max_chars:
        quote = quote[: max_chars - 1].rstrip() + "…"
    unread = any(not seg.text and window.overlaps(seg) for seg in segments)
    mean = float(np.mean([w.prob for w in words])) if words else None
    conf = min([mean, *turns]) if mean is not None else None  # the window's words, or their turn, if lower
    text = (f'said: "{quote}"' if quote else "speech here, but the ASR could not read it (another language?)"
            if unread else "no speech in this window")
    if quote and conf is not None and conf < ASR_MIN_WORD_PROB:
        text = (f'said, as far as the speech recogniser could tell (word confidence {conf:.2f}: another language '
                f'or unclear speech? not read for emotion): "{quote}"')
    langs = sorted({s.language for s in segments if s.language})
    from tools.perception.text_emotion import LANGUAGES  # the words cue reads these only (emotion.words_to_read)
    readable = bool(quote) and (conf is None or conf >= ASR_MIN_WORD_PROB) and all(lg in LANGUAGES for lg in langs)
    if quote and not readable and conf is not None and conf >= ASR_MIN_WORD_PROB:
        text += f" (in {', '.join(langs)}: not read for emotion)"
    return Evidence(
        id=id, tool="speech.transcribe", modality="words", window=window,
        values={"transcript": quote, "n_words": len(words),
                "mean_word_prob": round(mean, 3) if mean is not None else None,
                "turn_word_prob": round(min(turns), 3) if turns and mean is not None else None,
                "read_for_emotion": readable,
                "language": langs[0] if langs else None},
        text=text, times=[round(w.start, 3) for w in words])
