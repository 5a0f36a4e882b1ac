"""Speech in any language: words read, word error rate and cost (RTF) of each ASR set-up on German and English
speech (docs/results.md "Speech in any language").

    .venv/bin/python scripts/measure_speech_language.py [--models tiny.en tiny.en+base base]

German: the EmoDB sentences of ../shared/media/speech (research-licensed; 10 texts, known; the shipped
tests/data/speech/synth_de.wav is checked in tests/test_speech_language.py); English: the shipped talks and synth_en.wav. WER is word-level edit distance
over lower-cased word tokens (the EmoDB texts below);
each language's files are read as one chunk with 0.5 s gaps, as the index reads a video in 5-minute chunks
(one language detection per chunk). RTF = seconds of transcription / seconds of audio, on this machine (1
thread per model, as the index runs beside the frame pass).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EMODB_TEXT = {  # the ten EmoDB sentences (Burkhardt et al. 2005)
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def word_errors(hyp: list[str], ref: list[str]) -> int:
    """Levenshtein distance over words (a measurement aid, not product code)."""
    prev = list(range(len(ref) + 1))
    for i, h in enumerate(hyp, 1):
        cur = [i]
        for j, r in enumerate(ref, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (h != r)))
        prev = cur
    return prev[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tiny.en", "tiny.en+base"])
    a = ap.parse_args()
    import numpy as np

    from tools.index.decode import load_audio
    from tools.perception.speech import Transcriber
    from tools.settings import get_settings

    media = ROOT.parent / "shared" / "media" / "speech"
    # sentence by sentence in turn (a01, a02, ..., b10, a01, ...): sorted by name, the same sentence comes 3-6
    # times in a row, and whisper's looping test (compression ratio > 2.4 over a 30-s window) drops such text
    emodb = sorted(media.glob("emodb_*.wav"))
    turn = {p: sum(q.name[8:11] == p.name[8:11] for q in emodb[:i]) for i, p in enumerate(emodb)}
    german = sorted(emodb, key=lambda p: (turn[p], p.name[8:11]))
    english = [ROOT / "tests/data/speech" / n for n in ("talk_00015.mp3", "talk_sample1.mp3", "talk_sample2.mp3",
                                                         "synth_en.wav")]
    audio = {p: load_audio(p, sr=16000) for p in german + english}
    print(f"German: {len(german)} files, {sum(audio[p].size for p in german) / 16000:.1f} s; "
          f"English: {len(english)} files, {sum(audio[p].size for p in english) / 16000:.1f} s")
    gap = np.zeros(16000 // 2, np.float32)
    sets = {name: (np.concatenate([x for p in files for x in (audio[p], gap)]),
                   [t for p in files if p.name[8:11] in EMODB_TEXT for t in tokens(EMODB_TEXT[p.name[8:11]])])
            for name, files in (("German", german), ("English", english))}
    for spec in a.models:
        tr = Transcriber(get_settings(), model=spec, cpu_threads=1)
        tr.transcribe(audio[english[-1]])  # warm up
        for name, (x, ref) in sets.items():
            tr.language_seconds = 0.0
            t0 = time.perf_counter()
            segs = tr.transcribe(x)  # one chunk, as the index reads a video (5-minute chunks)
            secs = time.perf_counter() - t0
            hyp = [t for s in segs for t in tokens(s.text)]
            wer = f"WER {word_errors(hyp, ref) / len(ref):.2f} over {len(ref)} EmoDB words" if ref else ""
            langs = sorted({s.language or "?" for s in segs})
            print(f"{spec:14s} {name:8s} {x.size / 16000:6.1f} s  RTF {secs / (x.size / 16000):.3f} "
                  f"(language detection {tr.language_seconds:.1f} s)  words {len(hyp)}  {wer}  languages {langs}",
                  flush=True)


if __name__ == "__main__":
    main()
