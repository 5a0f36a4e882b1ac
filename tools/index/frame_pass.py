"""The frame pass: streamed, adaptively sampled frames → face, AUs, expression, facial flow and the picture's
brightness, colour and change per frame →
finished windows appended to disk (records.jsonl, frames.jsonl) once the speech pass has cut them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tools.index.decode import iter_frames
from tools.index.sampler import in_spans, next_gap
from tools.index.speech_pass import SpeechPlan
from tools.index.store import (
    STATE_EVERY,
    IndexConfig,
    SpeechTrack,
    load_state,
    save_state,
)
from tools.index.windows import loud_stretches, summarise_window
from tools.perception.scene import scene_stats, thumbnail
from tools.schemas import FaceFrame, TimeWindow, VideoMeta
from tools.settings import Settings

MAX_PENDING_FRAMES = 20_000  # analysed frames held while the speech pass (window cuts) is still running

ProgressFn = Callable[[str, float], None]


class FrameAnalyzer:
    """Face + AUs + expression per frame, facial flow against the previous sampled frame, and the picture's
    numbers (tools.perception.scene; its change against the previous sample's thumbnail). Only the previous
    frame is kept, so memory is flat."""

    def __init__(self, s: Settings):
        from tools.perception.face import FaceAnalyzer
        from tools.perception.flow import FlowAnalyzer
        self.face = FaceAnalyzer(max_faces=s.max_faces)
        self.flow = FlowAnalyzer(128)
        self._prev = None   # (t, rgb, {person: landmarks}) of the previous sample with a face
        self._thumb = None  # the previous sample's thumbnail (picture change)
        from tools.perception.tracks import PeopleTracker
        self.people = PeopleTracker()  # every face, as persons with stable ids (FaceFrame.people)

    def analyze(self, t: float, rgb: np.ndarray) -> FaceFrame:
        frame, face = self.face.analyze_face(t, rgb)
        thumb = thumbnail(rgb)
        frame = frame.model_copy(update={"scene": scene_stats(thumb, self._thumb)})
        self._thumb = thumb
        faces = self.face.last_faces
        people = self.people.update(t, rgb, faces, face, frame.expression, self.face._expr,
                                    change=frame.scene.get("change"))
        # facial flow per person, against the same person's landmarks in the previous sample (a face
        # after a cut to someone else has no previous sample: no motion, rather than two people's)
        moved: dict[int, tuple[dict[str, float], dict[str, float]]] = {}
        prev = self._prev
        if prev is not None and 0 < t - prev[0] < 1.0:
            per_quarter_s = 0.25 / max(t - prev[0], 1e-3)  # px per 0.25 s, comparable across gaps
            for f, p in zip(faces, people):
                lm0 = prev[2].get(p.person)
                if lm0 is None:
                    continue
                r = self.flow.analyze(prev[1], rgb, lm0, f.landmarks, t0=prev[0], t1=t)
                moved[p.person] = ({k: round(v.magnitude * per_quarter_s, 4) for k, v in r.regions.items()},
                                   {k: round(v.dy * per_quarter_s, 4) for k, v in r.regions.items()})
        self._prev = (t, rgb, {p.person: f.landmarks for f, p in zip(faces, people)}) if people else None
        if people:
            people = [p.model_copy(update={"motion": moved[p.person][0], "motion_dy": moved[p.person][1]})
                      if p.person in moved else p for p in people]
            # the main face's AUs against its own person's neutral (the analyzer's box tracks run on
            # through cuts between people, so their baselines would mix faces), and its motion
            mine = next((p for p in people if p.main), None)
            upd = {"aus": mine.aus, "occluded": mine.occluded} if mine is not None else {}
            if mine is not None and mine.motion:
                upd.update(motion=mine.motion, motion_dy=mine.motion_dy)
            frame = frame.model_copy(update={"people": people, **upd})
        return frame

    def get_state(self) -> dict:
        """Everything that carries over between frames (tracks, per-track AU baselines, last frame)."""
        f = self.face
        return {"tracker": f.tracker, "aus": f.aus, "main": f._main, "last_face": f.last_face, "prev": self._prev,
                "tiles_due": f.tiles_due, "people": self.people, "thumb": self._thumb}

    def set_state(self, st: dict) -> None:
        f = self.face
        f.tracker, f.aus, f._main, f.last_face, self._prev = (st["tracker"], st["aus"], st["main"],
                                                              st["last_face"], st["prev"])
        if self._prev is not None and not isinstance(self._prev[2], dict):
            self._prev = None  # a checkpoint from before per-person flow
        f.tiles_due = st["tiles_due"]
        if "people" in st:
            self.people = st["people"]
        self._thumb = st.get("thumb")

    def close(self) -> None:
        self.face.close()


def relabel_people(path: Path, merged: dict[int, int]) -> None:
    """Rewrite the stored frames' person ids through `merged` (a person begun as new and later found to be an
    earlier one, tools/perception/tracks.PeopleTracker._late_match), atomically."""
    from tools.index.store import atomic_write, read_lines
    out = []
    for line in read_lines(path):
        f = FaceFrame.model_validate_json(line)
        if any(p.person in merged for p in f.people):
            f = f.model_copy(update={"people": [p.model_copy(update={"person": merged.get(p.person, p.person)})
                                                for p in f.people]})
        out.append(f.model_dump_json() + "\n")
    atomic_write(path, "".join(out))


def default_face_factory(s: Settings):
    return FrameAnalyzer(s)


def index_frames(path: str, meta: VideoMeta, config: IndexConfig, s: Settings, plan: SpeechPlan,
                  done: int, folder: Path, progress: bool, stop_after: int | None, face_factory,
                  report: ProgressFn) -> bool:
    start_t = plan.get()[0][done].start if done else 0.0  # windows done > 0 only with speech cached
    total = max(meta.duration - start_t, 1e-3)
    bar = tqdm(total=round(total, 1), initial=0, desc="frames", unit="s", disable=not progress, leave=False,
               position=0, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}s [{elapsed}<{remaining}]")
    analyzer = (face_factory or default_face_factory)(s) if meta.has_video else None
    loud = loud_stretches(folder, path, meta) if analyzer is not None else []
    loud_starts = [a for a, _ in loud]
    due = start_t
    if done and analyzer is not None and hasattr(analyzer, "set_state"):
        saved = load_state(folder)[1]
        analyzer.set_state(saved["analyzer"])
        due = max(start_t, saved["due"])
    todo: list[TimeWindow] | None = None
    speech: SpeechTrack | None = None
    wi, buf, written, seen = 0, deque(), 0, start_t
    try:
        with open(folder / "records.jsonl", "a") as rec_f, open(folder / "frames.jsonl", "a") as fr_f:
            def flush_until(t: float) -> bool:
                """Write every window that ends by `t`. Until the speech pass is done (windows unknown),
                frames wait in memory: at most MAX_PENDING_FRAMES of them, then the frame pass waits."""
                nonlocal wi, written, todo, speech
                if todo is None:
                    if not plan.ready() and t != float("inf") and len(buf) < MAX_PENDING_FRAMES:
                        return True
                    windows, speech = plan.get()
                    todo = windows[done:]
                while wi < len(todo) and t >= todo[wi].end:
                    w = todo[wi]
                    inside = []
                    while buf and buf[0].t < w.end:  # buf is in time order
                        f = buf.popleft()
                        if f.t >= w.start:
                            inside.append(f)
                    rec = summarise_window(done + wi, w, inside, speech)
                    fr_f.write("".join(f.model_dump_json() + "\n" for f in inside))
                    fr_f.flush()
                    rec_f.write(rec.model_dump_json() + "\n")
                    rec_f.flush()
                    wi += 1
                    written += 1
                    # checkpoint only when no analysed frame lies past this window (not so while
                    # catching up after the speech pass): a resumed run then sees what this one saw
                    if (done + wi) % STATE_EVERY == 0 and not buf:
                        save_state(folder, done + wi, analyzer, due)
                    if stop_after is not None and written >= stop_after:
                        return False
                return True

            if analyzer is not None:
                # adaptive sampling: frames before `due` (the last reading said they are dull) are
                # neither analysed nor even converted from YUV
                frames = iter_frames(path, fps=config.sample_fps, max_side=config.max_side, start=start_t,
                                     want=lambda t: t + 1e-6 >= due)
                with closing(frames):
                    for t, rgb in frames:
                        if not flush_until(t):
                            return False
                        frame = analyzer.analyze(t, rgb)
                        buf.append(frame)
                        due = t + next_gap(frame, config.sample_fps, in_spans(loud, loud_starts, t))
                        bar.update(t - seen)
                        seen = t
                        report("analysing frames" + ("" if plan.ready() else " (speech in parallel)"),
                               min(0.98, (t - start_t) / total))
            if not plan.ready():
                report("finishing the speech pass", 0.98)
            finished = flush_until(float("inf"))
        if finished and analyzer is not None and getattr(getattr(analyzer, "people", None), "merged", None):
            relabel_people(folder / "frames.jsonl", analyzer.people.merged)
        return finished
    finally:
        bar.close()
        if analyzer is not None and hasattr(analyzer, "close"):
            analyzer.close()
