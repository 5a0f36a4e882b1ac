"""Leak check: no 5-word sequence of an evaluation file may appear in a shipped example, a training file or a
rule (code). Evaluation files are every *.jsonl under evals/data (their question fields). Used by
tests/test_leak.py and by scripts/import_corpus.py, which leaves out a written training question that shares
a 5-word sequence with an evaluation file (independent writers share stock phrasings, e.g. the same way of
naming a side; such lines are dropped, not edited).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

EVAL_DIR = Path(__file__).parent / "data"
N = 5
FIELDS = ("query", "q", "prev")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def grams(text: str, n: int = N) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


@lru_cache(maxsize=1)
def eval_grams(folder: Path = EVAL_DIR) -> frozenset[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for f in sorted(Path(folder).glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                for k in FIELDS:
                    if isinstance(d.get(k), str):
                        out |= grams(d[k])
    return frozenset(out)


def shared(text: str) -> set[tuple[str, ...]]:
    """The 5-word sequences `text` shares with the evaluation files."""
    return grams(text) & eval_grams()
