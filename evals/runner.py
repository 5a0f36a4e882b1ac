"""Run the system on a benchmark file and write results, metrics and a report.

``run_eval(bench, out_dir)``:

1. loads the bench (evals/bench.py; ``on_error="skip"`` drops bad records and lists them in the report,
   ``"stop"`` raises BenchError on the first),
2. indexes each distinct video once (tools/index.py, cached by content hash, so re-runs are cheap),
3. answers the queries with a bounded thread pool: one ``graphs.api.Session`` per video, reused by that
   video's queries, which run one after another (a Session's graph shares one LLM client and SQLite
   connection); different videos run in parallel. Each query gets a fresh conversation thread id, so
   earlier queries never turn a later one into a follow-up. Each video's Session gets its own copy of
   the LLM client, so per-query ``llm_calls`` are exact,
4. appends one JSON line per finished query to ``out_dir/results.jsonl`` (a QueryResult plus a "meta"
   object; written under a lock, flushed and fsynced), so a crashed or interrupted run resumes by
   skipping ids already there,
5. summarises (evals/metrics.py), scores the baselines on the same queries and writes report.md,
   metrics.json and the plots (evals/report.py).

A query never crashes the run: an exception or a query over its wall-time cap becomes a QueryResult with
``error`` ("Type: message"). The graph keeps to ``settings.query_timeout_s`` itself; the runner's hard
cap is that plus max(10 s, 25 %), after which the query is recorded as "TimeoutError", cancelled at its
graph's next step (its Session closed, the runner waiting up to STOP_GRACE_S for it to stop) and its
video gets a fresh Session.

Oracle label: each result also carries ``oracle_label``, the label predicted from the index alone when
the GT window is given (majority per-frame expression, mapped to the 13 labels; no LLM; see
evals/baselines.py), reported as "Label given the GT window (oracle)".

Baselines (same queries): ``random`` (a random window of the GT length, random label),
``majority`` (middle window of the mean GT length, most common label), and ``retrieval_top1`` (the
retriever's ranking with the query's emotion words as hints, labelled by the majority expression over
the top-1 window; no LLM, no verification).

Sufficiency: our rationale is classified back to a label by text alone: with an LLM when one is used,
otherwise with the emotion-word lexicon (``sufficiency.classifier`` says which).

Over 350 lines on purpose: one evaluation run end to end (load, index, ask, resume, score, report),
whose steps share the run folder's layout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from tqdm import tqdm

from agents.errors import LLMError
from evals.baselines import expression_label, lexicon_classifier, retrieval_baseline
from evals.bench import BenchRecord, load_bench
from evals.metrics import QueryResult, jsonable, sufficiency, summarize
from evals.report import majority_baseline, random_window_baseline, write_report
from tools.errors import AffectlensError
from tools.labels import EMOTIONS, Emotion
from tools.settings import Settings, get_settings

RESULTS = "results.jsonl"
EXECUTORS = ("local", "ray")


class EvalError(AffectlensError):
    """The evaluation cannot run as asked (bad option, no usable records, missing executor)."""


def hard_cap(settings: Settings) -> float:
    """Wall-time cap of one query in the runner: the graph's own budget plus max(10 s, 25 %)."""
    t = float(settings.query_timeout_s)
    return t + max(10.0, 0.25 * t)


def _err(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}"[:400] if msg else type(e).__name__


# ------------------------------------------------------------------------------------- results file


def read_results(path: str | os.PathLike) -> tuple[dict[str, QueryResult], dict[str, dict], int]:
    """(results by id, meta by id, number of unreadable lines) from a results.jsonl; a later line for
    the same id wins. A half-written last line (a crash mid-write) counts as unreadable."""
    p = Path(path)
    results: dict[str, QueryResult] = {}
    metas: dict[str, dict] = {}
    bad = 0
    if not p.exists():
        return results, metas, 0
    with open(p, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                meta = obj.pop("meta", {}) if isinstance(obj, dict) else {}
                r = QueryResult.model_validate(obj)
            except (ValueError, TypeError, AttributeError):
                bad += 1
                continue
            results[r.id] = r
            metas[r.id] = meta if isinstance(meta, dict) else {}
    return results, metas, bad


class ResultWriter:
    """Append-only JSONL writer shared by the workers: one line per result, flushed and fsynced."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        if path.exists() and path.stat().st_size:
            with open(path, "rb") as f:  # a crash may have left a partial line: start on a new one
                f.seek(-1, os.SEEK_END)
                needs_nl = f.read(1) != b"\n"
            if needs_nl:
                with open(path, "a", encoding="utf-8") as f:
                    f.write("\n")
        self.f = open(path, "a", encoding="utf-8")

    def write(self, result: QueryResult, meta: Mapping[str, Any] | None = None) -> None:
        line = json.dumps({**result.model_dump(mode="json"), "meta": jsonable(dict(meta or {}))},
                          ensure_ascii=False)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()
            os.fsync(self.f.fileno())

    def close(self) -> None:
        with self.lock:
            self.f.close()


# ------------------------------------------------------------------------------------------- LLM


def _clone_client(client):
    """A fresh client to the same server (own stats), so each video's Session counts its own calls."""
    from agents.llm import LLMClient
    if isinstance(client, LLMClient):
        return LLMClient(client.base_url, client.model, api_key=client._client.api_key, timeout=client.timeout,
                         retries=client.retries)
    return client


def _calls(client) -> int:
    stats = getattr(client, "stats", None)
    return int(getattr(stats, "calls", 0) or 0)


class _Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Emotion


def llm_classifier(client) -> Callable[[str], str | None]:
    """Text-only emotion classifier for the sufficiency check (one structured LLM call per text)."""
    def classify(text: str) -> str | None:
        msgs = [{"role": "system", "content": "You read a short description of a person in a video and name "
                                              "the emotion it describes. Reply with JSON."},
                {"role": "user", "content": f"Description: {text[:1200]}\nWhich one emotion, of "
                                            f"{', '.join(EMOTIONS)}? Reply as {{\"label\": \"...\"}}."}]
        return client.structured(msgs, _Label, max_tokens=20, tag="sufficiency").label
    return classify


# ------------------------------------------------------------------------------------------- run


def _base(r: BenchRecord) -> dict:
    return dict(id=r.id, gt_window=r.window, gt_label=r.label, gt_rationale=r.rationale)


def answer_to_result(r: BenchRecord, answer, oracle: str | None, seconds: float, llm_calls: int) -> QueryResult:
    """A QueryResult from a graphs Answer: ranked moment windows, the top moment's label, rationale and
    the windows of the evidence it cites."""
    moments = sorted(answer.moments, key=lambda m: m.rank)
    ev = answer.evidence_by_id()
    top = moments[0] if moments else None
    return QueryResult(**_base(r), pred_windows=[m.window for m in moments],
                       pred_label=top.label if top else None, pred_rationale=top.rationale if top else "",
                       evidence_windows=[ev[i].window for i in (top.evidence_ids if top else []) if i in ev],
                       oracle_label=oracle, seconds=round(seconds, 3), llm_calls=llm_calls,
                       tool_calls=int(answer.stats.get("tool_calls", 0)))


def _oracle(idx, r: BenchRecord) -> str | None:
    try:
        return expression_label(idx, r.window)
    except Exception:  # noqa: BLE001 - the oracle is a side measurement; never fail the query for it
        return None


class Cancelled(Exception):
    """Raised inside a question's own thread, at its graph's next step, once the runner gave up on it."""


# How long the runner waits, after cancelling a question, for it to reach its graph's next step and stop.
# A step is one node: the longest measured on the dev sets is a judge or rationale LLM call, which its own
# client deadline (graphs/nodes/common.mono_deadline, the question's timeout) already ends, so 10 s is
# enough for the node under way to return on 2 cores; a question still running after it is left to
# finish that one node (it cannot be interrupted inside it) and stops at its end.
STOP_GRACE_S = 10.0


def _ask_capped(session, query: str, cap: float, grace: float = STOP_GRACE_S) -> tuple[Any, BaseException | None, bool]:
    """(answer, exception, timed_out): session.ask in a daemon thread, capped at `cap` seconds.

    At the cap the question is cancelled, not abandoned: its event callback raises Cancelled at the next
    step of the graph (the end of the node under way), which ends the graph run, and the session is
    closed (its SQLite handle is released when that run ends: graphs.api.Session.close). The runner waits
    up to `grace` seconds for the thread to stop, so the next question's timing does not share the CPU
    with it."""
    box: dict[str, Any] = {}
    stop = threading.Event()

    def on_event(_ev: dict) -> None:
        if stop.is_set():
            raise Cancelled(f"stopped after {cap:.0f} s")

    def target() -> None:
        try:
            box["answer"] = session.ask(query, on_event)
        except Cancelled:
            pass
        except BaseException as e:  # noqa: BLE001 - reported as the query's error
            box["error"] = e

    th = threading.Thread(target=target, name="eval-query", daemon=True)
    th.start()
    th.join(cap)
    if th.is_alive():
        stop.set()
        try:
            session.close()
        except Exception:  # noqa: BLE001 - closing a broken session must not stop the run
            pass
        th.join(grace)
        return None, None, True
    return box.get("answer"), box.get("error"), False


RANKED_MOMENTS = 5  # moments asked per query: verified ones first, then the rest ranked, marked unverified


def _run_video(recs: list[BenchRecord], idx, index_error: str | None, make_session: Callable[[], Any],
               cap: float, run_flags: list[str], emit: Callable[[QueryResult, dict], None],
               stop: threading.Event | None = None) -> None:
    """Run one video's queries in order, one conversation each, recording every outcome via `emit`."""
    session = None
    for r in recs:
        if stop is not None and stop.is_set():
            break
        meta = {"video": r.video, "query": r.query, "flags": list(run_flags)}
        if idx is None:
            emit(QueryResult(**_base(r), error=index_error or "MediaError: video not indexed"), meta)
            continue
        oracle = _oracle(idx, r)
        try:
            if session is None:
                session = make_session()
            session.id = f"eval-{uuid.uuid4().hex[:12]}"  # fresh conversation: no follow-up routing
            calls0 = _calls(session.llm)
            t0 = time.monotonic()
            answer, exc, timed_out = _ask_capped(session, r.query, cap)
            secs = time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - e.g. the Session could not be built
            emit(QueryResult(**_base(r), oracle_label=oracle, error=_err(e)), meta)
            continue
        if timed_out:
            session = None  # cancelled and closed (_ask_capped); the next query gets a fresh one
            emit(QueryResult(**_base(r), oracle_label=oracle, seconds=round(secs, 3),
                             error=f"TimeoutError: query exceeded {cap:.0f} s"), meta)
            continue
        if exc is not None or answer is None:
            emit(QueryResult(**_base(r), oracle_label=oracle, seconds=round(secs, 3),
                             llm_calls=_calls(session.llm) - calls0,
                             error=_err(exc) if exc else "RuntimeError: no answer"), meta)
            continue
        try:
            res = answer_to_result(r, answer, oracle, secs, _calls(session.llm) - calls0)
        except Exception as e:  # noqa: BLE001
            res = QueryResult(**_base(r), oracle_label=oracle, seconds=round(secs, 3), error=_err(e))
        meta.update(flags=meta["flags"] + list(answer.flags), moments=len(answer.moments),
                    confidence=answer.moments[0].confidence if answer.moments else None,
                    llm_seconds=answer.stats.get("llm_seconds"))
        emit(res, meta)
    if session is not None:
        session.close()


def _check_executor(executor: str) -> None:
    if executor not in EXECUTORS:
        raise EvalError(f"unknown executor {executor!r} (expected one of {', '.join(EXECUTORS)})")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise EvalError("ray executor not installed (pip install ray), or use --executor local")


def run_eval(bench_path: str | os.PathLike, out_dir: str | os.PathLike, settings: Settings | None = None,
             llm: Any = True, workers: int = 1, field_map: Mapping[str, str] | None = None,
             on_error: str = "skip", video_root: str | os.PathLike | None = None, limit: int | None = None,
             progress: bool = True, executor: str = "local", sufficiency_check: bool | None = None,
             seed: int = 0, address: str | None = None) -> dict[str, Any]:
    """Evaluate on a bench file (see the module docstring). ``llm``: True (configured/embedded server;
    if it cannot start, queries run without an LLM and the report says so), an LLMClient, or None/False
    (no LLM: the graph's deterministic fallbacks). ``limit``: only the first N valid records.
    ``sufficiency_check``: classify our rationales back to labels (default: on with an LLM, lexicon
    otherwise; False skips it). Returns {"metrics", "baselines", "paths", "results", "run"}."""
    from graphs.api import Session
    from tools.index import build_index

    _check_executor(executor)
    if not isinstance(workers, int) or workers < 1:
        raise EvalError(f"workers must be a positive integer, got {workers!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise EvalError(f"limit must be a positive integer, got {limit!r}")
    s = settings or get_settings()
    t_start = time.monotonic()
    if on_error not in ("skip", "stop"):
        raise EvalError(f"on_error must be 'skip' or 'stop', got {on_error!r}")
    load = load_bench(bench_path, video_root=video_root, field_map=field_map, on_error=on_error)
    issues = [i.format(bench_path) for i in load.issues]
    if not load.records:
        raise EvalError(f"{bench_path}: no valid records ({len(issues)} skipped)"
                        + (f"; first: {issues[0]}" if issues else ""))
    records = load.records[:limit] if limit else list(load.records)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS
    done, _, bad_lines = read_results(results_path)
    pending = [r for r in records if r.id not in done]
    resumed = len(records) - len(pending)

    # LLM: resolved once here (starting the embedded server once), copied per video below.
    run_flags: list[str] = []
    client = None
    if llm is True:
        if pending or sufficiency_check is not False:
            try:
                from agents.llm import client_from_settings
                client = client_from_settings(s)
            except LLMError as e:
                run_flags.append(f"llm_unavailable: {e}")
    elif llm:
        client = llm
    llm_desc = ("none" if client is None else getattr(client, "base_url", type(client).__name__))

    # Index every distinct video once (also those whose queries are all done: oracle and baselines).
    videos: dict[str, list[BenchRecord]] = {}
    for r in records:
        videos.setdefault(r.video_path or r.video, []).append(r)
    indexes: dict[str, Any] = {}
    index_errors: dict[str, str] = {}
    index_info: dict[str, dict] = {}
    inner = progress and (workers == 1 or len(videos) == 1)

    ray_errors: dict[str, str | None] = {}
    if executor == "ray":  # index on the cluster first; the driver below then reads the shared cache
        from evals.ray_executor import index_videos
        ray_errors = index_videos(list(videos), s, address, workers)

    def do_index(path: str):
        if ray_errors.get(path):
            raise EvalError(ray_errors[path])
        return build_index(path, s, progress=inner)

    with ThreadPoolExecutor(max_workers=min(workers, len(videos))) as pool, \
            tqdm(total=len(videos), desc="index", unit="video", disable=not progress) as bar:
        futs = {pool.submit(do_index, v): v for v in videos}
        for fut in as_completed(futs):
            v = futs[fut]
            try:
                idx = fut.result()
                indexes[v] = idx
                sm = idx.summary
                index_info[v] = {"duration": idx.meta.duration, "cached": bool(sm and sm.cached),
                                 "seconds": sm.seconds if sm else None}
            except Exception as e:  # noqa: BLE001 - the video's queries become failures, the run goes on
                index_errors[v] = _err(e)
            bar.update(1)

    # Queries: parallel across videos, sequential within one.
    cap = hard_cap(s)
    writer = ResultWriter(results_path)
    stop = threading.Event()
    errors = [0]
    qbar = tqdm(total=len(pending), desc="queries", unit="q", disable=not progress, smoothing=0.1)
    fresh: dict[str, QueryResult] = {}

    def emit(res: QueryResult, meta: dict) -> None:
        writer.write(res, meta)
        with writer.lock:
            fresh[res.id] = res
            if res.error:
                errors[0] += 1
            qbar.update(1)
            qbar.set_postfix(errors=errors[0], refresh=False)

    def new_session(path: str):
        sess = Session(path, s, llm=_clone_client(client) if client is not None else None, index=indexes[path])
        sess.context.extra["ranked_moments"] = RANKED_MOMENTS  # so that R5@IoU measures 5 ranked windows
        return sess

    def run_video(path: str, recs: list[BenchRecord]) -> None:
        _run_video(recs, indexes.get(path), index_errors.get(path), lambda: new_session(path), cap, run_flags,
                   emit, stop)

    groups: dict[str, list[BenchRecord]] = {}
    for r in pending:
        groups.setdefault(r.video_path or r.video, []).append(r)
    if executor == "ray":
        from evals.ray_executor import run_queries
        try:
            run_queries(groups, s, getattr(client, "base_url", None), getattr(client, "model", s.llm_model), cap,
                        run_flags, emit, address, workers)
        finally:
            qbar.close()
            writer.close()
        groups = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(groups) or 1)), thread_name_prefix="eval")
    try:
        futs = [pool.submit(run_video, v, recs) for v, recs in groups.items()]
        for fut in as_completed(futs):
            fut.result()  # run_video records its own failures; anything here is a bug worth raising
    except BaseException:
        stop.set()  # Ctrl-C / crash: workers stop after their current query; results so far are kept
        pool.shutdown(wait=False, cancel_futures=True)
        qbar.close()
        raise
    pool.shutdown(wait=True)
    qbar.close()
    writer.close()

    # Score: everything in results.jsonl for the selected records (this run's and resumed ones).
    done, metas, bad_lines = read_results(results_path)
    scored = [r for r in records if r.id in done]
    ours = [done[r.id].model_copy(update=_base(r)) for r in scored]
    if not ours:
        raise EvalError("no results to score")
    metrics = summarize(ours)
    if sufficiency_check is not False:
        classify, how = (llm_classifier(client), "llm") if client is not None else (lexicon_classifier, "lexicon")
        metrics["sufficiency"] = jsonable({**sufficiency(ours, classify), "classifier": how})
    durations = {v: i["duration"] for v, i in index_info.items()}
    for r in scored:  # a video that failed to index: its GT ends bound its length
        key = r.video_path or r.video
        if key not in index_info:
            durations[key] = max(durations.get(key, 0.0), r.window.end)
    keyed = [r.model_copy(update={"video": r.video_path or r.video}) for r in scored]
    baselines = {
        "random": summarize(random_window_baseline(keyed, durations, seed=seed)),
        "majority": summarize(majority_baseline(keyed, durations)),
        "retrieval_top1": summarize(retrieval_baseline(scored, indexes)),
    }
    run = {"bench": str(bench_path), "records_read": load.n_read, "records_valid": len(load.records),
           "records_selected": len(records), "scored": len(ours), "resumed": resumed, "ran_now": len(fresh),
           "bench_issues": issues, "unreadable_result_lines": bad_lines, "llm": llm_desc, "flags": run_flags,
           "workers": workers, "executor": executor, "query_cap_s": cap, "wall_seconds":
           round(time.monotonic() - t_start, 2), "index": index_info, "index_errors": index_errors}
    metrics["run"] = jsonable(run)
    paths = write_report(metrics, out, baselines)
    with open(paths["report"], "a", encoding="utf-8") as f:
        f.write("\n" + _run_section(run))
    return {"metrics": metrics, "baselines": baselines, "paths": {k: str(v) for k, v in paths.items()},
            "results": str(results_path), "run": run}


def _run_section(run: Mapping[str, Any]) -> str:
    md = ["## Run", "",
          f"- bench: `{run['bench']}`: {run['records_read']} records read, {run['records_valid']} valid, "
          f"{run['records_selected']} selected, {run['scored']} scored "
          f"({run['resumed']} resumed from results.jsonl, {run['ran_now']} run now)",
          f"- LLM: {run['llm']}" + (f" ({'; '.join(run['flags'])})" if run["flags"] else ""),
          f"- workers: {run['workers']} ({run['executor']}); per-query cap {run['query_cap_s']:.0f} s; "
          f"wall time {run['wall_seconds']:.1f} s",
          "- oracle label: majority per-frame expression over the GT window, mapped to the 13 labels "
          "(index only, no LLM)",
          "- baselines: random = random window of the GT length and a random label; majority = middle "
          "window of the mean GT length and the most common label; retrieval_top1 = retriever ranking "
          "(query emotion words as hints, no LLM, no verification) labelled by the majority expression "
          "over its top-1 window"]
    if run.get("index_errors"):
        md.append("- videos that failed to index: " + "; ".join(f"`{k}`: {v}" for k, v in run["index_errors"].items()))
    if run.get("unreadable_result_lines"):
        md.append(f"- {run['unreadable_result_lines']} unreadable line(s) in results.jsonl were ignored")
    if run["bench_issues"]:
        md += ["", f"### Skipped bench records ({len(run['bench_issues'])})", ""]
        md += [f"- `{x}`" for x in run["bench_issues"][:50]]
        if len(run["bench_issues"]) > 50:
            md.append(f"- … and {len(run['bench_issues']) - 50} more (see metrics.json)")
    return "\n".join(md) + "\n"
