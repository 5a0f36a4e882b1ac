"""Video libraries: index many videos (here, or as Ray tasks on a cluster) into one shared cache, and ask
one question across all of them.

Indexing: `index_library(paths, executor="ray", address="HEAD:6379")` runs one Ray task per video; each
task calls `build_index`, which writes into `settings.cache_dir/index/<content hash>/<config>/` (the
cache directory from config: on a cluster, a shared filesystem path every node mounts, e.g.
AFFECTLENS_CACHE_DIR=/shared/affectlens). A video's index is complete when its `done.json` exists; it is
written atomically, last, so readers never see a half-built index as done, and a killed task resumes
from its last checkpoint when run again (already complete videos come back as `cached` in seconds).
A file lock per index folder keeps two tasks from building the same video at once.

Asking: `LibrarySearch(dir)` loads every indexed video in a directory, stacks all their windows' text
vectors into one FAISS index (and their affect vectors into one matrix), and ranks windows across the
whole library with the same scoring as the single-video retriever; each hit names its video. Reading the
question is the agents' work, so `ask_library` (question in, hits out) lives in graphs/library.py: tools
never import agents (docs/architecture.md, tests/test_architecture.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import MediaError
from tools.schemas import TimeWindow
from tools.settings import Settings, get_settings

VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wav", ".mp3", ".m4a", ".flac"}


class VideoJob(BaseModel):
    """One video's indexing outcome."""

    model_config = ConfigDict(extra="forbid")

    video: str
    status: str = Field(description="indexed | cached | failed")
    windows: int = 0
    seconds: float = 0.0
    folder: str = ""
    node: str = ""
    error: str = ""
    damage: str = Field(default="", description="the index's damaged_video flag (tools.index.store.damage_flag); "
                        "'' for an intact file")


class LibrarySummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    executor: str
    jobs: list[VideoJob]
    seconds: float

    def line(self) -> str:
        n = {s: sum(j.status == s for j in self.jobs) for s in ("indexed", "cached", "failed")}
        damaged = sum(bool(j.damage) for j in self.jobs)
        return (f"{len(self.jobs)} videos: {n['indexed']} indexed, {n['cached']} already cached, "
                f"{n['failed']} failed, {sum(j.windows for j in self.jobs)} windows, {self.seconds:.1f} s "
                f"({self.executor})" + (f"; WARNING: {damaged} damaged (only what could be read is indexed)"
                                        if damaged else ""))


def find_videos(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files given, plus the media files (by extension) under each directory given, sorted, deduplicated."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXT)
        elif p.is_file():
            out.append(p)
        else:
            raise MediaError(f"no such file or directory: {p}")
    seen: set[Path] = set()
    return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]


def index_one(path: str, settings: Settings) -> VideoJob:
    """Index one video into the configured cache (resumable); never raises: failures are reported."""
    import socket

    from tools.index import build_index
    t0 = time.monotonic()
    try:
        idx = build_index(path, settings, progress=False)
    except Exception as e:  # noqa: BLE001  (one bad file must not stop a library run)
        return VideoJob(video=str(path), status="failed", seconds=round(time.monotonic() - t0, 2),
                        node=socket.gethostname(), error=f"{e.__class__.__name__}: {e}"[:300])
    return VideoJob(video=str(path), status="cached" if idx.summary.cached else "indexed",
                    windows=len(idx.records), seconds=round(time.monotonic() - t0, 2), folder=str(idx.folder),
                    node=socket.gethostname(), damage=idx.damage_flag() or "")


def index_library(paths: Iterable[str | os.PathLike], settings: Settings | None = None, executor: str = "local",
                  address: str | None = None, on_done: Callable[[int, int, VideoJob], None] | None = None,
                  num_cpus: int | None = None) -> LibrarySummary:
    """Index every video under `paths`: here one after the other (`local`), or one Ray task per video
    (`ray`; `address` = an existing cluster's HEAD:6379, else a local Ray instance). `on_done(i, n, job)`
    is called as each video finishes (the progress summary)."""
    s = settings or get_settings()
    videos = [str(v) for v in find_videos(paths)]
    t0 = time.monotonic()
    jobs: list[VideoJob] = []
    report = on_done or (lambda i, n, job: None)
    if executor == "local":
        for v in videos:
            jobs.append(index_one(v, s))
            report(len(jobs), len(videos), jobs[-1])
    elif executor == "ray":
        import ray
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                     log_to_driver=False, ignore_reinit_error=True)
        task = ray.remote(num_cpus=1, max_retries=2)(index_one)
        pending = {task.remote(v, s): v for v in videos}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    pending.pop(ref)
                    jobs.append(VideoJob.model_validate(ray.get(ref)))
                    report(len(jobs), len(videos), jobs[-1])
        finally:
            if started:
                ray.shutdown()
    else:
        raise ValueError(f"unknown executor {executor!r} (local or ray)")
    order = {v: i for i, v in enumerate(videos)}
    jobs.sort(key=lambda j: order[j.video])
    return LibrarySummary(executor=executor, jobs=jobs, seconds=round(time.monotonic() - t0, 2))


# ------------------------------------------------------------------ library-level question

class LibraryHit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rank: int
    video: str
    window: TimeWindow
    score: float
    label: str
    descriptor: str


class LibraryAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    emotions: list[str]
    videos: int
    windows: int
    missing: list[str] = Field(default_factory=list, description="videos in the directory not indexed yet")
    hits: list[LibraryHit]
    seconds: float


def _vectors(index: faiss.Index) -> np.ndarray:
    n = index.ntotal
    if n == 0:
        return np.zeros((0, index.d), np.float32)
    ivf = faiss.try_extract_index_ivf(index) if hasattr(faiss, "try_extract_index_ivf") else None
    if ivf is not None:
        ivf.make_direct_map()
    return index.reconstruct_n(0, n)


class LibrarySearch:
    """All indexed videos of a directory as one searchable set of windows."""

    def __init__(self, paths: Iterable[str | os.PathLike], settings: Settings | None = None):
        from tools.index import VideoIndex
        from tools.index.decode import probe
        from tools.index.store import IndexConfig, index_folder
        from tools.retrieval import Retriever, affect_vector, salience
        s = settings or get_settings()
        config = IndexConfig.from_settings(s)
        self.missing: list[str] = []
        self.owner: list[tuple[str, int]] = []  # (video, record index) per stacked window
        text, shows, aff, sal, self.records, self.desc = [], [], [], [], [], []
        self.videos: list[str] = []
        for v in find_videos(paths):
            try:
                meta = probe(v)
            except MediaError:
                self.missing.append(str(v))
                continue
            folder = index_folder(meta, config, s)
            if not (folder / "done.json").exists():
                self.missing.append(str(v))
                continue
            ret = Retriever(VideoIndex(folder, meta, config))
            if not ret.records:
                continue
            self.videos.append(str(v))
            text.append(_vectors(faiss.read_index(str(folder / "text.faiss"))))
            shows.append(_vectors(faiss.read_index(str(folder / "shows.faiss"))))
            aff.append(np.stack([affect_vector(r) for r in ret.records]))
            # not divided by each video's own maximum: a library compares videos, so a calm talk must not
            # rank as salient as a crying face (the library's maximum divides it below)
            sal.append(salience(ret.records, ret.aff))
            self.records += ret.records
            self.desc += ret.desc
            self.owner += [(str(v), i) for i in range(len(ret.records))]
        if not self.videos:
            raise MediaError("no indexed video found there: run `affectlens index DIR` first")
        # affect wording for emotional questions, with the picture for descriptions (tools.retrieval)
        self.text, self.shows = (self._flat(text), self._flat(shows))
        a = np.concatenate(aff)
        self.affn = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-6)
        self.sal = np.concatenate(sal)
        self.sal = self.sal / max(float(self.sal.max()), 1e-6)

    @staticmethod
    def _flat(parts: list[np.ndarray]) -> faiss.Index:
        mat = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        index = faiss.IndexFlatIP(mat.shape[1])
        index.add(mat)
        return index

    def search(self, query_text: str, emotions: list[str], arousal: str = "any", k: int = 5) -> list[LibraryHit]:
        """Rank every window of every video (dense text + affect prototype + salience, the single-video
        weights); keep the best window per stretch of one video (no two hits overlap in the same video)."""
        from tools.labels import EXPRESSION_TO_EMOTION
        from tools.retrieval import EMOTION_WEIGHTS, embedder, prototype
        n = len(self.records)
        dense = np.zeros(n, np.float32)
        proto = prototype(emotions, arousal)
        if query_text.strip():
            d, i = (self.text if proto is not None else self.shows).search(embedder().embed([query_text]), min(n, 2048))
            ok = i[0] >= 0
            dense[i[0][ok]] = d[0][ok]
        affect = self.affn @ proto if proto is not None else np.zeros(n, np.float32)
        # the single-video weights, except that without an emotion the text match leads more: across
        # videos, salience (any strong face) would otherwise outrank the one talk that says the words
        w_dense, w_aff, w_sal = EMOTION_WEIGHTS if proto is not None else (0.85, 0.0, 0.15)
        score = w_dense * dense + w_aff * affect + w_sal * self.sal
        hits: list[LibraryHit] = []
        for j in np.argsort(-score):
            video, _ = self.owner[j]
            r = self.records[j]
            if any(h.video == video and h.window.overlaps(r.window) for h in hits):
                continue
            top = r.top_expression()
            label = EXPRESSION_TO_EMOTION.get(top[0], "Neutral") if top else "Neutral"
            hits.append(LibraryHit(rank=len(hits) + 1, video=video, window=r.window, score=round(float(score[j]), 4),
                                   label=label, descriptor=self.desc[j][:200]))
            if len(hits) >= k:
                break
        return hits
