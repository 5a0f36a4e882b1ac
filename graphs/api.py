"""Python API: `ask(video, query, session=...)` and `stream(...)`, built on the LangGraph agent graph.

A `Session` holds one video's index, retriever, LLM client and a SQLite checkpointer, so follow-ups
("why?", "show me the next one") reuse state and evidence instead of starting over.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agents.errors import LLMError
from agents.llm import LLMClient, client_from_settings, role_clients
from agents.schemas import Answer
from graphs.graph import compile_with
from graphs.state import Context
from tools.index import VideoIndex, build_index
from tools.retrieval import Retriever
from tools.settings import Settings, get_settings

# Types the checkpointer may rebuild from SQLite (LangGraph refuses unregistered types).
_STATE_TYPES = [("agents.schemas", "Intent"), ("agents.schemas", "Moment"), ("agents.schemas", "Answer"),
                ("agents.schemas", "Sentence"), ("agents.schemas", "TimeRef"), ("agents.schemas", "During"),
                ("tools.schemas", "PersonRef"),
                ("tools.retrieval", "Candidate"), ("graphs.state", "Verified"), ("tools.schemas", "Evidence"),
                ("tools.schemas", "TimeWindow"), ("tools.schemas", "VideoMeta")]


class Session:
    """One conversation about one video."""

    def __init__(self, video: str | os.PathLike, settings: Settings | None = None, llm: LLMClient | None | bool = True,
                 session_id: str | None = None, progress: bool = False, index: VideoIndex | None = None):
        self.settings = s = settings or get_settings()
        self.index = index or build_index(video, s, progress=progress)
        self.flags: list[str] = []  # said on every answer (a damaged file's flag: graphs.nodes.cost)
        if llm is True and not s.llm_needed():  # no role runs the LLM (settings.llm_role_on): no server
            llm = None
        if llm is True:
            try:
                llm = client_from_settings(s)
            except LLMError as e:  # no LLM: the graph still answers from evidence, flagged
                llm = None
                self.flags.append(f"llm_unavailable: {e}")
        self.llm = llm or None
        roles = {}
        if self.llm is not None and s.llm_roles:
            try:
                roles = role_clients(s)
            except LLMError as e:
                self.flags.append(f"role_llm_unavailable: {e}")
        self.context = Context(index=self.index, retriever=Retriever(self.index), llm=self.llm, settings=s,
                               role_llms=roles, video=str(video))
        db = Path(s.cache_dir) / "sessions.sqlite"
        db.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(db), check_same_thread=False)
        self.graph = compile_with(SqliteSaver(self._conn, serde=JsonPlusSerializer(allowed_msgpack_modules=_STATE_TYPES)))
        self.id = session_id or uuid.uuid4().hex[:12]
        # close() while a question runs in another thread (the UI's Stop / New conversation) must not pull
        # the SQLite handle from under the checkpointer (a crash in the sqlite module): the running stream
        # closes it when it ends.
        self._guard = threading.Lock()
        self._running = 0
        self._closed = False

    def _config(self) -> dict:
        return {"configurable": {"thread_id": f"{self.index.meta.content_key}:{self.id}"},
                "recursion_limit": self.settings.max_steps}

    def _clients(self) -> list[LLMClient]:
        return [c for c in {id(c): c for c in [self.llm, *self.context.role_llms.values()] if c}.values()]

    def warm(self) -> threading.Thread:
        """In the background, so the first question pays only for itself: prefill the prompts' static
        prefix into the LLM server's cache, and load the models the question reader uses (a deterministic
        reading of a dummy question). Returns the thread."""
        from agents import prompts, roles

        def run() -> None:
            for c in self._clients():
                c.warm(prompts.prefix())
            roles.interpret("when does she smile?")

        th = threading.Thread(target=run, daemon=True, name="affectlens-warm")
        th.start()
        return th

    def stream(self, query: str, person: int | None = None) -> Iterator[dict]:
        """Yield one event per finished node ({"node", "events", "answer"?}); the last carries the answer.
        As soon as the moments are ranked (before their rationales are written) one event
        {"node": "ranked", "moments": [Moment, ...]} carries them, with empty rationales.
        `person`: ask about that person's track (`affectlens people VIDEO` lists them) whatever the
        question's words say; None: the person the question names, or everyone."""
        with self._guard:
            if self._closed:
                raise RuntimeError("this Session is closed; open a new one to ask")
            self._running += 1
        try:
            yield from self._stream(query, person)
        finally:
            with self._guard:
                self._running -= 1
                last = self._closed and self._running == 0
            if last:
                self._conn.close()

    def _stream(self, query: str, person: int | None) -> Iterator[dict]:
        for mode, update in self.graph.stream({"query": query, "focus": person}, self._config(), context=self.context,
                                              stream_mode=["updates", "custom"]):
            if mode == "custom":
                if isinstance(update, dict) and "ranked" in update:
                    yield {"node": "ranked", "events": [], "moments": update["ranked"]}
                continue
            for node, delta in update.items():
                new = [e for e in (delta or {}).get("events", []) if isinstance(e, dict)]  # not the RESET mark
                out = {"node": node, "events": new}
                if delta and "answer" in delta:
                    ans: Answer = delta["answer"]
                    if self.flags:
                        ans = ans.model_copy(update={"flags": list(dict.fromkeys(self.flags + ans.flags))})
                    out["answer"] = ans
                yield out

    def ask(self, query: str, on_event: Callable[[dict], None] | None = None, person: int | None = None) -> Answer:
        """Answer `query`; the answer's stats hold this question's cost: seconds, first_moment_s (when the
        ranked moments were known), llm_calls/llm_seconds and prompt/cached/prefill/generated tokens."""
        t0 = time.monotonic()
        marks = [(c, len(c.stats.log)) for c in self._clients()]
        answer, first = None, None
        for ev in self.stream(query, person=person):
            if first is None and (ev.get("moments") or ev.get("answer") is not None):
                first = time.monotonic() - t0
            if on_event:
                on_event(ev)
            answer = ev.get("answer", answer)
        assert answer is not None, "graph finished without an answer"
        stats = {**answer.stats, "seconds": round(time.monotonic() - t0, 2),
                 "first_moment_s": round(first if first is not None else time.monotonic() - t0, 2)}
        per_question: dict[str, float] = {}  # the clients' counters run over the session: take this turn's
        for c, mark in marks:
            for k, v in c.stats.since(mark).items():
                per_question[k] = round(per_question.get(k, 0.0) + v, 2)
        stats.update(per_question)
        return answer.model_copy(update={"stats": stats})

    def close(self) -> None:
        """Close the checkpoint database; while a question still runs in another thread, it is closed
        when that question's stream ends (no new question may start)."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            if self._running:
                return
        self._conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ask(video: str | os.PathLike, query: str, session: Session | None = None, settings: Settings | None = None,
        on_event: Callable[[dict], None] | None = None, progress: bool = False, person: int | None = None) -> Answer:
    """One call: index the video (cached) and answer the query. Pass `session` for follow-ups, `person`
    to ask about one person's track."""
    if session is not None:
        return session.ask(query, on_event, person=person)
    with Session(video, settings, progress=progress) as s:
        return s.ask(query, on_event, person=person)
