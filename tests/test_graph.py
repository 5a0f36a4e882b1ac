"""The graph as LangGraph tooling sees it: langgraph.json names a module attribute that is a compiled graph
with the flowchart's nodes, and it answers a question when given a context (as `langgraph dev` runs it)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from langgraph.graph.state import CompiledStateGraph

from graphs.state import RESET, Context, accumulate
from tools.retrieval import Retriever

ROOT = Path(__file__).resolve().parents[1]


def _load_from_langgraph_json():
    """What `langgraph dev` does: read langgraph.json, import `./path.py:attr` by file path."""
    conf = json.loads((ROOT / "langgraph.json").read_text())
    assert set(conf["graphs"]) == {"affectlens"}
    path, attr = conf["graphs"]["affectlens"].split(":")
    spec = importlib.util.spec_from_file_location("affectlens_graph_module", ROOT / path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, attr)


def test_langgraph_json_names_a_compiled_graph_with_the_flowchart_nodes():
    g = _load_from_langgraph_json()
    assert isinstance(g, CompiledStateGraph) and g.name == "affectlens"
    nodes = set(g.get_graph().nodes)
    assert {"route", "interpret", "localise", "verify", "judge", "rationale", "explain", "finish"} <= nodes
    edges = {(e.source, e.target) for e in g.get_graph().edges}
    assert ("judge", "localise") in edges and ("judge", "rationale") in edges and ("route", "explain") in edges


def test_graph_answers_with_a_context(pexels_index, settings):
    """Run the module-level graph once on the sample (no LLM: deterministic fallbacks), context given."""
    g = _load_from_langgraph_json()
    ctx = Context(index=pexels_index, retriever=Retriever(pexels_index), llm=None, settings=settings)
    out = g.invoke({"query": "when does she laugh?"}, context=ctx)
    ans = out["answer"]
    assert ans.moments and ans.moments[0].window.start >= 8.0  # the laughing half
    assert ans.moments[0].label == "Joy"
    # reducers: the trace holds every node once per pass, in order, starting at route
    nodes = [e["node"] for e in out["events"]]
    assert nodes[0] == "route" and nodes[-1] == "finish" and "verify" in nodes
    assert len({e.id for e in out["evidence"]}) == len(out["evidence"])  # evidence ids stay unique


def test_json_context_builds_from_a_video_path(pexels_index, settings, monkeypatch):
    """From Studio the context arrives as JSON {"video": path}; the nodes build the rest."""
    import graphs.state as st
    monkeypatch.setattr(st.Context, "for_video", classmethod(
        lambda cls, video, **kw: cls(index=pexels_index, retriever=Retriever(pexels_index), llm=None,
                                     settings=settings, video=video)))
    st._RESOLVED.clear()
    out = _load_from_langgraph_json().invoke({"query": "the saddest moment"}, context={"video": "sample.mp4"})
    assert out["answer"].moments and out["answer"].moments[0].label == "Sadness"
    st._RESOLVED.clear()


def test_accumulate_reducer_appends_and_resets():
    assert accumulate(["a"], ["b"]) == ["a", "b"]
    assert accumulate(["a", "b"], [RESET, "c"]) == ["c"]
    assert accumulate(None, [RESET]) == []
