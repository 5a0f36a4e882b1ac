"""The answer composer: one or two plain sentences per moment, written from the evidence alone.

    From 0:10 to 0:20, he very likely looks happy. The corners of his mouth pull up and his cheeks lift.

What a sentence says, and where each part comes from:
* who      — the person the question named (tools/who.py's label) or the pronoun the question used;
             "someone" otherwise. No gender model ships offline (tools/who.py), so he/she is only ever
             the question's own word (`pronoun`), never a guess from the picture.
* when     — the moment's window in plain time ("from 0:10 to 0:20").
* what     — the label in everyday words (`FEELING`), with "looks" (a face shows it), "sounds" (only the
             voice) or "seems" (the words).
* how sure — `sureness()`, tools/confidence.py's calibrated bands over the moment's confidence.
* why      — the two or three strongest cues (`cues()`), each a phrase from the one cue vocabulary
             (`VOCAB`: Action Units, voice, words, the expression as a whole), strongest first.
* caveat   — when there is one: only the voice shows, the face is partly hidden, verify's note, an
             unconfirmed best match.

No AU codes, model names, probabilities, pixel counts or evidence ids appear in the text; each sentence
keeps the ids of the evidence it was written from (`Sentence.evidence_ids`), which the evidence panel,
`--json` and the export show. The text is at most `MAX_CHARS` characters (cues are dropped, weakest first,
until it fits).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.schemas import Sentence
from tools.confidence import BELOW, band_word
from tools.labels import EXPRESSION_TO_EMOTION, FEELING  # FEELING: the labels in everyday words
from tools.perception.emotion import AROUSAL_MEAN, GATE_ON, PROTOTYPES, family
from tools.schemas import Evidence, TimeWindow, clock

Pronoun = Literal["she", "he", "they"]
MAX_CHARS = 300  # the bound for one moment's explanation (issue 28), not a tuned number

# The expression model's class names in everyday words ("her whole expression reads happy").
EXPRESSION_WORD = {"happy": "happy", "sad": "sad", "angry": "angry", "fear": "frightened", "surprise": "surprised",
                   "disgust": "disgusted", "neutral": "calm"}

# The cue vocabulary, one table: each cue -> a phrase with {pos} (her/his/their) and, for cues whose verb
# agrees with the person, {subj} plus a "they" form. Written from the FACS manual's descriptions of each unit
# (the same source as tools/labels.AU_PHRASES, which reads these movements in questions).
VOCAB: dict[str, tuple[str, str]] = {
    # cue: (he/she form, they form)
    "AU1": ("the inner ends of {pos} brows rise", "the inner ends of {pos} brows rise"),
    "AU2": ("{pos} brows arch up", "{pos} brows arch up"),
    "AU4": ("{pos} brows draw down and together", "{pos} brows draw down and together"),
    "AU5": ("{pos} eyes open wide", "{pos} eyes open wide"),
    "AU6": ("{pos} cheeks lift", "{pos} cheeks lift"),
    "AU7": ("{pos} eyelids tighten", "{pos} eyelids tighten"),
    "AU9": ("{pos} nose wrinkles", "{pos} nose wrinkles"),
    "AU10": ("{pos} upper lip curls up", "{pos} upper lip curls up"),
    "AU12": ("the corners of {pos} mouth pull up", "the corners of {pos} mouth pull up"),
    "AU14": ("dimples show in {pos} cheeks", "dimples show in {pos} cheeks"),
    "AU15": ("the corners of {pos} mouth turn down", "the corners of {pos} mouth turn down"),
    "AU17": ("{pos} chin pushes up", "{pos} chin pushes up"),
    "AU18": ("{pos} lips pucker", "{pos} lips pucker"),
    "AU20": ("{pos} lips stretch sideways", "{pos} lips stretch sideways"),
    "AU22": ("{pos} lips push out", "{pos} lips push out"),
    "AU23": ("{pos} lips tighten", "{pos} lips tighten"),
    "AU24": ("{pos} lips press together", "{pos} lips press together"),
    "AU25": ("{pos} lips part", "{pos} lips part"),
    "AU26": ("{pos} jaw drops", "{pos} jaw drops"),
    "AU28": ("{pos} lips are sucked in", "{pos} lips are sucked in"),
    "AU45": ("{pos} eyes close", "{pos} eyes close"),
    "voice_up": ("{subj} raises {pos} voice", "{subj} raise {pos} voice"),
    "voice_down": ("{pos} voice is low and flat", "{pos} voice is low and flat"),
    "voice_even": ("{pos} voice stays even", "{pos} voice stays even"),
    "words": ("{subj} says {quote}", "{subj} say {quote}"),
    "still": ("{pos} face stays still", "{pos} face stays still"),
    "crying": ("{pos} cheeks bunch up and {pos} mouth pulls wide as in crying",
               "{pos} cheeks bunch up and {pos} mouth pulls wide as in crying"),
    "expression": ("{pos} whole expression reads {word}", "{pos} whole expression reads {word}"),
    "brows_up": ("{pos} brows move up", "{pos} brows move up"),
    "brows_down": ("{pos} brows move down", "{pos} brows move down"),
    "corners_up": ("the corners of {pos} mouth move up", "the corners of {pos} mouth move up"),
    "corners_down": ("the corners of {pos} mouth move down", "the corners of {pos} mouth move down"),
}

CAVEATS: dict[str, str] = {
    "voice_only": "only {pos} voice shows here",
    "words_only": "only {pos} words show it here",
    "hidden": "{pos} face is partly hidden",
    "covered": "{pos} face is covered here",
    "unverified": "this is the closest match, not a confirmed one",
}

MAX_CUES = 3           # "the two or three strongest cues" (issue 28)
HIDDEN_SHARE = 0.25    # share of a window's frames with a covered face from which "partly hidden" is said: not
                       # tuned (no labelled occlusion wording); a quarter, the same round share localise.MIN_FACE
                       # uses for "enough face" (on the sample's crying stretch 6 of 15 frames: said)
VOICE_SAID = 0.25      # |arousal| from which the voice counts as raised or low (prosody.voice_evidence's
                       # "aroused" / "calm/flat" bounds, the same numbers)
QUOTE_CHARS = 60       # a quoted phrase is cut to this many characters

_SHE = re.compile(r"\b(she|her|hers|herself|woman|women|girl|lady|mother|mom|mum|wife|daughter|sister|actress)\b", re.I)
_HE = re.compile(r"\b(he|him|his|himself|man|men|guy|boy|gentleman|father|dad|husband|son|brother|actor)\b", re.I)


class Cue(BaseModel):
    """One observed cue: a phrase of the cue vocabulary, with what fills its blanks in."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="the VOCAB key of its phrase")
    strength: float = Field(description="for ranking: the strongest cues are said, the weakest dropped first")
    evidence_id: str = Field(description="the evidence item it was read from")
    quote: str = Field(default="", description="{quote} of the words cue: what is said, in quotes (_quote)")
    word: str = Field(default="", description="{word} of the expression cue: the expression in everyday words")


class Composed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    sentences: list[Sentence] = Field(default_factory=list)
    cues: list[Cue] = Field(default_factory=list, description="every cue found, strongest first")


def pronoun(query: str) -> Pronoun:
    """The pronoun the question uses for its person ("when is she…", "the man…"); "they" when it uses none
    or both."""
    she, he = bool(_SHE.search(query or "")), bool(_HE.search(query or ""))
    return "she" if she and not he else "he" if he and not she else "they"


def _pos(p: Pronoun) -> str:
    return {"she": "her", "he": "his", "they": "their"}[p]


def sureness(confidence: float, verified: bool = True) -> str:
    """The confidence in words: tools/confidence.py's bands, chosen leave-one-person-out on the seven people
    of ../shared/media so that "very likely" is right at least 90 % of the time (one definition, shared with
    the evidence panel). An unverified moment (nothing passed verification) reads at most "possibly"."""
    word = band_word(confidence)
    return word if verified or word in ("possibly", BELOW) else "possibly"


def when(window: TimeWindow) -> str:
    a, b = clock(window.start), clock(window.end)
    return f"at {a}" if a == b else f"from {a} to {b}"


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def cues(label: str, items: Sequence[Evidence]) -> list[Cue]:
    """The cues that show `label` in the evidence, strongest first: the label family's Action Units that
    moved over the person's neutral face (delta >= GATE_ON, weighted by the prototype), the voice when its
    arousal goes the label's way, the words when they read as the label's family, and, where no Action
    Unit says it, the expression as a whole or the direction of facial motion. Neutral: a still face, an
    even voice."""
    fam = family(label)
    proto = PROTOTYPES.get(fam, {})
    out: list[Cue] = []
    emo = next((e for e in items if e.tool == "emotion"), None)
    if emo is not None:
        deltas = {k[6:]: _num(v) for k, v in emo.values.items() if k.startswith("delta_AU")}
        if fam == "Neutral":
            if deltas and all(v is None or abs(v) < GATE_ON for v in deltas.values()) or (
                    not deltas and {"fer", "facs"} & set(emo.values.get("cues") or [])):
                out.append(Cue(key="still", strength=0.6, evidence_id=emo.id))
        else:
            crying = (fam == "Sadness" and emo.values.get("fer_top") == "Sadness"
                      and all((deltas.get(a) or 0.0) >= GATE_ON for a in ("AU6", "AU12")))
            if crying:  # the emotion tool's crying grimace (emotion.crying_grimace): a smile's units, sad face
                out.append(Cue(key="crying", strength=round(min(deltas["AU6"], deltas["AU12"]), 4),
                               evidence_id=emo.id))
            for au, w in proto.items():
                d = deltas.get(au)
                if d is not None and d >= GATE_ON and au in VOCAB:
                    out.append(Cue(key=au, strength=round(d * w, 4), evidence_id=emo.id))
        cue_names = set(emo.values.get("cues") or [])
        if "words" in cue_names and emo.values.get("words_top") == fam and fam != "Neutral":
            quote = _quote(items)
            if quote:
                out.append(Cue(key="words", strength=0.35, evidence_id=_id(items, "transcript") or emo.id,
                               quote=quote))
        if "flow" in cue_names and not any(c.key.startswith("AU") for c in out) and fam != "Neutral":
            flow = emo.values.get("flow_top")
            key = {"Joy": "corners_up", "Sadness": "corners_down", "Surprise": "brows_up", "Fear": "brows_up",
                   "Anger": "brows_down", "Disgust": "brows_down"}.get(fam)
            if flow == fam and key:
                out.append(Cue(key=key, strength=0.2, evidence_id=emo.id))
    expr = next((e for e in items if e.tool == "expression" and e.values.get("top")), None)
    if expr is not None and sum(c.key.startswith("AU") or c.key in ("still", "crying") for c in out) < 2:
        top = str(expr.values["top"])
        p = _num(expr.values.get("top_prob")) or 0.0
        from tools.labels import EXPRESSION_TO_EMOTION
        if family(EXPRESSION_TO_EMOTION.get(top, "")) == fam and top in EXPRESSION_WORD and p >= 0.4:
            out.append(Cue(key="expression", strength=round(0.5 * p, 4), evidence_id=expr.id,
                           word=EXPRESSION_WORD[top]))
    voice = next((e for e in items if e.tool == "prosody.voice" and _num(e.values.get("arousal")) is not None), None)
    if voice is not None:
        a = float(voice.values["arousal"])
        want = AROUSAL_MEAN.get(fam)
        if fam == "Neutral" and abs(a) < VOICE_SAID:
            out.append(Cue(key="voice_even", strength=0.3, evidence_id=voice.id))
        elif want is not None and want > 0 and a >= VOICE_SAID:
            out.append(Cue(key="voice_up", strength=round(0.4 * a, 4), evidence_id=voice.id))
        elif want is not None and want < 0 and a <= -VOICE_SAID:
            out.append(Cue(key="voice_down", strength=round(0.4 * -a, 4), evidence_id=voice.id))
    return sorted(out, key=lambda c: -c.strength)


def _id(items: Sequence[Evidence], tool: str) -> str | None:
    return next((e.id for e in items if e.tool == tool), None)


def _quote(items: Sequence[Evidence]) -> str:
    t = next((str(e.values.get("transcript") or "") for e in items if e.tool == "transcript"), "").strip()
    t = t.strip("\"'“”")
    if not t:
        return ""
    if len(t) > QUOTE_CHARS:
        t = t[: QUOTE_CHARS].rsplit(" ", 1)[0] + "…"
    return f"“{t}”"


def phrase(c: Cue, p: Pronoun) -> str:
    he_she, they = VOCAB[c.key]
    subj = {"she": "she", "he": "he", "they": "they"}[p]
    return (they if p == "they" else he_she).format(pos=_pos(p), subj=subj, quote=c.quote, word=c.word)


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    if len(parts) == 2:
        return f"{parts[0]} and {parts[1]}"
    return f"{parts[0]}, {parts[1]} and {parts[2]}" if len(parts) == 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def caveat_keys(items: Sequence[Evidence], found: Sequence[Cue], verified: bool) -> list[str]:
    """Which caveats hold: only the voice (or words) show it, the face is partly hidden, unconfirmed."""
    keys = []
    emo = next((e for e in items if e.tool == "emotion"), None)
    names = set(emo.values.get("cues") or []) if emo is not None else set()
    face = bool({"fer", "facs"} & names) or any(e.modality == "face" and e.tool in ("expression", "aus")
                                               and (_num(e.values.get("n_face")) or _num(e.values.get("n_frames")) or 0)
                                               and not str(e.text).startswith("No usable face") for e in items)
    if not face and found:
        keys.append("voice_only" if any(c.key.startswith("voice") for c in found) else "words_only")
    for e in items:
        if e.tool == "aus":
            n = _num(e.values.get("n_frames")) or 0
            occ = _num(e.values.get("n_occluded")) or 0
            if n and occ >= n:
                keys.append("covered")
            elif n and occ / n >= HIDDEN_SHARE:
                keys.append("hidden")
            break
    if not verified:
        keys.append("unverified")
    return keys


def compose(label: str, confidence: float, window: TimeWindow, items: Sequence[Evidence], *,
            query: str = "", who: str | None = None, verified: bool = True, note: str = "",
            lead: Evidence | None = None, during: tuple[str, Evidence] | None = None,
            alternative: str | None = None) -> Composed:
    """One moment's explanation. `items`: the evidence overlapping the moment (any order); `who`: the
    person's name or label when the question is about one person; `note`: verify's caveat (a voice that
    fits several emotions); `lead`: a presence change that is the finding itself; `during`: ("A while B")
    the other person's name and their emotion reading there."""
    p = pronoun(query)
    found = cues(label, items)
    subject = _subject(who, p)
    keys = caveat_keys(items, found, verified)
    verb = ("sounds" if "voice_only" in keys else
            "looks" if any(not c.key.startswith(("voice", "words")) for c in found) else "seems")
    first_ids = [c.evidence_id for c in found[:1]] or [e.id for e in items[:1]]
    # too close to tell from another family (Moment.alternative): both are said, "angry or disgusted"
    other = alternative if alternative in FEELING and alternative != label else None
    feeling = FEELING[label] + (f" or {FEELING[other]}" if other else "")
    if lead is not None:
        head = f"{_cap(when(window))}, {_presence(lead, subject)}"
        first_ids = [lead.id]
        label_part = f" {_pronoun_subject(p, who)} {sureness(confidence, verified)} {verb} {feeling} there."
        head = head + "." + label_part
    else:
        head = f"{_cap(when(window))}, {subject} {sureness(confidence, verified)} {verb} {feeling}."
    caveat = [CAVEATS[k].format(pos=_pos(p)) for k in keys]
    if note and "voice_only" not in keys:
        caveat.append(_plain_note(note))
    extra = ""
    if during is not None:
        name, e = during
        # the other person's reading: an emotion reading (label, confidence) or, as localise cites it, the
        # expression model's (top class, top_prob)
        lab = str(e.values.get("label") or EXPRESSION_TO_EMOTION.get(str(e.values.get("top") or ""), ""))
        sure = _num(e.values.get("confidence"))
        sure = _num(e.values.get("top_prob")) if sure is None else sure
        if lab in FEELING:
            extra = f" Meanwhile {_subject(name, p)} {sureness(sure or 0.0)} looks {FEELING[lab]}."
    for n in range(min(MAX_CUES, len(found)), -1, -1):
        use = found[:n]
        second = _join([phrase(c, p) for c in use])
        if caveat:
            second = (f"{second}, though {_join(caveat)}" if second else _cap(_join(caveat)))
        second = _cap(second) + "." if second else ""
        text = " ".join(x for x in (head, second) if x) + extra
        if len(text) <= MAX_CHARS:
            break
    else:  # pragma: no cover - the head alone is far below the bound
        text = head[:MAX_CHARS]
    sents = [Sentence(text=head, evidence_ids=list(dict.fromkeys(first_ids)))]
    if second:
        ids = list(dict.fromkeys([c.evidence_id for c in use] + [e.id for e in items if e.tool in ("aus", "expression")
                                                                  and "hidden" in keys][:1]))
        sents.append(Sentence(text=second, evidence_ids=ids or first_ids))
    if extra:
        sents.append(Sentence(text=extra.strip(), evidence_ids=[during[1].id]))
    return Composed(text=text, sentences=sents, cues=found)


def reasons(label: str, window: TimeWindow, items: Sequence[Evidence], query: str = "",
            verified: bool = True, confidence: float = 1.0) -> Composed:
    """A "why?" follow-up about one moment: its cues (all of them, up to MAX_CUES + 1), as one plain
    sentence, with its caveat; "" cues say that the reading rests on the expression as a whole."""
    p = pronoun(query)
    found = cues(label, items)
    keys = caveat_keys(items, found, verified)
    caveat = [CAVEATS[k].format(pos=_pos(p)) for k in keys]
    for n in range(min(MAX_CUES + 1, len(found)), -1, -1):
        use = found[:n]
        body = (f"{FEELING[label]} {when(window)} because " + _join([phrase(c, p) for c in use])) if use else (
            f"{FEELING[label]} {when(window)}: no single movement, sound or word stands out, so this rests on "
            "the overall reading")
        if caveat:
            body += f"; {_join(caveat)}"
        text = _cap(body) + f" ({sureness(confidence, verified)})."
        if len(text) <= MAX_CHARS:
            break
    ids = list(dict.fromkeys(c.evidence_id for c in use)) or [e.id for e in items[:1]]
    return Composed(text=text, sentences=[Sentence(text=text, evidence_ids=ids)], cues=found)


def _subject(who: str | None, p: Pronoun) -> str:
    if who:
        if "(" in who:  # a named person's label already says where: "Zoe (person 1, on the left)"
            return who
        head, _, rest = who.partition(", ")
        return f"{head} ({rest})" if rest else head
    return {"she": "she", "he": "he", "they": "someone"}[p]


def _pronoun_subject(p: Pronoun, who: str | None) -> str:
    return {"she": "She", "he": "He", "they": "They"}[p] if (who or p != "they") else "Someone"


def _presence(e: Evidence, subject: str) -> str:
    kind = e.values.get("kind")
    if kind == "leaves":
        return f"{subject} leaves the picture"
    if kind == "enters":
        return f"{subject} comes into the picture"
    return f"{subject} is out of the picture"


def _plain_note(note: str) -> str:
    """verify's caveat without its internal wording (it is already plain: "only the voice shows here, …")."""
    return re.sub(r"\s+", " ", note).strip().rstrip(".")
