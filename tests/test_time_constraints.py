"""Time constraints end to end on real media (issue 26): the reader reads "in the first half", "in the second
half", "right after ...", and the answer's moments lie in that part of the bundled sample (one woman: crying
~0-9 s, laughing from ~10 s; 19.7 s)."""

from __future__ import annotations

from graphs.api import Session
from tests.conftest import SAMPLE


def test_halves_and_after_an_event(settings, pexels_index):
    half = pexels_index.meta.duration / 2
    with Session(SAMPLE, settings, llm=None, index=pexels_index) as s:
        laugh = s.ask("when does she laugh in the second half?")
        assert laugh.intent.time.kind == "second_half", laugh.intent
        assert laugh.moments and laugh.moments[0].label == "Joy"
        assert all(m.window.center >= half for m in laugh.moments), [m.window for m in laugh.moments]
        cry = s.ask("when is she crying in the first half?")
        assert cry.intent.time.kind == "first_half", cry.intent
        assert cry.moments and cry.moments[0].label == "Sadness"
        assert all(m.window.center <= half for m in cry.moments), [m.window for m in cry.moments]
        # the same feeling asked in the other half: nothing of it there is shown as a confirmed moment
        none = s.ask("when does she laugh in the first half?")
        assert none.intent.time.kind == "first_half"
        assert all(m.window.center <= half for m in none.moments), [m.window for m in none.moments]
        assert not any(m.verified and m.label == "Joy" for m in none.moments), none.moments
        after = s.ask("how does she look right after she stops crying?")
        assert after.intent.time.kind == "after", after.intent
        assert after.moments and all(m.window.start >= 6.0 for m in after.moments), [m.window for m in after.moments]
