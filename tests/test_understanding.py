"""Understanding on real media: face questions get faces (a face-less stretch is never the answer to how
someone looks), honest 'not found', and the active zoom scheduled on a small face, with the reason traced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agents.compose import CAVEATS
from graphs.api import Session
from tests.conftest import SAMPLE
from graphs.nodes.localise import MIN_FACE, window_channels
from tools.registry import SMALL_FACE, plan_tools
from tools.schemas import TimeWindow


def _events(s: Session, query: str) -> tuple[object, list[dict]]:
    events: list[dict] = []
    answer = None
    for ev in s.stream(query):
        events += ev["events"]
        answer = ev.get("answer", answer)
    return answer, events


def test_face_question_on_a_video_with_a_no_face_stretch(faces, settings):
    """face_noface.mov: a face that leaves the frame. A question about how he looks gets only windows where
    a usable face was seen; the windows dropped for having none are in the trace with the reason."""
    with Session(faces / "face_noface.mov", settings, llm=None) as s:
        face, _ = window_channels(s.index, TimeWindow(start=0, end=s.index.meta.duration))
        faceless = [r for r in s.index.records if r.face_ratio == 0]
        assert faceless and 0 < face < 1, "the clip must have both a face and a face-less stretch"
        ans, events = _events(s, "when does he look calm?")
    assert ans.moments
    for m in ans.moments:
        share, _ = window_channels(s.index, m.window)
        assert share >= MIN_FACE, (m.window, share)
    loc = [e for e in events if e.get("node") == "localise"]
    assert loc and loc[0]["face_question"] is True


def test_face_question_on_a_faceless_video_says_not_found(faces, settings):
    with Session(faces / "no_face.mp4", settings, llm=None) as s:
        ans = s.ask("when does someone look happy?")
    assert not ans.moments
    assert any(f.startswith("not_found") for f in ans.flags), ans.flags


def test_zoom_plan_reasons():
    w = TimeWindow(start=0, end=2)
    small = {d.tool: d for d in plan_tools(w, 1.0, False, [], 6.0, face_height=SMALL_FACE / 2)}
    assert small["zoom"].run and "small face" in small["zoom"].reason
    big = {d.tool: d for d in plan_tools(w, 1.0, False, [], 6.0, face_height=0.5)}
    assert not big["zoom"].run and "face large enough" in big["zoom"].reason
    amb = {d.tool: d for d in plan_tools(w, 1.0, False, [], 6.0, face_height=0.5, ambiguous=True)}
    assert amb["zoom"].run and "ambiguous" in amb["zoom"].reason
    voice = {d.tool: d for d in plan_tools(w, 1.0, True, ["voice"], 6.0, face_height=SMALL_FACE / 2, ambiguous=True)}
    assert not voice["zoom"].run and "about the voice" in voice["zoom"].reason
    later = {d.tool: d for d in plan_tools(w, 1.0, False, [], 6.0, face_height=0.5, ambiguous=True,
                                           zoom_off="a further round")}
    assert not later["zoom"].run and later["zoom"].reason == "not needed: a further round"


@pytest.fixture(scope="module")
def small_face_video(faces, tmp_path_factory) -> Path:
    """single_face.mp4 (MIT) pasted at 3/4 scale into a grey 1920x1080 frame, played forward and back
    (5 s): a real face about a tenth of the frame height."""
    import av
    import cv2
    import numpy as np

    from tools.index.decode import iter_frames
    frames = [cv2.resize(img, (480, 270), interpolation=cv2.INTER_AREA)
              for _, img in iter_frames(faces / "single_face.mp4", fps=0, max_side=10_000)]
    seq = (frames + frames[::-1]) * 2
    out = tmp_path_factory.mktemp("small") / "small_face.mp4"
    with av.open(str(out), "w") as oc:
        vs = oc.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 1920, 1080, "yuv420p"
        for n, f in enumerate(seq):
            canvas = np.full((1080, 1920, 3), 110, np.uint8)
            canvas[700:970, 200:680] = f
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts = n
            for pkt in vs.encode(frame):
                oc.mux(pkt)
        for pkt in vs.encode(None):
            oc.mux(pkt)
    return out


def test_zoom_is_scheduled_and_runs_on_a_small_face(small_face_video, settings):
    with Session(small_face_video, settings, llm=None) as s:
        heights = [f.box[3] for f in s.index.frames_in(TimeWindow(start=0, end=s.index.meta.duration))
                   if f.box is not None]
        assert heights and max(heights) < SMALL_FACE, heights[:5]
        ans, events = _events(s, "when does he look happy?")
    zoom = [e for e in events if e.get("tool") == "zoom" and "run" in e]
    assert zoom and zoom[0]["run"] and "small face" in zoom[0]["reason"], zoom
    assert any(e.get("tool") == "zoom" and e.get("evidence") for e in events), "the zoom ran and gave evidence"
    assert ans.moments


def test_a_reader_guess_inside_a_family_does_not_label_the_window(pexels_index, settings):
    """The question reader guesses "Love" for "find the most tender moment" (probability ~0.3, below
    verify.NAMED_P: the words do not name love); the window it finds (her laughing) reads Joy, and no words
    there say love, so the answer says Joy, not the reader's guess. (The old zero-shot reader guessed Love
    for "the jolliest moment"; the trained reader reads that one as Joy.)"""
    from graphs.nodes.verify import NAMED_P
    with Session(SAMPLE, settings, llm=None, index=pexels_index) as s:
        ans, events = _events(s, "find the most tender moment")
    reading = next(e["reader"] for e in events if e.get("node") == "interpret")
    assert ans.intent.emotions[0] == "Love" and reading["emotions"]["Love"] < NAMED_P  # the guess this test is about
    m = ans.moments[0]
    assert m.label == "Joy" and m.verified and m.window.overlaps(TimeWindow(start=10.0, end=19.0)), m


def test_a_face_or_voice_question_is_not_a_face_question():
    from agents.schemas import Intent
    from graphs.nodes.localise import face_question
    assert face_question(Intent(emotions=["Fear"], modalities=["face"]))
    assert not face_question(Intent(emotions=["Fear"], modalities=["face", "voice"]))
    assert not face_question(Intent(emotions=["Fear"], modalities=[]))


@pytest.fixture(scope="module")
def voice_only_anger(faces, tmp_path_factory) -> tuple[Path, TimeWindow]:
    """A face (single_face.mp4, MIT) for 6 s, then black frames with one EmoDB speaker (research media,
    ../shared only): neutral sentences, a pause, angry ones, then the face again. Returns the video and
    the angry stretch. The English-only ASR turns the German into fluent nonsense with low word confidence."""
    import wave

    import numpy as np

    from tests.conftest import research
    from tests.test_people import FPS, _frames, compose, pingpong
    from tools.index.decode import load_audio
    neutral = research(*(f"speech/emodb_03{n}.wav" for n in ("a01Nc", "a02Nc", "a04Nc", "a05Nd", "a07Nc", "b01Nb")))
    angry = research("speech/emodb_03a01Wa.wav", "speech/emodb_03a05Wa.wav")
    gap = np.zeros(8000, np.float32)
    parts = [np.zeros(10 * 16000, np.float32)]  # 6 s of face, 4 s of black, silent
    for p in neutral:
        parts += [load_audio(p), gap]
    parts.append(np.zeros(3 * 16000, np.float32))
    t_angry = sum(len(x) for x in parts) / 16000
    for p in angry:
        parts += [load_audio(p), gap]
    t_end = sum(len(x) for x in parts) / 16000
    parts.append(np.zeros(10 * 16000, np.float32))  # 4 s of black, 6 s of face
    wav = np.concatenate(parts)
    folder = tmp_path_factory.mktemp("voice_only")
    with wave.open(str(folder / "audio.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes())
    face = pingpong(_frames(faces / "single_face.mp4", 295, 320, 360, fps=FPS))
    dur = wav.size / 16000
    def on_screen(s: float):
        return face(s) if s < 6 or s >= dur - 6 else None
    out = compose(folder / "voice_only_anger.mp4", on_screen, on_screen, dur, audio=folder / "audio.wav")
    return out, TimeWindow(start=t_angry, end=t_end)


def test_every_angry_voice_moment_is_found_as_a_weak_guess(voice_only_anger, settings):
    """Angry German speech over black frames: the prosody says only "aroused" (anger, fear, joy and
    surprise alike) and the ASR's nonsense words are not read for emotion (word confidence below
    ASR_MIN_WORD_PROB). An "every time" question lists the angry stretch as a verified weak guess with
    the caveat said; it is never a confident answer."""
    video, angry = voice_only_anger
    english_only = settings.model_copy(update={"whisper": "tiny.en"})  # speech no model reads (default: base reads German)
    with Session(video, english_only, llm=None) as s:
        ans, events = _events(s, "every time someone sounds furious")
        # the index keeps no transcript of words the ASR was unsure of (retrieval does not embed nonsense)
        assert all(r.transcript == "" for r in s.index.records if r.window.overlaps(angry))
    hits = [m for m in ans.moments if m.window.overlaps(angry)]
    assert hits, [(m.window.label(), m.label) for m in ans.moments]
    m = hits[0]
    assert m.label == "Anger" and m.verified and m.confidence < 0.5, m
    caveat = re.escape(CAVEATS["voice_only"]).replace(re.escape("{pos}"), r"\w+")  # "only their voice shows here"
    assert re.search(caveat, m.rationale), m.rationale
    # the calm-to-slightly-raised neutral sentences are no guess at all (arousal below STRONG_AROUSAL)
    assert not [m.window.label() for m in ans.moments if m.verified and not m.window.overlaps(angry)]
    said = [e for e in ans.evidence if e.tool == "speech.transcribe" and e.window.overlaps(angry)
            and e.values.get("n_words")]
    assert all(not e.values["read_for_emotion"] and "not read for emotion" in e.text for e in said), said


@pytest.mark.parametrize("clip", ["face_noface.mov", "noface_face.mov"])
def test_a_description_is_matched_by_what_the_window_shows_not_by_salience(faces, settings, clip):
    """No emotion asked: the window the words describe ranks first (here the stretch with no face), not
    the most emotional one (a smiling face, salience 1.0, ranked first while salience weighed 0.3)."""
    from tools.retrieval import Retriever
    with Session(faces / clip, settings, llm=None) as s:
        top = Retriever(s.index).search_moments("the part where nobody is on screen", [], "any", k=2)[0]
        face, _ = window_channels(s.index, top.window)
    assert face == 0.0 and top.descriptor.startswith("no face visible"), top


def test_the_index_describes_the_picture_where_no_face_is_seen(faces, settings):
    """face_noface.mov: a face, then a colourful picture with no face. The no-face windows' descriptor names
    the picture (not only "no face visible"), the face windows' do not, and a question about the colourful
    picture ranks the no-face stretch first (a candidate may join it with the window before); emotional
    questions are matched against the descriptor without the picture. Black frames read as a dark screen."""
    import numpy as np

    from tools.perception.scene import describe, scene_stats, thumbnail
    from tools.retrieval import Retriever, describe as describe_window

    black = np.zeros((360, 640, 3), np.uint8)
    assert describe(scene_stats(thumbnail(black), None)) == "dark screen, black picture"
    with Session(faces / "face_noface.mov", settings, llm=None) as s:
        recs = s.index.records
        assert all(r.scene and 0 <= r.scene["brightness"] <= 1 for r in recs if r.n_frames)
        noface = [r for r in recs if r.n_frames and r.face_frames == 0]
        withface = [r for r in recs if r.face_frames]
        assert noface and withface
        assert all("picture" in describe_window(r, numbers=False) for r in noface), [describe_window(r) for r in noface]
        assert not any("picture" in describe_window(r, numbers=False) for r in withface)
        top = Retriever(s.index).search_moments("the colourful animated bit with nobody in it", [], "any", k=2)[0]
        assert "picture" in top.descriptor and any(top.window.overlaps(r.window) for r in noface), top
        # emotional questions match the descriptor without the picture (it pulled voice-only moments away)
        import faiss

        from tools.retrieval import embedder
        j = recs.index(noface[0])
        text = faiss.read_index(str(s.index.folder / "text.faiss")).reconstruct(j)
        shows = faiss.read_index(str(s.index.folder / "shows.faiss")).reconstruct(j)
        assert np.allclose(text, embedder().embed([describe_window(noface[0], numbers=False, picture=False)])[0], atol=1e-5)
        assert np.allclose(shows, embedder().embed([describe_window(noface[0], numbers=False)])[0], atol=1e-5)
        assert not np.allclose(text, shows, atol=1e-3)


@pytest.fixture(scope="module")
def brief_grin(faces, tmp_path_factory) -> tuple[Path, TimeWindow]:
    """single_face.mp4 (MIT): the man's neutral first 0.5 s played forward and back for 10.6 s, his smile
    (0.7 s to the end of the clip, ~1.7 s) once, then neutral again to 20 s. Returns the video and the smile."""
    from tests.test_people import FPS, _frames, compose, pingpong
    frames = _frames(faces / "single_face.mp4", 295, 320, 360, fps=FPS)
    rest, smile = pingpong(frames[:5]), frames[7:]
    t0, t1 = 10.6, 10.6 + len(smile) / FPS

    def left(t: float):
        return smile[round((t - t0) * FPS)] if t0 <= t < t1 - 1e-6 else rest(t)
    out = compose(tmp_path_factory.mktemp("grin") / "brief_grin.mp4", left, lambda t: None, 20.0)
    return out, TimeWindow(start=t0, end=t1)


def test_a_brief_grin_gets_a_moment_its_own_length(brief_grin, settings):
    """A smile of ~1.7 s inside a ~3-s index window: the answer's boundaries follow the frames that show
    it (tools/episode.py), so the moment overlaps the smile at IoU >= 0.5 and is shorter than a window."""
    video, smile = brief_grin
    with Session(video, settings, llm=None) as s:
        ans = s.ask("when does he grin?")
    m = ans.moments[0]
    inter = max(0.0, min(m.window.end, smile.end) - max(m.window.start, smile.start))
    iou = inter / (max(m.window.end, smile.end) - min(m.window.start, smile.start))
    assert m.label == "Joy" and iou >= 0.5, (m.window, smile, iou)
    assert m.window.duration < 2.5


@pytest.mark.xfail(strict=True, reason="the moment-extent rule (tools/episode.py, issue 27) stops where the face "
                   "returns towards neutral: the sentence's first seconds read surprise below 0.4 x its peak, so the "
                   "moment is 14.35-20.4 s for the 8.0-20.4 s sentence (IoU 0.488 < 0.5); strict, so a fix removes this")
def test_a_long_surprised_sentence_is_one_moment(faces, settings, tmp_path):
    """MEAD's surprised sentence (12.4 s, research media from ../shared) between two 8-s neutral stretches
    (single_face.mp4's first 0.5 s, back and forth). The wide eyes come and go (on long_dev the expression
    model reads surprise 0.8 on one frame and 0.05 on the next, and one window more fear than surprise), so
    the best index window covers a quarter of the sentence (IoU 0.27 before tools/episode.py); the moment
    grows over the neighbouring windows where the expression holds, to IoU >= 0.5 with the sentence."""
    from tests.conftest import research
    from tests.test_people import FPS, _frames, compose, pingpong
    (mead,) = research("faces/mead_surprised.mp4")
    rest = pingpong(_frames(faces / "single_face.mp4", 295, 256, 256, fps=FPS)[:5])
    clip = _frames(mead, 128, 256, 256, fps=FPS)
    t0, t1 = 8.0, 8.0 + len(clip) / FPS

    def left(t: float):
        return clip[round((t - t0) * FPS)] if t0 <= t < t1 - 1e-6 else rest(t)
    video = compose(tmp_path / "surprised.mp4", left, lambda t: None, t1 + 8.0, half_w=256, h=256)
    with Session(video, settings, llm=None) as s:
        # "someone", not "she": the MEAD actor and the still man of single_face.mp4 are two people on the
        # left, so "she" (no gender model) is asked back (ask_person), which is not what this test is about
        ans = s.ask("when does someone look surprised?")
    assert ans.moments, (ans.intent, ans.flags)
    m = ans.moments[0]
    inter = max(0.0, min(m.window.end, t1) - max(m.window.start, t0))
    iou = inter / (max(m.window.end, t1) - min(m.window.start, t0))
    assert m.label == "Surprise" and iou >= 0.5, (m.window, (t0, t1), iou)


def test_episode_rule_grows_bridges_one_window_and_stops_at_rest():
    """tools/episode.py on the window means long_dev's first surprised sentence has (149-161.4 s): the
    peak window 158-161.4 (surprise 0.58) grows over 152-155 (0.31) across 155-158, which reads fear
    (surprise 0.06) on a face not at rest (neutral 0.46); 149-152 (0.23) is under 0.4 x the peak and the
    neutral face around it ends the moment. A window that does not show the expression has no episode (None:
    verify keeps the candidate's window, a "while" condition skips it)."""
    from tools.episode import MAX_WINDOWS, episode
    from tools.schemas import WindowRecord

    def rec(i, s, e, surprise, neutral):
        return WindowRecord(index=i, window=TimeWindow(start=s, end=e),
                            expression={"surprise": surprise, "neutral": neutral, "fear": 1 - surprise - neutral})
    means = [(145, 149, 0.0, 0.95), (149, 152, 0.23, 0.45), (152, 155, 0.31, 0.37), (155, 158, 0.06, 0.46),
             (158, 161.4, 0.58, 0.04), (161.4, 164.4, 0.0, 0.95)]
    recs = [rec(i, *m) for i, m in enumerate(means)]
    def no_frames(w):  # window means only: no frame-level trim
        return []
    assert episode(recs, no_frames, "surprise", TimeWindow(start=158, end=161.4)) == TimeWindow(start=152, end=161.4)
    assert episode(recs, no_frames, "surprise", TimeWindow(start=145, end=149)) is None  # verify keeps the window
    # a neutral window is never bridged: the same sentence after a face at rest is another moment
    rest = [rec(i, *m) for i, m in enumerate([(0, 3, 0.5, 0.1), (3, 6, 0.0, 0.9), (6, 9, 0.5, 0.1)])]
    assert episode(rest, no_frames, "surprise", TimeWindow(start=0, end=3)) == TimeWindow(start=0, end=3)
    # a long expressive stretch stops at MAX_WINDOWS windows
    long = [rec(i, 3 * i, 3 * i + 3, 0.5, 0.1) for i in range(20)]
    got = episode(long, no_frames, "surprise", TimeWindow(start=30, end=33))
    assert got.duration == 3 * MAX_WINDOWS and got.start <= 30 and got.end >= 33


def test_a_voice_question_never_gets_a_silent_window(pexels_index, settings):
    """The bundled sample has a crying and laughing face and no speech. Asked how she sounds (or what she
    says), no window can answer: the answer says so instead of showing her silent crying face; asked how
    she looks, the crying window is found."""
    from graphs.nodes.localise import voice_question
    with Session(SAMPLE, settings, llm=None, index=pexels_index) as s:
        assert not any(window_channels(s.index, r.window)[1] for r in s.index.records)  # nobody speaks
        for q in ("when does her voice sound sad?", "when does she say something upsetting?"):
            ans = s.ask(q)
            assert voice_question(ans.intent) and not ans.moments, (q, [m.window for m in ans.moments])
            assert any(f.startswith("not_found") and "sounds or what they say" in f for f in ans.flags), ans.flags
        ans = s.ask("when does she look sad?")
    assert ans.moments and ans.moments[0].label == "Sadness" and ans.moments[0].window.start < 9.4


def test_a_voice_question_looks_past_silent_faces(faces, speech, settings, tmp_path):
    """The Pexels woman crying and laughing, silent, six times over (~2 min), then 11 s of English talk
    over black (talk_sample1.mp3, MIT). Asked how someone sounds, retrieval's top matches are her silent
    crying faces; the search looks further down its ranking until it reaches windows where someone speaks."""
    import wave

    import numpy as np

    from tests.test_people import FPS, _frames, compose
    from tools.index.decode import load_audio
    woman = _frames(faces / "WolfgangLanger_Pexels.mp4", 445, 320, 360, fps=FPS)
    t_talk = 6 * len(woman) / FPS
    talk = load_audio(speech / "talk_sample1.mp3")
    wav = np.concatenate([np.zeros(int(t_talk * 16000), np.float32), talk])
    with wave.open(str(tmp_path / "audio.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes())

    def left(t: float):
        return woman[round(t * FPS) % len(woman)] if t < t_talk else None
    video = compose(tmp_path / "silent_then_talk.mp4", left, lambda t: None, wav.size / 16000,
                    audio=tmp_path / "audio.wav")
    with Session(video, settings, llm=None) as s:
        ans, events = _events(s, "when does someone's voice sound sad?")
    loc = next(e for e in events if e.get("node") == "localise")
    assert loc["candidates"] and loc["dropped"], loc  # silent faces ranked, dropped, and speech reached
    assert ans.moments and all(m.window.end > t_talk for m in ans.moments), [m.window for m in ans.moments]
