"""Clip retrieval: text descriptors + affect vectors per window in FAISS, and `search_moments`.

Each window gets (a) a textual descriptor ("face smiling, laughing, cheerful (expression happy 0.74); AUs
AU12 0.61, AU6 0.22; voice aroused, loud; says: '...'"), embedded with MiniLM without its numbers (each
distinct text once), and (b) a numeric affect vector (expression
probabilities, key AUs, arousal, motion). Both go into FAISS: IndexFlatIP for small videos, IVF-Flat
above `IVF_THRESHOLD` windows (both index types run on faiss-gpu at any size; HNSW would not), moved to the
GPU when `faiss-gpu` is installed. A query combines dense
similarity, affect-prototype similarity and an affect-salience prior, then merges adjacent hits.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.labels import EXPRESSIONS, PROFILES
from tools.perception.scene import describe as describe_scene
from tools.schemas import TimeWindow, WindowRecord

IVF_THRESHOLD = 20000  # windows (about 17 h of video at 3 s): exact flat search below, IVF-Flat above
EXPR = EXPRESSIONS
KEY_AUS = ("AU1", "AU2", "AU4", "AU6", "AU9", "AU12", "AU15", "AU17", "AU20", "AU25", "AU26")
AFFECT_DIM = len(EXPR) + len(KEY_AUS) + 2  # + arousal + motion
# (dense text match, affect prototype, salience) weights of a question that names an emotion, in one video
# (Retriever.search_moments) and across a library (tools.library.LibrarySearch.search). The values date from
# the first retriever (3ee5340) and were not tuned since; the dev-question figures in docs/results.md are
# measured with them.
EMOTION_WEIGHTS = (0.35, 0.5, 0.15)


def affect_vector(r: WindowRecord) -> np.ndarray:
    v = [r.expression.get(k, 0.0) for k in EXPR]
    v += [min(1.0, r.au_mean.get(k, 0.0)) for k in KEY_AUS]
    v += [r.arousal or 0.0, min(1.0, r.motion)]
    return np.asarray(v, dtype=np.float32)


def _slot(name: str) -> int:
    if name in EXPR:
        return EXPR.index(name)
    if name in KEY_AUS:
        return len(EXPR) + KEY_AUS.index(name)
    return {"arousal": AFFECT_DIM - 2, "motion": AFFECT_DIM - 1}[name]


def prototype(emotions: list[str], arousal: str = "any") -> np.ndarray | None:
    if not emotions and arousal == "any":
        return None
    p = np.zeros(AFFECT_DIM, dtype=np.float32)
    for e in emotions:
        for k, w in PROFILES.get(e, {}).items():
            if k in EXPR or k in KEY_AUS or k in ("arousal", "motion"):  # AUs the vector has no slot for
                p[_slot(k)] += w                                          # (AU5, AU7, ...) are left out
    if arousal != "any":
        p[_slot("arousal")] += 0.8 if arousal == "high" else -0.8
    n = np.linalg.norm(p)
    return p / n if n > 0 else None


def describe(r: WindowRecord, numbers: bool = True, picture: bool = True) -> str:
    """Textual descriptor of a window, for the LLM to read (numbers=True) and, without the numbers (which
    cost about half the tokens and carry no meaning for a sentence embedder), for embedding.

    `picture`: also what a window with no face looks like ("dark screen", "colourful moving picture") and,
    there, "no speech". Descriptions are matched with it; emotional questions without it (with it, the "every
    time" recall on long_dev fell from 21/21 to 17/21 on the tune part: "dark screen" and "no speech" pulled
    the voice-only and face windows away from emotional wording)."""
    parts = []
    scene = describe_scene(r.scene) if picture else ""
    if r.face_frames == 0:
        parts.append("no face visible" + (f", {scene}" if scene else ""))
    else:
        aus = sorted(((k, v) for k, v in r.au_mean.items() if v >= 0.15), key=lambda kv: -kv[1])[:5]
        top = r.top_expression()
        cue = {"happy": "smiling, laughing, cheerful", "sad": "sad, crying, upset", "angry": "angry, frowning",
               "fear": "afraid, scared", "surprise": "surprised, astonished", "disgust": "disgusted",
               "neutral": "calm neutral face"}
        if top:
            parts.append(f"face {cue.get(top[0], top[0])}" + (f" (expression {top[0]} {top[1]:.2f})" if numbers else ""))
        if aus:
            parts.append("AUs " + ", ".join(f"{k} {v:.2f}" if numbers else k for k, v in aus))
        if r.occluded_frames:
            parts.append("face partly hidden")
        if r.motion > 0.3:
            parts.append("lively facial motion")
    if r.arousal is not None:
        parts.append("voice aroused, loud" if r.arousal > 0.3 else "voice calm, flat" if r.arousal < -0.3
                     else "voice typical")
    if r.transcript:
        parts.append(f'says: "{r.transcript[:200]}"')
    elif picture and r.arousal is None and r.n_frames and r.face_frames == 0:
        parts.append("no speech")  # only where no face is seen: on every silent face window it doubled the texts to embed
    return "; ".join(parts)


_embedder = None
_embedder_lock = threading.Lock()


def embedder():
    """The one sentence model of the process. Loaded under a lock: the CLI preloads it in a thread while the
    question's own code asks for it (lru_cache alone let both load it)."""
    global _embedder
    with _embedder_lock:
        if _embedder is None:
            from tools.perception.embed import TextEmbedder
            _embedder = TextEmbedder()
        return _embedder


def ivf_lists(n: int) -> tuple[int, int]:
    """(nlist, nprobe) for n vectors: about sqrt(n) lists with at least 39 training points each, half of
    them probed per query. Recall@10 against exact search, measured on unclustered random unit vectors
    (the worst case; window descriptors repeat and cluster): 0.99 at 2,000 x 16-d, 0.77 at 30,000 x 384-d."""
    nlist = max(1, min(int(np.sqrt(n)), n // 39))
    return nlist, max(1, nlist // 2)


def _make_index(dim: int, mat: np.ndarray) -> faiss.Index:
    """Exact inner product below IVF_THRESHOLD vectors; IVF-Flat (trained on `mat`) above it."""
    n = len(mat)
    if n <= IVF_THRESHOLD:
        return faiss.IndexFlatIP(dim)
    nlist, nprobe = ivf_lists(n)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(mat)
    index.nprobe = nprobe
    return index


def to_gpu(index: faiss.Index) -> faiss.Index:
    """Move an index to GPU 0 when the faiss build has GPU support (faiss-gpu-cu12); else unchanged."""
    if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
        nprobe = getattr(faiss.try_extract_index_ivf(index), "nprobe", None) \
            if hasattr(faiss, "try_extract_index_ivf") else None
        gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
        if nprobe:
            faiss.GpuParameterSpace().set_index_parameter(gpu, "nprobe", nprobe)
        return gpu
    return index


def window_vectors(recs: list[WindowRecord]) -> tuple[list[str], dict[str, faiss.Index]]:
    """The windows' descriptors (with numbers, for the LLM) and their three FAISS indexes: "text" (the
    affect wording, for emotional questions), "shows" (with the picture and "no speech", for descriptions)
    and "affect" (normalised affect vectors)."""
    desc = [describe(r) for r in recs]
    plain = [describe(r, numbers=False, picture=False) for r in recs]
    shows = [describe(r, numbers=False) for r in recs]
    unique = sorted(set(plain) | set(shows))  # long videos repeat themselves ("no face visible"): embed each once
    rows = {t: i for i, t in enumerate(unique)}
    emb = embedder().embed(unique) if unique else np.zeros((0, 384), np.float32)
    text = emb[[rows[t] for t in plain]] if recs else emb
    shown = emb[[rows[t] for t in shows]] if recs else emb
    aff = np.stack([affect_vector(r) for r in recs]) if recs else np.zeros((0, AFFECT_DIM), np.float32)
    affn = aff / np.maximum(np.linalg.norm(aff, axis=1, keepdims=True), 1e-6)
    out = {}
    for name, mat in (("text", text), ("shows", shown), ("affect", affn)):
        mat = np.ascontiguousarray(mat, dtype=np.float32)
        out[name] = _make_index(mat.shape[1], mat)
        if len(mat):
            out[name].add(mat)
    return desc, out


def build_vectors(idx) -> None:
    """Write descriptors.json, text.faiss, shows.faiss and affect.faiss (`window_vectors`) into the index
    folder."""
    desc, indexes = window_vectors(idx.records)
    for name, index in indexes.items():
        tmp = idx.folder / f"{name}.faiss.tmp"
        faiss.write_index(index, str(tmp))
        tmp.replace(idx.folder / f"{name}.faiss")
    tmp = idx.folder / "descriptors.json.tmp"
    tmp.write_text(json.dumps(desc))
    tmp.replace(idx.folder / "descriptors.json")


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: TimeWindow
    score: float
    dense: float = 0.0
    affect: float = 0.0
    salience: float = 0.0
    windows: list[int] = Field(default_factory=list, description="record indices merged into this moment")
    descriptor: str = ""


def salience(records: list[WindowRecord], aff: np.ndarray) -> np.ndarray:
    """Affect salience per window, not normalised (the one definition: the single-video retriever divides
    it by the video's maximum, a library by the library's): non-neutral expression where a face was seen
    (0.4), the strongest key AU (0.3), positive arousal (0.2), motion (0.1); `aff` rows are affect_vector."""
    if not len(records):
        return np.zeros(0)
    nonneutral = 1.0 - aff[:, EXPR.index("neutral")]
    has_face = np.array([r.face_frames > 0 for r in records], dtype=float)
    au = aff[:, len(EXPR):len(EXPR) + len(KEY_AUS)].max(axis=1)
    return 0.4 * nonneutral * has_face + 0.3 * au + 0.2 * np.clip(aff[:, -2], 0, 1) + 0.1 * aff[:, -1]


class Retriever:
    """search_moments over one index folder (or, `in_memory`, over any window records)."""

    def __init__(self, idx, indexes: dict[str, faiss.Index] | None = None, desc: list[str] | None = None):
        self.idx = idx
        folder: Path = idx.folder
        if indexes is None:
            indexes = {name: faiss.read_index(str(folder / f"{name}.faiss")) for name in ("text", "shows", "affect")}
            desc = json.loads((folder / "descriptors.json").read_text())
        self.text, self.shows, self.affect = (to_gpu(indexes[k]) for k in ("text", "shows", "affect"))
        self.desc: list[str] = desc or []
        self.records: list[WindowRecord] = idx.records
        self.aff = np.stack([affect_vector(r) for r in self.records]) if self.records else np.zeros((0, AFFECT_DIM))

    @classmethod
    def in_memory(cls, view) -> Retriever:
        """A Retriever over `view.records` with its vectors built now, nothing written (a person's view)."""
        desc, indexes = window_vectors(view.records)
        return cls(view, indexes, desc)

    def salience(self) -> np.ndarray:
        """Affect-salience prior in [0,1] over this video's windows (`salience`, divided by its maximum)."""
        s = salience(self.records, self.aff)
        return s / max(float(s.max()), 1e-6) if len(s) else s

    def search_moments(self, query_text: str, emotion_hint: list[str] | None = None, arousal: str = "any",
                       k: int = 5, modality_hints: list[str] | None = None,
                       exclude: list[TimeWindow] | None = None) -> list[Candidate]:
        n = len(self.records)
        if n == 0:
            return []
        nn = min(n, 512)
        dense = np.zeros(n, np.float32)
        proto = prototype(emotion_hint or [], arousal)
        if query_text.strip():
            q = embedder().embed([query_text])
            d, i = (self.text if proto is not None else self.shows).search(q, nn)
            dense[i[0][i[0] >= 0]] = d[0][i[0] >= 0]
        affect = np.zeros(n, np.float32)
        if proto is not None:
            affn = self.aff / np.maximum(np.linalg.norm(self.aff, axis=1, keepdims=True), 1e-6)
            # exact for every window at any size (n x 20 products: 20 ms at a million windows): above
            # IVF_THRESHOLD the approximate FAISS affect search used to replace these with its top 512
            # and give every other window its lowest score
            affect = affn @ proto
        sal = self.salience()
        # no emotion asked (a description: "a dark screen with a man's voice over it"): what the
        # window shows and says decides; its emotional salience only breaks ties (at 0.3 it ranked crying
        # and laughing faces above the one dark stretch the words matched best)
        w_dense, w_aff, w_sal = EMOTION_WEIGHTS if proto is not None else (0.9, 0.0, 0.1)
        if modality_hints and "words" in modality_hints and proto is not None:
            w_dense, w_aff = 0.5, 0.35
        score = w_dense * dense + w_aff * affect + w_sal * sal
        if exclude:
            for j, r in enumerate(self.records):
                if any(r.window.overlaps(x) for x in exclude):
                    score[j] = -np.inf
        return self._merge(score, dense, affect, sal, k)

    def _merge(self, score, dense, affect, sal, k) -> list[Candidate]:
        """Greedy: take the best window, grow it over neighbours scoring within 85% of it, repeat."""
        order = np.argsort(-score)
        used = np.zeros(len(score), bool)
        out: list[Candidate] = []
        for j in order:
            if len(out) >= k or not np.isfinite(score[j]):
                break
            if used[j]:
                continue
            lo = hi = int(j)
            thr = score[j] - 0.15 * abs(score[j])
            while lo - 1 >= 0 and not used[lo - 1] and score[lo - 1] >= thr and hi - lo < 5:
                lo -= 1
            while hi + 1 < len(score) and not used[hi + 1] and score[hi + 1] >= thr and hi - lo < 5:
                hi += 1
            used[lo:hi + 1] = True
            ids = list(range(lo, hi + 1))
            w = TimeWindow(start=self.records[lo].window.start, end=self.records[hi].window.end)
            out.append(Candidate(window=w, score=round(float(score[j]), 4), dense=round(float(dense[j]), 4),
                                 affect=round(float(affect[j]), 4), salience=round(float(sal[j]), 4),
                                 windows=ids, descriptor=self.desc[j]))
        return out
