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
