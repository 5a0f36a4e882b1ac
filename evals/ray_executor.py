"""Batch evaluation on a Ray cluster: indexing as one Ray task per video, queries on a pool of actors
that share one LLM endpoint. Results come back to the driver, which writes the same append-only,
resumable results file as the local executor.

Multi-node: start a cluster (`ray start --head` on one node, `ray start --address HEAD:6379` on the
others), put AFFECTLENS_CACHE_DIR and the videos on storage every node sees, serve the LLM where every
node reaches it (AFFECTLENS_LLM_URL, e.g. vLLM), then `affectlens eval BENCH --executor ray --address HEAD:6379`.
Without --address a local Ray instance is started on this machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evals.bench import BenchRecord
from evals.metrics import QueryResult
from tools.settings import Settings


def _init(address: str | None, workers: int) -> Any:
    import ray
    if not ray.is_initialized():
        kw = {"address": address} if address else {"num_cpus": max(1, workers)}
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False,
                 configure_logging=False, **kw)
    return ray


def index_videos(paths: list[str], s: Settings, address: str | None, workers: int) -> dict[str, str | None]:
    """Index each video in its own Ray task (cached on the shared cache dir). Returns path -> error or None."""
    ray = _init(address, workers)

    @ray.remote
    def index_one(path: str, settings_json: str) -> str | None:
        from tools.index import build_index
        from tools.settings import Settings as S
        try:
            build_index(path, S.model_validate_json(settings_json), progress=False)
            return None
        except Exception as e:  # noqa: BLE001 - reported per video, the run goes on
            return f"{e.__class__.__name__}: {e}"

    refs = {p: index_one.remote(p, s.model_dump_json()) for p in paths}
    return {p: ray.get(r) for p, r in refs.items()}


def run_queries(groups: dict[str, list[BenchRecord]], s: Settings, llm_url: str | None, llm_model: str,
                cap: float, run_flags: list[str], emit: Callable[[QueryResult, dict], None],
                address: str | None, workers: int) -> None:
    """Each actor holds sessions for the videos it is given; all actors use the one LLM endpoint."""
    ray = _init(address, workers)
    from ray.util import ActorPool

    @ray.remote
    class QueryWorker:
        def __init__(self, settings_json: str, url: str | None, model: str):
            from tools.settings import Settings as S
            self.s = S.model_validate_json(settings_json)
            self.url, self.model = url, model

        def run(self, path: str, recs_json: list[str], cap: float, flags: list[str]) -> list[tuple[str, dict]]:
            from agents.llm import LLMClient
            from evals.bench import BenchRecord as BR
            from evals.runner import _run_video
            from graphs.api import Session
            from tools.index import build_index
            recs = [BR.model_validate_json(r) for r in recs_json]
            try:
                idx, err = build_index(path, self.s, progress=False), None
            except Exception as e:  # noqa: BLE001
                idx, err = None, f"{e.__class__.__name__}: {e}"

            def session():
                client = (LLMClient(self.url, self.model, self.s.llm_api_key, self.s.llm_timeout_s, self.s.llm_retries)
                          if self.url else None)
                from evals.runner import RANKED_MOMENTS
                sess = Session(path, self.s, llm=client, index=idx)
                sess.context.extra["ranked_moments"] = RANKED_MOMENTS  # as the local executor: R5 over 5 windows
                return sess

            out: list[tuple[str, dict]] = []
            _run_video(recs, idx, err, session, cap, flags, lambda r, m: out.append((r.model_dump_json(), m)))
            return out

    n = max(1, min(workers, len(groups)))
    pool = ActorPool([QueryWorker.remote(s.model_dump_json(), llm_url, llm_model) for _ in range(n)])
    items = [(path, [r.model_dump_json() for r in recs]) for path, recs in groups.items()]
    for rows in pool.map_unordered(lambda a, v: a.run.remote(v[0], v[1], cap, run_flags), items):
        for res_json, meta in rows:
            emit(QueryResult.model_validate_json(res_json), meta)
