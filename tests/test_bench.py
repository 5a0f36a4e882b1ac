"""Benchmark loader: schema, strict line-numbered validation, skip vs stop, field maps, aliases, fuzz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evals.bench import BenchLoad, BenchRecord, load_bench, parse_record, write_bench
from evals.bench import BenchError
from tools.schemas import TimeWindow


def rec(i: int = 1, **kw) -> dict:
    r = {"id": f"1024_1024_00001698_Q{i}", "video": "v1.mp4", "query": "when did I feel let down?",
         "start": 67.92, "end": 82.20, "label": "Sadness", "rationale": "voice breaks, looks away"}
    r.update(kw)
    return {k: v for k, v in r.items() if v is not ...}


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


@pytest.fixture
def vids(tmp_path: Path) -> Path:
    (tmp_path / "v1.mp4").write_bytes(b"\0" * 16)
    return tmp_path


# ------------------------------------------------------------------------------------------ happy


def test_load_canonical_jsonl(vids: Path):
    p = write_lines(vids / "b.jsonl", [rec(1), rec(2, video="v1", start=0, end=4.5, label="Joy")])
    load = load_bench(p)
    assert isinstance(load, BenchLoad) and load.ok and load.n_read == 2
    a, b = load.records
    assert a.id == "1024_1024_00001698_Q1" and a.window == TimeWindow(start=67.92, end=82.2)
    assert a.label == "Sadness" and a.rationale.startswith("voice")
    assert a.video == "v1.mp4" and a.video_path == str((vids / "v1.mp4").resolve())
    assert b.video_path == a.video_path  # bare id resolved by trying .mp4


def test_window_forms_and_time_strings(tmp_path: Path):
    p = write_lines(tmp_path / "b.jsonl", [
        rec(1, start=..., end=..., window=[1, 2]),
        rec(2, start=..., end=..., timestamps=["00:01:07.92", "01:22.2"]),
        rec(3, start=..., end=..., timestamps=[[3, 4]]),
        rec(4, start="5.5", end="7"),
        rec(5, start=..., end=..., window={"start": 8, "end": 9}),
    ])
    ws = [r.window for r in load_bench(p, check_videos=False).records]
    assert [(w.start, w.end) for w in ws] == [(1, 2), (67.92, 82.2), (3, 4), (5.5, 7), (8, 9)]


def test_json_list_and_wrapped(tmp_path: Path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps([rec(1), rec(2)]))
    assert len(load_bench(p, check_videos=False).records) == 2
    for key in ("records", "data"):
        p.write_text(json.dumps({"version": 1, key: [rec(1), rec(2), rec(3)]}, indent=2))
        assert len(load_bench(p, check_videos=False).records) == 3


def test_aliases():
    assert BenchRecord(id="x", video="v", query="q", window=TimeWindow(start=0, end=1), label="Happy").label == "Joy"
    for raw, want in [("Happy", "Joy"), ("Angry", "Anger"), ("Sad", "Sadness"), (" sad ", "Sadness"),
                      ("surprise", "Surprise")]:
        assert parse_record(rec(label=raw)).label == want


def test_id_int_and_missing_rationale(tmp_path: Path):
    p = write_lines(tmp_path / "b.jsonl", [rec(id=7, rationale=...), rec(2, rationale=None)])
    r = load_bench(p, check_videos=False).records
    assert r[0].id == "7" and r[0].rationale == "" and r[1].rationale == ""


def test_field_map_released_names(tmp_path: Path):
    rows = [{"id": f"c_Q{i}", "video_path": "v1.mp4", "query": "q", "timestamps": [1, 2 + i],
             "emotion": "Angry", "Summary": f"reason {i}", "extra": {"ignored": True}} for i in range(3)]
    p = tmp_path / "rel.json"
    p.write_text(json.dumps({"data": rows}))
    fmap = {"video": "video_path", "label": "emotion", "rationale": "Summary"}
    load = load_bench(p, field_map=fmap, check_videos=False)
    assert [r.label for r in load.records] == ["Anger"] * 3
    assert load.records[2].rationale == "reason 2" and load.records[2].window.end == 4
    # a mapped key is also found case-insensitively
    assert load_bench(p, field_map={**fmap, "rationale": "summary"}, check_videos=False).records[0].rationale == "reason 0"
    # without the map the same file reports the missing canonical field on the record's line
    with pytest.raises(BenchError, match=r"rel\.json:1: .*missing field 'video'"):
        load_bench(p, check_videos=False)
    with pytest.raises(BenchError, match="field_map"):
        load_bench(p, field_map={"emotion": "label"})


def test_write_roundtrip(tmp_path: Path):
    recs = [parse_record(rec(i, label=lab)) for i, lab in enumerate(["Joy", "Fear", "Trust"])]
    p = write_bench(recs, tmp_path / "sub" / "out.jsonl")
    again = load_bench(p, check_videos=False).records
    assert again == recs


# ----------------------------------------------------------------------------------------- errors

BAD = {
    "bad_json": ('{"id": "x", "video": ', "malformed JSON"),
    "missing": (rec(query=...), "missing field 'query'"),
    "end_le_start": (rec(start=5, end=5), "end (5) must be after start (5)"),
    "end_before": (rec(start=9, end=3), "must be after start"),
    "negative": (rec(start=-1, end=3), "negative time"),
    "unknown_label": (rec(label="Bliss"), "unknown label 'Bliss'"),
    "not_object": ([1, 2], "expected a JSON object"),
    "nan": (rec(end=float("nan")), "must be finite"),
    "two_windows": (rec(start=..., end=..., window=[[1, 2], [3, 4]]), "holds 2 windows"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_error_stops_with_line(tmp_path: Path, case: str):
    bad, msg = BAD[case]
    p = write_lines(tmp_path / "b.jsonl", [rec(1), "", rec(2), bad, rec(3)])
    with pytest.raises(BenchError) as ei:
        load_bench(p, check_videos=False)
    assert str(ei.value).startswith(f"{p}:4: ")
    assert msg in str(ei.value)


def test_skip_collects_all_issues_with_lines(vids: Path):
    lines = [
        rec(1),                                # 1 ok
        '{"id": "broken"',                     # 2 malformed JSON
        rec(3, query=...),                     # 3 missing field
        rec(4, start=10, end=2),               # 4 end <= start
        rec(5, label="Bliss"),                 # 5 unknown label
        rec(1, query="another"),               # 6 duplicate id of line 1
        rec(7, video="nope.mp4"),              # 7 video missing
        "",                                    # 8 blank: skipped silently
        rec(9, start=-3),                      # 9 negative time
        rec(10, label="Happy"),                # 10 ok (alias)
    ]
    p = write_lines(vids / "b.jsonl", lines)
    load = load_bench(p, on_error="skip")
    assert [r.id for r in load.records] == [rec(1)["id"], rec(10)["id"]]
    assert load.records[1].label == "Joy"
    assert [i.line for i in load.issues] == [2, 3, 4, 5, 6, 7, 9]
    msgs = {i.line: i.message for i in load.issues}
    assert "malformed JSON" in msgs[2]
    assert "missing field 'query'" in msgs[3]
    assert "must be after start" in msgs[4]
    assert "unknown label" in msgs[5]
    assert "duplicate id" in msgs[6] and "first on line 1" in msgs[6]
    assert "video file not found" in msgs[7] and "nope.mp4" in msgs[7]
    assert "negative time" in msgs[9]
    assert load.issues[4].id == rec(1)["id"] and load.issues[0].id is None
    assert load.n_read == 9
    # stop raises the first one, "file:line: message"
    with pytest.raises(BenchError, match=rf"^{p}:2: malformed JSON"):
        load_bench(p)


def test_missing_video_and_video_root(vids: Path, tmp_path_factory):
    other = tmp_path_factory.mktemp("bench")
    p = write_lines(other / "b.jsonl", [rec(1)])
    with pytest.raises(BenchError, match=r"b\.jsonl:1: .*video file not found: v1\.mp4 under"):
        load_bench(p)  # resolves against the bench file's folder, which lacks v1.mp4
    assert load_bench(p, video_root=vids).records[0].video_path == str((vids / "v1.mp4").resolve())
    assert load_bench(p, check_videos=False).records[0].video_path is None
    p2 = write_lines(other / "abs.jsonl", [rec(1, video=str(vids / "v1.mp4"))])
    assert load_bench(p2).ok


def test_json_list_line_numbers(tmp_path: Path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps([rec(1), rec(2), rec(3, label="Bliss")], indent=2))
    text = p.read_text().split("\n")
    want = [i + 1 for i, s in enumerate(text) if s == "  {"][2]
    with pytest.raises(BenchError, match=rf":{want}: record 3 .*unknown label"):
        load_bench(p, check_videos=False)
    load = load_bench(p, check_videos=False, on_error="skip")
    assert load.issues[0].line == want and load.issues[0].record == 3


def test_file_level_errors(tmp_path: Path):
    with pytest.raises(BenchError, match="not found"):
        load_bench(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(BenchError, match="no records"):
        load_bench(tmp_path / "empty.jsonl", on_error="skip")
    (tmp_path / "bad.json").write_text('[\n{"id": 1},\n{oops}\n]')
    with pytest.raises(BenchError, match=r"bad\.json:3: malformed JSON"):
        load_bench(tmp_path / "bad.json", on_error="skip")
    (tmp_path / "bin.jsonl").write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(BenchError, match="UTF-8"):
        load_bench(tmp_path / "bin.jsonl")
    (tmp_path / "obj.json").write_text('{"items": []}')
    with pytest.raises(BenchError, match="'records' or 'data'"):
        load_bench(tmp_path / "obj.json")
    with pytest.raises(BenchError, match="on_error"):
        load_bench(tmp_path / "obj.json", on_error="ignore")  # type: ignore[arg-type]


def test_unicode_line_separator_inside_string(tmp_path: Path):
    p = tmp_path / "b.jsonl"
    p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [rec(1, query="a\u2028b"), rec(2)]) + "\n")
    assert [r.query for r in load_bench(p, check_videos=False).records][0] == "a\u2028b"


# ------------------------------------------------------------------------------------------- fuzz

KEYS = ["id", "video", "query", "start", "end", "window", "timestamps", "label", "rationale", "Summary"]
scalars = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(["Happy", "Joy", "Bliss", "00:01:02.5", "1e999", "-0", "3", "v1.mp4"]))
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), kids, max_size=3),
                      max_leaves=8)
records = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), values, max_size=10)
files = st.one_of(
    st.lists(records | values, max_size=5).map(lambda rs: "\n".join(json.dumps(r) for r in rs)),
    st.lists(records, max_size=4).map(json.dumps),
    st.lists(records, max_size=4).map(lambda rs: json.dumps({"records": rs})),
    st.text(max_size=80),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=files, suffix=st.sampled_from([".jsonl", ".json", ".txt"]),
       on_error=st.sampled_from(["stop", "skip"]), check=st.booleans(),
       fmap=st.sampled_from([None, {"rationale": "Summary"}, {"window": "timestamps"}]))
def test_fuzz_only_bench_errors(tmp_path_factory, text, suffix, on_error, check, fmap):
    d = tmp_path_factory.getbasetemp() / "fuzz"
    d.mkdir(exist_ok=True)
    (d / "v1.mp4").write_bytes(b"x")
    p = d / f"bench{suffix}"
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load = load_bench(p, on_error=on_error, check_videos=check, field_map=fmap)
    except BenchError as e:
        assert str(e)
        return
    assert isinstance(load, BenchLoad)
    ids = [r.id for r in load.records]
    assert len(ids) == len(set(ids))
    assert len(load.records) + len(load.issues) == load.n_read
    assert all(r.window.end > r.window.start >= 0 for r in load.records)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=64))
def test_fuzz_raw_bytes(tmp_path_factory, data):
    """Raw bytes give a BenchError that names the file and a line, or a load in which every record read
    is accounted for (good ones plus issues, each at a line of the file); stopping on the first issue
    then fails at that very line."""
    p = tmp_path_factory.getbasetemp() / "raw.jsonl"
    p.write_bytes(data)
    n_lines = data.count(b"\n") + 1
    try:
        load = load_bench(p, on_error="skip", check_videos=False)
    except BenchError as e:
        m = re.match(rf"{re.escape(str(p))}:(\d+): ", str(e))
        assert m and 1 <= int(m.group(1)) <= n_lines, str(e)
        return
    assert load.n_read >= 1 and len(load.records) + len(load.issues) == load.n_read
    assert all(1 <= i.line <= n_lines for i in load.issues)
    if load.issues:
        with pytest.raises(BenchError, match=rf"^{re.escape(str(p))}:{load.issues[0].line}: "):
            load_bench(p, on_error="stop", check_videos=False)
    else:
        assert load_bench(p, on_error="stop", check_videos=False).records == load.records
