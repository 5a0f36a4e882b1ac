"""The web UI's people handlers (a mixin of `AppCore`): the loaded video's people as chips with
thumbnails, the chip that restricts the questions to one person, and naming a person."""

from __future__ import annotations

import re
from pathlib import Path

from tools.schemas import hms
from ui.web.storage import UISession, UploadRejected


class PeopleHandlers:
    def people(self, state: UISession | None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The loaded video's people as ((filter choices, "Everyone" first), (thumbnail, caption) pairs).
        Thumbnails are copied into the session folder, the only place the UI serves files from."""
        from tools.people import load_people
        if state is None or state.index is None:
            return [], []
        ppl = load_people(state.index)
        choices = [("Everyone", "0")] + [(p.label(), str(p.id)) for p in ppl.people]
        thumbs = []
        for p in ppl.people:
            caption = f"{p.label()} · on screen {hms(p.screen_s)}" + (f" · speaks {hms(p.speaking_s)}" if p.speaking_s else "")
            if p.thumbnail and Path(p.thumbnail).exists():
                dst = state.path_in("people", re.sub(r"[^A-Za-z0-9]", "", state.content_key or "")[:12],
                                    f"person_{p.id}.jpg")
                if not dst.exists():
                    dst.write_bytes(Path(p.thumbnail).read_bytes())
                thumbs.append((str(dst), caption))
        return choices, thumbs

    @staticmethod
    def focus(state: UISession | None, value: str | None) -> None:
        """The person the next questions are about ("0" or None: whoever the question names, or everyone)."""
        if state is not None:
            state.focus = int(value) if value and value != "0" else None

    def name_person(self, state: UISession | None, value: str | None, name: str) -> str:
        """Give the chosen person a name (kept with the index: questions can then say it). Returns a note."""
        from tools.people import set_name
        if state is None or state.index is None:
            raise UploadRejected("load a video first")
        if not value or value == "0":
            raise UploadRejected("choose a person first, then type their name")
        set_name(state.index, int(value), name)
        return (f"person {value} is now called **{name.strip()}**: ask e.g. *when does {name.strip()} smile?*"
                if name.strip() else f"person {value}'s name was removed")
