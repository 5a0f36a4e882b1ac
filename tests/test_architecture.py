"""The recipes of docs/architecture.md, exercised: a tool added through the registry reaches the prompt,
the planner and the dispatcher; a word added to the vocabulary reaches every reader; a node added to a
graph gets the run-time context and the reducers; and each label list or map is defined once."""

from __future__ import annotations

import re
from pathlib import Path

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from tools import labels, registry
from tools.registry import REGISTRY, ToolContext, ToolSpec, plan_tools, run_tool, tools_text
from tools.schemas import Evidence, TimeWindow

ROOT = Path(__file__).resolve().parents[1]
W = TimeWindow(start=1.0, end=4.0)


def _toy(ctx, w: TimeWindow, eid: str) -> Evidence:
    n = len(ctx.index.records_in(w))
    return Evidence(id=eid, tool="toy", modality="face", window=w, values={"windows": n},
                    text=f"{n} index windows overlap {w.label()}")


def test_recipe_add_a_tool(monkeypatch, pexels_index, settings):
    monkeypatch.setitem(REGISTRY, "toy", ToolSpec("toy", "counts index windows (recipe test)", "face", 0.1,
                                                  "face", _toy))
    assert "toy" in tools_text() and "counts index windows" in tools_text()
    plan = {d.tool: d for d in plan_tools(W, face_ratio=1.0, has_speech=False, modalities=[], budget=6.0)}
    assert plan["toy"].run, plan["toy"].reason
    ev, err, _ = run_tool(ToolContext(index=pexels_index, settings=settings), "toy", W, "E9")
    assert err is None and ev.id == "E9" and ev.values["windows"] >= 1


def test_recipe_a_broken_tool_is_a_typed_failure(monkeypatch, pexels_index, settings):
    def broken(ctx, w, eid):
        raise RuntimeError("model fell over")
    monkeypatch.setitem(REGISTRY, "toy", ToolSpec("toy", "always fails", "face", 0.1, "face", broken))
    ev, err, _ = run_tool(ToolContext(index=pexels_index, settings=settings), "toy", W, "E1")
    assert ev is None and "model fell over" in err


def test_recipe_add_a_word(monkeypatch):
    monkeypatch.setitem(labels.ALIASES, "livid", "Anger")
    assert labels.normalize_label("Livid") == "Anger"
    assert labels.lexicon_emotions("was he livid at the end?") == ["Anger"]


def test_recipe_add_a_node():
    """A node is `(state, runtime)`, reads the context, and returns only what it adds."""
    from graphs.state import Context, State

    def hello(state: State, runtime: Runtime[Context]) -> dict:
        return {"events": [{"node": "hello", "budget": runtime.context.tool_budget}], "flags": ["said_hello"]}

    def again(state: State, runtime: Runtime[Context]) -> dict:
        return {"events": [{"node": "again"}]}

    b = StateGraph(State, context_schema=Context)
    b.add_node("hello", hello)
    b.add_node("again", again)
    b.add_edge(START, "hello")
    b.add_edge("hello", "again")
    b.add_edge("again", END)
    out = b.compile(name="recipe").invoke({"query": "q", "events": [{"node": "before"}]},
                                          context=Context(tool_budget=2.5))
    assert [e["node"] for e in out["events"]] == ["before", "hello", "again"]
    assert out["events"][1]["budget"] == 2.5 and out["flags"] == ["said_hello"]


# literal definitions that belong to tools/labels.py only
_DEFINITIONS = [r'"Anger",\s*"Anticipation"', r'"angry":\s*"Anger"', r'"Anger":\s*"angry"',
                r'"AU4":\s*"brow lowerer"', r'"Satisfaction":\s*"happy"', r'"cheer":\s*"Joy"',
                r'"Joy":\s*\{"happy"']


def test_vocabulary_is_defined_once():
    offenders = []
    for p in ROOT.glob("*/**/*.py"):
        rel = p.relative_to(ROOT).as_posix()
        if rel.startswith((".venv", "tests/", "build/")) or rel == "tools/labels.py":
            continue
        text = p.read_text()
        offenders += [f"{rel}: {pat}" for pat in _DEFINITIONS if re.search(pat, text)]
    assert not offenders, offenders
    assert set(labels.PROFILES) == set(labels.EMOTIONS) == set(labels.EMOTION_TO_EXPRESSION)
    assert registry.EMOTION_TO_EXPRESSION is labels.EMOTION_TO_EXPRESSION


# ---------------------------------------------------------------- one definition per concept (issue 29)
_LAYER = {"tools": 0, "agents": 1, "graphs": 2, "ui": 3, "evals": 3}


def _code() -> list[tuple[str, str]]:
    out = []
    for p in sorted(ROOT.glob("*/**/*.py")):
        rel = p.relative_to(ROOT).as_posix()
        if not rel.startswith((".venv", "tests/", "build/")):
            out.append((rel, p.read_text()))
    return out


def test_layers_only_import_downwards():
    """tools -> agents -> graphs -> ui, evals: no module imports a layer above its own, at the top of the
    file or inside a function (tools/library.py's question used to import agents inside ask_library)."""
    import ast
    offenders = []
    for rel, text in _code():
        top = rel.split("/")[0]
        if top not in _LAYER:
            continue
        for n in ast.walk(ast.parse(text)):
            names = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                     [n.module] if isinstance(n, ast.ImportFrom) and n.module and n.level == 0 else [])
            offenders += [f"{rel}:{n.lineno} imports {m}" for m in names
                          if _LAYER.get(m.split(".")[0], -1) > _LAYER[top]]
    assert not offenders, offenders


def _copies(pattern: str, home: str) -> list[str]:
    rx = re.compile(pattern, re.S)
    return [rel for rel, text in _code() if rel != home and rx.search(text)]


def test_someone_speaks_is_defined_once():
    """'Does anyone speak in this window' (words read, or a voice with an arousal score) is
    tools.index.store.speaks; localise, verify and the arc call it (each used to spell it out)."""
    from tools.index.store import speaks
    from tools.schemas import TimeWindow, WindowRecord
    w = TimeWindow(start=0, end=3)
    assert speaks(WindowRecord(index=0, window=w, transcript="hello")) and speaks(WindowRecord(index=0, window=w,
                                                                                                  arousal=0.0))
    assert not speaks(WindowRecord(index=0, window=w, transcript="  "))
    assert not _copies(r"transcript[^\n]{0,40}\bor\b[^\n]{0,20}\barousal is not None", "tools/index/store.py")


def test_salience_is_defined_once():
    """The affect-salience formula (0.4 face expression, 0.3 AU, 0.2 arousal, 0.1 motion) is
    tools.retrieval.salience; the library divides it by the library's maximum instead of copying it."""
    assert not _copies(r"0\.4 \*[^;]{0,160}0\.3 \*[^;]{0,160}0\.2 \*", "tools/retrieval.py")
    assert "salience(ret.records, ret.aff)" in (ROOT / "tools" / "library.py").read_text()


def test_ranking_weights_are_defined_once():
    """An emotional question's (text, affect, salience) weights are tools.retrieval.EMOTION_WEIGHTS, read by
    the single-video retriever and the library search (the library used to copy the numbers)."""
    from tools.retrieval import EMOTION_WEIGHTS
    assert EMOTION_WEIGHTS == (0.35, 0.5, 0.15)
    assert not _copies(r"\(0\.35,\s*0\.5,\s*0\.15\)", "tools/retrieval.py")
