"""Web UI without a browser: the app builds, uploads are validated (type, size, names), browser sessions
stay apart, and the evidence panel renders real outputs for a real answer on the Pexels clip
(Session with llm=None: the deterministic fallback path, fast)."""

from __future__ import annotations

import json
import shutil
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
        assert dst.parent == st.dir / "videos" and dst.name == "my_clip.mp4"
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


def test_load_ask_evidence_export_and_isolation(core, pexels_index):
    a, b = core.new_state(), core.new_state()
    try:
        assert a.dir != b.dir and a.id != b.id
        msgs = list(core.load(a, None, "clip.mp4"))
        assert "cached index" in msgs[0][1]          # badge: built by the pexels_index fixture
        assert a.session is not None and b.session is None
        hist = None
        for hist, _, ans in core.ask(a, "when does she cheer up?", []):
            pass
        assert ans is not None and ans.moments
        thoughts = [m for m in hist if getattr(m, "metadata", None) and m.metadata.get("title")]
        assert any(m.metadata.get("parent_id") for m in thoughts), "tool calls are nested thoughts"
        assert all(m.metadata.get("status") == "done" for m in thoughts)
        assert ans.moments[0].window.label() in hist[-1].content
        # follow-up in the same session reuses the evidence
        for hist2, _, why in core.ask(a, "why?", hist):
            pass
        assert why.moments and any("Follow-up" in (getattr(m, "metadata", {}) or {}).get("title", "") for m in hist2)
        # the other browser session sees nothing
        assert b.answer is None and core.evidence(b, "1")["figure"] is None
        with pytest.raises(Exception, match="load a video first"):
            list(core.ask(b, "when does she cheer up?", []))
        d = core.evidence(a, "1")
        assert d["figure"] is not None and d["crops"] and d["flow"] is not None
        assert Path(d["clip"]).resolve().is_relative_to(a.dir)
        files = core.export(a)
        assert all(Path(f).resolve().is_relative_to(a.dir) for f in files)
        assert json.loads(Path(files[0]).read_text())["moments"]
        a.new_conversation()
        assert a.answer is None and a.session is not None
    finally:
        a.close()
        b.close()


@pytest.mark.slow
def test_indexing_reports_progress(tmp_path):
    """A fresh build (own cache) reports rising fractions (frames, then the search index) to Gradio."""
    from tools.settings import Settings
    from ui.app import AppCore
    c = AppCore(Settings(cache_dir=tmp_path / "cache"), llm=None)
    calls = []
    msgs = [m for _, m in c.load(None, str(SAMPLE), None,
                                 lambda p, desc=None, unit="steps", total=None: calls.append((p, desc)))]
    assert "not indexed yet" in msgs[0] and "indexed in" in msgs[-1]
    fractions = [p for p, _ in calls]
    assert len(fractions) >= 2 and fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    assert any(desc and "frames" in desc for _, desc in calls)


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
    msgs = [m for _, m in c.load(None, str(SAMPLE), None, None)]
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
        assert "AU12" in cap and ":" in cap


def test_flow_panel_shape_and_regions(asked, pexels_index):
    from ui.evidence import flow_panel
    ans, _ = asked
    img, lines, cap = flow_panel(pexels_index, ans.moments[0].window, size=160)
    assert img is not None and img.shape == (160, 480, 3) and img.dtype == np.uint8
    assert img[:, 320:].max() > 0, "flow visualisation should not be black"
    assert any(ln.startswith("mouth_corners") for ln in lines) and any(ln.startswith("head") for ln in lines)
    assert "→" in cap


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
    from ui.evidence import trim_clip
    ans, _ = asked
    w = ans.moments[0].window
    out = trim_clip(SAMPLE, w, tmp_path / "clip.mp4", pad=1.0)
    meta = probe(out)
    assert meta.video_codec == "h264" and meta.has_audio
    expect = min(ans.video.duration, w.end + 1) - max(0, w.start - 1)
    assert abs(meta.duration - expect) < 0.6


def test_exports_parse(asked, pexels_index, tmp_path):
    from agents.schemas import Answer
    from ui.evidence import export_json, export_markdown
    ans, events = asked
    j = export_json(ans, tmp_path / "a.json", pexels_index, events)
    doc = json.loads(j.read_text())
    again = Answer.model_validate(doc["answer"])
    assert [m.window for m in again.moments] == [m.window for m in ans.moments]
    assert doc["moments"][0]["citations"] and doc["moments"][0]["window"]["label"] == ans.moments[0].window.label()
    assert doc["trace"] and "/" not in doc["answer"]["video"]["path"]
    md = export_markdown(ans, tmp_path / "a.md", pexels_index).read_text()
    m = ans.moments[0]
    assert md.startswith("# affectlens report") and f"## 1. {m.window.label()}" in md
    assert f"| {m.evidence_ids[0]} |" in md and "when does she cheer up?" in md


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
