"""Time constraints (tools/timeref.py): clock times and minutes read as numbers (the one deterministic rule
there), and each constraint kind's span of the video."""

from __future__ import annotations

import pytest

from tools.schemas import TimeWindow
from tools.timeref import inside, seconds_in, span_of


@pytest.mark.parametrize("text, want", [
    ("around 10:30", [630]), ("1:02:03", [3723]), ("minute 12", [720]), ("12 minutes in", [720]),
    ("90 seconds", [90]), ("between 5 and 10 minutes", [300, 600]), ("at 2 min 30 s", [150]),
])
def test_times_are_read_as_numbers(text, want):
    assert seconds_in(text) == want


def test_spans():
    assert span_of("first_half", "", 100) == (0, 50) and span_of("second_half", "", 100) == (50, 100)
    assert span_of("range", "between 1 and 2 minutes", 600) == (60, 120)
    assert span_of("at", "around 5:00", 600) == (270, 330)
    shown = TimeWindow(start=40, end=45)
    assert span_of("earlier", "", 100, shown=shown) == (0, 40) and span_of("later", "", 100, shown=shown) == (45, 100)
    event = TimeWindow(start=20, end=25)
    assert span_of("after", "the argument", 100, event=event) == (25, 100)
    assert span_of("before", "the argument", 100, event=event) == (0, 20)
    assert span_of("after", "the argument", 100) is None       # no event found: no span
    assert span_of("start", "", 100) is None                    # a soft preference, not a span
    assert inside([TimeWindow(start=0, end=4), TimeWindow(start=60, end=64)], (50, 100)) == [False, True]
