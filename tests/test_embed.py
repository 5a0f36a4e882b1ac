"""The numpy MiniLM sentence embedder ranks meaning, not just words."""

import numpy as np

from tools.perception.embed import TextEmbedder


def test_semantic_similarity_ordering():
    e = TextEmbedder()
    v = e.embed(["a woman laughing happily", "she is smiling and cheerful", "a man crying in grief",
                 "quarterly interest rate report"])
    assert v.shape == (4, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] > sim[0, 3]
    assert e.embed([""]).shape == (1, 384)


def test_embed_from_several_threads_matches_one_thread():
    """The shared embedder is called from several threads at once (UI questions, an evaluation's abandoned
    timed-out question): calls are serialised, so each gets the rows it would get alone."""
    import threading

    from tools.retrieval import embedder
    e = embedder()
    batches = [[f"she laughs at joke number {i}", "a long stretch of silence " * (i % 5 + 1), "x"] for i in range(8)]
    alone = [e.embed(b) for b in batches]
    out: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, e.embed(batches[i]))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "an embed call hung"
    for i, a in enumerate(alone):
        np.testing.assert_allclose(out[i], a, atol=1e-5)


def test_embed_calls_are_serialised():
    """Two threads never run the forward pass at once (the tokenizer's padding switch is shared state)."""
    import threading
    import time

    from tools.perception.embed import TextEmbedder
    e = TextEmbedder()
    inside, most = [0], [0]
    real = e._embed

    def slow(texts, batch):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        try:
            return real(texts, batch)
        finally:
            inside[0] -= 1

    e._embed = slow
    threads = [threading.Thread(target=e.embed, args=([f"text {i}"],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert most[0] == 1


def test_similarities_match_the_published_reference():
    """The cosine similarities sentence-transformers publishes for all-MiniLM-L6-v2, computed by its PyTorch
    reference implementation: the library's quickstart (0.6660, 0.1046, 0.1411) and the model card
    (0.6946, 0.9429, 0.2569), given to 4 decimals. A wrong LayerNorm eps, GELU, attention mask or pooling
    moves them by more than that."""
    from tools.retrieval import embedder
    e = embedder()
    v = e.embed(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    s = v @ v.T
    np.testing.assert_allclose([s[0, 1], s[0, 2], s[1, 2]], [0.6660, 0.1046, 0.1411], atol=1.5e-4)
    v = e.embed(["That is a happy person", "That is a happy dog", "That is a very happy person",
                 "Today is a sunny day"])
    s = v @ v.T
    np.testing.assert_allclose(s[0, 1:], [0.6946, 0.9429, 0.2569], atol=1.5e-4)


def _reference_bert(model_dir, text: str) -> np.ndarray:
    """An independent, deliberately plain float64 BERT sentence vector from the same safetensors weights and
    tokenizer: one sentence, no padding, exact erf-GELU (scipy), attention head by head, mean pooling."""
    import json

    from safetensors.numpy import load_file
    from scipy.special import erf
    from tokenizers import Tokenizer
    cfg = json.loads((model_dir / "config.json").read_text())
    w = {k.removeprefix("bert."): v.astype(np.float64) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()  # the file asks for padding to 128: a lone sentence needs none
    ids = tok.encode(text).ids
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]

    def norm(x, name):
        return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w[name + ".weight"] \
            + w[name + ".bias"]

    def dense(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    x = norm(w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:len(ids)]
             + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    d = x.shape[1] // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (dense(x, p + f"attention.self.{n}") for n in ("query", "key", "value"))
        ctx = []
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            a = q[:, sl] @ k[:, sl].T / np.sqrt(d)
            a = np.exp(a - a.max(1, keepdims=True))
            ctx.append((a / a.sum(1, keepdims=True)) @ v[:, sl])
        x = norm(x + dense(np.concatenate(ctx, 1), p + "attention.output.dense"), p + "attention.output.LayerNorm")
        hmid = dense(x, p + "intermediate.dense")
        x = norm(x + dense(0.5 * hmid * (1 + erf(hmid / np.sqrt(2))), p + "output.dense"), p + "output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_vectors_match_an_independent_float64_reference():
    """Whole 384-d vectors, in one padded batch of texts of different lengths, against `_reference_bert`:
    the batched float32 forward pass (padding masks, the approximate erf) agrees to 1e-6 per component
    (measured: 8e-8; a LayerNorm eps of 1e-5, a tanh-GELU or a dropped attention mask move it by 1e-4 to
    0.16)."""
    from tools.provision import resolve
    from tools.retrieval import embedder
    texts = ["she is laughing", "a long, tense silence before he finally answers the question", "no"]
    got = embedder().embed(texts)
    ref = np.stack([_reference_bert(resolve("minilm"), t) for t in texts])
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_text_emotion_vectors_are_cached_in_the_callers_cache_dir(tmp_path, monkeypatch):
    """The example vectors go to the cache directory of the settings the reader is given, not the process's
    (which a test or a second deployment points elsewhere)."""
    import tools.settings as ts
    from tools.perception.text_emotion import TextEmotionReader, reader

    class Quick:  # stands in for the embedder (not under test here): fixed unit vectors, an identity
        fingerprint = "quick"

        def embed(self, texts):
            v = np.random.default_rng(len(texts)).normal(size=(len(texts), 8)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)
    mine, process = tmp_path / "mine", tmp_path / "process"
    monkeypatch.setattr(ts, "get_settings", lambda: ts.Settings(cache_dir=process))
    TextEmotionReader(Quick(), ts.Settings(cache_dir=mine)).read("when is she over the moon?")
    assert list((mine / "text_emotion").glob("*.npy")) and not process.exists()
    TextEmotionReader(Quick()).read("when is she over the moon?")  # no settings: the process's
    assert list((process / "text_emotion").glob("*.npy"))
    s = ts.Settings(cache_dir=tmp_path / "third")
    assert reader(s) is reader(s) and reader(s)._settings is s and reader() is not reader(s)
