"""Every registered tool runs through the dispatcher on real media and reads the right values; the policy respects the budget;
the IVF index path ranks like the flat one."""

import pytest

from tools.registry import REGISTRY, ToolContext as Ctx, plan_tools, run_tool, support, tools_text
from tools.schemas import TimeWindow


LAUGH, CRY, SAID = TimeWindow(start=12, end=15), TimeWindow(start=1, end=4), TimeWindow(start=0, end=3)


@pytest.fixture(scope="module")
def spoken(speech, settings):
    """Synthetic English speech with a known text (tests/data/make_synthetic.sh), no picture."""
    from tools.index import build_index
    return build_index(speech / "synth_en.wav", settings, progress=False)


def _run(idx, settings, name, w):
    ev, err, _ = run_tool(Ctx(idx, settings), name, w, f"E_{name}")
    assert err is None and ev is not None and ev.id == f"E_{name}" and ev.window == w and ev.text
    return ev


def _check_emotion(px, sp, run):
    joy, sad, said = run(px, LAUGH).values, run(px, CRY).values, run(sp, SAID).values
    assert joy["label"] == "Joy" and joy["p_Joy"] > 0.5 > joy["p_Sadness"]
    assert sad["label"] == "Sadness" and sad["p_Sadness"] > 0.5 > sad["p_Joy"]
    assert "face" not in run(sp, SAID).text.split(" from ")[1].split(".")[0] and said["label"] not in ("Joy", "Sadness")


def _check_expression(px, sp, run):
    joy, sad = run(px, LAUGH).values, run(px, CRY).values
    assert joy["top"] == "happy" and joy["happy"] > 0.8 and sad["top"] == "sad" and sad["sad"] > 0.5
    assert joy["n_frames"] == len(px.frames_in(LAUGH)) and run(sp, SAID).values["n_frames"] == 0


def _check_aus(px, sp, run):
    joy, sad = run(px, LAUGH).values, run(px, CRY).values
    assert joy["AU12_mean"] > 0.5 and joy["AU10_mean"] > sad["AU10_mean"] + 0.3  # smile, upper lip raised
    assert run(sp, SAID).values["n_face"] == 0


def _check_motion(px, sp, run):
    ev = run(px, LAUGH)
    assert ev.values["n_pairs"] == sum(1 for f in px.frames_in(LAUGH) if f.motion) > 0
    assert all(ev.values[f"{k}_max"] >= ev.values[f"{k}_mean"] > 0 for k in ("mouth_corners", "brows", "cheeks"))
    assert run(sp, SAID).values["n_pairs"] == 0


def _check_voice(px, sp, run):
    silent, said = run(px, LAUGH), run(sp, SAID)
    assert silent.values == {"speech_s": 0.0} and silent.text.startswith("No speech in")
    assert said.values["speech_s"] > 3 and 70 < said.values["f0_median_hz"] < 300 and "arousal" in said.values
    assert not said.text.startswith("No speech")


def _check_transcript(px, sp, run):
    silent, said = run(px, LAUGH).values, run(sp, SAID).values
    assert silent["n_words"] == 0 and silent["transcript"] == ""
    assert said["n_words"] >= 8 and "station" in said["transcript"].lower() and said["language"] == "en"


def _check_zoom(px, sp, run):
    joy = run(px, LAUGH).values
    assert joy["n_zoomed"] > 0 and joy["p_happy"] > 0.8 and joy["AU12_max"] > 0.5
    assert run(sp, SAID).values["n_zoomed"] == 0


CHECKS = {"emotion": _check_emotion, "expression": _check_expression, "aus": _check_aus, "motion": _check_motion,
          "voice": _check_voice, "transcript": _check_transcript, "zoom": _check_zoom}


def test_every_registered_tool_has_a_value_check():
    assert set(CHECKS) == set(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_tool_reads_the_right_values(name, pexels_index, spoken, settings):
    """Each tool through the dispatcher, on her laughing (12-15 s) and crying (1-4 s) face and on spoken
    words without a picture: the values that tell them apart, not only that some text came back (the
    voice and transcript tools must find no speech on the silent sample and the words on the spoken one)."""
    CHECKS[name](pexels_index, spoken, lambda idx, w: _run(idx, settings, name, w))
    assert name in tools_text()


def test_broken_tool_is_a_logged_failure_not_a_crash(pexels_index, settings):
    class Broken(Ctx):
        @property
        def index(self):
            raise OSError("disk gone")

        @index.setter
        def index(self, v):
            pass

    ev, err, _ = run_tool(Broken(pexels_index, settings), "expression", TimeWindow(start=0, end=3), "E1")
    assert ev is None and "disk gone" in err


def test_policy_budget_and_availability():
    w = TimeWindow(start=0, end=3)
    d = {x.tool: x for x in plan_tools(w, face_ratio=1.0, has_speech=False, modalities=["face"], budget=2.0)}
    assert sum(x.cost for x in d.values() if x.run) <= 2.0
    assert not d["voice"].run and not d["transcript"].run and "no signal" in d["voice"].reason
    d = {x.tool: x for x in plan_tools(w, face_ratio=0.0, has_speech=True, modalities=["voice"], budget=10)}
    assert d["voice"].run and not d["expression"].run


def test_ivf_path_ranks_like_flat(pexels_index, monkeypatch):
    """Above IVF_THRESHOLD windows the retriever builds IVF-Flat (which faiss-gpu holds at any size, unlike
    HNSW); with the threshold lowered it ranks the sample like the exact flat index."""
    import tools.retrieval as r
    flat = r.Retriever(pexels_index).search_moments("she is laughing", ["Joy"], k=2)
    monkeypatch.setattr(r, "IVF_THRESHOLD", 0)
    r.build_vectors(pexels_index)
    try:
        ivf = r.Retriever(pexels_index)
        assert "IVF" in type(ivf.text).__name__ and ivf.text.is_trained
        assert [c.window for c in ivf.search_moments("she is laughing", ["Joy"], k=2)] == [c.window for c in flat]
    finally:
        monkeypatch.setattr(r, "IVF_THRESHOLD", 20000)
        r.build_vectors(pexels_index)


def test_a_tool_that_raises_is_said_in_the_answer(pexels_index, settings, monkeypatch):
    """A tool exception reaches the answer as a flag and a plain note naming the reading and the span
    (graphs.nodes.verify), not only the step trace; the other tools still read the window."""
    import dataclasses
    from types import SimpleNamespace

    import tools.registry as reg
    from agents.schemas import Intent
    from graphs.nodes.verify import verify
    from graphs.state import Context
    from tools.retrieval import Candidate
    from ui.notes import human_notes

    def broken(ctx, w, eid):
        raise RuntimeError("model file unreadable")
    monkeypatch.setitem(reg.REGISTRY, "expression", dataclasses.replace(reg.REGISTRY["expression"], fn=broken))
    w = TimeWindow(start=12, end=15)
    state = {"intent": Intent(emotions=["Joy"]), "query": "when does she laugh?", "evidence": [],
             "candidates": [Candidate(window=w, score=0.5)]}
    out = verify(state, SimpleNamespace(context=Context(index=pexels_index, settings=settings)))
    assert out["flags"] == ["tool_failed: expression 12.0-15.0: RuntimeError: model file unreadable"]
    assert human_notes(out["flags"]) == ["The facial expression reading failed for 0:12–0:15, so the answer "
                                         "there does without it (details in the exported JSON)."]
    assert any(e["error"].startswith("expression: RuntimeError") for e in out["events"] if "error" in e)
    tools = {e.tool for e in out["evidence"]}
    assert "expression" not in tools and "emotion" in tools and "aus" in tools
    monkeypatch.undo()  # intact: no flag
    assert "flags" not in verify(state, SimpleNamespace(context=Context(index=pexels_index, settings=settings)))


def test_affect_scores_stay_exact_above_the_ivf_threshold(pexels_index, monkeypatch):
    """Above IVF_THRESHOLD the text search is approximate, but every window's affect score stays the exact
    cosine with the emotion prototype (it used to be replaced by the FAISS affect index's top 512, every
    other window getting the lowest of those): the affect index is not asked, and each candidate's affect
    equals the exact product."""
    import numpy as np

    import tools.retrieval as r

    class NotAsked:
        def search(self, *a, **k):
            raise AssertionError("the approximate affect index was used")
    ret = r.Retriever(pexels_index)
    exact = {c.window: c.affect for c in ret.search_moments("she is laughing", ["Joy"], k=len(ret.records))}
    monkeypatch.setattr(r, "IVF_THRESHOLD", 0)
    ret.affect = NotAsked()
    got = ret.search_moments("she is laughing", ["Joy"], k=len(ret.records))
    affn = ret.aff / np.maximum(np.linalg.norm(ret.aff, axis=1, keepdims=True), 1e-6)
    proto = r.prototype(["Joy"])
    assert got and {c.window: c.affect for c in got} == exact
    assert all(any(abs(float(affn[j] @ proto) - c.affect) < 1e-4 for j in c.windows) for c in got)
