"""Question latency on the bundled sample with each LLM backend, in one run (index built first, cached).

    .venv/bin/python scripts/bench_query.py [--backends llamacpp vllm] [--repeats 1]

For each backend: start its server (embedded llama.cpp, or vLLM's CPU build from
`affectlens serve-llm --backend vllm --setup-only`), ask the same questions in fresh sessions, and
print the median seconds per question, LLM calls and whether the answer needed a fallback.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUERIES = ["when does she cheer up?", "find the saddest moment", "the part where her face is hidden"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", nargs="+", default=["llamacpp", "vllm"])
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    from agents.llm import LLMClient
    from agents.llm_server import EmbeddedServer
    from agents.vllm_backend import VLLMCPUServer
    from graphs.api import Session
    from tools.index import build_index
    from tools.provision import resolve
    from tools.settings import get_settings

    s = get_settings()
    sample = ROOT / "assets" / "sample_pexels.mp4"
    idx = build_index(sample, s, progress=False)
    rows = []
    for backend in a.backends:
        t0 = time.monotonic()
        srv = EmbeddedServer(resolve(s.llm_gguf), s.llm_threads) if backend == "llamacpp" else VLLMCPUServer(s)
        url = srv.start(timeout=600)
        start_s = time.monotonic() - t0
        times, calls, flags = [], [], 0
        try:
            for _ in range(a.repeats):
                for q in QUERIES:
                    client = LLMClient(url, s.llm_model, timeout=120)
                    with Session(sample, s, llm=client, index=idx) as sess:
                        t = time.monotonic()
                        ans = sess.ask(q)
                        times.append(time.monotonic() - t)
                    calls.append(client.stats.calls)
                    flags += any(f.startswith("llm_fallback") for f in ans.flags)
                    print(f"{backend:<9} {times[-1]:6.1f} s  {q!r} -> "
                          f"{ans.moments[0].window.label() if ans.moments else '-'} "
                          f"{ans.moments[0].label if ans.moments else ''}", flush=True)
        finally:
            srv.stop()
        rows.append((backend, start_s, statistics.median(times), statistics.mean(calls), flags))
    print(f"\n{'backend':<10}{'server start s':>15}{'median s/question':>19}{'LLM calls':>11}{'fallbacks':>11}")
    for b, st, med, c, f in rows:
        print(f"{b:<10}{st:>15.1f}{med:>19.1f}{c:>11.1f}{f:>11}")


if __name__ == "__main__":
    main()
