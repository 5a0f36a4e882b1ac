"""The sentence model behind retrieval and the question reader (tools/retrieval.embedder)."""

from __future__ import annotations


def test_the_sentence_model_loads_once_when_asked_from_two_threads(monkeypatch):
    """The CLI preloads the sentence model in a thread while the question asks for it: one load, one object."""
    import threading
    import time

    import tools.perception.embed as E
    import tools.retrieval as R
    loads = []

    class Slow:
        def __init__(self):
            loads.append(1)
            time.sleep(0.2)
    monkeypatch.setattr(E, "TextEmbedder", Slow)
    monkeypatch.setattr(R, "_embedder", None)
    got = []
    ts = [threading.Thread(target=lambda: got.append(R.embedder())) for _ in range(3)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert len(loads) == 1 and len({id(g) for g in got}) == 1
