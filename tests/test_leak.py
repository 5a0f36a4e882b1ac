"""No evaluation wording is shipped (evals/leak.py): no 5-word sequence of an evaluation file (evals/data/*.jsonl)
appears in the reader's training corpus, in the packaged example expressions, or in the code (rules,
prompts, docstrings). The blind set must also stay as frozen."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evals.leak import eval_grams, grams

ROOT = Path(__file__).resolve().parents[1]


def _strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _strings(v)


def test_the_check_finds_a_shared_sequence(tmp_path):
    """The check itself: a text that repeats five words of an evaluation question is caught."""
    line = next(line for line in (ROOT / "evals/data/dev_questions_video.jsonl").read_text().splitlines() if line)
    q = json.loads(line)["query"]
    assert len(q.split()) >= 5 and grams("so, " + q) & eval_grams()
    assert not grams("completely unrelated words that nobody ever wrote anywhere else") & eval_grams()


def test_no_training_question_repeats_evaluation_wording():
    files = sorted((ROOT / "agents/intent/data/corpus").glob("*.jsonl"))
    assert files, "the reader's corpus is missing"
    ev = eval_grams()
    bad = []
    for f in files:
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                d = json.loads(line)
                if (grams(d["q"]) | grams(d.get("prev") or "")) & ev:
                    bad.append(f"{f.name}:{i}")
    assert not bad, f"training lines sharing a 5-word sequence with an evaluation file: {bad[:10]}"


def test_no_packaged_example_repeats_evaluation_wording():
    ev = eval_grams()
    for f in [*(ROOT / "tools").rglob("*.json"), *(ROOT / "agents").rglob("*.json")]:
        bad = [s for s in _strings(json.loads(f.read_text(encoding="utf-8"))) if grams(s) & ev]
        assert not bad, f"{f.relative_to(ROOT)}: {bad[:5]}"


@pytest.mark.parametrize("folder", ["agents", "tools", "graphs", "ui", "evals"])  # scripts/ may ask evaluation questions
def test_no_rule_or_prompt_repeats_evaluation_wording(folder):
    ev = eval_grams()
    bad = {str(f.relative_to(ROOT)): sorted(" ".join(g) for g in grams(f.read_text(encoding="utf-8")) & ev)[:3]
           for f in (ROOT / folder).rglob("*.py") if grams(f.read_text(encoding="utf-8")) & ev}
    assert not bad, bad


def test_the_blind_set_is_frozen():
    blind = ROOT / "evals/data/reader_blind.jsonl"
    want = (ROOT / "evals/data/reader_blind.sha256").read_text().split()[0]
    assert hashlib.sha256(blind.read_bytes()).hexdigest() == want
    assert sum(1 for line in blind.read_text().splitlines() if line.strip()) >= 600
