"""Export a whole UI session (every turn: question, answer, evidence, artefact references) as JSON and
Markdown. The JSON keeps everything, raw flags and the step trace included; the Markdown is the report a
person reads (plain notes instead of flags). No server paths are written: videos and artefacts are
referred to by file name."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from agents.schemas import Answer, Moment
from tools.index import VideoIndex
from tools.schemas import hms
from ui.evidence import citation_rows, confidence_words, transcript_rows
from ui.notes import human_notes, plain_rationale


class TurnLike(Protocol):
    question: str
    answer: Answer | None
    events: list[dict]
    status: str
    asked_at: str
    seconds: float
    artefacts: list[str]
    reply: str


def moment_record(answer: Answer, moment: Moment, index: VideoIndex | None = None) -> dict:
    d = {"rank": moment.rank, "window": {"start": moment.window.start, "end": moment.window.end,
                                         "label": moment.window.label()},
         "emotion": moment.label, "confidence": moment.confidence,
         "confidence_words": confidence_words(moment.confidence), "verified": moment.verified,
         "rationale": moment.rationale,
         "citations": [dict(zip(["sentence_no", "sentence", "id", "tool", "modality", "window", "text"], r))
                       for r in citation_rows(answer, moment)]}
    if index is not None:
        d["transcript"] = [dict(zip(["start", "end", "word"], r)) for r in transcript_rows(index, moment.window)]
    return d


def turn_record(turn: TurnLike, index: VideoIndex | None = None) -> dict:
    d = {"question": turn.question, "status": turn.status, "asked_at": turn.asked_at,
         "seconds": round(turn.seconds, 2), "artefacts": list(turn.artefacts), "trace": list(turn.events)}
    if turn.reply:
        d["reply"] = turn.reply
    a = turn.answer
    if a is not None:
        dump = a.model_dump(mode="json")
        dump["video"]["path"] = Path(a.video.path).name  # no server paths in downloads
        d.update(moments=[moment_record(a, m, index) for m in a.moments], notes=human_notes(a.flags),
                 flags=list(a.flags), answer=dump)
    return d


def session_record(turns: Sequence[TurnLike], video_name: str, index: VideoIndex | None = None) -> dict:
    meta = index.meta if index is not None else None
    video = {"name": video_name}
    if meta is not None:
        video.update(content_key=meta.content_key, duration=meta.duration, width=meta.width, height=meta.height)
    return {"affectlens_export": 2, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "video": video,
            "turns": [turn_record(t, index) for t in turns]}


def _md_cell(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def markdown_session(turns: Sequence[TurnLike], video_name: str, index: VideoIndex | None = None) -> str:
    lines = ["# affectlens session report", "", f"**Video:** {video_name}"
             + (f" ({hms(index.meta.duration)}, {index.meta.width}×{index.meta.height})" if index else "") + "  ",
             f"**Exported:** {time.strftime('%Y-%m-%d %H:%M')} · {len(turns)} question(s)", ""]
    for k, t in enumerate(turns, 1):
        lines += [f"## Question {k}: {t.question}", ""]
        a = t.answer
        if a is None and t.reply:
            lines += [t.reply, ""]
            continue
        if a is None:
            lines += [f"_{'Stopped before an answer.' if t.status == 'stopped' else 'No answer (' + t.status + ').'}_", ""]
            continue
        if not a.moments:
            lines += ["No moment found.", ""]
        for m in a.moments:
            lines += [f"### {m.rank}. {hms(m.window.start)}–{hms(m.window.end)} — {m.label} "
                      f"({confidence_words(m.confidence)}{'' if m.verified else ', not confirmed'})", "",
                      plain_rationale(m.rationale), ""]
            rows = citation_rows(a, m)
            if rows:
                lines += ["| # | claim | evidence | tool | window | observation |", "|---|---|---|---|---|---|"]
                lines += [f"| {r[0]} | {_md_cell(r[1])} | {r[2]} | {r[3]} | {r[5]} | {_md_cell(r[6])} |" for r in rows]
                lines.append("")
            if index is not None:
                words = transcript_rows(index, m.window)
                lines += ["**Transcript:** " + (" ".join(w[2] for w in words) if words else "_(no speech)_"), ""]
        notes = human_notes(a.flags)
        if notes:
            lines += ["_Notes:_ " + " ".join(notes), ""]
        if t.artefacts:
            lines += ["_Files:_ " + ", ".join(f"`{x}`" for x in t.artefacts), ""]
    return "\n".join(lines)


def export_session(turns: Sequence[TurnLike], video_name: str, json_path: Path, md_path: Path,
                   index: VideoIndex | None = None) -> tuple[Path, Path]:
    """Write the session as JSON (everything, raw flags included) and Markdown; returns both paths."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(session_record(turns, video_name, index), indent=1, ensure_ascii=False,
                                    default=str))
    md_path.write_text(markdown_session(turns, video_name, index))
    return json_path, md_path
