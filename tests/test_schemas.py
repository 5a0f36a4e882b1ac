"""Typed core data: validation and JSON round trips."""

import pytest
from pydantic import ValidationError

from agents.schemas import Answer, Intent, Moment
from tools.labels import normalize_label
from tools.schemas import Evidence, TimeWindow, VideoMeta, WindowRecord

META = VideoMeta(path="/v.mp4", content_key="abc", size_bytes=10, duration=20.0, has_video=True, has_audio=False)


def test_window_rejects_bad_order_and_negative():
    with pytest.raises(ValidationError):
        TimeWindow(start=5, end=5)
    with pytest.raises(ValidationError):
        TimeWindow(start=-1, end=2)
    with pytest.raises(ValidationError):
        TimeWindow(start=0, end=float("nan"))


def test_window_clamped_and_iou():
    w = TimeWindow.clamped(-3, 99, duration=20)
    assert (w.start, w.end) == (0, 20)
    w2 = TimeWindow.clamped(12, 8, duration=20)
    assert (w2.start, w2.end) == (8, 12)
    assert TimeWindow(start=0, end=10).iou(TimeWindow(start=5, end=15)) == pytest.approx(1 / 3)
    assert TimeWindow(start=0, end=1).iou(TimeWindow(start=2, end=3)) == 0


def _answer(**kw):
    ev = Evidence(id="E1", tool="expression", modality="face", window=TimeWindow(start=10, end=13),
                  values={"happy": 0.9, "top": "happy"}, text="mostly happy (0.90)")
    m = Moment(rank=1, window=TimeWindow(start=10, end=13), label="Joy", confidence=0.8, rationale="x [E1].",
               evidence_ids=["E1"])
    base = dict(query="q", video=META, intent=Intent(emotions=["Joy"]), moments=[m], evidence=[ev])
    base.update(kw)
    return Answer(**base)


def test_answer_json_round_trip():
    a = _answer()
    b = Answer.model_validate_json(a.model_dump_json())
    assert b == a
    assert Answer.model_json_schema()["title"] == "Answer"


def test_answer_rejects_unknown_citation_and_outside_window():
    m = Moment(rank=1, window=TimeWindow(start=1, end=2), label="Joy", confidence=0.5, rationale="", evidence_ids=["E9"])
    with pytest.raises(ValidationError, match="unknown evidence"):
        _answer(moments=[m])
    m = Moment(rank=1, window=TimeWindow(start=15, end=25), label="Joy", confidence=0.5, rationale="")
    with pytest.raises(ValidationError, match="outside the video"):
        _answer(moments=[m], evidence=[])


def test_labels_and_records():
    assert normalize_label("Happy ") == "Joy"
    assert normalize_label("angry") == "Anger"
    assert normalize_label("sad") == "Sadness"
    assert normalize_label("banana") is None
    r = WindowRecord(index=0, window=TimeWindow(start=0, end=3), n_frames=4, face_frames=2,
                     expression={"happy": 0.7, "sad": 0.1})
    assert r.face_ratio == 0.5 and r.top_expression() == ("happy", 0.7)
    assert WindowRecord.model_validate_json(r.model_dump_json()) == r
