"""Plain-language wording for people: the agent's internal flags become short notes (the raw flags stay
in the exported JSON only), and rationales lose their `[E#]` citation markers where a person reads them
(the citations table keeps the link between each sentence and its evidence)."""

from __future__ import annotations

import re

from tools.schemas import clock

_MARK = re.compile(r"\s*\[[A-Za-z0-9_.:-]+\]")

LLM_DRAFT_REJECTED = "The explanation was written from the evidence; the language model's draft was not supported by it."
_NOTES: list[tuple[str, str]] = [
    ("rationale_template", LLM_DRAFT_REJECTED),  # older answers (exports, sessions) still carry these three
    ("rationale_repair_failed", LLM_DRAFT_REJECTED),
    ("rationale_pruned", "Claims the evidence did not support were removed from the explanation."),
    ("llm_fallback:rationale", "The language model gave no usable explanation (none available or no reply "
                               "in time), so it was written from the evidence."),
    ("llm_fallback:judge", "The language model gave no verdict (none available or no reply in time), so the "
                           "measured evidence alone decided which moments fit."),
    ("intent_without_llm", "Your question was read without the language model (from its words and examples)."),
    ("label_overridden_by_evidence", "The measured evidence changed the emotion the language model proposed."),
    ("llm_verdict_inconsistent", "The language model accepted a moment but named another emotion for it, so "
                                 "the measured evidence alone decided that moment."),
    ("budget_exhausted", "The time budget ran out; the answer uses what was checked by then."),
    ("descriptive_query", "Your question describes a scene, so moments are ranked by how well they match it."),
    ("unverified", "Not confirmed: the tools could not confirm the emotion, so this is a best guess."),
    ("llm_unavailable", "No language model was available; answers come from the measured evidence alone."),
    ("role_llm_unavailable", "A helper language model was unavailable; the main one was used."),
    ("out_of_time", "The time budget ran out; the answer uses what was checked by then."),
    ("presence_query", "Your question is about someone being in the picture, so the moments come from where "
                       "their face is seen and not seen; the emotion shown is what the tools read there."),
]


def _said(flag: str, web: bool = True) -> str | None:
    """Flags that carry their own plain reason ("not_found: <why>; nothing is shown"): the reason, as a note."""
    head, _, why = flag.partition(": ")
    why = why.split("; nothing is shown")[0].strip()
    if not why:
        return None
    if head == "not_found":
        return f"Nothing found: {why}."
    if head == "person":
        return f"Person: {web_words(why) if web else why}; the answer covers everyone."
    if head == "ask_person":  # tools/who.py could not tell which person the question means
        who = [w.strip() for w in why.split(" | ") if w.strip()]
        listed = ", ".join(who[:-1]) + f" or {who[-1]}" if len(who) > 1 else (who[0] if who else "")
        return (f"Which person do you mean: {listed}? Say which one (e.g. “the one on the left”) or " +
                ("choose them under “People in the video”." if web else
                 "ask again with --person ID (`affectlens people VIDEO` lists them)."))
    if head == "while":
        return f"About the “while …” part of your question: {why}."
    if head == "arc":  # how a comparison's sides were chosen (agents/arc_words.split_sides)
        return f"{why[0].upper()}{why[1:]}."
    return None
# flags that are normal operation: nothing to tell a person. The explanation is written from the evidence by
# design (agents/compose.py) and the question is read without the LLM by default (tools/settings.py), so
# neither is news; a served model's polish that was not used leaves the composer's words, also no news.
_SILENT: tuple[str, ...] = ("intent_without_llm", "rationale_draft_rejected", "rationale_polished", "provisional")

# Command-line hints inside a tool's reason ("name them: affectlens people VIDEO --name ID=NAME") → what a
# web user does instead.
_WEB: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\(?name them: `?affectlens people[^)]*`?\)?"),
     "(name them under “People in the video”, or say which one, e.g. “the one on the left”)"),
    (re.compile(r"`?affectlens people VIDEO`?"), "the “People in the video” list"),
]


def web_words(text: str) -> str:
    """A reason with its command-line hints replaced by what a web user can do."""
    for pat, repl in _WEB:
        text = pat.sub(repl, text)
    return text

_READINGS = {"emotion": "combined emotion reading", "expression": "facial expression reading",
             "aus": "facial muscle (Action Unit) reading", "motion": "facial motion reading",
             "voice": "voice reading", "transcript": "reading of the spoken words", "zoom": "zoomed face re-read"}


def problem_note(flag: str) -> str | None:
    """Notes for what went wrong under the answer, from the flags tools.index.store.damage_flag and
    graphs.nodes.verify write: "damaged_video: after 12.0" -> "The video is damaged after 0:12: nothing
    after that point was seen."; "tool_failed: voice 10.0-13.0: <error>" -> "The voice reading failed for
    0:10-0:13, ..." (the error itself stays in the flag, for the exported JSON)."""
    head, _, rest = flag.partition(": ")
    try:
        if head == "damaged_video" and rest.startswith("after "):
            return f"The video is damaged after {clock(float(rest[6:]), floor=True)}: nothing after that point was seen."
        if head == "damaged_video" and rest.startswith("unreadable "):
            a, b = (float(x) for x in rest[11:].split("-"))
            return (f"The video is damaged between {clock(a, floor=True)} and {clock(b, floor=True)}: that part could not be read, "
                    "so nothing in it was seen.")
        if head == "tool_failed":
            tool, _, span = rest.partition(" ")
            a, b = (float(x) for x in span.split(":")[0].split("-"))
            what = _READINGS.get(tool, f"{tool} reading")
            return (f"The {what} failed for {clock(a, floor=True)}–{clock(b, floor=True)}, so the answer there does without it "
                    "(details in the exported JSON).")
    except ValueError:
        return None
    return None


def human_notes(flags: list[str], web: bool = True) -> list[str]:
    """Short notes for a person, one per distinct situation, in the order the flags appeared; `web`: what to do
    is said for the web page (else for the command line)."""
    out: list[str] = []
    for f in flags:
        if f.startswith(_SILENT):
            continue
        note = problem_note(f) or _said(f, web) or next((n for key, n in _NOTES if f == key or f.startswith(key + ":") or f.startswith(key + " ")),
                                "Something unusual happened while answering; " +
                                ("“Export session” saves the details." if web else "--json shows the details."))
        if note not in out:
            out.append(note)
    return out


def plain_rationale(text: str) -> str:
    """The rationale without citation markers, spacing and punctuation tidied."""
    t = _MARK.sub("", text or "")
    t = re.sub(r"\s+([.,;:!?])", r"\1", t)
    return re.sub(r"\s{2,}", " ", t).strip()
