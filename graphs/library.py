"""A question across a library of indexed videos: the question is read by the agents' question reader (as
every other entry point), the windows are ranked by tools.library.LibrarySearch. It lives here, not in
tools/library.py, because tools never import agents (docs/architecture.md's layering rule)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from agents import roles
from tools.library import LibraryAnswer, LibrarySearch
from tools.settings import Settings


def ask_library(paths: Iterable[str | os.PathLike], query: str, settings: Settings | None = None,
                llm=None, k: int = 5) -> LibraryAnswer:
    """One question over every indexed video under `paths`: its intent, then a ranked list of windows
    across the library, each naming its video. (`llm` is kept for callers; the reader does not use it.)"""
    t0 = time.monotonic()
    lib = LibrarySearch(paths, settings)
    intent = roles.interpret(query)  # the trained question reader, as every other entry point
    hits = lib.search(intent.search_text or query, list(intent.emotions), intent.arousal, k=k)
    return LibraryAnswer(query=query, emotions=list(intent.emotions), videos=len(lib.videos),
                         windows=len(lib.records), missing=lib.missing, hits=hits,
                         seconds=round(time.monotonic() - t0, 2))
