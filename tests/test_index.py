"""Indexing pass: cached, resumable, and retrieval that finds moments from vague words."""

import json

import pytest

from tools.index import build_index, index_status
from tools.retrieval import Retriever
from tools.settings import Settings
from tests.conftest import SAMPLE


def test_pexels_index_records(pexels_index):
    recs = pexels_index.records
    assert recs and all(r.window.inside(pexels_index.meta.duration) for r in recs)
    faces, frames = sum(r.face_frames for r in recs), sum(r.n_frames for r in recs)
    assert faces >= 0.9 * frames and faces > 1.5 * pexels_index.meta.duration  # a face in nearly every frame
    # the laughing half reads happier than the crying half
    happy = lambda rs: sum(r.expression.get("happy", 0) for r in rs) / len(rs)  # noqa: E731
    assert happy([r for r in recs if r.window.start >= 10]) > happy([r for r in recs if r.window.end <= 9]) + 0.3


def test_second_run_uses_cache(pexels_index, settings, monkeypatch):
    import tools.index.frame_pass as fp
    monkeypatch.setattr(fp, "iter_frames", lambda *a, **k: pytest.fail("decoded again"))
    again = build_index(SAMPLE, settings, progress=False)
    assert again.summary.cached
    assert [r.model_dump() for r in again.records] == [r.model_dump() for r in pexels_index.records]
    st = index_status(SAMPLE, settings)
    assert st["complete"] and st["windows_done"] == st["windows_total"]


def test_killed_run_resumes_to_same_index(pexels_index, tmp_path):
    from tools.index.store import load_state as _load_state
    # speech first (not in parallel), so that the checkpoint after window 4 is taken for certain
    s = Settings(cache_dir=tmp_path, parallel_speech=False)
    partial = build_index(SAMPLE, s, progress=False, stop_after=6)  # "killed" after 6 windows
    assert len(partial.records) == 6 and not (partial.folder / "done.json").exists()
    assert _load_state(partial.folder)[0] == 4  # the resume starts from the window-4 checkpoint
    with open(partial.folder / "frames.jsonl", "a") as f:  # a half-written line, as a kill leaves it
        f.write('{"t": 99.0, "n_fa')
    full = build_index(SAMPLE, s, progress=False)
    assert [r.model_dump() for r in full.records] == [r.model_dump() for r in pexels_index.records]
    assert len(full.frames) == len(pexels_index.frames)


@pytest.mark.parametrize("concat", ["clip_concat", "mead_concat"])
def test_retrieval_happy_vs_sad(concat, settings, request):
    """Laughing vs crying clips of the shipped Pexels video; and posed MEAD clips (research-licensed)."""
    video, spans = request.getfixturevalue(concat)
    idx = build_index(video, settings, progress=False)
    r = Retriever(idx)

    def rank_of(span, cands):
        for i, c in enumerate(cands):
            if min(c.window.end, span[1]) - max(c.window.start, span[0]) > 0.5:
                return i
        return 99

    happy = r.search_moments("someone smiling happily", ["Joy"], k=6)
    assert rank_of(spans["happy"], happy) < rank_of(spans["sad"], happy)
    sad = r.search_moments("someone looks sad", ["Sadness"], k=6)
    assert rank_of(spans["sad"], sad) < rank_of(spans["happy"], sad)


def test_crying_query_prefers_first_half(pexels_index):
    c = Retriever(pexels_index).search_moments("she is crying", ["Sadness"], k=1)[0]
    assert c.window.center < 10


def test_descriptors_and_faiss_files(pexels_index):
    desc = json.loads((pexels_index.folder / "descriptors.json").read_text())
    assert len(desc) == len(pexels_index.records)
    assert any("smiling" in d for d in desc) and any("sad" in d for d in desc)
    assert (pexels_index.folder / "text.faiss").exists() and (pexels_index.folder / "affect.faiss").exists()


def test_text_vectors_embed_each_number_free_descriptor_once(pexels_index, monkeypatch):
    import faiss
    import numpy as np

    import tools.retrieval as rt
    real = rt.embedder()
    seen: list[str] = []

    class Spy:  # counts what is embedded, embeds with the real model
        dim = real.dim

        def embed(self, texts):
            seen.extend(texts)
            return real.embed(texts)

    monkeypatch.setattr(rt, "embedder", lambda: Spy())
    rt.build_vectors(pexels_index)
    plain = [rt.describe(r, numbers=False, picture=False) for r in pexels_index.records]
    shows = [rt.describe(r, numbers=False) for r in pexels_index.records]
    assert sorted(seen) == sorted(set(plain) | set(shows))
    assert not any(ch.isdigit() and "AU" not in t for t in seen for ch in t)
    desc = json.loads((pexels_index.folder / "descriptors.json").read_text())
    assert any("expression happy 0." in d for d in desc)  # the LLM still reads the numbers
    vecs = faiss.read_index(str(pexels_index.folder / "text.faiss")).reconstruct_n(0, len(plain))
    for i, t in enumerate(plain):
        assert np.allclose(vecs[i], vecs[plain.index(t)])


def test_windows_snap_to_speech_and_cover_video():
    from tools.index.windows import windows_for
    ws = windows_for(20.0, 3.0, cuts=[2.2, 7.9])
    assert ws[0].start == 0 and ws[-1].end == 20.0
    assert all(a.end == b.start for a, b in zip(ws, ws[1:]))
    assert ws[0].end == 2.2 and any(w.end == 7.9 for w in ws)
    plain = windows_for(10.0, 3.0)
    assert [w.end for w in plain] == [3.0, 6.0, 10.0]  # a short tail folds into the last window


def test_speech_video_gets_transcript_and_arousal(speech, settings):
    idx = build_index(speech / "talk_00015.mp3", settings, progress=False)
    assert idx.speech.segments and any(r.transcript for r in idx.records)
    assert all(r.face_frames == 0 for r in idx.records)


def test_window_transcripts_hold_the_spoken_words(speech, settings):
    """Synthetic speech with a known text (tests/data/make_synthetic.sh): each word lands in the window
    where it was said, in order, and the windows' transcripts read the sentence."""
    idx = build_index(speech / "synth_en.wav", settings, progress=False)
    text = " ".join(r.transcript for r in idx.records if r.transcript).lower()
    # words are joined with spaces, so whisper's word pieces " o" + "'clock" read "o 'clock"
    assert text.replace(" '", "'").startswith("please meet me at the station at 7 o'clock"), text
    words = [w for s in idx.speech.segments for w in s.words]
    station = next(w for w in words if w.text.lower().strip(".,") == "station")
    rec = next(r for r in idx.records if r.window.start <= (station.start + station.end) / 2 < r.window.end)
    assert "station" in rec.transcript.lower() and 0.5 < station.start < 2.5


def test_changed_config_reuses_speech(speech, tmp_path, monkeypatch):
    s1 = Settings(cache_dir=tmp_path)
    a = build_index(speech / "talk_sample1.mp3", s1, progress=False)
    import tools.index.speech_pass as ix
    monkeypatch.setattr(ix, "analyse_speech", lambda *a, **k: pytest.fail("speech recomputed"))
    b = build_index(speech / "talk_sample1.mp3", Settings(cache_dir=tmp_path, window_s=2.0), progress=False)
    assert b.folder != a.folder and b.speech == a.speech


def test_windows_follow_shot_changes(clip_concat, settings):
    from tools.index.decode import shot_changes
    video, spans = clip_concat
    cuts = shot_changes(video)
    assert any(abs(c - spans["filler"][0]) < 0.05 for c in cuts)  # laughing -> no-face filler
    assert not shot_changes(SAMPLE)  # one continuous shot
    idx = build_index(video, settings, progress=False)
    ends = [r.window.end for r in idx.records]
    assert any(abs(e - spans["filler"][0]) < 0.05 for e in ends)


def test_transcript_lookup_matches_word_midpoints():
    from tools.index import SpeechTrack
    from tools.schemas import SpeechSegment, TimeWindow, Word
    segs = [SpeechSegment(start=0, end=2, text="hello there", words=[Word(text=" hello", start=0.1, end=0.5),
                                                                      Word(text=" there", start=1.0, end=1.9)]),
            SpeechSegment(start=3, end=4, text="no word times")]
    sp = SpeechTrack(segments=segs)
    assert sp.text_in(TimeWindow(start=0, end=1)) == "hello"
    assert sp.text_in(TimeWindow(start=1, end=5)) == "there no word times"
    assert sp.text_in(TimeWindow(start=5, end=6)) == ""


def test_a_window_record_leaves_out_words_the_asr_was_unsure_of(speech):
    """Synthetic German through the English-only ASR: the window record (what retrieval embeds) keeps no
    transcript; real English keeps its words."""
    from tools.index import SpeechTrack
    from tools.index.decode import load_audio
    from tools.index.windows import summarise_window
    from tools.perception.speech import Transcriber
    from tools.schemas import TimeWindow
    asr = Transcriber(model="tiny.en")  # named: the default reads German with the multilingual model
    for name, kept in (("synth_de.wav", False), ("synth_en.wav", True)):
        audio = load_audio(speech / name, sr=16000)
        sp = SpeechTrack(segments=asr.transcribe(audio, sr=16000))
        rec = summarise_window(0, TimeWindow(start=0, end=audio.size / 16000), [], sp)
        assert bool(rec.transcript) == kept, (name, rec.transcript)


def test_speech_in_parallel_gives_the_same_index(faces, clips, speech, tmp_path):
    """Faces with speech over them: whisper running beside the frame pass (the default) and after it
    give the same windows, transcripts and affect records."""
    import numpy as np

    from tools.index.decode import concat_videos, load_audio
    video = tmp_path / "talking.mp4"
    talk = np.concatenate([load_audio(speech / "talk_sample1.mp3"), load_audio(speech / "talk_00015.mp3")])
    concat_videos([clips / "pexels_laughing.mp4", faces / "single_face.mp4", clips / "pexels_crying.mp4"], video,
                  soundtrack=talk)
    notes: list[tuple[str, float]] = []
    par = build_index(video, Settings(cache_dir=tmp_path / "a"), progress=False,
                      on_progress=lambda note, f: notes.append((note, f)))
    seq = build_index(video, Settings(cache_dir=tmp_path / "b", parallel_speech=False), progress=False)
    assert par.summary.speech_s > 5 and any(r.transcript for r in par.records)
    assert [r.model_dump() for r in par.records] == [r.model_dump() for r in seq.records]
    fractions = [f for _, f in notes]
    assert fractions == sorted(fractions) and fractions[-1] >= 0.99


def test_loud_voice_gets_denser_sampling(faces, speech, tmp_path):
    """A still face under speech: half rate while the voice is at its usual level, the full rate where
    it is much louder (the aroused-voice cue known before ASR), so such stretches get twice the frames."""
    import av
    import cv2
    import numpy as np

    from tools.index.store import read_lines as _lines
    from tools.schemas import FaceFrame
    from tools.index.decode import concat_videos, load_audio
    img = cv2.cvtColor(cv2.imread(str(faces / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]
    still = tmp_path / "still.mp4"
    with av.open(str(still), "w") as oc:
        vs = oc.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
        for i in range(25 * 12):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for pkt in vs.encode(frame):
                oc.mux(pkt)
        for pkt in vs.encode(None):
            oc.mux(pkt)
    talk = load_audio(speech / "talk_sample1.mp3")[: 16000 * 11]
    talk = talk / max(float(np.abs(talk).max()), 1e-6)
    half = 16000 * 6
    video = tmp_path / "calm_then_loud.mp4"
    concat_videos([still], video, soundtrack=np.concatenate([0.06 * talk[:half], 0.5 * talk[half:]]))
    idx = build_index(video, Settings(cache_dir=tmp_path / "cache"), progress=False)
    loud = json.loads((idx.folder / "loud.json").read_text())
    assert loud and all(a >= 5.0 for a, _ in loud)
    frames = [FaceFrame.model_validate_json(x) for x in _lines(idx.folder / "frames.jsonl")]
    assert sum(f.n_faces > 0 for f in frames) >= 0.9 * len(frames)
    quiet_n = sum(0.5 <= f.t < 5.0 for f in frames)
    loud_n = sum(6.5 <= f.t < 11.0 for f in frames)
    assert loud_n >= 1.6 * quiet_n, (quiet_n, loud_n)


def test_speech_pass_failure_reaches_the_caller(tmp_path, monkeypatch):
    """The speech pass runs in its own thread; its error is raised by build_index (not lost), and
    nothing is marked done."""
    import tools.index.speech_pass as ix
    from tools.errors import MediaError

    def broken(*a, **k):
        raise MediaError("audio stream broke")

    monkeypatch.setattr(ix, "analyse_speech", broken)
    s = Settings(cache_dir=tmp_path)
    with pytest.raises(MediaError, match="audio stream broke"):
        build_index(SAMPLE, s, progress=False)
    assert not list(tmp_path.glob("index/*/*/done.json"))


def test_frame_pass_waits_for_slow_speech_at_its_cap(pexels_index, tmp_path, monkeypatch):
    """With few frames allowed to wait for the window cuts, the frame pass blocks on the (slow) speech
    pass and still writes the same index."""
    import time

    import tools.index.speech_pass as ix
    real = ix.analyse_speech

    def slow(*a, **k):
        time.sleep(1.5)
        return real(*a, **k)

    monkeypatch.setattr(ix, "analyse_speech", slow)
    import tools.index.frame_pass as fp
    monkeypatch.setattr(fp, "MAX_PENDING_FRAMES", 3)
    idx = build_index(SAMPLE, Settings(cache_dir=tmp_path), progress=False)
    assert [r.model_dump() for r in idx.records] == [r.model_dump() for r in pexels_index.records]


def test_a_cut_file_is_indexed_as_damaged_and_every_answer_says_so(tmp_path, capsys, monkeypatch):
    """The sample cut to 60 % of its bytes (it declares 19.7 s, holds 12 s): the CLI warns at index time,
    decode.json stores the damage, the windows after 0:12 are unknown (not "no face": no record, so
    neither retrieval nor a presence question answers from them), every answer, "why?" included, carries
    the flag and its plain note, and `--force` re-indexes. Before: 7 windows, 30/30 face frames, silence."""
    from graphs.api import Session
    from tools.index.decode import DecodeCheck
    from ui.cli import main
    from ui.notes import human_notes
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    from tools.settings import get_settings
    monkeypatch.setenv("AFFECTLENS_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()  # the CLI reads the process's settings: this test's cache directory
    try:
        assert main(["index", str(cut), "-q"]) == 0
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "WARNING: The video is damaged after 0:12: nothing after that point was seen." in err
    s = Settings(cache_dir=tmp_path / "cache")
    idx = build_index(cut, s, progress=False)
    assert idx.summary.cached
    check = DecodeCheck.model_validate_json((idx.folder / "decode.json").read_text())
    assert 11.0 < check.damaged_after < 13.0 and idx.seen_until == check.damaged_after
    assert idx.records and all(r.window.end <= 12.5 for r in idx.records)  # windows 12-15, 15-18, 18-19.7: unknown
    assert all(r.face_frames == r.n_frames > 0 for r in idx.records)
    with Session(cut, s, llm=None, index=idx) as sess:
        asked = {q: sess.ask(q) for q in ("when is nobody on screen?", "when does she laugh?", "why?")}
    note = "The video is damaged after 0:12: nothing after that point was seen."
    for q, a in asked.items():
        assert a.flags.count("damaged_video: after 12.0") == 1 and note in human_notes(a.flags), q
        assert all(m.window.end <= 12.5 for m in a.moments), q
    assert not asked["when is nobody on screen?"].moments  # her face is in every frame that was read
    # the graph on its own (graph.invoke, `langgraph dev`), a summary included: the same flag
    from graphs.graph import graph
    from graphs.state import Context
    from tools.retrieval import Retriever
    ctx = Context(index=idx, retriever=Retriever(idx), llm=None, settings=s)
    for q in ("summarize how she feels over the video", "when does she laugh?"):
        a = graph.invoke({"query": q}, context=ctx)["answer"]
        assert a.flags.count("damaged_video: after 12.0") == 1 and all(m.window.end <= 12.5 for m in a.moments), q
    import tools.index

    def rebuilt(path, *a, **k):  # --force drops the cached index before building
        assert not idx.folder.exists()
        return idx
    monkeypatch.setattr(tools.index, "build_index", rebuilt)
    try:
        assert main(["index", str(cut), "-q", "--force"]) == 0
    finally:
        get_settings.cache_clear()
    assert "damaged after 0:12" in capsys.readouterr().err


def test_an_intact_index_has_no_damage_flag(pexels_index):
    assert pexels_index.decode is not None and not pexels_index.decode.damaged
    assert pexels_index.damage_flag() is None and pexels_index.seen_until == pexels_index.meta.duration
    assert (pexels_index.folder / "decode.json").exists()


def test_a_library_run_names_its_damaged_videos(pexels_index, settings, tmp_path):
    """Indexing a directory (`affectlens index DIR`, tools.library.index_library): the cut copy of the sample
    is reported damaged in its job and in the run's summary line; the intact sample is not."""
    from tools.library import index_library
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    run = index_library([cut, SAMPLE], settings, executor="local")
    by = {j.video: j for j in run.jobs}
    assert by[str(cut)].damage == "damaged_video: after 12.0" and by[str(SAMPLE)].damage == ""
    assert "WARNING: 1 damaged" in run.line()
