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
        _live.add(self)
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
        _live.discard(self)

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
                "--port", str(self.port), "--threads", str(self.threads), "--ctx", str(self.ctx),
                "--parent-pid", str(os.getpid())]


_shared: dict[tuple, EmbeddedServer] = {}
_live: set[ChildServer] = set()  # every child server started in this process and not yet stopped
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
    for srv in list(_shared.values()) + list(_live):
        srv.stop()
    _shared.clear()


def stop_all_children() -> None:
    """Stop every child server this process started (what atexit also does)."""
    _stop_all()


def exit_on_signals() -> None:
    """Make SIGTERM and SIGHUP exit this process like Ctrl-C does (SystemExit: `finally` blocks and
    atexit run, so child servers are stopped). Call from the main thread of a long-running command."""
    if threading.current_thread() is not threading.main_thread():
        return

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started as a background job (`cmd &`): the shell
        signal.signal(signal.SIGINT, signal.default_int_handler)  # ignored SIGINT; a sent one must still stop us


def _watch_parent(parent_pid: int, every_s: float = 1.0) -> None:
    """Exit when the process that started this server is gone (even SIGKILLed): no orphan servers."""
    def watch():
        while True:
            time.sleep(every_s)
            if os.getppid() != parent_pid:
                os._exit(0)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(model: str, port: int, threads: int, ctx: int, host: str = "127.0.0.1",
          parent_pid: int | None = None) -> None:
    """Run llama.cpp's HTTP server in this process until SIGTERM/SIGINT (or, with `parent_pid`, until
    that parent process is gone)."""
    import xllamacpp

    if parent_pid:
        _watch_parent(parent_pid)

    p = xllamacpp.CommonParams()
    p.model.path = model
    p.hostnames = [host]
    p.port = port
    p.n_ctx = ctx
    p.n_parallel = 1
    p.n_threads_http = 1  # more HTTP threads than cores slowed generation 10x here (MODELS.md)
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    # Prompt-prefix cache: one slot keeps the last prompt's KV; on a new prompt the server reuses the
    # common prefix (the static system message of agents/prompts.py) and saves/restores other prompts to
    # a host-RAM cache, so alternating roles (interpret, judge, rationale) each find their prefix again.
    p.cache_prompt = True
    p.cache_idle_slots = True
    p.cache_ram_mib = 1024
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
    ap.add_argument("--parent-pid", type=int, help="exit when this process is gone (set by EmbeddedServer)")
    a = ap.parse_args(argv)
    serve(a.model, a.port, a.threads, a.ctx, a.host, a.parent_pid)


if __name__ == "__main__":
    main()
