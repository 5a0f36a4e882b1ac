"""The emotional arc (tools/arc.py), its words (agents/arc_words.py) and the graph's arc node, on real media:
the shipped sample (crying, then laughing) and the shipped clips back to back (laughing, no face, crying)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tools.arc import compute_arc, parse_clock, smooth_frames
from tools.labels import family
from tools.schemas import FaceFrame


def _covers(segs, duration):
    assert segs[0].start == 0.0 and abs(segs[-1].end - duration) < 1e-6
    for a, b in zip(segs, segs[1:]):
        assert abs(a.end - b.start) < 1e-6 and a.end > a.start


def test_arc_finds_the_clips_emotions_true_to_their_extent(clip_concat, settings):
    from tools.index import build_index
    video, spans = clip_concat
    idx = build_index(video, settings, progress=False)
    arc, evidence = compute_arc(idx)
    ids = {e.id for e in evidence}
    for p in arc.people:
        segs = arc.of(p.person)
        _covers(segs, idx.meta.duration)
        assert all(set(s.evidence_ids) <= ids for s in segs)
    emo = [s for s in arc.segments if s.emotional]
    for name, fam in (("happy", "Joy"), ("sad", "Sadness")):
        a, b = spans[name]
        assert any(family(s.label) == fam and min(s.end, b) > max(s.start, a) for s in emo), (name, emo)
    fa, fb = spans["filler"]  # the cartoon: no face, so nothing emotional is read there
    assert not any(min(s.end, fb) - max(s.start, fa) > 1.0 for s in emo)
    true_s = sum(b - a for k, (a, b) in spans.items() if k != "filler")
    assert sum(s.end - s.start for s in emo) <= 2 * true_s


def _frame(t, happy):
    expr = {"happy": happy, "neutral": 1 - happy}
    return FaceFrame(t=t, n_faces=1, box=(0.3, 0.3, 0.3, 0.3), aus={"AU12": happy}, expression=expr)


def test_running_median_drops_a_one_frame_flicker_and_keeps_a_short_smile():
    flicker = [_frame(i * 0.5, 1.0 if i == 4 else 0.0) for i in range(10)]
    assert max(f.expression["happy"] for f in smooth_frames(flicker, 3)) == 0.0
    smile = [_frame(i * 0.5, 1.0 if 4 <= i <= 6 else 0.0) for i in range(10)]
    out = smooth_frames(smile, 3)
    assert [round(f.expression["happy"]) for f in out] == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    gap = [*smile[:5], FaceFrame(t=2.6, n_faces=0), *smile[5:]]  # an absence breaks the run
    assert smooth_frames(gap, 3)[5].n_faces == 0


def test_parse_clock():
    assert parse_clock("before 10:36") == 636
    assert parse_clock("after 1:02:03") == 3723
    assert parse_clock("the first 5 minutes") == 300
    assert parse_clock("after the argument") is None


def test_summary_and_comparison_answer_from_the_index(pexels_index, tmp_path):
    from graphs.nodes.arc import answer_arc
    ans, _ = answer_arc(pexels_index, "how does her mood change?", "summary", out_dir=tmp_path)
    text = ans.arc.text().lower()
    assert "sad" in text and "happy" in text, text
    assert text.index("sad") < text.index("happy")  # crying first, laughing later
    ids = {e.id for e in ans.evidence}
    for c in ans.arc.claims():
        assert c.evidence_ids and set(c.evidence_ids) <= ids, c
    assert [family(m.label) for m in ans.moments][:2] == ["Sadness", "Joy"]  # in time order
    # her hand covers her face between the crying and the laughing (~6-9.5 s): not seen, not "calm"
    assert any(s.label is None and 5.0 <= s.start and s.end <= 10.5 for s in ans.arc.segments), ans.arc.segments
    assert ans.stats["tool_calls"] == 0
    png = tmp_path / "arc_summary_all.png"
    assert ans.arc.image_path == str(png) and png.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "arc_summary_all.svg").read_text().lstrip().startswith("<?xml")

    cmp, _ = answer_arc(pexels_index, "is she happier in the second half?", "compare", time_kind="second_half",
                        out_dir=tmp_path)
    left, right = cmp.arc.comparison.left, cmp.arc.comparison.right
    assert right.shares.get("Joy", 0) > left.shares.get("Joy", 0) + 0.3
    assert "happy more of the time in the second half" in cmp.arc.text().lower()
    before, _ = answer_arc(pexels_index, "before and after she stops crying", "compare", time_kind="before",
                           time_value="00:08", out_dir=tmp_path, picture=False)
    assert before.arc.comparison.left.end == 8.0 and before.arc.image_path is None


def test_graph_routes_summary_and_compare_to_the_arc_node(pexels_index, tmp_path):
    from graphs.graph import builder, by_mode
    from graphs.nodes.arc import arc
    from graphs.state import Context
    assert by_mode({"mode": "summary"}) == by_mode({"mode": "compare"}) == "arc"
    assert by_mode({"mode": "new"}) == "interpret"
    assert "arc" in builder.nodes
    runtime = SimpleNamespace(context=Context(index=pexels_index))
    out = arc({"query": "summarise the emotional arc", "evidence": [], "reading": {"mode": "summary"}}, runtime)
    ans = out["answer"]
    assert ans.arc is not None and ans.moments and out["evidence"][0].id == "E1"
    # a session that already holds evidence E1..E3 gets fresh ids
    from tools.schemas import Evidence, TimeWindow
    old = [Evidence(id=f"E{i}", tool="x", modality="face", window=TimeWindow(start=0, end=1), text="t") for i in (1, 2, 3)]
    out = arc({"query": "q", "evidence": old}, runtime)
    assert out["evidence"][0].id == "E4"


def test_show_me_another_after_an_arc_continues_the_arcs_feelings(pexels_index, settings):
    """A follow-up after an arc turn searches the arc's feelings (graphs/nodes/arc.follow_up_intent): with the
    arc as the first question, "show me another" had no search at all (KeyError 'intent'); the sample's two
    stretches are both shown, so nothing else clearly shows sadness or joy."""
    from graphs.api import Session
    from ui.notes import human_notes
    with Session(pexels_index.meta.path, settings, llm=False, index=pexels_index) as s:
        arc_ans = s.ask("how does her mood change over the video?")
        assert {m.label for m in arc_ans.moments} == {"Sadness", "Joy"}
        more = s.ask("show me another")
    assert more.intent.emotions == ["Sadness", "Joy"] and not more.moments
    assert any("sadness or joy" in n for n in human_notes(more.flags)), more.flags


@pytest.mark.parametrize("mode", ["summary", "compare"])
def test_answer_json_round_trips(pexels_index, tmp_path, mode):
    from agents.schemas import Answer
    from graphs.nodes.arc import answer_arc
    ans, _ = answer_arc(pexels_index, "q", mode, out_dir=tmp_path, picture=False)
    assert Answer.model_validate_json(ans.model_dump_json()) == ans


def test_comparison_sides_from_the_reading():
    """Which two sides a comparison takes: the halves of everyone by default, two people when the question
    refers to people but to no one person, before/after a clock time; shares are of the time seen."""
    from agents.arc_words import compare, split_sides
    from tools.arc import Arc, ArcSegment, PersonArc
    seg = ArcSegment
    arc = Arc(duration=20.0, people=[PersonArc(person=1, name="person 1, on the left"),
                                     PersonArc(person=2, name="person 2, on the right")],
              segments=[seg(start=0, end=10, person=1, label="Sadness", confidence=0.9, evidence_ids=["E1"]),
                        seg(start=10, end=20, person=1, label="Joy", confidence=0.9, evidence_ids=["E2"]),
                        seg(start=0, end=20, person=2, label="Neutral", confidence=0.9, evidence_ids=["E3"])])
    left, right, notes = split_sides(arc, people=arc.people)
    assert (left.name, right.name, left.person) == ("the first half", "the second half", None)
    assert left.shares == {"Neutral": 0.5, "Sadness": 0.5} and right.shares == {"Neutral": 0.5, "Joy": 0.5}
    left, right, _ = split_sides(arc, people=arc.people, person_kind="gender")
    assert {left.person, right.person} == {1, 2}
    left, right, _ = split_sides(arc, "before", "00:05", person=1, people=arc.people)
    assert (left.end, left.shares, right.shares) == (5.0, {"Sadness": 1.0}, {"Joy": 0.6667, "Sadness": 0.3333})
    c = compare(arc, *split_sides(arc, people=arc.people)[:2])
    assert "happy more of the time in the second half than in the first half (50% vs 0%)" in c.sentences[-1].text.lower()
    assert set(c.sentences[-1].evidence_ids) == {"E1", "E2"}
