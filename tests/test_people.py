"""People in the video: tracks and re-identification, people.json, active speaker, "who" questions.

The two-person clip is composed here from shipped media (tests/data/faces, licence-clean): left, the
Pexels woman crying (0-4 s), absent (black, 4-10 s: 6 s away), laughing (10-14 s); right, the man of
single_face.mp4 (ping-pong) the whole time. The active-speaker clip needs a talking face with its own
voice: MEAD (research-only, from ../shared; skipped when absent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest

from tools.index.decode import iter_frames
from tools.schemas import TimeWindow

FPS = 10

# how an answer names the woman on the left (agents/compose.py): "person 1 (on the left)", or with the name the
# CLI test may give her, "Anna (person 1, on the left)"
LEFT = r"(Anna \(person \d+, on the left\)|person \d+ \(on the left\))"


def _frames(path: Path, cx: int, half_w: int, h: int, fps: int = FPS) -> list[np.ndarray]:
    """All frames of `path` at `fps`, cropped to a half_w x h (aspect) column centred on x=cx, resized."""
    out = []
    for _, img in iter_frames(path, fps=fps, max_side=10_000):
        H, W = img.shape[:2]
        cw = int(round(H * half_w / h))
        x0 = int(np.clip(cx - cw // 2, 0, W - cw))
        out.append(cv2.resize(img[:, x0:x0 + cw], (half_w, h), interpolation=cv2.INTER_AREA))
    return out


def encode(oc, stream, frames) -> None:
    """Encode av frames into `stream` of the output container `oc`, mux the packets, then flush the encoder."""
    for fr in frames:
        for pkt in stream.encode(fr):
            oc.mux(pkt)
    for pkt in stream.encode(None):
        oc.mux(pkt)


def rgb_frames(imgs) -> Iterator[av.VideoFrame]:
    """av video frames of RGB images, pts 0, 1, 2, ... (one per frame of the stream's rate)."""
    for n, img in enumerate(imgs):
        fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        fr.pts = n
        yield fr


def pcm_frames(pcm: np.ndarray, rate: int = 16000, size: int = 1024) -> Iterator[av.AudioFrame]:
    """av mono s16 audio frames of `size` samples from int16 samples at `rate`, pts in samples."""
    for i in range(0, len(pcm), size):
        af = av.AudioFrame.from_ndarray(pcm[None, i:i + size], format="s16", layout="mono")
        af.sample_rate, af.pts = rate, i
        yield af


def compose(out: Path, left, right, seconds: float, half_w: int = 320, h: int = 360, audio: Path | None = None) -> Path:
    """Side-by-side video: left(t)/right(t) give each half's RGB frame (None = black) at time t."""
    black = np.zeros((h, half_w, 3), np.uint8)

    def side_by_side(t: float) -> np.ndarray:
        a, b = left(t), right(t)
        return np.concatenate([black if a is None else a, black if b is None else b], axis=1)

    with av.open(str(out), "w") as oc:
        vs = oc.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = 2 * half_w, h, "yuv420p"
        ast = None
        if audio is not None:  # every stream before the first packet
            ast = oc.add_stream("aac", rate=16000)
            ast.layout = "mono"
        encode(oc, vs, rgb_frames(side_by_side(n / FPS) for n in range(int(round(seconds * FPS)))))
        if ast is not None:
            from tools.index.decode import load_audio
            wav = load_audio(audio)[: int(seconds * 16000)]
            encode(oc, ast, pcm_frames((np.clip(wav, -1, 1) * 32767).astype(np.int16)))
    return out


def pingpong(frames: list[np.ndarray]):
    cyc = frames + frames[-2:0:-1]
    return lambda t: cyc[int(round(t * FPS)) % len(cyc)]


@pytest.fixture(scope="module")
def two_people(faces, tmp_path_factory) -> Path:
    woman = _frames(faces / "WolfgangLanger_Pexels.mp4", 445, 320, 360)
    man = pingpong(_frames(faces / "single_face.mp4", 295, 320, 360))

    def left(t):
        if 4.0 <= t < 10.0:
            return None
        return woman[min(int(round(t * FPS)), len(woman) - 1)]
    return compose(tmp_path_factory.mktemp("people") / "two_people.mp4", left, man, 14.0)


@pytest.fixture(scope="module")
def two_index(two_people, settings):
    from tools.index import build_index
    return build_index(two_people, settings, progress=False)


# ---------------------------------------------------------------- tracking + re-identification
def test_tracks_every_face_in_group_photo_with_distinct_ids(fa, faces):
    from tools.perception.tracks import PeopleTracker
    rgb = cv2.cvtColor(cv2.imread(str(faces / "multi_face.jpg")), cv2.COLOR_BGR2RGB)
    found = fa.find_faces(rgb, zoom=True)
    pt = PeopleTracker()
    first = pt.update(0.0, rgb, found)
    assert len(found) == 5 and sorted(p.person for p in first) == [1, 2, 3, 4, 5]
    # the same photo 10 s later (beyond box continuity): every face re-identified as itself
    again = pt.update(10.0, rgb, found)
    assert [p.person for p in again] == [p.person for p in first]
    assert len(pt.reids) == 5


def test_identity_survives_a_six_second_absence(two_index):
    frames = [f for f in two_index.frames if f.people]
    side = {}
    for f in frames:
        for p in f.people:
            side.setdefault("left" if p.box[0] + p.box[2] / 2 < 0.5 else "right", set()).add(p.person)
    assert len(side["left"]) == 1 and len(side["right"]) == 1 and side["left"] != side["right"]
    (woman,) = side["left"]
    seen = [f.t for f in frames if any(p.person == woman for p in f.people)]
    assert min(seen) < 1.0 and max(seen) > 13.0                      # before and after the absence
    assert not any(4.3 < t < 9.9 for t in seen)                       # and not during it


def test_each_person_has_own_readings(two_index):
    from tools.people import load_people, person_records
    ppl = load_people(two_index)
    woman = next(p for p in ppl.people if p.position == "left")
    recs = person_records(two_index, woman.id)
    away = [r for r in recs if r.window.start >= 4.5 and r.window.end <= 9.5]
    assert away and all(r.face_frames == 0 for r in away)
    early = [r for r in recs if r.window.end <= 4.0 and r.expression]
    late = [r for r in recs if r.window.start >= 10.5 and r.expression]
    assert np.mean([r.expression["sad"] + r.expression["fear"] for r in early]) > np.mean(
        [r.expression["sad"] + r.expression["fear"] for r in late])
    assert np.mean([r.expression["happy"] for r in late]) > np.mean([r.expression["happy"] for r in early])


# ---------------------------------------------------------------- people.json + CLI
def test_people_json_lists_both_with_position_time_and_thumbnail(two_index):
    data = json.loads((two_index.folder / "people.json").read_text())
    ppl = sorted(data["people"], key=lambda p: p["x"])
    assert [p["position"] for p in ppl] == ["left", "right"]
    woman, man = ppl
    assert 6.5 <= woman["screen_s"] <= 9.5        # 8 s on screen (0-4 s, 10-14 s)
    assert 12.5 <= man["screen_s"] <= 14.0          # the whole 14 s
    for p in ppl:
        assert Path(p["thumbnail"]).is_file() and max(cv2.imread(p["thumbnail"]).shape[:2]) >= 120


def test_cli_people_lists_and_names(two_people, two_index, settings, monkeypatch, capsys):
    from tools.people import load_people
    from ui.cli import main
    monkeypatch.setenv("AFFECTLENS_CACHE_DIR", str(settings.cache_dir))
    from tools.settings import get_settings
    get_settings.cache_clear()
    try:
        woman = next(p for p in load_people(two_index).people if p.position == "left")
        assert main(["people", str(two_people), "--name", f"{woman.id}=Anna"]) == 0
        out = capsys.readouterr().out
        assert "Anna" in out and "left" in out and "right" in out
        assert load_people(two_index).get(woman.id).name == "Anna"
    finally:
        get_settings.cache_clear()


# ---------------------------------------------------------------- who
def test_resolve_person_by_side_name_and_pronoun(two_index):
    """tools/who.py resolves the question reader's reference (PersonRef) against the video's people, and asks
    back with the candidates when it cannot tell."""
    from tools.people import load_people
    from tools.schemas import PersonRef as R
    from tools.who import resolve_person
    ppl = load_people(two_index)
    left = next(p for p in ppl.people if p.position == "left")
    right = next(p for p in ppl.people if p.position == "right")
    assert resolve_person(R(kind="side", value="left"), ppl).person.id == left.id
    assert resolve_person(R(kind="side", value="right"), ppl).person.id == right.id
    assert resolve_person(R(kind="number", value=str(right.id)), ppl).person.id == right.id
    assert resolve_person(R(kind="pronoun", value="she"), ppl, previous=left.id).person.id == left.id
    first = min(ppl.people, key=lambda p: p.first_s)
    assert resolve_person(R(kind="order", value="1"), ppl).person.id == first.id
    man = resolve_person(R(kind="gender", value="man"), ppl)   # no gender model: ask back, both candidates
    assert man.person is None and man.ask_back and {p.id for p in man.candidates} == {left.id, right.id}
    anyone = resolve_person(R(kind="gender", value="man", indefinite=True), ppl)  # "a man": anyone, no ask-back
    assert anyone.person is None and not anyone.ask_back and "can be anyone" in anyone.how
    assert man.unresolved and anyone.unresolved  # the answer says why nobody in particular is answered about
    named = ppl.model_copy(deep=True)
    named.get(right.id).name = "the man"
    assert resolve_person(R(kind="gender", value="man"), named).person.id == right.id
    assert resolve_person(R(kind="other", value="man"), ppl, previous=left.id).person.id == right.id
    nobody = resolve_person(R(kind="none"), ppl)
    assert nobody.person is None and not nobody.ask_back and not nobody.unresolved
    assert not resolve_person(R(kind="side", value="left"), ppl).unresolved
    # the interviewer: the person with more attributed question turns (none here: unresolved, asked back)
    assert resolve_person(R(kind="role", value="interviewer"), ppl).person is None
    asked = ppl.model_copy(deep=True)
    asked.get(right.id).question_turns, asked.get(left.id).question_turns = 3, 1
    asked.get(left.id).speaking_s = 6.0
    assert resolve_person(R(kind="role", value="interviewer"), asked).person.id == right.id
    assert resolve_person(R(kind="role", value="guest"), asked).person.id == left.id


def test_while_clause_person():
    """condition_person: the one the condition names or places, else the one who is not the main clause's
    person (or the only person)."""
    from tools.people import People, Person
    from tools.schemas import PersonRef as R
    from tools.who import condition_person
    left, right = Person(id=1, position="left", x=0.25), Person(id=2, position="right", x=0.75)
    two = People(video="v", people=[left, right])
    assert condition_person(R(kind="pronoun", value="she"), two, right).person.id == 1
    assert condition_person(R(kind="side", value="right"), two, left).person.id == 2
    assert condition_person(R(kind="pronoun", value="she"), two, None).person is None  # no main person
    assert condition_person(R(kind="pronoun", value="she"), People(video="v", people=[left]), left).person.id == 1


def test_who_question_answers_with_the_right_persons_moment(two_people, two_index, settings):
    """The woman cries 0-4 s and laughs 10-14 s; the man beside her smiles on and off all along. Asked about
    her, the answer is her moment and names her; asked about him, it names him. (The crying window's
    label is the emotion tool's business: it reads this crying as Joy, see README "Emotion recognition".)"""
    from graphs.api import Session
    s = Session(two_people, settings, llm=False, index=two_index)
    shared = (s.context.index, s.context.retriever)
    ans = s.ask("when does the woman on the left start crying?")
    assert ans.moments and ans.moments[0].window.start < 4.0 and "on the left" in ans.moments[0].rationale
    # (worded "when is … laughing?": read after the crying question, the reader reads "when does … laugh?"
    # below its emotion threshold and keeps the previous topic, so that wording tests the reader, not who)
    ans = s.ask("when is the woman on the left laughing?")
    m = ans.moments[0]
    assert m.window.overlaps(TimeWindow(start=10.0, end=14.0)) and m.window.start >= 4.0 and m.label == "Joy", (
        m.window, m.label, ans.intent, ans.flags)
    assert re.match(rf"^(At|From) [^,]+, {LEFT}", m.rationale), m.rationale  # named (the CLI test may call her Anna)
    ans = s.ask("and the person on the right, when are they happy?")
    assert ans.moments and "on the right" in ans.moments[0].rationale
    # the person lives in the turn's state: the session's shared context is never switched to a view
    assert (s.context.index, s.context.retriever) == shared and type(s.context.index).__name__ == "VideoIndex"
    ans = s.ask("when does anyone look happy?")  # no person asked: the whole video, nobody named
    assert ans.moments and not re.search(r"\bperson \d+", ans.moments[0].rationale)
    ans = s.ask("when does the woman on the left walk out of the picture?")  # a description, about her
    assert ans.moments and ans.intent.emotions == [] and "on the left" in ans.moments[0].rationale


def test_a_man_is_anyone_and_the_answer_says_so(two_people, two_index, settings):
    """Rule 6: "a man" is anyone of them. No gender model ships, so the answer covers both people, asks
    nothing back and tells the user why; "the man" asks back which one."""
    from graphs.api import Session
    from ui.notes import human_notes
    s = Session(two_people, settings, llm=False, index=two_index)
    ans = s.ask("when does a man look happy?")
    assert ans.intent.person.indefinite and ans.moments
    assert not any(f.startswith("ask_person") for f in ans.flags), ans.flags
    assert any("can be anyone" in n and "covers everyone" in n for n in human_notes(ans.flags)), ans.flags
    ans = Session(two_people, settings, llm=False, index=two_index).ask("when does the man look happy?")
    assert any(f.startswith("ask_person") for f in ans.flags), ans.flags


def test_naming_the_person_after_an_arc_asked_back_answers_the_arc(two_people, two_index, settings):
    """Rule 7: "how does the man feel over the video?" asks which person is meant (no gender model ships); the
    reply "the one on the right" is that arc question about the person on the right, not a moment search."""
    from graphs.api import Session
    s = Session(two_people, settings, llm=False, index=two_index)
    first = s.ask("how does the man feel over the video?")
    assert first.arc is not None and any(f.startswith("ask_person") for f in first.flags), first.flags
    from tools.people import load_people
    right = next(p for p in load_people(two_index).people if p.position == "right")
    reply = s.ask("the one on the right")
    assert reply.arc is not None and [p.person for p in reply.arc.people] == [right.id], reply.arc
    assert not any(f.startswith("ask_person") for f in reply.flags)


# ---------------------------------------------------------------- active speaker
@pytest.mark.parametrize("talker_side", ["left", "right"])
def test_speech_goes_to_the_face_that_talks(talker_side, faces, speech, settings, tmp_path):
    """A MEAD actor talking (research media; its own audio track is silent) beside the still man of
    single_face.mp4 (his neutral first 0.5 s, ping-pong), with real English speech (talk_sample1.mp3) on the soundtrack: not the actor's own words
    (no licence-clean talking face with its voice exists here), so this tests mouth activity, not lip sync."""
    from tests.conftest import research
    from tools.index import build_index
    from tools.people import load_people
    (mead,) = research("faces/mead_surprised.mp4")
    talk = _frames(mead, 128, 256, 256)
    still = pingpong(_frames(faces / "single_face.mp4", 295, 256, 256)[:5])  # his neutral first 0.5 s
    talker = lambda t: talk[min(int(round(t * FPS)), len(talk) - 1)]  # noqa: E731
    sides = (talker, still) if talker_side == "left" else (still, talker)
    video = compose(tmp_path / f"talk_{talker_side}.mp4", *sides, len(talk) / FPS, half_w=256, h=256,
                    audio=speech / "talk_sample1.mp3")
    idx = build_index(video, settings, progress=False)
    ppl = load_people(idx)
    assert idx.speech.segments, "the MEAD voice should give speech segments"
    speaker = next(p for p in ppl.people if p.position == talker_side)
    other = [p for p in ppl.people if p.id != speaker.id]
    assert speaker.speaking_s > 0.5 * idx.speech.speech_s
    assert all(p.speaking_s == 0 for p in other)


# ---------------------------------------------------------------- choosing the person (UI chips, --person)
def test_a_while_question_reads_one_person_at_the_other_persons_moments(two_people, two_index, settings):
    """"How does the man on the right look while she laughs?": the moments are her laughing (10-14 s, read on
    her own track), his face is what is read there, and her reading is cited beside his. A condition she
    never shows ("while she is angry") finds nothing rather than his moments at any time; a "while" clause
    that reads no emotion ("while she listens") leaves the question whole."""
    from graphs.api import Session
    with Session(two_people, settings, llm=False, index=two_index) as s:
        ans = s.ask("how does the man on the right look while she laughs?")
        assert ans.intent.during is not None and ans.intent.during.emotions == ["Joy"]
        m = ans.moments[0]
        assert m.window.start >= 9.5 and m.window.overlaps(TimeWindow(start=10.0, end=14.0)), m.window
        assert re.match(r"^(At|From) [^,]+, person 2 \(on the right\) ", m.rationale), m.rationale
        assert re.search(rf"Meanwhile {LEFT}", m.rationale), m.rationale  # (the CLI test may have named her Anna)
        said = m.sentences[-1]  # the composer's "Meanwhile …" sentence cites her reading, and the moment does
        assert said.text.startswith("Meanwhile") and said.evidence_ids[0] in m.evidence_ids, m.sentences
        hers = {e.id: e for e in ans.evidence}[said.evidence_ids[0]]
        assert hers.tool == "expression" and hers.values["top"] == "happy" and hers.window == m.window
        # ("angry": the reader reads no condition in "while she is furious", a known miss, test_reader.py)
        ans = s.ask("when does the man on the right smile while she is angry?")
        assert ans.intent.during is not None and ans.intent.during.emotions[0] == "Anger"
        assert not any(m.verified for m in ans.moments), [(m.window, m.label) for m in ans.moments]
        assert any(f.startswith(("not_found", "unverified")) for f in ans.flags), ans.flags
        ans = s.ask("when does the man on the right smile while she listens?")
        assert ans.intent.during is None and ans.intent.emotions[0] == "Joy"


def test_a_chosen_person_is_asked_about_whatever_the_words_say(two_people, two_index, settings):
    """`Session.ask(person=)` (the UI's person chip, `affectlens ask --person`) asks about that track even
    when the question names nobody; the next question without a choice is about the whole video again."""
    from graphs.api import Session
    from tools.people import load_people
    ppl = load_people(two_index)
    left = next(p for p in ppl.people if p.position == "left")
    right = next(p for p in ppl.people if p.position == "right")
    s = Session(two_people, settings, llm=False, index=two_index)
    m = s.ask("when does anyone look happy?", person=left.id).moments[0]
    assert "on the left" in m.rationale and m.window.overlaps(TimeWindow(start=10.0, end=14.0))
    m = s.ask("when does anyone look happy?", person=right.id).moments[0]
    assert "on the right" in m.rationale
    ans = s.ask("when does anyone look happy?")
    assert ans.moments and not re.match(r"^(\w+ \()?person \d+", ans.moments[0].rationale)
    bad = s.ask("when does anyone look happy?", person=99)  # an unknown id: said, not silently ignored
    assert any("cannot use person 99" in f for f in bad.flags), bad.flags


def test_ui_people_chips_choose_and_name(two_people, two_index, settings):
    """The web UI lists the people (thumbnails served from the session folder), a chip restricts the
    questions to that person, and a name given there is understood in the next question."""
    pytest.importorskip("gradio")
    from tools.people import load_people, set_name
    from ui.app import AppCore
    core = AppCore(settings, llm=None)
    st = core.new_state()
    left = "1"
    try:
        list(core.load(st, str(two_people), None))
        choices, thumbs = core.people(st)
        assert choices[0] == ("Everyone", "0") and len(choices) == 3 and len(thumbs) == 2
        assert all(Path(p).resolve().is_relative_to(st.dir) and Path(p).stat().st_size > 0 for p, _ in thumbs)
        left = next(v for lab, v in choices if "on the left" in lab)
        core.focus(st, left)
        assert st.focus == int(left)
        *_, ans, _ = list(core.ask(st, "when does anyone look happy?", []))[-1]
        assert ans is not None and "on the left" in ans.moments[0].rationale
        core.focus(st, "0")
        assert st.focus is None
        with pytest.raises(Exception, match="choose a person"):
            core.name_person(st, "0", "Anna")
        note = core.name_person(st, left, "Zoe")
        assert "Zoe" in note and load_people(st.index).get(int(left)).name == "Zoe"
        assert any(lab.startswith("Zoe (") for lab, _ in core.people(st)[0])
        *_, ans, _ = list(core.ask(st, "when does Zoe look happy?", []))[-1]
        assert re.match(r"^(At|From) [^,]+, Zoe \(person \d+, on the left\) ", ans.moments[0].rationale), (
            ans.moments[0].rationale)
    finally:
        set_name(two_index, int(left), "")  # other tests read the same index's names
        st.close()


# ---------------------------------------------------------------- the zoom re-reads the asked person
def test_person_box_picks_the_face_at_the_persons_stored_box():
    from tools.perception.face import Face
    from tools.registry import person_box
    left = Face(box=(100.0, 100.0, 300.0, 340.0), landmarks=np.zeros((478, 3)))
    right = Face(box=(600.0, 120.0, 800.0, 360.0), landmarks=np.zeros((478, 3)))
    track = [(5.0, (0.62, 0.2, 0.2, 0.45))]  # the person's stored box, on the right, at 5 s
    b = person_box([left, right], track, 5.1, 1000, 600)
    assert b is not None and b[0] == pytest.approx(0.6, abs=1e-3)
    assert person_box([left], track, 5.1, 1000, 600) is None        # the person is not in this frame
    assert person_box([left, right], track, 7.0, 1000, 600) is None  # nothing stored near that time


def test_zoom_on_a_persons_view_reads_that_person(two_index, settings):
    """She cries in 0-4 s while the man beside her does not: the zoom on her view reads more sadness than
    the zoom on his (before, both re-read the same main face)."""
    from tools.people import PersonIndex, load_people
    from tools.registry import run_tool
    ppl = load_people(two_index)
    left = next(p for p in ppl.people if p.position == "left")
    right = next(p for p in ppl.people if p.position == "right")
    w = TimeWindow(start=0.0, end=4.0)
    reads = {}
    for p in (left, right):
        ctx = SimpleNamespace(index=PersonIndex(two_index, p.id), settings=settings)
        ev, err, _ = run_tool(ctx, "zoom", w, f"E{p.id}")
        assert ev is not None, err
        assert ev.values["n_zoomed"] > 0
        reads[p.position] = ev.values
    assert reads["left"]["p_sad"] > reads["right"]["p_sad"] + 0.1, reads


def test_presence_questions_follow_one_persons_face(two_people, two_index, settings):
    """The woman on the left is out of the picture 4-10 s (the man stays). "When does she leave?" is her
    exit at about 4 s, "when does she come back?" her
    return at about 10 s, each citing her presence change (read from the frames, not an emotion reading);
    the man never leaves, so asking for his exit finds nothing rather than a moment of hers. "When does
    someone walk out?" is her exit too, though a face (his) is on screen all along."""
    from graphs.api import Session
    with Session(two_people, settings, llm=False, index=two_index) as s:
        out = s.ask("when does the woman on the left leave the picture?")
        back = s.ask("when does the woman on the left come back in?")
        stays = s.ask("when does the guy on the right walk off?")
        anyone = s.ask("when does someone walk out?")  # nobody named: each person's track (a face stays on)
    for ans, kind, t in ((out, "leaves", 4.0), (back, "enters", 10.0), (anyone, "leaves", 4.0)):
        assert ans.intent.presence == kind and not ans.intent.emotions
        m = ans.moments[0]
        assert m.window.start < t < m.window.end and m.window.duration <= 3.01, (kind, m.window)
        ev = ans.evidence_by_id()[m.evidence_ids[0]]
        assert ev.tool == "presence" and ev.values["kind"] == kind and abs(ev.values["change_s"] - t) < 0.8
        assert "person 1, on the left" in ev.text and m.verified and m.confidence >= 0.8
    # "when is she out of the picture?" (the whole gap) is not checked here: the trained question reader reads
    # it as "present" (a known miss, docs/reader.md); tests/test_presence.py checks absences on the timeline
    assert stays.intent.presence == "leaves" and not stays.moments
    assert any(f.startswith("not_found") and "person 2, on the right" in f for f in stays.flags), stays.flags


# ---------------------------------------------------------------- evidence panels show the asked person
def _nearest(crops: list[np.ndarray], refs: dict[str, list[np.ndarray]]) -> list[str]:
    """For each face picture, the reference person (name) its identity descriptor is nearest to ('none'
    when no face is found in it)."""
    from tools.perception.face import FaceAnalyzer
    from tools.perception.identity import FaceIdentifier
    ident = FaceIdentifier()
    out = []
    with FaceAnalyzer(max_faces=1) as fa:
        for img in crops:
            f = fa.landmarks(np.ascontiguousarray(img))
            if not f:
                out.append("none")
                continue
            d = ident.describe(img, f[0].box)
            out.append(min(refs, key=lambda k: np.median([np.linalg.norm(d - r) for r in refs[k]])))
    return out


@pytest.fixture(scope="module")
def refs(faces) -> dict[str, list[np.ndarray]]:
    """Identity descriptors of the two people, from their own source clips."""
    from tools.perception.face import FaceAnalyzer
    from tools.perception.identity import FaceIdentifier
    ident = FaceIdentifier()
    out: dict[str, list[np.ndarray]] = {}
    with FaceAnalyzer(max_faces=1) as fa:
        for name, path, step in (("woman", faces / "WolfgangLanger_Pexels.mp4", 4), ("man", faces / "single_face.mp4", 1)):
            for i, (_, rgb) in enumerate(iter_frames(path, fps=2, max_side=640)):
                f = fa.landmarks(rgb) if i % step == 0 else []
                if f:
                    out.setdefault(name, []).append(ident.describe(rgb, f[0].box))
    return out


def test_evidence_panels_show_the_asked_persons_face(two_index, refs, tmp_path):
    """Asked about the man on the right (the turn's localise step names him), every face the evidence
    panel shows (the face crops with their AU bars, both faces of the motion panel, the clip framed on
    him) is his, by face identity, and the timeline and captions read his track; the same panels drawn from the whole video
    (the main face: the woman's, the larger one) show her, which is what the issue saw."""
    import ui.evidence as ev
    from tools.people import load_people
    man = next(p for p in load_people(two_index).people if p.position == "right")
    events = [{"node": "route"}, {"node": "localise", "person": man.label(), "candidates": []}]
    assert ev.asked_person(events) == man.id and ev.asked_person([{"node": "localise", "person": None}]) is None
    view = ev.person_index(two_index, ev.asked_person(events))
    w = TimeWindow(start=0.0, end=4.0)  # both on screen; she is the larger (main) face
    size = 160
    crops = ev.face_crops(view, w, n=4, size=size)
    shown = [img[:size] for img, _ in crops]
    flow, _, _ = ev.flow_panel(view, w, size=size)
    assert shown and flow is not None
    shown += [flow[:, :size], flow[:, size:2 * size]]
    assert set(_nearest(shown, refs)) == {"man"}
    mine = [f for f in view.frames_in(w) if f.box is not None]
    assert mine and all(f.box[0] > 0.5 for f in mine)  # curves, AU bars, captions: his (right) face only
    from ui.clip import trim_clip  # the clip is framed on him
    frame = ev.clip_frame(view, w)
    assert frame is not None and frame[0] >= 0.45 and ev.clip_frame(two_index, w) is None
    clip = trim_clip(two_index.meta.path, w, tmp_path / "his.mp4", crop=frame)
    pics = [rgb for i, (_, rgb) in enumerate(iter_frames(clip, fps=1, max_side=640)) if i in (1, 3)]
    assert pics and set(_nearest(pics, refs)) == {"man"}
    whole = [img[:size] for img, _ in ev.face_crops(two_index, w, n=4, size=size)]
    assert "woman" in _nearest(whole, refs)


def test_thumbnails_show_the_whole_face(two_index, fa):
    """Each person's thumbnail shows the whole face with room around it (hair, chin), not a cut-off
    forehead and eyes: the landmarker finds one face, every landmark inside, the face 30-75 % of the side."""
    from tools.people import load_people
    for p in load_people(two_index).people:
        img = cv2.cvtColor(cv2.imread(p.thumbnail), cv2.COLOR_BGR2RGB)
        found = fa.landmarks(img)
        assert len(found) == 1, p
        x0, y0, x1, y1 = found[0].box
        side = img.shape[0]
        assert min(x0, y0) > 0.04 * side and max(x1, y1) < 0.96 * side, (p.id, found[0].box)
        assert 0.3 <= (y1 - y0) / side <= 0.75, (p.id, found[0].box)
