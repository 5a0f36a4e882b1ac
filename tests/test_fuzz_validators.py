"""Bounded fuzzing of the window/evidence/answer validators: any input gives a valid object or a
pydantic ValidationError/ValueError, never another exception, and valid objects keep their invariants."""

import math

from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from agents.schemas import Answer
from tools.schemas import Evidence, TimeWindow, VideoMeta

floats = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.integers(-10**9, 10**9)


@settings(max_examples=300, deadline=None)
@given(floats, floats, st.floats(min_value=0.2, max_value=1e6))
def test_clamped_window_always_inside(a, b, duration):
    try:
        w = TimeWindow.clamped(float(a), float(b), duration)
    except ValueError:
        assert not (math.isfinite(float(a)) and math.isfinite(float(b)))
        return
    assert 0 <= w.start < w.end <= duration + 1e-6


@settings(max_examples=300, deadline=None)
@given(floats, floats)
def test_window_validator(a, b):
    try:
        w = TimeWindow(start=a, end=b)
    except ValidationError:
        return
    assert 0 <= w.start < w.end and math.isfinite(w.end)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "tool", "modality", "window", "values", "text", "times", "junk"]),
                       st.none() | st.text(max_size=20) | st.integers() | st.floats() |
                       st.dictionaries(st.text(max_size=5), st.floats() | st.text(max_size=5), max_size=3) |
                       st.lists(st.floats(), max_size=3)))
def test_evidence_from_arbitrary_dicts(d):
    try:
        e = Evidence.model_validate(d)
    except ValidationError:
        return
    assert e.window.end > e.window.start


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_answer_json_garbage(s):
    try:
        Answer.model_validate_json(s)
    except ValidationError:
        pass


def test_answer_with_fuzzed_moment_times():
    meta = VideoMeta(path="/v", content_key="x", size_bytes=1, duration=10, has_video=True, has_audio=False)
    for start, end in [(0, 10), (9.999, 10.0005), (5, 11), (-1, 2)]:
        try:
            a = Answer.model_validate({"query": "q", "video": meta.model_dump(), "moments": [
                {"rank": 1, "window": {"start": start, "end": end}, "label": "Joy", "confidence": 0.5,
                 "rationale": ""}]})
        except ValidationError:
            assert end > 10.001 or start < 0
        else:
            assert a.moments[0].window.inside(10)
