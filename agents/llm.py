"""One thin LLM client: the OpenAI chat API with JSON-schema structured output.

It talks to whichever server is configured: a vLLM server (`AFFECTLENS_LLM_URL=http://host:8000/v1`),
any OpenAI-compatible URL, or (default) the embedded llama.cpp server started on demand. Retries,
timeouts and output repair live here and nowhere else. Invalid output after the retries raises
LLMError; callers (graph nodes) then fall back deterministically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import openai
from pydantic import BaseModel, ValidationError

from agents.errors import LLMError
from tools.settings import Settings, get_settings

T = TypeVar("T", bound=BaseModel)


@dataclass
class LLMStats:
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    log: list[dict] = field(default_factory=list)


def _strip_fences(text: str) -> str:
    t = text.strip()
    if t.startswith("```"):
        t = t.split("\n", 1)[1] if "\n" in t else t[3:]
        t = t.rsplit("```", 1)[0]
    return t.strip()


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str = "not-needed", timeout: float = 90.0,
                 retries: int = 2):
        self.base_url, self.model, self.timeout, self.retries = base_url, model, timeout, retries
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self.stats = LLMStats()

    def check(self, require_model: bool = False) -> list[str]:
        """Ask the server which models it serves; raise LLMError when it is down or lacks ours."""
        try:
            served = [m.id for m in self._client.models.list(timeout=min(10.0, self.timeout)).data]
        except (openai.APIError, httpx.HTTPError) as e:
            raise LLMError(f"LLM server at {self.base_url} is not reachable ({e.__class__.__name__})") from None
        if require_model and self.model not in served:
            raise LLMError(f"LLM server at {self.base_url} serves {served}, not '{self.model}'")
        return served

    def structured(self, messages: list[dict], schema: type[T], max_tokens: int = 400,
                   temperature: float = 0.0, deadline: float | None = None, tag: str = "") -> T:
        """Chat completion constrained to `schema`'s JSON schema, parsed into the model.

        Invalid JSON or schema violations are sent back once per retry with the error; network errors
        and timeouts are retried with a short backoff. `deadline` (time.monotonic()) caps the total.
        """
        msgs = list(messages)
        rf = {"type": "json_schema",
              "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": True}}
        last_err = "no attempt"
        for attempt in range(self.retries + 1):
            timeout = self.timeout
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 1:
                    break
            t0 = time.monotonic()
            self.stats.calls += 1
            try:
                r = self._client.chat.completions.create(
                    model=self.model, messages=msgs, response_format=rf, max_tokens=max_tokens,
                    temperature=temperature, timeout=timeout)
            except (openai.APITimeoutError, openai.APIConnectionError, httpx.HTTPError) as e:
                last_err = f"{e.__class__.__name__}"
                self._record(tag, t0, None, last_err)
                time.sleep(min(1.0 * (attempt + 1), 3.0))
                continue
            except openai.APIStatusError as e:
                last_err = f"HTTP {e.status_code}"
                self._record(tag, t0, None, last_err)
                if e.status_code in (400, 404, 422):  # our request is wrong; repeating will not help
                    break
                continue
            if r.usage:
                self.stats.prompt_tokens += r.usage.prompt_tokens or 0
                self.stats.completion_tokens += r.usage.completion_tokens or 0
            text = (r.choices[0].message.content or "") if r.choices else ""
            try:
                out = schema.model_validate_json(_strip_fences(text))
                self._record(tag, t0, text, None)
                return out
            except (ValidationError, ValueError) as e:
                last_err = f"invalid output: {str(e).splitlines()[0][:200]}"
                self._record(tag, t0, text, last_err)
                msgs = list(messages) + [
                    {"role": "assistant", "content": text[:2000]},
                    {"role": "user", "content": f"That was not valid: {last_err}. Reply with JSON only."}]
        self.stats.failures += 1
        raise LLMError(f"LLM gave no valid {schema.__name__} after {self.retries + 1} tries ({last_err})")

    def _record(self, tag: str, t0: float, text: str | None, error: str | None) -> None:
        dt = time.monotonic() - t0
        self.stats.seconds += dt
        self.stats.log.append({"tag": tag, "seconds": round(dt, 2), "error": error,
                               "output": (text or "")[:500]})


def client_from_settings(settings: Settings | None = None) -> LLMClient:
    """A client for the configured server; starts (or reuses) the embedded server when no URL is set."""
    s = settings or get_settings()
    url = s.llm_url
    if not url:
        from agents.llm_server import shared_server
        from tools.provision import resolve

        log = s.cache_dir / "llm_server.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        url = shared_server(resolve(s.llm_gguf), s.llm_threads, s.llm_ctx, log_path=log).url
    client = LLMClient(url, s.llm_model, s.llm_api_key, s.llm_timeout_s, s.llm_retries)
    if s.llm_url:
        client.check(require_model=False)
    return client


def role_clients(settings: Settings | None = None) -> dict[str, LLMClient]:
    """Clients for the roles configured in `llm_roles` (each may name its own server URL, model or GGUF)."""
    s = settings or get_settings()
    out = {}
    for role, cfg in s.llm_roles.items():
        sub = s.model_copy(update={"llm_url": cfg.get("url", s.llm_url), "llm_model": cfg.get("model", s.llm_model),
                                   "llm_gguf": cfg.get("gguf", s.llm_gguf)})
        out[role] = client_from_settings(sub)
    return out
