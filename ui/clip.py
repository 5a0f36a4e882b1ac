"""A playable clip of one moment: [start-pad, end+pad] of the video re-encoded as browser-playable
H.264/AAC MP4. The caller names the file (the web UI names it by video content key + window)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tools.schemas import TimeWindow


def trim_clip(src: str | Path, window: TimeWindow, out: str | Path, pad: float = 1.0, max_len: float = 90.0,
              max_side: int = 640, crop: tuple[float, float, float, float] | None = None) -> Path:
    """Re-encode [start-pad, end+pad] of `src` as a browser-playable H.264/AAC MP4 at `out`; with `crop`
    (x, y, w, h fractions of the frame), only that part of the picture (one person's framing)."""
    import av
    out = Path(out)
    if out.exists() and out.stat().st_size > 0:
        return out
    start = max(0.0, window.start - pad)
    end = min(start + max_len, window.end + pad)
    tmp = out.with_suffix(".part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as dst:
        vin = inp.streams.video[0] if inp.streams.video else None
        ain = inp.streams.audio[0] if inp.streams.audio else None
        if vin is None:
            raise ValueError("no video stream")
        w, h = vin.codec_context.width, vin.codec_context.height
        box = None
        if crop is not None:
            x0, y0 = int(max(0.0, crop[0]) * w), int(max(0.0, crop[1]) * h)
            x1, y1 = int(min(1.0, crop[0] + crop[2]) * w), int(min(1.0, crop[1] + crop[3]) * h)
            if x1 - x0 >= 16 and y1 - y0 >= 16:
                box = (x0, y0, x1, y1)
                w, h = x1 - x0, y1 - y0
        s = min(1.0, max_side / max(w, h))
        ow, oh = max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)
        rate = vin.average_rate or 25
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = ow, oh, "yuv420p"
        vout.options = {"preset": "veryfast", "crf": "26", "movflags": "+faststart"}
        aout = resampler = None
        if ain is not None:
            aout = dst.add_stream("aac", rate=44100)
            aout.layout = "stereo"
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
        inp.seek(int(start / vin.time_base), stream=vin, backward=True)
        n = 0
        for frame in inp.decode(vin):
            if frame.pts is None:
                continue
            t = float(frame.pts * vin.time_base)
            if t < start:
                continue
            if t >= end:
                break
            if box is not None:
                rgb = frame.to_ndarray(format="rgb24")[box[1]:box[3], box[0]:box[2]]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            img = frame.reformat(width=ow, height=oh, format="yuv420p")
            img.pts = n
            img.time_base = 1 / rate
            n += 1
            for p in vout.encode(img):
                dst.mux(p)
        for p in vout.encode(None):
            dst.mux(p)
        if ain is not None:
            inp.seek(int(start / ain.time_base), stream=ain, backward=True) if ain.time_base else inp.seek(0)
            samples = 0
            for frame in inp.decode(ain):
                if frame.pts is None:
                    continue
                t = float(frame.pts * ain.time_base)
                if t + frame.samples / frame.sample_rate < start:
                    continue
                if t >= end:
                    break
                for rf in resampler.resample(frame):
                    rf.pts = samples
                    samples += rf.samples
                    for p in aout.encode(rf):
                        dst.mux(p)
            for p in aout.encode(None):
                dst.mux(p)
    tmp.replace(out)
    return out
