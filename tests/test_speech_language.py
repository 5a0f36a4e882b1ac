"""Speech in any language (issue 29, item 5): the spoken language is detected and speech that is not English
is read by the multilingual model, English still by the small English one; and audio at another rate is
resampled with anti-aliasing (soxr)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tools.index.decode import load_audio
from tools.perception.speech import Transcriber, _to_16k, split_models
from tools.settings import Settings

SR = 16000


@pytest.fixture(scope="module")
def default() -> Transcriber:
    return Transcriber(Settings())


def _words(segs) -> list[str]:
    return [w for s in segs for w in re.findall(r"\w+", s.text.lower())]


def test_default_reads_english_with_the_english_model_and_other_languages_with_the_multilingual_one():
    assert split_models(Settings().whisper) == ("tiny.en", "base")
    assert split_models("base") == ("base", "")


def test_german_speech_is_transcribed_in_german(default, speech):
    """tests/data/speech/synth_de.wav ("Morgen früh fahren wir mit dem Zug nach Hamburg. Der Hund schläft den
    ganzen Nachmittag unter dem Tisch."): detected as German, read by the multilingual model; the English-only
    model read one word ("The") of it."""
    audio = load_audio(speech / "synth_de.wav")
    lang, prob = default.detect_language(audio)
    assert lang == "de" and prob > 0.5
    segs = default.transcribe(audio)
    assert segs and all(s.language == "de" for s in segs)
    words = _words(segs)
    assert {"morgen", "zug", "hamburg", "hund", "tisch"} <= set(words), words
    assert len(Transcriber(Settings(), model="tiny.en").transcribe(audio)) <= 1


def test_english_speech_reads_exactly_as_with_the_english_model(default, speech):
    audio = load_audio(speech / "synth_en.wav")
    assert default.detect_language(audio)[0] == "en"
    english_only = Transcriber(Settings(), model="tiny.en")
    assert [s.model_dump() for s in default.transcribe(audio)] == [s.model_dump() for s in english_only.transcribe(audio)]


def test_a_given_language_skips_detection(default, speech):
    audio = load_audio(speech / "synth_en.wav")
    before = default.language_seconds
    assert default.transcribe(audio, language="en")
    assert default.language_seconds == before


def test_silence_has_no_language(default):
    assert default.detect_language(np.zeros(SR * 2, np.float32)) is None
    assert default.transcribe(np.zeros(SR * 2, np.float32)) == []


def test_resampling_filters_what_lies_above_8_khz():
    """A 10 kHz tone at 48 kHz is above the 16 kHz output's band: soxr removes it (linear interpolation
    folded it down to 6 kHz at full strength); a 440 Hz tone at 8 kHz passes unchanged in level."""
    t = np.arange(48000) / 48000
    high = _to_16k(np.sin(2 * np.pi * 10000 * t).astype(np.float32), 48000)
    assert high.size == SR and float(np.abs(high[1000:-1000]).max()) < 1e-3
    t8 = np.arange(8000) / 8000
    low = _to_16k(np.sin(2 * np.pi * 440 * t8).astype(np.float32), 8000)
    assert low.size == SR and 0.95 < float(np.abs(low[1000:-1000]).max()) < 1.05


def test_speech_at_48_khz_reads_as_at_16_khz(default, speech):
    """The shipped English clip brought to 48 kHz (by soxr, as a camera's track would be) reads the same
    words as the 16 kHz decode."""
    import soxr
    a16 = load_audio(speech / "synth_en.wav")
    a48 = soxr.resample(a16, SR, 48000)
    assert _words(default.transcribe(a48, sr=48000)) == _words(default.transcribe(a16))


def test_words_in_another_language_are_not_read_for_emotion(default, speech):
    """The text-emotion reader is English (text_emotion.LANGUAGES): the German transcript of synth_de.wav
    gives the emotion tool no words cue, the English one does; the transcript itself keeps the German."""
    from tools.perception.emotion import words_cue, words_to_read
    from tools.perception.speech import transcript_evidence
    from tools.index.store import SpeechTrack
    from tools.schemas import TimeWindow
    for name, read in (("synth_de.wav", False), ("synth_en.wav", True)):
        segs = default.transcribe(load_audio(speech / name))
        track = SpeechTrack(segments=segs)
        whole = TimeWindow(start=0.0, end=max(s.end for s in segs) + 1.0)
        assert track.text_in(whole).strip(), name
        words = words_to_read(track, whole)
        assert bool(words) is read, (name, words)
        assert (words_cue(words) is not None) is read, name
        ev = transcript_evidence(segs, whole, id="E1")  # the evidence says the same as the emotion tool does
        assert ev.values["read_for_emotion"] is read and ("not read for emotion" in ev.text) is not read, ev.text
