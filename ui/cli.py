"""`affectlens` command line. Errors the user can fix print one line and exit non-zero, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("GLOG_minloglevel", "3")


def _err(msg: str) -> None:
    print(f"affectlens: error: {msg}", file=sys.stderr)


def cmd_models(a) -> int:
    from tools.provision import describe
    rows = describe()
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        state = f"{r['size_mb']:>8.1f} MB  {r['path']}" if r["status"] == "ok" else f"  missing  ({r['error']})"
        print(f"{r['name']:<20} {state}")
    return 0


def cmd_index(a) -> int:
    from tools.index import build_index, index_status
    paths = a.video
    if len(paths) > 1 or os.path.isdir(paths[0]) or a.executor == "ray":
        return _index_many(a)
    a.video = paths[0]
    if a.status:
        print(json.dumps(index_status(a.video), indent=1))
        return 0
    if a.force:  # re-index from scratch (e.g. a damaged file's index, or after a decoder upgrade)
        from tools.index.decode import probe
        from tools.index.store import IndexConfig, drop_index, index_folder
        from tools.settings import get_settings
        st = get_settings()
        drop_index(index_folder(probe(a.video), IndexConfig.from_settings(st), st))
    idx = build_index(a.video, progress=not a.quiet)
    s = idx.summary
    print(f"indexed {idx.meta.path}: {s.windows} windows, {s.face_frames}/{s.frames} face frames, "
          f"{s.speech_s:.1f} s speech, {s.seconds:.1f} s ({'cached' if s.cached else f'RTF {s.realtime_factor:.3f}'})")
    flag = idx.damage_flag()
    if flag:  # said loudly: the index holds only what could be read
        from ui.notes import problem_note
        errs = idx.decode.errors
        print(f"WARNING: {problem_note(flag)} The index covers only what was read"
              + (f" ({len(errs)} decoder error(s), first: {errs[0]})" if errs else "") + ".", file=sys.stderr)
    return 0


def _index_many(a) -> int:
    """Several videos or a directory: one task per video, locally or on Ray; a line per finished video."""
    from tools.library import index_library
    from ui.notes import problem_note

    def on_done(i: int, n: int, job) -> None:
        if not a.quiet:
            extra = job.error if job.status == "failed" else f"{job.windows} windows" + (
                f" (WARNING: {problem_note(job.damage)})" if job.damage else "")
            print(f"[{i}/{n}] {job.status:<7} {job.video}: {extra}, {job.seconds:.1f} s", file=sys.stderr)

    summary = index_library(a.video, executor=a.executor, address=a.address, on_done=on_done)
    print(summary.line())
    return 1 if any(j.status == "failed" for j in summary.jobs) else 0


def _ask_library(a) -> int:
    """`affectlens ask DIR "…"`: one question across every indexed video in the directory, read by the same
    question reader as `affectlens ask VIDEO` (no language model is started for it)."""
    from graphs.library import ask_library
    from tools.schemas import hms
    ans = ask_library([a.video], a.query)
    if a.json:
        print(ans.model_dump_json(indent=1))
        return 0
    print(f"{ans.videos} videos, {ans.windows} windows searched in {ans.seconds:.1f} s"
          + (f" ({len(ans.missing)} not indexed yet)" if ans.missing else ""))
    for h in ans.hits:
        print(f"{h.rank}. {h.video}  {hms(h.window.start)}–{hms(h.window.end)}  {h.label}  (score {h.score:.2f})")
        print(f"   {h.descriptor}")
    return 0


def _print_answer(ans) -> None:
    from tools.schemas import hms
    ev = ans.evidence_by_id()
    if not ans.moments:
        print("No moment found.")
    for m in ans.moments:
        print(f"{m.rank}. {hms(m.window.start)}–{hms(m.window.end)}  {m.label}  "
              f"(confidence {m.confidence:.2f}{'' if m.verified else ', unverified'})")
        print(f"   {m.rationale}")
        for eid in m.evidence_ids:
            e = ev.get(eid)
            if e:
                print(f"   [{e.id}] {e.tool} @ {e.window.label()}: {e.text}")
    from ui.notes import human_notes
    for note in human_notes(ans.flags, web=False):  # the raw flags are in --json
        print(f"note: {note}")


def _arc_beside_stdout(ans):
    """`ask --json > FILE` on a summary / compare question: the arc picture is copied next to FILE
    (FILE's stem + _arc.png / _arc.svg) and the JSON names those copies; output to a terminal or a pipe
    keeps the index folder's copies (Linux: the output file is found through /proc/self/fd/1)."""
    import shutil
    try:
        target = Path(os.readlink("/proc/self/fd/1"))
    except OSError:
        return ans
    if not target.is_file():
        return ans
    paths = {}
    for key in ("image_path", "svg_path"):
        src = getattr(ans.arc, key)
        if src and Path(src).exists():
            dst = target.with_name(f"{target.stem}_arc{Path(src).suffix}")
            shutil.copyfile(src, dst)
            paths[key] = str(dst)
    return ans.model_copy(update={"arc": ans.arc.model_copy(update=paths)})


def _preload() -> None:
    """The sentence model every question uses loads while the graph's modules import: ~0.5-1.4 s less for
    a cold CLI question (3 alternating runs each, load 13 on 2 cores; issue 28)."""
    try:
        from tools.retrieval import embedder
        embedder()
    except Exception:  # noqa: BLE001 - the question loads it again and reports any error itself
        pass


def cmd_ask(a) -> int:
    import threading
    threading.Thread(target=_preload, daemon=True, name="affectlens-preload").start()
    from graphs.api import Session
    if os.path.isdir(a.video):
        if a.person is not None:
            raise SystemExit("affectlens ask: --person names a person of one video; it cannot be used with a directory")
        return _ask_library(a)

    def on_event(ev: dict) -> None:
        if a.quiet:
            return
        for e in ev.get("events", []):
            if "tool" in e and e.get("evidence"):
                print(f"  · {e['tool']:<10} {e['evidence']}: {e['text'][:110]}", file=sys.stderr)
            elif e.get("node") in ("interpret", "localise", "judge", "rationale"):
                print(f"  ▸ {e['node']}" + (f" ({e['seconds']} s)" if "seconds" in e else ""), file=sys.stderr)

    t0 = time.monotonic()
    with Session(a.video, progress=not a.quiet, session_id=a.session) as s:
        if not a.quiet:
            print(f"index ready ({'cached' if s.index.summary.cached else 'built'}, "
                  f"{time.monotonic() - t0:.1f} s); asking…", file=sys.stderr)
        ans = s.ask(a.query, on_event, person=a.person)
    if a.json and ans.arc is not None:
        ans = _arc_beside_stdout(ans)
    if a.json:
        print(ans.model_dump_json(indent=1))
    else:
        _print_answer(ans)
    if ans.arc is not None:  # a summary / compare question: its summary, and where its picture is
        if not a.json:
            print(ans.arc.text())
        print(f"arc picture: {ans.arc.image_path} (and {ans.arc.svg_path})", file=sys.stderr)
    return 0


def cmd_tool(a) -> int:
    """Run one registry tool on a window of a video (indexing it first, cached)."""
    from tools.index import build_index
    from tools.registry import REGISTRY, ToolContext, run_tool
    from tools.schemas import TimeWindow
    from tools.settings import get_settings

    if a.name not in REGISTRY:
        raise SystemExit(f"affectlens: error: unknown tool '{a.name}'; tools: {', '.join(REGISTRY)}")
    idx = build_index(a.video, progress=not a.quiet)
    end = idx.meta.duration if a.end is None else a.end
    w = TimeWindow.clamped(a.start, end, idx.meta.duration)

    ev, err, secs = run_tool(ToolContext(idx, get_settings()), a.name, w, "E1")
    if ev is None:
        _err(err or "tool failed")
        return 1
    print(ev.model_dump_json(indent=1) if a.json else f"[{ev.id}] {ev.tool} {ev.window.label()} ({secs:.2f} s): {ev.text}")
    return 0


def cmd_doctor(a) -> int:
    """Which model each skill uses here, and why: the same `tools.backends.choose()` the index and the
    graph use (the index config key records the index's part of it, printed last)."""
    from tools.backends import SKILLS, choose_skill
    from tools.errors import ModelMissing
    from tools.index.store import IndexConfig
    from tools.provision import describe
    from tools.settings import get_settings
    s = get_settings()
    rows = []
    for name in SKILLS:
        try:
            c = choose_skill(name, s)
            rows.append((name, f"{c.model} on {c.device}" + (f" ({c.path})" if c.path else "") + f"; {c.reason}"))
        except ModelMissing as e:  # doctor reports, never raises
            rows.append((name, f"ERROR: {e}"))
    if s.llm_url:
        from agents.llm import LLMClient
        try:
            served = LLMClient(s.llm_url, s.llm_model, s.llm_api_key, timeout=10, retries=0).check()
            rows.append(("llm server", f"{s.llm_url} serving {served}"))
        except Exception as e:  # doctor reports, never raises
            rows.append(("llm server", f"{s.llm_url} NOT reachable: {e}"))
    try:
        cfg = IndexConfig.from_settings(s)
        rows.append(("index config key", f"{cfg.key()} (" + ", ".join(f"{k}={v}" for k, v in cfg.backends.items())
                     + ")"))
    except ModelMissing as e:
        rows.append(("index config key", f"ERROR: {e}"))
    for r in describe():
        rows.append((f"model:{r['name']}", f"{r['status']} {r['path'] or r.get('error', '')}"))
    for k, v in rows:
        print(f"{k:<28} {v}")
    return 0


def cmd_ui(a) -> int:
    from ui.app import main as ui_main
    ui_main(host=a.host, port=a.port, video_dir=a.video_dir)
    return 0


def cmd_serve_llm(a) -> int:
    from agents.llm_server import serve
    from tools.provision import resolve
    from tools.settings import get_settings
    s = get_settings()
    if a.backend == "vllm":
        from agents import vllm_backend as vb
        if a.print_command:
            print(vb.printable(vb.gpu_command(s, a.model or s.vllm_model, a.port)))
            return 0
        if a.setup_only:
            py, model = vb.setup_cpu(s)
            print(f"vLLM CPU ready: {py} serving {model}")
            return 0
        srv = vb.VLLMCPUServer(s, port=a.port, log_path=s.cache_dir / "vllm_server.log")
        url = srv.start()
        print(f"vLLM (CPU build) serving {s.llm_model} at {url}; export AFFECTLENS_LLM_URL={url} "
              f"AFFECTLENS_LLM_MODEL={s.llm_model}  (Ctrl-C stops)", file=sys.stderr)
        try:
            srv.proc.wait()
        finally:
            srv.stop()
        return 0
    model = a.model or str(resolve(s.llm_gguf))
    print(f"serving {model} at http://{a.host}:{a.port}/v1  (set AFFECTLENS_LLM_URL to use it)", file=sys.stderr)
    serve(model, a.port, a.threads or s.llm_threads, s.llm_ctx, a.host)
    return 0


def cmd_eval_intent(a) -> int:
    """Aggregate accuracy of the trained question reader (evals/reader.py): on the frozen blind set with
    --blind (per field and per label only), else on FILE."""
    from evals.reader import run_blind, run_file
    print(run_blind() if a.blind else run_file(Path(a.file)))
    return 0


def cmd_train_reader(a) -> int:
    """Rebuild the question reader's weights from the corpus (agents/intent/train.py); --cv prints the
    leave-one-writer-out table that chose its constants, --cv-groups N every field with writers held out in
    N groups."""
    from agents.intent.train import corpus_by_writer, train
    from agents.intent.model import CORPUS_DIR, WEIGHTS_DIR
    corpus = Path(a.corpus) if a.corpus else CORPUS_DIR
    if a.cv or a.cv_person or a.cv_groups:
        from evals.reader import cross_validate, grouped_cv, person_grid
        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        if a.cv_groups:
            print(grouped_cv(corpus_by_writer(corpus), groups=a.cv_groups, log=log))
            return 0
        grid = person_grid if a.cv_person else cross_validate
        print(grid(corpus_by_writer(corpus), log=log))
        return 0
    train(corpus, Path(a.out) if a.out else WEIGHTS_DIR, log=lambda m: print(m, file=sys.stderr))
    return 0


def cmd_people(a) -> int:
    from tools.people import people_command
    try:
        print(people_command(a.video, a.name, a.json))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_export(a) -> int:
    """`affectlens export VIDEO --format F --out FILE`: the arc and moments for other tools (ui/export.py)."""
    from ui.export import export_video
    try:
        out = export_video(a.video, a.format, Path(a.out))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def cmd_report(a) -> int:
    """`affectlens report DIR --out report.html`: each indexed video's arc and strongest moments (ui/report.py)."""
    from ui.report import write_report
    out, n, missing = write_report(Path(a.folder), Path(a.out))
    print(f"wrote {out}: {n} video(s)" + (f", {missing} not indexed yet (affectlens index DIR)" if missing else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="affectlens", description="Find and explain emotional moments in videos.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("ask", help="answer a vague question about a video (or across an indexed directory)")
    p.add_argument("video", help="a video, or a directory of indexed videos")
    p.add_argument("query")
    p.add_argument("--json", action="store_true", help="print the Answer model as JSON")
    p.add_argument("--session", help="session id, to ask follow-ups about the same video")
    p.add_argument("--person", type=int, metavar="ID",
                   help="ask about this person's face track (ids from `affectlens people VIDEO`)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(fn=cmd_ask)

    p = sub.add_parser("index", help="index videos once (cached by content hash): PATH... or a directory")
    p.add_argument("video", nargs="+", metavar="PATH")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="ray: one Ray task per video (a local Ray instance, or --address HEAD:6379)")
    p.add_argument("--address", help="Ray cluster head, e.g. 10.0.0.1:6379 (with --executor ray)")
    p.add_argument("--status", action="store_true", help="show what is cached, do nothing")
    p.add_argument("--force", action="store_true", help="drop this video's cached index and build it again")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(fn=cmd_index)

    p = sub.add_parser("people", help="list the people in a video (id, position, screen/speaking time, thumbnail)")
    p.add_argument("video")
    p.add_argument("--name", action="append", metavar="ID=NAME", help="name a person, e.g. --name 2=Anna")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_people)

    p = sub.add_parser("export", help="the video's emotional arc and moments as csv, vtt, srt, edl, otio or json")
    p.add_argument("video")
    p.add_argument("--format", required=True, choices=["csv", "vtt", "srt", "edl", "otio", "json"])
    p.add_argument("--out", required=True, metavar="FILE", help="the arc picture (PNG, SVG) is written next to it")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("report", help="an HTML report of a folder: each indexed video's arc and strongest moments")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--out", default="report.html", metavar="FILE")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("models", help="list the offline models, where they are and their size")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_models)

    p = sub.add_parser("tool", help="run one perception tool on a window of a video")
    p.add_argument("name")
    p.add_argument("video")
    p.add_argument("--start", type=float, default=0.0)
    p.add_argument("--end", type=float)
    p.add_argument("--json", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(fn=cmd_tool)

    p = sub.add_parser("ui", help="open the Gradio chat UI (prints the local URL)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--video-dir", help="folder of videos to pick from")
    p.set_defaults(fn=cmd_ui)

    p = sub.add_parser("doctor", help="show which backend each part uses and why")
    p.set_defaults(fn=cmd_doctor)

    p = sub.add_parser("serve-llm", help="run the embedded llama.cpp OpenAI-compatible server")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--model", help="GGUF path (llama.cpp) or model id/path (vLLM GPU command)")
    p.add_argument("--threads", type=int)
    p.add_argument("--backend", choices=["llamacpp", "vllm"], default="llamacpp")
    p.add_argument("--print-command", action="store_true", help="vllm: print the GPU `vllm serve` line and exit")
    p.add_argument("--setup-only", action="store_true", help="vllm: create the CPU venv and model folder, then exit")
    p.set_defaults(fn=cmd_serve_llm)

    p = sub.add_parser("eval-intent", help="accuracy of the trained question reader (aggregate figures only)")
    p.add_argument("file", nargs="?", default="evals/data/intent_dev.jsonl",
                   help="a set of readings (agents/intent/reading.py) or a legacy intent set")
    p.add_argument("--blind", action="store_true", help="the frozen blind set (evals/data/reader_blind.jsonl)")
    p.set_defaults(fn=cmd_eval_intent)

    p = sub.add_parser("train-reader", help="rebuild the question reader from the written corpus")
    p.add_argument("--corpus", help="folder of corpus *.jsonl (default: agents/intent/data/corpus)")
    p.add_argument("--out", help="where to write the weights (default: agents/intent/data/reader)")
    p.add_argument("--cv", action="store_true", help="print the leave-one-writer-out table instead")
    p.add_argument("--cv-person", action="store_true",
                   help="print the leave-one-writer-out table of the person reference's cuts instead")
    p.add_argument("--cv-groups", type=int, default=0, metavar="N",
                   help="print every field's accuracy with the writers held out in N groups instead (4: ~15 min)")
    p.set_defaults(fn=cmd_train_reader)

    from evals.cli import add_commands
    add_commands(sub)

    a = ap.parse_args(argv)
    from agents.llm_server import exit_on_signals
    from tools.errors import AffectlensError
    exit_on_signals()  # SIGTERM/SIGHUP exit like Ctrl-C: child servers (embedded LLM) are stopped
    try:
        return a.fn(a)
    except AffectlensError as e:
        _err(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
