"""`affectlens eval` and `affectlens bench build`: registered on the main CLI's subparsers by
``add_commands(subparsers)``. Handlers return an exit code and raise AffectlensError subclasses for user
errors (the main CLI prints them as one line). ``python -m evals.cli ...`` runs them standalone.

    affectlens eval BENCH.jsonl --out DIR [--workers N] [--limit N] [--no-llm] [--field-map JSON]
                    [--strict] [--executor local|ray] [--video-root DIR] [-q]
    affectlens bench build CLIPS_DIR --labels LABELS.csv --out BENCH_DIR [--filler FILE ...] [--seed N]
                    [--queries N] [--clips-per-video N] [--llm] [-q]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evals.bench import BenchError
from tools.errors import AffectlensError


def _field_map(raw: str | None) -> dict[str, str] | None:
    """--field-map: inline JSON or the path of a JSON file, mapping our field names to the file's keys."""
    if raw is None:
        return None
    text = raw
    p = Path(raw).expanduser()
    if not raw.lstrip().startswith("{") and p.is_file():
        text = p.read_text(encoding="utf-8")
    try:
        fmap = json.loads(text)
    except ValueError as e:
        raise BenchError(f"--field-map is not valid JSON ({e}); e.g. '{{\"label\": \"emotion\"}}'") from None
    if not isinstance(fmap, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in fmap.items()):
        raise BenchError("--field-map must be a JSON object of strings, e.g. '{\"label\": \"emotion\"}'")
    return fmap


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def cmd_eval(a) -> int:
    from evals.runner import run_eval
    out = run_eval(a.bench, a.out, llm=not a.no_llm, workers=a.workers, field_map=_field_map(a.field_map),
                   on_error="stop" if a.strict else "skip", video_root=a.video_root, limit=a.limit,
                   progress=not a.quiet, executor=a.executor, address=a.address)
    m, run = out["metrics"], out["run"]
    rows = [("affectlens", m), *out["baselines"].items()]
    print(f"{'system':<16} {'R1@0.5':>7} {'mIoU':>6} {'WAR':>6} {'UAR':>6} {'Joint@0.5':>9}")
    for name, x in rows:
        print(f"{name:<16} {_pct(x['temporal']['R1@0.5']):>7} {_pct(x['temporal']['mIoU']):>6} "
              f"{_pct(x['emotion']['WAR']):>6} {_pct(x['emotion']['UAR']):>6} {_pct(x['joint']['Joint@0.5']):>9}")
    fails = m["system"]["failures"]
    print(f"{run['scored']} queries scored ({run['resumed']} resumed), {fails} failed, "
          f"{len(run['bench_issues'])} bench records skipped; report: {out['paths']['report']}")
    return 0


def cmd_bench_build(a) -> int:
    from evals.build import build_bench
    llm = None
    if a.llm:
        from agents.llm import client_from_settings
        llm = client_from_settings()
    if not a.quiet:
        print("building bench (re-encoding clips)…", file=sys.stderr)
    path = build_bench(a.clips_dir, a.labels, a.out, filler=a.filler or None, seed=a.seed,
                       queries_per_moment=a.queries, llm=llm, clips_per_video=a.clips_per_video)
    n = sum(1 for ln in path.read_text().splitlines() if ln.strip())
    print(f"wrote {n} queries to {path}")
    return 0


def _positive(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v!r}")
    return n


def add_commands(subparsers) -> None:
    """Register `eval` and `bench` (with `bench build`) on an argparse subparsers object."""
    p = subparsers.add_parser("eval", help="run the system on a benchmark file and write a report")
    p.add_argument("bench", help="benchmark file (JSONL or JSON; see evals/bench.py)")
    p.add_argument("--out", required=True, help="output folder (results.jsonl, report.md, metrics.json, plots); "
                                                 "re-running resumes from its results.jsonl")
    p.add_argument("--workers", type=_positive, default=1, help="videos processed in parallel (default 1)")
    p.add_argument("--limit", type=_positive, help="only the first N valid queries")
    p.add_argument("--no-llm", action="store_true", help="no LLM: the agent's deterministic fallbacks")
    p.add_argument("--field-map", help="JSON object (or a JSON file) mapping our fields to the file's keys, "
                                       "e.g. '{\"video\": \"video_path\", \"label\": \"emotion\"}'")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed record (default: skip "
                                                          "and list it in the report)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--address", help="ray cluster address (HEAD:6379); default: a local Ray instance")
    p.add_argument("--video-root", help="folder that relative video paths are under (default: the bench's folder)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(fn=cmd_eval)

    p = subparsers.add_parser("bench", help="benchmark tools")
    sub = p.add_subparsers(dest="bench_cmd", required=True)
    b = sub.add_parser("build", help="concatenate labelled clips into a benchmark with vague queries")
    b.add_argument("clips_dir")
    b.add_argument("--labels", required=True, help="CSV with columns file,label")
    b.add_argument("--out", required=True, help="output folder (videos/, bench.jsonl, manifest.json)")
    b.add_argument("--filler", action="append", help="clip placed between labelled clips (repeatable)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--queries", type=_positive, default=3, help="queries per moment (default 3)")
    b.add_argument("--clips-per-video", type=_positive, help="labelled clips per video (default: all in one)")
    b.add_argument("--llm", action="store_true", help="paraphrase the template queries with the LLM")
    b.add_argument("-q", "--quiet", action="store_true")
    b.set_defaults(fn=cmd_bench_build)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="affectlens")
    add_commands(ap.add_subparsers(dest="cmd", required=True))
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except AffectlensError as e:
        print(f"affectlens: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("affectlens: error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
