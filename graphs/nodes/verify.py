"""verify: for each candidate, plan tools from the registry by value/cost and run them (expression, AUs,
motion, zoom, voice, transcript); refine the window's boundaries; pick the best-supported label."""

from __future__ import annotations

import time

import numpy as np
from langgraph.runtime import Runtime

from graphs.nodes.common import event, further_round, next_id, view
from graphs.state import Context, State, Verified
from tools.backends import tool_models
from tools.episode import episode
from tools.index.store import speaks
from tools.labels import BASIC, EMOTION_TO_EXPRESSION, EXPRESSION_TO_EMOTION
from tools.perception.emotion import SPLITS, family
from tools.perception.prosody import STRONG_AROUSAL
from tools.registry import SMALL_FACE, plan_tools, run_tool, support
from tools.schemas import Evidence, TimeWindow


def _target_label(intent, evidence: list[Evidence]) -> list[str]:
    opts = list(intent.emotions)
    for e in evidence:  # the fused emotion tool's label is a candidate (its probabilities decide, see support)
        if e.tool == "emotion" and isinstance(e.values.get("label"), str) and e.values["label"] not in opts:
            opts.append(e.values["label"])
        if e.tool in ("expression",) and isinstance(e.values.get("top"), str):
            lab = EXPRESSION_TO_EMOTION.get(e.values["top"])
            if lab and lab not in opts:
                opts.append(lab)
    if "Neutral" not in opts:
        opts.append("Neutral")
    return opts


NAMED_P = 0.9  # the question reader's probability from which the words name the label itself (not a family)


def named_labels(state) -> list[str]:
    """The labels the user's own words name: those the question reader (agents/intent) reads with probability
    >= NAMED_P ("the proudest moment" names Pride; "the jolliest moment" names Joy, not Love). Inside their
    family the evidence does not re-choose them. NAMED_P is the reader's own sure-band, not tuned on a dev set."""
    probs = (state.get("reading") or {}).get("probs") or {}
    intent = state.get("intent")
    return [e for e in getattr(intent, "emotions", []) if probs.get(e, 0.0) >= NAMED_P]


def _member(label: str, evidence: list[Evidence], named: list[str]) -> str:
    """The asked label chooses the family; inside a family (Joy: Love, Pride, Satisfaction; Fear: Horror; ...)
    the evidence chooses the member, unless the user named it. A reader's guess of Love for "the jolliest
    moment" must not label a window whose evidence reads Joy (the face cannot tell them apart; the words
    can, and the emotion tool already asked them)."""
    if label not in SPLITS or label in named:
        return label
    fam = family(label)
    for e in evidence:
        lab = e.values.get("label") if e.tool == "emotion" else None
        if isinstance(lab, str) and family(lab) == fam:
            return lab
    return fam  # nothing read the member: say what the evidence supports, the family's basic label


TIE = 0.75  # a label whose support is at least this share of the top label's ties with it


def _voice_only(mine: list[Evidence], label: str, wanted: list[str]) -> str:
    """A note when an asked label fits a window that only a strongly aroused voice shows (no face, no
    readable words that name a feeling): prosody measures arousal, which fits anger, fear, joy and
    surprise alike, so the fused reading spreads its mass over them and no label reaches the acceptance
    bar. The judge then may accept the window as a weak guess (an "every time" question wants it listed),
    never as a confident answer. "" when the window has a face reading, the voice is not strongly aroused,
    or the asked label is not among the top."""
    if not wanted or any(e.modality == "face" for e in mine) or not any(e.tool == "emotion" for e in mine):
        return ""
    arousal = [abs(float(e.values["arousal"])) for e in mine
               if e.tool == "prosody.voice" and isinstance(e.values.get("arousal"), (int, float))]
    if not arousal or max(arousal) <= STRONG_AROUSAL:  # a barely raised voice is no guess at all
        return ""
    sup = {lab: support(mine, lab) for lab in BASIC}
    tied = [lab for lab in BASIC if sup[lab] >= TIE * max(sup.values())]
    if family(label) not in tied or len(tied) < 2:
        return ""
    return (f"only the voice shows here, and it fits {', '.join(lab.lower() for lab in tied)} alike: "
            f"{label.lower()} is a guess")


def _refine(deps: Context, cand_window: TimeWindow, labels: list[str]) -> TimeWindow:
    """The candidate's boundaries follow the first asked expression where the face shows it (tools/episode.py);
    a candidate whose face does not show it keeps its window."""
    cls = next((EMOTION_TO_EXPRESSION[lab] for lab in labels if lab in EXPRESSION_TO_EMOTION.values()
                and lab != "Neutral"), None)
    if cls is None or not deps.index.records:
        return cand_window
    return episode(deps.index.records, deps.index.frames_in, cls, cand_window) or cand_window


def tool_failed_flag(tool: str, w: TimeWindow, err: str | None) -> str:
    """The answer flag for a tool that raised (ui.notes.problem_note words it): "tool_failed: voice
    10.0-13.0: ValueError: ..." (the registry's error text, which already names the tool, after the span)."""
    why = (err or "unknown error").split(": ", 1)[-1]
    return f"tool_failed: {tool} {w.start:.1f}-{w.end:.1f}: {why}"


def verify(state: State, runtime: Runtime[Context]) -> dict:
    deps = view(runtime, state)
    intent = state["intent"]
    known = list(state.get("evidence", []))
    evidence: list[Evidence] = []  # what this node adds (the reducer appends it)
    events: list[dict] = []
    flags: list[str] = []  # (a damaged file's flag is put on every answer by graphs.nodes.cost)
    if not state.get("candidates"):  # nothing new to verify: keep what earlier rounds judged
        return {"events": [event(node="verify", note="no new candidates")]}
    verified: list[Verified] = list(state.get("verified", []))  # earlier rounds of this turn stay
    budget = deps.tool_budget
    named = named_labels(state)
    # a further round of an "every time" search: the zoom on a large face, 1-3 s a round on 2 cores, is
    # left to the first round; a small face is still zoomed (it is how it is seen at all)
    further = further_round(intent, verified)
    for c in state.get("candidates", []):
        if time.time() > state.get("deadline", float("inf")):
            events.append({"node": "verify", "skip": c.window.label(), "reason": "time budget"})
            break
        recs = deps.index.records_in(c.window)
        face_ratio = float(np.mean([r.face_ratio for r in recs])) if recs else 0.0
        has_speech = any(speaks(r) for r in recs)
        pre = [r.top_expression() for r in recs if r.top_expression()]
        ambiguous = bool(pre) and max(p for _, p in pre) < 0.45
        heights = sorted(f.box[3] for f in deps.index.frames_in(c.window) if f.box is not None)
        face_height = heights[len(heights) // 2] if heights else None  # median, as a share of frame height
        decisions = plan_tools(c.window, face_ratio, has_speech, list(intent.modalities), budget,
                               ambiguous=ambiguous, face_height=face_height,
                               zoom_off="a further round of a several-moment search, and the face is not small"
                               if further and not (face_height is not None and face_height < SMALL_FACE) else "")
        ids = []
        for d in decisions:
            events.append({"node": "verify", "tool": d.tool, "window": d.window.label(), "run": d.run,
                           "reason": d.reason})
            if not d.run:
                continue
            ev, err, secs = run_tool(deps, d.tool, c.window, next_id(known, len(evidence)))
            if ev is None:  # the answer says so (ui.notes.problem_note), not only the trace
                events.append({"node": "verify", "tool": d.tool, "error": err})
                flags.append(tool_failed_flag(d.tool, c.window, err))
                continue
            evidence.append(ev)
            ids.append(ev.id)
            events.append({"node": "verify", "tool": d.tool, "evidence": ev.id, "text": ev.text,
                           "seconds": round(secs, 2), "models": tool_models(deps.backends(), d.tool)})
        mine = [e for e in evidence if e.id in ids]
        labels = _target_label(intent, mine)
        # boundaries follow the asked-for emotion; a description (no emotion asked) keeps the matched window,
        # and so does "A while B" (the window is B's moment)
        window = c.window if intent.descriptive or intent.during else _refine(deps, c.window, labels)
        best = max(labels, key=lambda lab: support(mine, lab))
        wanted = [lab for lab in intent.emotions if support(mine, lab) >= TIE * support(mine, best) > 0]
        best = _member(wanted[0], mine, named) if wanted else best
        verified.append(Verified(candidate=c, window=window, evidence_ids=ids, label=best,
                                 support=round(support(mine, best), 3), note=_voice_only(mine, best, wanted)))
    return {"evidence": evidence, "verified": verified, "events": events, **({"flags": flags} if flags else {})}
