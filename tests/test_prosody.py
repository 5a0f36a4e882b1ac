"""Prosody features and speaker-relative arousal (numpy only) on synthetic tones and real speech."""

from __future__ import annotations

import collections
import json
from pathlib import Path
import importlib.util

import numpy as np
import pytest

from tools.errors import ModelMissing
from tools.perception.prosody import (ArousalModel, LocalSERModel, VoiceFeatures, arousal_scores, make_ser,
                           voice_evidence, voice_features)
from tools.schemas import TimeWindow, Word
from tools.settings import Settings
from tools.index.decode import load_audio
from tests.conftest import research_glob

SR = 16000


def harmonic(f0: float, seconds: float = 2.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


@pytest.mark.parametrize("f0", [200.0, 90.0, 120.0, 350.0])
def test_f0_of_harmonic_tone(f0):
    f = voice_features(harmonic(f0), SR)
    assert f.f0_median_hz == pytest.approx(f0, rel=0.05)
    assert f.voiced_ratio > 0.9
    assert f.f0_range_st < 0.5


def test_f0_follows_a_glide_and_window():
    # 150 Hz for 1 s, then 250 Hz for 1 s: each half measured on its own
    x = np.concatenate([harmonic(150.0, 1.0), harmonic(250.0, 1.0)])
    assert voice_features(x, SR, 0.0, 1.0).f0_median_hz == pytest.approx(150.0, rel=0.05)
    second = voice_features(x, SR, 1.0, 2.0, offset=30.0)
    assert second.f0_median_hz == pytest.approx(250.0, rel=0.05)
    assert (second.start, second.end) == (31.0, 32.0)
    whole = voice_features(x, SR)
    assert whole.f0_range_st > 7  # 150 -> 250 Hz is 8.8 st
    assert whole.f0_slope_st_s > 0


def test_silence_has_no_voice():
    f = voice_features(np.zeros(2 * SR, np.float32), SR)
    assert f.speech_s == 0 and f.f0_median_hz is None
    assert ArousalModel().fit([f]).score(f) is None
    ev = voice_evidence(f, None, TimeWindow(start=0, end=2), "v0")
    assert ev.modality == "voice" and "too little" in ev.text


def test_real_speech_features(speech):
    audio = load_audio(speech / "talk_sample1.mp3", sr=SR)
    words = [Word(text=f"w{i}", start=0.3 * i, end=0.3 * i + 0.2) for i in range(30)]
    f = voice_features(audio, SR, words=words)
    assert isinstance(f, VoiceFeatures)
    assert 75 <= f.f0_median_hz <= 300
    assert 1.0 < f.f0_range_st < 15
    assert 2.0 < f.syllable_rate < 9.0
    assert f.word_rate is not None and f.word_rate > 0 and f.rate == f.word_rate
    assert 0 <= f.pause_ratio < 0.6
    assert -60 < f.loudness_db < 0 and f.loudness_std_db > 1
    assert f.alpha_ratio_db is not None


@pytest.fixture(scope="module")
def emodb() -> list[tuple[str, VoiceFeatures]]:
    """EmoDB speaker 03 (research-licensed, from ../shared only): (label letter, features) per file."""
    files = research_glob("speech/emodb_03*.wav", at_least=40)
    return [(p.name[11], voice_features(load_audio(p, sr=SR), SR)) for p in files]


def test_emodb_arousal_ordering(emodb):
    """Speaker-03 baseline fitted on all 49 EmoDB files, mean arousal per label (measured):
    happiness F +0.41 (n=7), anger W +0.40 (14), disgust E +0.17 (1), fear A +0.14 (4),
    neutral N -0.16 (11), boredom L -0.48 (5), sadness T -0.82 (7).
    Every EmoDB file is peak-normalised to 1.0, so the loudness cue is meaningless here (anger even
    gets loudness z -0.7); the ordering comes from pitch, alpha ratio, range and rate. Asserted: anger
    above sadness and boredom, anger and happiness above neutral, sadness lowest of the four."""
    scores = arousal_scores([f for _, f in emodb])
    by = collections.defaultdict(list)
    for (lab, _), s in zip(emodb, scores):
        assert s is not None and -1 <= s.score <= 1
        by[lab].append(s.score)
    mean = {k: float(np.mean(v)) for k, v in by.items()}
    assert mean["W"] > mean["T"] + 0.5
    assert mean["W"] > mean["L"] + 0.3
    assert mean["W"] > mean["N"] + 0.2
    assert mean["F"] > mean["N"] + 0.2
    assert mean["T"] < min(mean["N"], mean["W"], mean["F"])
    assert np.median(by["W"]) > np.median(by["T"])


def test_voice_evidence_sentence(speech):
    """2.5-s stretches of the shipped English talks, scored against their own baseline: the most aroused
    one reads as a one-line sentence with its numbers."""
    feats = []
    for name in ("talk_00015.mp3", "talk_sample1.mp3", "talk_sample2.mp3"):
        audio = load_audio(speech / name, sr=SR)
        feats += [voice_features(audio, SR, t, t + 2.5) for t in np.arange(0, audio.size / SR - 2.5, 2.5)]
    model = ArousalModel().fit(feats)
    scored = [(model.score(f), f) for f in feats]
    scored = [(a, f) for a, f in scored if a is not None]
    assert len(scored) >= 8
    a, lab_f = max(scored, key=lambda x: x[0].score)
    assert a.score > 0 and min(x.score for x, _ in scored) < 0  # relative to the speakers' own median
    ev = voice_evidence(lab_f, a, TimeWindow(start=0, end=2.5), "voice.3")
    assert ev.modality == "voice" and ev.tool == "prosody.voice"
    assert ev.text.startswith("voice ") and "st vs speaker median" in ev.text and "dB" in ev.text
    assert ev.values["arousal"] == a.score
    assert "\n" not in ev.text


def test_ser_optional():
    assert make_ser(Settings(model_paths={})) is None
    if importlib.util.find_spec("transformers") is None:
        with pytest.raises(ModelMissing):
            LocalSERModel("/nonexistent/ser")
        with pytest.raises(ModelMissing):
            make_ser(Settings(model_paths={"ser": "/nonexistent/ser"}))


def test_loud_spans_mark_only_the_louder_speech(speech):
    from tools.perception.prosody import loud_spans, loudness_db
    from tools.index.decode import load_audio
    talk = load_audio(speech / "talk_sample1.mp3")
    talk = talk / max(float(np.abs(talk).max()), 1e-6)
    n = talk.size // 2
    mixed = np.concatenate([0.05 * talk[:n], 0.5 * talk[n:]])  # second half 20 dB louder
    spans = loud_spans(loudness_db(mixed))
    assert spans and all(a >= n / 16000 - 0.5 for a, _ in spans)
    even = loud_spans(loudness_db(0.2 * talk))  # one level throughout: at most a few emphatic peaks
    assert sum(b - a for a, b in even) < 0.25 * talk.size / 16000
    assert loud_spans(loudness_db(np.zeros(16000 * 5, np.float32))) == []
    assert loud_spans(loudness_db(np.zeros(0, np.float32))) == []


GOLDEN = Path(__file__).parent / "data" / "prosody_golden.json"


def _stretches(speech, name):
    audio = load_audio(speech / name, sr=SR)
    return [voice_features(audio, SR, t, t + 2.5).model_dump() for t in np.arange(0, audio.size / SR - 2.5, 2.5)]


@pytest.mark.parametrize("name", ["talk_00015.mp3", "talk_sample1.mp3", "synth_de.wav"])
def test_scipy_filters_keep_the_frozen_features(speech, name):
    """Median filter (scipy.ndimage) gives exactly the hand-written one's pitch features on the shipped
    speech (frozen before the switch); the syllable peaks (scipy.signal.find_peaks) measure prominence to
    the nearest higher peak, so the syllable rate may only drop, by at most a third on a 2.5-s stretch."""
    frozen = json.loads(GOLDEN.read_text())[name]
    got = _stretches(speech, name)
    assert len(got) == len(frozen) >= 2
    for old, new in zip(frozen, got):
        assert {k: v for k, v in new.items() if k != "syllable_rate"} == \
               {k: v for k, v in old.items() if k != "syllable_rate"}
        if old["syllable_rate"] is not None:
            assert 0.66 * old["syllable_rate"] - 1e-9 <= new["syllable_rate"] <= old["syllable_rate"] + 1e-9


def test_syllable_count_on_emodb_texts():
    """EmoDB speaker 03 sentences whose syllable counts are known from their texts: the nuclei count is
    within 4 syllables on average (measured: MAE 3.71 with scipy's peaks, 3.29 with the hand-written ones)."""
    syl = {"a01": 8, "a02": 9, "a04": 11, "a05": 18, "a07": 10, "b01": 15, "b02": 20, "b03": 24, "b09": 17, "b10": 14}
    files = [p for p in research_glob("speech/emodb_03*.wav", at_least=40) if p.name[8:11] in syl]
    errs = []
    for p in files:
        f = voice_features(load_audio(p, sr=SR), SR)
        errs.append(abs(f.syllable_rate * f.speech_s - syl[p.name[8:11]]))
    assert len(errs) >= 40 and float(np.mean(errs)) < 4.0
