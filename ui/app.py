"""Gradio web UI: load a video (upload or pick from a folder), ask vague questions in a chat that streams
the agent's steps, inspect the evidence behind each moment, ask follow-ups, export the answer.

    from ui.app import main; main(host="127.0.0.1", port=7860, video_dir="/data/videos")

Isolation: every browser session gets a `UISession` in `gr.State` (its own `graphs.api.Session`, its own
data folder `<cache_dir>/ui/<random id>/`). Uploaded videos are validated (extension, size, probe) and
copied there under a sanitised name; clips and exports are written there too, and that folder tree is
the only one the server may serve files from (`allowed_paths`). Videos picked from the configured folder
are read in place and never served. Closing the tab deletes the session folder (indexes stay cached by
content hash).

Long work (indexing, answering) runs on Gradio's queue with progress and a Stop button that cancels it.
Cancelling stops the UI stream at the next step boundary; an index build that was already running
finishes in the background and is cached (it is resumable anyway).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402

from agents.schemas import Answer  # noqa: E402
from tools.errors import AffectlensError, MediaError  # noqa: E402
from tools.schemas import VideoMeta, hms  # noqa: E402
from tools.settings import Settings, get_settings  # noqa: E402
from ui import evidence as ev  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
MAX_UPLOAD_BYTES = int(float(os.environ.get("AFFECTLENS_UI_MAX_UPLOAD_MB", "2048")) * 1024 * 1024)
MAX_NAME_LEN = 120
EXAMPLE_QUESTIONS = ["when does she cheer up?", "why?", "show me another one", "when is she sad?"]

TRANSCRIPT_COLS = ["start", "end", "word"]
CITATION_COLS = ["#", "rationale sentence", "evidence", "tool", "modality", "window", "observation"]
CITATION_VIEW = ["#", "evidence", "tool", "window", "rationale sentence", "observation"]  # column order shown


class UploadRejected(MediaError):
    """An uploaded or picked file the UI refuses (type, size, name, or not a readable video)."""


# ---------------------------------------------------------------- validation

def safe_filename(name: str) -> str:
    """A safe base name for storing an upload. Rejects path traversal and path separators outright;
    replaces any other unusual character with '_'."""
    if not name or not str(name).strip():
        raise UploadRejected("the file has no name")
    name = unicodedata.normalize("NFKC", str(name))
    if "\x00" in name or "/" in name or "\\" in name or name.strip() in (".", "..") or ".." in name \
            or name.startswith("~") or re.match(r"^[A-Za-z]:", name):
        raise UploadRejected(f"rejected file name {name!r}: path components are not allowed")
    stem, ext = os.path.splitext(name)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_.") or "video"
    ext = ext.lower()
    return stem[: MAX_NAME_LEN - len(ext)] + ext


def validate_upload(path: str | os.PathLike, name: str | None = None,
                    max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, VideoMeta]:
    """Check an uploaded file before it is copied anywhere: name, extension, size, then a real probe.
    Returns (sanitised file name, metadata). Raises UploadRejected with a one-line reason."""
    p = Path(path)
    clean = safe_filename(name if name is not None else p.name)
    ext = os.path.splitext(clean)[1]
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadRejected(f"unsupported file type '{ext or '(none)'}': use one of "
                             + ", ".join(e.lstrip('.') for e in ALLOWED_EXTENSIONS))
    if not p.is_file():
        raise UploadRejected(f"upload of {clean} is missing or not a regular file")
    size = p.stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"{clean} is {size / 2**20:.0f} MB; the limit is {max_bytes / 2**20:.0f} MB")
    if size == 0:
        raise UploadRejected(f"{clean} is empty")
    from tools.index.decode import probe
    try:
        meta = probe(p)
    except MediaError as e:
        raise UploadRejected(f"{clean} is not a readable video: {e}") from None
    if not meta.has_video:
        raise UploadRejected(f"{clean} has no video stream")
    return clean, meta


def list_videos(video_dir: str | os.PathLike | None) -> list[str]:
    """Video files (allowed extensions, regular files, not hidden) directly inside `video_dir`."""
    if not video_dir:
        return []
    d = Path(video_dir)
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in ALLOWED_EXTENSIONS)


def resolve_pick(video_dir: str | os.PathLike | None, name: str) -> Path:
    """The file `name` inside `video_dir`, refusing anything that escapes it (.., links, absolute paths)."""
    if not video_dir:
        raise UploadRejected("no video folder is configured")
    base = Path(video_dir).resolve()
    if not name or name != Path(name).name or name not in list_videos(base):
        raise UploadRejected(f"'{name}' is not a video in the configured folder")
    p = (base / name).resolve()
    if not p.is_relative_to(base) or not p.is_file():
        raise UploadRejected(f"'{name}' is not a video in the configured folder")
    return p


# ---------------------------------------------------------------- per-browser session

class UISession:
    """One browser session: its data folder, the loaded video, the agent Session and its answers."""

    def __init__(self, root: Path, settings: Settings, llm=True):
        self.id = uuid.uuid4().hex[:16]
        self.root = Path(root).resolve()
        self.dir = self.root / self.id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings, self.llm = settings, llm
        self.video: Path | None = None
        self.video_name = ""
        self.session = None                 # graphs.api.Session
        self.turns: list[tuple[Answer, list[dict]]] = []
        self.lock = threading.Lock()

    @property
    def index(self):
        return self.session.index if self.session else None

    @property
    def answer(self) -> Answer | None:
        return self.turns[-1][0] if self.turns else None

    @property
    def events(self) -> list[dict]:
        return self.turns[-1][1] if self.turns else []

    def path_in(self, *parts: str) -> Path:
        p = self.dir.joinpath(*parts).resolve()
        if not p.is_relative_to(self.dir):
            raise UploadRejected("path escapes the session folder")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def import_upload(self, path: str | os.PathLike, name: str | None = None,
                      max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[Path, VideoMeta]:
        clean, meta = validate_upload(path, name, max_bytes)
        dst = self.path_in("videos", clean)
        if not (dst.exists() and dst.stat().st_size == Path(path).stat().st_size):
            shutil.copyfile(path, dst)
        return dst, meta

    def open(self, video: Path, index) -> None:
        """Start a fresh agent Session on an indexed video (closing any previous one)."""
        from graphs.api import Session
        self.close_session()
        self.video, self.video_name = Path(video), Path(video).name
        self.session = Session(video, self.settings, llm=self.llm, session_id=f"ui-{self.id}-{uuid.uuid4().hex[:6]}",
                               index=index)
        self.turns = []

    def new_conversation(self) -> None:
        if self.session is not None:
            self.open(self.video, self.session.index)

    def close_session(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001 - closing a sqlite handle twice is harmless
                pass
        self.session, self.turns = None, []

    def close(self) -> None:
        self.close_session()
        if self.dir.is_relative_to(self.root) and self.dir != self.root:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- chat rendering

_NODE_TITLES = {"interpret": "🧭 Interpreted the question", "localise": "🔎 Localised candidate windows",
                "verify": "🔬 Verified candidates with perception tools", "judge": "⚖️ Judged the candidates",
                "rationale": "✍️ Wrote the rationale", "explain": "💬 Explained from the evidence gathered",
                "finish": "🏁 Assembled the answer"}


def step_messages(node: str, events: Sequence[dict], seconds: float, key: str) -> list[gr.ChatMessage]:
    """Collapsed 'thought' messages for one finished graph node: one per stage, plus one nested message
    per tool call in `verify`."""
    if node == "route":
        mode = next((e.get("mode") for e in events if e.get("mode")), "new")
        if mode == "new":
            return []
        return [gr.ChatMessage(content={"why": "Follow-up: explain the previous moments from the evidence.",
                                        "next": "Follow-up: look for another moment, skipping those shown."}[mode],
                               metadata={"title": f"↪️ Follow-up ({mode})", "status": "done", "duration": 0.0})]
    lines: list[str] = []
    children: list[gr.ChatMessage] = []
    for e in events:
        if node == "interpret" and "intent" in e:
            it = e["intent"]
            lines += [f"- emotions: **{', '.join(it.get('emotions') or ['any'])}** · valence {it.get('valence')} "
                      f"· arousal {it.get('arousal')}",
                      f"- modalities: {', '.join(it.get('modalities') or ['any'])} · when: {it.get('temporal_hint')} "
                      f"· moments wanted: {it.get('n_moments')}"]
        elif node == "localise":
            for c in e.get("candidates", []):
                lines.append(f"- `{c['window']}` score {c['score']:.2f} — {c.get('descriptor', '')}")
        elif node == "verify":
            if e.get("evidence"):
                children.append(gr.ChatMessage(
                    content=f"**[{e['evidence']}]** {e.get('text', '')}",
                    metadata={"title": f"🛠️ {e['tool']} · {e.get('window') or ''}".strip(" ·"),
                              "parent_id": key, "status": "done", "duration": float(e.get("seconds", 0.0))}))
            elif e.get("error"):
                children.append(gr.ChatMessage(content=str(e["error"]),
                                               metadata={"title": f"⚠️ {e['tool']} failed", "parent_id": key,
                                                         "status": "done"}))
            elif "run" in e:
                lines.append(f"- {'run' if e['run'] else 'skip'} **{e['tool']}** on `{e.get('window', '')}` "
                             f"({e.get('reason', '')})")
            elif e.get("note") or e.get("skip"):
                lines.append(f"- {e.get('note') or 'skipped ' + e['skip'] + ': ' + e.get('reason', '')}")
        elif node == "judge":
            for v in e.get("verdicts", []):
                lines.append(f"- {'✅' if v['accept'] else '❌'} `{v['window']}` {v['label']} "
                             f"(confidence {v['confidence']:.2f})")
            if e.get("note"):
                lines.append(f"- {e['note']}")
        elif node in ("rationale", "explain", "finish") and "moments" in e:
            lines.append(f"{e['moments']} moment(s)")
    title = _NODE_TITLES.get(node, node)
    if node == "verify" and children:
        title += f" ({len([c for c in children if '🛠️' in c.metadata['title']])} tool calls)"
    head = gr.ChatMessage(content="\n".join(lines) or "done",
                          metadata={"title": title, "id": key, "status": "done", "duration": round(seconds, 2)})
    return [head] + children


def answer_markdown(answer: Answer) -> str:
    if not answer.moments:
        txt = f"I could not find a moment matching “{answer.query}”."
    else:
        n = len(answer.moments)
        txt = f"**{n} moment{'s' if n > 1 else ''}** for “{answer.query}”:\n"
        for m in answer.moments:
            txt += (f"\n**{m.rank}. {hms(m.window.start)}–{hms(m.window.end)} · {m.label}** — confidence "
                    f"{m.confidence:.2f}{'' if m.verified else ' (unverified)'}\n\n{m.rationale}\n")
        txt += "\n_Pick a moment in the evidence panel to see the clip, curves, face crops and citations._"
    shown = [f for f in answer.flags if not f.startswith(("intent_from_lexicon",))]
    if shown:
        txt += "\n\n<sub>flags: " + ", ".join(shown) + "</sub>"
    return txt


def moment_choices(answer: Answer | None) -> list[tuple[str, str]]:
    return [(ev.moment_title(m), str(m.rank)) for m in (answer.moments if answer else [])]


# ---------------------------------------------------------------- the app's handlers (no Gradio layout)

class AppCore:
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
             progress=None) -> Iterator[tuple[UISession, str]]:
        """Validate/copy the chosen video, index it (cached by content hash) and start a Session.
        Yields (state, status markdown) as it goes. Raises UploadRejected / AffectlensError."""
        state = state or self.new_state()
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
        yield state, f"{info}\n\n{badge}\n\n⏳ {'loading' if cached else 'indexing'}…"
        t0 = time.monotonic()
        idx = None
        for idx, note in self._build(video, meta, progress):
            if idx is None and note:
                yield state, f"{info}\n\n{badge}\n\n⏳ {note}"
        if self.llm is True:
            yield state, f"{info}\n\n{badge}\n\n⏳ starting the language model…"
        with state.lock:
            state.open(video, idx)
        s = idx.summary
        done = "✅ **cached index** — loaded" if s and s.cached else f"✅ indexed in {time.monotonic() - t0:.1f} s"
        if s:
            done += f" · {s.windows} windows, {s.face_frames} face frames, {s.speech_s:.0f} s speech"
        flags = f"\n\n<sub>{'; '.join(state.session.flags)}</sub>" if state.session.flags else ""
        yield state, f"{info}\n\n{done}. Ask a question below.{flags}"

    def _build(self, video: Path, meta: VideoMeta, progress=None, poll_s: float = 0.5):
        """Run build_index in a worker thread; its `on_progress` reports (note, fraction), which this
        forwards to Gradio's progress bar. Yields (None, note) while it runs, then (index, ""). If the
        caller stops iterating (Stop), the build finishes in the background and stays cached."""
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
        last_note, last_yield = "", 0.0
        while th.is_alive():
            th.join(poll_s)
            stage, fraction = box["progress"]
            if progress is not None:
                progress(fraction, desc=stage)
            note = f"{stage}: {fraction:.0%} of {meta.duration:.0f} s"
            if note != last_note and time.monotonic() - last_yield > 1.0:
                last_note, last_yield = note, time.monotonic()
                yield None, note
        if "error" in box:
            raise box["error"]
        yield box["index"], ""

    # ---- chat
    def ask(self, state: UISession | None, message: str, history: list) -> Iterator[tuple[list, UISession, Answer | None]]:
        """Stream chat history (user message, one collapsed message per step/tool call, the answer)."""
        if state is None or state.session is None:
            raise UploadRejected("load a video first")
        message = (message or "").strip()
        if not message:
            raise UploadRejected("type a question")
        history = list(history or []) + [gr.ChatMessage(role="user", content=message)]
        turn = len(state.turns) + 1
        pending = gr.ChatMessage(content="", metadata={"title": "⏳ thinking…", "status": "pending"})
        yield history + [pending], state, None
        events: list[dict] = []
        answer = None
        t_last = time.monotonic()
        with state.lock:
            for k, out in enumerate(state.session.stream(message)):
                now = time.monotonic()
                events.extend(out.get("events", []))
                history += step_messages(out["node"], out.get("events", []), now - t_last, f"t{turn}-{k}")
                t_last = now
                answer = out.get("answer", answer)
                if answer is None:
                    nxt = {"route": "interpreting", "interpret": "localising", "localise": "verifying",
                           "verify": "judging", "judge": "deciding"}.get(out["node"], "working")
                    yield history + [gr.ChatMessage(content="", metadata={"title": f"⏳ {nxt}…",
                                                                          "status": "pending"})], state, None
        if answer is None:
            history.append(gr.ChatMessage(content="The agent finished without an answer."))
            yield history, state, None
            return
        state.turns.append((answer, events))
        history.append(gr.ChatMessage(content=answer_markdown(answer)))
        yield history, state, answer

    # ---- evidence
    def evidence(self, state: UISession | None, rank: str | int | None) -> dict:
        """Everything the evidence panel shows for moment `rank` of the latest answer."""
        empty = {"header": "_No moment selected._", "clip": None, "figure": None, "crops": [], "flow": None,
                 "flow_text": "", "transcript": pd.DataFrame([], columns=TRANSCRIPT_COLS),
                 "citations": pd.DataFrame([], columns=CITATION_VIEW)}
        if state is None or state.answer is None or not state.answer.moments or state.index is None:
            return empty
        answer, events = state.turns[-1]
        try:
            m = next(x for x in answer.moments if str(x.rank) == str(rank))
        except StopIteration:
            m = answer.moments[0]
        idx, video = state.index, state.video
        turn = len(state.turns)
        out = dict(empty)
        out["header"] = (f"### {ev.moment_title(m)}\n{m.rationale}")
        try:
            out["clip"] = str(ev.trim_clip(video, m.window, state.path_in("clips", f"t{turn}_m{m.rank}.mp4"),
                                           max_side=min(640, self.settings.frame_max_side)))
        except Exception as e:  # noqa: BLE001 - a clip is nice to have; the rest still renders
            out["header"] += f"\n\n<sub>clip unavailable: {e.__class__.__name__}</sub>"
        out["figure"] = ev.timeline_figure(idx, m, answer.moments, ev.candidate_windows(events))
        out["crops"] = ev.face_crops(idx, m.window, n=4, video=video)
        img, lines, cap = ev.flow_panel(idx, m.window, video=video)
        out["flow"] = img
        out["flow_text"] = f"{cap}\n\n" + "\n".join(f"- {ln}" for ln in lines) if lines else cap
        rows = ev.transcript_rows(idx, m.window) or [["", "", "(no speech in this moment)"]]
        out["transcript"] = pd.DataFrame(rows, columns=TRANSCRIPT_COLS)
        out["citations"] = pd.DataFrame(ev.citation_rows(answer, m), columns=CITATION_COLS)[CITATION_VIEW]
        return out

    # ---- export
    def export(self, state: UISession | None) -> list[str]:
        if state is None or state.answer is None:
            raise UploadRejected("nothing to export yet: ask a question first")
        turn = len(state.turns)
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(state.video_name).stem)[:60] or "video"
        j = ev.export_json(state.answer, state.path_in("exports", f"{stem}_answer{turn}.json"), state.index,
                           state.events)
        md = ev.export_markdown(state.answer, state.path_in("exports", f"{stem}_answer{turn}.md"), state.index)
        return [str(j), str(md)]


# ---------------------------------------------------------------- layout

_CSS = """
.al-badge {font-size: 0.95em}
#al-chat {min-height: 480px}
"""


def build_app(settings: Settings | None = None, video_dir: str | os.PathLike | None = None, llm=True,
              max_upload_bytes: int = MAX_UPLOAD_BYTES) -> gr.Blocks:
    """The Gradio Blocks app. `llm`: True (configured/embedded LLM), an LLMClient, or None (deterministic
    fallback, no LLM). `video_dir`: a folder whose videos appear in the picker (default: the env var
    AFFECTLENS_UI_VIDEO_DIR, else the bundled assets/ folder)."""
    video_dir = video_dir or os.environ.get("AFFECTLENS_UI_VIDEO_DIR") or (ROOT / "assets")
    core = AppCore(settings, video_dir, llm, max_upload_bytes)

    def _drop(state):
        if isinstance(state, UISession):
            state.close()

    with gr.Blocks(title="affectlens") as app:
        app.core = core  # type: ignore[attr-defined]
        state = gr.State(None, delete_callback=_drop)
        gr.Markdown("## affectlens — find and explain emotional moments in a video")
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                upload = gr.File(label=f"Upload a video ({', '.join(e.lstrip('.') for e in ALLOWED_EXTENSIONS)}; "
                                       f"≤ {max_upload_bytes / 2**30:.1f} GB)",
                                 file_types=list(ALLOWED_EXTENSIONS), file_count="single", type="filepath",
                                 elem_id="al-upload", height=120)
                with gr.Row():
                    pick = gr.Dropdown(choices=list_videos(core.video_dir), value=None, label="…or pick from the folder",
                                       elem_id="al-pick", scale=4)
                    refresh = gr.Button("↻", scale=0, min_width=40)
                status = gr.Markdown("_No video loaded._", elem_id="al-status", elem_classes=["al-badge"])
                chat = gr.Chatbot(label="Conversation", elem_id="al-chat", height=560, buttons=["copy"],
                                  placeholder="Load a video, then ask e.g. *when does she cheer up?*")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the video… (follow-ups: “why?”, “show me another one”)",
                                     show_label=False, scale=5, elem_id="al-question", submit_btn=False)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="al-ask")
                with gr.Row():
                    stop = gr.Button("Stop", variant="stop", elem_id="al-stop")
                    new = gr.Button("New session", elem_id="al-new")
                    export_btn = gr.Button("Export answer", elem_id="al-export")
                gr.Examples(examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[box], label="Try")
                downloads = gr.File(label="Downloads (JSON + Markdown)", file_count="multiple", interactive=False,
                                    elem_id="al-downloads", height=110)
            with gr.Column(scale=3, min_width=420):
                gr.Markdown("### Evidence")
                moment = gr.Radio(choices=[], label="Moments", elem_id="al-moments")
                header = gr.Markdown("_Ask a question to see the evidence behind each moment._", elem_id="al-header")
                clip = gr.Video(label="Moment clip (starts 1 s before the moment)", interactive=False,
                                elem_id="al-clip", height=300)
                plot = gr.Plot(label="Affect timeline", elem_id="al-plot")
                crops = gr.Gallery(label="Face crops the agent zoomed into (AU intensity bars)", columns=4,
                                   height=320, object_fit="contain", elem_id="al-crops")
                flow = gr.Image(label="Facial optical flow", type="numpy", interactive=False, elem_id="al-flow",
                                height=200)
                flow_text = gr.Markdown(elem_id="al-flow-text")
                transcript = gr.Dataframe(headers=TRANSCRIPT_COLS, label="Transcript words in the moment",
                                          interactive=False, elem_id="al-transcript", max_height=200)
                citations = gr.Dataframe(headers=CITATION_VIEW, label="Rationale sentences and the evidence they cite",
                                         interactive=False, wrap=True, elem_id="al-citations", max_height=420,
                                         column_widths=["36px", "70px", "90px", "150px", "40%", "40%"])

        panel = [header, clip, plot, crops, flow, flow_text, transcript, citations]

        def _panel(d: dict) -> tuple:
            return (d["header"], d["clip"], d["figure"], d["crops"], d["flow"], d["flow_text"], d["transcript"],
                    d["citations"])

        def _cleared():
            return _panel(core.evidence(None, None))

        # ---- video loading
        def on_load(st, up, pk, progress=gr.Progress()):
            try:
                for st2, msg in core.load(st, up, pk, progress):
                    yield st2, msg, [], gr.update(choices=[], value=None), *_cleared()
            except AffectlensError as e:
                gr.Warning(str(e))
                yield st, f"⚠️ {e}", gr.skip(), gr.skip(), *[gr.skip()] * len(panel)

        load_outputs = [state, status, chat, moment, *panel]
        up_ev = upload.upload(on_load, [state, upload, gr.State(None)], load_outputs, concurrency_id="index",
                              concurrency_limit=1)
        pk_ev = pick.input(on_load, [state, gr.State(None), pick], load_outputs, concurrency_id="index",
                           concurrency_limit=1)
        refresh.click(lambda: gr.update(choices=list_videos(core.video_dir)), None, [pick], queue=False)

        # ---- chat
        def on_ask(st, msg, hist):
            try:
                for h, st2, ans in core.ask(st, msg, hist):
                    if ans is None:
                        yield h, st2, gr.skip(), gr.skip()
                    else:
                        ch = moment_choices(ans)
                        yield h, st2, gr.update(choices=ch, value=ch[0][1] if ch else None), ""
            except AffectlensError as e:
                gr.Warning(str(e))
                yield gr.skip(), st, gr.skip(), gr.skip()

        def on_moment(st, rank):
            return _panel(core.evidence(st, rank))

        ask_args = dict(fn=on_ask, inputs=[state, box, chat], outputs=[chat, state, moment, box],
                        concurrency_limit=4, concurrency_id="ask")
        ask1 = send.click(**ask_args)
        ask2 = box.submit(**ask_args)
        ask1.then(on_moment, [state, moment], panel)
        ask2.then(on_moment, [state, moment], panel)
        moment.input(on_moment, [state, moment], panel)
        stop.click(None, None, None, cancels=[ask1, ask2, up_ev, pk_ev])

        def on_new(st):
            if st is not None:
                st.new_conversation()
            return st, [], gr.update(choices=[], value=None), None, *_cleared()

        new.click(on_new, [state], [state, chat, moment, downloads, *panel], cancels=[ask1, ask2])

        def on_export(st):
            try:
                return core.export(st)
            except AffectlensError as e:
                gr.Warning(str(e))
                return None

        export_btn.click(on_export, [state], [downloads])
    app.queue(max_size=64, default_concurrency_limit=2)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True, quiet: bool = False):
    """Start the server, serving files only from the UI data folder. Returns the local URL."""
    core: AppCore = app.core  # type: ignore[attr-defined]
    _, url, _ = app.launch(server_name=host, server_port=port, allowed_paths=[str(core.root)],
                           max_file_size=core.max_upload_bytes, prevent_thread_lock=True, quiet=True,
                           show_error=True, css=_CSS, footer_links=[])
    if not quiet:
        print(f"affectlens UI running at {url}  (Ctrl+C to stop)", flush=True)
    if block:
        try:
            app.block_thread()
        except KeyboardInterrupt:
            pass
    return url


def main(host: str = "127.0.0.1", port: int = 7860, video_dir: str | os.PathLike | None = None) -> int:
    """Launch the web UI (blocks until Ctrl+C). Prints the local URL."""
    launch(build_app(video_dir=video_dir), host, port, block=True)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(*sys.argv[1:2]))
