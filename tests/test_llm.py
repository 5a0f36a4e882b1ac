"""The one LLM client against a real embedded llama.cpp server, and against servers that misbehave."""

import time

import pytest
from pydantic import BaseModel

from agents import prompts
from agents.llm import LLMClient
from agents.llm_server import EmbeddedServer
from agents.schemas import Intent
from agents.errors import LLMError


class Small(BaseModel):
    answer: str
    n: int


@pytest.mark.parametrize("query, emotion", [("when does she look angry?", "Anger"),
                                            ("the part where someone looks disgusted", "Disgust"),
                                            ("when is he happy?", "Joy")])
def test_structured_output_from_real_server(llm, query, emotion):
    """The real model, given the interpret role's own prompt, reads an explicit emotion word as that
    emotion (its raw output: before the lexicon reconciles anything)."""
    out = llm.structured(prompts.interpret(query), Intent, max_tokens=200)
    assert isinstance(out, Intent) and emotion in out.emotions, out
    assert llm.check()  # /v1/models answers


def test_garbage_output_is_retried_then_typed_error(scripted_llm):
    for behaviour in ("garbage", "empty", "schema"):
        c = LLMClient(scripted_llm(behaviour), "m", timeout=5, retries=2)
        with pytest.raises(LLMError, match="no valid Small after 3 tries"):
            c.structured([{"role": "user", "content": "x"}], Small)
        assert c.stats.calls == 3


def test_hanging_server_times_out_within_budget(scripted_llm):
    c = LLMClient(scripted_llm("hang", delay=20), "m", timeout=1.5, retries=1)
    t0 = time.monotonic()
    with pytest.raises(LLMError):
        c.structured([{"role": "user", "content": "x"}], Small)
    assert time.monotonic() - t0 < 10


def test_server_errors_and_dropped_connections(scripted_llm):
    for behaviour in ("http500", "drop"):
        c = LLMClient(scripted_llm(behaviour), "m", timeout=3, retries=1)
        with pytest.raises(LLMError):
            c.structured([{"role": "user", "content": "x"}], Small)


def test_server_down_is_a_clear_error():
    c = LLMClient("http://127.0.0.1:9/v1", "m", timeout=2, retries=0)
    with pytest.raises(LLMError, match="not reachable"):
        c.check()


def test_embedded_server_that_dies_is_reported(tmp_path):
    srv = EmbeddedServer(tmp_path / "missing.gguf", threads=1)
    with pytest.raises(LLMError, match="exited"):
        srv.start(timeout=60)


def test_real_server_dying_mid_request_is_a_typed_error():
    """Kill the real llama.cpp server while it is generating: the client reports LLMError, no hang."""
    import threading

    from tools.provision import resolve
    srv = EmbeddedServer(resolve("qwen2.5-coder-0.5b"), threads=1)
    srv.start(timeout=180)
    c = LLMClient(srv.url, "m", timeout=30, retries=1)
    killer = threading.Timer(0.5, srv.proc.kill)
    killer.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(LLMError):
            c.structured([{"role": "user", "content": "Write a very long story about a cat. " * 80}], Small,
                         max_tokens=400)
    finally:
        killer.cancel()
        srv.stop()
    assert time.monotonic() - t0 < 30
