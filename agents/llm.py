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

from pydantic import BaseModel, ValidationError

from agents.errors import LLMError
from tools.settings import Settings, get_settings

T = TypeVar("T", bound=BaseModel)


class _OnUse:
    """A module imported when first used: openai (with httpx) took ~1 s of a cold CLI question
    (python -X importtime, issue 28), and a question with every LLM role off never uses it."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib
        return getattr(importlib.import_module(self._name), attr)


httpx = _OnUse("httpx")
openai = _OnUse("openai")


@dataclass
class LLMStats:
    """Totals over a client's calls, and one `log` row per call: tag (role), seconds, prompt_tokens,
    cached_tokens (served from the server's prompt-prefix cache), prefill_tokens (prompt - cached: what
    the server really computed), completion_tokens, error."""

    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    log: list[dict] = field(default_factory=list)

    @property
    def prefill_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    def since(self, mark: int) -> dict[str, float]:
        """Totals over the calls logged after `mark` (= len(log) before a question): one question's cost."""
        rows = self.log[mark:]
        return {"llm_calls": float(len(rows)),
                "llm_seconds": round(sum(r["seconds"] for r in rows), 2),
                "llm_prompt_tokens": float(sum(r.get("prompt_tokens", 0) for r in rows)),
                "llm_cached_tokens": float(sum(r.get("cached_tokens", 0) for r in rows)),
                "llm_prefill_tokens": float(sum(r.get("prefill_tokens", 0) for r in rows)),
                "llm_generated_tokens": float(sum(r.get("completion_tokens", 0) for r in rows))}


def _usage(r) -> tuple[int, int, int]:
    """(prompt, cached, completion) tokens from a response: OpenAI `usage.prompt_tokens_details`, which
    llama.cpp's server fills from its prompt cache (and vLLM with --enable-prompt-tokens-details)."""
    u = getattr(r, "usage", None)
    if u is None:
        return 0, 0, 0
    details = getattr(u, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    timings = (getattr(r, "model_extra", None) or {}).get("timings") or {}
    cached = cached or int(timings.get("cache_n") or 0)
    return int(u.prompt_tokens or 0), int(cached), int(u.completion_tokens or 0)


class _Again(Exception):
    """One failed try that is worth another: `pause` says whether to back off first (a server or network
    failure) or not (invalid output, answered with a repair prompt); `retry_after` is the server's hint."""

    def __init__(self, why: str, pause: bool, retry_after: float | None = None):
        super().__init__(why)
        self.pause, self.retry_after = pause, retry_after


def _retry_after(response) -> float | None:
    """Seconds from a response's Retry-After-Ms / Retry-After header (a number or an HTTP date), or None."""
    from email.utils import parsedate_to_datetime
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        v = headers.get(name)
        if v is None:
            continue
        try:
            return float(v) / scale
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(v).timestamp() - time.time()
        except (TypeError, ValueError):
            pass
    return None


def _strip_fences(text: str) -> str:
    t = text.strip()
    if t.startswith("```"):
        t = t.split("\n", 1)[1] if "\n" in t else t[3:]
        t = t.rsplit("```", 1)[0]
    return t.strip()


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str = "not-needed", timeout: float = 90.0,
                 retries: int = 2, cache_prompt: bool = True):
        self.base_url, self.model, self.timeout, self.retries = base_url, model, timeout, retries
        # llama.cpp: reuse the slot's KV cache for the common prompt prefix (vLLM ignores the field and
        # caches prefixes itself with --enable-prefix-caching)
        self.extra_body = {"cache_prompt": cache_prompt}
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

        Invalid JSON or schema violations are sent back at once, once per retry, with the error. Network
        errors, timeouts, 429 and 5xx are retried after an exponential backoff with jitter (tenacity;
        `backoff_s`), or after the server's Retry-After when it says longer. `deadline`
        (time.monotonic()) caps the total, waits included.
        """
        from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt
        msgs = list(messages)
        rf = {"type": "json_schema",
              "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": True}}
        last_err = "no attempt"

        def past_deadline(_state) -> bool:
            return deadline is not None and deadline - time.monotonic() <= 1

        retrying = Retrying(stop=stop_after_attempt(self.retries + 1) | past_deadline,
                            wait=lambda rs: self._wait(rs, deadline), retry=retry_if_exception_type(_Again),
                            sleep=self._sleep)
        try:
            for attempt in retrying:
                with attempt:
                    timeout = self.timeout if deadline is None else min(self.timeout, deadline - time.monotonic())
                    if timeout <= 1:
                        break
                    t0 = time.monotonic()
                    self.stats.calls += 1
                    try:
                        r = self._client.chat.completions.create(
                            model=self.model, messages=msgs, response_format=rf, max_tokens=max_tokens,
                            temperature=temperature, timeout=timeout, extra_body=self.extra_body)
                    except (openai.APITimeoutError, openai.APIConnectionError, httpx.HTTPError) as e:
                        last_err = f"{e.__class__.__name__}"
                        self._record(tag, t0, None, last_err)
                        raise _Again(last_err, pause=True) from None
                    except openai.APIStatusError as e:
                        last_err = f"HTTP {e.status_code}"
                        self._record(tag, t0, None, last_err)
                        if e.status_code in (400, 404, 422):  # our request is wrong; repeating will not help
                            break
                        raise _Again(last_err, pause=True, retry_after=_retry_after(e.response)) from None
                    usage = _usage(r)
                    text = (r.choices[0].message.content or "") if r.choices else ""
                    try:
                        out = schema.model_validate_json(_strip_fences(text))
                        self._record(tag, t0, text, None, usage)
                        return out
                    except (ValidationError, ValueError) as e:
                        last_err = f"invalid output: {str(e).splitlines()[0][:200]}"
                        self._record(tag, t0, text, last_err, usage)
                        msgs = list(messages) + [
                            {"role": "assistant", "content": text[:2000]},
                            {"role": "user", "content": f"That was not valid: {last_err}. Reply with JSON only."}]
                        raise _Again(last_err, pause=False) from None
        except RetryError:
            pass
        self.stats.failures += 1
        raise LLMError(f"LLM gave no valid {schema.__name__} after {self.retries + 1} tries ({last_err})")

    # Backoff between retries of a failed request: exponential from BACKOFF_S, doubling, capped at
    # BACKOFF_MAX_S, plus up to BACKOFF_S of random jitter (so clients that failed together do not retry
    # together); a server's Retry-After is honoured up to RETRY_AFTER_MAX_S. The three numbers are the
    # openai client's own defaults (openai._constants: INITIAL_RETRY_DELAY 0.5, MAX_RETRY_DELAY 8.0,
    # MAX_RETRY_AFTER_DELAY 120), which this client turns off (max_retries=0) to retry here, in one place.
    backoff_s = 0.5
    backoff_max_s = 8.0
    retry_after_max_s = 120.0

    def _wait(self, rs, deadline: float | None) -> float:
        from tenacity import wait_exponential_jitter
        exc = rs.outcome.exception() if rs.outcome is not None else None
        if not isinstance(exc, _Again) or not exc.pause:
            return 0.0  # invalid output: the repair prompt goes back at once
        wait = wait_exponential_jitter(multiplier=self.backoff_s, max=self.backoff_max_s, jitter=self.backoff_s)(rs)
        if exc.retry_after is not None and 0 < exc.retry_after <= self.retry_after_max_s:
            wait = max(wait, exc.retry_after)
        if deadline is not None:  # never sleep past the caller's deadline
            wait = max(0.0, min(wait, deadline - time.monotonic() - 1))
        return wait

    def _sleep(self, seconds: float) -> None:
        """Where the client waits between tries (tests record it)."""
        time.sleep(seconds)

    def warm(self, messages: list[dict]) -> None:
        """Prefill `messages` (the static prompt prefix) into the server's cache with a 1-token completion,
        so the first real question computes only its own part. Best effort: errors are ignored."""
        t0 = time.monotonic()
        try:
            r = self._client.chat.completions.create(model=self.model, messages=messages, max_tokens=1,
                                                     temperature=0.0, timeout=self.timeout,
                                                     extra_body=self.extra_body)
        except (openai.APIError, httpx.HTTPError):
            return
        self._record("warm", t0, None, None, _usage(r), count=False)

    def _record(self, tag: str, t0: float, text: str | None, error: str | None,
                usage: tuple[int, int, int] = (0, 0, 0), count: bool = True) -> None:
        dt = time.monotonic() - t0
        prompt, cached, completion = usage
        if count:
            self.stats.seconds += dt
            self.stats.prompt_tokens += prompt
            self.stats.cached_tokens += cached
            self.stats.completion_tokens += completion
            self.stats.log.append({"tag": tag, "seconds": round(dt, 2), "error": error,
                                   "prompt_tokens": prompt, "cached_tokens": cached,
                                   "prefill_tokens": prompt - cached, "completion_tokens": completion,
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
