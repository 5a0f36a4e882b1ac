"""The extent of an emotional moment: from a candidate window to the stretch where the emotion holds.

Retrieval and verification work on index windows (~3 s). A moment people point at is often longer (a
surprised sentence of 12 s whose wide eyes come and go) or shorter (a 1.5-s grin) than that. `episode`
grows the window over the neighbouring windows where the face keeps showing the expression, then trims
both ends to the sampled frames where it shows:

* **hold**: a neighbour holds when its mean probability of the expression is at least `HOLD` x the peak
  window's (posed and real expressions flicker frame to frame: a surprised face reads surprise on one
  frame, fear or neutral on the next, so the window means of one episode vary by 2x);
* **bridge**: one neighbour that does not hold is crossed when the face in it is still expressive (neutral
  below `EXPRESSIVE`: the person has not gone back to rest) and the window beyond it holds;
* **trim**: in the first and last window, the boundary moves to halfway between the last frame without
  the expression (or without the face) and the first frame with it (at least `FRAME_HOLD` x the run's
  strongest frame);
* at most `MAX_WINDOWS` windows (~24 s), and never outside the windows that were read.

Pure: records and frames in, a `TimeWindow` out (graphs/nodes/verify.py calls it with the turn's view,
so a question about one person follows that person's face)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tools.schemas import FaceFrame, TimeWindow, WindowRecord

MIN_PEAK = 0.25     # below this the candidate window does not show the expression: keep it as it is
HOLD = 0.4          # a neighbour window holds at this share of the peak window's mean probability
EXPRESSIVE = 0.5    # a window whose mean neutral probability is below this is not a face at rest
FRAME_HOLD = 0.5    # a frame shows the expression at this share of the run's strongest frame
MAX_WINDOWS = 8


def _grow(p: list[float], neutral: list[float], peak: int) -> tuple[int, int]:
    thr = HOLD * p[peak]
    holds = [x >= thr for x in p]
    lo = hi = peak
    for step in (-1, 1):
        i = peak
        while True:
            nxt = i + step
            if not 0 <= nxt < len(p) or max(hi, nxt) - min(lo, nxt) >= MAX_WINDOWS:
                break
            if holds[nxt]:
                i = nxt
            elif (0 <= nxt + step < len(p) and neutral[nxt] < EXPRESSIVE and holds[nxt + step]
                  and max(hi, nxt + step) - min(lo, nxt + step) < MAX_WINDOWS):
                i = nxt + step  # bridge one expressive window that does not hold
            else:
                break
            lo, hi = min(lo, i), max(hi, i)
    return lo, hi


def _trim(first: WindowRecord, last: WindowRecord, frames_in: Callable[[TimeWindow], list[FaceFrame]],
          cls: str, start: float, end: float) -> tuple[float, float]:
    run = [f for f in frames_in(TimeWindow(start=start, end=end)) if f.expression]
    if not run:
        return start, end
    thr = FRAME_HOLD * max(f.expression.get(cls, 0.0) for f in run)
    head = frames_in(first.window)  # a frame without a face reading does not show the expression
    on = [i for i, f in enumerate(head) if f.expression.get(cls, 0.0) >= thr]
    if on and on[0] > 0:
        start = max(start, (head[on[0] - 1].t + head[on[0]].t) / 2)
    tail = frames_in(last.window)
    on = [i for i, f in enumerate(tail) if f.expression.get(cls, 0.0) >= thr]
    if on and on[-1] < len(tail) - 1:
        end = min(end, (tail[on[-1]].t + tail[on[-1] + 1].t) / 2)
    return start, end


def episode(records: Sequence[WindowRecord], frames_in: Callable[[TimeWindow], list[FaceFrame]],
            cls: str, window: TimeWindow) -> TimeWindow | None:
    """The stretch around `window` where the face shows expression class `cls` ("surprise", "happy", ...);
    None when none of its index windows shows it (peak mean probability below MIN_PEAK)."""
    inside = [i for i, r in enumerate(records) if r.window.overlaps(window)]
    p = [r.expression.get(cls, 0.0) for r in records]
    if not inside or max(p[i] for i in inside) < MIN_PEAK:
        return None
    neutral = [r.expression.get("neutral", 1.0) if r.expression else 1.0 for r in records]
    peak = max(inside, key=lambda i: p[i])
    lo, hi = _grow(p, neutral, peak)
    start, end = _trim(records[lo], records[hi], frames_in, cls, records[lo].window.start, records[hi].window.end)
    return TimeWindow(start=start, end=end) if end > start else records[peak].window
