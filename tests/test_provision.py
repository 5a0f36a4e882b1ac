"""Offline model provisioning from pinned packages."""

import pytest

from tools import provision
from tools.errors import ModelMissing


def test_all_default_models_resolve():
    for name in ("face_landmarker", "expression", "whisper-tiny.en", "whisper-base", "minilm", "qwen2.5-coder-0.5b"):
        assert provision.resolve(name).exists(), name


def test_gguf_is_assembled_once_with_checksum():
    p = provision.resolve("qwen2.5-coder-0.5b")
    assert p.stat().st_size == 491_400_064
    mtime = p.stat().st_mtime
    assert provision.resolve("qwen2.5-coder-0.5b").stat().st_mtime == mtime  # not rebuilt


def test_assemble_checksum_mismatch_leaves_nothing(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"12")
    parts[1].write_bytes(b"34")
    with pytest.raises(ModelMissing, match="checksum"):
        provision._assemble(tmp_path / "out.bin", parts, sha256="0" * 64)
    assert not (tmp_path / "out.bin").exists()
    assert provision._assemble(tmp_path / "ok.bin", parts, None).read_bytes() == b"1234"


def test_override_and_missing(monkeypatch, tmp_path):
    from tools.settings import get_settings
    f = tmp_path / "my.task"
    f.write_bytes(b"x")
    monkeypatch.setitem(get_settings().model_paths, "face_landmarker", str(f))
    assert provision.resolve("face_landmarker") == f
    monkeypatch.setitem(get_settings().model_paths, "face_landmarker", str(tmp_path / "nope"))
    with pytest.raises(ModelMissing, match="does not exist"):
        provision.resolve("face_landmarker")
    with pytest.raises(ModelMissing, match="pip install"):
        provision._pkg_dir("surely-not-installed-pkg")


def test_describe_lists_sizes():
    rows = {r["name"]: r for r in provision.describe()}
    assert rows["minilm"]["status"] == "ok" and rows["minilm"]["size_mb"] > 50
