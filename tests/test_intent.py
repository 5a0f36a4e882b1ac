"""The zero-shot text emotion reader (tools/perception/text_emotion.py), which reads transcript lines for the
emotion tool's words cue. Questions are read by the trained question reader: tests/test_reader.py."""

from __future__ import annotations

import pytest

from tools.perception.text_emotion import read, split_negation


def test_negation_in_a_transcript_line_removes_the_denied_label():
    clean, negated = split_negation("he wasn't scared, only a bit let down")
    assert negated == ["Fear"] and "scared" not in clean


@pytest.mark.parametrize("text, label, sign", [
    ("I finally finished the whole project on my own and I'm so proud of it", "Pride", 1),
    ("ugh, that smell is revolting, I think I'm going to be sick", "Disgust", -1),
    ("I miss her so much, I can't stop crying since the funeral", "Sadness", -1),
])
def test_text_emotion_reads_transcript_lines(text, label, sign):
    te = read(text)
    assert te.top(1)[0][0] == label, te.top(3)
    assert abs(sum(te.probs.values()) - 1) < 1e-3 and te.valence * sign > 0.1
    assert te.reasons


def test_the_reader_compares_with_the_packaged_everyday_expressions():
    """The zero-shot reader's examples are the hand-written ones plus the packaged expressions (40 a label,
    written without sight of the dev sets); the data file is declared as package data, so a non-editable
    install ships it too."""
    import tomllib
    from pathlib import Path

    from tools.labels import EMOTIONS
    from tools.perception.text_emotion import EXPRESSIONS_FILE, LABEL_TEXTS, NONE_TEXTS, examples

    ex = examples()
    assert set(ex) == {*EMOTIONS, "none"}
    for lab in EMOTIONS:
        assert len(ex[lab]) >= len(LABEL_TEXTS[lab]) + 35 and ex[lab][0] == LABEL_TEXTS[lab][0]
    assert len(ex["none"]) >= len(NONE_TEXTS) + 35
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    declared = pyproject["tool"]["setuptools"]["package-data"]["tools"]
    assert any(Path("tools", pat).parent == EXPRESSIONS_FILE.relative_to(Path(__file__).parents[1]).parent
               for pat in declared)


def test_the_examples_vectors_are_cached_on_disk(tmp_path, monkeypatch):
    """The ~740 example texts are embedded once per (model, texts) and kept in the cache dir: a new reader
    (a new process's first question) loads them instead of embedding them again, and reads the same."""
    import tools.settings as ts
    from tools.perception.text_emotion import TextEmotionReader
    from tools.retrieval import embedder
    monkeypatch.setattr(ts, "get_settings", lambda: ts.Settings(cache_dir=tmp_path))
    real = embedder()
    calls: list[int] = []

    class Counting:
        fingerprint = real.fingerprint

        def embed(self, texts):
            calls.append(len(texts))
            return real.embed(texts)

    first = TextEmotionReader(Counting()).read("when is she over the moon?")
    assert calls and calls[0] > 500 and list((tmp_path / "text_emotion").glob("*.npy"))
    calls.clear()
    again = TextEmotionReader(Counting()).read("when is she over the moon?")
    assert calls == [1]  # only the question itself
    assert again.probs == first.probs
