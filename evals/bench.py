"""VQAU-Bench style benchmark files: typed records, a strict loader and a JSONL writer.

Expected schema (one object per record; JSONL, a JSON list, or ``{"records": [...]}`` /
``{"data": [...]}``)::

    {"id": "1024_1024_00001698_Q1",          # unique, str (an int is accepted and stringified)
     "video": "videos/1024_1024_00001698.mp4", # path (relative to video_root or the bench file's
                                               #   folder) or a bare id; ".mp4" etc. are tried
     "query": "when did I feel let down?",
     "start": 67.92, "end": 82.20,             # seconds; or "window": [s, e] / "timestamps": [s, e]
     "label": "Sadness",                       # one of the 13 labels or an alias (Sad -> Sadness)
     "rationale": "..."}                       # optional, the annotators' "Summary"

Times may be numbers, numeric strings or "HH:MM:SS(.ff)" / "MM:SS(.ff)" strings. Unknown keys are
ignored. VQAU-Bench's own key names are unpublished, so released files are read with a field map
from our canonical names to theirs, e.g.
``{"video": "video_path", "label": "emotion", "rationale": "Summary"}``; a mapped key is looked up
exactly first, then case-insensitively.

Every problem becomes a :class:`BenchIssue` numbered by the line the record starts on (JSONL line,
or the line of the record's opening brace in a JSON file) and its 1-based record index.
``on_error="stop"`` raises :class:`tools.errors.BenchError` with ``"file:line: message"`` for the
first problem; ``on_error="skip"`` drops bad records and returns the issues alongside the good ones.
Problems with the file itself (missing, unreadable, not JSON at all, no records, a bad field map)
always raise.

Over 350 lines on purpose: one file format, its typed record and every validation rule with its
line-numbered message, read together.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.errors import AffectlensError
from tools.labels import EMOTIONS, Emotion, normalize_label
from tools.schemas import TimeWindow


class BenchError(AffectlensError):
    """A benchmark file is malformed."""


FIELDS = ("id", "video", "query", "start", "end", "window", "label", "rationale")
WINDOW_KEYS = ("window", "timestamps")
VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v")
_HMS = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$")


class BenchRecord(BaseModel):
    """One benchmark query: a video, a vague query, the annotated window, label and rationale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    video: str = Field(min_length=1, description="as written in the bench file: a path or an id")
    query: str = Field(min_length=1)
    window: TimeWindow
    label: Emotion
    rationale: str = ""
    video_path: str | None = Field(default=None, description="resolved absolute path, when checked")

    @field_validator("label", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        if isinstance(v, str):
            return normalize_label(v) or v
        return v


class BenchIssue(BaseModel):
    """One problem found while loading; ``line`` is 1-based (0 = no line, e.g. file-level)."""

    model_config = ConfigDict(frozen=True)

    line: int = 0
    record: int = 0
    id: str | None = None
    message: str

    def format(self, path: str | Path) -> str:
        return f"{path}:{self.line}: {self.message}"


class BenchLoad(BaseModel):
    path: str
    records: list[BenchRecord] = Field(default_factory=list)
    issues: list[BenchIssue] = Field(default_factory=list)
    n_read: int = Field(default=0, description="records seen, good or bad")

    @property
    def ok(self) -> bool:
        return not self.issues

    def by_id(self) -> dict[str, BenchRecord]:
        return {r.id: r for r in self.records}


# ---------------------------------------------------------------------------------------- reading


def _read_text(path: Path) -> str:
    if not path.exists():
        raise BenchError(f"bench file not found: {path}")
    if not path.is_file():
        raise BenchError(f"bench path is not a file: {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BenchError(f"cannot read bench file {path}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BenchError(f"{path}:{line}: not UTF-8 text") from None


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _array_items(text: str, pos: int, dec: json.JSONDecoder) -> list[tuple[int, Any]]:
    """(line, value) for each element of the JSON array starting at text[pos] == '['.
    Only called on text that json.loads already accepted."""
    out: list[tuple[int, Any]] = []
    pos = _skip_ws(text, pos + 1)
    if text[pos] == "]":
        return out
    while True:
        pos = _skip_ws(text, pos)
        value, end = dec.raw_decode(text, pos)
        out.append((_line_of(text, pos), value))
        pos = _skip_ws(text, end)
        if text[pos] == "]":
            return out
        pos += 1  # the comma


def _object_member(text: str, pos: int, key: str, dec: json.JSONDecoder) -> int | None:
    """Position of the (last) value of `key` in the JSON object starting at text[pos] == '{'."""
    found = None
    pos = _skip_ws(text, pos + 1)
    if text[pos] == "}":
        return None
    while True:
        pos = _skip_ws(text, pos)
        k, pos = dec.raw_decode(text, pos)
        pos = _skip_ws(text, pos) + 1  # the colon
        pos = _skip_ws(text, pos)
        if k == key:
            found = pos
        _, pos = dec.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        if text[pos] == "}":
            return found
        pos += 1


def _json_items(path: Path, text: str) -> list[tuple[int, Any]] | None:
    """Records of a whole-file JSON document with their lines; None when the text is not one JSON
    document (then it is read as JSONL)."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise BenchError(f"{path}:1: JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, or int too long to convert
        if path.suffix.lower() == ".json":
            line = getattr(e, "lineno", 1)
            raise BenchError(f"{path}:{line}: malformed JSON: {getattr(e, 'msg', e)}") from None
        return None
    dec = json.JSONDecoder()
    start = _skip_ws(text, 0)
    try:
        if isinstance(doc, list):
            return _array_items(text, start, dec)
        if isinstance(doc, dict):
            for key in ("records", "data"):
                if isinstance(doc.get(key), list):
                    vpos = _object_member(text, start, key, dec)
                    if vpos is None:  # pragma: no cover - json.loads found it, so must we
                        return [(0, v) for v in doc[key]]
                    return _array_items(text, vpos, dec)
            if path.suffix.lower() == ".json":
                raise BenchError(f"{path}:1: expected a list of records or an object with a "
                                 f"'records' or 'data' list, got an object with keys "
                                 f"{sorted(map(str, doc))[:8]}")
            return [(_line_of(text, start), doc)]  # a one-line JSONL file
    except (RecursionError, ValueError, IndexError):  # pragma: no cover - defensive
        if isinstance(doc, list):
            return [(0, v) for v in doc]
        raise BenchError(f"{path}:1: cannot locate records in JSON") from None
    raise BenchError(f"{path}:1: expected a list of records, got JSON {type(doc).__name__}")


def _jsonl_items(text: str) -> list[tuple[int, Any] | tuple[int, None, str]]:
    out: list = []
    # split on "\n" only: JSON strings may hold raw U+2028 etc., which str.splitlines() breaks on
    for i, raw in enumerate(text.split("\n"), start=1):
        s = raw.strip()
        if not s:
            continue
        try:
            out.append((i, json.loads(s)))
        except RecursionError:
            out.append((i, None, "malformed JSON: nested too deeply"))
        except json.JSONDecodeError as e:
            out.append((i, None, f"malformed JSON: {e.msg} (column {e.colno})"))
        except ValueError as e:
            out.append((i, None, f"malformed JSON: {e}"))
    return out


# -------------------------------------------------------------------------------------- validating


def _get(obj: Mapping[str, Any], name: str, fmap: Mapping[str, str]) -> tuple[bool, Any, str]:
    """(present, value, key used) for canonical field `name`."""
    key = fmap.get(name, name)
    if key in obj:
        return True, obj[key], key
    low = key.lower()
    for k in obj:
        if isinstance(k, str) and k.lower() == low:
            return True, obj[k], k
    return False, None, key


def _time(v: Any, what: str) -> float:
    if isinstance(v, bool) or v is None:
        raise ValueError(f"{what} must be a number of seconds, got {json.dumps(v)}")
    if isinstance(v, (int, float)):
        try:
            t = float(v)
        except OverflowError:
            raise ValueError(f"{what} is too large") from None
    elif isinstance(v, str):
        m = _HMS.match(v)
        if m:
            h, mi, s = m.groups()
            t = int(h or 0) * 3600 + int(mi) * 60 + float(s)
        else:
            try:
                t = float(v.strip())
            except ValueError:
                raise ValueError(f"{what} is not a time: {v[:40]!r}") from None
    else:
        raise ValueError(f"{what} must be a number of seconds, got {type(v).__name__}")
    if not math.isfinite(t):
        raise ValueError(f"{what} must be finite, got {v!r}"[:120])
    if t < 0:
        raise ValueError(f"negative time: {what} = {t:g}")
    return t


def _window(obj: Mapping[str, Any], fmap: Mapping[str, str]) -> tuple[float, float]:
    has_s, s, ks = _get(obj, "start", fmap)
    has_e, e, ke = _get(obj, "end", fmap)
    if not (has_s and has_e):
        wkeys = [fmap["window"]] if "window" in fmap else list(WINDOW_KEYS)
        for name in wkeys:
            has_w, w, kw = _get(obj, "window", {"window": name})
            if not has_w:
                continue
            if isinstance(w, Mapping):  # {"start": s, "end": e}
                if "start" in w and "end" in w:
                    return _time(w["start"], f"'{kw}.start'"), _time(w["end"], f"'{kw}.end'")
                raise ValueError(f"'{kw}' must be a [start, end] pair or have 'start' and 'end'")
            if isinstance(w, list) and len(w) == 1 and isinstance(w[0], list):
                w = w[0]  # [[s, e]]
            if isinstance(w, list) and len(w) == 2 and not any(isinstance(x, list) for x in w):
                return _time(w[0], f"'{kw}'[0]"), _time(w[1], f"'{kw}'[1]")
            if isinstance(w, list) and w and all(isinstance(x, list) for x in w):
                raise ValueError(f"'{kw}' holds {len(w)} windows; one is expected")
            raise ValueError(f"'{kw}' must be a [start, end] pair")
        missing = [k for k, has in ((ks, has_s), (ke, has_e)) if not has]
        raise ValueError(f"missing field {' and '.join(repr(k) for k in missing)} "
                         f"(or {' / '.join(repr(k) for k in wkeys)})")
    return _time(s, f"'{ks}'"), _time(e, f"'{ke}'")


def _text(obj: Mapping[str, Any], name: str, fmap: Mapping[str, str], problems: list[str],
          required: bool = True) -> str | None:
    has, v, key = _get(obj, name, fmap)
    if not has or v is None:
        if required:
            problems.append(f"missing field {key!r}" + (f" ({name})" if key != name else ""))
            return None
        return ""
    if name == "id" and isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if not isinstance(v, str):
        problems.append(f"field {key!r} must be a string, got {type(v).__name__}")
        return None
    if required and not v.strip():
        problems.append(f"field {key!r} is empty")
        return None
    return v.strip() if name in ("id", "video") else v


def _resolve_video(video: str, roots: list[Path]) -> Path | None:
    try:
        p = Path(video).expanduser()
        cands = [p] if p.is_absolute() else [r / p for r in roots]
        for c in list(cands):
            if not c.suffix or c.suffix.lower() not in VIDEO_EXTS:
                cands += [c.with_name(c.name + ext) for ext in VIDEO_EXTS]
        for c in cands:
            if c.is_file():
                return c.resolve()
    except (OSError, ValueError):
        return None
    return None


def parse_record(obj: Any, field_map: Mapping[str, str] | None = None) -> BenchRecord:
    """Validate one raw record (no duplicate or file checks); raises ValueError listing problems."""
    fmap = dict(field_map or {})
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    problems: list[str] = []
    rid = _text(obj, "id", fmap, problems)
    video = _text(obj, "video", fmap, problems)
    query = _text(obj, "query", fmap, problems)
    rationale = _text(obj, "rationale", fmap, problems, required=False)
    window: tuple[float, float] | None = None
    try:
        window = _window(obj, fmap)
        if not window[1] > window[0]:
            problems.append(f"end ({window[1]:g}) must be after start ({window[0]:g})")
            window = None
    except ValueError as e:
        problems.append(str(e))
    has_l, raw_label, kl = _get(obj, "label", fmap)
    label = None
    if not has_l or raw_label is None:
        problems.append(f"missing field {kl!r}" + (" (label)" if kl != "label" else ""))
    elif not isinstance(raw_label, str):
        problems.append(f"field {kl!r} must be a string, got {type(raw_label).__name__}")
    else:
        label = normalize_label(raw_label)
        if label is None:
            problems.append(f"unknown label {raw_label[:40]!r} (expected one of {', '.join(EMOTIONS)} "
                            f"or an alias)")
    if problems:
        raise ValueError("; ".join(problems))
    try:
        return BenchRecord(id=rid, video=video, query=query, label=label, rationale=rationale or "",
                           window=TimeWindow(start=window[0], end=window[1]))
    except ValidationError as e:  # pragma: no cover - the checks above cover the model's rules
        raise ValueError("; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None


def load_bench(path: str | Path, video_root: str | Path | None = None,
               field_map: Mapping[str, str] | None = None,
               on_error: Literal["stop", "skip"] = "stop", check_videos: bool = True) -> BenchLoad:
    """Load and strictly validate a benchmark file (see the module docstring for the schema).

    field_map maps our names (id, video, query, start, end, window, label, rationale) to the file's
    keys. With check_videos, each record's video must exist (relative paths resolve against
    video_root, else the bench file's folder; a name without a video extension also tries
    .mp4/.mkv/.webm/.mov/.avi/.m4v) and its absolute path is stored in ``video_path``.
    """
    if on_error not in ("stop", "skip"):
        raise BenchError(f"on_error must be 'stop' or 'skip', got {on_error!r}")
    fmap = dict(field_map or {})
    bad = [k for k in fmap if k not in FIELDS]
    bad += [k for k, v in fmap.items() if not isinstance(v, str) or not v]
    if bad:
        raise BenchError(f"field_map: unknown field(s) or empty key(s) {sorted(set(map(str, bad)))}; "
                         f"known fields are {', '.join(FIELDS)}")
    path = Path(path)
    text = _read_text(path)
    items = None if path.suffix.lower() == ".jsonl" else _json_items(path, text)
    if items is None:
        items = _jsonl_items(text)
    if not items:
        raise BenchError(f"{path}:1: no records")
    roots = [Path(video_root).expanduser()] if video_root is not None else [path.parent]

    out = BenchLoad(path=str(path), n_read=len(items))
    seen: dict[str, int] = {}

    def issue(line: int, idx: int, rid: str | None, msg: str) -> None:
        iss = BenchIssue(line=line, record=idx, id=rid, message=msg)
        if on_error == "stop":
            raise BenchError(iss.format(path))
        out.issues.append(iss)

    for idx, item in enumerate(items, start=1):
        line, obj = item[0], item[1]
        if len(item) == 3:
            issue(line, idx, None, item[2])
            continue
        rid = None
        if isinstance(obj, dict):
            has, v, _ = _get(obj, "id", fmap)
            rid = str(v)[:200] if has and isinstance(v, (str, int)) and not isinstance(v, bool) else None
        try:
            rec = parse_record(obj, fmap)
        except ValueError as e:
            issue(line, idx, rid, f"record {idx}" + (f" ({rid})" if rid else "") + f": {e}")
            continue
        if rec.id in seen:
            issue(line, idx, rec.id, f"record {idx}: duplicate id {rec.id!r} (first on line {seen[rec.id]})")
            continue
        if check_videos:
            found = _resolve_video(rec.video, roots)
            if found is None:
                where = rec.video if Path(rec.video).is_absolute() else f"{rec.video} under {roots[0]}"
                issue(line, idx, rec.id, f"record {idx} ({rec.id}): video file not found: {where}")
                continue
            rec = rec.model_copy(update={"video_path": str(found)})
        seen[rec.id] = line
        out.records.append(rec)
    return out


def write_bench(records: Iterable[BenchRecord], path: str | Path) -> Path:
    """Write records as JSONL in the canonical schema (what load_bench reads without a field map)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"id": r.id, "video": r.video, "query": r.query, "start": r.window.start,
                                "end": r.window.end, "label": r.label, "rationale": r.rationale},
                               ensure_ascii=False) + "\n")
    return path
