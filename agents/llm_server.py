"""The embedded LLM runtime: llama.cpp's own OpenAI-compatible HTTP server (xllamacpp wheel) with the
packaged GGUF model, run in a child process on loopback so that a hang or crash never takes the app down.

`python -m agents.llm_server --model PATH --port N` runs the server in the foreground (what
`affectlens serve-llm` and the EmbeddedServer below use). The app talks to it over HTTP exactly as it
talks to vLLM, so there is one client path.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from agents.errors import LLMError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base_url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Poll `<root>/health` until the server says ok; raise LLMError on timeout or child death."""
    root = base_url.rstrip("/").removesuffix("/v1")
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LLMError(f"embedded LLM server exited with code {proc.returncode} during start-up")
        try:
            r = httpx.get(f"{root}/health", timeout=2.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            last = e.__class__.__name__
        time.sleep(0.25)
    raise LLMError(f"LLM server at {base_url} not healthy after {timeout:.0f}s ({last})")


class ChildServer:
    """An OpenAI-compatible server run as a child process on 127.0.0.1: start, health-check, stop.
    Subclasses say which command (and environment) starts it."""

    stop_grace_s = 5.0

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def start(self, timeout: float = 120.0) -> str:
        if self.proc is not None and self.proc.poll() is None:
            return self.url
        cmd, env = self.command(), self.env()
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        try:
            wait_healthy(self.url, timeout, self.proc)
        except LLMError:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class EmbeddedServer(ChildServer):
    """A llama.cpp server child process serving one GGUF model on 127.0.0.1."""

    def __init__(self, model_path: Path, threads: int = 2, ctx: int = 4096, port: int | None = None,
                 log_path: Path | None = None):
        super().__init__(port, log_path)
        self.model_path = Path(model_path)
        self.threads, self.ctx = threads, ctx

    def command(self) -> list[str]:
        return [sys.executable, "-m", "agents.llm_server", "--model", str(self.model_path),
                "--port", str(self.port), "--threads", str(self.threads), "--ctx", str(self.ctx)]


_shared: dict[tuple, EmbeddedServer] = {}
_lock = threading.Lock()


def shared_server(model_path: Path, threads: int, ctx: int, log_path: Path | None = None) -> EmbeddedServer:
    """One embedded server per (model, threads, ctx) per process, reused across queries, stopped at exit."""
    key = (str(model_path), threads, ctx)
    with _lock:
        srv = _shared.get(key)
        if srv is None or srv.proc is None or srv.proc.poll() is not None:
            srv = EmbeddedServer(model_path, threads=threads, ctx=ctx, log_path=log_path)
            srv.start()
            _shared[key] = srv
        return srv


@atexit.register
def _stop_all() -> None:
    for srv in list(_shared.values()):
        srv.stop()
    _shared.clear()


def serve(model: str, port: int, threads: int, ctx: int, host: str = "127.0.0.1") -> None:
    """Run llama.cpp's HTTP server in this process until SIGTERM/SIGINT."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = model
    p.hostnames = [host]
    p.port = port
    p.n_ctx = ctx
    p.n_parallel = 1
    p.n_threads_http = 1  # more HTTP threads than cores slowed generation 10x here (MODELS.md)
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    server = xllamacpp.Server(p)  # noqa: F841  (keeps serving while referenced)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    os._exit(0)  # the native server threads do not join cleanly


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="embedded llama.cpp OpenAI-compatible server")
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=4096)
    a = ap.parse_args(argv)
    serve(a.model, a.port, a.threads, a.ctx, a.host)


if __name__ == "__main__":
    main()
