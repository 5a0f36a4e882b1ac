"""Streaming media decode with PyAV: probe, sampled frames, audio at 16 kHz. Never loads a whole video.

Over 350 lines on purpose: it is the only module that touches PyAV (containers, streams, threads, audio
resampling, concatenation, shot changes), so its pitfalls stay in one place.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import MediaError
from tools.schemas import VideoMeta

av.logging.set_level(av.logging.PANIC)

FULL_HASH_MAX = 512 << 20   # files up to this size are hashed whole
_BLOCK = 1 << 20
_SAMPLED_BLOCKS = 64


def content_key(path: Path) -> str:
    """Cache key of a file's content. Files up to FULL_HASH_MAX (512 MiB): SHA-256 of the whole file.
    Larger ones: SHA-256 of the size and 64 evenly spaced 1 MiB blocks (first and last included), i.e.
    *sampled*: an edit that falls entirely between two blocks of a > 512 MiB file keeps the key.
    Stable across renames and copies; prefixed "f:" (full) or "s:" (sampled) so the two never collide."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        if size <= FULL_HASH_MAX:
            while chunk := f.read(_BLOCK * 8):
                h.update(chunk)
            return "f" + h.hexdigest()[:31]
        step = (size - _BLOCK) / (_SAMPLED_BLOCKS - 1)
        for i in range(_SAMPLED_BLOCKS):
            f.seek(int(i * step))
            h.update(f.read(_BLOCK))
    return "s" + h.hexdigest()[:31]


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise MediaError(f"file not found: {p}")
    if not p.is_file():
        raise MediaError(f"not a regular file: {p}")
    if p.stat().st_size == 0:
        raise MediaError(f"file is empty (0 bytes): {p}")
    return p


def _open(p: Path):
    try:
        return av.open(str(p), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise MediaError(f"not a readable video/audio file: {p.name} ({e.__class__.__name__})") from None


def _rotation(c, stream) -> int:
    """Display rotation (degrees counter-clockwise) from the first frame's display matrix; 0 if none."""
    try:
        for frame in c.decode(stream):
            return int(getattr(frame, "rotation", 0) or 0) % 360
    except av.error.FFmpegError:
        pass
    return 0


def probe(path: str | os.PathLike) -> VideoMeta:
    """Read container metadata. Raises MediaError for missing/empty/corrupt/streamless files."""
    p = _check_file(path)
    with _open(p) as c:
        v = c.streams.video[0] if c.streams.video else None
        a = c.streams.audio[0] if c.streams.audio else None
        if v is None and a is None:
            raise MediaError(f"no video or audio stream in {p.name}")
        duration = 0.0
        if c.duration:
            duration = c.duration / av.time_base
        for s in (v, a):
            if s is not None and s.duration and s.time_base:
                duration = max(duration, float(s.duration * s.time_base))
        if duration <= 0 and v is not None and v.frames and v.average_rate:
            duration = v.frames / float(v.average_rate)
        if duration <= 0:
            duration = _duration_by_decode(c)
        if duration <= 0:
            raise MediaError(f"could not determine a duration for {p.name}: the file looks truncated")
        fps = float(v.average_rate or v.guessed_rate or 0) if v is not None else 0.0
        return VideoMeta(
            path=str(p.resolve()), content_key=content_key(p), size_bytes=p.stat().st_size,
            duration=round(duration, 3), has_video=v is not None, has_audio=a is not None,
            width=v.codec_context.width if v is not None else 0,
            height=v.codec_context.height if v is not None else 0,
            fps=fps, video_codec=v.codec_context.name if v is not None else None,
            audio_codec=a.codec_context.name if a is not None else None,
            rotation=_rotation(c, v) if v is not None else 0)


def _duration_by_decode(c) -> float:
    last = 0.0
    try:
        for pkt in c.demux():
            if pkt.pts is not None and pkt.time_base:
                last = max(last, float((pkt.pts + (pkt.duration or 0)) * pkt.time_base))
    except av.error.FFmpegError:
        pass
    return last


class DecodeCheck(BaseModel):
    """How much of a file its decoders really read, against what its container declares
    (`check_decode`). `damaged_after`: the time after which nothing was read (None: read to the end);
    `errors`: decoder errors, "<stream> at <s>: <message>", kept rather than swallowed."""

    model_config = ConfigDict(extra="forbid")

    declared_s: float = Field(description="the container's (probe's) duration")
    read_s: dict[str, float] = Field(default_factory=dict, description="per stream type: how far its packets reach")
    damaged_after: float | None = None
    errors: list[str] = Field(default_factory=list)
    unreadable: list[float] = Field(default_factory=list, description="[first, last] time of a decoder error "
                                    "before `damaged_after`; [] when none")

    @property
    def damaged(self) -> bool:
        return self.damaged_after is not None or bool(self.unreadable)


# A stream is cut short when its packets end more than this before the duration it declares. On every
# intact file shipped (assets/, tests/data, ../shared/media: 60 files) the gap is at most 0.03 s (an
# audio frame); a file cut to 60 % of its bytes loses 7.7 s. 0.5 s is 15x the intact worst case and a
# sixth of a 3-s window, so a loss that could hide a window's content is never missed.
SHORT_S = 0.5

_ERRORS: dict[str, list[tuple[float | None, str]]] = {}  # resolved path -> decoder errors iter_frames met
_ERRORS_LOCK = threading.Lock()


def _log_error(p: Path, packet, e: BaseException) -> None:
    t = (float(packet.pts * packet.time_base) if packet is not None and packet.pts is not None
         and packet.time_base else None)
    with _ERRORS_LOCK:
        errs = _ERRORS.setdefault(str(p.resolve()), [])
        if len(errs) < 200:
            errs.append((t, f"video at {'the end' if t is None else f'{t:.2f} s'}: {_said(e)}"))


def _said(e: BaseException) -> str:
    return f"{e.__class__.__name__}: {str(e).split('; last error log')[0][:100]}"


def check_decode(path: str | os.PathLike, meta: VideoMeta | None = None) -> DecodeCheck:
    """Read every packet of the first video and audio streams (demux only, no picture decoding: about
    2 ms per second of video) and decode the audio and the video's keyframes, to find out whether the
    file holds what its container declares. A stream whose packets stop more than SHORT_S before its
    declared end (a download cut short, a copy interrupted) makes the file damaged after the earliest
    such stop; decoder errors met here, or by `iter_frames` on this file earlier in this process, are
    kept in `errors`."""
    p = _check_file(path)
    meta = meta or probe(p)
    reach: dict[str, float] = {}
    declared: dict[str, float] = {}
    errors: list[tuple[float | None, str]] = []
    with _open(p) as c:
        streams = [s for s in (c.streams.video[:1] + c.streams.audio[:1])]
        for s in streams:
            own = float(s.duration * s.time_base) + float((s.start_time or 0) * s.time_base) \
                if s.duration and s.time_base else meta.duration
            declared[s.type] = min(own, meta.duration) if own > 0 else meta.duration
            if s.type == "video":
                s.codec_context.skip_frame = "NONKEY"
        try:
            for pkt in c.demux(*streams):
                if pkt.pts is None or not pkt.size:
                    continue
                kind = pkt.stream.type
                t = float(pkt.pts * pkt.time_base)
                reach[kind] = max(reach.get(kind, 0.0), t + float((pkt.duration or 0) * pkt.time_base))
                if kind == "audio" or pkt.is_keyframe:
                    try:
                        pkt.decode()
                    except av.error.FFmpegError as e:
                        errors.append((t, f"{kind} at {t:.2f} s: {_said(e)}"))
        except av.error.FFmpegError as e:
            errors.append((None, f"reading stopped: {_said(e)}"))
    with _ERRORS_LOCK:
        errors += [e for e in _ERRORS.get(str(p.resolve()), []) if e not in errors]
    short = [reach.get(k, 0.0) for k, d in declared.items() if reach.get(k, 0.0) < d - SHORT_S]
    after = round(min(short), 3) if short else None
    # errors within SHORT_S of the cut are the cut's own last, half-written packets
    inside = sorted(t for t, _ in errors if t is not None and (after is None or t < after - SHORT_S))
    return DecodeCheck(declared_s=meta.duration, read_s={k: round(v, 3) for k, v in reach.items()},
                       damaged_after=after, errors=[m for _, m in errors][:50],
                       unreadable=[round(inside[0], 3), round(inside[-1], 3)] if inside else [])


def iter_frames(path: str | os.PathLike, fps: float = 4.0, max_side: int = 640,
                start: float = 0.0, end: float | None = None,
                want: Callable[[float], bool] | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time_s, RGB uint8 frame) sampled at about `fps`, streaming; frames larger than
    `max_side` are downscaled (in the same swscale pass as the colour conversion). Seeks to `start`.

    Speed: decoding runs in a background thread a few frames ahead (FFmpeg releases the GIL, so it
    overlaps with whatever the caller does with each frame on the other core). When sampling at most
    every 4th frame, the decoder skips non-reference frames (B-frames: nothing depends on them, so
    they are never decoded); a sampled time then lands on the next decoded frame, at most a few frame
    intervals later. `want(t)`, when given, is asked for each frame due by the sampling grid: a frame
    it declines is neither converted nor yielded, and the next decoded frame is asked in turn (callers
    that sample adaptively get the first frame at their own next time, and pay nothing for the others).

    A decode error mid-stream ends the iteration (what decoded so far is kept); an unsupported codec
    raises MediaError. Close the generator (`contextlib.closing`) when stopping early: that stops the
    decode thread at once (garbage collection would, later)."""
    p = _check_file(path)
    step = 1.0 / fps if fps > 0 else 0.0
    next_t = start
    for t, frame in _prefetched(lambda: _decoded(p, step, start, end)):
        if t + 1e-6 < next_t or (want is not None and not want(t)):
            continue
        next_t = (t if step == 0 else max(next_t + step, t + step * 0.5))
        yield t, _to_rgb(frame, max_side)


def _decoded(p: Path, step: float, start: float, end: float | None) -> Iterator[tuple[float, av.VideoFrame]]:
    """(time, decoded frame) from `start` to `end`; B-frames are skipped when sampling every 4th frame
    or sparser."""
    with _open(p) as c:
        if not c.streams.video:
            return
        stream = c.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        if step > 0 and rate > 0 and step * rate >= 4:
            stream.codec_context.skip_frame = "NONREF"
        if start > 0:
            try:
                c.seek(int(start / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                pass
        try:
            for packet in c.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError as e:  # a damaged packet: kept as a decode error, skipped
                    _log_error(p, packet, e)
                    continue
                for frame in frames:
                    if frame.pts is None:
                        continue
                    t = float(frame.pts * stream.time_base)
                    if end is not None and t >= end:
                        return
                    yield t, frame
        except av.error.FFmpegError as e:
            if "decoder" in str(e).lower() or "codec" in str(e).lower():
                raise MediaError(f"unsupported video codec in {p.name}: {e}") from None
            _log_error(p, None, e)  # the demuxer gave up: what decoded so far is kept, the stop is logged


_END = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _prefetched(make: Callable[[], Iterator], depth: int = 4) -> Iterator:
    """Run the iterator `make()` in a daemon thread, `depth` items ahead of the consumer. Exceptions
    are re-raised in the consumer; closing the consumer stops the thread."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        gen = None
        try:
            gen = make()
            for item in gen:
                if not put(item):
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put(_Failed(e))
        finally:
            if gen is not None:
                gen.close()
            put(_END)

    th = threading.Thread(target=run, name="affectlens-decode", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        th.join(timeout=5)


def _to_rgb(frame, max_side: int) -> np.ndarray:
    """RGB uint8, upright (display-matrix rotation applied), long side at most `max_side`."""
    w, h = frame.width, frame.height
    scale = max_side / max(w, h)
    if scale < 1:
        img = frame.to_ndarray(width=max(2, int(round(w * scale))), height=max(2, int(round(h * scale))),
                               format="rgb24", interpolation="AREA")
    else:
        img = frame.to_ndarray(format="rgb24")
    rot = int(getattr(frame, "rotation", 0) or 0) % 360
    if rot:  # phone video: display matrix says rotate (counter-clockwise) to show upright
        img = np.ascontiguousarray(np.rot90(img, k=rot // 90))
    return img


def load_audio(path: str | os.PathLike, sr: int = 16000, start: float = 0.0,
               end: float | None = None) -> np.ndarray:
    """Mono float32 audio at `sr` Hz between start and end (whole track when end is None).
    Decoded in a stream through FFmpeg's resampler; returns an empty array when there is no audio."""
    p = _check_file(path)
    chunks: list[np.ndarray] = []
    with _open(p) as c:
        if not c.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = c.streams.audio[0]
        if start > 0:
            try:
                c.seek(int(start / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                pass
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        first_t: float | None = None
        try:
            for frame in c.decode(stream):
                if first_t is None and frame.pts is not None:
                    first_t = float(frame.pts * stream.time_base)
                if end is not None and frame.pts is not None and float(frame.pts * stream.time_base) > end:
                    break
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError:
            pass
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    offset = int(round((start - (first_t or 0.0)) * sr)) if start > 0 else 0
    audio = audio[max(0, offset):]
    if end is not None:
        audio = audio[: max(0, int(round((end - start) * sr)))]
    return audio


def concat_videos(paths: list[str | os.PathLike], out: str | os.PathLike, size: tuple[int, int] = (640, 360),
                  fps: int = 25, audio: bool = True,
                  soundtrack: np.ndarray | None = None) -> list[tuple[float, float]]:
    """Re-encode clips back to back into one H.264/AAC mp4 (letterboxed to `size`), streaming.

    Returns each clip's exact (start, end) in the output, in seconds (frame-accurate: boundaries fall on
    frame times). Clips without audio get silence, so the audio track stays aligned. `soundtrack`
    (16 kHz mono float32), when given, replaces the clips' own audio (cut or padded with silence)."""
    import cv2

    w, h = size
    spans: list[tuple[float, float]] = []
    sr = 16000
    with av.open(str(out), "w") as oc:
        vs = oc.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "veryfast", "crf": "23"}
        as_ = oc.add_stream("aac", rate=sr, layout="mono") if audio else None
        n_frames, n_samples = 0, 0
        for p in paths:
            start_frame = n_frames
            meta = probe(p)
            step = 1.0 / fps
            t_next = 0.0
            last = None
            for t, img in iter_frames(p, fps=0, max_side=10_000):
                while t_next <= t + 1e-6 and t_next < meta.duration:
                    last = img
                    canvas = np.zeros((h, w, 3), np.uint8)
                    ih, iw = img.shape[:2]
                    sc = min(w / iw, h / ih)
                    rw, rh = max(2, int(iw * sc)), max(2, int(ih * sc))
                    canvas[(h - rh) // 2:(h - rh) // 2 + rh, (w - rw) // 2:(w - rw) // 2 + rw] = \
                        cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA)
                    frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
                    frame.pts = n_frames
                    for pkt in vs.encode(frame):
                        oc.mux(pkt)
                    n_frames += 1
                    t_next += step
            del last
            clip_len = (n_frames - start_frame) / fps
            if as_ is not None:
                target = int(round(n_frames * sr / fps)) - n_samples
                if soundtrack is not None:
                    a = soundtrack[n_samples:n_samples + target]
                else:
                    a = load_audio(p, sr=sr) if meta.has_audio else np.zeros(0, np.float32)
                a = np.pad(a[:target], (0, max(0, target - a.size))).astype(np.float32)
                for i in range(0, a.size, 1024):
                    chunk = a[i:i + 1024]
                    af = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                    af.sample_rate = sr
                    af.pts = n_samples + i
                    for pkt in as_.encode(af):
                        oc.mux(pkt)
                n_samples += a.size
            spans.append((round(start_frame / fps, 3), round(start_frame / fps + clip_len, 3)))
        for pkt in vs.encode(None):
            oc.mux(pkt)
        if as_ is not None:
            for pkt in as_.encode(None):
                oc.mux(pkt)
    return spans


def shot_changes(path: str | os.PathLike) -> list[float]:
    """Times of likely shot changes, found cheaply from keyframes only.

    H.264/HEVC encoders put a keyframe at scene cuts, so decoding just the keyframes (a few per
    minute) and comparing consecutive ones (PySceneDetect, tools.perception.scene.shot_cuts) finds
    cuts at the later keyframe's time. Misses cuts without a keyframe; returns [] for audio-only
    files; a decode error ends the scan with the cuts found so far."""
    from tools.perception.scene import shot_cuts, thumbnail

    p = _check_file(path)

    def keyframes(c, stream):
        stream.codec_context.skip_frame = "NONKEY"
        try:
            for frame in c.decode(stream):
                if frame.pts is not None:
                    yield float(frame.pts * stream.time_base), thumbnail(frame.to_ndarray(format="rgb24"))
        except av.error.FFmpegError:
            return

    with _open(p) as c:
        if not c.streams.video:
            return []
        return shot_cuts(keyframes(c, c.streams.video[0]))
