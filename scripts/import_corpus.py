"""Import writers' corpus files into agents/intent/data/corpus, leaving out every line that shares a 5-word
sequence with an evaluation file (evals/leak.py) or repeats a question already imported.

    .venv/bin/python scripts/import_corpus.py /path/to/writer/files/*.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.intent.model import CORPUS_DIR  # noqa: E402
from agents.intent.reading import Reading  # noqa: E402
from evals.leak import shared  # noqa: E402


def main(paths: list[str]) -> int:
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[str, str]] = set()
    kept = dropped = dup = 0
    for p in sorted(paths):
        out = []
        for line in Path(p).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            Reading.model_validate(d)
            key = (d["q"].strip().lower(), (d.get("prev") or "").strip().lower())
            if key in seen:
                dup += 1
                continue
            if shared(d["q"]) or shared(d.get("prev") or ""):
                dropped += 1
                continue
            seen.add(key)
            out.append(json.dumps(d, ensure_ascii=False))
            kept += 1
        (CORPUS_DIR / Path(p).name).write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"kept {kept}, dropped {dropped} sharing a 5-word sequence with an evaluation file, {dup} repeats")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
