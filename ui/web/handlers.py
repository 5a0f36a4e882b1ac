"""The web UI's handlers, without Gradio layout: load a video, ask (streamed, stoppable), stop, "what
happens here?" for a window of the strip, the evidence panel of a moment, and the session export.
Each takes and returns a `UISession`, so browser sessions stay apart.

A question runs in a worker thread that feeds a queue; the handler polls the queue and yields every
half second, so the first visible step appears at once and the progress display (stage, %, ETA) keeps
moving while a node works. Stop sets the turn's cancel flag: the worker leaves the graph at the next
step boundary, the chat gets a "stopped" note, and the next question waits for that worker first.

Over 350 lines on purpose: the loading and asking streams share one threading and cancel protocol with
the UISession (worker, lock, cancel flag), which reads best in one place; the people handlers, which do
not take part in it, live in ui/web/people.py.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import gradio as gr

from agents.schemas import Answer
from tools.errors import AffectlensError
from tools.schemas import TimeWindow, VideoMeta, hms
from tools.settings import Settings, get_settings
from ui import evidence as ev
from ui.clip import trim_clip
from ui.export import export_session
from ui.web.render import NEXT_STAGE, NODE_FRACTION, answer_markdown, citations_html, eta, linkify, \
    progress_html, ranked_markdown, step_messages, ts_link
from ui.web.people import PeopleHandlers
from ui.web.storage import MAX_UPLOAD_BYTES, Turn, UISession, UploadRejected, resolve_pick, validate_upload

TRANSCRIPT_COLS = ["start", "end", "word"]
NO_VIDEO = "⚠️ No video is loaded, so I cannot answer. Upload a video or pick one from the folder, then ask again."
HERE_TOOLS = ("emotion", "expression", "aus", "motion", "voice", "transcript")


def _pending(title: str) -> gr.ChatMessage:
    return gr.ChatMessage(content="", metadata={"title": f"⏳ {title}…", "status": "pending"})


def _msg_meta(m) -> dict:
    return (m.get("metadata") if isinstance(m, dict) else getattr(m, "metadata", None)) or {}


def without_pending(history: list) -> list:
    """The chat without the '⏳ …' placeholder of a running step."""
    return [m for m in (history or []) if _msg_meta(m).get("status") != "pending"]


class AppCore(PeopleHandlers):
    """Handlers behind the UI; each takes/returns a `UISession` so browser sessions stay apart."""

    def __init__(self, settings: Settings | None = None, video_dir: str | os.PathLike | None = None, llm=True,
                 max_upload_bytes: int = MAX_UPLOAD_BYTES):
        self.settings = settings or get_settings()
        self.video_dir = Path(video_dir).resolve() if video_dir else None
        self.llm = llm
        self.max_upload_bytes = max_upload_bytes
        self.root = (Path(self.settings.cache_dir) / "ui").resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def new_state(self) -> UISession:
        return UISession(self.root, self.settings, self.llm)

    # ---- video
    def status_badge(self, path: Path, meta: VideoMeta | None = None) -> tuple[str, bool]:
        from tools.index import index_status
        st = index_status(path, self.settings)
        cached = bool(st["complete"])
        if cached:
            s = st["summary"] or {}
            badge = (f"✅ **cached index** — {s.get('windows', '?')} windows, "
                     f"{s.get('face_frames', '?')} face frames, {s.get('speech_s', 0):.0f} s speech")
        elif st["windows_done"]:
            badge = f"⏸️ partial index ({st['windows_done']}/{st['windows_total']} windows): resuming"
        else:
            badge = f"🆕 not indexed yet: {st['windows_total']} windows to analyse"
        return badge, cached

    def load(self, state: UISession | None, upload: str | None, pick: str | None,
             progress=None) -> Iterator[tuple[UISession, str, str]]:
        """Clear the current video, then validate/copy the chosen one, index it (cached by content) and
        start a Session. Yields (state, status markdown, progress html). On a bad file the state is left
        with NO video and UploadRejected says why."""
        state = state or self.new_state()
        state.clear_video()  # a failed upload must not leave the previous video answering questions
        if upload:
            video, meta = state.import_upload(upload, Path(upload).name, self.max_upload_bytes)
        elif pick:
            video = resolve_pick(self.video_dir, pick)
            _, meta = validate_upload(video, video.name, max_bytes=1 << 62)
        else:
            raise UploadRejected("upload a video or pick one from the folder first")
        badge, cached = self.status_badge(video, meta)
        info = f"**{video.name}** · {hms(meta.duration)} · {meta.width}×{meta.height} · " \
               f"{'audio' if meta.has_audio else 'no audio'}"
        yield state, f"{info}\n\n{badge}\n\n⏳ {'loading' if cached else 'indexing'}…", \
            progress_html("loading the index" if cached else "starting to index", 0.0, None, "running")
        t0 = time.monotonic()
        idx = None
        for idx, note, frac in self._build(video, meta, progress):
            if idx is None:
                yield state, f"{info}\n\n{badge}\n\n⏳ {note}", \
                    progress_html(note, frac, eta(time.monotonic() - t0, frac), "running")
        if self.llm is True and self.settings.llm_needed():  # by default no role uses it: nothing starts
            yield state, f"{info}\n\n{badge}\n\n⏳ starting the language model…", \
                progress_html("starting the language model", None, None, "running")
        with state.lock:
            state.open(video, meta, idx)
        if hasattr(state.session, "warm"):
            state.session.warm()  # prefill the LLM's prompt prefix while the person types
        s = idx.summary
        done = "✅ **cached index** — loaded" if s and s.cached else f"✅ indexed in {time.monotonic() - t0:.1f} s"
        if s:
            done += f" · {s.windows} windows, {s.face_frames} face frames, {s.speech_s:.0f} s speech"
        notes = "".join(f"\n\n> ℹ️ {n}" for n in _session_notes(state.session.flags))
        yield state, f"{info}\n\n{done}. Ask a question below.{notes}", progress_html("Video ready", 1.0, None, "done")

    def _build(self, video: Path, meta: VideoMeta, progress=None, poll_s: float = 0.5):
        """Run build_index in a worker thread; yields (None, stage, fraction) while it runs, then
        (index, "", 1.0). If the caller stops iterating (Stop), the build finishes in the background and
        stays cached. `progress` (optional): a callable (fraction, desc=...) told the same."""
        from tools.index import build_index
        box: dict = {"progress": ("starting", 0.0)}

        def work():
            try:
                box["index"] = build_index(video, self.settings, progress=False,
                                           on_progress=lambda note, f: box.__setitem__("progress", (note, f)))
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = e

        th = threading.Thread(target=work, name=f"index-{video.name}", daemon=True)
        th.start()
        last, last_yield = None, 0.0
        while th.is_alive():
            th.join(poll_s)
            stage, fraction = box["progress"]
            if progress is not None:
                progress(fraction, desc=stage)
            if (stage, round(fraction, 2)) != last and time.monotonic() - last_yield > 1.0:
                last, last_yield = (stage, round(fraction, 2)), time.monotonic()
                yield None, f"{stage}: {fraction:.0%} of {meta.duration:.0f} s", fraction
        if "error" in box:
            raise box["error"]
        yield box["index"], "", 1.0

    # ---- chat
    def ask(self, state: UISession | None, message: str, history: list) -> Iterator[tuple[list, UISession, Answer | None, str]]:
        """Stream (chat history, state, answer or None, progress html): the question, a pending step at
        once, one collapsed message per finished step/tool call, then the plain answer."""
        message = (message or "").strip()
        if not message:
            raise UploadRejected("type a question")
        history = without_pending(history) + [gr.ChatMessage(role="user", content=message)]
        if state is None or state.session is None:
            yield history + [gr.ChatMessage(content=NO_VIDEO)], state, None, \
                progress_html("No video loaded", None, None, "error")
            return
        turn = Turn(question=message)
        state.turns.append(turn)
        cancel = state.cancel = threading.Event()  # Stop sets it; this generator then ends itself (see below)
        t0 = time.monotonic()
        if state.worker is not None and state.worker.is_alive():  # a stopped question is still ending
            wait = "finishing the step the stopped question was in (a running step cannot be cut short)"
            while state.worker.is_alive() and time.monotonic() - t0 < 600 and not cancel.is_set():
                yield history + [_pending(wait)], state, None, progress_html(
                    f"finishing the stopped question ({time.monotonic() - t0:.0f} s)", None, None, "running")
                state.worker.join(0.25)
            if cancel.is_set():
                yield from self._stopped(state, turn, history, t0)
                return
        q: queue.Queue = queue.Queue()
        session = state.session

        def work():
            try:
                with state.lock:
                    gen = session.stream(message, person=state.focus)
                    try:
                        for out in gen:
                            q.put(("node", out))
                            if cancel.is_set():
                                break
                    finally:
                        gen.close()
            except BaseException as e:  # noqa: BLE001 - shown to the person, not raised in a thread
                q.put(("error", e))
            finally:
                q.put(("end", None))

        state.worker = threading.Thread(target=work, name=f"ask-{state.id}", daemon=True)
        t_last = time.monotonic()
        state.worker.start()
        stage, fraction, answer, k = NEXT_STAGE["route"], 0.0, None, 0
        yield history + [_pending(stage)], state, None, progress_html(stage, fraction, None, "running")
        try:
            while not cancel.is_set():  # Stop: leave at once; the worker ends at its next step boundary
                try:
                    kind, item = q.get(timeout=0.25)
                    if cancel.is_set():  # stopped (or a new conversation began) while this step ended
                        break
                except queue.Empty:
                    el = time.monotonic() - t0
                    yield history + [_pending(stage)], state, None, progress_html(stage, fraction, eta(el, fraction), "running")
                    continue
                if kind == "end":
                    break
                if kind == "error":
                    turn.status = "failed"
                    history.append(gr.ChatMessage(content=f"⚠️ The question could not be answered: {item}"))
                    yield history, state, None, progress_html("Failed", None, None, "error")
                    return
                now = time.monotonic()
                node = item["node"]
                if node == "ranked":  # the moments are known; their explanations are being written
                    ranked = item.get("moments") or []
                    history.append(gr.ChatMessage(content=ranked_markdown(ranked),
                                                  metadata={"title": "📍 Moments found — explanation coming",
                                                            "status": "done"}))
                    fraction, stage = max(fraction, 0.88), "writing the explanation"
                    early = provisional(message, state.index.meta, ranked) if ranked else None
                    if early is not None:  # list, strip, player and clip show the moment now (on_ask)
                        turn.answer = early
                    yield history + [_pending(stage)], state, early, \
                        progress_html(stage, fraction, eta(now - t0, fraction), "running")
                    continue
                turn.events.extend(item.get("events", []))
                history += step_messages(node, item.get("events", []), now - t_last, f"t{len(state.turns)}-{k}")
                k, t_last = k + 1, now
                answer = item.get("answer", answer)
                fraction = max(fraction, NODE_FRACTION.get(node, fraction))
                stage = NEXT_STAGE.get(node, "working")
                if answer is None:
                    yield history + [_pending(stage)], state, None, \
                        progress_html(stage, fraction, eta(now - t0, fraction), "running")
        finally:
            turn.seconds = time.monotonic() - t0
            if turn.status == "running" and answer is None:
                cancel.set()  # the person pressed Stop (or closed the tab): end at the next step
                turn.status = "stopped"
                turn.answer = None  # a stopped question's early moments are not an answer
        if cancel.is_set() and answer is None:
            yield from self._stopped(state, turn, history, t0)
            return
        if answer is None:
            turn.status = "failed"
            history.append(gr.ChatMessage(content="The agent finished without an answer."))
            yield history, state, None, progress_html("No answer", None, None, "error")
            return
        turn.answer, turn.status = answer, "done"
        history.append(gr.ChatMessage(content=answer_markdown(answer)))
        yield history, state, answer, progress_html(f"Answered in {turn.seconds:.1f} s", 1.0, None, "done")

    @staticmethod
    def _stopped(state: UISession, turn: Turn, history: list, t0: float) -> Iterator[tuple]:
        """The end of a stopped question: its turn is marked stopped and the chat gets a note, unless the
        person started a new conversation meanwhile (its empty chat is left as it is)."""
        turn.status, turn.seconds = "stopped", time.monotonic() - t0
        if turn not in state.turns:
            return
        history = without_pending(history) + [gr.ChatMessage(
            content="⏹️ Stopped. The question was cancelled; ask another one when you are ready.")]
        yield history, state, None, progress_html("Stopped", None, None, "stopped")

    def stop(self, state: UISession | None, history: list) -> tuple[Any, Any]:
        """Stop the running question. The question's own stream sees the flag within 0.25 s, writes the
        "Stopped" note and ends normally (Gradio's event cancelling is not used for questions: a cancel
        that raced the stream's last message left the browser thinking the question still ran, and the
        next Ask was silently dropped). The graph's worker ends at its next step boundary."""
        running = bool(state is not None and state.turns and state.turns[-1].status == "running")
        if state is not None:
            state.stop_worker()
        if running:
            return gr.skip(), gr.skip()  # the question's stream writes the note and the progress
        return without_pending(history), progress_html("Nothing was running.", None, None, "idle")

    def here(self, state: UISession | None, span: str, history: list) -> tuple[list, str]:
        """"What happens here?" for a window picked on the strip: the index-reading tools run on it (no
        model runs) and their observations are shown, each with its evidence id."""
        history = without_pending(history)
        w = _span(span)
        if state is None or state.index is None:
            return history + [gr.ChatMessage(content=NO_VIDEO)], progress_html("No video loaded", None, None, "error")
        if w is None:
            return history, progress_html("Click a block on the affect strip first.", None, None, "idle")
        from tools.registry import REGISTRY, ToolContext, run_tool
        win = TimeWindow.clamped(w[0], w[1], state.index.meta.duration)
        label = f"{hms(win.start)}–{hms(win.end)}"
        question = f"What happens at {label}?"
        lines = []
        ctx = ToolContext(state.index, self.settings)
        for i, name in enumerate([n for n in HERE_TOOLS if n in REGISTRY], 1):
            item, err, _ = run_tool(ctx, name, win, f"H{i}")
            if item is not None:
                lines.append(f"- **{name}**: {linkify(item.text)}")
        reply = (f"What the index measured at {ts_link(win.start, label)}:\n\n" + "\n".join(lines)) if lines \
            else f"Nothing was measured at {label}."
        state.turns.append(Turn(question=question, status="done", reply=reply))
        return history + [gr.ChatMessage(role="user", content=question), gr.ChatMessage(content=reply)], \
            progress_html("Done", 1.0, None, "done")

    # ---- evidence
    def evidence_now(self, state: UISession | None, rank: str | int | None) -> dict | None:
        """`evidence`, or None when the session moved on while it rendered (another video loaded, or a newer
        answer came: a clip takes seconds to cut), so a late render never shows the old video's clip."""
        answer = state.answer if state is not None else None
        out = self.evidence(state, rank)
        return None if state is not None and state.answer is not answer else out

    def evidence(self, state: UISession | None, rank: str | int | None) -> dict:
        """Everything the evidence panel shows for moment `rank` of the latest answer. Every file is an
        artefact of the loaded video (named by content key + window + kind)."""
        empty = {"header": "_Ask a question to see the evidence behind each moment._", "clip": None, "figure": None,
                 "crops": [], "crops_label": "Face crops", "flow": None, "flow_text": "",
                 "transcript": [], "citations": ""}
        if state is None or state.answer is None or not state.answer.moments or state.index is None:
            return empty
        answer, events = state.answer, state.events
        turn = state.answered[-1]
        m = next((x for x in answer.moments if str(x.rank) == str(rank)), answer.moments[0])
        idx, video, w = state.index, state.video, m.window
        pid = ev.asked_person(events)
        idx = ev.person_index(idx, pid)  # a question about one person: their face only, their framing
        who = "" if pid is None else f"_p{pid}"
        out = dict(empty)
        out["header"] = f"### {linkify(ev.moment_title(m))}"
        files = []
        try:
            clip = trim_clip(video, w, state.artefact(w, f"clip{who}", "mp4"), max_side=min(640, self.settings.frame_max_side),
                             crop=ev.clip_frame(idx, w))
            out["clip"] = str(clip)
            files.append(clip)
        except Exception as e:  # noqa: BLE001 - a clip is nice to have; the rest still renders
            out["header"] += f"\n\n_The clip could not be made ({e.__class__.__name__})._"
        cands = ev.candidate_windows(events)
        tag = hashlib.sha1(repr((cands, [(x.rank, x.window) for x in answer.moments], pid)).encode()).hexdigest()[:8]
        fig_path = state.artefact(w, f"timeline_m{m.rank}_{tag}", "png")
        if not fig_path.exists():
            ev.timeline_figure(idx, m, answer.moments, cands).savefig(fig_path, dpi=96)
        out["figure"] = str(fig_path)
        files.append(fig_path)
        crops = []
        for i, (img, cap) in enumerate(ev.face_crops(idx, w, n=4, video=video)):
            p = state.artefact(w, f"crop{i}", "png")
            _save_png(img, p)
            crops.append((str(p), cap))
            files.append(p)
        out["crops"] = crops
        z = ev.zoom_ran(answer, w)
        out["crops_label"] = ("Face crops — the agent zoomed in here for a closer look" if z is not None
                              else "Face crops at the indexed frames (stored Action Unit readings)")
        motion = next((e for e in answer.evidence if e.tool == "motion" and e.window.overlaps(w)), None)
        img, lines, cap = ev.flow_panel(idx, w, video=video, evidence=motion)
        if img is not None:
            p = state.artefact(w, "motion", "png")
            _save_png(img, p)
            out["flow"] = str(p)
            files.append(p)
        out["flow_text"] = f"{cap}\n\n" + "\n".join(f"- {ln}" for ln in lines) if lines else cap
        out["transcript"] = ev.transcript_rows(idx, w) or [["", "", "(no speech in this moment)"]]
        out["citations"] = citations_html(answer, m.rank)
        turn.artefacts = sorted(set(turn.artefacts) | {p.name for p in map(Path, files)})
        return out

    # ---- export
    def export(self, state: UISession | None) -> list[str]:
        """The whole session (every turn) as JSON and Markdown, in the session folder."""
        if state is None or not state.turns:
            raise UploadRejected("nothing to export yet: ask a question first")
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(state.video_name).stem)[:60] or "video"
        key = (state.content_key or "nokey")[:12]
        n = len(state.turns)
        j, md = export_session(state.turns, state.video_name,
                               state.path_in("exports", f"{stem}_{key}_session_{n}turns.json"),
                               state.path_in("exports", f"{stem}_{key}_session_{n}turns.md"), state.index)
        return [str(j), str(md)]


def provisional(query: str, meta: VideoMeta, moments: list) -> Answer | None:
    """The ranked moments as an answer while their explanations are being written (Session.stream's
    "ranked" event): the moments list, the strip, the player and the clip can show them at once. It cites
    nothing yet (the evidence comes with the final answer). None if it cannot be built."""
    try:
        return Answer(query=query, video=meta, moments=[m.model_copy(update={"evidence_ids": [], "sentences": []})
                                                        for m in moments], flags=["provisional"])
    except ValueError:
        return None


def is_provisional(answer: Answer | None) -> bool:
    return answer is not None and "provisional" in answer.flags


def _save_png(rgb, path: Path) -> None:
    import cv2
    if not path.exists():
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _span(text: str | None) -> tuple[float, float] | None:
    m = re.match(r"^\s*([\d.]+)\s*[-,]\s*([\d.]+)\s*$", text or "")
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    return (a, b) if b > a else None


def _session_notes(flags: list[str]) -> list[str]:
    from ui.notes import human_notes
    return human_notes(flags)


__all__ = ["AppCore", "AffectlensError", "TRANSCRIPT_COLS", "without_pending"]
