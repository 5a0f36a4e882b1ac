"""Bounded fuzzing of the window/evidence/answer validators: every input is either accepted with its
invariants kept, or rejected with a pydantic ValidationError/ValueError that names the bad field, and
which of the two happens is exactly what the rules say."""

import math

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from agents.schemas import Answer
from tools.schemas import Evidence, TimeWindow, VideoMeta

floats = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.integers(-10**9, 10**9)
MODALITIES = ["face", "voice", "words", "motion", "retrieval", "scene"]
META = VideoMeta(path="/v", content_key="x", size_bytes=1, duration=10, has_video=True, has_audio=False)


@settings(max_examples=300, deadline=None)
@given(floats, floats, st.floats(min_value=0.2, max_value=1e6))
def test_clamped_window_always_inside(a, b, duration):
    finite = math.isfinite(float(a)) and math.isfinite(float(b))
    try:
        w = TimeWindow.clamped(float(a), float(b), duration)
    except ValueError:
        assert not finite, (a, b)
        return
    assert finite
    assert 0 <= w.start < w.end <= duration + 1e-6
    assert w.duration >= min(0.1, duration) - 1e-3  # never collapsed below the minimum length


@settings(max_examples=300, deadline=None)
@given(floats, floats)
def test_window_validator(a, b):
    valid = math.isfinite(a) and math.isfinite(b) and 0 <= a < b
    try:
        w = TimeWindow(start=a, end=b)
    except ValidationError:
        assert not valid, (a, b)
        return
    assert valid, (a, b)
    assert (w.start, w.end) == (float(a), float(b)) and math.isfinite(w.end)


ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,12}", fullmatch=True)
windows = st.tuples(st.floats(0, 1e4), st.floats(0.001, 1e4)).map(lambda t: {"start": t[0], "end": t[0] + t[1]})
finite = st.floats(allow_nan=False, allow_infinity=False)  # inf/nan are accepted but JSON writes them as null
values = st.dictionaries(st.text(max_size=5), st.none() | st.booleans() | st.integers(-100, 100) | finite
                         | st.text(max_size=5) | st.lists(finite, max_size=3), max_size=3)
valid_evidence = st.fixed_dictionaries(
    {"id": ids, "tool": st.text(max_size=10), "modality": st.sampled_from(MODALITIES), "window": windows,
     "text": st.text(max_size=40)},
    optional={"values": values, "times": st.lists(st.floats(0, 1e4), max_size=3)})
# one field made invalid, and the value that makes it so
breakages = st.sampled_from([
    ("id", "has space"), ("id", ""), ("id", None), ("modality", "smell"), ("modality", None),
    ("window", {"start": 3.0, "end": 3.0}), ("window", {"start": -1.0, "end": 2.0}),
    ("window", {"start": 0.0, "end": float("inf")}), ("window", None), ("text", None), ("text", 5),
    ("tool", None), ("values", {"k": {"nested": 1}}), ("times", ["soon"]), ("junk", 1),
])


@settings(max_examples=200, deadline=None)
@given(valid_evidence)
def test_valid_evidence_is_accepted_and_round_trips(d):
    e = Evidence.model_validate(d)
    assert e.window.end > e.window.start >= 0
    assert Evidence.model_validate_json(e.model_dump_json()) == e


@settings(max_examples=200, deadline=None)
@given(valid_evidence, breakages)
def test_one_bad_field_rejects_evidence_naming_it(d, breakage):
    field, bad = breakage
    with pytest.raises(ValidationError) as err:
        Evidence.model_validate({**d, field: bad})
    assert field in {e["loc"][0] for e in err.value.errors()}, err.value.errors()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "tool", "modality", "window", "values", "text", "times", "junk"]),
                       st.none() | st.text(max_size=20) | st.integers() | st.floats() |
                       st.dictionaries(st.text(max_size=5), st.floats() | st.text(max_size=5), max_size=3) |
                       st.lists(st.floats(), max_size=3)))
def test_evidence_from_arbitrary_dicts(d):
    required = {"id", "tool", "modality", "window", "text"}
    try:
        e = Evidence.model_validate(d)
    except ValidationError as err:
        assert {x["loc"][0] for x in err.errors()} <= set(d) | required
        return
    assert required <= set(d) and "junk" not in d  # accepted only when complete, with no unknown field
    assert e.window.end > e.window.start >= 0 and e.modality in MODALITIES


def _answer(start=2.0, end=5.0, cite="E1", ev_end=5.0) -> dict:
    return {"query": "q", "video": META.model_dump(),
            "moments": [{"rank": 1, "window": {"start": start, "end": end}, "label": "Joy", "confidence": 0.5,
                         "rationale": "r", "evidence_ids": [cite]}],
            "evidence": [{"id": "E1", "tool": "expression", "modality": "face",
                          "window": {"start": 2.0, "end": ev_end}, "text": "happy"}]}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_answer_json_garbage(s):
    with pytest.raises(ValidationError):
        Answer.model_validate_json(s)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0))
def test_truncated_answer_json_is_rejected(cut):
    text = Answer.model_validate(_answer()).model_dump_json()
    cut %= len(text)  # any proper prefix
    with pytest.raises(ValidationError):
        Answer.model_validate_json(text[:cut])
    assert Answer.model_validate_json(text).moments[0].evidence_ids == ["E1"]


def test_answer_evidence_chain_rules():
    assert Answer.model_validate(_answer()).moments[0].window == TimeWindow(start=2, end=5)
    for bad, msg in [(_answer(cite="E9"), "cites unknown evidence"), (_answer(end=11), "outside the video"),
                     (_answer(ev_end=12), "evidence E1 window lies outside")]:
        with pytest.raises(ValidationError, match=msg):
            Answer.model_validate(bad)


def test_answer_with_fuzzed_moment_times():
    for start, end, ok in [(0, 10, True), (9.999, 10.0005, True), (5, 11, False), (-1, 2, False)]:
        payload = {"query": "q", "video": META.model_dump(), "moments": [
            {"rank": 1, "window": {"start": start, "end": end}, "label": "Joy", "confidence": 0.5,
             "rationale": ""}]}
        if ok:
            assert Answer.model_validate(payload).moments[0].window.inside(10)
        else:
            with pytest.raises(ValidationError):
                Answer.model_validate(payload)
