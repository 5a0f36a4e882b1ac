"""Shared test fixtures: real media from ../shared/media (tests skip with a reason when it is absent),
an isolated index cache per test session, and one real embedded LLM server shared by the LLM tests."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("AFFECTLENS_TEST_MEDIA", ROOT.parent / "shared" / "media"))
SAMPLE = ROOT / "assets" / "sample_pexels.mp4"


@pytest.fixture(scope="session")
def media() -> Path:
    if not (MEDIA / "faces").is_dir():
        pytest.skip(f"real test media not found at {MEDIA} (set AFFECTLENS_TEST_MEDIA)")
    return MEDIA


@pytest.fixture(scope="session")
def faces(media: Path) -> Path:
    return media / "faces"


@pytest.fixture(scope="session")
def speech(media: Path) -> Path:
    return media / "speech"


@pytest.fixture(scope="module")
def fa():
    """One face analyzer per test module (landmarker + expression model loaded once)."""
    from tools.perception.face import FaceAnalyzer
    with FaceAnalyzer() as analyzer:
        yield analyzer


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    """Settings with a fresh index cache for this test session (models still come from the user cache)."""
    from tools.settings import Settings
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def pexels_index(settings):
    from tools.index import build_index
    return build_index(SAMPLE, settings, progress=False)


@pytest.fixture(scope="session")
def mead_concat(faces, tmp_path_factory):
    """MEAD clips back to back (happy, no-face filler, sad, disgusted) with their exact spans."""
    from tools.index.decode import concat_videos
    out = tmp_path_factory.mktemp("media") / "mead_concat.mp4"
    names = ["mead_happy.mp4", "no_face.mp4", "mead_sad.mp4", "mead_disgusted.mp4"]
    spans = concat_videos([faces / n for n in names], out)
    return out, dict(zip(["happy", "filler", "sad", "disgusted"], spans))


@pytest.fixture(scope="session")
def llm(settings):
    """A client for a real embedded llama.cpp server with the packaged model (started once)."""
    from agents.llm import LLMClient
    from agents.llm_server import EmbeddedServer
    from tools.provision import resolve
    srv = EmbeddedServer(resolve("qwen2.5-coder-0.5b"), threads=2)
    srv.start(timeout=180)
    yield LLMClient(srv.url, "qwen", timeout=120, retries=2)
    srv.stop()


class _ScriptedLLM(BaseHTTPRequestHandler):
    """A local OpenAI-shaped HTTP server that misbehaves on purpose (garbage, hang, errors)."""

    behaviour = "garbage"
    delay = 0.0

    def log_message(self, *a):
        pass

    def _send(self, code: int, body: dict | str) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (the timeout tests make it): nothing to answer

    def do_GET(self):
        self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        b = self.behaviour
        if b == "hang":
            time.sleep(self.delay or 30)
        if b == "http500":
            return self._send(500, {"error": {"message": "boom"}})
        if b == "drop":
            self.wfile.flush()
            self.connection.close()
            return
        content = {"garbage": "this is not { json", "empty": "", "schema": '{"unexpected": 1}',
                   "hang": "{}"}.get(b, b.removeprefix("reply:") if b.startswith("reply:") else "not json")
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


@pytest.fixture
def scripted_llm():
    """Start a misbehaving server; yields a function behaviour -> base URL."""
    servers = []

    def start(behaviour: str, delay: float = 0.0) -> str:
        handler = type("H", (_ScriptedLLM,), {"behaviour": behaviour, "delay": delay})
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
