"""Time constraints on a question's moments: the question reader (agents/intent) says which kind ("first_half",
"after", "at", ...) and which words carry it; this module turns that into a span of the video and keeps the
candidates inside it. Pure: numbers in, numbers out.

One deterministic rule lives here, documented and tested (tests/test_timeref.py): reading a clock time or a
number of minutes/seconds from the words the reader marked ("10:30", "1:02:03", "minute 12", "12 minutes in",
"90 seconds", "between 5 and 10 minutes"). Numbers are not something a classifier should guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tools.schemas import TimeWindow

#: "at 10:30": a moment within this many seconds of the time counts as at it (or the nearest one does)
AT_SLACK_S = 30.0
_CLOCK = re.compile(r"\b(?:(\d{1,2}):)?(\d{1,2})[:.](\d{2})\b")
_NUM = re.compile(r"(\d+(?:\.\d+)?)\s*(h|hours?|hrs?|m|mins?|minutes?|s|secs?|seconds?)?\b", re.I)
_WORD_MIN = re.compile(r"\bminute\s+(\d+(?:\.\d+)?)\b", re.I)
_MIN_SEC = re.compile(r"\b(\d+)\s*(?:m|mins?|minutes?)\s*(?:and\s*)?(\d+)\s*(?:s|secs?|seconds?)\b", re.I)


def seconds_in(text: str) -> list[float]:
    """The times written in `text`, in seconds, in order: clock times (m:ss, h:mm:ss), "minute N", and numbers
    with a unit (a bare number counts as minutes when another number in the text has a minute unit or none is
    given: "between 5 and 10 minutes")."""
    out: list[float] = []
    rest = text
    for m in _CLOCK.finditer(text):
        h, mnt, sec = m.group(1), m.group(2), m.group(3)
        out.append((int(h) * 3600 if h else 0) + int(mnt) * 60 + int(sec))
        rest = rest.replace(m.group(0), " ")
    for m in _MIN_SEC.finditer(rest):
        out.append(int(m.group(1)) * 60 + int(m.group(2)))
        rest = rest.replace(m.group(0), " ")
    for m in _WORD_MIN.finditer(rest):
        out.append(float(m.group(1)) * 60)
        rest = rest.replace(m.group(0), " ")
    nums = [(float(m.group(1)), (m.group(2) or "").lower()) for m in _NUM.finditer(rest)]
    default = next((u for _, u in nums if u), "m")
    for v, unit in nums:
        unit = unit or default
        out.append(v * 3600 if unit.startswith("h") else v if unit.startswith("s") else v * 60)
    return out


def span_of(kind: str, value: str, duration: float, shown: TimeWindow | None = None,
            event: TimeWindow | None = None) -> tuple[float, float] | None:
    """The part of the video a time constraint allows, as (start, end) seconds, or None when it sets no span
    (none/start/middle/end are soft preferences, localise's temporal prior; an at/range without a readable
    time, before/after without a found event, earlier/later without a shown moment)."""
    if kind == "first_half":
        return 0.0, duration / 2
    if kind == "second_half":
        return duration / 2, duration
    if kind == "range":
        ts = seconds_in(value)
        return (max(0.0, min(ts[:2])), min(duration, max(ts[:2]))) if len(ts) >= 2 else None
    if kind == "at":
        ts = seconds_in(value)
        return (max(0.0, ts[0] - AT_SLACK_S), min(duration, ts[0] + AT_SLACK_S)) if ts else None
    if kind in ("before", "after") and event is not None:
        return (0.0, event.start) if kind == "before" else (event.end, duration)
    if kind in ("earlier", "later") and shown is not None:
        return (0.0, shown.start) if kind == "earlier" else (shown.end, duration)
    return None


def inside(windows: Sequence[TimeWindow], span: tuple[float, float]) -> list[bool]:
    """Whether each window's centre lies in `span`."""
    a, b = span
    return [a <= w.center <= b for w in windows]
