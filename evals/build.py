"""Build a small benchmark from labelled clips: concatenate them (with filler between) into long videos,
write the ground truth in the loader's JSONL format (evals/bench.py) and generate vague queries.

Input: a folder of clips and a ``LABELS.csv`` with columns ``file,label`` (``file`` relative to the clips
folder or absolute; ``label`` one of the 13 labels or an alias, see agents.schemas.normalize_label).
Output in ``out_dir``::

    videos/<name>.mp4     the concatenated videos (H.264/AAC, 640x360, 25 fps; tools.index.decode.concat_videos)
    bench.jsonl           one record per query: id "<video>_<n>_Q<k>" (n = moment in that video, k = query),
                          video "videos/<name>.mp4" (relative to bench.jsonl), query, start, end, label,
                          rationale
    manifest.json         the clips, filler and spans of each video, and how queries were made

Ground-truth windows are the clips' exact spans in the output as concat_videos reports them (its
boundaries fall on frame times). Queries come from per-label templates (vague, mostly first-person),
optionally paraphrased by an LLM (``llm``: an agents.llm.LLMClient); any LLM failure falls back to the
templates for that moment.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agents.errors import LLMError
from evals.bench import BenchError, BenchRecord, load_bench, write_bench
from tools.labels import EMOTIONS, normalize_label
from tools.schemas import TimeWindow

# Vague queries per label: what a user half-remembers, not how an annotator would name it.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "Joy": ("when does she cheer up?", "I remember someone laughing", "the happy part",
            "where is the bit where they look really pleased?", "show me when the smiling starts",
            "that moment everyone seemed in a good mood"),
    "Sadness": ("when did they look so down?", "I remember someone being really sad",
                "the part where it gets gloomy", "show me the upsetting bit", "when does the mood drop?",
                "where do they look like they might cry?"),
    "Surprise": ("when was someone caught off guard?", "I remember a shocked face",
                 "the part where they can't believe it", "show me the surprised look",
                 "when does something unexpected happen?", "that wow moment"),
    "Disgust": ("when does someone look grossed out?", "I remember a face like something smelled bad",
                "the part where they seem repulsed", "show me the disgusted reaction",
                "when did someone turn their nose up?", "that yuck moment"),
    "Fear": ("when does someone look scared?", "I remember someone looking afraid",
             "the tense, frightened part", "show me when they get nervous",
             "where does the person seem panicked?", "the bit that felt anxious"),
    "Anger": ("when did someone get mad?", "I remember someone losing their temper",
              "the part where it gets heated", "show me the angry face", "when are they annoyed?",
              "that frustrated moment"),
    "Neutral": ("when is nothing much happening?", "I remember a calm stretch", "the quiet, flat part",
                "show me where they look unbothered", "when does the face stay blank?",
                "the uneventful bit"),
    "Horror": ("when does someone look horrified?", "I remember a terrified face",
               "the part that was truly frightening", "show me the moment of dread",
               "when does it turn nightmarish?", "that chilling bit"),
    "Love": ("when does someone look affectionate?", "I remember a tender moment",
             "the warm, loving part", "show me where they look at someone fondly",
             "when does it feel sweet?", "the heartfelt bit"),
    "Pride": ("when does someone look proud?", "I remember someone pleased with themselves",
              "the part where they feel accomplished", "show me the proud face",
              "when do they stand tall?", "that triumphant moment"),
    "Satisfaction": ("when does someone look satisfied?", "I remember a contented face",
                     "the part where they seem relieved", "show me when it all works out",
                     "when do they look pleased with how it went?", "the content bit"),
    "Trust": ("when does someone seem reassured?", "I remember someone looking at ease with another",
              "the part where they feel safe", "show me the trusting look",
              "when do they seem to believe what they hear?", "the reassuring bit"),
    "Anticipation": ("when does someone look eager?", "I remember waiting for something to happen",
                     "the part where they can't wait", "show me the expectant face",
                     "when do they look hopeful?", "the build-up bit"),
}

# What the face shows, per label: the GT rationale ("The person's face shows ...").
FACE_TEXT: dict[str, str] = {
    "Joy": "joy: a broad smile with raised cheeks and crinkled eyes",
    "Sadness": "sadness: inner brows raised, lip corners pulled down and a downcast gaze",
    "Surprise": "surprise: raised brows, wide-open eyes and a dropped jaw",
    "Disgust": "disgust: a wrinkled nose, raised upper lip and narrowed eyes",
    "Fear": "fear: raised and drawn-together brows, widened eyes and lips stretched back",
    "Anger": "anger: lowered, drawn-together brows, glaring eyes and pressed lips",
    "Neutral": "no particular emotion: a relaxed, neutral expression",
    "Horror": "horror: wide eyes, raised brows and a gaping, stretched mouth",
    "Love": "affection: a soft smile and warm, relaxed eyes",
    "Pride": "pride: a restrained smile with the head held high",
    "Satisfaction": "satisfaction: a relaxed, content smile",
    "Trust": "trust: a calm, open and relaxed expression",
    "Anticipation": "anticipation: attentive, slightly raised brows and an eager look",
}
assert set(TEMPLATES) == set(EMOTIONS) == set(FACE_TEXT)


def rationale_for(label: str) -> str:
    return f"The person's face shows {FACE_TEXT[label]}."


class _Paraphrases(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queries: list[str] = Field(min_length=1, max_length=8)


def paraphrase(llm, queries: Sequence[str], label: str) -> list[str]:
    """Ask the LLM to reword each query (same meaning, still vague, first person, no timestamps).
    Returns one query per input; an empty, too long or duplicate rewrite keeps the template.
    Raises LLMError when the LLM gives nothing usable."""
    msgs = [
        {"role": "system", "content": "You rewrite search questions about a video. Keep each one vague, casual "
                                      "and short (under 15 words), in the first person where natural, with the "
                                      "same meaning. Never add times, names or details. Reply with JSON."},
        {"role": "user", "content": f"The moment they look for shows {label}. Rewrite each of these "
                                    f"{len(queries)} questions, in order:\n"
                                    + "\n".join(f"{i}. {q}" for i, q in enumerate(queries, 1))
                                    + '\nReply as {"queries": [...]} with exactly '
                                    + f"{len(queries)} strings."},
    ]
    out = llm.structured(msgs, _Paraphrases, max_tokens=60 * len(queries) + 40, temperature=0.7, tag="paraphrase")
    got = [" ".join(q.split()) for q in out.queries]
    if not any(got):
        raise LLMError("paraphrase: empty output")
    result, seen = [], set()
    for i, q in enumerate(queries):
        p = got[i] if i < len(got) else ""
        ok = 3 <= len(p) <= 160 and p.lower() not in seen and not any(ch.isdigit() for ch in p)
        result.append(p if ok else q)
        seen.add(result[-1].lower())
    return result


def read_labels(labels_csv: str | os.PathLike, clips_dir: str | os.PathLike) -> list[tuple[Path, str]]:
    """(clip path, canonical label) per row of LABELS.csv; BenchError "file:line: ..." on any problem."""
    p, root = Path(labels_csv), Path(clips_dir)
    if not p.is_file():
        raise BenchError(f"labels file not found: {p}")
    if not root.is_dir():
        raise BenchError(f"clips folder not found: {root}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"cannot read labels file {p}: {e}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise BenchError(f"{p}:1: empty labels file")
    head = [h.strip().lower() for h in rows[0]]
    if "file" not in head or "label" not in head:
        raise BenchError(f"{p}:1: expected a header with columns 'file,label', got {rows[0]}")
    fi, li = head.index("file"), head.index("label")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(fi, li):
            raise BenchError(f"{p}:{line}: expected columns 'file,label', got {row}")
        name, raw = row[fi].strip(), row[li].strip()
        label = normalize_label(raw)
        if label is None:
            raise BenchError(f"{p}:{line}: unknown label {raw!r} (expected one of {', '.join(EMOTIONS)} or an alias)")
        clip = Path(name).expanduser()
        clip = clip if clip.is_absolute() else root / clip
        if not clip.is_file():
            raise BenchError(f"{p}:{line}: clip not found: {clip}")
        out.append((clip, label))
    if not out:
        raise BenchError(f"{p}: no labelled clips")
    return out


def build_bench(clips_dir: str | os.PathLike, labels_csv: str | os.PathLike, out_dir: str | os.PathLike,
                filler: str | os.PathLike | Sequence[str | os.PathLike] | None = None, seed: int = 0,
                queries_per_moment: int = 3, llm=None, clips_per_video: int | None = None,
                shuffle: bool = True, size: tuple[int, int] = (640, 360), fps: int = 25) -> Path:
    """Build the bench (see the module docstring); returns the path of bench.jsonl.

    filler: one clip or a list (used in turn) placed between labelled clips, and before the first one so
    no moment starts at 0 s. clips_per_video: labelled clips per output video (None: all in one).
    shuffle: order the clips randomly (by ``seed``); queries are drawn from the templates by ``seed`` too.
    """
    from tools.index.decode import concat_videos, probe

    if queries_per_moment < 1:
        raise BenchError("queries_per_moment must be >= 1")
    clips = read_labels(labels_csv, clips_dir)
    fillers = [] if filler is None else [filler] if isinstance(filler, (str, os.PathLike)) else list(filler)
    fillers = [Path(f).expanduser() for f in fillers]
    for f in fillers:
        if not f.is_file():
            raise BenchError(f"filler clip not found: {f}")
    for c, _ in clips:
        probe(c)  # MediaError for a broken clip, before any encoding
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(clips)
    per = clips_per_video or len(clips)
    if per < 1:
        raise BenchError("clips_per_video must be >= 1")
    out = Path(out_dir)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    records: list[BenchRecord] = []
    manifest = {"seed": seed, "queries_per_moment": queries_per_moment, "paraphrased_by_llm": 0,
                "filler": [str(f) for f in fillers], "videos": []}
    fill_i = 0
    for vi in range(0, len(clips), per):
        group = clips[vi:vi + per]
        name = f"bench_{vi // per:03d}"
        paths, roles = [], []
        for clip, label in group:
            if fillers:
                paths.append(fillers[fill_i % len(fillers)])
                roles.append(None)
                fill_i += 1
            paths.append(clip)
            roles.append(label)
        rel = f"videos/{name}.mp4"
        spans = concat_videos(paths, out / rel, size=size, fps=fps)
        vinfo = {"video": rel, "clips": []}
        n = 0
        for path, label, (s, e) in zip(paths, roles, spans):
            vinfo["clips"].append({"file": str(path), "label": label or "filler", "start": s, "end": e})
            if label is None:
                continue
            n += 1
            qs = rng.sample(TEMPLATES[label], min(queries_per_moment, len(TEMPLATES[label])))
            while len(qs) < queries_per_moment:  # more queries than templates: repeat with a variant
                qs.append(rng.choice(TEMPLATES[label]).rstrip("?") + ", roughly?")
            if llm is not None:
                try:
                    new = paraphrase(llm, qs, label)
                    manifest["paraphrased_by_llm"] += sum(a != b for a, b in zip(new, qs))
                    qs = new
                except Exception:  # noqa: BLE001 - any LLM trouble: keep the templates for this moment
                    pass
            for k, q in enumerate(qs, start=1):
                records.append(BenchRecord(id=f"{name}_{n}_Q{k}", video=rel, query=q, label=label,
                                           window=TimeWindow(start=s, end=e), rationale=rationale_for(label)))
        manifest["videos"].append(vinfo)
    bench = write_bench(records, out / "bench.jsonl")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    load_bench(bench)  # what we wrote must load strictly (ids unique, videos present)
    return bench
