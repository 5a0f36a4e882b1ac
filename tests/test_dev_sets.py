"""Validator for the development sets in evals/data/ (see evals/data/README.md): schema, label coverage,
share of paraphrases, the deterministic tune/heldout split, no duplicates, no bench template leaked."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "evals" / "data"
INTENT = DATA / "intent_dev.jsonl"
VIDEO_Q = DATA / "dev_questions_video.jsonl"

LABELS = ("Anger", "Anticipation", "Disgust", "Fear", "Horror", "Joy", "Love", "Neutral", "Pride",
          "Sadness", "Satisfaction", "Surprise", "Trust")
MODALITIES = {"face", "voice", "words", "any"}
COUNTS = {"one", "every"}
FIELDS = {"id", "query", "labels", "modality", "count", "paraphrase", "split"}  # label family: tools.labels.family

# Explicit emotion words: the label names, their adjectives, comparatives and inflections, plus every
# word the project's keyword lexicon maps to an emotion (laugh, cry, smile, tears, gross, wow, tense ...).
# A "paraphrase" contains none of them, so it can never be resolved by keywords alone.
EMOTION_WORDS = frozenset("""
anger angry angrier angriest angrily mad madder maddest furious fury annoyed annoying irritated irritation
frustrated frustrating frustration rage enraged upset upsetting
fear fears fearful afraid scared scary scarier scariest frightened frightening fright terrified terrifying
terror nervous anxious anxiety worried worry tense tension panic panicked panicky
horror horrors horrified horrifying horrible dread
disgust disgusted disgusting gross grossed revolting revolted repulsed repulsive contempt
joy joyful joyous happy happier happiest happily happiness unhappy glad cheerful cheer cheers amused excited
laugh laughs laughed laughing laughter smile smiles smiled smiling fun funny delighted
sad sadder saddest sadly sadness sorrow grief crying cry cries cried tears heartbroken disappointed
depressed
surprise surprised surprising shock shocked shocking astonished amazed startled wow
love loves loved loving lovely affection affectionate
pride proud prouder proudest
trust trusts trusted trusting
satisfied satisfaction satisfying content contented relieved relief
anticipation eager hopeful
neutral calm calmer calmest none
""".split())


def explicit_words(query: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", query.lower()) if w in EMOTION_WORDS]


def _norm(q: str) -> str:
    return " ".join(re.findall(r"[a-z']+", q.lower()))


def _load(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:  # pragma: no cover - reported as a failure
                pytest.fail(f"{path.name}:{n}: bad JSON: {e}")
    return rows


def _check_rows(rows: list[dict], extra: set[str] = frozenset()) -> None:
    ids = Counter(r.get("id") for r in rows)
    assert not [i for i, c in ids.items() if c > 1], "duplicate ids"
    for r in rows:
        where = r.get("id")
        assert FIELDS | extra <= set(r), f"{where}: missing {sorted(FIELDS | extra - set(r))}"
        assert isinstance(r["query"], str) and 3 <= len(r["query"]) <= 200, where
        assert isinstance(r["labels"], list) and all(lab in LABELS for lab in r["labels"]), where
        assert len(set(r["labels"])) == len(r["labels"]), f"{where}: repeated label"
        # the label family is tools.labels.family; intent_blind.jsonl is frozen as written and keeps its old
        # `family` field, which nothing reads
        assert r["modality"] in MODALITIES, where
        assert r["count"] in COUNTS, where
        assert r["split"] in ("tune", "heldout"), where
        # the flag is honest both ways: a paraphrase names no emotion, a non-paraphrase names one
        assert r["paraphrase"] is (not explicit_words(r["query"])), \
            f"{where}: paraphrase={r['paraphrase']} but emotion words {explicit_words(r['query'])}"
    queries = Counter(_norm(r["query"]) for r in rows)
    assert not [q for q, c in queries.items() if c > 1], "duplicate queries"


def _check_split(rows: list[dict], stratum) -> None:
    """Every third item of each stratum (file order: 3rd, 6th, ...) is heldout; the rest tune."""
    seen: Counter = Counter()
    for r in rows:
        k = seen[stratum(r)]
        seen[stratum(r)] += 1
        want = "heldout" if k % 3 == 2 else "tune"
        assert r["split"] == want, f"{r['id']}: split {r['split']!r}, the rule says {want!r}"
    share = sum(r["split"] == "heldout" for r in rows) / len(rows)
    assert 0.27 <= share <= 0.37, share


def _templates() -> set[str]:
    try:
        from evals.build import TEMPLATES
    except ImportError as e:  # pragma: no cover - evals.build moved or broken: say so
        pytest.skip(f"evals.build.TEMPLATES not importable: {e}")
    return {_norm(t) for ts in TEMPLATES.values() for t in ts}


# ------------------------------------------------------------------ intent_dev.jsonl

@pytest.fixture(scope="module")
def intent_rows() -> list[dict]:
    return _load(INTENT)


def test_intent_schema(intent_rows):
    assert len(intent_rows) >= 130
    _check_rows(intent_rows)


def test_intent_label_coverage(intent_rows):
    best = Counter(r["labels"][0] for r in intent_rows if r["labels"])
    assert {lab: best[lab] for lab in LABELS if best[lab] < 8} == {}
    assert sum(not r["labels"] for r in intent_rows) >= 8  # descriptive questions
    assert all(r["paraphrase"] for r in intent_rows if not r["labels"])
    assert sum(r["count"] == "every" for r in intent_rows) >= 13
    assert Counter(r["modality"] for r in intent_rows)["voice"] >= 13
    assert Counter(r["modality"] for r in intent_rows)["words"] >= 13


def test_intent_paraphrase_share(intent_rows):
    assert sum(r["paraphrase"] for r in intent_rows) / len(intent_rows) >= 0.5


def test_intent_split(intent_rows):
    _check_split(intent_rows, lambda r: r["labels"][0] if r["labels"] else "none")


def test_no_bench_template_leaked(intent_rows):
    leaked = [r["query"] for r in intent_rows if _norm(r["query"]) in _templates()]
    assert not leaked


def _blind_set(name: str) -> list[dict]:
    """A set written blind (see the data README): valid rows, all heldout (never tuned on), 6 per label,
    no bench template among them."""
    rows = _load(DATA / name)
    _check_rows(rows)
    assert all(r["split"] == "heldout" for r in rows)
    assert set(Counter(r["labels"][0] for r in rows).values()) == {6}
    assert not [r["query"] for r in rows if _norm(r["query"]) in _templates()]
    return rows


def test_face_action_set_is_valid_and_all_heldout():
    """intent_face_actions.jsonl: questions describing what a face does, the paraphrase flag honest."""
    rows = _blind_set("intent_face_actions.jsonl")
    assert all(r["modality"] == "face" for r in rows)


@pytest.mark.parametrize("name", ["intent_blind.jsonl", "reader_blind.jsonl"])
def test_blind_sets_are_frozen(name):
    """A blind set is frozen once written: its bytes match the sha256 recorded beside it (intent_blind.jsonl's
    is that of the file as its writer delivered it, 8200574)."""
    import hashlib
    path = DATA / name
    want = path.with_suffix(".sha256").read_text().split()[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == want, f"{name} changed: blind sets are frozen"


def test_blind_paraphrase_set_is_valid_and_all_heldout():
    """intent_blind.jsonl: paraphrases for all 13 labels."""
    rows = _blind_set("intent_blind.jsonl")
    assert len(rows) == 6 * len(LABELS)
    assert sum(r["paraphrase"] for r in rows) >= len(rows) - 2


# ------------------------------------------------------------------ dev_questions_video.jsonl

@pytest.fixture(scope="module")
def video_rows() -> list[dict]:
    return _load(VIDEO_Q)


def test_video_questions(video_rows):
    _check_rows(video_rows, {"video", "targets"})
    by_video = Counter(r["video"] for r in video_rows)
    assert by_video["long_dev.mp4"] >= 24 and by_video["two_people.mp4"] >= 6
    long_rows = [r for r in video_rows if r["video"] == "long_dev.mp4"]
    assert sum(r["paraphrase"] for r in long_rows) * 2 >= len(long_rows)
    assert any(r["count"] == "every" and len(r["targets"]) >= 3 for r in long_rows)
    for r in video_rows:
        assert r["targets"], r["id"]
        for t in r["targets"]:
            assert 0 <= t["start"] < t["end"], r["id"]
        if r["count"] == "one":
            assert len(r["targets"]) >= 1
    for r in (r for r in video_rows if r["video"] == "two_people.mp4"):
        assert r.get("side") in ("left", "right"), r["id"]
    _check_split(video_rows, lambda r: r["video"])
    assert not [r["query"] for r in video_rows if _norm(r["query"]) in _templates()]
    intent = {_norm(r["query"]) for r in _load(INTENT)}
    assert not [r["query"] for r in video_rows if _norm(r["query"]) in intent]


def test_video_targets_match_ground_truth(video_rows):
    """When the dev videos were built (scripts/make_dev_videos.py), every target is one of their spans."""
    out = Path(os.environ.get("AFFECTLENS_DEV_DIR", "~/.cache/affectlens/dev")).expanduser()
    names = {r["video"] for r in video_rows}
    if not all((out / Path(n).with_suffix(".json")).is_file() for n in names):
        pytest.skip(f"dev videos not built in {out} (scripts/make_dev_videos.py)")
    for name in names:
        gt = json.loads((out / Path(name).with_suffix(".json")).read_text())
        spans = {(sp["start"], sp["end"]): sp for sp in gt["spans"]}
        runs = {(a, b) for a, b in gt.get("face_free", [])}
        for r in (r for r in video_rows if r["video"] == name):
            for t in r["targets"]:
                sp = spans.get((t["start"], t["end"]))
                if sp is None and not r["labels"] and (t["start"], t["end"]) in runs:
                    continue  # a descriptive question may target a whole face-free stretch
                assert sp is not None, f"{r['id']}: {t} is no span of {name}"
                if r["labels"]:
                    assert sp["label"] in r["labels"], f"{r['id']}: span label {sp['label']}"
                if r.get("side"):
                    assert sp.get("person") == r["side"], r["id"]
