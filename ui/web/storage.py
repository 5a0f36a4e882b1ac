"""Where the web UI keeps things: upload validation, the folder picker, and one `UISession` per browser
session with its own data folder.

Every generated artefact (clip, face crops, flow picture, plots, exports) lives in the session folder and
is named by the video's content key + the time window + the kind (`artefact()`), so a clip made for one
video can never be shown for another, whatever the turn or moment number. Loading another video (or a
failed upload) clears the current video first (`clear_video()`), so nothing from it stays on screen.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from agents.schemas import Answer
from tools.errors import MediaError
from tools.schemas import TimeWindow, VideoMeta
from tools.settings import Settings

ALLOWED_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
MAX_UPLOAD_BYTES = int(float(os.environ.get("AFFECTLENS_UI_MAX_UPLOAD_MB", "2048")) * 1024 * 1024)
MAX_NAME_LEN = 120


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

@dataclass
class Turn:
    """One question and what came of it (answer None: stopped or failed, `status` says which)."""

    question: str
    answer: Answer | None = None
    events: list[dict] = field(default_factory=list)
    status: str = "running"            # running | done | stopped | failed
    asked_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    seconds: float = 0.0
    artefacts: list[str] = field(default_factory=list)   # file names in the session folder
    reply: str = ""                    # a direct reply without a graph run ("what happens here?")


def artefact_name(content_key: str, window: TimeWindow | None, kind: str, ext: str) -> str:
    """`<key16>_<start ms>-<end ms>_<kind>.<ext>`: the same video, window and kind give the same name;
    a different video never does."""
    key = re.sub(r"[^A-Za-z0-9]", "", content_key)[:16] or "nokey"
    span = "all" if window is None else f"{int(round(window.start * 1000))}-{int(round(window.end * 1000))}"
    kind = re.sub(r"[^A-Za-z0-9_-]+", "_", kind)[:40]
    return f"{key}_{span}_{kind}.{ext.lstrip('.')}"


class UISession:
    """One browser session: its data folder, the loaded video, the agent Session and its turns."""

    def __init__(self, root: Path, settings: Settings, llm=True):
        self.id = uuid.uuid4().hex[:16]
        self.root = Path(root).resolve()
        self.dir = self.root / self.id
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings, self.llm = settings, llm
        self.video: Path | None = None       # the file the index was built from
        self.player: Path | None = None      # the same file, inside the session folder (served)
        self.video_name = ""
        self.meta: VideoMeta | None = None
        self.session = None                  # graphs.api.Session
        self.turns: list[Turn] = []
        self.focus: int | None = None        # the person chip chosen: questions are about that person
        self.lock = threading.Lock()         # one graph run at a time per browser session
        self.worker: threading.Thread | None = None
        self.cancel = threading.Event()

    @property
    def index(self):
        return self.session.index if self.session else None

    @property
    def content_key(self) -> str | None:
        return self.meta.content_key if self.meta else None

    @property
    def answered(self) -> list[Turn]:
        return [t for t in self.turns if t.answer is not None]

    @property
    def answer(self) -> Answer | None:
        done = self.answered
        return done[-1].answer if done else None

    @property
    def events(self) -> list[dict]:
        done = self.answered
        return done[-1].events if done else []

    def path_in(self, *parts: str) -> Path:
        p = self.dir.joinpath(*parts).resolve()
        if not p.is_relative_to(self.dir):
            raise UploadRejected("path escapes the session folder")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def artefact(self, window: TimeWindow | None, kind: str, ext: str) -> Path:
        """The path of a generated artefact of the loaded video (see `artefact_name`)."""
        if not self.content_key:
            raise UploadRejected("no video is loaded")
        return self.path_in("artefacts", artefact_name(self.content_key, window, kind, ext))

    def import_upload(self, path: str | os.PathLike, name: str | None = None,
                      max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[Path, VideoMeta]:
        clean, meta = validate_upload(path, name, max_bytes)
        key = re.sub(r"[^A-Za-z0-9]", "", meta.content_key)[:12]
        dst = self.path_in("videos", key, clean)   # one folder per content: same name, new content is new
        if not (dst.exists() and dst.stat().st_size == Path(path).stat().st_size):
            shutil.copyfile(path, dst)
        return dst, meta

    def player_copy(self, video: Path, meta: VideoMeta) -> Path:
        """The video inside the session folder, so the full-video player may serve it: the file itself
        when uploaded, else a hard link (a copy across file systems) of the picked file."""
        video = Path(video).resolve()
        if video.is_relative_to(self.dir):
            return video
        key = re.sub(r"[^A-Za-z0-9]", "", meta.content_key)[:12]
        dst = self.path_in("videos", key, video.name)
        if not dst.exists():
            try:
                os.link(video, dst)
            except OSError:
                shutil.copyfile(video, dst)
        return dst

    def open(self, video: Path, meta: VideoMeta, index) -> None:
        """Start a fresh agent Session on an indexed video (closing any previous one)."""
        from graphs.api import Session
        self.clear_video()
        self.session = Session(video, self.settings, llm=self.llm,
                               session_id=f"ui-{self.id}-{uuid.uuid4().hex[:6]}", index=index)
        self.video, self.video_name, self.meta = Path(video), Path(video).name, meta
        self.player = self.player_copy(Path(video), meta)

    def new_conversation(self) -> None:
        """Forget the turns, keep the video (a new graph thread: no follow-up reaches old answers)."""
        self.stop_worker()
        if self.session is not None:
            video, meta, idx, focus = self.video, self.meta, self.session.index, self.focus
            self.open(video, meta, idx)
            self.focus = focus  # the chosen person chip stays chosen

    def stop_worker(self, wait: float = 0.0) -> bool:
        """Ask a running question to stop at the next step; True when no worker is left running."""
        self.cancel.set()
        w = self.worker
        if w is not None and w.is_alive() and wait > 0:
            w.join(wait)
        return w is None or not w.is_alive()

    def clear_video(self) -> None:
        """Drop the current video, its agent session and turns (the files stay until the tab closes)."""
        self.stop_worker()
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001 - closing a sqlite handle twice is harmless
                pass
        self.session, self.turns, self.focus = None, [], None
        self.video = self.player = None
        self.video_name, self.meta = "", None

    def close(self) -> None:
        self.clear_video()
        if self.dir.is_relative_to(self.root) and self.dir != self.root:
            shutil.rmtree(self.dir, ignore_errors=True)
