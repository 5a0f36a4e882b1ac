"""Voice prosody → arousal, without speech-emotion weights (the honest CPU default).

Features per segment, numpy and scipy.signal: F0 by a vectorised YIN tracker (75–500 Hz, voiced frames only:
median level, p90–p10 range in semitones, slope), RMS loudness (dB level, variability), speaking rate
(syllable nuclei = voiced energy peaks per second of speech, or words/s when words are given),
pause ratio, and a cheap voice-quality cue (alpha ratio: 1–5 kHz vs 50 Hz–1 kHz energy, dB).

Arousal is relative to the speaker's own baseline in the same recording: robust z-scores of
pitch, pitch range, loudness, alpha ratio and rate against the median over all segments, combined
with fixed signs and squashed by tanh to [-1, 1] (0 = the speaker's typical voice, > 0 = more
aroused/activated, < 0 = calmer/flatter). It says nothing about valence (happy vs angry are both
aroused): valence comes from the words. A real SER model can be plugged in by path (`LocalSERModel`).

Licence: numpy, scipy and our own code (no GPL praat-parselmouth, no openSMILE research licence).

Why the YIN tracker is still hand-written (measured on 20 EmoDB files, 44 s of speech, this 2-core CPU):
librosa 0.11 is the maintained alternative, but it brings numba + llvmlite (~210 MB), its first `yin`
call spends 65 s compiling, `pyin` takes 19.4 s where this takes 0.67 s, and `librosa.yin` returns no
aperiodicity, which the voicing decision here needs (F0 agrees: median |difference| 0.02-0.07 st).
Median filter (scipy.ndimage) and peak picking (scipy.signal.find_peaks) come from scipy.

Over 350 lines on purpose: one signal chain (F0 tracker → features → arousal model → evidence) whose
steps share frame sizes and units; split, each part would need the others' constants.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import find_peaks
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import ModelMissing
from tools.schemas import Evidence, TimeWindow, Word
from tools.settings import Settings, get_settings

FMIN, FMAX = 75.0, 500.0
HOP_S, WIN_S = 0.010, 0.040


class VoiceFeatures(BaseModel):
    """Prosodic measurements of one stretch of audio. None where there was too little voicing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: float
    end: float
    speech_s: float = Field(ge=0, description="seconds with speech energy")
    voiced_ratio: float = Field(ge=0, le=1, description="voiced frames / speech frames")
    f0_median_hz: float | None = None
    f0_range_st: float | None = Field(default=None, description="p90 - p10 of F0, semitones")
    f0_slope_st_s: float | None = Field(default=None, description="linear F0 trend, semitones/s")
    loudness_db: float | None = Field(default=None, description="mean RMS level of speech frames, dBFS")
    loudness_std_db: float | None = None
    syllable_rate: float | None = Field(default=None, description="syllable nuclei per second of speech")
    word_rate: float | None = Field(default=None, description="words per second of speech (if words given)")
    pause_ratio: float | None = Field(default=None, description="non-speech share between first and last speech")
    alpha_ratio_db: float | None = Field(default=None, description="1-5 kHz vs 0.05-1 kHz energy, voiced frames")

    @property
    def rate(self) -> float | None:
        return self.word_rate if self.word_rate is not None else self.syllable_rate


# ---------------------------------------------------------------- frame analysis

def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    n = 1 + (x.size - win) // hop
    return np.lib.stride_tricks.as_strided(x, shape=(n, win), strides=(x.strides[0] * hop, x.strides[0]),
                                           writeable=False)


def yin_f0(frames: np.ndarray, sr: int, fmin: float = FMIN, fmax: float = FMAX,
           threshold: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """YIN per frame (rows of `frames`): (f0 Hz, aperiodicity = CMNDF minimum). f0 = 0 when none found."""
    n, win = frames.shape
    tmax = min(int(sr / fmin), win // 2)
    tmin = max(2, int(sr / fmax))
    w2 = win - tmax
    nfft = 1 << int(math.ceil(math.log2(win + w2)))
    f0 = np.zeros(n)
    ap = np.ones(n)
    for s in range(0, n, 2048):  # bounded memory on long inputs
        fr = frames[s:s + 2048].astype(np.float64)
        fr = fr - fr.mean(axis=1, keepdims=True)
        r = np.fft.irfft(np.conj(np.fft.rfft(fr[:, :w2], nfft)) * np.fft.rfft(fr, nfft), nfft)[:, :tmax + 1]
        c = np.concatenate([np.zeros((fr.shape[0], 1)), np.cumsum(fr ** 2, axis=1)], axis=1)
        taus = np.arange(tmax + 1)
        e0 = c[:, w2:w2 + 1]
        et = c[:, taus + w2] - c[:, taus]
        d = np.maximum(e0 + et - 2 * r, 0.0)
        d[:, 0] = 0.0
        cm = np.cumsum(d[:, 1:], axis=1)
        dn = np.ones_like(d)
        dn[:, 1:] = d[:, 1:] * np.arange(1, tmax + 1) / np.maximum(cm, 1e-12)
        seg = dn[:, tmin:tmax]
        below = seg < threshold
        first = np.where(below.any(axis=1), below.argmax(axis=1), seg.argmin(axis=1))
        idx = first.copy()
        for _ in range(tmax):  # walk down to the local minimum after the first dip
            nxt = np.minimum(idx + 1, seg.shape[1] - 1)
            move = seg[np.arange(len(idx)), nxt] < seg[np.arange(len(idx)), idx]
            if not move.any():
                break
            idx = np.where(move, nxt, idx)
        rows = np.arange(len(idx))
        t = idx + tmin
        a = dn[rows, np.maximum(t - 1, 1)]
        b = dn[rows, t]
        cc = dn[rows, np.minimum(t + 1, tmax)]
        den = a - 2 * b + cc
        shift = np.where(np.abs(den) > 1e-12, 0.5 * (a - cc) / np.where(den == 0, 1, den), 0.0)
        tau = t + np.clip(shift, -1, 1)
        f0[s:s + len(idx)] = sr / tau
        ap[s:s + len(idx)] = b
    return f0, ap


NUCLEUS_PROM_DB = 2.0  # a syllable nucleus stands >= 2 dB above its valleys. Kept from the hand-written
# peak picker this replaces; on EmoDB speaker 03 (49 sentences whose syllable counts are known from their
# texts) 1.0-2.0 dB move the count error by < 0.2 syllable (MAE 3.51-3.71; docs/results.md "Library swaps")


def _nuclei(env: np.ndarray, min_dist: int, min_prom: float) -> np.ndarray:
    """Peaks of `env` at least `min_dist` frames apart (the higher one kept) whose prominence (scipy's,
    within 3 * min_dist each side) is >= min_prom. Prominence is tested before spacing, so a tall but
    flat bump does not hide a prominent neighbour."""
    reach = 3 * min_dist
    pk, _ = find_peaks(env, prominence=min_prom, wlen=2 * reach + 1)
    if pk.size < 2:
        return pk
    only = np.full(env.size, -np.inf)
    only[pk] = env[pk]
    kept, _ = find_peaks(only, distance=min_dist)
    return kept


def voice_features(audio: np.ndarray, sr: int = 16000, start: float = 0.0, end: float | None = None,
                   words: Sequence[Word] | None = None, offset: float = 0.0) -> VoiceFeatures:
    """Prosody of `audio[start:end]` (seconds into `audio`). Reported times are `offset` + those.

    `words` (absolute times, e.g. from ASR) give a words/s rate for the words whose middle is inside."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    end = x.size / sr if end is None else end
    i0, i1 = max(0, int(round(start * sr))), min(x.size, int(round(end * sr)))
    x = x[i0:i1].astype(np.float64)
    t0, t1 = offset + start, offset + max(end, start)
    hop, win = int(round(HOP_S * sr)), int(round(WIN_S * sr))
    if x.size < win or not np.isfinite(x).all() or np.abs(x).max() < 1e-5:
        return VoiceFeatures(start=t0, end=t1, speech_s=0.0, voiced_ratio=0.0)
    fr = _frames(x, win, hop)
    rms = np.sqrt(np.mean((fr - fr.mean(axis=1, keepdims=True)) ** 2, axis=1))
    db = 20 * np.log10(rms + 1e-9)
    # speech frames: within 30 dB of the loud frames and above an absolute floor (-55 dBFS)
    speech = db > max(np.percentile(db, 95) - 30.0, -55.0)
    n_speech = int(speech.sum())
    speech_s = n_speech * HOP_S
    if n_speech < 5:
        return VoiceFeatures(start=t0, end=t1, speech_s=round(speech_s, 3), voiced_ratio=0.0)

    f0, ap = yin_f0(fr, sr)
    voiced = speech & (ap < 0.3) & (f0 >= FMIN) & (f0 <= FMAX)
    # octave-jump cleanup: median filter over voiced frames, then drop points > 7 st off the track
    vi = np.where(voiced)[0]
    fv = f0[vi]
    if fv.size >= 5:
        smooth = median_filter(fv, size=5, mode="nearest")  # edges repeat the end values
        ok = np.abs(12 * np.log2(fv / smooth)) < 7
        vi, fv = vi[ok], fv[ok]
    out: dict[str, float | None] = {}
    if fv.size >= 10:
        st = 12 * np.log2(fv / 100.0)
        med = float(np.median(fv))
        out["f0_median_hz"] = round(med, 2)
        out["f0_range_st"] = round(float(np.percentile(st, 90) - np.percentile(st, 10)), 3)
        tt = vi * HOP_S
        if np.ptp(tt) > 0.2:
            out["f0_slope_st_s"] = round(float(np.polyfit(tt, st, 1)[0]), 3)
    sp_db = db[speech]
    out["loudness_db"] = round(float(10 * np.log10(np.mean(10 ** (sp_db / 10)))), 3)
    out["loudness_std_db"] = round(float(np.std(sp_db)), 3)

    # voice quality: alpha ratio on voiced frames (Hann window, summed power spectrum)
    use = vi if vi.size else np.where(speech)[0]
    spec = np.abs(np.fft.rfft(fr[use] * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1.0 / sr)
    p = spec.sum(axis=0)
    lo = p[(freqs >= 50) & (freqs < 1000)].sum()
    hi = p[(freqs >= 1000) & (freqs < min(5000, sr / 2))].sum()
    if lo > 0 and hi > 0:
        out["alpha_ratio_db"] = round(float(10 * np.log10(hi / lo)), 3)

    # syllable nuclei: voiced peaks of the smoothed loudness envelope, >= 2 dB prominent, >= 100 ms apart
    k = np.hanning(7)
    env = np.convolve(db, k / k.sum(), mode="same")
    pk = _nuclei(env, min_dist=int(0.1 / HOP_S), min_prom=NUCLEUS_PROM_DB)
    vmask = np.zeros_like(speech)
    vmask[vi] = True
    pk = [i for i in pk if vmask[max(0, i - 2):i + 3].any() and env[i] > np.percentile(sp_db, 25)]
    out["syllable_rate"] = round(len(pk) / speech_s, 3) if speech_s > 0.3 else None
    if words is not None and speech_s > 0.3:
        n_w = sum(1 for w in words if t0 <= 0.5 * (w.start + w.end) < t1)
        out["word_rate"] = round(n_w / speech_s, 3)
    si = np.where(speech)[0]
    span = si[-1] - si[0] + 1
    out["pause_ratio"] = round(float(1 - n_speech / span), 3) if span > 0 else None
    return VoiceFeatures(start=round(t0, 3), end=round(t1, 3), speech_s=round(speech_s, 3),
                         voiced_ratio=round(float(vi.size / n_speech), 3), **out)


# ---------------------------------------------------------------- arousal

def loudness_db(audio: np.ndarray, sr: int = 16000, hop_s: float = 0.5) -> np.ndarray:
    """RMS level in dBFS of each `hop_s` stretch of `audio` (a coarse envelope, cheap for hours)."""
    hop = max(1, int(round(hop_s * sr)))
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    n = x.size // hop
    if n == 0:
        return np.zeros(0, np.float32)
    fr = x[: n * hop].reshape(n, hop).astype(np.float64)
    return (10 * np.log10(np.mean(fr * fr, axis=1) + 1e-12)).astype(np.float32)


def loud_spans(levels: np.ndarray, hop_s: float = 0.5, above_db: float = 6.0,
               pad_s: float = 0.5) -> list[tuple[float, float]]:
    """Stretches where the sound is `above_db` louder than the recording's typical sounding level (the
    median over stretches within 30 dB of its loudest): the cheapest voice-arousal cue, known before any
    ASR. `levels` from `loudness_db`; spans padded by `pad_s` and merged, in seconds."""
    if levels.size == 0:
        return []
    sounding = levels[levels > max(float(np.percentile(levels, 95)) - 30.0, -55.0)]
    if sounding.size < 4:
        return []
    loud = np.flatnonzero(levels >= float(np.median(sounding)) + above_db)
    spans: list[tuple[float, float]] = []
    for i in loud:
        a, b = max(0.0, i * hop_s - pad_s), (i + 1) * hop_s + pad_s
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return [(round(a, 3), round(b, 3)) for a, b in spans]


class ArousalScore(BaseModel):
    """Arousal of one segment relative to the speaker baseline. score in [-1, 1] (tanh), 0 = typical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float = Field(ge=-1, le=1)
    z: dict[str, float] = Field(default_factory=dict, description="robust z per cue used")
    pitch_st: float | None = Field(default=None, description="F0 median vs speaker median, semitones")
    loudness_db: float | None = Field(default=None, description="loudness vs speaker median, dB")
    rate_ratio: float | None = Field(default=None, description="rate / speaker median rate")


def _cues(f: VoiceFeatures) -> dict[str, float]:
    c: dict[str, float] = {}
    if f.f0_median_hz:
        c["pitch"] = 12 * math.log2(f.f0_median_hz / 100.0)
    if f.f0_range_st is not None:
        c["pitch_range"] = f.f0_range_st
    if f.loudness_db is not None:
        c["loudness"] = f.loudness_db
    if f.alpha_ratio_db is not None:
        c["alpha_ratio"] = f.alpha_ratio_db
    if f.rate is not None:
        c["rate"] = f.rate
    return c


class ArousalModel:
    """Speaker-relative arousal. `fit` on all segments of one recording (one speaker), then `score`.

    score = tanh(sum_k w_k * clip(z_k, -3, 3) / sum_k w_k * gain), z_k = (cue - median) / robust scale
    (1.4826 * MAD, floored so a uniform recording doesn't blow up). Fixed positive signs: higher
    pitch, wider range, louder, more high-frequency energy and faster speech = more aroused."""

    WEIGHTS = {"pitch": 1.0, "loudness": 1.0, "alpha_ratio": 0.75, "pitch_range": 0.5, "rate": 0.25}
    FLOORS = {"pitch": 1.0, "loudness": 1.5, "alpha_ratio": 1.5, "pitch_range": 1.0, "rate": 0.5}

    def __init__(self, gain: float = 1.5) -> None:
        self.gain = gain
        self.median: dict[str, float] = {}
        self.scale: dict[str, float] = {}

    def fit(self, features: Sequence[VoiceFeatures]) -> ArousalModel:
        cues = [_cues(f) for f in features]
        for k in self.WEIGHTS:
            v = np.array([c[k] for c in cues if k in c], dtype=float)
            if v.size == 0:
                continue
            med = float(np.median(v))
            mad = float(np.median(np.abs(v - med))) * 1.4826
            self.median[k] = med
            self.scale[k] = max(mad, self.FLOORS[k])
        return self

    def score(self, f: VoiceFeatures) -> ArousalScore | None:
        """None when the segment has no usable voice or the model was fitted on nothing."""
        c = _cues(f)
        z = {k: float(np.clip((c[k] - self.median[k]) / self.scale[k], -3, 3))
             for k in self.WEIGHTS if k in c and k in self.median}
        if not z or f.speech_s < 0.3:
            return None
        wsum = sum(self.WEIGHTS[k] for k in z)
        s = math.tanh(self.gain * sum(self.WEIGHTS[k] * v for k, v in z.items()) / wsum)
        rate_ratio = (c["rate"] / self.median["rate"]) if "rate" in c and self.median.get("rate") else None
        return ArousalScore(
            score=round(s, 4), z={k: round(v, 3) for k, v in z.items()},
            pitch_st=round(c["pitch"] - self.median["pitch"], 2) if "pitch" in z else None,
            loudness_db=round(c["loudness"] - self.median["loudness"], 2) if "loudness" in z else None,
            rate_ratio=round(rate_ratio, 3) if rate_ratio is not None else None)


def arousal_scores(features: Sequence[VoiceFeatures]) -> list[ArousalScore | None]:
    """Fit the baseline on these segments (same recording) and score each of them."""
    m = ArousalModel().fit(features)
    return [m.score(f) for f in features]


# arousal above which the voice is "strongly aroused" (said so in the evidence; verify lists a voice-only
# window that fits several aroused emotions as a weak guess only above it)
STRONG_AROUSAL = 0.6


def voice_evidence(features: VoiceFeatures, arousal: ArousalScore | None, window: TimeWindow,
                   id: str) -> Evidence:
    """One sentence on the voice in `window`, e.g. 'voice aroused: pitch +3.1 st above speaker
    median, loudness +6.0 dB (arousal 0.72)'."""
    values: dict = {k: v for k, v in features.model_dump(exclude={"start", "end"}).items() if v is not None}
    if arousal is None:
        text = ("voice: too little voiced speech to judge" if features.speech_s < 0.3 or not features.f0_median_hz
                else "voice: no speaker baseline, arousal unknown")
    else:
        values.update(arousal=arousal.score, pitch_st=arousal.pitch_st, loudness_delta_db=arousal.loudness_db)
        level = ("strongly aroused" if arousal.score > STRONG_AROUSAL else "aroused" if arousal.score > 0.25
                 else "calm/flat" if arousal.score < -0.25 else "typical")
        parts = []
        if arousal.pitch_st is not None:
            parts.append(f"pitch {arousal.pitch_st:+.1f} st vs speaker median")
        if arousal.loudness_db is not None:
            parts.append(f"loudness {arousal.loudness_db:+.1f} dB")
        if arousal.rate_ratio is not None:
            parts.append(f"rate x{arousal.rate_ratio:.2f}")
        text = f"voice {level}: " + ", ".join(parts) + f" (arousal {arousal.score:+.2f})"
    values = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in values.items() if v is not None}
    return Evidence(id=id, tool="prosody.voice", modality="voice", window=window, values=values,
                    text=text, times=[features.start, features.end])


# ---------------------------------------------------------------- optional SER model (GPU extra)

class SERModel(Protocol):
    def predict(self, audio: np.ndarray, sr: int = 16000) -> dict[str, float]: ...


class LocalSERModel:
    """A local audio-classification model (wav2vec2/WavLM/emotion2vec-style HF folder) by path."""

    def __init__(self, path: str, device: int | str | None = None) -> None:
        try:
            from transformers import pipeline
        except ImportError as e:
            raise ModelMissing("speech-emotion model needs transformers (GPU extra): "
                               "pip install 'affectlens[gpu]'") from e
        self._pipe = pipeline("audio-classification", model=str(path), device=device)

    def predict(self, audio: np.ndarray, sr: int = 16000) -> dict[str, float]:
        """{label: probability} for one stretch of speech (labels as the model names them, lower-cased)."""
        out = self._pipe({"raw": np.asarray(audio, dtype=np.float32), "sampling_rate": sr}, top_k=None)
        return {str(o["label"]).lower(): float(o["score"]) for o in out}


def make_ser(settings: Settings | None = None, choice=None) -> SERModel | None:
    """The speech-emotion model `tools.backends` chose for skill "ser" (or `choice`): a LocalSERModel from
    model_paths["ser"] when that folder exists and transformers + torch are installed, on CUDA when visible;
    None (prosody-only arousal) otherwise."""
    from tools.backends import choose_skill

    c = choice or choose_skill("ser", settings or get_settings())
    if c.model != "transformers-audio-classification" or not c.path:
        return None
    return LocalSERModel(c.path, device=0 if c.device == "cuda" else "cpu")
