"""Offline model provisioning from pinned packages."""

from pathlib import Path

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


def _spec(path, sha):
    return provision.ModelSpec("tmp-model", "test", ("tmp-pkg",), "none", lambda s: path, {"": sha})


def test_a_model_file_is_checked_again_whenever_it_changes(tmp_path, monkeypatch):
    """The sha256 is checked on first use and again after any change of size or mtime; a file that no longer
    matches is refused with the package to reinstall, and the stamp of the good file lets later calls skip
    hashing."""
    import hashlib
    import os
    monkeypatch.setattr(provision, "_stamp_file", lambda: tmp_path / "verified.json")
    f = tmp_path / "model.bin"
    f.write_bytes(b"weights-1")
    spec = _spec(f, hashlib.sha256(b"weights-1").hexdigest())
    assert provision.verify(spec, f) == f
    hashed = []
    monkeypatch.setattr(provision, "_sha256", lambda p: hashed.append(p) or hashlib.sha256(p.read_bytes()).hexdigest())
    provision.verify(spec, f)
    assert hashed == []  # unchanged size and mtime: not hashed again
    f.write_bytes(b"weights-2")  # same size, new mtime
    with pytest.raises(ModelMissing, match="sha256.*reinstall tmp-pkg"):
        provision.verify(spec, f)
    assert hashed == [f]
    f.write_bytes(b"weights-1")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    assert provision.verify(spec, f) == f
    f.unlink()
    with pytest.raises(ModelMissing, match="missing"):
        provision.verify(spec, f)


def test_every_shipped_model_is_verified_and_no_package_code_is_imported():
    """Resolving every installed default model checks each file's pinned sha256 and imports none of the
    model packages' Python code (their files are found through importlib.metadata)."""
    import subprocess
    import sys
    code = ("import sys, json\n"
            "from tools import provision\n"
            "names = ['face_landmarker', 'expression', 'whisper-tiny.en', 'whisper-base', 'minilm', "
            "'face_descriptor', 'face_align_5pt', 'qwen2.5-coder-0.5b']\n"
            "[provision.resolve(n) for n in names]\n"
            "pk = {p.replace('-', '_') for n in names for p in provision.SPECS[n].packages}\n"
            "print(json.dumps(sorted(pk & set(sys.modules))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "[]", out.stdout
    for name in ("face_landmarker", "whisper-base", "minilm"):
        assert provision.SPECS[name].sha256


def test_models_doc_lists_every_model_with_its_hashes():
    """docs/models.md is the provenance table: each model's package, upstream model, licence and sha256."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    for spec in provision.SPECS.values():
        assert f"`{spec.name}`" in doc and spec.packages[0] in doc and spec.upstream and spec.upstream in doc
        for sha in spec.sha256.values():
            assert sha in doc, (spec.name, sha)
