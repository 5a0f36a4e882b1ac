"""Question latency machinery, on the real embedded llama.cpp server and the bundled sample: per-call
instrumentation, the static prompt prefix served from the server's cache, the judge skipped when the
evidence is decisive, and the ranked moment streamed before its rationale. No timed assertions: the
timings are checked for sanity, not speed (scripts/bench_query.py measures speed)."""

from __future__ import annotations

from agents import prompts
from agents.schemas import Intent
from graphs.api import Session
from graphs.nodes.judge import DECISIVE, JUDGE_MAX, settled
from graphs.state import Context, Verified
from tools.registry import run_tool, support
from tools.retrieval import Candidate, Retriever
from tools.schemas import TimeWindow


def test_every_call_is_instrumented_and_the_static_prefix_comes_from_the_cache(llm):
    """Two different roles' calls after a warm-up: each logged with seconds and token counts, and the
    server reports the whole static prefix (instructions, labels, tool descriptions) as cached."""
    llm.warm(prompts.prefix())
    mark = len(llm.stats.log)
    llm.structured(prompts.interpret("when does she look angry?"), Intent, max_tokens=200, tag="interpret")
    llm.structured(prompts.interpret("the part where he laughs"), Intent, max_tokens=200, tag="interpret")
    rows = llm.stats.log[mark:]
    assert [r["tag"] for r in rows] == ["interpret", "interpret"]
    for r in rows:
        assert r["seconds"] > 0 and r["error"] is None
        assert r["prompt_tokens"] > 200 and r["completion_tokens"] > 0
        assert 0 <= r["cached_tokens"] <= r["prompt_tokens"]
        assert r["prefill_tokens"] == r["prompt_tokens"] - r["cached_tokens"]
    # the static system message alone is well over 200 tokens: reused, not recomputed
    assert all(r["cached_tokens"] >= 200 for r in rows), rows
    assert rows[1]["prefill_tokens"] < rows[1]["prompt_tokens"] / 2
    totals = llm.stats.since(mark)
    assert totals["llm_calls"] == 2 and totals["llm_prefill_tokens"] == sum(r["prefill_tokens"] for r in rows)
    assert totals["llm_generated_tokens"] == sum(r["completion_tokens"] for r in rows)


def test_every_role_starts_with_the_same_static_prefix():
    msgs = [prompts.interpret("q"), prompts.judge("q", "", ["Candidate 1"], ["Joy", "Neutral"]),
            prompts.polish("q", "Joy", ["From 0:01 to 0:04, she very likely looks happy."])]
    assert all(m[0] == prompts.prefix()[0] for m in msgs)
    static = prompts.prefix()[0]["content"]
    assert "expression" in static and "Sadness" in static  # tools and labels live there
    assert all("<data>q</data>" in m[-1]["content"] for m in msgs)  # the variable part comes last


def test_judge_is_skipped_only_when_the_evidence_is_decisive(pexels_index, settings):
    """On the sample's laughing stretch the face reads happy strongly: a Joy question needs no LLM
    judge there; a description, or a Sadness question (crying is in the clip: not absent), still does."""
    ctx = Context(index=pexels_index, retriever=Retriever(pexels_index), settings=settings)
    w = TimeWindow(start=12.0, end=15.0)
    ev = run_tool(ctx, "expression", w, "E1")[0]
    assert ev is not None
    sup = support([ev], "Joy")
    v = Verified(candidate=Candidate(window=w, score=0.5), window=w, evidence_ids=["E1"], label="Joy",
                 support=round(sup, 3))
    assert sup >= DECISIVE, ev.text
    assert settled(Intent(emotions=["Joy"]), v, {"E1": ev})
    assert not settled(Intent(emotions=[]), v, {"E1": ev})
    weak = v.model_copy(update={"support": DECISIVE - 0.2})
    assert not settled(Intent(emotions=["Joy"]), weak, {"E1": ev})


def test_the_llm_judges_only_the_best_open_candidates(pexels_index, settings, monkeypatch):
    """An "every time" question verifies up to 10 candidates; the LLM gets only the ones the evidence leaves
    open, the JUDGE_MAX best-retrieved, in one call; the others take the evidence path."""
    import importlib

    from langgraph.runtime import Runtime
    jn = importlib.import_module("graphs.nodes.judge")  # the module (graphs.nodes exports the node function)
    ctx = Context(index=pexels_index, retriever=Retriever(pexels_index), llm=object(),
                  settings=settings.model_copy(update={"llm_judge": True}))  # the judge is off by default
    w = TimeWindow(start=12.0, end=15.0)
    ev = run_tool(ctx, "expression", w, "E1")[0]
    # labelled Sadness on a laughing face, Joy asked: neither strong nor absent, so open
    open_ = [Verified(candidate=Candidate(window=TimeWindow(start=i, end=i + 1), score=0.1 * i),
                      window=TimeWindow(start=i, end=i + 1), evidence_ids=["E1"], label="Sadness", support=0.4)
             for i in range(6)]
    seen = []
    monkeypatch.setattr(jn.roles, "judge", lambda llm, q, tools, blocks, options, deadline=None:
                        seen.append(blocks) or None)
    out = jn.judge({"intent": Intent(emotions=["Joy"]), "candidates": [v.candidate for v in open_],
                    "verified": open_, "evidence": [ev], "query": "every time she laughs"}, Runtime(context=ctx))
    assert len(seen) == 1 and len(seen[0]) == JUDGE_MAX
    assert [b.split("(")[1].split(")")[0] for b in seen[0]] == [open_[i].window.label() for i in (5, 4, 3)]
    assert "llm_fallback:judge" in out["flags"] and len(out["verified"]) == 6


def test_the_judge_sees_two_lines_per_candidate_the_fused_reading_first(pexels_index, settings, monkeypatch):
    """Each candidate's block holds JUDGE_LINES lines: the fused emotion reading before the tools it already
    summarises; a description's candidate shows the index's descriptor of the window first."""
    import importlib

    from langgraph.runtime import Runtime
    jn = importlib.import_module("graphs.nodes.judge")
    ctx = Context(index=pexels_index, retriever=Retriever(pexels_index), llm=object(),
                  settings=settings.model_copy(update={"llm_judge": True}))  # the judge is off by default
    w = TimeWindow(start=12.0, end=15.0)
    evs = [run_tool(ctx, tool, w, f"E{i}")[0] for i, tool in enumerate(("motion", "aus", "expression", "emotion"), 1)]
    assert all(evs)
    cand = Candidate(window=w, score=0.5, descriptor="face smiling, laughing, cheerful (expression happy 0.97)")
    v = Verified(candidate=cand, window=w, evidence_ids=[e.id for e in evs], label="Sadness", support=0.4)
    seen = []
    monkeypatch.setattr(jn.roles, "judge", lambda llm, q, tools, blocks, options, deadline=None:
                        seen.append(blocks) or None)
    for intent in (Intent(emotions=["Joy"]), Intent(emotions=[])):
        jn.judge({"intent": intent, "candidates": [cand], "verified": [v], "evidence": evs, "query": "q"},
                 Runtime(context=ctx))
    asked, described = (b[0].split("<data>\n")[1].split("\n</data>")[0].splitlines() for b in seen)
    assert len(asked) == jn.JUDGE_LINES == len(described)
    assert asked[0].startswith("  [E4]") and asked[1].startswith("  [E3]")  # emotion, then expression
    assert described[0].startswith("  (index) face smiling") and described[1].startswith("  [E4]")


def test_ranked_moment_streams_before_the_rationale_and_stats_carry_the_cost(pexels_index, settings, llm):
    on = settings.model_copy(update={"llm_judge": True, "llm_rationale": True})  # both off by default
    with Session(pexels_index.meta.path, on, llm=llm, index=pexels_index) as s:
        nodes, ranked = [], None
        answer = None
        for ev in s.stream("when does she cheer up?"):
            nodes.append(ev["node"])
            if ev["node"] == "ranked":
                ranked = ev["moments"]
            answer = ev.get("answer", answer)
        assert "ranked" in nodes and nodes.index("ranked") < nodes.index("rationale"), nodes
        assert ranked and ranked[0].rationale == ""  # known before the rationale is written
        assert answer.moments[0].window == ranked[0].window and answer.moments[0].rationale
        ans = s.ask("find the saddest moment")
    st = ans.stats
    for k in ("seconds", "first_moment_s", "llm_calls", "llm_seconds", "llm_prompt_tokens", "llm_cached_tokens",
              "llm_prefill_tokens", "llm_generated_tokens", "tool_seconds"):
        assert k in st, (k, st)
    assert 0 < st["first_moment_s"] <= st["seconds"]
    assert 1 <= st["llm_calls"] <= 6 and 0 < st["llm_seconds"] <= st["seconds"]
    assert st["llm_prefill_tokens"] == st["llm_prompt_tokens"] - st["llm_cached_tokens"]
    assert st["llm_cached_tokens"] > 0 and st["llm_generated_tokens"] > 0


def test_the_prompts_name_the_models_behind_each_tool(monkeypatch):
    """The static prefix names the models this installation chose (tools/backends.py); evidence from an
    index built with other models is described with its own models, sent with the judge call."""
    from tools.backends import index_backends
    from tools.registry import tools_text
    chosen = index_backends()
    static = prompts.prefix()[0]["content"]
    assert f"expression {chosen['expression']}" in static and f"asr {chosen['asr']}" in static
    assert "Tools used" not in prompts.judge("q", tools_text(chosen), ["Candidate 1"], ["Joy"])[-1]["content"]
    other = {**chosen, "asr": "whisperx:large-v3"}
    sent = prompts.judge("q", tools_text(other), ["Candidate 1"], ["Joy"])[-1]["content"]
    assert "Tools used" in sent and "asr whisperx:large-v3" in sent
