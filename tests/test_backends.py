"""Skills x models (tools/backends.py): one choice per skill from settings and availability, recorded in the
index config key, used by the speech pass (ASR and speech-emotion seams, run for real on CPU), printed by
`affectlens doctor`; and the IVF index type that faiss-gpu can hold at any size.

The speech-emotion test needs torch + transformers (requirements/ser-cpu.lock, installed by `make test`):
locally it skips with that reason when they are absent; with CI set it fails instead."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tools.backends import SKILLS, choose, choose_skill, index_backends
from tools.errors import ModelMissing
from tools.index.store import IndexConfig
from tools.settings import Settings

SER_LABELS = ["neutral", "happy", "angry", "sad"]


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        msg = f"{', '.join(missing)} not installed (make ser-cpu installs requirements/ser-cpu.lock)"
        if os.environ.get("CI"):
            pytest.fail(msg + " — required in CI")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def tiny_ser(tmp_path_factory) -> Path:
    """A randomly initialised wav2vec2 audio-classification model saved as a local folder (no download)."""
    _need("torch", "transformers")
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                         conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
                         num_conv_pos_embedding_groups=2, classifier_proj_size=16, num_labels=len(SER_LABELS),
                         id2label=dict(enumerate(SER_LABELS)), label2id={x: i for i, x in enumerate(SER_LABELS)})
    out = tmp_path_factory.mktemp("tiny-ser")
    Wav2Vec2ForSequenceClassification(cfg).save_pretrained(out)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                             return_attention_mask=False).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def spoken(speech, tmp_path_factory) -> Path:
    """English speech with a known transcript: tests/data/speech/synth_en.wav, else made with espeak-ng."""
    shipped = speech / "synth_en.wav"
    if shipped.exists():
        return shipped
    if not shutil.which("espeak-ng"):
        pytest.skip("no tests/data/speech/synth_en.wav and no espeak-ng to make it")
    out = tmp_path_factory.mktemp("speech") / "synth_en.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out),
                    "Please meet me at the station at seven o'clock. The train leaves in ten minutes."], check=True)
    return out


def test_defaults_are_the_cpu_models_and_the_config_key_records_them(tmp_path):
    s = Settings(cache_dir=tmp_path)
    c = choose(s)
    assert set(c) == set(SKILLS)
    assert c["asr"].model == f"faster-whisper:{s.whisper}"
    # The audio-classification SER needs torch + transformers (`make ser-cpu`) and a model path: it says which
    # one is missing here, then falls back to prosody.
    missing = [m for m in ("transformers", "torch") if importlib.util.find_spec(m) is None]
    why = f"{', '.join(missing)} not installed" if missing else "no local model path (AFFECTLENS_MODEL_PATHS ser)"
    assert c["ser"].model == "prosody-arousal"
    assert c["ser"].reason == f"transformers-audio-classification: {why}", c["ser"].reason
    assert c["llm"].model.startswith("llama.cpp-embedded")
    cfg = IndexConfig.from_settings(s)
    assert cfg.backends == index_backends(s)
    assert set(cfg.backends) == {k for k, v in SKILLS.items() if v.in_index}
    assert "llm" not in cfg.backends and "vector_index" not in cfg.backends  # they do not change the index


def test_requested_backend_falls_back_and_says_why_but_a_named_model_path_never_drops(tmp_path, capsys,
                                                                                     monkeypatch):
    s = Settings(cache_dir=tmp_path, backends={"asr": "whisperx"})
    asr = choose_skill("asr", s)
    if importlib.util.find_spec("whisperx") is None:
        assert asr.model.startswith("faster-whisper") and "whisperx: whisperx" in asr.reason
    bad = Settings(cache_dir=tmp_path, model_paths={"ser": str(tmp_path / "nope")})
    with pytest.raises(ModelMissing, match="ser"):
        choose_skill("ser", bad)
    with pytest.raises(ModelMissing):
        IndexConfig.from_settings(bad)  # so build_index stops with that message
    rows = _doctor(capsys, monkeypatch, {"AFFECTLENS_CACHE_DIR": str(tmp_path),
                                         "AFFECTLENS_MODEL_PATHS": '{"ser": "%s"}' % (tmp_path / "nope")})
    assert rows["ser"].startswith("ERROR:") and rows["index config key"].startswith("ERROR:")


def test_ser_path_changes_the_config_key(tmp_path, tiny_ser):
    plain = IndexConfig.from_settings(Settings(cache_dir=tmp_path))
    with_ser = IndexConfig.from_settings(Settings(cache_dir=tmp_path, model_paths={"ser": str(tiny_ser)}))
    assert with_ser.backends["ser"] == f"transformers-audio-classification:{tiny_ser.resolve()}"
    assert with_ser.key() != plain.key()


def test_transcriber_seam_uses_the_chosen_asr(tmp_path):
    from tools.perception.speech import Transcriber, make_transcriber
    s = Settings(cache_dir=tmp_path)
    t = make_transcriber(s)
    assert isinstance(t, Transcriber) and t.device == choose_skill("asr", s).device


def test_whisperx_seam_when_installed(tmp_path, spoken):
    """whisperx 3.8.6 needs huggingface-hub<1.0, gradio 6.31 needs >=1.16: it cannot install beside the app
    (pyproject.toml's gpu extra says so). When it is installed and opted in, the seam transcribes."""
    if importlib.util.find_spec("whisperx") is None:
        pytest.skip("whisperx not installed: it conflicts with gradio 6.31 (huggingface-hub), see pyproject.toml")
    from tools.index.decode import load_audio
    from tools.perception.speech import WhisperXTranscriber, make_transcriber
    s = Settings(cache_dir=tmp_path, backends={"asr": "whisperx"})
    t = make_transcriber(s)
    assert isinstance(t, WhisperXTranscriber)
    assert "station" in " ".join(x.text for x in t.transcribe(load_audio(spoken))).lower()


def test_ser_model_by_path_runs_in_the_index_and_reaches_the_voice_tool(tmp_path, tiny_ser, spoken):
    """The real seam: the speech pass loads the local folder through transformers' audio-classification
    pipeline, stores its output per speech segment, and the voice tool reports it with the model's name."""
    from tools.index import build_index
    from tools.registry import ToolContext, run_tool
    from tools.schemas import TimeWindow

    s = Settings(cache_dir=tmp_path, model_paths={"ser": str(tiny_ser)})
    idx = build_index(spoken, s, progress=False)
    assert idx.config.backends["ser"].startswith("transformers-audio-classification:")
    assert "station" in " ".join(x.text for x in idx.speech.segments).lower()  # ASR ran too
    assert idx.speech.voice
    for v in idx.speech.voice:
        assert set(v.emotion) == set(SER_LABELS)
        assert abs(sum(v.emotion.values()) - 1.0) < 0.01
    w = TimeWindow(start=0, end=idx.meta.duration)
    ev, err, _ = run_tool(ToolContext(idx, s), "voice", w, "E1")
    assert err is None
    assert {f"ser_{x}" for x in SER_LABELS} <= set(ev.values)
    assert "transformers-audio-classification" in ev.text


def _doctor(capsys, monkeypatch, env: dict[str, str]) -> dict[str, str]:
    from tools.settings import get_settings
    from ui.cli import main
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        assert main(["doctor"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    return {ln[:28].strip(): ln[28:].strip() for ln in out.splitlines() if ln.strip()}


@pytest.mark.parametrize("with_ser", [False, True])
def test_doctor_reports_exactly_the_chosen_backends(capsys, monkeypatch, tmp_path, request, with_ser):
    env = {"AFFECTLENS_CACHE_DIR": str(tmp_path)}
    if with_ser:
        env["AFFECTLENS_MODEL_PATHS"] = '{"ser": "%s"}' % request.getfixturevalue("tiny_ser")
    rows = _doctor(capsys, monkeypatch, env)
    from tools.settings import Settings as S
    s = S()
    for name, c in choose(s).items():
        assert rows[name].startswith(f"{c.model} on {c.device}"), (name, rows[name])
    cfg = IndexConfig.from_settings(s)
    assert rows["index config key"].startswith(cfg.key())
    assert rows["ser"].startswith("transformers-audio-classification" if with_ser else "prosody-arousal")


def test_ivf_index_above_the_threshold(monkeypatch):
    """Above IVF_THRESHOLD vectors the index is IVF-Flat (faiss-gpu holds it at any size; HNSW it cannot),
    trained, with nprobe stored in the file; each stored vector finds itself."""
    import faiss

    import tools.retrieval as r
    rng = np.random.default_rng(0)
    m = rng.normal(size=(800, 24)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    assert isinstance(r._make_index(24, m), faiss.IndexFlatIP)  # below the threshold: exact
    monkeypatch.setattr(r, "IVF_THRESHOLD", 100)
    ix = r._make_index(24, m)
    ix.add(m)
    assert isinstance(ix, faiss.IndexIVFFlat) and ix.is_trained
    nlist, nprobe = r.ivf_lists(len(m))
    assert ix.nlist == nlist and ix.nprobe == nprobe > 1
    path = f"/tmp/affectlens-ivf-{os.getpid()}.faiss"
    faiss.write_index(ix, path)
    back = r.to_gpu(faiss.read_index(path))
    os.unlink(path)
    _, i = back.search(m[:50], 1)
    assert (i[:, 0] == np.arange(50)).mean() >= 0.95


def test_step_trace_names_the_models_the_index_was_built_with(tmp_path):
    from tools.backends import tool_models
    cfg = IndexConfig.from_settings(Settings(cache_dir=tmp_path))
    assert tool_models(cfg.backends, "voice") == {"asr": cfg.backends["asr"], "ser": "prosody-arousal"}
    assert tool_models(cfg.backends, "expression") == {"face": "mediapipe-facelandmarker",
                                                        "expression": "fer2013-tflite"}
    assert tool_models(cfg.backends, "no-such-tool") == {}


def test_speech_is_reused_only_from_a_config_with_the_same_asr_and_ser(tmp_path):
    from tools.index.speech_pass import reuse_speech
    base = IndexConfig(backends={"asr": "faster-whisper:tiny.en", "ser": "prosody-arousal"})
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(base.model_dump_json())
    (old / "speech.json").write_text('{"segments": [], "voice": [], "speech_s": 1.5}')
    other_ser = base.model_copy(update={"backends": {**base.backends, "ser": "transformers-audio-classification:/m"}})
    for cfg, reused in ((other_ser, False), (base.model_copy(update={"window_s": 2.0}), True)):
        new = tmp_path / cfg.key()
        new.mkdir()
        reuse_speech(new, cfg)
        assert (new / "speech.json").exists() == reused
