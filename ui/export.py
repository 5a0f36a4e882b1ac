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


# ---------------------------------------------------------------- one video's arc and moments (issue 30)
# `affectlens export VIDEO --format F --out FILE`: each format written with the maintained library of its
# format where one exists (srt, webvtt-py, OpenTimelineIO and its CMX3600 adapter; csv from the standard
# library) and validated in tests by parsing it back with the same library.
FORMATS = ("csv", "vtt", "srt", "edl", "otio", "json")
MAIN_AUS = 3  # AUs listed per window and person in the CSV: the strongest few, as the evidence panel shows
# OpenTimelineIO marker colour per label family (the arc picture's colours, tools/arc.COLORS, by name)
MARKER_COLOR = {"Joy": "YELLOW", "Sadness": "BLUE", "Anger": "RED", "Fear": "PURPLE", "Disgust": "GREEN",
                "Surprise": "ORANGE", "Neutral": "WHITE"}


def video_answer(index, out_dir: Path | None = None):
    """The arc summary Answer of a video (graphs/nodes/arc.answer_arc): what every export writes."""
    from graphs.nodes.arc import answer_arc
    ans, _ = answer_arc(index, "summarise the emotional arc", "summary", out_dir=out_dir)
    return ans


def csv_rows(index) -> list[dict]:
    """One row per window and person: start, end, person, the 13 label probabilities, main AUs, arousal,
    transcript (a video with nobody tracked: one row per window, person empty)."""
    from tools.arc import read_windows
    from tools.labels import EMOTIONS
    from tools.people import PersonIndex, load_people
    try:
        pids = [p.id for p in load_people(index).people] or [None]
    except (OSError, ValueError):
        pids = [None]
    rows = []
    for pid in pids:
        view = index if pid is None else PersonIndex(index, pid)
        readings, _ = read_windows(view, voice=len(pids) == 1)
        for r, w in zip(view.records, readings):
            aus = sorted(r.au_mean.items(), key=lambda kv: -kv[1])[:MAIN_AUS] if r.face_frames else []
            rows.append({"start": r.window.start, "end": r.window.end, "person": "" if pid is None else pid,
                         **{f"p_{e}": (round(w.probs.get(e, 0.0), 4) if w.readable else "") for e in EMOTIONS},
                         "main_aus": "; ".join(f"{a} {v:.2f}" for a, v in aus),
                         "arousal": "" if r.arousal is None else round(r.arousal, 3), "transcript": r.transcript})
    rows.sort(key=lambda d: (d["start"], str(d["person"])))
    return rows


def _caption(ans, seg) -> str:
    from agents.arc_words import feeling
    from agents.compose import sureness
    who = next((p.name for p in ans.arc.people if p.person == seg.person), "")
    head = f"{who}: " if len(ans.arc.people) > 1 else ""
    return f"{head}{feeling(seg.label)}" + (f" ({sureness(seg.confidence)})" if seg.emotional else "")


def captions(ans) -> list[tuple[float, float, str]]:
    """(start, end, text): the arc summary over the first seconds, then every seen segment of the arc
    (calm stretches and emotional moments), person by person; cues may overlap across people."""
    arc = ans.arc
    out = [(0.0, min(arc.duration, 5.0), "Emotional arc: " + arc.text().replace("\n", " "))]
    out += [(s.start, s.end, _caption(ans, s)) for s in arc.segments if s.label is not None]
    return sorted(out, key=lambda c: c[0])


def _srt(ans) -> str:
    import datetime as dt

    import srt
    subs = [srt.Subtitle(index=k, start=dt.timedelta(seconds=a), end=dt.timedelta(seconds=b), content=t)
            for k, (a, b, t) in enumerate(captions(ans), 1)]
    return srt.compose(subs)


def _vtt(ans) -> str:
    import webvtt

    def ts(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
    vtt = webvtt.WebVTT()
    for a, b, t in captions(ans):
        vtt.captions.append(webvtt.Caption(ts(a), ts(b), t))
    return vtt.content


def timeline(ans):
    """An OpenTimelineIO timeline: the video as one clip, a marker per emotional segment of the arc (name:
    the feeling, and the person where several), coloured by label family."""
    import opentimelineio as otio
    meta = ans.video
    rate = float(round(meta.fps)) if meta.fps else 25.0  # editors' timecode runs at a whole frame rate

    def rt(t: float):
        return otio.opentime.RationalTime(round(t * rate), rate)
    whole = otio.opentime.TimeRange(rt(0), rt(meta.duration))
    tl = otio.schema.Timeline(name=f"affectlens arc: {Path(meta.path).name}")
    track = otio.schema.Track(name="video")
    clip = otio.schema.Clip(name=Path(meta.path).name, source_range=whole,
                            media_reference=otio.schema.ExternalReference(target_url=Path(meta.path).name,
                                                                          available_range=whole))
    from tools.labels import family
    for s in ans.arc.segments:
        if s.emotional:
            clip.markers.append(otio.schema.Marker(
                name=_caption(ans, s), marked_range=otio.opentime.TimeRange(rt(s.start), rt(s.end - s.start)),
                color=getattr(otio.schema.MarkerColor, MARKER_COLOR[family(s.label)]),
                metadata={"affectlens": {"label": s.label, "confidence": s.confidence, "person": s.person,
                                         "evidence_ids": s.evidence_ids}}))
    track.append(clip)
    tl.tracks.append(track)
    return tl


def export_video(video: str | Path, fmt: str, out: Path, settings=None) -> Path:
    """`affectlens export`: the video's arc and moments as `fmt` (FORMATS) in `out`; the arc picture (PNG,
    SVG) next to it. Indexes the video first (cached)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
    from tools.index import build_index
    index = build_index(str(video), settings, progress=False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        import csv
        rows = csv_rows(index)
        with out.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["start", "end", "person"])
            w.writeheader()
            w.writerows(rows)
        return out
    ans = video_answer(index, out_dir=out.parent)
    if fmt == "json":
        dump = ans.model_dump(mode="json")
        dump["video"]["path"] = Path(ans.video.path).name  # no server paths in downloads
        for k in ("image_path", "svg_path"):
            if dump["arc"].get(k):
                dump["arc"][k] = Path(dump["arc"][k]).name
        by_id = ans.evidence_by_id()
        dump["moments"] = [{**m.model_dump(mode="json"), "evidence": [by_id[i].model_dump(mode="json")
                                                                     for i in m.evidence_ids]} for m in ans.moments]
        out.write_text(json.dumps({"affectlens_export": "arc-1", **dump}, indent=1, ensure_ascii=False))
    elif fmt == "srt":
        out.write_text(_srt(ans))
    elif fmt == "vtt":
        out.write_text(_vtt(ans))
    else:
        import opentimelineio as otio
        otio.adapters.write_to_file(timeline(ans), str(out), adapter_name="cmx_3600" if fmt == "edl" else "otio_json")
    return out
