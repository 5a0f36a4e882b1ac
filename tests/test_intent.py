"""Intent from several readers (agents/intent): the real MiniLM text emotion reader, the lexicon and an LLM
whose answer is scripted so that the readers disagree on purpose; the reconciliation rule decides."""

from __future__ import annotations

import json

import pytest

from agents.intent import read_intent
from agents.llm import LLMClient
from tools.perception.text_emotion import read, split_negation


def _llm(scripted_llm, emotions: list[str]) -> LLMClient:
    reply = {"emotions": emotions, "arousal": "any", "every": False}
    return LLMClient(scripted_llm("reply:" + json.dumps(reply)), "m", timeout=10, retries=0)


def test_llm_and_lexicon_disagree_the_vote_decides(scripted_llm):
    """'cries with laughter': the lexicon hears Sadness (cries), the LLM says Joy, the embedding reader
    hears Joy: two voices against one, so Joy leads; the lexicon is one voice, not a veto, and what every
    reader said is kept."""
    reading = read_intent(_llm(scripted_llm, ["Joy"]), "she cries with laughter at his joke")
    votes = {v.reader: v for v in reading.votes}
    assert votes["lexicon"].ranked()[0] == "Sadness" and votes["llm"].ranked() == ["Joy"]
    assert votes["embedding"].ranked()[0] == "Joy"
    assert reading.intent.emotions[0] == "Joy"
    assert reading.scores["Joy"] > reading.scores.get("Sadness", 0)


def test_a_wrong_llm_is_outvoted_by_lexicon_and_embedding(scripted_llm):
    reading = read_intent(_llm(scripted_llm, ["Joy"]), "when does he look scared stiff?")
    assert reading.intent.emotions[0] == "Fear"
    assert {v.reader for v in reading.votes} == {"llm", "embedding", "lexicon", "face"}


def test_negation_removes_the_denied_label():
    clean, negated = split_negation("he wasn't scared, only a bit let down")
    assert negated == ["Fear"] and "scared" not in clean
    reading = read_intent(None, "he wasn't scared, only a bit let down")
    assert "Fear" not in reading.intent.emotions and "Fear" not in reading.scores
    assert all("Fear" in v.negated for v in reading.votes if v.reader != "llm")
    assert "intent_without_llm" in reading.flags
    reading = read_intent(None, "she isn't angry, she's sad")
    assert reading.intent.emotions[0] == "Sadness" and "Anger" not in reading.intent.emotions


def test_neither_nor_reads_as_neutral():
    reading = read_intent(None, "a stretch where she is neither angry nor scared")
    assert reading.intent.emotions[0] == "Neutral"


def test_a_degree_of_calm_names_neutral():
    """"calmest"/"calmer" name Neutral as "calm" does (the same degree reduction as "happiest" → Joy); the
    zero-shot reader alone puts "the calmest part" nearest Joy. "none" never names it."""
    from tools.labels import lexicon_emotions
    assert lexicon_emotions("the calmest part", neutral=True) == ["Neutral"] and lexicon_emotions("the calmest part") == []
    assert lexicon_emotions("when is he calmer than before?", neutral=True) == ["Neutral"]
    assert lexicon_emotions("none of them smile", neutral=True) == ["Joy"]
    assert read_intent(None, "show me the calmest stretch of the interview").intent.emotions[0] == "Neutral"


def test_a_question_that_names_an_emotion_is_never_descriptive(scripted_llm):
    """The LLM says 'no emotion', but the user wrote 'happy': the emotion path, not the descriptive one."""
    reading = read_intent(_llm(scripted_llm, []), "when does she look happy?")
    assert reading.intent.emotions[0] == "Joy" and not reading.intent.descriptive
    assert "descriptive_query" not in reading.flags


def test_a_description_without_feeling_is_descriptive(scripted_llm):
    reading = read_intent(_llm(scripted_llm, []), "the part where he takes off his coat")
    assert reading.intent.descriptive and "descriptive_query" in reading.flags


def test_every_time_asks_for_every_moment():
    reading = read_intent(None, "every time somebody sounds furious")
    assert reading.intent.n_moments == 10 and reading.intent.emotions[0] == "Anger"


def test_the_llm_is_not_asked_when_the_question_names_one_emotion_and_the_text_reader_agrees(scripted_llm):
    """Skipping the call saves ~2.5 s per question; the scripted LLM would answer Fear, so a vote from it
    would show. A paraphrase with no emotion word is still read by the LLM."""
    c = _llm(scripted_llm, ["Fear"])
    reading = read_intent(c, "when is she sad?")
    assert c.stats.calls == 0 and reading.intent.emotions == ["Sadness"]
    llm_vote = {v.reader: v for v in reading.votes}["llm"]
    assert "not asked" in llm_vote.note and not any(f.startswith("llm_fallback") for f in reading.flags)
    read_intent(c, "the part where he blew up")
    assert c.stats.calls == 1


def test_an_llm_with_vote_weight_zero_is_not_asked(scripted_llm):
    """Settings.intent_llm_weight = 0 (the default for the shipped 0.5B model, chosen on the tune part):
    the LLM is not called and the words and the text reader decide (no fallback flag: it is the
    configuration; the trace says "not asked"). With weight 1 the same paraphrase is sent to the LLM."""
    c = _llm(scripted_llm, ["Fear"])
    reading = read_intent(c, "the part where he blew up", llm_weight=0.0)
    assert c.stats.calls == 0 and not any(f.startswith(("intent_without_llm", "llm_fallback")) for f in reading.flags)
    assert "Fear" not in reading.scores and "weight is 0" in {v.reader: v for v in reading.votes}["llm"].note
    read_intent(c, "the part where he blew up", llm_weight=1.0)
    assert c.stats.calls == 1
    from tools.settings import Settings
    assert Settings().intent_llm_weight == 0.0


def test_how_many_moments_comes_from_the_words_not_the_llm(scripted_llm):
    """A small model marks singular questions as "every time"; only the question's words count."""
    reply = {"emotions": ["Sadness"], "arousal": "any", "every": True}
    c = LLMClient(scripted_llm("reply:" + json.dumps(reply)), "m", timeout=10, retries=0)
    reading = read_intent(c, "the moment his face just falls")
    assert c.stats.calls == 1 and reading.intent.n_moments == 1


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


def test_eval_intent_prints_per_reader_per_part(tmp_path):
    from evals.intent import run
    rows = [{"id": "a", "query": "when does she look terrified", "labels": ["Horror"], "family": "fear",
             "modality": "face", "count": "one", "paraphrase": False, "split": "tune"},
            {"id": "b", "query": "the part where he takes off his coat", "labels": [], "family": "none",
             "modality": "any", "count": "one", "paraphrase": True, "split": "heldout"}]
    f = tmp_path / "mini.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    out = run(f, None)
    assert "tune part: 1 items" in out and "heldout part: 1 items" in out
    for reader in ("embedding", "lexicon", "reconciled"):
        assert f"| {reader} |" in out


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
        assert len(ex[lab]) >= len(LABEL_TEXTS[lab]) + 40 and ex[lab][0] == LABEL_TEXTS[lab][0]
    assert len(ex["none"]) >= len(NONE_TEXTS) + 40
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    declared = pyproject["tool"]["setuptools"]["package-data"]["tools"]
    assert any(Path("tools", pat).parent == EXPRESSIONS_FILE.relative_to(Path(__file__).parents[1]).parent
               for pat in declared)


def test_described_facial_actions_are_read_as_action_units():
    """The face reader turns described facial actions into FACS Action Units and scores them against the
    emotion prototypes: brows drawn together and pressed lips (AU4, AU23, AU24) are anger, which the text
    reader alone reads as Surprise; a question describing facial actions is never descriptive."""
    from agents.intent import face_reader
    from tools.labels import face_actions

    q = "when do his eyebrows pull together and his lips press tight?"
    assert face_actions(q) == ["AU4", "AU23", "AU24"]
    assert face_actions("every time her eyebrows shoot up and her jaw drops") == ["AU1", "AU2", "AU26"]
    assert face_reader("the part where the corners of his mouth turn down").ranked()[0] == "Sadness"
    assert face_reader("when does he open the door?").scores == {}
    reading = read_intent(None, q)
    votes = {v.reader: v for v in reading.votes}
    assert votes["embedding"].ranked()[0] != "Anger" and votes["face"].ranked()[0] == "Anger"
    assert reading.intent.emotions[0] == "Anger"
    assert "descriptive_query" not in read_intent(None, "the part where her nose wrinkles").flags


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
