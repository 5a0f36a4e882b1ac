"""The one LLM client against a real embedded llama.cpp server, and against servers that misbehave."""

import time

import pytest
from pydantic import BaseModel

from agents import prompts
from agents.llm import LLMClient
from agents.llm_server import EmbeddedServer
from agents.prompts import LLMRead  # what the interpret prompt asks the model for
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
    out = llm.structured(prompts.interpret(query), LLMRead, max_tokens=200)
    assert isinstance(out, LLMRead) and emotion in out.emotions, out
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


class _Flaky:
    """A local OpenAI-shaped server that answers each POST from a script of (status, headers, content):
    e.g. a 429 with Retry-After, then a valid reply. `times` records when each request arrived."""

    def __init__(self, script: list[tuple[int, dict, str]]):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.script, self.times = list(script), []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.times.append(time.monotonic())
                code, headers, content = outer.script.pop(0) if outer.script else (200, {}, '{"answer": "x", "n": 1}')
                body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": content}}]}
                                  if code == 200 else {"error": {"message": content}}).encode()
                self.send_response(code)
                for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/v1"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def _client(url: str, retries: int = 2):
    c = LLMClient(url, "m", timeout=5, retries=retries)
    c.waits = []
    real = c._sleep

    def sleep(s):
        c.waits.append(s)
        real(s)
    c._sleep = sleep
    return c


def test_429_waits_for_retry_after_then_succeeds():
    """429 with Retry-After: 1, then 200: the client waits the server's second (the backoff alone would be
    0.5-1.0 s), then parses the reply. Before: the retry fired at once."""
    srv = _Flaky([(429, {"Retry-After": "1"}, "slow down")])
    try:
        c = _client(srv.url)
        out = c.structured([{"role": "user", "content": "x"}], Small)
        assert out == Small(answer="x", n=1) and c.waits == [1.0]
        assert srv.times[1] - srv.times[0] >= 1.0
        assert [r["error"] for r in c.stats.log] == ["HTTP 429", None]
    finally:
        srv.close()


def test_5xx_backs_off_exponentially_with_jitter_and_repairs_at_once():
    """Two 503s without a hint: waits in [0.5, 1.0] then [1.0, 1.5] (exponential from 0.5 s plus up to
    0.5 s jitter); invalid output is sent back for repair with no wait."""
    srv = _Flaky([(503, {}, "busy"), (503, {}, "busy")])
    try:
        c = _client(srv.url)
        assert c.structured([{"role": "user", "content": "x"}], Small).n == 1
        assert len(c.waits) == 2 and 0.5 <= c.waits[0] <= 1.0 and 1.0 <= c.waits[1] <= 1.5
    finally:
        srv.close()
    srv = _Flaky([(200, {}, "not json")])
    try:
        c = _client(srv.url)
        assert c.structured([{"role": "user", "content": "x"}], Small).n == 1 and c.waits == [0.0]
    finally:
        srv.close()


def test_backoff_never_sleeps_past_the_deadline():
    """A Retry-After of 100 s with 3 s left: the client waits at most until a second before the deadline,
    then gives up with a typed error."""
    srv = _Flaky([(429, {"Retry-After": "100"}, "later")] * 3)
    try:
        c = _client(srv.url)
        t0 = time.monotonic()
        with pytest.raises(LLMError, match="HTTP 429"):
            c.structured([{"role": "user", "content": "x"}], Small, deadline=t0 + 3)
        assert time.monotonic() - t0 < 3.5 and all(w <= 2.0 for w in c.waits)
    finally:
        srv.close()
