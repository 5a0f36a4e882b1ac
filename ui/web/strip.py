"""The affect strip: an overview of the whole video under the player, drawn as HTML from what the index
stored (no model runs). Rows: the emotion per window (colour = the strongest non-neutral expression,
opacity = its probability), speech stretches, stretches without a face, and the candidate (grey) and
chosen (gold, numbered) moments of the latest answer. Every block carries `data-t`/`data-end`, so the
page script seeks the player on click and offers "what happens here?" for that window."""

from __future__ import annotations

import html
from collections.abc import Sequence

from agents.schemas import Moment
from tools.index import VideoIndex
from tools.schemas import hms
from ui.evidence import EXPR_COLORS

MIN_WIDTH_PCT = 0.12  # thinner blocks are widened so a 1 h video still shows every window


def _pct(t: float, dur: float) -> float:
    return max(0.0, min(100.0, 100.0 * t / dur)) if dur > 0 else 0.0


def _block(cls: str, start: float, end: float, dur: float, title: str, style: str = "", text: str = "") -> str:
    left, width = _pct(start, dur), max(MIN_WIDTH_PCT, _pct(end, dur) - _pct(start, dur))
    return (f'<span class="al-seg {cls}" data-t="{start:.2f}" data-end="{end:.2f}" '
            f'title="{html.escape(title)}" style="left:{left:.3f}%;width:{width:.3f}%;{style}">'
            f"{html.escape(text)}</span>")


def _merge(spans: Sequence[tuple[float, float]], gap: float = 0.05) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1] + gap:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def window_emotion(rec) -> tuple[str | None, float]:
    """The strongest non-neutral expression of a window record and its probability (None: no face)."""
    if not rec.face_frames or not rec.expression:
        return None, 0.0
    emo = {k: v for k, v in rec.expression.items() if k != "neutral"}
    if not emo:
        return "neutral", rec.expression.get("neutral", 0.0)
    k = max(emo, key=emo.get)
    if emo[k] < 0.2:
        return "neutral", rec.expression.get("neutral", 0.0)
    return k, emo[k]


def strip_html(index: VideoIndex | None, moments: Sequence[Moment] = (),
               candidates: Sequence[tuple[float, float]] = (), key: str = "", seek: str = "") -> str:
    """The strip for the whole video (empty note when nothing is loaded). `key` (the content key) is
    written on the strip so a page, and a test, can tell which video it shows; `seek` ("<seconds>:<turn>")
    asks the page script to seek the player there, once per distinct value (a new answer's first moment)."""
    if index is None:
        return '<div class="al-strip al-strip-empty">Load a video to see its affect strip.</div>'
    dur = index.meta.duration
    emo_row, noface = [], []
    for r in index.records:
        label, p = window_emotion(r)
        w = r.window
        if label is None:
            noface.append((w.start, w.end))
            continue
        colour = EXPR_COLORS.get(label, "#9a9a9a")
        emo_row.append(_block("al-emo", w.start, w.end, dur, f"{w.label()} · {label} {p:.2f} · click to seek",
                              f"background:{colour};opacity:{0.25 + 0.75 * min(1.0, p):.2f}"))
    speech = _merge([(s.start, s.end) for s in index.speech.segments])
    speech_row = [_block("al-speech", s, e, dur, f"{hms(s)}–{hms(e)} · speech") for s, e in speech]
    noface_row = [_block("al-noface", s, e, dur, f"{hms(s)}–{hms(e)} · no face") for s, e in _merge(noface)]
    mom_row = [_block("al-cand", s, e, dur, f"{hms(s)}–{hms(e)} · candidate") for s, e in candidates]
    mom_row += [_block("al-chosen", m.window.start, m.window.end, dur,
                       f"moment {m.rank}: {m.window.label()} · {m.label}", text=str(m.rank)) for m in moments]
    step = next(s for s in (5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200) if dur / s <= 10)
    ticks = "".join(f'<span class="al-tick" style="left:{_pct(t, dur):.3f}%">{hms(t)}</span>'
                    for t in range(0, int(dur) + 1, step))
    legend = " ".join(f'<span class="al-key" style="background:{c}"></span>{k}' for k, c in EXPR_COLORS.items())
    rows = [("emotion", emo_row), ("speech", speech_row), ("no face", noface_row), ("moments", mom_row)]
    body = "".join(f'<div class="al-row"><span class="al-row-label">{name}</span>'
                   f'<div class="al-track">{"".join(items)}</div></div>' for name, items in rows)
    return (f'<div class="al-strip" data-key="{html.escape(key)}" data-duration="{dur:.2f}" '
            f'data-seek="{html.escape(seek)}" '
            f'data-windows="{len(index.records)}">{body}'
            f'<div class="al-row"><span class="al-row-label"></span><div class="al-track al-axis">{ticks}</div></div>'
            f'<div class="al-legend">{legend} · click a block to jump there, then “What happens here?”</div></div>')
