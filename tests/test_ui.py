"""Web UI without a browser: the app builds, uploads are validated (type, size, names), browser sessions
stay apart, and the evidence panel renders real outputs for a real answer on the Pexels clip
(Session with llm=None: the deterministic fallback path, fast)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import SAMPLE

gr = pytest.importorskip("gradio")


@pytest.fixture(scope="module")
def core(settings, tmp_path_factory):
    from ui.app import AppCore
    folder = tmp_path_factory.mktemp("videos")
    shutil.copyfile(SAMPLE, folder / "clip.mp4")
    (folder / "notes.txt").write_text("not a video")
    (folder / ".hidden.mp4").write_text("x")
    return AppCore(settings, video_dir=folder, llm=None)


@pytest.fixture(scope="module")
def asked(settings, pexels_index):
    """A real Answer (llm=None) plus the step events of its turn."""
    from graphs.api import Session
    events: list[dict] = []
    with Session(SAMPLE, settings, llm=None, index=pexels_index) as s:
        ans = s.ask("when does she cheer up?", on_event=lambda e: events.extend(e["events"]))
    assert ans.moments, "the fallback agent should find the smile in the Pexels clip"
    return ans, events


# ---------------------------------------------------------------- app and validation

def test_build_app_constructs(settings):
    from ui.app import build_app
    app = build_app(settings, llm=None)
    assert isinstance(app, gr.Blocks)
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    for needed in ("al-upload", "al-pick", "al-chat", "al-question", "al-stop", "al-new", "al-export",
                   "al-moments", "al-clip", "al-plot", "al-crops", "al-flow", "al-transcript", "al-citations"):
        assert needed in ids, needed
    assert app.core.root == (Path(settings.cache_dir) / "ui").resolve()


@pytest.mark.parametrize("name", ["../evil.mp4", "..\\evil.mp4", "/etc/passwd.mp4", "a/b.mp4", "x\x00.mp4",
                                  "..", "ok..mp4", "~root.mp4", "C:evil.mp4", ""])
def test_path_traversal_names_rejected(name):
    from ui.app import UploadRejected, safe_filename, validate_upload
    with pytest.raises(UploadRejected):
        safe_filename(name)
    with pytest.raises(UploadRejected):
        validate_upload(SAMPLE, name)


def test_safe_filename_sanitises():
    from ui.app import safe_filename
    assert safe_filename("My Video (1).MP4") == "My_Video_1.mp4"
    assert "<" not in safe_filename("a<b>.mkv") and safe_filename("a<b>.mkv").endswith(".mkv")
    assert len(safe_filename("x" * 500 + ".webm")) <= 120


def test_upload_rejects_wrong_type_fake_and_oversize(tmp_path):
    from ui.app import UploadRejected, validate_upload
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    with pytest.raises(UploadRejected, match="unsupported file type"):
        validate_upload(txt)
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video at all")
    with pytest.raises(UploadRejected, match="not a readable video"):
        validate_upload(fake)
    with pytest.raises(UploadRejected, match="limit"):
        validate_upload(SAMPLE, "sample.mp4", max_bytes=1000)
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with pytest.raises(UploadRejected, match="empty"):
        validate_upload(empty)
    name, meta = validate_upload(SAMPLE, "sample pexels.MP4")
    assert name == "sample_pexels.mp4" and meta.has_video and meta.duration > 10


def test_upload_is_copied_into_the_session_folder(core):
    st = core.new_state()
    try:
        dst, meta = st.import_upload(SAMPLE, "my clip.mp4")
        assert dst.parent == st.dir / "videos" / meta.content_key[:12] and dst.name == "my_clip.mp4"
        assert dst.stat().st_size == SAMPLE.stat().st_size
        assert dst.resolve().is_relative_to(core.root)
        from ui.app import UploadRejected
        with pytest.raises(UploadRejected):
            st.import_upload(SAMPLE, "../../escape.mp4")
        with pytest.raises(UploadRejected):
            st.path_in("..", "other")
    finally:
        st.close()
    assert not st.dir.exists()


def test_folder_picker_lists_and_confines(core):
    from ui.app import UploadRejected, list_videos, resolve_pick
    assert list_videos(core.video_dir) == ["clip.mp4"]
    assert resolve_pick(core.video_dir, "clip.mp4") == (core.video_dir / "clip.mp4").resolve()
    for bad in ("../clip.mp4", "notes.txt", ".hidden.mp4", "/etc/passwd", "missing.mp4", str(SAMPLE)):
        with pytest.raises(UploadRejected):
            resolve_pick(core.video_dir, bad)


def _ask(core, st, q, hist=None):
    out = None
    for out in core.ask(st, q, hist or []):
        pass
    return out  # (history, state, answer, progress html)


def test_load_ask_evidence_export_and_isolation(core, pexels_index):
    a, b = core.new_state(), core.new_state()
    try:
        assert a.dir != b.dir and a.id != b.id
        msgs = [m for _, m, _ in core.load(a, None, "clip.mp4")]
        assert "cached index" in msgs[0]          # badge: built by the pexels_index fixture
        assert a.session is not None and b.session is None
        assert a.player is not None and a.player.resolve().is_relative_to(a.dir)  # served from the session
        hist, _, ans, prog = _ask(core, a, "when does she cheer up?")
        assert ans is not None and ans.moments and 'data-state="done"' in prog
        thoughts = [m for m in hist if getattr(m, "metadata", None) and m.metadata.get("title")]
        assert any(m.metadata.get("parent_id") for m in thoughts), "tool calls are nested thoughts"
        assert all(m.metadata.get("status") == "done" for m in thoughts)
        w = ans.moments[0].window
        assert f"(#t={w.start:.2f})" in hist[-1].content, "the answer's time is a seek link"
        # follow-up in the same session reuses the evidence
        hist2, _, why, _ = _ask(core, a, "why?", hist)
        assert why.moments and any("Follow-up" in (getattr(m, "metadata", {}) or {}).get("title", "") for m in hist2)
        # the other browser session sees nothing, and a question without a video is refused with a message
        assert b.answer is None and core.evidence(b, "1")["figure"] is None
        hb, _, nb, progb = _ask(core, b, "when does she cheer up?")
        assert nb is None and "No video is loaded" in hb[-1].content and 'data-state="error"' in progb
        d = core.evidence(a, "1")
        assert d["figure"] and d["crops"] and d["flow"]
        for f in [d["clip"], d["figure"], d["flow"], *[c[0] for c in d["crops"]]]:
            assert Path(f).resolve().is_relative_to(a.dir) and Path(f).name.startswith(a.content_key[:16])
        assert "[E" not in d["crops_label"]  # no evidence ids where a person reads (the sources table has them)
        files = core.export(a)
        assert all(Path(f).resolve().is_relative_to(a.dir) for f in files)
        doc = json.loads(Path(files[0]).read_text())
        assert [t["question"] for t in doc["turns"]] == ["when does she cheer up?", "why?"]
        a.new_conversation()
        assert a.answer is None and a.session is not None and a.turns == []
    finally:
        a.close()
        b.close()


def test_artefacts_are_keyed_by_video_content(core, pexels_index, settings, tmp_path):
    """Two videos, same turn and rank: the clip names differ (content key), and after switching video
    the panel never points at the first video's files; a failed upload leaves no video loaded."""
    from tests.conftest import DATA
    from ui.app import UploadRejected, artefact_name
    from tools.schemas import TimeWindow
    w = TimeWindow(start=1.0, end=2.0)
    assert artefact_name("a" * 64, w, "clip", "mp4") != artefact_name("b" * 64, w, "clip", "mp4")
    assert artefact_name("a" * 64, w, "clip", "mp4") == artefact_name("a" * 64, w, "clip", "mp4")
    st = core.new_state()
    try:
        list(core.load(st, str(SAMPLE), None))
        _ask(core, st, "when does she cheer up?")
        first = core.evidence(st, "1")
        key1 = st.content_key
        list(core.load(st, str(DATA / "faces" / "single_face.mp4"), None))
        assert st.content_key != key1 and st.answer is None and core.evidence(st, "1")["clip"] is None
        _, _, ans, _ = _ask(core, st, "when is he happy?")
        second = core.evidence(st, "1") if ans and ans.moments else {"clip": None}
        if second["clip"]:
            assert Path(second["clip"]).name.startswith(st.content_key[:16])
            assert Path(second["clip"]).name != Path(first["clip"]).name
        bad = tmp_path / "broken.mp4"
        bad.write_bytes(b"not a video" * 100)
        with pytest.raises(UploadRejected):
            list(core.load(st, str(bad), None))
        assert st.session is None and st.video is None and st.turns == []
        h, _, a, _ = _ask(core, st, "when is he happy?")
        assert a is None and "No video is loaded" in h[-1].content
    finally:
        st.close()


def test_stop_leaves_a_note_and_a_usable_chat(core, pexels_index):
    """Stop mid-question: a 'stopped' note, no pending step left, the turn marked stopped, and the next
    question is answered."""
    st = core.new_state()
    try:
        list(core.load(st, str(SAMPLE), None))
        gen = core.ask(st, "when does she cheer up?", [])
        hist, _, _, prog = next(gen)
        assert hist[-1].metadata["status"] == "pending" and 'data-state="running"' in prog  # first step at once
        t_stop = time.monotonic()
        assert core.stop(st, hist) == (gr.skip(), gr.skip())  # the question's own stream writes the note
        hist, _, ans, prog = list(gen)[-1]  # and ends by itself (no Gradio cancel needed)
        assert time.monotonic() - t_stop < 5, "the stream ends soon after Stop, not after the whole graph"
        assert ans is None and "Stopped" in hist[-1].content and 'data-state="stopped"' in prog
        assert not any((getattr(m, "metadata", None) or {}).get("status") == "pending" for m in hist)
        assert st.turns[-1].status == "stopped"
        h2, _, ans, _ = _ask(core, st, "when does she cheer up?", hist)
        assert ans is not None and ans.moments and st.turns[-1].status == "done"
    finally:
        st.close()


@pytest.mark.slow
def test_indexing_reports_progress(tmp_path):
    """A fresh build (own cache) reports rising fractions (frames, then the search index) to Gradio."""
    from tools.settings import Settings
    from ui.app import AppCore
    c = AppCore(Settings(cache_dir=tmp_path / "cache"), llm=None)
    calls = []
    msgs = [m for _, m, _ in c.load(None, str(SAMPLE), None,
                                    lambda p, desc=None, unit="steps", total=None: calls.append((p, desc)))]
    assert "not indexed yet" in msgs[0] and "indexed in" in msgs[-1]
    fractions = [p for p, _ in calls]
    assert len(fractions) >= 2 and fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    assert any(desc and "frames" in desc for _, desc in calls)


def test_stop_with_nothing_running_and_stop_then_new_conversation(core, pexels_index):
    """Stop with no question running says so; Stop via "New conversation" ends the question's stream
    without writing into the new, empty chat."""
    st = core.new_state()
    try:
        list(core.load(st, str(SAMPLE), None))
        hist, prog = core.stop(st, [])
        assert hist == [] and "Nothing was running" in prog
        gen = core.ask(st, "when does she cheer up?", [])
        next(gen)
        st.new_conversation()
        rest = list(gen)
        assert rest == [] or all(a is None and "Stopped" not in str(h[-1]) for h, _, a, _ in rest)
        assert st.turns == []
    finally:
        st.close()


@pytest.mark.slow
def test_stop_while_indexing_loses_nothing(tmp_path):
    """Stop (Gradio closes the load generator) mid-indexing: the build finishes in the background and the
    next load of the same video finds it cached."""
    import threading

    from tools.settings import Settings
    from ui.app import AppCore
    c = AppCore(Settings(cache_dir=tmp_path / "cache"), llm=None)
    gen = c.load(None, str(SAMPLE), None, None)
    assert "not indexed yet" in next(gen)[1]
    note = next(gen)[1]
    assert "⏳" in note and "Ask a question" not in note  # the build is under way
    gen.close()  # the user pressed Stop
    for th in threading.enumerate():
        if th.name.startswith("index-"):
            th.join(180)
    msgs = [m for _, m, _ in c.load(None, str(SAMPLE), None, None)]
    assert "cached index" in msgs[0] and "cached index" in msgs[-1]


# ---------------------------------------------------------------- evidence panel

def test_timeline_figure_has_curves_and_shading(asked, pexels_index):
    from ui.evidence import candidate_windows, timeline_figure
    ans, events = asked
    cands = candidate_windows(events)
    assert cands
    fig = timeline_figure(pexels_index, ans.moments[0], ans.moments, cands)
    assert len(fig.axes) >= 3
    lines = [ln for ax in fig.axes for ln in ax.get_lines()]
    assert len(lines) >= 4 and len(fig.axes[0].get_lines()) >= 1
    assert any(len(ln.get_xdata()) >= len(pexels_index.records) for ln in lines)
    assert len(fig.axes[0].patches) >= 2  # candidate + moment spans
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.tell() > 10_000


def test_face_crops_are_real_images(asked, pexels_index):
    from ui.evidence import face_crops
    ans, _ = asked
    crops = face_crops(pexels_index, ans.moments[0].window, n=4, size=160)
    assert 1 <= len(crops) <= 4
    for img, cap in crops:
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[1] == 160 and img.shape[0] > 160
        assert img[:160].std() > 10, "crop should show a face, not a flat fill"
        assert ":" in cap and re.search(r"AU\d+ [a-z]", cap), "AU codes carry their names"
        assert "zoom" not in cap


def test_flow_panel_shape_and_regions(asked, pexels_index):
    from ui.evidence import flow_panel
    ans, _ = asked
    img, lines, cap = flow_panel(pexels_index, ans.moments[0].window, size=160)
    assert img is not None and img.shape == (160, 480, 3) and img.dtype == np.uint8
    assert img[:, 320:].max() > 0, "flow visualisation should not be black"
    assert any(ln.startswith("mouth_corners") for ln in lines) and any(ln.startswith("brows") for ln in lines)
    assert "→" in cap


def test_flow_panel_renders_stored_values_without_models(asked, pexels_index, monkeypatch):
    """The motion picture reads the index and the motion evidence: the face analyser and the optical
    flow are never constructed, and the numbers shown are the evidence's own."""
    import tools.perception.face as face
    import tools.perception.flow as flow
    from ui.evidence import flow_panel

    def boom(*a, **k):
        raise AssertionError("perception re-run by the evidence panel")
    monkeypatch.setattr(face, "FaceAnalyzer", boom)
    monkeypatch.setattr(flow, "FlowAnalyzer", boom)
    ans, _ = asked
    m = ans.moments[0]
    motion = next((e for e in ans.evidence if e.tool == "motion" and e.window.overlaps(m.window)), None)
    img, lines, cap = flow_panel(pexels_index, m.window, size=128, evidence=motion)
    assert img is not None and img.shape == (128, 384, 3)
    if motion is not None:
        assert f"[{motion.id}]" in cap
        top = next(k for k in motion.values if k.endswith("_mean"))
        assert f"{top.removesuffix('_mean')}: {motion.values[top]:.2f} px" in "\n".join(lines)


def test_transcript_rows_from_words():
    from tools.schemas import SpeechSegment, TimeWindow, Word
    from ui.evidence import transcript_rows
    seg = SpeechSegment(start=1.0, end=4.0, text="oh that is wonderful", words=[
        Word(text=" oh", start=1.0, end=1.3), Word(text=" that", start=1.4, end=1.7),
        Word(text=" is", start=2.2, end=2.4), Word(text=" wonderful", start=2.5, end=3.4)])
    idx = SimpleNamespace(speech=SimpleNamespace(segments=[seg]))
    rows = transcript_rows(idx, TimeWindow(start=2.0, end=5.0))
    assert [r[2] for r in rows] == ["is", "wonderful"]
    assert rows[0][0].startswith("00:00:02")


def test_citations_table_resolves_every_cited_id(asked):
    from ui.evidence import citation_rows, split_sentences
    ans, _ = asked
    m = ans.moments[0]
    rows = citation_rows(ans, m)
    ev = ans.evidence_by_id()
    assert rows and all(r[2] in ev for r in rows)
    assert {r[2] for r in rows} >= set(m.evidence_ids)
    assert all(r[3] == ev[r[2]].tool and r[6] == ev[r[2]].text for r in rows)
    assert max(r[0] for r in rows if r[0] != "–") <= len(split_sentences(m.rationale))
    assert not any("[" in r[1] for r in rows), "citation markers are stripped from the sentence"


def test_moment_clip_is_playable(asked, tmp_path):
    from tools.index.decode import probe
    from ui.clip import trim_clip
    ans, _ = asked
    w = ans.moments[0].window
    out = trim_clip(SAMPLE, w, tmp_path / "clip.mp4", pad=1.0)
    meta = probe(out)
    assert meta.video_codec == "h264" and meta.has_audio
    expect = min(ans.video.duration, w.end + 1) - max(0, w.start - 1)
    assert abs(meta.duration - expect) < 0.6


def test_session_export_has_every_turn(asked, pexels_index, tmp_path):
    from agents.schemas import Answer
    from ui.app import Turn
    from ui.export import export_session
    ans, events = asked
    turns = [Turn("when does she cheer up?", ans, events, "done", artefacts=["k_1-2_clip.mp4"]),
             Turn("when is she sad?", None, [], "stopped"),
             Turn("What happens at 00:00:03–00:00:06?", None, [], "done", reply="expression: sad")]
    j, md = export_session(turns, "clip.mp4", tmp_path / "s.json", tmp_path / "s.md", pexels_index)
    doc = json.loads(j.read_text())
    assert [t["status"] for t in doc["turns"]] == ["done", "stopped", "done"]
    again = Answer.model_validate(doc["turns"][0]["answer"])
    assert [m.window for m in again.moments] == [m.window for m in ans.moments]
    t0 = doc["turns"][0]
    assert t0["flags"] == ans.flags and t0["trace"] and t0["artefacts"] == ["k_1-2_clip.mp4"]
    assert t0["moments"][0]["citations"] and "/" not in t0["answer"]["video"]["path"]
    text = md.read_text()
    m = ans.moments[0]
    assert text.startswith("# affectlens session report") and f"### 1. {m.window.label()}" in text
    assert "## Question 2: when is she sad?" in text and "Stopped before an answer" in text
    assert "expression: sad" in text
    for f in ans.flags:  # raw flags only in the JSON
        assert f not in text


def test_plain_words_for_people():
    from ui.evidence import confidence_words, split_sentences
    from ui.notes import LLM_DRAFT_REJECTED, human_notes, plain_rationale
    from tools.confidence import BANDS, BELOW
    assert confidence_words(0.9) == "very likely" and confidence_words(0.2) == BELOW == "perhaps"
    assert all(confidence_words(lo) == word for lo, word in BANDS[:1])  # one definition: the answer's words
    notes = human_notes(["label_overridden_by_evidence:2", "rationale_repair_failed", "rationale_template",
                         "budget_exhausted"])
    assert LLM_DRAFT_REJECTED in notes and len(notes) == 3
    assert not any("_" in n for n in notes)
    said = human_notes(["presence_query", "not_found: the face of person 2, on the right, never leaves the picture "
                        "in the sampled frames; nothing is shown", "person: cannot tell which person is meant"])
    assert said[1] == ("Nothing found: the face of person 2, on the right, never leaves the picture in the sampled "
                       "frames.") and said[2].startswith("Person: cannot tell") and "picture" in said[0]
    assert plain_rationale("She smiles [E1]. Then laughs. [E2]") == "She smiles. Then laughs."
    # "why?" writes the marker after the full stop: it belongs to the sentence before it
    assert split_sentences("She smiled. [E1] Then she laughed [E2]. More. [E3]") == \
        ["She smiled. [E1]", "Then she laughed [E2].", "More. [E3]"]


def test_answer_markdown_is_plain(asked):
    from ui.app import answer_markdown
    ans, _ = asked
    md = answer_markdown(ans.model_copy(update={"flags": ["rationale_template", "llm_fallback:judge"]}))
    assert "rationale_template" not in md and "llm_fallback" not in md and "[E" not in md
    assert "confidence 0." not in md and any(w in md for w in ("likely", "probably", "possibly", "perhaps"))
    assert f"for “{ans.query}”" not in md  # no header repeating the question ("1 moment for 'why …?'")


def test_a_late_evidence_render_does_not_outlive_its_video(core, pexels_index, monkeypatch):
    """The evidence panel is rendered after the answer (the clip takes seconds to cut). If the user loads
    another video meanwhile, the late render is dropped instead of putting the old video's clip back
    (a CI browser run saw the first video's clip under the second)."""
    import ui.web.handlers as H
    st = core.new_state()
    try:
        list(core.load(st, str(SAMPLE), None))
        list(core.ask(st, "when does she cheer up?", []))
        assert core.evidence_now(st, 1)["clip"]  # nothing moved on: the panel, with its clip
        real = H.trim_clip

        def load_meanwhile(*a, **k):  # the next video is loaded while the clip is cut (here the same file)
            out = real(*a, **k)
            video, meta, player = st.video, st.meta, st.player
            st.clear_video()
            st.video, st.meta, st.player = video, meta, player
            return out
        monkeypatch.setattr(H, "trim_clip", load_meanwhile)
        assert core.evidence_now(st, 1) is None
    finally:
        st.close()


def test_notes_say_what_a_web_user_can_do():
    from ui.notes import human_notes
    notes = human_notes(["person: cannot tell which person is meant (name them: affectlens people VIDEO "
                         "--name ID=NAME)", "intent_without_llm", "provisional", "something_new"])
    assert len(notes) == 2, notes  # reading the question without the LLM is the default: no news
    assert "affectlens" not in " ".join(notes) and "People in the video" in notes[0]
    assert "Export session" in notes[1]


def test_the_ranked_moments_come_before_the_answer(core, pexels_index):
    """core.ask yields the ranked moments as a provisional answer (list, strip, player, clip show them at
    once), then the final answer with its explanations."""
    from ui.web.handlers import is_provisional
    st = core.new_state()
    try:
        list(core.load(st, str(SAMPLE), None))
        outs = [o for o in core.ask(st, "when does she cheer up?", []) if o[2] is not None]
        assert len(outs) == 2 and is_provisional(outs[0][2]) and not is_provisional(outs[1][2])
        early, final = outs[0][2], outs[1][2]
        assert [m.window for m in early.moments] == [m.window for m in final.moments]
        assert all(m.rationale == "" for m in early.moments) and final.moments[0].rationale
        assert st.answer is final and st.turns[-1].status == "done"
    finally:
        st.close()


def test_affect_strip_covers_the_whole_video(asked, pexels_index):
    from ui.evidence import candidate_windows
    from ui.web.strip import strip_html
    ans, events = asked
    h = strip_html(pexels_index, ans.moments, candidate_windows(events), key=pexels_index.meta.content_key)
    assert f'data-key="{pexels_index.meta.content_key}"' in h
    assert h.count("al-emo") + h.count("al-noface") >= 1 and h.count('class="al-seg al-chosen"') == len(ans.moments)
    starts = [float(x) for x in re.findall(r'al-emo" data-t="([\d.]+)"', h)]
    assert starts and min(starts) == 0.0 and max(starts) >= pexels_index.records[-1].window.start - 1e-6


def test_step_messages_shapes():
    from ui.app import step_messages
    evs = [{"node": "verify", "tool": "expression", "window": "00:00:09–00:00:20", "run": True, "reason": "r"},
           {"node": "verify", "tool": "expression", "evidence": "E1", "text": "mostly happy", "seconds": 0.2},
           {"node": "verify", "tool": "aus", "error": "boom"}]
    msgs = step_messages("verify", evs, 1.234, "k1")
    assert msgs[0].metadata == {"title": msgs[0].metadata["title"], "id": "k1", "status": "done", "duration": 1.23}
    assert msgs[1].metadata["parent_id"] == "k1" and "E1" in msgs[1].content
    assert "failed" in msgs[2].metadata["title"]
    assert step_messages("route", [{"mode": "new"}], 0, "k0") == []
    it = {"emotions": [], "valence": "any", "arousal": "any", "modalities": [], "temporal_hint": "none", "n_moments": 1}
    read = step_messages("interpret", [{"node": "interpret", "intent": {**it, "presence": "leaves"}}], 0.1, "k2")
    assert "who is in the picture: someone leaving it" in read[0].content
    assert "picture" not in step_messages("interpret", [{"node": "interpret", "intent": it}], 0.1, "k3")[0].content


# ---------------------------------------------------------------- process hygiene

_PARENT = """
import sys, time
from agents.llm_server import EmbeddedServer, exit_on_signals
from tools.provision import resolve
exit_on_signals()
s = EmbeddedServer(resolve("qwen2.5-coder-0.5b"), threads=1)
s.start(180)
print(s.proc.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_embedded_llm_server_dies_with_its_parent(sig):
    """A process that started the embedded LLM server stops it on SIGTERM and Ctrl-C (atexit); even
    when the parent is SIGKILLed the server notices (it watches its parent) and exits."""
    import signal
    import subprocess
    import sys
    import time
    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen([sys.executable, "-c", _PARENT], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        child = int(p.stdout.readline())
        assert _alive(child)
        p.send_signal(getattr(signal, sig))
        p.wait(60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.25)
        assert not _alive(child), f"LLM server {child} outlived its parent after {sig}"
    finally:
        if p.poll() is None:
            p.kill()


def test_the_cli_prints_notes_not_raw_flags(capsys):
    """`affectlens ask` without --json: the notes a person reads, with what to do on the command line; the raw
    flags stay in --json."""
    from agents.schemas import Answer
    from tools.schemas import VideoMeta
    from ui.cli import _print_answer
    from ui.notes import human_notes
    flags = ["ask_person: person 1, on the left | person 2, on the right", "intent_without_llm"]
    ans = Answer(query="when does the man smile?", flags=flags,
                 video=VideoMeta(path="v.mp4", content_key="k", size_bytes=1, duration=10.0, has_video=True,
                                 has_audio=False))
    _print_answer(ans)
    out = capsys.readouterr().out
    assert "ask_person" not in out and "intent_without_llm" not in out
    assert "note: Which person do you mean: person 1, on the left or person 2, on the right?" in out
    assert "--person ID" in out and "People in the video" not in out
    assert "People in the video" in human_notes(flags)[0]  # the web page says what to do there
