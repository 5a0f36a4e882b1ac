"""Application settings: one place, read from AFFECTLENS_* environment variables (or a .env file).

Examples:
    AFFECTLENS_LLM_URL=http://127.0.0.1:8000/v1   # use a vLLM / OpenAI-compatible server
    AFFECTLENS_LLM_MODEL=qwen                      # model name the server serves
    AFFECTLENS_WHISPER=base                        # tiny.en | base | /path/to/ctranslate2/model
    AFFECTLENS_CACHE_DIR=/data/affectlens
    AFFECTLENS_MODEL_PATHS='{"face_landmarker": "/models/face_landmarker.task"}'
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "affectlens"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFFECTLENS_", env_file=".env", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache)
    model_paths: dict[str, str] = Field(
        default_factory=dict, description="override any packaged model by a local path")
    # Preferred model per skill (tools/backends.py lists skills and candidates), e.g. '{"asr": "whisperx"}'
    backends: dict[str, str] = Field(default_factory=dict)

    # LLM: empty URL means the embedded llama.cpp server with the packaged GGUF model.
    llm_url: str | None = None
    llm_model: str = "qwen2.5-coder-0.5b-instruct"
    llm_api_key: str = "not-needed"
    llm_gguf: str = "qwen2.5-coder-0.5b"
    llm_timeout_s: float = 90.0
    llm_retries: int = 2
    llm_threads: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    llm_ctx: int = 4096
    # Per-role overrides, e.g. a small model for the judge and a larger one for the rationale:
    # AFFECTLENS_LLM_ROLES='{"rationale": {"url": "http://gpu:8000/v1", "model": "qwen-7b"},
    #                        "judge": {"gguf": "qwen2.5-coder-0.5b"}}'   roles: judge, rationale
    # (questions are read by the trained question reader, agents/intent: no LLM role reads them)
    llm_roles: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Which LLM roles run (docs/results.md "LLM roles", scripts/measure_llm_roles.py). None: on only where a
    # served model is configured (AFFECTLENS_LLM_URL, or the role's own url in llm_roles); with the embedded
    # 0.5B model neither earned its time (scripts/measure_llm_roles.py): none of its rationale drafts was
    # kept (two lost the moment's time), and its verdicts changed no top moment, at 3-6 s per call on 2 cores.
    # With every role off, no LLM server is started at all. True/False force a role on or off.
    llm_judge: bool | None = None
    llm_rationale: bool | None = None
    # vLLM (GPU `vllm serve` line, and the CPU build run by `affectlens serve-llm --backend vllm`)
    vllm_model: str = "Qwen/Qwen2.5-7B-Instruct"
    vllm_tensor_parallel: int = 1
    vllm_gpu_memory: float = 0.85

    # Perception
    # ASR models: "ENGLISH+OTHER" detects the language of each audio chunk and reads English speech with the
    # first, any other language with the second (multilingual); one name ("base", "tiny.en") uses one model
    whisper: str = "tiny.en+base"
    sample_fps: float = 3.0  # full rate (moving face, loud voice); half on a still face; 1 fps without one
    window_s: float = 3.0
    max_faces: int = 4
    frame_max_side: int = 640
    # Index the speech while the frames are analysed (two threads side by side); off: one after the
    # other. Same index either way.
    parallel_speech: bool = True

    # Agent budgets
    max_steps: int = 40
    query_timeout_s: float = 240.0


    def llm_role_on(self, role: str) -> bool:
        """Whether the LLM role ("judge", "rationale") runs: as llm_judge / llm_rationale say, or, left unset,
        where a served model is configured. Any other name (the question is read by the trained reader) never."""
        if role not in LLM_ROLES:
            return False
        forced = getattr(self, f"llm_{role}", None)
        if forced is not None:
            return bool(forced)
        return bool(self.llm_url or (self.llm_roles.get(role) or {}).get("url"))

    def llm_needed(self) -> bool:
        """Whether any LLM role runs (graphs.api.Session starts no server otherwise)."""
        return any(self.llm_role_on(r) for r in LLM_ROLES)


#: the roles an LLM may play (agents/roles.py); questions are read by the trained reader (agents/intent)
LLM_ROLES = ("judge", "rationale")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
