"""Presence questions ("when does he walk out?", "when is nobody on screen?"; the question reader's presence
field is tested in tests/test_reader.py): the presence timeline (tools/presence.py) and, on shipped media (a face that leaves the frame, one that
enters it), the answers through the real graph. The one-person-of-two case is in tests/test_people.py."""

from __future__ import annotations

import pytest

from graphs.api import Session
from tools.presence import MIN_ABSENT_S, presence_changes, presence_confidence, presence_evidence
from tools.schemas import FaceFrame


def _frames(spec: str, dt: float = 0.5) -> list[FaceFrame]:
    """'1' a frame with a face, '0' one without, every `dt` seconds."""
    return [FaceFrame(t=i * dt, n_faces=int(c)) for i, c in enumerate(spec)]


def test_presence_timeline_ignores_one_frame_flickers():
    """A one-frame miss inside a visit is not an exit and a one-frame detection inside a gap is not a visit;
    the real gap (frames 6-13) gives an exit, the stretch away and an entrance, halfway between frames."""
    frames = _frames("1110111" + "00000100" + "111111")
    dur = len(frames) * 0.5
    got = presence_changes(frames, dur)
    assert [c.kind for c in got] == ["leaves", "absent", "enters"]
    leave, away, enter = got
    assert leave.t == pytest.approx(3.25) and enter.t == pytest.approx(7.25)
    assert away.gone == leave.gone == enter.gone and away.moment == away.gone
    assert leave.moment.start < leave.t < leave.moment.end and leave.frames_seen == 7 and leave.frames_gone == 8
    ev = presence_evidence(leave, "E1", "the face of Anna")
    assert ev.text.startswith("The face of Anna is seen in the 7 sampled frames before 00:00:03")
    assert presence_confidence(ev) == 0.9 and presence_confidence(None) == 0.3


def test_presence_timeline_edges_and_short_gaps():
    """A video that starts without the face has an entrance but no exit before it; one that ends without it
    an exit but no entrance; a gap shorter than MIN_ABSENT_S is a missed detection."""
    assert [c.kind for c in presence_changes(_frames("0000111111"), 5.0)] == ["absent", "enters"]
    assert [c.kind for c in presence_changes(_frames("1111110000"), 5.0)] == ["leaves", "absent"]
    short = _frames("11110011111", dt=MIN_ABSENT_S / 4)
    assert presence_changes(short, len(short) * MIN_ABSENT_S / 4) == []
    assert presence_changes([], 10.0) == [] and presence_changes(_frames("1111"), 2.0) == []


def test_a_face_that_leaves_and_one_that_enters(faces, settings):
    """face_noface.mov: the face leaves the frame at about 2.3 s; noface_face.mov: one enters at about
    3.5 s. Asked when, the answer shows the change (cited from the frames) and reads the face there; asked
    when a face that never leaves does so, it finds nothing. (Before presence questions: "when does he
    leave the frame?" got 0-3 s labelled Joy, from a retrieval match on his smiling face.)"""
    with Session(faces / "face_noface.mov", settings, llm=None) as s:
        out = s.ask("when does he leave the frame?")
        away = s.ask("when is nobody on screen?")
    with Session(faces / "noface_face.mov", settings, llm=None) as s:
        came = s.ask("when does someone come into view?")
    with Session(faces / "single_face.mp4", settings, llm=None) as s:
        never = s.ask("when does he walk out of the shot?")
    for ans, kind, t in ((out, "leaves", 2.3), (came, "enters", 3.5)):
        m = ans.moments[0]
        assert m.window.start < t < m.window.end, (kind, m.window)
        ev = ans.evidence_by_id()[m.evidence_ids[0]]
        assert ev.tool == "presence" and ev.values["kind"] == kind and ev.id in m.sentences[0].evidence_ids
        assert {"leaves": "leaves the picture", "enters": "comes into the picture"}[kind] in m.rationale
        assert not any(f.startswith("llm_fallback:judge") for f in ans.flags)  # the frames settle it: no judge call
    m = away.moments[0]
    assert away.intent.presence == "absent" and m.window.start == pytest.approx(2.35, abs=0.4)
    assert m.window.end == pytest.approx(away.video.duration, abs=0.01)
    assert not never.moments and any(f.startswith("not_found") for f in never.flags), never.flags


def test_a_voice_question_over_an_empty_picture_stays_a_voice_question(faces, settings):
    """"Nobody on screen" as the setting of a question about a voice does not make it a presence question:
    the asked feeling is kept (a presence answer would have dropped it), the setting becomes a condition."""
    with Session(faces / "no_face.mp4", settings, llm=None) as s:
        ans = s.ask("when does the narrator's voice sound nervous while no one is on screen?")
        bare = s.ask("when is no one on screen?")
    assert ans.intent.presence == "absent" and ans.intent.emotions and not ans.intent.descriptive, ans.intent
    assert "presence_query" not in ans.flags and "presence_query" in bare.flags
    assert bare.intent.presence == "absent" and bare.intent.descriptive


def test_a_presence_question_about_a_sound_file_says_there_is_no_picture(settings):
    from tests.conftest import DATA
    with Session(DATA / "speech" / "talk_sample1.mp3", settings, llm=None) as s:
        ans = s.ask("when is nobody on screen?")
    assert not ans.moments and any(f.startswith("not_found") and "no picture" in f for f in ans.flags), ans.flags


def test_a_voice_where_nobody_is_seen(faces, speech, settings, tmp_path):
    """The Pexels woman twice over (~39 s) with English talk laid over her face (talk_sample1), then black
    with other talk (talk_sample2). "… while nobody is in the picture" on a voice question is a condition on
    where (an off-camera voice): every moment lies in the black part, while the same question without it
    also finds the talk over her face."""
    import wave

    import numpy as np

    from tests.test_people import FPS, _frames, compose
    from tools.index.decode import load_audio
    woman = _frames(faces / "WolfgangLanger_Pexels.mp4", 445, 320, 360, fps=FPS)
    t1 = 2 * len(woman) / FPS
    a, b = load_audio(speech / "talk_sample1.mp3"), load_audio(speech / "talk_sample2.mp3")
    wav = np.zeros(int((t1 + 5) * 16000) + len(b), np.float32)
    wav[2 * 16000: 2 * 16000 + len(a)] = a
    wav[int((t1 + 3) * 16000): int((t1 + 3) * 16000) + len(b)] = b
    with wave.open(str(tmp_path / "audio.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes())
    video = compose(tmp_path / "face_then_black.mp4", lambda t: woman[round(t * FPS) % len(woman)] if t < t1 else None,
                    lambda t: None, wav.size / 16000, audio=tmp_path / "audio.wav")
    with Session(video, settings, llm=None) as s:
        off = s.ask("every time a voice sounds calm while nobody is in the picture")
        anywhere = s.ask("every time a voice sounds calm")
    assert off.intent.presence == "absent" and off.intent.emotions and "voice" in off.intent.modalities
    assert off.moments and all(m.window.start >= t1 - 1.5 for m in off.moments), [m.window for m in off.moments]
    assert any(m.window.end < t1 for m in anywhere.moments), [m.window for m in anywhere.moments]


@pytest.mark.xfail(strict=True, reason="known miss of the trained question reader (docs/reader.md): 'first' / "
                   "'for the last time' on a presence question are not read as a time; strict, so this mark must go "
                   "when the reader reads them")
def test_first_and_last_exit(faces, settings, tmp_path):
    """The Pexels woman leaves twice: briefly at 3 s (back at 5.5 s), then for long at 9 s (back at 16 s).
    "When does she walk out?" is the longer absence; "first" and "for the last time" pick by time."""
    from tests.test_people import FPS, _frames, compose
    woman = _frames(faces / "WolfgangLanger_Pexels.mp4", 445, 320, 360, fps=FPS)

    def left(t: float):
        return None if 3.0 <= t < 5.5 or 9.0 <= t < 16.0 else woman[round(t * FPS) % len(woman)]
    video = compose(tmp_path / "two_exits.mp4", left, lambda t: None, 19.0)
    with Session(video, settings, llm=None) as s:
        longest, first = s.ask("when does she walk out?"), s.ask("when does she first walk out?")
        last = s.ask("when does she leave for the last time?")
    for ans, t in ((longest, 9.0), (first, 3.0), (last, 9.0)):
        assert ans.intent.presence == "leaves" and ans.moments, (ans.query, ans.flags)
        w = ans.moments[0].window
        assert w.start < t < w.end and w.end - w.start <= 3.01, (ans.query, w)
