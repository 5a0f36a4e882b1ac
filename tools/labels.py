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

# The 13 labels in everyday words (an adjective after "looks/sounds/seems"): how answers and arc summaries
# name a feeling (agents/compose.py, agents/arc_words.py).
FEELING: dict[str, str] = {
    "Joy": "happy", "Sadness": "sad", "Anger": "angry", "Fear": "afraid", "Horror": "horrified",
    "Disgust": "disgusted", "Surprise": "surprised", "Neutral": "calm", "Love": "affectionate",
    "Pride": "proud", "Satisfaction": "content", "Trust": "at ease", "Anticipation": "expectant",
}
assert set(FEELING) == set(EMOTIONS)

POSITIVE = frozenset({"Joy", "Love", "Pride", "Satisfaction", "Trust", "Anticipation"})
NEGATIVE = frozenset({"Anger", "Disgust", "Fear", "Horror", "Sadness"})
HIGH_AROUSAL = frozenset({"Anger", "Fear", "Horror", "Surprise", "Joy"})

# Label families, defined once: each of the 13 labels belongs to the basic label whose face it shows
# (EMOTION_TO_EXPRESSION below); the face cannot tell Pride from Joy or Horror from Fear. Evaluation's
# "label family right" and the emotion tool's split of a basic label (tools/perception/emotion.SPLITS) both
# read this table.
FAMILY_PARENT: dict[str, str] = {"Satisfaction": "Joy", "Love": "Joy", "Pride": "Joy", "Horror": "Fear",
                                 "Anticipation": "Surprise", "Trust": "Neutral"}


def family(label: str) -> str:
    """The basic label whose family `label` belongs to (itself for a basic label): Pride -> Joy."""
    return FAMILY_PARENT.get(label, label)


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

# FACS Action Unit prototypes of the six basic emotions (EMFACS-style), defined once: the emotion tool's
# facs cue scores a window's AU deltas against them (tools/perception/emotion.py), and the affect vector's
# query profile (PROFILES below, tools/retrieval.py) takes its AU part from them. Written from the FACS
# literature, not fitted (the emotion tool's cue weights were fitted on top of them). Fear and surprise share
# raised brows; fear widens the eyes more (AU5, vs "5B" slight in surprise), adds AU4 and stretches the lips
# (AU20); surprise drops the jaw (AU26).
AU_PROTOTYPES: dict[str, dict[str, float]] = {
    "Joy": {"AU12": 1.0, "AU6": 0.6},
    "Sadness": {"AU1": 0.6, "AU4": 0.5, "AU15": 0.8, "AU17": 0.4},
    "Anger": {"AU4": 1.0, "AU5": 0.3, "AU7": 0.5, "AU23": 0.4, "AU24": 0.4},
    "Disgust": {"AU9": 1.0, "AU10": 0.8, "AU15": 0.4, "AU17": 0.3},
    "Fear": {"AU1": 0.5, "AU2": 0.4, "AU4": 0.3, "AU5": 0.8, "AU20": 0.5},
    "Surprise": {"AU1": 0.5, "AU2": 0.6, "AU5": 0.2, "AU26": 0.5},
}

# How strongly a non-basic label shows its parent's AU prototype (FAMILY_PARENT): the face cannot tell Pride
# from Joy, so these are priors, set a priori from the hand-written profiles they replace (Satisfaction and
# Love smiled at 0.6 of Joy, Pride at 0.4, Anticipation raised brows at about half of Surprise, Horror as Fear).
AU_SHARE: dict[str, float] = {"Satisfaction": 0.6, "Love": 0.6, "Pride": 0.4, "Anticipation": 0.5, "Horror": 1.0,
                              "Trust": 0.0}

# What each label looks like in the affect vector besides its AUs: expression classes and voice arousal (signed).
_CUES: dict[str, dict[str, float]] = {
    "Joy": {"happy": 1.0, "arousal": 0.3},
    "Satisfaction": {"happy": 0.7, "neutral": 0.3},
    "Pride": {"happy": 0.6, "neutral": 0.3},
    "Love": {"happy": 0.7},
    "Trust": {"neutral": 0.6, "happy": 0.3},
    "Anticipation": {"surprise": 0.4, "neutral": 0.4},
    "Sadness": {"sad": 1.0, "fear": 0.2, "arousal": -0.2},
    "Anger": {"angry": 1.0, "arousal": 0.6},
    "Disgust": {"disgust": 1.0, "angry": 0.4},
    "Fear": {"fear": 1.0, "arousal": 0.4},
    "Horror": {"fear": 1.0, "surprise": 0.4, "arousal": 0.6},
    "Surprise": {"surprise": 1.0, "arousal": 0.4},
    "Neutral": {"neutral": 1.0, "arousal": -0.3},
}


def _profile(label: str) -> dict[str, float]:
    basic = FAMILY_PARENT.get(label, label)
    share = AU_SHARE.get(label, 1.0)
    aus = {au: round(w * share, 3) for au, w in AU_PROTOTYPES.get(basic, {}).items() if share > 0}
    return {**_CUES[label], **aus}


# What each of the 13 labels looks like in the affect vector (tools/retrieval.py): expression classes,
# the AU prototype of its family (AU_PROTOTYPES, scaled by AU_SHARE), voice arousal (signed).
PROFILES: dict[str, dict[str, float]] = {e: _profile(e) for e in EMOTIONS}

assert set(PROFILES) == set(EMOTIONS) == set(EMOTION_TO_EXPRESSION)
