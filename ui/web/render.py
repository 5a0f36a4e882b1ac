"""Chat and panel rendering for the web UI (Gradio message objects and HTML strings, no handlers):
the streamed step messages, the plain-language answer, the single progress display and the citation
table. Every time stamp is written as a `#t=<seconds>` link, which the page script turns into a seek of
the full-video player."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import gradio as gr

from agents.schemas import Answer
from tools.schemas import hms
from ui.evidence import citation_rows, confidence_words, moment_title, parse_window_label
from ui.notes import human_notes, plain_rationale

_WINDOW = re.compile(r"`?(\d+:\d\d:\d\d)\s*[–-]\s*(\d+:\d\d:\d\d)`?")

# Share of a question's work done when each graph node finishes (for the progress display).
NODE_FRACTION = {"route": 0.05, "interpret": 0.2, "localise": 0.35, "verify": 0.75, "judge": 0.85,
                 "rationale": 0.97, "explain": 0.97, "finish": 1.0}
NEXT_STAGE = {"route": "reading the question", "interpret": "finding candidate moments",
              "localise": "checking candidates with the perception tools", "verify": "judging the candidates",
              "judge": "writing the explanation", "rationale": "assembling the answer",
              "explain": "assembling the answer"}
PRESENCE_WORDS = {"leaves": "someone leaving it", "enters": "someone coming into it", "absent": "nobody seen in it"}
_NODE_TITLES = {"interpret": "🧭 Read the question", "localise": "🔎 Found candidate moments",
                "verify": "🔬 Checked candidates with the perception tools", "judge": "⚖️ Judged the candidates",
                "rationale": "✍️ Wrote the explanation", "explain": "💬 Explained from the evidence gathered",
                "finish": "🏁 Assembled the answer",
                "arc": "📈 Read the emotional arc from the index (no tool call)"}


def ts_link(t: float, text: str | None = None) -> str:
    return f"[{text or hms(t)}](#t={t:.2f})"


def linkify(text: str) -> str:
    """Every 'HH:MM:SS–HH:MM:SS' in markdown text becomes a link that seeks the player to its start."""
    def sub(m: re.Match) -> str:
        w = parse_window_label(f"{m.group(1)}–{m.group(2)}")
        return ts_link(w[0], f"{m.group(1)}–{m.group(2)}") if w else m.group(0)
    return _WINDOW.sub(sub, text)


def step_messages(node: str, events: Sequence[dict], seconds: float, key: str) -> list[gr.ChatMessage]:
    """Collapsed 'thought' messages for one finished graph node: one per stage, plus one nested message
    per tool call in `verify`."""
    if node == "route":
        mode = next((e.get("mode") for e in events if e.get("mode")), "new")
        if mode == "new":
            return []
        if mode in ("summary", "compare"):  # the emotional arc (graphs/nodes/arc.py): its own step says it
            return []
        return [gr.ChatMessage(content={"why": "Follow-up: explain the previous moments from the evidence.",
                                        "next": "Follow-up: look for another moment, skipping those shown."
                                        }.get(mode, f"Follow-up ({mode})."),
                               metadata={"title": f"↪️ Follow-up ({mode})", "status": "done", "duration": 0.0})]
    lines: list[str] = []
    children: list[gr.ChatMessage] = []
    for e in events:
        if node == "interpret" and "intent" in e:
            it = e["intent"]
            lines += [f"- emotions: **{', '.join(it.get('emotions') or ['any'])}** · valence {it.get('valence')} "
                      f"· arousal {it.get('arousal')}",
                      f"- modalities: {', '.join(it.get('modalities') or ['any'])} · when: {it.get('temporal_hint')} "
                      f"· moments wanted: {it.get('n_moments')}"]
            if it.get("presence"):  # tools/presence.py: read from where faces are seen, not from a feeling
                lines.append("- about who is in the picture: " + PRESENCE_WORDS[it["presence"]]
                             + ("" if not it.get("emotions") else " (where the voice is heard)"))
        elif node == "localise":
            for c in e.get("candidates", []):
                lines.append(f"- {linkify(c['window'])} match {c['score']:.2f} — {c.get('descriptor', '')}")
        elif node == "verify":
            if e.get("evidence"):
                children.append(gr.ChatMessage(
                    content=f"**[{e['evidence']}]** {linkify(e.get('text', ''))}",
                    metadata={"title": f"🛠️ {e['tool']} · {e.get('window') or ''}".strip(" ·"),
                              "parent_id": key, "status": "done", "duration": float(e.get("seconds", 0.0))}))
            elif e.get("error"):
                children.append(gr.ChatMessage(content=str(e["error"]),
                                               metadata={"title": f"⚠️ {e['tool']} failed", "parent_id": key,
                                                         "status": "done"}))
            elif "run" in e:
                lines.append(f"- {'ran' if e['run'] else 'skipped'} **{e['tool']}** on {linkify(e.get('window', ''))} "
                             f"({e.get('reason', '')})")
            elif e.get("note") or e.get("skip"):
                lines.append(f"- {e.get('note') or 'skipped ' + e['skip'] + ': ' + e.get('reason', '')}")
        elif node == "judge":
            for v in e.get("verdicts", []):
                lines.append(f"- {'✅' if v['accept'] else '❌'} {linkify(v['window'])} {v['label']} "
                             f"({confidence_words(v['confidence'])})")
            if e.get("note"):
                lines.append(f"- {e['note']}")
        elif node == "arc" and "segments" in e:
            lines.append(f"- {e.get('mode')}: {e['segments']} stretch(es) over the whole video")
        elif node in ("rationale", "explain", "finish") and "moments" in e:
            lines.append(f"{e['moments']} moment(s)")
    title = _NODE_TITLES.get(node, node)
    if node == "verify" and children:
        title += f" ({len([c for c in children if '🛠️' in c.metadata['title']])} tool calls)"
    head = gr.ChatMessage(content="\n".join(lines) or "done",
                          metadata={"title": title, "id": key, "status": "done", "duration": round(seconds, 2)})
    return [head] + children


def answer_markdown(answer: Answer) -> str:
    """The answer as a person reads it: the moment (a seek link), the label, a confidence in words and the
    rationale without citation markers; flags become short notes (raw flags are in the JSON export)."""
    if not answer.moments:
        txt = f"I could not find a moment matching “{answer.query}”."
    else:
        # no header repeating the question ("1 moment for 'why do you think so?'"); the explanation
        # (agents/compose.py) says the time, the feeling and how sure in words: the line above it only
        # links the time and names the label
        txt = "" if len(answer.moments) == 1 else f"**{len(answer.moments)} moments:**\n"
        for m in answer.moments:
            w = f"{hms(m.window.start)}–{hms(m.window.end)}"
            unconfirmed = "" if m.verified else " (not confirmed)"
            txt += (f"\n**{m.rank}. {ts_link(m.window.start, w)} · {m.label}**{unconfirmed}"
                    f"\n\n{plain_rationale(m.rationale)}\n")
        txt += "\n_Click a time to play it; the evidence panel shows the clip, curves, face crops and sources._"
    if answer.arc is not None:  # a summary / compare question: the arc's sentences first (picture: ui/web/arc.py)
        txt = answer.arc.text().replace("\n", "\n\n") + "\n\n" + txt
    notes = human_notes(answer.flags)
    if notes:
        txt += "\n\n" + "\n".join(f"> ℹ️ {n}" for n in notes)
    return txt


def ranked_markdown(moments: Sequence) -> str:
    """The ranked moments before their explanations are written (streamed early)."""
    if not moments:
        return "No moment passed the checks."
    return "\n".join(f"- {ts_link(m.window.start, f'{hms(m.window.start)}–{hms(m.window.end)}')} · {m.label} "
                     f"({confidence_words(m.confidence)})" for m in moments)


def moment_choices(answer: Answer | None) -> list[tuple[str, str]]:
    return [(moment_title(m), str(m.rank)) for m in (answer.moments if answer else [])]


def progress_html(stage: str = "", fraction: float | None = None, eta_s: float | None = None,
                  state: str = "idle") -> str:
    """The one progress display: stage, percentage and an ETA (state: idle|running|done|stopped|error)."""
    if state == "idle" and not stage:
        return '<div class="al-progress" data-state="idle">Ready.</div>'
    pct = "" if fraction is None else f" · {100 * max(0.0, min(1.0, fraction)):.0f} %"
    eta = ""
    if eta_s is not None and state == "running":
        eta = f" · about {eta_s:.0f} s left" if eta_s < 90 else f" · about {eta_s / 60:.0f} min left"
    bar = "" if fraction is None else (f'<div class="al-bar"><div style="width:{100 * max(0.0, min(1.0, fraction)):.1f}%">'
                                       "</div></div>")
    return (f'<div class="al-progress" data-state="{state}">{bar}'
            f'<span class="al-stage">{html.escape(stage)}{pct}{eta}</span></div>')


def eta(elapsed: float, fraction: float) -> float | None:
    return elapsed / fraction * (1 - fraction) if fraction >= 0.2 and elapsed > 0.5 else None


def citations_html(answer: Answer, rank: int) -> str:
    """Rationale sentences and the evidence they cite, as a wrapping table (no sideways scrolling);
    windows are seek links."""
    m = next((x for x in answer.moments if x.rank == rank), None)
    if m is None:
        return ""
    rows = citation_rows(answer, m)
    if not rows:
        return "<p>No evidence was cited for this moment.</p>"
    out = ['<table class="al-cite"><thead><tr><th>#</th><th>claim</th><th>evidence</th><th>observation</th>'
           "</tr></thead><tbody>"]
    for r in rows:
        w = parse_window_label(r[5])
        when = (f'<a href="#t={w[0]:.2f}">{html.escape(r[5])}</a>' if w else html.escape(r[5]))
        out.append(f"<tr><td>{r[0]}</td><td>{html.escape(str(r[1]))}</td>"
                   f"<td><b>{html.escape(r[2])}</b> {html.escape(r[3])}<br>{when}</td>"
                   f"<td>{html.escape(str(r[6]))}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)
