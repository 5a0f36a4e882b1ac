"""Typed graph state and the run-time dependencies the nodes share (index, retriever, LLM client)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from agents.llm import LLMClient
from agents.schemas import Answer, Intent, Moment
from tools.index import VideoIndex
from tools.retrieval import Candidate, Retriever
from tools.schemas import Evidence, TimeWindow
from tools.settings import Settings


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


class AgentState(TypedDict, total=False):
    query: str
    mode: Literal["new", "next", "why"]
    intent: Intent
    candidates: list[Candidate]
    verified: list[Verified]
    evidence: list[Evidence]          # every item any tool produced in this session (ids are unique)
    moments: list[Moment]
    rejected: list[TimeWindow]        # candidates the verifier turned down (this turn)
    shown: list[TimeWindow]           # moments already given to the user (for "the next one")
    rounds: int                       # localisation rounds this turn
    deadline: float                   # wall-clock time.time() by which the turn must answer
    flags: list[str]
    events: list[dict]                # step trace of this turn (node, tool, decision, seconds)
    answer: Answer


@dataclass
class Deps:
    """What the nodes need besides the state; built once per video and reused across turns."""

    index: VideoIndex
    retriever: Retriever
    llm: LLMClient | None
    settings: Settings
    max_rounds: int = 2
    n_candidates: int = 3
    tool_budget: float = 6.0
    role_llms: dict[str, LLMClient] | None = None

    def llm_for(self, role: str) -> LLMClient | None:
        """The client for a role (interpret, judge, rationale): its own if configured, else the default."""
        return (self.role_llms or {}).get(role, self.llm) if self.llm is not None else None
