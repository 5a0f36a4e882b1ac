"""`affectlens` command line. Errors the user can fix print one line and exit non-zero, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

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
    if a.status:
        print(json.dumps(index_status(a.video), indent=1))
        return 0
    idx = build_index(a.video, progress=not a.quiet)
    s = idx.summary
    print(f"indexed {idx.meta.path}: {s.windows} windows, {s.face_frames}/{s.frames} face frames, "
          f"{s.speech_s:.1f} s speech, {s.seconds:.1f} s ({'cached' if s.cached else f'RTF {s.realtime_factor:.3f}'})")
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
    if ans.flags:
        print("flags: " + "; ".join(ans.flags))


def cmd_ask(a) -> int:
    from graphs.api import Session

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
        ans = s.ask(a.query, on_event)
    if a.json:
        print(ans.model_dump_json(indent=1))
    else:
        _print_answer(ans)
    return 0


def cmd_serve_llm(a) -> int:
    from agents.llm_server import serve
    from tools.provision import resolve
    from tools.settings import get_settings
    s = get_settings()
    model = a.model or str(resolve(s.llm_gguf))
    print(f"serving {model} at http://{a.host}:{a.port}/v1  (set AFFECTLENS_LLM_URL to use it)", file=sys.stderr)
    serve(model, a.port, a.threads or s.llm_threads, s.llm_ctx, a.host)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="affectlens", description="Find and explain emotional moments in videos.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("ask", help="answer a vague question about a video")
    p.add_argument("video")
    p.add_argument("query")
    p.add_argument("--json", action="store_true", help="print the Answer model as JSON")
    p.add_argument("--session", help="session id, to ask follow-ups about the same video")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(fn=cmd_ask)

    p = sub.add_parser("index", help="index a video once (cached by content hash)")
    p.add_argument("video")
    p.add_argument("--status", action="store_true", help="show what is cached, do nothing")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(fn=cmd_index)

    p = sub.add_parser("models", help="list the offline models, where they are and their size")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_models)

    p = sub.add_parser("serve-llm", help="run the embedded llama.cpp OpenAI-compatible server")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--model", help="GGUF path (default: the packaged model)")
    p.add_argument("--threads", type=int)
    p.set_defaults(fn=cmd_serve_llm)

    a = ap.parse_args(argv)
    from tools.errors import AffectlensError
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
