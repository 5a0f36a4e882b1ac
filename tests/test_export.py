"""`affectlens export`: every format written from a real index of the shipped sample and parsed back with a
maintained library of its format (csv, webvtt-py, srt, OpenTimelineIO and its CMX3600 adapter)."""

from __future__ import annotations

import csv
import json

import pytest

from tools.labels import EMOTIONS

SAMPLE = "assets/sample_pexels.mp4"


@pytest.fixture(scope="module")
def exported(settings, tmp_path_factory):
    from ui.export import FORMATS, export_video
    out = tmp_path_factory.mktemp("export")
    return {f: export_video(SAMPLE, f, out / f"sample.{f}", settings) for f in FORMATS}


@pytest.fixture(scope="module")
def arc_answer(pexels_index, tmp_path_factory):
    from ui.export import video_answer
    return video_answer(pexels_index, tmp_path_factory.mktemp("arc"))


def test_csv_has_a_row_per_window_and_person(exported, pexels_index):
    from tools.people import load_people
    rows = list(csv.DictReader(exported["csv"].open()))
    n_people = max(1, len(load_people(pexels_index).people))
    assert len(rows) == len(pexels_index.records) * n_people
    for e in EMOTIONS:
        assert f"p_{e}" in rows[0]
    assert {"start", "end", "person", "main_aus", "arousal", "transcript"} <= set(rows[0])
    sad = [r for r in rows if r["p_Sadness"] and float(r["p_Sadness"]) > 0.5]
    happy = [r for r in rows if r["p_Joy"] and float(r["p_Joy"]) > 0.5]
    assert sad and happy and max(float(r["start"]) for r in sad) < min(float(r["start"]) for r in happy)
    assert all(abs(sum(float(r[f"p_{e}"]) for e in EMOTIONS) - 1) < 0.01 for r in rows if r["p_Joy"])
    assert rows[0]["main_aus"].startswith("AU")


def test_vtt_and_srt_parse_and_caption_the_arc(exported, arc_answer):
    import srt
    import webvtt
    vtt = webvtt.read(str(exported["vtt"]))
    subs = list(srt.parse(exported["srt"].read_text()))
    seen = [s for s in arc_answer.arc.segments if s.label is not None]
    assert len(vtt.captions) == len(subs) == len(seen) + 1
    assert vtt.captions[0].text.startswith("Emotional arc:")
    texts = " ".join(c.text for c in vtt.captions)
    assert "sad" in texts and "happy" in texts
    sad = next(c for c in subs if c.content.startswith("sad"))
    assert sad.start.total_seconds() < 1 and 4 < sad.end.total_seconds() < 10


def test_edl_and_otio_mark_the_emotional_moments(exported, arc_answer):
    import opentimelineio as otio
    emo = [s for s in arc_answer.arc.segments if s.emotional]
    for fmt, adapter in (("edl", "cmx_3600"), ("otio", "otio_json")):
        tl = otio.adapters.read_from_file(str(exported[fmt]), adapter_name=adapter)
        markers = [m for clip in tl.find_clips() for m in clip.markers]
        assert len(markers) == len(emo), fmt
        starts = sorted(m.marked_range.start_time.to_seconds() for m in markers)
        assert all(abs(a - s.start) < 0.1 for a, s in zip(starts, sorted(emo, key=lambda s: s.start))), fmt
    tl = otio.adapters.read_from_file(str(exported["otio"]))
    assert {m.color for c in tl.find_clips() for m in c.markers} >= {"BLUE", "YELLOW"}  # sad, happy


def test_json_holds_the_arc_and_each_moment_with_its_evidence(exported):
    d = json.loads(exported["json"].read_text())
    assert d["arc"]["segments"] and d["arc"]["people"][0]["summary"]
    assert d["video"]["path"] == "sample_pexels.mp4" and d["arc"]["image_path"] == "arc_summary_all.png"
    assert (exported["json"].parent / "arc_summary_all.png").exists()
    for m in d["moments"]:
        assert [e["id"] for e in m["evidence"]] == m["evidence_ids"]


def test_cli_export_and_unknown_format(settings, tmp_path, monkeypatch, capsys):
    from ui.cli import main
    monkeypatch.setenv("AFFECTLENS_CACHE_DIR", str(settings.cache_dir))
    from tools.settings import get_settings
    get_settings.cache_clear()
    try:
        assert main(["export", SAMPLE, "--format", "srt", "--out", str(tmp_path / "a.srt")]) == 0
        assert (tmp_path / "a.srt").read_text().startswith("1\n")
        with pytest.raises(SystemExit):
            main(["export", SAMPLE, "--format", "mov", "--out", str(tmp_path / "a.mov")])
    finally:
        get_settings.cache_clear()


def test_ui_export_needs_a_loaded_video():
    from ui.web.arc import arc_picture, export_arc
    from ui.web.storage import UploadRejected
    with pytest.raises(UploadRejected):
        export_arc(None, "vtt")
    assert arc_picture(None) is None


def test_report_shows_each_indexed_videos_arc_and_moments(pexels_index, settings, tmp_path):
    import shutil

    from ui.report import write_report
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copyfile(SAMPLE, lib / "sample.mp4")  # same content: the fixture's index is found by its key
    (lib / "notes.mp4").write_bytes(b"not a video" * 10)
    out, n, missing = write_report(lib, tmp_path / "report.html", settings)
    page = out.read_text()
    assert (n, missing) == (1, 1)
    assert page.count('<img class=arc src="data:image/png;base64,') == 1
    assert page.count('src="data:image/jpeg;base64,') >= 2  # a thumbnail per moment (sad, happy)
    assert "Not indexed yet: notes.mp4" in page and "sample.mp4" in page


def test_ask_json_to_a_file_puts_the_arc_picture_beside_it(pexels_index, settings, tmp_path):
    import os
    import subprocess
    import sys
    code = ("from tools.index import build_index; from graphs.nodes.arc import answer_arc; "
            "from ui.cli import _arc_beside_stdout; "
            "a, _ = answer_arc(build_index('assets/sample_pexels.mp4', progress=False), 'q', 'summary'); "
            "print(_arc_beside_stdout(a).model_dump_json())")
    out = tmp_path / "answer.json"
    with out.open("w") as fh:
        subprocess.run([sys.executable, "-c", code], stdout=fh, check=True, timeout=300,
                       env={**os.environ, "AFFECTLENS_CACHE_DIR": str(settings.cache_dir)})
    arc = json.loads(out.read_text())["arc"]
    assert arc["image_path"] == str(tmp_path / "answer_arc.png") and arc["svg_path"] == str(tmp_path / "answer_arc.svg")
    assert (tmp_path / "answer_arc.png").read_bytes()[:4] == b"\x89PNG"
