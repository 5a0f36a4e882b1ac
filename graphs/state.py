"""Typed graph state (with reducers on the fields that accumulate) and the run-time context the nodes
read through `Runtime[Context]` (index, retriever, LLM clients, settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from agents.llm import LLMClient
from agents.schemas import Answer, Intent, Moment
from tools.index import VideoIndex
from tools.retrieval import Candidate, Retriever
from tools.schemas import Evidence, TimeWindow
from tools.settings import Settings

RESET = "__reset__"


def accumulate(left: list | None, right: list | None) -> list:
    """Reducer for lists that grow during a turn: a node returns only what it adds. A list that starts
    with RESET replaces the old one instead (the route node starts each turn's trace and flags afresh)."""
    right = list(right or [])
    if right and isinstance(right[0], str) and right[0] == RESET:
        return right[1:]
    return list(left or []) + right


class Verified(BaseModel):
    """A candidate after active verification and judging."""

    model_config = ConfigDict(extra="forbid")

    candidate: Candidate
    window: TimeWindow
    evidence_ids: list[str] = Field(default_factory=list)
    label: str = "Neutral"
    confidence: float = 0.0
    support: float = 0.0
    accept: bool = False
    judged: bool = False
    note: str = ""


class State(TypedDict, total=False):
    query: str
    mode: Literal["new", "next", "previous", "why", "summary", "compare"]
    reading: dict                                     # the question reader's reading (agents/intent/reading.py)
    last_query: str                                   # the previous question (the reader reads follow-ups with it)
    intent: Intent
    candidates: list[Candidate]
    verified: list[Verified]                          # this turn's candidates after verify (judge updates them)
    evidence: Annotated[list[Evidence], accumulate]   # every item any tool produced in this session (unique ids)
    moments: list[Moment]
    rejected: Annotated[list[TimeWindow], accumulate]  # candidates the verifier turned down (this turn)
    shown: Annotated[list[TimeWindow], accumulate]     # moments already given to the user (for "the next one")
    rounds: int                                       # localisation rounds this turn
    deadline: float                                   # wall-clock time.time() by which the turn must answer
    person: int | None                                # the asked person's track (tools/who.py); None: everyone
    focus: int | None                                 # a person the user chose for this turn (UI chip, ask --person)
    person_label: str | None                          # how the answer names that person ("Anna", "person 2 …")
    person_ref: Any                                   # how the last turn referred to its person (tools.schemas.PersonRef)
    pronoun_from: tuple[str, int | None]              # the last question that said she/he, and whom it was about
    during: dict[str, tuple[str, str]]                # "A while B": window label → (B's evidence id, B's name)
    presence: dict[str, str]                          # presence questions: window label → the change's evidence id
    flags: Annotated[list[str], accumulate]
    llm_marks: dict[str, int]                         # each LLM client's call-log length when the turn began
    events: Annotated[list[dict], accumulate]         # step trace of this turn (node, tool, decision, seconds)
    answer: Answer


@dataclass
class Context:
    """What the nodes need besides the state, given per run as `context=` (graphs.api.Session builds it
    from a video path; `Context.for_video` does the same for LangGraph Studio / `langgraph dev`, where the
    context arrives as JSON: {"video": "assets/sample_pexels.mp4"})."""

    index: VideoIndex | None = None
    retriever: Retriever | None = None
    llm: LLMClient | None = None
    settings: Settings | None = None
    role_llms: dict[str, LLMClient] = field(default_factory=dict)
    video: str = ""
    max_rounds: int = 2
    n_candidates: int = 3
    tool_budget: float = 6.0
    extra: dict[str, Any] = field(default_factory=dict)

    def llm_for(self, role: str) -> LLMClient | None:
        """The client for a role (interpret, judge, rationale): its own if configured, else the default."""
        return self.role_llms.get(role, self.llm) if self.llm is not None else None

    def backends(self) -> dict[str, str]:
        """The models the index was built with, as its config key recorded them (tools/backends.py)."""
        return dict(getattr(getattr(self.index, "config", None), "backends", None) or {})

    @classmethod
    def for_video(cls, video: str, settings: Settings | None = None, llm: LLMClient | None | bool = True,
                  **kw) -> Context:
        """Index `video` (cached) and connect the configured LLM (None when it cannot be reached: the
        nodes then fall back to their deterministic paths, flagged)."""
        from agents.errors import LLMError
        from agents.llm import client_from_settings
        from tools.index import build_index
        from tools.settings import get_settings
        s = settings or get_settings()
        index = build_index(video, s, progress=False)
        if llm is True:
            try:
                llm = client_from_settings(s)
            except LLMError:
                llm = None
        return cls(index=index, retriever=Retriever(index), llm=llm or None, settings=s, video=str(video), **kw)


_RESOLVED: dict[str, Context] = {}


def resolve(context: Context | dict | None) -> Context:
    """The context a node works with: as given when it is complete; built from its `video` otherwise
    (memoised per video path for the process, as `langgraph dev` sends the same JSON context each run)."""
    if isinstance(context, Context) and context.index is not None:
        return context
    video = context.get("video") if isinstance(context, dict) else getattr(context, "video", "")
    if not video:
        raise ValueError("the graph needs a context with an index, or {'video': PATH} to build one")
    if video not in _RESOLVED:
        _RESOLVED[video] = Context.for_video(video)
    return _RESOLVED[video]
