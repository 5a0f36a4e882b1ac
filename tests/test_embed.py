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
