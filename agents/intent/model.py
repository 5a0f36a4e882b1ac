"""The trained question reader: a question (and the previous one, in a conversation) -> a `Reading`.

An estimator in scikit-learn's style, `QuestionReader().fit(readings)` / `.predict(q, prev)`, trained on the
written corpus (agents/intent/data/corpus: questions by independent writers who never saw this repository;
docs/reader.md). Two parts:

* **Heads**: one logistic regression per field (mode, valence, arousal, modality, count, person kind, time
  kind, presence, condition yes/no) and one-vs-rest logistic regressions for the label sets (emotions, the
  excluded labels, keeps), plus value heads for the closed person values (side, gender, order). Features:
  the question's MiniLM sentence embedding (tools/perception/embed.py, the model the index already uses),
  hashed word 1-3-grams and character 2-5-grams of the question (so "right after" and "on the right" differ),
  and whether there is a previous question. A condition clause's emotions and person are read by the same
  heads on the clause's words.
* **Spans**: a CRF token tagger (python-crfsuite) marks the words that carry the person reference, the time
  value (an event, a clock time), the condition clause and the topic; tags are derived from the corpus by
  finding each value's words in the question.

The hyper-parameters (`C`, the emotion threshold) were chosen by leave-one-writer-out on the training corpus
(`affectlens train-reader --cv`; docs/results.md): never on the blind set. The weights are plain arrays
(`save`/`load`: an .npz, a JSON and the CRF file), so loading runs no pickled code.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from agents.intent.reading import (KEEPS, MODES, PERSON_KINDS, PERSON_VALUES, TIME_KINDS, TIME_SPANS,
                                   ConditionRef, PersonRef, Reading, TimeRef)
from tools.labels import EMOTIONS

WEIGHTS_DIR = Path(__file__).parent / "data" / "reader"
CORPUS_DIR = Path(__file__).parent / "data" / "corpus"
N_HASH = 2 ** 15
COUNTS = ("1", "2", "3", "4", "5", "all")  # 6-10 are rare in writing; they read as "5" then "all" (MAX_MOMENTS)
PRESENCE = ("none", "leaves", "enters", "absent", "present")
TAGS = ("O", "PER", "TIME", "COND", "TOPIC")
PRONOUNS = ("she", "he", "they", "her", "him", "his", "them")
INDEFINITE = ("a", "an", "some", "any")  # rule 6: "a man" is anyone of them (QuestionReader._indefinite)
#: a person reference read with less probability than this is "nobody in particular". Leave-one-writer-out on
#: the corpus (7 writers; docs/results.md "Question reader", `train-reader --cv-person`): person reference 72.1 %
#: at 0.0 and 0.4, 71.8 % at 0.5. A reference read where none was meant costs more than one missed (the answer
#: asks back, or narrows to one person; a missed one only covers everyone), so the highest cut within half a
#: point of the best is shipped: 0.5.
PERSON_SURE = 0.5
#: the roles written at least ROLE_MIN times in the corpus get a class of the role head (a priori, for size: 60
#: roles then, 74 now); a role reference takes the head's role when its probability reaches ROLE_SURE, else the
#: tagged words ("the kids" -> child). ROLE_SURE by leave-one-writer-out: person reference 69.5 / 70.4 / 70.4 / 67.4 % at
#: 0.3 / 0.5 / 0.7 / off (the lowest of the best).
ROLE_MIN = 10
ROLE_SURE = 0.5  # tried: keeping tagged words that are themselves a written role ("nephew") before the head
#                 is asked: person 72.3 % against 73.0 % (4 folds of the 13 writers), not shipped
#: when the tagger marked the words naming the person, the role head may only name a role those words say: the
#: same word, its singular or a word whose MiniLM cosine reaches ROLE_MATCH ("Mum" -> mother, "kids" -> child),
#: the most probable such role; none matching: the tagged words themselves. In "After the father walked out,
#: did the daughter cry?" the head (a sentence classifier) reads father 0.64, daughter 0.34 and the tagger marks
#: "daughter". Grouped leave-writers-out (the 4 folds of `train-reader --cv-groups 4`, 10,336 questions, with
#: the marginal fallback below): person reference 73.5 % with the head unrestricted, 70.8 / 73.5 / 74.7 / 74.2 %
#: restricted at a cosine of 0.5 / 0.6 / 0.7 / 0.8; 0.7 is shipped.
ROLE_MATCH = 0.7
CROSSFIT = 4  # folds of the tagger whose marks train the heads (a priori)
#: a person's value the question does not write verbatim (the writers wrote roles as dictionary words: "grandma"
#: -> grandmother, "the kids" -> child) is found in the question as its word or two closest in meaning, when
#: their MiniLM cosine reaches ALIGN_MIN. Chosen by reading the alignments of the training corpus (tune data):
#: from 0.6 up they are the role's own word ("dad" 0.90, "kids" 0.72, "skipper" 0.68 for captain), between 0.5
#: and 0.6 half are not ("sister" for grandmother). A value found neither way leaves its line out of the span
#: tagger's training rather than teach it that the words naming the person are no person.
ALIGN_MIN = 0.6
# words: letters of any script ("Müller", "Chloé"), possessive 's split off ("Lucia's" -> Lucia 's, so a name
# or role written with it is found)
_TOKEN = re.compile(r"[^\W_]+(?:(?:[:.]|['’](?![sS]\b))[^\W_]+)*|['’][sS]\b|[^\s\w]|_")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


class HeadSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    classes: list[str]
    multilabel: bool = False


# ------------------------------------------------------------------------------------------ features

#: what the span tagger marked (`span_shape`): stacked under the heads, so they see whether and what kind of
#: words name someone, and whether a condition, time or topic clause was found
N_SHAPE = 9


def span_shape(text: str, tags: Sequence[str]) -> np.ndarray:
    """What the tagger's marks look like (0/1 each): its person words [any, a digit, a capitalised word not
    first in the question, a pronoun, two or more words, begins with "the"], then whether it marked a
    condition clause, a time and a topic."""
    toks = tokens(text)
    per = [i for i, g in enumerate(tags) if g == "PER"]
    words = [toks[i] for i in per]
    return np.array([bool(per), any(any(c.isdigit() for c in w) for w in words),
                     any(toks[i][:1].isupper() and i > 0 for i in per),
                     any(w.lower() in PRONOUNS for w in words), len(words) >= 2,
                     bool(words) and words[0].lower() == "the",
                     "COND" in tags, "TIME" in tags, "TOPIC" in tags], np.float32)


class Featurizer:
    """question -> [MiniLM embedding | hashed word and char n-grams | span shape | has-previous], one
    sparse row."""

    def __init__(self, embedder=None, n_hash: int = N_HASH, keep: bool = False):
        from sklearn.feature_extraction.text import HashingVectorizer
        self._emb = embedder
        self.keep = keep          # training: remember every text's embedding (cross-validation re-reads them)
        self.memo: dict[str, np.ndarray] = {}
        self.n_hash = n_hash
        self.words = HashingVectorizer(n_features=n_hash, ngram_range=(1, 3), alternate_sign=False,
                                       norm="l2", lowercase=True, token_pattern=r"[a-z0-9']+")
        self.chars = HashingVectorizer(n_features=n_hash, analyzer="char_wb", ngram_range=(2, 5),
                                       alternate_sign=False, norm="l2", lowercase=True)
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # the last RECENT texts embedded (vectors)

    # a priori, not tuned: enough for a conversation's questions and their person words (a question adds a few
    # texts), 512 x 384 float32 = 0.75 MB; entries leave in the order they came (a hit does not renew one)
    RECENT = 512

    def vectors(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """Sentence vectors: from the training memo or the recent texts, the rest embedded together (a question
        and the words that name its person cost one forward pass: the weights, not the words, dominate it)."""
        with self._lock:
            known = {t: v for t in dict.fromkeys(texts) if (v := self.memo.get(t, self._recent.get(t))) is not None}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        fresh: dict[str, np.ndarray] = {}
        for i in range(0, len(todo), batch):
            fresh.update(zip(todo[i:i + batch], self.embedder.embed(todo[i:i + batch])))
        with self._lock:
            if self.keep:
                self.memo.update(fresh)
            for t, v in fresh.items():
                self._recent[t] = v
                if len(self._recent) > self.RECENT:
                    self._recent.popitem(last=False)
        if self.keep and len(fresh) >= 100:  # a training batch, not one question read during cross-validation
            self._save_memo()
        return np.vstack([known.get(t, fresh.get(t)) for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def _memo_path(self) -> Path | None:
        fp = getattr(self.embedder, "fingerprint", None)
        if not fp:
            return None
        from tools.settings import get_settings
        return get_settings().cache_dir / "reader" / f"question-vectors-{fp[:16]}.npz"

    def load_memo(self) -> None:
        """Training: reuse the question vectors an earlier run embedded (cache dir; embedding ~5,000 questions
        takes minutes on 2 cores)."""
        path = self._memo_path()
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as z:
                self.memo.update(zip(z["texts"].tolist(), z["vectors"]))

    def _save_memo(self) -> None:
        path = self._memo_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.memo)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.vstack([self.memo[t] for t in texts]))
        tmp.replace(path)

    @property
    def embedder(self):
        with self._lock:
            if self._emb is None:
                from tools.retrieval import embedder
                self._emb = embedder()
        return self._emb

    @property
    def dim(self) -> int:
        return 384 + 2 * self.n_hash + N_SHAPE + 1

    def transform(self, qs: Sequence[str], has_prev: Sequence[bool], shapes: Sequence[np.ndarray] | None = None,
                  batch: int = 64):
        from scipy import sparse
        emb = self.vectors(qs, batch)
        prev = np.asarray(has_prev, np.float32)[:, None]
        shape = np.vstack(shapes) if shapes is not None and len(shapes) else np.zeros((len(qs), N_SHAPE), np.float32)
        return sparse.hstack([sparse.csr_matrix(emb), self.words.transform(qs), self.chars.transform(qs),
                              sparse.csr_matrix(shape), sparse.csr_matrix(prev)], format="csr")


# ------------------------------------------------------------------------------------------ spans

NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


def person_number(words: str) -> str:
    """Rule 5 (docs/reader.md): the id in the words that name a person by number, read, not guessed: the
    digits ("P10", "participant #4", "speaker 3's") or a number word up to twenty ("speaker two"); "" if none."""
    m = re.search(r"\d+", words)
    if m:
        return str(int(m.group()))
    return next((NUMBER_WORDS[t.lower()] for t in tokens(words) if t.lower() in NUMBER_WORDS), "")


def _word_features(toks: list[str], i: int) -> list[str]:
    w = toks[i]
    lw = w.lower()
    f = [f"w={lw}", f"suf3={lw[-3:]}", f"pre3={lw[:3]}", f"digit={w.isdigit()}", f"title={w.istitle()}",
         f"clock={bool(re.fullmatch(r'[0-9]+[:.][0-9]+', w))}"]
    for d in (-3, -2, -1, 1, 2, 3):
        j = i + d
        f.append(f"w{d}={toks[j].lower() if 0 <= j < len(toks) else '<s>' if j < 0 else '</s>'}")
    for d in (-1, 1):
        j = i + d
        if 0 <= j < len(toks):
            f.append(f"bi{d}={min(lw, toks[j].lower())}|{max(lw, toks[j].lower())}")
    if i == 0:
        f.append("BOS")
    return f


def _find(toks: list[str], value: str) -> tuple[int, int] | None:
    """Where `value`'s tokens stand in `toks` (case-insensitive), or None."""
    vt = [t.lower() for t in tokens(value)]
    low = [t.lower() for t in toks]
    if not vt:
        return None
    for i in range(len(low) - len(vt) + 1):
        if low[i:i + len(vt)] == vt:
            return i, i + len(vt)
    return None


def _unpossessed(words: str) -> str:
    """Person words without a possessive 's ("Lucia's" -> Lucia)."""
    return re.sub(r"['’]s$", "", words)


def _after_indefinite(toks: Sequence[str]) -> list[str]:
    """Rule 6's candidate words: the one or two words right after an indefinite article or quantifier
    ("a tall man" -> tall, man), lower-cased, each once."""
    low = [t.lower() for t in toks]
    return list(dict.fromkeys(w for i, t in enumerate(low) if t in INDEFINITE for w in low[i + 1:i + 3] if w.isalpha()))


def _said(words: str) -> str:
    """Tagged person words as a role value: lower case, no possessive 's."""
    return _unpossessed(words.lower())


def _person_words(toks: list[str]) -> list[tuple[int, int]]:
    """Where a person could be named in words that are not the value's own: every content word and pair of
    content words (no stop word, pronoun or punctuation; scikit-learn's English stop words)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    ok = [t.isalpha() and len(t) >= 2 and t.lower() not in ENGLISH_STOP_WORDS and t.lower() not in PRONOUNS
          for t in toks]
    return [(i, i + n) for i in range(len(toks)) for n in (1, 2) if i + n <= len(toks) and all(ok[i:i + n])]


def align_people(readings: Sequence[Reading], embed) -> dict[tuple[str, str], tuple[int, int]]:
    """(question, value) -> the token span that names the person, for the role and name values a question
    does not write verbatim: the word or two closest in meaning (MiniLM cosine >= ALIGN_MIN). `embed`: texts
    -> unit vectors."""
    todo = [(r.q, r.person.value) for r in readings if r.person.kind in ("role", "name") and r.person.value
            and _find(tokens(r.q), r.person.value) is None]
    spans = {(q, v): (tokens(q), _person_words(tokens(q))) for q, v in dict.fromkeys(todo)}
    texts = sorted({v.lower() for _, v in spans} | {" ".join(t[a:b]).lower() for t, c in spans.values() for a, b in c})
    if not texts:
        return {}
    vec = dict(zip(texts, embed(texts)))
    out = {}
    for (q, v), (toks, cands) in spans.items():
        scored = [(float(vec[" ".join(toks[a:b]).lower()] @ vec[v.lower()]), a, b) for a, b in cands]
        if scored and max(scored)[0] >= ALIGN_MIN:
            out[(q, v)] = max(scored)[1:]
    return out


def span_tags(r: Reading, aligned: dict[tuple[str, str], tuple[int, int]] | None = None) -> list[str] | None:
    """BIO-free tags for one corpus line (a token is PER, TIME, COND, TOPIC or O), or None when a span value
    cannot be found in the question's words, verbatim or (a person) through `aligned` (align_people): such
    lines are left out of the tagger's training."""
    toks = tokens(r.q)
    tags = ["O"] * len(toks)
    spans = []
    if r.condition is not None:
        spans.append(("COND", r.condition.text))
    if r.time.kind in TIME_SPANS:
        spans.append(("TIME", r.time.value))
    if r.person.kind in ("pronoun", "name", "role", "number") and r.person.value:
        spans.append(("PER", r.person.value))
    if r.topic:
        spans.append(("TOPIC", r.topic))
    for tag, value in spans:
        where = _find(toks, value)
        if where is None and tag == "PER":
            where = (aligned or {}).get((r.q, value))
        if where is None and tag == "PER" and r.person.kind == "number":  # "P10", "#4", "speaker two"
            where = next(((i, i + 1) for i, t in enumerate(toks) if person_number(t) == value), None)
        if where is None:
            if tag in ("COND", "TIME", "PER"):
                return None
            continue  # a topic written in other words
        for k in range(*where):
            if tags[k] == "O":
                tags[k] = tag
    return tags


def _spans(text: str, tags: list[str], tag: str) -> list[str]:
    """The runs of tokens tagged `tag`, each as the question wrote it (from the first token's start to the
    last one's end: "Anne-Marie", "Mr. Ruiz", "runner-up" keep their own spacing)."""
    out: list[list[int]] = []
    prev = False
    for m, g in zip(_TOKEN.finditer(text), tags):
        if g == tag:
            if prev:
                out[-1][1] = m.end()
            else:
                out.append([m.start(), m.end()])
        prev = g == tag
    return [text[a:b].strip() for a, b in out]


# ------------------------------------------------------------------------------------------ the reader

def _gold(r: Reading) -> dict[str, object]:
    """The head targets of one corpus line."""
    count = "all" if r.count == "all" else ("5" if int(r.count) >= 5 else str(r.count))
    return {"mode": r.mode, "valence": r.valence, "arousal": r.arousal, "modality": r.modality, "count": count,
            "person": r.person.kind, "time": r.time.kind, "presence": r.presence or "none",
            "condition": "yes" if r.condition is not None else "no", "emotions": list(r.emotions),
            "has_emotion": "yes" if r.emotions else "no",
            "excluded": list(r.excluded), "keeps": list(r.keeps),
            "side": r.person.value if r.person.kind == "side" else None,
            "gender": r.person.value if r.person.kind in ("gender", "other") and r.person.value else None,
            "order": r.person.value if r.person.kind == "order" else None,
            "pronoun": r.person.value.lower() if r.person.kind == "pronoun" and r.person.value.lower() in PRONOUNS
            else None,
            "role": r.person.value.lower() if r.person.kind == "role" else None}


HEADS = [HeadSpec(name="mode", classes=list(MODES)),
         HeadSpec(name="valence", classes=["positive", "negative", "any"]),
         HeadSpec(name="arousal", classes=["high", "low", "any"]),
         HeadSpec(name="modality", classes=["face", "voice", "words", "any"]),
         HeadSpec(name="count", classes=list(COUNTS)),
         HeadSpec(name="person", classes=list(PERSON_KINDS)),
         HeadSpec(name="time", classes=list(TIME_KINDS)),
         HeadSpec(name="presence", classes=list(PRESENCE)),
         HeadSpec(name="condition", classes=["no", "yes"]),
         HeadSpec(name="has_emotion", classes=["no", "yes"]),
         HeadSpec(name="emotions", classes=list(EMOTIONS), multilabel=True),
         HeadSpec(name="excluded", classes=list(EMOTIONS), multilabel=True),
         HeadSpec(name="keeps", classes=list(KEEPS), multilabel=True),
         HeadSpec(name="side", classes=list(PERSON_VALUES["side"])),
         HeadSpec(name="gender", classes=["man", "woman", "girl", "boy"]),
         HeadSpec(name="order", classes=["1", "2", "3", "last"]),
         HeadSpec(name="pronoun", classes=list(PRONOUNS))]


class QuestionReader:
    """fit(readings) / predict(q, prev) -> Reading. `C`: inverse regularisation of every head;
    `threshold`: an emotion is asked for when its probability reaches it (the top one always is, unless the
    question reads as naming none: every probability below `none_below`)."""

    def __init__(self, C: float = 4.0, threshold: float = 0.5, none_below: float = 0.35, embedder=None,
                 featurizer: Featurizer | None = None, label_sure: float = 1.01):
        self.C = C
        self.label_sure = label_sure
        self.threshold = threshold
        self.none_below = none_below
        self.feats = featurizer or Featurizer(embedder)
        self.heads: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # name -> (coef (k, d), intercept (k,))
        self.crf_path: Path | None = None
        self._tagger = None
        self._tag_lock = threading.Lock()
        self.meta: dict = {}
        self.roles: frozenset[str] = frozenset()
        self.specs: list[HeadSpec] = list(HEADS)
        self._aligned: dict[tuple[str, str], tuple[int, int]] = {}  # training only (align_people)
        self._class_vecs: np.ndarray | None = None  # the role classes' sentence embeddings (_roles_said)

    # ------------------------------------------------------------------ training
    def fit(self, readings: Sequence[Reading], crf_path: Path | None = None) -> QuestionReader:
        from sklearn.linear_model import LogisticRegression
        self._aligned = align_people(readings, self.feats.embedder.embed)
        self._class_vecs = None  # the role classes change with the fit
        shapes = self._crossfit_shapes(readings)
        X = self.feats.transform([r.q for r in readings], [r.prev is not None for r in readings], shapes)
        gold = [_gold(r) for r in readings]
        roles = Counter(g["role"] for g in gold if g["role"])
        role_classes = sorted(k for k, n in roles.items() if n >= ROLE_MIN)  # the roles a head names
        self.specs = [*HEADS, HeadSpec(name="role", classes=role_classes)] if len(role_classes) >= 2 else list(HEADS)
        for spec in self.specs:
            ys = [g[spec.name] for g in gold]
            rows = [i for i, y in enumerate(ys) if y is not None]
            if len({str(ys[i]) for i in rows}) < 2 and not spec.multilabel:
                continue
            coefs, icpts = [], []
            for c in spec.classes:  # one-vs-rest binary logistic regressions (liblinear: fast on sparse rows)
                y = np.array([(c in ys[i]) if spec.multilabel else (ys[i] == c) for i in rows], int)
                if y.sum() == 0 or y.sum() == len(y):
                    coefs.append(np.zeros(X.shape[1], np.float32))
                    icpts.append(-8.0 if y.sum() == 0 else 8.0)
                    continue
                m = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear", dual=True,
                                       random_state=0).fit(X[rows], y)  # liblinear shuffles: fixed, repeatable
                coefs.append(m.coef_[0].astype(np.float32))
                icpts.append(float(m.intercept_[0]))
            self.heads[spec.name] = (np.vstack(coefs), np.asarray(icpts, np.float32))
        self._stacked = None
        # the one-word roles writers used at least twice ("interviewer", "coach", "nurse")
        self.roles = frozenset(k for k, n in roles.items() if n >= 2 and len(tokens(k)) == 1)
        self._fit_tagger(readings, crf_path)
        self.meta = {"C": self.C, "threshold": self.threshold, "none_below": self.none_below, "n_train": len(readings),
                     "label_sure": self.label_sure,
                     "roles": sorted(self.roles),
                     "n_hash": self.feats.n_hash}
        return self

    def _crossfit_shapes(self, readings: Sequence[Reading], k: int = CROSSFIT) -> list[np.ndarray]:
        """Each training question's span shape as a tagger that never saw it marks it (k folds), so
        the heads learn from the tagger's real mistakes, not from its memory of the training lines."""
        import tempfile
        out: list[np.ndarray | None] = [None] * len(readings)
        with tempfile.TemporaryDirectory(prefix="reader-crossfit-") as tmp:
            for f in range(k):
                part = QuestionReader()
                part._aligned = self._aligned
                part._fit_tagger([r for i, r in enumerate(readings) if i % k != f], Path(tmp) / f"crf{f}.crfsuite")
                for i in range(f, len(readings), k):
                    toks = tokens(readings[i].q)
                    out[i] = span_shape(readings[i].q, part._tag(toks))
                part._tagger = None
        return out

    def featurize(self, q: str, has_prev: bool = False) -> tuple[object, list[str]]:
        """One question's feature row and its span tags."""
        toks = tokens(q)
        tags = self._tag(toks)
        # the words naming a person (_roles_said) and those after "a"/"some" (_indefinite), embedded with the
        # question in one forward pass: the later look-ups find them in the featurizer's recent texts
        said = [_said(w) for w in _spans(q, tags, "PER")] if "role" in self.heads else []
        self.feats.vectors([q, *said, *_after_indefinite(toks)])
        return self.feats.transform([q], [has_prev], [span_shape(q, tags)]), tags

    def _fit_tagger(self, readings: Sequence[Reading], crf_path: Path | None):
        import tempfile

        import pycrfsuite
        trainer = pycrfsuite.Trainer(verbose=False)
        n = 0
        for r in readings:
            tags = span_tags(r, self._aligned)
            if tags is None:
                continue
            toks = tokens(r.q)
            trainer.append([_word_features(toks, i) for i in range(len(toks))], tags)
            n += 1
        trainer.set_params({"c1": 0.05, "c2": 0.01, "max_iterations": 150, "feature.possible_transitions": True})
        if crf_path is None:  # a reader that is not saved (cross-validation): its tagger lives as long as it does
            import shutil
            import weakref
            tmp = tempfile.mkdtemp(prefix="reader-crf-")
            weakref.finalize(self, shutil.rmtree, tmp, True)
        path = crf_path or Path(tmp) / "spans.crfsuite"
        path.parent.mkdir(parents=True, exist_ok=True)
        trainer.train(str(path))
        self.crf_path, self._tagger = path, None
        self.meta["n_tagged"] = n

    # ------------------------------------------------------------------ persistence (no pickles)
    def save(self, folder: Path = WEIGHTS_DIR) -> Path:
        import shutil
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for name, (coef, icpt) in self.heads.items():
            arrays[f"{name}.coef"] = coef.astype(np.float16)
            arrays[f"{name}.intercept"] = icpt.astype(np.float32)
        np.savez_compressed(folder / "heads.npz", **arrays)
        if self.crf_path and Path(self.crf_path).resolve() != (folder / "spans.crfsuite").resolve():
            shutil.copyfile(self.crf_path, folder / "spans.crfsuite")
        (folder / "reader.json").write_text(json.dumps({**self.meta, "heads": [h.model_dump() for h in self.specs]},
                                                       indent=1) + "\n")
        return folder

    @classmethod
    def load(cls, folder: Path = WEIGHTS_DIR, embedder=None) -> QuestionReader:
        folder = Path(folder)
        meta_path = folder / "reader.json"
        if not meta_path.exists():
            from agents.errors import ReaderMissing
            raise ReaderMissing(f"no trained question reader in {folder}: run `affectlens train-reader`")
        meta = json.loads(meta_path.read_text())
        self = cls(C=meta["C"], threshold=meta["threshold"], none_below=meta["none_below"], embedder=embedder,
                   label_sure=meta.get("label_sure", 1.01))
        self.feats = Featurizer(embedder, n_hash=meta["n_hash"])
        with np.load(folder / "heads.npz") as z:
            names = {k.rsplit(".", 1)[0] for k in z.files}
            self.heads = {n: (z[f"{n}.coef"].astype(np.float32), z[f"{n}.intercept"]) for n in names}
        self.crf_path = folder / "spans.crfsuite"
        self.meta = meta
        self.roles = frozenset(meta.get("roles", []))
        self.specs = [HeadSpec(**h) for h in meta.get("heads", [])] or list(HEADS)
        return self

    # ------------------------------------------------------------------ prediction
    def _stack(self) -> tuple[np.ndarray, np.ndarray, dict[str, slice]]:
        """Every head's weights in one matrix, so a question's logits are one gather-and-multiply over its few
        non-zero features (~1 ms) instead of a sparse-dense product per head."""
        if getattr(self, "_stacked", None) is None:
            names = list(self.heads)
            sizes = [self.heads[n][0].shape[0] for n in names]
            offs = np.cumsum([0, *sizes])
            W = np.ascontiguousarray(np.vstack([self.heads[n][0] for n in names]).T)  # (d, k): rows by feature
            b = np.concatenate([self.heads[n][1] for n in names]).astype(np.float32)
            self._stacked = (W, b, {n: slice(offs[i], offs[i + 1]) for i, n in enumerate(names)})
        return self._stacked

    def logits(self, x) -> np.ndarray:
        """All heads' logits for one featurised question (a 1-row sparse matrix)."""
        W, b, _ = self._stack()
        row = x.tocsr()
        return row.data.astype(np.float32) @ W[row.indices] + b

    def _probs(self, name: str, z: np.ndarray) -> np.ndarray:
        z = z[self._stack()[2][name]]
        p = 1.0 / (1.0 + np.exp(-z))
        spec = next(h for h in self.specs if h.name == name)
        return p if spec.multilabel else p / max(p.sum(), 1e-9)  # one-vs-rest, normalised over the classes

    def _pick(self, name: str, z: np.ndarray) -> str:
        spec = next(h for h in self.specs if h.name == name)
        if name not in self.heads:
            return spec.classes[0]
        return spec.classes[int(np.argmax(self._probs(name, z)))]

    def _opened(self):
        """The span tagger, opened on first use (call under `_tag_lock`)."""
        import pycrfsuite
        if self._tagger is None:
            self._tagger = pycrfsuite.Tagger()
            self._tagger.open(str(self.crf_path))
        return self._tagger

    def _tag(self, toks: list[str]) -> list[str]:
        with self._tag_lock:
            return self._opened().tag([_word_features(toks, i) for i in range(len(toks))]) if toks else []

    def _likeliest_person_word(self, text: str) -> str:
        """The word the span tagger would most likely mark as naming a person (its PER marginal): for a
        question whose heads are sure that a role or name is said but whose tagger marked none ("the rookie",
        "jun": words it never saw). Grouped leave-writers-out: person reference 72.4 -> 73.5 %, any marginal
        (a cut of 0.05-0.3 on it only lowered it, to 72.8 % at 0.3)."""
        toks = tokens(text)
        if not toks:
            return ""
        with self._tag_lock:
            tagger = self._opened()
            if "PER" not in tagger.labels():
                return ""
            tagger.set([_word_features(toks, i) for i in range(len(toks))])
            marg = [tagger.marginal("PER", i) for i in range(len(toks))]
        return _unpossessed(toks[int(np.argmax(marg))])

    def _roles_said(self, words: Sequence[str], classes: Sequence[str]) -> list[int]:
        """The role classes that the tagged words say (ROLE_MATCH): the word, its singular, or a MiniLM cosine
        of at least ROLE_MATCH."""
        said = [_said(w) for w in words]
        exact = [j for j, c in enumerate(classes) if any(w == c or w.removesuffix("s") == c for w in said)]
        if self._class_vecs is None:  # the classes are fixed once fitted or loaded
            self._class_vecs = self.feats.embedder.embed(list(classes))
        v = self.feats.vectors(said)
        close = np.flatnonzero((v @ self._class_vecs.T).max(axis=0) >= ROLE_MATCH)
        return sorted(set(exact) | {int(j) for j in close})

    def _emotions(self, z: np.ndarray, gate: bool = True) -> tuple[list[str], dict[str, float]]:
        """Whether the question asks for a feeling at all (its own head), then which: the most probable label
        and any other at or above `threshold`. `none_below`: the has-emotion probability under which the
        question names none (a description, a presence question, a bare follow-up), unless one label alone is
        read with at least `label_sure`."""
        p = self._probs("emotions", z)
        probs = {lab: round(float(v), 4) for lab, v in zip(EMOTIONS, p)}
        ranked = sorted(probs, key=lambda k: -probs[k])
        if not gate:  # a condition clause is known to carry a state: the labels read at or above `threshold`
            return [k for k in ranked if probs[k] >= self.threshold][:4], probs
        if "has_emotion" in self.heads and self._probs("has_emotion", z)[1] < self.none_below \
                and probs[ranked[0]] < self.label_sure:
            return [], probs
        keep = [lab for lab in ranked if probs[lab] >= self.threshold][:4] or ranked[:1]
        return keep, probs

    def _person(self, z: np.ndarray, per_span: list[str], q: str = "") -> PersonRef:
        probs = self._probs("person", z)
        kind = PERSON_KINDS[int(np.argmax(probs))]
        if kind != "none" and probs.max() < PERSON_SURE:
            kind = "none"  # an unsure reference is nobody in particular: the answer covers the whole video
        value = ""
        if kind in ("side", "order", "pronoun"):
            value = self._pick(kind, z)
        elif kind in ("gender", "other"):
            value = self._pick("gender", z)
            if kind == "other" and value and not self._says([t.lower() for t in tokens(q) if t.isalpha()], value):
                value = ""  # "the other one" says no gender: the gender head's guess is not the user's word
        elif kind == "number":
            value = person_number(" ".join(per_span))
        elif kind in ("name", "role"):
            value = (per_span[0] if kind == "name" else per_span[0].lower()) if per_span else ""
            value = _unpossessed(value)  # "Ms. Rivera's" names Ms. Rivera
            if kind == "role" and "role" in self.heads:  # a role the writers named often, in their words
                rp = self._probs("role", z)           # ("the kids" -> child, "the one asking" -> interviewer)
                classes = next(h.classes for h in self.specs if h.name == "role")
                if per_span:  # the head names only a role the tagged words say (ROLE_MATCH)
                    said = self._roles_said(per_span, classes)
                    if said:
                        value = classes[max(said, key=lambda j: rp[j])]
                elif rp.max() >= ROLE_SURE:
                    value = self._pick("role", z)
            if kind == "role" and not value:  # the tagger missed it: a role word the corpus taught, if present
                value = next((w for w in (t.lower() for t in tokens(q)) if w in self.roles), "")
            if not value and q:  # the heads are sure someone is named, the tagger marked nobody: its likeliest word
                value = self._likeliest_person_word(q)
                value = value if kind == "name" else value.lower()
        if kind in ("number", "name", "role") and not value:  # no words to carry it: nobody in particular
            kind = "none"
        indefinite = kind == "gender" and bool(value) and self._indefinite(q, value)
        return PersonRef(kind=kind, value=value, indefinite=indefinite)

    def _indefinite(self, text: str, value: str) -> bool:
        """Rule 6 (docs/reader.md): "a man", "some woman", "any girl": a person of that kind is named with an
        indefinite article or quantifier (a, an, some, any) right before the word for it (the word itself or
        one after an adjective: "a tall man"), the word meaning the gender value as `align_people` matches
        words (MiniLM cosine >= ALIGN_MIN: "guy" for man). The corpus writes "a man" and "the man" alike
        (gender/man); the difference is who is meant: anyone of them, or one person (tools/who.py)."""
        return self._says(_after_indefinite(tokens(text)), value)

    def _says(self, words: Sequence[str], value: str) -> bool:
        """Whether one of `words` (lower case) means the gender `value` as `align_people` matches words: the
        word itself or a MiniLM cosine >= ALIGN_MIN ("guy" for man, "daughter" for girl). On the corpus's 86
        "the other …" questions, 0.6 keeps the gold value's word in 32 of 35 and a gender no word says in 3
        of 204 (0.5: 33 and 35; "fella" 0.43 and "gentleman" 0.54 are the values lost)."""
        if not words:
            return False
        if value in words:
            return True
        v = self.feats.vectors([value, *dict.fromkeys(words)])
        return bool((v[1:] @ v[0]).max() >= ALIGN_MIN)

    def predict(self, q: str, prev: str | None = None) -> Reading:
        """In a conversation every question after the first has a previous one, but most still stand on their
        own. The question is read both ways (the features differ only in the has-previous column): a follow-up
        mode (next/previous/why/summary/compare) or a question that names no feeling (has-emotion and one label
        read at or above `threshold` on its own), presence or condition of its own ("and him?", "only the second
        half") is read as a follow-up; otherwise it is read on its own, as the corpus's first questions were
        (keeps nothing)."""
        t0 = time.perf_counter()
        q = (q or "").strip()[:1000] or "?"
        x, tags = self.featurize(q)
        if prev is not None:
            z_alone = self.logits(x)
            x1 = x.tolil()
            x1[0, x.shape[1] - 1] = 1.0
            z = self.logits(x1.tocsr())
            feeling = (self._probs("has_emotion", z_alone)[1] >= self.none_below
                       and self._probs("emotions", z_alone).max() >= self.threshold)
            own = feeling or self._pick("presence", z_alone) != "none" or self._pick("condition", z_alone) == "yes"
            if self._pick("mode", z) == "new" and own:
                return self._read(q, None, z_alone, tags, t0).model_copy(update={"prev": prev})
            return self._read(q, prev, z, tags, t0)
        return self._read(q, None, self.logits(x), tags, t0)

    def _read(self, q: str, prev: str | None, z: np.ndarray, tags: list[str], t0: float) -> Reading:
        emotions, probs = self._emotions(z)
        excluded = [lab for lab, v in zip(EMOTIONS, self._probs("excluded", z)) if v >= 0.5 and lab not in emotions]
        mode = self._pick("mode", z)
        if prev is None and mode in ("next", "previous", "why"):
            mode = "new"  # nothing to follow up on
        count = self._pick("count", z)
        tkind = self._pick("time", z)
        tvals = _spans(q, tags, "TIME")
        if tkind in TIME_SPANS and not tvals:
            tkind = "none"
        time_ref = TimeRef(kind=tkind, value=tvals[0] if tkind in TIME_SPANS else "")
        condition = None
        if self._pick("condition", z) == "yes":
            conds = _spans(q, tags, "COND")
            if conds:
                cx, ctags = self.featurize(conds[0])
                cz = self.logits(cx)
                condition = ConditionRef(person=self._person(cz, _spans(conds[0], ctags, "PER"), conds[0]),
                                         emotions=self._emotions(cz, gate=False)[0], text=conds[0][:300])
        presence = self._pick("presence", z)
        keeps = [k for k, v in zip(KEEPS, self._probs("keeps", z)) if v >= 0.5] if prev is not None else []
        topics = _spans(q, tags, "TOPIC")
        return Reading(q=q, prev=prev, mode=mode, emotions=emotions, excluded=excluded,
                       valence=self._pick("valence", z), arousal=self._pick("arousal", z),
                       modality=self._pick("modality", z), count=count if count == "all" else int(count),
                       person=self._person(z, _spans(q, tags, "PER"), q), time=time_ref, condition=condition,
                       presence=None if presence == "none" else presence, topic=topics[0] if topics else "",
                       keeps=keeps, probs=probs, seconds=round(time.perf_counter() - t0, 4))


_default: QuestionReader | None = None
_default_lock = threading.Lock()


def default_reader() -> QuestionReader:
    """The shipped reader (agents/intent/data/reader), loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = QuestionReader.load(WEIGHTS_DIR)
        return _default
