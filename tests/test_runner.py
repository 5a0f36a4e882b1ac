"""Benchmark runner end to end on the bench of labelled clips cut from the shipped media (tests/test_build.py):
report files, metric ranges, beating the random baseline, resume after a crash, skipped bench lines, failed
and hung queries, the CLI."""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from pathlib import Path

import pytest

from evals import runner
from evals.bench import load_bench
from evals.runner import EvalError, read_results, run_eval
from tests.test_build import CLIPS, N, shared_bench, write_labels
from evals.bench import BenchError

PLOTS = ("label_recall.png", "iou_hist.png", "confusion.png")


NQ = 3 * N  # queries in the bench


@pytest.fixture(scope="module")
def bench(clips, faces, tmp_path_factory) -> Path:
    return shared_bench(clips, faces, tmp_path_factory)


@pytest.fixture(scope="module")
def full_run(bench, settings, tmp_path_factory):
    """One complete run without an LLM (the graph's deterministic fallbacks)."""
    out = tmp_path_factory.mktemp("eval_full")
    return out, run_eval(bench, out, settings=settings, llm=None, progress=False)


def _rates(section: dict, skip=("n", "by_length", "support", "confusion", "n_cited", "n_queries",
                                "classifier_errors", "classifier")):
    for k, v in section.items():
        if k in skip:
            continue
        if isinstance(v, dict):
            yield from _rates(v, skip)
        elif v is not None:
            yield k, v


def _window(d: dict):
    from tools.schemas import TimeWindow
    return TimeWindow(**d)


def _lines(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def test_end_to_end_without_llm(full_run):
    out, res = full_run
    for name in ("report.md", "metrics.json", "results.jsonl", *PLOTS):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    m = res["metrics"]
    assert m["n"] == NQ and m["system"]["failures"] == 0 and m["system"]["llm_calls_mean"] == 0
    for sysname, metrics in {"ours": m, **res["baselines"]}.items():  # a sanity bound, not the check
        for sec in ("temporal", "emotion", "joint", "rationale", "grounding"):
            for k, v in _rates(metrics[sec]):
                assert 0.0 <= v <= 1.0, (sysname, sec, k, v)
    assert set(res["baselines"]) == {"random", "majority", "retrieval_top1"}
    # the reported figures are the ones the result rows give, recomputed here by hand from the rows
    rows = _lines(out / "results.jsonl")
    top1 = [(_window(r["pred_windows"][0]) if r["pred_windows"] else None, _window(r["gt_window"])) for r in rows]
    ious = [p.iou(g) if p is not None else 0.0 for p, g in top1]
    ours = m["temporal"]
    assert math.isclose(ours["R1@0.5"], sum(x >= 0.5 for x in ious) / NQ)
    assert math.isclose(ours["mIoU"], sum(ious) / NQ)
    assert math.isclose(m["emotion"]["WAR"], sum(r["pred_label"] == r["gt_label"] for r in rows) / NQ)
    # and they beat the random baseline on both temporal measures and on the label (the test used to
    # accept either temporal measure); measured at the time of writing: R1@0.5 0.44 vs 0.22, mIoU 0.44 vs
    # 0.28, WAR 0.67 vs 0.00 (the retrieval baseline: 0.67, 0.67, 0.89)
    rnd = res["baselines"]["random"]
    assert ours["R1@0.5"] > rnd["temporal"]["R1@0.5"] and ours["mIoU"] > rnd["temporal"]["mIoU"]
    assert m["emotion"]["WAR"] > rnd["emotion"]["WAR"]
    # oracle label from the GT window: present for every query, and mostly right on these clear faces
    assert m["oracle_emotion"]["n"] == NQ and m["oracle_emotion"]["WAR"] >= 0.6
    # sufficiency classifies each rationale we gave back to a label
    assert m["sufficiency"]["classifier"] == "lexicon"
    assert m["sufficiency"]["n"] == sum(bool(r["pred_rationale"]) for r in rows) > 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["system"]["run"]["scored"] == NQ and "retrieval_top1" in saved["baselines"]
    report = (out / "report.md").read_text()
    assert f"| affectlens | {NQ} |" in report and "| retrieval_top1 |" in report and "## Run" in report
    assert "oracle" in report
    assert sorted(r["id"] for r in rows) == sorted(r.id for r in load_bench(res["run"]["bench"]).records)
    for r in rows:  # each query is answered, or asked back about whom it means (the reader's ask_person)
        asked = any(f.startswith("ask_person") for f in r["meta"]["flags"])
        assert r["error"] is None and r["meta"]["query"] and (asked or (r["pred_windows"] and r["pred_label"]))
    assert sum(bool(r["pred_windows"]) for r in rows) >= 2 * NQ // 3


def test_rerun_resumes_everything(full_run, bench, settings):
    out, first = full_run
    again = run_eval(bench, out, settings=settings, llm=None, progress=False)
    assert again["run"]["resumed"] == NQ and again["run"]["ran_now"] == 0
    assert len(_lines(out / "results.jsonl")) == NQ
    assert again["metrics"]["temporal"] == first["metrics"]["temporal"]


def test_resume_after_limit_and_crash(bench, settings, tmp_path):
    out = tmp_path / "run"
    part = run_eval(bench, out, settings=settings, llm=None, limit=2, progress=False)
    assert part["metrics"]["n"] == 2 and len(_lines(out / "results.jsonl")) == 2
    first_ids = [r["id"] for r in _lines(out / "results.jsonl")]
    # a crash mid-write leaves half a line behind
    with open(out / "results.jsonl", "a") as f:
        f.write('{"id": "bench_000_5_Q3", "gt_window": {"sta')
    full = run_eval(bench, out, settings=settings, llm=None, progress=False)
    assert full["run"]["resumed"] == 2 and full["run"]["ran_now"] == NQ - 2
    assert full["run"]["unreadable_result_lines"] == 1 and full["metrics"]["n"] == NQ
    text = (out / "results.jsonl").read_text().splitlines()
    good = []
    for ln in text:
        try:
            good.append(json.loads(ln)["id"])
        except ValueError:
            pass
    assert len(good) == len(set(good)) == NQ and good[:2] == first_ids
    results, _, bad = read_results(out / "results.jsonl")
    assert len(results) == NQ and bad == 1


def test_malformed_bench_lines_are_skipped_and_reported(bench, settings, tmp_path):
    lines = bench.read_text().splitlines()
    video = str((bench.parent / json.loads(lines[0])["video"]).resolve())
    rows = [json.loads(ln) | {"video": video} for ln in lines[:4]]
    bad_label = dict(rows[3], id="extra_1", label="Glee")
    text = "\n".join([json.dumps(rows[0]), "{not json", json.dumps(rows[1]), json.dumps(bad_label),
                      json.dumps(rows[2])]) + "\n"
    b = tmp_path / "messy.jsonl"
    b.write_text(text)
    res = run_eval(b, tmp_path / "out", settings=settings, llm=None, progress=False, on_error="skip")
    assert res["metrics"]["n"] == 3
    issues = res["run"]["bench_issues"]
    assert len(issues) == 2 and issues[0].startswith(f"{b}:2: malformed JSON") and f"{b}:4:" in issues[1]
    assert "unknown label 'Glee'" in issues[1]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Skipped bench records (2)" in report and "unknown label 'Glee'" in report
    with pytest.raises(BenchError, match=r"messy.jsonl:2: malformed JSON"):
        run_eval(b, tmp_path / "strict", settings=settings, llm=None, progress=False, on_error="stop")


def test_failed_and_hung_queries_are_recorded(bench, settings, tmp_path, monkeypatch):
    from graphs.api import Session

    recs = {r.id: r for r in load_bench(bench).records}
    video_ids = sorted(recs)
    boom, hang = recs[video_ids[0]].query, recs[video_ids[1]].query
    real_ask = Session.ask

    def ask(self, query, on_event=None):
        if query == boom:
            raise RuntimeError("boom")
        if query == hang:
            time.sleep(5)
        return real_ask(self, query, on_event)

    from tools.retrieval import embedder
    embedder().embed(["warm up"])  # so only the hung query can come near the cap
    monkeypatch.setattr(Session, "ask", ask)
    monkeypatch.setattr(runner, "hard_cap", lambda s: 2.0)
    ids = video_ids[:4]
    sub = tmp_path / "b.jsonl"
    sub.write_text("".join(ln + "\n" for ln in bench.read_text().splitlines() if json.loads(ln)["id"] in ids))
    shutil.copytree(bench.parent / "videos", tmp_path / "videos")
    res = run_eval(sub, tmp_path / "out", settings=settings, llm=None, progress=False)
    by_id = {r["id"]: r for r in _lines(tmp_path / "out" / "results.jsonl")}
    assert by_id[ids[0]]["error"] == "RuntimeError: boom"
    assert by_id[ids[1]]["error"].startswith("TimeoutError")
    assert by_id[ids[0]]["oracle_label"] and not by_id[ids[1]]["pred_windows"]
    for i in ids[2:]:  # queries after a failure and a timeout still run (fresh Session after the hang)
        asked = any(f.startswith("ask_person") for f in by_id[i]["meta"]["flags"])  # or are asked back
        assert by_id[i]["error"] is None and (by_id[i]["pred_windows"] or asked), by_id[i]
    sysm = res["metrics"]["system"]
    assert sysm["failures"] == 2 and sysm["failures_by_type"] == {"RuntimeError": 1, "TimeoutError": 1}
    assert math.isclose(sysm["failure_rate"], 0.5)
    assert "Failures by type" in (tmp_path / "out" / "report.md").read_text()
    for th in threading.enumerate():  # the abandoned hung question ends here, not inside a later test
        if th.name == "eval-query":
            th.join(120)


def test_bad_options(bench, settings, tmp_path):
    import importlib.util
    if importlib.util.find_spec("ray") is None:
        with pytest.raises(EvalError, match="ray executor not installed"):
            run_eval(bench, tmp_path, settings=settings, executor="ray")
    with pytest.raises(EvalError, match="unknown executor"):
        run_eval(bench, tmp_path, settings=settings, executor="dask")
    with pytest.raises(EvalError, match="workers"):
        run_eval(bench, tmp_path, settings=settings, workers=0)
    assert not (tmp_path / "results.jsonl").exists()


def test_cli(bench, settings, tmp_path, clips, monkeypatch, capsys):
    from evals import cli
    monkeypatch.setattr(runner, "get_settings", lambda: settings)
    rc = cli.main(["eval", str(bench), "--out", str(tmp_path / "o"), "--no-llm", "--limit", "3", "-q",
                   "--workers", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "affectlens" in out and "retrieval_top1" in out and "3 queries scored" in out
    assert (tmp_path / "o" / "report.md").is_file()
    rc = cli.main(["eval", str(bench), "--out", str(tmp_path / "o"), "--no-llm", "--field-map", "{bad"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--field-map is not valid JSON" in err
    labels = write_labels(tmp_path / "labels.csv", {"pexels_laughing.mp4": CLIPS["pexels_laughing.mp4"]})
    rc = cli.main(["bench", "build", str(clips), "--labels", str(labels), "--out", str(tmp_path / "b"),
                   "--queries", "2", "-q"])
    assert rc == 0 and "wrote 2 queries" in capsys.readouterr().out
    assert len(load_bench(tmp_path / "b" / "bench.jsonl").records) == 2


def test_ray_executor_gives_the_same_metrics(full_run, bench, settings, tmp_path):
    """A local Ray instance (ray.init on this machine): tasks index, an actor pool answers; the metrics
    match the local executor's and the results file is the same resumable format."""
    pytest.importorskip("ray")
    import ray
    try:
        res = run_eval(bench, tmp_path, settings=settings, llm=None, progress=False, executor="ray", workers=2)
    finally:
        ray.shutdown()
    _, local = full_run
    assert list(_rates(res["metrics"]["temporal"])) == list(_rates(local["metrics"]["temporal"]))
    assert list(_rates(res["metrics"]["emotion"])) == list(_rates(local["metrics"]["emotion"]))
    ids = [json.loads(x)["id"] for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == res["metrics"]["n"]


@pytest.mark.slow
def test_end_to_end_with_real_llm(bench, settings, llm, tmp_path):
    on = settings.model_copy(update={"llm_judge": True, "llm_rationale": True})  # off by default (settings.py)
    res = run_eval(bench, tmp_path, settings=on, llm=llm, limit=2, progress=False)
    m = res["metrics"]
    assert m["n"] == 2 and res["run"]["llm"] == llm.base_url
    rows = _lines(tmp_path / "results.jsonl")
    assert len(rows) == 2
    ok = [r for r in rows if r["error"] is None]
    # each answered question names a moment or asks which person (bench_000 has two: "when did they look so
    # down?" is asked back), and at least one names a moment, so the LLM roles ran on a real answer
    asked = [r for r in ok if any(f.startswith("ask_person") for f in r["meta"]["flags"])]
    assert ok and all(r["pred_windows"] or r in asked for r in ok), [(r["id"], r["meta"]["flags"]) for r in ok]
    assert any(r["pred_windows"] and r["llm_calls"] for r in ok), [(r["id"], r["llm_calls"]) for r in ok]
    assert sum(r["llm_calls"] for r in rows) > 0  # counted per query on the video's own client
    for sec in ("temporal", "emotion", "joint", "rationale"):
        for k, v in _rates(m[sec]):
            assert 0.0 <= v <= 1.0, (sec, k, v)
    assert m["sufficiency"]["classifier"] == "llm"
    for name in ("report.md", "metrics.json", *PLOTS):
        assert (tmp_path / name).is_file()


class _Spinning:
    """A Session stand-in whose question never ends by itself: it burns the CPU in 50-ms graph steps and
    reports each step to `on_event`, as graphs.api.Session.ask does (a safety stop after 20 s)."""

    def __init__(self):
        self.closed = threading.Event()
        self.stopped = threading.Event()
        self.steps = 0

    def ask(self, query, on_event=None):
        t_end = time.monotonic() + 20
        try:
            while time.monotonic() < t_end:
                t = time.monotonic()
                while time.monotonic() - t < 0.05:
                    pass
                self.steps += 1
                if on_event is not None:
                    on_event({"node": "verify", "events": []})
        finally:
            self.stopped.set()

    def close(self):
        self.closed.set()


def test_a_timed_out_question_stops_and_its_session_is_closed():
    """Past the cap the question is cancelled at its next graph step and its Session closed; it then uses
    no CPU while the next question is timed (the runner used to abandon the thread, still spinning, with
    its Session and SQLite handle open)."""
    s = _Spinning()
    t0 = time.monotonic()
    answer, exc, timed_out = runner._ask_capped(s, "when does she smile?", cap=0.5, grace=5)
    assert timed_out and answer is None and exc is None
    assert s.stopped.is_set() and s.closed.is_set() and time.monotonic() - t0 < 1.5
    steps, cpu = s.steps, time.process_time()
    time.sleep(0.5)
    assert s.steps == steps and time.process_time() - cpu < 0.1
    assert not [t for t in threading.enumerate() if t.name == "eval-query"]
