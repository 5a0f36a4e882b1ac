"""Bench builder on real labelled clips (cut from the shipped media, tests/conftest.py CLIPS): GT spans
are where the clips really are in the concatenated video (checked frame by frame), ids are unique, the
loader accepts the file, queries come from templates or an LLM paraphrase with a template fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from filelock import FileLock

from evals.bench import load_bench
from evals.build import TEMPLATES, build_bench, paraphrase, rationale_for, read_labels
from evals.bench import BenchError
from tools.index.decode import iter_frames, probe
from tests.conftest import CLIPS

FPS = 25
N = len(CLIPS)  # labelled clips, i.e. moments; 3 queries each


def write_labels(path: Path, rows: dict[str, str]) -> Path:
    path.write_text("file,label\n" + "".join(f"{f},{lab}\n" for f, lab in rows.items()))
    return path


def shared_bench(clips: Path, faces: Path, tmp_path_factory) -> Path:
    """The bench of the labelled clips (no-face filler between them), built once per test session and
    shared with tests/test_runner.py. Returns bench.jsonl."""
    root = tmp_path_factory.getbasetemp() / "clip_bench"
    root.mkdir(exist_ok=True)
    with FileLock(str(root) + ".lock"):
        bench = root / "out" / "bench.jsonl"
        if not bench.exists():
            labels = write_labels(root / "labels.csv", CLIPS)
            build_bench(clips, labels, root / "out", filler=faces / "no_face.mp4", seed=0)
    return bench


@pytest.fixture(scope="module")
def bench(clips, faces, tmp_path_factory) -> Path:
    return shared_bench(clips, faces, tmp_path_factory)


def _decodable_length(path: Path) -> float:
    """Seconds of video frames that actually decode (some clips stop decoding before their stated end)."""
    meta = probe(path)
    last = max(t for t, _ in iter_frames(path, fps=0, max_side=64))
    return min(meta.duration, last + 1.0 / meta.fps)


def test_spans_match_the_concatenated_clips(bench):
    manifest = json.loads((bench.parent / "manifest.json").read_text())
    (video,) = manifest["videos"]
    clips = video["clips"]
    assert [c["label"] for c in clips[::2]] == ["filler"] * N and len(clips) == 2 * N
    assert sorted(Path(c["file"]).name for c in clips[1::2]) == sorted(CLIPS)
    # contiguous from 0, ending where the video ends
    assert clips[0]["start"] == 0
    for a, b in zip(clips, clips[1:]):
        assert a["end"] == b["start"]
    out = bench.parent / video["video"]
    assert abs(clips[-1]["end"] - probe(out).duration) <= 1.0 / FPS + 1e-6
    # each span lasts as long as its clip (to one output frame plus one source frame)
    for c in clips:
        src = Path(c["file"])
        assert abs((c["end"] - c["start"]) - _decodable_length(src)) <= 1.0 / FPS + 1.0 / probe(src).fps + 1e-6, c
    # and the GT records are exactly the labelled spans, with the CSV's labels
    recs = load_bench(bench).records
    spans = {(c["start"], c["end"]): c for c in clips if c["label"] != "filler"}
    for r in recs:
        c = spans[(r.window.start, r.window.end)]
        assert r.label == CLIPS[Path(c["file"]).name] == c["label"]
        assert r.video == video["video"] and r.video_path == str(out.resolve())


def test_boundaries_are_frame_accurate(bench):
    """The labelled clips are square, so they are letterboxed with black side bars; the no-face filler
    fills the frame. Where the bars appear and vanish must be where the GT windows start and end."""
    manifest = json.loads((bench.parent / "manifest.json").read_text())
    out = bench.parent / manifest["videos"][0]["video"]
    frames = [(t, float(img[:, :100].mean()) < 10) for t, img in iter_frames(out, fps=0, max_side=10_000)]
    runs, cur = [], None
    for t, is_clip in frames:
        if is_clip and cur is None:
            cur = t
        elif not is_clip and cur is not None:
            runs.append((cur, t))
            cur = None
    if cur is not None:
        runs.append((cur, frames[-1][0] + 1.0 / FPS))
    gt = sorted({(r.window.start, r.window.end) for r in load_bench(bench).records})
    assert len(runs) == len(gt) == N
    for (s, e), (gs, ge) in zip(runs, gt):
        assert abs(s - gs) < 0.5 / FPS and abs(e - ge) < 0.5 / FPS, ((s, e), (gs, ge))


def test_ids_queries_rationales(bench):
    load = load_bench(bench)
    assert load.ok and load.n_read == 3 * N and len(load.records) == 3 * N
    ids = [r.id for r in load.records]
    assert len(set(ids)) == 3 * N
    assert {i.rsplit("_", 2)[0] for i in ids} == {"bench_000"}
    by_moment: dict[str, list] = {}
    for r in load.records:
        by_moment.setdefault(r.id.rsplit("_", 1)[0], []).append(r)
    assert len(by_moment) == N and all(len(v) == 3 for v in by_moment.values())
    for rs in by_moment.values():
        assert len({r.window for r in rs}) == 1 and len({r.label for r in rs}) == 1
        assert len({r.query for r in rs}) == 3  # three different queries per moment
        assert all(r.query in TEMPLATES[r.label] for r in rs)
        assert all(r.rationale == rationale_for(r.label) and r.rationale.startswith("The person's face shows")
                   for r in rs)


def test_label_file_problems(tmp_path, clips):
    happy, sad = "pexels_laughing.mp4", "pexels_crying.mp4"
    with pytest.raises(BenchError, match=r"labels.csv:3: unknown label 'Glee'"):
        read_labels(write_labels(tmp_path / "labels.csv", {happy: "happy", sad: "Glee"}), clips)
    with pytest.raises(BenchError, match="clip not found"):
        read_labels(write_labels(tmp_path / "labels.csv", {"nope.mp4": "Joy"}), clips)
    (tmp_path / "bad.csv").write_text(f"name,emotion\n{happy},Joy\n")
    with pytest.raises(BenchError, match="file,label"):
        read_labels(tmp_path / "bad.csv", clips)
    with pytest.raises(BenchError, match="not found"):
        read_labels(tmp_path / "missing.csv", clips)
    labels = write_labels(tmp_path / "labels.csv", {happy: " Happy ", sad: "sad"})
    rows = read_labels(labels, clips)
    assert [lab for _, lab in rows] == ["Joy", "Sadness"] and [p.name for p, _ in rows] == [happy, sad]


WORDS = ("one", "two", "three", "four")


class _StubLLM:
    def __init__(self):
        self.calls = 0

    def structured(self, messages, schema, **kw):
        self.calls += 1
        n = messages[-1]["content"].count("\n") - 1  # the numbered queries
        return schema(queries=[f"that bit where I felt it, take {w}" for w in WORDS[:n]])


def test_llm_paraphrase_and_fallback(tmp_path, clips, scripted_llm):
    from agents.llm import LLMClient

    labels = write_labels(tmp_path / "labels.csv", {"pexels_laughing.mp4": "Joy"})
    plain = load_bench(build_bench(clips, labels, tmp_path / "plain", seed=3)).records
    assert len(plain) == 3 and {r.window.start for r in plain} == {0.0}
    assert all(r.query in TEMPLATES["Joy"] for r in plain)

    stub = _StubLLM()
    para = load_bench(build_bench(clips, labels, tmp_path / "para", seed=3, llm=stub)).records
    assert stub.calls == 1
    assert [r.query for r in para] == [f"that bit where I felt it, take {w}" for w in WORDS[:3]]
    assert json.loads((tmp_path / "para" / "manifest.json").read_text())["paraphrased_by_llm"] == 3

    garbage = LLMClient(scripted_llm("garbage"), "scripted", timeout=5, retries=0)
    fallback = load_bench(build_bench(clips, labels, tmp_path / "fb", seed=3, llm=garbage)).records
    assert [r.query for r in fallback] == [r.query for r in plain]  # same seed, templates kept


def test_paraphrase_keeps_templates_for_bad_rewrites():
    class Dup:
        def structured(self, messages, schema, **kw):
            return schema(queries=["same words", "same words", "at 00:12 she smiles"])
    qs = ["a?", "b?", "c?"]
    assert paraphrase(Dup(), qs, "Joy") == ["same words", "b?", "c?"]
