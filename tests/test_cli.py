"""The command line: real runs in a subprocess; bad input gives one line and a non-zero exit."""

import json
import os
import subprocess
import sys

import pytest

from agents.schemas import Answer
from tests.conftest import ROOT, SAMPLE


def run(*args, env_extra=None, timeout=600):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("make, msg", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("just text, no video\n" * 20), "not a readable"),
])
def test_bad_input_one_line_error(tmp_path, make, msg):
    p = tmp_path / "my video.mp4"
    make(p)
    r = run("ask", str(p), "when does she smile?")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("affectlens: error:")]
    assert len(err) == 1 and msg in err[0]


def test_models_lists_packaged_weights():
    r = run("models", "--json")
    rows = {x["name"]: x for x in json.loads(r.stdout)}
    assert r.returncode == 0 and rows["face_landmarker"]["status"] == "ok"


def test_tool_and_doctor(settings):
    env = {"AFFECTLENS_CACHE_DIR": str(settings.cache_dir)}
    r = run("tool", "expression", str(SAMPLE), "--start", "12", "--end", "15", "--json", "-q", env_extra=env)
    assert r.returncode == 0, r.stderr[-500:]
    assert json.loads(r.stdout)["values"]["top"] == "happy"
    d = run("doctor", env_extra=env)
    assert d.returncode == 0 and "faiss" in d.stdout and "llm" in d.stdout


def test_ask_json_on_sample_and_video_without_audio(settings, clips):
    env = {"AFFECTLENS_CACHE_DIR": str(settings.cache_dir)}
    r = run("ask", str(SAMPLE), "when is she in a good mood?", "--json", "-q", env_extra=env)
    assert r.returncode == 0, r.stderr[-800:]
    ans = Answer.model_validate_json(r.stdout)
    top = ans.moments[0]
    assert top.window.end > 10 and top.window.start < 19
    # a video without an audio track answers too
    r2 = run("ask", str(clips / "pexels_laughing.mp4"), "when is she happy?", "-q", env_extra=env)
    assert r2.returncode == 0, r2.stderr[-800:]
    assert "Joy" in r2.stdout


def test_vllm_gpu_command_from_config_and_index_status(settings):
    env = {"AFFECTLENS_CACHE_DIR": str(settings.cache_dir), "AFFECTLENS_VLLM_TENSOR_PARALLEL": "2",
           "AFFECTLENS_LLM_API_KEY": "s3cret"}
    r = run("serve-llm", "--backend", "vllm", "--print-command", "--model", "/models/qwen7b", env_extra=env)
    assert r.returncode == 0 and r.stdout.startswith("vllm serve /models/qwen7b ")
    for flag in ("--tensor-parallel-size 2", "--enable-prefix-caching", "--api-key s3cret", "--structured-outputs-config",
                 "--served-model-name", "--max-model-len 4096", "--gpu-memory-utilization 0.85"):
        assert flag in r.stdout, flag
    st = run("index", str(SAMPLE), "--status", env_extra=env)
    assert st.returncode == 0 and json.loads(st.stdout)["windows_total"] > 0


def test_ui_command_serves_the_app(settings):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AFFECTLENS_CACHE_DIR": str(settings.cache_dir)}
    p = subprocess.Popen([sys.executable, "-m", "ui.cli", "ui", "--port", str(port)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, ok = time.monotonic() + 120, False
        while time.monotonic() < deadline and p.poll() is None:
            try:
                ok = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200
                break
            except OSError:
                time.sleep(0.5)
        assert ok, "UI did not answer"
    finally:
        p.terminate()
        p.wait(20)
