"""The emotion vocabulary, defined once: VQAU-Bench's 13 labels, their valence, the words people use
for them (aliases and lexicon), the expression classifier's classes and how they map onto the labels,
each label's evidence profile in the affect vector, and the Action Unit names.

Everything else imports from here (tools, agents, graphs, ui, evals); tools stay free of agent imports.
"""

from __future__ import annotations

import re
from typing import Literal

# ---------------------------------------------------------------- the 13 labels

EMOTIONS = ("Anger", "Anticipation", "Disgust", "Fear", "Horror", "Joy", "Love", "Neutral", "Pride",
            "Sadness", "Satisfaction", "Surprise", "Trust")
Emotion = Literal["Anger", "Anticipation", "Disgust", "Fear", "Horror", "Joy", "Love", "Neutral", "Pride",
                  "Sadness", "Satisfaction", "Surprise", "Trust"]
BASIC = ("Anger", "Disgust", "Fear", "Joy", "Sadness", "Surprise", "Neutral")

POSITIVE = frozenset({"Joy", "Love", "Pride", "Satisfaction", "Trust", "Anticipation"})
NEGATIVE = frozenset({"Anger", "Disgust", "Fear", "Horror", "Sadness"})
HIGH_AROUSAL = frozenset({"Anger", "Fear", "Horror", "Surprise", "Joy"})

# Names users and datasets give the labels, lower-cased → canonical label (normalize_label).
ALIASES: dict[str, str] = {
    **{e.lower(): e for e in EMOTIONS},
    "angry": "Anger", "annoyed": "Anger", "frustrated": "Anger", "furious": "Anger", "mad": "Anger", "upset": "Anger",
    "disgusted": "Disgust", "contempt": "Disgust",
    "fearful": "Fear", "afraid": "Fear", "scared": "Fear", "anxious": "Fear", "nervous": "Fear", "tense": "Fear",
    "terrified": "Horror", "horrified": "Horror",
    "happy": "Joy", "happiness": "Joy", "laugh": "Joy", "laughing": "Joy", "cheerful": "Joy", "amused": "Joy",
    "excited": "Joy", "smile": "Joy", "smiling": "Joy",
    "sad": "Sadness", "crying": "Sadness", "cry": "Sadness", "grief": "Sadness", "unhappy": "Sadness",
    "surprised": "Surprise", "shocked": "Surprise", "astonished": "Surprise",
    "calm": "Neutral", "none": "Neutral",
    "proud": "Pride", "satisfied": "Satisfaction", "content": "Satisfaction", "relieved": "Satisfaction",
    "loving": "Love", "affection": "Love", "trusting": "Trust", "hopeful": "Anticipation", "eager": "Anticipation",
}

# Class names speech-emotion models use (IEMOCAP/emotion2vec-style short codes), → label; kept out of ALIASES
# so that the keyword reader does not match them in ordinary text.
SER_CODES: dict[str, str] = {"ang": "Anger", "hap": "Joy", "exc": "Joy", "neu": "Neutral", "sad": "Sadness",
                             "fea": "Fear", "dis": "Disgust", "sur": "Surprise", "calm": "Neutral"}

# Further emotion words the keyword reader knows (inflections and near-synonyms), word → label. The lexicon
# is one voice among the intent readers (agents/intent), never a veto. It must not hold the bench templates'
# words (evals/build.py: "cheer", "grossed", "upsetting", "wow" were removed for that reason), or the no-LLM
# bench would measure the lexicon against itself.
LEXICON: dict[str, str] = {
    "laugh": "Joy", "laughed": "Joy", "laughs": "Joy", "fun": "Joy", "funny": "Joy",
    "glad": "Joy", "joy": "Joy", "smiles": "Joy", "saddest": "Sadness", "tears": "Sadness",
    "cries": "Sadness", "cried": "Sadness", "gross": "Disgust",
    "disgusting": "Disgust", "scary": "Fear", "tension": "Fear",
    "angriest": "Anger", "shock": "Surprise", "happiest": "Joy", "scariest": "Fear",
}


def lexicon_emotions(text: str, neutral: bool = False) -> list[str]:
    """Labels named by emotion words in `text` (ALIASES + LEXICON, with plurals, -ed/-ing and comparatives
    or superlatives reduced: happiest/happier → happy, calmest → calm), in order of appearance. Neutral is
    left out unless `neutral` (then "calm", "calmer", "neutral" name it; "none" never does)."""
    out: list[str] = []
    for w in re.findall(r"[a-z']+", text.lower()):
        degree = [re.sub(r"i(?:est|er)$", "y", w), re.sub(r"(\w)\1(?:est|er)$", r"\1", w),
                  re.sub(r"(?:est|er)$", "", w)]
        for cand in (w, w.rstrip("s"), w.removesuffix("ed"), w.removesuffix("ing"), *degree):
            e = LEXICON.get(cand) or ALIASES.get(cand)
            if e == "Neutral" and (not neutral or cand == "none"):
                continue
            if e and e not in out:
                out.append(e)
                break
    return out


def normalize_label(text: str | None) -> str | None:
    """Map a free label ("Happy", "sad ") onto the 13 labels; None when unknown."""
    if not text:
        return None
    return ALIASES.get(text.strip().lower())


def valence(label: str) -> int:
    return 1 if label in POSITIVE else -1 if label in NEGATIVE else 0


# ---------------------------------------------------------------- expression classes

# The FER2013 expression classifier's 7 classes.
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EXPRESSION_TO_EMOTION: dict[str, str] = {
    "angry": "Anger", "disgust": "Disgust", "fear": "Fear", "happy": "Joy", "sad": "Sadness",
    "surprise": "Surprise", "neutral": "Neutral",
}
# The expression class that shows each label on the face (basic labels: their own class; the others:
# the nearest one, which is why the face alone cannot tell Pride from Joy).
EMOTION_TO_EXPRESSION: dict[str, str] = {
    **{v: k for k, v in EXPRESSION_TO_EMOTION.items()},
    "Satisfaction": "happy", "Pride": "happy", "Love": "happy", "Trust": "neutral",
    "Anticipation": "surprise", "Horror": "fear",
}

# ---------------------------------------------------------------- Action Units

# Facial actions as people describe them ("her brows knit", "his jaw drops") -> FACS Action Units, written from
# the FACS manual's descriptions of each unit (not from any dev set); read by agents.intent.readers.face_reader.
_B = r"(?:eye)?brows?"
_M = r"(?:the |his |her |their |its |someone's |somebody's )?"
AU_PHRASES = [
    (rf"\binner (?:corners of {_M})?{_B}\b.{{0,20}}\b(?:raise|rise|go up|lift|slant)", ("AU1",)),
    (rf"\b{_B} (?:shoot|go|fly|jump|lift|shot|went|flew|jumped|goes|shoots|flies|jumps|lifts|rise|rises|rose|raise|raises|raised|arch|arches|arched)(?: way)?(?: up)?\b", ("AU1", "AU2")),
    (rf"\b(?:raise[sd]?|raising|lift(?:s|ed|ing)?|arch(?:es|ed|ing)?) {_M}{_B}", ("AU1", "AU2")),
    (rf"\b{_B} (?:furrow|knit|pull together|pulls together|pulled together|draw together|draws together|drawn together|lower|lowers|lowered|come down|comes down|came down|crease|creases|creased|scrunch|scrunches|scrunched|knot|knots|knotted|bunch|bunches)", ("AU4",)),
    (rf"\b(?:furrow(?:s|ed|ing)?|knit(?:s|ted|ting)?|lower(?:s|ed|ing)?|scrunch(?:es|ed|ing)?) {_M}{_B}", ("AU4",)),
    (r"\b(?:frown(?:s|ed|ing)?|scowl(?:s|ed|ing)?)\b", ("AU4",)),
    (r"\beyes? (?:go |went |get |got |grow |grew )?(?:wide|widen|widens|widened|huge|big|saucers|pop|pops|popped|bulge|bulges|bulged)\b", ("AU5",)),
    (r"\bwide[- ]eyed\b|\beyes? wide open\b", ("AU5",)),
    (r"\bcheeks? (?:lift|lifts|lifted|raise|raises|raised|rise|rises|rose|go up|push up|pushes up|bunch up)", ("AU6",)),
    (r"\b(?:eyes? (?:crinkle|crinkles|crinkled|twinkle|twinkles)|crow's feet)", ("AU6",)),
    (r"\beyes? (?:narrow|narrows|narrowed|squint|squints|squinted)\b|\b(?:narrow(?:s|ed|ing)?|squint(?:s|ed|ing)?) (?:his |her |their )?eyes\b|\bsquint(?:s|ed|ing)?\b", ("AU7",)),
    (r"\bnose (?:wrinkle|wrinkles|wrinkled|scrunch|scrunches|scrunched|crinkle|crinkles|crinkled)|\b(?:wrinkle[sd]?|wrinkling|scrunch(?:es|ed|ing)?) (?:up )?(?:his |her |their )?nose\b", ("AU9",)),
    (r"\bupper lip (?:curl|curls|curled|raise|raises|raised|lift|lifts|lifted|rises)|\bcurl(?:s|ed|ing)? (?:his |her |their )?(?:upper )?lip\b|\bsneer", ("AU10",)),
    (rf"\bcorners? of {_M}(?:mouth|lips) (?:go|goes|went|turn|turns|turned|pull|pulls|pulled|curl|curls|curled|tilt|tilts|lift|lifts|twitch|twitches) up|\b(?:grin|grins|grinning|grinned|smile|smiles|smiling|smiled)\b", ("AU12",)),
    (rf"\bcorners? of {_M}(?:mouth|lips) (?:go|goes|went|turn|turns|turned|pull|pulls|pulled|droop|droops|drooped|sag|sags|sagged|drop|drops|dropped)(?: right)? down|\bmouth (?:turns|turned|droops|drooped|sags|sagged) down\b|\bdown-?turned mouth\b", ("AU15",)),
    (r"\b(?:chin (?:wrinkles|wrinkled|puckers|puckered|quivers|quivered|trembles|trembled|dimples)|(?:lower )?lip (?:quivers|quivered|quivering|trembles|trembled|trembling|wobbles|wobbled|wobbling)|pout(?:s|ed|ing)?)\b", ("AU17",)),
    (r"\b(?:mouth|lips) (?:stretch|stretches|stretched|pull|pulls|pulled) (?:back|sideways|wide|tight)|\bgrimace[sd]?\b|\bgrimacing\b", ("AU20",)),
    (r"\blips? (?:press|presses|pressed|tighten|tightens|tightened|thin|thins|thinned|go thin|pursed|purse|purses)|\b(?:press(?:es|ed|ing)?|purs(?:e|es|ed|ing)|tighten(?:s|ed|ing)?) (?:his |her |their )?lips\b|\btight-lipped\b", ("AU23", "AU24")),
    (r"\b(?:clench(?:es|ed|ing)? (?:his |her |their )?(?:jaw|teeth)|(?:jaw|teeth) (?:clench|clenches|clenched|set|tightens|tightened)|grit(?:s|ted|ting)? (?:his |her |their )?teeth)\b", ("AU23", "AU24")),
    (r"\b(?:glare[sd]?|glaring)\b", ("AU4", "AU7")),
    (r"\b(?:jaw (?:drop|drops|dropped|falls|fell|hangs|hung)|mouth (?:falls|fell|drops|dropped|hangs|hung|falling|dropping|hanging) open|gap(?:e|es|ed|ing)\b|open-mouthed|mouth wide open)", ("AU26",)),
]


def face_actions(text: str) -> list[str]:
    """The Action Units a text describes ("eyebrows shoot up and the mouth falls open" -> AU1, AU2, AU26)."""
    low = text.lower()
    aus: list[str] = []
    for pat, units in AU_PHRASES:
        if re.search(pat, low):
            aus += [u for u in units if u not in aus]
    return aus


AU_NAMES: dict[str, str] = {
    "AU1": "inner brow raiser", "AU2": "outer brow raiser", "AU4": "brow lowerer", "AU5": "upper lid raiser",
    "AU6": "cheek raiser", "AU7": "lid tightener", "AU9": "nose wrinkler", "AU10": "upper lip raiser",
    "AU12": "lip corner puller (smile)", "AU14": "dimpler", "AU15": "lip corner depressor",
    "AU17": "chin raiser", "AU18": "lip pucker", "AU20": "lip stretcher", "AU22": "lip funneler",
    "AU23": "lip tightener", "AU24": "lip pressor", "AU25": "lips part", "AU26": "jaw drop",
    "AU28": "lip suck", "AU45": "blink",
}


def au_label(au: str) -> str:
    """"AU4 brow lowerer": the code with its plain name, as people should always see it."""
    return f"{au} {AU_NAMES[au]}" if au in AU_NAMES else au


# ---------------------------------------------------------------- evidence profiles

# What each of the 13 labels looks like in the affect vector (tools/retrieval.py): expression classes,
# FACS-style AU prototypes, voice arousal (signed) and motion.
PROFILES: dict[str, dict[str, float]] = {
    "Joy": {"happy": 1.0, "AU12": 1.0, "AU6": 0.6, "AU25": 0.3, "arousal": 0.3},
    "Satisfaction": {"happy": 0.7, "AU12": 0.6, "neutral": 0.3},
    "Pride": {"happy": 0.6, "AU12": 0.4, "neutral": 0.3},
    "Love": {"happy": 0.7, "AU12": 0.6, "AU6": 0.3},
    "Trust": {"neutral": 0.6, "happy": 0.3},
    "Anticipation": {"surprise": 0.4, "neutral": 0.4, "AU1": 0.3, "AU2": 0.3},
    "Sadness": {"sad": 1.0, "AU1": 0.5, "AU4": 0.5, "AU15": 0.6, "AU17": 0.3, "fear": 0.2, "arousal": -0.2},
    "Anger": {"angry": 1.0, "AU4": 0.7, "AU9": 0.2, "AU17": 0.2, "arousal": 0.6},
    "Disgust": {"disgust": 1.0, "angry": 0.4, "AU9": 0.7, "AU4": 0.3, "AU15": 0.3},
    "Fear": {"fear": 1.0, "AU1": 0.5, "AU2": 0.4, "AU4": 0.3, "AU20": 0.6, "arousal": 0.4},
    "Horror": {"fear": 1.0, "surprise": 0.4, "AU20": 0.6, "AU26": 0.3, "arousal": 0.6},
    "Surprise": {"surprise": 1.0, "AU1": 0.5, "AU2": 0.6, "AU26": 0.6, "arousal": 0.4},
    "Neutral": {"neutral": 1.0, "arousal": -0.3},
}

assert set(PROFILES) == set(EMOTIONS) == set(EMOTION_TO_EXPRESSION)
