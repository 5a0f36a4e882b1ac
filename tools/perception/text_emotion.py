"""Text emotion reader: which of the 13 labels a piece of text (a question, a transcript line) expresses.

Zero-shot with the packaged all-MiniLM-L6-v2 embedder (tools/perception/embed.py): the text is compared
with a short description and example sentences per label: a dozen written here by hand, plus 40 everyday
expressions per label in `data/emotion_expressions.json` (idioms, face and voice, situations, quoted words,
viewer reactions), written by a helper that never saw the dev sets or bench templates (its brief is in the
file). None of them is taken from a dev set. A label's score is the mean of its two best cosine similarities;
a softmax with a temperature (chosen on the tune part of the intent dev set) turns scores into
probabilities. Negated parts ("not angry, just let down") are cut out before embedding, and the labels they
name are reported as negated. The examples' vectors are cached on disk per (model, texts).

`read(text) -> TextEmotion` (probabilities over the 13 labels, valence in [-1, 1], reasons). A 14th
pseudo-class, `none`, holds descriptions of moments with no feeling in them ("when does he open the
door"): its probability is `p_none`, used to tell descriptive questions from emotional ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.labels import EMOTIONS, lexicon_emotions, valence

#: the languages the reader reads: all-MiniLM-L6-v2 was trained on English sentence pairs and every example
#: below is English (tools/perception/emotion.words_to_read leaves other languages' words unread)
LANGUAGES: frozenset[str] = frozenset({"en"})

# Hand-written descriptions and examples, one entry per label (first item: the description).
LABEL_TEXTS: dict[str, list[str]] = {
    "Anger": ["anger, rage, irritation, hostility",
              "he loses his temper and shouts at them", "she is fuming and slams the table",
              "he hits the roof when he hears about it", "she glares with clenched teeth",
              "he flies off the handle", "they get into a heated row", "I was so mad I saw red",
              "she storms out, livid", "he barks at his assistant", "a furious rant in a raised voice",
              "she is cross and annoyed with him", "he goes ballistic", "an aggressive, hostile outburst"],
    "Anticipation": ["anticipation, expectancy, looking forward to what comes next",
                     "she waits, perched forward, for the result", "he can't wait for the gift to be opened",
                     "just before the reveal, with everyone holding their breath",
                     "counting down the seconds until it starts", "he leans forward, eager for the answer",
                     "she keeps checking the door, expecting someone", "itching to find out what happens",
                     "the build-up just before the announcement", "he is excited about the trip next week",
                     "the suspense of waiting for the verdict", "she looks forward to tomorrow"],
    "Disgust": ["disgust, revulsion, nausea, contempt",
                "she wrinkles her nose at the smell", "he looks like he is going to throw up",
                "the food makes him gag", "she sneers at him with contempt",
                "that was revolting and stomach-turning", "he pulls a face at something nasty",
                "yuck, that is vile", "she looks down her nose at them", "he finds it repulsive and sickening",
                "an icky, off-putting sight", "she curls her lip in distaste", "they scorn him as beneath them"],
    "Fear": ["fear, worry, nervousness, dread",
             "she is afraid of what is behind the door", "his hands shake and he looks worried",
             "she is nervous and on edge", "he is anxious about the test",
             "she backs away, frightened", "a sense of dread before something bad", "he is jumpy and uneasy",
             "she bites her nails, scared stiff", "he panics and his breathing gets fast",
             "her voice trembles with worry", "a creepy, spooky, unsettling moment", "goosebumps and butterflies"],
    "Horror": ["horror, terror, screaming at something gruesome",
               "she screams in terror at the monster", "he freezes, petrified, at the gruesome sight",
               "the most terrifying, blood-curdling moment", "they recoil in horror at the body",
               "pure nightmare panic", "a shriek of absolute terror", "something straight out of a scary movie",
               "her face goes white with terror", "a hair-raising, macabre scene", "he is horrified beyond words"],
    "Joy": ["joy, happiness, fun, laughter",
            "she bursts out laughing", "he grins from ear to ear", "the most cheerful, fun part",
            "everyone is having a great time", "she is beaming and delighted", "he giggles at the joke",
            "she is over the moon", "they are in stitches", "a big happy smile", "he is thrilled and jumps up",
            "a playful, light-hearted moment", "she chuckles and her eyes light up",
            "her mood lifts and she brightens up again", "he perks up and starts smiling"],
    "Love": ["love, affection, tenderness, warmth toward someone",
             "she looks at her child with tenderness", "he tells her how much he adores her",
             "a warm hug between two people who care for each other", "they gaze at each other fondly",
             "she speaks of her partner with deep affection", "a sweet, romantic moment",
             "he is head over heels for her", "a heartwarming, cute moment", "she cuddles the puppy",
             "he kisses her on the forehead", "words of devotion and caring"],
    "Neutral": ["neutral, calm, expressionless, no particular emotion",
                "his face is blank and shows nothing", "she speaks flatly, without any colour",
                "a quiet moment where nothing much happens", "he stays composed and unmoved",
                "a completely ordinary, unemotional stretch", "a poker face", "she reads the numbers in a dry voice",
                "he just explains the instructions plainly", "an indifferent, deadpan look",
                "relaxed and at rest, nothing going on in her face", "a businesslike, factual report"],
    "Pride": ["pride, achievement, feeling accomplished",
              "he puffs out his chest after winning", "she boasts about her success",
              "holding up the trophy with his chin high", "she is proud of what she achieved",
              "he shows off the thing he built himself", "a moment of triumph and self-respect",
              "she brags that she was right all along", "he stands tall after the win",
              "look what I made, all by myself", "she talks about her big accomplishment", "a smug grin of victory"],
    "Sadness": ["sadness, grief, sorrow, disappointment",
                "she is heartbroken and weeping", "he looks down, miserable and gloomy",
                "a tearful goodbye", "she is let down and dejected", "his voice breaks with grief",
                "a melancholy, mournful moment", "he is feeling blue", "she sobs into her hands",
                "a crushing blow that leaves him devastated", "her eyes well up", "he sounds hopeless and defeated",
                "she is hurt and disheartened by the news"],
    "Satisfaction": ["satisfaction, contentment, relief, a job well done",
                     "she leans back, content, after finishing the work", "he sighs with relief when it is over",
                     "a quietly pleased little smile", "everything worked out fine and she is at ease",
                     "he nods, pleased with the result", "finally done, a feeling of fulfilment",
                     "mission accomplished, she relaxes", "he is gratified that it went well",
                     "a contented sigh after a good meal", "phew, the pressure is gone",
                     "she ticks the last item off her list"],
    "Surprise": ["surprise, astonishment, being startled",
                 "her jaw drops at the news", "he is caught completely off guard",
                 "she gasps, eyes wide, at the unexpected", "he did not see that coming at all",
                 "a sudden shock that makes him jump", "she is amazed and stunned", "no way, really?",
                 "he is taken aback", "her eyebrows shoot up", "an out-of-the-blue twist", "he is flabbergasted"],
    "Trust": ["trust, reassurance, confidence in someone, feeling safe",
              "she tells him he can count on her", "he reassures the child that everything will be fine",
              "they rely on each other completely", "around him she feels safe",
              "he puts his faith in his friend", "a calm, dependable promise", "you have my word",
              "she hands him the keys without a second thought", "he is sure she will keep the secret",
              "a loyal friend who has her back", "she opens up to him and feels secure"],
}
NONE_TEXTS = ["a plain description of an event with no feeling in it",
              "when does he open the door", "the part where she picks up the phone",
              "show me when the camera zooms out", "where does the man walk into the room",
              "the scene with the red car", "when is the person looking to the left",
              "the bit where someone puts on glasses", "when does the screen go dark",
              "the part with the dog in it", "the bit about her work", "find the part with a song",
              "when is he wearing a hat", "the part where two people are on screen", "when does the title appear",
              "when does she turn her head away from the camera", "the section where he speaks slowly"]
EXPRESSIONS_FILE = Path(__file__).parent / "data" / "emotion_expressions.json"
# softmax temperature on cosine scores: 0.05 was fixed a priori; with the expressions added, 0.025 and 0.03
# tied best on the tune part of evals/data/intent_dev.jsonl (0.015-0.07 tried) and the one nearer 0.05 is kept
TEMPERATURE = 0.03


def examples() -> dict[str, list[str]]:
    """Every label's example texts (description first) and the 'none' class: the hand-written ones above
    plus the packaged everyday expressions."""
    extra = json.loads(EXPRESSIONS_FILE.read_text())
    out = {lab: [*LABEL_TEXTS[lab], *extra.get(lab, [])] for lab in EMOTIONS}
    out["none"] = [*NONE_TEXTS, *extra.get("none", [])]
    return out

_NEG = re.compile(r"(?:\b(?:not|never|no|neither|nor|without|rather than|instead of|less)|n't)\b"
                  r"((?:\s+(?:so|too|very|really|exactly|quite|just|even|at all|much|a|an|the|that|being|"
                  r"feeling|looking|sounding|more))*\s+[a-z'-]+)", re.I)


class TextEmotion(BaseModel):
    """What a text says emotionally: probabilities over the 13 labels (sum 1), valence in [-1, 1]."""

    model_config = ConfigDict(extra="forbid")

    probs: dict[str, float]
    valence: float = Field(ge=-1, le=1)
    p_none: float = Field(default=0.0, ge=0, le=1, description="probability that the text names no feeling")
    negated: list[str] = Field(default_factory=list, description="labels the text explicitly denies")
    reasons: list[str] = Field(default_factory=list)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probs.items(), key=lambda kv: -kv[1])[:k]


def split_negation(text: str) -> tuple[str, list[str]]:
    """("not angry, just disappointed") -> ("just disappointed", ["Anger"]): the text with negated words
    removed and the labels those words name."""
    negated: list[str] = []
    for m in _NEG.finditer(text):
        for lab in lexicon_emotions(m.group(1)):
            if lab not in negated:
                negated.append(lab)
    kept = _NEG.sub(" ", text) if negated else text
    return re.sub(r"\s+", " ", kept).strip(" ,.;") or text, negated


class TextEmotionReader:
    """Zero-shot reader; the embedder and the label prototypes load once (thread-safe). `settings`: whose
    cache_dir keeps the example vectors (None: the process's settings, tools.settings.get_settings)."""

    def __init__(self, embedder=None, settings=None):
        self._emb = embedder
        self._settings = settings
        self._proto: list[tuple[str, np.ndarray]] | None = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._proto is None:
                if self._emb is None:
                    from tools.perception.embed import TextEmbedder
                    self._emb = TextEmbedder()
                groups = list(examples().items())
                flat = [t for _, ts in groups for t in ts]
                vecs = self._cached_vectors(flat)
                self._proto, i = [], 0
                for lab, ts in groups:
                    self._proto.append((lab, vecs[i:i + len(ts)]))
                    i += len(ts)
        return self._proto

    def _cached_vectors(self, flat: list[str]) -> np.ndarray:
        """The example texts' vectors, kept on disk per (embedder, texts): embedding the ~740 examples takes
        ~7.7 s on 2 cores, on the first question of every process (a CLI `ask`); loading them takes ms."""
        fp = getattr(self._emb, "fingerprint", None)
        if not fp:  # an embedder without an identity (a test's): no cache
            return self._emb.embed(flat)
        from tools.settings import get_settings
        key = hashlib.sha256((fp + "\n" + "\n".join(flat)).encode()).hexdigest()[:24]
        path = (self._settings or get_settings()).cache_dir / "text_emotion" / f"{key}.npy"
        try:
            vecs = np.load(path)
            if vecs.shape[0] == len(flat):
                return vecs
        except (OSError, ValueError):
            pass
        vecs = self._emb.embed(flat)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, vecs)
            os.replace(tmp, path)
        except OSError:  # a read-only cache: embed each time
            pass
        return vecs

    def read_many(self, texts: list[str]) -> list[TextEmotion]:
        proto = self._load()
        cleaned = [split_negation(t) for t in texts]
        vecs = self._emb.embed([c for c, _ in cleaned])
        out = []
        for (clean, negated), v in zip(cleaned, vecs):
            scores = {}
            for lab, P in proto:
                sims = np.sort(P @ v)[::-1]
                scores[lab] = float(sims[:2].mean())
            for lab in negated:
                scores[lab] -= 1.0
            labs = list(scores)
            s = np.array([scores[k] for k in labs]) / TEMPERATURE
            p = np.exp(s - s.max())
            p /= p.sum()
            allp = dict(zip(labs, p.tolist()))
            p_none = allp.pop("none")
            tot = sum(allp.values()) or 1.0
            probs = {k: round(val / tot, 4) for k, val in allp.items()}
            val = float(np.clip(sum(probs[k] * valence(k) for k in probs), -1, 1))
            top = sorted(probs.items(), key=lambda kv: -kv[1])[:2]
            reasons = [f"closest to {k} ({pv:.2f})" for k, pv in top]
            if negated:
                reasons.append(f"negated: {', '.join(negated)}")
            out.append(TextEmotion(probs=probs, valence=round(val, 3), p_none=round(p_none, 4), negated=negated,
                                   reasons=reasons))
        return out

    def read(self, text: str) -> TextEmotion:
        return self.read_many([text])[0]


_default: TextEmotionReader | None = None


_by_cache: dict[str, TextEmotionReader] = {}


def reader(settings=None) -> TextEmotionReader:
    """The shared reader; with `settings`, the one whose vector cache lives in that settings' cache_dir
    (one per cache directory, sharing the packaged embedder)."""
    global _default
    if _default is None:
        _default = TextEmotionReader()
    if settings is None:
        return _default
    key = str(settings.cache_dir)
    if key not in _by_cache:
        _by_cache[key] = TextEmotionReader(_default._emb, settings)
    return _by_cache[key]


def read(text: str, settings=None) -> TextEmotion:
    """Emotion of one text (question or transcript line) with the packaged embedder (`settings`: whose
    cache directory keeps the example vectors; None: the process's)."""
    return reader(settings).read(text)
