"""The Gradio layout of the web UI and its wiring to `AppCore` (handlers.py); `launch` / `main` start it.

Left: load a video, one progress display, the chat (streamed steps, plain answers), Ask / Stop / New
session / Export. Right: the full-video player, the affect strip of the whole video under it (click to
seek, then "What happens here?"), and the evidence panel of the selected moment. Every Gradio event
hides Gradio's own per-component progress overlay: progress is shown once, in `#al-progress`.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import gradio as gr
import pandas as pd

from tools.errors import AffectlensError
from tools.settings import Settings
from ui import evidence as ev
from ui.web.arc import EXPORT_LABEL, arc_picture, export_arc
from ui.web.assets import CSS, HEAD
from ui.web.handlers import TRANSCRIPT_COLS, AppCore, is_provisional
from ui.web.render import moment_choices, progress_html
from ui.web.storage import ALLOWED_EXTENSIONS, MAX_UPLOAD_BYTES, UISession, list_videos
from ui.web.strip import strip_html

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_QUESTIONS = ["when is she in a good mood?", "why?", "show me another one", "when is she sad?"]
HIDE = dict(show_progress="hidden")
HERE_LABEL = "What happens here? (click the strip first)"


def player_html(state: UISession | None) -> str:
    """The full-video player (served from the session folder), tagged with the video's content key."""
    if state is None or state.player is None:
        return '<div class="al-player-caption">No video loaded.</div>'
    src = "gradio_api/file=" + html.escape(str(state.player))
    return (f'<video id="al-video" controls preload="metadata" src="{src}" '
            f'data-key="{html.escape(state.content_key or "")}"></video>'
            f'<div class="al-player-caption">Full video: {html.escape(state.video_name)} — click any time '
            f"stamp to jump there.</div>")


def state_strip(state: UISession | None, with_answer: bool = True) -> str:
    """The strip with the latest answer's moments; the player seeks to the first moment of each new answer
    (the strip's data-seek, read by the page script: once per question)."""
    if state is None or state.index is None:
        return strip_html(None)
    ans = state.answer if with_answer else None
    seek = f"{ans.moments[0].window.start:.2f}:{len(state.turns)}" if ans and ans.moments else ""
    return strip_html(state.index, ans.moments if ans else (), ev.candidate_windows(state.events) if ans else (),
                      key=state.content_key or "", seek=seek)


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
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=340):
                upload = gr.File(label=f"Upload a video ({', '.join(e.lstrip('.') for e in ALLOWED_EXTENSIONS)}; "
                                       f"≤ {max_upload_bytes / 2**30:.1f} GB)",
                                 file_types=list(ALLOWED_EXTENSIONS), file_count="single", type="filepath",
                                 elem_id="al-upload", height=110)
                with gr.Row():
                    pick = gr.Dropdown(choices=list_videos(core.video_dir), value=None, label="…or pick from the folder",
                                       elem_id="al-pick", scale=4)
                    refresh = gr.Button("↻", scale=0, min_width=40)
                status = gr.Markdown("_No video loaded._", elem_id="al-status", elem_classes=["al-badge"])
                progress = gr.HTML(progress_html(), elem_id="al-progress")
                with gr.Accordion("People in the video", open=True, visible=False, elem_id="al-people-box") as people_box:
                    people_thumbs = gr.Gallery(show_label=False, columns=6, height=110, object_fit="contain",
                                               allow_preview=False, elem_id="al-people-thumbs")
                    focus = gr.Radio(choices=[("Everyone", "0")], value="0", elem_id="al-people",
                                     label="Ask about (a question may also name someone)")
                    with gr.Row():
                        person_name = gr.Textbox(placeholder="Name the chosen person, e.g. Anna or “the interviewer”",
                                                 show_label=False, scale=4, elem_id="al-person-name")
                        name_btn = gr.Button("Name", scale=1, elem_id="al-person-name-btn", size="sm")
                    people_note = gr.Markdown(elem_id="al-people-note")
                chat = gr.Chatbot(label="Conversation", elem_id="al-chat", height=540, buttons=["copy"],
                                  placeholder="Load a video, then ask e.g. *when is she in a good mood?*")
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the video… (follow-ups: “why?”, “show me another one”)",
                                     show_label=False, scale=5, elem_id="al-question", submit_btn=False)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="al-ask")
                with gr.Row():
                    stop = gr.Button("Stop", variant="stop", elem_id="al-stop")
                    new = gr.Button("New session", elem_id="al-new")
                    export_btn = gr.Button("Export session", elem_id="al-export")
                with gr.Row():  # the video's arc and moments for other tools (ui/web/arc.py, ui/export.py)
                    export_fmt = gr.Dropdown(choices=["vtt", "srt", "edl", "otio", "csv", "json"], value="vtt",
                                             show_label=False, elem_id="al-export-format", scale=1, min_width=80)
                    export_arc_btn = gr.Button(EXPORT_LABEL, elem_id="al-export-arc", scale=3)
                gr.Examples(examples=[[q] for q in EXAMPLE_QUESTIONS], inputs=[box], label="Try")
                downloads = gr.File(label="Session export (JSON + Markdown)", file_count="multiple", interactive=False,
                                    elem_id="al-downloads", visible=False)
            with gr.Column(scale=3, min_width=440):
                player = gr.HTML(player_html(None), elem_id="al-player")
                # the emotional arc of a summary / compare answer (ui/web/arc.py), above the strip
                arc_img = gr.Image(type="filepath", interactive=False, visible=False, elem_id="al-arc",
                                   label="Emotional arc", buttons=["download", "fullscreen"])
                strip = gr.HTML(strip_html(None), elem_id="al-strip")
                here_span = gr.Textbox(elem_id="al-here-span", elem_classes=["al-hidden"], show_label=False,
                                       container=False)
                here = gr.Button(HERE_LABEL, elem_id="al-here", size="sm")
                gr.Markdown("### Evidence")
                moment = gr.Radio(choices=[], label="Moments", elem_id="al-moments")
                header = gr.Markdown("_Ask a question to see the evidence behind each moment._", elem_id="al-header")
                clip = gr.Video(label="Moment clip (from 1 s before to 1 s after)", interactive=False,
                                elem_id="al-clip", height=280)
                gr.Markdown("**Affect curves of the whole video** (the moment shaded)")
                plot = gr.Image(type="filepath", interactive=False, elem_id="al-plot", show_label=False,
                                buttons=["download", "fullscreen"])
                crops = gr.Gallery(label="Face crops", columns=4, height=400, object_fit="contain",
                                   elem_id="al-crops", allow_preview=True)
                gr.Markdown("**Facial motion** (measured while indexing)")
                flow = gr.Image(type="filepath", interactive=False, elem_id="al-flow", height=210, show_label=False,
                                buttons=["download", "fullscreen"])
                flow_text = gr.Markdown(elem_id="al-flow-text")
                transcript = gr.Dataframe(headers=TRANSCRIPT_COLS, label="Words spoken in the moment",
                                          interactive=False, elem_id="al-transcript", max_height=200, wrap=True)
                gr.Markdown("**Sources: each sentence of the explanation and the evidence it cites**")
                citations = gr.HTML(elem_id="al-citations")

        panel = [header, clip, plot, crops, flow, flow_text, transcript, citations]

        def _panel(d: dict) -> tuple:
            return (d["header"], d["clip"], d["figure"], gr.update(value=d["crops"], label=d["crops_label"]),
                    d["flow"], d["flow_text"], pd.DataFrame(d["transcript"], columns=TRANSCRIPT_COLS),
                    d["citations"])

        def _cleared():
            return _panel(core.evidence(None, None))

        # ---- video loading
        def on_load(st, up, pk):
            first = True
            try:
                for st2, msg, prog in core.load(st, up, pk):
                    ready = st2.session is not None  # the last step: free the upload box for the next file
                    if first:  # the old video is gone: clear everything that showed it
                        first = False
                        yield (st2, msg, prog, [], gr.update(choices=[], value=None), *_cleared(),
                               player_html(None), strip_html(None), gr.update(value=None, visible=False),
                               None if ready else gr.skip(), gr.update(visible=False), *_fresh_controls())
                    else:
                        yield (st2, msg, prog, *[gr.skip()] * (2 + len(panel)), player_html(st2), state_strip(st2),
                               gr.skip(), None if ready else gr.skip(), gr.skip(), *[gr.skip()] * 3)
            except AffectlensError as e:
                gr.Warning(str(e))
                yield (st, f"⚠️ {e}\n\n**No video is loaded now**: upload or pick another one.",
                       progress_html("The video was not loaded", None, None, "error"), [],
                       gr.update(choices=[], value=None), *_cleared(), player_html(None), strip_html(None),
                       gr.update(value=None, visible=False), None, gr.update(visible=False), *_fresh_controls())

        def _fresh_controls() -> tuple:
            """Every other per-video control back to its start: the "What happens here?" window and button
            (the page script also resets the button when the strip shows another video) and the question box."""
            return "", gr.update(value=HERE_LABEL), ""

        # the old video's people go with its first step, in the same event as the load (a separate event
        # raced it: a fast cached load could show the new chips before the old ones were hidden)
        load_outputs = [state, status, progress, chat, moment, *panel, player, strip, downloads, upload, people_box,
                        here_span, here, box]
        up_ev = upload.upload(on_load, [state, upload, gr.State(None)], load_outputs, concurrency_id="index",
                              concurrency_limit=1, **HIDE)
        pk_ev = pick.input(on_load, [state, gr.State(None), pick], load_outputs, concurrency_id="index",
                           concurrency_limit=1, **HIDE)
        refresh.click(lambda: gr.update(choices=list_videos(core.video_dir)), None, [pick], queue=False)

        # ---- people: chips to choose whom the questions are about, and to name them
        def on_people(st, keep: str | None = None):
            try:
                choices, thumbs = core.people(st)
            except (AffectlensError, OSError, ValueError) as e:
                return gr.update(visible=False), [], gr.update(choices=[("Everyone", "0")], value="0"), f"⚠️ {e}"
            if len(choices) < 2:  # no face found: nothing to choose
                return gr.update(visible=False), [], gr.update(choices=[("Everyone", "0")], value="0"), ""
            value = keep if keep in {v for _, v in choices} else "0"
            core.focus(st, value)
            return gr.update(visible=True), thumbs, gr.update(choices=choices, value=value), ""

        people_outputs = [people_box, people_thumbs, focus, people_note]
        up_ev.then(on_people, [state], people_outputs, **HIDE)
        pk_ev.then(on_people, [state], people_outputs, **HIDE)
        focus.input(core.focus, [state, focus], None, queue=False)

        def on_name(st, value, name):
            try:
                note = core.name_person(st, value, name)
            except (AffectlensError, ValueError) as e:
                return gr.skip(), gr.skip(), gr.skip(), f"⚠️ {e}", gr.skip()
            return (*on_people(st, keep=value)[:3], note, "")

        for trigger in (name_btn.click, person_name.submit):
            trigger(on_name, [state, focus, person_name], [*people_outputs, person_name], **HIDE)

        # ---- chat
        def on_ask(st, msg, hist):
            """The chat as it streams; the moments list, the strip (with the player's seek) and the clip as
            soon as the moments are ranked (a provisional answer), their explanations when they come."""
            skip_panel = [gr.skip()] * len(panel)
            try:
                for h, st2, ans, prog in core.ask(st, msg, hist):
                    if ans is None:
                        yield h, st2, gr.skip(), gr.skip(), prog, gr.skip(), *skip_panel
                        continue
                    ch = moment_choices(ans)
                    first = ch[0][1] if ch else None
                    if is_provisional(ans):
                        try:  # as on_moment: a render another video or answer overtook is not shown
                            d = core.evidence_now(st2, first) if first else None
                        except AffectlensError:
                            d = None
                        early = skip_panel if d is None else _panel(d)
                        yield h, st2, gr.update(choices=ch, value=first), gr.skip(), prog, state_strip(st2), *early
                    else:
                        yield h, st2, gr.update(choices=ch, value=first), "", prog, state_strip(st2), *skip_panel
            except AffectlensError as e:
                gr.Warning(str(e))
                yield gr.skip(), st, gr.skip(), gr.skip(), progress_html(str(e), None, None, "error"), gr.skip(), \
                    *skip_panel

        def on_moment(st, rank):
            """The evidence panel for moment `rank`. A render that another video or a newer answer overtook (a
            clip takes seconds to cut; the user may load the next video meanwhile) leaves the panel as it is:
            written late, it would show the old video's clip under the new one."""
            try:
                d = core.evidence_now(st, rank)
            except AffectlensError:  # the video was replaced or cleared while the panel was rendering
                return _cleared()
            return tuple(gr.skip() for _ in panel) if d is None else _panel(d)

        ask_args = dict(fn=on_ask, inputs=[state, box, chat], outputs=[chat, state, moment, box, progress, strip, *panel],
                        concurrency_limit=4, concurrency_id="ask", **HIDE)
        ask1 = send.click(**ask_args)
        ask2 = box.submit(**ask_args)
        def on_arc(st):
            pic = arc_picture(st)
            return gr.update(value=pic, visible=pic is not None)

        ask1.then(on_arc, [state], [arc_img], **HIDE)
        ask2.then(on_arc, [state], [arc_img], **HIDE)
        ask1.then(on_moment, [state, moment], panel, **HIDE)
        ask2.then(on_moment, [state, moment], panel, **HIDE)
        moment.input(on_moment, [state, moment], panel, **HIDE)
        # a question is not cancelled by Gradio: Stop sets its flag and its stream ends itself with a note
        # (a Gradio cancel racing the stream's last message could leave the next Ask dropped); a video
        # load is cancelled (its build goes on in the background)
        stop.click(core.stop, [state, chat], [chat, progress], cancels=[up_ev, pk_ev], **HIDE)
        here.click(core.here, [state, here_span, chat], [chat, progress], **HIDE)

        def on_new(st):
            if st is not None:
                st.new_conversation()
            return (st, [], gr.update(choices=[], value=None), gr.update(value=None, visible=False),
                    progress_html(), state_strip(st, with_answer=False), *_cleared())

        new.click(on_new, [state], [state, chat, moment, downloads, progress, strip, *panel], **HIDE)

        def on_export(st):
            try:
                return gr.update(value=core.export(st), visible=True)
            except AffectlensError as e:
                gr.Warning(str(e))
                return gr.update(value=None, visible=False)

        export_btn.click(on_export, [state], [downloads], **HIDE)

        def on_export_arc(st, fmt):
            try:
                return gr.update(value=export_arc(st, fmt), visible=True)
            except AffectlensError as e:
                gr.Warning(str(e))
                return gr.update(value=None, visible=False)

        export_arc_btn.click(on_export_arc, [state, export_fmt], [downloads], **HIDE)
    app.queue(max_size=64, default_concurrency_limit=2)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True, quiet: bool = False):
    """Start the server, serving files only from the UI data folder. Returns the local URL. With
    block=True it returns when the server stops (Ctrl-C or SIGTERM, see `main`)."""
    core: AppCore = app.core  # type: ignore[attr-defined]
    _, url, _ = app.launch(server_name=host, server_port=port, allowed_paths=[str(core.root)],
                           max_file_size=core.max_upload_bytes, prevent_thread_lock=True, quiet=True,
                           show_error=True, css=CSS, head=HEAD, footer_links=[])
    if not quiet:
        print(f"affectlens UI running at {url}  (Ctrl+C to stop)", flush=True)
    if block:
        try:
            app.block_thread()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            app.close()
    return url


def main(host: str = "127.0.0.1", port: int = 7860, video_dir: str | os.PathLike | None = None) -> int:
    """Launch the web UI (blocks until Ctrl+C or SIGTERM). Prints the local URL. Every child process it
    started (the embedded LLM server) is stopped on the way out."""
    from agents.llm_server import exit_on_signals, stop_all_children
    exit_on_signals()
    try:
        launch(build_app(video_dir=video_dir), host, port, block=True)
    finally:
        stop_all_children()
    return 0
